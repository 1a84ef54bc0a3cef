//! The one finding type. Lint (KL rules), the audit (KA rules and the lint rules it applies to
//! live documents) and drift (kinds) all report a [`Finding`]: an ID from the catalogue, a
//! severity, where (role, resource, position in a document), a message, and for drift the lint
//! rule that raised it and a diff. Reports, SARIF, annotations and the trust map read this type.
//!
//! The JSON each command prints keeps its documented shape: a drift finding names its ID
//! `kind` (and the lint rule behind it `rule`), every other finding names its ID `rule`.
//!
//! The catalogue of IDs is [`crate::policy::lint::RULES`] (KL), [`AUDIT_RULES`] (KA) and
//! [`DriftKind::ALL`]; [`catalogue`] lists them all.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::policy::lint::catalogue::{RULES, Rule, Severity};

/// Where in a document a finding points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Which document, e.g. `role gha-deploy: trust policy`.
    pub document: String,
    /// Statement index and Sid, e.g. `Statement[0] (GitHubActions)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// Condition key or field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The offending value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Location {
    /// No position (a finding about a whole role or account).
    pub fn is_empty(&self) -> bool {
        self == &Location::default()
    }
}

/// One finding: lint, audit or drift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The catalogue ID: `KLnnn` (lint), `KAnnn` (audit), or a drift kind
    /// (`trust_policy_changed`, see [`DriftKind`]).
    pub rule: &'static str,
    /// Severity (the rule's, or the loosest value's for KL008, or as the drift's evidence says).
    pub severity: Severity,
    /// What is wrong here.
    pub message: String,
    /// Where in a document; empty when the finding is about a whole role or account.
    pub location: Location,
    /// Set when the config allows this rule for the role: the reason given.
    pub allowed: Option<String>,
    /// The role it concerns, if any.
    pub role: Option<String>,
    /// The resource, e.g. a role or provider ARN, or `role gha-site trust policy`.
    pub resource: Option<String>,
    /// For drift: the lint rule that raised the severity, or that the finding is about.
    pub raised_by: Option<&'static str>,
    /// For drift: a unified diff (live → config) of the document.
    pub diff: Option<String>,
}

impl Finding {
    /// A finding with an ID, severity and message, nothing else set yet.
    pub fn new(rule: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity,
            message: message.into(),
            location: Location::default(),
            allowed: None,
            role: None,
            resource: None,
            raised_by: None,
            diff: None,
        }
    }

    /// A drift finding of `kind`.
    pub fn drift(kind: DriftKind, severity: Severity, message: impl Into<String>) -> Finding {
        Finding::new(kind.id(), severity, message)
    }

    /// About `role`.
    pub fn on_role(mut self, role: Option<String>) -> Finding {
        self.role = role;
        self
    }

    /// About `resource`.
    pub fn on(mut self, resource: impl Into<String>) -> Finding {
        self.resource = Some(resource.into());
        self
    }

    /// The resource it is about, or `""`.
    pub fn resource_name(&self) -> &str {
        self.resource.as_deref().unwrap_or_default()
    }

    /// How to fix it: the catalogue's line for its ID (the lint rule behind a drift finding
    /// first, when there is one).
    pub fn fix(&self) -> Option<&'static str> {
        let rule = |id: &str| {
            RULES
                .iter()
                .chain(AUDIT_RULES)
                .find(|r| r.id == id)
                .map(|r| r.fix)
        };
        self.raised_by
            .and_then(rule)
            .or_else(|| rule(self.rule))
            .or_else(|| self.kind().map(DriftKind::fix))
    }

    /// The drift kind, when this is a drift finding.
    pub fn kind(&self) -> Option<DriftKind> {
        DriftKind::from_id(self.rule)
    }

    /// What the finding is called in a table: the lint rule behind a drift finding, else its ID.
    pub fn label(&self) -> &'static str {
        self.raised_by.unwrap_or(self.rule)
    }

    /// Does this finding stop the command?
    pub fn blocks(&self) -> bool {
        self.severity.blocks() && self.allowed.is_none()
    }

    /// Where the finding is: the document, then the statement and key when known.
    pub fn place(&self) -> String {
        let mut loc = self.location.document.clone();
        if let Some(st) = &self.location.statement {
            loc.push_str(&format!(", {st}"));
        }
        if let Some(k) = &self.location.key {
            loc.push_str(&format!(", {k}"));
        }
        loc
    }

    /// The finding as plain text: `RULE severity message`, then where, the value and the
    /// reason it is allowed, one indented line each.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} {} {}\n  at {}\n",
            self.rule,
            self.severity.as_str(),
            self.message,
            self.place()
        );
        if let Some(v) = &self.location.value {
            s.push_str(&format!("  value: {v}\n"));
        }
        if let Some(r) = &self.allowed {
            s.push_str(&format!("  allowed for this role: {r}\n"));
        }
        s
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let drift = self.kind().is_some();
        m.serialize_entry(if drift { "kind" } else { "rule" }, self.rule)?;
        m.serialize_entry("severity", &self.severity)?;
        if let Some(r) = &self.role {
            m.serialize_entry("role", r)?;
        }
        if let Some(r) = &self.resource {
            m.serialize_entry("resource", r)?;
        }
        m.serialize_entry("message", &self.message)?;
        if !self.location.is_empty() {
            m.serialize_entry("location", &self.location)?;
        }
        if let Some(a) = &self.allowed {
            m.serialize_entry("allowed", a)?;
        }
        if let Some(r) = self.raised_by {
            m.serialize_entry("rule", r)?;
        }
        if let Some(d) = &self.diff {
            m.serialize_entry("diff", d)?;
        }
        m.end()
    }
}

