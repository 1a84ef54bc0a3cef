//! `keyless guard plan|apply|check|destroy`: the organisation's resource control policy, run
//! with the management account's (or a delegated administrator's) credentials. The binary
//! resolves the config, the caller and the known owner IDs; `keyless::ops::guard` does the rest.

use keyless::config::accounts;
use keyless::error::{Error, Result};
use keyless::ops::guard::{self as ops_guard, Reach};
use keyless::state::guard as state_guard;

use crate::app::args::{GuardAction, GuardArgs};
use crate::app::exit::ExitStatus;
use crate::app::report::guard::{GuardReport, at_risk};
use crate::app::report::{FORMAT_VERSION, show};
use crate::app::session::{Scope, Session};

/// `keyless guard`
pub fn cmd_guard(s: &Session, args: &GuardArgs) -> Result<ExitStatus> {
    let cfg = s.config()?;
    let caller = s.caller()?;
    let g = s.guard(&caller.partition)?;
    let aws = s.aws()?;
    // The dry run reaches each account with `[accounts]`'s role, as a run across accounts does.
    let fleet = match s.scope()? {
        Scope::Many { accounts, .. } => Some(accounts),
        Scope::One => None,
    };
    let reach = Reach {
        role: fleet
            .as_ref()
            .map(|a| a.role.clone())
            .unwrap_or_else(|| accounts::DEFAULT_ROLE.into()),
        external_id: fleet.as_ref().and_then(|a| a.external_id.clone()),
        partition: caller.partition.clone(),
        caller_account: caller.account.clone(),
    };
    let dry_run = matches!(args.action, GuardAction::Plan | GuardAction::Apply) && !args.no_dry_run;
    let run = match args.action {
        GuardAction::Destroy => s.block_on(ops_guard::plan_destroy(&aws, &g, &cfg.name))?,
        _ => {
            let known = s.block_on(ops_guard::known_owners(cfg, s.github()));
            s.block_on(ops_guard::plan(
                &aws,
                &g,
                &cfg.name,
                dry_run.then_some(&reach),
                &known,
                s.github(),
            ))?
        }
    };
    let plan = &run.plan;
    let mut report = GuardReport {
        format_version: FORMAT_VERSION,
        action: match args.action {
            GuardAction::Plan => "plan",
            GuardAction::Apply => "apply",
            GuardAction::Check => "check",
            GuardAction::Destroy => "destroy",
        },
        name: g.name.clone(),
        document: if matches!(args.action, GuardAction::Destroy) {
            serde_json::Value::Null
        } else {
            plan.document.clone()
        },
        size: plan.size,
        size_quota: state_guard::SIZE_QUOTA,
        changes: plan.changes.clone(),
        refusals: plan.refusals.clone(),
        notes: plan.notes.clone(),
        at_risk: at_risk(&run.impacts),
        roles: run.impacts.clone(),
        accounts: run.accounts.clone(),
        unread: run.unread.clone(),
        applied: 0,
    };
    match args.action {
        GuardAction::Plan => {
            show(&s.printer, s.format, &report);
            Ok(ExitStatus::findings_if(!plan.refusals.is_empty()))
        }
        GuardAction::Check => {
            show(&s.printer, s.format, &report);
            Ok(ExitStatus::findings_if(
                !plan.changes.is_empty() || !plan.refusals.is_empty(),
            ))
        }
        GuardAction::Apply | GuardAction::Destroy => {
            if !plan.refusals.is_empty() {
                show(&s.printer, s.format, &report);
                return Err(Error::Refused(plan.refusals.clone()));
            }
            if plan.changes.is_empty() {
                show(&s.printer, s.format, &report);
                return Ok(ExitStatus::Success);
            }
            if !args.yes {
                // Show what will happen, the dry run included, before asking.
                show(&s.printer, s.format, &report);
            }
            let question = match args.action {
                GuardAction::Destroy => format!("Detach and delete {}?", g.name),
                _ => format!(
                    "Make these {} change(s) to AWS Organizations?",
                    plan.changes.len()
                ),
            };
            if !s.confirm_reviewed(args.yes, &question, "keyless guard plan")? {
                return Ok(ExitStatus::Success);
            }
            report.applied = s.block_on(ops_guard::apply(&aws, plan))?;
            show(&s.printer, s.format, &report);
            Ok(ExitStatus::Success)
        }
    }
}
