//! An in-process GitHub REST server on loopback: the part of GitHub's API that keyless uses
//! (repositories, OIDC subject customization for repositories and organizations, the
//! authenticated user, rate limits), with GitHub's documented semantics: 401 without a valid
//! token, 403 with `X-Accepted-GitHub-Permissions` when a token lacks a permission, 404 for an
//! unknown repository, 301 to `/repositories/{id}` for a renamed or transferred one, and
//! `x-ratelimit-*` headers on every answer. Response shapes follow the operations in
//! `tests/fixtures/github-rest/api.github.com.json` (tests validate them against that description).
//!
//! There is no maintained GitHub emulator, hence this one. It counts calls per
//! `METHOD route` ([`GitHub::calls`]) and knows nothing about keyless.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::Server;

/// One repository the server knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// Owner login, as GitHub spells it.
    pub owner: String,
    /// Repository name, as GitHub spells it.
    pub name: String,
    /// Numeric repository ID.
    pub id: u64,
    /// Numeric owner ID.
    pub owner_id: u64,
    /// Archived repositories are read-only.
    pub archived: bool,
    /// `use_immutable_subject` set on the repository (`None`: the organization's setting).
    pub immutable: Option<bool>,
    /// A custom subject template on the repository: `include_claim_keys` (`None`: default).
    pub claim_keys: Option<Vec<String>>,
}

impl Repo {
    /// A repository `owner/name` with these IDs, default subject settings.
    pub fn new(full: &str, owner_id: u64, id: u64) -> Repo {
        let (owner, name) = full.split_once('/').expect("owner/name");
        Repo {
            owner: owner.into(),
            name: name.into(),
            id,
            owner_id,
            archived: false,
            immutable: None,
            claim_keys: None,
        }
    }

    /// Opted in to (or out of) immutable subjects.
    pub fn immutable(mut self, on: bool) -> Repo {
        self.immutable = Some(on);
        self
    }

    /// With a custom subject template.
    pub fn claim_keys(mut self, keys: &[&str]) -> Repo {
        self.claim_keys = Some(keys.iter().map(|k| k.to_string()).collect());
        self
    }
}

/// An organization's subject settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Org {
    immutable: bool,
    claim_keys: Option<Vec<String>>,
}

#[derive(Default)]
struct GhState {
    token: String,
    repos: Vec<Repo>,
    /// Old `owner/name` (lower-case) → repository ID, for renamed or transferred repositories.
    moved: BTreeMap<String, u64>,
    orgs: BTreeMap<String, Org>,
    /// Routes (`GET /repos/{owner}/{repo}`) the token may not use, with the permission GitHub
    /// names in `X-Accepted-GitHub-Permissions`.
    denied: BTreeMap<String, String>,
    calls: BTreeMap<String, u64>,
    remaining: u64,
    base: String,
    /// Variables by (repository ID, environment lower-case or none) → NAME → value.
    vars: BTreeMap<(u64, Option<String>), BTreeMap<String, String>>,
    /// Environments by (repository ID, name lower-case).
    envs: BTreeMap<(u64, String), Environment>,
    next_id: u64,
    exchanges: Vec<Exchange>,
    /// The next this many requests get GitHub's secondary rate limit (403 + `retry-after: 1`).
    throttle: u64,
    /// The kit's fault rules, matched against `Get <route>` for reads and `<METHOD> <route>`
    /// for writes (so `FaultRule::nth_write` counts GitHub writes).
    faults: Vec<super::FaultRule>,
    /// Secrets (names only: GitHub never shows values) by where they are held → NAME.
    secrets: BTreeMap<SecretHome, Vec<String>>,
    /// Organisation secrets' visibility (`all`, `private`, `selected`) and selected repositories.
    org_secrets: BTreeMap<(String, String), (String, Vec<u64>)>,
    /// Files by (repository ID, path).
    files: BTreeMap<(u64, String), String>,
    /// `GET /meta`'s `actions` ranges.
    actions_ranges: Vec<String>,
    /// Branches other than the default: (repository ID, branch) → files written on it.
    branches: BTreeMap<(u64, String), BTreeMap<String, String>>,
    /// Pull requests: (repository ID, number, head, base, title, body).
    pulls: Vec<(u64, u64, String, String, String, String)>,
}

/// Where a secret is held.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SecretHome {
    Repo(u64),
    Env(u64, String),
    Org(String),
}

/// One request the server answered, for validating both against GitHub's REST description.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The route template, e.g. `/repos/{owner}/{repo}/actions/variables`.
    pub route: String,
    /// The request's JSON body (`Null` when empty).
    pub request: Value,
    /// The answer's status.
    pub status: u16,
    /// The answer's JSON body (`Null` when empty).
    pub response: Value,
}

/// An environment of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Environment {
    id: u64,
    name: String,
    /// Required reviewers (a protection rule).
    reviewers: bool,
    /// A deployment branch policy (protected branches only).
    branch_policy: bool,
}

type Shared = Arc<Mutex<GhState>>;

/// A running GitHub REST server.
pub struct GitHub {
    server: Server,
    state: Shared,
}

impl GitHub {
    /// Start a server that accepts `Authorization: Bearer <token>` (or `token <token>`).
    pub fn start(token: &str) -> GitHub {
        let state: Shared = Arc::new(Mutex::new(GhState {
            token: token.into(),
            remaining: 5000,
            next_id: 7000,
            ..GhState::default()
        }));
        let st = state.clone();
        let server = Server::spawn(move |addr| {
            st.lock().base = format!("http://{addr}");
            Router::new()
                .route("/repos/{owner}/{repo}", get(get_repo))
                .route("/repositories/{id}", get(get_repo_by_id))
                .route(
                    "/repos/{owner}/{repo}/actions/oidc/customization/sub",
                    get(get_repo_sub).put(put_repo_sub),
                )
                .route(
                    "/orgs/{org}/actions/oidc/customization/sub",
                    get(get_org_sub),
                )
                .route(
                    "/repos/{owner}/{repo}/actions/variables",
                    get(list_vars).post(create_var),
                )
                .route(
                    "/repos/{owner}/{repo}/actions/variables/{name}",
                    get(get_var).patch(update_var).delete(delete_var),
                )
                .route(
                    "/repos/{owner}/{repo}/environments/{env}",
                    get(get_env).put(put_env),
                )
                .route(
                    "/repos/{owner}/{repo}/environments/{env}/variables",
                    get(list_env_vars).post(create_env_var),
                )
                .route(
                    "/repos/{owner}/{repo}/environments/{env}/variables/{name}",
                    get(get_env_var)
                        .patch(update_env_var)
                        .delete(delete_env_var),
                )
                .route(
                    "/repos/{owner}/{repo}/actions/secrets",
                    get(list_repo_secrets),
                )
                .route(
                    "/repos/{owner}/{repo}/actions/secrets/{name}",
                    axum::routing::delete(delete_repo_secret),
                )
                .route(
                    "/repos/{owner}/{repo}/environments/{env}/secrets/{name}",
                    axum::routing::delete(delete_env_secret),
                )
                .route(
                    "/orgs/{org}/actions/secrets/{name}",
                    axum::routing::delete(delete_org_secret),
                )
                .route(
                    "/repos/{owner}/{repo}/actions/organization-secrets",
                    get(list_repo_org_secrets),
                )
                .route("/repos/{owner}/{repo}/environments", get(list_envs))
                .route(
                    "/repos/{owner}/{repo}/environments/{env}/secrets",
                    get(list_env_secrets),
                )
                .route(
                    "/repos/{owner}/{repo}/contents/{*path}",
                    get(get_contents).put(put_contents),
                )
                .route("/repos/{owner}/{repo}/git/ref/{*ref}", get(get_ref))
                .route(
                    "/repos/{owner}/{repo}/git/refs",
                    axum::routing::post(create_ref),
                )
                .route(
                    "/repos/{owner}/{repo}/pulls",
                    get(list_pulls).post(create_pull),
                )
                .route("/orgs/{org}/actions/secrets", get(list_org_secrets))
                .route(
                    "/orgs/{org}/actions/secrets/{name}/repositories",
                    get(list_org_secret_repos),
                )
                .route("/orgs/{org}/repos", get(list_org_repos))
                .route("/meta", get(get_meta))
                .route("/user", get(get_user))
                .route("/rate_limit", get(get_rate_limit))
                .layer(middleware::from_fn_with_state(st.clone(), gate))
                .with_state(st)
        });
        GitHub { server, state }
    }

