//! The plan: desired state compared with actual state, as plain data. No I/O.
//!
//! [`plan`] turns a [`Rendered`] config and an [`Observed`] account into an ordered list of
//! [`Change`]s that converge the account; [`destroy`] lists what removing the config's roles
//! takes. Documents are compared by meaning ([`policy::same`]), never as text. Updates are always
//! in place: a role is never deleted and recreated. Ownership is enforced here: a role or policy
//! that exists without `managed-by = keyless` is refused unless the role says `adopt = true`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::config::{CONFIG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::error::{Error, Result};
use crate::policy::document as policy;
use crate::state::observed::{Observed, ObservedPolicy, Owner, owned};
use crate::state::render::{Rendered, RoleDocuments};

/// One write keyless will make.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// CreateOpenIDConnectProvider (no thumbprint: AWS validates GitHub's TLS chain itself).
    CreateProvider {
        /// Issuer URL.
        url: String,
        /// Audiences.
        client_ids: Vec<String>,
        /// Tags (managed-by).
        tags: BTreeMap<String, String>,
    },
    /// AddClientIDToOpenIDConnectProvider.
    AddClientId {
        /// Provider ARN.
        provider_arn: String,
        /// The audience to add.
        client_id: String,
    },
    /// CreateRole.
    CreateRole {
        /// Name.
        role: String,
        /// Path.
        path: String,
        /// Description.
        description: Option<String>,
        /// Max session seconds.
        max_session_duration: i64,
        /// Boundary.
        permissions_boundary: Option<String>,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Trust policy.
        trust_policy: Value,
    },
    /// UpdateAssumeRolePolicy.
    UpdateTrust {
        /// Role.
        role: String,
        /// Live document.
        before: Value,
        /// Desired document.
        after: Value,
    },
    /// UpdateRole (description and max session duration).
    UpdateRole {
        /// Role.
        role: String,
        /// Live (description, max session).
        before: (Option<String>, i64),
        /// Desired.
        after: (Option<String>, i64),
    },
    /// PutRolePermissionsBoundary.
    PutBoundary {
        /// Role.
        role: String,
        /// Live boundary.
        before: Option<String>,
        /// Desired boundary.
        after: String,
    },
    /// DeleteRolePermissionsBoundary.
    DeleteBoundary {
        /// Role.
        role: String,
        /// Live boundary.
        before: String,
    },
    /// TagRole.
    TagRole {
        /// Role.
        role: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// UntagRole.
    UntagRole {
        /// Role.
        role: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
    /// CreatePolicy.
    CreatePolicy {
        /// Policy name.
        name: String,
        /// Path.
        path: String,
        /// ARN it will have.
        arn: String,
        /// Document.
        document: Value,
        /// Description, which names the config (IAM never lets it change).
        description: Option<String>,
        /// Tags (managed-by).
        tags: BTreeMap<String, String>,
    },
    /// TagPolicy (adopting a policy keyless did not create).
    TagPolicy {
        /// ARN.
        arn: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// CreatePolicyVersion as default, after deleting the oldest non-default version when IAM's
    /// limit of five is reached.
    CreatePolicyVersion {
        /// ARN.
        arn: String,
        /// Version to delete first.
        delete_version: Option<String>,
        /// Live document.
        before: Value,
        /// Desired document.
        after: Value,
    },
    /// AttachRolePolicy.
    AttachPolicy {
        /// Role.
        role: String,
        /// Policy ARN.
        arn: String,
    },
    /// PutRolePolicy.
    PutInlinePolicy {
        /// Role.
        role: String,
        /// Inline policy name.
        name: String,
        /// Live document, if any.
        before: Option<Value>,
        /// Desired document.
        after: Value,
    },
    /// DetachRolePolicy.
    DetachPolicy {
        /// Role.
        role: String,
        /// Policy ARN.
        arn: String,
    },
    /// DeleteRolePolicy.
    DeleteInlinePolicy {
        /// Role.
        role: String,
        /// Inline policy name.
        name: String,
        /// Live document.
        before: Value,
    },
    /// DeletePolicyVersion for each non-default version, then DeletePolicy.
    DeletePolicy {
        /// ARN.
        arn: String,
        /// Non-default versions to delete first.
        versions: Vec<String>,
        /// Live document.
        before: Value,
    },
    /// DeleteRole (after its policies are detached and deleted).
    DeleteRole {
        /// Role.
        role: String,
    },
    /// DeleteOpenIDConnectProvider.
    DeleteProvider {
        /// ARN.
        provider_arn: String,
    },
}

/// Create, update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `-`
    Delete,
}

impl Change {
    /// What this change writes and what must exist (or stay) while it runs, as resource keys:
    /// `provider`, `role:R`, `role:R:trust`, `role:R:props`, `policy:P`, `policy:P:tags`,
    /// `policy:P:versions`, `attach:R:P`, `inline:R:N`. [`waves`] orders two changes when one
    /// writes what the other reads or writes.
    pub fn footprint(&self) -> (Vec<String>, Vec<String>) {
        use Change::*;
        let role = |r: &str| format!("role:{r}");
        let policy = |p: &str| format!("policy:{p}");
        match self {
            CreateProvider { .. } | AddClientId { .. } | DeleteProvider { .. } => {
                (vec!["provider".into()], vec![])
            }
            // A trust names the provider: roles are made after it and deleted before it.
            CreateRole { role: r, .. } | DeleteRole { role: r } => {
                (vec![role(r)], vec!["provider".into()])
            }
            UpdateTrust { role: r, .. } => (
                vec![format!("role:{r}:trust")],
                vec![role(r), "provider".into()],
            ),
            UpdateRole { role: r, .. }
            | PutBoundary { role: r, .. }
            | DeleteBoundary { role: r, .. }
            | TagRole { role: r, .. }
            | UntagRole { role: r, .. } => (vec![format!("role:{r}:props")], vec![role(r)]),
            CreatePolicy { arn, .. } | DeletePolicy { arn, .. } => (vec![policy(arn)], vec![]),
            TagPolicy { arn, .. } => (vec![format!("policy:{arn}:tags")], vec![policy(arn)]),
            CreatePolicyVersion { arn, .. } => {
                (vec![format!("policy:{arn}:versions")], vec![policy(arn)])
            }
            AttachPolicy { role: r, arn } | DetachPolicy { role: r, arn } => (
                vec![format!("attach:{r}:{arn}")],
                vec![role(r), policy(arn)],
            ),
            PutInlinePolicy { role: r, name, .. } | DeleteInlinePolicy { role: r, name, .. } => {
                (vec![format!("inline:{r}:{name}")], vec![role(r)])
            }
        }
    }

    /// The role this change is made to (attachments and inline policies count for their role).
    pub fn role(&self) -> Option<&str> {
        use Change::*;
        match self {
            CreateRole { role, .. }
            | UpdateTrust { role, .. }
            | UpdateRole { role, .. }
            | PutBoundary { role, .. }
            | DeleteBoundary { role, .. }
            | TagRole { role, .. }
            | UntagRole { role, .. }
            | AttachPolicy { role, .. }
            | PutInlinePolicy { role, .. }
            | DetachPolicy { role, .. }
            | DeleteInlinePolicy { role, .. }
            | DeleteRole { role } => Some(role),
            _ => None,
        }
    }

    /// Whether it adds, changes or removes something.
    pub fn action(&self) -> Action {
        use Change::*;
        match self {
            CreateProvider { .. }
            | CreateRole { .. }
            | CreatePolicy { .. }
            | AttachPolicy { .. } => Action::Create,
            PutInlinePolicy { before: None, .. } => Action::Create,
            DetachPolicy { .. }
            | DeleteInlinePolicy { .. }
            | DeletePolicy { .. }
            | DeleteRole { .. }
            | DeleteProvider { .. } => Action::Delete,
            _ => Action::Update,
        }
    }

    /// A short address of the resource, e.g. `role gha-site trust policy`.
    pub fn address(&self) -> String {
        use Change::*;
        match self {
            CreateProvider { url, .. } => format!("provider {url}"),
            AddClientId {
                provider_arn,
                client_id,
            } => format!(
                "provider {} client ID {client_id}",
                provider_short(provider_arn)
            ),
            CreateRole { role, .. } => format!("role {role}"),
            UpdateTrust { role, .. } => format!("role {role} trust policy"),
            UpdateRole { role, .. } => format!("role {role} settings"),
            PutBoundary { role, .. } | DeleteBoundary { role, .. } => {
                format!("role {role} permissions boundary")
            }
            TagRole { role, .. } | UntagRole { role, .. } => format!("role {role} tags"),
            CreatePolicy { arn, .. } | TagPolicy { arn, .. } | DeletePolicy { arn, .. } => {
                format!("policy {}", policy_short(arn))
            }
            CreatePolicyVersion { arn, .. } => format!("policy {} document", policy_short(arn)),
            AttachPolicy { role, arn } => format!("role {role} attachment {}", policy_short(arn)),
            DetachPolicy { role, arn } => format!("role {role} attachment {}", policy_short(arn)),
            PutInlinePolicy { role, name, .. } | DeleteInlinePolicy { role, name, .. } => {
                format!("role {role} inline policy {name}")
            }
            DeleteRole { role } => format!("role {role}"),
            DeleteProvider { provider_arn } => format!("provider {}", provider_short(provider_arn)),
        }
    }

    /// The IAM API this change calls (its main one).
    pub fn api(&self) -> &'static str {
        use Change::*;
        match self {
            CreateProvider { .. } => "CreateOpenIDConnectProvider",
            AddClientId { .. } => "AddClientIDToOpenIDConnectProvider",
            CreateRole { .. } => "CreateRole",
            UpdateTrust { .. } => "UpdateAssumeRolePolicy",
            UpdateRole { .. } => "UpdateRole",
            PutBoundary { .. } => "PutRolePermissionsBoundary",
            DeleteBoundary { .. } => "DeleteRolePermissionsBoundary",
            TagRole { .. } => "TagRole",
            UntagRole { .. } => "UntagRole",
            CreatePolicy { .. } => "CreatePolicy",
            TagPolicy { .. } => "TagPolicy",
            CreatePolicyVersion { .. } => "CreatePolicyVersion",
            AttachPolicy { .. } => "AttachRolePolicy",
            PutInlinePolicy { .. } => "PutRolePolicy",
            DetachPolicy { .. } => "DetachRolePolicy",
            DeleteInlinePolicy { .. } => "DeleteRolePolicy",
            DeletePolicy { .. } => "DeletePolicy",
            DeleteRole { .. } => "DeleteRole",
            DeleteProvider { .. } => "DeleteOpenIDConnectProvider",
        }
    }

    /// A one-line description of what changes, for changes that are not documents.
    pub fn detail(&self) -> Option<String> {
        use Change::*;
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        match self {
            CreateProvider { client_ids, .. } => {
                Some(format!("client IDs: {}", client_ids.join(", ")))
            }
            CreateRole {
                path,
                max_session_duration,
                tags,
                ..
            } => Some(format!(
                "path {path}, max session {max_session_duration}s, tags {}",
                tags.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            UpdateRole { before, after, .. } => {
                let mut parts = Vec::new();
                if before.0 != after.0 {
                    parts.push(format!(
                        "description: {} -> {}",
                        opt(&before.0),
                        opt(&after.0)
                    ));
                }
                if before.1 != after.1 {
                    parts.push(format!("max_session_duration: {} -> {}", before.1, after.1));
                }
                Some(parts.join("; "))
            }
            PutBoundary { before, after, .. } => Some(format!("{} -> {after}", opt(before))),
            DeleteBoundary { before, .. } => Some(format!("{before} -> (none)")),
            TagRole { tags, .. } | TagPolicy { tags, .. } => Some(format!(
                "set {}",
                tags.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            UntagRole { keys, .. } => Some(format!("remove {}", keys.join(", "))),
            CreatePolicyVersion {
                delete_version: Some(v),
                ..
            } => Some(format!(
                "new default version; deletes old version {v} first (IAM keeps at most 5)"
            )),
            _ => None,
        }
    }

    /// Before and after documents, for changes that edit one.
    pub fn documents(&self) -> Option<(Option<&Value>, Option<&Value>)> {
        use Change::*;
        match self {
            UpdateTrust { before, after, .. } | CreatePolicyVersion { before, after, .. } => {
                Some((Some(before), Some(after)))
            }
            PutInlinePolicy { before, after, .. } => Some((before.as_ref(), Some(after))),
            DeleteInlinePolicy { before, .. } | DeletePolicy { before, .. } => {
                Some((Some(before), None))
            }
            CreatePolicy { document, .. } => Some((None, Some(document))),
            CreateRole { trust_policy, .. } => Some((None, Some(trust_policy))),
            _ => None,
        }
    }
}

fn policy_short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn provider_short(arn: &str) -> &str {
    arn.split_once("oidc-provider/")
        .map(|(_, p)| p)
        .unwrap_or(arn)
}

/// An ordered list of changes, plus notes about what was deliberately left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Changes, in the order they must run.
    pub changes: Vec<Change>,
    /// Things left alone on purpose (a shared provider, a policy attached elsewhere).
    pub notes: Vec<String>,
}

/// Counts of a plan, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Additions.
    pub create: usize,
    /// Changes.
    pub update: usize,
    /// Removals.
    pub delete: usize,
}

impl Plan {
    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts by action.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }
}

/// The plan's changes as waves of indices: every change in a wave can run at the same time as
/// the others in it, and runs after every earlier change it depends on (one writes what the
/// other reads or writes, by [`Change::footprint`]); the plan's order is kept between any two
/// dependent changes. For a first apply: the provider and the policies, then the roles, then
/// attachments and inline policies.
pub fn waves(changes: &[Change]) -> Vec<Vec<usize>> {
    let prints: Vec<_> = changes.iter().map(Change::footprint).collect();
    let mut level = vec![0usize; changes.len()];
    for b in 0..changes.len() {
        let (bw, br) = &prints[b];
        for a in 0..b {
            let (aw, ar) = &prints[a];
            let depends = aw.iter().any(|k| bw.contains(k) || br.contains(k))
                || ar.iter().any(|k| bw.contains(k));
            if depends {
                level[b] = level[b].max(level[a] + 1);
            }
        }
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); level.iter().max().map_or(0, |m| m + 1)];
    for (i, l) in level.into_iter().enumerate() {
        out[l].push(i);
    }
    out
}

