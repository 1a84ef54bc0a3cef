//! The one module that calls GitHub's REST API (the runner's token endpoint stays in `token`).
//! It hands back plain types: what a repository is ([`RepoInfo`]) and which `sub` its jobs
//! present ([`SubjectSettings`], [`SubForm`]).
//!
//! Auth follows `gh`: `GH_TOKEN`, then `GITHUB_TOKEN` (github.com and `*.ghe.com`);
//! `GH_ENTERPRISE_TOKEN`, then `GITHUB_ENTERPRISE_TOKEN` (GHES); else `gh auth token --hostname
//! H` when `gh` is installed. The API base follows the issuer (`api.github.com`,
//! `api.TENANT.ghe.com`, `https://HOST/api/v3`) unless overridden. Every request sends
//! `X-GitHub-Api-Version` and keyless's User-Agent; a rate-limited answer is retried once after
//! the wait GitHub names, when that is short. The token never appears in `Debug`, errors or
//! output. This module knows nothing about AWS, configs or the terminal.

pub mod stored;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::identity::issuer::{Issuer, IssuerKind};
use crate::identity::repository::{EnvironmentInfo, RepoInfo, SubjectSettings};
use crate::io::http;

/// The REST API version keyless is written against.
pub const API_VERSION: &str = "2022-11-28";

/// The longest wait keyless accepts for a rate limit before giving up (seconds).
const MAX_RATE_WAIT: u64 = 60;

/// A GitHub token: shown nowhere.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where the token came from (safe to print).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable.
    Env(&'static str),
    /// `gh auth token --hostname HOST`.
    GhCli(String),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env(v) => write!(f, "${v}"),
            TokenSource::GhCli(h) => write!(f, "`gh auth token --hostname {h}`"),
        }
    }
}

/// The web host and API base for an issuer.
pub fn api_base(issuer: &Issuer) -> (String, String) {
    match &issuer.kind {
        IssuerKind::GitHubCom | IssuerKind::EnterpriseSlug { .. } => {
            ("github.com".into(), "https://api.github.com".into())
        }
        IssuerKind::GheCom { subdomain, .. } => (
            format!("{subdomain}.ghe.com"),
            format!("https://api.{subdomain}.ghe.com"),
        ),
        IssuerKind::Ghes { host } => (host.clone(), format!("https://{host}/api/v3")),
    }
}

/// Find a token the way `gh` does for `host`; `env` reads the environment (injectable for tests).
pub fn discover_token(
    host: &str,
    ghes: bool,
    env: impl Fn(&str) -> Option<String>,
) -> Option<(Token, TokenSource)> {
    let vars: &[&'static str] = if ghes {
        &["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"]
    } else {
        &["GH_TOKEN", "GITHUB_TOKEN"]
    };
    for v in vars {
        if let Some(t) = env(v).filter(|t| !t.trim().is_empty()) {
            return Some((Token(t.trim().to_string()), TokenSource::Env(v)));
        }
    }
    let out = std::process::Command::new("gh")
        .args(["auth", "token", "--hostname", host])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let t = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !t.is_empty())
        .then(|| (Token(t), TokenSource::GhCli(host.to_string())))
}

/// A connected client.
#[derive(Debug, Clone)]
pub struct GitHub {
    base: String,
    token: Token,
    /// Where the token came from.
    pub source: TokenSource,
}

#[derive(Deserialize)]
struct RepoWire {
    id: u64,
    full_name: String,
    owner: OwnerWire,
    #[serde(default)]
    archived: bool,
}

#[derive(Deserialize)]
struct OwnerWire {
    id: u64,
}

#[derive(Deserialize)]
struct SubWire {
    use_default: bool,
    #[serde(default)]
    include_claim_keys: Vec<String>,
    #[serde(default)]
    use_immutable_subject: Option<bool>,
    #[serde(default)]
    sub_claim_prefix: Option<String>,
}

impl GitHub {
    /// A client for `base` with `token`.
    pub fn new(base: &str, token: Token, source: TokenSource) -> GitHub {
        GitHub {
            base: base.trim_end_matches('/').to_string(),
            token,
            source,
        }
    }

