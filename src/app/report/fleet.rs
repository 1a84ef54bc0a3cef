//! The report of a run across accounts (`[accounts]`): one entry per account, built from that
//! account's outcome by the same single-account report the command shows for one account, and
//! the worst exit status. It decides nothing; the outcomes are `keyless::ops`'.

use serde::Serialize;
use serde_json::Value;

use keyless::error::Error;
use keyless::ops::audit::Audited;
use keyless::ops::check::Checked;
use keyless::ops::provision::{Applied, Planned};
use keyless::policy::lint::Severity;

use crate::app::exit::ExitStatus;
use crate::app::report::audit::AuditReport;
use crate::app::report::check::CheckReport;
use crate::app::report::plan::PlanReport;
use crate::app::report::{CiReport, FORMAT_VERSION, Report, annotation, error_message, error_text};

/// The command run in each account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `keyless check`.
    Check,
    /// `keyless plan`.
    Plan,
    /// `keyless apply`.
    Apply,
    /// `keyless destroy`.
    Destroy,
    /// `keyless audit`.
    Audit,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Check => "check",
            Command::Plan => "plan",
            Command::Apply => "apply",
            Command::Destroy => "destroy",
            Command::Audit => "audit",
        }
    }
}

/// One account's line in the report.
#[derive(Debug, Serialize)]
pub struct AccountEntry {
    /// The account.
    pub account_id: String,
    /// `ok`, `changes`, `drift`, `findings`, `applied` or `error`.
    pub status: &'static str,
    /// Its exit code alone.
    pub exit: u8,
    /// One line for people.
    pub summary: String,
    /// What failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The single-account report (check, plan or audit JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
    /// Changes made (apply, destroy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<usize>,
    #[serde(skip)]
    human: String,
    /// The error as a single-account run prints it: blocking findings, then each problem on its
    /// own `error:` line.
    #[serde(skip)]
    error_lines: String,
    #[serde(skip)]
    status_code: ExitStatus,
    /// GitHub workflow commands and step-summary Markdown (check, audit).
    #[serde(skip)]
    ci: Option<(String, String)>,
}

impl AccountEntry {
    fn new(account_id: String) -> AccountEntry {
        AccountEntry {
            account_id,
            status: "ok",
            exit: 0,
            summary: String::new(),
            error: None,
            report: None,
            applied: None,
            human: String::new(),
            error_lines: String::new(),
            status_code: ExitStatus::Success,
            ci: None,
        }
    }

    fn done(mut self) -> AccountEntry {
        self.exit = self.status_code.code();
        self
    }

    /// An account that could not be reached, read or changed.
    pub fn failed(account_id: String, err: &Error) -> AccountEntry {
        let mut e = AccountEntry::new(account_id);
        e.fail(err);
        e.done()
    }

    fn fail(&mut self, err: &Error) {
        let text = error_text(err);
        self.status = "error";
        self.status_code = ExitStatus::Error;
        self.summary = err
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        self.error = Some(text);
        self.error_lines = match err {
            Error::LintBlocked { findings, .. } => {
                format!("{}error: {}", findings.concat(), error_message(err))
            }
            _ => format!("error: {}", error_message(err)),
        };
    }

    /// A checked account; drift at or above `fail_on` fails it.
    pub fn checked(account_id: String, c: &Checked, fail_on: Severity) -> AccountEntry {
        let mut e = AccountEntry::new(account_id);
        let report = CheckReport::new(
            &c.findings,
            fail_on,
            c.rendered.target.account_id.clone(),
            c.rendered.target.partition.clone(),
            c.rendered.config.clone(),
            c.roles_checked,
        );
        e.summary = if c.findings.is_empty() {
            format!("in sync ({} role(s))", c.roles_checked)
        } else {
            format!("{} drift finding(s)", c.findings.len())
        };
        if report.drift {
            e.status = "drift";
            e.status_code = ExitStatus::Findings;
        }
        if !c.findings.is_empty() {
            e.human = report.human();
        }
        e.ci = Some((report.annotations(), report.markdown()));
        e.report = serde_json::to_value(&report).ok();
        e.done()
    }

    /// A planned account (plan, or apply and destroy with what they made); `detailed` makes
    /// changes exit 2 (`plan --detailed-exitcode`).
    pub fn planned(
        account_id: String,
        p: &Planned,
        command: Command,
        detailed: bool,
        applied: Option<&Result<Applied, Error>>,
    ) -> AccountEntry {
        let mut e = AccountEntry::new(account_id);
        let report = PlanReport::new(&p.plan, &p.rendered, p.github.as_ref());
        e.summary = if p.is_empty() {
            "no changes".into()
        } else {
            format!("{} change(s)", p.len())
        };
        if !p.is_empty() {
            e.status = "changes";
            if command == Command::Plan && detailed {
                e.status_code = ExitStatus::Findings;
            }
            if command == Command::Plan {
                e.human = report.human();
            }
        }
        e.report = serde_json::to_value(&report).ok();
        match applied {
            Some(Ok(n)) => {
                e.status = "applied";
                e.applied = Some(n.total());
                e.summary = format!("{} change(s) applied", n.total());
            }
            Some(Err(err)) => e.fail(err),
            None => {}
        }
        e.done()
    }

    /// An audited account; findings at or above `fail_on` fail it.
    pub fn audited(account_id: String, a: &Audited, fail_on: Severity) -> AccountEntry {
        let mut e = AccountEntry::new(account_id.clone());
        let report = AuditReport::new(&a.view, &a.findings, fail_on, account_id);
        e.summary = format!(
            "{} role(s) trusting GitHub, {} finding(s)",
            a.view.roles.len(),
            a.findings.len()
        );
        if report.failing {
            e.status = "findings";
            e.status_code = ExitStatus::Findings;
        }
        if !a.findings.is_empty() {
            e.human = report.human();
        }
        e.ci = Some((report.annotations(), report.markdown()));
        e.report = serde_json::to_value(&report).ok();
        e.done()
    }
}