/// What kind of drift a finding is. The names are part of the JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DriftKind {
    /// The OIDC provider for the issuer is gone.
    ProviderMissing,
    /// A configured audience is no longer among the provider's client IDs.
    AudienceRemoved,
    /// A configured role does not exist.
    RoleMissing,
    /// A configured role exists without `managed-by = keyless`.
    RoleNotManaged,
    /// A role outside the config trusts the GitHub provider (its trust policy is linted too).
    ExtraRole,
    /// A role of another keyless config trusts the provider: information, not drift.
    OtherConfigRole,
    /// A role carries this config's tag but is no longer in it: apply deletes it (information
    /// with `keep_removed_roles`).
    RemovedRole,
    /// The trust policy differs from the config.
    TrustPolicyChanged,
    /// The live trust policy fails a blocking lint rule.
    TrustPolicyLint,
    /// A keyless-owned managed policy's document differs.
    PermissionPolicyChanged,
    /// A keyless-owned managed policy is gone.
    PolicyMissing,
    /// A configured policy is no longer attached.
    PolicyDetached,
    /// A policy not in the config is attached.
    ExtraPolicyAttached,
    /// An inline policy not in the config was added.
    InlinePolicyAdded,
    /// A configured inline policy differs.
    InlinePolicyChanged,
    /// A configured inline policy is gone.
    InlinePolicyMissing,
    /// The permissions boundary was changed or removed.
    BoundaryChanged,
    /// The max session duration differs.
    MaxSessionChanged,
    /// The description differs.
    DescriptionChanged,
    /// Tags differ.
    TagsChanged,
    /// Something keyless cannot reconcile (e.g. a role moved to another path).
    Unreconcilable,
    /// GitHub: a role's ARN variable is missing or holds another value.
    GithubVariable,
    /// GitHub: the repository now mints another subject form (renamed, transferred, opted in).
    GithubSubjectForm,
    /// GitHub: a role's environment is missing or has no protection.
    GithubEnvironment,
    /// GitHub: the repository is archived or gone.
    GithubRepository,
    /// A config role holds actions its records show unused over the window (`check --usage`).
    UnusedPermission,
}

