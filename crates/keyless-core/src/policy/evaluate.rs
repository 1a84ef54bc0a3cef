//! A trust-policy evaluator for `AssumeRoleWithWebIdentity`, with IAM's semantics, fully offline.
//!
//! Given a trust policy, the provider ARN that vouches for a token and the token's claims,
//! [`evaluate`] decides allow or deny the way STS does at step 7 of github-oidc-aws.md §12 and
//! says *why*: the deciding statement and condition, expected against presented values, and a
//! concrete fix. Operators: StringEquals/StringNotEquals/StringLike/StringNotLike (and IgnoreCase),
//! Numeric* and Date* (equals, not equals, less/greater than, or equal), Bool,
//! IpAddress/NotIpAddress, `...IfExists`, `ForAllValues:`/`ForAnyValue:`, `Null`; several values
//! OR, several keys and operators AND, statements OR, an explicit Deny wins. An operator outside
//! these (BinaryEquals, ArnLike, a typo) makes a statement that could apply *undecided*: the
//! verdict says which operator, and is never an allow. No I/O and no AWS here.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::policy::document as policy;

/// The action a web-identity exchange asks for.
pub const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// The request context IAM builds from a token: condition keys (lower-case) → values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The provider ARN the token's issuer resolves to.
    pub provider_arn: String,
    /// Keys present in the request, lower-cased, with their values.
    pub keys: BTreeMap<String, Vec<String>>,
}

/// Build the request context for a token's claims: `P:aud`, `P:sub` and each supported claim
/// that is present (only strings count; `aud` may be a list).
pub fn context(
    provider_arn: &str,
    key_prefix: &str,
    claims: &Map<String, Value>,
    supported: &[String],
) -> Context {
    let mut keys = BTreeMap::new();
    for claim in supported {
        let values: Vec<String> = match claims.get(claim) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) if claim == "aud" => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => continue,
        };
        if !values.is_empty() {
            keys.insert(format!("{key_prefix}:{claim}").to_ascii_lowercase(), values);
        }
    }
    Context {
        provider_arn: provider_arn.to_string(),
        keys,
    }
}

/// One condition's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionResult {
    /// Operator as written, e.g. `StringLike`.
    pub operator: String,
    /// Condition key as written.
    pub key: String,
    /// Values the policy expects.
    pub expected: Vec<String>,
    /// Values the request presented; `None` when the key is absent from the request.
    pub presented: Option<Vec<String>>,
    /// Whether it held.
    pub passed: bool,
}

/// One statement's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    /// Index in the policy.
    pub index: usize,
    /// Sid, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// Does the principal cover the provider?
    pub principal_matches: bool,
    /// Does the action cover `sts:AssumeRoleWithWebIdentity`?
    pub action_matches: bool,
    /// Each condition.
    pub conditions: Vec<ConditionResult>,
    /// Principal, action and every condition matched.
    pub matched: bool,
}

impl StatementResult {
    /// `Statement[0] (GitHubActions)`
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) => format!("Statement[{}] ({s})", self.index),
            None => format!("Statement[{}]", self.index),
        }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Allowed? (Never, when [`Verdict::undecided`] is set.)
    pub allowed: bool,
    /// An operator this evaluator does not model, in a statement whose principal and action
    /// apply: the request cannot be decided here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<String>,
    /// `explicit deny`, `allowed`, or `implicit deny`.
    pub reason: String,
    /// The statement that decided (for an implicit deny: the closest Allow).
    pub deciding: Option<StatementResult>,
    /// Every statement's outcome.
    pub statements: Vec<StatementResult>,
}

impl Verdict {
    /// The first failing condition of the deciding statement.
    pub fn deciding_condition(&self) -> Option<&ConditionResult> {
        self.deciding
            .as_ref()?
            .conditions
            .iter()
            .find(|c| !c.passed)
    }
}

pub use crate::policy::wildcard::like;

