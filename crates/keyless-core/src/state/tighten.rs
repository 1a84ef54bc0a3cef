//! Least privilege from use: for one config role, what its records ([`crate::policy::usage`])
//! say it used, turned into a narrower grant, proven never wider than today's, and the edit to
//! keyless.toml that says so.
//!
//! The proposal keeps every action the role used (with the resources it touched, an S3
//! object key widened to its folder) and every action the records cannot speak for (S3 object
//! writes without a trail, say), and drops the actions the records prove unused. It is checked
//! with [`crate::policy::grant::contains`]: each (action, resource) it allows, today's policies
//! allow unconditionally, and today's `Deny` statements are carried over verbatim. A preset whose
//! parameter can be narrowed instead ([`narrowings`]) is preferred to an inline policy when the
//! caller has rendered it and it passes the same proof ([`accept_narrowing`]).
//!
//! Refusals are answers, not errors: too short a window, no recorded use at all. Pure: the
//! caller reads the records, renders and writes the files.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Role;
use crate::error::{Error, Result};
use crate::policy::document::statements;
use crate::policy::finding::{DriftKind, Finding};
use crate::policy::grant::{self, Answer};
use crate::policy::lint::Severity;
use crate::policy::template::{ParamKind, Templates};
use crate::policy::usage::{Row, Status, Usage, is_data_event};
use crate::state::render::RoleDocuments;

/// How to tighten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Refuse on fewer days of records than this.
    pub min_days: u32,
    /// Keep the exact resources seen (no widening of S3 object keys to their folder).
    pub exact_resources: bool,
}

/// An action kept, with the resources it keeps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kept {
    /// `s3:PutObject`.
    pub action: String,
    /// Resource entries.
    pub resources: Vec<String>,
    /// Last use, when the records show one.
    pub last: Option<i64>,
    /// Why it is kept when unused in the records: what they cannot show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<&'static str>,
    /// Kept under the conditions today's grant puts on it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
}

/// An action dropped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Removed {
    /// `s3:DeleteObject`.
    pub action: String,
    /// Which record shows it unused.
    pub by: &'static str,
}

/// The change to the config.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Set one preset parameter (`prefix = "site/"`).
    NarrowPreset {
        /// Index of the preset in the role.
        index: usize,
        /// The preset.
        preset: String,
        /// The parameter.
        param: String,
        /// Its new value.
        value: String,
    },
    /// Replace the role's presets and inline policies with one inline policy.
    Inline {
        /// Its name.
        name: String,
        /// The document.
        document: Value,
    },
}

/// What tightening proposes for one role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// The role.
    pub role: String,
    /// The change; `None` when nothing can be dropped.
    pub change: Option<Change>,
    /// Actions kept.
    pub kept: Vec<Kept>,
    /// Actions dropped, each with the record that shows it unused.
    pub removed: Vec<Removed>,
    /// Actions used but granted outside what keyless renders (managed policies by ARN).
    pub used_elsewhere: Vec<String>,
    /// Managed policies attached by ARN, left as they are.
    pub left: Vec<String>,
    /// Days of records the proposal rests on.
    pub days: u32,
}

/// One role's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A proposal.
    Proposed(Proposal),
    /// No proposal, and why.
    Refused {
        /// The role.
        role: String,
        /// Why.
        reason: String,
    },
}

/// The inline policy's name when tightening replaces the role's policies.
pub const INLINE_NAME: &str = "used";

