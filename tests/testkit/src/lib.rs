//! keyless's test kit: a real IAM + STS and a fake GitHub OIDC issuer, all in-process on loopback.
//!
//! * [`Kit::start`] serves fakecloud's IAM, STS and Organizations (AGPL-3.0-or-later crates, which is why this crate
//!   is `publish = false` and only ever a dev-dependency of keyless) on `127.0.0.1:0`. It speaks the
//!   AWS query protocol, so keyless and the tests talk to it through the official SDK. Its STS checks
//!   issuer, audience, expiry and the trust policy on `AssumeRoleWithWebIdentity`.
//! * Every request is counted per `(service, action)` ([`Kit::calls`]), so tests can prove that a
//!   command made no write calls.
//! * [`Issuer`] mints RS256 tokens with GitHub-shaped claims ([`Claims`]), serves
//!   `/.well-known/openid-configuration` and the JWKS, and serves an endpoint that behaves like the
//!   Actions runner's ID-token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` + bearer token).
//!
//! * [`GitHub`] serves the part of GitHub's REST API keyless uses (see [`github`]).
//! * [`proxy::Proxy`] is a TLS-inspecting `CONNECT` proxy in front of them, for proxy and
//!   private-CA tests.
//!
//! Each server runs on its own thread with its own Tokio runtime, so the kit works the same from
//! synchronous tests that spawn the keyless binary and from async tests that use the SDK directly.
//! Dropping the handle stops the server. This crate knows nothing about keyless itself.

pub mod contract;
pub mod files;
pub mod github;
pub mod proxy;
pub mod rcp;
pub mod usage;
pub use files::Files;
pub use github::GitHub;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fakecloud_core::dispatch::{self, DispatchConfig};
use fakecloud_core::registry::ServiceRegistry;
use fakecloud_iam::credential_resolver::IamCredentialResolver;
use fakecloud_iam::{iam_service::IamService, sts_service::StsService};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// The account every kit instance pretends to be.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region the kit answers for.
pub const REGION: &str = "us-east-1";
/// github.com's issuer, the default `iss` of minted tokens.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

type Counts = Arc<Mutex<BTreeMap<(String, String), u64>>>;

/// Round trips, as the kit sees them: a request's depth is one more than the deepest request
/// that had completed when it arrived (it may have waited for that answer); requests that
/// arrive before any of their wave's answers share a depth. The deepest so far is the number
/// of sequential round trips, whatever the client's CPU did in between (with a latency set,
/// so that one wave's requests arrive before its answers).
#[derive(Debug, Default)]
struct DepthState {
    completed: u64,
    deepest: u64,
}

type Depths = Arc<Mutex<DepthState>>;
type Faults = Arc<Mutex<Vec<FaultRule>>>;
type Contract = Arc<Mutex<ContractLog>>;

/// What the kit found checking requests against AWS's models ([`contract`]).
#[derive(Debug, Default, Clone)]
pub struct ContractLog {
    /// Requests checked.
    pub checked: u64,
    /// Each violation, naming the operation and the member.
    pub violations: Vec<String>,
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with an AWS error: `Throttling` (HTTP 400) or `ServiceFailure` (HTTP 500).
    Error {
        /// HTTP status.
        status: u16,
        /// AWS error code.
        code: &'static str,
    },
    /// Let the server do the work, then drop the connection mid-response: the change happened,
    /// the client never hears.
    ResetAfter,
    /// Wait this long, then serve normally.
    Delay(std::time::Duration),
    /// Answer with this HTTP status and a body that is not AWS's error shape (as an emulator
    /// does for a call it does not implement, or a proxy in the way).
    Bare(u16),
}

impl Fault {
    /// `Throttling`, HTTP 400, as IAM and STS send it.
    pub fn throttling() -> Fault {
        Fault::Error {
            status: 400,
            code: "Throttling",
        }
    }
    /// `ServiceFailure`, HTTP 500.
    pub fn service_failure() -> Fault {
        Fault::Error {
            status: 500,
            code: "ServiceFailure",
        }
    }
}

/// Which calls a rule applies to, and which of those it hits.
#[derive(Debug, Clone)]
pub struct FaultRule {
    action: Option<String>,
    writes_only: bool,
    fault: Fault,
    skip: u64,
    times: u64,
    pattern: Option<Vec<bool>>,
    seen: u64,
    containing: Option<String>,
}

impl FaultRule {
    /// Only calls whose request (form body or query) contains `needle`, e.g. an account ID in an
    /// AssumeRole's role ARN: one member account that throttles.
    pub fn containing(mut self, needle: &str) -> FaultRule {
        self.containing = Some(needle.to_string());
        self
    }

    /// Hit the `k`-th write call (1-based; writes are calls other than Get*/List*) once.
    pub fn nth_write(k: u64, fault: Fault) -> FaultRule {
        FaultRule {
            action: None,
            writes_only: true,
            fault,
            skip: k.saturating_sub(1),
            times: 1,
            pattern: None,
            seen: 0,
            containing: None,
        }
    }
    /// Hit every write call.
    pub fn every_write(fault: Fault) -> FaultRule {
        FaultRule {
            action: None,
            writes_only: true,
            fault,
            skip: 0,
            times: u64::MAX,
            pattern: None,
            seen: 0,
            containing: None,
        }
    }
    /// Hit the first `times` calls of one action.
    pub fn action(action: &str, fault: Fault, times: u64) -> FaultRule {
        FaultRule {
            action: Some(action.into()),
            writes_only: false,
            fault,
            skip: 0,
            times,
            pattern: None,
            seen: 0,
            containing: None,
        }
    }
    /// Hit every call (reads, writes and STS).
    pub fn always(fault: Fault) -> FaultRule {
        FaultRule {
            action: None,
            writes_only: false,
            fault,
            skip: 0,
            times: u64::MAX,
            pattern: None,
            seen: 0,
            containing: None,
        }
    }
    /// Hit `hits` of every `period` calls of any kind, spread evenly (3 of 10 = 30 %), deterministically.
    pub fn fraction(hits: usize, period: usize, fault: Fault) -> FaultRule {
        let pattern = (0..period)
            .map(|i| (i * hits) / period != ((i + 1) * hits) / period)
            .collect();
        FaultRule {
            action: None,
            writes_only: false,
            fault,
            skip: 0,
            times: u64::MAX,
            pattern: Some(pattern),
            seen: 0,
            containing: None,
        }
    }

