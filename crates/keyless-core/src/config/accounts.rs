//! Many accounts from one config: the `[accounts]` table (which accounts, the role to assume in
//! each, an external ID) and the per-account config, with `${account.id}` and
//! `${account.VAR}` (from `[accounts.vars."ID"]`) substituted so that names and preset parameters
//! can vary by account without copying a role. Pure: no AWS call, no file access.
//!
//! ```toml
//! [accounts]
//! ids = ["111111111111", "222222222222"]
//! organizational_units = ["ou-ab12-cd34ef56"]   # and every account in these (AWS Organizations)
//! role = "OrganizationAccountAccessRole"   # the default
//! external_id = "..."                       # when the role's trust asks for one
//! [accounts.vars.111111111111]
//! bucket = "octo-prod-site"
//! ```

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::error::{Error, Result};

/// The role assumed in each account unless `role` says otherwise: the one AWS Organizations
/// creates in every account it creates.
pub const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";

/// The `[accounts]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    /// Target account IDs, in the config's order.
    pub ids: Vec<String>,
    /// The role (name, or path/name) to assume in each.
    pub role: String,
    /// External ID for the assume-role, if the role's trust requires one.
    pub external_id: Option<String>,
    /// Variables per account ID.
    pub vars: BTreeMap<String, BTreeMap<String, String>>,
    /// Organizational units (or the root) whose accounts are targets too, read from AWS
    /// Organizations at run time.
    pub organizational_units: Vec<String>,
}

impl Accounts {
    /// The role ARN to assume in `account`.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        let role = self.role.trim_start_matches('/');
        format!("arn:{partition}:iam::{account}:role/{role}")
    }
}

