//! Output discipline: stdout carries only the product (documents, YAML, JSON, findings); messages
//! and progress go to stderr. Human and JSON are two views over the same data.
//!
//! The [`Printer`] knows the format, colour and verbosity; it never decides what to print. A
//! closed pipe (`keyless render | head`) is not an error.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use keyless::drift::DriftFinding;
use keyless::lint::{Finding, Severity};
use keyless::plan::{Action, Plan, document_diff};

/// `--output`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions annotations, plus a Markdown summary in $GITHUB_STEP_SUMMARY (check).
    Github,
}

/// Prints results and messages.
pub struct Printer {
    /// Output format.
    pub format: Format,
    /// Colour on stdout/stderr.
    pub color: bool,
    /// `-q`: errors only on stderr.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
}

impl Printer {
    fn style(&self, s: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", s.render(), s.render_reset())
        } else {
            text.to_string()
        }
    }

    /// Green bold (a good outcome).
    pub fn style_ok(&self, text: &str) -> String {
        self.style(
            Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
            text,
        )
    }

    /// Red bold (a bad outcome).
    pub fn style_bad(&self, text: &str) -> String {
        self.style(
            Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            text,
        )
    }

    /// Bold text (when colour is on).
    pub fn bold(&self, text: &str) -> String {
        self.style(Style::new().bold(), text)
    }

    /// Dim text.
    pub fn dim(&self, text: &str) -> String {
        self.style(Style::new().dimmed(), text)
    }

    /// A severity word, coloured by severity.
    pub fn severity(&self, s: Severity) -> String {
        let color = match s {
            Severity::Critical | Severity::High | Severity::Error => AnsiColor::Red,
            Severity::Medium | Severity::Warning => AnsiColor::Yellow,
            Severity::Low | Severity::Info => AnsiColor::Cyan,
        };
        self.style(Style::new().fg_color(Some(color.into())).bold(), s.as_str())
    }

    /// Write product text to stdout.
    pub fn out(&self, text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = o.write_all(b"\n");
        }
        let _ = o.flush();
    }

    /// Write a value as pretty JSON to stdout.
    pub fn json(&self, v: &impl Serialize) {
        self.out(
            &serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        );
    }

    /// An informational message on stderr (suppressed by `-q`).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }

    /// A verbose message on stderr (`-v`).
    pub fn debug(&self, text: &str) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", self.dim(text));
        }
    }

    /// Findings as readable lines.
    pub fn findings_text(&self, findings: &[&Finding]) -> String {
        let mut s = String::new();
        for f in findings {
            let sev = self.severity(f.severity);
            let mut loc = f.location.document.clone();
            if let Some(st) = &f.location.statement {
                loc.push_str(&format!(", {st}"));
            }
            if let Some(k) = &f.location.key {
                loc.push_str(&format!(", {k}"));
            }
            s.push_str(&format!(
                "{} {sev} {}\n  {}\n",
                self.bold(f.rule),
                f.message,
                self.dim(&format!("at {loc}"))
            ));
            if let Some(v) = &f.location.value {
                s.push_str(&format!("  {}\n", self.dim(&format!("value: {v}"))));
            }
            if let Some(r) = &f.allowed {
                s.push_str(&format!(
                    "  {}\n",
                    self.dim(&format!("allowed for this role: {r}"))
                ));
            }
        }
        s
    }

    /// A plan the way Terraform shows one: `+`, `~`, `-` per change, a diff of every changed
    /// document, and a summary line.
    pub fn plan_text(&self, plan: &Plan) -> String {
        if plan.is_empty() {
            return "No changes. IAM matches the configuration.".to_string();
        }
        let mut s = String::from("keyless will make these changes:\n\n");
        for c in &plan.changes {
            let (sym, color) = match c.action() {
                Action::Create => ("+", AnsiColor::Green),
                Action::Update => ("~", AnsiColor::Yellow),
                Action::Delete => ("-", AnsiColor::Red),
            };
            let sym = self.style(Style::new().fg_color(Some(color.into())).bold(), sym);
            s.push_str(&format!(
                "  {sym} {}  {}\n",
                c.address(),
                self.dim(&format!("({})", c.api()))
            ));
            if let Some(d) = c.detail() {
                s.push_str(&format!("      {}\n", self.dim(&d)));
            }
            if let Some((before, after)) = c.documents()
                && before.is_some()
                && after.is_some()
            {
                for line in document_diff(before, after).lines().skip(2) {
                    let styled = if line.starts_with('+') {
                        self.style(Style::new().fg_color(Some(AnsiColor::Green.into())), line)
                    } else if line.starts_with('-') {
                        self.style(Style::new().fg_color(Some(AnsiColor::Red.into())), line)
                    } else {
                        self.dim(line)
                    };
                    s.push_str(&format!("      {styled}\n"));
                }
            }
        }
        let sum = plan.summary();
        s.push_str(&format!(
            "\nPlan: {} to add, {} to change, {} to destroy.",
            sum.create, sum.update, sum.delete
        ));
        s
    }

    /// Drift findings grouped by role, for people.
    pub fn drift_text(
        &self,
        findings: &[DriftFinding],
        fail_on: Severity,
        account: &str,
        roles: usize,
    ) -> String {
        if findings.is_empty() {
            return format!(
                "In sync: {roles} role(s) in account {account} match the configuration."
            );
        }
        let failing = findings.iter().filter(|f| f.severity >= fail_on).count();
        let mut s = format!(
            "Drift in account {account}: {} difference(s), {failing} at or above {}.\n",
            findings.len(),
            fail_on.as_str()
        );
        let mut groups: Vec<(String, Vec<&DriftFinding>)> = Vec::new();
        for f in findings {
            let key = f
                .role
                .clone()
                .map(|r| format!("role {r}"))
                .unwrap_or_else(|| "account".into());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(f),
                None => groups.push((key, vec![f])),
            }
        }
        for (key, list) in groups {
            s.push_str(&format!("\n{}\n", self.bold(&key)));
            for f in list {
                s.push_str(&format!(
                    "  {:<8} {}  {}\n",
                    self.severity(f.severity),
                    self.bold(&snake(&format!("{:?}", f.kind))),
                    self.dim(&f.resource)
                ));
                s.push_str(&format!("           {}\n", f.message));
                if let Some(d) = &f.diff {
                    s.push_str(&format!(
                        "           {}\n",
                        self.dim("(- live, + keyless.toml)")
                    ));
                    for line in d.lines().skip(2) {
                        s.push_str(&format!("           {line}\n"));
                    }
                }
            }
        }
        s.push_str("\nRun `keyless plan` to see the changes that restore the configuration, `keyless apply` to make them.");
        s
    }

    /// GitHub Actions workflow commands: `::error` at or above the threshold, `::warning` below.
    pub fn drift_annotations(&self, findings: &[DriftFinding], fail_on: Severity) -> String {
        fn data(s: &str) -> String {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        }
        fn prop(s: &str) -> String {
            data(s).replace(':', "%3A").replace(',', "%2C")
        }
        if findings.is_empty() {
            return "::notice title=keyless check::IAM matches keyless.toml".to_string();
        }
        let mut s = String::new();
        for f in findings {
            let level = if f.severity >= fail_on {
                "error"
            } else {
                "warning"
            };
            let title = format!("keyless drift ({}): {}", f.severity.as_str(), f.resource);
            let mut msg = format!("{}: {}", snake(&format!("{:?}", f.kind)), f.message);
            if let Some(d) = &f.diff {
                msg.push('\n');
                msg.push_str(d);
            }
            s.push_str(&format!(
                "::{level} title={}::{}\n",
                prop(&title),
                data(&msg)
            ));
        }
        s
    }

    /// A Markdown report for $GITHUB_STEP_SUMMARY.
    pub fn drift_markdown(
        &self,
        findings: &[DriftFinding],
        fail_on: Severity,
        account: &str,
        config: &str,
    ) -> String {
        let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
        if findings.is_empty() {
            return format!(
                "## keyless check: in sync\n\nIAM in account `{account}` matches `{config}`.\n"
            );
        }
        let failing = findings.iter().filter(|f| f.severity >= fail_on).count();
        let mut s = format!(
            "## keyless check: drift\n\n{} difference(s) in account `{account}` against `{config}`, {failing} at or above `{}`.\n\n| severity | kind | resource | what |\n|---|---|---|---|\n",
            findings.len(),
            fail_on.as_str()
        );
        for f in findings {
            s.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                f.severity.as_str(),
                snake(&format!("{:?}", f.kind)),
                cell(&f.resource),
                cell(&f.message)
            ));
        }
        for f in findings.iter().filter(|f| f.diff.is_some()) {
            s.push_str(&format!(
                "\n<details><summary>{}</summary>\n\n```diff\n{}\n```\n</details>\n",
                cell(&f.resource),
                f.diff.as_deref().unwrap_or("").trim_end()
            ));
        }
        s.push_str("\nRestore with `keyless plan` then `keyless apply`.\n");
        s
    }
}

/// `TrustPolicyChanged` → `trust_policy_changed`
fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
