//! Drift detection for scheduled jobs, in one account or each of `[accounts]`. Read-only by
//! construction: it runs `keyless::ops::check`.

use keyless::error::Result;
use keyless::ops::check;
use keyless::policy::lint::Severity;

use crate::app::args::CheckArgs;
use crate::app::commands::show_ci;
use crate::app::exit::ExitStatus;
use crate::app::files::write_map;
use crate::app::report::check::CheckReport;
use crate::app::report::fleet::{self, AccountEntry, FleetReport};
use crate::app::session::{Need, Runs, Session};
use keyless::artifacts::trust_map::MapAccount;

/// At most this many roles in the step summary's diagram (the rest are in the table).
pub const MERMAID_ROLES: usize = 30;

/// `keyless check`
pub fn cmd_check(s: &Session, args: &CheckArgs) -> Result<ExitStatus> {
    let fail_on: Severity = args.fail_on.into();
    let usage = args.usage.then(|| keyless::ops::usage::Options {
        window_days: args.usage_days,
        ..keyless::ops::usage::Options::default()
    });
    match s.in_accounts(Need::Caller, async |ctx| {
        check::check_with(ctx, usage.as_ref()).await
    })? {
        Runs::One(ctx, checked) => {
            crate::app::flow::note_read(s, &checked.read, checked.rendered.roles.len());
            let target = &checked.rendered.target;
            let map = MapAccount::from_check(
                &checked.rendered,
                &checked.observed,
                &checked.others,
                &checked.findings,
            );
            if let Some(path) = &args.html {
                write_map(
                    path,
                    "keyless check",
                    &format!("account {} against {}", target.account_id, ctx.config.file),
                    std::slice::from_ref(&map),
                )?;
            }
            let report = CheckReport::new(
                &checked.findings,
                fail_on,
                target.account_id.clone(),
                target.partition.clone(),
                ctx.config.file.clone(),
                checked.roles_checked,
            )
            .with_map(crate::app::report::mermaid::mermaid(
                std::slice::from_ref(&map),
                MERMAID_ROLES,
            ));
            show_ci(s, &report)?;
            Ok(ExitStatus::findings_if(report.drift))
        }
        Runs::Many(runs) => {
            let entries = runs
                .iter()
                .map(|r| match &r.result {
                    Ok((_, c)) => AccountEntry::checked(r.account_id.clone(), c, fail_on),
                    Err(e) => AccountEntry::failed(r.account_id.clone(), e),
                })
                .collect();
            if let Some(path) = &args.html {
                let maps: Vec<MapAccount> = runs
                    .iter()
                    .filter_map(|r| r.result.as_ref().ok())
                    .map(|(_, c)| {
                        MapAccount::from_check(&c.rendered, &c.observed, &c.others, &c.findings)
                    })
                    .collect();
                write_map(
                    path,
                    "keyless check",
                    &format!("{} account(s)", maps.len()),
                    &maps,
                )?;
            }
            let report = FleetReport::new(fleet::Command::Check, entries);
            show_ci(s, &report)?;
            Ok(report.worst)
        }
    }
}
