//! `keyless explain`: whether a token would be admitted by a role's trust policy, the deciding
//! step and condition, the fix, and the whole evaluation.

use serde::Serialize;
use serde_json::{Map, Value};

use keyless::policy::evaluate::{ConditionResult, Verdict};
use keyless::policy::explain::Explanation;

use super::{FORMAT_VERSION, Report};
use crate::app::style;

/// The claims shown for a token, in this order.
pub const SHOWN_CLAIMS: [&str; 8] = [
    "iss",
    "aud",
    "sub",
    "repository",
    "ref",
    "environment",
    "event_name",
    "job_workflow_ref",
];

/// `keyless explain --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainReport<'a> {
    /// Schema version.
    pub format_version: u32,
    /// Would STS admit the token?
    pub allowed: bool,
    /// The deciding step: provider, audience, lifetime or trust.
    pub step: &'static str,
    /// What happens, in one sentence.
    pub message: &'a str,
    /// The deciding statement.
    pub deciding_statement: Option<&'a str>,
    /// The deciding condition.
    pub deciding_condition: Option<&'a ConditionResult>,
    /// What to change.
    pub fix: Option<&'a str>,
    /// The token's `sub`.
    pub sub: Option<&'a Value>,
    /// Every claim evaluated.
    pub claims: &'a Map<String, Value>,
    /// The full trust evaluation.
    pub verdict: Option<&'a Verdict>,
    #[serde(skip)]
    explanation: &'a Explanation,
}

impl<'a> ExplainReport<'a> {
    /// The report of `e` for `claims`.
    pub fn new(e: &'a Explanation, claims: &'a Map<String, Value>) -> ExplainReport<'a> {
        ExplainReport {
            format_version: FORMAT_VERSION,
            allowed: e.allowed,
            step: e.step,
            message: &e.message,
            deciding_statement: e.statement.as_deref(),
            deciding_condition: e.condition.as_ref(),
            fix: e.fix.as_deref(),
            sub: claims.get("sub"),
            claims,
            verdict: e.verdict.as_ref(),
            explanation: e,
        }
    }
}

impl Report for ExplainReport<'_> {
    fn human(&self) -> String {
        let e = self.explanation;
        let mut s = String::new();
        for k in SHOWN_CLAIMS {
            if let Some(v) = self.claims.get(k) {
                let v = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                s.push_str(&format!("  {} {v}\n", style::dim(&format!("{k:<17}"))));
            }
        }
        let head = if e.allowed {
            style::ok("ADMITTED")
        } else {
            style::bad(&format!("DENIED at {}", e.step))
        };
        s.push_str(&format!("\n{head}: {}\n", e.message));
        if let Some(f) = &e.fix {
            s.push_str(&format!("  {} {f}\n", style::bold("fix:")));
        }
        if let Some(v) = &e.verdict {
            s.push_str(&format!("\n{}\n", style::dim("trust policy evaluation:")));
            for st in &v.statements {
                s.push_str(&format!(
                    "  {} {}  principal {}  action {}\n",
                    st.label(),
                    st.effect,
                    if st.principal_matches { "ok" } else { "NO" },
                    if st.action_matches { "ok" } else { "NO" }
                ));
                for c in &st.conditions {
                    let presented = c
                        .presented
                        .as_ref()
                        .map(|v| v.join(" | "))
                        .unwrap_or_else(|| "(absent)".into());
                    s.push_str(&format!(
                        "    {} {} {}\n      expected {}\n      presented {presented}\n",
                        if c.passed { "ok " } else { "NO " },
                        c.operator,
                        c.key,
                        c.expected.join(" | ")
                    ));
                }
            }
        }
        s
    }
}
