//! Commands that change IAM: plan (read-only preview), apply and destroy. The session plans and
//! executes; these decide what to show, ask before writing, and build the reports.

use keyless::state::emit;
use keyless::error::{Error, Result};

use crate::app::args::{ApplyArgs, Format, PlanArgs};
use crate::app::commands::fleet::{self, Work};
use crate::app::commands::verify::{VerifyOptions, verify_role};
use crate::app::exit::ExitStatus;
use crate::app::report::apply::{ApplyReport, RoleWiring};
use crate::app::report::plan::PlanReport;
use crate::app::report::show;
use crate::app::session::{Planned, Session};

/// `keyless plan`
pub fn cmd_plan(s: &Session, args: &PlanArgs) -> Result<ExitStatus> {
    if let Some((accounts, text)) = fleet::accounts_of(s)? {
        let work = Work::Plan {
            detailed: args.detailed_exitcode,
        };
        return fleet::run(s, work, &accounts, &text);
    }
    let changed = plan(s)?;
    Ok(ExitStatus::findings_if(args.detailed_exitcode && changed))
}

/// Plan and show the plan; whether there are changes (IAM or GitHub).
pub fn plan(s: &Session) -> Result<bool> {
    let planned = s.plan()?;
    show(&s.printer, s.format, &report(&planned));
    Ok(!planned.is_empty())
}

fn report(p: &Planned) -> PlanReport<'_> {
    PlanReport::new(&p.plan, &p.rendered, p.github.as_ref())
}

/// `keyless apply`
pub fn cmd_apply(s: &Session, args: &ApplyArgs) -> Result<ExitStatus> {
    if let Some((accounts, text)) = fleet::accounts_of(s)? {
        if args.verify {
            return Err(Error::usage(
                "--verify runs in one account; the config names several ([accounts])",
                "apply without --verify, then `keyless verify` in the account to prove",
            ));
        }
        return fleet::run(s, Work::Apply { yes: args.yes }, &accounts, &text);
    }
    apply(s, args.yes, args.verify)
}

/// Plan, confirm (unless `yes`), execute, show what the GitHub side needs; with `verify`, then
/// verify each role this job's token is meant for.
pub fn apply(s: &Session, yes: bool, verify: bool) -> Result<ExitStatus> {
    let planned = s.plan()?;
    let (rendered, plan) = (&planned.rendered, &planned.plan);
    let target = &rendered.target;
    if s.format == Format::Human {
        show(&s.printer, s.format, &report(&planned));
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
        let outcome = s.execute(plan)?;
        let on_github = match &planned.github {
            Some(g) => s.execute_github(g)?,
            None => 0,
        };
        s.printer.note(&format!(
            "Applied {} change(s).",
            outcome.applied + on_github
        ));
        outcome.applied + on_github
    };
    let cfg = s.config()?;
    let mut roles = Vec::new();
    for role in &cfg.roles {
        let variable = emit::variable(cfg, role, target);
        let ctx = emit::workflow_context(cfg, role, &target.partition);
        roles.push(RoleWiring {
            name: role.name.clone(),
            arn: variable.value.clone(),
            variable,
            workflow: emit::workflow(s.templates()?, &ctx)?,
        });
    }
    show(
        &s.printer,
        s.format,
        &ApplyReport::new(report(&planned), applied, roles, planned.github.is_some()),
    );
    if !verify {
        return Ok(ExitStatus::Success);
    }
    if keyless::io::token::Source::discover(None, None, &rendered.audiences[0]).is_err() {
        s.printer.note("--verify: no token source (not inside GitHub Actions and no AWS_WEB_IDENTITY_TOKEN_FILE); skipped");
        return Ok(ExitStatus::Success);
    }
    let options = VerifyOptions::after_apply();
    let mut worst = ExitStatus::Success;
    for role in &cfg.roles {
        worst = worst.max(verify_role(s, role, &options)?);
    }
    Ok(worst)
}

/// `keyless destroy`
pub fn cmd_destroy(s: &Session, args: &ApplyArgs) -> Result<ExitStatus> {
    if args.verify {
        return Err(Error::usage(
            "--verify applies to `apply` only",
            "drop --verify",
        ));
    }
    if let Some((accounts, text)) = fleet::accounts_of(s)? {
        return fleet::run(s, Work::Destroy { yes: args.yes }, &accounts, &text);
    }
    let planned = s.plan_destroy()?;
    show(&s.printer, s.format, &report(&planned));
    if planned.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let question = format!(
        "Destroy: make these {} change(s) in account {}?",
        planned.len(),
        planned.rendered.target.account_id
    );
    if !s.confirm(args.yes, &question)? {
        s.printer.note("Destroy cancelled; nothing was deleted.");
        return Ok(ExitStatus::Error);
    }
    let outcome = s.execute(&planned.plan)?;
    let on_github = match &planned.github {
        Some(g) => s.execute_github(g)?,
        None => 0,
    };
    s.printer.note(&format!(
        "Destroyed: {} change(s) applied.",
        outcome.applied + on_github
    ));
    Ok(ExitStatus::Success)
}
