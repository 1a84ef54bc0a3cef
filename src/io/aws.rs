//! The one module that calls AWS. Everything it returns is plain Rust data or [`Error::Aws`].
//!
//! Credentials and region come from the standard chain (environment, profiles, SSO,
//! `credential_process`, web identity, IMDS), with `--profile`, `--region` and `--endpoint-url`
//! (or `AWS_ENDPOINT_URL`) as the AWS CLI takes them. SDK errors are rendered with their whole
//! source chain, because the SDK's plain `Display` says only "dispatch failure". This module
//! knows nothing about configs, templates or output formats.

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::policy::document::decode_document;
use crate::state::observed::{
    Observed, ObservedPolicy, ObservedProvider, ObservedRole, ReadPath, Reads, choose_read_path,
    marked_config, version_order,
};
use crate::state::plan::{Change, preset_policy_arn};
use crate::state::render::Rendered;

/// How to reach AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Named profile.
    pub profile: Option<String>,
    /// Region override.
    pub region: Option<String>,
    /// Endpoint override (the test kit, LocalStack, a VPC endpoint).
    pub endpoint_url: Option<String>,
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallerIdentity {
    /// Account ID.
    pub account: String,
    /// Caller ARN.
    pub arn: String,
    /// Partition, from the ARN.
    pub partition: String,
}

/// Connected clients (cheap to clone: the SDK clients share their connections).
#[derive(Clone)]
pub struct Aws {
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
    org: aws_sdk_organizations::Client,
}

impl Aws {
    /// Load configuration from the standard chain with the given overrides.
    pub async fn connect(opts: &AwsOptions) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &opts.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(e) = &opts.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        loader = loader.retry_config(retry_config());
        Aws::from_config(&loader.load().await)
    }

    /// Clients from an already loaded SDK configuration (STS and IAM default to `us-east-1`
    /// when it names no region).
    pub fn from_config(conf: &aws_config::SdkConfig) -> Aws {
        // Without a region the SDK would refuse to build a request.
        let region = region_or_global(conf);
        let sts = aws_sdk_sts::config::Builder::from(conf)
            .region(region.clone())
            .retry_classifier(RefusedIsFinal);
        let iam = aws_sdk_iam::config::Builder::from(conf)
            .region(region.clone())
            .retry_classifier(RefusedIsFinal);
        let org = aws_sdk_organizations::config::Builder::from(conf).region(region);
        Aws {
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            org: aws_sdk_organizations::Client::from_conf(org.build()),
        }
    }

    /// Clients for another account: STS AssumeRole of `role_arn` (with `external_id` when the
    /// role's trust asks for one) from these credentials, and who they are (from the response's
    /// assumed-role ARN: no GetCallerIdentity needed). The session's credentials stay inside the
    /// returned clients.
    pub async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
    ) -> Result<(Aws, CallerIdentity)> {
        let out = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("keyless")
            .set_external_id(external_id.map(String::from))
            .send()
            .await
            .map_err(|e| sdk_error("sts:AssumeRole", e))?;
        let Some(c) = out.credentials() else {
            return Err(internal("sts:AssumeRole returned no credentials"));
        };
        let creds = aws_sdk_iam::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "keyless-assume-role",
        );
        let arn = out
            .assumed_role_user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default();
        let caller = CallerIdentity {
            account: arn.split(':').nth(4).unwrap_or_default().to_string(),
            partition: crate::identity::names::partition_of_arn(&arn).to_string(),
            arn,
        };
        let aws = Aws {
            sts: aws_sdk_sts::Client::from_conf(
                self.sts
                    .config()
                    .to_builder()
                    .credentials_provider(creds.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                self.iam
                    .config()
                    .to_builder()
                    .credentials_provider(creds.clone())
                    .build(),
            ),
            org: aws_sdk_organizations::Client::from_conf(
                self.org
                    .config()
                    .to_builder()
                    .credentials_provider(creds)
                    .build(),
            ),
        };
        Ok((aws, caller))
    }

    /// The active accounts in an organizational unit (or the root) and in every unit nested
    /// under it, from AWS Organizations (ListAccountsForParent and
    /// ListOrganizationalUnitsForParent, every page, one unit after another).
    pub async fn accounts_in(&self, parent: &str) -> Result<Vec<String>> {
        let mut units = vec![parent.to_string()];
        let mut out = Vec::new();
        while let Some(unit) = units.pop() {
            let mut pages = self
                .org
                .list_accounts_for_parent()
                .parent_id(&unit)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| sdk_error("organizations:ListAccountsForParent", e))?;
                out.extend(
                    page.accounts()
                        .iter()
                        .filter(|a| {
                            a.state()
                                .map(|s| s.as_str() == "ACTIVE")
                                .or(a.status().map(|s| s.as_str() == "ACTIVE"))
                                .unwrap_or(true)
                        })
                        .filter_map(|a| a.id().map(String::from)),
                );
            }
            let mut children = self
                .org
                .list_organizational_units_for_parent()
                .parent_id(&unit)
                .into_paginator()
                .send();
            while let Some(page) = children.next().await {
                let page = page
                    .map_err(|e| sdk_error("organizations:ListOrganizationalUnitsForParent", e))?;
                units.extend(
                    page.organizational_units()
                        .iter()
                        .filter_map(|u| u.id().map(String::from)),
                );
            }
        }
        Ok(out)
    }

    /// STS GetCallerIdentity: the account and partition every ARN is built for.
    pub async fn caller_identity(&self) -> Result<CallerIdentity> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts:GetCallerIdentity", e))?;
        let arn = out.arn().unwrap_or_default().to_string();
        let partition = crate::identity::names::partition_of_arn(&arn).to_string();
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_string(),
            arn,
            partition,
        })
    }
}

/// The result of a web-identity exchange. The credentials stay inside: `Debug` redacts them and
/// nothing returns them as text.
#[derive(Clone)]
pub struct WebIdentitySession {
    /// `arn:P:sts::ACCOUNT:assumed-role/ROLE/SESSION`
    pub assumed_role_arn: String,
    /// When the credentials expire (RFC 3339).
    pub expiration: Option<String>,
    /// STS's `SubjectFromWebIdentityToken`.
    pub subject: Option<String>,
    /// STS's `Audience`.
    pub audience: Option<String>,
    /// STS's `Provider`.
    pub provider: Option<String>,
    credentials: aws_sdk_sts::config::Credentials,
}

