//! `keyless audit`: the account's GitHub trust judged as a whole, for people (grouped by role),
//! for GitHub Actions (annotations and a step-summary table), as JSON, and as SARIF 2.1.0 for
//! code scanning.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use keyless::policy::lint::Finding;
use keyless::policy::lint::Severity;
use keyless::state::audit::{self, AccountView};

use super::{CiReport, FORMAT_VERSION, Report, annotation, grouped, severity_counts};
use crate::app::style;

/// `keyless audit --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// Account audited.
    pub account_id: String,
    /// The threshold.
    pub fail_on: &'static str,
    /// A finding at or above `fail_on` (exit 2).
    pub failing: bool,
    /// Roles that trust a GitHub provider, by name.
    pub roles: Vec<&'a str>,
    /// Every OIDC provider ARN in the account.
    pub providers: &'a [String],
    /// Findings per severity.
    pub summary: BTreeMap<&'static str, usize>,
    /// Every finding, worst first.
    pub findings: &'a [Finding],
    #[serde(skip)]
    threshold: Severity,
    /// The trust map of the roles with findings, as Mermaid, for the step summary.
    #[serde(skip)]
    map: Option<String>,
}

/// A SARIF artifact URI for an IAM path (`123456789012/role/path/name`): each segment
/// percent-encoded (RFC 3986 unreserved characters kept), since IAM paths may hold characters a
/// URI cannot (`<>{}|^`#?` and more).
fn sarif_uri(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let segments: Vec<String> = path
        .split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    format!("iam/{}", segments.join("/"))
}

impl<'a> AuditReport<'a> {
    /// The report of `findings` on `view` against threshold `fail_on`.
    pub fn new(
        view: &'a AccountView,
        findings: &'a [Finding],
        fail_on: Severity,
        account_id: String,
    ) -> AuditReport<'a> {
        let summary = severity_counts(findings.iter().map(|f| f.severity));
        AuditReport {
            format_version: FORMAT_VERSION,
            account_id,
            fail_on: fail_on.as_str(),
            failing: findings.iter().any(|f| f.severity >= fail_on),
            roles: view.roles.iter().map(|r| r.name.as_str()).collect(),
            providers: &view.providers,
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

    fn count_failing(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= self.threshold)
            .count()
    }

    fn what(f: &Finding) -> String {
        if f.location.is_empty() {
            f.message.clone()
        } else {
            format!("{} ({})", f.message, f.place())
        }
    }

    /// The findings as a SARIF 2.1.0 log. IAM resources have no file, so each result's physical
    /// location is the resource's path under `iam/ACCOUNT/` (what code scanning groups by) and
    /// its logical location is the ARN.
    pub fn sarif(&self) -> Value {
        sarif(self.findings, |f| {
            let path = f
                .resource_name()
                .split_once(":iam::")
                .map(|(_, rest)| rest.replacen(':', "/", 1))
                .unwrap_or_else(|| f.resource_name().to_string());
            (sarif_uri(&path), 1)
        })
    }
}