impl Serialize for DriftKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl DriftKind {
    /// Every kind, with its ID, usual severity and what it means (the catalogue's drift part;
    /// README's check table is tested against it).
    pub const ALL: &[(DriftKind, &str, Severity, &str)] = &[
        (
            DriftKind::ProviderMissing,
            "provider_missing",
            Severity::High,
            "the OIDC provider for the issuer is gone",
        ),
        (
            DriftKind::AudienceRemoved,
            "audience_removed",
            Severity::High,
            "a configured audience was removed from the provider's client IDs",
        ),
        (
            DriftKind::RoleMissing,
            "role_missing",
            Severity::High,
            "a configured role does not exist",
        ),
        (
            DriftKind::RoleNotManaged,
            "role_not_managed",
            Severity::Medium,
            "the role lost its managed-by = keyless tag",
        ),
        (
            DriftKind::ExtraRole,
            "extra_role",
            Severity::Info,
            "a role outside the config trusts the GitHub provider (audit judges it)",
        ),
        (
            DriftKind::OtherConfigRole,
            "other_config_role",
            Severity::Info,
            "a role of another keyless config trusts the provider",
        ),
        (
            DriftKind::RemovedRole,
            "removed_role",
            Severity::Medium,
            "a role carries this config's tag but is no longer in it",
        ),
        (
            DriftKind::TrustPolicyChanged,
            "trust_policy_changed",
            Severity::High,
            "the trust policy differs",
        ),
        (
            DriftKind::TrustPolicyLint,
            "trust_policy_lint",
            Severity::High,
            "the live trust policy fails a blocking lint rule",
        ),
        (
            DriftKind::PermissionPolicyChanged,
            "permission_policy_changed",
            Severity::High,
            "a keyless-owned policy's default version differs",
        ),
        (
            DriftKind::PolicyMissing,
            "policy_missing",
            Severity::Medium,
            "a configured policy is gone",
        ),
        (
            DriftKind::PolicyDetached,
            "policy_detached",
            Severity::Medium,
            "a configured policy is no longer attached",
        ),
        (
            DriftKind::ExtraPolicyAttached,
            "extra_policy_attached",
            Severity::High,
            "a policy not in the config is attached",
        ),
        (
            DriftKind::InlinePolicyAdded,
            "inline_policy_added",
            Severity::High,
            "an inline policy was added by hand",
        ),
        (
            DriftKind::InlinePolicyChanged,
            "inline_policy_changed",
            Severity::High,
            "an inline policy was edited by hand",
        ),
        (
            DriftKind::InlinePolicyMissing,
            "inline_policy_missing",
            Severity::Medium,
            "a configured inline policy is gone",
        ),
        (
            DriftKind::BoundaryChanged,
            "boundary_changed",
            Severity::Medium,
            "the permissions boundary differs",
        ),
        (
            DriftKind::MaxSessionChanged,
            "max_session_changed",
            Severity::Low,
            "the session length differs",
        ),
        (
            DriftKind::DescriptionChanged,
            "description_changed",
            Severity::Info,
            "the description differs",
        ),
        (
            DriftKind::TagsChanged,
            "tags_changed",
            Severity::Low,
            "the tags differ",
        ),
        (
            DriftKind::Unreconcilable,
            "unreconcilable",
            Severity::High,
            "something keyless cannot reconcile, e.g. a role moved to another path",
        ),
        (
            DriftKind::GithubVariable,
            "github_variable",
            Severity::Medium,
            "a role's ARN variable is missing or holds another value",
        ),
        (
            DriftKind::GithubSubjectForm,
            "github_subject_form",
            Severity::High,
            "the repository now mints another subject form",
        ),
        (
            DriftKind::GithubEnvironment,
            "github_environment",
            Severity::Medium,
            "a role's environment is missing or has no protection",
        ),
        (
            DriftKind::GithubRepository,
            "github_repository",
            Severity::High,
            "the repository is gone or archived",
        ),
        (
            DriftKind::UnusedPermission,
            "unused_permission",
            Severity::Low,
            "a role holds actions its records show unused over the window (with --usage)",
        ),
    ];

