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
    /// How to fix it, in one line.
    pub fix: &'static str,
}

use Severity::*;

/// Every rule keyless implements.
pub const RULES: &[Rule] = &[
    Rule {
        id: "KL000",
        severity: Error,
        title: "document is not a well-formed IAM policy",
        fix: "fix the JSON: a Version and a Statement list of objects with Effect, Action and Resource or Principal",
    },
    Rule {
        id: "KL001",
        severity: Critical,
        title: "no sub and no job_workflow_ref condition: any repository on GitHub can assume the role",
        fix: "add a sub condition naming the repository and its scope (repo:OWNER/REPO:ref:refs/heads/main), or the immutable sub",
    },
    Rule {
        id: "KL002",
        severity: Critical,
        title: "a sub value matches every repository",
        fix: "name the repository: repo:OWNER/REPO:… instead of * or repo:*",
    },
    Rule {
        id: "KL003",
        severity: Critical,
        title: "wildcard in the owner part of sub (attacker-registrable owners match)",
        fix: "write the owner exactly (no wildcard), or pin it by ID with the immutable sub",
    },
    Rule {
        id: "KL004",
        severity: High,
        title: "org-wide trust repo:OWNER/* (every current and future repository)",
        fix: "list the repositories that need the role, or allow KL004 by name with a reason for an org-wide read-only role",
    },
    Rule {
        id: "KL005",
        severity: High,
        title: "wildcard in the repository name (sibling repositories match)",
        fix: "write the repository name exactly, one subject per repository",
    },
    Rule {
        id: "KL006",
        severity: Medium,
        title: "repository-wide trust repo:o/r:* (pull requests, every branch, tag and environment)",
        fix: "scope the subject to a branch, tag, environment or pull_request",
    },
    Rule {
        id: "KL007",
        severity: Medium,
        title: "branch, tag or environment wildcard",
        fix: "name the branch, tag or environment exactly, or guard the pattern with environment protection rules",
    },
    Rule {
        id: "KL008",
        severity: Info,
        title: "multi-value list mixing tight and loose values (reported at the loosest value's severity)",
        fix: "split the list: keep the tight values, and decide whether the loose one is meant",
    },
    Rule {
        id: "KL009",
        severity: Medium,
        title: "no aud condition",
        fix: "add StringEquals on the provider's :aud (sts.amazonaws.com)",
    },
    Rule {
        id: "KL010",
        severity: Low,
        title: "wildcard aud under StringLike",
        fix: "use StringEquals with the exact audience",
    },
    Rule {
        id: "KL011",
        severity: High,
        title: "ForAllValues: on a claim key in an Allow (true when the key is absent)",
        fix: "drop ForAllValues: on claim keys; use the plain operator",
    },
    Rule {
        id: "KL012",
        severity: High,
        title: "...IfExists on a claim key (an absent key matches)",
        fix: "drop IfExists on claim keys: GitHub always sends them",
    },
    Rule {
        id: "KL013",
        severity: High,
        title: "negated operators are the only subject scope",
        fix: "add a positive sub condition; keep the negation as an exception beside it",
    },
    Rule {
        id: "KL014",
        severity: Error,
        title: "condition key not supported for this issuer and partition",
        fix: "use a claim key AWS passes for this issuer and partition (keyless lint --rules lists them), or name it in [lint] claim_keys",
    },
    Rule {
        id: "KL015",
        severity: Error,
        title: "condition key prefix differs from the provider in the principal",
        fix: "use the condition key prefix of the provider the principal names",
    },
    Rule {
        id: "KL016",
        severity: Error,
        title: "the trusted subject form differs from the one GitHub reports the repository mints (every token is denied)",
        fix: "trust the subject form GitHub reports (keyless migrate-subjects moves a repository to immutable subjects)",
    },
    Rule {
        id: "KL017",
        severity: High,
        title: "wildcard IDs in an immutable subject",
        fix: "write the owner and repository IDs exactly",
    },
    Rule {
        id: "KL018",
        severity: Low,
        title: "trust pinned by names only (no immutable sub or repository_id)",
        fix: "trust the immutable sub (owner_id and repo_id, format = \"both\" while migrating), or add a repository_id claim",
    },
    Rule {
        id: "KL019",
        severity: Critical,
        title: "custom sub led by a user-controllable claim with no owner-bound claim",
        fix: "lead the custom sub with an owner-bound claim (repository_owner_id, repository_id)",
    },
    Rule {
        id: "KL020",
        severity: High,
        title: "trust rests only on job_workflow_ref (any repository may call a public reusable workflow)",
        fix: "add a sub (or repository_id) condition beside job_workflow_ref",
    },
    Rule {
        id: "KL021",
        severity: Low,
        title: "environment name with `:` or `%3A` (two environments mint the same sub)",
        fix: "rename the environment without `:`",
    },
    Rule {
        id: "KL022",
        severity: Medium,
        title: "environment-scoped trust where the environment does not exist or has no protection rules and no deployment branch policy",
        fix: "create the environment with protection rules or a deployment branch policy",
    },
    Rule {
        id: "KL024",
        severity: Info,
        title: "trust Action broader than sts:AssumeRoleWithWebIdentity",
        fix: "use sts:AssumeRoleWithWebIdentity alone (and sts:TagSession only if the job tags sessions)",
    },
    Rule {
        id: "KL025",
        severity: Error,
        title: "provider in another account or partition",
        fix: "trust the provider of this account and partition",
    },
    Rule {
        id: "KL026",
        severity: High,
        title: "principal is * or shares a GitHub statement with another identity provider",
        fix: "name the GitHub provider alone as Federated principal, in a statement of its own",
    },
    Rule {
        id: "KL027",
        severity: Error,
        title: "duplicate JSON keys (one of them is silently dropped)",
        fix: "keep each key once",
    },
    Rule {
        id: "KL028",
        severity: Warning,
        title: "StringEquals with * or ?, or StringLike without a wildcard",
        fix: "use StringLike for patterns and StringEquals for exact values",
    },
    Rule {
        id: "KL029",
        severity: Warning,
        title: "environment name casing differs from GitHub's",
        fix: "write the environment name as GitHub shows it",
    },
    Rule {
        id: "KL030",
        severity: Error,
        title: "trust policy larger than the AssumeRolePolicySizeQuota",
        fix: "trust fewer subjects per role, or split the role",
    },
    Rule {
        id: "KL031",
        severity: Info,
        title: "Version missing or not 2012-10-17",
        fix: "set Version to 2012-10-17",
    },
    Rule {
        id: "KL032",
        severity: Error,
        title: "a sub no GitHub token carries (no `claim:value` form, empty owner, or no repository)",
        fix: "write a sub in the form repo:OWNER/REPO:CONTEXT",
    },
    Rule {
        id: "KL101",
        severity: Critical,
        title: "Action \"*\": every action of every service",
        fix: "list the actions the job needs",
    },
    Rule {
        id: "KL102",
        severity: High,
        title: "service-wide action wildcard such as s3:*",
        fix: "list the actions of the service the job needs",
    },
    Rule {
        id: "KL103",
        severity: High,
        title: "write action on Resource \"*\"",
        fix: "scope the write action to the resources the job changes",
    },
    Rule {
        id: "KL104",
        severity: Critical,
        title: "iam:PassRole on any role",
        fix: "scope iam:PassRole to the roles the job passes, with iam:PassedToService",
    },
    Rule {
        id: "KL105",
        severity: High,
        title: "NotAction or NotResource in an Allow",
        fix: "use Action and Resource lists instead of NotAction or NotResource",
    },
    Rule {
        id: "KL106",
        severity: Critical,
        title: "administrator-equivalent managed policy attached",
        fix: "detach the administrator policy and attach what the job needs",
    },
    Rule {
        id: "KL107",
        severity: Error,
        title: "permission policy larger than IAM's quota",
        fix: "move policies into presets (managed policies) or trim them",
    },
    Rule {
        id: "KL108",
        severity: High,
        title: "sts:AssumeRole on any role",
        fix: "scope sts:AssumeRole to the roles the job assumes",
    },
    Rule {
        id: "KL109",
        severity: High,
        title: "IAM privilege-escalation action",
        fix: "remove the IAM write action, or bound it with a permissions boundary",
    },
    Rule {
        id: "KL110",
        severity: High,
        title: "AWS-managed *FullAccess policy attached",
        fix: "replace the *FullAccess policy with the actions the job needs",
    },
    Rule {
        id: "KL111",
        severity: High,
        title: "secret material readable on Resource \"*\" (secretsmanager:GetSecretValue, ssm:GetParameter*, kms:Decrypt)",
        fix: "scope the secret reads to the secrets, parameters and keys the job uses",
    },
    Rule {
        id: "KL112",
        severity: Error,
        title: "service or action AWS does not list (Service Authorization Reference)",
        fix: "use an action AWS lists (the message suggests the nearest)",
    },
    Rule {
        id: "KL113",
        severity: Warning,
        title: "resource that fits none of the action's resource types, or a resource on an action that takes only \"*\"",
        fix: "use a resource in the action's ARN format, or \"*\" where the action takes only that",
    },
    Rule {
        id: "KL114",
        severity: Warning,
        title: "condition key none of the statement's actions takes",
        fix: "drop the condition key, or use one the statement's actions take",
    },
];

/// Look a rule up by ID.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
