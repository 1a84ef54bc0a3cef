//! `guard`: the organisation's resource control policy, planned, applied, checked and removed
//! through AWS Organizations, with a dry run over every account of the targets (reached with the
//! same assumed role as `[accounts]`) that says which GitHub-trusting roles the guard would break.
//! Runs with the management account's (or a delegated administrator's) credentials.

use std::collections::BTreeMap;

use crate::config::guard::{Guard, TargetKind, target_kind};
use crate::error::{Error, Result};
use crate::io::aws::Aws;
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
    let mut accounts = Vec::new();
    for t in &g.targets {
        match target_kind(t) {
            Some(TargetKind::Account) => accounts.push(t.clone()),
            _ => accounts.extend(aws.accounts_in(t).await?),
        }
    }
    let management = run.observed.management_account.clone();
    accounts.push(management.clone());
    let mut seen = std::collections::BTreeSet::new();
    accounts.retain(|a| seen.insert(a.clone()));
    for account in &accounts {
        let view = if *account == reach.caller_account {
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
        match view {
            Ok(view) => {
                for role in &view.roles {
                    run.impacts.push(guard::impact(
                        g,
                        account,
                        &role.name,
                        &role.trust_policy,
                        known,
                        *account != management,
                    ));
                }
            }
            Err(e) => run.unread.push((account.clone(), e.to_string())),
        }
    }
    run.accounts = accounts;
    Ok(run)
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
