//! `guard`: the organisation's resource control policy, planned, applied, checked and removed
//! through AWS Organizations, with a dry run over every account of the targets (reached with the
//! same assumed role as `[accounts]`) that says which GitHub-trusting roles the guard would break.
//! Runs with the management account's (or a delegated administrator's) credentials.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::config::guard::{Guard, TargetKind, target_kind};
use crate::error::{Error, Result};
use crate::identity::subject::SubjectSpec;
use crate::io::aws::Aws;
use crate::io::github::GitHub;
use crate::state::guard::{self, GuardPlan, ObservedGuard, RoleImpact};

/// How the dry run reaches each account of the targets.
#[derive(Debug, Clone)]
pub struct Reach {
    /// The role (name or path/name) to assume in each account.
    pub role: String,
    /// Its external ID, if its trust asks for one.
    pub external_id: Option<String>,
    /// The caller's partition.
    pub partition: String,
    /// The caller's account (read with the caller's own clients).
    pub caller_account: String,
}

/// A guard plan and its dry run.
#[derive(Debug, Clone)]
pub struct GuardRun {
    /// The plan.
    pub plan: GuardPlan,
    /// What Organizations holds.
    pub observed: ObservedGuard,
    /// Every GitHub-trusting role in the targets' accounts (and the management account's).
    pub impacts: Vec<RoleImpact>,
    /// Accounts the dry run could not read, with why.
    pub unread: Vec<(String, String)>,
    /// Accounts the dry run covered.
    pub accounts: Vec<String>,
}

/// Plan the guard; with `reach`, also the dry run. `known` maps GitHub owner logins
/// (lower-case) to their IDs, so classic subjects can be judged.
pub async fn plan(
    aws: &Aws,
    g: &Guard,
    config: &str,
    reach: Option<&Reach>,
    known: &BTreeMap<String, String>,
    gh: Option<&GitHub>,
) -> Result<GuardRun> {
    let observed = aws.read_guard(&g.name, &g.targets).await?;
    let plan = guard::plan(g, config, &observed);
    let mut run = GuardRun {
        plan,
        observed,
        impacts: Vec::new(),
        unread: Vec::new(),
        accounts: Vec::new(),
    };
    let Some(reach) = reach else {
        return Ok(run);
    };
    // The targets' accounts, read together; then every account's roles, at most 16 at once.
    let listed = futures_util::future::join_all(g.targets.iter().map(|t| async move {
        match target_kind(t) {
            Some(TargetKind::Account) => Ok(vec![t.clone()]),
            _ => aws.accounts_in(t).await,
        }
    }))
    .await;
    let mut accounts = Vec::new();
    for l in listed {
        accounts.extend(l?);
    }
    let management = run.observed.management_account.clone();
    accounts.push(management.clone());
    let mut seen = std::collections::BTreeSet::new();
    accounts.retain(|a| seen.insert(a.clone()));
    let read = crate::ops::accounts::each(accounts.iter().cloned(), 16, |account| async move {
        let view = if account == reach.caller_account {
            aws.audit_view().await
        } else {
            let arn = format!(
                "arn:{}:iam::{account}:role/{}",
                reach.partition,
                reach.role.trim_start_matches('/')
            );
            match aws.assume_role(&arn, reach.external_id.as_deref()).await {
                Ok((member, _)) => member.audit_view().await,
                Err(e) => Err(e),
            }
        };
        (account, view)
    })
    .await;
    let mut views = Vec::new();
    for (account, view) in read {
        match view {
            Ok(view) => views.push((account, view)),
            Err(e) => run.unread.push((account, e.to_string())),
        }
    }
    // Owners the roles name only by login: GitHub says their IDs (through a repository of
    // theirs the trust names), so the dry run judges them instead of calling them unknown.
    let mut known = known.clone();
    if let Some(gh) = gh {
        let mut repos: Vec<String> = views
            .iter()
            .flat_map(|(_, v)| crate::state::audit::classic_repos(v).into_keys())
            .filter(|full| {
                full.split_once('/')
                    .is_some_and(|(o, _)| !known.contains_key(&o.to_ascii_lowercase()))
            })
            .collect();
        repos.sort();
        repos.dedup();
        for full in repos {
            let owner = full.split_once('/').map(|(o, _)| o.to_ascii_lowercase());
            if owner.as_ref().is_some_and(|o| known.contains_key(o)) {
                continue;
            }
            if let Ok(info) = gh.repository(&full).await
                && let Some(owner) = owner
            {
                known.insert(owner, info.owner_id.to_string());
            }
        }
    }
    for (account, view) in &views {
        for role in &view.roles {
            run.impacts.push(guard::impact(
                g,
                account,
                &role.name,
                &role.trust_policy,
                &known,
                *account != management,
            ));
        }
    }
    run.accounts = accounts;
    Ok(run)
}

/// The plan that removes this config's guard (detach from every target, then delete), from what
/// Organizations holds now; no dry run (removing a guard breaks no role).
pub async fn plan_destroy(aws: &Aws, g: &Guard, config: &str) -> Result<GuardRun> {
    let mut run = plan(aws, g, config, None, &BTreeMap::new(), None).await?;
    run.plan = guard::plan_destroy(&g.name, config, &run.observed);
    Ok(run)
}

/// Owner logins (lower-case) and their IDs, from the config's subjects and, with a GitHub
/// client, GitHub's answer for each repository (a repository GitHub does not answer for adds
/// nothing: the dry run then judges its classic subjects as unknown).
pub async fn known_owners(cfg: &Config, gh: Option<&GitHub>) -> BTreeMap<String, String> {
    let mut known = BTreeMap::new();
    let mut repos = Vec::new();
    for role in &cfg.roles {
        for sub in &role.subjects {
            if let SubjectSpec::Repo { repo, .. } = &sub.spec {
                if let Some(id) = &repo.owner_id {
                    known.insert(repo.owner.to_ascii_lowercase(), id.clone());
                }
                repos.push(repo.full_name());
            }
        }
    }
    if let Some(gh) = gh {
        repos.sort();
        repos.dedup();
        for full in repos {
            if let Ok(info) = gh.repository(&full).await
                && let Some((owner, _)) = info.full_name.split_once('/')
            {
                known.insert(owner.to_ascii_lowercase(), info.owner_id.to_string());
            }
        }
    }
    known
}

/// Make a plan's changes in order. Refuses a plan with refusals; a failure part-way says how
/// far it got, and the next run re-reads Organizations and converges.
pub async fn apply(aws: &Aws, plan: &GuardPlan) -> Result<usize> {
    if !plan.refusals.is_empty() {
        return Err(Error::Refused(plan.refusals.clone()));
    }
    let mut created = None;
    for (done, change) in plan.changes.iter().enumerate() {
        if let Err(e) = aws.guard_change(change, &mut created).await {
            return Err(Error::Partial {
                change: change.describe(&plan.name),
                api: format!("organizations:{}", change.api()),
                done,
                total: plan.changes.len(),
                source: Box::new(e),
                earlier: 0,
            });
        }
    }
    Ok(plan.changes.len())
}