/// Does `value` match `expected` under the operator `base` (its `Not` form matching the same
/// way: the caller negates)? `None` for an operator this evaluator does not model. A value
/// that does not parse as the operator's type (a number, a date, an IP address) matches nothing.
fn base_match(base: &str, expected: &str, value: &str) -> Option<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let ordered = |cmp: Option<std::cmp::Ordering>, want: &[std::cmp::Ordering]| {
        cmp.is_some_and(|c| want.contains(&c))
    };
    Some(match base {
        "StringEquals" | "StringNotEquals" => expected == value,
        "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => {
            expected.to_lowercase() == value.to_lowercase()
        }
        "StringLike" | "StringNotLike" => like(expected, value),
        "NumericEquals" | "NumericNotEquals" => ordered(numeric(value, expected), &[Equal]),
        "NumericLessThan" => ordered(numeric(value, expected), &[Less]),
        "NumericLessThanEquals" => ordered(numeric(value, expected), &[Less, Equal]),
        "NumericGreaterThan" => ordered(numeric(value, expected), &[Greater]),
        "NumericGreaterThanEquals" => ordered(numeric(value, expected), &[Greater, Equal]),
        "DateEquals" | "DateNotEquals" => ordered(date(value, expected), &[Equal]),
        "DateLessThan" => ordered(date(value, expected), &[Less]),
        "DateLessThanEquals" => ordered(date(value, expected), &[Less, Equal]),
        "DateGreaterThan" => ordered(date(value, expected), &[Greater]),
        "DateGreaterThanEquals" => ordered(date(value, expected), &[Greater, Equal]),
        "Bool" => {
            let b = |s: &str| s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false");
            b(expected) && b(value) && expected.eq_ignore_ascii_case(value)
        }
        "IpAddress" | "NotIpAddress" => in_network(value, expected),
        _ => return None,
    })
}

/// `value` against `expected` as numbers (IAM's integers and decimals).
fn numeric(value: &str, expected: &str) -> Option<std::cmp::Ordering> {
    let v: f64 = value.trim().parse().ok()?;
    let e: f64 = expected.trim().parse().ok()?;
    v.partial_cmp(&e)
}

/// `value` against `expected` as points in time: ISO 8601 (a date and time with its offset, as
/// RFC 3339 writes it, or a calendar date, taken as its midnight UTC) or seconds since the
/// epoch.
fn date(value: &str, expected: &str) -> Option<std::cmp::Ordering> {
    fn at(s: &str) -> Option<i128> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<i64>() {
            return Some(i128::from(secs) * 1_000_000_000);
        }
        if let Ok(t) =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        {
            return Some(t.unix_timestamp_nanos());
        }
        let day = time::format_description::parse_borrowed::<2>("[year]-[month]-[day]").ok()?;
        time::Date::parse(s, &day)
            .ok()
            .map(|d| d.midnight().assume_utc().unix_timestamp_nanos())
    }
    Some(at(value)?.cmp(&at(expected)?))
}

/// Is the address `value` inside `expected` (an address or a CIDR block, IPv4 or IPv6)?
fn in_network(value: &str, expected: &str) -> bool {
    let Ok(ip) = value.trim().parse::<std::net::IpAddr>() else {
        return false;
    };
    let expected = expected.trim();
    match expected.parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&ip),
        Err(_) => expected.parse::<std::net::IpAddr>() == Ok(ip),
    }
}

/// Evaluate one condition entry against the context.
fn condition(op: &str, key: &str, expected: &[String], ctx: &Context) -> ConditionResult {
    let presented = ctx.keys.get(&key.to_ascii_lowercase()).cloned();
    let (qual, base, if_exists) = policy::split_operator(op);
    let negated = base.contains("Not");
    let passed = if base == "Null" {
        let want_absent = expected.iter().any(|e| e.eq_ignore_ascii_case("true"));
        presented.is_none() == want_absent
    } else {
        match &presented {
            None => {
                if qual == "ForAllValues" || if_exists {
                    true
                } else if qual == "ForAnyValue" {
                    false
                } else {
                    negated
                }
            }
            Some(values) => {
                let hit = |v: &str| {
                    expected
                        .iter()
                        .any(|e| base_match(base, e, v).unwrap_or(false))
                };
                let ok = |v: &str| if negated { !hit(v) } else { hit(v) };
                if base_match(base, "", "").is_none() {
                    false // an operator this evaluator does not know never grants
                } else if qual == "ForAllValues" {
                    values.iter().all(|v| ok(v))
                } else if negated && qual != "ForAnyValue" {
                    values.iter().all(|v| ok(v))
                } else {
                    values.iter().any(|v| ok(v))
                }
            }
        }
    };
    ConditionResult {
        operator: op.to_string(),
        key: key.to_string(),
        expected: expected.to_vec(),
        presented,
        passed,
    }
}

