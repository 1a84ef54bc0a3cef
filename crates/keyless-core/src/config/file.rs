//! `keyless.toml` as written: the serde shape, unknown keys refused. Validation turns it into
//! [`super::Config`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::identity::subject::SubjectFormat;

/// The file as written (serde shape). Unknown keys are errors.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Schema version; only 1 exists.
    pub version: Option<u32>,
    /// This config's identity: tagged (`keyless:config`) on everything it creates. Default: the
    /// first repository as `owner-repo` (else the first role's name).
    pub name: Option<String>,
    /// Pin the account; a mismatch with the caller stops everything.
    pub account_id: Option<String>,
    /// The partition (default: from the caller identity, else from `region`).
    pub partition: Option<String>,
    /// Keep roles removed from the config (they carry its tag) instead of deleting them.
    #[serde(default)]
    pub keep_removed_roles: bool,
    /// Region for the workflow snippet and regional preset ARNs.
    pub region: Option<String>,
    /// A directory of templates that override or extend the built-in ones.
    pub templates_dir: Option<String>,
    /// The OIDC provider.
    #[serde(default)]
    pub provider: ProviderFile,
    /// Lint settings.
    #[serde(default)]
    pub lint: LintFile,
    /// Settings for the workflows keyless emits.
    #[serde(default)]
    pub workflow: WorkflowFile,
    /// Target accounts (read by [`crate::config::accounts::read`]; each account's config is this one
    /// with the account's values substituted).
    #[serde(default)]
    pub accounts: Option<toml::Table>,
    /// The organisation guard (read by [`crate::config::guard::read`]).
    #[serde(default)]
    pub guard: Option<toml::Table>,
    /// Roles.
    #[serde(default)]
    pub role: Vec<RoleFile>,
}

/// `[workflow]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFile {
    /// The runner label emitted workflows use (`runs-on`); default `ubuntu-latest`, or
    /// `self-hosted` for GitHub Enterprise Server, which has no GitHub-hosted runners.
    pub runs_on: Option<String>,
    /// `owner/repo` of a mirror of keyless's releases and action (default: keyless's home).
    pub keyless_home: Option<String>,
    /// The commit of the keyless action to pin (default: the commit this keyless was built from).
    pub keyless_commit: Option<String>,
}

/// `[provider]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    /// Full issuer URL.
    pub issuer: Option<String>,
    /// github.com enterprise unique issuer slug.
    pub enterprise_slug: Option<String>,
    /// GHE.com subdomain.
    pub ghe_com: Option<String>,
    /// With `ghe_com`: the unique-issuer path is on.
    #[serde(default)]
    pub unique_issuer: bool,
    /// GHES host name.
    pub ghes_host: Option<String>,
    /// Accepted audiences (client IDs); default by partition.
    pub audiences: Option<Vec<String>>,
}

/// `[lint]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LintFile {
    /// Claim keys to treat as supported in addition to the shipped table.
    #[serde(default)]
    pub claim_keys: Vec<String>,
    /// Trust policy size quota (non-whitespace characters); default 2048.
    pub trust_policy_size_quota: Option<usize>,
}

/// `[[role]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFile {
    /// Role name.
    pub name: String,
    /// IAM path, default `/`.
    pub path: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Seconds, 3600–43200; default 3600.
    pub max_session_duration: Option<i64>,
    /// Permissions boundary policy ARN.
    pub permissions_boundary: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The repository variable that carries the role's ARN (default: `AWS_ROLE_ARN`, or
    /// `AWS_ROLE_ARN_<ROLE>` when roles of this config share a repository).
    pub variable: Option<String>,
    /// Take over an existing role that keyless did not create.
    #[serde(default)]
    pub adopt: bool,
    /// Trust subjects; any one admits.
    #[serde(default)]
    pub subject: Vec<SubjectFile>,
    /// A trust policy file used as is instead of the one rendered from the subjects (what
    /// `keyless import` writes for a hand-made trust keyless would not render); still linted.
    pub trust_policy: Option<String>,
    /// Permission presets.
    #[serde(default)]
    pub preset: Vec<PresetFile>,
    /// AWS- or customer-managed policy ARNs to attach.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policies from files.
    #[serde(default)]
    pub inline_policy: Vec<InlinePolicyFile>,
    /// Blocking lint rules allowed for this role, by name, with a reason.
    #[serde(default)]
    pub allow: Vec<AllowFile>,
}

/// A numeric ID written as a string or an integer.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum IdFile {
    /// `"123"`
    Str(String),
    /// `123`
    Int(i64),
}

impl IdFile {
    pub(super) fn text(&self) -> String {
        match self {
            IdFile::Str(s) => s.clone(),
            IdFile::Int(i) => i.to_string(),
        }
    }
}

/// `[[role.subject]]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SubjectFile {
    /// `owner/repo` (or `owner/*` for org-wide trust, which lint blocks unless allowed).
    pub repo: Option<String>,
    /// Branch name or pattern.
    pub branch: Option<String>,
    /// Tag name or pattern.
    pub tag: Option<String>,
    /// Environment name.
    pub environment: Option<String>,
    /// `pull_request` jobs.
    pub pull_request: Option<bool>,
    /// Every job of the repository (explicit opt-in).
    pub any_ref: Option<bool>,
    /// Owner ID for the immutable form.
    pub owner_id: Option<IdFile>,
    /// Repository ID for the immutable form.
    pub repo_id: Option<IdFile>,
    /// `classic`, `immutable` or `both`.
    pub format: Option<SubjectFormat>,
    /// Extra claim conditions.
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
    /// A raw `sub` for a custom sub template.
    pub custom: Option<String>,
}

/// `[[role.preset]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetFile {
    /// Preset name (see `keyless presets`).
    pub name: String,
    /// Managed policy name; default `<role>-<preset>`.
    pub policy_name: Option<String>,
    /// Parameters.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

/// `[[role.inline_policy]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlinePolicyFile {
    /// Inline policy name.
    pub name: String,
    /// JSON file, relative to the config file's directory.
    pub file: String,
}

/// `[[role.allow]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowFile {
    /// Rule ID, e.g. `KL004`.
    pub rule: String,
    /// Why this role needs it (required).
    pub reason: String,
}
