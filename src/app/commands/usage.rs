//! `keyless usage` (read-only) and `keyless tighten`: resolve the options, run
//! `keyless::ops::usage` or `keyless::ops::tighten` in the caller's account, show the report;
//! tighten writes keyless.toml and the policy files only with --write or a confirmation.

use keyless::error::{Error, Result};
use keyless::ops::usage::{self, Options as UsageOptions, Progress};
use keyless::ops::{self as ops};
use keyless::state::tighten::Options;

use crate::app::args::{TightenArgs, UsageArgs, UsageReadArgs};
use crate::app::exit::ExitStatus;
use crate::app::files::write_map;
use crate::app::report::plan::PlanReport;
use crate::app::report::usage::{PrincipalView, TightenReport, UsageReport};
use crate::app::report::{Report, show};
use crate::app::session::{Need, Runs, Session};
use crate::app::style;
use keyless::artifacts::trust_map::{MapAccount, service_marks};
use keyless::state::audit::{AccountView, AuditedRole};

fn options(a: &UsageReadArgs) -> UsageOptions {
    UsageOptions {
        window_days: a.days,
        last_accessed: !a.no_last_accessed,
        event_history: !a.no_event_history,
        regions: (!a.regions.is_empty()).then(|| a.regions.clone()),
        max_events: a.max_events.max(1),
        trail_dir: a.cloudtrail.clone(),
        session_name: a.session_name.clone(),
    }
}

/// A progress line on stderr (hidden when quiet or not a terminal).
fn progress(s: &Session) -> (indicatif::ProgressBar, impl Fn(Progress) + Sync) {
    let bar = s.printer.progress(0, true);
    let b = bar.clone();
    let f = move |p: Progress| {
        b.set_message(match p {
            Progress::LastAccessed(n) => format!("IAM last-accessed data for {n} principal(s)"),
            Progress::Events(r, n) => format!("CloudTrail {r}: {n} event(s)"),
            Progress::Trail(n) => format!("{n} trail file(s)"),
        })
    };
    (bar, f)
}

fn one_account() -> Error {
    Error::usage(
        "usage and tighten read one account at a time, and this config names several ([accounts])",
        "pass --account ID for the account to read",
    )
}

/// `keyless usage`
pub fn cmd_usage(s: &Session, args: &UsageArgs) -> Result<ExitStatus> {
    let opts = options(&args.read);
    let (bar, on) = progress(s);
    if !args.arns.is_empty() {
        let account = s.account(Need::Caller)?;
        let (read, counts) = s.block_on(usage::for_arns(&account, &args.arns, &opts, &on))?;
        bar.finish_and_clear();
        let principals = read
            .iter()
            .map(|(p, g)| PrincipalView::new(p, &counts, &g.unread, &g.groups))
            .collect();
        if let Some(path) = &args.html {
            let roles = read
                .iter()
                .map(|(p, g)| AuditedRole {
                    name: p.arn.rsplit('/').next().unwrap_or(&p.arn).to_string(),
                    arn: p.arn.clone(),
                    inline_policies: g.documents.iter().cloned().collect(),
                    ..AuditedRole::default()
                })
                .collect();
            let marks = read
                .iter()
                .map(|(p, _)| {
                    (
                        p.arn.rsplit('/').next().unwrap_or(&p.arn).to_string(),
                        service_marks(&p.rows),
                    )
                })
                .collect();
            let map = MapAccount {
                account: account.target.account_id.clone(),
                view: AccountView {
                    providers: vec![],
                    roles,
                },
                findings: vec![],
                guarded: None,
                used: Default::default(),
                stored: Default::default(),
            }
            .with_usage(marks);
            write_map(
                path,
                "keyless usage",
                &format!(
                    "account {}: what each principal used",
                    account.target.account_id
                ),
                &[map],
            )?;
        }
        let report = UsageReport::new(
            account.target.account_id.clone(),
            opts.window_days,
            counts,
            principals,
        );
        show(&s.printer, s.format, &report);
        return Ok(ExitStatus::Success);
    }
    if s.config_if_present()?.is_none() {
        return Err(Error::usage(
            format!(
                "no config at {}: usage reads its roles",
                s.config_path.display()
            ),
            "pass --arn ARN (repeatable) for any IAM role or user, or -c PATH for a config",
        ));
    }
    let roles = args.roles.clone();
    let (ctx, used) = match s.in_accounts(Need::Caller, async |ctx| {
        usage::for_config(ctx, &roles, &opts, &on).await
    })? {
        Runs::One(ctx, used) => (ctx, used),
        Runs::Many(_) => return Err(one_account()),
    };
    bar.finish_and_clear();
    if let Some(path) = &args.html {
        let marks = used
            .rendered
            .roles
            .iter()
            .filter(|r| roles.is_empty() || roles.contains(&r.name))
            .zip(&used.roles)
            .map(|(r, p)| (r.name.clone(), service_marks(&p.rows)))
            .collect();
        let map = MapAccount::from_rendered(&used.rendered, &[]).with_usage(marks);
        write_map(
            path,
            "keyless usage",
            &format!(
                "account {} against {}: what each role used",
                ctx.account.target.account_id, ctx.config.file
            ),
            &[map],
        )?;
    }
    let left: Vec<String> = Vec::new();
    let principals = used
        .roles
        .iter()
        .map(|p| PrincipalView::new(p, &used.counts, &left, &[]))
        .collect();
    let report = UsageReport::new(
        ctx.account.target.account_id.clone(),
        opts.window_days,
        used.counts.clone(),
        principals,
    );
    show(&s.printer, s.format, &report);
    Ok(ExitStatus::Success)
}