    /// How to put it right, in one line.
    pub fn fix(self) -> &'static str {
        use DriftKind::*;
        match self {
            ProviderMissing
            | AudienceRemoved
            | RoleMissing
            | TrustPolicyChanged
            | PermissionPolicyChanged
            | PolicyMissing
            | PolicyDetached
            | ExtraPolicyAttached
            | InlinePolicyAdded
            | InlinePolicyChanged
            | InlinePolicyMissing
            | BoundaryChanged
            | MaxSessionChanged
            | DescriptionChanged
            | TagsChanged => {
                "keyless plan shows what restores the config; keyless apply makes it (or change keyless.toml if the change was meant)"
            }
            RoleNotManaged => {
                "add adopt = true to the role in keyless.toml to take it over, or rename the role"
            }
            ExtraRole => {
                "review it with keyless audit; add it to a config with adopt = true, or delete it"
            }
            OtherConfigRole => "nothing: that config's own check covers it",
            RemovedRole => {
                "keyless apply deletes it; set keep_removed_roles = true to keep such roles"
            }
            TrustPolicyLint => "narrow the live trust (keyless apply restores the config's)",
            Unreconcilable => "follow the message: keyless will not change this itself",
            GithubVariable => "keyless apply sets the variable (with GitHub read)",
            GithubSubjectForm => {
                "keyless migrate-subjects moves the trust to the form the repository mints"
            }
            GithubEnvironment => "create the environment with protection rules, or keyless apply",
            GithubRepository => "remove the repository's subjects, or trust its immutable sub",
            UnusedPermission => {
                "keyless tighten proposes the grant the role used (review, --write, then keyless apply)"
            }
        }
    }

    /// The kind's ID, as JSON names it.
    pub fn id(self) -> &'static str {
        DriftKind::ALL
            .iter()
            .find(|(k, ..)| *k == self)
            .map(|(_, id, ..)| *id)
            .unwrap_or("unknown")
    }

    /// The kind with ID `id`.
    pub fn from_id(id: &str) -> Option<DriftKind> {
        DriftKind::ALL
            .iter()
            .find(|(_, i, ..)| *i == id)
            .map(|(k, ..)| *k)
    }
}

/// The audit's own rules (the lint rules it applies to live documents are [`RULES`]).
pub const AUDIT_RULES: &[Rule] = &[
    Rule {
        id: "KA001",
        severity: Severity::Low,
        title: "a GitHub OIDC provider that no role trusts",
        fix: "delete the provider if no role will trust it",
    },
    Rule {
        id: "KA002",
        severity: Severity::Low,
        title: "a GitHub-trusting role unused for longer than --unused-days",
        fix: "delete the role, or keep it and say why (it is reachable from GitHub)",
    },
    Rule {
        id: "KA003",
        severity: Severity::High,
        title: "a classic subject names a repository that no longer exists (its name can be registered again)",
        fix: "delete the role, or pin its trust to the repository's IDs (the immutable sub) if it is only hidden from the token",
    },
    Rule {
        id: "KA004",
        severity: Severity::Medium,
        title: "a classic subject names a renamed or transferred repository by its old name",
        fix: "trust the repository's new name, by ID (keyless migrate-subjects for a role keyless manages)",
    },
    Rule {
        id: "KA005",
        severity: Severity::High,
        title: "a classic-only trust for a repository that mints immutable subjects (the role cannot be assumed)",
        fix: "trust the immutable sub (keyless migrate-subjects for a role keyless manages)",
    },
    Rule {
        id: "KA006",
        severity: Severity::Low,
        title: "an account whose GitHub-trusting roles no organisation guard covers",
        fix: "attach the organisation guard (keyless guard) to the account's OU, or keep its GitHub roles few and pinned by ID",
    },
    Rule {
        id: "KA008",
        severity: Severity::Medium,
        title: "a hand-made GitHub role granted far more than it used over the window (with --usage)",
        fix: "keyless import --role NAME, then keyless tighten proposes the grant it used",
    },
    Rule {
        id: "KA009",
        severity: Severity::High,
        title: "a stored AWS key in a repository, environment or organisation secret",
        fix: "keyless migrate-keys --repo OWNER/REPO replaces it with a role and retires the key",
    },
    Rule {
        id: "KA010",
        severity: Severity::High,
        title: "an IAM user's access key used from GitHub Actions",
        fix: "keyless migrate-keys --repo OWNER/REPO for each repository that uses it",
    },
    Rule {
        id: "KA011",
        severity: Severity::Medium,
        title: "an active access key older than 90 days",
        fix: "replace it with OIDC (keyless migrate-keys), or rotate it",
    },
    Rule {
        id: "KA012",
        severity: Severity::Low,
        title: "an active access key unused for 90 days",
        fix: "deactivate it (aws iam update-access-key --status Inactive), then delete it",
    },
    Rule {
        id: "KA013",
        severity: Severity::High,
        title: "a key keyless migrate-keys deactivated is active again",
        fix: "find who reactivated it and why (CloudTrail UpdateAccessKey); deactivate it again, or finish with keyless migrate-keys",
    },
    Rule {
        id: "KA007",
        severity: Severity::Medium,
        title: "a subject names a repository GitHub cannot have: the condition never matches",
        fix: "correct the repository name in the trust, or remove the condition",
    },
];