impl std::fmt::Debug for WebIdentitySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WebIdentitySession {{ assumed_role_arn: {:?}, credentials: <redacted> }}",
            self.assumed_role_arn
        )
    }
}

/// An STS client for the exchange: no credentials (the call is unsigned), or a session's.
async fn anonymous_sts(
    opts: &AwsOptions,
    credentials: Option<aws_sdk_sts::config::Credentials>,
) -> aws_sdk_sts::Client {
    let conf = anonymous_config(opts).await;
    let mut b = aws_sdk_sts::config::Builder::from(&conf).retry_classifier(RefusedIsFinal);
    if let Some(c) = credentials {
        b = b.credentials_provider(c);
    }
    aws_sdk_sts::Client::from_conf(b.build())
}

/// STS and IAM are global: a client with no region from any source uses this one.
const GLOBAL_REGION: &str = "us-east-1";

/// The region of a loaded configuration, or [`GLOBAL_REGION`] when nothing named one.
fn region_or_global(conf: &aws_config::SdkConfig) -> aws_config::Region {
    conf.region()
        .cloned()
        .unwrap_or_else(|| aws_config::Region::new(GLOBAL_REGION))
}

async fn anonymous_config(opts: &AwsOptions) -> aws_config::SdkConfig {
    // The standard region chain (AWS_REGION, the profile), unless --region or the config named one.
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).no_credentials();
    if let Some(r) = &opts.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let conf = loader.retry_config(retry_config()).load().await;
    let region = region_or_global(&conf);
    conf.into_builder().region(region).build()
}

/// Retries: the standard mode with 6 attempts and a 500 ms initial backoff, because IAM's
/// control plane throttles readily; `AWS_MAX_ATTEMPTS` (and `AWS_RETRY_MODE`) override it.
fn retry_config() -> aws_config::retry::RetryConfig {
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(6);
    let base = if std::env::var("AWS_RETRY_MODE").is_ok_and(|m| m.eq_ignore_ascii_case("adaptive"))
    {
        aws_config::retry::RetryConfig::adaptive()
    } else {
        aws_config::retry::RetryConfig::standard()
    };
    base.with_max_attempts(attempts)
        .with_initial_backoff(std::time::Duration::from_millis(500))
}

/// Why a web-identity exchange failed, decided from the SDK's typed error (its variant, its
/// code, its HTTP status), so that callers never match on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeErrorKind {
    /// `AccessDenied`: the role's trust policy does not admit the token, or the role does not
    /// exist (STS does not tell these apart), or a new trust policy has not propagated yet.
    AccessDenied,
    /// `InvalidIdentityToken` "No OpenIDConnect provider found": no provider for the token's
    /// issuer (or a new one has not propagated yet).
    NoProvider,
    /// `InvalidIdentityToken` otherwise: the audience is not a client ID, or the token is malformed.
    InvalidToken,
    /// `ExpiredTokenException`.
    ExpiredToken,
    /// `IDPRejectedClaim`.
    RejectedClaim,
    /// `IDPCommunicationError`: STS could not reach the issuer's keys.
    IdpUnreachable,
    /// A throttling error.
    Throttled,
    /// An HTTP 5xx answer.
    Unavailable,
    /// No answer: connection refused, DNS, timeout.
    Unreachable,
    /// Anything else (bad request parameters, region disabled, ...).
    Other,
}

impl ExchangeErrorKind {
    /// The fix for a failure of this kind (each STS answer has its own).
    pub fn hint(self) -> Option<&'static str> {
        use ExchangeErrorKind as K;
        Some(match self {
            K::AccessDenied => {
                "the role's trust policy does not admit this token, or the role does not exist: `keyless explain --live` names the deciding condition; right after an apply, IAM may still be propagating"
            }
            K::NoProvider => {
                "the account has no OIDC provider for the token's issuer: `keyless apply` creates it (or check [provider] in keyless.toml)"
            }
            K::InvalidToken => {
                "STS rejected the token itself: its audience must be one of the provider's client IDs (`audience:` in configure-aws-credentials), and it must be a GitHub OIDC token"
            }
            K::ExpiredToken => {
                "the token expired: GitHub tokens live about 5 minutes; request a fresh one right before the exchange"
            }
            K::RejectedClaim => {
                "STS rejected a claim of the token: check the role's trust conditions against the token's claims (`keyless explain`)"
            }
            K::IdpUnreachable => {
                "STS could not fetch the issuer's keys: retry in a minute; for GHES, the host must be reachable from AWS"
            }
            K::Throttled => "STS is rate-limiting: wait and run again",
            K::Unavailable => "STS answered with a server error: run again",
            K::Unreachable => {
                "could not reach STS: check the network, --region and --endpoint-url (AWS_ENDPOINT_URL)"
            }
            K::Other => return None,
        })
    }
}

/// A failed exchange: its kind, and the error to report.
#[derive(Debug)]
pub struct ExchangeError {
    /// What kind of failure, for retry decisions and fixes.
    pub kind: ExchangeErrorKind,
    /// The error as reported (code, AWS's message, hint).
    pub error: Error,
}

fn exchange_error_kind<R>(
    e: &aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
        R,
    >,
    status: impl Fn(&R) -> u16,
) -> ExchangeErrorKind {
    use ExchangeErrorKind as K;
    use aws_sdk_sts::error::SdkError;
    use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError as E;
    match e {
        SdkError::ServiceError(se) => match se.err() {
            E::ExpiredTokenException(_) => K::ExpiredToken,
            E::IdpCommunicationErrorException(_) => K::IdpUnreachable,
            E::IdpRejectedClaimException(_) => K::RejectedClaim,
            // AWS gives this one case no code of its own; its message is the only signal.
            E::InvalidIdentityTokenException(x)
                if x.message()
                    .is_some_and(|m| m.contains("No OpenIDConnect provider")) =>
            {
                K::NoProvider
            }
            E::InvalidIdentityTokenException(_) => K::InvalidToken,
            other => match other.code() {
                Some("AccessDenied") => K::AccessDenied,
                Some(c) if c.contains("Throttl") || c == "RequestLimitExceeded" => K::Throttled,
                _ if status(se.raw()) >= 500 => K::Unavailable,
                _ => K::Other,
            },
        },
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => K::Unreachable,
        _ => K::Other,
    }
}