/// The tags of the shared provider: keyless's, but no config's (every config uses it).
pub(crate) fn keyless_tags() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_KEY.to_string(), MANAGED_BY_VALUE.to_string())])
}

/// The tags of what one config owns: keyless's and the config's name.
/// Roles that carry this config's tag but are no longer in it (removed from keyless.toml), read
/// in full, and the policies attached to them.
#[derive(Debug, Clone, Default)]
pub struct Removed {
    /// Each removed role as IAM holds it.
    pub roles: Vec<crate::state::observed::ObservedRole>,
    /// The managed policies attached to them, by ARN (`None`: gone).
    pub policies: BTreeMap<String, Option<ObservedPolicy>>,
}

/// Add the removal of roles taken out of the config to `plan` (Terraform's way: what the config
/// no longer names, and owns, goes): each role's policies detached, its inline policies and the
/// role deleted, and a managed policy of this config deleted once nothing else holds it and the
/// config does not want it any more. With `keep_removed_roles`, a note instead.
pub fn remove_roles(desired: &Rendered, observed: &Observed, removed: &Removed, plan: &mut Plan) {
    if removed.roles.is_empty() {
        return;
    }
    if desired.keep_removed_roles {
        for r in &removed.roles {
            plan.notes.push(format!(
                "role {} carries config `{}`'s tag but is no longer in it; kept (keep_removed_roles = true)",
                r.name, desired.config
            ));
        }
        return;
    }
    // Before a provider deletion (destroy): roles go before the provider they trust.
    let at = plan
        .changes
        .iter()
        .position(|c| matches!(c, Change::DeleteProvider { .. }))
        .unwrap_or(plan.changes.len());
    let tail = plan.changes.split_off(at);
    let mut detached: BTreeMap<String, i32> = BTreeMap::new();
    for r in &removed.roles {
        if !Owner::of(&r.tags).is_mine(&desired.config) {
            continue;
        }
        for arn in &r.attached_policies {
            plan.changes.push(Change::DetachPolicy {
                role: r.name.clone(),
                arn: arn.clone(),
            });
            *detached.entry(arn.clone()).or_default() += 1;
        }
        for (name, doc) in &r.inline_policies {
            plan.changes.push(Change::DeleteInlinePolicy {
                role: r.name.clone(),
                name: name.clone(),
                before: doc.clone(),
            });
        }
        plan.changes.push(Change::DeleteRole {
            role: r.name.clone(),
        });
        plan.notes.push(format!(
            "role {} is no longer in the config: deleted (set keep_removed_roles = true to keep such roles)",
            r.name
        ));
    }
    for (arn, p) in &removed.policies {
        let Some(p) = p else { continue };
        if !p.owner().is_mine(&desired.config) || observed.policies.contains_key(arn) {
            continue;
        }
        if p.attachment_count - detached.get(arn).copied().unwrap_or(0) > 0 {
            continue;
        }
        plan.changes.push(Change::DeletePolicy {
            arn: arn.clone(),
            versions: non_default(p),
            before: p.document.clone(),
        });
    }
    plan.changes.extend(tail);
}