/// `keyless tighten`
pub fn cmd_tighten(s: &Session, args: &TightenArgs) -> Result<ExitStatus> {
    let opts = options(&args.read);
    let tight = Options {
        min_days: args.min_days,
        exact_resources: args.exact_resources,
    };
    let source = s.config_source()?.text.clone();
    let roles = args.roles.clone();
    let (bar, on) = progress(s);
    let (ctx, t) = match s.in_accounts(Need::Caller, async |ctx| {
        ops::tighten::tighten(ctx, &source, &roles, &opts, tight, &on).await
    })? {
        Runs::One(ctx, t) => (ctx, t),
        Runs::Many(_) => return Err(one_account()),
    };
    bar.finish_and_clear();
    let plan = t
        .planned
        .as_ref()
        .map(|p| PlanReport::new(&p.plan, &p.rendered, p.github.as_ref()).human());
    let mut report = TightenReport {
        format_version: crate::app::report::FORMAT_VERSION,
        account_id: ctx.account.target.account_id.clone(),
        window_days: opts.window_days,
        read: t.usage.counts.clone(),
        roles: t.outcomes.clone(),
        diff: t
            .edited
            .as_ref()
            .map(|e| e.diff.clone())
            .unwrap_or_default(),
        files: t
            .edited
            .as_ref()
            .map(|e| e.files.iter().map(|(p, _)| p.clone()).collect())
            .unwrap_or_default(),
        findings: t.findings.iter().map(|f| f.text()).collect(),
        plan,
        written: false,
    };
    let Some(edited) = &t.edited else {
        show(&s.printer, s.format, &report);
        return Ok(ExitStatus::Success);
    };
    let interactive = {
        use std::io::IsTerminal;
        std::io::stdin().is_terminal() && !matches!(s.format, crate::app::args::Format::Json)
    };
    if !args.write && !interactive {
        show(&s.printer, s.format, &report);
        return Ok(ExitStatus::Findings);
    }
    if !args.write {
        s.printer.out(&report.human());
        if !s.confirm_reviewed(
            false,
            "Write keyless.toml and the policy file(s)?",
            "keyless tighten",
        )? {
            s.printer.note("nothing was written");
            return Ok(ExitStatus::Findings);
        }
    }
    let dir = s.config_dir();
    for (rel, text) in &edited.files {
        crate::app::files::write(&dir.join(rel), text)?;
    }
    crate::app::files::write(&s.config_path, &edited.text)?;
    report.written = true;
    if args.write {
        show(&s.printer, s.format, &report);
    }
    s.printer.note(&format!(
        "{} {} and {} policy file(s); run `keyless plan`, then `keyless apply`",
        style::ok("wrote"),
        s.config_path.display(),
        edited.files.len()
    ));
    Ok(ExitStatus::Success)
}
