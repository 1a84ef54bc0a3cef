//! Drift detection for scheduled jobs, in one account or each of `[accounts]`. Read-only by
//! construction: it runs `keyless::ops::check`.

use keyless::error::Result;
use keyless::ops::check;
use keyless::policy::lint::Severity;

use crate::app::args::CheckArgs;
use crate::app::commands::show_ci;
use crate::app::exit::ExitStatus;
use crate::app::report::check::CheckReport;
use crate::app::report::fleet::{self, AccountEntry, FleetReport};
use crate::app::session::{Need, Runs, Session};

/// `keyless check`
pub fn cmd_check(s: &Session, args: &CheckArgs) -> Result<ExitStatus> {
    let fail_on: Severity = args.fail_on.into();
    match s.in_accounts(Need::Caller, async |ctx| check::check(ctx).await)? {
        Runs::One(ctx, checked) => {
            crate::app::flow::note_read(s, checked.read, checked.rendered.roles.len());
            let target = &checked.rendered.target;
            let report = CheckReport::new(
                &checked.findings,
                fail_on,
                target.account_id.clone(),
                target.partition.clone(),
                ctx.config.file.clone(),
                checked.roles_checked,
            );
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
            let report = FleetReport::new(fleet::Command::Check, entries);
            show_ci(s, &report)?;
            Ok(report.worst)
        }
    }
}
