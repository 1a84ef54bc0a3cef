//! `keyless keys` (read-only inventory of stored keys, through `keyless::ops::keys`) and
//! `keyless keys identify` (one GetCallerIdentity a workflow runs with its stored secrets, so
//! CloudTrail records which repository holds the key).

use keyless::error::{Error, Result};
use keyless::ops::keys::{self, Options, Scope};
use keyless::policy::lint::Severity;
use keyless::state::keys::IDENTIFY_AGENT;

use crate::app::args::{KeysAction, KeysArgs};
use crate::app::exit::ExitStatus;
use crate::app::report::keys::KeysReport;
use crate::app::report::{Report, show};
use crate::app::session::{Need, Runs, Session};
use crate::app::style;
use keyless::artifacts::trust_map::{MapAccount, Source};
use keyless::state::audit::{AccountView, AuditedRole};
use std::collections::BTreeMap;

/// `keyless keys`
pub fn cmd_keys(s: &Session, args: &KeysArgs) -> Result<ExitStatus> {
    if let Some(KeysAction::Identify { repo_id }) = &args.action {
        return identify(s, *repo_id);
    }
    if args.repos.is_empty() && args.owner.is_none() {
        return Err(Error::usage(
            "keys needs the repositories to read",
            "pass --repo OWNER/REPO (repeatable) or --owner ORG",
        ));
    }
    let gh = s.github().ok_or_else(|| {
        Error::usage(
            "keys reads secrets and workflows on GitHub, and no GitHub token was found",
            "set GH_TOKEN (needs secrets: read and contents: read) or run `gh auth login`",
        )
    })?;
    let opts = Options {
        cloudtrail: !args.no_cloudtrail,
        days: args.days,
        now: keyless::io::token::now(),
        grants: args.html.is_some(),
    };
    let scope = Scope {
        repos: args.repos.clone(),
        owner: args.owner.clone(),
        names: vec![],
    };
    let fail_on: Severity = args.fail_on.into();
    // GitHub's side once; each account of `[accounts]` (or the caller's) linked against it.
    let side = s.block_on(keys::github_side(gh, &scope, &opts))?;
    if s.config_if_present()?.is_some() && s.is_many()? {
        let Runs::Many(runs) = s.in_accounts(Need::Caller, async |ctx| {
            keys::account_side(&ctx.account, &side, &opts).await
        })?
        else {
            return Err(Error::usage("no accounts to read", "check [accounts]"));
        };
        let mut worst = ExitStatus::Success;
        let mut reports = Vec::new();
        for r in runs {
            match r.result {
                Ok((_, inv)) => {
                    let report = KeysReport::new(&inv, r.account_id.clone(), fail_on);
                    if report.failing && worst == ExitStatus::Success {
                        worst = ExitStatus::Findings;
                    }
                    reports.push(serde_json::to_value(&report).unwrap_or_default());
                    if !matches!(s.format, crate::app::args::Format::Json) {
                        s.printer.out(&format!(
                            "{} {}\n{}",
                            style::bold("account"),
                            r.account_id,
                            report.human()
                        ));
                    }
                }
                Err(e) => {
                    worst = ExitStatus::Error;
                    s.printer.error(&format!("account {}: {e}", r.account_id));
                    reports.push(
                        serde_json::json!({"account_id": r.account_id, "error": e.to_string()}),
                    );
                }
            }
        }
        if matches!(s.format, crate::app::args::Format::Json) {
            s.printer.json(&serde_json::json!({
                "format_version": crate::app::report::FORMAT_VERSION,
                "accounts": reports,
            }));
        }
        return Ok(worst);
    }
    let account = s.account(Need::Caller)?;
    let inv = s.block_on(keys::account_side(&account, &side, &opts))?;
    let report = KeysReport::new(&inv, account.target.account_id.clone(), fail_on);
    if let Some(path) = &args.html {
        crate::app::files::write_map(
            path,
            "keyless keys",
            &format!("account {}: stored keys", account.target.account_id),
            &[keys_map(&inv, &account.target.account_id)],
        )?;
    }
    if let Some(path) = &args.sarif {
        let log = crate::app::report::audit::sarif(&report.findings, |f| report.locate(f));
        let text = serde_json::to_string_pretty(&log).unwrap_or_default() + "\n";
        crate::app::files::write(path, &text)?;
    }
    show(&s.printer, s.format, &report);
    Ok(ExitStatus::findings_if(report.failing))
}

/// `keyless keys identify`
fn identify(s: &Session, repo_id: Option<u64>) -> Result<ExitStatus> {
    let id = repo_id
        .or_else(|| {
            std::env::var("GITHUB_REPOSITORY_ID")
                .ok()
                .and_then(|v| v.parse().ok())
        })
        .ok_or_else(|| {
            Error::usage(
                "keys identify names the repository by its ID, and GITHUB_REPOSITORY_ID is not set",
                "run it in a GitHub Actions job (which sets GITHUB_REPOSITORY_ID), or pass --repo-id",
            )
        })?;
    let aws = s.aws()?;
    let caller = s.block_on(aws.identify(&format!("{IDENTIFY_AGENT}{id}")))?;
    // The key's ID is an identifier, not a secret; the secret is never read here.
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default();
    let repo = std::env::var("GITHUB_REPOSITORY").unwrap_or_default();
    match s.format {
        crate::app::args::Format::Json => s.printer.json(&serde_json::json!({
            "format_version": crate::app::report::FORMAT_VERSION,
            "user_arn": caller.arn,
            "access_key_id": key,
            "repository_id": id,
            "repository": repo,
        })),
        _ => s.printer.out(&format!(
            "{} {}\naccess key {}\nrecorded in CloudTrail for repository {} (ID {id}): `keyless keys` links the key to it",
            style::bold("identity"),
            caller.arn,
            if key.is_empty() { "(not from the environment)" } else { key.as_str() },
            if repo.is_empty() { "?" } else { repo.as_str() },
        )),
    }
    Ok(ExitStatus::Success)
}

/// The trust map of stored keys: each IAM user with a key, reached from the repositories the
/// evidence names (or "GitHub Actions" when the repository is not known), with what its
/// policies allow.
fn keys_map(inv: &keys::Inventory, account: &str) -> MapAccount {
    use keyless::state::keys::Certainty;
    let mut roles = Vec::new();
    let mut stored: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    for k in &inv.keys {
        let Some(link) = inv.links.iter().find(|l| l.key_id == k.key_id) else {
            continue;
        };
        let how = match link.certainty {
            Certainty::Identified => "identified",
            Certainty::Tagged => "tagged",
            Certainty::GitHubOnly => "used from GitHub Actions",
            Certainty::None => continue,
        };
        let entry = stored.entry(k.user.clone()).or_default();
        if link.repos.is_empty() {
            entry.push(Source::stored_key(
                "GitHub Actions (repository not known)",
                how,
            ));
        }
        for r in &link.repos {
            entry.push(Source::stored_key(r, &format!("{how}, key {}", k.key_id)));
        }
        if !roles.iter().any(|r: &AuditedRole| r.name == k.user) {
            roles.push(AuditedRole {
                name: k.user.clone(),
                arn: k.user_arn.clone(),
                inline_policies: inv
                    .grants
                    .get(&k.user)
                    .map(|g| g.iter().cloned().collect())
                    .unwrap_or_default(),
                ..AuditedRole::default()
            });
        }
    }
    MapAccount {
        account: account.to_string(),
        view: AccountView {
            providers: vec![],
            roles,
        },
        findings: inv.findings.clone(),
        guarded: None,
        used: Default::default(),
        stored,
    }
}
