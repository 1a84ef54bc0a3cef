//! Commands that change IAM: plan (read-only preview), apply and destroy. The session plans and
//! executes; these decide what to show, ask before writing, and build the reports.

use keyless::emit;
use keyless::error::{Error, Result};

use crate::app::args::{ApplyArgs, Format, PlanArgs};
use crate::app::commands::verify::{VerifyOptions, verify_role};
use crate::app::exit::ExitStatus;
use crate::app::report::apply::{ApplyReport, RoleWiring};
use crate::app::report::plan::PlanReport;
use crate::app::report::show;
use crate::app::session::{Planned, Session};

/// `keyless plan`
pub fn cmd_plan(s: &Session, args: &PlanArgs) -> Result<ExitStatus> {
    let changed = plan(s)?;
    Ok(ExitStatus::findings_if(args.detailed_exitcode && changed))
}

/// Plan and show the plan; whether there are changes.
pub fn plan(s: &Session) -> Result<bool> {
    let Planned { rendered, plan } = s.plan()?;
    show(&s.printer, s.format, &PlanReport::new(&plan, &rendered));
    Ok(!plan.is_empty())
}

/// `keyless apply`
pub fn cmd_apply(s: &Session, args: &ApplyArgs) -> Result<ExitStatus> {
    apply(s, args.yes, args.verify)
}

/// Plan, confirm (unless `yes`), execute, show what the GitHub side needs; with `verify`, then
/// verify each role this job's token is meant for.
pub fn apply(s: &Session, yes: bool, verify: bool) -> Result<ExitStatus> {
    let Planned { rendered, plan } = s.plan()?;
    let target = &rendered.target;
    if s.format == Format::Human {
        show(&s.printer, s.format, &PlanReport::new(&plan, &rendered));
    }
    let applied = if plan.is_empty() {
        0
    } else {
        let question = format!(
            "Apply these {} change(s) to account {}?",
            plan.changes.len(),
            target.account_id
        );
        if !s.confirm(yes, &question)? {
            s.printer.note("Apply cancelled; nothing was written.");
            return Ok(ExitStatus::Error);
        }
        let outcome = s.execute(&plan)?;
        s.printer
            .note(&format!("Applied {} change(s).", outcome.applied));
        outcome.applied
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
        &ApplyReport::new(PlanReport::new(&plan, &rendered), applied, roles),
    );
    if !verify {
        return Ok(ExitStatus::Success);
    }
    if keyless::token::Source::discover(None, None, &rendered.audiences[0]).is_err() {
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
    let Planned { rendered, plan } = s.plan_destroy()?;
    show(&s.printer, s.format, &PlanReport::new(&plan, &rendered));
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let question = format!(
        "Destroy: make these {} change(s) in account {}?",
        plan.changes.len(),
        rendered.target.account_id
    );
    if !s.confirm(args.yes, &question)? {
        s.printer.note("Destroy cancelled; nothing was deleted.");
        return Ok(ExitStatus::Error);
    }
    let outcome = s.execute(&plan)?;
    s.printer.note(&format!(
        "Destroyed: {} change(s) applied.",
        outcome.applied
    ));
    Ok(ExitStatus::Success)
}
