//! verify (a real token exchange) and explain (offline evaluation), sharing one explanation.
//! The library does the work (`claims`, `explain`, `exchange`); these gather the inputs, report
//! retries as they happen, and build the reports.

use serde_json::{Map, Value};

use keyless::error::{Error, Result};
use keyless::identity::claims::{Job, JobError};
use keyless::identity::issuer::{self, Issuer};
use keyless::identity::subject::GitHubContext;
use keyless::io::token::{self};
use keyless::policy::document as policy;
use keyless::policy::explain::{self, ProviderFacts};
use keyless::state::render;

use crate::app::args::{ExplainArgs, VerifyArgs};
use crate::app::exit::ExitStatus;
use crate::app::flow;
use crate::app::report::explain::ExplainReport;
use crate::app::report::show;
use crate::app::session::{Need, Session};

use crate::app::verifier::verify_role;

/// `keyless verify`
pub fn cmd_verify(s: &Session, args: &VerifyArgs) -> Result<ExitStatus> {
    let options = crate::app::verifier::options_from_args(args)?;
    let role = s.role(args.role.as_deref())?;
    verify_role(s, role, &options)
}

/// `keyless explain`
pub fn cmd_explain(s: &Session, args: &ExplainArgs) -> Result<ExitStatus> {
    let cfg = if args.policy.is_some() {
        s.config_if_present()?
    } else {
        Some(s.config()?)
    };
    let issuer = cfg
        .map(|c| c.issuer.clone())
        .unwrap_or_else(Issuer::github_com);
    // The trust policy and the provider ARN it is evaluated for.
    let mut duplicates = Vec::new();
    let (trust, provider_arn, partition) = match (&args.policy, cfg) {
        (Some(path), _) => {
            let (trust, arn, partition, dups) = policy_file_trust(path)?;
            duplicates = dups;
            (trust, arn, partition)
        }
        (None, None) => {
            return Err(Error::usage(
                "no config",
                "pass -c keyless.toml or --policy FILE",
            ));
        }
        (None, Some(cfg)) => {
            let role = s.role(args.role.as_deref())?;
            if args.live {
                let target = s.target(Need::Caller)?;
                let aws = s.aws()?;
                let live = s.block_on(aws.read_role(&role.name))?.ok_or_else(|| {
                    Error::usage(
                        format!(
                            "role {} does not exist in account {}",
                            role.name, target.account_id
                        ),
                        "create it with `keyless apply`, or explain the config's policy (drop --live)",
                    )
                })?;
                let arn = cfg
                    .issuer
                    .provider_arn(&target.partition, &target.account_id);
                (live.trust_policy, arn, target.partition)
            } else {
                let rendered = flow::render(s, Some(&role.name))?;
                let doc = rendered
                    .roles
                    .first()
                    .map(|r| r.trust_policy.clone())
                    .unwrap_or_default();
                (doc, rendered.provider_arn, rendered.target.partition)
            }
        }
    };
    let key_prefix = provider_arn
        .split_once(":oidc-provider/")
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| issuer.key_prefix().to_string());
    let kind = Issuer::parse(&format!("https://{key_prefix}"))
        .map(|i| i.kind)
        .unwrap_or(issuer.kind.clone());
    let extra = cfg.map(|c| c.extra_claim_keys.as_slice()).unwrap_or(&[]);
    let supported = issuer::supported_claim_keys(&partition, &kind, extra);
    let claims = match &args.claims {
        Some(path) => claims_file(path)?,
        None => {
            let audience = args
                .audience
                .clone()
                .or_else(|| cfg.map(|c| render::audiences(c, &partition)[0].clone()))
                .unwrap_or_else(|| issuer::default_audience(&partition).to_string());
            described_job(args)
                .claims(&format!("https://{key_prefix}"), &audience, token::now())
                .map_err(job_error)?
        }
    };
    let mut facts = ProviderFacts::default();
    let mut rcp_duplicates = Vec::new();
    for path in &args.rcps {
        let (rcp, dups) = keyless::ops::verify::rcp_file_checked(path)?;
        if !dups.is_empty() {
            rcp_duplicates.push((path.display().to_string(), dups));
        }
        facts.rcps.push(rcp);
    }
    if args.live && args.rcps.is_empty() {
        // The organisation's RCPs for the role's account, when these credentials may read them.
        let account = provider_arn
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_string();
        match s.block_on(s.aws()?.rcps_for(&account)) {
            Ok(rcps) => facts.rcps = rcps.unwrap_or_default(),
            Err(e) => s.printer.debug(&format!(
                "resource control policies not read from AWS Organizations ({e}); pass --rcp FILE to include them"
            )),
        }
    }
    let e = explain::explain(
        &trust,
        &provider_arn,
        &key_prefix,
        &claims,
        &supported,
        &facts,
        token::now(),
    );
    show(&s.printer, s.format, &ExplainReport::new(&e, &claims));
    if !duplicates.is_empty() {
        // KL027: what IAM does with a repeated key is not what this explanation assumed.
        s.printer.note(&format!(
            "{} {}: the policy repeats {}; this explanation used the last value of each, as most JSON parsers do, but IAM may not: fix the policy (keyless lint --policy shows it)",
            crate::app::style::bold("KL027"),
            args.policy.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
            duplicates.join(", ")
        ));
    }
    for (file, dups) in &rcp_duplicates {
        s.printer.note(&format!(
            "{} {file}: the resource control policy repeats {}; this explanation used the last value of each, as most JSON parsers do, but IAM may not: fix the policy (keyless lint --policy shows it)",
            crate::app::style::bold("KL027"),
            dups.join(", ")
        ));
    }
    if e.step == "undecided" {
        // Not a finding: keyless could not answer the question asked.
        return Ok(ExitStatus::Error);
    }
    Ok(ExitStatus::findings_if(
        !e.allowed || !duplicates.is_empty() || !rcp_duplicates.is_empty(),
    ))
}

