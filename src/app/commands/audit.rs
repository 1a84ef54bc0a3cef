//! `keyless audit`: read the whole account (no config needed) or each of `[accounts]`, judged
//! by `keyless::ops::audit`; show the report. Read-only by construction. With a config, its
//! claim keys and trust-size quota apply in one account as in many.

use keyless::error::Result;
use keyless::ops::audit;
use keyless::policy::lint::Severity;
use keyless::state::audit::AuditOptions;

use crate::app::args::AuditArgs;
use crate::app::commands::show_ci;
use crate::app::exit::ExitStatus;
use crate::app::files::write_map;
use crate::app::report::audit::AuditReport;
use crate::app::report::fleet::{self, AccountEntry, FleetReport};
use crate::app::session::{Need, Runs, Session};
use keyless::artifacts::trust_map::MapAccount;

/// `keyless audit`
pub fn cmd_audit(s: &Session, args: &AuditArgs) -> Result<ExitStatus> {
    let fail_on: Severity = args.fail_on.into();
    // The clock is the binary's: the core judges against the time it is given.
    let opts = AuditOptions {
        now: keyless::io::token::now(),
        unused_days: args.unused_days,
    };
    let usage = args.usage.then(|| keyless::ops::usage::Options {
        window_days: args.usage_days,
        ..keyless::ops::usage::Options::default()
    });
    if !s.is_many()? && s.config_if_present()?.is_none() {
        // No config: the caller's account, judged without one.
        let account = s.account(Need::Caller)?;
        let audited = s.block_on(audit::audit_with(&account, None, &opts, usage.as_ref()))?;
        return show_one(
            s,
            args,
            &audited,
            fail_on,
            account.target.account_id.clone(),
        );
    }
    match s.in_accounts(Need::Caller, async |ctx| {
        audit::audit_with(&ctx.account, Some(&ctx.config), &opts, usage.as_ref()).await
    })? {
        Runs::One(ctx, audited) => {
            let id = ctx.account.target.account_id.clone();
            show_one(s, args, &audited, fail_on, id)
        }
        Runs::Many(runs) => {
            let entries = runs
                .iter()
                .map(|r| match &r.result {
                    Ok((_, a)) => AccountEntry::audited(r.account_id.clone(), a, fail_on),
                    Err(e) => AccountEntry::failed(r.account_id.clone(), e),
                })
                .collect();
            if let Some(path) = &args.html {
                let maps: Vec<MapAccount> = runs
                    .iter()
                    .filter_map(|r| r.result.as_ref().ok())
                    .map(|(ctx, a)| {
                        MapAccount::from_audit(&ctx.account.target.account_id, &a.view, &a.findings)
                    })
                    .collect();
                write_map(
                    path,
                    "keyless audit",
                    &format!("{} account(s)", maps.len()),
                    &maps,
                )?;
            }
            let report = FleetReport::new(fleet::Command::Audit, entries);
            show_ci(s, &report)?;
            Ok(report.worst)
        }
    }
}

fn show_one(
    s: &Session,
    args: &AuditArgs,
    audited: &audit::Audited,
    fail_on: Severity,
    account: String,
) -> Result<ExitStatus> {
    if let Some(path) = &args.html {
        let map = MapAccount::from_audit(&account, &audited.view, &audited.findings);
        write_map(path, "keyless audit", &format!("account {account}"), &[map])?;
    }
    // At most this many roles in the step summary's diagram (the rest are in the table).
    const MERMAID_ROLES: usize = 30;
    let map = MapAccount::from_audit(&account, &audited.view, &audited.findings);
    let report = AuditReport::new(&audited.view, &audited.findings, fail_on, account).with_map(
        crate::app::report::mermaid::mermaid(std::slice::from_ref(&map), MERMAID_ROLES),
    );
    if let Some(path) = &args.sarif {
        let text = serde_json::to_string_pretty(&report.sarif()).unwrap_or_default() + "\n";
        crate::app::files::write(path, &text)?;
    }
    show_ci(s, &report)?;
    Ok(ExitStatus::findings_if(report.failing))
}