    /// The API base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One GET, retried once after a short rate-limit wait; redirects are returned, not followed.
    async fn get(&self, url: &str) -> Result<http::Response> {
        self.call("GET", url, None).await
    }

    /// One request (writes are sent one at a time by the callers), retried once after a short
    /// rate-limit wait.
    async fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<http::Response> {
        let mut headers = vec![
            ("accept", "application/vnd.github+json".to_string()),
            ("x-github-api-version", API_VERSION.to_string()),
            ("authorization", format!("Bearer {}", self.token.0)),
        ];
        if body.is_some() {
            headers.push(("content-type", "application/json".to_string()));
        }
        let bytes = body.map(|b| b.to_string().into_bytes());
        let mut retried = false;
        loop {
            let r = http::send(method, url, &headers, bytes.clone()).await?;
            match rate_wait(&r) {
                Some(wait) if !retried && wait <= MAX_RATE_WAIT => {
                    retried = true;
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                _ => return Ok(r),
            }
        }
    }

    /// The variables URL of a repository, or of one of its environments.
    fn variables_url(&self, full: &str, env: Option<&str>) -> String {
        match env {
            None => format!("{}/repos/{full}/actions/variables", self.base),
            Some(e) => format!(
                "{}/repos/{full}/environments/{}/variables",
                self.base,
                encode(e)
            ),
        }
    }

    /// Every variable of a repository (or of one of its environments): name and value, 30 a
    /// page (GitHub's most), page by page.
    pub async fn variables(&self, full: &str, env: Option<&str>) -> Result<Vec<(String, String)>> {
        let base = self.variables_url(full, env);
        let mut out = Vec::new();
        for page in 1..=100 {
            let url = format!("{base}?per_page=30&page={page}");
            let r = self.get(&url).await?;
            if r.status == 404 {
                break;
            }
            let v: Value = self.parse(&url, &r, Some(full))?;
            let list = v
                .get("variables")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for item in &list {
                if let (Some(n), Some(val)) = (
                    item.get("name").and_then(Value::as_str),
                    item.get("value").and_then(Value::as_str),
                ) {
                    out.push((n.to_string(), val.to_string()));
                }
            }
            let total = v.get("total_count").and_then(Value::as_u64).unwrap_or(0) as usize;
            if list.len() < 30 || out.len() >= total {
                break;
            }
        }
        Ok(out)
    }

    /// A variable's value, `None` when it is not set.
    pub async fn variable(
        &self,
        full: &str,
        env: Option<&str>,
        name: &str,
    ) -> Result<Option<String>> {
        let url = format!("{}/{name}", self.variables_url(full, env));
        let r = self.get(&url).await?;
        if r.status == 404 {
            return Ok(None);
        }
        let v: Value = self.parse(&url, &r, Some(full))?;
        Ok(v.get("value").and_then(Value::as_str).map(String::from))
    }

    /// Set a variable: PATCH when it `exists` (204), else POST (201). A POST that meets one
    /// created meanwhile (409) is never overwritten: it is read back, and counts as done only
    /// when it already holds `value` (another run, or a lost answer, made the same write);
    /// otherwise it is refused, naming what it holds.
    pub async fn set_variable(
        &self,
        full: &str,
        env: Option<&str>,
        name: &str,
        value: &str,
        exists: bool,
    ) -> Result<()> {
        let url = self.variables_url(full, env);
        let item = format!("{url}/{name}");
        let body = serde_json::json!({"name": name, "value": value});
        if exists {
            let r = self.call("PATCH", &item, Some(&body)).await?;
            return write_result("PATCH", &item, &r, full, &self.source, 204);
        }
        let r = self.call("POST", &url, Some(&body)).await?;
        match r.status {
            201 => Ok(()),
            409 => match self.variable(full, env, name).await? {
                Some(v) if v == value => Ok(()),
                held => Err(Error::Refused(vec![format!(
                    "variable {name} of {full}{} appeared since the plan was made, holding {}; keyless did not change it\n  fix: another run or a person set it: plan again to see whose it is",
                    env.map(|e| format!(" (environment {e})"))
                        .unwrap_or_default(),
                    held.map(|v| format!("{v:?}"))
                        .unwrap_or_else(|| "nothing readable".into())
                )])),
            },
            _ => write_result("POST", &url, &r, full, &self.source, 201),
        }
    }

    /// Opt the repository in to immutable subjects, keeping the default template
    /// (`PUT .../actions/oidc/customization/sub`, 201).
    pub async fn use_immutable_subject(&self, full: &str) -> Result<()> {
        let url = format!("{}/repos/{full}/actions/oidc/customization/sub", self.base);
        let body = serde_json::json!({"use_default": true, "use_immutable_subject": true});
        let r = self.call("PUT", &url, Some(&body)).await?;
        write_result("PUT", &url, &r, full, &self.source, 201)
    }

    /// Delete a variable (one already gone is fine).
    pub async fn delete_variable(&self, full: &str, env: Option<&str>, name: &str) -> Result<()> {
        let url = format!("{}/{name}", self.variables_url(full, env));
        let r = self.call("DELETE", &url, None).await?;
        if r.status == 404 {
            return Ok(());
        }
        write_result("DELETE", &url, &r, full, &self.source, 204)
    }

    /// An environment of a repository, `None` when it does not exist.
    pub async fn environment(&self, full: &str, env: &str) -> Result<Option<EnvironmentInfo>> {
        let url = format!("{}/repos/{full}/environments/{}", self.base, encode(env));
        let r = self.get(&url).await?;
        if r.status == 404 {
            return Ok(None);
        }
        let v: Value = self.parse(&url, &r, Some(full))?;
        Ok(Some(EnvironmentInfo {
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(env)
                .to_string(),
            protection_rules: v
                .get("protection_rules")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            branch_policy: v
                .get("deployment_branch_policy")
                .is_some_and(|p| !p.is_null()),
        }))
    }

    /// Create an environment with no rules (PUT with an empty body leaves an existing one as it
    /// is; keyless never sends rules, so it never resets what someone set).
    pub async fn create_environment(&self, full: &str, env: &str) -> Result<()> {
        let url = format!("{}/repos/{full}/environments/{}", self.base, encode(env));
        // Only protected branches may deploy to it: created safe, never left open (KL022).
        let body = serde_json::json!({
            "deployment_branch_policy": {"protected_branches": true, "custom_branch_policies": false}
        });
        let r = self.call("PUT", &url, Some(&body)).await?;
        write_result("PUT", &url, &r, full, &self.source, 200)
    }

    /// `GET /repos/{owner}/{repo}`, following a redirect for a renamed or transferred one.
    pub async fn repository(&self, full: &str) -> Result<RepoInfo> {
        let url = format!("{}/repos/{full}", self.base);
        let mut r = self.get(&url).await?;
        let mut moved_from = None;
        if matches!(r.status, 301 | 302 | 307)
            && let Some(location) = r.header("location").map(String::from)
        {
            moved_from = Some(full.to_string());
            r = self.get(&location).await?;
        }
        let wire: RepoWire = self.parse(&url, &r, Some(full))?;
        Ok(RepoInfo {
            full_name: wire.full_name,
            id: wire.id,
            owner_id: wire.owner.id,
            archived: wire.archived,
            moved_from,
        })
    }

    /// `GET /repos/{owner}/{repo}/actions/oidc/customization/sub` (GitHub falls back to the
    /// organization's template itself).
    pub async fn subject_settings(&self, full: &str) -> Result<SubjectSettings> {
        let url = format!("{}/repos/{full}/actions/oidc/customization/sub", self.base);
        let r = self.get(&url).await?;
        let wire: SubWire = self.parse(&url, &r, Some(full))?;
        Ok(SubjectSettings {
            use_default: wire.use_default,
            include_claim_keys: wire.include_claim_keys,
            immutable: wire.use_immutable_subject.unwrap_or(false),
            sub_claim_prefix: wire.sub_claim_prefix,
        })
    }

    fn parse<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        r: &http::Response,
        repo: Option<&str>,
    ) -> Result<T> {
        if r.status != 200 {
            return Err(status_error(url, r, repo, &self.source));
        }
        serde_json::from_slice(&r.body).map_err(|e| Error::GitHub {
            what: format!("GET {url}"),
            status: Some(r.status),
            message: format!("unexpected answer: {e}"),
            hint: Some("check the GitHub API URL: it must point at GitHub's REST API".into()),
        })
    }
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `Ok` when a write answered `expected`, else the error for its status.
fn write_result(
    method: &str,
    url: &str,
    r: &http::Response,
    full: &str,
    source: &TokenSource,
    expected: u16,
) -> Result<()> {
    if r.status == expected {
        return Ok(());
    }
    let mut e = status_error(url, r, Some(full), source);
    if let Error::GitHub { what, .. } = &mut e {
        *what = format!("{method} {url}");
    }
    Err(e)
}

/// Seconds to wait before retrying a rate-limited answer (`retry-after`, else until
/// `x-ratelimit-reset` when nothing remains); `None` when the answer is not rate-limited.
fn rate_wait(r: &http::Response) -> Option<u64> {
    if !matches!(r.status, 403 | 429) {
        return None;
    }
    if let Some(s) = r.header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(s);
    }
    if r.header("x-ratelimit-remaining") == Some("0") {
        let reset = r.header("x-ratelimit-reset")?.parse::<i64>().ok()?;
        return Some((reset - crate::io::token::now()).max(0) as u64);
    }
    None
}

