//! `keyless import`: hand-made roles described as keyless.toml. Subjects are read back from the
//! trust policy ([`crate::identity::subject::parse_sub`]); managed policies become ARNs; inline policies
//! become files beside the config; boundary, session length, description and tags are kept; every
//! role gets `adopt = true`. What keyless would render differently is kept verbatim as a trust
//! override, and blocking findings are allowed by name with a reason that says to review them, so
//! the plan after an import changes no document. Pure: the binary reads IAM and writes files.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{CONFIG_KEY, MANAGED_BY_KEY};
use crate::identity::subject::{ParsedSub, Scope, parse_sub};
use crate::policy::document as policy;
use crate::state::observed::ObservedRole;

/// A file to write beside the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the config's directory.
    pub path: String,
    /// Contents.
    pub text: String,
}

/// The result of describing roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// keyless.toml.
    pub toml: String,
    /// Inline policies (and, later, trust overrides) to write beside it.
    pub files: Vec<File>,
    /// What a reader should know (custom subjects, conditions keyless does not render).
    pub notes: Vec<String>,
}

/// One repository and scope of a trust, with the forms it is trusted in: (IDs, classic, immutable,
/// scope), keyed by (owner, name, context).
type Forms = BTreeMap<(String, String, String), (Option<(String, String)>, bool, bool, Scope)>;

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The `OIDC provider` key prefix a trust federates with (`token.actions.githubusercontent.com`,
/// `github.example.com/_services/token`, ...), if any.
pub fn provider_prefix(trust: &Value) -> Option<String> {
    policy::statements(trust).iter().find_map(|s| {
        policy::strings(s.get("Principal").and_then(|p| p.get("Federated")))
            .into_iter()
            .find_map(|a| a.split_once(":oidc-provider/").map(|(_, p)| p.to_string()))
    })
}

/// Does this trust federate with a GitHub Actions issuer?
pub fn trusts_github(trust: &Value) -> bool {
    provider_prefix(trust).is_some_and(|p| crate::identity::issuer::Issuer::looks_like_github(&p))
}

/// The positive string values of `prefix:claim` in the trust's Allow statements.
fn claim_values(trust: &Value, prefix: &str, claim: &str) -> Vec<String> {
    let key = format!("{prefix}:{claim}").to_ascii_lowercase();
    let mut out = Vec::new();
    for s in policy::statements(trust) {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        for (op, k, values) in policy::condition_entries(s) {
            let (_, base, _) = policy::split_operator(&op);
            if k.to_ascii_lowercase() == key
                && matches!(
                    base,
                    "StringEquals" | "StringLike" | "StringEqualsIgnoreCase"
                )
            {
                for v in values {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
        }
    }
    out
}

/// A config name for `roles`: the first repository their trust names, as `owner-repo`, else the
/// first role's name.
pub fn suggest_name(roles: &[ObservedRole], prefix: &str) -> String {
    let repo = roles.iter().find_map(|r| {
        claim_values(&r.trust_policy, prefix, "sub")
            .iter()
            .find_map(|v| match parse_sub(v) {
                ParsedSub::Repo { repo, .. } => Some(format!("{}-{}", repo.owner, repo.name)),
                ParsedSub::Custom(_) => None,
            })
    });
    crate::config::config_slug(
        &repo.unwrap_or_else(|| roles.first().map(|r| r.name.clone()).unwrap_or_default()),
    )
}

/// Describe `roles` (all trusting the provider with key `prefix`) as a config named `name` for
/// `account`. `issuer_url` is written unless it is github.com's.
pub fn describe(roles: &[ObservedRole], prefix: &str, name: &str, account: &str) -> Imported {
    let mut t = String::from(
        "# keyless.toml, written by `keyless import` from roles made by hand. `keyless plan` shows\n# what keyless would change (nothing but its ownership tags, until you edit this file).\nversion = 1\n",
    );
    t.push_str(&format!("name = {}\n", q(name)));
    t.push_str(&format!("account_id = {}\n", q(account)));
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let auds: Vec<String> = roles
        .iter()
        .flat_map(|r| claim_values(&r.trust_policy, prefix, "aud"))
        .fold(Vec::new(), |mut acc, a| {
            if !acc.contains(&a) {
                acc.push(a);
            }
            acc
        });
    let github_com = prefix == "token.actions.githubusercontent.com";
    let default_auds = auds.is_empty() || auds == ["sts.amazonaws.com"];
    if !github_com || !default_auds {
        t.push_str("\n[provider]\n");
        if !github_com {
            t.push_str(&format!("issuer = {}\n", q(&format!("https://{prefix}"))));
        }
        if !default_auds {
            let list: Vec<String> = auds.iter().map(|a| q(a)).collect();
            t.push_str(&format!("audiences = [{}]\n", list.join(", ")));
        }
    }
    // One directory per role and one file per policy, unique even where two names make the
    // same file name (`..` and `_..`; names that differ only in case, on a case-insensitive
    // file system): a later one gets `-2`, `-3`, …
    let mut dirs = std::collections::BTreeSet::new();
    for r in roles {
        let dir = unique(file_component(&r.name), &mut dirs);
        let mut files_here = std::collections::BTreeSet::new();
        t.push_str(&format!("\n[[role]]\nname = {}\n", q(&r.name)));
        if r.path != "/" {
            t.push_str(&format!("path = {}\n", q(&r.path)));
        }
        if let Some(d) = r.description.as_ref().filter(|d| !d.is_empty()) {
            t.push_str(&format!("description = {}\n", q(d)));
        }
        t.push_str(&format!(
            "max_session_duration = {}\n",
            r.max_session_duration
        ));
        if let Some(b) = &r.permissions_boundary {
            t.push_str(&format!("permissions_boundary = {}\n", q(b)));
        }
        let tags: Vec<String> = r
            .tags
            .iter()
            .filter(|(k, _)| k.as_str() != MANAGED_BY_KEY && k.as_str() != CONFIG_KEY)
            .map(|(k, v)| format!("{} = {}", q(k), q(v)))
            .collect();
        if !tags.is_empty() {
            t.push_str(&format!("tags = {{ {} }}\n", tags.join(", ")));
        }
        t.push_str("adopt = true          # made by hand; keyless manages it from now on\n");
        if !r.attached_policies.is_empty() {
            let list: Vec<String> = r.attached_policies.iter().map(|a| q(a)).collect();
            t.push_str(&format!("managed_policies = [{}]\n", list.join(", ")));
        }
        // Subjects: classic and immutable forms of one repository and scope fold into one.
        let mut repos: Forms = BTreeMap::new();
        let mut customs = Vec::new();
        for v in claim_values(&r.trust_policy, prefix, "sub") {
            match parse_sub(&v) {
                ParsedSub::Repo {
                    repo,
                    scope,
                    immutable,
                } => {
                    let key = (repo.owner.clone(), repo.name.clone(), scope.context());
                    let e = repos.entry(key).or_insert((None, false, false, scope));
                    if immutable {
                        e.0 = repo.owner_id.clone().zip(repo.repo_id.clone());
                        e.2 = true;
                    } else {
                        e.1 = true;
                    }
                }
                ParsedSub::Custom(c) => customs.push(c),
            }
        }
        for ((owner, repo, _), (ids, classic, immutable, scope)) in &repos {
            t.push_str(&format!(
                "  [[role.subject]]\n  repo = {}\n",
                q(&format!("{owner}/{repo}"))
            ));
            match scope {
                Scope::Branch(b) => t.push_str(&format!("  branch = {}\n", q(b))),
                Scope::Tag(x) => t.push_str(&format!("  tag = {}\n", q(x))),
                Scope::Environment(e) => t.push_str(&format!("  environment = {}\n", q(e))),
                Scope::PullRequest => t.push_str("  pull_request = true\n"),
                Scope::AnyRef => t.push_str("  any_ref = true\n"),
            }
            if let Some((o, rid)) = ids {
                t.push_str(&format!("  owner_id = {}\n  repo_id = {}\n", q(o), q(rid)));
            }
            let format = match (classic, immutable) {
                (true, true) => "both",
                (false, true) => "immutable",
                _ => "classic",
            };
            t.push_str(&format!("  format = {}\n", q(format)));
        }
        for c in &customs {
            t.push_str(&format!("  [[role.subject]]\n  custom = {}\n", q(c)));
            notes.push(format!(
                "role {}: sub {c:?} is not in a form keyless renders; written as a custom subject",
                r.name
            ));
        }
        if repos.is_empty() && customs.is_empty() {
            notes.push(format!(
                "role {}: its trust names no sub value keyless can read; the trust policy is kept as is",
                r.name
            ));
        }
        for (pname, doc) in &r.inline_policies {
            let path = format!(
                "imported/{dir}/{}.json",
                unique(file_component(pname), &mut files_here)
            );
            t.push_str(&format!(
                "  [[role.inline_policy]]\n  name = {}\n  file = {}\n",
                q(pname),
                q(&path)
            ));
            files.push(File {
                path,
                text: policy::pretty(doc),
            });
        }
    }
    Imported {
        toml: t,
        files,
        notes,
    }
}

/// `base`, or `base-2`, `base-3`, … : the first not in `used` (compared without case), which
/// it joins.
fn unique(base: String, used: &mut std::collections::BTreeSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 1;
    while used.contains(&name.to_lowercase()) {
        n += 1;
        name = format!("{base}-{n}");
    }
    used.insert(name.to_lowercase());
    name
}

/// A file or directory name made from an IAM name (roles and policies may be named `.`, `..` or
/// `.x`, and their names hold `[\w+=,.@-]`): one path component, never a dot-name, never a
/// separator, so every file import writes stays under `imported/`.
pub fn file_component(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        format!("_{clean}")
    } else {
        clean
    }
}

/// The config being amended is not what import wrote.
fn doc_error(message: String, fix: &str) -> crate::error::Error {
    crate::error::Error::Document {
        file: "keyless.toml".into(),
        message,
        fix: fix.into(),
    }
}

/// Edit config text: give role `role` a trust override file, and allow each of `rules` with
/// `reason`. Keeps everything else as written.
pub fn amend(
    text: &str,
    role: &str,
    trust_file: Option<&str>,
    rules: &[&str],
    reason: &str,
) -> crate::error::Result<String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| doc_error(e.to_string(), "fix the TOML first"))?;
    let roles = doc
        .get_mut("role")
        .and_then(|r| r.as_array_of_tables_mut())
        .ok_or_else(|| doc_error("it has no [[role]]".into(), "import again"))?;
    let Some(t) = roles
        .iter_mut()
        .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(role))
    else {
        return Err(doc_error(format!("it has no role {role}"), "import again"));
    };
    if let Some(f) = trust_file {
        t["trust_policy"] = toml_edit::value(f);
    }
    if !rules.is_empty() {
        if t.get("allow").is_none() {
            t["allow"] = toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new());
        }
        let allows = t["allow"]
            .as_array_of_tables_mut()
            .expect("allow is an array of tables");
        for rule in rules {
            let mut a = toml_edit::Table::new();
            a["rule"] = toml_edit::value(*rule);
            a["reason"] = toml_edit::value(reason);
            allows.push(a);
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "token.actions.githubusercontent.com";

    fn role(name: &str, subs: Value) -> ObservedRole {
        ObservedRole {
            name: name.into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            role_id: "AROA".into(),
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: BTreeMap::from([("team".into(), "web".into())]),
            trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{P}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}, "StringLike": {format!("{P}:sub"): subs}}}]}),
            inline_policies: BTreeMap::from([(
                "read".to_string(),
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
            )]),
            attached_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        }
    }

    #[test]
    fn a_hand_made_role_becomes_a_config_keyless_reads_back() {
        let r = role(
            "deploy",
            json!([
                "repo:o/r:ref:refs/heads/main",
                "repo:o@1/r@2:ref:refs/heads/main",
                "repo:o/r:environment:prod",
                "weird:thing"
            ]),
        );
        let out = describe(&[r], P, "o-r", "123456789012");
        let cfg = crate::config::parse(&out.toml, "k.toml", std::path::Path::new("."));
        // The inline policy file is not written here, so only that problem is expected.
        let Err(crate::error::Error::Config(problems)) = cfg else {
            panic!("the inline file is missing in this unit test")
        };
        assert!(
            problems.iter().all(|p| p.key.contains("inline_policy")),
            "{problems:?}"
        );
        assert!(out.toml.contains("format = \"both\"") && out.toml.contains("owner_id = \"1\""));
        assert!(out.toml.contains("environment = \"prod\""));
        assert!(out.toml.contains("custom = \"weird:thing\""));
        assert!(out.toml.contains("adopt = true") && out.toml.contains("\"team\" = \"web\""));
        assert_eq!(out.files[0].path, "imported/deploy/read.json");
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn file_names_from_iam_names_stay_under_imported() {
        assert_eq!(file_component("deploy"), "deploy");
        assert_eq!(file_component(".."), "_..");
        assert_eq!(file_component("."), "_.");
        assert_eq!(file_component(".hidden"), "_.hidden");
        assert_eq!(file_component("a/b"), "a_b");
        for n in ["..", ".", "x..y", "a@b=c,d+e-f.g"] {
            let p = std::path::Path::new("imported").join(file_component(n));
            assert!(
                p.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "{n}"
            );
        }
    }
}
