//! One report type per command: what the command found or did, as plain data. `--output json`
//! is `serde_json` of the report (every shape carries `format_version`); the human view (and, for
//! `check`, the GitHub view) sits beside each type. Reports hold no I/O and make no decisions
//! beyond how to show themselves; the printer only writes what they return.

use serde::Serialize;

use keyless::policy::lint::{Finding, Severity};

use crate::app::args::Format;
use crate::app::printer::Printer;
use crate::app::style;

pub mod apply;
pub mod audit;
pub mod check;
pub mod documents;
pub mod explain;
pub mod export;
pub mod fleet;
pub mod guard;
pub mod keys;
pub mod mermaid;
pub mod plan;
pub mod usage;
pub mod verify;

/// A moment (seconds since the epoch) as its date, `2026-12-07`.
pub fn day(t: i64) -> String {
    keyless::io::aws::rfc3339(t).chars().take(10).collect()
}

/// The version of every JSON shape keyless prints. Bumped when a shape changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// A command's result, shown as JSON or for people.
pub trait Report: Serialize {
    /// The human view: the product, for stdout (may be empty).
    fn human(&self) -> String;

    /// Messages that go with the human view, for stderr (notes, summaries).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Show a report in the session's format (`github` falls back to the human view).
pub fn show(printer: &Printer, format: Format, report: &impl Report) {
    match format {
        Format::Json => printer.json(report),
        Format::Human | Format::Github => {
            for n in report.notes() {
                printer.note(&n);
            }
            let text = report.human();
            if !text.is_empty() {
                printer.out(&text);
            }
        }
    }
}

/// A report that also has a GitHub Actions view (check, audit).
pub trait CiReport: Report {
    /// Workflow commands (`::error`/`::warning`/`::notice`), one per line.
    fn annotations(&self) -> String;
    /// Markdown for $GITHUB_STEP_SUMMARY.
    fn markdown(&self) -> String;
}

/// One GitHub Actions workflow command, `::LEVEL title=TITLE::MESSAGE`, escaped as the runner
/// expects (`%`, CR and LF everywhere; also `:` and `,` in the title property).
pub fn annotation(level: &str, title: &str, message: &str) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    let title = data(title).replace(':', "%3A").replace(',', "%2C");
    format!("::{level} title={title}::{}", data(message))
}

/// How many findings there are of each severity (the `summary` of check and audit).
pub fn severity_counts(
    severities: impl IntoIterator<Item = Severity>,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for s in severities {
        *counts.entry(s.as_str()).or_insert(0) += 1;
    }
    counts
}

/// `items` grouped by `key`, groups in order of first appearance.
pub fn grouped<T>(items: &[T], key: impl Fn(&T) -> String) -> Vec<(String, Vec<&T>)> {
    let mut groups: Vec<(String, Vec<&T>)> = Vec::new();
    for item in items {
        let k = key(item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(item),
            None => groups.push((k, vec![item])),
        }
    }
    groups
}

/// An error as the user reads it: the blocking findings first when they are what stopped the
/// command, then [`error_message`].
pub fn error_text(e: &keyless::error::Error) -> String {
    match e {
        keyless::error::Error::LintBlocked { findings, .. } => {
            format!("{}{}", findings.concat(), error_message(e))
        }
        _ => error_message(e),
    }
}

/// The error line(s), with the command-line flags that fix it where the library's words name
/// only the setting (the library knows no flags).
pub fn error_message(e: &keyless::error::Error) -> String {
    use keyless::error::Error;
    let text = e.to_string();
    match e {
        Error::NoToken => {
            format!("{text}\n  or: pass --token-file FILE / --token-env VAR with a token")
        }
        Error::Aws { hint: Some(h), .. } if h.contains("AWS_ENDPOINT_URL") => {
            format!("{text}\n  or: --endpoint-url, --region")
        }
        Error::Aws { hint: Some(h), .. } if h.contains("AWS_PROFILE") => {
            format!("{text}\n  or: --profile NAME")
        }
        Error::GitHub { hint: Some(h), .. } if h.contains("GitHub API URL") => {
            format!("{text}\n  or: --github-api-url URL (KEYLESS_GITHUB_API_URL)")
        }
        _ => text,
    }
}

/// Lint findings as readable lines (shared by lint, render, plan and apply refusals).
pub fn findings_text(findings: &[&Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let loc = f.place();
        s.push_str(&format!(
            "{} {} {}\n  {}\n",
            style::bold(f.rule),
            style::severity(f.severity),
            f.message,
            style::dim(&format!("at {loc}"))
        ));
        if let Some(v) = &f.location.value {
            s.push_str(&format!("  {}\n", style::dim(&format!("value: {v}"))));
        }
        if let Some(r) = &f.allowed {
            s.push_str(&format!(
                "  {}\n",
                style::dim(&format!("allowed for this role: {r}"))
            ));
        }
    }
    s
}

/// Text as one cell of a Markdown table (the step summary): line breaks (`\r` too) become
/// spaces, and every character Markdown or HTML would read as syntax is escaped, so a value
/// from IAM (a role path like `/[text](https://example.com)/`) shows as written: never a link,
/// an image, markup, or a broken table.
pub fn markdown_cell(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '<' | '>' | '~' | '#'
            | '{' | '}' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_markdown_cell_is_never_a_link_markup_or_a_broken_table() {
        let cell = markdown_cell("/[text](https://attacker.example)/ ![img](x) <b>a|b</b>\r\nnext");
        assert!(!cell.contains("]("), "{cell}");
        assert!(!cell.contains("<b>") && !cell.contains('\r') && !cell.contains('\n'));
        assert_eq!(
            cell.matches('|').count(),
            cell.matches("\\|").count(),
            "{cell}"
        );
        assert_eq!(markdown_cell("role gha-site"), "role gha-site");
    }
}
