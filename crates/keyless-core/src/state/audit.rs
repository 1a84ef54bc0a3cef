//! `keyless audit`'s judgement of a whole account: every role that trusts a GitHub issuer's OIDC
//! provider, managed by keyless or not, checked with the full trust lint and the permission
//! lint (administrator-equivalent and `*FullAccess` managed policies, wildcard inline policies);
//! and GitHub providers that no role trusts. Pure: the caller reads the account into an
//! [`AccountView`]; this module must not know IAM's API, the terminal or the report formats.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::policy::document::{self as policy, Kind};
use crate::policy::lint::{self, Finding, LintContext, Severity};

/// The audit's own rule: a GitHub provider that no role trusts.
pub const UNUSED_PROVIDER: &str = "KA001";
/// The audit's own rule: a role not used for longer than [`AuditOptions::unused_days`].
pub const UNUSED_ROLE: &str = "KA002";

/// The audit's own rule: a classic `sub` names a repository GitHub does not know.
pub const GONE_REPO: &str = "KA003";
/// The audit's own rule: a classic `sub` names a repository by an old name.
pub const MOVED_REPO: &str = "KA004";
/// The audit's own rule: a classic `sub` names a repository that mints immutable subjects, so
/// every token from it is denied (what `plan` calls KL016).
pub const IMMUTABLE_REPO: &str = "KA005";
/// The audit's own rule: GitHub-trusting roles in an account that no organisation guard covers
/// (no resource control policy refuses a GitHub token from an unlisted owner).
pub const UNGUARDED: &str = "KA006";
/// The audit's own rule: a `sub` names a repository GitHub cannot have (a space, `..`, markup):
/// that condition never matches, and nothing about it is asked of GitHub.
pub const IMPOSSIBLE_REPO: &str = "KA007";

/// Whether resource control policies (name, document) refuse a github.com token from an owner
/// nobody lists: the organisation guard, or an equivalent hand-written RCP. Probed with the
/// evaluator, so any RCP with the same effect counts.
pub fn guarded(rcps: &[(String, Value)]) -> bool {
    let prefix = "token.actions.githubusercontent.com";
    let mut ctx = crate::policy::evaluate::Context {
        provider_arn: format!("arn:aws:iam::000000000000:oidc-provider/{prefix}"),
        ..Default::default()
    };
    for (claim, value) in [
        ("aud", "sts.amazonaws.com"),
        ("sub", "repo:keyless-probe/x:ref:refs/heads/main"),
        ("repository_owner_id", "0"),
    ] {
        ctx.keys
            .insert(format!("{prefix}:{claim}"), vec![value.to_string()]);
    }
    rcps.iter().any(|(_, doc)| {
        crate::policy::evaluate::evaluate(doc, &ctx)
            .statements
            .iter()
            .any(|s| s.effect == "Deny" && s.matched)
    })
}

/// KA006 for an account, when its resource control policies could be read (`None`: the
/// management account, which no RCP reaches).
pub fn unguarded(
    view: &AccountView,
    rcps: Option<&[(String, Value)]>,
    account: &str,
) -> Option<Finding> {
    if view.roles.is_empty() || rcps.is_some_and(guarded) {
        return None;
    }
    if rcps.is_none() {
        return Some(
            Finding::new(
                UNGUARDED,
                Severity::Low,
                format!(
                    "{} role(s) trust GitHub in the management account, where no resource control policy applies (the organisation guard cannot cover them): keep them few, scoped by repository ID, or move them to a member account",
                    view.roles.len()
                ),
            )
            .on(format!("account {account}")),
        );
    }
    Some(
        Finding::new(
            UNGUARDED,
            Severity::Low,
            format!(
                "{} role(s) trust GitHub here and no resource control policy limits which GitHub owners may assume them: a role made by hand tomorrow with repo:* would admit any repository on GitHub; see `keyless guard`",
                view.roles.len()
            ),
        )
        .on(format!("account {account}")),
    )
}

/// What GitHub says about a repository a trust names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoState {
    /// It exists under this name.
    Present,
    /// GitHub answers 404: deleted, or not visible to the token.
    Missing,
    /// Renamed or transferred: GitHub redirects to this `owner/name`.
    Moved(String),
    /// It exists and its jobs present immutable subjects (`repo:OWNER@ID/REPO@ID:…`).
    MintsImmutable,
}

