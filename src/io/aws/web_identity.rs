//! The web-identity exchange as `verify` makes it (AssumeRoleWithWebIdentity with no
//! credentials of its own), and its failures classified so the caller can say what to fix.

use super::*;

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

async fn anonymous_config(opts: &AwsOptions) -> aws_config::SdkConfig {
    // The standard region chain (AWS_REGION, the profile), unless --region or the config named one.
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).no_credentials();
    // A bundle that cannot be read was already reported by `Aws::connect`; the exchange then
    // keeps the SDK's default client rather than fail a second way.
    if let Ok(client) = super::transport::http_client() {
        loader = loader.http_client(client);
    }
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
                "could not reach STS: check the network, the region and the endpoint URL (AWS_REGION, AWS_ENDPOINT_URL)"
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
