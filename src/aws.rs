//! The one module that calls AWS. Everything it returns is plain Rust data or [`Error::Aws`].
//!
//! Credentials and region come from the standard chain (environment, profiles, SSO,
//! `credential_process`, web identity, IMDS), with `--profile`, `--region` and `--endpoint-url`
//! (or `AWS_ENDPOINT_URL`) as the AWS CLI takes them. SDK errors are rendered with their whole
//! source chain, because the SDK's plain `Display` says only "dispatch failure". This module
//! knows nothing about configs, templates or output formats.

use aws_config::BehaviorVersion;

use crate::error::{Error, Result};

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
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

/// Connected clients.
pub struct Aws {
    sts: aws_sdk_sts::Client,
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
        let conf = loader.load().await;
        let mut sts = aws_sdk_sts::config::Builder::from(&conf);
        if conf.region().is_none() {
            // STS has a global endpoint; without a region the SDK would refuse to build a request.
            sts = sts.region(aws_config::Region::new("us-east-1"));
        }
        Aws {
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
        }
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
        let partition = arn.split(':').nth(1).unwrap_or("aws").to_string();
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_string(),
            arn,
            partition,
        })
    }
}

/// Map any SDK error to [`Error::Aws`] with its code, full message and a hint.
pub fn sdk_error<E, R>(op: &str, e: aws_sdk_sts::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    let message = aws_sdk_sts::error::DisplayErrorContext(&e).to_string();
    let (code, hint) = match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown").to_string();
            let hint = match code.as_str() {
                "ExpiredToken" | "ExpiredTokenException" => {
                    Some("your session expired: refresh it (e.g. `aws sso login`) and run again")
                }
                "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException" => {
                    Some("the access key is unknown or the secret is wrong: check your profile")
                }
                "AccessDenied" | "AccessDeniedException" => {
                    Some("the caller lacks a permission this command needs")
                }
                "Throttling" | "ThrottlingException" => {
                    Some("IAM is rate-limiting this account: wait and run again")
                }
                _ => None,
            };
            (code, hint)
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => (
            "dispatch failure".to_string(),
            Some("could not reach AWS: check the network, --region and --endpoint-url"),
        ),
        SdkError::ConstructionFailure(_) => (
            "construction failure".to_string(),
            Some(
                "no credentials or region found: set AWS_PROFILE or --profile, and --region (see `aws configure`)",
            ),
        ),
        _ => ("error".to_string(), None),
    };
    let message = if message.contains("no providers in chain provided credentials")
        || message.contains("the credential provider was not enabled")
    {
        return Error::Aws { op: op.into(), code: "NoCredentials".into(), message, hint: Some("no AWS credentials found: set AWS_PROFILE / --profile, run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()) };
    } else {
        message
    };
    Error::Aws {
        op: op.into(),
        code,
        message,
        hint: hint.map(String::from),
    }
}
