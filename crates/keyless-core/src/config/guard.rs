//! The `[guard]` table: one AWS Organizations resource control policy (RCP) that denies
//! `sts:AssumeRoleWithWebIdentity` to a GitHub token whose repository owner (or enterprise) is not
//! on the list, for every role in the target accounts, hand-made ones included. Pure: no AWS
//! call, no file access; the owners are IDs (a name can be re-registered, an ID cannot).
//!
//! ```toml
//! [guard]
//! owner_ids = ["123456"]            # octo-org (names as comments: IDs are what the RCP checks)
//! enterprise_ids = []               # optional: also admit any owner of these enterprises
//! issuers = ["https://token.actions.githubusercontent.com"]   # default: github.com and [provider]'s
//! targets = ["ou-ab12-cd34ef56"]    # the root (r-...), OUs (ou-...) or accounts (12 digits)
//! name = "keyless-github-guard"     # the policy's name (default)
//! ```

use crate::error::{ConfigError, Error, Result};
use crate::identity::issuer::{GITHUB_COM, Issuer, IssuerKind, supported_claim_keys};

/// The policy's name unless `name` says otherwise.
pub const DEFAULT_NAME: &str = "keyless-github-guard";

/// The `[guard]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The policy's name.
    pub name: String,
    /// GitHub owner (user or organization) IDs whose repositories may assume roles.
    pub owner_ids: Vec<String>,
    /// GitHub enterprise IDs whose owners may too.
    pub enterprise_ids: Vec<String>,
    /// The issuers whose tokens the guard judges (each must pass `repository_owner_id` to IAM).
    pub issuers: Vec<Issuer>,
    /// Where the policy is attached: the root, OUs, accounts.
    pub targets: Vec<String>,
}

/// The `[guard]` table as written, typed (the shape check has made sure of the types): parsed
/// with the config, checked for a partition by [`GuardSpec::check`] once the caller's partition
/// is known (which claim keys an issuer passes to IAM depends on it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardSpec {
    /// `name`, if given.
    pub name: Option<String>,
    /// `owner_ids`.
    pub owner_ids: Vec<String>,
    /// `enterprise_ids`.
    pub enterprise_ids: Vec<String>,
    /// `issuers`, if given (else github.com and `[provider]`'s).
    pub issuers: Option<Vec<String>>,
    /// `targets`.
    pub targets: Vec<String>,
}

impl GuardSpec {
    /// The spec in a `[guard]` table.
    pub fn from_table(table: &toml::Table) -> GuardSpec {
        let list = |key: &str| -> Vec<String> {
            table
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        GuardSpec {
            name: table.get("name").and_then(|v| v.as_str()).map(String::from),
            owner_ids: list("owner_ids"),
            enterprise_ids: list("enterprise_ids"),
            issuers: table.get("issuers").map(|_| list("issuers")),
            targets: list("targets"),
        }
    }

    /// The guard, checked: every problem reported at once, each naming the file, key, value and
    /// fix. `provider_issuer` is the config's `[provider]` issuer (a default issuer),
    /// `partition` decides which claim keys reach IAM.
    pub fn check(
        &self,
        file: &str,
        provider_issuer: Option<&Issuer>,
        partition: &str,
    ) -> Result<Guard> {
        checked(self, file, provider_issuer, partition)
    }
}

/// What a target ID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `r-...`
    Root,
    /// `ou-...`
    Unit,
    /// 12 digits
    Account,
}

/// The kind of a target ID, if it is one.
pub fn target_kind(id: &str) -> Option<TargetKind> {
    if crate::identity::names::account_id(id).is_ok() {
        Some(TargetKind::Account)
    } else if super::accounts::is_ou_id(id) {
        Some(if id.starts_with("r-") {
            TargetKind::Root
        } else {
            TargetKind::Unit
        })
    } else {
        None
    }
}

