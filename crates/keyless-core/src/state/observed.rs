//! Actual state: what IAM holds for the things a config names, as plain data.
//!
//! The `aws` module fills these types; `plan` compares them with the desired state. Documents
//! are already URL-decoded JSON here. Nothing in this module performs I/O.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::{CONFIG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// An IAM OIDC provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedProvider {
    /// Its ARN.
    pub arn: String,
    /// Its URL without `https://`, as IAM returns it.
    pub url: String,
    /// Accepted audiences.
    pub client_ids: Vec<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// An IAM role with everything keyless manages on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedRole {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Stable role ID (changes only when a role is deleted and recreated).
    pub role_id: String,
    /// Path.
    pub path: String,
    /// Description.
    pub description: Option<String>,
    /// Max session seconds.
    pub max_session_duration: i64,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Trust policy (decoded).
    pub trust_policy: Value,
    /// Inline policies by name (decoded).
    pub inline_policies: BTreeMap<String, Value>,
    /// Attached managed policy ARNs.
    pub attached_policies: Vec<String>,
}

/// A customer-managed policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedPolicy {
    /// ARN.
    pub arn: String,
    /// Default version ID.
    pub default_version: String,
    /// Default version's document (decoded).
    pub document: Value,
    /// All version IDs, oldest first, with whether each is the default.
    pub versions: Vec<(String, bool)>,
    /// Tags; empty when [`ObservedPolicy::marked`] says who owns it (they are then not consulted,
    /// and the account-wide read does not fetch them).
    pub tags: BTreeMap<String, String>,
    /// How many roles, users and groups it is attached to.
    pub attachment_count: i32,
    /// The config its description names ([`policy_description`]): set when keyless (or a
    /// template keyless exported) created it.
    pub marked: Option<String>,
}

impl ObservedPolicy {
    /// Who owns it: the config its description names, else what its tags say. A managed
    /// policy's description is fixed when it is created, so the mark outlives any tag edit, and
    /// a policy that CloudFormation created (which cannot tag managed policies) carries it too.
    pub fn owner(&self) -> Owner {
        match &self.marked {
            Some(c) => Owner::Config(c.clone()),
            None => Owner::of(&self.tags),
        }
    }

    /// Is it keyless's (any config's)?
    pub fn is_keyless(&self) -> bool {
        self.owner() != Owner::NotKeyless
    }
}

const POLICY_MARK: &str = "Created by keyless for config ";

/// The description keyless gives every managed policy it creates, naming its config.
pub fn policy_description(config: &str) -> String {
    format!("{POLICY_MARK}{config}")
}

/// The config a policy description names, if keyless wrote it.
pub fn marked_config(description: Option<&str>) -> Option<String> {
    let name = description?.strip_prefix(POLICY_MARK)?;
    crate::config::check_config_name(name)
        .is_ok()
        .then(|| name.to_string())
}

/// Everything read for one plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Observed {
    /// The provider for the config's issuer, if one exists.
    pub provider: Option<ObservedProvider>,
    /// Each configured role by name: `None` when it does not exist.
    pub roles: BTreeMap<String, Option<ObservedRole>>,
    /// Customer-managed policies by ARN (the config's presets, and keyless-owned policies found
    /// attached to configured roles): `None` when it does not exist.
    pub policies: BTreeMap<String, Option<ObservedPolicy>>,
}

/// The trust policy of each role outside the config, by name (for destroy's check that nothing
/// else trusts the provider, and check's look at roles outside the config).
pub type OtherTrusts = Vec<(String, Value)>;

/// The tags of roles outside the config, by name (who owns them).
pub type OtherTags = BTreeMap<String, BTreeMap<String, String>>;

/// What a run wants to know of the account's roles outside the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// Nothing.
    Nothing,
    /// Their trust policies.
    Trusts,
    /// Their trust policies, and the tags of those that trust the config's provider (check:
    /// whose they are). Role by role, each of those costs a GetRole, so they count in
    /// [`choose_read_path`] like configured roles.
    Owners,
}

/// How `plan`, `apply`, `check` and `destroy` read the account (`--reads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reads {
    /// Choose by [`choose_read_path`].
    #[default]
    Auto,
    /// Always role by role.
    PerRole,
    /// Always the whole account.
    Account,
}