/// How the audit judges what is not in the documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    /// When the account was read (unix seconds).
    pub now: i64,
    /// A role unused (or, never used, created) longer ago than this many days is reported;
    /// 0 turns the rule off.
    pub unused_days: u32,
}

/// What the audit read: the account's OIDC providers and the roles whose trust names a GitHub
/// issuer's provider.
#[derive(Debug, Clone, Default)]
pub struct AccountView {
    /// Every OIDC provider ARN in the account.
    pub providers: Vec<String>,
    /// Every role whose trust names a GitHub issuer's provider ([`github_providers_of`]).
    pub roles: Vec<AuditedRole>,
}

/// A role as the audit sees it (what IAM's account authorization details hold for it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditedRole {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Trust policy (decoded).
    pub trust_policy: Value,
    /// Inline policies by name (decoded).
    pub inline_policies: std::collections::BTreeMap<String, Value>,
    /// Attached managed policy ARNs.
    pub attached_policies: Vec<String>,
    /// When it was created (unix seconds).
    pub created: Option<i64>,
    /// When it was last used to make a request (unix seconds; IAM's `RoleLastUsed`, which covers
    /// the trailing 400 days); `None` when never used in that time.
    pub last_used: Option<i64>,
    /// Its tags (keyless's ownership tags tell a managed role from a hand-made one).
    pub tags: std::collections::BTreeMap<String, String>,
    /// The documents of the account's own managed policies attached to it, by ARN (AWS-managed
    /// ones are known by name).
    pub managed_documents: std::collections::BTreeMap<String, Value>,
}

/// Is `url` (an issuer URL or an OIDC provider's URL, with or without `https://`) one of GitHub
/// Actions' token issuers: github.com (`token.actions.githubusercontent.com`, also with an
/// enterprise slug path), GHE.com (`token.actions.SUBDOMAIN.ghe.com`) or GitHub Enterprise Server
/// (`HOST/_services/token`)?
pub fn is_github_issuer(url: &str) -> bool {
    crate::identity::issuer::Issuer::looks_like_github(url.trim_start_matches("https://"))
}

/// The provider URL inside an OIDC provider ARN (`arn:…:oidc-provider/URL`).
pub fn provider_url(arn: &str) -> Option<&str> {
    arn.split_once(":oidc-provider/").map(|(_, u)| u)
}

/// The GitHub providers a trust policy names as `Federated` principal (in `Allow` statements).
pub fn github_providers_of(trust: &Value) -> BTreeSet<String> {
    policy::statements(trust)
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .flat_map(|s| policy::strings(s.get("Principal").and_then(|p| p.get("Federated"))))
        .filter(|arn| provider_url(arn).is_some_and(is_github_issuer))
        .map(String::from)
        .collect()
}

