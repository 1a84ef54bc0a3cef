//! `keyless.toml`: the desired state, parsed and validated before anything else happens.
//!
//! [`load`] reads the file, rejects unknown keys and wrong types, then checks every value against
//! GitHub's and IAM's rules and collects *all* problems, each naming the file, the key, the value
//! and the fix. The result is a typed [`Config`] whose roles hold [`TrustSubject`]s ready for
//! rendering. This module reads the config and the policy files it names; it never renders
//! templates, lints policies or talks to AWS.
//!
//! The three validators: the file as a whole (here), each role (`role`), each subject
//! (`subject`); [`file`] is the file as written (serde shape).
//!
//! Beside it: [`shape`] (keys and TOML types, checked before deserializing), [`accounts`]
//! (`[accounts]` and per-account substitution), [`setup`] (`keyless init`'s answers and the
//! config they produce) and [`variables`] (the GitHub variable each role's ARN is set in).

pub mod accounts;
pub mod file;
pub mod guard;
mod role;
pub mod setup;
pub mod shape;
mod subject;
pub mod variables;

pub use file::{
    AllowFile, ConfigFile, IdFile, InlinePolicyFile, LintFile, PresetFile, ProviderFile, RoleFile,
    SubjectFile, WorkflowFile,
};
use role::validate_role;
use subject::validate_subject;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Error, Result};
use crate::identity::issuer::Issuer;
use crate::identity::names;
use crate::identity::subject::{Repo, Scope, SubjectFormat, SubjectSpec, TrustSubject};
use crate::policy::lint::Allow;

/// The tag keyless puts on everything it creates.
pub const MANAGED_BY_KEY: &str = "managed-by";
/// Its value.
pub const MANAGED_BY_VALUE: &str = "keyless";
/// The tag naming the config that owns a role or policy (its `name`). Ownership is per config:
/// one config never modifies what another config's tag names.
pub const CONFIG_KEY: &str = "keyless:config";

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from (as given).
    pub file: String,
    /// This config's identity (`name`, or its default); the `keyless:config` tag value.
    pub name: String,
    /// Whether `name` was written in the file (else it was derived).
    pub name_given: bool,
    /// Its directory, for relative paths.
    pub dir: PathBuf,
    /// Pinned account.
    pub account_id: Option<String>,
    /// Pinned partition.
    pub partition: Option<String>,
    /// Keep roles removed from the config instead of deleting them (`keep_removed_roles`).
    pub keep_removed_roles: bool,
    /// Region.
    pub region: Option<String>,
    /// Template override directory, resolved.
    pub templates_dir: Option<PathBuf>,
    /// The issuer.
    pub issuer: Issuer,
    /// Audiences, if given (else the partition default).
    pub audiences: Option<Vec<String>>,
    /// Extra supported claim keys.
    pub extra_claim_keys: Vec<String>,
    /// Trust policy size quota.
    pub trust_policy_size_quota: usize,
    /// `[workflow] runs_on`, if given.
    pub runs_on: Option<String>,
    /// `[workflow] keyless_home`, if given.
    pub keyless_home: Option<String>,
    /// `[workflow] keyless_commit`, if given.
    pub keyless_commit: Option<String>,
    /// Roles.
    pub roles: Vec<Role>,
    /// `[accounts]`, checked, when the config was loaded from its file (a per-account view
    /// parsed from substituted text carries none: it is one account's).
    pub accounts: Option<accounts::Accounts>,
    /// `[guard]` as written; checked for the caller's partition by [`Config::guard`].
    pub guard: Option<guard::GuardSpec>,
}

impl Config {
    /// The organisation guard, checked for `partition`: an error naming the file when the
    /// config has no `[guard]`.
    pub fn guard(&self, partition: &str) -> Result<guard::Guard> {
        let spec = self.guard.as_ref().ok_or_else(|| Error::NotInConfig {
            message: format!("{} has no [guard] table", self.file),
            fix: "add one: [guard] owner_ids = [\"123456\"] targets = [\"111111111111\"] (see README, Guard the organisation)".into(),
        })?;
        spec.check(&self.file, Some(&self.issuer), partition)
    }
}

