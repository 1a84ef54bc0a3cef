//! The one module that calls AWS. Everything it returns is plain Rust data or [`Error::Aws`].
//!
//! Credentials and region come from the standard chain (environment, profiles, SSO,
//! `credential_process`, web identity, IMDS), with `--profile`, `--region` and `--endpoint-url`
//! (or `AWS_ENDPOINT_URL`) as the AWS CLI takes them. SDK errors are rendered with their whole
//! source chain, because the SDK's plain `Display` says only "dispatch failure". This module
//! knows nothing about configs, templates or output formats beyond the plain types it reads
//! into and the changes it makes ([`crate::state`]).
//!
//! | module | holds |
//! |---|---|
//! | this file | options, clients, the caller, assume-role and Organizations, error mapping |
//! | [`read`] | reads: providers, roles, policies, the whole account (observe, audit) |
//! | [`write`] | writes: one planned change, and whether an existing entity is already ours |
//! | [`web_identity`] | the web-identity exchange and its classified failures |
//! | [`transport`] | the HTTPS client when `AWS_CA_BUNDLE` names a private CA |
//! | [`last_accessed`] | IAM's last-accessed data, jobs started and polled together |
//! | [`principals`] | a role's or user's grant (its policies' documents) and creation date |
//! | [`cloudtrail`] | CloudTrail event history, paced per Region |
//! | `guard` | Organizations: the guard's resource control policy, read and written |

pub mod cloudtrail;
mod guard;
pub mod last_accessed;
pub mod principals;
mod read;
pub mod transport;
mod web_identity;
mod write;
pub use write::Made;

pub use web_identity::{
    ExchangeError, ExchangeErrorKind, WebIdentitySession, assume_with_token, caller_of,
};

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::policy::document::decode_document;
use crate::state::observed::{
    Observed, ObservedPolicy, ObservedProvider, ObservedRole, OtherTags, Others, ReadChoice,
    ReadPath, Reads, choose_read_path, marked_config, version_order,
};
use crate::state::plan::{Change, Existing, confirm_existing, preset_policy_arn, roles_trusting};
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
    /// CloudTrail's configuration; a client per Region is built from it when read.
    cloudtrail: aws_sdk_cloudtrail::Config,
    /// The account's role listing, kept by [`Aws::list_roles_kept`] for the next observation
    /// of this run (taken once: one observation per run, not a cache).
    listing: std::sync::Arc<std::sync::Mutex<Option<Vec<aws_sdk_iam::types::Role>>>>,
}

impl Aws {
    /// Load configuration from the standard chain with the given overrides (and the HTTPS
    /// client [`transport`] chooses: a private CA bundle, proxies from the environment).
    pub async fn connect(opts: &AwsOptions) -> Result<Aws> {
        // A malformed proxy variable would be ignored without a word: refuse it.
        crate::io::http::proxies_from_env()?;
        // A profile that does not exist: say so, not "no credentials".
        let profile = opts
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
        if let Some(p) = &profile
            && !profile_exists(p).await
        {
            return Err(Error::Aws {
                op: "profile".into(),
                code: "ProfileNotFound".into(),
                message: format!(
                    "profile {p} does not exist in the AWS config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials)"
                ),
                hint: Some(
                    "`aws configure list-profiles` lists the profiles there; pass one of them (--profile or AWS_PROFILE), or unset AWS_PROFILE"
                        .into(),
                ),
            });
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        loader = loader.http_client(transport::http_client()?);
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
        Ok(Aws::from_config(&loader.load().await))
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
        let cloudtrail = aws_sdk_cloudtrail::config::Builder::from(conf)
            .region(region.clone())
            .build();
        let org = aws_sdk_organizations::config::Builder::from(conf).region(region);
        Aws {
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            org: aws_sdk_organizations::Client::from_conf(org.build()),
            cloudtrail,
            listing: Default::default(),
        }
    }

    /// The Region the clients were configured with: the session's, else [`GLOBAL_REGION`]
    /// (the clients are built with [`region_or_global`]).
    pub fn region(&self) -> String {
        self.cloudtrail
            .region()
            .map_or_else(|| GLOBAL_REGION.to_string(), |r| r.to_string())
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
                    .credentials_provider(creds.clone())
                    .build(),
            ),
            cloudtrail: self
                .cloudtrail
                .to_builder()
                .credentials_provider(creds)
                .build(),
            listing: Default::default(),
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
        caller_with(&self.sts).await
    }

    /// GetCallerIdentity with `app/{app_name}` in the user agent, so that CloudTrail's record of
    /// the call says who made it (`keyless keys identify`: the repository's ID).
    pub async fn identify(&self, app_name: &str) -> Result<CallerIdentity> {
        let app = aws_types::app_name::AppName::new(app_name.to_string())
            .map_err(|e| internal(format!("app name {app_name:?}: {e}")))?;
        let conf = self.sts.config().to_builder().app_name(app).build();
        caller_with(&aws_sdk_sts::Client::from_conf(conf)).await
    }
}