/// The read path a run took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadPath {
    /// GetRole, ListRolePolicies, ListAttachedRolePolicies and GetRolePolicy per configured role,
    /// GetPolicy, GetPolicyVersion and ListPolicyVersions per policy: about six requests a role
    /// in two round trips, `concurrency` roles at a time.
    PerRole,
    /// ListRoles and GetAccountAuthorizationDetails (roles and customer-managed policies) in pages
    /// of 1,000, then GetPolicy per existing policy for its tags (the one thing the account-wide
    /// read leaves out that keyless needs: ownership).
    Account,
}

/// With a listing this run already holds (init listed the account to pick names), below this
/// many configured roles `auto` reads the present ones role by role and the absent ones not at
/// all.
pub const ACCOUNT_READ_MIN_ROLES: usize = 5;

/// IAM's largest page for ListRoles and GetAccountAuthorizationDetails.
pub const ACCOUNT_PAGE: usize = 1000;

/// The cost rule for `--reads auto`, given the roles role by role would read (the configured
/// ones, plus the others whose owners a check needs) and, when listed, the account's roles. The
/// measure is round trips first, then requests and bytes.
///
/// Role by role costs three round trips whatever the account's size: the caller's identity
/// (every ARN names the account), then GetRole, the policy lists and GetPolicy, then the
/// documents (GetPolicyVersion needs GetPolicy's default version, GetRolePolicy the inline
/// names), `concurrency` roles at a time, about six requests a role; and the other roles'
/// trusts need the listing beside it. The account read lists the account and reads its details
/// (roles and customer-managed policies) side by side, one page of 1,000 per round trip, every
/// document included: two round trips in all for an account of up to 1,000 roles.
///
/// So before the listing (`None`) `auto` lists with the details alongside; an account of one
/// page is read whole (its details came in the listing's round trip; role by role would add
/// two). A larger account is read role by role when the config names fewer than one in 50 of
/// its roles: the details cost about `2R/1000` large pages one after another, role by role
/// `2C/k` round trips plus the listing, which other roles' trusts need anyway.
pub fn choose_read_path(reads: Reads, one_by_one: usize, account_roles: Option<usize>) -> ReadPath {
    match reads {
        Reads::PerRole => ReadPath::PerRole,
        Reads::Account => ReadPath::Account,
        Reads::Auto => match account_roles {
            Some(r) if r > ACCOUNT_PAGE && one_by_one.saturating_mul(50) < r => ReadPath::PerRole,
            _ => ReadPath::Account,
        },
    }
}

/// The read path a run took, and why (`-v` says both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadChoice {
    /// The path.
    pub path: ReadPath,
    /// Why, in a phrase.
    pub why: String,
}

impl ReadChoice {
    /// The path [`choose_read_path`] picks, with its reason.
    pub fn of(reads: Reads, one_by_one: usize, account_roles: Option<usize>) -> ReadChoice {
        let path = choose_read_path(reads, one_by_one, account_roles);
        let why = match (reads, account_roles) {
            (Reads::PerRole, _) => "--reads per-role".to_string(),
            (Reads::Account, _) => "--reads account".to_string(),
            (Reads::Auto, None) => "not listed yet".to_string(),
            (Reads::Auto, Some(r)) if r <= ACCOUNT_PAGE => format!(
                "the account's {r} role(s) fit one page: its details came in the listing's round trip, where role by role would add two"
            ),
            (Reads::Auto, Some(r)) if path == ReadPath::PerRole => format!(
                "{one_by_one} role(s) to read one by one are fewer than one in 50 of the account's {r}: the account's details would take about {} large pages",
                2 * r.div_ceil(ACCOUNT_PAGE)
            ),
            (Reads::Auto, Some(r)) => format!(
                "{one_by_one} role(s) to read one by one are at least one in 50 of the account's {r}"
            ),
        };
        ReadChoice { path, why }
    }

    /// A path taken for a reason [`ReadChoice::of`] does not cover.
    pub fn because(path: ReadPath, why: impl Into<String>) -> ReadChoice {
        ReadChoice {
            path,
            why: why.into(),
        }
    }
}

/// Sort policy versions oldest first: by creation time, then by the number in `vN` (IAM numbers
/// versions in order; creation times can tie at one-second precision).
pub fn version_order(id: &str, created: Option<(i64, u32)>) -> (Option<(i64, u32)>, u64) {
    let n = id.trim_start_matches('v').parse().unwrap_or(u64::MAX);
    (created, n)
}

