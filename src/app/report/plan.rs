//! `keyless plan` and `keyless destroy`: the changes, Terraform-style for people (`+`, `~`, `-`,
//! a diff of every changed document, a summary line) and as documented JSON.

use serde::Serialize;

use keyless::plan::{Action, Change, Plan, Summary, document_diff};
use keyless::render::Target;

use super::{FORMAT_VERSION, Report};
use crate::app::style;

/// One change as shown in JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeView<'a> {
    /// create, update or delete.
    pub action: Action,
    /// Resource address.
    pub address: String,
    /// IAM API called.
    pub api: &'static str,
    /// The change with its data (`type` names it).
    pub change: &'a Change,
}

/// `keyless plan --output json` (and the `plan` inside apply's report).
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport<'a> {
    /// Schema version of this document.
    pub format_version: u32,
    /// The config whose resources these are (`keyless:config`).
    pub config: &'a str,
    /// Account.
    pub account_id: &'a str,
    /// Partition.
    pub partition: &'a str,
    /// Changes in order.
    pub changes: Vec<ChangeView<'a>>,
    /// Things left alone on purpose.
    pub notes: &'a [String],
    /// Counts.
    pub summary: Summary,
    #[serde(skip)]
    plan: &'a Plan,
}

impl<'a> PlanReport<'a> {
    /// The report of `plan` for `target`.
    pub fn new(plan: &'a Plan, config: &'a str, target: &'a Target) -> PlanReport<'a> {
        PlanReport {
            format_version: FORMAT_VERSION,
            config,
            account_id: &target.account_id,
            partition: &target.partition,
            changes: plan
                .changes
                .iter()
                .map(|c| ChangeView {
                    action: c.action(),
                    address: c.address(),
                    api: c.api(),
                    change: c,
                })
                .collect(),
            notes: &plan.notes,
            summary: plan.summary(),
            plan,
        }
    }
}

impl Report for PlanReport<'_> {
    fn human(&self) -> String {
        plan_text(self.plan)
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![style::dim(&format!(
            "config {} (tag keyless:config on what it owns)",
            self.config
        ))];
        notes.extend(self.notes.iter().map(|n| style::dim(&format!("note: {n}"))));
        notes
    }
}

fn plan_text(plan: &Plan) -> String {
    if plan.is_empty() {
        return "No changes. IAM matches the configuration.".to_string();
    }
    let mut s = String::from("keyless will make these changes:\n\n");
    for c in &plan.changes {
        let sym = match c.action() {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        };
        s.push_str(&format!(
            "  {} {}  {}\n",
            style::symbol(sym),
            c.address(),
            style::dim(&format!("({})", c.api()))
        ));
        if let Some(d) = c.detail() {
            s.push_str(&format!("      {}\n", style::dim(&d)));
        }
        if let Some((before, after)) = c.documents()
            && before.is_some()
            && after.is_some()
        {
            for line in document_diff(before, after).lines().skip(2) {
                let styled = if line.starts_with('+') {
                    style::added(line)
                } else if line.starts_with('-') {
                    style::removed(line)
                } else {
                    style::dim(line)
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