/// A config file as read, once per run: its text (capped at [`MAX_CONFIG_BYTES`]) and its
/// `[accounts]`, checked. Every later step (the config as each account sees it, the guard, an
/// in-place edit) starts from this, never from a second read of the file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given.
    pub path: PathBuf,
    /// The text.
    pub text: String,
    /// `[accounts]`, if the file has one.
    pub accounts: Option<accounts::Accounts>,
}

impl Source {
    /// Read `path` (a missing file is a config error that says how to make one).
    pub fn read(path: &Path) -> Result<Source> {
        let text = read_capped(path, MAX_CONFIG_BYTES).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::Config(vec![ConfigError {
                    file: path.display().to_string(),
                    key: "(file)".into(),
                    value: None,
                    message: "no such file".into(),
                    fix: Some(
                        "create one with `keyless init`, copy one from examples/, or pass -c PATH"
                            .into(),
                    ),
                }])
            } else {
                Error::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let accounts = accounts::read(&text, &path.display().to_string())?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
            accounts,
        })
    }

    /// The file as written (for messages).
    pub fn file(&self) -> String {
        self.path.display().to_string()
    }

    /// The file's directory: policy files and templates are relative to it.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The config as `account` sees it (the first of `[accounts]` when `None`; a config without
    /// `[accounts]` is the same for every account), with every problem found.
    pub fn load_partial(&self, account: Option<&str>) -> Result<(Config, Vec<ConfigError>)> {
        let file = self.file();
        let text = match &self.accounts {
            Some(a) => {
                let id = account.unwrap_or(&a.ids[0]);
                accounts::for_account(&self.text, &file, a, id)?
            }
            None => self.text.clone(),
        };
        let (mut cfg, problems) = parse_partial(&text, &file, &self.dir())?;
        cfg.accounts = self.accounts.clone();
        Ok((cfg, problems))
    }
}

/// A validated role.
#[derive(Debug, Clone)]
pub struct Role {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Description.
    pub description: Option<String>,
    /// Max session seconds.
    pub max_session_duration: i64,
    /// Boundary ARN.
    pub permissions_boundary: Option<String>,
    /// Tags the user asked for (keyless adds `managed-by = keyless` when it writes).
    pub tags: BTreeMap<String, String>,
    /// Adopt an unowned role.
    pub adopt: bool,
    /// The variable that carries its ARN on GitHub, when the config names one (`variable`).
    pub variable: Option<String>,
    /// Trust subjects.
    pub subjects: Vec<TrustSubject>,
    /// Presets.
    pub presets: Vec<PresetUse>,
    /// Managed policy ARNs.
    pub managed_policies: Vec<String>,
    /// Inline policies.
    pub inline_policies: Vec<InlinePolicy>,
    /// A trust policy used as is (`trust_policy = "file"`), instead of the rendered one.
    pub trust_override: Option<InlinePolicy>,
    /// Allowed blocking rules.
    pub allow: Vec<Allow>,
    /// Key path of this role in the file, e.g. `role[0]`.
    pub key: String,
}

/// A preset applied to a role.
#[derive(Debug, Clone)]
pub struct PresetUse {
    /// Preset name.
    pub name: String,
    /// Managed policy name.
    pub policy_name: String,
    /// Parameters as strings.
    pub params: BTreeMap<String, String>,
    /// Key path, e.g. `role[0].preset[1]`.
    pub key: String,
}

/// An inline policy read from a file.
#[derive(Debug, Clone)]
pub struct InlinePolicy {
    /// Name.
    pub name: String,
    /// The file (as resolved).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Key path.
    pub key: String,
}

/// Collects problems while validating.
struct Problems<'a> {
    file: &'a str,
    list: Vec<ConfigError>,
}

