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
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// How many roles, users and groups it is attached to.
    pub attachment_count: i32,
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

    /// May the config named `config` modify it (its own, or an older keyless's to claim)?
    pub fn is_mine(&self, config: &str) -> bool {
        match self {
            Owner::Config(c) => c == config,
            Owner::Legacy => true,
            Owner::NotKeyless => false,
        }
    }
}
