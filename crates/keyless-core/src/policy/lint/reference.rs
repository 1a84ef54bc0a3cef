//! The checks of a permission statement against AWS's Service Authorization Reference
//! ([`crate::policy::actions`]): actions that do not exist (KL112), resources that fit none of an
//! action's resource types (KL113), condition keys no action of the statement takes (KL114).
//! A typo in any of these lints clean by shape and fails silently at run time.

use super::*;
use crate::policy::actions::{Action, Named, Service, fits, table};

/// The statement's `Action` entries, checked and expanded; `None` when one is `*`.
fn named<'t>(
    out: &mut Out,
    label: &str,
    st: &serde_json::Map<String, Value>,
    allow: bool,
) -> Option<Vec<(String, &'t Service, Vec<&'t Action>)>> {
    let t: &'t crate::policy::actions::Table = table();
    let key = if st.contains_key("NotAction") {
        "NotAction"
    } else {
        "Action"
    };
    let mut all = Some(Vec::new());
    for entry in strings(st.get(key)) {
        let problem = match t.named(entry) {
            Named::Everything => {
                all = None;
                continue;
            }
            Named::UnknownService(p) => format!(
                "`{entry}`: AWS lists no service `{p}` (Service Authorization Reference, {})",
                t.source
            ),
            Named::Actions(s, acts) if acts.is_empty() => {
                let wanted = entry.split_once(':').map(|x| x.1).unwrap_or("");
                let near = s
                    .actions
                    .values()
                    .map(|a| {
                        (
                            strsim::levenshtein(
                                &wanted.to_ascii_lowercase(),
                                &a.name.to_ascii_lowercase(),
                            ),
                            a,
                        )
                    })
                    .filter(|(d, _)| *d <= 3)
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, a)| format!("; did you mean `{}:{}`?", s.prefix, a.name))
                    .unwrap_or_default();
                format!(
                    "`{entry}` names no action of {} ({}){near}",
                    s.name, t.source
                )
            }
            Named::Actions(s, acts) => {
                if let Some(v) = all.as_mut() {
                    v.push((entry.to_string(), s, acts));
                }
                continue;
            }
        };
        // In an Allow it grants nothing; in a Deny it denies nothing: both silently.
        let severity = if allow { Error } else { Warning };
        out.add_sev(
            "KL112",
            severity,
            problem,
            Some(label),
            Some(key),
            Some(entry),
        );
    }
    if key == "NotAction" { None } else { all }
}

pub(super) fn reference_statement(out: &mut Out, i: usize, st: &serde_json::Map<String, Value>) {
    let label = stmt_label(i, st);
    let allow = st.get("Effect").and_then(Value::as_str) == Some("Allow");
    let Some(named) = named(out, &label, st, allow) else {
        return;
    };
    if !allow || named.is_empty() {
        return;
    }
    resources(out, &label, st, &named);
    conditions(out, &label, st, &named);
}

fn resources(
    out: &mut Out,
    label: &str,
    st: &serde_json::Map<String, Value>,
    named: &[(String, &Service, Vec<&Action>)],
) {
    if st.contains_key("NotResource") {
        return;
    }
    let resources = strings(st.get("Resource"));
    if resources.is_empty() || resources.contains(&"*") {
        return;
    }
    // Each action a statement names explicitly must fit one of its resources.
    for (entry, s, acts) in named {
        let [a] = acts.as_slice() else { continue };
        if entry.contains(['*', '?']) {
            continue;
        }
        if a.resources.is_empty() {
            out.add(
                "KL113",
                format!("`{entry}` takes only Resource \"*\" (it has no resource-level permissions), so this statement never allows it; move it to a statement with Resource \"*\""),
                Some(label),
                Some("Action"),
                Some(entry),
            );
            continue;
        }
        if !resources
            .iter()
            .any(|r| s.formats(a).any(|(_, f)| fits(r, f)))
        {
            let expected: Vec<String> = s.formats(a).map(|(t, f)| format!("{t} ({f})")).collect();
            out.add(
                "KL113",
                format!(
                    "no resource of the statement fits `{entry}`, which takes {}; it is never allowed here",
                    expected.join(" or ")
                ),
                Some(label),
                Some("Resource"),
                Some(entry),
            );
        }
    }
    // Each resource must fit some action of the statement.
    let with_types: Vec<(&Service, &Action)> = named
        .iter()
        .flat_map(|(_, s, acts)| acts.iter().map(move |a| (*s, *a)))
        .filter(|(_, a)| !a.resources.is_empty())
        .collect();
    if with_types.is_empty() {
        return;
    }
    for r in &resources {
        if !with_types
            .iter()
            .any(|(s, a)| s.formats(a).any(|(_, f)| fits(r, f)))
        {
            let mut formats: Vec<String> = with_types
                .iter()
                .flat_map(|(s, a)| s.formats(a).map(|(_, f)| f.to_string()))
                .collect();
            formats.sort();
            formats.dedup();
            let shown: Vec<_> = formats.iter().take(3).cloned().collect();
            let more = formats.len().saturating_sub(3);
            out.add(
                "KL113",
                format!(
                    "Resource `{r}` fits no action of the statement (they take {}{}); check the ARN's service, region, account and path",
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
                Some(label),
                Some("Resource"),
                Some(r),
            );
        }
    }
}

fn conditions(
    out: &mut Out,
    label: &str,
    st: &serde_json::Map<String, Value>,
    named: &[(String, &Service, Vec<&Action>)],
) {
    let mut seen = std::collections::BTreeSet::new();
    for (_, key, _) in crate::policy::document::condition_entries(st) {
        let lower = key.to_ascii_lowercase();
        // Global keys (aws:...) are in every request context that has them.
        if lower.starts_with("aws:") || !lower.contains(':') || !seen.insert(lower.clone()) {
            continue;
        }
        let takes = named
            .iter()
            .flat_map(|(_, _, acts)| acts.iter())
            .any(|a| a.takes_key(&key));
        if !takes {
            let actions: Vec<&str> = named.iter().map(|(e, _, _)| e.as_str()).collect();
            out.add(
                "KL114",
                format!(
                    "condition key `{key}` is taken by none of {}: for them the key is absent, so the condition never holds (or, with IfExists, never restricts)",
                    actions.join(", ")
                ),
                Some(label),
                Some("Condition"),
                Some(&key),
            );
        }
    }
}
