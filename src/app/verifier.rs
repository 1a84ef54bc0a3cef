//! Verifying a role with a real token: fetch it, pre-flight it against the live trust, exchange
//! it, ask STS who the session is. Shared by `keyless verify` and `apply --verify`; the
//! commands only choose the options.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use keyless::config::Role;
use keyless::error::{Error, Result};
use keyless::identity::issuer::{self};
use keyless::io::aws::{self, ExchangeError};
use keyless::io::exchange::{self, RetryPolicy};
use keyless::io::token::{self, Source};
use keyless::policy::explain::{self, Explanation, ProviderFacts};
use keyless::state::render;

use crate::app::args::VerifyArgs;
use crate::app::exit::ExitStatus;
use crate::app::report::explain::SHOWN_CLAIMS;
use crate::app::report::show;
use crate::app::report::verify::{Preflight, StsView, TokenView, VerifyReport};
use crate::app::session::{Need, Session};
use crate::app::style;

/// What a verification needs besides the role (from `verify`'s flags, or apply's defaults).
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// `--token-file`
    pub token_file: Option<PathBuf>,
    /// `--token-env`
    pub token_env: Option<String>,
    /// `--check-signature`, with `--discovery-url` when given.
    pub check_signature: Option<Option<String>>,
    /// `--session-name`
    pub session_name: String,
    /// `--retry-for`
    pub retry_for: Duration,
    /// `--rcp`: the organisation's resource control policies, for the pre-flight.
    pub rcps: Vec<PathBuf>,
    /// Report a token the pre-flight says is not meant for this role as skipped (exit 0)
    /// instead of exchanging it (apply --verify, which checks every role with one token).
    pub skip_foreign: bool,
}

impl VerifyOptions {
    /// `keyless verify`'s flags.
    pub fn from_args(a: &VerifyArgs) -> VerifyOptions {
        VerifyOptions {
            token_file: a.token_file.clone(),
            token_env: a.token_env.clone(),
            check_signature: a.check_signature.then(|| a.discovery_url.clone()),
            session_name: a.session_name.clone(),
            retry_for: Duration::from_secs(a.retry_for),
            rcps: a.rcps.clone(),
            skip_foreign: false,
        }
    }

    /// `apply --verify`: the runner's token (or AWS_WEB_IDENTITY_TOKEN_FILE), two minutes for
    /// IAM to propagate, roles the token is not meant for skipped.
    pub fn after_apply() -> VerifyOptions {
        VerifyOptions {
            token_file: None,
            token_env: None,
            check_signature: None,
            session_name: "keyless-verify".into(),
            retry_for: Duration::from_secs(120),
            rcps: Vec::new(),
            skip_foreign: true,
        }
    }
}