/// Judge the account. `ctx` carries the account and partition; its document name is replaced
/// per document.
pub fn audit(view: &AccountView, ctx: &LintContext, opts: &AuditOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut trusted = BTreeSet::new();
    for role in &view.roles {
        trusted.extend(github_providers_of(&role.trust_policy));
        if let Some(f) = unused(role, opts) {
            out.push(f);
        }
        let mut add = |findings: Vec<lint::Finding>| {
            // A lint finding of a live document, about its role (never allowed by a config).
            out.extend(findings.into_iter().map(|f| Finding {
                allowed: None,
                ..f.on_role(Some(role.name.clone())).on(role.arn.clone())
            }))
        };
        let doc_ctx = |what: &str| LintContext {
            document: format!("role {}: {what}", role.name),
            ..ctx.clone()
        };
        let trust = policy::Parsed {
            doc: role.trust_policy.clone(),
            duplicate_keys: vec![],
        };
        add(lint::lint_document(
            &trust,
            Some(Kind::Trust),
            &doc_ctx("trust policy"),
        ));
        for arn in &role.attached_policies {
            add(lint::lint_managed_arn(arn, &doc_ctx("managed policies")));
        }
        // The account's own managed policies, by what they allow (a customer-managed
        // `Action: "*"` is as much an administrator as AdministratorAccess).
        for (arn, doc) in &role.managed_documents {
            let parsed = policy::Parsed {
                doc: doc.clone(),
                duplicate_keys: vec![],
            };
            let name = arn.rsplit('/').next().unwrap_or(arn);
            let mctx = LintContext {
                permission_size_quota: 6144,
                ..doc_ctx(&format!("managed policy {name}"))
            };
            add(lint::lint_document(&parsed, Some(Kind::Permission), &mctx));
        }
        for (name, doc) in &role.inline_policies {
            let parsed = policy::Parsed {
                doc: doc.clone(),
                duplicate_keys: vec![],
            };
            let ictx = LintContext {
                permission_size_quota: 10240,
                ..doc_ctx(&format!("inline policy {name}"))
            };
            add(lint::lint_document(&parsed, Some(Kind::Permission), &ictx));
        }
    }
    out.extend(impossible_repos(view));
    for arn in &view.providers {
        let Some(url) = provider_url(arn) else {
            continue;
        };
        if is_github_issuer(url) && !trusted.contains(arn) {
            out.push(
                Finding::new(
                    UNUSED_PROVIDER,
                    Severity::Low,
                    format!(
                        "no role trusts the GitHub provider for {url}; delete it if nothing will (`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {arn}`)"
                    ),
                )
                .on(arn.clone()),
            );
        }
    }
    sort(&mut out);
    out
}

/// Worst first, then by resource and rule.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.resource.cmp(&b.resource))
            .then(a.rule.cmp(b.rule))
    });
}

/// The repositories that classic-form `sub` values name (`repo:OWNER/NAME:…`, no wildcard in
/// owner or name), with the roles that name each. Immutable-form values carry the owner's and
/// repository's IDs, which a re-registered name does not get, so they are left out.
pub fn classic_repos(view: &AccountView) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for role in &view.roles {
        for value in sub_values(&role.trust_policy) {
            if let crate::identity::subject::ParsedSub::Repo {
                repo,
                immutable: false,
                ..
            } = crate::identity::subject::parse_sub(&value)
                && !crate::identity::subject::has_wildcard(&repo.name)
                && github_can_name(&repo.owner, &repo.name).is_ok()
            {
                out.entry(repo.full_name())
                    .or_default()
                    .insert(role.name.clone());
            }
        }
    }
    out
}

/// Whether GitHub could give a repository this owner and name.
fn github_can_name(owner: &str, name: &str) -> Result<(), String> {
    crate::identity::names::github_owner(owner)?;
    crate::identity::names::github_repo_name(name)
}

/// KA007: `sub` values naming a repository GitHub cannot have. Such a condition never matches a
/// token; it is reported, never looked up (a name like `../../user/x` would otherwise become a
/// request path).
fn impossible_repos(view: &AccountView) -> Vec<Finding> {
    let mut out = Vec::new();
    for role in &view.roles {
        let mut seen = BTreeSet::new();
        for value in sub_values(&role.trust_policy) {
            let crate::identity::subject::ParsedSub::Repo { repo, .. } =
                crate::identity::subject::parse_sub(&value)
            else {
                continue;
            };
            if crate::identity::subject::has_wildcard(&repo.owner)
                || crate::identity::subject::has_wildcard(&repo.name)
            {
                continue;
            }
            if let Err(why) = github_can_name(&repo.owner, &repo.name)
                && seen.insert(value.clone())
            {
                out.push(
                    Finding::new(
                        IMPOSSIBLE_REPO,
                        Severity::Medium,
                        format!(
                            "trusts sub {value:?}, which names a repository GitHub cannot have ({why}): this condition never matches a token; correct the repository name or remove the condition"
                        ),
                    )
                    .on_role(Some(role.name.clone()))
                    .on(role.arn.clone()),
                );
            }
        }
    }
    out
}

/// Every `…:sub` condition value of a trust's `Allow` statements, whatever the operator.
fn sub_values(trust: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for st in policy::statements(trust) {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let Some(ops) = st.get("Condition").and_then(Value::as_object) else {
            continue;
        };
        for keys in ops.values().filter_map(Value::as_object) {
            for (k, v) in keys {
                if k.ends_with(":sub") {
                    out.extend(policy::strings(Some(v)).into_iter().map(String::from));
                }
            }
        }
    }
    out
}

