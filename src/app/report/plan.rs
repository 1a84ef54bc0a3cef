//! `keyless plan` and `keyless destroy`: the changes, Terraform-style for people (`+`, `~`, `-`,
//! a diff of every changed document, a summary line) and as documented JSON.

use serde::Serialize;

use keyless::policy::document as policy;
use keyless::policy::lint::Finding;
use keyless::state::github_plan::{GitHubChange, GitHubPlan};
use keyless::state::plan::{Action, Change, Plan, Summary, document_diff};
use keyless::state::render::{Rendered, RoleDocuments};

use super::{FORMAT_VERSION, Report, findings_text};
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
    /// Every role the plan creates or changes: what it will trust and what it may do.
    pub roles: Vec<RoleReview>,
    /// Lint findings of the planned documents that do not block (blocking ones stop the plan).
    pub findings: Vec<&'a Finding>,
    /// The GitHub half: variables and environments (`null` when GitHub was not read).
    pub github: Option<GitHubView<'a>>,
    #[serde(skip)]
    plan: &'a Plan,
}

/// The GitHub half of a plan in JSON.
#[derive(Debug, Clone, Serialize)]
pub struct GitHubView<'a> {
    /// Changes in order, each with its symbol, address and REST call.
    pub changes: Vec<GitHubChangeView<'a>>,
    /// What a reviewer should know.
    pub warnings: &'a [String],
}

/// One GitHub change in JSON.
#[derive(Debug, Clone, Serialize)]
pub struct GitHubChangeView<'a> {
    /// `+`, `~` or `-`.
    pub symbol: &'static str,
    /// What it changes.
    pub address: String,
    /// The REST call.
    pub api: &'static str,
    /// The change with its data.
    pub change: &'a GitHubChange,
}

/// A created or changed role, for review before apply.
#[derive(Debug, Clone, Serialize)]
pub struct RoleReview {
    /// Role name.
    pub name: String,
    /// The `sub` values (and claims) it will trust.
    pub subjects: Vec<String>,
    /// One line per permission policy: `<attach> <name>: <actions> on <resources>`.
    pub policies: Vec<String>,
}

impl RoleReview {
    fn of(role: &RoleDocuments) -> RoleReview {
        let mut policies: Vec<String> = role
            .policies
            .iter()
            .map(|p| {
                format!(
                    "{} policy {}: {}",
                    p.attach,
                    p.name,
                    policy::summary(&p.document)
                )
            })
            .collect();
        policies.extend(
            role.managed_policy_arns
                .iter()
                .map(|a| format!("managed policy {a}")),
        );
        RoleReview {
            name: role.name.clone(),
            subjects: role.subjects.clone(),
            policies,
        }
    }
}

impl<'a> PlanReport<'a> {
    /// The report of `plan`, computed for `rendered` (its config, target, roles and findings).
    pub fn new(
        plan: &'a Plan,
        rendered: &'a Rendered,
        github: Option<&'a GitHubPlan>,
    ) -> PlanReport<'a> {
        let target = &rendered.target;
        let touched: Vec<&str> = plan
            .changes
            .iter()
            .filter(|c| c.action() != Action::Delete)
            .filter_map(Change::role)
            .collect();
        let roles = rendered
            .roles
            .iter()
            .filter(|r| touched.contains(&r.name.as_str()))
            .map(RoleReview::of)
            .collect();
        PlanReport {
            format_version: FORMAT_VERSION,
            config: &rendered.config,
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
            roles,
            findings: rendered.findings().filter(|f| !f.blocks()).collect(),
            github: github.map(|g| GitHubView {
                changes: g
                    .changes
                    .iter()
                    .map(|c| GitHubChangeView {
                        symbol: c.symbol(),
                        address: c.address(),
                        api: c.api(),
                        change: c,
                    })
                    .collect(),
                warnings: &g.warnings,
            }),
            plan,
        }
    }
}

impl Report for PlanReport<'_> {
    fn human(&self) -> String {
        let github_changes = self.github.as_ref().map_or(0, |g| g.changes.len());
        let mut s = if self.plan.is_empty() && github_changes > 0 {
            "IAM: no changes.".to_string()
        } else {
            plan_text(self.plan)
        };
        if let Some(g) = &self.github {
            if g.changes.is_empty() {
                s.push_str("\nGitHub: no changes.");
            } else {
                s.push_str("\n\nkeyless will make these changes on GitHub:\n\n");
                for c in &g.changes {
                    s.push_str(&format!(
                        "  {} {}  {}\n",
                        style::symbol(c.symbol),
                        c.address,
                        style::dim(&format!("({})", c.api))
                    ));
                    if let Some(d) = c.change.detail() {
                        s.push_str(&format!("      {}\n", style::dim(&d)));
                    }
                }
                s.push_str(&format!("\nGitHub: {} change(s).", g.changes.len()));
            }
        }
        for r in &self.roles {
            s.push_str(&format!("\n\n{} {}", style::bold("role"), r.name));
            s.push_str(&format!(
                "\n  {} {}",
                style::dim("trusts"),
                r.subjects.join(" | ")
            ));
            for p in &r.policies {
                s.push_str(&format!("\n  {} {p}", style::dim("may")));
            }
        }
        s
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![style::dim(&format!(
            "config {} (tag keyless:config on what it owns)",
            self.config
        ))];
        notes.extend(self.notes.iter().map(|n| style::dim(&format!("note: {n}"))));
        if let Some(g) = &self.github {
            notes.extend(
                g.warnings
                    .iter()
                    .map(|w| format!("{} {w}", style::bad("warning:"))),
            );
        }
        if !self.findings.is_empty() {
            notes.push(format!(
                "{} lint finding(s) that do not block:\n{}",
                self.findings.len(),
                findings_text(&self.findings).trim_end()
            ));
        }
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
