//! `keyless apply`: the plan it carried out, how many changes were made, and for each role what
//! the GitHub side needs (the variable, the commands that set it, the workflow).

use serde::Serialize;

use keyless::state::variable::Variable;

use super::plan::PlanReport;
use super::{FORMAT_VERSION, Report};
use crate::app::style;

/// One role's GitHub wiring.
#[derive(Debug, Clone, Serialize)]
pub struct RoleWiring {
    /// Role name.
    pub name: String,
    /// Role ARN.
    pub arn: String,
    /// The variable and where to set it.
    pub variable: Variable,
    /// The workflow that assumes the role.
    pub workflow: String,
}

/// `keyless apply --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// The plan that was applied.
    pub plan: PlanReport<'a>,
    /// Changes made.
    pub applied: usize,
    /// Every role of the config.
    pub roles: Vec<RoleWiring>,
    /// keyless set the variables on GitHub itself (GitHub was read and written).
    pub github_wired: bool,
    /// What stopped the apply part-way (the exit status is then 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<'a> ApplyReport<'a> {
    /// A report of `applied` changes of `plan`.
    pub fn new(
        plan: PlanReport<'a>,
        applied: usize,
        roles: Vec<RoleWiring>,
        github_wired: bool,
    ) -> ApplyReport<'a> {
        ApplyReport {
            format_version: FORMAT_VERSION,
            plan,
            applied,
            roles,
            github_wired,
            error: None,
        }
    }

    /// The report of an apply that stopped part-way with `error`, after `applied` changes.
    pub fn failed(plan: PlanReport<'a>, applied: usize, error: String) -> ApplyReport<'a> {
        ApplyReport {
            format_version: FORMAT_VERSION,
            plan,
            applied,
            roles: Vec::new(),
            github_wired: false,
            error: Some(error),
        }
    }
}

impl Report for ApplyReport<'_> {
    fn human(&self) -> String {
        let mut s = String::new();
        for r in &self.roles {
            s.push_str(&format!(
                "\n{} {}\n  {}={}\n",
                style::bold("role"),
                r.name,
                r.variable.name,
                r.variable.value
            ));
            for t in &r.variable.targets {
                if self.github_wired {
                    s.push_str(&format!(
                        "  {} {}{}\n",
                        style::dim("set on GitHub:"),
                        t.repo,
                        t.environment
                            .as_ref()
                            .map(|e| format!(" (environment {e})"))
                            .unwrap_or_default()
                    ));
                } else {
                    s.push_str(&format!("  {}\n", t.command));
                }
            }
        }
        if self.github_wired {
            s.push_str(&format!(
                "\n{}\n",
                style::bold(if self.roles.len() == 1 {
                    "Left for you: commit the workflow below to the repository."
                } else {
                    "Left for you: commit each role's workflow (keyless emit workflow --role NAME) to its repository."
                })
            ));
        }
        if let [r] = self.roles.as_slice() {
            s.push_str(&format!(
                "\n{}\n{}",
                style::dim(&format!("# .github/workflows/deploy-{}.yml", r.name)),
                r.workflow
            ));
        } else {
            s.push_str(&format!(
                "\n{}\n",
                style::dim("# workflow for each role: keyless emit workflow --role NAME")
            ));
        }
        s
    }
}