/// STS AssumeRoleWithWebIdentity, unsigned as on AWS (no AWS credentials needed).
pub async fn assume_with_token(
    opts: &AwsOptions,
    role_arn: &str,
    session_name: &str,
    token: &str,
) -> std::result::Result<WebIdentitySession, ExchangeError> {
    let sts = anonymous_sts(opts, None).await;
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .web_identity_token(token)
        .send()
        .await
        .map_err(|e| {
            let kind = exchange_error_kind(&e, |r| r.status().as_u16());
            let mut error = sdk_error("sts:AssumeRoleWithWebIdentity", e);
            if let (Error::Aws { hint, .. }, Some(h)) = (&mut error, kind.hint()) {
                *hint = Some(h.into());
            }
            ExchangeError { kind, error }
        })?;
    let c = out.credentials().ok_or_else(|| ExchangeError {
        kind: ExchangeErrorKind::Other,
        error: Error::Aws {
            op: "sts:AssumeRoleWithWebIdentity".into(),
            code: "NoCredentials".into(),
            message: "STS returned no credentials".into(),
            hint: None,
        },
    })?;
    Ok(WebIdentitySession {
        assumed_role_arn: out
            .assumed_role_user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default(),
        expiration: Some(c.expiration().to_string()),
        subject: out.subject_from_web_identity_token().map(String::from),
        audience: out.audience().map(String::from),
        provider: out.provider().map(String::from),
        credentials: aws_sdk_sts::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "keyless-verify",
        ),
    })
}

/// GetCallerIdentity with a web-identity session's credentials.
pub async fn caller_of(opts: &AwsOptions, session: &WebIdentitySession) -> Result<CallerIdentity> {
    let sts = anonymous_sts(opts, Some(session.credentials.clone())).await;
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_error("sts:GetCallerIdentity", e))?;
    let arn = out.arn().unwrap_or_default().to_string();
    Ok(CallerIdentity {
        account: out.account().unwrap_or_default().to_string(),
        partition: crate::identity::names::partition_of_arn(&arn).to_string(),
        arn,
    })
}

fn not_found<E: ProvideErrorMetadata, R>(e: &aws_sdk_iam::error::SdkError<E, R>) -> bool {
    e.code() == Some("NoSuchEntity")
}

/// A delete that finds nothing to delete has done its job (IAM deletes are not idempotent).
fn gone_ok<T, E, R>(
    op: &str,
    r: std::result::Result<T, aws_sdk_iam::error::SdkError<E, R>>,
) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match r {
        Err(e) if !not_found(&e) => Err(sdk_error(op, e)),
        _ => Ok(()),
    }
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn to_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::Aws {
                    op: "iam:Tag".into(),
                    code: "BuildError".into(),
                    message: e.to_string(),
                    hint: None,
                })
        })
        .collect()
}

fn decoded(op: &str, what: &str, text: Option<&str>) -> Result<Value> {
    decode_document(text.unwrap_or("{}")).map_err(|m| Error::Aws {
        op: op.into(),
        code: "UnreadableDocument".into(),
        message: format!("{what}: {m}"),
        hint: None,
    })
}

/// A task that could not be joined (it panicked or was cancelled) or a closed semaphore.
/// GetAccountAuthorizationDetails, as errors name it.
const GAAD: &str = "iam:GetAccountAuthorizationDetails";

/// One configured role as read: its name, its state (`None`: absent) and the policies read for
/// it by ARN (`None`: absent).
type RoleRead = (
    String,
    Option<ObservedRole>,
    Vec<(String, Option<ObservedPolicy>)>,
);

/// What GetAccountAuthorizationDetails returned for roles and customer-managed policies.
#[derive(Default)]
struct AccountDetails {
    roles: Vec<aws_sdk_iam::types::RoleDetail>,
    policies: Vec<aws_sdk_iam::types::ManagedPolicyDetail>,
}

/// The observed state from the provider and each role's read.
fn assemble(provider: Option<ObservedProvider>, roles: Vec<RoleRead>) -> Observed {
    let mut o = Observed {
        provider,
        ..Default::default()
    };
    for (name, live, policies) in roles {
        o.roles.insert(name, live);
        for (arn, p) in policies {
            o.policies.entry(arn).or_insert(p);
        }
    }
    o
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The trust policy of each listed role not named in `exclude`.
fn trusts_except(
    listed: &[aws_sdk_iam::types::Role],
    exclude: &[String],
) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for r in listed {
        if exclude.iter().any(|n| n == r.role_name()) {
            continue;
        }
        let trust = decoded(
            "iam:ListRoles",
            &format!("role {} trust policy", r.role_name()),
            r.assume_role_policy_document(),
        )?;
        out.push((r.role_name().to_string(), trust));
    }
    Ok(out)
}

/// A role's inline policies by name, decoded, from GetAccountAuthorizationDetails.
fn inline_of(d: &aws_sdk_iam::types::RoleDetail) -> Result<BTreeMap<String, Value>> {
    let name = d.role_name().unwrap_or_default();
    let mut inline = BTreeMap::new();
    for p in d.role_policy_list() {
        let pn = p.policy_name().unwrap_or_default().to_string();
        let doc = decoded(
            GAAD,
            &format!("role {name} inline policy {pn}"),
            p.policy_document(),
        )?;
        inline.insert(pn, doc);
    }
    Ok(inline)
}