/// Read `[accounts]` from a config's text, if it has one. Problems name the file, key and fix.
pub fn read(text: &str, file: &str) -> Result<Option<Accounts>> {
    let Ok(doc) = toml::from_str::<toml::Table>(text) else {
        return Ok(None); // the config parser reports syntax errors
    };
    let Some(table) = doc.get("accounts").and_then(|v| v.as_table()) else {
        return Ok(None);
    };
    let bad = |key: &str, value: Option<String>, message: &str, fix: &str| {
        Error::Config(vec![ConfigError {
            file: file.to_string(),
            key: format!("accounts.{key}"),
            value,
            message: message.to_string(),
            fix: Some(fix.to_string()),
        }])
    };
    let ids: Vec<String> = table
        .get("ids")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(bad(
            "ids",
            None,
            "no account to run in",
            "list the target accounts: ids = [\"111111111111\", \"222222222222\"]",
        ));
    }
    for id in &ids {
        if crate::identity::names::account_id(id).is_err() {
            return Err(bad(
                "ids",
                Some(id.clone()),
                "an AWS account ID is exactly 12 digits, quoted as a string",
                "write each account ID as a 12-digit string",
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = ids.iter().find(|id| !seen.insert(*id)) {
        return Err(bad(
            "ids",
            Some(dup.clone()),
            "this account is listed twice",
            "list each account once",
        ));
    }
    let role = table
        .get("role")
        .and_then(|v| v.as_str())
        .unwrap_or(DEFAULT_ROLE)
        .to_string();
    let name = role.rsplit('/').next().unwrap_or_default();
    if let Err(m) = crate::identity::names::iam_role_name(name) {
        return Err(bad(
            "role",
            Some(role.clone()),
            &m,
            "name the role keyless assumes in each account, e.g. OrganizationAccountAccessRole",
        ));
    }
    let organizational_units: Vec<String> = table
        .get("organizational_units")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for ou in &organizational_units {
        if !is_ou_id(ou) {
            return Err(bad(
                "organizational_units",
                Some(ou.clone()),
                "not an organizational unit or root ID",
                "use an ID like ou-ab12-cd34ef56 (aws organizations list-organizational-units-for-parent) or the root r-ab12",
            ));
        }
    }
    let external_id = table
        .get("external_id")
        .and_then(|v| v.as_str())
        .map(String::from);
    let mut vars = BTreeMap::new();
    if let Some(v) = table.get("vars").and_then(|v| v.as_table()) {
        for (id, t) in v {
            if !ids.contains(id) && organizational_units.is_empty() {
                return Err(bad(
                    &format!("vars.{id}"),
                    None,
                    "variables for an account that is not in ids",
                    "add the account to ids, or remove its variables",
                ));
            }
            let map = t
                .as_table()
                .map(|t| {
                    t.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            vars.insert(id.clone(), map);
        }
    }
    Ok(Some(Accounts {
        ids,
        role,
        external_id,
        vars,
        organizational_units,
    }))
}

/// An organizational unit (`ou-xxxx-yyyyyyyy`) or root (`r-xxxx`) ID, as AWS Organizations
/// spells them.
pub fn is_ou_id(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    match s.split('-').collect::<Vec<_>>().as_slice() {
        ["ou", a, b] => {
            (4..=32).contains(&a.len()) && (8..=32).contains(&b.len()) && ok(a) && ok(b)
        }
        ["r", a] => (4..=32).contains(&a.len()) && ok(a),
        _ => false,
    }
}

/// The target accounts: `ids`, then the organizational units' active accounts (`listed`, in
/// ID order), each once, leaving out `exclude` (the account keyless runs from:
/// it is the organization's management account when it can list OUs, and is not a member).
pub fn targets(accounts: &Accounts, listed: &[String], exclude: &str) -> Vec<String> {
    let mut listed = listed.to_vec();
    listed.sort();
    let mut out: Vec<String> = Vec::new();
    for id in accounts.ids.iter().chain(&listed) {
        if !out.contains(id) && (id != exclude || accounts.ids.contains(id)) {
            out.push(id.clone());
        }
    }
    out
}

/// The config text for `account`: `${account.id}` and `${account.VAR}` replaced, and the
/// account pinned (`account_id`), so that every single-account check (the pin against the
/// caller, ARNs) holds per account. An unknown variable is an error naming it and the account.
///
/// Substitution happens in parsed string values only (keys and the document's structure are
/// the file's): a value stays one string whatever it holds, quotes and newlines included, so a
/// variable can never add a key, a table or a trusted subject.
pub fn for_account(text: &str, file: &str, accounts: &Accounts, account: &str) -> Result<String> {
    PerAccount::new(text, file)?.text_for(accounts, account)
}

/// The config without its `[accounts]` table, parsed once: what every account's view is made
/// from ([`PerAccount::text_for`]). A run across many accounts parses the file once, not once
/// per account, and an account's view never carries the other accounts' IDs (a fleet of N
/// accounts cost N parses of N IDs).
#[derive(Debug, Clone)]
pub struct PerAccount {
    doc: toml_edit::DocumentMut,
    file: String,
}

impl PerAccount {
    /// Parse `text` (the file `file`) and set its `[accounts]` table aside: each account's
    /// view is one account's config, and `[accounts]` was read and checked already.
    pub fn new(text: &str, file: &str) -> Result<PerAccount> {
        let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            Error::Config(vec![ConfigError {
                file: file.to_string(),
                key: "(TOML syntax)".into(),
                value: None,
                message: e.to_string().trim().replace('\n', " "),
                fix: Some("fix the TOML syntax at the line and column named".into()),
            }])
        })?;
        doc.as_table_mut().remove("accounts");
        Ok(PerAccount {
            doc,
            file: file.to_string(),
        })
    }

    /// The config text as `account` sees it (see [`for_account`]).
    pub fn text_for(&self, accounts: &Accounts, account: &str) -> Result<String> {
        let file = &self.file;
        let mut doc = self.doc.clone();
        let vars = accounts.vars.get(account);
        let mut problem = None;
        let mut substitute = |key: &str, v: &str| -> Option<String> {
            if !v.contains("${account.") {
                return None;
            }
            match expand(v, account, vars) {
                Ok(out) => Some(out),
                Err(var) => {
                    problem.get_or_insert(ConfigError {
                        file: file.to_string(),
                        key: if key.is_empty() { format!("${{account.{var}}}") } else { key.to_string() },
                        value: Some(format!("${{account.{var}}}")),
                        message: format!("no variable {var} for account {account}"),
                        fix: Some(format!(
                            "add {var} = \"...\" to [accounts.vars.{account}] (variables: id, and each account's own)"
                        )),
                    });
                    None
                }
            }
        };
        walk_table(doc.as_table_mut(), "", &mut substitute);
        if let Some(p) = problem {
            return Err(Error::Config(vec![p]));
        }
        doc["account_id"] = toml_edit::value(account);
        Ok(doc.to_string())
    }
}

/// `text` with each `${account.VAR}` replaced; the unknown variable's name otherwise.
fn expand(
    text: &str,
    account: &str,
    vars: Option<&BTreeMap<String, String>>,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${account.") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "${account.".len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let var = &after[..end];
        let value = match var {
            "id" => Some(account.to_string()),
            v => vars.and_then(|m| m.get(v)).cloned(),
        };
        out.push_str(&value.ok_or_else(|| var.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Visit every string value under `table` (dotted keys for messages), replacing those
/// `f` returns a new value for.
fn walk_table(
    table: &mut toml_edit::Table,
    at: &str,
    f: &mut impl FnMut(&str, &str) -> Option<String>,
) {
    for (k, item) in table.iter_mut() {
        let key = if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        };
        walk_item(item, &key, f);
    }
}

fn walk_item(
    item: &mut toml_edit::Item,
    at: &str,
    f: &mut impl FnMut(&str, &str) -> Option<String>,
) {
    match item {
        toml_edit::Item::Value(v) => walk_value(v, at, f),
        toml_edit::Item::Table(t) => walk_table(t, at, f),
        toml_edit::Item::ArrayOfTables(a) => {
            for (i, t) in a.iter_mut().enumerate() {
                walk_table(t, &format!("{at}[{i}]"), f);
            }
        }
        toml_edit::Item::None => {}
    }
}

fn walk_value(
    v: &mut toml_edit::Value,
    at: &str,
    f: &mut impl FnMut(&str, &str) -> Option<String>,
) {
    match v {
        toml_edit::Value::String(s) => {
            if let Some(new) = f(at, s.value()) {
                let decor = s.decor().clone();
                let mut formatted = toml_edit::Formatted::new(new);
                *formatted.decor_mut() = decor;
                *v = toml_edit::Value::String(formatted);
            }
        }
        toml_edit::Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                walk_value(x, &format!("{at}[{i}]"), f);
            }
        }
        toml_edit::Value::InlineTable(t) => {
            for (k, x) in t.iter_mut() {
                walk_value(x, &format!("{at}.{k}"), f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[accounts]\nids = [\"111111111111\", \"222222222222\"]\nexternal_id = \"x-123\"\n[accounts.vars.111111111111]\nbucket = \"prod-site\"\n[accounts.vars.222222222222]\nbucket = \"dev-site\"\n[[role]]\nname = \"gha-site-${account.id}\"\n[[role.preset]]\nname = \"s3-deploy\"\nparams = { bucket = \"${account.bucket}\" }\n";

    #[test]
    fn the_table_is_read_with_defaults() {
        let a = read(TEXT, "k.toml").unwrap().unwrap();
        assert_eq!(a.ids, ["111111111111", "222222222222"]);
        assert_eq!(a.role, DEFAULT_ROLE);
        assert_eq!(a.external_id.as_deref(), Some("x-123"));
        assert_eq!(
            a.role_arn("aws", "111111111111"),
            "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
        );
        assert_eq!(read("[[role]]\nname = \"x\"\n", "k.toml").unwrap(), None);
    }

    #[test]
    fn targets_are_the_ids_then_the_units_accounts_once_without_the_caller() {
        let mut a = read(TEXT, "k.toml").unwrap().unwrap();
        a.organizational_units = vec!["ou-ab12-cd34ef56".into()];
        let listed = ["222222222222", "333333333333", "999999999999"].map(String::from);
        assert_eq!(
            targets(&a, &listed, "999999999999"),
            ["111111111111", "222222222222", "333333333333"]
        );
        assert!(is_ou_id("ou-ab12-cd34ef56") && is_ou_id("r-ab12"));
        assert!(!is_ou_id("engineering") && !is_ou_id("ou-AB12-cd34ef56"));
        let e = read(
            "[accounts]\nids = [\"111111111111\"]\norganizational_units = [\"eng\"]\n",
            "k.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("organizational_units") && e.contains("ou-ab12"),
            "{e}"
        );
    }

    #[test]
    fn each_account_gets_its_values_and_its_pin() {
        let a = read(TEXT, "k.toml").unwrap().unwrap();
        let t = for_account(TEXT, "k.toml", &a, "222222222222").unwrap();
        assert!(t.contains("name = \"gha-site-222222222222\""), "{t}");
        assert!(t.contains("bucket = \"dev-site\""), "{t}");
        assert!(t.contains("account_id = \"222222222222\""), "{t}");
        assert!(!t.contains("${"), "{t}");
    }

    #[test]
    fn problems_name_the_key_value_and_fix() {
        let a = read(TEXT, "k.toml").unwrap().unwrap();
        let e = for_account(
            &TEXT.replace("account.bucket", "account.region"),
            "k.toml",
            &a,
            "111111111111",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no variable region for account 111111111111"),
            "{e}"
        );
        assert!(e.contains("[accounts.vars.111111111111]"), "{e}");
        for (text, want) in [
            ("[accounts]\nids = []\n", "no account to run in"),
            ("[accounts]\nids = [\"12345\"]\n", "12 digits"),
            (
                "[accounts]\nids = [\"111111111111\", \"111111111111\"]\n",
                "listed twice",
            ),
            (
                "[accounts]\nids = [\"111111111111\"]\n[accounts.vars.222222222222]\nx = \"y\"\n",
                "not in ids",
            ),
        ] {
            let e = read(text, "k.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn a_value_stays_one_string_whatever_it_holds() {
        let text = "[accounts]\nids = [\"111111111111\"]\n[accounts.vars.111111111111]\nnote = \"dev\\\"\\n  [[role.subject]]\\n  repo = \\\"evil-org/anything\\\"\\n  branch = \\\"main\\\"\\n#\"\n[[role]]\nname = \"gha-site\"\ndescription = \"site deploy ${account.note}\"\n[[role.subject]]\nrepo = \"octo-org/site\"\nbranch = \"main\"\n";
        let a = read(text, "k.toml").unwrap().unwrap();
        let t = for_account(text, "k.toml", &a, "111111111111").unwrap();
        let doc: toml::Table = toml::from_str(&t).unwrap();
        let roles = doc["role"].as_array().unwrap();
        assert_eq!(roles.len(), 1);
        let subjects = roles[0]["subject"].as_array().unwrap();
        assert_eq!(subjects.len(), 1, "{t}");
        assert_eq!(subjects[0]["repo"].as_str(), Some("octo-org/site"));
        let description = roles[0]["description"].as_str().unwrap();
        assert!(
            description.starts_with("site deploy dev\"\n  [[role.subject]]"),
            "{description}"
        );
        // The key of an unknown variable is named.
        let e = for_account(
            &text.replace("account.note", "account.nope"),
            "k.toml",
            &a,
            "111111111111",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("role[0].description") && e.contains("no variable nope"),
            "{e}"
        );
    }
}