/// Does this evaluator model `op` (with its qualifiers and `IfExists`)?
pub fn modelled(op: &str) -> bool {
    let (qual, base, _) = policy::split_operator(op);
    matches!(qual, "" | "ForAllValues" | "ForAnyValue")
        && (base == "Null" || base_match(base, "", "").is_some())
}

fn action_covers(pattern: &str) -> bool {
    like(&pattern.to_ascii_lowercase(), &ACTION.to_ascii_lowercase())
}

fn statement(index: usize, st: &Map<String, Value>, ctx: &Context) -> StatementResult {
    let effect = st
        .get("Effect")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let principal_in = |p: &Value| -> bool {
        p.as_str() == Some("*")
            || p.get("Federated").is_some_and(|f| {
                policy::strings(Some(f))
                    .iter()
                    .any(|a| *a == ctx.provider_arn || *a == "*")
            })
    };
    let principal_matches = match (st.get("Principal"), st.get("NotPrincipal")) {
        (Some(p), _) => principal_in(p),
        (None, Some(np)) => !principal_in(np),
        _ => false,
    };
    let action_matches = match (st.get("Action"), st.get("NotAction")) {
        (Some(a), _) => policy::strings(Some(a)).iter().any(|a| action_covers(a)),
        (None, Some(na)) => !policy::strings(Some(na)).iter().any(|a| action_covers(a)),
        _ => false,
    };
    let conditions: Vec<ConditionResult> = policy::condition_entries(st)
        .iter()
        .map(|(op, key, expected)| condition(op, key, expected, ctx))
        .collect();
    let matched = principal_matches && action_matches && conditions.iter().all(|c| c.passed);
    StatementResult {
        index,
        sid: st.get("Sid").and_then(Value::as_str).map(String::from),
        effect,
        principal_matches,
        action_matches,
        conditions,
        matched,
    }
}