/// The error for a non-200 answer, with the fix for that status.
fn status_error(url: &str, r: &http::Response, repo: Option<&str>, source: &TokenSource) -> Error {
    let message = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| format!("HTTP {}", r.status));
    let hint = match r.status {
        401 => format!(
            "GitHub refused the token from {source}: it is wrong or expired; set GH_TOKEN (GH_ENTERPRISE_TOKEN for GHES) or run `gh auth login`"
        ),
        403 => match r.header("x-accepted-github-permissions") {
            Some(p) => format!(
                "the token from {source} lacks a permission this call needs: {p} (fine-grained tokens), or the `repo` scope (classic tokens)"
            ),
            None if rate_wait(r).is_some() => {
                "GitHub's rate limit: wait and run again, or use another token".into()
            }
            None => format!("GitHub refused the call for the token from {source}"),
        },
        404 => match repo {
            Some(full) => format!(
                "repository {full} does not exist, or the token from {source} cannot see it: check the spelling of OWNER/REPO"
            ),
            None => "not found".into(),
        },
        _ => "GitHub answered with an error: run again later".into(),
    };
    Error::GitHub {
        what: format!("GET {url}"),
        status: Some(r.status),
        message,
        hint: Some(hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_base_follows_the_issuer() {
        assert_eq!(api_base(&Issuer::github_com()).1, "https://api.github.com");
        assert_eq!(
            api_base(&Issuer::ghe_com("octo", false).unwrap()).1,
            "https://api.octo.ghe.com"
        );
        assert_eq!(
            api_base(&Issuer::ghes("github.example.com").unwrap()),
            (
                "github.example.com".into(),
                "https://github.example.com/api/v3".into()
            )
        );
    }

    #[test]
    fn tokens_are_found_as_gh_finds_them_and_never_shown() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let (t, s) = discover_token(
            "github.com",
            false,
            env(&[("GITHUB_TOKEN", "b"), ("GH_TOKEN", "a")]),
        )
        .unwrap();
        assert_eq!((t.0.as_str(), s), ("a", TokenSource::Env("GH_TOKEN")));
        let (t, s) = discover_token(
            "gh.example.com",
            true,
            env(&[("GH_TOKEN", "no"), ("GITHUB_ENTERPRISE_TOKEN", "e")]),
        )
        .unwrap();
        assert_eq!(
            (t.0.as_str(), s),
            ("e", TokenSource::Env("GITHUB_ENTERPRISE_TOKEN"))
        );
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }
}