impl Problems<'_> {
    fn add(
        &mut self,
        key: impl Into<String>,
        value: Option<&str>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let fix = fix.into();
        self.list.push(ConfigError {
            file: self.file.to_string(),
            key: key.into(),
            value: value.map(|v| {
                // Quote the value, but keep errors readable when a value is huge.
                let n = v.chars().count();
                if n > 120 {
                    let head: String = v.chars().take(100).collect();
                    format!(
                        "{}… ({n} characters)",
                        serde_json::to_string(&head).unwrap_or_default()
                    )
                } else {
                    serde_json::to_string(v).unwrap_or_default()
                }
            }),
            message: message.into(),
            fix: (!fix.is_empty()).then_some(fix),
        });
    }

    fn check(&mut self, key: impl Into<String>, value: &str, r: names::Check, fix: &str) {
        if let Err(msg) = r {
            self.add(key, Some(value), msg, fix);
        }
    }
}

/// Read and validate a config file.
pub fn load(path: &Path) -> Result<Config> {
    let (cfg, problems) = load_partial(path)?;
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(Error::Config(problems))
    }
}

/// Read a config file and validate it, returning the config as far as it is valid together with
/// every problem found, so that a caller can add the problems of later stages (preset
/// parameters) and report them all at once. `Err` when the file cannot be read, is not TOML, or
/// holds keys of the wrong type (those are all reported together).
pub fn load_partial(path: &Path) -> Result<(Config, Vec<ConfigError>)> {
    load_partial_as(path, None)
}

/// [`load_partial`], for a config with `[accounts]` as `account` sees it (the first account
/// when `None`); a config without `[accounts]` is the same for every account.
pub fn load_partial_as(path: &Path, account: Option<&str>) -> Result<(Config, Vec<ConfigError>)> {
    Source::read(path)?.load_partial(account)
}

/// The largest config file keyless reads (its policy files are capped at 64 KiB each).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Read `path` as UTF-8, refusing more than `limit` bytes (a link to `/dev/zero` or a huge file
/// is an error, not an unbounded read).
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes, the most keyless reads here"),
        ));
    }
    Ok(text)
}

/// `rel` (a path written in the config) inside the config's directory `dir`: relative, with no
/// `..`, and still inside once every symlink is resolved. Returns the path as written (joined to
/// `dir`) and the real one, or the problem and its fix.
pub(crate) fn inside(
    dir: &Path,
    rel: &str,
    what: &str,
) -> std::result::Result<(PathBuf, PathBuf), (String, &'static str)> {
    let r = Path::new(rel);
    if r.is_absolute()
        || r.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err((
            format!(
                "{what} must be inside the config file's directory (no absolute paths or `..`)"
            ),
            "move it next to keyless.toml and give a relative path",
        ));
    }
    // A config named without a directory lives in the current one.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let path = dir.join(r);
    let base = dir.canonicalize().map_err(|e| {
        (
            format!("cannot resolve the config file's directory: {e}"),
            "run keyless where the config's directory can be read",
        )
    })?;
    let real = path.canonicalize().map_err(|e| {
        (
            format!("cannot open: {e}"),
            "check the path; it is relative to the config file",
        )
    })?;
    if !real.starts_with(&base) {
        return Err((
            "the path leads outside the config directory (through a symlink)".into(),
            "copy it into the config directory",
        ));
    }
    Ok((path, real))
}

/// Parse and validate config text; `file` names it in errors and `dir` anchors relative paths.
pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Config> {
    let (cfg, problems) = parse_partial(text, file, dir)?;
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(Error::Config(problems))
    }
}