/// A role as GetAccountAuthorizationDetails describes it, with the two fields it leaves out
/// (description and session length) from ListRoles.
fn role_from_details(
    d: &aws_sdk_iam::types::RoleDetail,
    listed: &aws_sdk_iam::types::Role,
) -> Result<ObservedRole> {
    let name = d.role_name().unwrap_or_default();
    let trust = decoded(
        GAAD,
        &format!("role {name} trust policy"),
        d.assume_role_policy_document(),
    )?;
    let inline = inline_of(d)?;
    Ok(ObservedRole {
        name: name.to_string(),
        arn: d.arn().unwrap_or_default().to_string(),
        role_id: d.role_id().unwrap_or_default().to_string(),
        path: d.path().unwrap_or("/").to_string(),
        description: listed.description().map(String::from),
        max_session_duration: listed.max_session_duration().map(i64::from).unwrap_or(3600),
        permissions_boundary: d
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(String::from),
        tags: tags_of(d.tags()),
        trust_policy: trust,
        inline_policies: inline,
        attached_policies: sorted(
            d.attached_managed_policies()
                .iter()
                .filter_map(|a| a.policy_arn().map(String::from))
                .collect(),
        ),
    })
}

/// A customer-managed policy as GetAccountAuthorizationDetails describes it, with its tags (read
/// separately, and only for a policy whose description does not name its config: the details
/// leave them out).
fn policy_from_details(
    d: &aws_sdk_iam::types::ManagedPolicyDetail,
    tags: BTreeMap<String, String>,
) -> Result<ObservedPolicy> {
    let arn = d.arn().unwrap_or_default();
    let default_version = d.default_version_id().unwrap_or("v1").to_string();
    let mut versions: Vec<_> = d.policy_version_list().to_vec();
    versions.sort_by_key(|v| {
        version_order(
            v.version_id().unwrap_or_default(),
            v.create_date().map(|d| (d.secs(), d.subsec_nanos())),
        )
    });
    let default = versions
        .iter()
        .find(|v| v.is_default_version())
        .and_then(|v| v.document());
    Ok(ObservedPolicy {
        arn: arn.to_string(),
        default_version,
        document: decoded(GAAD, &format!("policy {arn}"), default)?,
        versions: versions
            .iter()
            .map(|v| {
                (
                    v.version_id().unwrap_or_default().to_string(),
                    v.is_default_version(),
                )
            })
            .collect(),
        tags,
        attachment_count: d.attachment_count().unwrap_or(0),
        marked: marked_config(d.description()),
    })
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Aws {
        op: "concurrent read".into(),
        code: "Internal".into(),
        message: e.to_string(),
        hint: None,
    }
}

