//! The steps several commands share: plan and show, apply (confirm, execute with a progress
//! bar, show the wiring), destroy, in one account or many. Each asks the session for the
//! accounts, runs `keyless::ops` in each, and hands the outcomes to their reports. `init` and
//! `migrate-subjects` apply through here too, so no command calls another.

use keyless::artifacts::workflow;
use keyless::error::{Error, Result};
use keyless::io::execute::Progress;
use keyless::ops::AccountContext;
use keyless::ops::accounts;
use keyless::ops::provision::{self, Applied, Planned, Step};
use keyless::state::observed::{ReadChoice, ReadPath};
use keyless::state::variable;

use crate::app::args::Format;
use crate::app::exit::ExitStatus;
use crate::app::report::FORMAT_VERSION;
use crate::app::report::apply::{ApplyReport, RoleWiring};
use crate::app::report::documents::{VariableReport, WorkflowReport};
use crate::app::report::fleet::{self, AccountEntry, FleetReport};
use crate::app::report::plan::PlanReport;
use crate::app::report::{error_text, show};
use crate::app::session::{AccountRun, Need, Runs, Session};
use crate::app::verifier::verify_role;
use keyless::config::Role;

fn report(p: &Planned) -> PlanReport<'_> {
    PlanReport::new(&p.plan, &p.rendered, p.github.as_ref())
}

/// `-v`: how IAM was read for `roles` configured roles (role by role, or the whole account).
pub fn note_read(s: &Session, read: &ReadChoice, roles: usize) {
    let how = match read.path {
        ReadPath::PerRole => format!("read {roles} role(s) one by one"),
        ReadPath::Account => format!(
            "read the whole account (ListRoles, GetAccountAuthorizationDetails) for {roles} role(s)"
        ),
    };
    s.printer.debug(&format!("{how}: {}", read.why));
}

/// Plan in each account and show the plan; with `detailed`, changes exit 2.
pub fn plan(s: &Session, detailed: bool) -> Result<ExitStatus> {
    match s.in_accounts(Need::Caller, async |ctx| provision::plan(ctx).await)? {
        Runs::One(_, planned) => {
            note_read(s, &planned.read, planned.rendered.roles.len());
            show(&s.printer, s.format, &report(&planned));
            Ok(ExitStatus::findings_if(detailed && !planned.is_empty()))
        }
        Runs::Many(runs) => {
            let entries = runs
                .iter()
                .map(|r| match &r.result {
                    Ok((_, p)) => AccountEntry::planned(
                        r.account_id.clone(),
                        p,
                        fleet::Command::Plan,
                        detailed,
                        None,
                    ),
                    Err(e) => AccountEntry::failed(r.account_id.clone(), e),
                })
                .collect();
            let report = FleetReport::new(fleet::Command::Plan, entries);
            show(&s.printer, s.format, &report);
            Ok(report.worst)
        }
    }
}

/// Plan, confirm (unless `yes`), execute, show what the GitHub side needs; with `verify`, then
/// verify each role this job's token is meant for (one account only).
pub fn apply(s: &Session, yes: bool, verify: bool) -> Result<ExitStatus> {
    apply_showing(s, yes, verify, true)
}

/// [`apply`] right after the plan was shown and confirmed (init's wizard): the plan is not
/// printed a second time.
pub fn apply_confirmed(s: &Session) -> Result<ExitStatus> {
    apply_showing(s, true, false, false)
}

fn apply_showing(s: &Session, yes: bool, verify: bool, show_plan: bool) -> Result<ExitStatus> {
    if verify && s.is_many()? {
        return Err(Error::usage(
            "--verify runs in one account; the config names several ([accounts])",
            "apply without --verify, then `keyless verify` in the account to prove",
        ));
    }
    match s.in_accounts(Need::Caller, async |ctx| provision::plan(ctx).await)? {
        Runs::One(ctx, planned) => {
            note_read(s, &planned.read, planned.rendered.roles.len());
            apply_one(s, &ctx, &planned, yes, verify, show_plan)
        }
        Runs::Many(runs) => apply_many(s, runs, fleet::Command::Apply, yes),
    }
}

