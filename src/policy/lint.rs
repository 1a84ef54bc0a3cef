//! The lint catalogue: stable rule IDs and severities, and the checks behind them.
//!
//! Trust-policy rules (KL0xx) follow github-oidc-aws.md §13; permission-policy rules are KL1xx.
//! Findings of severity critical, high or error *block*: rendering for apply stops unless that one
//! rule is allowed by name, with a reason, for that role. The checks take parsed JSON documents
//! (keyless's own or anyone's) and return plain [`Finding`]s. No I/O, no templates, no AWS.
//!
//! KL016 (the subject form GitHub reports), KL022 (an unprotected or missing environment) and
//! KL029 (environment casing) need GitHub's answers and are checked in `render::github_findings`.
//! Not implemented: KL023 (`pull_request_target` workflows; keyless does not read workflows).

use serde::Serialize;
use serde_json::Value;

use crate::identity::issuer::{Issuer, supported_claim_keys};
use crate::identity::subject::has_wildcard;
use crate::policy::document::{self as policy, Kind, strings};

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
];

/// Actions that read secret material: on `Resource: "*"` they read every secret, parameter or
/// key-protected value of the account.
const SECRET_READS: &[&str] = &[
    "secretsmanager:getsecretvalue",
    "ssm:getparameter",
    "ssm:getparameters",
    "ssm:getparametersbypath",
    "ssm:getparameterhistory",
    "kms:decrypt",
];

/// Look a rule up by ID.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

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

/// One lint result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule ID.
    pub rule: &'static str,
    /// Severity (the rule's, or the loosest value's for KL008).
    pub severity: Severity,
    /// What is wrong here.
    pub message: String,
    /// Where.
    pub location: Location,
    /// Set when the config allows this rule for the role: the reason given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
}

impl Finding {
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

/// What the linter knows beyond the document.
#[derive(Debug, Clone)]
pub struct LintContext {
    /// Name of the document for locations.
    pub document: String,
    /// The account the role lives in, if known.
    pub account_id: Option<String>,
    /// The partition, if known.
    pub partition: Option<String>,
    /// Extra supported claim keys from the config.
    pub extra_claim_keys: Vec<String>,
    /// Trust policy size quota.
    pub trust_size_quota: usize,
    /// Permission policy size quota (6144 managed, 10240 inline aggregate).
    pub permission_size_quota: usize,
}

impl LintContext {
    /// Defaults for a document of unknown origin.
    pub fn new(document: impl Into<String>) -> LintContext {
        LintContext {
            document: document.into(),
            account_id: None,
            partition: None,
            extra_claim_keys: vec![],
            trust_size_quota: 2048,
            permission_size_quota: 6144,
        }
    }
}

struct Out<'a> {
    ctx: &'a LintContext,
    list: Vec<Finding>,
}

impl Out<'_> {
    fn add(
        &mut self,
        id: &'static str,
        message: String,
        statement: Option<&str>,
        key: Option<&str>,
        value: Option<&str>,
    ) {
        let severity = rule(id).map(|r| r.severity).unwrap_or(Error);
        self.add_sev(id, severity, message, statement, key, value);
    }
    fn add_sev(
        &mut self,
        id: &'static str,
        severity: Severity,
        message: String,
        statement: Option<&str>,
        key: Option<&str>,
        value: Option<&str>,
    ) {
        self.list.push(Finding {
            rule: id,
            severity,
            message,
            location: Location {
                document: self.ctx.document.clone(),
                statement: statement.map(String::from),
                key: key.map(String::from),
                value: value.map(String::from),
            },
            allowed: None,
        });
    }
}

/// Lint a document of the given kind (detected when `None`).
pub fn lint_document(
    parsed: &policy::Parsed,
    kind: Option<Kind>,
    ctx: &LintContext,
) -> Vec<Finding> {
    let doc = &parsed.doc;
    let kind = kind.unwrap_or_else(|| Kind::detect(doc));
    let mut out = Out {
        ctx,
        list: Vec::new(),
    };
    for d in &parsed.duplicate_keys {
        out.add(
            "KL027",
            format!("key `{d}` appears more than once; IAM keeps only one of them"),
            None,
            Some(d),
            None,
        );
    }
    for p in policy::shape_problems(doc, kind) {
        out.add("KL000", p, None, None, None);
    }
    if doc.get("Version").and_then(Value::as_str) != Some("2012-10-17") {
        out.add(
            "KL031",
            "set \"Version\": \"2012-10-17\" (older versions do not interpret policy variables)"
                .into(),
            None,
            Some("Version"),
            None,
        );
    }
    let size = policy::size(doc);
    match kind {
        Kind::Trust => {
            if size > ctx.trust_size_quota {
                out.add("KL030", format!("{size} characters (without whitespace) exceeds the trust policy quota of {}; split the role or use fewer subjects", ctx.trust_size_quota), None, None, None);
            }
            for (i, st) in policy::statements(doc).into_iter().enumerate() {
                trust_statement(&mut out, i, st);
            }
        }
        Kind::Permission => {
            if size > ctx.permission_size_quota {
                out.add("KL107", format!("{size} characters (without whitespace) exceeds the quota of {}; split it into several policies", ctx.permission_size_quota), None, None, None);
            }
            for (i, st) in policy::statements(doc).into_iter().enumerate() {
                permission_statement(&mut out, i, st);
            }
        }
    }
    out.list
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
    out.list
}