    /// The API base URL to give keyless (`--github-api-url`).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Add (or replace) a repository.
    pub fn add_repo(&self, repo: Repo) {
        let mut s = self.state.lock();
        s.repos.retain(|r| {
            !(r.owner.eq_ignore_ascii_case(&repo.owner) && r.name.eq_ignore_ascii_case(&repo.name))
        });
        s.repos.push(repo);
    }

    /// Delete a repository: its name answers 404 from now on.
    pub fn remove_repo(&self, full: &str) {
        self.state
            .lock()
            .repos
            .retain(|r| !format!("{}/{}", r.owner, r.name).eq_ignore_ascii_case(full));
    }

    /// Rename or transfer a repository: its old name answers 301 from now on.
    pub fn rename(&self, from: &str, to: &str) {
        let mut s = self.state.lock();
        let (o, n) = to.split_once('/').expect("owner/name");
        let Some(r) = s
            .repos
            .iter_mut()
            .find(|r| format!("{}/{}", r.owner, r.name).eq_ignore_ascii_case(from))
        else {
            return;
        };
        r.owner = o.into();
        r.name = n.into();
        let id = r.id;
        s.moved.insert(from.to_ascii_lowercase(), id);
    }

    /// Set an organization's subject settings (`use_immutable_subject`, a custom template).
    pub fn org(&self, org: &str, immutable: bool, claim_keys: Option<&[&str]>) {
        self.state.lock().orgs.insert(
            org.to_ascii_lowercase(),
            Org {
                immutable,
                claim_keys: claim_keys.map(|k| k.iter().map(|s| s.to_string()).collect()),
            },
        );
    }

    /// Refuse `route` (e.g. `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`) with 403,
    /// naming `permission` in `X-Accepted-GitHub-Permissions`.
    pub fn deny(&self, route: &str, permission: &str) {
        self.state
            .lock()
            .denied
            .insert(route.into(), permission.into());
    }

    /// Add an environment to a repository; `protected` gives it required reviewers and a
    /// protected-branches deployment policy.
    pub fn add_environment(&self, full: &str, name: &str, protected: bool) {
        let mut s = self.state.lock();
        let Some(id) = repo_id_of(&s, full) else {
            return;
        };
        s.next_id += 1;
        let env = Environment {
            id: s.next_id,
            name: name.into(),
            reviewers: protected,
            branch_policy: protected,
        };
        s.envs.insert((id, name.to_ascii_lowercase()), env);
    }

    /// Whether an environment exists, and whether it is protected.
    pub fn environment(&self, full: &str, name: &str) -> Option<bool> {
        let s = self.state.lock();
        let id = repo_id_of(&s, full)?;
        s.envs
            .get(&(id, name.to_ascii_lowercase()))
            .map(|e| e.reviewers || e.branch_policy)
    }

    /// Remove an environment's protection rules and branch policy.
    pub fn unprotect(&self, full: &str, name: &str) {
        let mut s = self.state.lock();
        let Some(id) = repo_id_of(&s, full) else {
            return;
        };
        if let Some(e) = s.envs.get_mut(&(id, name.to_ascii_lowercase())) {
            e.reviewers = false;
            e.branch_policy = false;
        }
    }

    /// A variable's value (repository level, or an environment's).
    pub fn variable(&self, full: &str, env: Option<&str>, name: &str) -> Option<String> {
        let s = self.state.lock();
        let id = repo_id_of(&s, full)?;
        s.vars
            .get(&(id, env.map(str::to_ascii_lowercase)))?
            .get(&name.to_ascii_uppercase())
            .cloned()
    }

    /// Set a variable by hand (as someone in the GitHub UI would).
    pub fn set_variable(&self, full: &str, env: Option<&str>, name: &str, value: &str) {
        let mut s = self.state.lock();
        let Some(id) = repo_id_of(&s, full) else {
            return;
        };
        s.vars
            .entry((id, env.map(str::to_ascii_lowercase)))
            .or_default()
            .insert(name.to_ascii_uppercase(), value.into());
    }

    /// A repository secret (its value is never stored: GitHub never shows one).
    pub fn add_secret(&self, full: &str, name: &str) {
        let mut s = self.state.lock();
        if let Some(id) = repo_id_of(&s, full) {
            s.secrets
                .entry(SecretHome::Repo(id))
                .or_default()
                .push(name.to_ascii_uppercase());
        }
    }

    /// An environment secret (the environment is created when missing).
    pub fn add_env_secret(&self, full: &str, env: &str, name: &str) {
        if self.environment(full, env).is_none() {
            self.add_environment(full, env, false);
        }
        let mut s = self.state.lock();
        if let Some(id) = repo_id_of(&s, full) {
            s.secrets
                .entry(SecretHome::Env(id, env.to_ascii_lowercase()))
                .or_default()
                .push(name.to_ascii_uppercase());
        }
    }

    /// An organisation secret with `visibility` (`all`, `private`, `selected`); `selected`
    /// lists the repositories it reaches when selected.
    pub fn add_org_secret(&self, org: &str, name: &str, visibility: &str, selected: &[&str]) {
        let mut s = self.state.lock();
        let ids: Vec<u64> = selected.iter().filter_map(|f| repo_id_of(&s, f)).collect();
        let name = name.to_ascii_uppercase();
        s.secrets
            .entry(SecretHome::Org(org.to_ascii_lowercase()))
            .or_default()
            .push(name.clone());
        s.org_secrets
            .insert((org.to_ascii_lowercase(), name), (visibility.into(), ids));
    }

    /// A file in a repository's default branch (e.g. `.github/workflows/deploy.yml`).
    pub fn add_file(&self, full: &str, path: &str, text: &str) {
        let mut s = self.state.lock();
        if let Some(id) = repo_id_of(&s, full) {
            s.files.insert((id, path.to_string()), text.to_string());
        }
    }

