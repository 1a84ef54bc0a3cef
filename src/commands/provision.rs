//! Commands that change IAM: plan (read-only preview), apply and destroy, with confirmation,
//! progress and interruption between calls.

use super::*;

fn show_plan(p: &Printer, plan: &keyless::plan::Plan, target: &Target) {
    match p.format {
        Format::Json => p.json(&plan.view(target)),
        Format::Human | Format::Github => {
            for n in &plan.notes {
                p.note(&p.dim(&format!("note: {n}")));
            }
            p.out(&p.plan_text(plan));
        }
    }
}

/// `keyless plan`
pub fn cmd_plan(g: &Global, p: &Printer, args: &crate::cli::PlanArgs) -> Result<ExitStatus> {
    let (_, _, rendered, _, _, plan) = prepare(g, p, false)?;
    show_plan(p, &plan, &rendered.target);
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

fn confirm(args: &crate::cli::ApplyArgs, question: &str) -> Result<bool> {
    if args.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "not asking for confirmation: stdin is not a terminal",
            "review `keyless plan`, then run again with --yes",
        ));
    }
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| Error::usage(format!("confirmation failed: {e}"), "run again with --yes"))
}

fn execute(
    p: &Printer,
    rt: &tokio::runtime::Runtime,
    aws: &Aws,
    plan: &keyless::plan::Plan,
) -> Result<()> {
    let total = plan.changes.len();
    let bar = if p.quiet || !std::io::stderr().is_terminal() || p.format == Format::Json {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            b.set_style(style);
        }
        b
    };
    // Ctrl-C stops between two calls, never in the middle of one.
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    rt.block_on(tokio::task::yield_now());
    for (i, change) in plan.changes.iter().enumerate() {
        rt.block_on(tokio::task::yield_now());
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            bar.abandon();
            return Err(Error::Interrupted { done: i, total });
        }
        bar.set_message(change.address());
        p.debug(&format!("{} {}", change.api(), change.address()));
        if let Err(e) = rt.block_on(aws.apply(change)) {
            bar.abandon();
            return Err(Error::Partial {
                change: change.address(),
                api: change.api().into(),
                done: i,
                total,
                source: Box::new(e),
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// `keyless apply`
pub fn cmd_apply(g: &Global, p: &Printer, args: &crate::cli::ApplyArgs) -> Result<ExitStatus> {
    let (cfg, templates, rendered, rt, aws, plan) = prepare(g, p, false)?;
    if p.format == Format::Human {
        show_plan(p, &plan, &rendered.target);
    }
    let applied = if plan.is_empty() {
        0
    } else {
        if !confirm(
            args,
            &format!(
                "Apply these {} change(s) to account {}?",
                plan.changes.len(),
                rendered.target.account_id
            ),
        )? {
            p.note("Apply cancelled; nothing was written.");
            return Ok(ExitStatus::Error);
        }
        execute(p, &rt, &aws, &plan)?;
        p.note(&format!("Applied {} change(s).", plan.changes.len()));
        plan.changes.len()
    };
    let mut roles = Vec::new();
    for role in &cfg.roles {
        let v = emit::variable(&cfg, role, &rendered.target);
        let ctx = emit::workflow_context(&cfg, role, &rendered.target.partition);
        let workflow = emit::workflow(&templates, &ctx)?;
        roles.push((role.name.clone(), v, workflow));
    }
    match p.format {
        Format::Json => p.json(&serde_json::json!({
            "format_version": 1,
            "plan": plan.view(&rendered.target),
            "applied": applied,
            "roles": roles.iter().map(|(name, v, w)| serde_json::json!({"name": name, "arn": v.value, "variable": v, "workflow": w})).collect::<Vec<_>>(),
        })),
        Format::Human | Format::Github => {
            let mut s = String::new();
            for (name, v, _) in &roles {
                s.push_str(&format!("\n{} {name}\n  {}={}\n", p.bold("role"), v.name, v.value));
                for t in &v.targets {
                    s.push_str(&format!("  {}\n", t.command));
                }
            }
            if let [(name, _, workflow)] = roles.as_slice() {
                s.push_str(&format!("\n{}\n{workflow}", p.dim(&format!("# .github/workflows/deploy-{name}.yml"))));
            } else {
                s.push_str(&format!("\n{}\n", p.dim("# workflow for each role: keyless emit workflow --role NAME")));
            }
            p.out(&s);
        }
    }
    if !args.verify {
        return Ok(ExitStatus::Success);
    }
    if keyless::token::Source::discover(None, None, &rendered.audiences[0]).is_err() {
        p.note("--verify: no token source (not inside GitHub Actions and no AWS_WEB_IDENTITY_TOKEN_FILE); skipped");
        return Ok(ExitStatus::Success);
    }
    let vargs = crate::cli::VerifyArgs {
        role: None,
        token_file: None,
        token_env: None,
        check_signature: false,
        discovery_url: None,
        session_name: "keyless-verify".into(),
        retry_for: 120,
    };
    let mut worst = ExitStatus::Success;
    for role in &cfg.roles {
        let status = super::verify::verify_role(g, p, &cfg, &templates, role, &vargs, true)?;
        if status as u8 > worst as u8 {
            worst = status;
        }
    }
    Ok(worst)
}

/// `keyless destroy`
pub fn cmd_destroy(g: &Global, p: &Printer, args: &crate::cli::ApplyArgs) -> Result<ExitStatus> {
    if args.verify {
        return Err(Error::usage(
            "--verify applies to `apply` only",
            "drop --verify",
        ));
    }
    let (_, _, rendered, rt, aws, plan) = prepare(g, p, true)?;
    show_plan(p, &plan, &rendered.target);
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    if !confirm(
        args,
        &format!(
            "Destroy: make these {} change(s) in account {}?",
            plan.changes.len(),
            rendered.target.account_id
        ),
    )? {
        p.note("Destroy cancelled; nothing was deleted.");
        return Ok(ExitStatus::Error);
    }
    execute(p, &rt, &aws, &plan)?;
    p.note(&format!(
        "Destroyed: {} change(s) applied.",
        plan.changes.len()
    ));
    Ok(ExitStatus::Success)
}