/// Lint a managed policy attached by ARN (the document itself is AWS's).
pub fn lint_managed_arn(arn: &str, ctx: &LintContext) -> Vec<Finding> {
    let mut out = Out {
        ctx,
        list: Vec::new(),
    };
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let aws_managed = arn.split(':').nth(4) == Some("aws");
    if aws_managed
        && matches!(
            name,
            "AdministratorAccess"
                | "PowerUserAccess"
                | "IAMFullAccess"
                | "AdministratorAccess-Amplify"
        )
    {
        out.add("KL106", format!("{name} grants administrator-equivalent access to every workflow that can assume the role"), None, Some("managed_policies"), Some(arn));
    } else if aws_managed && name.ends_with("FullAccess") {
        out.add("KL110", format!("{name} grants every action of a service on every resource; use a preset scoped to your resources"), None, Some("managed_policies"), Some(arn));
    }
    out.list
}

fn stmt_label(i: usize, st: &serde_json::Map<String, Value>) -> String {
    match st.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("Statement[{i}] ({sid})"),
        _ => format!("Statement[{i}]"),
    }
}

/// One condition entry, with its operator decomposed.
struct Cond {
    op: String,
    base: String,
    for_all: bool,
    if_exists: bool,
    negated: bool,
    key: String,
    values: Vec<String>,
}

fn conditions(st: &serde_json::Map<String, Value>) -> Vec<Cond> {
    policy::condition_entries(st)
        .into_iter()
        .map(|(op, key, values)| {
            let (qual, base, if_exists) = policy::split_operator(&op);
            let (for_all, base) = (qual == "ForAllValues", base.to_string());
            Cond {
                negated: base.contains("Not"),
                base,
                for_all,
                if_exists,
                op,
                key,
                values,
            }
        })
        .collect()
}

fn key_parts(key: &str) -> Option<(&str, &str)> {
    let (prefix, claim) = key.rsplit_once(':')?;
    Some((prefix, claim))
}

fn github_provider(arn: &str) -> Option<(&str, &str, &str)> {
    // arn:PARTITION:iam::ACCOUNT:oidc-provider/PREFIX
    let mut it = arn.splitn(6, ':');
    let (_, partition, _, _, account, res) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let prefix = res.strip_prefix("oidc-provider/")?;
    Issuer::looks_like_github(prefix).then_some((partition, account, prefix))
}