    /// A file's text, as the repository holds it now.
    pub fn file(&self, full: &str, path: &str) -> Option<String> {
        let s = self.state.lock();
        let id = repo_id_of(&s, full)?;
        s.files.get(&(id, path.to_string())).cloned()
    }

    /// The secrets held for a repository (its own), an environment, or an organisation
    /// (`scope`: `owner/repo`, `owner/repo:env`, or `org`).
    pub fn secrets(&self, scope: &str) -> Vec<String> {
        let s = self.state.lock();
        let home = match scope.split_once(':') {
            Some((full, env)) => {
                repo_id_of(&s, full).map(|id| SecretHome::Env(id, env.to_ascii_lowercase()))
            }
            None if scope.contains('/') => repo_id_of(&s, scope).map(SecretHome::Repo),
            None => Some(SecretHome::Org(scope.to_ascii_lowercase())),
        };
        home.map(|h| secrets_at(&s, &h)).unwrap_or_default()
    }

    /// The pull requests opened on a repository: (number, head branch, title, body).
    pub fn pulls(&self, full: &str) -> Vec<(u64, String, String, String)> {
        let s = self.state.lock();
        let Some(id) = repo_id_of(&s, full) else {
            return vec![];
        };
        s.pulls
            .iter()
            .filter(|p| p.0 == id)
            .map(|p| (p.1, p.2.clone(), p.4.clone(), p.5.clone()))
            .collect()
    }

    /// A file as written on a branch (not the default one).
    pub fn branch_file(&self, full: &str, branch: &str, path: &str) -> Option<String> {
        let s = self.state.lock();
        let id = repo_id_of(&s, full)?;
        s.branches
            .get(&(id, branch.to_string()))?
            .get(path)
            .cloned()
    }

    /// Merge a pull request (as its reviewer would): the head branch's files land on the
    /// default branch.
    pub fn merge(&self, full: &str, number: u64) {
        let mut s = self.state.lock();
        let Some(id) = repo_id_of(&s, full) else {
            return;
        };
        let Some(head) = s
            .pulls
            .iter()
            .find(|p| p.0 == id && p.1 == number)
            .map(|p| p.2.clone())
        else {
            return;
        };
        let files = s.branches.get(&(id, head)).cloned().unwrap_or_default();
        for (path, text) in files {
            s.files.insert((id, path), text);
        }
        s.pulls.retain(|p| !(p.0 == id && p.1 == number));
    }

    /// `GET /meta`'s `actions` ranges (GitHub's hosted runners).
    pub fn set_actions_ranges(&self, ranges: &[&str]) {
        self.state.lock().actions_ranges = ranges.iter().map(|r| r.to_string()).collect();
    }

    /// Write calls (POST, PUT, PATCH, DELETE) so far.
    pub fn writes(&self) -> u64 {
        self.state
            .lock()
            .calls
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, n)| n)
            .sum()
    }

    /// Add a fault rule (the same rules as the IAM/STS kit; the first that hits decides). An
    /// error fault answers GitHub's error body with that status.
    pub fn inject(&self, rule: super::FaultRule) {
        self.state.lock().faults.push(rule);
    }

    /// Answer the next `n` requests with GitHub's secondary rate limit: 403 with `retry-after`.
    pub fn secondary_limit(&self, n: u64) {
        self.state.lock().throttle = n;
    }

    /// Every request answered so far, with bodies.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().exchanges.clone()
    }

    /// Calls so far per `METHOD route`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.state.lock().calls.clone()
    }

    /// The `sub` a job of `owner/name` presents in `context` (e.g. `ref:refs/heads/main`), by
    /// the repository's settings (repository first, else its organization).
    pub fn sub_for(&self, full: &str, context: &str) -> Option<String> {
        let s = self.state.lock();
        let r = s
            .repos
            .iter()
            .find(|r| format!("{}/{}", r.owner, r.name).eq_ignore_ascii_case(full))?;
        Some(minted_sub(&s, r, context))
    }
}

fn repo_id_of(s: &GhState, full: &str) -> Option<u64> {
    let (o, n) = full.split_once('/')?;
    find(s, o, n).map(|r| r.id)
}

fn find<'a>(s: &'a GhState, owner: &str, name: &str) -> Option<&'a Repo> {
    s.repos
        .iter()
        .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name))
}

fn org_of<'a>(s: &'a GhState, r: &Repo) -> Option<&'a Org> {
    s.orgs.get(&r.owner.to_ascii_lowercase())
}

fn immutable_of(s: &GhState, r: &Repo) -> bool {
    r.immutable
        .unwrap_or_else(|| org_of(s, r).is_some_and(|o| o.immutable))
}

fn claim_keys_of(s: &GhState, r: &Repo) -> Option<Vec<String>> {
    r.claim_keys
        .clone()
        .or_else(|| org_of(s, r).and_then(|o| o.claim_keys.clone()))
}

/// `repo:owner/name` or `repo:owner@ID/name@ID`.
fn repo_part(s: &GhState, r: &Repo) -> String {
    if immutable_of(s, r) {
        format!("repo:{}@{}/{}@{}", r.owner, r.owner_id, r.name, r.id)
    } else {
        format!("repo:{}/{}", r.owner, r.name)
    }
}