/// Plan the removal, confirm (unless `yes`), execute.
pub fn destroy(s: &Session, yes: bool) -> Result<ExitStatus> {
    match s.in_accounts(Need::Caller, async |ctx| provision::plan_destroy(ctx).await)? {
        Runs::One(ctx, planned) => {
            note_read(s, &planned.read, planned.rendered.roles.len());
            show(&s.printer, s.format, &report(&planned));
            if planned.is_empty() {
                return Ok(ExitStatus::Success);
            }
            let question = format!(
                "Destroy: make these {} change(s) in account {}?",
                planned.len(),
                planned.rendered.target.account_id
            );
            if !s.confirm(yes, &question)? {
                s.printer.note("Destroy cancelled; nothing was deleted.");
                return Ok(ExitStatus::Error);
            }
            let applied = execute(s, &ctx, &planned)?;
            s.printer.note(&format!(
                "Destroyed: {} change(s) applied.",
                applied.total()
            ));
            Ok(ExitStatus::Success)
        }
        Runs::Many(runs) => apply_many(s, runs, fleet::Command::Destroy, yes),
    }
}

fn apply_one(
    s: &Session,
    ctx: &AccountContext<'_>,
    planned: &Planned,
    yes: bool,
    verify: bool,
    show_plan: bool,
) -> Result<ExitStatus> {
    let target = &planned.rendered.target;
    if s.format == Format::Human && show_plan {
        show(&s.printer, s.format, &report(planned));
    }
    let applied = if planned.is_empty() {
        0
    } else {
        let question = format!(
            "Apply these {} change(s) to account {}{}?",
            planned.len(),
            target.account_id,
            if planned
                .github
                .as_ref()
                .is_some_and(|g| !g.changes.is_empty())
            {
                " and GitHub"
            } else {
                ""
            }
        );
        if !s.confirm(yes, &question)? {
            s.printer.note("Apply cancelled; nothing was written.");
            return Ok(ExitStatus::Error);
        }
        let applied = match execute(s, ctx, planned) {
            Ok(a) => a.total(),
            Err(e) => {
                // Under --output json the report still comes, with how far it got and why.
                if s.format == Format::Json {
                    let done = match &e {
                        Error::Partial { done, earlier, .. } => done + earlier,
                        Error::Interrupted { done, .. } => *done,
                        Error::Concurrent { applied, .. } => *applied,
                        _ => 0,
                    };
                    show(
                        &s.printer,
                        s.format,
                        &ApplyReport::failed(report(planned), done, error_text(&e)),
                    );
                }
                return Err(e);
            }
        };
        s.printer.note(&format!("Applied {applied} change(s)."));
        applied
    };
    let cfg = &ctx.config;
    let mut roles = Vec::new();
    for role in &cfg.roles {
        let variable = variable::variable(cfg, role, target);
        let mut wctx = workflow::workflow_context(cfg, role, &target.partition);
        // The GitHub half ran: the variable is set, and the workflow's header says so.
        wctx.variable_set = planned.github.is_some();
        roles.push(RoleWiring {
            name: role.name.clone(),
            arn: variable.value.clone(),
            variable,
            workflow: workflow::workflow(ctx.templates, &wctx)?,
        });
    }
    show(
        &s.printer,
        s.format,
        &ApplyReport::new(report(planned), applied, roles, planned.github.is_some()),
    );
    if !verify {
        return Ok(ExitStatus::Success);
    }
    if keyless::io::token::Source::discover(None, None, &planned.rendered.audiences[0]).is_err() {
        s.printer.note("--verify: no token source (not inside GitHub Actions and no AWS_WEB_IDENTITY_TOKEN_FILE); skipped");
        return Ok(ExitStatus::Success);
    }
    let options = crate::app::verifier::after_apply();
    let mut worst = ExitStatus::Success;
    for role in &s.config()?.roles {
        worst = worst.max(verify_role(s, role, &options)?);
    }
    Ok(worst)
}