fn trust_statement(out: &mut Out, i: usize, st: &serde_json::Map<String, Value>) {
    let label = stmt_label(i, st);
    let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("");
    let principal = st.get("Principal");
    if effect == "Allow"
        && (principal.and_then(Value::as_str) == Some("*")
            || principal
                .and_then(Value::as_object)
                .is_some_and(|p| p.values().any(|v| strings(Some(v)).contains(&"*"))))
    {
        out.add(
            "KL026",
            "the principal is `*`: anyone can present a token".into(),
            Some(&label),
            Some("Principal"),
            Some("*"),
        );
    }
    let federated = strings(principal.and_then(|p| p.get("Federated")));
    let providers: Vec<(&str, &str, &str)> = federated
        .iter()
        .filter_map(|a| github_provider(a))
        .collect();
    if effect != "Allow" || providers.is_empty() {
        return;
    }
    let others = federated.len() - providers.len()
        + principal
            .and_then(Value::as_object)
            .map(|p| p.len() - 1)
            .unwrap_or(0);
    if others > 0 || providers.len() > 1 {
        out.add("KL026", "a GitHub provider shares this statement with another principal; conditions written for one issuer do not bind another".into(), Some(&label), Some("Principal"), None);
    }
    let (partition, account, prefix) = providers[0];
    if let Some(a) = &out.ctx.account_id
        && a != account
    {
        out.add("KL025", format!("the provider is in account {account}, the role in {a}; a role can only trust a provider of its own account"), Some(&label), Some("Principal.Federated"), Some(federated[0]));
    }
    if let Some(p) = &out.ctx.partition
        && p != partition
    {
        out.add(
            "KL025",
            format!("the provider ARN is in partition {partition}, the role in {p}"),
            Some(&label),
            Some("Principal.Federated"),
            Some(federated[0]),
        );
    }
    // Action
    let actions = strings(st.get("Action"));
    for a in &actions {
        if matches!(*a, "*" | "sts:*")
            || a.eq_ignore_ascii_case("sts:AssumeRole")
            || a.eq_ignore_ascii_case("sts:TagSession")
        {
            out.add("KL024", format!("only sts:AssumeRoleWithWebIdentity is needed; `{a}` adds nothing for GitHub tokens"), Some(&label), Some("Action"), Some(a));
        }
    }
    let issuer_kind = Issuer::parse(&format!("https://{prefix}"))
        .map(|i| i.kind)
        .ok();
    let supported = issuer_kind
        .as_ref()
        .map(|k| supported_claim_keys(partition, k, &out.ctx.extra_claim_keys))
        .unwrap_or_default();
    let conds = conditions(st);
    let claim_of = |key: &str| -> Option<String> {
        let (p, c) = key_parts(key)?;
        p.eq_ignore_ascii_case(prefix)
            .then(|| c.to_ascii_lowercase())
    };
    let mut has_repository_id = false;
    for c in &conds {
        let Some((kp, claim)) = key_parts(&c.key) else {
            continue;
        };
        let is_ours = kp.eq_ignore_ascii_case(prefix);
        if !is_ours && Issuer::looks_like_github(kp) {
            out.add("KL015", format!("key prefix `{kp}` does not match the provider `{prefix}`; this key is absent from every request"), Some(&label), Some(&c.key), None);
            continue;
        }
        if !is_ours {
            continue;
        }
        let claim = claim.to_ascii_lowercase();
        if claim == "repository_id" && !c.negated {
            has_repository_id = true;
        }
        if !supported.contains(&claim) {
            out.add("KL014", format!("`{claim}` does not reach IAM as a condition key for this issuer in {partition}; supported: {}", supported.join(", ")), Some(&label), Some(&c.key), None);
        }
        if c.for_all {
            out.add(
                "KL011",
                format!(
                    "`{}` is true when `{}` is absent; use the plain operator",
                    c.op, c.key
                ),
                Some(&label),
                Some(&c.key),
                None,
            );
        }
        if c.if_exists {
            out.add(
                "KL012",
                format!(
                    "`{}` matches when `{}` is absent; drop IfExists",
                    c.op, c.key
                ),
                Some(&label),
                Some(&c.key),
                None,
            );
        }
    }
    let positive = |c: &Cond| {
        !c.negated
            && matches!(
                c.base.as_str(),
                "StringEquals" | "StringLike" | "StringEqualsIgnoreCase"
            )
    };
    let sub_pos: Vec<&Cond> = conds
        .iter()
        .filter(|c| {
            claim_of(&c.key).as_deref() == Some("sub") && positive(c) && !c.for_all && !c.if_exists
        })
        .collect();
    let jwr_pos = conds.iter().any(|c| {
        claim_of(&c.key).as_deref() == Some("job_workflow_ref")
            && positive(c)
            && !c.for_all
            && !c.if_exists
    });
    let sub_neg = conds
        .iter()
        .any(|c| claim_of(&c.key).as_deref() == Some("sub") && c.negated);
    // A string comparison on sub scopes it (IfExists/ForAllValues forms get their own rules);
    // Null, Bool and the like only test presence.
    let sub_compared = conds.iter().any(|c| {
        claim_of(&c.key).as_deref() == Some("sub")
            && !c.negated
            && matches!(
                c.base.as_str(),
                "StringEquals" | "StringLike" | "StringEqualsIgnoreCase"
            )
    });
    let sub_other: Vec<&str> = conds
        .iter()
        .filter(|c| claim_of(&c.key).as_deref() == Some("sub") && !c.negated)
        .map(|c| c.op.as_str())
        .collect();
    let pinned_by = |claim: &str| {
        conds
            .iter()
            .any(|c| claim_of(&c.key).as_deref() == Some(claim) && positive(c))
    };
    if sub_pos.is_empty() && !jwr_pos {
        if sub_neg {
            out.add("KL013", "the subject is scoped only by negated operators; they exclude but never scope, and an absent key makes them true".into(), Some(&label), Some(&format!("{prefix}:sub")), None);
        } else if !sub_compared {
            let who = if has_repository_id {
                "trust is pinned by repository_id only, so every job of that repository (every branch, pull request and environment) can assume this role, and IAM refuses trust policies for this provider without a sub condition".to_string()
            } else if pinned_by("repository_owner_id") || pinned_by("repository_owner") {
                "trust is pinned to an owner only, so every job of every repository of that owner can assume this role, and IAM refuses trust policies for this provider without a sub condition".to_string()
            } else if !sub_other.is_empty() {
                format!(
                    "its only sub condition ({}) tests whether the claim is present, not its value: any repository on GitHub can assume this role",
                    sub_other.join(", ")
                )
            } else {
                "any repository on GitHub can assume this role".to_string()
            };
            out.add(
                "KL001",
                format!("no `{prefix}:sub` value condition: {who}"),
                Some(&label),
                Some(&format!("{prefix}:sub")),
                None,
            );
        }
    } else if sub_pos.is_empty() && jwr_pos {
        out.add("KL020", "trust rests only on job_workflow_ref; if that workflow's repository is public, any repository can call it".into(), Some(&label), Some(&format!("{prefix}:job_workflow_ref")), None);
    }
    let mut names_only = false;
    for c in &sub_pos {
        let like = c.base == "StringLike";
        let mut per_value: Vec<Option<Severity>> = Vec::new();
        for v in &c.values {
            let before = out.list.len();
            sub_value(out, &label, &c.key, v, like, c.base.as_str());
            if v.starts_with("repo:") && !v.split(['/', ':']).nth(1).unwrap_or("").contains('@') {
                names_only = true;
            }
            let worst = out.list[before..]
                .iter()
                .filter(|f| {
                    matches!(
                        f.rule,
                        "KL002"
                            | "KL003"
                            | "KL004"
                            | "KL005"
                            | "KL006"
                            | "KL007"
                            | "KL017"
                            | "KL019"
                    )
                })
                .map(|f| f.severity)
                .max();
            per_value.push(worst);
        }
        if c.values.len() > 1
            && per_value.iter().any(Option::is_none)
            && per_value.iter().any(Option::is_some)
        {
            let worst = per_value.iter().flatten().max().copied().unwrap_or(Info);
            out.add_sev("KL008", worst, format!("the values of `{}` are ORed, so the loosest one decides; tight values do not narrow it", c.key), Some(&label), Some(&c.key), None);
        }
    }
    if names_only && !has_repository_id {
        out.add("KL018", "trust is pinned by names only; a deleted or renamed owner or repository can be re-registered. Prefer the immutable sub (set owner_id and repo_id) or a repository_id claim".into(), Some(&label), Some(&format!("{prefix}:sub")), None);
    }
    let aud_pos: Vec<&Cond> = conds
        .iter()
        .filter(|c| {
            claim_of(&c.key).as_deref() == Some("aud") && positive(c) && !c.for_all && !c.if_exists
        })
        .collect();
    if aud_pos.is_empty() {
        out.add(
            "KL009",
            format!(
                "no `{prefix}:aud` condition; only the provider's client ID list gates audiences"
            ),
            Some(&label),
            Some(&format!("{prefix}:aud")),
            None,
        );
    }
    for c in aud_pos {
        for v in &c.values {
            if c.base == "StringLike" && has_wildcard(v) {
                out.add(
                    "KL010",
                    "aud should be an exact StringEquals value".into(),
                    Some(&label),
                    Some(&c.key),
                    Some(v),
                );
            }
        }
    }
    for c in conds
        .iter()
        .filter(|c| claim_of(&c.key).is_some_and(|k| k != "sub" && k != "aud") && positive(c))
    {
        for v in &c.values {
            check_operator_fit(out, &label, &c.key, v, c.base == "StringLike", &c.base);
        }
    }
}