/// The `sub` GitHub mints: the default template, or the claim keys in order (`context` expands
/// to the job's context, `repo` to the repository part).
fn minted_sub(s: &GhState, r: &Repo, context: &str) -> String {
    match claim_keys_of(s, r) {
        None => format!("{}:{context}", repo_part(s, r)),
        Some(keys) => keys
            .iter()
            .map(|k| match k.as_str() {
                "context" => context.to_string(),
                "repo" => repo_part(s, r),
                "repository_owner_id" => format!("repository_owner_id:{}", r.owner_id),
                "repository_id" => format!("repository_id:{}", r.id),
                "repository_owner" => format!("repository_owner:{}", r.owner),
                "repository" => format!("repository:{}/{}", r.owner, r.name),
                other => format!("{other}:"),
            })
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// The fixed part of the minted `sub`, before the job's context.
fn sub_prefix(s: &GhState, r: &Repo) -> String {
    let full = minted_sub(s, r, "\u{0}");
    full.split(":\u{0}")
        .next()
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_string()
}

fn error(status: StatusCode, message: &str, base: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    let _ = base;
    (status, axum::Json(body)).into_response()
}

/// The route template of a request path, for counting and denying.
fn route_of(method: &str, path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let templ = match parts.as_slice() {
        ["repos", _, _] => "/repos/{owner}/{repo}".to_string(),
        ["repositories", _] => "/repositories/{id}".to_string(),
        ["repos", _, _, "actions", "variables", _] => {
            "/repos/{owner}/{repo}/actions/variables/{name}".to_string()
        }
        ["repos", _, _, "environments", _] => {
            "/repos/{owner}/{repo}/environments/{environment_name}".to_string()
        }
        ["repos", _, _, "environments", _, "secrets"] => {
            "/repos/{owner}/{repo}/environments/{environment_name}/secrets".to_string()
        }
        ["repos", _, _, "contents", ..] => "/repos/{owner}/{repo}/contents/{path}".to_string(),
        ["repos", _, _, "git", "ref", ..] => "/repos/{owner}/{repo}/git/ref/{ref}".to_string(),
        ["repos", _, _, "actions", "secrets", _] => {
            "/repos/{owner}/{repo}/actions/secrets/{secret_name}".to_string()
        }
        ["repos", _, _, "environments", _, "secrets", _] => {
            "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}"
                .to_string()
        }
        ["orgs", _, "actions", "secrets", _] => {
            "/orgs/{org}/actions/secrets/{secret_name}".to_string()
        }
        ["orgs", _, "actions", "secrets", _, "repositories"] => {
            "/orgs/{org}/actions/secrets/{secret_name}/repositories".to_string()
        }
        ["repos", _, _, "environments", _, "variables"] => {
            "/repos/{owner}/{repo}/environments/{environment_name}/variables".to_string()
        }
        ["repos", _, _, "environments", _, "variables", _] => {
            "/repos/{owner}/{repo}/environments/{environment_name}/variables/{name}".to_string()
        }
        ["repos", _, _, rest @ ..] => format!("/repos/{{owner}}/{{repo}}/{}", rest.join("/")),
        ["orgs", _, rest @ ..] => format!("/orgs/{{org}}/{}", rest.join("/")),
        _ => path.to_string(),
    };
    format!("{method} {templ}")
}

/// Authentication, permissions, counting, recording and rate-limit headers for every request.
async fn gate(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let route = route_of(req.method().as_str(), req.uri().path());
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let (ok, denied, base, remaining, throttled, fault) = {
        let mut s = st.lock();
        let throttled = s.throttle > 0;
        s.throttle = s.throttle.saturating_sub(1);
        let action = match route.split_once(' ') {
            Some(("GET", r)) => format!("Get {r}"),
            _ => route.clone(),
        };
        let fault = s
            .faults
            .iter_mut()
            .find_map(|r| r.hit(&action, &route).then(|| r.fault.clone()));
        *s.calls.entry(route.clone()).or_default() += 1;
        s.remaining = s.remaining.saturating_sub(1);
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .or_else(|| auth.strip_prefix("token "))
            .unwrap_or_default();
        (
            !s.token.is_empty() && token == s.token,
            s.denied.get(&route).cloned(),
            s.base.clone(),
            s.remaining,
            throttled,
            fault,
        )
    };
    if let Some(super::Fault::Delay(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    if let Some(super::Fault::ResetAfter) = &fault {
        // The work is done, then the connection drops before any answer (GitHub's 204s have no
        // body to break, so the whole answer is lost): unwinding the connection's task closes
        // the socket without invoking the panic hook.
        let _done = next.run(req).await;
        std::panic::resume_unwind(Box::new("connection reset by the keyless test kit"));
    }
    let resp = if let Some(super::Fault::Error { status, .. }) = &fault {
        error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "injected by the keyless test kit",
            &base,
        )
    } else if throttled {
        let mut r = error(
            StatusCode::FORBIDDEN,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            &base,
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        r
    } else if !ok {
        error(StatusCode::UNAUTHORIZED, "Bad credentials", &base)
    } else if let Some(permission) = denied {
        let mut r = error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by personal access token",
            &base,
        );
        if let Ok(v) = HeaderValue::from_str(&permission) {
            r.headers_mut().insert("x-accepted-github-permissions", v);
        }
        r
    } else {
        next.run(req).await
    };
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 22)
        .await
        .unwrap_or_default();
    {
        let (method, templ) = route.split_once(' ').unwrap_or(("", ""));
        st.lock().exchanges.push(Exchange {
            method: method.to_string(),
            route: templ.to_string(),
            request,
            status: parts.status.as_u16(),
            response: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        });
    }
    let h = &mut parts.headers;
    let reset = super::unix_now() + 3600;
    for (k, v) in [
        ("x-ratelimit-limit", "5000".to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-used", (5000 - remaining).to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
        ("x-github-api-version-selected", "2022-11-28".to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A repository as `GET /repos/{owner}/{repo}` returns it: every field the schema requires.
fn repo_json(r: &Repo, base: &str) -> Value {
    let full = format!("{}/{}", r.owner, r.name);
    let api = format!("{base}/repos/{full}");
    let html = format!("https://github.com/{full}");
    let user_api = format!("{base}/users/{}", r.owner);
    let mut v = json!({
        "id": r.id,
        "node_id": format!("R_kit{}", r.id),
        "name": r.name,
        "full_name": full,
        "private": false,
        "owner": {
            "login": r.owner, "id": r.owner_id, "node_id": format!("O_kit{}", r.owner_id),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}", r.owner_id),
            "gravatar_id": "", "url": user_api, "html_url": format!("https://github.com/{}", r.owner),
            "followers_url": format!("{user_api}/followers"),
            "following_url": format!("{user_api}/following{{/other_user}}"),
            "gists_url": format!("{user_api}/gists{{/gist_id}}"),
            "starred_url": format!("{user_api}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{user_api}/subscriptions"),
            "organizations_url": format!("{user_api}/orgs"),
            "repos_url": format!("{user_api}/repos"),
            "events_url": format!("{user_api}/events{{/privacy}}"),
            "received_events_url": format!("{user_api}/received_events"),
            "type": "Organization", "site_admin": false
        },
        "html_url": html,
        "description": null,
        "fork": false,
        "url": api,
        "clone_url": format!("{html}.git"),
        "git_url": format!("git://github.com/{full}.git"),
        "ssh_url": format!("git@github.com:{full}.git"),
        "svn_url": html,
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "forks": 0, "forks_count": 0,
        "stargazers_count": 0, "watchers_count": 0, "watchers": 0,
        "size": 0,
        "default_branch": "main",
        "open_issues": 0, "open_issues_count": 0,
        "has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
        "has_discussions": false,
        "archived": r.archived,
        "disabled": false,
        "license": null,
        "pushed_at": "2026-11-01T00:00:00Z",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
        "network_count": 0,
        "subscribers_count": 0,
        "visibility": "public",
    });
    let m = v.as_object_mut().expect("object");
    for (k, suffix) in [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ] {
        m.insert(k.into(), Value::String(format!("{api}{suffix}")));
    }
    v
}

async fn get_repo(
    State(st): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    let s = st.lock();
    if let Some(r) = find(&s, &owner, &repo) {
        return axum::Json(repo_json(r, &s.base)).into_response();
    }
    let key = format!("{owner}/{repo}").to_ascii_lowercase();
    if let Some(id) = s.moved.get(&key) {
        let location = format!("{}/repositories/{id}", s.base);
        let body = json!({"message": "Moved Permanently", "url": location, "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"});
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&location) {
            headers.insert("location", v);
        }
        return (StatusCode::MOVED_PERMANENTLY, headers, axum::Json(body)).into_response();
    }
    error(StatusCode::NOT_FOUND, "Not Found", &s.base)
}

async fn get_repo_by_id(State(st): State<Shared>, Path(id): Path<u64>) -> Response {
    let s = st.lock();
    match s.repos.iter().find(|r| r.id == id) {
        Some(r) => axum::Json(repo_json(r, &s.base)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found", &s.base),
    }
}

async fn get_repo_sub(
    State(st): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    let s = st.lock();
    let Some(r) = find(&s, &owner, &repo) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let mut body = json!({
        "use_default": claim_keys_of(&s, r).is_none(),
        "use_immutable_subject": immutable_of(&s, r),
        "sub_claim_prefix": sub_prefix(&s, r),
    });
    if let Some(keys) = claim_keys_of(&s, r) {
        body["include_claim_keys"] = json!(keys);
    }
    axum::Json(body).into_response()
}

async fn get_org_sub(State(st): State<Shared>, Path(org): Path<String>) -> Response {
    let s = st.lock();
    let keys = s
        .orgs
        .get(&org.to_ascii_lowercase())
        .and_then(|o| o.claim_keys.clone())
        .unwrap_or_else(|| vec!["repo".into(), "context".into()]);
    axum::Json(json!({"include_claim_keys": keys})).into_response()
}

async fn get_user() -> Response {
    axum::Json(json!({
        "login": "kit-user", "id": 1, "node_id": "U_kit1",
        "avatar_url": "https://avatars.githubusercontent.com/u/1", "gravatar_id": "",
        "url": "https://api.github.com/users/kit-user", "html_url": "https://github.com/kit-user",
        "followers_url": "", "following_url": "", "gists_url": "", "starred_url": "",
        "subscriptions_url": "", "organizations_url": "", "repos_url": "", "events_url": "",
        "received_events_url": "", "type": "User", "site_admin": false,
        "name": null, "company": null, "blog": null, "location": null, "email": null,
        "hireable": null, "bio": null, "public_repos": 0, "public_gists": 0,
        "followers": 0, "following": 0,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    }))
    .into_response()
}

async fn get_rate_limit(State(st): State<Shared>) -> Response {
    let remaining = st.lock().remaining;
    let reset = super::unix_now() + 3600;
    let core =
        json!({"limit": 5000, "remaining": remaining, "reset": reset, "used": 5000 - remaining});
    let search = json!({"limit": 30, "remaining": 30, "reset": reset, "used": 0});
    axum::Json(json!({"resources": {"core": core, "search": search}, "rate": core})).into_response()
}

const STAMP: &str = "2026-11-30T00:00:00Z";

fn var_json(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value, "created_at": STAMP, "updated_at": STAMP})
}

/// The repository ID and the variable scope of a request, or the 404 to answer.
fn scope(
    s: &GhState,
    owner: &str,
    repo: &str,
    env: Option<&str>,
) -> Result<(u64, Option<String>), Box<Response>> {
    let Some(r) = find(s, owner, repo) else {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "Not Found", &s.base)));
    };
    if let Some(e) = env
        && !s.envs.contains_key(&(r.id, e.to_ascii_lowercase()))
    {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "Not Found", &s.base)));
    }
    Ok((r.id, env.map(str::to_ascii_lowercase)))
}