/// Apply a plan in one account: a progress bar on a terminal (not with JSON output), `-v`
/// lines per call, Ctrl-C stops between two calls.
fn execute(s: &Session, ctx: &AccountContext<'_>, planned: &Planned) -> Result<Applied> {
    let cancel = s.cancel_flag();
    let bar = s
        .printer
        .progress(planned.plan.changes.len(), s.format != Format::Json);
    let p = s.printer;
    let result = s.block_on(provision::apply(ctx, planned, &cancel, |step| match step {
        Step::Iam(Progress::Start { change, .. }) => {
            bar.set_message(change.address());
            p.debug(&format!("{} {}", change.api(), change.address()));
        }
        Step::Iam(Progress::Done { .. }) => bar.inc(1),
        Step::GitHub(c) => p.debug(&format!("{} {}", c.api(), c.address())),
    }));
    match &result {
        Ok(_) => bar.finish_and_clear(),
        Err(_) => bar.abandon(),
    }
    result
}

/// apply and destroy across accounts: one confirmation for every account's plan, then the
/// writes, `--account-concurrency` accounts at a time.
fn apply_many(
    s: &Session,
    runs: Vec<AccountRun<'_, Planned>>,
    command: fleet::Command,
    yes: bool,
) -> Result<ExitStatus> {
    let mut shown = Vec::new();
    let mut changes = 0;
    for r in &runs {
        if let Ok((_, planned)) = &r.result {
            changes += planned.len();
            shown.push(format!(
                "── account {}\n{}",
                r.account_id,
                crate::app::report::Report::human(&report(planned))
            ));
        }
    }
    let mut applied: Vec<Option<Result<Applied>>> = runs.iter().map(|_| None).collect();
    if changes > 0 {
        s.printer.note(&shown.join("\n"));
        let question = format!(
            "{} these {changes} change(s) in {} account(s)?",
            if command == fleet::Command::Apply {
                "Apply"
            } else {
                "Destroy"
            },
            shown.len()
        );
        if !s.confirm(yes, &question)? {
            return Err(Error::usage(
                "nothing was changed",
                "run again and confirm, or pass --yes",
            ));
        }
        // Ctrl-C stops every account's executor between two calls.
        let cancel = s.cancel_flag();
        let cancel = &*cancel;
        applied = s.block_on(accounts::each(
            &runs,
            s.account_concurrency,
            |r| async move {
                match &r.result {
                    Ok((ctx, planned)) if !planned.is_empty() => {
                        Some(provision::apply(ctx, planned, cancel, |_| {}).await)
                    }
                    _ => None,
                }
            },
        ));
    }
    let entries = runs
        .iter()
        .zip(&applied)
        .map(|(r, applied)| match &r.result {
            Ok((_, p)) => {
                AccountEntry::planned(r.account_id.clone(), p, command, false, applied.as_ref())
            }
            Err(e) => AccountEntry::failed(r.account_id.clone(), e),
        })
        .collect();
    let report = FleetReport::new(command, entries);
    show(&s.printer, s.format, &report);
    Ok(report.worst)
}

/// Show the deploy workflow of `role`.
pub fn show_workflow(s: &Session, role: &Role) -> Result<()> {
    show(&s.printer, s.format, &workflow_report(s, role)?);
    Ok(())
}

/// Show the variable that carries `role`'s ARN and where to set it.
pub fn show_variable(s: &Session, role: &Role) -> Result<()> {
    let target = s.target(Need::Offline)?;
    let report = VariableReport {
        format_version: FORMAT_VERSION,
        variable: variable::variable(s.config()?, role, &target),
    };
    show(&s.printer, s.format, &report);
    Ok(())
}

/// The deploy workflow of `role`.
pub fn workflow_report(s: &Session, role: &Role) -> Result<WorkflowReport> {
    let ctx = workflow::workflow_context(s.config()?, role, &s.offline_partition());
    Ok(WorkflowReport {
        format_version: FORMAT_VERSION,
        role: role.name.clone(),
        path: format!(".github/workflows/deploy-{}.yml", role.name),
        workflow: workflow::workflow(s.templates()?, &ctx)?,
    })
}

/// The config's documents (all roles, or the one named), rendered for [`Need::Offline`].
pub fn render(s: &Session, role: Option<&str>) -> Result<keyless::state::render::Rendered> {
    let keep: Vec<String> = s.roles(role)?.into_iter().map(|r| r.name.clone()).collect();
    let target = s.target(Need::Offline)?;
    let mut r = keyless::state::render::render(s.config()?, s.templates()?, &target)?;
    r.roles.retain(|x| keep.contains(&x.name));
    Ok(r)
}