/// [`parse`], returning the validation problems beside the config instead of failing on them.
pub fn parse_partial(text: &str, file: &str, dir: &Path) -> Result<(Config, Vec<ConfigError>)> {
    let syntax = |e: toml::de::Error| {
        let key = e
            .span()
            .map(|s| {
                let line = text.get(..s.start).unwrap_or(text).matches('\n').count() + 1;
                format!("line {line}")
            })
            .unwrap_or_else(|| "(document)".into());
        Error::Config(vec![ConfigError {
            file: file.to_string(),
            key,
            value: None,
            message: e.message().to_string(),
            fix: Some(
                "check the key names and types against the config reference in README.md".into(),
            ),
        }])
    };
    // Shape first, on the untyped document: every unknown key, missing key and wrong TOML type
    // at once, named by its key path and the TOML type expected.
    let mut doc: toml::Table = toml::from_str(text).map_err(syntax)?;
    let shape = crate::config::shape::strip(&mut doc, file);
    // What is left (offending keys removed) is still read and validated, so that its problems
    // are reported together with the shape's; a missing required key ends it here.
    let raw: ConfigFile = match serde::Deserialize::deserialize(doc) {
        Ok(raw) => raw,
        Err(e) if shape.is_empty() => return Err(syntax(e)),
        Err(_) => return Err(Error::Config(shape)),
    };
    let (cfg, problems) = validate(raw, file, dir);
    Ok((cfg, shape.into_iter().chain(problems).collect()))
}

