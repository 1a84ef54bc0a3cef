//! `keyless audit`: read the whole account (no config needed), judge it with the pure
//! [`keyless::audit`], show the report. Read-only by construction: it only calls the AWS
//! module's readers.

use keyless::audit;
use keyless::error::{Error, Result};
use keyless::lint::{LintContext, Severity};

use crate::app::args::AuditArgs;
use crate::app::commands::show_ci;
use crate::app::exit::ExitStatus;
use crate::app::report::audit::AuditReport;
use crate::app::session::Session;

/// `keyless audit`
pub fn cmd_audit(s: &Session, args: &AuditArgs) -> Result<ExitStatus> {
    let fail_on: Severity = args.fail_on.into();
    let caller = s.caller()?;
    let aws = s.aws()?;
    let view = s.block_on(aws.audit_view())??;
    let mut ctx = LintContext::new("live");
    ctx.account_id = Some(caller.account.clone());
    ctx.partition = Some(caller.partition.clone());
    let opts = audit::AuditOptions {
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
        unused_days: args.unused_days,
    };
    let findings = audit::audit(&view, &ctx, &opts);
    let report = AuditReport::new(&view, &findings, fail_on, caller.account.clone());
    if let Some(path) = &args.sarif {
        let text = serde_json::to_string_pretty(&report.sarif()).unwrap_or_default() + "\n";
        std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    show_ci(s, &report)?;
    Ok(ExitStatus::findings_if(report.failing))
}
