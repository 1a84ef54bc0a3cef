//! `keyless guard`'s report: the plan (or drift), the dry run per account, and what the reader
//! must know before attaching (the management account, RCPs already there, rollback).

use serde::Serialize;

use keyless::state::guard::{Admitted, GuardChange, RoleImpact, Verdict};

use crate::app::report::Report;
use crate::app::style;

/// The report of `guard plan|apply|check|destroy`.
#[derive(Debug, Clone, Serialize)]
pub struct GuardReport {
    /// Schema version.
    pub format_version: u32,
    /// `plan`, `apply`, `check` or `destroy`.
    pub action: &'static str,
    /// The policy's name.
    pub name: String,
    /// The document the guard wants (empty for destroy).
    pub document: serde_json::Value,
    /// Its size in characters, and AWS's quota.
    pub size: usize,
    /// The quota.
    pub size_quota: usize,
    /// The changes (planned, made, or the drift).
    pub changes: Vec<GuardChange>,
    /// Why keyless refuses to change anything.
    pub refusals: Vec<String>,
    /// What the reader must know.
    pub notes: Vec<String>,
    /// The dry run: every GitHub-trusting role in the targets' accounts.
    pub roles: Vec<RoleImpact>,
    /// Accounts the dry run covered.
    pub accounts: Vec<String>,
    /// Accounts the dry run could not read.
    pub unread: Vec<(String, String)>,
    /// Roles with an owner the guard would refuse (blocked) or cannot judge (unknown ID).
    pub at_risk: usize,
    /// Changes made (apply, destroy).
    pub applied: usize,
}

fn admitted(a: &Admitted) -> String {
    match a {
        Admitted::OwnerId { id, name: Some(n) } => format!("{n} (id {id})"),
        Admitted::OwnerId { id, name: None } => format!("owner id {id}"),
        Admitted::OwnerName { name } => format!("{name} (id not known)"),
        Admitted::Any => "any owner".into(),
    }
}

fn verdict(v: &Verdict) -> &'static str {
    match v {
        Verdict::Kept => "kept",
        Verdict::Blocked => "BLOCKED",
        Verdict::Narrowed => "narrowed to the allowed owners",
        Verdict::Unknown => "blocked unless its id is listed",
        Verdict::Uncovered => "not covered (management account)",
    }
}

/// Roles with an owner that breaks (blocked, or unknown).
pub fn at_risk(roles: &[RoleImpact]) -> usize {
    roles
        .iter()
        .filter(|r| {
            r.admitted
                .iter()
                .any(|(_, v)| matches!(v, Verdict::Blocked | Verdict::Unknown))
        })
        .count()
}

impl Report for GuardReport {
    fn human(&self) -> String {
        let mut s = String::new();
        if !self.refusals.is_empty() {
            // Nothing can be planned or checked while keyless refuses: never "no changes".
            s.push_str("refused: keyless will not change the guard (the reasons follow)\n");
        } else if self.changes.is_empty() {
            s.push_str(match self.action {
                "check" => "no drift: the guard is as configured\n",
                _ => "no changes: the guard is as configured\n",
            });
        } else {
            s.push_str(match self.action {
                "check" => "the guard drifted; apply would make these changes:\n\n",
                "apply" | "destroy" if self.applied > 0 => "changes made:\n\n",
                _ => "keyless guard will make these changes:\n\n",
            });
            for c in &self.changes {
                s.push_str(&format!("  {}  ({})\n", c.describe(&self.name), c.api()));
                if let GuardChange::UpdatePolicy { before, after, .. } = c {
                    // What replaces the live document, line by line.
                    let diff = keyless::state::plan::document_diff(Some(before), Some(after));
                    for line in diff.lines() {
                        s.push_str(&format!("      {line}\n"));
                    }
                }
            }
        }
        if !self.document.is_null() {
            s.push_str(&format!(
                "\npolicy {}: {} of {} characters\n",
                self.name, self.size, self.size_quota
            ));
            if self.action == "plan" {
                s.push_str(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&self.document).unwrap_or_default()
                ));
            }
        }
        if !self.accounts.is_empty() {
            s.push_str(&format!(
                "\ndry run: {} GitHub-trusting role(s) in {} account(s)\n",
                self.roles.len(),
                self.accounts.len()
            ));
            for r in &self.roles {
                for (a, v) in &r.admitted {
                    let line = format!(
                        "  {} {}: admits {} -> {}\n",
                        r.account,
                        r.role,
                        admitted(a),
                        verdict(v)
                    );
                    if matches!(v, Verdict::Blocked | Verdict::Unknown) {
                        s.push_str(&style::bold(&line));
                    } else {
                        s.push_str(&line);
                    }
                }
            }
            for (a, why) in &self.unread {
                s.push_str(&format!("  {a}: not read ({why})\n"));
            }
        }
        s
    }

    fn notes(&self) -> Vec<String> {
        let mut n: Vec<String> = self.notes.clone();
        for r in &self.refusals {
            n.push(format!("refused: {r}"));
        }
        if self.at_risk > 0 {
            n.push(format!(
                "{} role(s) admit an owner the guard would refuse: add the owner's id to [guard] owner_ids if that trust is intended, or attach to one test account or OU first",
                self.at_risk
            ));
        }
        if self.action == "plan" && !self.changes.is_empty() {
            n.push("roll out in stages: one test account, then a low OU, then up; roll back with `keyless guard destroy` (detaches and deletes only this policy)".into());
        }
        n
    }
}
