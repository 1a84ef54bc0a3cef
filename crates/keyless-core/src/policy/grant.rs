//! What a set of permission policies grants, and the proof that one grant is inside another.
//!
//! [`allows`] answers, for an action and a resource pattern, whether *every* request the pattern
//! stands for is allowed by an unconditional `Allow` and untouched by any `Deny`: the question
//! `keyless tighten` must answer for each (action, resource) of a proposed policy before it may
//! propose it ([`contains`]). It is conservative by construction: a conditional `Allow`, a
//! `NotResource` it cannot decide, or a `Deny` that might overlap make the answer "not proven",
//! never "allowed". Patterns are compared as languages ([`pattern_within`]), not as strings.
//!
//! [`granted_actions`] expands what the `Allow` statements name into the actions of AWS's
//! Service Authorization Reference ([`crate::policy::actions`]). Pure: no I/O.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::policy::actions::{Named, table};
use crate::policy::document::{statements, strings};
use crate::policy::wildcard::like;

/// Whether every string pattern `inner` matches is also matched by `outer` (IAM `*` and `?`).
/// Sound and conservative: `true` only when containment holds; a few contained pairs (e.g.
/// `outer = "a*a"`, `inner = "a?*a"`-like corner cases) may answer `false`.
pub fn pattern_within(inner: &str, outer: &str) -> bool {
    let a = tokens(inner);
    let b = tokens(outer);
    // dp[i][j]: inner[..i] is covered by outer[..j].
    let mut dp = vec![vec![false; b.len() + 1]; a.len() + 1];
    dp[0][0] = true;
    for j in 1..=b.len() {
        dp[0][j] = dp[0][j - 1] && b[j - 1] == Tok::Any;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            dp[i][j] = match b[j - 1] {
                // `*` in outer absorbs any token of inner (including inner's own `*`), or none.
                Tok::Any => dp[i][j - 1] || dp[i - 1][j],
                // `?` in outer covers one literal or one `?` of inner.
                Tok::One => matches!(a[i - 1], Tok::Lit(_) | Tok::One) && dp[i - 1][j - 1],
                Tok::Lit(c) => a[i - 1] == Tok::Lit(c) && dp[i - 1][j - 1],
            };
        }
    }
    dp[a.len()][b.len()]
}

/// Whether the languages of two patterns may share a string (conservative: `true` when unsure).
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    // Literal prefixes that differ can never meet; otherwise assume they may.
    let pa: String = a
        .chars()
        .take_while(|c| !matches!(c, '*' | '?' | '$'))
        .collect();
    let pb: String = b
        .chars()
        .take_while(|c| !matches!(c, '*' | '?' | '$'))
        .collect();
    let n = pa.len().min(pb.len());
    if pa.as_bytes()[..n] != pb.as_bytes()[..n] {
        return false;
    }
    if !a.contains(['*', '?', '$']) {
        return like(b, a);
    }
    if !b.contains(['*', '?', '$']) {
        return like(a, b);
    }
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,
    One,
}

/// Tokens as [`like`] reads them: `${*}`, `${?}` and `${$}` are the literal characters.
fn tokens(p: &str) -> Vec<Tok> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$'
            && chars.get(i + 1) == Some(&'{')
            && chars.get(i + 3) == Some(&'}')
            && matches!(chars.get(i + 2), Some('*' | '?' | '$'))
        {
            out.push(Tok::Lit(chars[i + 2]));
            i += 4;
            continue;
        }
        out.push(match chars[i] {
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
        i += 1;
    }
    out
}

/// What the policies say about an (action, resource pattern) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Every request the pair stands for is allowed unconditionally and no `Deny` can touch it.
    Allowed,
    /// An explicit `Deny` may apply.
    MaybeDenied,
    /// No unconditional `Allow` covers it (it may still be allowed under conditions).
    NotProven,
}

