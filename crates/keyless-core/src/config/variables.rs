//! The GitHub variables a config's role ARNs are stored in: which name each role's variable
//! takes (`AWS_ROLE_ARN`, `AWS_ROLE_ARN_<ROLE>`, or the scheduled jobs' own), and the places
//! (repository, environment) it is set at. Naming only: setting variables is the GitHub
//! executor's, emitting workflows is `artifacts::workflow`'s.

use crate::config::{Config, Role};
use crate::identity::subject::{Scope, SubjectSpec};

/// A scheduled read-only job keyless emits: `keyless check` or `keyless audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    /// Drift of the config's roles (`emit check-workflow`, role with `keyless-check`).
    Check,
    /// The whole account (`emit audit-workflow`, role with `keyless-audit`).
    Audit,
}

impl Scheduled {
    /// The preset its role carries.
    pub fn preset(self) -> &'static str {
        match self {
            Scheduled::Check => "keyless-check",
            Scheduled::Audit => "keyless-audit",
        }
    }

    /// The variable its role's ARN is set in.
    pub fn variable(self) -> &'static str {
        match self {
            Scheduled::Check => "KEYLESS_CHECK_ROLE_ARN",
            Scheduled::Audit => "KEYLESS_AUDIT_ROLE_ARN",
        }
    }

    /// Where the workflow goes in the repository.
    pub fn path(self) -> &'static str {
        match self {
            Scheduled::Check => ".github/workflows/keyless-check.yml",
            Scheduled::Audit => ".github/workflows/keyless-audit.yml",
        }
    }

    /// The `emit` subcommand that prints it.
    pub fn command(self) -> &'static str {
        match self {
            Scheduled::Check => "check-workflow",
            Scheduled::Audit => "audit-workflow",
        }
    }

    /// The scheduled job `role` is for, by its preset.
    pub fn of(role: &Role) -> Option<Scheduled> {
        [Scheduled::Check, Scheduled::Audit]
            .into_iter()
            .find(|k| role.presets.iter().any(|p| p.name == k.preset()))
    }
}

/// Does `role` carry the read-only `keyless-check` (or `keyless-audit`) preset?
pub fn is_check_role(role: &Role) -> bool {
    Scheduled::of(role).is_some()
}

/// The places a role's ARN variable is set: `(owner/repo, environment)` per subject.
pub fn variable_places(role: &Role) -> Vec<(String, Option<String>)> {
    let mut places: Vec<(String, Option<String>)> = Vec::new();
    for s in &role.subjects {
        let place = match &s.spec {
            SubjectSpec::Repo { repo, scope, .. } if repo.name != "*" => (
                repo.full_name(),
                match scope {
                    Scope::Environment(e) => Some(e.clone()),
                    _ => None,
                },
            ),
            _ => ("OWNER/REPO".to_string(), subject_environment(s)),
        };
        if !places.contains(&place) {
            places.push(place);
        }
    }
    places
}

/// The variable a role's ARN is stored in: `KEYLESS_CHECK_ROLE_ARN` for the read-only check
/// role, `AWS_ROLE_ARN` when no other role of the config is set in the same repository and
/// environment, else `AWS_ROLE_ARN_<ROLE>` so that neither overwrites the other.
pub fn variable_name(cfg: &Config, role: &Role) -> String {
    if let Some(v) = &role.variable {
        return v.clone();
    }
    if let Some(kind) = Scheduled::of(role) {
        return kind.variable().into();
    }
    let mine = variable_places(role);
    // Another role of the config at the same place that would take the default name too (one
    // that names its own variable keeps it, so adding such a role renames nothing).
    let shared = cfg
        .roles
        .iter()
        .filter(|r| r.name != role.name && !is_check_role(r))
        .filter(|r| r.variable.as_deref().is_none_or(|v| v == "AWS_ROLE_ARN"))
        .any(|r| variable_places(r).iter().any(|p| mine.contains(p)));
    if !shared {
        return "AWS_ROLE_ARN".into();
    }
    role_variable(&role.name)
}

/// `AWS_ROLE_ARN_<ROLE>`: the variable name that tells a role apart from others at the same
/// place (the role name upper-cased, anything but letters and digits as `_`).
pub fn role_variable(role: &str) -> String {
    let suffix: String = role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("AWS_ROLE_ARN_{suffix}")
}

/// The environment a subject names: its scope, a custom sub's `environment:` segment, or an
/// `environment` claim condition.
pub(crate) fn subject_environment(s: &crate::identity::subject::TrustSubject) -> Option<String> {
    match &s.spec {
        SubjectSpec::Repo {
            scope: Scope::Environment(e),
            ..
        } => return Some(e.clone()),
        SubjectSpec::Custom(sub) => {
            let parts: Vec<&str> = sub.split(':').collect();
            if let Some(i) = parts.iter().position(|p| *p == "environment")
                && let Some(e) = parts.get(i + 1)
                && !e.is_empty()
                && !e.contains(['*', '?'])
            {
                return Some(e.replace("%3A", ":"));
            }
        }
        _ => {}
    }
    s.claims
        .iter()
        .find(|(k, v)| k == "environment" && !v.contains(['*', '?']))
        .map(|(_, v)| v.clone())
}