fn validate(raw: ConfigFile, file: &str, dir: &Path) -> (Config, Vec<ConfigError>) {
    let mut p = Problems {
        file,
        list: Vec::new(),
    };
    if let Some(v) = raw.version
        && v != 1
    {
        p.add(
            "version",
            Some(&v.to_string()),
            "unsupported config version",
            "set version = 1 or remove the key",
        );
    }
    if let Some(a) = &raw.account_id {
        p.check(
            "account_id",
            a,
            names::account_id(a),
            "write the 12-digit account ID as a string, e.g. account_id = \"123456789012\"",
        );
    }
    if let Some(part) = &raw.partition {
        p.check(
            "partition",
            part,
            names::partition(part),
            "remove the key to derive the partition from your credentials",
        );
    }
    if let Some(r) = &raw.region {
        p.check(
            "region",
            r,
            names::region(r),
            "use a region code such as region = \"us-east-1\"",
        );
    }
    if let (Some(part), Some(r)) = (&raw.partition, &raw.region)
        && names::region(r).is_ok()
        && names::partition_of_region(r) != part
    {
        p.add(
            "region",
            Some(r),
            format!("region is not in partition {part}"),
            "pick a region of that partition, or fix `partition`",
        );
    }

    let issuer = issuer_from(&raw.provider, &mut p);
    if let Some(auds) = &raw.provider.audiences {
        if auds.is_empty() {
            p.add(
                "provider.audiences",
                None,
                "empty audience list",
                "remove the key to use the partition default (sts.amazonaws.com)",
            );
        }
        if auds.len() > 100 {
            p.add(
                "provider.audiences",
                None,
                "more than 100 audiences (IAM's ClientIDList limit)",
                "list only the audiences your workflows request",
            );
        }
        for (i, a) in auds.iter().enumerate() {
            if a.is_empty()
                || a.len() > 255
                || a.contains('*')
                || a.chars().any(char::is_whitespace)
            {
                p.add(
                    format!("provider.audiences[{i}]"),
                    Some(a),
                    "an audience is 1–255 characters with no spaces or wildcards",
                    "use sts.amazonaws.com (sts.amazonaws.com.cn in aws-cn)",
                );
            }
        }
    }
    for (i, k) in raw.lint.claim_keys.iter().enumerate() {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            p.add(
                format!("lint.claim_keys[{i}]"),
                Some(k),
                "a claim key holds only letters, digits and `_`",
                "write the bare claim name, e.g. \"repository_id\"",
            );
        }
    }
    let quota = raw.lint.trust_policy_size_quota.unwrap_or(2048);
    if !(1..=8192).contains(&quota) {
        p.add(
            "lint.trust_policy_size_quota",
            Some(&quota.to_string()),
            "quota out of range 1..=8192",
            "remove the key to use IAM's default 2048",
        );
    }
    if let Some(n) = &raw.name
        && let Err(m) = check_config_name(n)
    {
        p.add(
            "name",
            Some(n),
            m,
            "e.g. name = \"octo-org-site\" (letters, digits, `.`, `_`, `-`; it tags what this config creates)",
        );
    }
    if let Some(r) = &raw.workflow.runs_on
        && (r.trim().is_empty()
            || r.len() > 100
            || r.chars().any(char::is_control)
            || r.contains("${{"))
    {
        p.add(
            "workflow.runs_on",
            Some(r),
            "a runner label is 1–100 printable characters without expressions",
            "e.g. runs_on = \"ubuntu-latest\" (github.com) or \"self-hosted\" (GHES)",
        );
    }
    if let Some(h) = &raw.workflow.keyless_home
        && h.split_once('/').is_none_or(|(o, r)| {
            names::github_owner(o).is_err() || names::github_repo_name(r).is_err()
        })
    {
        p.add(
            "workflow.keyless_home",
            Some(h),
            "the mirror of keyless's releases is a GitHub repository, OWNER/REPO",
            "e.g. keyless_home = \"octo-org/keyless-mirror\"",
        );
    }
    if let Some(c) = &raw.workflow.keyless_commit
        && !crate::release::is_commit(c)
    {
        p.add(
            "workflow.keyless_commit",
            Some(c),
            "the action is pinned by a full 40-character commit SHA, never a tag or branch",
            "copy the commit of the release tag: git rev-list -n1 vX.Y.Z",
        );
    }
    let templates_dir = raw.templates_dir.as_ref().map(|d| {
        let text: &str = d;
        match inside(dir, text, "templates_dir") {
            Err((message, fix)) => {
                p.add("templates_dir", Some(text), &message, fix);
                dir.join(d)
            }
            Ok((path, real)) => {
                if !real.is_dir() {
                    p.add(
                        "templates_dir",
                        Some(text),
                        "not a directory (relative paths start at the config file's directory)",
                        "create the directory or remove the key",
                    );
                }
                path
            }
        }
    });

    // A config of the organisation guard alone has no roles (`keyless guard`).
    if raw.role.is_empty() && raw.guard.is_none() {
        p.add(
            "role",
            None,
            "no roles defined",
            "add a [[role]] table with a name, a [[role.subject]] and permissions (see examples/)",
        );
    }
    let mut roles = Vec::new();
    let mut seen_names: BTreeMap<String, String> = BTreeMap::new();
    for (i, r) in raw.role.into_iter().enumerate() {
        let key = format!("role[{i}]");
        if let Some(prev) = seen_names.insert(r.name.to_ascii_lowercase(), key.clone()) {
            p.add(format!("{key}.name"), Some(&r.name), format!("duplicate role name (IAM role names are case-insensitive; first used at {prev})"), "give each role a distinct name");
        }
        roles.push(validate_role(r, key, dir, &mut p));
    }

    let name_given = raw.name.is_some();
    let name = raw
        .name
        .filter(|n| check_config_name(n).is_ok())
        .unwrap_or_else(|| default_config_name(&roles));
    let cfg = Config {
        file: file.to_string(),
        name,
        name_given,
        dir: dir.to_path_buf(),
        account_id: raw.account_id,
        partition: raw.partition,
        keep_removed_roles: raw.keep_removed_roles,
        region: raw.region,
        templates_dir,
        issuer: issuer.unwrap_or_else(Issuer::github_com),
        audiences: raw.provider.audiences,
        extra_claim_keys: raw.lint.claim_keys,
        trust_policy_size_quota: quota,
        runs_on: raw.workflow.runs_on,
        keyless_home: raw.workflow.keyless_home,
        keyless_commit: raw.workflow.keyless_commit,
        roles,
        accounts: None,
        guard: raw.guard.as_ref().map(guard::GuardSpec::from_table),
    };
    (cfg, p.list)
}

/// A config name: 1–64 of letters, digits, `.`, `_` and `-`, starting with a letter or digit
/// (valid as an IAM tag value everywhere).
pub fn check_config_name(n: &str) -> std::result::Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err("a config name is 1–64 letters, digits, `.`, `_` or `-`, starting with a letter or digit".into())
    }
}

/// `raw` as a config name: lower-case, anything but letters, digits, `.`, `_` and `-` as `-`, at
/// most 64 characters.
pub fn config_slug(raw: &str) -> String {
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(64);
    name
}