/// One entry of the whole catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The ID.
    pub id: &'static str,
    /// `lint`, `audit` or `drift`.
    pub family: &'static str,
    /// The usual severity.
    pub severity: Severity,
    /// What it detects.
    pub title: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

/// Every ID a finding can carry: lint rules, audit rules, drift kinds.
pub fn catalogue() -> Vec<Entry> {
    let rules = |family, rules: &'static [Rule]| {
        rules.iter().map(move |r| Entry {
            id: r.id,
            family,
            severity: r.severity,
            title: r.title,
            fix: r.fix,
        })
    };
    rules("lint", RULES)
        .chain(rules("audit", AUDIT_RULES))
        .chain(
            DriftKind::ALL
                .iter()
                .map(|(kind, id, severity, title)| Entry {
                    id,
                    family: "drift",
                    severity: *severity,
                    title,
                    fix: kind.fix(),
                }),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_each_id_once_and_every_drift_kind() {
        let all = catalogue();
        let mut ids: Vec<&str> = all.iter().map(|e| e.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "an ID is listed twice");
        for (k, id, ..) in DriftKind::ALL {
            assert_eq!(DriftKind::from_id(id), Some(*k));
            assert_eq!(k.id(), *id);
        }
        assert!(DriftKind::from_id("KL001").is_none());
        // Every entry says how to fix it.
        for e in &all {
            assert!(!e.fix.is_empty(), "{} has no fix", e.id);
        }
        let f = Finding::new("KL002", Severity::Critical, "m");
        assert_eq!(
            f.fix(),
            Some(RULES.iter().find(|r| r.id == "KL002").unwrap().fix)
        );
    }

    #[test]
    fn json_keeps_each_familys_shape() {
        let lint = Finding {
            location: Location {
                document: "d".into(),
                ..Default::default()
            },
            ..Finding::new("KL004", Severity::High, "org-wide")
        };
        assert_eq!(
            serde_json::to_value(&lint).unwrap(),
            serde_json::json!({"rule": "KL004", "severity": "high", "message": "org-wide", "location": {"document": "d"}})
        );
        let mut drift = Finding::drift(DriftKind::TrustPolicyLint, Severity::High, "m")
            .on_role(Some("r".into()))
            .on("role r trust policy");
        drift.raised_by = Some("KL004");
        assert_eq!(
            serde_json::to_value(&drift).unwrap(),
            serde_json::json!({"kind": "trust_policy_lint", "severity": "high", "role": "r", "resource": "role r trust policy", "message": "m", "rule": "KL004"})
        );
        assert_eq!(drift.label(), "KL004");
        assert_eq!(drift.kind(), Some(DriftKind::TrustPolicyLint));
    }
}