fn list(st: &Shared, owner: &str, repo: &str, env: Option<&str>) -> Response {
    let s = st.lock();
    let key = match scope(&s, owner, repo, env) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let vars: Vec<Value> = s
        .vars
        .get(&key)
        .map(|m| m.iter().map(|(k, v)| var_json(k, v)).collect())
        .unwrap_or_default();
    axum::Json(json!({"total_count": vars.len(), "variables": vars})).into_response()
}

fn create(st: &Shared, owner: &str, repo: &str, env: Option<&str>, body: &Value) -> Response {
    let mut s = st.lock();
    let key = match scope(&s, owner, repo, env) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let (Some(name), Some(value)) = (
        body.get("name").and_then(Value::as_str),
        body.get("value").and_then(Value::as_str),
    ) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request: name and value are required",
            &s.base,
        );
    };
    let name = name.to_ascii_uppercase();
    let vars = s.vars.entry(key).or_default();
    if vars.contains_key(&name) {
        return error(
            StatusCode::CONFLICT,
            "Already exists - Variable already exists",
            "",
        );
    }
    vars.insert(name, value.into());
    (StatusCode::CREATED, axum::Json(json!({}))).into_response()
}

fn read(st: &Shared, owner: &str, repo: &str, env: Option<&str>, name: &str) -> Response {
    let s = st.lock();
    let key = match scope(&s, owner, repo, env) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    match s
        .vars
        .get(&key)
        .and_then(|m| m.get(&name.to_ascii_uppercase()))
    {
        Some(v) => axum::Json(var_json(&name.to_ascii_uppercase(), v)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found", &s.base),
    }
}

fn update(
    st: &Shared,
    owner: &str,
    repo: &str,
    env: Option<&str>,
    name: &str,
    body: &Value,
) -> Response {
    let mut s = st.lock();
    let key = match scope(&s, owner, repo, env) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let base = s.base.clone();
    let Some(slot) = s
        .vars
        .get_mut(&key)
        .and_then(|m| m.get_mut(&name.to_ascii_uppercase()))
    else {
        return error(StatusCode::NOT_FOUND, "Not Found", &base);
    };
    if let Some(v) = body.get("value").and_then(Value::as_str) {
        *slot = v.into();
    }
    StatusCode::NO_CONTENT.into_response()
}

fn remove(st: &Shared, owner: &str, repo: &str, env: Option<&str>, name: &str) -> Response {
    let mut s = st.lock();
    let key = match scope(&s, owner, repo, env) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let base = s.base.clone();
    match s
        .vars
        .get_mut(&key)
        .and_then(|m| m.remove(&name.to_ascii_uppercase()))
    {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found", &base),
    }
}

fn body_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

async fn list_vars(State(st): State<Shared>, Path((o, r)): Path<(String, String)>) -> Response {
    list(&st, &o, &r, None)
}
async fn create_var(
    State(st): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    create(&st, &o, &r, None, &body_json(&body))
}
async fn get_var(
    State(st): State<Shared>,
    Path((o, r, n)): Path<(String, String, String)>,
) -> Response {
    read(&st, &o, &r, None, &n)
}
async fn update_var(
    State(st): State<Shared>,
    Path((o, r, n)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    update(&st, &o, &r, None, &n, &body_json(&body))
}
async fn delete_var(
    State(st): State<Shared>,
    Path((o, r, n)): Path<(String, String, String)>,
) -> Response {
    remove(&st, &o, &r, None, &n)
}
async fn list_env_vars(
    State(st): State<Shared>,
    Path((o, r, e)): Path<(String, String, String)>,
) -> Response {
    list(&st, &o, &r, Some(&e))
}
async fn create_env_var(
    State(st): State<Shared>,
    Path((o, r, e)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    create(&st, &o, &r, Some(&e), &body_json(&body))
}
async fn get_env_var(
    State(st): State<Shared>,
    Path((o, r, e, n)): Path<(String, String, String, String)>,
) -> Response {
    read(&st, &o, &r, Some(&e), &n)
}
async fn update_env_var(
    State(st): State<Shared>,
    Path((o, r, e, n)): Path<(String, String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    update(&st, &o, &r, Some(&e), &n, &body_json(&body))
}
async fn delete_env_var(
    State(st): State<Shared>,
    Path((o, r, e, n)): Path<(String, String, String, String)>,
) -> Response {
    remove(&st, &o, &r, Some(&e), &n)
}

fn env_json(s: &GhState, r: &Repo, e: &Environment) -> Value {
    let api = format!(
        "{}/repos/{}/{}/environments/{}",
        s.base, r.owner, r.name, e.name
    );
    let mut rules = Vec::new();
    if e.reviewers {
        rules.push(json!({"id": e.id * 10 + 1, "node_id": format!("GA_kit{}", e.id), "type": "required_reviewers", "prevent_self_review": false, "reviewers": []}));
    }
    if e.branch_policy {
        rules.push(json!({"id": e.id * 10 + 2, "node_id": format!("GA_kitb{}", e.id), "type": "branch_policy"}));
    }
    json!({
        "id": e.id,
        "node_id": format!("EN_kit{}", e.id),
        "name": e.name,
        "url": api,
        "html_url": format!("https://github.com/{}/{}/deployments/activity_log?environments_filter={}", r.owner, r.name, e.name),
        "created_at": STAMP,
        "updated_at": STAMP,
        "protection_rules": rules,
        "deployment_branch_policy": if e.branch_policy {
            json!({"protected_branches": true, "custom_branch_policies": false})
        } else {
            Value::Null
        },
    })
}

async fn get_env(
    State(st): State<Shared>,
    Path((o, r, e)): Path<(String, String, String)>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    match s.envs.get(&(repo.id, e.to_ascii_lowercase())) {
        Some(env) => axum::Json(env_json(&s, repo, env)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found", &s.base),
    }
}

/// PUT creates the environment or updates it; fields not sent stay as they are.
async fn put_env(
    State(st): State<Shared>,
    Path((o, r, e)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body = body_json(&body);
    let mut s = st.lock();
    let Some(repo) = find(&s, &o, &r).cloned() else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let key = (repo.id, e.to_ascii_lowercase());
    if !s.envs.contains_key(&key) {
        s.next_id += 1;
        let id = s.next_id;
        s.envs.insert(
            key.clone(),
            Environment {
                id,
                name: e.clone(),
                reviewers: false,
                branch_policy: false,
            },
        );
    }
    let env = s.envs.get_mut(&key).expect("just inserted");
    if let Some(p) = body.get("deployment_branch_policy") {
        env.branch_policy = !p.is_null();
    }
    if let Some(rv) = body.get("reviewers") {
        env.reviewers = rv.as_array().is_some_and(|a| !a.is_empty());
    }
    let env = env.clone();
    axum::Json(env_json(&s, &repo, &env)).into_response()
}

/// PUT the repository's subject settings: 201 with an empty object, 422 without `use_default`.
async fn put_repo_sub(
    State(st): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body = body_json(&body);
    let mut s = st.lock();
    let base = s.base.clone();
    let Some(use_default) = body.get("use_default").and_then(Value::as_bool) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "use_default is required",
            &base,
        );
    };
    let Some(r) = s
        .repos
        .iter_mut()
        .find(|r| r.owner.eq_ignore_ascii_case(&owner) && r.name.eq_ignore_ascii_case(&repo))
    else {
        return error(StatusCode::NOT_FOUND, "Not Found", &base);
    };
    r.claim_keys = if use_default {
        None
    } else {
        body.get("include_claim_keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
    };
    if let Some(on) = body.get("use_immutable_subject").and_then(Value::as_bool) {
        r.immutable = Some(on);
    }
    (StatusCode::CREATED, axum::Json(json!({}))).into_response()
}

fn secret_json(name: &str) -> Value {
    json!({"name": name, "created_at": STAMP, "updated_at": STAMP})
}

fn page_of<T: Clone>(items: &[T], q: &BTreeMap<String, String>) -> Vec<T> {
    let per = q
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    items
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .cloned()
        .collect()
}

/// One page of a secrets list, as GitHub answers it (`total_count` counts them all).
fn secrets_page(names: &[String], q: &BTreeMap<String, String>) -> Response {
    let list: Vec<Value> = page_of(names, q).iter().map(|n| secret_json(n)).collect();
    axum::Json(json!({"total_count": names.len(), "secrets": list})).into_response()
}

fn secrets_at(s: &GhState, home: &SecretHome) -> Vec<String> {
    let mut v = s.secrets.get(home).cloned().unwrap_or_default();
    v.sort();
    v
}

async fn list_repo_secrets(
    State(st): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let names = secrets_at(&s, &SecretHome::Repo(repo.id));
    secrets_page(&names, &q)
}

async fn list_env_secrets(
    State(st): State<Shared>,
    Path((o, r, e)): Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    if !s.envs.contains_key(&(repo.id, e.to_ascii_lowercase())) {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    }
    let names = secrets_at(&s, &SecretHome::Env(repo.id, e.to_ascii_lowercase()));
    secrets_page(&names, &q)
}

/// The organisation secrets a repository can read.
fn org_secrets_for(s: &GhState, repo: &Repo) -> Vec<String> {
    let org = repo.owner.to_ascii_lowercase();
    secrets_at(s, &SecretHome::Org(org.clone()))
        .into_iter()
        .filter(|n| match s.org_secrets.get(&(org.clone(), n.clone())) {
            Some((v, ids)) if v == "selected" => ids.contains(&repo.id),
            Some((v, _)) if v == "private" => true,
            _ => true,
        })
        .collect()
}

async fn list_repo_org_secrets(
    State(st): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let names = org_secrets_for(&s, repo);
    secrets_page(&names, &q)
}

async fn list_envs(State(st): State<Shared>, Path((o, r)): Path<(String, String)>) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let envs: Vec<Value> = s
        .envs
        .iter()
        .filter(|((id, _), _)| *id == repo.id)
        .map(|(_, e)| env_json(&s, repo, e))
        .collect();
    axum::Json(json!({"total_count": envs.len(), "environments": envs})).into_response()
}

async fn list_org_secrets(
    State(st): State<Shared>,
    Path(org): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let s = st.lock();
    let key = org.to_ascii_lowercase();
    if !s.repos.iter().any(|r| r.owner.eq_ignore_ascii_case(&org)) {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    }
    let names = secrets_at(&s, &SecretHome::Org(key.clone()));
    let list: Vec<Value> = page_of(&names, &q)
        .iter()
        .map(|n| {
            let (vis, _) = s
                .org_secrets
                .get(&(key.clone(), n.clone()))
                .cloned()
                .unwrap_or_else(|| ("all".into(), vec![]));
            let mut v = secret_json(n);
            v["visibility"] = json!(vis);
            if vis == "selected" {
                v["selected_repositories_url"] = json!(format!(
                    "{}/orgs/{org}/actions/secrets/{n}/repositories",
                    s.base
                ));
            }
            v
        })
        .collect();
    axum::Json(json!({"total_count": names.len(), "secrets": list})).into_response()
}

async fn list_org_secret_repos(
    State(st): State<Shared>,
    Path((org, name)): Path<(String, String)>,
) -> Response {
    let s = st.lock();
    let key = (org.to_ascii_lowercase(), name.to_ascii_uppercase());
    let Some((_, ids)) = s.org_secrets.get(&key) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let repos: Vec<Value> = s
        .repos
        .iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| repo_json(r, &s.base))
        .collect();
    axum::Json(json!({"total_count": repos.len(), "repositories": repos})).into_response()
}

async fn list_org_repos(
    State(st): State<Shared>,
    Path(org): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let s = st.lock();
    let repos: Vec<&Repo> = s
        .repos
        .iter()
        .filter(|r| r.owner.eq_ignore_ascii_case(&org))
        .collect();
    if repos.is_empty() {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    }
    let all: Vec<Value> = repos.iter().map(|r| repo_json(r, &s.base)).collect();
    axum::Json(Value::Array(page_of(&all, &q))).into_response()
}

fn content_item(s: &GhState, r: &Repo, path: &str, text: Option<&str>) -> Value {
    use base64::Engine as _;
    let api = format!("{}/repos/{}/{}/contents/{path}", s.base, r.owner, r.name);
    let html = format!("https://github.com/{}/{}/blob/main/{path}", r.owner, r.name);
    let git = format!("{}/repos/{}/{}/git/blobs/kit", s.base, r.owner, r.name);
    let name = path.rsplit('/').next().unwrap_or(path);
    let sha = text.map(blob_sha).unwrap_or_else(|| format!("{:040x}", 0));
    let mut v = json!({
        "type": if text.is_some() { "file" } else { "dir" },
        "size": text.map_or(0, str::len),
        "name": name,
        "path": path,
        "sha": sha,
        "url": api,
        "git_url": git,
        "html_url": html,
        "download_url": null,
        "_links": {"self": api, "git": git, "html": html},
    });
    if let Some(t) = text {
        v["encoding"] = json!("base64");
        v["content"] = json!(base64::engine::general_purpose::STANDARD.encode(t.as_bytes()));
    }
    v
}

async fn get_contents(
    State(st): State<Shared>,
    Path((o, r, path)): Path<(String, String, String)>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let path = path.trim_matches('/').to_string();
    if let Some(text) = s.files.get(&(repo.id, path.clone())) {
        return axum::Json(content_item(&s, repo, &path, Some(text))).into_response();
    }
    let prefix = format!("{path}/");
    let items: Vec<Value> = s
        .files
        .iter()
        .filter(|((id, p), _)| {
            *id == repo.id && p.starts_with(&prefix) && !p[prefix.len()..].contains('/')
        })
        .map(|((_, p), t)| {
            let mut v = content_item(&s, repo, p, Some(t));
            if let Some(o) = v.as_object_mut() {
                o.remove("content");
                o.remove("encoding");
            }
            v
        })
        .collect();
    if items.is_empty() {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    }
    axum::Json(Value::Array(items)).into_response()
}

async fn get_meta(State(st): State<Shared>) -> Response {
    let s = st.lock();
    axum::Json(json!({
        "verifiable_password_authentication": false,
        "actions": s.actions_ranges,
        "hooks": [], "web": [], "api": [], "git": [], "packages": [], "pages": [],
        "importer": [], "dependabot": [],
    }))
    .into_response()
}

fn delete_secret_at(st: &Shared, home: Option<SecretHome>, name: &str) -> Response {
    let mut s = st.lock();
    let base = s.base.clone();
    let Some(home) = home else {
        return error(StatusCode::NOT_FOUND, "Not Found", &base);
    };
    let name = name.to_ascii_uppercase();
    let Some(list) = s.secrets.get_mut(&home) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &base);
    };
    let before = list.len();
    list.retain(|n| *n != name);
    if list.len() == before {
        return error(StatusCode::NOT_FOUND, "Not Found", &base);
    }
    if let SecretHome::Org(org) = &home {
        s.org_secrets.remove(&(org.clone(), name));
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_repo_secret(
    State(st): State<Shared>,
    Path((o, r, name)): Path<(String, String, String)>,
) -> Response {
    let home = find(&st.lock(), &o, &r).map(|repo| SecretHome::Repo(repo.id));
    delete_secret_at(&st, home, &name)
}

async fn delete_env_secret(
    State(st): State<Shared>,
    Path((o, r, e, name)): Path<(String, String, String, String)>,
) -> Response {
    let home =
        find(&st.lock(), &o, &r).map(|repo| SecretHome::Env(repo.id, e.to_ascii_lowercase()));
    delete_secret_at(&st, home, &name)
}

async fn delete_org_secret(
    State(st): State<Shared>,
    Path((org, name)): Path<(String, String)>,
) -> Response {
    delete_secret_at(&st, Some(SecretHome::Org(org.to_ascii_lowercase())), &name)
}

fn blob_sha(text: &str) -> String {
    // A stand-in for git's blob hash: stable per content.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}{:024x}", text.len())
}

const MAIN_SHA: &str = "a5b1c0ffee0000000000000000000000000000aa";

fn ref_json(s: &GhState, r: &Repo, branch: &str, sha: &str) -> Value {
    let url = format!(
        "{}/repos/{}/{}/git/refs/heads/{branch}",
        s.base, r.owner, r.name
    );
    json!({
        "ref": format!("refs/heads/{branch}"),
        "node_id": format!("REF_kit{}", r.id),
        "url": url,
        "object": {"type": "commit", "sha": sha, "url": format!("{}/repos/{}/{}/git/commits/{sha}", s.base, r.owner, r.name)},
    })
}

async fn get_ref(
    State(st): State<Shared>,
    Path((o, r, reference)): Path<(String, String, String)>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r) else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let Some(branch) = reference.strip_prefix("heads/") else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    if branch != "main" && !s.branches.contains_key(&(repo.id, branch.to_string())) {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    }
    axum::Json(ref_json(&s, repo, branch, MAIN_SHA)).into_response()
}

async fn create_ref(
    State(st): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body = body_json(&body);
    let mut s = st.lock();
    let Some(repo) = find(&s, &o, &r).cloned() else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let (Some(reference), Some(sha)) = (body["ref"].as_str(), body["sha"].as_str()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request", &s.base);
    };
    let Some(branch) = reference.strip_prefix("refs/heads/") else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reference must start with refs/heads/",
            &s.base,
        );
    };
    let key = (repo.id, branch.to_string());
    if branch == "main" || s.branches.contains_key(&key) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reference already exists",
            &s.base,
        );
    }
    s.branches.insert(key, BTreeMap::new());
    (
        StatusCode::CREATED,
        axum::Json(ref_json(&s, &repo, branch, sha)),
    )
        .into_response()
}