/// The identity of a config without `name`: its first repository as `owner-repo`, else its
/// first role's name. Set `name` to keep it stable when the first repository changes.
pub fn default_config_name(roles: &[Role]) -> String {
    let from_repo = roles
        .iter()
        .flat_map(|r| &r.subjects)
        .find_map(|s| match &s.spec {
            SubjectSpec::Repo { repo, .. } if repo.name != "*" => {
                Some(format!("{}-{}", repo.owner, repo.name))
            }
            _ => None,
        });
    let raw = from_repo
        .or_else(|| roles.first().map(|r| r.name.clone()))
        .unwrap_or_else(|| "keyless".into());
    let mut name = config_slug(&raw);
    if check_config_name(&name).is_err() {
        name = format!("k{name}");
        name.truncate(64);
    }
    name
}

fn issuer_from(pf: &ProviderFile, p: &mut Problems) -> Option<Issuer> {
    let given: Vec<&str> = [
        pf.issuer.as_ref().map(|_| "issuer"),
        pf.enterprise_slug.as_ref().map(|_| "enterprise_slug"),
        pf.ghe_com.as_ref().map(|_| "ghe_com"),
        pf.ghes_host.as_ref().map(|_| "ghes_host"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        p.add(
            "provider",
            None,
            format!(
                "set only one of issuer, enterprise_slug, ghe_com, ghes_host (got {})",
                given.join(", ")
            ),
            "keep the one that names your GitHub",
        );
        return None;
    }
    if pf.unique_issuer && pf.ghe_com.is_none() {
        p.add(
            "provider.unique_issuer",
            Some("true"),
            "unique_issuer applies only with ghe_com",
            "for github.com enterprises use enterprise_slug instead",
        );
    }
    let (key, value, result) = if let Some(u) = &pf.issuer {
        ("provider.issuer", u, Issuer::parse(u))
    } else if let Some(s) = &pf.enterprise_slug {
        ("provider.enterprise_slug", s, Issuer::enterprise_slug(s))
    } else if let Some(s) = &pf.ghe_com {
        ("provider.ghe_com", s, Issuer::ghe_com(s, pf.unique_issuer))
    } else if let Some(h) = &pf.ghes_host {
        ("provider.ghes_host", h, Issuer::ghes(h))
    } else {
        return Some(Issuer::github_com());
    };
    match result {
        Ok(i) => Some(i),
        Err(msg) => {
            p.add(key, Some(value), msg, "remove [provider] to use github.com");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<ConfigError> {
        match parse(text, "keyless.toml", Path::new(".")) {
            Err(Error::Config(v)) => v,
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("expected config errors"),
        }
    }

    const MIN: &str =
        "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n";

    #[test]
    fn minimal_config_is_valid_with_defaults() {
        let c = parse(MIN, "k.toml", Path::new(".")).unwrap();
        assert_eq!(c.issuer, Issuer::github_com());
        let r = &c.roles[0];
        assert_eq!((r.path.as_str(), r.max_session_duration), ("/", 3600));
        assert_eq!(
            r.subjects[0].patterns(),
            vec!["repo:o/r:ref:refs/heads/main"]
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path_and_a_guess() {
        let e =
            errs("[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbrnach = \"main\"\n");
        assert!(
            e[0].message.contains("unknown key `brnach`"),
            "{}",
            e[0].message
        );
        assert_eq!(e[0].key, "role[0].subject[0].brnach");
        assert!(
            e[0].fix
                .as_deref()
                .unwrap()
                .contains("did you mean `branch`")
        );
    }

    #[test]
    fn every_problem_is_reported_with_key_value_and_fix() {
        let e = errs(
            r#"account_id = "12345"
region = "useast1"
[[role]]
name = "bad name"
max_session_duration = 60
tags = { "managed-by" = "me" }
[[role.subject]]
repo = "octo--org/repo"
branch = "main"
tag = "v1"
[[role.subject]]
repo = "o/r"
format = "immutable"
pull_request = true
"#,
        );
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "account_id",
            "region",
            "role[0].name",
            "role[0].max_session_duration",
            "role[0].tags.managed-by",
            "role[0].subject[0].repo",
            "role[0].subject[0]",
            "role[0].subject[1].format",
        ] {
            assert!(keys.contains(&want), "missing {want} in {keys:?}");
        }
        for err in &e {
            assert_eq!(err.file, "keyless.toml");
        }
        let name = e.iter().find(|e| e.key == "role[0].name").unwrap();
        assert_eq!(name.value.as_deref(), Some("\"bad name\""));
        assert!(name.fix.is_some());
        assert!(name.to_string().starts_with("keyless.toml: role[0].name: "));
    }

    #[test]
    fn no_scope_or_two_scopes_or_false_flags() {
        let e = errs("[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\n");
        assert!(e[0].message.contains("exactly one scope"));
        let e = errs(
            "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\npull_request = false\n",
        );
        assert!(e.iter().any(|e| e.key.ends_with("pull_request")));
    }

    #[test]
    fn ids_as_integers_or_strings_and_default_format() {
        let c = parse(
            "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\nowner_id = 1\nrepo_id = \"2\"\n",
            "k",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            c.roles[0].subjects[0].patterns(),
            vec!["repo:o@1/r@2:ref:refs/heads/main"]
        );
        let e = errs(
            "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\nowner_id = 1\n",
        );
        assert!(e[0].message.contains("go together"));
    }

    #[test]
    fn provider_kinds_and_conflicts() {
        let c = parse(
            &format!("[provider]\nenterprise_slug = \"octo-inc\"\n{MIN}"),
            "k",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            c.issuer.key_prefix(),
            "token.actions.githubusercontent.com/octo-inc"
        );
        let e = errs(&format!(
            "[provider]\nenterprise_slug = \"x\"\nghes_host = \"gh.example.com\"\n{MIN}"
        ));
        assert_eq!(e[0].key, "provider");
        let e = errs(&format!(
            "[provider]\nissuer = \"https://accounts.google.com\"\n{MIN}"
        ));
        assert_eq!(e[0].key, "provider.issuer");
    }

    #[test]
    fn custom_subject_stands_alone_and_claims_are_checked() {
        let e =
            errs("[[role]]\nname = \"r\"\n[[role.subject]]\ncustom = \"x:y\"\nbranch = \"main\"\n");
        assert!(e[0].message.contains("stands alone"));
        let e = errs(
            "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\nclaims = { sub = \"x\", \"bad-key\" = \"v\", job_workflow_ref = \"*\" }\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
    }

    #[test]
    fn duplicate_role_names_case_insensitive() {
        let e = errs(&format!("{MIN}{}", MIN.replace("\"r\"", "\"R\"")));
        assert!(e.iter().any(|e| e.message.contains("duplicate role name")));
    }

    #[test]
    fn allow_needs_known_rule_and_reason() {
        let e = errs(&format!(
            "{MIN}[[role.allow]]\nrule = \"KL999\"\nreason = \"ok\"\n"
        ));
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn policy_files_stay_inside_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("p.json"), "{}").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("p.json"), dir.path().join("link.json"))
            .unwrap();
        for f in ["../p.json", "/etc/passwd", "link.json", "missing.json"] {
            let text = format!("{MIN}[[role.inline_policy]]\nname = \"x\"\nfile = \"{f}\"\n");
            match parse(&text, "k", dir.path()) {
                Err(Error::Config(e)) => {
                    assert_eq!(e[0].key, "role[0].inline_policy[0].file", "{f}")
                }
                other => panic!("{f}: {other:?}"),
            }
        }
    }

    #[test]
    fn hostile_values_do_not_panic() {
        for text in [
            "role = 5",
            "[[role]]\nname = \"\u{202e}x\"\n",
            "[[role]]\nname = 1",
            &"[".repeat(10_000),
            "\u{0}",
        ] {
            let _ = parse(text, "k", Path::new("."));
        }
    }
}