/// KA003 and KA004: what GitHub said about the repositories classic subjects name
/// ([`classic_repos`]).
pub fn repo_findings(
    view: &AccountView,
    states: &std::collections::BTreeMap<String, RepoState>,
) -> Vec<Finding> {
    let arns: std::collections::BTreeMap<&str, &str> = view
        .roles
        .iter()
        .map(|r| (r.name.as_str(), r.arn.as_str()))
        .collect();
    let mut out = Vec::new();
    for (full, roles) in classic_repos(view) {
        let (rule, severity, message) = match states.get(&full) {
            Some(RepoState::Missing) => (
                GONE_REPO,
                Severity::High,
                format!(
                    "trusts repository {full}, which GitHub does not know (deleted, or hidden from this token): whoever creates a repository by that name (a deleted owner's name can be registered by anyone) can assume this role; delete the role, or, if the repository is only hidden from this token, pin the trust to its IDs (the immutable subject)"
                ),
            ),
            Some(RepoState::Moved(to)) => (
                MOVED_REPO,
                Severity::Medium,
                format!(
                    "trusts repository {full}, which is now {to}: tokens from {to} no longer match, and a new repository named {full} would; trust {to} (by ID: keyless migrate-subjects)"
                ),
            ),
            Some(RepoState::MintsImmutable) => (
                IMMUTABLE_REPO,
                Severity::High,
                format!(
                    "trusts repository {full} by its classic subject, but {full} mints immutable subjects (repo:OWNER@ID/REPO@ID:…): every token from it is denied; trust the immutable subject (keyless migrate-subjects, for a role keyless manages)"
                ),
            ),
            _ => continue,
        };
        let trusts_immutably = |role: &str| {
            view.roles
                .iter()
                .filter(|r| r.name == role)
                .flat_map(|r| sub_values(&r.trust_policy))
                .any(|v| {
                    matches!(
                        crate::identity::subject::parse_sub(&v),
                        crate::identity::subject::ParsedSub::Repo { repo, immutable: true, .. }
                            if repo.full_name().eq_ignore_ascii_case(&full)
                    )
                })
        };
        for role in roles {
            if rule == IMMUTABLE_REPO && trusts_immutably(&role) {
                continue; // both forms, as while migrating: admitted
            }
            out.push(
                Finding::new(rule, severity, message.clone())
                    .on(arns.get(role.as_str()).unwrap_or(&"").to_string())
                    .on_role(Some(role)),
            );
        }
    }
    out
}

/// KA002: a role that can be assumed from GitHub but has not been for `unused_days`: access
/// nobody uses, waiting for a workflow (or a re-registered repository name) to use it.
fn unused(role: &AuditedRole, opts: &AuditOptions) -> Option<Finding> {
    if opts.unused_days == 0 {
        return None;
    }
    let limit = i64::from(opts.unused_days) * 86_400;
    let days = |t: i64| (opts.now - t) / 86_400;
    let message = match (role.last_used, role.created) {
        (Some(t), _) if opts.now - t > limit => format!(
            "not used for {} days (more than {}); delete it if no workflow needs it any more",
            days(t),
            opts.unused_days
        ),
        (None, Some(c)) if opts.now - c > limit => format!(
            "never used in the {} days since it was created (IAM tracks the last 400 days); delete it if no workflow needs it",
            days(c)
        ),
        _ => return None,
    };
    Some(
        Finding::new(UNUSED_ROLE, Severity::Low, message)
            .on_role(Some(role.name.clone()))
            .on(role.arn.clone()),
    )
}

/// The title of an audit or lint rule, for reports.
pub fn rule_title(id: &str) -> &'static str {
    catalogue_rule(id)
        .map(|r| r.title)
        .unwrap_or("keyless finding")
}

/// How to fix a finding of rule `id` (KL or KA), from the one catalogue.
pub fn rule_fix(id: &str) -> Option<&'static str> {
    catalogue_rule(id).map(|r| r.fix)
}