fn check_operator_fit(out: &mut Out, label: &str, key: &str, v: &str, like: bool, base: &str) {
    if like && !has_wildcard(v) {
        out.add(
            "KL028",
            "StringLike without a wildcard; use StringEquals".into(),
            Some(label),
            Some(key),
            Some(v),
        );
    }
    if !like && has_wildcard(v) {
        out.add("KL028", format!("{base} treats `*` and `?` literally, so this value likely never matches; use StringLike if a pattern was meant"), Some(label), Some(key), Some(v));
    }
}

const USER_CONTROLLABLE: &[&str] = &[
    "workflow",
    "environment",
    "ref",
    "context",
    "head_ref",
    "base_ref",
    "actor",
    "job_workflow_ref",
    "event_name",
    "ref_type",
];

/// Why no GitHub token can carry sub value `v`, if it is malformed: every sub GitHub mints is
/// `claim:value` pairs joined by `:`, and a `repo:` value is `repo:OWNER/REPOSITORY:...`.
/// Values with wildcards before the problem are left to the breadth rules.
fn malformed_sub(v: &str) -> Option<&'static str> {
    match v.strip_prefix("repo:") {
        None => (!v.contains(':') && !has_wildcard(v))
            .then_some("every sub GitHub mints is `claim:value` pairs joined by `:`"),
        Some(rest) => {
            let owner_end = rest.find(['/', ':']).unwrap_or(rest.len());
            let owner = &rest[..owner_end];
            if has_wildcard(owner) {
                None
            } else if owner.is_empty() {
                Some("the owner part is empty")
            } else if owner_end == rest.len() || rest[owner_end..].starts_with(':') {
                Some(
                    "`repo:` is followed by `OWNER/REPOSITORY`, and this value has no `/REPOSITORY`",
                )
            } else {
                None
            }
        }
    }
}