/// Findings as a SARIF 2.1.0 log; `locate` gives each result's file (a path code scanning groups
/// by) and line. Each result's logical location is the resource it is about.
pub fn sarif(findings: &[Finding], locate: impl Fn(&Finding) -> (String, usize)) -> Value {
    let rules: BTreeSet<&str> = findings.iter().map(|f| f.rule).collect();
    let rules: Vec<Value> = rules
        .iter()
        .map(|id| {
            let mut rule = json!({
                "id": id,
                "shortDescription": {"text": audit::rule_title(id)},
                "helpUri": format!("https://github.com/{}#lint-rules", keyless::release::HOME),
            });
            if let Some(fix) = audit::rule_fix(id) {
                rule["help"] = json!({"text": fix});
            }
            rule
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let level = match f.severity {
                s if s >= Severity::Error => "error",
                s if s >= Severity::Warning => "warning",
                _ => "note",
            };
            let (uri, line) = locate(f);
            json!({
                "ruleId": f.rule,
                "level": level,
                "message": {"text": AuditReport::what(f)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line.max(1)}
                    },
                    "logicalLocations": [{
                        "fullyQualifiedName": f.resource,
                        "kind": "resource"
                    }]
                }],
                "properties": {"severity": f.severity.as_str()},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "keyless",
                "version": keyless::release::VERSION,
                "informationUri": format!("https://github.com/{}", keyless::release::HOME),
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

impl CiReport for AuditReport<'_> {
    /// GitHub Actions workflow commands: `::error` at or above the threshold, `::warning` below.
    fn annotations(&self) -> String {
        if self.findings.is_empty() {
            return annotation(
                "notice",
                "keyless audit",
                &format!(
                    "{} role(s) trusting GitHub in account {}: no findings",
                    self.roles.len(),
                    self.account_id
                ),
            );
        }
        let mut s = String::new();
        for f in self.findings {
            let level = if f.severity >= self.threshold {
                "error"
            } else {
                "warning"
            };
            let title = format!(
                "keyless audit {} ({}): {}",
                f.rule,
                f.severity.as_str(),
                f.resource_name()
            );
            s.push_str(&annotation(level, &title, &Self::what(f)));
            s.push('\n');
        }
        s
    }

    /// A Markdown report for $GITHUB_STEP_SUMMARY.
    fn markdown(&self) -> String {
        let cell = super::markdown_cell;
        let mut s = format!(
            "## keyless audit\n\n{} role(s) trusting GitHub in account `{}`: {} finding(s), {} at or above `{}`.\n",
            self.roles.len(),
            self.account_id,
            self.findings.len(),
            self.count_failing(),
            self.fail_on
        );
        if !self.findings.is_empty() {
            s.push_str("\n| severity | rule | resource | what |\n|---|---|---|---|\n");
            for f in self.findings {
                s.push_str(&format!(
                    "| {} | `{}` | {} | {} |\n",
                    f.severity.as_str(),
                    f.rule,
                    cell(f.resource_name()),
                    cell(&Self::what(f))
                ));
            }
        }
        s.push_str(&map_section(self.map.as_deref()));
        s
    }
}

/// The step summary's trust map: the Mermaid diagram GitHub draws in Markdown, or a line
/// saying there is nothing to draw. Shared by check's report.
pub fn map_section(map: Option<&str>) -> String {
    match map {
        Some(m) => format!("\n### Trust map: roles with findings\n\n{m}"),
        None => String::new(),
    }
}

impl Report for AuditReport<'_> {
    /// Findings grouped by role, providers last, for people.
    fn human(&self) -> String {
        let account = &self.account_id;
        let mut s = format!(
            "Audited account {account}: {} role(s) trust a GitHub provider; {} provider(s) in the account.\n",
            self.roles.len(),
            self.providers.len()
        );
        if self.findings.is_empty() {
            s.push_str("No findings.");
            return s;
        }
        s.push_str(&format!(
            "{} finding(s), {} at or above {}.\n",
            self.findings.len(),
            self.count_failing(),
            self.fail_on
        ));
        let groups = grouped(self.findings, |f| {
            f.role
                .as_ref()
                .map(|r| format!("role {r}"))
                .unwrap_or_else(|| f.resource_name().to_string())
        });
        for (key, list) in groups {
            s.push_str(&format!("\n{}\n", style::bold(&key)));
            for f in list {
                s.push_str(&format!(
                    "  {} {}  {}\n",
                    style::severity_padded(f.severity, 8),
                    style::bold(f.rule),
                    style::dim(audit::rule_title(f.rule))
                ));
                s.push_str(&format!("           {}\n", Self::what(f)));
            }
        }
        s.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_uris_are_percent_encoded_per_segment() {
        assert_eq!(
            sarif_uri("123456789012/role/ci/deploy"),
            "iam/123456789012/role/ci/deploy"
        );
        let u = sarif_uri("123456789012/role/a<b>{c}|d^e`f#g?h/x y");
        assert_eq!(
            u,
            "iam/123456789012/role/a%3Cb%3E%7Bc%7D%7Cd%5Ee%60f%23g%3Fh/x%20y"
        );
        assert!(u.chars().all(|c| c.is_ascii_graphic()));
    }
}
