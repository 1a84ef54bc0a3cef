//! The shape of `keyless.toml`: which keys exist where and which TOML type each holds, checked
//! on the untyped document before it is deserialized, so that every unknown key, missing key
//! and wrong type is reported at once, by key path (`role[0].max_session_duration`) and TOML
//! type ("an integer"), never as a Rust type (`expected i64`).
//!
//! It knows only the shape; what values mean is `config`'s validation. Keep the tables here in
//! step with the serde structs in `config` (a unit test parses every example config with both).

use toml::{Table, Value};

use crate::error::ConfigError;

/// A TOML type the schema expects.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
    /// A string or an integer (GitHub IDs).
    StrOrInt,
    /// Anything (validated later, e.g. preset parameters).
    Any,
    /// An array whose items have this type.
    Array(&'static Ty),
    /// A table with these keys.
    Table(&'static [Key]),
    /// An array of tables with these keys (`[[role]]`).
    Tables(&'static [Key]),
    /// A table of free keys whose values have this type (`tags`, `claims`).
    Map(&'static Ty),
}

/// One key of a table: its name, its type, and whether it is required.
#[derive(Debug, Clone, Copy)]
struct Key(&'static str, Ty, bool);

const PROVIDER: &[Key] = &[
    Key("issuer", Ty::Str, false),
    Key("enterprise_slug", Ty::Str, false),
    Key("ghe_com", Ty::Str, false),
    Key("unique_issuer", Ty::Bool, false),
    Key("ghes_host", Ty::Str, false),
    Key("audiences", Ty::Array(&Ty::Str), false),
];
const LINT: &[Key] = &[
    Key("claim_keys", Ty::Array(&Ty::Str), false),
    Key("trust_policy_size_quota", Ty::Int, false),
];
const WORKFLOW: &[Key] = &[
    Key("runs_on", Ty::Str, false),
    Key("keyless_home", Ty::Str, false),
    Key("keyless_commit", Ty::Str, false),
];
const SUBJECT: &[Key] = &[
    Key("repo", Ty::Str, false),
    Key("branch", Ty::Str, false),
    Key("tag", Ty::Str, false),
    Key("environment", Ty::Str, false),
    Key("pull_request", Ty::Bool, false),
    Key("any_ref", Ty::Bool, false),
    Key("owner_id", Ty::StrOrInt, false),
    Key("repo_id", Ty::StrOrInt, false),
    Key("format", Ty::Str, false),
    Key("claims", Ty::Map(&Ty::Str), false),
    Key("custom", Ty::Str, false),
];
const PRESET: &[Key] = &[
    Key("name", Ty::Str, true),
    Key("policy_name", Ty::Str, false),
    Key("params", Ty::Map(&Ty::Any), false),
];
const INLINE: &[Key] = &[Key("name", Ty::Str, true), Key("file", Ty::Str, true)];
const ALLOW: &[Key] = &[Key("rule", Ty::Str, true), Key("reason", Ty::Str, true)];
const ROLE: &[Key] = &[
    Key("name", Ty::Str, true),
    Key("path", Ty::Str, false),
    Key("description", Ty::Str, false),
    Key("max_session_duration", Ty::Int, false),
    Key("permissions_boundary", Ty::Str, false),
    Key("tags", Ty::Map(&Ty::Str), false),
    Key("adopt", Ty::Bool, false),
    Key("variable", Ty::Str, false),
    Key("subject", Ty::Tables(SUBJECT), false),
    Key("preset", Ty::Tables(PRESET), false),
    Key("managed_policies", Ty::Array(&Ty::Str), false),
    Key("inline_policy", Ty::Tables(INLINE), false),
    Key("trust_policy", Ty::Str, false),
    Key("allow", Ty::Tables(ALLOW), false),
];
const ACCOUNTS: &[Key] = &[
    Key("ids", Ty::Array(&Ty::Str), true),
    Key("organizational_units", Ty::Array(&Ty::Str), false),
    Key("role", Ty::Str, false),
    Key("external_id", Ty::Str, false),
    Key("vars", Ty::Map(&Ty::Map(&Ty::Str)), false),
];
const GUARD: &[Key] = &[
    Key("name", Ty::Str, false),
    Key("owner_ids", Ty::Array(&Ty::Str), true),
    Key("enterprise_ids", Ty::Array(&Ty::Str), false),
    Key("issuers", Ty::Array(&Ty::Str), false),
    Key("targets", Ty::Array(&Ty::Str), true),
];
const TOP: &[Key] = &[
    Key("version", Ty::Int, false),
    Key("name", Ty::Str, false),
    Key("account_id", Ty::Str, false),
    Key("partition", Ty::Str, false),
    Key("keep_removed_roles", Ty::Bool, false),
    Key("region", Ty::Str, false),
    Key("templates_dir", Ty::Str, false),
    Key("provider", Ty::Table(PROVIDER), false),
    Key("lint", Ty::Table(LINT), false),
    Key("workflow", Ty::Table(WORKFLOW), false),
    Key("accounts", Ty::Table(ACCOUNTS), false),
    Key("guard", Ty::Table(GUARD), false),
    Key("role", Ty::Tables(ROLE), false),
];

/// Every shape problem of a parsed document.
pub fn problems(doc: &Table, file: &str) -> Vec<ConfigError> {
    let mut copy = doc.clone();
    strip(&mut copy, file)
}

/// Every shape problem of a parsed document, removing each offending key (unknown, or of the
/// wrong type) so that the rest can still be read and validated, and all problems reported
/// together.
pub fn strip(doc: &mut Table, file: &str) -> Vec<ConfigError> {
    let mut out = Vec::new();
    table(doc, TOP, "", file, &mut out);
    out
}

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// "a string", "an integer", ... for people.
fn ty_name(t: &Ty) -> &'static str {
    match t {
        Ty::Str => "a string",
        Ty::Int => "an integer",
        Ty::Bool => "a boolean (true or false)",
        Ty::StrOrInt => "a string or an integer",
        Ty::Any => "a value",
        Ty::Array(_) => "an array",
        Ty::Table(_) | Ty::Map(_) => "a table",
        Ty::Tables(_) => "an array of tables ([[...]])",
    }
}

fn value_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// How to write a value of type `t` for `key`, given what was written.
fn fix_for(t: &Ty, key: &str, got: &Value) -> String {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    match (t, got) {
        (Ty::Str, Value::Integer(i)) => format!("quote it: {leaf} = \"{i}\""),
        (Ty::Str, _) => format!("write it as a string: {leaf} = \"...\""),
        (Ty::Int, Value::String(s)) if s.parse::<i64>().is_ok() => {
            format!("drop the quotes: {leaf} = {s}")
        }
        (Ty::Int, _) => format!("write a whole number: {leaf} = 3600"),
        (Ty::Bool, Value::String(s)) if matches!(s.as_str(), "true" | "false") => {
            format!("drop the quotes: {leaf} = {s}")
        }
        (Ty::Bool, _) => format!("write {leaf} = true or {leaf} = false"),
        (Ty::Array(_), _) => format!("write a list: {leaf} = [\"...\"]"),
        (Ty::Tables(_), _) => format!("write one [[{key}]] table per entry"),
        _ => "see the config reference in README.md".into(),
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", &s[..s.floor_char_boundary(57)])
    } else {
        s
    }
}

fn wrong(t: &Ty, key: &str, v: &Value, file: &str, out: &mut Vec<ConfigError>) {
    out.push(ConfigError {
        file: file.to_string(),
        key: key.to_string(),
        value: Some(shown(v)),
        message: format!("expected {}, found {}", ty_name(t), value_name(v)),
        fix: Some(fix_for(t, key, v)),
    });
}

fn table(t: &mut Table, keys: &[Key], prefix: &str, file: &str, out: &mut Vec<ConfigError>) {
    let mut bad = Vec::new();
    for (k, v) in t.iter_mut() {
        let key = path(prefix, k);
        match keys.iter().find(|Key(name, _, _)| name == k) {
            Some(Key(_, ty, _)) => {
                if !value(v, ty, &key, file, out) {
                    bad.push(k.clone());
                }
            }
            None => {
                bad.push(k.clone());
                let known: Vec<&str> = keys.iter().map(|Key(n, _, _)| *n).collect();
                let near = nearest(k, &known);
                out.push(ConfigError {
                    file: file.to_string(),
                    key,
                    value: None,
                    message: format!("unknown key `{k}`"),
                    fix: Some(match near {
                        Some(n) => format!("did you mean `{n}`? keys here: {}", known.join(", ")),
                        None => format!("keys here: {}", known.join(", ")),
                    }),
                });
            }
        }
    }
    let present: Vec<String> = t.keys().cloned().collect();
    for k in bad {
        t.remove(&k);
    }
    for Key(name, ty, required) in keys {
        if *required && !present.iter().any(|k| k == name) {
            out.push(ConfigError {
                file: file.to_string(),
                key: path(prefix, name),
                value: None,
                message: format!("missing: {} is required here", ty_name(ty)),
                fix: Some(format!("add {name} = ...")),
            });
        }
    }
}

/// Check one value; `false` when it has the wrong type (the caller removes it). Wrong items
/// inside arrays and tables are removed here.
fn value(v: &mut Value, ty: &Ty, key: &str, file: &str, out: &mut Vec<ConfigError>) -> bool {
    match (ty, v) {
        (Ty::Any, _)
        | (Ty::Str, Value::String(_))
        | (Ty::Int, Value::Integer(_))
        | (Ty::Bool, Value::Boolean(_))
        | (Ty::StrOrInt, Value::String(_) | Value::Integer(_)) => true,
        (Ty::Array(item), Value::Array(items)) => {
            let mut i = 0;
            items.retain_mut(|x| {
                let ok = value(x, item, &format!("{key}[{i}]"), file, out);
                i += 1;
                ok
            });
            true
        }
        (Ty::Table(keys), Value::Table(t)) => {
            table(t, keys, key, file, out);
            true
        }
        (Ty::Tables(keys), Value::Array(items)) => {
            let mut i = 0;
            items.retain_mut(|x| {
                let at = format!("{key}[{i}]");
                i += 1;
                match x {
                    Value::Table(t) => {
                        table(t, keys, &at, file, out);
                        true
                    }
                    other => {
                        wrong(&Ty::Table(keys), &at, other, file, out);
                        false
                    }
                }
            });
            true
        }
        (Ty::Map(item), Value::Table(t)) => {
            let mut bad = Vec::new();
            for (k, x) in t.iter_mut() {
                if !value(x, item, &path(key, k), file, out) {
                    bad.push(k.clone());
                }
            }
            for k in bad {
                t.remove(&k);
            }
            true
        }
        (t, v) => {
            wrong(t, key, v, file, out);
            false
        }
    }
}

/// The known key closest to `k` (a typo, a case slip), when close enough to be a guess.
fn nearest<'a>(k: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|n| (strsim::levenshtein(&k.to_ascii_lowercase(), n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<ConfigError> {
        problems(&toml::from_str(text).unwrap(), "k.toml")
    }

    #[test]
    fn every_wrong_type_is_named_by_key_path_and_toml_type_at_once() {
        let p = shape(
            "account_id = 123456789012\n[[role]]\nname = \"r\"\nmax_session_duration = \"3600\"\nadopt = \"yes\"\n[[role.subject]]\nrepo = \"o/r\"\npull_request = 1\nowner_id = 5\n",
        );
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|e| (e.key.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("account_id", "expected a string, found an integer"),
                (
                    "role[0].adopt",
                    "expected a boolean (true or false), found a string"
                ),
                (
                    "role[0].max_session_duration",
                    "expected an integer, found a string"
                ),
                (
                    "role[0].subject[0].pull_request",
                    "expected a boolean (true or false), found an integer"
                ),
            ]
        );
        assert_eq!(
            p[0].fix.as_deref(),
            Some("quote it: account_id = \"123456789012\"")
        );
        assert_eq!(
            p[2].fix.as_deref(),
            Some("drop the quotes: max_session_duration = 3600")
        );
        assert!(p.iter().all(|e| !e.message.contains("i64")));
    }

    #[test]
    fn unknown_and_missing_keys_with_a_guess() {
        let p = shape("regoin = \"x\"\n[[role]]\n[[role.preset]]\nparams = {}\n");
        let keys: Vec<&str> = p.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["regoin", "role[0].preset[0].name", "role[0].name"]
        );
        assert!(
            p[0].fix
                .as_deref()
                .unwrap()
                .starts_with("did you mean `region`?")
        );
    }

    #[test]
    fn every_example_config_has_the_right_shape() {
        for ex in ["keyless.toml", "multi-role.toml", "enterprise.toml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples")
                .join(ex);
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(shape(&text), vec![], "{ex}");
            crate::config::load(&path).unwrap_or_else(|e| panic!("{ex}: {e}"));
        }
    }
}
