//! Verifying a role with a real token, as `keyless verify` and `apply --verify` show it: the
//! options from the flags (or apply's defaults), [`keyless::ops::verify`] for the work, and the
//! report built from what it found. The commands only choose the options.

use std::time::Duration;

use serde_json::{Map, Value};

use keyless::config::Role;
use keyless::error::{Error, Result};
use keyless::io::aws;
use keyless::io::exchange;
use keyless::ops::verify::{self, Verified, VerifyContext, VerifyOptions};

use crate::app::args::VerifyArgs;
use crate::app::exit::ExitStatus;
use crate::app::report::explain::SHOWN_CLAIMS;
use crate::app::report::show;
use crate::app::report::verify::{StsView, TokenView, VerifyReport};
use crate::app::session::{Need, Session};
use crate::app::style;

/// `keyless verify`'s flags as options (the `--rcp` files read and checked).
pub fn options_from_args(a: &VerifyArgs) -> Result<VerifyOptions> {
    Ok(VerifyOptions {
        token_file: a.token_file.clone(),
        token_env: a.token_env.clone(),
        check_signature: a.check_signature.then(|| a.discovery_url.clone()),
        session_name: a.session_name.clone(),
        retry_for: Duration::from_secs(a.retry_for),
        rcps: a
            .rcps
            .iter()
            .map(|p| verify::rcp_file(p))
            .collect::<Result<_>>()?,
        skip_foreign: false,
    })
}

/// `apply --verify`: the runner's token (or AWS_WEB_IDENTITY_TOKEN_FILE), two minutes for IAM
/// to propagate, roles the token is not meant for skipped.
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

/// Verify one role (see [`keyless::ops::verify`]) and show what was found.
pub fn verify_role(s: &Session, role: &Role, o: &VerifyOptions) -> Result<ExitStatus> {
    let p = &s.printer;
    let target = s.target(Need::BestEffort)?;
    // The live trust policy and provider are read when the credentials work.
    let aws = match s.caller_if_any() {
        Some(_) => Some(s.aws()?),
        None => None,
    };
    let opts = s.aws_options();
    let ctx = VerifyContext {
        config: s.config()?,
        templates: s.templates()?,
        target: &target,
        aws_options: &opts,
        aws: aws.as_ref(),
    };
    let found = s.block_on(verify::verify(&ctx, role, o, |r| {
        p.note(&style::dim(&retry_message(r, &role.name, o.retry_for)))
    }))?;
    let v = match found {
        Verified::BadSignature(e) => {
            p.note(&format!("{}: {e}", style::bad("signature")));
            return Ok(ExitStatus::Findings);
        }
        Verified::Foreign(explanation) => {
            p.note(&format!(
                "{} role {}: this job's token is not meant for it ({})",
                style::dim("skip"),
                role.name,
                explanation.message
            ));
            return Ok(ExitStatus::Success);
        }
        Verified::Exchanged(v) => v,
    };
    p.debug(&format!("token from {}", v.token_source));
    let claims: Map<String, Value> = SHOWN_CLAIMS
        .iter()
        .filter_map(|k| {
            v.claims
                .get(*k)
                .and_then(Value::as_str)
                .map(|val| (k.to_string(), Value::String(val.into())))
        })
        .collect();
    let outcome = sts_outcome(&v.exchanged, v.session.as_ref().map(|c| c.arn.clone()));
    let report = VerifyReport::new(
        role.name.clone(),
        v.role_arn.clone(),
        TokenView {
            source: v.token_source.clone(),
            claims,
            signature: v.signature.clone(),
        },
        v.preflight.clone(),
        outcome.sts,
        outcome.caller_arn,
        v.expected_arn.clone(),
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

/// What the exchange produced, as the report shows it.
struct StsOutcome {
    sts: StsView,
    caller_arn: Option<String>,
    expiration: Option<String>,
    /// STS said no (as opposed to: could not be asked).
    denied: bool,
}

/// The exchange as the report shows it: the session's answer (and who it is, `caller_arn`), or
/// the failure.
fn sts_outcome(exchanged: &exchange::Exchanged, caller_arn: Option<String>) -> StsOutcome {
    let attempts = exchanged.attempts;
    match &exchanged.result {
        Ok(session) => StsOutcome {
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
            caller_arn,
            expiration: session.expiration.clone(),
            denied: false,
        },
        Err(aws::ExchangeError { kind, error }) => {
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
    }
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
