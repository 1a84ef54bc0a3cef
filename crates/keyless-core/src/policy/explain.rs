//! Why a token would be admitted or denied, in keyless's terms, with a concrete fix.
//!
//! [`explain`] walks STS's order (github-oidc-aws.md §12): the issuer has a provider in the
//! account, the audience is among its client IDs, the token is within its lifetime, then the
//! role's trust policy ([`crate::policy::evaluate`]), then the organisation's resource control
//! policies (an explicit deny there refuses what the trust admits; the management account has
//! none). The first failing step decides. Claims are used for
//! diagnosis only, never trusted for anything else. No I/O: callers pass in what they read.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::policy::evaluate::{self, ConditionResult, Verdict};

/// What is known about the provider side (from IAM, or from the config when IAM is not readable).
#[derive(Debug, Clone, Default)]
pub struct ProviderFacts {
    /// Issuer URLs (with `https://`) that have a provider in the account; `None` = unknown.
    pub issuers: Option<Vec<String>>,
    /// The provider's client IDs; `None` = unknown.
    pub client_ids: Option<Vec<String>>,
    /// The resource control policies that apply to the role's account (name, document):
    /// `--rcp FILE`, or read from AWS Organizations.
    pub rcps: Vec<(String, Value)>,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Would STS admit this token for this role?
    pub allowed: bool,
    /// The deciding step: `role`, `provider`, `audience`, `lifetime`, `trust` or `rcp`; or
    /// `undecided` when a policy uses an operator keyless does not evaluate.
    pub step: &'static str,
    /// What happens, in one sentence.
    pub message: String,
    /// What to change, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The deciding statement, e.g. `Statement[0] (GitHubActions)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The deciding condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionResult>,
    /// The full trust evaluation, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

fn claim<'a>(claims: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    claims.get(k).and_then(Value::as_str)
}

fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

impl Explanation {
    /// The role does not exist (read from IAM): STS answers AccessDenied, and no wait helps.
    pub fn missing_role(role: &str, account: &str) -> Explanation {
        deny(
            "role",
            format!("STS answers AccessDenied: role {role} does not exist in account {account}"),
            "create it with `keyless apply` (or check the account and the role name)".into(),
        )
    }
}

fn deny(step: &'static str, message: String, fix: String) -> Explanation {
    Explanation {
        allowed: false,
        step,
        message,
        fix: Some(fix),
        statement: None,
        condition: None,
        verdict: None,
    }
}