async fn put_contents(
    State(st): State<Shared>,
    Path((o, r, path)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    use base64::Engine as _;
    let body = body_json(&body);
    let mut s = st.lock();
    let Some(repo) = find(&s, &o, &r).cloned() else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let path = path.trim_matches('/').to_string();
    let Some(text) = body["content"]
        .as_str()
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "content is not base64",
            &s.base,
        );
    };
    let branch = body["branch"].as_str().unwrap_or("main").to_string();
    // The file as the branch holds it now (a new branch starts from the default one).
    let current = if branch == "main" {
        s.files.get(&(repo.id, path.clone())).cloned()
    } else {
        let Some(files) = s.branches.get(&(repo.id, branch.clone())) else {
            return error(StatusCode::NOT_FOUND, "Branch not found", &s.base);
        };
        files
            .get(&path)
            .cloned()
            .or_else(|| s.files.get(&(repo.id, path.clone())).cloned())
    };
    // Updating a file needs its blob sha (GitHub answers 409 on a stale one, 422 without).
    if let Some(cur) = &current {
        match body["sha"].as_str() {
            Some(sha) if sha == blob_sha(cur) => {}
            Some(_) => return error(StatusCode::CONFLICT, "sha does not match", &s.base),
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "\"sha\" wasn't supplied.",
                    &s.base,
                );
            }
        }
    }
    if branch == "main" {
        s.files.insert((repo.id, path.clone()), text.clone());
    } else if let Some(files) = s.branches.get_mut(&(repo.id, branch.clone())) {
        files.insert(path.clone(), text.clone());
    }
    let mut content = content_item(&s, &repo, &path, Some(&text));
    if let Some(o) = content.as_object_mut() {
        o.remove("content");
        o.remove("encoding");
        // A written file's answer has a download URL (GitHub's raw host).
        o.insert(
            "download_url".into(),
            json!(format!(
                "https://raw.githubusercontent.com/{}/{}/{branch}/{path}",
                repo.owner, repo.name
            )),
        );
    }
    let commit_sha = blob_sha(&format!("commit {path} {text}"));
    let commit = json!({
        "sha": commit_sha,
        "node_id": format!("C_kit{}", repo.id),
        "url": format!("{}/repos/{}/{}/git/commits/{commit_sha}", s.base, repo.owner, repo.name),
        "html_url": format!("https://github.com/{}/{}/commit/{commit_sha}", repo.owner, repo.name),
        "author": {"date": STAMP, "name": "keyless", "email": "keyless@users.noreply.github.com"},
        "committer": {"date": STAMP, "name": "keyless", "email": "keyless@users.noreply.github.com"},
        "message": body["message"].as_str().unwrap_or_default(),
        "tree": {"url": format!("{}/repos/{}/{}/git/trees/{commit_sha}", s.base, repo.owner, repo.name), "sha": commit_sha},
        "parents": [{"url": format!("{}/repos/{}/{}/git/commits/{MAIN_SHA}", s.base, repo.owner, repo.name), "html_url": format!("https://github.com/{}/{}/commit/{MAIN_SHA}", repo.owner, repo.name), "sha": MAIN_SHA}],
        "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
    });
    let status = if current.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (
        status,
        axum::Json(json!({"content": content, "commit": commit})),
    )
        .into_response()
}