/// Verify one role: fetch a token, evaluate it against the live trust policy when readable (the
/// config's otherwise), exchange it, and ask STS who the session is.
pub fn verify_role(s: &Session, role: &Role, o: &VerifyOptions) -> Result<ExitStatus> {
    let p = &s.printer;
    let target = s.target(Need::BestEffort)?;
    let rendered = render::render(s.config()?, s.templates()?, &target)?;
    let desired = rendered
        .roles
        .iter()
        .find(|r| r.name == role.name)
        .ok_or_else(|| Error::usage("role not rendered", "check the config"))?;
    let source = Source::discover(
        o.token_file.clone(),
        o.token_env.clone(),
        &rendered.audiences[0],
    )?;
    let mut token = s.block_on(token::fetch(&source))?;
    p.debug(&format!("token from {}", source.describe()));
    let signature = match &o.check_signature {
        None => None,
        Some(discovery_url) => {
            match s.block_on(token::check_signature(&token, discovery_url.as_deref())) {
                Ok(jwks) => Some(format!("valid (RS256, key from {jwks})")),
                Err(e) => {
                    p.note(&format!("{}: {e}", style::bad("signature")));
                    return Ok(ExitStatus::Findings);
                }
            }
        }
    };
    let preflight = preflight(
        s,
        role,
        &token,
        &desired.trust_policy,
        &rendered,
        &target,
        &o.rcps,
    )?;
    let explanation = &preflight.explanation;
    if o.skip_foreign && !explanation.allowed && explanation.step == "trust" {
        p.note(&format!(
            "{} role {}: this job's token is not meant for it ({})",
            style::dim("skip"),
            role.name,
            explanation.message
        ));
        return Ok(ExitStatus::Success);
    }
    // The real exchange.
    let opts = s.aws_options();
    let request = exchange::Request {
        aws: &opts,
        role_arn: &desired.arn,
        session_name: &o.session_name,
        source: &source,
    };
    let exchanged = s.block_on(exchange::exchange(
        &request,
        &mut token,
        explanation.allowed,
        &RetryPolicy::with_deadline(o.retry_for),
        |r| p.note(&style::dim(&retry_message(r, &role.name, o.retry_for))),
    ))?;
    let claims: Map<String, Value> = SHOWN_CLAIMS
        .iter()
        .filter_map(|k| {
            token
                .claims
                .get(*k)
                .and_then(Value::as_str)
                .map(|v| (k.to_string(), Value::String(v.into())))
        })
        .collect();
    let expected_arn = format!(
        "arn:{}:sts::{}:assumed-role/{}/{}",
        target.partition, target.account_id, role.name, o.session_name
    );
    let outcome = sts_outcome(s, &opts, &exchanged)?;
    let report = VerifyReport::new(
        role.name.clone(),
        desired.arn.clone(),
        TokenView {
            source: source.describe(),
            claims,
            signature,
        },
        preflight,
        outcome.sts,
        outcome.caller_arn,
        expected_arn,
        outcome.expiration,
    );
    show(p, s.format, &report);
    Ok(match (report.verified, report.sts.ok, outcome.denied) {
        (true, _, _) => ExitStatus::Success,
        // Credentials for the wrong identity, or a denial: the command worked and found a no.
        (false, true, _) | (false, false, true) => ExitStatus::Findings,
        (false, false, false) => ExitStatus::Error,
    })
}

/// A resource control policy from a file (`--rcp`): its name (the file's stem) and document.
pub fn rcp_file(path: &std::path::Path) -> Result<(String, Value)> {
    let text = keyless::config::read_capped(path, keyless::config::MAX_CONFIG_BYTES).map_err(
        |source| Error::Io {
            path: path.to_path_buf(),
            source,
        },
    )?;
    let parsed = keyless::policy::document::parse(&text).map_err(|message| Error::Policy {
        what: path.display().to_string(),
        message,
    })?;
    let name = path
        .file_stem()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "rcp".into());
    Ok((name, parsed.doc))
}

/// The local evaluation of `token` for `role`: against the live provider and trust policy when
/// the credentials can read them, else against the config's documents.
fn preflight(
    s: &Session,
    role: &Role,
    token: &token::Token,
    config_trust: &Value,
    rendered: &render::Rendered,
    target: &render::Target,
    rcps: &[PathBuf],
) -> Result<Preflight> {
    let cfg = s.config()?;
    let mut facts = ProviderFacts::default();
    for path in rcps {
        facts.rcps.push(rcp_file(path)?);
    }
    let mut trust = config_trust.clone();
    let mut trust_source = "config";
    if s.caller_if_any().is_some() {
        let aws = s.aws()?;
        if let Ok(provider) = s.block_on(aws.find_provider(&cfg.issuer.url)) {
            let iss = token
                .claims
                .get("iss")
                .and_then(Value::as_str)
                .unwrap_or_default();
            facts.issuers = Some(match &provider {
                Some(pr) => vec![format!("https://{}", pr.url)],
                None => vec![],
            });
            if provider.is_none() && iss != cfg.issuer.url {
                facts.issuers = None; // a token from another issuer: let the trust step explain it
            }
            facts.client_ids = provider.map(|pr| pr.client_ids);
        }
        match s.block_on(aws.read_role(&role.name)) {
            Ok(Some(live)) => {
                trust = live.trust_policy;
                trust_source = "live";
            }
            Ok(None) => {
                return Ok(Preflight {
                    trust_policy: "live",
                    explanation: Explanation::missing_role(&role.name, &target.account_id),
                });
            }
            Err(_) => {} // not readable with these credentials: the config's trust policy
        }
    }
    let supported =
        issuer::supported_claim_keys(&target.partition, &cfg.issuer.kind, &cfg.extra_claim_keys);
    Ok(Preflight {
        trust_policy: trust_source,
        explanation: explain::explain(
            &trust,
            &rendered.provider_arn,
            cfg.issuer.key_prefix(),
            &token.claims,
            &supported,
            &facts,
            token::now(),
        ),
    })
}