/// Explain a token's fate for a role.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    trust: &Value,
    provider_arn: &str,
    key_prefix: &str,
    claims: &Map<String, Value>,
    supported: &[String],
    facts: &ProviderFacts,
    now: i64,
) -> Explanation {
    let iss = claim(claims, "iss").unwrap_or("");
    if let Some(issuers) = &facts.issuers
        && !issuers.iter().any(|i| i == iss)
    {
        return deny(
            "provider",
            format!(
                "STS answers InvalidIdentityToken: no OpenID Connect provider in the account for issuer {iss:?}"
            ),
            if iss.starts_with("https://token.actions.githubusercontent.com/") {
                "the enterprise uses a unique issuer: set [provider] enterprise_slug to match, then `keyless apply`".into()
            } else {
                "create the provider: `keyless apply` (it creates or adopts the provider for the configured issuer)".into()
            },
        );
    }
    let auds = audiences(claims);
    if let Some(ids) = &facts.client_ids
        && !auds.iter().any(|a| ids.contains(a))
    {
        return deny(
            "audience",
            format!(
                "STS answers InvalidIdentityToken (Incorrect token audience): the token's audience {auds:?} is not among the provider's client IDs {ids:?}"
            ),
            format!(
                "request the audience the provider accepts: `audience: {}` in aws-actions/configure-aws-credentials (the token endpoint's default is the owner URL), or add {:?} to [provider] audiences and apply",
                ids.first()
                    .cloned()
                    .unwrap_or_else(|| "sts.amazonaws.com".into()),
                auds.first().cloned().unwrap_or_default()
            ),
        );
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
        && exp <= now
    {
        return deny(
            "lifetime",
            format!(
                "STS answers ExpiredTokenException: the token expired {}s ago",
                now - exp
            ),
            "GitHub tokens live about 5 minutes: request a fresh one right before the exchange"
                .into(),
        );
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf > now + 60
    {
        return deny(
            "lifetime",
            format!("the token is not valid for another {}s (nbf)", nbf - now),
            "check this machine's clock".into(),
        );
    }
    // The token's issuer selects the provider STS matches against the principal, and the
    // prefix of the condition keys it fills in; keys of any other prefix are absent.
    let token_prefix = iss.strip_prefix("https://").filter(|p| !p.is_empty());
    let (provider_arn, key_prefix) = match token_prefix {
        Some(tp) if !tp.eq_ignore_ascii_case(key_prefix) => {
            let base = provider_arn
                .split_once(":oidc-provider/")
                .map(|(b, _)| b)
                .unwrap_or(provider_arn);
            (format!("{base}:oidc-provider/{tp}"), tp.to_string())
        }
        _ => (provider_arn.to_string(), key_prefix.to_string()),
    };
    let (provider_arn, key_prefix) = (provider_arn.as_str(), key_prefix.as_str());
    let ctx = evaluate::context(provider_arn, key_prefix, claims, supported);
    let verdict = evaluate::evaluate(trust, &ctx);
    let statement = verdict.deciding.as_ref().map(|d| d.label());
    if let Some(op) = &verdict.undecided {
        return undecided(
            format!(
                "the trust policy's {}",
                statement.clone().unwrap_or_default()
            ),
            op,
            statement.clone(),
            verdict.clone(),
        );
    }
    if verdict.allowed
        && let Some(denied) = rcp_denial(&facts.rcps, &ctx)
    {
        return denied;
    }
    if verdict.allowed {
        return Explanation {
            allowed: true,
            step: "trust",
            message: format!("admitted by {}", statement.clone().unwrap_or_default()),
            fix: None,
            statement,
            condition: None,
            verdict: Some(verdict),
        };
    }
    let condition = verdict.deciding_condition().cloned();
    let (message, fix) = trust_fix(&verdict, condition.as_ref(), provider_arn, claims);
    Explanation {
        allowed: false,
        step: "trust",
        message,
        fix: Some(fix),
        statement,
        condition,
        verdict: Some(verdict),
    }
}

/// keyless cannot decide: `what` uses operator `op`, which the evaluator does not model.
fn undecided(
    what: String,
    op: &str,
    statement: Option<String>,
    verdict: evaluate::Verdict,
) -> Explanation {
    Explanation {
        allowed: false,
        step: "undecided",
        message: format!(
            "cannot decide: {what} uses the condition operator {op}, which keyless does not evaluate"
        ),
        fix: Some(format!(
            "decide it by hand, or prove it with a real token exchange (`keyless verify` inside the workflow); keyless evaluates String*, Numeric*, Date*, Bool, IpAddress and Null operators, not {op}"
        )),
        statement,
        condition: verdict
            .deciding
            .as_ref()
            .and_then(|d| d.conditions.iter().find(|c| c.operator == op).cloned()),
        verdict: Some(verdict),
    }
}

/// The first resource control policy that explicitly denies the request, as an explanation
/// naming the policy, the statement and the owner it refuses; or one that cannot be decided
/// (a Deny statement with an operator keyless does not model), which is never passed over.
fn rcp_denial(rcps: &[(String, Value)], ctx: &evaluate::Context) -> Option<Explanation> {
    for (name, doc) in rcps {
        let v = evaluate::evaluate(doc, ctx);
        if let Some(op) = &v.undecided
            && v.deciding.as_ref().is_some_and(|d| d.effect == "Deny")
        {
            let label = v.deciding.as_ref().map(|d| d.label()).unwrap_or_default();
            return Some(undecided(
                format!("the organisation's RCP {name}, {label},"),
                op,
                Some(format!("{name} {label}")),
                v.clone(),
            ));
        }
        let Some(st) = v
            .statements
            .iter()
            .find(|s| s.effect == "Deny" && s.matched)
        else {
            continue;
        };
        let owner = st
            .conditions
            .iter()
            .find(|c| c.key.to_ascii_lowercase().ends_with(":repository_owner_id"))
            .and_then(|c| c.presented.as_ref())
            .and_then(|p| p.first().cloned());
        let (message, fix) = match &owner {
            Some(o) => (
                format!(
                    "denied by the organisation's RCP {name}, {}: owner {o} not allowed",
                    st.label()
                ),
                format!(
                    "if repositories of owner {o} may deploy here, add \"{o}\" to [guard] owner_ids and run `keyless guard apply`; otherwise run the job from an allowed owner's repository"
                ),
            ),
            None => (
                format!("denied by the organisation's RCP {name}, {}", st.label()),
                format!(
                    "the resource control policy {name} refuses this request; ask its owner (AWS Organizations)"
                ),
            ),
        };
        return Some(Explanation {
            allowed: false,
            step: "rcp",
            message,
            fix: Some(fix),
            statement: Some(format!("{name} {}", st.label())),
            condition: st
                .conditions
                .iter()
                .find(|c| {
                    c.operator != "Null"
                        && c.key.to_ascii_lowercase().ends_with(":repository_owner_id")
                })
                .or(st.conditions.first())
                .cloned(),
            verdict: Some(v.clone()),
        });
    }
    None
}

/// The sub's parts: (repo part, context part).
fn split_sub(sub: &str) -> Option<(&str, &str)> {
    let rest = sub.strip_prefix("repo:")?;
    let colon = rest.find(':')?;
    Some((&rest[..colon], &rest[colon + 1..]))
}

fn trust_fix(
    v: &Verdict,
    c: Option<&ConditionResult>,
    provider_arn: &str,
    claims: &Map<String, Value>,
) -> (String, String) {
    let Some(d) = &v.deciding else {
        return (
            "STS answers AccessDenied: the trust policy has no Allow statement".into(),
            "render the role from keyless.toml and apply it".into(),
        );
    };
    if v.reason == "explicit deny" {
        return (
            format!(
                "STS answers AccessDenied: {} explicitly denies this token",
                d.label()
            ),
            "remove or narrow that Deny statement".into(),
        );
    }
    if !d.principal_matches {
        return (
            format!("STS answers AccessDenied: no statement names this token's provider ({provider_arn}) as its principal"),
            "the role trusts another provider (another issuer, enterprise slug or account): fix [provider] or account_id in keyless.toml and apply".into(),
        );
    }
    if !d.action_matches {
        return (
            format!(
                "STS answers AccessDenied: {} does not allow sts:AssumeRoleWithWebIdentity",
                d.label()
            ),
            "allow the action sts:AssumeRoleWithWebIdentity (keyless renders it)".into(),
        );
    }
    let Some(c) = c else {
        return (
            "STS answers AccessDenied".into(),
            "compare the trust policy with `keyless render`".into(),
        );
    };
    let claim_name = c
        .key
        .rsplit(':')
        .next()
        .unwrap_or(&c.key)
        .to_ascii_lowercase();
    let expected = c.expected.join(" | ");
    let Some(presented) = c.presented.as_ref().and_then(|p| p.first()) else {
        return (
            format!(
                "STS answers AccessDenied: {} needs {} `{}` but the token carries no `{claim_name}` claim IAM can see",
                d.label(),
                c.operator,
                c.key
            ),
            format!(
                "this job's token has no `{claim_name}` (or IAM does not pass it as a condition key): drop that condition, or run the job so the claim is present"
            ),
        );
    };
    let message = format!(
        "STS answers AccessDenied: {} requires {} {} to be {expected}, the token presents {presented:?}",
        d.label(),
        c.operator,
        c.key
    );
    if claim_name == "aud" {
        return (
            message,
            format!(
                "the role expects audience {expected}: request it with `audience:` in configure-aws-credentials, or add {presented:?} to [provider] audiences"
            ),
        );
    }
    if claim_name != "sub" {
        return (
            message,
            format!(
                "the token's {claim_name} is {presented:?}: change the role's claims condition to match, or run from the expected workflow"
            ),
        );
    }
    let Some((repo, ctx)) = split_sub(presented) else {
        return (
            message,
            format!(
                "this repository uses a custom sub template ({presented:?}): add custom = {presented:?} to the role's subjects if that job should be admitted"
            ),
        );
    };
    let immutable_token = repo.contains('@');
    let immutable_policy = c
        .expected
        .iter()
        .any(|e| split_sub(e).is_some_and(|(r, _)| r.contains('@')));
    let repo_name = claim(claims, "repository").unwrap_or(repo);
    // Compare repositories by name: `o@1/r@2` and `o/r` are the same repository in two forms.
    let names_only = |r: &str| {
        r.split('/')
            .map(|part| part.split('@').next().unwrap_or(part))
            .collect::<Vec<_>>()
            .join("/")
    };
    let repo_matches = c.expected.iter().any(|e| {
        split_sub(e)
            .is_some_and(|(r, _)| names_only(r) == names_only(repo) || evaluate::like(r, repo))
    });
    // The trusted environments, for a job that runs without one.
    let trusted_envs: Vec<String> = c
        .expected
        .iter()
        .filter_map(|e| split_sub(e))
        .filter(|(r, _)| names_only(r) == names_only(repo) || evaluate::like(r, repo))
        .filter_map(|(_, cx)| {
            cx.strip_prefix("environment:")
                .map(|e| e.replace("%3A", ":"))
        })
        .collect();
    // A value that differs from a trusted one only in letter case: GitHub names are case-
    // insensitive, but the sub carries them as written and StringEquals compares exactly.
    let case_only = c
        .expected
        .iter()
        .find(|e| *e != presented && e.eq_ignore_ascii_case(presented));
    let fix = if let Some(e) = case_only {
        format!(
            "the sub differs from a trusted one only in letter case (token {presented:?}, trust {e:?}): GitHub puts names in the sub as written (owner, repository, environment), and {} compares case-sensitively; write the name in the config exactly as the token shows it",
            c.operator
        )
    } else if immutable_token && !immutable_policy {
        let (o, r) = repo.split_once('/').unwrap_or((repo, ""));
        let oid = o.split('@').nth(1).unwrap_or("OWNER_ID");
        let rid = r.split('@').nth(1).unwrap_or("REPO_ID");
        format!(
            "this repository emits immutable subjects ({presented:?}) but the role matches classic ones: add owner_id = \"{oid}\" and repo_id = \"{rid}\" to its [[role.subject]] (format = \"both\" while migrating)"
        )
    } else if !immutable_token && immutable_policy && repo_matches {
        "this repository still emits classic subjects: set format = \"both\" on its [[role.subject]] until it switches".into()
    } else if !repo_matches {
        format!(
            "the token comes from repository {repo_name}, which the role does not trust: add a [[role.subject]] with repo = \"{repo_name}\" if it should deploy"
        )
    } else if let Some(env) = ctx.strip_prefix("environment:") {
        let env = env.replace("%3A", ":");
        format!(
            "this job uses environment `{env}`, so its sub is `{presented}`; add environment = \"{env}\" to the role's subjects"
        )
    } else if ctx == "pull_request" {
        format!(
            "this is a pull_request job, so its sub is `{presented}`; add pull_request = true to the role's subjects only if pull-request code may use this role"
        )
    } else if let (Some(b), Some(env)) = (ctx.strip_prefix("ref:refs/heads/"), trusted_envs.first())
    {
        format!(
            "the role trusts jobs in environment `{env}`; this job runs on branch `{b}` without one: add `environment: {env}` to the job (its sub becomes `repo:{repo}:environment:{env}`), rather than trusting the branch"
        )
    } else if let Some(b) = ctx.strip_prefix("ref:refs/heads/") {
        format!(
            "this job runs on branch `{b}`, so its sub is `{presented}`; add branch = \"{b}\" to the role's subjects, or run it from a trusted branch"
        )
    } else if let Some(t) = ctx.strip_prefix("ref:refs/tags/") {
        format!(
            "this job runs on tag `{t}`, so its sub is `{presented}`; add tag = \"{t}\" (or a pattern) to the role's subjects"
        )
    } else {
        format!("the role expects {expected}; add a subject that matches `{presented}`")
    };
    (message, fix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "token.actions.githubusercontent.com";
    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    fn trust(subs: &[&str]) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "GitHubActions", "Effect": "Allow", "Principal": {"Federated": ARN}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:sub"): subs}}}]})
    }

    fn claims(sub: &str) -> Map<String, Value> {
        json!({"iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com", "sub": sub, "repository": "o/r", "exp": 2_000_000_000i64, "nbf": 0})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn the_tokens_issuer_selects_the_provider_and_key_prefix() {
        // A trust written for a GHES provider (principal and keys) does not admit a github.com
        // token, even when the values would match.
        let ghes = "github.example.com/_services/token";
        let ghes_arn = format!("arn:aws:iam::123456789012:oidc-provider/{ghes}");
        let t = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": ghes_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{ghes}:aud"): "sts.amazonaws.com", format!("{ghes}:sub"): "repo:o/r:ref:refs/heads/main"}}}]});
        let c = claims("repo:o/r:ref:refs/heads/main");
        let keys = ["aud".to_string(), "sub".to_string()];
        let e = explain(
            &t,
            &ghes_arn,
            ghes,
            &c,
            &keys,
            &ProviderFacts::default(),
            1_900_000_000,
        );
        assert!(!e.allowed, "{}", e.message);
        assert!(
            e.message.contains(P),
            "names the token's provider: {}",
            e.message
        );
        // The same token with its own issuer's trust is admitted.
        let mut own = c.clone();
        own.insert("iss".into(), json!(format!("https://{ghes}")));
        let e = explain(
            &t,
            &ghes_arn,
            ghes,
            &own,
            &keys,
            &ProviderFacts::default(),
            1_900_000_000,
        );
        assert!(e.allowed, "{}", e.message);
        // An enterprise-slug trust does not admit a plain github.com token either.
        let slug = format!("{P}/octo-inc");
        let slug_arn = format!("arn:aws:iam::123456789012:oidc-provider/{slug}");
        let t = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": slug_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{slug}:aud"): "sts.amazonaws.com", format!("{slug}:sub"): "repo:o/r:ref:refs/heads/main"}}}]});
        let e = explain(
            &t,
            &slug_arn,
            &slug,
            &c,
            &keys,
            &ProviderFacts::default(),
            1_900_000_000,
        );
        assert!(!e.allowed, "{}", e.message);
    }

    fn run(t: &Value, c: &Map<String, Value>, facts: &ProviderFacts) -> Explanation {
        explain(
            t,
            ARN,
            P,
            c,
            &["aud".into(), "sub".into()],
            facts,
            1_900_000_000,
        )
    }

    #[test]
    fn admitted_names_the_statement() {
        let e = run(
            &trust(&["repo:o/r:ref:refs/heads/main"]),
            &claims("repo:o/r:ref:refs/heads/main"),
            &ProviderFacts::default(),
        );
        assert!(e.allowed);
        assert_eq!(e.statement.as_deref(), Some("Statement[0] (GitHubActions)"));
    }

    #[test]
    fn fixes_by_github_context() {
        let t = trust(&["repo:o/r:ref:refs/heads/main"]);
        let cases = [
            ("repo:o/r:environment:prod", "add environment = \"prod\""),
            ("repo:o/r:pull_request", "add pull_request = true"),
            ("repo:o/r:ref:refs/heads/dev", "add branch = \"dev\""),
            ("repo:o/r:ref:refs/tags/v1", "add tag = \"v1\""),
            ("repo:evil/r:ref:refs/heads/main", "repository"),
            (
                "repo:o@1/r@2:ref:refs/heads/main",
                "add owner_id = \"1\" and repo_id = \"2\"",
            ),
            ("workflow:deploy", "custom sub template"),
        ];
        for (sub, want) in cases {
            let mut c = claims(sub);
            if sub.starts_with("repo:evil") {
                c.insert("repository".into(), json!("evil/r"));
            }
            let e = run(&t, &c, &ProviderFacts::default());
            assert!(!e.allowed, "{sub}");
            assert_eq!(e.step, "trust");
            assert_eq!(e.condition.as_ref().unwrap().key, format!("{P}:sub"));
            assert!(e.fix.as_ref().unwrap().contains(want), "{sub}: {:?}", e.fix);
        }
        let e = run(
            &trust(&["repo:o@1/r@2:ref:refs/heads/main"]),
            &claims("repo:o/r:ref:refs/heads/main"),
            &ProviderFacts::default(),
        );
        assert!(e.fix.unwrap().contains("format = \"both\""));
    }

    #[test]
    fn steps_in_sts_order() {
        let t = trust(&["repo:o/r:ref:refs/heads/main"]);
        let c = claims("repo:o/r:ref:refs/heads/main");
        let no_provider = ProviderFacts {
            issuers: Some(vec![]),
            client_ids: None,
            rcps: vec![],
        };
        assert_eq!(run(&t, &c, &no_provider).step, "provider");
        let wrong_ids = ProviderFacts {
            issuers: Some(vec!["https://token.actions.githubusercontent.com".into()]),
            client_ids: Some(vec!["other".into()]),
            rcps: vec![],
        };
        let e = run(&t, &c, &wrong_ids);
        assert_eq!(e.step, "audience");
        assert!(e.fix.unwrap().contains("audience: other"));
        let mut old = c.clone();
        old.insert("exp".into(), json!(1_800_000_000i64));
        assert_eq!(run(&t, &old, &ProviderFacts::default()).step, "lifetime");
        let mut aud = c.clone();
        aud.insert("aud".into(), json!("https://github.com/o"));
        let e = run(&t, &aud, &ProviderFacts::default());
        assert_eq!(
            (e.step, e.condition.as_ref().unwrap().key.as_str()),
            ("trust", "token.actions.githubusercontent.com:aud")
        );
    }
}