/// Read `[guard]` from a config's text, if it has one. `provider_issuer` is the config's
/// `[provider]` issuer (a default issuer), `partition` decides which claim keys reach IAM.
/// Every problem is reported, each naming the file, key, value and fix.
pub fn read(
    text: &str,
    file: &str,
    provider_issuer: Option<&Issuer>,
    partition: &str,
) -> Result<Option<Guard>> {
    let Ok(doc) = toml::from_str::<toml::Table>(text) else {
        return Ok(None); // the config parser reports syntax errors
    };
    let Some(table) = doc.get("guard").and_then(|v| v.as_table()) else {
        return Ok(None);
    };
    GuardSpec::from_table(table)
        .check(file, provider_issuer, partition)
        .map(Some)
}

fn checked(
    spec: &GuardSpec,
    file: &str,
    provider_issuer: Option<&Issuer>,
    partition: &str,
) -> Result<Guard> {
    let mut problems = Vec::new();
    let mut bad = |key: &str, value: Option<&str>, message: &str, fix: &str| {
        problems.push(ConfigError {
            file: file.to_string(),
            key: format!("guard.{key}"),
            value: value.map(|v| format!("{v:?}")),
            message: message.to_string(),
            fix: Some(fix.to_string()),
        })
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let owner_ids = spec.owner_ids.clone();
    if owner_ids.is_empty() {
        bad(
            "owner_ids",
            None,
            "the guard needs the GitHub owners whose repositories may assume roles",
            "list their numeric IDs: owner_ids = [\"123456\"]  # octo-org (`keyless guard plan` prints the IDs of the owners in this config)",
        );
    }
    for id in &owner_ids {
        if digits(id) && id.starts_with('0') {
            bad(
                "owner_ids",
                Some(id),
                "GitHub writes an owner ID without leading zeros: the token's repository_owner_id would never equal this string",
                "write the ID as GET /repos/OWNER/REPO gives owner.id, e.g. \"2002\"",
            );
        }
        if !digits(id) {
            bad(
                "owner_ids",
                Some(id),
                "a GitHub owner ID is a number (a name can be re-registered by someone else; an ID cannot)",
                "write the owner's numeric ID as a string, e.g. \"123456\" (GET /repos/OWNER/REPO gives owner.id)",
            );
        }
    }
    let enterprise_ids = spec.enterprise_ids.clone();
    for id in &enterprise_ids {
        if !digits(id) {
            bad(
                "enterprise_ids",
                Some(id),
                "a GitHub enterprise ID is a number",
                "write the enterprise's numeric ID as a string (the enterprise_id claim of its tokens)",
            );
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in owner_ids.iter().chain(&enterprise_ids) {
        if !seen.insert(id) {
            bad("owner_ids", Some(id), "listed twice", "list each ID once");
        }
    }
    let mut issuers = Vec::new();
    let urls = match &spec.issuers {
        Some(list) => list.clone(),
        None => {
            let mut v = vec![GITHUB_COM.to_string()];
            if let Some(p) = provider_issuer
                && p.url != GITHUB_COM
            {
                v.push(p.url.clone());
            }
            v
        }
    };
    for url in &urls {
        match Issuer::parse(url) {
            Err(m) => bad(
                "issuers",
                Some(url),
                &m,
                "give a GitHub issuer URL, e.g. https://token.actions.githubusercontent.com",
            ),
            Ok(i) => {
                let keys = supported_claim_keys(partition, &i.kind, &[]);
                let needs = if enterprise_ids.is_empty() {
                    vec!["repository_owner_id"]
                } else {
                    vec!["repository_owner_id", "enterprise_id"]
                };
                let missing: Vec<_> = needs
                    .iter()
                    .filter(|k| !keys.iter().any(|x| x == *k))
                    .collect();
                if !missing.is_empty() {
                    let why = match i.kind {
                        IssuerKind::Ghes { .. } => "AWS's data passes no GitHub claim but aud and sub to IAM for GitHub Enterprise Server issuers".to_string(),
                        _ => format!("AWS's data does not list {} for this issuer in partition {partition}", missing.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" and ")),
                    };
                    bad(
                        "issuers",
                        Some(url),
                        &format!("the guard cannot judge this issuer's tokens: {why}"),
                        "leave it out (roles trusting it are not covered; audit reports them)",
                    );
                } else if !issuers.iter().any(|x: &Issuer| x.url == i.url) {
                    issuers.push(i);
                }
            }
        }
    }
    if spec.issuers.as_ref().is_some_and(Vec::is_empty) {
        bad(
            "issuers",
            None,
            "an empty issuers list guards nothing: the policy would hold no statement",
            "leave issuers out (github.com and [provider]'s issuer), or list the issuers to guard",
        );
    }
    let targets = spec.targets.clone();
    let mut seen_targets = std::collections::BTreeSet::new();
    for t in &targets {
        if !seen_targets.insert(t) {
            bad("targets", Some(t), "listed twice", "list each target once");
        }
    }
    if targets.is_empty() {
        bad(
            "targets",
            None,
            "the guard needs somewhere to attach: the root, organizational units or accounts",
            "start small, e.g. targets = [\"111111111111\"] (a test account), then an OU, then the root r-ab12",
        );
    }
    for t in &targets {
        if target_kind(t).is_none() {
            bad(
                "targets",
                Some(t),
                "not a root, organizational unit or account ID",
                "use r-ab12, ou-ab12-cd34ef56 or a 12-digit account ID",
            );
        }
    }
    let name = spec.name.as_deref().unwrap_or(DEFAULT_NAME).to_string();
    let name_ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !name_ok {
        bad(
            "name",
            Some(&name),
            "an Organizations policy name is 1 to 128 letters, digits and + = , . @ _ -",
            "e.g. name = \"keyless-github-guard\"",
        );
    }
    if !problems.is_empty() {
        return Err(Error::Config(problems));
    }
    Ok(Guard {
        name,
        owner_ids,
        enterprise_ids,
        issuers,
        targets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(text: &str) -> Guard {
        read(text, "k.toml", None, "aws").unwrap().unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        match read(text, "k.toml", None, "aws") {
            Err(Error::Config(e)) => e.iter().map(|e| e.to_string()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_guard_reads_with_defaults() {
        let g = read_ok(
            "[guard]\nowner_ids = [\"123456\"]\ntargets = [\"ou-ab12-cd34ef56\", \"r-ab12\", \"111111111111\"]\n",
        );
        assert_eq!(g.name, DEFAULT_NAME);
        assert_eq!(g.issuers.len(), 1);
        assert_eq!(g.issuers[0].url, GITHUB_COM);
        assert_eq!(target_kind("r-ab12"), Some(TargetKind::Root));
        assert_eq!(target_kind("111111111111"), Some(TargetKind::Account));
        assert!(
            read("name = \"x\"\n", "k.toml", None, "aws")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn every_problem_is_named() {
        let e = errors(
            "[guard]\nowner_ids = [\"octo-org\"]\ntargets = [\"prod\"]\nissuers = [\"https://github.example.com/_services/token\"]\n",
        );
        let all = e.join("\n");
        for needle in [
            "guard.owner_ids: a GitHub owner ID is a number",
            "guard.targets: not a root",
            "guard.issuers: the guard cannot judge this issuer's tokens",
        ] {
            assert!(all.contains(needle), "{needle}\n{all}");
        }
        assert!(errors("[guard]\ntargets = [\"r-ab12\"]\n")[0].contains("owner_ids"));
    }

    #[test]
    fn enterprise_ids_need_an_issuer_that_passes_enterprise_id() {
        let g = read_ok(
            "[guard]\nowner_ids = [\"1\"]\nenterprise_ids = [\"77\"]\ntargets = [\"r-ab12\"]\nissuers = [\"https://token.actions.githubusercontent.com\", \"https://token.actions.githubusercontent.com/octo-inc\"]\n",
        );
        assert_eq!(g.issuers.len(), 2);
        assert_eq!(g.enterprise_ids, vec!["77"]);
    }
}
