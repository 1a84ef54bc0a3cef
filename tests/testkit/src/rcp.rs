//! The kit's STS applies AWS Organizations resource control policies (RCPs) to
//! `AssumeRoleWithWebIdentity`, as AWS does since GitHub's claims became condition keys: an RCP
//! attached to the role's account, one of its OUs or the root, with a `Deny` statement whose
//! conditions hold for the token, refuses the call; the management account is never subject to
//! RCPs. Written for the kit, independently of keyless's own evaluator, so a test of keyless's
//! guard is judged by a second implementation. Operators: String(Not)Equals, String(Not)Like,
//! `...IfExists`, Null; several keys and operators AND, several values OR.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fakecloud_organizations::SharedOrganizationsState;
use serde_json::Value;

/// The GitHub claims STS passes as condition keys (AWS's Service Authorization Reference, the
/// keys of `sts:AssumeRoleWithWebIdentity`), besides `aud` and `sub`.
const GITHUB_CLAIMS: &[&str] = &[
    "actor",
    "actor_id",
    "enterprise_id",
    "environment",
    "job_workflow_ref",
    "ref",
    "repository",
    "repository_id",
    "repository_owner_id",
    "workflow",
];

/// The request context a web-identity token gives: `ISSUER-HOST-PATH:claim` → value.
pub fn token_keys(token: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(payload) = token.split('.').nth(1) else {
        return out;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
        return out;
    };
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&bytes) else {
        return out;
    };
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return out;
    };
    let prefix = iss.trim_start_matches("https://").to_ascii_lowercase();
    let github = prefix.starts_with("token.actions.githubusercontent.com")
        || (prefix.starts_with("token.actions.") && prefix.contains(".ghe.com"));
    for (claim, v) in &claims {
        let passed =
            claim == "aud" || claim == "sub" || (github && GITHUB_CLAIMS.contains(&claim.as_str()));
        if let (true, Some(s)) = (passed, v.as_str()) {
            out.insert(format!("{prefix}:{claim}"), s.to_string());
        }
    }
    out
}

fn glob(p: &str, v: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (p.chars().collect(), v.chars().collect());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        Value::Bool(b) => vec![b.to_string()],
        _ => vec![],
    }
}

fn condition_holds(
    op: &str,
    key: &str,
    expected: &[String],
    keys: &BTreeMap<String, String>,
) -> bool {
    let present = keys.get(&key.to_ascii_lowercase());
    if op == "Null" {
        let want_absent = expected.iter().any(|e| e == "true");
        return present.is_none() == want_absent;
    }
    let (base, if_exists) = match op.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (op, false),
    };
    let negated = base.contains("Not");
    let Some(value) = present else {
        // An absent key: negated operators hold, positive ones do not; IfExists holds.
        return if_exists || negated;
    };
    let matched = expected.iter().any(|e| match base {
        "StringEquals" | "StringNotEquals" => e == value,
        "StringLike" | "StringNotLike" => glob(e, value),
        _ => false,
    });
    matched != negated
}

/// Whether `doc` (an RCP) denies `AssumeRoleWithWebIdentity` for these keys; the deciding Sid.
pub fn denies(doc: &Value, keys: &BTreeMap<String, String>) -> Option<String> {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => vec![],
    };
    for (i, st) in statements.iter().enumerate() {
        if st["Effect"] != "Deny" {
            continue;
        }
        let action = strings(&st["Action"])
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), "sts:assumerolewithwebidentity"));
        if !action {
            continue;
        }
        let holds = st["Condition"].as_object().is_none_or(|ops| {
            ops.iter().all(|(op, block)| {
                block.as_object().is_some_and(|b| {
                    b.iter()
                        .all(|(k, v)| condition_holds(op, k, &strings(v), keys))
                })
            })
        });
        if holds {
            return Some(
                st["Sid"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or(format!("Statement[{i}]")),
            );
        }
    }
    None
}

/// The RCPs that apply to `account` (attached to it, its OUs or the root), with their names
/// and documents; none for the management account or an account in no organization.
pub fn rcps_for(orgs: &SharedOrganizationsState, account: &str) -> Vec<(String, Value)> {
    let registry = orgs.read();
    let Some(org) = registry.org_of_account(account) else {
        return vec![];
    };
    if org.management_account_id == account {
        return vec![];
    }
    let mut chain = vec![account.to_string()];
    let mut at = account.to_string();
    while let Some((parent, _)) = org.parent_of(&at) {
        chain.push(parent.clone());
        at = parent;
    }
    chain.push(org.root_id.clone());
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for target in chain {
        for id in org.attachments.get(&target).into_iter().flatten() {
            if let Some(p) = org.policies.get(id)
                && p.policy_type == "RESOURCE_CONTROL_POLICY"
                && seen.insert(id.clone())
            {
                out.push((
                    p.name.clone(),
                    serde_json::from_str(&p.content).unwrap_or(Value::Null),
                ));
            }
        }
    }
    out
}
