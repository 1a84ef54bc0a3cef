//! `keyless audit`: read the whole account (no config needed), judge it with the pure
//! [`keyless::state::audit`], show the report. Read-only by construction: it only calls the AWS
//! module's readers.

use std::collections::BTreeMap;

use keyless::state::audit::{self, RepoState};
use keyless::error::{Error, Result};
use keyless::io::github::GitHub;
use keyless::policy::lint::{LintContext, Severity};

use crate::app::args::AuditArgs;
use crate::app::commands::{fleet, show_ci};
use crate::app::exit::ExitStatus;
use crate::app::report::audit::AuditReport;
use crate::app::session::Session;

/// `keyless audit`
pub fn cmd_audit(s: &Session, args: &AuditArgs) -> Result<ExitStatus> {
    let fail_on: Severity = args.fail_on.into();
    // With a config naming several accounts, each of them (audit needs no config otherwise).
    if let Some((accounts, text)) = fleet::accounts_of(s)? {
        let work = fleet::Work::Audit {
            fail_on,
            unused_days: args.unused_days,
        };
        return fleet::run(s, work, &accounts, &text);
    }
    let caller = s.caller()?;
    let aws = s.aws()?;
    let view = s.block_on(aws.audit_view())??;
    let mut ctx = LintContext::new("live");
    ctx.account_id = Some(caller.account.clone());
    ctx.partition = Some(caller.partition.clone());
    let opts = audit::AuditOptions::now(args.unused_days);
    let mut findings = audit::audit(&view, &ctx, &opts);
    // The GitHub half, when a token is at hand: repositories that classic subjects name and that
    // no longer exist or were renamed.
    if let Some(gh) = s.github() {
        let repos: Vec<String> = audit::classic_repos(&view).into_keys().collect();
        let states = s.block_on(repo_states(&gh, &repos, s.concurrency))??;
        findings.extend(audit::repo_findings(&view, &states));
        audit::sort(&mut findings);
    }
    let report = AuditReport::new(&view, &findings, fail_on, caller.account.clone());
    if let Some(path) = &args.sarif {
        let text = serde_json::to_string_pretty(&report.sarif()).unwrap_or_default() + "\n";
        std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    show_ci(s, &report)?;
    Ok(ExitStatus::findings_if(report.failing))
}

/// What GitHub says about each repository, `concurrency` requests at a time.
async fn repo_states(
    gh: &GitHub,
    repos: &[String],
    concurrency: usize,
) -> Result<BTreeMap<String, RepoState>> {
    use futures_util::StreamExt;
    let answers: Vec<_> = futures_util::stream::iter(
        repos
            .iter()
            .map(|full| async move { (full.clone(), gh.repository(full).await) }),
    )
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    let mut out = BTreeMap::new();
    for (full, answer) in answers {
        let state = match answer {
            Ok(info) if info.moved_from.is_some() => RepoState::Moved(info.full_name),
            Ok(_) => RepoState::Present,
            Err(Error::GitHub {
                status: Some(404), ..
            }) => RepoState::Missing,
            Err(e) => return Err(e),
        };
        out.insert(full, state);
    }
    Ok(out)
}
