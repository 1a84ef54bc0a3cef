//! The lint catalogue: stable rule IDs and severities, and the checks behind them.
//!
//! | module | holds |
//! |---|---|
//! | [`catalogue`] | the rules: IDs, severities, titles, fixes |
//! | `trust` | the checks of trust-policy statements (KL0xx) |
//! | `permissions` | the checks of permission-policy statements (KL1xx) |
//! | this file | findings, the lint context, the document walk, allows |
//!
//! Trust-policy rules (KL0xx) follow github-oidc-aws.md §13; permission-policy rules are KL1xx.
//! Findings of severity critical, high or error *block*: rendering for apply stops unless that one
//! rule is allowed by name, with a reason, for that role. The checks take parsed JSON documents
//! (keyless's own or anyone's) and return plain [`Finding`]s. No I/O, no templates, no AWS.
//!
//! KL016 (the subject form GitHub reports), KL022 (an unprotected or missing environment) and
//! KL029 (environment casing) need GitHub's answers and are checked in `render::github_findings`.
//! Not implemented: KL023 (`pull_request_target` workflows; keyless does not read workflows).

pub mod catalogue;
mod permissions;
mod reference;
mod trust;

pub use crate::policy::finding::{Finding, Location};
use Severity::*;
pub use catalogue::{RULES, Rule, Severity, rule};
pub use permissions::SECRET_READS;
use permissions::permission_statement;
use reference::reference_statement;
use trust::trust_statement;

use serde::Serialize;
use serde_json::Value;

use crate::identity::issuer::{Issuer, supported_claim_keys};
use crate::identity::subject::has_wildcard;
use crate::policy::document::{self as policy, Kind, strings};

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
            location: Location {
                document: self.ctx.document.clone(),
                statement: statement.map(String::from),
                key: key.map(String::from),
                value: value.map(String::from),
            },
            ..Finding::new(id, severity, message)
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
                reference_statement(&mut out, i, st);
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
        // The same owner binding as a claim condition beside the sub (what init --pin-owner
        // writes, or a repository_id pin): consistent with the sub forms above.
        for (claim, id) in [("repository_owner_id", "1"), ("repository_id", "2")] {
            let doc = trust(json!({"StringEquals": {
                format!("{P}:aud"): "sts.amazonaws.com",
                format!("{P}:sub"): "environment:prod",
                format!("{P}:{claim}"): id}}));
            assert!(!rules_of(&doc).contains(&"KL019"), "{claim}");
        }
        // A negated one binds nothing.
        let doc = trust(json!({
            "StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:sub"): "environment:prod"},
            "StringNotEquals": {format!("{P}:repository_owner_id"): "1"}}));
        assert!(rules_of(&doc).contains(&"KL019"));
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
                    // runner_environment is not among the keys AWS's data lists.
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o@1/r@2:pull_request", format!("{P}:runner_environment"): "github-hosted"}}),
                ),
                trust(
                    json!({"StringEquals": {format!("{P}:aud"): "a", format!("{P}:sub"): "repo:o@1/r@2:pull_request", format!("{P}:repository_id"): "2", format!("{P}:repository_owner_id"): "1"}}),
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
                perm(json!("ecs:DeregisterTaskDefinition"), json!("*")),
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
            // Against AWS's Service Authorization Reference.
            (
                "KL112",
                perm(json!("s3:PutObjekt"), json!("arn:aws:s3:::b/*")),
                perm(json!("s3:PutObject"), json!("arn:aws:s3:::b/*")),
            ),
            (
                "KL112",
                perm(json!("s4:GetObject"), json!("*")),
                perm(json!("s3:Get*Tagging"), json!("arn:aws:s3:::b/*")),
            ),
            (
                "KL112",
                perm(json!("s3:Get*Tagz"), json!("arn:aws:s3:::b/*")),
                perm(json!("S3:getobject"), json!("arn:aws:s3:::b/*")),
            ),
            (
                "KL113",
                perm(json!("s3:PutObject"), json!("arn:aws:s3:::b")),
                perm(
                    json!(["s3:PutObject", "s3:ListBucket"]),
                    json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
                ),
            ),
            (
                "KL113",
                perm(
                    json!("ecr:GetAuthorizationToken"),
                    json!("arn:aws:ecr:us-east-1:123456789012:repository/app"),
                ),
                perm(json!("ecr:GetAuthorizationToken"), json!("*")),
            ),
            (
                "KL113",
                perm(
                    json!("dynamodb:GetItem"),
                    json!("arn:aws:dynamodb:::table/locks"),
                ),
                perm(
                    json!("dynamodb:GetItem"),
                    json!("arn:aws:dynamodb:us-east-1:123456789012:table/locks"),
                ),
            ),
            (
                "KL114",
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"StringLike": {"s3:prefix": "www/*"}}}]}),
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Condition": {"StringLike": {"s3:prefix": "www/*"}, "StringEquals": {"aws:SourceVpc": "vpc-1"}}}]}),
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