/// STS GetCallerIdentity through `sts`, as a [`CallerIdentity`].
async fn caller_with(sts: &aws_sdk_sts::Client) -> Result<CallerIdentity> {
    let out = sts
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

/// STS and IAM are global: a client with no region from any source uses this one.
const GLOBAL_REGION: &str = "us-east-1";

/// The region of a loaded configuration, or [`GLOBAL_REGION`] when nothing named one.
fn region_or_global(conf: &aws_config::SdkConfig) -> aws_config::Region {
    conf.region()
        .cloned()
        .unwrap_or_else(|| aws_config::Region::new(GLOBAL_REGION))
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

fn not_found<E: ProvideErrorMetadata, R>(e: &aws_sdk_iam::error::SdkError<E, R>) -> bool {
    e.code() == Some("NoSuchEntity")
}

/// A delete that finds nothing to delete has done its job (IAM deletes are not idempotent).
fn gone_ok<T, E>(
    op: &str,
    r: std::result::Result<
        T,
        aws_sdk_iam::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
    >,
) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
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
pub(super) fn policy_from_details(
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

/// Does the AWS config or credentials file define profile `name`? Read with the SDK's own
/// profile loader (the files AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name, else
/// `~/.aws/`); a file that cannot be read or parsed defines nothing.
async fn profile_exists(name: &str) -> bool {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    match aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await {
        Ok(set) => set.get_profile(name).is_some(),
        Err(_) => false,
    }
}

/// `secs` (Unix time) as RFC 3339, the way AWS writes times (the SDK's own formatter: the
/// binary names no SDK type).
pub fn rfc3339(secs: i64) -> String {
    aws_sdk_iam::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_iam::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// Map any SDK error to [`Error::Aws`] with the AWS error code, AWS's own message (never the raw
/// response), and a hint. Transport errors keep their whole source chain ("connection refused").
pub fn sdk_error<E>(
    op: &str,
    e: aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> Error
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_sts::error::SdkError;
    let (code, message) = match &e {
        SdkError::ServiceError(se) if se.err().code().is_none() => {
            // An answer without AWS's error shape (a proxy, an emulator failing): name the
            // call's HTTP status rather than "Unknown".
            let status = se.raw().status().as_u16();
            (
                format!("HTTP {status}"),
                format!(
                    "the service answered HTTP {status} without an AWS error code{}",
                    se.err()
                        .message()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            )
        }
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
    // An endpoint that is not a URL: say so in one line, never the SDK's request dump.
    if let Some(rest) = message.split("failed to apply endpoint `").nth(1) {
        let endpoint = rest.split('`').next().unwrap_or_default();
        let why = message
            .rsplit(": ")
            .next()
            .filter(|w| !w.contains('{'))
            .unwrap_or("not a URL");
        return Error::Aws {
            op: op.into(),
            code: "InvalidEndpoint".into(),
            message: format!("the endpoint URL {endpoint:?} is not usable: {why}"),
            hint: Some(
                "give a full URL with its scheme, e.g. http://localhost:4566 (AWS_ENDPOINT_URL)"
                    .into(),
            ),
        };
    }
    if message.contains("no providers in chain provided credentials")
        || message.contains("the credential provider was not enabled")
        || message.contains("error occurred while loading credentials")
    {
        return Error::Aws {
            op: op.into(),
            code: "NoCredentials".into(),
            message: "no AWS credentials found".into(),
            hint: Some("choose a profile (AWS_PROFILE), run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()),
        };
    }
    let hint = match code.as_str() {
        "dispatch failure" if message.contains("Connection refused") => Some(
            "nothing accepts connections at the endpoint: check the endpoint URL (AWS_ENDPOINT_URL), or start the service it names",
        ),
        "dispatch failure" => Some(
            "could not reach AWS: check the network, the region (AWS_REGION) and the endpoint URL (AWS_ENDPOINT_URL)",
        ),
        "construction failure" => Some(
            "no region or credentials: set the region (AWS_REGION) and a profile (AWS_PROFILE)",
        ),
        c if c.starts_with("HTTP ") => Some(
            "the endpoint answered something other than AWS's error shape: check the endpoint URL (AWS_ENDPOINT_URL); if it is AWS, the service is failing: retry later",
        ),
        c => hint_for(c, &message),
    };
    // Behind a proxy, a transport failure may be the proxy's: say which one is in use.
    let proxies = crate::io::http::proxies_from_env().unwrap_or_default();
    let hint = match (hint, proxies.first()) {
        (Some(h), Some((var, url))) if code == "dispatch failure" => Some(format!(
            "{h}; requests go through the proxy {url} ({var}): check that it is up and lets AWS through, or list the endpoint in NO_PROXY"
        )),
        (h, _) => h.map(String::from),
    };
    Error::Aws {
        op: op.into(),
        code,
        message,
        hint,
    }
}