    fn hit(&mut self, action: &str, request: &str) -> bool {
        let matches = match &self.action {
            Some(a) => a == action,
            None => !self.writes_only || !(action.starts_with("Get") || action.starts_with("List")),
        } && self
            .containing
            .as_ref()
            .is_none_or(|n| request.contains(n.as_str()));
        if !matches {
            return false;
        }
        let n = self.seen;
        self.seen += 1;
        match &self.pattern {
            Some(p) if !p.is_empty() => p[(n as usize) % p.len()],
            _ => n >= self.skip && n - self.skip < self.times,
        }
    }
}

fn set_latency(faults: &Faults, latency: std::time::Duration) {
    let mut rules = faults.lock();
    rules.retain(|r| {
        !(r.action.is_none() && matches!(r.fault, Fault::Delay(_)) && r.times == u64::MAX)
    });
    if !latency.is_zero() {
        rules.push(FaultRule::always(Fault::Delay(latency)));
    }
}

/// A background server on loopback; stopped when dropped.
struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn spawn(make_app: impl FnOnce(SocketAddr) -> Router + Send + 'static) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("test kit: tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("test kit: bind 127.0.0.1:0");
                let addr = listener.local_addr().expect("test kit: local addr");
                let app = make_app(addr);
                addr_tx.send(addr).expect("test kit: report address");
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("test kit: serve");
            });
        });
        let addr = addr_rx.recv().expect("test kit: server failed to start");
        Server {
            addr,
            shutdown: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A running IAM + STS emulator.
pub struct Kit {
    server: Server,
    counts: Counts,
    depths: Depths,
    contract: Contract,
    faults: Faults,
    last_used: LastUsed,
    iam: Arc<Mutex<Option<fakecloud_iam::SharedIamState>>>,
    usage: usage::Shared,
    key_used: KeyUsed,
}

/// Access key ID → (last used, service).
type KeyUsed = Arc<Mutex<BTreeMap<String, (i64, String)>>>;

/// What the keys layer reads: IAM's state, keys' last use, and CloudTrail's records.
type KeysState = (
    Arc<Mutex<Option<fakecloud_iam::SharedIamState>>>,
    KeyUsed,
    usage::Shared,
);

impl Drop for Kit {
    /// A test whose requests broke AWS's contract fails here, listing them, even when the
    /// refusal the kit answered with let the test pass otherwise. With `KEYLESS_CONTRACT_LOG`
    /// set, the kit adds a line `checked N violations M` to that file (CI sums them).
    fn drop(&mut self) {
        let log = self.contract.lock().clone();
        if let Some(path) = std::env::var_os("KEYLESS_CONTRACT_LOG") {
            use std::io::Write as _;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(
                    f,
                    "checked {} violations {}",
                    log.checked,
                    log.violations.len()
                );
            }
        }
        if !log.violations.is_empty() && !std::thread::panicking() {
            panic!(
                "requests the kit received break AWS's service models (botocore):\n  {}",
                log.violations.join("\n  ")
            );
        }
    }
}

/// When each role was last used (unix seconds), as the kit reports it in `RoleLastUsed`.
type LastUsed = Arc<Mutex<BTreeMap<String, i64>>>;

impl Kit {
    /// Start IAM + STS on `127.0.0.1:0`. Takes about 50 ms.
    pub fn start() -> Kit {
        Kit::start_mode(false, true)
    }

    /// Start IAM + STS for a demo or a benchmark run outside the tests: requests are checked
    /// against AWS's models only when the outside tools are installed (a fresh machine running
    /// README's demo has none yet).
    pub fn start_unchecked() -> Kit {
        Kit::start_mode(false, false)
    }

    /// Start with IAM policy enforcement on (fakecloud's `Strict` mode): every signed call is
    /// evaluated against the caller's identity policies. Access keys starting with `test` are
    /// the root bypass; use [`Kit::admin_env`] for set-up. (Unsigned AssumeRoleWithWebIdentity is
    /// refused in this mode, so token-exchange tests use [`Kit::start`].)
    pub fn start_strict() -> Kit {
        Kit::start_mode(true, true)
    }