/// What a create found already there, read back after IAM answered `EntityAlreadyExists`.
#[derive(Debug, Clone, Copy)]
pub enum Existing<'a> {
    /// The role as it is now.
    Role(&'a crate::state::observed::ObservedRole),
    /// The policy as it is now.
    Policy(&'a ObservedPolicy),
    /// The provider (shared by every config for its issuer in the account).
    Provider,
    /// Gone again by the time it was read.
    Gone,
}

/// Whether an entity a create found already there is the one the change would have made: this
/// config's (its tag, or a policy's description, names the config) with the planned document.
/// An "already exists" answer is never success by itself: another config's role, a role whose
/// trust another run changed, or a policy with another document is refused, naming the owner,
/// and the apply stops before anything is attached to it. A provider is shared by design.
pub fn confirm_existing(change: &Change, found: Existing<'_>) -> std::result::Result<(), String> {
    match (change, found) {
        (Change::CreateProvider { .. }, Existing::Provider) => Ok(()),
        (
            Change::CreateRole {
                role,
                tags,
                trust_policy,
                ..
            },
            Existing::Role(live),
        ) => {
            let mine = tags.get(CONFIG_KEY).map(String::as_str).unwrap_or_default();
            let owner = Owner::of(&live.tags);
            if !owner.is_mine(mine) {
                return Err(format!(
                    "role {role} appeared since the plan was made and belongs to {}; config `{mine}` does not touch it (another run applied it, or it was made by hand: use another role name, or apply one config at a time)",
                    owner.describe()
                ));
            }
            if !policy::same(&live.trust_policy, trust_policy) {
                return Err(format!(
                    "role {role} exists with a trust policy other than the one planned for config `{mine}`: another run changed it while this one applied"
                ));
            }
            Ok(())
        }
        (
            Change::CreatePolicy {
                arn,
                tags,
                document,
                ..
            },
            Existing::Policy(live),
        ) => {
            let mine = tags.get(CONFIG_KEY).map(String::as_str).unwrap_or_default();
            let owner = live.owner();
            if !owner.is_mine(mine) {
                return Err(format!(
                    "policy {arn} appeared since the plan was made and belongs to {}; config `{mine}` does not touch it (use another policy_name, or apply one config at a time)",
                    owner.describe()
                ));
            }
            if !policy::same(&live.document, document) {
                return Err(format!(
                    "policy {arn} exists with a document other than the one planned for config `{mine}`: another run changed it while this one applied"
                ));
            }
            Ok(())
        }
        (_, Existing::Gone) => Err(format!(
            "{} was reported as existing, then could not be read: another run is changing the account",
            change.address()
        )),
        _ => Err(format!(
            "{} already exists and is not what this change makes",
            change.address()
        )),
    }
}

/// The roles among `trusts` (name, trust policy) whose trust names `provider_arn`: a provider
/// they trust must not be deleted.
pub fn roles_trusting(provider_arn: &str, trusts: &[(String, Value)]) -> Vec<String> {
    trusts
        .iter()
        .filter(|(_, t)| t.to_string().contains(&format!("\"{provider_arn}\"")))
        .map(|(n, _)| n.clone())
        .collect()
}

pub(crate) fn config_tags(config: &str) -> BTreeMap<String, String> {
    let mut t = keyless_tags();
    t.insert(CONFIG_KEY.to_string(), config.to_string());
    t
}

/// The refusal for a role or policy another config owns.
fn other_config(what: &str, name: &str, owner: &str, mine: &str, role: &str) -> String {
    format!(
        "{what} {name} belongs to keyless config `{owner}`; config `{mine}` will not modify it.\n  fix: choose another role name, or, if this config should take it over, add `adopt = true` to [[role]] {role} (config `{owner}` will then refuse it)"
    )
}

/// The ARN of a keyless-owned (preset) managed policy of a role.
pub fn preset_policy_arn(desired: &Rendered, role: &RoleDocuments, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:policy{}{name}",
        desired.target.partition, desired.target.account_id, role.path
    )
}