/// The report of a run across accounts.
#[derive(Debug, Serialize)]
pub struct FleetReport {
    /// Schema version.
    pub format_version: u32,
    /// The command run in each account.
    pub command: &'static str,
    /// One entry per account, in the config's order.
    pub accounts: Vec<AccountEntry>,
    /// Accounts by status.
    pub summary: std::collections::BTreeMap<&'static str, usize>,
    /// The worst account's exit status.
    #[serde(skip)]
    pub worst: ExitStatus,
}

impl FleetReport {
    /// The report of `command` across `accounts`.
    pub fn new(command: Command, accounts: Vec<AccountEntry>) -> FleetReport {
        let mut summary = std::collections::BTreeMap::new();
        for a in &accounts {
            *summary.entry(a.status).or_default() += 1;
        }
        FleetReport {
            format_version: FORMAT_VERSION,
            command: command.name(),
            worst: accounts
                .iter()
                .map(|a| a.status_code)
                .max()
                .unwrap_or(ExitStatus::Success),
            accounts,
            summary,
        }
    }
}

impl Report for FleetReport {
    fn human(&self) -> String {
        let mut out = String::new();
        for a in &self.accounts {
            out.push_str(&format!(
                "{}  {:<8}  {}\n",
                a.account_id, a.status, a.summary
            ));
        }
        for a in self.accounts.iter().filter(|a| !a.human.is_empty()) {
            out.push_str(&format!("\n── account {}\n{}", a.account_id, a.human));
        }
        for a in &self.accounts {
            if a.error.is_some() {
                out.push_str(&format!(
                    "\n── account {}: error\n{}\n",
                    a.account_id, a.error_lines
                ));
            }
        }
        out
    }
}

impl CiReport for FleetReport {
    /// Each account's workflow commands, their titles naming the account; an `::error` per
    /// account that could not be reached or read.
    fn annotations(&self) -> String {
        let mut out = Vec::new();
        for a in &self.accounts {
            if let Some((annotations, _)) = &a.ci {
                for line in annotations.lines() {
                    out.push(line.replacen(
                        " title=",
                        &format!(" title=account {} ", a.account_id),
                        1,
                    ));
                }
            }
            if let Some(err) = &a.error {
                out.push(annotation(
                    "error",
                    &format!("keyless {} account {}", self.command, a.account_id),
                    err,
                ));
            }
        }
        out.join("\n")
    }

    /// A table of the accounts, then each account's own summary.
    fn markdown(&self) -> String {
        let mut out = format!(
            "## keyless {} across {} account(s)\n\n| account | status | summary |\n|---|---|---|\n",
            self.command,
            self.accounts.len()
        );
        for a in &self.accounts {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                a.account_id,
                a.status,
                a.summary.replace('|', "\\|")
            ));
        }
        for a in &self.accounts {
            if let Some((_, md)) = &a.ci {
                out.push_str(&format!("\n### account {}\n\n{md}\n", a.account_id));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked() -> Error {
        Error::LintBlocked {
            count: 1,
            findings: vec!["KL004 high org-wide trust\n  at role r: trust policy\n".into()],
        }
    }

    #[test]
    fn a_failed_account_names_its_blocking_findings_and_the_worst_status_wins() {
        let failed = AccountEntry::failed("111111111111".into(), &blocked());
        assert_eq!(failed.status, "error");
        assert_eq!(failed.exit, 1);
        assert!(failed.error.as_deref().unwrap().starts_with("KL004 high"));
        assert!(failed.summary.starts_with("1 blocking lint finding(s)"));
        let mut ok = AccountEntry::new("222222222222".into());
        ok.summary = "in sync".into();
        let report = FleetReport::new(Command::Check, vec![ok.done(), failed]);
        assert_eq!(report.worst, ExitStatus::Error);
        assert_eq!(report.summary.get("error"), Some(&1));
        assert_eq!(report.summary.get("ok"), Some(&1));
        let text = report.human();
        assert!(
            text.contains("222222222222  ok") && text.contains("KL004"),
            "{text}"
        );
    }

    #[test]
    fn an_accounts_config_problems_each_start_an_error_line_after_the_fix_before() {
        let problem = |key: &str, fix: &str| keyless::error::ConfigError {
            file: "keyless.toml".into(),
            key: key.into(),
            value: None,
            message: "bad".into(),
            fix: Some(fix.into()),
        };
        let err = Error::Config(vec![
            problem("role[0].preset[0].params.bucket", "bucket name"),
            problem("role[0].preset[0].params.prefix", "key prefix"),
        ]);
        let report = FleetReport::new(
            Command::Plan,
            vec![AccountEntry::failed("111111111111".into(), &err)],
        );
        let text = report.human();
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("── account 111111111111: error"))
            .expect(&text);
        assert_eq!(
            &lines[at + 1..at + 5],
            &[
                "error: keyless.toml: role[0].preset[0].params.bucket: bad",
                "  fix: bucket name",
                "error: keyless.toml: role[0].preset[0].params.prefix: bad",
                "  fix: key prefix",
            ],
            "{text}"
        );
        let blocked = FleetReport::new(
            Command::Plan,
            vec![AccountEntry::failed("111111111111".into(), &blocked())],
        )
        .human();
        assert!(
            blocked.contains("trust policy\nerror: 1 blocking lint finding(s)"),
            "{blocked}"
        );
    }
}