    fn start_mode(strict: bool, contract_required: bool) -> Kit {
        // `KEYLESS_CONTRACT=off`: README's demo runs a few kit tests before the outside tools
        // (and so AWS's models) are installed.
        let contract_required =
            contract_required && std::env::var("KEYLESS_CONTRACT").as_deref() != Ok("off");
        if let (true, Err(e)) = (contract_required, contract::models()) {
            panic!("test kit: AWS's service models are needed to check requests: {e}");
        }
        let counts: Counts = Arc::default();
        let depths: Depths = Arc::default();
        let faults: Faults = Arc::default();
        let contract: Contract = Arc::default();
        let last_used: LastUsed = Arc::default();
        let usage: usage::Shared = Arc::new(usage::Usage::new());
        let usage_layer = usage.clone();
        let usage_routes = usage.clone();
        let key_used: KeyUsed = Arc::default();
        let c = (
            counts.clone(),
            faults.clone(),
            contract.clone(),
            depths.clone(),
        );
        let history = last_used.clone();
        let iam: Arc<Mutex<Option<fakecloud_iam::SharedIamState>>> = Arc::default();
        let key_used_layer = (iam.clone(), key_used.clone(), usage.clone());
        let iam_out = iam.clone();
        let orgs_state: fakecloud_organizations::SharedOrganizationsState = Arc::default();
        let orgs_for_sts = orgs_state.clone();
        let server = Server::spawn(move |bound| {
            let state = Arc::new(parking_lot::RwLock::new(
                fakecloud_core::multi_account::MultiAccountState::new(
                    ACCOUNT_ID,
                    REGION,
                    &format!("http://{bound}"),
                ),
            ));
            let mut registry = ServiceRegistry::new();
            registry.register(Arc::new(IamService::new(state.clone())));
            registry.register(Arc::new(StsService::new(state.clone())));
            // AWS Organizations (organizational units and their accounts), for keyless's
            // `[accounts] organizational_units`.
            registry.register(Arc::new(
                fakecloud_organizations::OrganizationsService::new(orgs_state.clone()),
            ));
            // Resolve session access keys to their assumed-role identity (GetCallerIdentity).
            // IAM policy enforcement stays off (the default): AssumeRoleWithWebIdentity is unsigned.
            let mut config = DispatchConfig::new(REGION, ACCOUNT_ID);
            let state_for_policies = state.clone();
            config.credential_resolver = Some(Arc::new(IamCredentialResolver::new(state)));
            if strict {
                config.iam_mode = fakecloud_core::auth::IamMode::Strict;
                config.policy_evaluator = Some(Arc::new(
                    fakecloud_iam::policy_evaluator::IamPolicyEvaluatorImpl::new(
                        state_for_policies.clone(),
                    ),
                ));
            }
            let kit_counts = c.0.clone();
            let kit_faults = c.1.clone();
            let (reset_counts, reset_depths, trips) = (c.0.clone(), c.3.clone(), c.3.clone());
            let gaad_state = (state_for_policies.clone(), history);
            *iam_out.lock() = Some(state_for_policies.clone());
            let kit_iam = iam_out.clone();
            let kit_usage = usage_routes.clone();
            Router::new()
                .route(
                    "/_kit/usage/synthetic",
                    post(
                        move |Query(q): Query<std::collections::HashMap<String, String>>| {
                            let usage = kit_usage.clone();
                            async move {
                                let n = |k: &str, d: usize| {
                                    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d)
                                };
                                let regions: Vec<String> = q
                                    .get("regions")
                                    .map(|r| r.split(',').map(String::from).collect())
                                    .unwrap_or_else(|| vec![REGION.to_string()]);
                                usage.synthetic(
                                    q.get("prefix").map(String::as_str).unwrap_or("gha-app-"),
                                    n("roles", 1),
                                    n("events", 0),
                                    n("days", 90) as u32,
                                    &regions,
                                );
                                StatusCode::NO_CONTENT
                            }
                        },
                    ),
                )
                .route(
                    "/_kit/latency",
                    post(
                        move |Query(q): Query<std::collections::HashMap<String, String>>| {
                            let faults = kit_faults.clone();
                            async move {
                                match q.get("ms").and_then(|v| v.parse::<u64>().ok()) {
                                    Some(ms) => {
                                        set_latency(&faults, std::time::Duration::from_millis(ms));
                                        StatusCode::NO_CONTENT
                                    }
                                    None => StatusCode::BAD_REQUEST,
                                }
                            }
                        },
                    ),
                )
                .route(
                    "/_kit/account",
                    post(
                        move |Query(q): Query<std::collections::HashMap<String, String>>| {
                            let kit_iam = kit_iam.clone();
                            async move {
                                let (Some(id), Some(role)) = (q.get("id"), q.get("role")) else {
                                    return StatusCode::BAD_REQUEST;
                                };
                                let Some(state) = kit_iam.lock().clone() else {
                                    return StatusCode::SERVICE_UNAVAILABLE;
                                };
                                add_account(
                                    &state,
                                    id,
                                    role,
                                    q.get("external_id").map(String::as_str),
                                );
                                StatusCode::NO_CONTENT
                            }
                        },
                    ),
                )
                .route(
                    "/_kit/round_trips",
                    get(move || {
                        let d = trips.clone();
                        async move { Json(json!({"round_trips": d.lock().deepest})) }
                    }),
                )
                .route(
                    "/_kit/reset",
                    post(move || {
                        let (c, d) = (reset_counts.clone(), reset_depths.clone());
                        async move {
                            c.lock().clear();
                            *d.lock() = DepthState::default();
                            StatusCode::NO_CONTENT
                        }
                    }),
                )
                .route(
                    "/_kit/calls",
                    get(move || {
                        let counts = kit_counts.clone();
                        async move {
                            let map: serde_json::Map<String, Value> = counts
                                .lock()
                                .iter()
                                .map(|((s, a), n)| (format!("{s}:{a}"), json!(n)))
                                .collect();
                            Json(Value::Object(map))
                        }
                    }),
                )
                .fallback(dispatch::dispatch)
                .layer(Extension(Arc::new(registry)))
                .layer(Extension(Arc::new(config)))
                .layer(middleware::from_fn_with_state(gaad_state, gaad_boundaries))
                .layer(middleware::from_fn_with_state(usage_layer, usage::serve))
                .layer(middleware::from_fn_with_state(
                    key_used_layer,
                    keys_last_used,
                ))
                .layer(middleware::from_fn_with_state(orgs_for_sts, apply_rcps))
                .layer(middleware::from_fn(organizations_empty_answers))
                .layer(middleware::from_fn_with_state(c, count_requests))
        });
        Kit {
            server,
            counts,
            depths,
            contract,
            faults,
            last_used,
            iam,
            usage,
            key_used,
        }
    }

    /// What the kit says about principals' use: IAM last-accessed data and CloudTrail events
    /// ([`usage`]).
    pub fn usage(&self) -> &usage::Usage {
        &self.usage
    }

    /// Another account in the same kit (an organization's member account), holding the role
    /// `role` that the kit's own account ([`ACCOUNT_ID`]) may assume, with `external_id` required
    /// when given. keyless reaches it with STS AssumeRole from the kit's credentials; every
    /// IAM call made with the session lands in that account.
    pub fn add_account(&self, id: &str, role: &str, external_id: Option<&str>) {
        let state = self.iam.lock().clone().expect("test kit: IAM state");
        add_account(&state, id, role, external_id);
    }

    /// An IAM user `user` (made when missing) with an active access key created `days_old` days
    /// ago, an inline policy `policy` when given, and tags; returns the key's ID (the secret
    /// stays in the kit: tests never need it).
    pub fn add_user_key(
        &self,
        user: &str,
        days_old: u32,
        policy: Option<&Value>,
        tags: &[(&str, &str)],
    ) -> String {
        self.add_user_key_in(ACCOUNT_ID, user, days_old, policy, tags)
    }

    /// [`Kit::add_user_key`] in another account of the kit (see [`Kit::add_account`]).
    pub fn add_user_key_in(
        &self,
        account_id: &str,
        user: &str,
        days_old: u32,
        policy: Option<&Value>,
        tags: &[(&str, &str)],
    ) -> String {
        let state = self.iam.lock().clone().expect("test kit: IAM state");
        let mut accounts = state.write();
        let account = accounts.get_or_create(account_id);
        let created = chrono::Utc::now() - chrono::Duration::days(i64::from(days_old));
        let u = account
            .users
            .entry(user.to_string())
            .or_insert_with(|| fakecloud_iam::IamUser {
                user_name: user.to_string(),
                user_id: format!("AIDAKIT{}", user.len()),
                arn: format!("arn:aws:iam::{account_id}:user/{user}"),
                path: "/".into(),
                created_at: created,
                tags: vec![],
                permissions_boundary: None,
            });
        for (k, v) in tags {
            u.tags.push(fakecloud_iam::Tag {
                key: k.to_string(),
                value: v.to_string(),
            });
        }
        let keys = account.access_keys.entry(user.to_string()).or_default();
        let id = format!(
            "AKIAKIT{:013}",
            (user
                .bytes()
                .chain(account_id.bytes())
                .map(u64::from)
                .sum::<u64>()
                * 7919
                + keys.len() as u64)
                % 10_000_000_000_000
        );
        keys.push(fakecloud_iam::IamAccessKey {
            access_key_id: id.clone(),
            secret_access_key: "kit-secret-never-shown".into(),
            user_name: user.to_string(),
            status: "Active".into(),
            created_at: created,
        });
        if let Some(doc) = policy {
            account
                .user_inline_policies
                .entry(user.to_string())
                .or_default()
                .insert(format!("{user}-policy"), doc.to_string());
        }
        id
    }

    /// Set an access key's status by hand (as someone in the console would).
    pub fn set_key_active(&self, key_id: &str, active: bool) {
        let state = self.iam.lock().clone().expect("test kit: IAM state");
        let mut accounts = state.write();
        for account in [ACCOUNT_ID] {
            let acc = accounts.get_or_create(account);
            for k in acc.access_keys.values_mut().flatten() {
                if k.access_key_id == key_id {
                    k.status = if active { "Active" } else { "Inactive" }.into();
                }
            }
        }
    }

    /// Whether an access key is active (`None`: it does not exist).
    pub fn key_active(&self, key_id: &str) -> Option<bool> {
        let state = self.iam.lock().clone().expect("test kit: IAM state");
        let accounts = state.read();
        let account = accounts.get(ACCOUNT_ID)?;
        account
            .access_keys
            .values()
            .flatten()
            .find(|k| k.access_key_id == key_id)
            .map(|k| k.status == "Active")
    }

    /// Report access key `key_id` as last used `days_ago` days ago with `service` in the kit's
    /// Region (the credential report and GetAccessKeyLastUsed; fakecloud records no use).
    pub fn set_key_last_used(&self, key_id: &str, days_ago: u32, service: &str) {
        let when = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
            - i64::from(days_ago) * 86_400;
        self.key_used
            .lock()
            .insert(key_id.to_string(), (when, service.to_string()));
    }

    /// Report `role` as last used just now (GetRole's and GetAccountAuthorizationDetails'
    /// `RoleLastUsed`).
    pub fn set_role_used_now(&self, role: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.last_used.lock().insert(role.to_string(), now);
    }

    /// Report `role` as last used `days_ago` days ago in GetAccountAuthorizationDetails'
    /// `RoleLastUsed` (fakecloud records no use; AWS does, over the trailing 400 days).
    pub fn set_role_last_used(&self, role: &str, days_ago: u32) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.last_used
            .lock()
            .insert(role.to_string(), now - i64::from(days_ago) * 86_400);
    }

    /// Delay every IAM/STS call by `latency` before serving it (zero removes the delay), so a
    /// benchmark sees the round trips a CI runner sees. Also `POST /_kit/latency?ms=N`.
    pub fn set_latency(&self, latency: std::time::Duration) {
        set_latency(&self.faults, latency);
    }

    /// The endpoint URL to give the SDK or `keyless --endpoint-url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Requests seen so far, keyed by `(service, action)`, e.g. `("iam", "CreateRole")`.
    pub fn calls(&self) -> BTreeMap<(String, String), u64> {
        self.counts.lock().clone()
    }

    /// How many requests named this action (any service).
    pub fn count(&self, action: &str) -> u64 {
        self.counts
            .lock()
            .iter()
            .filter(|((_, a), _)| a == action)
            .map(|(_, n)| n)
            .sum()
    }

    /// Add a fault rule (tried in order; the first that hits decides).
    pub fn inject(&self, rule: FaultRule) {
        self.faults.lock().push(rule);
    }

    /// Remove every fault rule.
    pub fn clear_faults(&self) {
        self.faults.lock().clear();
    }

    /// What checking every request against AWS's models found so far.
    pub fn contract(&self) -> ContractLog {
        self.contract.lock().clone()
    }

    /// Forget the contract violations so far: for a test that sends a refused request on
    /// purpose and has checked the refusal.
    pub fn forgive_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.contract.lock().violations)
    }

    /// Forget the counts so far (and the round trips).
    pub fn reset_counts(&self) {
        self.counts.lock().clear();
        *self.depths.lock() = DepthState::default();
    }

    /// The sequential round trips since the last [`Kit::reset_counts`]: the depth of the
    /// deepest request (see `DepthState`). Meaningful with a latency set
    /// ([`Kit::set_latency`]), so that concurrent requests arrive before their answers.
    pub fn round_trips(&self) -> u64 {
        self.depths.lock().deepest
    }

    /// An SDK config pointed at this kit with static test credentials and retries off.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "AKIAKEYLESSTESTKIT00",
                "test-kit-secret-not-real",
                None,
                None,
                "keyless-testkit",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    /// Like [`Kit::env`] but with the root-bypass credentials that strict mode always admits.
    pub fn admin_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.env();
        for (k, v) in env.iter_mut() {
            if *k == "AWS_ACCESS_KEY_ID" {
                *v = "testadmin".into();
            }
        }
        env
    }

    /// Environment variables that point the keyless binary (or any SDK program) at this kit.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", "AKIAKEYLESSTESTKIT00".to_string()),
            (
                "AWS_SECRET_ACCESS_KEY",
                "test-kit-secret-not-real".to_string(),
            ),
            ("AWS_MAX_ATTEMPTS", "1".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }
}

