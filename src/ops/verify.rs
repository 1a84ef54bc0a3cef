//! `verify`: prove a role with a real token. Fetch the token, check its signature when asked,
//! evaluate it against the live trust policy when the credentials can read it (the config's
//! otherwise) and the organisation's RCPs, exchange it with STS (retrying while IAM propagates),
//! and ask STS who the session is. Shared by `keyless verify` and `apply --verify`.
//!
//! It never decides that a role is verified: that is the report's reading of what STS answered
//! and who the session turned out to be, against the ARN this computes. It never prints the
//! token; the caller shows what it returns.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Config, MAX_CONFIG_BYTES, Role, read_capped};
use crate::error::{Error, Result};
use crate::identity::issuer;
use crate::io::aws::{self, Aws, AwsOptions, CallerIdentity};
use crate::io::exchange::{self, Exchanged, Retry, RetryPolicy};
use crate::io::token::{self, Source, Token};
use crate::policy::document;
use crate::policy::explain::{self, Explanation, ProviderFacts};
use crate::policy::template::Templates;
use crate::state::render::{self, Rendered, Target};

/// How to verify, from `verify`'s flags or apply's defaults.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Read the token from this file.
    pub token_file: Option<PathBuf>,
    /// Read the token from this environment variable.
    pub token_env: Option<String>,
    /// Check the token's signature, with this discovery URL when given.
    pub check_signature: Option<Option<String>>,
    /// The role session name.
    pub session_name: String,
    /// How long to keep retrying while IAM propagates.
    pub retry_for: Duration,
    /// The organisation's resource control policies for the pre-flight, as (name, document).
    pub rcps: Vec<(String, Value)>,
    /// Report a token the pre-flight says is not meant for this role instead of exchanging it
    /// (apply's verification checks every role with one token).
    pub skip_foreign: bool,
}

/// Where a verification runs: the config, the account and partition, how to reach STS, and the
/// caller's clients when the credentials work (to read the live trust policy and provider).
pub struct VerifyContext<'a> {
    /// The config.
    pub config: &'a Config,
    /// The templates.
    pub templates: &'a Templates,
    /// The account and partition.
    pub target: &'a Target,
    /// How to reach STS (the exchange itself is unsigned).
    pub aws_options: &'a AwsOptions,
    /// The caller's clients, when there are working credentials.
    pub aws: Option<&'a Aws>,
}

/// The local evaluation before the exchange.
#[derive(Debug, Clone, Serialize)]
pub struct Preflight {
    /// `live` (read from IAM) or `config`.
    pub trust_policy: &'static str,
    /// The outcome.
    pub explanation: Explanation,
}

/// What a verification found.
pub enum Verified {
    /// The token's signature did not check out (nothing was exchanged).
    BadSignature(Box<Error>),
    /// The token is not meant for this role (`skip_foreign`; nothing was exchanged).
    Foreign(Box<Explanation>),
    /// The exchange was made.
    Exchanged(Box<Verification>),
}

/// An exchange made, and what came of it.
pub struct Verification {
    /// The role's ARN.
    pub role_arn: String,
    /// Where the token came from.
    pub token_source: String,
    /// The token's claims (the token itself is never handed out).
    pub claims: Map<String, Value>,
    /// The signature check, when asked for: which key verified it.
    pub signature: Option<String>,
    /// The pre-flight.
    pub preflight: Preflight,
    /// What STS answered.
    pub exchanged: Exchanged,
    /// Who the session is (GetCallerIdentity with its credentials), when credentials were issued.
    pub session: Option<CallerIdentity>,
    /// The ARN the session should have.
    pub expected_arn: String,
}

