//! The rule catalogue: every rule's stable ID, severity, title and fix. Data only; the checks
//! that raise the rules live beside it.

use serde::Serialize;

/// How bad a finding is. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice.
    Info,
    /// Minor hardening.
    Low,
    /// Probably not what was meant.
    Warning,
    /// Hardening that matters.
    Medium,
    /// The role can never work as intended. Blocks.
    Error,
    /// Exploitable over-trust or over-permission. Blocks.
    High,
    /// Anyone on GitHub, or full admin. Blocks.
    Critical,
}

impl Severity {
    /// Does a finding of this severity stop rendering for apply?
    pub fn blocks(self) -> bool {
        self >= Severity::Error
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Warning => "warning",
            Severity::Medium => "medium",
            Severity::Error => "error",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A catalogue entry.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Stable ID.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What it detects.
    pub title: &'static str,
}

use Severity::*;

/// Every rule keyless implements.
pub const RULES: &[Rule] = &[
    Rule {
        id: "KL000",
        severity: Error,
        title: "document is not a well-formed IAM policy",
    },
    Rule {
        id: "KL001",
        severity: Critical,
        title: "no sub and no job_workflow_ref condition: any repository on GitHub can assume the role",
    },
    Rule {
        id: "KL002",
        severity: Critical,
        title: "a sub value matches every repository",
    },
    Rule {
        id: "KL003",
        severity: Critical,
        title: "wildcard in the owner part of sub (attacker-registrable owners match)",
    },
    Rule {
        id: "KL004",
        severity: High,
        title: "org-wide trust repo:OWNER/* (every current and future repository)",
    },
    Rule {
        id: "KL005",
        severity: High,
        title: "wildcard in the repository name (sibling repositories match)",
    },
    Rule {
        id: "KL006",
        severity: Medium,
        title: "repository-wide trust repo:o/r:* (pull requests, every branch, tag and environment)",
    },
    Rule {
        id: "KL007",
        severity: Medium,
        title: "branch, tag or environment wildcard",
    },
    Rule {
        id: "KL008",
        severity: Info,
        title: "multi-value list mixing tight and loose values (reported at the loosest value's severity)",
    },
    Rule {
        id: "KL009",
        severity: Medium,
        title: "no aud condition",
    },
    Rule {
        id: "KL010",
        severity: Low,
        title: "wildcard aud under StringLike",
    },
    Rule {
        id: "KL011",
        severity: High,
        title: "ForAllValues: on a claim key in an Allow (true when the key is absent)",
    },
    Rule {
        id: "KL012",
        severity: High,
        title: "...IfExists on a claim key (an absent key matches)",
    },
    Rule {
        id: "KL013",
        severity: High,
        title: "negated operators are the only subject scope",
    },
    Rule {
        id: "KL014",
        severity: Error,
        title: "condition key not supported for this issuer and partition",
    },
    Rule {
        id: "KL015",
        severity: Error,
        title: "condition key prefix differs from the provider in the principal",
    },
    Rule {
        id: "KL016",
        severity: Error,
        title: "the trusted subject form differs from the one GitHub reports the repository mints (every token is denied)",
    },
    Rule {
        id: "KL017",
        severity: High,
        title: "wildcard IDs in an immutable subject",
    },
    Rule {
        id: "KL018",
        severity: Low,
        title: "trust pinned by names only (no immutable sub or repository_id)",
    },
    Rule {
        id: "KL019",
        severity: Critical,
        title: "custom sub led by a user-controllable claim with no owner-bound claim",
    },
    Rule {
        id: "KL020",
        severity: High,
        title: "trust rests only on job_workflow_ref (any repository may call a public reusable workflow)",
    },
    Rule {
        id: "KL021",
        severity: Low,
        title: "environment name with `:` or `%3A` (two environments mint the same sub)",
    },
    Rule {
        id: "KL022",
        severity: Medium,
        title: "environment-scoped trust where the environment does not exist or has no protection rules and no deployment branch policy",
    },
    Rule {
        id: "KL024",
        severity: Info,
        title: "trust Action broader than sts:AssumeRoleWithWebIdentity",
    },
    Rule {
        id: "KL025",
        severity: Error,
        title: "provider in another account or partition",
    },
    Rule {
        id: "KL026",
        severity: High,
        title: "principal is * or shares a GitHub statement with another identity provider",
    },
    Rule {
        id: "KL027",
        severity: Error,
        title: "duplicate JSON keys (one of them is silently dropped)",
    },
    Rule {
        id: "KL028",
        severity: Warning,
        title: "StringEquals with * or ?, or StringLike without a wildcard",
    },
    Rule {
        id: "KL029",
        severity: Warning,
        title: "environment name casing differs from GitHub's",
    },
    Rule {
        id: "KL030",
        severity: Error,
        title: "trust policy larger than the AssumeRolePolicySizeQuota",
    },
    Rule {
        id: "KL031",
        severity: Info,
        title: "Version missing or not 2012-10-17",
    },
    Rule {
        id: "KL032",
        severity: Error,
        title: "a sub no GitHub token carries (no `claim:value` form, empty owner, or no repository)",
    },
    Rule {
        id: "KL101",
        severity: Critical,
        title: "Action \"*\": every action of every service",
    },
    Rule {
        id: "KL102",
        severity: High,
        title: "service-wide action wildcard such as s3:*",
    },
    Rule {
        id: "KL103",
        severity: High,
        title: "write action on Resource \"*\"",
    },
    Rule {
        id: "KL104",
        severity: Critical,
        title: "iam:PassRole on any role",
    },
    Rule {
        id: "KL105",
        severity: High,
        title: "NotAction or NotResource in an Allow",
    },
    Rule {
        id: "KL106",
        severity: Critical,
        title: "administrator-equivalent managed policy attached",
    },
    Rule {
        id: "KL107",
        severity: Error,
        title: "permission policy larger than IAM's quota",
    },
    Rule {
        id: "KL108",
        severity: High,
        title: "sts:AssumeRole on any role",
    },
    Rule {
        id: "KL109",
        severity: High,
        title: "IAM privilege-escalation action",
    },
    Rule {
        id: "KL110",
        severity: High,
        title: "AWS-managed *FullAccess policy attached",
    },
    Rule {
        id: "KL111",
        severity: High,
        title: "secret material readable on Resource \"*\" (secretsmanager:GetSecretValue, ssm:GetParameter*, kms:Decrypt)",
    },
    Rule {
        id: "KL112",
        severity: Error,
        title: "service or action AWS does not list (Service Authorization Reference)",
    },
    Rule {
        id: "KL113",
        severity: Warning,
        title: "resource that fits none of the action's resource types, or a resource on an action that takes only \"*\"",
    },
    Rule {
        id: "KL114",
        severity: Warning,
        title: "condition key none of the statement's actions takes",
    },
];

/// Look a rule up by ID.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
