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
use crate::ops::usage::Options as UsageOptions;
use crate::policy::grant::broad_entries;
use crate::policy::lint::Finding;
use crate::policy::usage::compare;
use crate::state::audit::{self, AccountView, AuditOptions, RepoState};
use crate::state::observed::owned;
use crate::state::render;
use crate::state::tighten;

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
    audit_with(account, config, opts, None).await
}

/// [`audit`], and with `usage`, the records of every hand-made GitHub role read
/// ([`crate::ops::usage`]): KA008 for a grant far wider than its use.
pub async fn audit_with(
    account: &Account<'_>,
    config: Option<&Config>,
    opts: &AuditOptions,
    usage: Option<&UsageOptions>,
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
    if let Some(u) = usage {
        findings.extend(wider_than_use(account, &view, u, opts.now).await?);
        audit::sort(&mut findings);
    }
    Ok(Audited { view, findings })
}

/// KA008 for each hand-made GitHub role whose grant is far wider than its records show used.
async fn wider_than_use(
    account: &Account<'_>,
    view: &AccountView,
    opts: &UsageOptions,
    now: i64,
) -> Result<Vec<Finding>> {
    let hand_made: Vec<_> = view.roles.iter().filter(|r| !owned(&r.tags)).collect();
    if hand_made.is_empty() {
        return Ok(vec![]);
    }
    let principals: Vec<(String, Option<i64>)> = hand_made
        .iter()
        .map(|r| (r.arn.clone(), r.created))
        .collect();
    let home = account.aws.region();
    let (usages, _) = crate::ops::usage::read(
        &account.aws,
        &principals,
        &home,
        &account.target.partition,
        opts,
        &|_| {},
    )
    .await?;
    let mut out = Vec::new();
    for (role, usage) in hand_made.iter().zip(usages) {
        let docs: Vec<&serde_json::Value> = role
            .inline_policies
            .values()
            .chain(role.managed_documents.values())
            .collect();
        let rows = compare(&docs, &usage);
        let mut broad = broad_entries(&docs);
        // An AWS-managed administrator policy grants everything too.
        if role
            .attached_policies
            .iter()
            .any(|a| a.ends_with(":policy/AdministratorAccess"))
        {
            broad.push("AdministratorAccess".into());
        }
        let days = crate::ops::usage::days_covered(role.created, opts.window_days, now);
        if let Some(f) = tighten::wider_than_use(&role.name, &rows, &broad, days) {
            out.push(f);
        }
    }
    Ok(out)
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
