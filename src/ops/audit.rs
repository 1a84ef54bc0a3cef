//! `audit` in one account: every role that trusts a GitHub issuer, judged; with GitHub's word
//! on the repositories classic subjects name, when GitHub is read. Read-only by construction.
//! Needs no config; with one, its claim keys and trust-size quota are the live documents'
//! lint context, in one account or many.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::identity::repository::SubForm;
use crate::io::github::GitHub;
use crate::ops::context::Account;
use crate::policy::lint::Finding;
use crate::state::audit::{self, AccountView, AuditOptions, RepoState};
use crate::state::render;

/// What an audit found in one account.
#[derive(Debug, Clone)]
pub struct Audited {
    /// The account read.
    pub view: AccountView,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
}

/// Read the whole account and judge it.
pub async fn audit(
    account: &Account<'_>,
    config: Option<&Config>,
    opts: &AuditOptions,
) -> Result<Audited> {
    // The account and its organisation's RCPs side by side (one round trip, not two).
    let (view, rcps) = tokio::join!(
        account.aws.audit_view(),
        account.aws.rcps_for(&account.target.account_id)
    );
    let view = view?;
    let lint = render::live_context(config, &account.target);
    let mut findings = audit::audit(&view, &lint, opts);
    // KA006 when these credentials may read the organisation's RCPs (the management account or
    // a delegated administrator); otherwise nothing is said about the guard.
    if !view.roles.is_empty()
        && let Ok(rcps) = rcps
        && let Some(f) = audit::unguarded(&view, rcps.as_deref(), &account.target.account_id)
    {
        findings.push(f);
        audit::sort(&mut findings);
    }
    if let Some(gh) = account.github {
        let repos: Vec<String> = audit::classic_repos(&view).into_keys().collect();
        let states = repo_states(gh, &repos, account.settings.concurrency).await?;
        findings.extend(audit::repo_findings(&view, &states));
        audit::sort(&mut findings);
    }
    Ok(Audited { view, findings })
}

/// What GitHub says about each repository, `concurrency` requests at a time.
async fn repo_states(
    gh: &GitHub,
    repos: &[String],
    concurrency: usize,
) -> Result<BTreeMap<String, RepoState>> {
    let answers: Vec<_> = futures_util::stream::iter(repos.iter().map(|full| async move {
        let answer = match gh.repository(full).await {
            // What it mints: a classic trust for an immutable-minting repository denies all.
            Ok(info) if info.moved_from.is_none() => gh
                .subject_settings(&info.full_name)
                .await
                .map(|s| (info, Some(s))),
            other => other.map(|info| (info, None)),
        };
        (full.clone(), answer)
    }))
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    let mut out = BTreeMap::new();
    for (full, answer) in answers {
        let state = match answer {
            Ok((info, _)) if info.moved_from.is_some() => RepoState::Moved(info.full_name),
            Ok((_, Some(s))) if s.form() == SubForm::Immutable => RepoState::MintsImmutable,
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