/// Count each request by the service in its SigV4 scope (or `sts` when unsigned) and the
/// awsQuery `Action`, then pass it on unchanged.
/// See [`Kit::add_account`]; also `POST /_kit/account?id=ID&role=NAME[&external_id=X]`.
fn add_account(
    state: &fakecloud_iam::SharedIamState,
    id: &str,
    role: &str,
    external_id: Option<&str>,
) {
    let mut condition = json!({});
    if let Some(x) = external_id {
        condition = json!({"StringEquals": {"sts:ExternalId": x}});
    }
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:root")},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }]});
    let mut accounts = state.write();
    let account = accounts.get_or_create(id);
    account.roles.insert(
        role.to_string(),
        fakecloud_iam::IamRole {
            role_name: role.to_string(),
            role_id: format!("AROA{id}KIT"),
            arn: format!("arn:aws:iam::{id}:role/{role}"),
            path: "/".into(),
            assume_role_policy_document: trust.to_string(),
            created_at: chrono::Utc::now(),
            description: None,
            max_session_duration: 3600,
            tags: vec![],
            permissions_boundary: None,
        },
    );
}

async fn count_requests(
    State((counts, faults, contract, depths)): State<(Counts, Faults, Contract, Depths)>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/_kit/") {
        return next.run(req).await;
    }
    let depth = depths.lock().completed + 1;
    let response = count_and_serve(counts, faults, contract, req, next).await;
    let mut d = depths.lock();
    d.completed = d.completed.max(depth);
    d.deepest = d.deepest.max(depth);
    response
}