fn action_matches(pattern: &str, action: &str) -> bool {
    like(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// Whether `docs` allow `action` (a concrete `svc:Name`) on every resource `resource` (a pattern)
/// stands for.
pub fn allows(docs: &[&Value], action: &str, resource: &str) -> Answer {
    let mut allowed = false;
    for doc in docs {
        for st in statements(doc) {
            let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("");
            let acts = strings(st.get("Action"));
            let not_acts = strings(st.get("NotAction"));
            let res = strings(st.get("Resource"));
            let not_res = strings(st.get("NotResource"));
            let names_action = if st.contains_key("NotAction") {
                !not_acts.iter().any(|p| action_matches(p, action))
            } else {
                acts.iter().any(|p| action_matches(p, action))
            };
            if !names_action {
                continue;
            }
            let conditional = st
                .get("Condition")
                .and_then(Value::as_object)
                .is_some_and(|c| !c.is_empty());
            match effect {
                "Deny" => {
                    // A Deny whose resources may meet ours may apply (conditions or not).
                    let may_meet = if st.contains_key("NotResource") {
                        !not_res.iter().any(|p| pattern_within(resource, p))
                    } else {
                        res.iter().any(|p| patterns_overlap(p, resource))
                    };
                    if may_meet {
                        return Answer::MaybeDenied;
                    }
                }
                "Allow" if !conditional => {
                    let covers = if st.contains_key("NotResource") {
                        // Every resource of ours must avoid every NotResource pattern.
                        !not_res.iter().any(|p| patterns_overlap(p, resource))
                    } else {
                        res.iter().any(|p| pattern_within(resource, p))
                    };
                    allowed |= covers;
                }
                _ => {}
            }
        }
    }
    if allowed {
        Answer::Allowed
    } else {
        Answer::NotProven
    }
}

/// The (action, resource) pairs of `proposed`'s `Allow` statements that `ceiling` does not
/// prove allowed: empty means the proposal is inside the ceiling. A proposed statement must
/// name concrete actions (no wildcards), and no `NotAction` or `NotResource` (what
/// `keyless tighten` writes). An unconditional one is proven by unconditional `Allow`s of the
/// ceiling; a conditional one only by a ceiling statement with the same `Condition` and
/// `Resource` whose actions cover it. The ceiling's `Deny` statements must all be in the
/// proposal verbatim (then they cancel out); otherwise any `Deny` that may meet a pair leaves it
/// unproven.
pub fn contains(ceiling: &[&Value], proposed: &Value) -> Vec<(String, String)> {
    let kept = statements(proposed);
    let denies_kept = ceiling.iter().all(|doc| {
        statements(doc)
            .into_iter()
            .filter(|st| st.get("Effect").and_then(Value::as_str) == Some("Deny"))
            .all(|d| kept.contains(&d))
    });
    let allow_only: Vec<Value>;
    let check: Vec<&Value> = if denies_kept {
        allow_only = ceiling
            .iter()
            .map(|doc| {
                let sts: Vec<Value> = statements(doc)
                    .into_iter()
                    .filter(|st| st.get("Effect").and_then(Value::as_str) != Some("Deny"))
                    .map(|st| Value::Object(st.clone()))
                    .collect();
                serde_json::json!({ "Statement": sts })
            })
            .collect();
        allow_only.iter().collect()
    } else {
        ceiling.to_vec()
    };
    let mut out = Vec::new();
    for st in kept {
        let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("");
        if effect != "Allow" {
            continue;
        }
        let odd = ["NotAction", "NotResource"]
            .iter()
            .any(|k| st.contains_key(*k));
        let condition = st
            .get("Condition")
            .filter(|c| c.as_object().is_some_and(|o| !o.is_empty()));
        for action in strings(st.get("Action")) {
            for resource in strings(st.get("Resource")) {
                let proven = !odd
                    && !action.contains(['*', '?'])
                    && match condition {
                        None => allows(&check, action, resource) == Answer::Allowed,
                        Some(c) => {
                            same_condition_covers(&check, c, st.get("Resource"), action)
                                && allows(&check, action, resource) != Answer::MaybeDenied
                        }
                    };
                if !proven {
                    out.push((action.to_string(), resource.to_string()));
                }
            }
        }
    }
    out
}

fn same_condition_covers(
    ceiling: &[&Value],
    condition: &Value,
    resource: Option<&Value>,
    action: &str,
) -> bool {
    ceiling.iter().any(|doc| {
        statements(doc).into_iter().any(|st| {
            st.get("Effect").and_then(Value::as_str) == Some("Allow")
                && !st.contains_key("NotAction")
                && !st.contains_key("NotResource")
                && st.get("Condition") == Some(condition)
                && st.get("Resource") == resource
                && strings(st.get("Action"))
                    .iter()
                    .any(|p| action_matches(p, action))
        })
    })
}

/// The conditional `Allow` statements of `docs` (no `NotAction`/`NotResource`) that name one of
/// `actions`, each narrowed to those actions: a grant kept under its own conditions.
pub fn conditional_for(docs: &[&Value], actions: &BTreeSet<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for doc in docs {
        for st in statements(doc) {
            let conditional = st
                .get("Condition")
                .and_then(Value::as_object)
                .is_some_and(|c| !c.is_empty());
            if st.get("Effect").and_then(Value::as_str) != Some("Allow")
                || !conditional
                || st.contains_key("NotAction")
                || st.contains_key("NotResource")
            {
                continue;
            }
            let pats = strings(st.get("Action"));
            let named: Vec<&String> = actions
                .iter()
                .filter(|a| pats.iter().any(|p| action_matches(p, a)))
                .collect();
            if named.is_empty() {
                continue;
            }
            let mut narrowed = st.clone();
            narrowed.remove("Sid");
            narrowed.insert("Action".into(), serde_json::json!(named));
            out.push(Value::Object(narrowed));
        }
    }
    out
}

/// Every action of AWS's reference that the `Allow` statements of `docs` name, as
/// `prefix:Name` (AWS's spelling); `NotAction` and `*` expand to nothing here and are reported
/// by [`broad_entries`]. Actions of services AWS does not list are kept as written.
pub fn granted_actions(docs: &[&Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in docs {
        for st in statements(doc) {
            if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            for entry in strings(st.get("Action")) {
                match table().named(entry) {
                    Named::Everything => {}
                    Named::UnknownService(_) => {
                        out.insert(entry.to_string());
                    }
                    Named::Actions(service, actions) => {
                        for a in actions {
                            out.insert(format!("{}:{}", service.prefix, a.name));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `Allow` entries too broad to list action by action (`*`, `svc:*` across services,
/// `NotAction`).
pub fn broad_entries(docs: &[&Value]) -> Vec<String> {
    let mut out = Vec::new();
    for doc in docs {
        for st in statements(doc) {
            if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            if st.contains_key("NotAction") {
                out.push("NotAction".to_string());
            }
            for entry in strings(st.get("Action")) {
                if matches!(table().named(entry), Named::Everything) {
                    out.push(entry.to_string());
                }
            }
        }
    }
    out
}

/// The resource entries of unconditional `Allow` statements naming `action`.
pub fn resources_for(docs: &[&Value], action: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for doc in docs {
        for st in statements(doc) {
            let unconditional = st
                .get("Condition")
                .and_then(Value::as_object)
                .is_none_or(|c| c.is_empty());
            if st.get("Effect").and_then(Value::as_str) != Some("Allow")
                || !unconditional
                || st.contains_key("NotAction")
                || st.contains_key("NotResource")
            {
                continue;
            }
            if strings(st.get("Action"))
                .iter()
                .any(|p| action_matches(p, action))
            {
                for r in strings(st.get("Resource")) {
                    if !out.iter().any(|o| o == r) {
                        out.push(r.to_string());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn patterns_are_compared_as_languages() {
        assert!(pattern_within("arn:aws:s3:::b/site/*", "arn:aws:s3:::b/*"));
        assert!(pattern_within(
            "arn:aws:s3:::b/site/x",
            "arn:aws:s3:::b/site/*"
        ));
        assert!(pattern_within("a*", "*"));
        assert!(!pattern_within("arn:aws:s3:::b/*", "arn:aws:s3:::b/site/*"));
        assert!(!pattern_within("*", "arn:*"));
        // `?` in the outer pattern does not cover `*` of the inner one.
        assert!(!pattern_within("a*", "a?"));
        assert!(pattern_within("a?", "a*"));
    }

    #[test]
    fn a_deny_or_a_condition_is_never_proof() {
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}]});
        let cond = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert_eq!(
            allows(&[&allow], "s3:PutObject", "arn:aws:s3:::b/x"),
            Answer::Allowed
        );
        assert_eq!(
            allows(&[&allow, &deny], "s3:DeleteObject", "arn:aws:s3:::b/x"),
            Answer::MaybeDenied
        );
        assert_eq!(
            allows(&[&cond], "s3:GetObject", "arn:aws:s3:::b/x"),
            Answer::NotProven
        );
    }

    #[test]
    fn granted_actions_expand_wildcards_through_aws_data() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObjectT*"], "Resource": "*"}]});
        let got = granted_actions(&[&doc]);
        assert!(got.contains("s3:PutObject"));
        assert!(got.contains("s3:GetObjectTagging"));
        assert!(!got.contains("s3:GetObject"));
    }

    fn arb_pattern() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof!["a", "b", "/", "\\*", "\\?"], 0..6)
            .prop_map(|v| v.concat())
    }

    fn arb_value() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof!["a", "b", "/"], 0..7).prop_map(|v| v.concat())
    }

    proptest! {
        /// Containment is sound: whenever it says `inner ⊆ outer`, every string `inner`
        /// matches, `outer` matches too.
        #[test]
        fn containment_is_sound(inner in arb_pattern(), outer in arb_pattern(), v in arb_value()) {
            if pattern_within(&inner, &outer) && like(&inner, &v) {
                prop_assert!(like(&outer, &v), "{inner} ⊆ {outer} claimed, but {v} breaks it");
            }
        }

        /// Overlap is conservative: two patterns that both match a string are said to overlap.
        #[test]
        fn overlap_is_never_missed(a in arb_pattern(), b in arb_pattern(), v in arb_value()) {
            if like(&a, &v) && like(&b, &v) {
                prop_assert!(patterns_overlap(&a, &b));
            }
        }
    }
}