/// Evaluate a trust policy for a web-identity request.
pub fn evaluate(doc: &Value, ctx: &Context) -> Verdict {
    let statements: Vec<StatementResult> = policy::statements(doc)
        .into_iter()
        .enumerate()
        .map(|(i, s)| statement(i, s, ctx))
        .collect();
    if let Some(d) = statements.iter().find(|s| s.effect == "Deny" && s.matched) {
        return Verdict {
            allowed: false,
            undecided: None,
            reason: "explicit deny".into(),
            deciding: Some(d.clone()),
            statements,
        };
    }
    // A statement that applies (principal and action) but holds an operator not modelled here
    // could go either way: say so rather than allow (or miss a deny).
    if let Some((st, op)) = statements
        .iter()
        .filter(|s| s.principal_matches && s.action_matches)
        .find_map(|s| {
            s.conditions
                .iter()
                .find(|c| !modelled(&c.operator))
                .map(|c| (s, c.operator.clone()))
        })
    {
        return Verdict {
            allowed: false,
            undecided: Some(op),
            reason: "cannot decide".into(),
            deciding: Some(st.clone()),
            statements,
        };
    }
    if let Some(a) = statements.iter().find(|s| s.effect == "Allow" && s.matched) {
        return Verdict {
            allowed: true,
            undecided: None,
            reason: "allowed".into(),
            deciding: Some(a.clone()),
            statements,
        };
    }
    // Implicit deny: the closest Allow is the one with the right principal and action and the
    // fewest failing conditions.
    let closest = statements
        .iter()
        .filter(|s| s.effect == "Allow")
        .min_by_key(|s| {
            (!s.principal_matches as usize * 100)
                + (!s.action_matches as usize * 100)
                + s.conditions.iter().filter(|c| !c.passed).count()
        })
        .cloned();
    Verdict {
        allowed: false,
        undecided: None,
        reason: "implicit deny".into(),
        deciding: closest,
        statements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "token.actions.githubusercontent.com";
    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context {
            provider_arn: ARN.into(),
            ..Default::default()
        };
        for (k, v) in pairs {
            c.keys
                .entry(format!("{P}:{k}").to_ascii_lowercase())
                .or_default()
                .push(v.to_string());
        }
        c
    }

    fn doc(cond: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": ARN}, "Action": ACTION, "Condition": cond}]})
    }

    fn allows(cond: Value, pairs: &[(&str, &str)]) -> bool {
        evaluate(&doc(cond), &ctx(pairs)).allowed
    }

    #[test]
    fn wildcards() {
        assert!(like("repo:o/r:*", "repo:o/r:ref:refs/heads/main"));
        assert!(
            like("repo:o/r:*", "repo:o/r:"),
            "* matches the empty string"
        );
        assert!(like("a?c", "abc") && !like("a?c", "ac"));
        assert!(like("*", "") && like("**", "x"));
        assert!(!like("repo:o/r", "repo:o/r:x"), "no wildcard means exact");
        assert!(like("a${*}b", "a*b") && !like("a${*}b", "axb"));
        assert!(like("x*y*z", "xaaybbz") && !like("x*y*z", "xaaybb"));
    }

    #[test]
    fn operators() {
        let sub = format!("{P}:sub");
        assert!(allows(
            json!({"StringEquals": {&sub: "repo:o/r:pull_request"}}),
            &[("sub", "repo:o/r:pull_request")]
        ));
        assert!(
            !allows(
                json!({"StringEquals": {&sub: "repo:o/r:*"}}),
                &[("sub", "repo:o/r:pull_request")]
            ),
            "StringEquals treats * literally"
        );
        assert!(allows(
            json!({"StringLike": {&sub: "repo:o/r:*"}}),
            &[("sub", "repo:o/r:pull_request")]
        ));
        assert!(allows(
            json!({"StringEqualsIgnoreCase": {&sub: "REPO:O/R:PULL_REQUEST"}}),
            &[("sub", "repo:o/r:pull_request")]
        ));
        assert!(!allows(
            json!({"StringNotEquals": {&sub: "repo:o/r:pull_request"}}),
            &[("sub", "repo:o/r:pull_request")]
        ));
        assert!(allows(
            json!({"StringNotLike": {&sub: "repo:evil/*"}}),
            &[("sub", "repo:o/r:x")]
        ));
        let v = evaluate(
            &doc(json!({"BinaryEquals": {&sub: "cmVwbw=="}})),
            &ctx(&[("sub", "repo")]),
        );
        assert!(
            !v.allowed && v.undecided.as_deref() == Some("BinaryEquals"),
            "an operator not modelled never grants and says so: {v:?}"
        );
    }

    #[test]
    fn numeric_date_bool_and_ip_operators_as_iam_evaluates_them() {
        let owner = format!("{P}:repository_owner_id");
        // (condition, presented value, allowed)
        let rows: Vec<(Value, Option<&str>, bool)> = vec![
            (
                json!({"NumericEquals": {&owner: "2002"}}),
                Some("2002"),
                true,
            ),
            (
                json!({"NumericEquals": {&owner: "2002"}}),
                Some("02002"),
                true,
            ),
            (
                json!({"NumericEquals": {&owner: "2002"}}),
                Some("9999"),
                false,
            ),
            (
                json!({"NumericNotEquals": {&owner: "2002"}}),
                Some("9999"),
                true,
            ),
            (
                json!({"NumericNotEquals": {&owner: "2002"}}),
                Some("2002"),
                false,
            ),
            (
                json!({"NumericLessThan": {&owner: "100"}}),
                Some("99"),
                true,
            ),
            (
                json!({"NumericLessThan": {&owner: "100"}}),
                Some("100"),
                false,
            ),
            (
                json!({"NumericLessThanEquals": {&owner: "100"}}),
                Some("100"),
                true,
            ),
            (
                json!({"NumericGreaterThan": {&owner: "100"}}),
                Some("101.5"),
                true,
            ),
            (
                json!({"NumericGreaterThanEquals": {&owner: "100"}}),
                Some("99"),
                false,
            ),
            (
                json!({"NumericEquals": {&owner: "2002"}}),
                Some("octo-org"),
                false,
            ),
            (
                json!({"NumericEqualsIfExists": {&owner: "2002"}}),
                None,
                true,
            ),
            (
                json!({"DateLessThan": {&owner: "2026-12-31T00:00:00Z"}}),
                Some("2026-01-01T00:00:00Z"),
                true,
            ),
            (
                json!({"DateGreaterThan": {&owner: "2026-12-31T00:00:00Z"}}),
                Some("1798761600"),
                true,
            ),
            (
                json!({"DateEquals": {&owner: "2026-01-01T00:00:00Z"}}),
                Some("2026-01-01T01:00:00+01:00"),
                true,
            ),
            (
                json!({"DateNotEquals": {&owner: "2026-01-01T00:00:00Z"}}),
                Some("2026-01-01T00:00:00Z"),
                false,
            ),
            // A calendar date is its midnight UTC.
            (
                json!({"DateLessThan": {&owner: "2027-01-01"}}),
                Some("2026-06-01T00:00:00Z"),
                true,
            ),
            (
                json!({"DateEquals": {&owner: "2026-01-01"}}),
                Some("2026-01-01T00:00:00Z"),
                true,
            ),
            (json!({"Bool": {&owner: "true"}}), Some("TRUE"), true),
            (json!({"Bool": {&owner: "true"}}), Some("false"), false),
            (
                json!({"IpAddress": {&owner: "203.0.113.0/24"}}),
                Some("203.0.113.7"),
                true,
            ),
            (
                json!({"IpAddress": {&owner: ["198.51.100.1", "2001:db8::/32"]}}),
                Some("2001:db8::1"),
                true,
            ),
            (
                json!({"NotIpAddress": {&owner: "203.0.113.0/24"}}),
                Some("203.0.113.7"),
                false,
            ),
            (
                json!({"NotIpAddress": {&owner: "203.0.113.0/24"}}),
                Some("192.0.2.1"),
                true,
            ),
        ];
        let mut wrong = Vec::new();
        for (cond, presented, want) in rows {
            let pairs: Vec<(&str, &str)> = presented
                .map(|p| ("repository_owner_id", p))
                .into_iter()
                .collect();
            let v = evaluate(&doc(cond.clone()), &ctx(&pairs));
            if v.allowed != want || v.undecided.is_some() {
                wrong.push(format!("{cond} with {pairs:?}: {v:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_deny_with_a_numeric_condition_wins_and_one_not_modelled_is_undecided() {
        let owner = format!("{P}:repository_owner_id");
        let rcp = |op: &str| {
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": ACTION,
                "Condition": {op: {&owner: "2002"}}}]})
        };
        let v = evaluate(
            &rcp("NumericNotEquals"),
            &ctx(&[("repository_owner_id", "9999")]),
        );
        assert_eq!(v.reason, "explicit deny");
        let v = evaluate(
            &rcp("NumericNotEquals"),
            &ctx(&[("repository_owner_id", "2002")]),
        );
        assert_eq!(v.reason, "implicit deny", "no Allow: nothing matched");
        let v = evaluate(&rcp("ArnNotLike"), &ctx(&[("repository_owner_id", "9999")]));
        assert_eq!(v.undecided.as_deref(), Some("ArnNotLike"));
    }

    #[test]
    fn absent_keys_and_qualifiers() {
        let env = format!("{P}:environment");
        assert!(
            !allows(json!({"StringEquals": {&env: "prod"}}), &[]),
            "positive operator on an absent key is false"
        );
        assert!(
            allows(json!({"StringNotEquals": {&env: "prod"}}), &[]),
            "negated operator on an absent key is true"
        );
        assert!(
            allows(json!({"StringEqualsIfExists": {&env: "prod"}}), &[]),
            "IfExists on an absent key is true"
        );
        assert!(
            allows(json!({"ForAllValues:StringEquals": {&env: "prod"}}), &[]),
            "ForAllValues on an absent key is true"
        );
        assert!(
            !allows(json!({"ForAnyValue:StringEquals": {&env: "prod"}}), &[]),
            "ForAnyValue on an absent key is false"
        );
        assert!(allows(json!({"Null": {&env: "true"}}), &[]));
        assert!(!allows(
            json!({"Null": {&env: "true"}}),
            &[("environment", "prod")]
        ));
        assert!(allows(
            json!({"ForAllValues:StringEquals": {format!("{P}:aud"): ["a", "b"]}}),
            &[("aud", "a"), ("aud", "b")]
        ));
        assert!(!allows(
            json!({"ForAllValues:StringEquals": {format!("{P}:aud"): ["a"]}}),
            &[("aud", "a"), ("aud", "b")]
        ));
    }

    #[test]
    fn combination_rules() {
        let (sub, aud) = (format!("{P}:sub"), format!("{P}:aud"));
        // values OR
        assert!(allows(
            json!({"StringEquals": {&sub: ["x", "repo:o/r:pull_request"]}}),
            &[("sub", "repo:o/r:pull_request")]
        ));
        // keys AND
        assert!(!allows(
            json!({"StringEquals": {&sub: "repo:o/r:pull_request", &aud: "sts.amazonaws.com"}}),
            &[("sub", "repo:o/r:pull_request"), ("aud", "other")]
        ));
        // operators AND
        assert!(!allows(
            json!({"StringEquals": {&aud: "sts.amazonaws.com"}, "StringLike": {&sub: "repo:o/r:ref:*"}}),
            &[
                ("sub", "repo:o/r:pull_request"),
                ("aud", "sts.amazonaws.com")
            ]
        ));
        // key names are case-insensitive
        assert!(allows(
            json!({"StringEquals": {sub.to_uppercase(): "repo:o/r:pull_request"}}),
            &[("sub", "repo:o/r:pull_request")]
        ));
    }

    #[test]
    fn statements_or_and_explicit_deny_wins() {
        let sub = format!("{P}:sub");
        let d = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Principal": {"Federated": ARN}, "Action": ACTION, "Condition": {"StringEquals": {&sub: "a"}}},
            {"Sid": "B", "Effect": "Allow", "Principal": {"Federated": ARN}, "Action": "sts:*", "Condition": {"StringLike": {&sub: "repo:o/*"}}},
            {"Sid": "D", "Effect": "Deny", "Principal": {"Federated": ARN}, "Action": ACTION, "Condition": {"StringLike": {&sub: "*:pull_request"}}}]});
        let v = evaluate(&d, &ctx(&[("sub", "repo:o/r:ref:refs/heads/main")]));
        assert!(v.allowed);
        assert_eq!(v.deciding.unwrap().sid.as_deref(), Some("B"));
        let v = evaluate(&d, &ctx(&[("sub", "repo:o/r:pull_request")]));
        assert!(!v.allowed);
        assert_eq!(v.reason, "explicit deny");
        assert_eq!(v.deciding.unwrap().sid.as_deref(), Some("D"));
    }

    #[test]
    fn principal_and_action_must_match() {
        let other = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"}, "Action": ACTION}]});
        let v = evaluate(&other, &ctx(&[]));
        assert!(!v.allowed && !v.deciding.unwrap().principal_matches);
        let wrong_action = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": ARN}, "Action": "sts:AssumeRole"}]});
        assert!(!evaluate(&wrong_action, &ctx(&[])).allowed);
        let not_action = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": ARN}, "NotAction": "s3:*"}]});
        assert!(evaluate(&not_action, &ctx(&[])).allowed);
    }

    #[test]
    fn implicit_deny_names_the_failing_condition() {
        let sub = format!("{P}:sub");
        let v = evaluate(
            &doc(
                json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", &sub: "repo:o/r:ref:refs/heads/main"}}),
            ),
            &ctx(&[
                ("aud", "sts.amazonaws.com"),
                ("sub", "repo:o/r:environment:prod"),
            ]),
        );
        assert!(!v.allowed);
        let c = v.deciding_condition().unwrap();
        assert_eq!(c.key, sub);
        assert_eq!(
            c.presented.as_deref(),
            Some(&["repo:o/r:environment:prod".to_string()][..])
        );
    }

    #[test]
    fn context_takes_only_supported_string_claims() {
        let claims = json!({"sub": "s", "aud": ["a", "b"], "repository_owner_id": "1", "exp": 5, "job_workflow_ref": "w"});
        let c = context(
            ARN,
            P,
            claims.as_object().unwrap(),
            &[
                "aud".into(),
                "sub".into(),
                "job_workflow_ref".into(),
                "exp".into(),
            ],
        );
        assert_eq!(c.keys.len(), 3);
        assert_eq!(c.keys[&format!("{P}:aud")], vec!["a", "b"]);
    }
}