fn pull_json(
    s: &GhState,
    r: &Repo,
    number: u64,
    head: &str,
    base: &str,
    title: &str,
    body: &str,
) -> Value {
    let api = format!("{}/repos/{}/{}", s.base, r.owner, r.name);
    let html = format!("https://github.com/{}/{}/pull/{number}", r.owner, r.name);
    let mut repo = repo_json(r, &s.base);
    // A pull request's head and base carry the repository with every field the schema asks.
    repo["has_downloads"] = json!(true);
    let user = repo["owner"].clone();
    let link = |h: &str| json!({"href": h});
    let mut v = json!({
        "url": format!("{api}/pulls/{number}"),
        "id": 90_000 + number,
        "node_id": format!("PR_kit{number}"),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": format!("{api}/issues/{number}"),
        "commits_url": format!("{api}/pulls/{number}/commits"),
        "review_comments_url": format!("{api}/pulls/{number}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{number}/comments"),
        "statuses_url": format!("{api}/statuses/{MAIN_SHA}"),
        "number": number,
        "state": "open",
        "locked": false,
        "title": title,
        "user": user,
        "body": body,
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": STAMP,
        "updated_at": STAMP,
        "closed_at": null,
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
    });
    let links = json!({
        "self": link(&format!("{api}/pulls/{number}")),
        "html": link(&html),
        "issue": link(&format!("{api}/issues/{number}")),
        "comments": link(&format!("{api}/issues/{number}/comments")),
        "review_comments": link(&format!("{api}/pulls/{number}/comments")),
        "review_comment": link(&format!("{api}/pulls/comments{{/number}}")),
        "commits": link(&format!("{api}/pulls/{number}/commits")),
        "statuses": link(&format!("{api}/statuses/{MAIN_SHA}")),
    });
    let rest = json!({
        "head": {"label": format!("{}:{head}", r.owner), "ref": head, "repo": repo, "sha": MAIN_SHA, "user": user},
        "base": {"label": format!("{}:{base}", r.owner), "ref": base, "repo": repo, "sha": MAIN_SHA, "user": user},
        "author_association": "OWNER",
        "auto_merge": null,
        "draft": false,
        "merged": false,
        "mergeable": null,
        "rebaseable": null,
        "mergeable_state": "unknown",
        "merged_by": null,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    });
    if let (Some(o), Some(r)) = (v.as_object_mut(), rest.as_object()) {
        o.extend(r.clone());
        o.insert("_links".into(), links);
    }
    v
}