fn sub_value(out: &mut Out, label: &str, key: &str, v: &str, like: bool, base: &str) {
    check_operator_fit(out, label, key, v, like, base);
    if let Some(why) = malformed_sub(v) {
        out.add(
            "KL032",
            format!("no GitHub token carries this sub ({why}), so the role can never be assumed"),
            Some(label),
            Some(key),
            Some(v),
        );
        return;
    }
    if v.contains("environment:")
        && v.split("environment:")
            .nth(1)
            .is_some_and(|e| e.contains("%3A") || e.contains("%3a"))
    {
        out.add("KL021", "an environment name with `:` renders as `%3A`, so an environment literally named with `%3A` mints the same sub".into(), Some(label), Some(key), Some(v));
    }
    let wild_at = |s: &str| s.starts_with(['*', '?']);
    // A custom sub (any repository can choose its own subject template): exact or pattern, it
    // must be bound to an owner, or every repository can mint it.
    let custom = !v.starts_with("repo:");
    if custom && !(like && wild_at(v)) {
        let lead = v.split(':').next().unwrap_or("");
        let owner_bound = ["repo:", "repository_id:", "repository_owner_id:"]
            .iter()
            .any(|b| v.starts_with(b) || v.contains(&format!(":{b}")));
        if USER_CONTROLLABLE.contains(&lead) && !owner_bound {
            out.add("KL019", format!("custom sub led by `{lead}`, which any repository can choose, and no owner-bound claim (repo, repository_id, repository_owner_id): any repository can set its subject template to mint exactly this sub"), Some(label), Some(key), Some(v));
        }
    }
    if !like {
        return; // exact values: breadth rules do not apply
    }
    let Some(rest) = v.strip_prefix("repo:") else {
        if wild_at(v) {
            out.add(
                "KL002",
                "this sub value matches every repository on GitHub".into(),
                Some(label),
                Some(key),
                Some(v),
            );
        }
        return;
    };
    if wild_at(rest) {
        out.add(
            "KL002",
            "this sub value matches every repository on GitHub".into(),
            Some(label),
            Some(key),
            Some(v),
        );
        return;
    }
    let owner_end = rest.find(['/', ':']).unwrap_or(rest.len());
    let owner = &rest[..owner_end];
    if has_wildcard(owner) {
        if owner.contains('@') && !has_wildcard(owner.split('@').next().unwrap_or("")) {
            out.add(
                "KL017",
                "wildcard in the owner ID defeats the immutable subject".into(),
                Some(label),
                Some(key),
                Some(v),
            );
        } else {
            out.add("KL003", "wildcard in the owner part: attacker-registrable owners (e.g. `octo-org-evil`) match".into(), Some(label), Some(key), Some(v));
        }
        return;
    }
    if owner_end == rest.len() || &rest[owner_end..owner_end + 1] == ":" {
        return;
    }
    let after = &rest[owner_end + 1..];
    let repo_end = after.find(':').unwrap_or(after.len());
    let repo = &after[..repo_end];
    if repo == "*" {
        out.add(
            "KL004",
            "org-wide trust: every current and future repository of the owner can assume the role"
                .into(),
            Some(label),
            Some(key),
            Some(v),
        );
        return;
    }
    if has_wildcard(repo) {
        if repo.contains('@') && !has_wildcard(repo.split('@').next().unwrap_or("")) {
            out.add(
                "KL017",
                "wildcard in the repository ID defeats the immutable subject".into(),
                Some(label),
                Some(key),
                Some(v),
            );
        } else {
            out.add(
                "KL005",
                "wildcard in the repository name: sibling repositories (e.g. `app-evil`) match"
                    .into(),
                Some(label),
                Some(key),
                Some(v),
            );
        }
        return;
    }
    let ctx = after.get(repo_end + 1..).unwrap_or("");
    if ctx == "*" {
        out.add("KL006", "every job of the repository matches, including pull requests, every branch, tag and environment".into(), Some(label), Some(key), Some(v));
    } else if has_wildcard(ctx) {
        out.add("KL007", "wildcard in the branch, tag or environment: anyone who can push a matching ref (or name a matching environment) can assume the role".into(), Some(label), Some(key), Some(v));
    }
}

/// Actions that do not support resource-level permissions and so need `Resource: "*"`.
const RESOURCELESS: &[&str] = &[
    "ecs:registertaskdefinition",
    "ecs:deregistertaskdefinition",
    "ecr:getauthorizationtoken",
    "cloudformation:validatetemplate",
];

const ESCALATION: &[&str] = &[
    "iam:createpolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:attachrolepolicy",
    "iam:putrolepolicy",
    "iam:updateassumerolepolicy",
    "iam:createaccesskey",
    "iam:attachuserpolicy",
    "iam:putuserpolicy",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:addusertogroup",
    "iam:putgrouppolicy",
    "iam:attachgrouppolicy",
    "iam:createrole",
    "iam:deleterolepermissionsboundary",
    "iam:putrolepermissionsboundary",
];

fn is_read(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or("");
    [
        "Get", "List", "Describe", "BatchGet", "Head", "Lookup", "Search", "Scan", "Query",
        "Select", "View", "Validate", "Estimate",
    ]
    .iter()
    .any(|p| verb.len() >= p.len() && verb[..p.len()].eq_ignore_ascii_case(p))
}

