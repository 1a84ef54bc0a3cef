//! `keyless check`: drift between the live account and the config, for people (grouped by role
//! with diffs), for GitHub Actions (annotations and a step-summary table) and as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use keyless::policy::finding::DriftKind;
use keyless::policy::lint::Finding;
use keyless::policy::lint::Severity;

use super::{CiReport, FORMAT_VERSION, Report, annotation, grouped, severity_counts};
use crate::app::style;

/// `keyless check --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// No difference at all.
    pub in_sync: bool,
    /// A difference at or above `fail_on` (exit 2).
    pub drift: bool,
    /// Account checked.
    pub account_id: String,
    /// Its partition.
    pub partition: String,
    /// The config file.
    pub config: String,
    /// The threshold.
    pub fail_on: &'static str,
    /// Roles of the config that were checked.
    pub roles_checked: usize,
    /// Findings per severity.
    pub summary: BTreeMap<&'static str, usize>,
    /// Every difference.
    pub findings: &'a [Finding],
    #[serde(skip)]
    threshold: Severity,
    /// The trust map of the roles with findings, as Mermaid, for the step summary.
    #[serde(skip)]
    map: Option<String>,
}

impl<'a> CheckReport<'a> {
    /// The report of `findings` against threshold `fail_on`.
    pub fn new(
        findings: &'a [Finding],
        fail_on: Severity,
        account_id: String,
        partition: String,
        config: String,
        roles_checked: usize,
    ) -> CheckReport<'a> {
        let summary = severity_counts(findings.iter().map(|f| f.severity));
        CheckReport {
            format_version: FORMAT_VERSION,
            in_sync: findings.is_empty(),
            drift: findings.iter().any(|f| f.severity >= fail_on),
            account_id,
            partition,
            config,
            fail_on: fail_on.as_str(),
            roles_checked,
            summary,
            findings,
            threshold: fail_on,
            map: None,
        }
    }

    /// With the trust map's Mermaid diagram for the step summary (`None`: nothing to draw).
    pub fn with_map(mut self, map: Option<String>) -> Self {
        self.map = map;
        self
    }

    fn failing(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= self.threshold)
            .count()
    }
}

impl CiReport for CheckReport<'_> {
    /// GitHub Actions workflow commands: `::error` at or above the threshold, `::warning` below.
    fn annotations(&self) -> String {
        if self.findings.is_empty() {
            return "::notice title=keyless check::IAM matches keyless.toml".to_string();
        }
        let mut s = String::new();
        for f in self.findings {
            let level = if f.severity >= self.threshold {
                "error"
            } else {
                "warning"
            };
            let title = format!(
                "keyless drift ({}): {}",
                f.severity.as_str(),
                f.resource_name()
            );
            let mut msg = format!("{}: {}", f.rule, f.message);
            if let Some(d) = &f.diff {
                msg.push('\n');
                msg.push_str(d);
            }
            s.push_str(&annotation(level, &title, &msg));
            s.push('\n');
        }
        s
    }

    /// A Markdown report for $GITHUB_STEP_SUMMARY.
    fn markdown(&self) -> String {
        let cell = super::markdown_cell;
        let (account, config) = (&self.account_id, &self.config);
        if self.findings.is_empty() {
            return format!(
                "## keyless check: in sync\n\nIAM in account `{account}` matches `{config}`.\n"
            );
        }
        let mut s = if self.failing() == 0 {
            format!(
                "## keyless check: in sync\n\nIAM in account `{account}` matches `{config}`; {} note(s) below `{}`.\n\n| severity | kind | resource | what |\n|---|---|---|---|\n",
                self.findings.len(),
                self.fail_on
            )
        } else {
            format!(
                "## keyless check: drift\n\n{} difference(s) in account `{account}` against `{config}`, {} at or above `{}`.\n\n| severity | kind | resource | what |\n|---|---|---|---|\n",
                self.findings.len(),
                self.failing(),
                self.fail_on
            )
        };
        for f in self.findings {
            s.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                f.severity.as_str(),
                f.rule,
                cell(f.resource_name()),
                cell(&f.message)
            ));
        }
        for f in self.findings.iter().filter(|f| f.diff.is_some()) {
            let diff = f.diff.as_deref().unwrap_or("").trim_end();
            // A fence longer than any run of backticks in the diff, so a document cannot end it.
            let longest = diff.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            s.push_str(&format!(
                "\n<details><summary>{}</summary>\n\n{fence}diff\n{diff}\n{fence}\n</details>\n",
                cell(f.resource_name()),
            ));
        }
        if self.failing() > 0 {
            s.push_str("\nRestore with `keyless plan` then `keyless apply`");
            if self
                .findings
                .iter()
                .any(|f| f.kind() == Some(DriftKind::UnusedPermission))
            {
                s.push_str("; narrow unused permissions with `keyless tighten`");
            }
            s.push_str(".\n");
        }
        s.push_str(&crate::app::report::audit::map_section(self.map.as_deref()));
        s
    }
}

impl Report for CheckReport<'_> {
    /// Drift grouped by role, for people.
    fn human(&self) -> String {
        let account = &self.account_id;
        if self.findings.is_empty() {
            return format!(
                "In sync: {} role(s) in account {account} match the configuration.",
                self.roles_checked
            );
        }
        // Nothing at or above --fail-on: in sync, with the rest listed for information.
        let mut s = if self.failing() == 0 {
            format!(
                "In sync: {} role(s) in account {account} match the configuration; {} note(s) below {}.\n",
                self.roles_checked,
                self.findings.len(),
                self.fail_on
            )
        } else {
            format!(
                "Drift in account {account}: {} difference(s), {} at or above {}.\n",
                self.findings.len(),
                self.failing(),
                self.fail_on
            )
        };
        let groups = grouped(self.findings, |f| {
            f.role
                .as_ref()
                .map(|r| format!("role {r}"))
                .unwrap_or_else(|| "account".into())
        });
        for (key, list) in groups {
            s.push_str(&format!("\n{}\n", style::bold(&key)));
            for f in list {
                s.push_str(&format!(
                    "  {} {}  {}\n",
                    style::severity_padded(f.severity, 8),
                    style::bold(f.rule),
                    style::dim(f.resource_name())
                ));
                s.push_str(&format!("           {}\n", f.message));
                if let Some(d) = &f.diff {
                    s.push_str(&format!(
                        "           {}\n",
                        style::dim("(- live, + keyless.toml)")
                    ));
                    for line in d.lines().skip(2) {
                        s.push_str(&format!("           {line}\n"));
                    }
                }
            }
        }
        if self.failing() > 0 {
            let unused = |f: &&Finding| f.kind() == Some(DriftKind::UnusedPermission);
            if self.findings.iter().any(|f| !unused(&f)) {
                s.push_str("\nRun `keyless plan` to see the changes that restore the configuration, `keyless apply` to make them.");
            }
            if self.findings.iter().any(|f| unused(&f)) {
                s.push_str(&format!(
                    "\n{}",
                    DriftKind::UnusedPermission
                        .fix()
                        .replace(" proposes", ": proposes")
                ));
            }
        }
        s
    }
}