impl Aws {
    /// The provider whose URL is `url` (with or without `https://`), found by listing.
    pub async fn find_provider(&self, url: &str) -> Result<Option<ObservedProvider>> {
        let want = url.trim_start_matches("https://");
        let list = self
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| sdk_error("iam:ListOpenIDConnectProviders", e))?;
        for entry in list.open_id_connect_provider_list() {
            let Some(arn) = entry.arn() else { continue };
            if !arn.ends_with(&format!("oidc-provider/{want}")) {
                continue;
            }
            let p = self
                .iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error("iam:GetOpenIDConnectProvider", e))?;
            let got = p.url().unwrap_or_default().trim_start_matches("https://");
            if got != want {
                continue;
            }
            return Ok(Some(ObservedProvider {
                arn: arn.to_string(),
                url: got.to_string(),
                client_ids: p.client_id_list().to_vec(),
                tags: tags_of(p.tags()),
            }));
        }
        Ok(None)
    }

    /// The provider at `arn` (the ARN a config's trust names: partition, account and URL fix it),
    /// in one call; `None` if it does not exist.
    pub async fn provider_at(&self, arn: &str) -> Result<Option<ObservedProvider>> {
        let p = match self
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error("iam:GetOpenIDConnectProvider", e)),
        };
        Ok(Some(ObservedProvider {
            arn: arn.to_string(),
            url: p
                .url()
                .unwrap_or_default()
                .trim_start_matches("https://")
                .to_string(),
            client_ids: p.client_id_list().to_vec(),
            tags: tags_of(p.tags()),
        }))
    }

    /// A role with its trust, inline and attached policies and tags; `None` if it does not exist.
    /// GetRole (which returns the tags) and the two policy lists go out together: they need only
    /// the name.
    pub async fn read_role(&self, name: &str) -> Result<Option<ObservedRole>> {
        let (r, names, attached) = tokio::join!(
            self.iam.get_role().role_name(name).send(),
            self.iam
                .list_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            self.iam
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        );
        let r = match r {
            Ok(r) => r,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error("iam:GetRole", e)),
        };
        let Some(role) = r.role() else {
            return Ok(None);
        };
        let trust = decoded(
            "iam:GetRole",
            &format!("role {name} trust policy"),
            role.assume_role_policy_document(),
        )?;
        let names: Vec<String> = names.map_err(|e| sdk_error("iam:ListRolePolicies", e))?;
        let attached = attached.map_err(|e| sdk_error("iam:ListAttachedRolePolicies", e))?;
        let mut inline = BTreeMap::new();
        for pn in names {
            let p = self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&pn)
                .send()
                .await
                .map_err(|e| sdk_error("iam:GetRolePolicy", e))?;
            inline.insert(
                pn.clone(),
                decoded(
                    "iam:GetRolePolicy",
                    &format!("role {name} inline policy {pn}"),
                    Some(p.policy_document()),
                )?,
            );
        }
        Ok(Some(ObservedRole {
            name: role.role_name().to_string(),
            arn: role.arn().to_string(),
            role_id: role.role_id().to_string(),
            path: role.path().to_string(),
            description: role.description().map(String::from),
            max_session_duration: role.max_session_duration().map(i64::from).unwrap_or(3600),
            permissions_boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(String::from),
            tags: tags_of(role.tags()),
            trust_policy: trust,
            inline_policies: inline,
            attached_policies: sorted(
                attached
                    .iter()
                    .filter_map(|a| a.policy_arn().map(String::from))
                    .collect(),
            ),
        }))
    }

    /// A customer-managed policy with its default document, versions and tags.
    pub async fn read_policy(&self, arn: &str) -> Result<Option<ObservedPolicy>> {
        let p = match self.iam.get_policy().policy_arn(arn).send().await {
            Ok(p) => p,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error("iam:GetPolicy", e)),
        };
        let Some(pol) = p.policy() else {
            return Ok(None);
        };
        let default_version = pol.default_version_id().unwrap_or("v1").to_string();
        // GetPolicy returns the tags; the version and the version list are read together.
        let (v, versions) = tokio::join!(
            self.iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&default_version)
                .send(),
            self.iam
                .list_policy_versions()
                .policy_arn(arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        );
        let v = v.map_err(|e| sdk_error("iam:GetPolicyVersion", e))?;
        let document = decoded(
            "iam:GetPolicyVersion",
            &format!("policy {arn}"),
            v.policy_version().and_then(|v| v.document()),
        )?;
        let mut versions: Vec<_> = versions.map_err(|e| sdk_error("iam:ListPolicyVersions", e))?;
        versions.sort_by_key(|v| {
            version_order(
                v.version_id().unwrap_or_default(),
                v.create_date().map(|d| (d.secs(), d.subsec_nanos())),
            )
        });
        Ok(Some(ObservedPolicy {
            arn: arn.to_string(),
            default_version,
            document,
            versions: versions
                .iter()
                .map(|v| {
                    (
                        v.version_id().unwrap_or_default().to_string(),
                        v.is_default_version(),
                    )
                })
                .collect(),
            // A policy whose description names its config is owned by that config; its tags are
            // then not consulted (the account-wide read does not fetch them either).
            tags: match marked_config(pol.description()) {
                Some(_) => BTreeMap::new(),
                None => tags_of(pol.tags()),
            },
            attachment_count: pol.attachment_count().unwrap_or(0),
            marked: marked_config(pol.description()),
        }))
    }

    /// Read everything the desired state names: the provider, each role, each preset policy, and
    /// any customer-managed policy attached to a configured role, role by role (at most
    /// `concurrency` roles at a time).
    pub async fn observe(&self, desired: &Rendered, concurrency: usize) -> Result<Observed> {
        // The provider and the roles are read at the same time; so are each role and the preset
        // policies it should have (their ARNs are known before the role is read).
        let (provider, roles) = tokio::join!(
            self.provider_at(&desired.provider_arn),
            self.observe_roles(desired, concurrency)
        );
        Ok(assemble(provider?, roles?))
    }

    /// The same observed state as [`Aws::observe`], read from the whole account: ListRoles and
    /// GetAccountAuthorizationDetails (roles and customer-managed policies, pages of 1,000) with
    /// the provider, then GetPolicy for the tags of each policy that exists and whose
    /// description does not name its config (`concurrency` at a time).
    pub async fn observe_account(
        &self,
        desired: &Rendered,
        concurrency: usize,
    ) -> Result<(Observed, Vec<(String, Value)>)> {
        let (provider, listed, details) = tokio::join!(
            self.provider_at(&desired.provider_arn),
            self.list_roles(),
            self.account_details(true),
        );
        let (roles, others) = self
            .observe_from_details(desired, concurrency, listed?, details?)
            .await?;
        Ok((assemble(provider?, roles), others))
    }

    /// Observe what `desired` names, by the path `reads` picks (see
    /// [`crate::state::observed::choose_read_path`]), with the other roles' trusts when `others` is set.
    pub async fn observe_by(
        &self,
        desired: &Rendered,
        concurrency: usize,
        reads: Reads,
        others: bool,
    ) -> Result<(Observed, Vec<(String, Value)>, ReadPath)> {
        let configured = desired.roles.len();
        let names: Vec<String> = desired.roles.iter().map(|r| r.name.clone()).collect();
        if choose_read_path(reads, configured, None) == ReadPath::PerRole {
            // Role by role, without listing first: the listing (when wanted) runs beside it.
            let list = async {
                match others {
                    true => self.other_role_trusts(&names).await,
                    false => Ok(Vec::new()),
                }
            };
            let (observed, others) = tokio::join!(self.observe(desired, concurrency), list);
            return Ok((observed?, others?, ReadPath::PerRole));
        }
        // List first (the account path needs the list, and the count decides the path); the
        // provider is read meanwhile.
        let provider = self.provider_at(&desired.provider_arn);
        let rest = async {
            let listed = self.list_roles().await?;
            let details = match choose_read_path(reads, configured, Some(listed.len())) {
                ReadPath::Account => match self.account_details(true).await {
                    Ok(details) => Some(details),
                    // `auto` with a caller that may not read the whole account (the
                    // keyless-check preset's default): read role by role instead.
                    Err(Error::Aws { code, .. })
                        if reads == Reads::Auto && code.starts_with("AccessDenied") =>
                    {
                        None
                    }
                    Err(e) => return Err(e),
                },
                ReadPath::PerRole => None,
            };
            match details {
                Some(details) => {
                    let (roles, others) = self
                        .observe_from_details(desired, concurrency, listed, details)
                        .await?;
                    Ok::<_, Error>((roles, others, ReadPath::Account))
                }
                None => {
                    let others = trusts_except(&listed, &names)?;
                    let roles = self.observe_roles(desired, concurrency).await?;
                    Ok((roles, others, ReadPath::PerRole))
                }
            }
        };
        let (provider, rest) = tokio::join!(provider, rest);
        let (roles, other_trusts, path) = rest?;
        let other_trusts = if others { other_trusts } else { Vec::new() };
        Ok((assemble(provider?, roles), other_trusts, path))
    }

    /// Every role in the account (ListRoles, pages of 1,000: IAM's largest).
    async fn list_roles(&self) -> Result<Vec<aws_sdk_iam::types::Role>> {
        self.iam
            .list_roles()
            .max_items(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("iam:ListRoles", e))
    }

    /// Every role, and with `policies` every customer-managed policy, with their documents
    /// (GetAccountAuthorizationDetails, pages of 1,000, one after another: each needs the last
    /// one's marker).
    async fn account_details(&self, policies: bool) -> Result<AccountDetails> {
        use aws_sdk_iam::types::EntityType;
        let mut request = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::Role);
        if policies {
            request = request.filter(EntityType::LocalManagedPolicy);
        }
        let mut pages = request.max_items(1000).into_paginator().send();
        let mut out = AccountDetails::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(GAAD, e))?;
            out.roles.extend(page.role_detail_list().iter().cloned());
            out.policies.extend(page.policies().iter().cloned());
        }
        Ok(out)
    }

    /// Turn the account's listing and details into each configured role's observed state (as
    /// `observe_roles` returns it) and the other roles' trusts. Policy tags are the only reads
    /// left: GetAccountAuthorizationDetails does not return them.
    #[allow(clippy::type_complexity)]
    async fn observe_from_details(
        &self,
        desired: &Rendered,
        concurrency: usize,
        listed: Vec<aws_sdk_iam::types::Role>,
        details: AccountDetails,
    ) -> Result<(Vec<RoleRead>, Vec<(String, Value)>)> {
        let names: Vec<String> = desired.roles.iter().map(|r| r.name.clone()).collect();
        let others = trusts_except(&listed, &names)?;
        let listed: BTreeMap<&str, &aws_sdk_iam::types::Role> =
            listed.iter().map(|r| (r.role_name(), r)).collect();
        let role_details: BTreeMap<&str, &aws_sdk_iam::types::RoleDetail> = details
            .roles
            .iter()
            .filter_map(|d| d.role_name().map(|n| (n, d)))
            .collect();
        let policy_details: BTreeMap<&str, &aws_sdk_iam::types::ManagedPolicyDetail> = details
            .policies
            .iter()
            .filter_map(|p| p.arn().map(|a| (a, p)))
            .collect();
        let customer = format!(":iam::{}:policy/", desired.target.account_id);
        let mut out = Vec::new();
        let mut wanted: Vec<String> = Vec::new();
        for role in &desired.roles {
            let presets: Vec<String> = role
                .policies
                .iter()
                .filter(|p| p.attach == "managed")
                .map(|p| preset_policy_arn(desired, role, &p.name))
                .collect();
            let live = match (
                role_details.get(role.name.as_str()),
                listed.get(role.name.as_str()),
            ) {
                (Some(d), Some(l)) => Some(role_from_details(d, l)?),
                (None, None) => None,
                // Created or deleted between the two reads: ask for this one role.
                _ => self.read_role(&role.name).await?,
            };
            let mut arns = presets.clone();
            if let Some(l) = &live {
                arns.extend(
                    l.attached_policies
                        .iter()
                        .filter(|a| a.contains(&customer) && !presets.contains(a))
                        .cloned(),
                );
            }
            arns.sort();
            arns.dedup();
            wanted.extend(arns.iter().cloned());
            out.push((role.name.clone(), live, arns));
        }
        wanted.sort();
        wanted.dedup();
        // Tags of each policy that exists, `concurrency` at a time.
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut reads = tokio::task::JoinSet::new();
        let unmarked = |a: &String| {
            policy_details
                .get(a.as_str())
                .is_some_and(|d| marked_config(d.description()).is_none())
        };
        for arn in wanted.iter().filter(|a| unmarked(a)) {
            let (aws, permits, arn) = (self.clone(), permits.clone(), arn.clone());
            reads.spawn(async move {
                let _permit = permits.acquire_owned().await.map_err(internal)?;
                let tags = match aws.iam.get_policy().policy_arn(&arn).send().await {
                    Ok(p) => Some(tags_of(p.policy().map(|p| p.tags()).unwrap_or_default())),
                    Err(e) if not_found(&e) => None,
                    Err(e) => return Err(sdk_error("iam:GetPolicy", e)),
                };
                Ok::<_, Error>((arn, tags))
            });
        }
        let mut tags = BTreeMap::new();
        while let Some(joined) = reads.join_next().await {
            let (arn, t) = joined.map_err(internal)??;
            tags.insert(arn, t);
        }
        let mut roles = Vec::new();
        for (name, live, arns) in out {
            let mut policies = Vec::new();
            for arn in arns {
                let p = match (policy_details.get(arn.as_str()), tags.get(&arn)) {
                    (Some(d), _) if marked_config(d.description()).is_some() => {
                        Some(policy_from_details(d, BTreeMap::new())?)
                    }
                    (Some(d), Some(Some(t))) => Some(policy_from_details(d, t.clone())?),
                    // Gone between the two reads.
                    _ => None,
                };
                policies.push((arn, p));
            }
            roles.push((name, live, policies));
        }
        Ok((roles, others))
    }

    #[allow(clippy::type_complexity)]
    async fn observe_roles(&self, desired: &Rendered, concurrency: usize) -> Result<Vec<RoleRead>> {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for role in &desired.roles {
            let aws = self.clone();
            let permits = permits.clone();
            let name = role.name.clone();
            let presets: Vec<String> = role
                .policies
                .iter()
                .filter(|p| p.attach == "managed")
                .map(|p| preset_policy_arn(desired, role, &p.name))
                .collect();
            let customer = format!(":iam::{}:policy/", desired.target.account_id);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.map_err(internal)?;
                let mut reads = tokio::task::JoinSet::new();
                let spawn_read = |reads: &mut tokio::task::JoinSet<_>, arn: String| {
                    let aws = aws.clone();
                    reads.spawn(async move {
                        let policy = aws.read_policy(&arn).await;
                        (arn, policy)
                    });
                };
                for arn in &presets {
                    spawn_read(&mut reads, arn.clone());
                }
                let live = aws.read_role(&name).await?;
                if let Some(l) = &live {
                    for arn in l
                        .attached_policies
                        .iter()
                        .filter(|a| a.contains(&customer) && !presets.contains(a))
                    {
                        spawn_read(&mut reads, arn.clone());
                    }
                }
                let mut policies = Vec::new();
                while let Some(joined) = reads.join_next().await {
                    let (arn, p) = joined.map_err(internal)?;
                    policies.push((arn, p?));
                }
                policies.sort_by(|a, b| a.0.cmp(&b.0));
                Ok::<_, Error>((name, live, policies))
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            out.push(joined.map_err(internal)??);
        }
        Ok(out)
    }

    /// The tags of each named role (GetRole, which returns them; `concurrency` roles at a
    /// time); a role that disappeared meanwhile is left out.
    pub async fn role_tags(
        &self,
        names: &[&str],
        concurrency: usize,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for name in names {
            let (aws, permits, name) = (self.clone(), permits.clone(), name.to_string());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let tags = aws
                    .iam
                    .get_role()
                    .role_name(&name)
                    .send()
                    .await
                    .map(|r| r.role().map(|r| r.tags().to_vec()).unwrap_or_default())
                    .map_err(|e| sdk_error("iam:GetRole", e));
                (name, tags)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (name, tags) = joined.map_err(internal)?;
            match tags {
                Ok(tags) => {
                    out.insert(name, tags_of(&tags));
                }
                Err(Error::Aws { code, .. }) if code == "NoSuchEntity" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// What `keyless audit` judges: every OIDC provider ARN, and every role whose trust names a
    /// GitHub issuer's provider with its inline and attached policies. Read-only, and
    /// a handful of calls whatever the account's size: ListOpenIDConnectProviders and
    /// GetAccountAuthorizationDetails (roles only, pages of 1,000) together.
    pub async fn audit_view(&self) -> Result<crate::state::audit::AccountView> {
        let providers = async {
            self.iam
                .list_open_id_connect_providers()
                .send()
                .await
                .map_err(|e| sdk_error("iam:ListOpenIDConnectProviders", e))
        };
        let (providers, details) = tokio::join!(providers, self.account_details(false));
        let providers: Vec<String> = providers?
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(String::from))
            .collect();
        let mut roles = Vec::new();
        for d in details?.roles {
            let name = d.role_name().unwrap_or_default().to_string();
            let trust = decoded(
                GAAD,
                &format!("role {name} trust policy"),
                d.assume_role_policy_document(),
            )?;
            if crate::state::audit::github_providers_of(&trust).is_empty() {
                continue;
            }
            roles.push(crate::state::audit::AuditedRole {
                arn: d.arn().unwrap_or_default().to_string(),
                trust_policy: trust,
                inline_policies: inline_of(&d)?,
                attached_policies: d
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|a| a.policy_arn().map(String::from))
                    .collect(),
                created: d.create_date().map(|t| t.secs()),
                last_used: d
                    .role_last_used()
                    .and_then(|u| u.last_used_date())
                    .map(|t| t.secs()),
                name,
            });
        }
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(crate::state::audit::AccountView { providers, roles })
    }

    /// Every role in the account except `exclude`, with its trust policy (for destroy's check
    /// that nothing else trusts the provider, and check's look at roles outside the config).
    pub async fn other_role_trusts(&self, exclude: &[String]) -> Result<Vec<(String, Value)>> {
        trusts_except(&self.list_roles().await?, exclude)
    }

    /// Make one planned change. A create whose entity already exists and is keyless's (a write
    /// that succeeded although its response was lost, then was retried) counts as done.
    pub async fn apply(&self, change: &Change) -> Result<()> {
        match self.apply_once(change).await {
            Err(Error::Aws { code, .. })
                if code == "EntityAlreadyExists" && self.already_ours(change).await =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn already_ours(&self, change: &Change) -> bool {
        match change {
            Change::CreateProvider { url, .. } => {
                matches!(self.find_provider(url).await, Ok(Some(_)))
            }
            Change::CreateRole { role, .. } => {
                matches!(self.read_role(role).await, Ok(Some(r)) if crate::state::observed::owned(&r.tags))
            }
            Change::CreatePolicy { arn, .. } => {
                matches!(self.read_policy(arn).await, Ok(Some(p)) if p.is_keyless())
            }
            _ => false,
        }
    }

    async fn apply_once(&self, change: &Change) -> Result<()> {
        let iam = &self.iam;
        let op = format!("iam:{}", change.api());
        match change {
            Change::CreateProvider {
                url,
                client_ids,
                tags,
            } => iam
                .create_open_id_connect_provider()
                .url(url)
                .set_client_id_list(Some(client_ids.clone()))
                .set_tags(Some(to_tags(tags)?))
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::AddClientId {
                provider_arn,
                client_id,
            } => iam
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(provider_arn)
                .client_id(client_id)
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::CreateRole {
                role,
                path,
                description,
                max_session_duration,
                permissions_boundary,
                tags,
                trust_policy,
            } => iam
                .create_role()
                .role_name(role)
                .path(path)
                .assume_role_policy_document(trust_policy.to_string())
                .set_description(description.clone())
                .max_session_duration(*max_session_duration as i32)
                .set_permissions_boundary(permissions_boundary.clone())
                .set_tags(Some(to_tags(tags)?))
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::UpdateTrust { role, after, .. } => iam
                .update_assume_role_policy()
                .role_name(role)
                .policy_document(after.to_string())
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::UpdateRole { role, after, .. } => iam
                .update_role()
                .role_name(role)
                .description(after.0.clone().unwrap_or_default())
                .max_session_duration(after.1 as i32)
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::PutBoundary { role, after, .. } => iam
                .put_role_permissions_boundary()
                .role_name(role)
                .permissions_boundary(after)
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::DeleteBoundary { role, .. } => iam
                .delete_role_permissions_boundary()
                .role_name(role)
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::TagRole { role, tags } => iam
                .tag_role()
                .role_name(role)
                .set_tags(Some(to_tags(tags)?))
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::UntagRole { role, keys } => iam
                .untag_role()
                .role_name(role)
                .set_tag_keys(Some(keys.clone()))
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::CreatePolicy {
                name,
                path,
                document,
                tags,
                ..
            } => iam
                .create_policy()
                .policy_name(name)
                .path(path)
                .set_description(
                    tags.get(crate::config::CONFIG_KEY)
                        .map(|c| crate::state::observed::policy_description(c)),
                )
                .policy_document(document.to_string())
                .set_tags(Some(to_tags(tags)?))
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::TagPolicy { arn, tags } => iam
                .tag_policy()
                .policy_arn(arn)
                .set_tags(Some(to_tags(tags)?))
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::CreatePolicyVersion {
                arn,
                delete_version,
                after,
                ..
            } => {
                if let Some(v) = delete_version {
                    iam.delete_policy_version()
                        .policy_arn(arn)
                        .version_id(v)
                        .send()
                        .await
                        .map_err(|e| sdk_error("iam:DeletePolicyVersion", e))?;
                }
                iam.create_policy_version()
                    .policy_arn(arn)
                    .policy_document(after.to_string())
                    .set_as_default(true)
                    .send()
                    .await
                    .map_err(|e| sdk_error(&op, e))
                    .map(drop)
            }
            Change::AttachPolicy { role, arn } => iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::PutInlinePolicy {
                role, name, after, ..
            } => iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(after.to_string())
                .send()
                .await
                .map_err(|e| sdk_error(&op, e))
                .map(drop),
            Change::DetachPolicy { role, arn } => gone_ok(
                &op,
                iam.detach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await,
            ),
            Change::DeleteInlinePolicy { role, name, .. } => gone_ok(
                &op,
                iam.delete_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .send()
                    .await,
            ),
            Change::DeletePolicy { arn, versions, .. } => {
                for v in versions {
                    gone_ok(
                        "iam:DeletePolicyVersion",
                        iam.delete_policy_version()
                            .policy_arn(arn)
                            .version_id(v)
                            .send()
                            .await,
                    )?;
                }
                gone_ok(&op, iam.delete_policy().policy_arn(arn).send().await)
            }
            Change::DeleteRole { role } => {
                gone_ok(&op, iam.delete_role().role_name(role).send().await)
            }
            Change::DeleteProvider { provider_arn } => gone_ok(
                &op,
                iam.delete_open_id_connect_provider()
                    .open_id_connect_provider_arn(provider_arn)
                    .send()
                    .await,
            ),
        }
    }
}

/// What to tell the user for an AWS error code (and its message).
fn hint_for(code: &str, message: &str) -> Option<&'static str> {
    Some(match code {
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "your session expired: refresh it (e.g. `aws sso login`) and run again"
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" => {
            "the access key is unknown or the secret is wrong: check your profile or environment"
        }
        "AccessDenied" | "AccessDeniedException" => {
            "the caller lacks the permission named above; `keyless check` needs only the keyless-check preset, plan/apply/destroy need IAM read and write access"
        }
        "Throttling" | "ThrottlingException" => {
            "IAM is rate-limiting this account: wait a minute and run again (set AWS_MAX_ATTEMPTS to retry more)"
        }
        "MalformedPolicyDocument"
            if message.contains("not scoped to all") || message.contains("must evaluate") =>
        {
            "IAM's guardrail for GitHub-trusting roles refused the trust policy: it must scope the token's `sub` (or `job_workflow_ref`) with StringEquals, StringLike or StringEqualsIgnoreCase, and not to everything (lint rules KL001/KL002 catch this: run `keyless lint`)"
        }
        "MalformedPolicyDocument" => {
            "IAM rejected a policy document: run `keyless lint` and `keyless render` to see it"
        }
        "EntityAlreadyExists" => {
            "it already exists (perhaps created by a concurrent run): run the command again; it re-reads IAM first"
        }
        "LimitExceeded" => {
            "an IAM quota was reached (roles, policies per role, versions or providers): see `aws iam get-account-summary`"
        }
        "DeleteConflict" => {
            "something still depends on it (an attachment, a policy version, an instance profile): remove that first"
        }
        "NoSuchEntity" => {
            "it does not exist (any more): check the ARN or name, then run the command again; it re-reads IAM first"
        }
        "ConcurrentModification" => {
            "another change to the same resource is in progress: run the command again"
        }
        _ => return None,
    })
}