/// Verify `role`: see the module doc. `on_retry` hears each retry of the exchange.
pub async fn verify(
    ctx: &VerifyContext<'_>,
    role: &Role,
    o: &VerifyOptions,
    on_retry: impl FnMut(&Retry),
) -> Result<Verified> {
    let rendered = render::render(ctx.config, ctx.templates, ctx.target)?;
    let desired = rendered
        .roles
        .iter()
        .find(|r| r.name == role.name)
        .ok_or_else(|| Error::Bug {
            message: format!("role {} was not rendered", role.name),
        })?;
    let source = Source::discover(
        o.token_file.clone(),
        o.token_env.clone(),
        &rendered.audiences[0],
    )?;
    let mut token = token::fetch(&source).await?;
    let signature = match &o.check_signature {
        None => None,
        Some(discovery_url) => match token::check_signature(&token, discovery_url.as_deref()).await
        {
            Ok(jwks) => Some(format!("valid (RS256, key from {jwks})")),
            Err(e) => return Ok(Verified::BadSignature(Box::new(e))),
        },
    };
    let preflight = preflight(ctx, role, &token, &desired.trust_policy, &rendered, &o.rcps).await;
    if o.skip_foreign && !preflight.explanation.allowed && preflight.explanation.step == "trust" {
        return Ok(Verified::Foreign(Box::new(preflight.explanation)));
    }
    let request = exchange::Request {
        aws: ctx.aws_options,
        role_arn: &desired.arn,
        session_name: &o.session_name,
        source: &source,
    };
    let exchanged = exchange::exchange(
        &request,
        &mut token,
        preflight.explanation.allowed,
        &RetryPolicy::with_deadline(o.retry_for),
        on_retry,
    )
    .await?;
    let session = match &exchanged.result {
        Ok(session) => Some(aws::caller_of(ctx.aws_options, session).await?),
        Err(_) => None,
    };
    Ok(Verified::Exchanged(Box::new(Verification {
        role_arn: desired.arn.clone(),
        token_source: source.describe(),
        claims: token.claims.clone(),
        signature,
        preflight,
        exchanged,
        session,
        expected_arn: format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            ctx.target.partition, ctx.target.account_id, role.name, o.session_name
        ),
    })))
}

/// A resource control policy from a file (`--rcp`): its name (the file's stem) and document.
pub fn rcp_file(path: &Path) -> Result<(String, Value)> {
    rcp_file_checked(path).map(|(rcp, _)| rcp)
}

/// [`rcp_file`], with the keys the file repeats (KL027: IAM may read a repeated key otherwise
/// than the last value this evaluation uses).
pub fn rcp_file_checked(path: &Path) -> Result<((String, Value), Vec<String>)> {
    let text = read_capped(path, MAX_CONFIG_BYTES).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let parsed = document::parse(&text).map_err(|message| Error::Policy {
        what: path.display().to_string(),
        message,
    })?;
    let name = path
        .file_stem()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "rcp".into());
    Ok(((name, parsed.doc), parsed.duplicate_keys))
}

/// The local evaluation of `token` for `role`: against the live provider and trust policy when
/// the credentials can read them, else against the config's documents.
async fn preflight(
    ctx: &VerifyContext<'_>,
    role: &Role,
    token: &Token,
    config_trust: &Value,
    rendered: &Rendered,
    rcps: &[(String, Value)],
) -> Preflight {
    let cfg = ctx.config;
    let mut facts = ProviderFacts {
        rcps: rcps.to_vec(),
        ..ProviderFacts::default()
    };
    let mut trust = config_trust.clone();
    let mut trust_source = "config";
    if let Some(aws) = ctx.aws {
        if let Ok(provider) = aws.find_provider(&cfg.issuer.url).await {
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
        match aws.read_role(&role.name).await {
            Ok(Some(live)) => {
                trust = live.trust_policy;
                trust_source = "live";
            }
            Ok(None) => {
                return Preflight {
                    trust_policy: "live",
                    explanation: Explanation::missing_role(&role.name, &ctx.target.account_id),
                };
            }
            Err(_) => {} // not readable with these credentials: the config's trust policy
        }
    }
    let supported = issuer::supported_claim_keys(
        &ctx.target.partition,
        &cfg.issuer.kind,
        &cfg.extra_claim_keys,
    );
    Preflight {
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
    }
}