/// What the exchange produced, as the report shows it.
struct StsOutcome {
    sts: StsView,
    caller_arn: Option<String>,
    expiration: Option<String>,
    /// STS said no (as opposed to: could not be asked).
    denied: bool,
}

/// On success, ask STS who the session is; on failure, describe the failure.
fn sts_outcome(
    s: &Session,
    opts: &aws::AwsOptions,
    exchanged: &exchange::Exchanged,
) -> Result<StsOutcome> {
    let attempts = exchanged.attempts;
    Ok(match &exchanged.result {
        Ok(session) => {
            let me = s.block_on(aws::caller_of(opts, session))?;
            StsOutcome {
                sts: StsView {
                    ok: true,
                    attempts,
                    subject: session.subject.clone(),
                    audience: session.audience.clone(),
                    provider: session.provider.clone(),
                    code: None,
                    kind: None,
                    message: None,
                    error_text: None,
                },
                caller_arn: Some(me.arn),
                expiration: session.expiration.clone(),
                denied: false,
            }
        }
        Err(ExchangeError { kind, error }) => {
            let (code, message) = match error {
                Error::Aws { code, message, .. } => (code.clone(), message.clone()),
                other => ("error".into(), other.to_string()),
            };
            StsOutcome {
                sts: StsView {
                    ok: false,
                    attempts,
                    subject: None,
                    audience: None,
                    provider: None,
                    code: Some(code),
                    kind: Some(*kind),
                    message: Some(message),
                    error_text: Some(error.to_string()),
                },
                caller_arn: None,
                expiration: None,
                denied: is_denial(*kind),
            }
        }
    })
}

/// What a retry waits for, in words: the failure, what could end it, and the time left.
fn retry_message(r: &exchange::Retry, role: &str, retry_for: Duration) -> String {
    use aws::ExchangeErrorKind as K;
    let waiting_for = match r.kind {
        K::AccessDenied => format!("the trust policy of role {role} to propagate in IAM"),
        K::NoProvider => "the OIDC provider to propagate in IAM".to_string(),
        K::IdpUnreachable => "STS to reach the issuer's keys".to_string(),
        K::Throttled => "STS throttling to ease".to_string(),
        K::Unavailable => "STS to recover from a server error".to_string(),
        K::Unreachable => "STS to become reachable".to_string(),
        _ => "STS".to_string(),
    };
    format!(
        "attempt {}: STS said {}; waiting {} ms for {waiting_for} (gives up after {} s, --retry-for)",
        r.attempt,
        r.code,
        r.wait.as_millis(),
        retry_for.as_secs()
    )
}

/// A failure that is STS saying no (exit 2), as opposed to not being able to ask (exit 1).
fn is_denial(kind: aws::ExchangeErrorKind) -> bool {
    use aws::ExchangeErrorKind as K;
    matches!(
        kind,
        K::AccessDenied | K::NoProvider | K::InvalidToken | K::ExpiredToken | K::RejectedClaim
    )
}