/// An error and its sources as one line, `outer: inner: innermost`, each level's `Display` once
/// (never a `Debug` dump).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = s.source();
    }
    parts.join(": ")
}

/// An SDK error and its sources as one line.
fn sdk_chain<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    // The top level ("dispatch failure", "timeout", ...) repeats the code; its sources say why.
    match std::error::Error::source(e) {
        Some(inner) => error_chain(inner),
        None => e.to_string(),
    }
}

/// A retry classifier that forbids retrying a refused connection: nothing listens at the
/// endpoint (a wrong `--endpoint-url`, a stopped emulator or proxy), and waiting will not change
/// that. Every other decision is left to the standard classifiers.
#[derive(Debug)]
struct RefusedIsFinal;

impl aws_sdk_iam::config::retry::ClassifyRetry for RefusedIsFinal {
    fn classify_retry(
        &self,
        ctx: &aws_sdk_iam::config::interceptors::InterceptorContext,
    ) -> aws_sdk_iam::config::retry::RetryAction {
        use aws_sdk_iam::config::retry::RetryAction;
        let Some(Err(e)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let mut next: Option<&(dyn std::error::Error + 'static)> = e
            .as_connector_error()
            .map(|c| c as &(dyn std::error::Error + 'static));
        while let Some(err) = next {
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
            {
                return RetryAction::RetryForbidden;
            }
            next = err.source();
        }
        RetryAction::NoActionIndicated
    }

    fn name(&self) -> &'static str {
        "keyless: a refused connection is final"
    }
}

/// Map any SDK error to [`Error::Aws`] with the AWS error code, AWS's own message (never the raw
/// response), and a hint. Transport errors keep their whole source chain ("connection refused").
pub fn sdk_error<E, R>(op: &str, e: aws_sdk_sts::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    let (code, message) = match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown").to_string();
            let message = se
                .err()
                .message()
                .map(String::from)
                .unwrap_or_else(|| code.clone());
            (code, message)
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            ("dispatch failure".to_string(), sdk_chain(&e))
        }
        SdkError::ConstructionFailure(_) => ("construction failure".to_string(), sdk_chain(&e)),
        _ => ("error".to_string(), sdk_chain(&e)),
    };
    if message.contains("no providers in chain provided credentials")
        || message.contains("the credential provider was not enabled")
        || message.contains("error occurred while loading credentials")
    {
        return Error::Aws {
            op: op.into(),
            code: "NoCredentials".into(),
            message: "no AWS credentials found".into(),
            hint: Some("set AWS_PROFILE or --profile, run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()),
        };
    }
    let hint = match code.as_str() {
        "dispatch failure" if message.contains("Connection refused") => Some(
            "nothing accepts connections at the endpoint: check --endpoint-url (AWS_ENDPOINT_URL), or start the service it names",
        ),
        "dispatch failure" => Some(
            "could not reach AWS: check the network, --region and --endpoint-url (AWS_ENDPOINT_URL)",
        ),
        "construction failure" => {
            Some("no region or credentials: set --region (or AWS_REGION) and a profile")
        }
        c => hint_for(c, &message),
    };
    Error::Aws {
        op: op.into(),
        code,
        message,
        hint: hint.map(String::from),
    }
}