async fn count_and_serve(
    counts: Counts,
    faults: Faults,
    contract: Contract,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let service = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split('/').nth(3))
        .unwrap_or("sts")
        .to_string();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let action = form_value(&bytes, "Action")
        .or_else(|| {
            parts
                .uri
                .query()
                .and_then(|q| form_value(q.as_bytes(), "Action"))
        })
        .or_else(|| Some(target.as_deref()?.rsplit_once('.')?.1.to_string()))
        .unwrap_or_else(|| "?".to_string());
    *counts
        .lock()
        .entry((service.clone(), action.clone()))
        .or_default() += 1;
    if let Some(refused) = check_contract(
        &contract,
        &service,
        target.as_deref(),
        &bytes,
        parts.uri.query(),
    ) {
        return refused;
    }
    // What a rule's `containing` looks in: the form body and the query.
    let request = format!(
        "{}&{}",
        String::from_utf8_lossy(&bytes),
        parts.uri.query().unwrap_or_default()
    );
    let fault = faults
        .lock()
        .iter_mut()
        .find_map(|r| r.hit(&action, &request).then(|| r.fault.clone()));
    let req = Request::from_parts(parts, Body::from(bytes));
    match fault {
        None => next.run(req).await,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Error { status, code }) if target.is_some() => Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .body(Body::from(
                json!({"__type": code, "message": "injected by the keyless test kit"}).to_string(),
            ))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Some(Fault::Error { status, code }) => {
            let ns = if service == "sts" {
                "https://sts.amazonaws.com/doc/2011-06-15/"
            } else {
                "https://iam.amazonaws.com/doc/2010-05-08/"
            };
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let body = format!(
                "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected by the keyless test kit</Message></Error><RequestId>kit-fault</RequestId></ErrorResponse>"
            );
            Response::builder()
                .status(status)
                .header("content-type", "text/xml")
                .header("x-amzn-RequestId", "kit-fault")
                .body(Body::from(body))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Fault::Bare(status)) => Response::builder()
            .status(status)
            .header("content-type", "text/html")
            .body(Body::from(
                "<html><body>Internal Server Error</body></html>",
            ))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Some(Fault::ResetAfter) => {
            let done = next.run(req).await;
            let (parts, _) = done.into_parts();
            let broken = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other(
                    "connection reset by the keyless test kit",
                ))
            });
            let mut resp = Response::from_parts(parts, Body::from_stream(broken));
            resp.headers_mut().remove("content-length");
            resp
        }
    }
}