fn catalogue_rule(id: &str) -> Option<&'static lint::Rule> {
    crate::policy::finding::AUDIT_RULES
        .iter()
        .find(|r| r.id == id)
        .or_else(|| lint::rule(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ka006_knows_a_guard_by_what_it_does() {
        let view = AccountView {
            providers: vec![],
            roles: vec![AuditedRole {
                name: "r".into(),
                ..Default::default()
            }],
        };
        let g = crate::config::guard::Guard {
            name: "g".into(),
            owner_ids: vec!["1".into()],
            enterprise_ids: vec![],
            issuers: vec![crate::identity::issuer::Issuer::github_com()],
            targets: vec!["r-ab12".into()],
        };
        let guard = vec![("g".to_string(), crate::state::guard::render(&g))];
        assert!(unguarded(&view, Some(&guard), "1").is_none());
        let other = vec![(
            "s3".to_string(),
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"}]}),
        )];
        assert_eq!(unguarded(&view, Some(&other), "1").unwrap().rule, UNGUARDED);
        assert!(
            unguarded(&view, None, "1")
                .unwrap()
                .message
                .contains("management account")
        );
        assert!(unguarded(&AccountView::default(), Some(&other), "1").is_none());
    }

    const GH: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    const OFF: AuditOptions = AuditOptions {
        now: 0,
        unused_days: 0,
    };

    fn role(name: &str, trust: Value, attached: &[&str]) -> AuditedRole {
        AuditedRole {
            name: name.into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            trust_policy: trust,
            attached_policies: attached.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn trust(sub: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                          "StringLike": {"token.actions.githubusercontent.com:sub": sub}}}]})
    }

    #[test]
    fn github_issuers_are_recognised_and_others_are_not() {
        assert!(is_github_issuer(
            "https://token.actions.githubusercontent.com"
        ));
        assert!(is_github_issuer(
            "token.actions.githubusercontent.com/octo-ent"
        ));
        assert!(is_github_issuer("token.actions.octo.ghe.com"));
        assert!(is_github_issuer("https://ghes.example.com/_services/token"));
        assert!(!is_github_issuer("oidc.eks.us-east-1.amazonaws.com/id/ABC"));
        assert!(!is_github_issuer("gitlab.com"));
    }

    #[test]
    fn a_repository_name_github_cannot_have_is_a_finding_and_never_looked_up() {
        let view = AccountView {
            providers: vec![GH.into()],
            roles: vec![
                role(
                    "spaced",
                    trust("repo:octo-org/my repo:ref:refs/heads/main"),
                    &[],
                ),
                role(
                    "markup",
                    trust("repo:octo-org/</script>:ref:refs/heads/main"),
                    &[],
                ),
                role("climb", trust("repo:../../user/x:*"), &[]),
                role("fine", trust("repo:octo-org/site:ref:refs/heads/main"), &[]),
            ],
        };
        let f = audit(&view, &LintContext::new("live"), &OFF);
        let ka7: BTreeSet<&str> = f
            .iter()
            .filter(|f| f.rule == IMPOSSIBLE_REPO)
            .filter_map(|f| f.role.as_deref())
            .collect();
        assert_eq!(ka7, BTreeSet::from(["spaced", "markup", "climb"]));
        let asked: Vec<String> = classic_repos(&view).into_keys().collect();
        assert_eq!(
            asked,
            vec!["octo-org/site".to_string()],
            "only real names are looked up"
        );
    }

    #[test]
    fn a_customer_managed_policy_is_linted_by_what_it_allows() {
        let admin = "arn:aws:iam::123456789012:policy/ci-admin";
        let mut r = role(
            "deployer",
            trust("repo:octo-org/site:ref:refs/heads/main"),
            &[admin],
        );
        r.managed_documents.insert(
            admin.into(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        );
        let view = AccountView {
            providers: vec![GH.into()],
            roles: vec![r],
        };
        let f = audit(&view, &LintContext::new("live"), &OFF);
        let admin_finding = f
            .iter()
            .find(|f| f.rule == "KL101")
            .expect("Action * in a customer-managed policy is found");
        assert_eq!(admin_finding.severity, Severity::Critical);
        assert_eq!(admin_finding.role.as_deref(), Some("deployer"));
        assert!(
            admin_finding
                .location
                .document
                .contains("managed policy ci-admin")
        );
    }

    #[test]
    fn a_wildcard_subject_and_a_full_access_policy_are_found_a_scoped_role_is_clean() {
        let view = AccountView {
            providers: vec![GH.into()],
            roles: vec![
                role(
                    "any-branch",
                    trust("repo:octo-org/site:*"),
                    &["arn:aws:iam::aws:policy/AmazonS3FullAccess"],
                ),
                role(
                    "scoped",
                    trust("repo:octo-org/site:ref:refs/heads/main"),
                    &[],
                ),
            ],
        };
        let f = audit(&view, &LintContext::new("live"), &OFF);
        let on = |r: &str| -> Vec<&str> {
            f.iter()
                .filter(|x| x.role.as_deref() == Some(r) && x.severity >= Severity::Medium)
                .map(|x| x.rule)
                .collect()
        };
        assert!(on("any-branch").contains(&"KL110"), "{f:#?}");
        assert!(on("any-branch").len() >= 2, "wildcard sub too: {f:#?}");
        assert!(on("scoped").is_empty(), "{f:#?}");
        assert!(f.iter().all(|x| x.rule != UNUSED_PROVIDER));
    }

    #[test]
    fn a_provider_no_role_trusts_is_reported_and_other_issuers_are_not() {
        let eks = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X";
        let view = AccountView {
            providers: vec![GH.into(), eks.into()],
            roles: vec![],
        };
        let f = audit(&view, &LintContext::new("live"), &OFF);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].rule, f[0].resource.as_deref().unwrap()),
            (UNUSED_PROVIDER, GH)
        );
    }

    #[test]
    fn deny_statements_do_not_make_a_role_a_github_role() {
        let t = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity"}]});
        assert!(github_providers_of(&t).is_empty());
        assert_eq!(github_providers_of(&trust("repo:o/r:*")).len(), 1);
    }

    /// Every trust checkov (CKV_AWS_358/393) or Prowler
    /// (`iam_role_github_oidc_trust_subject_restricted`) fails, audit fails too (a finding at
    /// medium or worse, the default `--fail-on`); where their patterns are wrong (immutable
    /// `owner@id` subjects), audit is right.
    #[test]
    fn audit_fails_whatever_checkov_and_prowler_fail() {
        let p = "token.actions.githubusercontent.com";
        let aud = json!({"StringEquals": {format!("{p}:aud"): "sts.amazonaws.com"}});
        let with = |op: &str, sub: Value| {
            let mut c = aud.clone();
            c[op][format!("{p}:sub")] = sub;
            c
        };
        let cases: Vec<(&str, Value)> = vec![
            ("no condition", Value::Null),
            ("no sub", aud.clone()),
            ("sub *", with("StringLike", json!("*"))),
            ("no colon", with("StringLike", json!("octo-org/site"))),
            ("repo:*", with("StringLike", json!("repo:*"))),
            (
                "workflow first",
                with("StringLike", json!("workflow:deploy")),
            ),
            (
                "environment first",
                with("StringEquals", json!("environment:prod")),
            ),
            (
                "ref first",
                with("StringLike", json!("ref:refs/heads/main")),
            ),
            (
                "ForAllValues",
                with("ForAllValues:StringLike", json!("repo:octo-org/site:*")),
            ),
            (
                "IfExists",
                with(
                    "StringLikeIfExists",
                    json!("repo:octo-org/site:ref:refs/heads/main"),
                ),
            ),
            (
                "no slash",
                with("StringLike", json!("repo:octo-org:ref:refs/heads/main")),
            ),
            (
                "empty owner",
                with("StringLike", json!("repo:/site:ref:refs/heads/main")),
            ),
            (
                "owner *",
                with("StringLike", json!("repo:octo-*/site:ref:refs/heads/main")),
            ),
            (
                "owner ?",
                with(
                    "StringLike",
                    json!("repo:octo-or?/site:ref:refs/heads/main"),
                ),
            ),
        ];
        let mut missed = Vec::new();
        for (label, condition) in cases {
            let mut t = trust("x");
            if condition.is_null() {
                t["Statement"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("Condition");
            } else {
                t["Statement"][0]["Condition"] = condition;
            }
            let view = AccountView {
                providers: vec![GH.into()],
                roles: vec![role(label, t, &[])],
            };
            let f = audit(&view, &LintContext::new("live"), &OFF);
            if !f.iter().any(|x| x.severity >= Severity::Medium) {
                missed.push((label, f));
            }
        }
        assert!(
            missed.is_empty(),
            "audit passed what checkov or Prowler fail: {missed:#?}"
        );
        // Where their patterns are wrong: an immutable subject is the strongest pinning there is.
        let mut t = trust("x");
        t["Statement"][0]["Condition"] = with(
            "StringEquals",
            json!("repo:octo-org@123/site@456:ref:refs/heads/main"),
        );
        let view = AccountView {
            providers: vec![GH.into()],
            roles: vec![role("immutable", t, &[])],
        };
        let f = audit(&view, &LintContext::new("live"), &OFF);
        assert!(f.iter().all(|x| x.severity < Severity::Warning), "{f:#?}");
    }

    #[test]
    fn roles_unused_or_never_used_for_longer_than_the_limit_are_reported() {
        let day = 86_400;
        let now = 1_000 * day;
        let opts = AuditOptions {
            now,
            unused_days: 90,
        };
        let mut fresh = role("fresh", trust("repo:o/r:ref:refs/heads/main"), &[]);
        fresh.created = Some(now - 10 * day);
        let mut idle = role("idle", trust("repo:o/r:ref:refs/heads/main"), &[]);
        idle.created = Some(now - 500 * day);
        idle.last_used = Some(now - 91 * day);
        let mut busy = role("busy", trust("repo:o/r:ref:refs/heads/main"), &[]);
        busy.created = Some(now - 500 * day);
        busy.last_used = Some(now - 89 * day);
        let mut never = role("never", trust("repo:o/r:ref:refs/heads/main"), &[]);
        never.created = Some(now - 200 * day);
        let view = AccountView {
            providers: vec![GH.into()],
            roles: vec![fresh, idle, busy, never],
        };
        let unused: Vec<(String, String)> = audit(&view, &LintContext::new("live"), &opts)
            .into_iter()
            .filter(|f| f.rule == UNUSED_ROLE)
            .map(|f| (f.role.unwrap(), f.message))
            .collect();
        assert_eq!(unused.len(), 2, "{unused:?}");
        assert!(unused[0].0 == "idle" && unused[0].1.contains("not used for 91 days"));
        assert!(unused[1].0 == "never" && unused[1].1.contains("never used in the 200 days"));
        let off = AuditOptions {
            unused_days: 0,
            ..opts
        };
        assert!(
            audit(&view, &LintContext::new("live"), &off)
                .iter()
                .all(|f| f.rule != UNUSED_ROLE)
        );
    }

    #[test]
    fn classic_subjects_of_gone_or_moved_repositories_are_reported() {
        let immutable = "repo:octo-org@1/pinned@2:ref:refs/heads/main";
        let view = AccountView {
            providers: vec![GH.into()],
            roles: vec![
                role("a", trust("repo:octo-org/gone:ref:refs/heads/main"), &[]),
                role("b", trust("repo:octo-org/old-name:environment:prod"), &[]),
                role("c", trust("repo:octo-org/here:*"), &[]),
                role("d", trust(immutable), &[]),
                role("e", trust("repo:octo-org/*:ref:refs/heads/main"), &[]),
            ],
        };
        let repos = classic_repos(&view);
        assert_eq!(
            repos.keys().collect::<Vec<_>>(),
            ["octo-org/gone", "octo-org/here", "octo-org/old-name"]
        );
        let states = [
            ("octo-org/gone".to_string(), RepoState::Missing),
            (
                "octo-org/old-name".to_string(),
                RepoState::Moved("octo-org/new-name".into()),
            ),
            ("octo-org/here".to_string(), RepoState::Present),
        ]
        .into();
        let f = repo_findings(&view, &states);
        let got: Vec<(&str, &str, Severity)> = f
            .iter()
            .map(|f| (f.rule, f.role.as_deref().unwrap(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                (GONE_REPO, "a", Severity::High),
                (MOVED_REPO, "b", Severity::Medium)
            ]
        );
        assert!(f[1].message.contains("now octo-org/new-name"));
    }
}