fn permission_statement(out: &mut Out, i: usize, st: &serde_json::Map<String, Value>) {
    let label = stmt_label(i, st);
    if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return;
    }
    for k in ["NotAction", "NotResource"] {
        if st.contains_key(k) {
            out.add(
                "KL105",
                format!("`{k}` in an Allow grants everything except what it lists"),
                Some(&label),
                Some(k),
                None,
            );
        }
    }
    let actions = strings(st.get("Action"));
    let resources = strings(st.get("Resource"));
    let any_resource = resources.contains(&"*");
    for a in &actions {
        let lower = a.to_ascii_lowercase();
        if *a == "*" || lower == "*:*" {
            out.add(
                "KL101",
                "Action \"*\" allows every action of every service".into(),
                Some(&label),
                Some("Action"),
                Some(a),
            );
            continue;
        }
        if lower.ends_with(":*") {
            out.add("KL102", format!("`{a}` allows every action of the service, including future ones; list the actions needed"), Some(&label), Some("Action"), Some(a));
        }
        if lower == "iam:passrole"
            && resources
                .iter()
                .any(|r| *r == "*" || r.ends_with(":role/*"))
        {
            out.add("KL104", "iam:PassRole on any role lets the workflow hand any role to a service; name the roles".into(), Some(&label), Some("Action"), Some(a));
        }
        if lower == "sts:assumerole" && any_resource {
            out.add(
                "KL108",
                "sts:AssumeRole on any role; name the roles to chain into".into(),
                Some(&label),
                Some("Action"),
                Some(a),
            );
        }
        if ESCALATION.contains(&lower.as_str())
            || (lower.starts_with("iam:")
                && lower.ends_with('*')
                && lower != "iam:get*"
                && lower != "iam:list*")
        {
            out.add(
                "KL109",
                format!("`{a}` lets the workflow raise its own privileges"),
                Some(&label),
                Some("Action"),
                Some(a),
            );
        }
        if any_resource
            && let Some(secret) = SECRET_READS
                .iter()
                .find(|r| crate::policy::evaluate::like(&lower, r))
        {
            out.add(
                "KL111",
                format!("`{a}` reads secret material ({secret}) on Resource \"*\": every secret, parameter or key of the account; scope it to the ARNs it needs"),
                Some(&label),
                Some("Resource"),
                Some("*"),
            );
        }
        if any_resource
            && !is_read(a)
            && !RESOURCELESS.contains(&lower.as_str())
            && !lower.ends_with(":*")
        {
            out.add(
                "KL103",
                format!("write action `{a}` on Resource \"*\"; scope it to the resources it needs"),
                Some(&label),
                Some("Resource"),
                Some("*"),
            );
        }
    }
}

/// A blocking lint rule allowed by name for one role, with the reason (`[[role.allow]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allow {
    /// Rule ID.
    pub rule: String,
    /// Reason.
    pub reason: String,
}