/// Fidelity fix: fakecloud's GetAccountAuthorizationDetails leaves out each role's
/// `PermissionsBoundary`, which AWS returns (as GetRole does). Add it from the kit's state, so a
/// reader of the whole account sees what a reader of each role sees; and `RoleLastUsed` for the
/// roles a test said were used ([`Kit::set_role_last_used`]), and each policy's `Description`.
async fn gaad_boundaries(
    State((state, last_used)): State<(fakecloud_iam::SharedIamState, LastUsed)>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let action = form_value(&bytes, "Action").or_else(|| {
        parts
            .uri
            .query()
            .and_then(|q| form_value(q.as_bytes(), "Action"))
    });
    let gaad = action.as_deref() == Some("GetAccountAuthorizationDetails");
    let get_role = (action.as_deref() == Some("GetRole"))
        .then(|| form_value(&bytes, "RoleName"))
        .flatten();
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    // GetRole's RoleLastUsed, as a test said ([`Kit::set_role_last_used`]).
    let role_used = get_role.and_then(|role| last_used.lock().get(&role).copied());
    if let Some(when) = role_used
        && resp.status() == StatusCode::OK
        && let Some(date) = chrono::DateTime::from_timestamp(when, 0)
    {
        let (mut parts, body) = resp.into_parts();
        let Ok(body) = to_bytes(body, 16 * 1024 * 1024).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let xml = String::from_utf8_lossy(&body).replace(
            "<RoleLastUsed/>",
            &format!(
                "<RoleLastUsed><LastUsedDate>{}</LastUsedDate><Region>{REGION}</Region></RoleLastUsed>",
                date.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        );
        parts.headers.remove("content-length");
        return Response::from_parts(parts, Body::from(xml));
    }
    if !gaad || resp.status() != StatusCode::OK {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(body) = to_bytes(body, 256 * 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut xml = String::from_utf8_lossy(&body).into_owned();
    // Every account's (a member account's GAAD names only its own roles and policies; an ARN
    // names its account, so anchoring on it never crosses accounts).
    for (_, iam) in state.read().iter() {
        for role in iam.roles.values() {
            let Some(boundary) = &role.permissions_boundary else {
                continue;
            };
            let at = format!("<Arn>{}</Arn>", role.arn);
            xml = xml.replace(&at, &format!("{at}\n        <PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType><PermissionsBoundaryArn>{boundary}</PermissionsBoundaryArn></PermissionsBoundary>"));
        }
    }
    // And each customer-managed policy's Description, which AWS returns and fakecloud leaves out.
    for (_, iam) in state.read().iter() {
        for policy in iam.policies.values().filter(|p| !p.description.is_empty()) {
            let at = format!("<Arn>{}</Arn>", policy.arn);
            let escaped = policy
                .description
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            xml = xml.replace(
                &at,
                &format!("{at}\n        <Description>{escaped}</Description>"),
            );
        }
    }
    for (role, when) in last_used.lock().iter() {
        let Some(date) = chrono::DateTime::from_timestamp(*when, 0) else {
            continue;
        };
        let at = format!("<RoleName>{role}</RoleName>");
        let used = format!(
            "{at}\n        <RoleLastUsed><LastUsedDate>{}</LastUsedDate><Region>{REGION}</Region></RoleLastUsed>",
            date.format("%Y-%m-%dT%H:%M:%SZ")
        );
        xml = xml.replace(&at, &used);
    }
    parts.headers.remove("content-length");
    Response::from_parts(parts, Body::from(xml))
}

/// Fidelity fix: fakecloud records no use of access keys, so its credential report says `N/A`
/// for every key's last use and GetAccessKeyLastUsed names no service. Fill both from what a
/// test said ([`Kit::set_key_last_used`]).
async fn keys_last_used(
    State((iam, used, usage)): State<KeysState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let params = contract::form(&bytes, parts.uri.query());
    let action = params.get("Action").cloned().unwrap_or_default();
    // CloudTrail records every STS call: a GetCallerIdentity signed with an IAM user's key
    // lands in event history with its user agent (what `keyless keys identify` relies on).
    if action == "GetCallerIdentity" {
        let key = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_string();
        let agent = parts
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let user = iam.lock().clone().and_then(|st| {
            st.read().get(ACCOUNT_ID).and_then(|acc| {
                acc.access_keys
                    .values()
                    .flatten()
                    .find(|k| k.access_key_id == key)
                    .map(|k| k.user_name.clone())
            })
        });
        if let Some(user) = user {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            usage.add_events([usage::TrailEvent::by_user(
                &user,
                &key,
                "sts.amazonaws.com",
                "GetCallerIdentity",
            )
            .at(now)
            .from("127.0.0.1", &agent)]);
        }
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !matches!(
        action.as_str(),
        "GetCredentialReport" | "GetAccessKeyLastUsed"
    ) || resp.status() != StatusCode::OK
        || used.lock().is_empty()
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(body) = to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut xml = String::from_utf8_lossy(&body).into_owned();
    let date = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    if action == "GetAccessKeyLastUsed" {
        let id = params.get("AccessKeyId").cloned().unwrap_or_default();
        if let Some((t, service)) = used.lock().get(&id).cloned() {
            let start = xml.find("<AccessKeyLastUsed>");
            let end = xml.find("</AccessKeyLastUsed>");
            if let (Some(a), Some(b)) = (start, end) {
                xml.replace_range(
                    a..b + "</AccessKeyLastUsed>".len(),
                    &format!("<AccessKeyLastUsed><LastUsedDate>{}</LastUsedDate><ServiceName>{service}</ServiceName><Region>{REGION}</Region></AccessKeyLastUsed>", date(t)),
                );
            }
        }
    } else {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (Some(a), Some(b)) = (xml.find("<Content>"), xml.find("</Content>")) else {
            parts.headers.remove("content-length");
            return Response::from_parts(parts, Body::from(xml));
        };
        let csv = b64
            .decode(xml[a + 9..b].trim())
            .ok()
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .unwrap_or_default();
        let keys: BTreeMap<String, Vec<String>> = iam
            .lock()
            .clone()
            .map(|st| {
                st.read()
                    .get(ACCOUNT_ID)
                    .map(|acc| {
                        acc.access_keys
                            .iter()
                            .map(|(u, ks)| {
                                (
                                    u.clone(),
                                    ks.iter().map(|k| k.access_key_id.clone()).collect(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let used = used.lock().clone();
        let lines: Vec<String> = csv
            .lines()
            .map(|line| {
                let mut f: Vec<String> = line.split(',').map(String::from).collect();
                let Some(ids) = keys.get(f.first().map(String::as_str).unwrap_or_default()) else {
                    return line.to_string();
                };
                for (slot, base) in [(0usize, 10usize), (1, 15)] {
                    if let Some((t, service)) = ids.get(slot).and_then(|id| used.get(id))
                        && f.len() > base + 2
                    {
                        f[base] = date(*t).replace('Z', "+00:00");
                        f[base + 1] = REGION.to_string();
                        f[base + 2] = service.clone();
                    }
                }
                f.join(",")
            })
            .collect();
        let encoded = b64.encode(format!("{}\n", lines.join("\n")));
        xml.replace_range(a + 9..b, &encoded);
    }
    parts.headers.remove("content-length");
    Response::from_parts(parts, Body::from(xml))
}

/// fakecloud answers Organizations calls that return nothing (AttachPolicy, DetachPolicy,
/// MoveAccount, ...) with the JSON `null`, which the SDKs cannot read; AWS answers `{}`-shaped
/// empty bodies. The kit answers as AWS does.
async fn organizations_empty_answers(req: Request, next: Next) -> Response {
    let json = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("AWSOrganizationsV20161128."));
    let resp = next.run(req).await;
    if !json || !resp.status().is_success() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let bytes = if bytes.as_ref().trim_ascii() == b"null" {
        bytes::Bytes::from_static(b"{}")
    } else {
        bytes
    };
    let mut resp = Response::from_parts(parts, Body::from(bytes));
    resp.headers_mut().remove("content-length");
    resp
}

/// STS's `AssumeRoleWithWebIdentity` under the organization's resource control policies
/// ([`rcp`]): a matching `Deny` answers `AccessDenied` before the call reaches STS.
async fn apply_rcps(
    State(orgs): State<fakecloud_organizations::SharedOrganizationsState>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/_kit/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let params = contract::form(&bytes, parts.uri.query());
    if params.get("Action").map(String::as_str) == Some("AssumeRoleWithWebIdentity") {
        let account = params
            .get("RoleArn")
            .and_then(|arn| arn.split(':').nth(4))
            .unwrap_or_default()
            .to_string();
        let keys = rcp::token_keys(
            params
                .get("WebIdentityToken")
                .map(String::as_str)
                .unwrap_or(""),
        );
        for (name, doc) in rcp::rcps_for(&orgs, &account) {
            if let Some(sid) = rcp::denies(&doc, &keys) {
                let body = format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity (explicit deny in resource control policy {name}, {sid})</Message></Error><RequestId>kit-rcp</RequestId></ErrorResponse>"
                );
                return Response::builder()
                    .status(403)
                    .header("content-type", "text/xml")
                    .body(Body::from(body))
                    .unwrap_or_else(|_| StatusCode::FORBIDDEN.into_response());
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Check one request against AWS's model of `service`; on violations, record them and answer
/// as AWS would (`400 ValidationError`, in the service's protocol).
fn check_contract(
    log: &Contract,
    service: &str,
    target: Option<&str>,
    body: &[u8],
    query: Option<&str>,
) -> Option<Response> {
    let models = contract::models().ok()?;
    let model = models.services.get(service)?;
    let violations = match target {
        Some(t) => model.check_json(t, body),
        None => model.check_query(&contract::form(body, query)),
    };
    let mut log = log.lock();
    log.checked += 1;
    if violations.is_empty() {
        return None;
    }
    let message = violations.join("; ");
    log.violations.extend(violations);
    let (content_type, body) = if target.is_some() {
        (
            "application/x-amz-json-1.1",
            json!({"__type": "ValidationException", "message": message}).to_string(),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{}</Message></Error><RequestId>kit-contract</RequestId></ErrorResponse>",
                message
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            ),
        )
    };
    Response::builder()
        .status(400)
        .header("content-type", content_type)
        .body(Body::from(body))
        .ok()
}

fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

/// GitHub-shaped token claims. Every claim value is a string, as GitHub sends them; only
/// `exp`, `iat` and `nbf` are numbers. Claims that are `None` are left out of the token.
#[derive(Debug, Clone)]
pub struct Claims {
    /// `iss`
    pub iss: String,
    /// `aud`
    pub aud: String,
    /// `sub`; computed from the other fields by [`Claims::github`] helpers, or set by hand.
    pub sub: String,
    /// `owner/repo`
    pub repository: String,
    /// numeric repository ID, as a string
    pub repository_id: String,
    /// owner login
    pub repository_owner: String,
    /// numeric owner ID, as a string
    pub repository_owner_id: String,
    /// `refs/heads/...` or `refs/tags/...`
    pub git_ref: String,
    /// `branch` or `tag`
    pub ref_type: String,
    /// the job's environment, if any
    pub environment: Option<String>,
    /// `push`, `pull_request`, ...
    pub event_name: String,
    /// `owner/repo/.github/workflows/file.yml@ref`
    pub job_workflow_ref: String,
    /// seconds from now until `exp` (negative: already expired)
    pub expires_in: i64,
    /// any other claims to add or override
    pub extra: BTreeMap<String, Value>,
}

impl Claims {
    /// A push to `branch` of `repo` (`owner/name`) on github.com, with `aud = sts.amazonaws.com`.
    pub fn push(repo: &str, branch: &str) -> Claims {
        let owner = repo.split('/').next().unwrap_or(repo).to_string();
        let git_ref = format!("refs/heads/{branch}");
        Claims {
            iss: GITHUB_ISSUER.to_string(),
            aud: "sts.amazonaws.com".to_string(),
            sub: format!("repo:{repo}:ref:{git_ref}"),
            repository: repo.to_string(),
            repository_id: "456789".to_string(),
            repository_owner: owner,
            repository_owner_id: "123456".to_string(),
            job_workflow_ref: format!("{repo}/.github/workflows/deploy.yml@{git_ref}"),
            git_ref,
            ref_type: "branch".to_string(),
            environment: None,
            event_name: "push".to_string(),
            expires_in: 300,
            extra: BTreeMap::new(),
        }
    }

    /// Same job, but it declares `environment: env`, so `sub` is the environment form.
    pub fn with_environment(mut self, env: &str) -> Claims {
        self.environment = Some(env.to_string());
        self.sub = format!(
            "repo:{}:environment:{}",
            self.repository,
            env.replace(':', "%3A")
        );
        self
    }

    /// Switch `sub` to the immutable form `repo:OWNER@OWNER_ID/REPO@REPO_ID:...` (GitHub's default
    /// for repositories created after 15 July 2026).
    pub fn immutable(mut self) -> Claims {
        let classic = format!("repo:{}:", self.repository);
        let name = self
            .repository
            .split('/')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let immutable = format!(
            "repo:{}@{}/{name}@{}:",
            self.repository_owner, self.repository_owner_id, self.repository_id
        );
        self.sub = self.sub.replacen(&classic, &immutable, 1);
        self
    }

    /// Set `sub` by hand.
    pub fn with_sub(mut self, sub: &str) -> Claims {
        self.sub = sub.to_string();
        self
    }

    /// The JSON payload of the token.
    pub fn payload(&self) -> Value {
        let now = unix_now();
        let mut m = serde_json::Map::new();
        let s = |v: &str| Value::String(v.to_string());
        m.insert("jti".into(), s(&format!("kit-{now}-{}", self.sub.len())));
        m.insert("iss".into(), s(&self.iss));
        m.insert("aud".into(), s(&self.aud));
        m.insert("sub".into(), s(&self.sub));
        m.insert("repository".into(), s(&self.repository));
        m.insert("repository_id".into(), s(&self.repository_id));
        m.insert("repository_owner".into(), s(&self.repository_owner));
        m.insert("repository_owner_id".into(), s(&self.repository_owner_id));
        m.insert("ref".into(), s(&self.git_ref));
        m.insert("ref_type".into(), s(&self.ref_type));
        if let Some(env) = &self.environment {
            m.insert("environment".into(), s(env));
        }
        m.insert("event_name".into(), s(&self.event_name));
        m.insert("job_workflow_ref".into(), s(&self.job_workflow_ref));
        m.insert("runner_environment".into(), s("github-hosted"));
        m.insert("iat".into(), json!(now));
        m.insert("nbf".into(), json!(now - 300));
        m.insert("exp".into(), json!(now + self.expires_in));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

struct IssuerState {
    key: KeyPair,
    kid: String,
    issuer: String,
    request_token: String,
    /// Claims the runner endpoint mints from; `aud` is replaced by the request's `audience`.
    runner_claims: Mutex<Claims>,
    jwks: Value,
}

/// A fake GitHub OIDC issuer and Actions runner token endpoint on loopback.
pub struct Issuer {
    server: Server,
    state: Arc<IssuerState>,
}

impl Issuer {
    /// Start an issuer whose tokens carry `iss = issuer` (for example [`GITHUB_ISSUER`]; the
    /// emulator never fetches it, so the real name works). `runner_claims` are what the runner
    /// endpoint mints. A fresh 2048-bit RSA key is generated for each issuer.
    pub fn start(issuer: &str, runner_claims: Claims) -> Issuer {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("test kit: RSA key generation");
        let public = key.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let kid = format!("kit-{}", &n[..16]);
        let jwks = json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": e}]});
        let state = Arc::new(IssuerState {
            key,
            kid,
            issuer: issuer.to_string(),
            request_token: format!("kit-runner-request-token-{}", unix_now()),
            runner_claims: Mutex::new(runner_claims),
            jwks,
        });
        let st = state.clone();
        let server = Server::spawn(move |_| {
            Router::new()
                .route("/.well-known/openid-configuration", get(discovery))
                .route("/.well-known/jwks", get(jwks_handler))
                .route("/_apis/token", get(runner_token))
                .with_state(st)
        });
        Issuer { server, state }
    }

    /// Base URL of the local server (discovery and JWKS live under it).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The `iss` this issuer puts in its tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The JWKS document served at `/.well-known/jwks`.
    pub fn jwks(&self) -> Value {
        self.state.jwks.clone()
    }

    /// Mint an RS256 token for these claims; `claims.iss` is used as given.
    pub fn mint(&self, claims: &Claims) -> String {
        sign(&self.state, &claims.payload())
    }

    /// Mint an RS256 token for an arbitrary payload.
    pub fn mint_payload(&self, payload: &Value) -> String {
        sign(&self.state, payload)
    }

    /// Change the claims the runner endpoint mints from.
    pub fn set_runner_claims(&self, claims: Claims) {
        *self.state.runner_claims.lock() = claims;
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` for this runner endpoint.
    pub fn runner_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("{}/_apis/token?api-version=2.0", self.base_url()),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                self.state.request_token.clone(),
            ),
        ]
    }
}

fn sign(state: &IssuerState, payload: &Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": state.kid});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mut sig = vec![0u8; state.key.public_modulus_len()];
    state
        .key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .expect("test kit: RSA signing");
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn discovery(State(st): State<Arc<IssuerState>>, headers: HeaderMap) -> Json<Value> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Json(json!({
        "issuer": st.issuer,
        "jwks_uri": format!("http://{host}/.well-known/jwks"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository",
            "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number",
            "run_attempt", "actor", "actor_id", "workflow", "head_ref", "base_ref", "event_name",
            "ref_type", "environment", "job_workflow_ref", "repository_visibility"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"]
    }))
}

async fn jwks_handler(State(st): State<Arc<IssuerState>>) -> Json<Value> {
    Json(st.jwks.clone())
}

async fn runner_token(
    State(st): State<Arc<IssuerState>>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let expected = format!("bearer {}", st.request_token);
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !presented.eq_ignore_ascii_case(&expected) {
        return (StatusCode::UNAUTHORIZED, "bad or missing bearer token").into_response();
    }
    let mut claims = st.runner_claims.lock().clone();
    claims.aud = q
        .get("audience")
        .cloned()
        .unwrap_or_else(|| format!("https://github.com/{}", claims.repository_owner));
    Json(json!({ "value": sign(&st, &claims.payload()) })).into_response()
}

impl Issuer {
    /// Check a token's RS256 signature against this issuer's public key (as a relying party
    /// holding the JWKS would).
    pub fn verify(&self, token: &str) -> bool {
        let mut parts = token.rsplitn(2, '.');
        let (Some(sig), Some(signing_input)) = (parts.next(), parts.next()) else {
            return false;
        };
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let key = &self.state.jwks["keys"][0];
        let decode = |k: &str| key[k].as_str().and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
        let (Some(n), Some(e)) = (decode("n"), decode("e")) else {
            return false;
        };
        aws_lc_rs::signature::RsaPublicKeyComponents { n, e }
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &sig,
            )
            .is_ok()
    }
}