/// Propose a tighter grant for `role` (rendered as `docs`) from `usage`, resting on `days` days
/// of records.
pub fn propose(docs: &RoleDocuments, usage: &Usage, days: u32, opts: Options) -> Outcome {
    let refuse = |reason: String| Outcome::Refused {
        role: docs.name.clone(),
        reason,
    };
    if days < opts.min_days {
        return refuse(format!(
            "only {days} day(s) of records (the minimum is {}): a job that runs monthly would lose its permissions; wait, or pass --min-days {days}",
            opts.min_days
        ));
    }
    if usage.is_empty() {
        return refuse(format!(
            "no recorded use in {days} day(s): keyless will not propose an empty policy (is the role used at all? `keyless usage` shows what the records hold)"
        ));
    }
    let ceiling: Vec<&Value> = docs.policies.iter().map(|p| &p.document).collect();
    let mut actions: BTreeSet<String> = grant::granted_actions(&ceiling);
    let mut used_elsewhere = Vec::new();
    for used in usage.actions.keys() {
        if grant::resources_for(&ceiling, used).is_empty() {
            used_elsewhere.push(used.clone());
        } else {
            actions.insert(used.clone());
        }
    }
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for action in &actions {
        let ceiling_resources = grant::resources_for(&ceiling, action);
        match usage.status(action) {
            Status::Unused { by } => removed.push(Removed {
                action: action.clone(),
                by,
            }),
            Status::Unknown { why } => kept.push(Kept {
                action: action.clone(),
                conditional: ceiling_resources.is_empty(),
                resources: ceiling_resources,
                last: None,
                unknown: Some(why),
            }),
            Status::Used { last } if ceiling_resources.is_empty() => kept.push(Kept {
                action: action.clone(),
                resources: vec![],
                last: Some(last),
                unknown: None,
                conditional: true,
            }),
            Status::Used { last } => {
                let seen: Vec<String> = usage.actions[action].resources.iter().cloned().collect();
                let resources = fit_resources(&ceiling, action, &seen, &ceiling_resources, opts);
                kept.push(Kept {
                    action: action.clone(),
                    resources,
                    last: Some(last),
                    unknown: None,
                    conditional: false,
                });
            }
        }
    }
    let left = docs.managed_policy_arns.clone();
    if removed.is_empty()
        && kept
            .iter()
            .all(|k| k.conditional || k.resources == grant::resources_for(&ceiling, &k.action))
    {
        return Outcome::Proposed(Proposal {
            role: docs.name.clone(),
            change: None,
            kept,
            removed,
            used_elsewhere,
            left,
            days,
        });
    }
    let document = document(&kept, &ceiling);
    let unproven = grant::contains(&ceiling, &document);
    if !unproven.is_empty() {
        return refuse(format!(
            "could not prove the proposal inside today's grant for {}: left as it is",
            unproven
                .iter()
                .map(|(a, r)| format!("{a} on {r}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Outcome::Proposed(Proposal {
        role: docs.name.clone(),
        change: Some(Change::Inline {
            name: INLINE_NAME.into(),
            document,
        }),
        kept,
        removed,
        used_elsewhere,
        left,
        days,
    })
}

/// The resource entries for a used action: what it touched (an S3 object widened to its
/// folder unless `exact_resources`), each proven inside the ceiling; else the exact ARNs; else
/// the ceiling's own entries for the action (no narrower answer can be proven).
fn fit_resources(
    ceiling: &[&Value],
    action: &str,
    seen: &[String],
    ceiling_resources: &[String],
    opts: Options,
) -> Vec<String> {
    if seen.is_empty() {
        return ceiling_resources.to_vec();
    }
    let inside = |rs: &[String]| {
        rs.iter()
            .all(|r| grant::allows(ceiling, action, r) == Answer::Allowed)
    };
    if !opts.exact_resources && is_data_event(action) {
        let widened = folders(seen);
        if inside(&widened) {
            return widened;
        }
    }
    if inside(seen) {
        return seen.to_vec();
    }
    ceiling_resources.to_vec()
}

/// S3 object ARNs widened to their common folder per bucket: `b/site/a.html`, `b/site/b.css`
/// → `b/site/*`.
pub fn folders(arns: &[String]) -> Vec<String> {
    let mut by_base: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in arns {
        match a.split_once('/') {
            Some((base, key)) => by_base.entry(base).or_default().push(key),
            None => {
                by_base.entry(a.as_str()).or_default();
            }
        }
    }
    let mut out = Vec::new();
    for (base, keys) in by_base {
        if keys.is_empty() {
            out.push(base.to_string());
            continue;
        }
        out.push(format!("{base}/{}*", common_folder(&keys)));
    }
    out
}

/// The folder (ending in `/`, or empty) every key lies under: `site/a.html`, `site/css/b.css`
/// → `site/`.
fn common_folder(keys: &[&str]) -> String {
    let Some((first, rest)) = keys.split_first() else {
        return String::new();
    };
    let mut common = first.to_string();
    for k in rest {
        let n = common
            .chars()
            .zip(k.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common = common.chars().take(n).collect();
    }
    match common.rfind('/') {
        Some(i) => common[..=i].to_string(),
        None => String::new(),
    }
}

/// One statement per set of resources, actions sorted; then today's conditional statements
/// narrowed to the kept actions they grant; then today's `Deny` statements, verbatim.
fn document(kept: &[Kept], ceiling: &[&Value]) -> Value {
    let mut by_resources: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let conditional: BTreeSet<String> = kept
        .iter()
        .filter(|k| k.conditional)
        .map(|k| k.action.clone())
        .collect();
    for k in kept.iter().filter(|k| !k.conditional) {
        by_resources
            .entry(k.resources.clone())
            .or_default()
            .push(k.action.clone());
    }
    let mut out: Vec<Value> = by_resources
        .into_iter()
        .enumerate()
        .map(|(i, (resources, mut actions))| {
            actions.sort();
            json!({
                "Sid": format!("Used{}", i + 1),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            })
        })
        .collect();
    out.extend(grant::conditional_for(ceiling, &conditional));
    for doc in ceiling {
        for st in statements(doc) {
            if st.get("Effect").and_then(Value::as_str) == Some("Deny") {
                out.push(Value::Object(st.clone()));
            }
        }
    }
    json!({"Version": "2012-10-17", "Statement": out})
}

/// Preset parameters that could be narrowed to what was used: `(preset index, param, value)`
/// for each S3 prefix parameter, set to the common folder of the objects the kept actions touched
/// in the preset's bucket.
pub fn narrowings(
    role: &Role,
    templates: &Templates,
    kept: &[Kept],
) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (i, pu) in role.presets.iter().enumerate() {
        let Some(spec) = templates.presets().get(&pu.name) else {
            continue;
        };
        let bucket = spec
            .params
            .iter()
            .find(|(_, p)| p.kind == ParamKind::S3Bucket)
            .and_then(|(k, _)| pu.params.get(k));
        let Some(bucket) = bucket else { continue };
        for (k, p) in &spec.params {
            if p.kind != ParamKind::S3Prefix {
                continue;
            }
            let in_bucket = format!("{bucket}/");
            let keys: Vec<&str> = kept
                .iter()
                .flat_map(|kp| kp.resources.iter())
                .filter_map(|r| r.split_once(":::").map(|(_, rest)| rest))
                .filter_map(|rest| rest.strip_prefix(&in_bucket))
                .map(|key| key.trim_end_matches('*'))
                .collect();
            if keys.is_empty() {
                continue;
            }
            let folder = common_folder(&keys);
            let current = pu.params.get(k).cloned().unwrap_or_default();
            if !folder.is_empty() && folder != current && folder.starts_with(&current) {
                out.push((i, k.clone(), folder));
            }
        }
    }
    out
}

/// Whether a narrowed preset (rendered by the caller as `narrowed`, the role's documents with
/// the parameter set) may replace the inline proposal: it must grant no action the records
/// prove unused, allow every kept (action, resource), and be proven inside today's grant.
pub fn accept_narrowing(today: &RoleDocuments, narrowed: &RoleDocuments, p: &Proposal) -> bool {
    let ceiling: Vec<&Value> = today.policies.iter().map(|d| &d.document).collect();
    let new: Vec<&Value> = narrowed.policies.iter().map(|d| &d.document).collect();
    let granted = grant::granted_actions(&new);
    if p.removed.iter().any(|r| granted.contains(&r.action)) {
        return false;
    }
    let covers = p.kept.iter().all(|k| {
        k.resources
            .iter()
            .all(|r| grant::allows(&new, &k.action, r) == Answer::Allowed)
    });
    let inside = new.iter().all(|d| {
        // Preset documents name actions plainly; wildcards there make the proof refuse.
        grant::contains(&ceiling, d).is_empty()
    });
    covers && inside
}

/// keyless.toml with the proposals' changes made (comments and layout kept), and the policy
/// files to write beside it: `(path relative to the config's directory, text)`.
pub fn edit_config(
    text: &str,
    file: &str,
    roles: &[(&Role, &Change)],
) -> Result<(String, Vec<(String, String)>)> {
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| Error::Document {
                file: file.to_string(),
                message: e.to_string(),
                fix: "fix the TOML first".into(),
            })?;
    let mut files = Vec::new();
    // Indent the new table as the file indents its sub-tables (`  [[role.subject]]`).
    let indent: String = text
        .lines()
        .find(|l| l.trim_start().starts_with("[[role."))
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').collect())
        .unwrap_or_default();
    let Some(tables) = doc.get_mut("role").and_then(|r| r.as_array_of_tables_mut()) else {
        return Err(Error::Document {
            file: file.to_string(),
            message: "no [[role]] tables".into(),
            fix: "tighten a config with roles".into(),
        });
    };
    for (role, change) in roles {
        let index: usize = role
            .key
            .trim_start_matches("role[")
            .trim_end_matches(']')
            .parse()
            .unwrap_or(usize::MAX);
        let Some(t) = tables.get_mut(index) else {
            return Err(Error::Document {
                file: file.to_string(),
                message: format!("{} is not in the file", role.key),
                fix: "run keyless tighten again on the file as it is now".into(),
            });
        };
        match change {
            Change::NarrowPreset {
                index,
                param,
                value,
                ..
            } => {
                let preset = t
                    .get_mut("preset")
                    .and_then(|p| p.as_array_of_tables_mut())
                    .and_then(|a| a.get_mut(*index));
                let Some(preset) = preset else {
                    return Err(Error::Document {
                        file: file.to_string(),
                        message: format!("{}.preset[{index}] is not in the file", role.key),
                        fix: "run keyless tighten again on the file as it is now".into(),
                    });
                };
                let params = preset
                    .entry("params")
                    .or_insert(toml_edit::value(toml_edit::InlineTable::new()));
                match params {
                    toml_edit::Item::Value(toml_edit::Value::InlineTable(it)) => {
                        it.insert(param, value.as_str().into());
                        it.fmt();
                    }
                    other => {
                        other[param.as_str()] = toml_edit::value(value.as_str());
                    }
                }
            }
            Change::Inline { name, document } => {
                let path = format!("policies/{}.{name}.json", role.name);
                t.remove("preset");
                t.remove("inline_policy");
                let mut ip = toml_edit::Table::new();
                ip.decor_mut().set_prefix(format!(
                    "\n{indent}# keyless tighten: the permissions this role used (replaces its presets and inline policies)\n{indent}"
                ));
                ip["name"] = toml_edit::value(name.as_str());
                ip["file"] = toml_edit::value(path.as_str());
                for k in ["name", "file"] {
                    if let Some(mut key) = ip.key_mut(k) {
                        key.leaf_decor_mut().set_prefix(indent.as_str());
                    }
                }
                let mut arr = toml_edit::ArrayOfTables::new();
                arr.push(ip);
                t.insert("inline_policy", toml_edit::Item::ArrayOfTables(arr));
                files.push((
                    path,
                    format!(
                        "{}\n",
                        serde_json::to_string_pretty(document).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok((doc.to_string(), files))
}

/// `unused_permission` (low) for a config role whose records show granted actions unused.
pub fn unused_permission(role: &str, rows: &[Row], days: u32) -> Option<Finding> {
    let unused: Vec<&str> = rows
        .iter()
        .filter(|r| r.granted && matches!(r.status, Status::Unused { .. }))
        .map(|r| r.action.as_str())
        .collect();
    if unused.is_empty() {
        return None;
    }
    let granted = rows.iter().filter(|r| r.granted).count();
    Some(
        Finding::drift(
            DriftKind::UnusedPermission,
            Severity::Low,
            format!(
                "{} of {granted} granted action(s) unused in {days} day(s) of records: {}",
                unused.len(),
                list(&unused)
            ),
        )
        .on_role(Some(role.to_string()))
        .on(format!("role {role}")),
    )
}

/// The audit's rule for a hand-made role granted far more than it used.
pub const WIDER_THAN_USE: &str = "KA008";

/// At least this many provably unused actions, and this many times the used ones, make a grant
/// "far wider" than use.
pub const FAR_WIDER: (usize, usize) = (10, 3);

/// KA008 for a hand-made GitHub role: a grant of everything (`*`, `NotAction`) for a role that
/// used anything at all, or at least [`FAR_WIDER`] unused actions.
pub fn wider_than_use(role: &str, rows: &[Row], broad: &[String], days: u32) -> Option<Finding> {
    let used: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Used { .. }))
        .map(|r| r.action.as_str())
        .collect();
    let unused = rows
        .iter()
        .filter(|r| r.granted && matches!(r.status, Status::Unused { .. }))
        .count();
    let message = if !broad.is_empty() && !used.is_empty() {
        format!(
            "granted {} but used {} action(s) in {days} day(s) of records: {}",
            broad.join(", "),
            used.len(),
            list(&used)
        )
    } else if unused >= FAR_WIDER.0 && unused >= FAR_WIDER.1 * used.len().max(1) {
        format!(
            "{unused} granted action(s) unused against {} used in {days} day(s) of records",
            used.len()
        )
    } else {
        return None;
    };
    let rule = crate::policy::finding::AUDIT_RULES
        .iter()
        .find(|r| r.id == WIDER_THAN_USE)?;
    Some(
        Finding::new(rule.id, rule.severity, message)
            .on_role(Some(role.to_string()))
            .on(format!("role {role}")),
    )
}

fn list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        n if n.len() <= 5 => n.join(", "),
        n => format!("{} (+{})", n[..5].join(", "), n.len() - 5),
    }
}

/// The config as it would be after the changes, in memory: a narrowed parameter set, or the
/// role's presets and inline policies replaced by the proposal's inline policy (its text
/// carried, so rendering reads no file). Paths are those [`edit_config`] writes.
pub fn tightened(
    cfg: &crate::config::Config,
    changes: &[(String, Change)],
) -> crate::config::Config {
    let mut out = cfg.clone();
    for (name, change) in changes {
        let Some(role) = out.roles.iter_mut().find(|r| &r.name == name) else {
            continue;
        };
        match change {
            Change::NarrowPreset {
                index,
                param,
                value,
                ..
            } => {
                if let Some(p) = role.presets.get_mut(*index) {
                    p.params.insert(param.clone(), value.clone());
                }
            }
            Change::Inline { name, document } => {
                role.presets.clear();
                role.inline_policies = vec![crate::config::InlinePolicy {
                    name: name.clone(),
                    path: cfg.dir.join(format!("policies/{}.{name}.json", role.name)),
                    text: serde_json::to_string_pretty(document).unwrap_or_default(),
                    key: format!("{}.inline_policy[0]", role.key),
                }];
            }
        }
    }
    out
}

/// A unified diff of two texts (keyless.toml before and after).
pub fn text_diff(before: &str, after: &str, file: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(file, &format!("{file} (tightened)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_lands_in_the_right_role_of_several_and_keeps_comments() {
        let text = r#"# my roles
version = 1

[[role]]
name = "a"
  [[role.subject]]
  repo = "o/a"
  branch = "main"
  # deploys the site
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "b" }

[[role]]
name = "b"   # the other one
  [[role.subject]]
  repo = "o/b"
  branch = "main"
  [[role.preset]]
  name = "s3-read"
  params = { bucket = "c" }
"#;
        let dir = std::path::Path::new("/nonexistent");
        let (cfg, problems) = crate::config::parse_partial(text, "keyless.toml", dir).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let change = Change::Inline {
            name: "used".into(),
            document: json!({"Version": "2012-10-17", "Statement": []}),
        };
        let (out, files) = edit_config(text, "keyless.toml", &[(&cfg.roles[0], &change)]).unwrap();
        assert_eq!(files[0].0, "policies/a.used.json");
        let parsed: toml::Table = toml::from_str(&out).unwrap();
        let roles = parsed["role"].as_array().unwrap();
        assert_eq!(
            roles[0]["inline_policy"][0]["name"].as_str(),
            Some("used"),
            "{out}"
        );
        assert!(roles[0].get("preset").is_none(), "{out}");
        assert_eq!(
            roles[1]["preset"][0]["name"].as_str(),
            Some("s3-read"),
            "{out}"
        );
        assert!(roles[1].get("inline_policy").is_none(), "{out}");
        assert!(
            out.contains("# my roles") && out.contains("# the other one"),
            "{out}"
        );
        let narrow = Change::NarrowPreset {
            index: 0,
            preset: "s3-read".into(),
            param: "prefix".into(),
            value: "x/".into(),
        };
        let (out, _) = edit_config(text, "keyless.toml", &[(&cfg.roles[1], &narrow)]).unwrap();
        assert!(
            out.contains(r#"params = { bucket = "c", prefix = "x/" }"#),
            "{out}"
        );
    }

    #[test]
    fn object_keys_widen_to_their_common_folder() {
        assert_eq!(
            folders(&[
                "arn:aws:s3:::b/site/a.html".into(),
                "arn:aws:s3:::b/site/css/x.css".into()
            ]),
            vec!["arn:aws:s3:::b/site/*".to_string()]
        );
        assert_eq!(
            folders(&["arn:aws:s3:::b/a".into(), "arn:aws:s3:::c/x/y".into()]),
            vec![
                "arn:aws:s3:::b/*".to_string(),
                "arn:aws:s3:::c/x/*".to_string()
            ]
        );
    }
}

#[cfg(test)]
mod containment {
    //! The proposal is never wider than today's grant: a property test over random policies and
    //! random event sets, checked by brute force over every action and resource in play.
    use super::*;
    use crate::policy::usage::{Event, Sources};
    use crate::policy::wildcard::like;
    use crate::state::render::RenderedPolicy;
    use proptest::prelude::*;

    const ACTIONS: &[&str] = &[
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:GetBucketTagging",
    ];
    const PATTERNS: &[&str] = &[
        "*",
        "arn:aws:s3:::b",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b/site/*",
        "arn:aws:s3:::b/site/a.html",
        "arn:aws:s3:::c/*",
        "arn:aws:s3:::c",
    ];
    const OBJECTS: &[&str] = &["b/site/a.html", "b/site/css/x.css", "b/other/k", "c/x/y"];

    fn resources() -> Vec<String> {
        let mut r: Vec<String> = OBJECTS
            .iter()
            .map(|o| format!("arn:aws:s3:::{o}"))
            .collect();
        r.extend(["arn:aws:s3:::b".to_string(), "arn:aws:s3:::c".to_string()]);
        r.push("arn:aws:s3:::b/site/new.html".to_string());
        r
    }

    /// IAM's answer with every condition in the documents taken as `cond`.
    fn allowed(doc: &Value, action: &str, resource: &str, cond: bool) -> bool {
        let mut allow = false;
        for st in statements(doc) {
            let acts = crate::policy::document::strings(st.get("Action"));
            let res = crate::policy::document::strings(st.get("Resource"));
            let applies = acts
                .iter()
                .any(|a| like(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && res.iter().any(|r| like(r, resource))
                && (st.get("Condition").is_none() || cond);
            match st.get("Effect").and_then(Value::as_str) {
                Some("Deny") if applies => return false,
                Some("Allow") if applies => allow = true,
                _ => {}
            }
        }
        allow
    }

    fn arb_statement() -> impl Strategy<Value = Value> {
        (
            prop::sample::subsequence(ACTIONS.to_vec(), 1..=3),
            prop::sample::subsequence(PATTERNS.to_vec(), 1..=2),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(actions, resources, deny, cond, wildcard)| {
                let mut actions: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
                if wildcard {
                    actions.push("s3:Get*".into());
                }
                let mut st = json!({
                    "Effect": if deny { "Deny" } else { "Allow" },
                    "Action": actions,
                    "Resource": resources,
                });
                if cond {
                    st["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
                }
                st
            })
    }

    fn arb_events() -> impl Strategy<Value = Vec<(usize, usize, bool)>> {
        prop::collection::vec(
            (
                0..ACTIONS.len(),
                0..OBJECTS.len(),
                prop::bool::weighted(0.1),
            ),
            1..8,
        )
    }

    fn role(statements: Vec<Value>) -> RoleDocuments {
        RoleDocuments {
            name: "r".into(),
            arn: "arn:aws:iam::1:role/r".into(),
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: Default::default(),
            subjects: vec![],
            trust_policy: json!({}),
            policies: vec![RenderedPolicy {
                name: "p".into(),
                attach: "managed",
                source: "test".into(),
                document: json!({"Version": "2012-10-17", "Statement": statements}),
            }],
            managed_policy_arns: vec![],
            findings: vec![],
            adopt: false,
            allow: vec![],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn never_wider_than_today(sts in prop::collection::vec(arb_statement(), 1..5), events in arb_events(), exact in any::<bool>()) {
            let docs = role(sts);
            let now = 1_800_000_000;
            let evs: Vec<(Event, bool)> = events.iter().map(|(a, o, denied)| {
                let (source, name) = (ACTIONS[*a].split_once(':').unwrap().0, ACTIONS[*a].split_once(':').unwrap().1);
                let (bucket, key) = OBJECTS[*o].split_once('/').unwrap();
                let mut e = Event {
                    time: now - 100, source: format!("{source}.amazonaws.com"), name: name.into(),
                    region: "us-east-1".into(), issuer: Some(docs.arn.clone()), user: None,
                    access_key: None,
                    resources: vec![format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/{key}")],
                    error: None, user_agent: None, source_ip: None, data_event: true,
                };
                if *denied { e.error = Some("AccessDenied".into()); }
                (e, true)
            }).collect();
            let usage = Usage::collect(&docs.arn, &evs, &[], Sources {
                window_days: 90, now, last_accessed: false,
                event_history: vec!["us-east-1".into()], trail_files: true,
            });
            let out = propose(&docs, &usage, 90, Options { min_days: 30, exact_resources: exact });
            if let Outcome::Proposed(Proposal { change: Some(Change::Inline { document, .. }), .. }) = out {
                let old = &docs.policies[0].document;
                for action in ACTIONS.iter().chain(["s3:GetObjectAcl"].iter()) {
                    for r in resources() {
                        for cond in [true, false] {
                            if allowed(&document, action, &r, cond) {
                                prop_assert!(allowed(old, action, &r, cond),
                                    "new allows {action} on {r} (cond {cond}) but old does not\nold {old}\nnew {document}");
                            }
                        }
                    }
                }
                // And it keeps every use that today's grant allowed unconditionally.
                for (e, _) in &evs {
                    if e.denied() { continue; }
                    let action = format!("s3:{}", e.name);
                    let obj = &e.resources[1];
                    let target = if matches!(action.as_str(), "s3:ListBucket" | "s3:GetBucketTagging") { &e.resources[0] } else { obj };
                    if allowed(old, &action, target, false) {
                        prop_assert!(allowed(&document, &action, target, false), "lost {action} on {target}\nold {old}\nnew {document}");
                    }
                }
            }
        }
    }
}