fn not_owned(what: &str, name: &str, role: &str) -> String {
    format!(
        "{what} {name} exists but is not managed by keyless (no tag managed-by = keyless); keyless will not modify it.\n  fix: if this role should be managed by keyless, add `adopt = true` to [[role]] {role} in the config, or choose another name"
    )
}

/// Plan the changes that make the account match the desired state.
pub fn plan(desired: &Rendered, observed: &Observed) -> Result<Plan> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    match &observed.provider {
        None => changes.push(Change::CreateProvider {
            url: desired.issuer.clone(),
            client_ids: desired.audiences.clone(),
            tags: keyless_tags(),
        }),
        Some(p) => {
            for aud in &desired.audiences {
                if !p.client_ids.contains(aud) {
                    changes.push(Change::AddClientId {
                        provider_arn: p.arn.clone(),
                        client_id: aud.clone(),
                    });
                }
            }
            let extra: Vec<&String> = p
                .client_ids
                .iter()
                .filter(|c| !desired.audiences.contains(c))
                .collect();
            if !extra.is_empty() {
                notes.push(format!("provider {} also accepts {}; keyless never removes client IDs from the shared provider", p.url, extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            if !owned(&p.tags) {
                notes.push(format!(
                    "provider {} was not created by keyless; it is adopted as is and never deleted",
                    p.url
                ));
            }
        }
    }
    for role in &desired.roles {
        let live = observed.roles.get(&role.name).and_then(Option::as_ref);
        let mut desired_tags = role.tags.clone();
        desired_tags.insert(MANAGED_BY_KEY.into(), MANAGED_BY_VALUE.into());
        let Some(o) = live else {
            changes.push(Change::CreateRole {
                role: role.name.clone(),
                path: role.path.clone(),
                description: role.description.clone(),
                max_session_duration: role.max_session_duration,
                permissions_boundary: role.permissions_boundary.clone(),
                tags: desired_tags,
                trust_policy: role.trust_policy.clone(),
            });
            policy_changes(
                desired,
                role,
                None,
                observed,
                &mut changes,
                &mut notes,
                &mut refused,
            );
            continue;
        };
        match Owner::of(&o.tags) {
            Owner::NotKeyless if !role.adopt => {
                refused.push(not_owned("role", &role.name, &role.name));
                continue;
            }
            Owner::Config(other) if other != desired.config && !role.adopt => {
                refused.push(other_config(
                    "role",
                    &role.name,
                    &other,
                    &desired.config,
                    &role.name,
                ));
                continue;
            }
            Owner::Config(other) if other != desired.config => notes.push(format!(
                "role {} belongs to keyless config `{other}`; adopt = true hands it to config `{}`",
                role.name, desired.config
            )),
            Owner::Legacy => notes.push(format!(
                "role {} was created by an earlier keyless that did not name its config; config `{}` claims it (tag {CONFIG_KEY})",
                role.name, desired.config
            )),
            _ => {}
        }
        if o.path != role.path {
            refused.push(format!(
                "role {} exists with path {} but the config says {}; IAM cannot move a role.\n  fix: set path = \"{}\" in the config (or delete the role and apply again)",
                role.name, o.path, role.path, o.path
            ));
            continue;
        }
        if !policy::same(&o.trust_policy, &role.trust_policy) {
            changes.push(Change::UpdateTrust {
                role: role.name.clone(),
                before: o.trust_policy.clone(),
                after: role.trust_policy.clone(),
            });
        }
        let desc_live = o.description.clone().filter(|d| !d.is_empty());
        if desc_live != role.description || o.max_session_duration != role.max_session_duration {
            changes.push(Change::UpdateRole {
                role: role.name.clone(),
                before: (desc_live, o.max_session_duration),
                after: (role.description.clone(), role.max_session_duration),
            });
        }
        match (&o.permissions_boundary, &role.permissions_boundary) {
            (before, Some(after)) if before.as_ref() != Some(after) => {
                changes.push(Change::PutBoundary {
                    role: role.name.clone(),
                    before: before.clone(),
                    after: after.clone(),
                })
            }
            (Some(before), None) => changes.push(Change::DeleteBoundary {
                role: role.name.clone(),
                before: before.clone(),
            }),
            _ => {}
        }
        let to_set: BTreeMap<String, String> = desired_tags
            .iter()
            .filter(|(k, v)| o.tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !to_set.is_empty() {
            changes.push(Change::TagRole {
                role: role.name.clone(),
                tags: to_set,
            });
        }
        policy_changes(
            desired,
            role,
            Some(o),
            observed,
            &mut changes,
            &mut notes,
            &mut refused,
        );
        let to_remove: Vec<String> = o
            .tags
            .keys()
            .filter(|k| !desired_tags.contains_key(*k))
            .cloned()
            .collect();
        if !to_remove.is_empty() {
            changes.push(Change::UntagRole {
                role: role.name.clone(),
                keys: to_remove,
            });
        }
    }
    if !refused.is_empty() {
        return Err(Error::Refused(refused));
    }
    Ok(Plan { changes, notes })
}

#[allow(clippy::too_many_arguments)]
fn policy_changes(
    desired: &Rendered,
    role: &RoleDocuments,
    live: Option<&crate::state::observed::ObservedRole>,
    observed: &Observed,
    changes: &mut Vec<Change>,
    notes: &mut Vec<String>,
    refused: &mut Vec<String>,
) {
    let attached: BTreeSet<&str> = live
        .map(|o| o.attached_policies.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for p in role.policies.iter().filter(|p| p.attach == "managed") {
        let arn = preset_policy_arn(desired, role, &p.name);
        wanted.insert(arn.clone());
        match observed.policies.get(&arn).and_then(Option::as_ref) {
            None => changes.push(Change::CreatePolicy {
                name: p.name.clone(),
                path: role.path.clone(),
                arn: arn.clone(),
                document: p.document.clone(),
                description: Some(crate::state::observed::policy_description(&desired.config)),
                tags: config_tags(&desired.config),
            }),
            Some(lp) => {
                let owner = lp.owner();
                if !owner.is_mine(&desired.config) {
                    if !role.adopt {
                        refused.push(match owner {
                            Owner::Config(other) => {
                                other_config("policy", &p.name, &other, &desired.config, &role.name)
                            }
                            _ => not_owned("policy", &p.name, &role.name),
                        });
                        continue;
                    }
                    changes.push(Change::TagPolicy {
                        arn: arn.clone(),
                        tags: config_tags(&desired.config),
                    });
                } else if owner == Owner::Legacy {
                    notes.push(format!(
                        "policy {} was created by an earlier keyless that did not name its config; config `{}` claims it",
                        p.name, desired.config
                    ));
                    changes.push(Change::TagPolicy {
                        arn: arn.clone(),
                        tags: config_tags(&desired.config),
                    });
                }
                if !policy::same(&lp.document, &p.document) {
                    changes.push(Change::CreatePolicyVersion {
                        arn: arn.clone(),
                        delete_version: version_to_drop(lp),
                        before: lp.document.clone(),
                        after: p.document.clone(),
                    });
                }
            }
        }
        if !attached.contains(arn.as_str()) {
            changes.push(Change::AttachPolicy {
                role: role.name.clone(),
                arn,
            });
        }
    }
    for arn in &role.managed_policy_arns {
        wanted.insert(arn.clone());
        if !attached.contains(arn.as_str()) {
            changes.push(Change::AttachPolicy {
                role: role.name.clone(),
                arn: arn.clone(),
            });
        }
    }
    for p in role.policies.iter().filter(|p| p.attach == "inline") {
        let before = live.and_then(|o| o.inline_policies.get(&p.name));
        if before.is_none_or(|b| !policy::same(b, &p.document)) {
            changes.push(Change::PutInlinePolicy {
                role: role.name.clone(),
                name: p.name.clone(),
                before: before.cloned(),
                after: p.document.clone(),
            });
        }
    }
    let Some(o) = live else { return };
    for arn in &o.attached_policies {
        if wanted.contains(arn) {
            continue;
        }
        changes.push(Change::DetachPolicy {
            role: role.name.clone(),
            arn: arn.clone(),
        });
        match observed.policies.get(arn).and_then(Option::as_ref) {
            Some(lp) if !lp.owner().is_mine(&desired.config) && lp.is_keyless() => {
                notes.push(format!(
                    "policy {} belongs to another keyless config; detached from {} but kept",
                    policy_short(arn),
                    role.name
                ))
            }
            Some(lp) if lp.is_keyless() && lp.attachment_count <= 1 => {
                changes.push(Change::DeletePolicy {
                    arn: arn.clone(),
                    versions: non_default(lp),
                    before: lp.document.clone(),
                })
            }
            Some(lp) if lp.is_keyless() => notes.push(format!(
                "policy {} is still attached elsewhere; detached from {} but kept",
                policy_short(arn),
                role.name
            )),
            _ => {}
        }
    }
    let inline_wanted: BTreeSet<&str> = role
        .policies
        .iter()
        .filter(|p| p.attach == "inline")
        .map(|p| p.name.as_str())
        .collect();
    for (name, doc) in &o.inline_policies {
        if !inline_wanted.contains(name.as_str()) {
            changes.push(Change::DeleteInlinePolicy {
                role: role.name.clone(),
                name: name.clone(),
                before: doc.clone(),
            });
        }
    }
}

fn version_to_drop(p: &ObservedPolicy) -> Option<String> {
    if p.versions.len() >= 5 {
        p.versions
            .iter()
            .find(|(_, default)| !default)
            .map(|(v, _)| v.clone())
    } else {
        None
    }
}

fn non_default(p: &ObservedPolicy) -> Vec<String> {
    p.versions
        .iter()
        .filter(|(_, d)| !d)
        .map(|(v, _)| v.clone())
        .collect()
}

/// Plan removing the config's roles and keyless-owned policies. The provider is removed only when
/// keyless created it and no role outside the config still trusts it (`other_trusts`: every other
/// role's name and trust policy in the account).
pub fn destroy(
    desired: &Rendered,
    observed: &Observed,
    other_trusts: &[(String, Value)],
) -> Result<Plan> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    let mut ours_detached: BTreeMap<String, i32> = BTreeMap::new();
    for role in &desired.roles {
        let Some(o) = observed.roles.get(&role.name).and_then(Option::as_ref) else {
            notes.push(format!("role {} does not exist", role.name));
            continue;
        };
        match Owner::of(&o.tags) {
            Owner::NotKeyless if !role.adopt => {
                refused.push(format!("role {} is not managed by keyless; destroy will not delete it.\n  fix: delete it yourself, or add `adopt = true` to its [[role]] if keyless should own it", role.name));
                continue;
            }
            Owner::Config(other) if other != desired.config && !role.adopt => {
                refused.push(format!("role {} belongs to keyless config `{other}`; config `{}` will not delete it.\n  fix: destroy it from config `{other}`, or remove it from this config", role.name, desired.config));
                continue;
            }
            _ => {}
        }
        for arn in &o.attached_policies {
            changes.push(Change::DetachPolicy {
                role: role.name.clone(),
                arn: arn.clone(),
            });
            *ours_detached.entry(arn.clone()).or_default() += 1;
        }
        for (name, doc) in &o.inline_policies {
            changes.push(Change::DeleteInlinePolicy {
                role: role.name.clone(),
                name: name.clone(),
                before: doc.clone(),
            });
        }
        changes.push(Change::DeleteRole {
            role: role.name.clone(),
        });
    }
    for (arn, p) in &observed.policies {
        let Some(p) = p else { continue };
        if !p.owner().is_mine(&desired.config) {
            if p.is_keyless() {
                notes.push(format!(
                    "policy {} belongs to another keyless config; kept",
                    policy_short(arn)
                ));
            }
            continue;
        }
        let remaining = p.attachment_count - ours_detached.get(arn).copied().unwrap_or(0);
        if remaining > 0 {
            notes.push(format!(
                "policy {} is attached to {remaining} other entities; kept",
                policy_short(arn)
            ));
            continue;
        }
        changes.push(Change::DeletePolicy {
            arn: arn.clone(),
            versions: non_default(p),
            before: p.document.clone(),
        });
    }
    if let Some(p) = &observed.provider {
        let users: Vec<&str> = other_trusts
            .iter()
            .filter(|(_, trust)| {
                policy::statements(trust).iter().any(|s| {
                    policy::strings(s.get("Principal").and_then(|p| p.get("Federated")))
                        .contains(&p.arn.as_str())
                })
            })
            .map(|(n, _)| n.as_str())
            .collect();
        if !owned(&p.tags) {
            notes.push(format!(
                "provider {} was not created by keyless; kept",
                p.url
            ));
        } else if !users.is_empty() {
            notes.push(format!(
                "provider {} is still trusted by {}; kept",
                p.url,
                users.join(", ")
            ));
        } else {
            changes.push(Change::DeleteProvider {
                provider_arn: p.arn.clone(),
            });
        }
    }
    if !refused.is_empty() {
        return Err(Error::Refused(refused));
    }
    Ok(Plan { changes, notes })
}

/// A unified diff of two documents in canonical form (so key and list order never show up).
pub fn document_diff(before: Option<&Value>, after: Option<&Value>) -> String {
    let text = |v: Option<&Value>| {
        v.map(|v| format!("{}\n", policy::pretty(&policy::canonical(v))))
            .unwrap_or_default()
    };
    let (a, b) = (text(before), text(after));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("live", "desired")
        .to_string()
}

#[cfg(test)]
mod existing_tests {
    use super::*;
    use crate::state::observed::ObservedRole;
    use serde_json::json;

    fn trust(repo: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:sub": format!("repo:{repo}:ref:refs/heads/main")}}}]})
    }

    fn create(config: &str, repo: &str) -> Change {
        Change::CreateRole {
            role: "gha-shared".into(),
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: config_tags(config),
            trust_policy: trust(repo),
        }
    }

    fn live(config: Option<&str>, repo: &str) -> ObservedRole {
        ObservedRole {
            name: "gha-shared".into(),
            arn: "arn:aws:iam::123456789012:role/gha-shared".into(),
            role_id: "AROA1".into(),
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: config.map(config_tags).unwrap_or_default(),
            trust_policy: trust(repo),
            inline_policies: BTreeMap::new(),
            attached_policies: vec![],
        }
    }

    #[test]
    fn an_existing_role_counts_only_when_it_is_this_configs_with_the_planned_trust() {
        let c = create("team-x1", "octo-org/x1");
        // The same write, its answer lost and retried: done.
        assert_eq!(
            confirm_existing(&c, Existing::Role(&live(Some("team-x1"), "octo-org/x1"))),
            Ok(())
        );
        // Another config's role of the same name: refused, naming it.
        let e = confirm_existing(&c, Existing::Role(&live(Some("team-x2"), "evil-org/x2")))
            .unwrap_err();
        assert!(e.contains("keyless config `team-x2`"), "{e}");
        // Not keyless's at all.
        let e = confirm_existing(&c, Existing::Role(&live(None, "octo-org/x1"))).unwrap_err();
        assert!(e.contains("something other than keyless"), "{e}");
        // This config's name on it, but another trust: another run changed it.
        let e = confirm_existing(&c, Existing::Role(&live(Some("team-x1"), "evil-org/x2")))
            .unwrap_err();
        assert!(e.contains("trust policy other than"), "{e}");
        // Gone by the time it was read.
        assert!(confirm_existing(&c, Existing::Gone).is_err());
        // The provider is shared by design.
        let p = Change::CreateProvider {
            url: "https://token.actions.githubusercontent.com".into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            tags: config_tags("team-x1"),
        };
        assert_eq!(confirm_existing(&p, Existing::Provider), Ok(()));
    }

    #[test]
    fn a_provider_is_trusted_by_the_roles_that_name_its_arn() {
        let arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
        let trusts = vec![
            ("a".to_string(), trust("octo-org/a")),
            (
                "ec2".to_string(),
                json!({"Statement": [{"Principal": {"Service": "ec2.amazonaws.com"}}]}),
            ),
            (
                "other".to_string(),
                json!({"Statement": [{"Principal": {"Federated": format!("{arn}/x")}}]}),
            ),
        ];
        assert_eq!(roles_trusting(arn, &trusts), vec!["a".to_string()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fixtures::{applied, rendered};
    use serde_json::json;

    const CFG: &str = "[[role]]\nname = \"site\"\ntags = { team = \"web\" }\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.preset]]\nname = \"s3-deploy\"\nparams = { bucket = \"my-bucket\" }\n";

    fn apis(p: &Plan) -> Vec<&'static str> {
        p.changes.iter().map(Change::api).collect()
    }

    #[test]
    fn a_role_another_config_owns_is_refused_naming_it_and_nothing_is_planned() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        let role = o.roles.get_mut("site").unwrap().as_mut().unwrap();
        role.tags.insert(CONFIG_KEY.into(), "other-org-site".into());
        let Err(Error::Refused(msgs)) = plan(&r, &o) else {
            panic!("expected a refusal")
        };
        assert!(
            msgs[0].contains("`other-org-site`") && msgs[0].contains(&format!("`{}`", r.config)),
            "{}",
            msgs[0]
        );
        let Err(Error::Refused(msgs)) = destroy(&r, &o, &[]) else {
            panic!("destroy refuses too")
        };
        assert!(msgs[0].contains("other-org-site"));
        // Taking it over is explicit.
        let adopted =
            rendered(&CFG.replace("name = \"site\"\n", "name = \"site\"\nadopt = true\n"));
        let p = plan(&adopted, &o).unwrap();
        assert!(p.changes.iter().any(|c| matches!(c, Change::TagRole { tags, .. } if tags.get(CONFIG_KEY) == Some(&adopted.config))));
    }

    #[test]
    fn a_policy_whose_description_names_another_config_is_refused_whatever_its_tags() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        for p in o.policies.values_mut().flatten() {
            p.marked = Some("other".into());
        }
        let Err(Error::Refused(msgs)) = plan(&r, &o) else {
            panic!("expected a refusal")
        };
        assert!(msgs[0].contains("`other`"), "{}", msgs[0]);
        // Its own mark, and no tags at all (CloudFormation cannot tag a managed policy): in sync.
        for p in o.policies.values_mut().flatten() {
            p.marked = Some(r.config.clone());
            p.tags.clear();
        }
        assert!(plan(&r, &o).unwrap().is_empty());
    }

    #[test]
    fn a_policy_another_config_owns_is_refused() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        for p in o.policies.values_mut().flatten() {
            p.tags.insert(CONFIG_KEY.into(), "other".into());
        }
        let Err(Error::Refused(msgs)) = plan(&r, &o) else {
            panic!("expected a refusal")
        };
        assert!(
            msgs[0].starts_with("policy") && msgs[0].contains("`other`"),
            "{}",
            msgs[0]
        );
    }

    #[test]
    fn an_earlier_keylesss_role_is_claimed_and_the_plan_says_so() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        let role = o.roles.get_mut("site").unwrap().as_mut().unwrap();
        role.tags.remove(CONFIG_KEY);
        for p in o.policies.values_mut().flatten() {
            p.tags.remove(CONFIG_KEY);
        }
        let p = plan(&r, &o).unwrap();
        assert_eq!(apis(&p), vec!["TagRole", "TagPolicy"]);
        assert!(
            p.notes.iter().any(|n| n.contains("claims it")),
            "{:?}",
            p.notes
        );
        // The default identity comes from the first repository.
        assert_eq!(r.config, "o-r");
    }

    #[test]
    fn fresh_account_creates_everything_in_order() {
        let r = rendered(CFG);
        let mut empty = Observed::default();
        empty.roles.insert("site".into(), None);
        let p = plan(&r, &empty).unwrap();
        assert_eq!(
            apis(&p),
            vec![
                "CreateOpenIDConnectProvider",
                "CreateRole",
                "CreatePolicy",
                "AttachRolePolicy"
            ]
        );
        assert_eq!(
            p.summary(),
            Summary {
                create: 4,
                update: 0,
                delete: 0
            }
        );
    }

    #[test]
    fn converged_account_plans_nothing_even_with_reordered_documents() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        // IAM may return a document with other key order and one-element lists.
        let role = o.roles.get_mut("site").unwrap().as_mut().unwrap();
        let st = role.trust_policy["Statement"][0].clone();
        role.trust_policy = json!({"Statement": [st], "Version": "2012-10-17"});
        assert!(plan(&r, &o).unwrap().is_empty());
    }

    #[test]
    fn changes_are_updates_in_place() {
        let before = rendered(CFG);
        let o = applied(&before);
        let after = rendered(
            &CFG.replace("branch = \"main\"", "branch = \"release\"")
                .replace("my-bucket", "other-bucket")
                .replace("team = \"web\"", "team = \"platform\"")
                .replace(
                    "name = \"site\"\n",
                    "name = \"site\"\nmax_session_duration = 7200\n",
                ),
        );
        let p = plan(&after, &o).unwrap();
        assert_eq!(
            apis(&p),
            vec![
                "UpdateAssumeRolePolicy",
                "UpdateRole",
                "TagRole",
                "CreatePolicyVersion"
            ]
        );
        assert!(
            p.changes
                .iter()
                .all(|c| !matches!(c, Change::DeleteRole { .. } | Change::CreateRole { .. }))
        );
        let diff = document_diff(
            p.changes[0].documents().unwrap().0,
            p.changes[0].documents().unwrap().1,
        );
        assert!(
            diff.contains("-") && diff.contains("refs/heads/release"),
            "{diff}"
        );
    }

    #[test]
    fn boundary_is_put_changed_and_removed_in_place() {
        let plain = rendered(CFG);
        let with = rendered(&CFG.replace("name = \"site\"\n", "name = \"site\"\npermissions_boundary = \"arn:aws:iam::123456789012:policy/boundary\"\n"));
        assert_eq!(
            apis(&plan(&with, &applied(&plain)).unwrap()),
            vec!["PutRolePermissionsBoundary"]
        );
        assert_eq!(
            apis(&plan(&plain, &applied(&with)).unwrap()),
            vec!["DeleteRolePermissionsBoundary"]
        );
        assert!(plan(&with, &applied(&with)).unwrap().is_empty());
    }

    #[test]
    fn fifth_version_drops_the_oldest_non_default() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        let arn = preset_policy_arn(&r, &r.roles[0], "site-s3-deploy");
        let lp = o.policies.get_mut(&arn).unwrap().as_mut().unwrap();
        lp.versions = vec![
            ("v1".into(), false),
            ("v2".into(), false),
            ("v3".into(), false),
            ("v4".into(), false),
            ("v5".into(), true),
        ];
        lp.document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        let p = plan(&r, &o).unwrap();
        assert!(
            matches!(&p.changes[0], Change::CreatePolicyVersion { delete_version: Some(v), .. } if v == "v1")
        );
    }

    #[test]
    fn removed_preset_is_detached_and_deleted_and_extra_inline_removed() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        o.roles
            .get_mut("site")
            .unwrap()
            .as_mut()
            .unwrap()
            .inline_policies
            .insert("hand-made".into(), json!({}));
        let without = rendered(&CFG[..CFG.find("[[role.preset]]").unwrap()]);
        let p = plan(&without, &o).unwrap();
        assert_eq!(
            apis(&p),
            vec!["DetachRolePolicy", "DeletePolicy", "DeleteRolePolicy"]
        );
    }

    #[test]
    fn shared_provider_gains_our_audience_and_keeps_its_own() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        let pr = o.provider.as_mut().unwrap();
        pr.client_ids = vec!["https://github.com/o".into()];
        pr.tags.clear();
        let p = plan(&r, &o).unwrap();
        assert_eq!(
            p.changes,
            vec![Change::AddClientId {
                provider_arn: r.provider_arn.clone(),
                client_id: "sts.amazonaws.com".into()
            }]
        );
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("never removes client IDs"))
        );
    }

    #[test]
    fn unowned_role_is_refused_until_adopted() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        o.roles
            .get_mut("site")
            .unwrap()
            .as_mut()
            .unwrap()
            .tags
            .clear();
        let Err(Error::Refused(msgs)) = plan(&r, &o) else {
            panic!("expected a refusal")
        };
        assert!(msgs[0].contains("adopt = true"));
        let adopted =
            rendered(&CFG.replace("name = \"site\"\n", "name = \"site\"\nadopt = true\n"));
        let p = plan(&adopted, &o).unwrap();
        assert!(
            matches!(&p.changes[0], Change::TagRole { tags, .. } if tags.get("managed-by").map(String::as_str) == Some("keyless"))
        );
    }

    #[test]
    fn destroy_keeps_a_provider_others_trust_or_that_keyless_did_not_create() {
        let r = rendered(CFG);
        let o = applied(&r);
        let p = destroy(&r, &o, &[]).unwrap();
        assert_eq!(
            apis(&p),
            vec![
                "DetachRolePolicy",
                "DeleteRole",
                "DeletePolicy",
                "DeleteOpenIDConnectProvider"
            ]
        );
        let other = vec![("someone-else".to_string(), r.roles[0].trust_policy.clone())];
        let p = destroy(&r, &o, &other).unwrap();
        assert!(!apis(&p).contains(&"DeleteOpenIDConnectProvider"));
        assert!(p.notes.iter().any(|n| n.contains("someone-else")));
        let mut shared = o.clone();
        shared.provider.as_mut().unwrap().tags.clear();
        assert!(
            !apis(&destroy(&r, &shared, &[]).unwrap()).contains(&"DeleteOpenIDConnectProvider")
        );
    }

    /// The waves' API names, for reading a schedule at a glance.
    fn schedule(p: &Plan) -> Vec<Vec<&'static str>> {
        waves(&p.changes)
            .iter()
            .map(|w| w.iter().map(|&i| p.changes[i].api()).collect())
            .collect()
    }

    #[test]
    fn a_first_apply_makes_provider_and_policy_together_then_the_role_then_attachments() {
        let r = rendered(CFG);
        let mut empty = Observed::default();
        empty.roles.insert("site".into(), None);
        let p = plan(&r, &empty).unwrap();
        assert_eq!(
            schedule(&p),
            vec![
                vec!["CreateOpenIDConnectProvider", "CreatePolicy"],
                vec!["CreateRole"],
                vec!["AttachRolePolicy"],
            ]
        );
        // Two roles: both roles in one wave, both attachments in the next.
        let two = rendered(&format!(
            "{CFG}{}",
            CFG.replace("\"site\"", "\"api\"")
                .replace("my-bucket", "api-bucket")
        ));
        let mut empty = Observed::default();
        empty.roles.insert("site".into(), None);
        empty.roles.insert("api".into(), None);
        let p = plan(&two, &empty).unwrap();
        let s = schedule(&p);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s[1], vec!["CreateRole", "CreateRole"]);
        assert_eq!(s[2], vec!["AttachRolePolicy", "AttachRolePolicy"]);
    }

    #[test]
    fn destroy_detaches_before_deleting_and_drops_the_provider_last() {
        let r = rendered(CFG);
        let p = destroy(&r, &applied(&r), &[]).unwrap();
        assert_eq!(
            schedule(&p),
            vec![
                vec!["DetachRolePolicy"],
                vec!["DeleteRole", "DeletePolicy"],
                vec!["DeleteOpenIDConnectProvider"],
            ]
        );
    }
}