/// A trust policy file, the OIDC provider ARN it names, that ARN's partition, and the keys the
/// file repeats (KL027).
fn policy_file_trust(path: &std::path::Path) -> Result<(Value, String, String, Vec<String>)> {
    let text = keyless::config::read_capped(path, keyless::config::MAX_CONFIG_BYTES).map_err(
        |source| Error::Io {
            path: path.to_path_buf(),
            source,
        },
    )?;
    let parsed = policy::parse(&text).map_err(|message| Error::Policy {
        what: path.display().to_string(),
        message,
    })?;
    let arn = policy::statements(&parsed.doc)
        .iter()
        .flat_map(|s| {
            policy::strings(s.get("Principal").and_then(|p| p.get("Federated")))
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .find(|a| a.contains(":oidc-provider/"))
        .ok_or_else(|| Error::Policy {
            what: path.display().to_string(),
            message: "no statement names an OIDC provider in Principal.Federated".into(),
        })?;
    let partition = keyless::identity::names::partition_of_arn(&arn).to_string();
    Ok((parsed.doc, arn, partition, parsed.duplicate_keys))
}

/// `--claims FILE`: a JSON object of claims, or a raw token (its payload is decoded; the token
/// itself is never printed).
fn claims_file(path: &std::path::Path) -> Result<Map<String, Value>> {
    let text = keyless::config::read_capped(path, keyless::config::MAX_CONFIG_BYTES).map_err(
        |source| Error::Io {
            path: path.to_path_buf(),
            source,
        },
    )?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        // serde_json stops at 128 levels of nesting: say so rather than "not JSON".
        Err(e) if e.to_string().contains("recursion limit") => Err(Error::usage(
            format!(
                "{}: the JSON is nested deeper than 128 levels, the most keyless reads",
                path.display()
            ),
            "give the token's claims: a flat JSON object of strings, numbers and booleans",
        )),
        _ if text.trim().split('.').count() == 3 => token::Token::parse(text.trim())
            .map(|t| t.claims)
            .map_err(|e| {
                Error::usage(
                    format!("{}: not a readable token ({e})", path.display()),
                    "give the raw token (header.payload.signature) or its decoded payload as JSON",
                )
            }),
        _ => Err(Error::usage(
            format!(
                "{}: neither a JSON object of claims nor a token",
                path.display()
            ),
            "give the decoded token payload, e.g. {\"sub\": \"repo:o/r:ref:refs/heads/main\", \"aud\": \"sts.amazonaws.com\", ...}, or the raw token",
        )),
    }
}

/// The job `explain`'s flags describe.
fn described_job(args: &ExplainArgs) -> Job {
    Job {
        context: GitHubContext {
            repository: args.repo.clone().unwrap_or_default(),
            owner_id: args.owner_id.clone(),
            repo_id: args.repo_id.clone(),
            event_name: args.event.clone(),
            git_ref: args.git_ref.clone(),
            environment: args.environment.clone(),
            immutable: args.immutable,
        },
        job_workflow_ref: args.job_workflow_ref.clone(),
    }
}

/// A bad job description, as the flag to fix.
fn job_error(e: JobError) -> Error {
    match e {
        JobError::Repository(r) => Error::usage(
            format!("--repo {r:?} is not OWNER/REPO"),
            "e.g. --repo octo-org/octo-repo",
        ),
        JobError::Ref(r) => Error::usage(
            format!("--ref {r:?} is not a full ref"),
            "use refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/merge",
        ),
        JobError::MissingIds => Error::usage(
            "the immutable sub needs --owner-id and --repo-id",
            "pass both IDs (gh api repos/OWNER/REPO --jq '.owner.id, .id')",
        ),
    }
}