/// Does this tag set mark a resource as keyless's?
pub fn owned(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_KEY).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Who owns a resource, read from its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Not keyless's (no `managed-by = keyless`).
    NotKeyless,
    /// keyless's, from a version that did not name the config (no `keyless:config`).
    Legacy,
    /// The keyless config of this name.
    Config(String),
}

impl Owner {
    /// Read the owner from a resource's tags.
    pub fn of(tags: &BTreeMap<String, String>) -> Owner {
        if !owned(tags) {
            return Owner::NotKeyless;
        }
        match tags.get(CONFIG_KEY) {
            Some(c) => Owner::Config(c.clone()),
            None => Owner::Legacy,
        }
    }

    /// Who it belongs to, for messages: `keyless config `name``, an earlier keyless, or
    /// something other than keyless.
    pub fn describe(&self) -> String {
        match self {
            Owner::Config(c) => format!("keyless config `{c}`"),
            Owner::Legacy => "an earlier keyless run that did not name its config".into(),
            Owner::NotKeyless => "something other than keyless".into(),
        }
    }

    /// May the config named `config` modify it (its own, or an older keyless's to claim)?
    pub fn is_mine(&self, config: &str) -> bool {
        match self {
            Owner::Config(c) => c == config,
            Owner::Legacy => true,
            Owner::NotKeyless => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_description_names_its_config_and_wins_over_tags() {
        let d = policy_description("web-prod");
        assert_eq!(marked_config(Some(&d)).as_deref(), Some("web-prod"));
        assert_eq!(marked_config(Some("made by hand")), None);
        assert_eq!(
            marked_config(Some("Created by keyless for config a b")),
            None
        );
        assert_eq!(marked_config(None), None);
        let mut p = ObservedPolicy {
            arn: "arn:aws:iam::1:policy/p".into(),
            default_version: "v1".into(),
            document: Value::Null,
            versions: vec![],
            tags: BTreeMap::new(),
            attachment_count: 1,
            marked: None,
        };
        assert_eq!(p.owner(), Owner::NotKeyless);
        p.marked = marked_config(Some(&d));
        assert_eq!(p.owner(), Owner::Config("web-prod".into()));
        assert!(p.is_keyless());
    }

    #[test]
    fn an_account_of_one_page_is_read_whole() {
        assert_eq!(choose_read_path(Reads::Auto, 1, None), ReadPath::Account);
        assert_eq!(choose_read_path(Reads::Auto, 1, Some(4)), ReadPath::Account);
        assert_eq!(
            choose_read_path(Reads::Auto, 1, Some(1000)),
            ReadPath::Account
        );
        assert_eq!(choose_read_path(Reads::Auto, 0, Some(0)), ReadPath::Account);
    }

    #[test]
    fn a_larger_account_is_read_whole_unless_it_dwarfs_the_config() {
        assert_eq!(
            choose_read_path(Reads::Auto, 1, Some(1001)),
            ReadPath::PerRole
        );
        assert_eq!(
            choose_read_path(Reads::Auto, 40, Some(2000)),
            ReadPath::Account
        );
        assert_eq!(
            choose_read_path(Reads::Auto, 39, Some(2000)),
            ReadPath::PerRole
        );
        assert_eq!(
            choose_read_path(Reads::Auto, 10, Some(50_000)),
            ReadPath::PerRole
        );
        assert_eq!(
            choose_read_path(Reads::Auto, 3334, Some(10_000)),
            ReadPath::Account
        );
    }

    #[test]
    fn the_flag_overrides_the_rule() {
        assert_eq!(choose_read_path(Reads::Account, 1, None), ReadPath::Account);
        assert_eq!(
            choose_read_path(Reads::PerRole, 500, Some(500)),
            ReadPath::PerRole
        );
    }

    #[test]
    fn versions_tied_on_time_sort_by_number() {
        let mut v = [
            ("v10", Some((5, 0))),
            ("v2", Some((5, 0))),
            ("v1", Some((4, 0))),
        ];
        v.sort_by_key(|(id, t)| version_order(id, *t));
        assert_eq!(
            v.iter().map(|x| x.0).collect::<Vec<_>>(),
            ["v1", "v2", "v10"]
        );
    }
}