async fn list_pulls(
    State(st): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let s = st.lock();
    let Some(repo) = find(&s, &o, &r).cloned() else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let head = q
        .get("head")
        .map(|h| h.split_once(':').map_or(h.as_str(), |(_, b)| b).to_string());
    let list: Vec<Value> = s
        .pulls
        .iter()
        .filter(|p| p.0 == repo.id && head.as_ref().is_none_or(|h| *h == p.2))
        .map(|p| {
            let mut v = pull_json(&s, &repo, p.1, &p.2, &p.3, &p.4, &p.5);
            // The list answers the simple shape: no counts.
            if let Some(o) = v.as_object_mut() {
                for k in [
                    "merged",
                    "mergeable",
                    "rebaseable",
                    "mergeable_state",
                    "merged_by",
                    "comments",
                    "review_comments",
                    "maintainer_can_modify",
                    "commits",
                    "additions",
                    "deletions",
                    "changed_files",
                ] {
                    o.remove(k);
                }
            }
            v
        })
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

async fn create_pull(
    State(st): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body = body_json(&body);
    let mut s = st.lock();
    let Some(repo) = find(&s, &o, &r).cloned() else {
        return error(StatusCode::NOT_FOUND, "Not Found", &s.base);
    };
    let (Some(head), Some(base)) = (body["head"].as_str(), body["base"].as_str()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed",
            &s.base,
        );
    };
    let head = head.split_once(':').map_or(head, |(_, b)| b).to_string();
    if !s.branches.contains_key(&(repo.id, head.clone())) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed: head",
            &s.base,
        );
    }
    let number = s.pulls.iter().filter(|p| p.0 == repo.id).count() as u64 + 1;
    let title = body["title"].as_str().unwrap_or_default().to_string();
    let text = body["body"].as_str().unwrap_or_default().to_string();
    s.pulls.push((
        repo.id,
        number,
        head.clone(),
        base.to_string(),
        title.clone(),
        text.clone(),
    ));
    (
        StatusCode::CREATED,
        axum::Json(pull_json(&s, &repo, number, &head, base, &title, &text)),
    )
        .into_response()
}