/// Findings of a role-level allow list: mark each finding whose rule is allowed.
pub fn apply_allows(findings: &mut [Finding], allows: &[Allow]) {
    for f in findings {
        if let Some(a) = allows.iter().find(|a| a.rule == f.rule) {
            f.allowed = Some(a.reason.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "token.actions.githubusercontent.com";
    const FED: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    fn trust(cond: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": FED}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}]})
    }

    fn good_cond() -> Value {
        json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:sub"): "repo:o@1/r@2:ref:refs/heads/main"}})
    }

    fn rules_of(doc: &Value) -> Vec<&'static str> {
        let parsed = policy::Parsed {
            doc: doc.clone(),
            duplicate_keys: vec![],
        };
        let mut ctx = LintContext::new("test");
        ctx.account_id = Some("123456789012".into());
        ctx.partition = Some("aws".into());
        let mut r: Vec<_> = lint_document(&parsed, None, &ctx)
            .into_iter()
            .map(|f| f.rule)
            .collect();
        r.sort();
        r.dedup();
        r
    }

    fn like_sub(v: Value) -> Value {
        trust(
            json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}, "StringLike": {format!("{P}:sub"): v}}),
        )
    }

    fn exact_sub(v: &str) -> Value {
        trust(
            json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:sub"): v}}),
        )
    }

    #[test]
    fn an_exact_custom_sub_led_by_a_claim_any_repository_can_choose_blocks() {
        for v in [
            "environment:prod",
            "ref:refs/heads/main",
            "workflow:deploy",
            "context:prod",
            "job_workflow_ref:octo-org/wf/.github/workflows/d.yml@refs/heads/main",
        ] {
            let doc = exact_sub(v);
            assert!(
                rules_of(&doc).contains(&"KL019"),
                "{v}: {:?}",
                rules_of(&doc)
            );
            let parsed = policy::parse(&doc.to_string()).unwrap();
            let findings = lint_document(&parsed, None, &LintContext::new("t"));
            assert!(
                findings.iter().any(|f| f.rule == "KL019" && f.blocks()),
                "{v} blocks"
            );
        }
        // Owner-bound custom subs stay clean of KL019.
        for v in [
            "repository_owner_id:1:environment:prod",
            "repository_id:2:ref:refs/heads/main",
            "repo:o/r:environment:prod",
        ] {
            assert!(!rules_of(&exact_sub(v)).contains(&"KL019"), "{v}");
        }
    }

    #[test]
    fn a_null_only_sub_condition_admits_every_repository() {
        let doc = trust(
            json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}, "Null": {format!("{P}:sub"): "false"}}),
        );
        let parsed = policy::parse(&doc.to_string()).unwrap();
        let f = lint_document(&parsed, None, &LintContext::new("t"));
        let kl001 = f.iter().find(|f| f.rule == "KL001").expect("KL001");
        assert!(kl001.blocks());
        assert!(kl001.message.contains("Null"), "{}", kl001.message);
    }

    #[test]
    fn kl001_names_what_is_missing_when_repository_id_pins_the_trust() {
        let doc = trust(
            json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:repository_id"): "2"}}),
        );
        let parsed = policy::parse(&doc.to_string()).unwrap();
        let f = lint_document(&parsed, None, &LintContext::new("t"));
        let kl001 = f.iter().find(|f| f.rule == "KL001").expect("KL001");
        assert!(
            kl001.message.contains("repository_id")
                && !kl001.message.contains("any repository on GitHub"),
            "{}",
            kl001.message
        );
    }

    #[test]
    fn clean_trust_has_no_findings() {
        assert_eq!(rules_of(&trust(good_cond())), Vec::<&str>::new());
    }

    #[test]
    fn each_trust_rule_fires_and_not() {
        // (rule, firing document, non-firing document)
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "KL001",
                trust(json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}})),
                trust(good_cond()),
            ),
            (
                "KL002",
                like_sub(json!("repo:*")),
                like_sub(json!("repo:o@1/r@2:ref:refs/heads/*")),
            ),
            (
                "KL002",
                like_sub(json!(["repo:o/r:ref:refs/heads/main", "*"])),
                like_sub(json!("repo:o/r:ref:*")),
            ),
            (
                "KL003",
                like_sub(json!("repo:octo-org*")),
                like_sub(json!("repo:octo-org/r:pull_request*")),
            ),
            (
                "KL004",
                like_sub(json!("repo:octo-org/*")),
                like_sub(json!("repo:octo-org/app:*")),
            ),
            (
                "KL005",
                like_sub(json!("repo:octo-org/app*")),
                like_sub(json!("repo:octo-org/*")),
            ),
            (
                "KL006",
                like_sub(json!("repo:o/r:*")),
                like_sub(json!("repo:o/r:ref:refs/heads/*")),
            ),
            (
                "KL007",
                like_sub(json!("repo:o/r:ref:refs/heads/main*")),
                trust(good_cond()),
            ),
            (
                "KL008",
                like_sub(json!(["repo:o/r:ref:refs/heads/main", "repo:o/*"])),
                like_sub(json!(["repo:o/*", "repo:p/*"])),
            ),
            (
                "KL009",
                trust(json!({"StringEquals": {format!("{P}:sub"): "repo:o@1/r@2:pull_request"}})),
                trust(good_cond()),
            ),
            (
                "KL010",
                trust(
                    json!({"StringLike": {format!("{P}:aud"): "sts.*", format!("{P}:sub"): "repo:o@1/r@2:ref:refs/tags/v*"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL011",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}, "ForAllValues:StringLike": {format!("{P}:sub"): "repo:o/r:*"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL012",
                trust(
                    json!({"StringEqualsIfExists": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:sub"): "repo:o@1/r@2:pull_request"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL013",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}, "StringNotLike": {format!("{P}:sub"): "repo:evil/*"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL014",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o@1/r@2:pull_request", format!("{P}:repository_owner_id"): "1"}}),
                ),
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o@1/r@2:pull_request", format!("{P}:repository_id"): "2"}}),
                ),
            ),
            (
                "KL015",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}/octo-inc:sub"): "repo:o@1/r@2:pull_request"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL017",
                like_sub(json!("repo:o@*/r@*:ref:refs/heads/main")),
                like_sub(json!("repo:o@1/r@2:ref:refs/heads/rel-*")),
            ),
            (
                "KL018",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o/r:pull_request"}}),
                ),
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o/r:pull_request", format!("{P}:repository_id"): "2"}}),
                ),
            ),
            (
                "KL019",
                like_sub(json!("workflow:deploy*")),
                like_sub(json!("repository_owner_id:1:workflow:deploy*")),
            ),
            (
                "KL020",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:job_workflow_ref"): "o/wf/.github/workflows/d.yml@refs/heads/main"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL021",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o@1/r@2:environment:prod%3Aeu"}}),
                ),
                trust(good_cond()),
            ),
            (
                "KL028",
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o@1/r@2:ref:refs/heads/*"}}),
                ),
                trust(good_cond()),
            ),
        ];
        for (rule, firing, quiet) in cases {
            assert!(
                rules_of(&firing).contains(&rule),
                "{rule} should fire on {firing}: got {:?}",
                rules_of(&firing)
            );
            assert!(
                !rules_of(&quiet).contains(&rule),
                "{rule} should not fire on {quiet}: got {:?}",
                rules_of(&quiet)
            );
        }
    }

    #[test]
    fn principal_action_account_rules() {
        let mut doc = trust(good_cond());
        doc["Statement"][0]["Action"] = json!(["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]);
        assert!(rules_of(&doc).contains(&"KL024"));
        let mut doc = trust(good_cond());
        doc["Statement"][0]["Principal"]["Federated"] =
            json!(FED.replace("123456789012", "999999999999"));
        assert!(rules_of(&doc).contains(&"KL025"));
        let mut doc = trust(good_cond());
        doc["Statement"][0]["Principal"]["Federated"] = json!([
            FED,
            "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"
        ]);
        assert!(rules_of(&doc).contains(&"KL026"));
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity"}]});
        assert!(rules_of(&doc).contains(&"KL026"));
        assert!(
            !rules_of(&trust(good_cond()))
                .iter()
                .any(|r| matches!(*r, "KL024" | "KL025" | "KL026"))
        );
    }

    #[test]
    fn document_level_rules() {
        let parsed = policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{FED}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{P}:aud":"a"}},"StringEquals":{{"{P}:sub":"repo:o@1/r@2:pull_request"}}}}}}]}}"#)).unwrap();
        let f = lint_document(&parsed, None, &LintContext::new("t"));
        assert!(f.iter().any(|f| f.rule == "KL027"));
        assert!(
            f.iter().any(|f| f.rule == "KL009"),
            "the surviving block has no aud"
        );
        let mut big = trust(good_cond());
        big["Statement"][0]["Condition"]["StringEquals"][format!("{P}:sub")] = json!(
            (0..100)
                .map(|i| format!("repo:o@1/r@2:ref:refs/heads/branch-{i}"))
                .collect::<Vec<_>>()
        );
        assert!(rules_of(&big).contains(&"KL030"));
        let mut nov = trust(good_cond());
        nov.as_object_mut().unwrap().remove("Version");
        assert!(rules_of(&nov).contains(&"KL031"));
        assert!(rules_of(&json!({"Statement": "x"})).contains(&"KL000"));
    }

    fn perm(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    #[test]
    fn each_permission_rule_fires_and_not() {
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "KL101",
                perm(json!("*"), json!("*")),
                perm(json!("s3:GetObject"), json!("*")),
            ),
            (
                "KL102",
                perm(json!("s3:*"), json!("arn:aws:s3:::b")),
                perm(json!("s3:Get*"), json!("arn:aws:s3:::b")),
            ),
            (
                "KL103",
                perm(json!("s3:PutObject"), json!("*")),
                perm(json!("s3:PutObject"), json!("arn:aws:s3:::b/*")),
            ),
            (
                "KL103",
                perm(json!("lambda:UpdateFunctionCode"), json!("*")),
                perm(json!("ecs:RegisterTaskDefinition"), json!("*")),
            ),
            (
                "KL111",
                perm(json!("secretsmanager:GetSecretValue"), json!("*")),
                perm(
                    json!("secretsmanager:GetSecretValue"),
                    json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:app-*"),
                ),
            ),
            (
                "KL111",
                perm(json!("ssm:GetParameter*"), json!("*")),
                perm(json!("ssm:DescribeParameters"), json!("*")),
            ),
            (
                "KL111",
                perm(json!("kms:Decrypt"), json!("*")),
                perm(
                    json!("kms:Decrypt"),
                    json!("arn:aws:kms:us-east-1:123456789012:key/k"),
                ),
            ),
            (
                "KL104",
                perm(json!("iam:PassRole"), json!("*")),
                perm(
                    json!("iam:PassRole"),
                    json!("arn:aws:iam::123456789012:role/task"),
                ),
            ),
            (
                "KL105",
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
                perm(json!("s3:GetObject"), json!("*")),
            ),
            (
                "KL108",
                perm(json!("sts:AssumeRole"), json!("*")),
                perm(
                    json!("sts:AssumeRole"),
                    json!("arn:aws:iam::123456789012:role/x"),
                ),
            ),
            (
                "KL109",
                perm(
                    json!("iam:PutRolePolicy"),
                    json!("arn:aws:iam::123456789012:role/x"),
                ),
                perm(
                    json!("iam:GetRole"),
                    json!("arn:aws:iam::123456789012:role/x"),
                ),
            ),
        ];
        for (rule, firing, quiet) in cases {
            assert!(
                rules_of(&firing).contains(&rule),
                "{rule} should fire on {firing}: {:?}",
                rules_of(&firing)
            );
            assert!(
                !rules_of(&quiet).contains(&rule),
                "{rule} should not fire on {quiet}: {:?}",
                rules_of(&quiet)
            );
        }
        let mut ctx = LintContext::new("t");
        ctx.permission_size_quota = 50;
        let parsed = policy::Parsed {
            doc: perm(
                json!("s3:GetObject"),
                json!("arn:aws:s3:::a-long-bucket-name/*"),
            ),
            duplicate_keys: vec![],
        };
        assert!(
            lint_document(&parsed, None, &ctx)
                .iter()
                .any(|f| f.rule == "KL107")
        );
        assert!(
            !lint_document(&parsed, None, &LintContext::new("t"))
                .iter()
                .any(|f| f.rule == "KL107")
        );
    }

    #[test]
    fn managed_policy_rules() {
        let ctx = LintContext::new("t");
        let r = |a: &str| {
            lint_managed_arn(a, &ctx)
                .into_iter()
                .map(|f| f.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            r("arn:aws:iam::aws:policy/AdministratorAccess"),
            vec!["KL106"]
        );
        assert_eq!(
            r("arn:aws:iam::aws:policy/AmazonS3FullAccess"),
            vec!["KL110"]
        );
        assert!(r("arn:aws:iam::aws:policy/ReadOnlyAccess").is_empty());
        assert!(
            r("arn:aws:iam::123456789012:policy/AdministratorAccess").is_empty(),
            "customer policy names are not AWS's"
        );
    }

    #[test]
    fn catalogue_ids_are_unique_and_allows_unblock() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        let mut f = lint_managed_arn(
            "arn:aws:iam::aws:policy/AdministratorAccess",
            &LintContext::new("t"),
        );
        assert!(f[0].blocks());
        apply_allows(
            &mut f,
            &[Allow {
                rule: "KL106".into(),
                reason: "break-glass".into(),
            }],
        );
        assert!(!f[0].blocks());
    }
}
