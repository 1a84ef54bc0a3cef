//! The organisation guard as plain data: the resource control policy (RCP) a `[guard]` renders,
//! what AWS Organizations holds ([`ObservedGuard`], read by `io::aws`), the plan between them,
//! and the dry run that says, for every GitHub-trusting role in the targets, which owners its
//! trust admits today and which of them the guard would refuse. No I/O.
//!
//! The RCP has one `Deny` statement per issuer, on `sts:AssumeRoleWithWebIdentity` only:
//! `Null: {P:repository_owner_id: false}` (the token comes from that GitHub issuer: without it a
//! negated operator on an absent key would be true and deny every other federation: Cognito,
//! Google, EKS) and `StringNotEquals: {P:repository_owner_id: [owners], P:enterprise_id:
//! [enterprises]}` (keys AND: denied when the owner is not listed *and* the enterprise is not;
//! an absent `enterprise_id` is "not listed").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::guard::Guard;
use crate::policy::document as policy;

/// AWS Organizations' maximum size of an RCP document, in characters (the same as an SCP's).
pub const SIZE_QUOTA: usize = 5120;
/// The most RCPs one root, OU or account can have attached (`RCPFullAWSAccess` included).
pub const MAX_PER_TARGET: usize = 5;
/// The tag that marks the guard keyless owns, with the config's name as value.
pub const CONFIG_TAG: &str = crate::config::CONFIG_KEY;

/// The RCP for a guard.
pub fn render(g: &Guard) -> Value {
    let statements: Vec<Value> = g
        .issuers
        .iter()
        .map(|issuer| {
            let p = issuer.key_prefix();
            let mut not_equals = serde_json::Map::new();
            not_equals.insert(format!("{p}:repository_owner_id"), json!(g.owner_ids));
            if !g.enterprise_ids.is_empty() {
                not_equals.insert(format!("{p}:enterprise_id"), json!(g.enterprise_ids));
            }
            json!({
                "Sid": sid(issuer.key_prefix()),
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Resource": "*",
                "Condition": {
                    "Null": {format!("{p}:repository_owner_id"): "false"},
                    "StringNotEquals": not_equals,
                }
            })
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// `GitHubOwnersTokenActionsGithubusercontentCom`: a Sid from the issuer's key prefix
/// (letters and digits only).
fn sid(prefix: &str) -> String {
    let mut out = String::from("GitHubOwners");
    for part in prefix.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// The document's size as Organizations counts it (keyless sends it compact).
pub fn size(doc: &Value) -> usize {
    policy::wire(doc).chars().count()
}

/// The guard policy Organizations holds under the guard's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedRcp {
    /// Policy ID (`p-...`).
    pub id: String,
    /// Its document.
    pub content: Value,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Where it is attached.
    pub targets: Vec<String>,
}

/// What AWS Organizations holds that the guard depends on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedGuard {
    /// The organization's root.
    pub root_id: String,
    /// Whether the RCP policy type is enabled on the root.
    pub rcp_enabled: bool,
    /// The management account (RCPs never apply to it).
    pub management_account: String,
    /// The policy with the guard's name, if any.
    pub policy: Option<ObservedRcp>,
    /// For each configured target: the RCPs attached to it other than the guard.
    pub other_rcps: BTreeMap<String, Vec<String>>,
}

/// One change to AWS Organizations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum GuardChange {
    /// Enable the RCP policy type on the root (AWS then attaches `RCPFullAWSAccess` everywhere).
    EnablePolicyType {
        /// The root.
        root: String,
    },
    /// Create the policy, tagged as keyless's.
    CreatePolicy {
        /// Its name.
        name: String,
        /// Its description.
        description: String,
        /// Its document.
        content: Value,
        /// Its tags.
        tags: BTreeMap<String, String>,
    },
    /// Replace the policy's document.
    UpdatePolicy {
        /// Policy ID.
        id: String,
        /// What it holds now.
        before: Value,
        /// What it will hold.
        after: Value,
    },
    /// Attach the policy (the one created by this plan when `id` is `None`).
    Attach {
        /// Policy ID.
        id: Option<String>,
        /// Root, OU or account.
        target: String,
    },
    /// Detach the policy.
    Detach {
        /// Policy ID.
        id: String,
        /// Root, OU or account.
        target: String,
    },
    /// Delete the policy (detached first).
    DeletePolicy {
        /// Policy ID.
        id: String,
        /// Its name.
        name: String,
    },
}

impl GuardChange {
    /// The Organizations API it calls.
    pub fn api(&self) -> &'static str {
        match self {
            GuardChange::EnablePolicyType { .. } => "EnablePolicyType",
            GuardChange::CreatePolicy { .. } => "CreatePolicy",
            GuardChange::UpdatePolicy { .. } => "UpdatePolicy",
            GuardChange::Attach { .. } => "AttachPolicy",
            GuardChange::Detach { .. } => "DetachPolicy",
            GuardChange::DeletePolicy { .. } => "DeletePolicy",
        }
    }

    /// One line: `+ attach keyless-github-guard to ou-ab12-cd34ef56`.
    pub fn describe(&self, name: &str) -> String {
        match self {
            GuardChange::EnablePolicyType { root } => {
                format!(
                    "+ enable resource control policies on the root {root} (AWS attaches RCPFullAWSAccess to every root, OU and account; nothing is denied by that)"
                )
            }
            GuardChange::CreatePolicy { content, .. } => {
                format!(
                    "+ policy {name} (RESOURCE_CONTROL_POLICY, {} characters)",
                    size(content)
                )
            }
            GuardChange::UpdatePolicy { id, .. } => format!("~ policy {name} ({id}): new document"),
            GuardChange::Attach { target, .. } => format!("+ attach {name} to {target}"),
            GuardChange::Detach { target, .. } => format!("- detach {name} from {target}"),
            GuardChange::DeletePolicy { id, .. } => format!("- policy {name} ({id})"),
        }
    }
}

/// The plan for a guard: changes in order, or the reasons keyless refuses to make any.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GuardPlan {
    /// The policy's name.
    pub name: String,
    /// The document the guard wants.
    pub document: Value,
    /// Its size, and the quota.
    pub size: usize,
    /// Changes, in the order they must be made.
    pub changes: Vec<GuardChange>,
    /// Why nothing may be changed (not ours, over a quota); empty when the plan may be applied.
    pub refusals: Vec<String>,
    /// What the reader must know (the management account, RCPs already on the targets).
    pub notes: Vec<String>,
}

/// The tags keyless puts on the guard.
pub fn tags(config: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            crate::config::MANAGED_BY_KEY.to_string(),
            crate::config::MANAGED_BY_VALUE.to_string(),
        ),
        (CONFIG_TAG.to_string(), config.to_string()),
    ])
}

/// Is this policy this config's guard? Its tags say so, *and* its document is one keyless
/// writes ([`shaped_like_ours`]): tags alone can be copied onto anyone's policy.
fn ours(p: &ObservedRcp, config: &str) -> bool {
    p.tags.get(CONFIG_TAG).map(String::as_str) == Some(config)
        && p.tags
            .get(crate::config::MANAGED_BY_KEY)
            .map(String::as_str)
            == Some(crate::config::MANAGED_BY_VALUE)
        && shaped_like_ours(&p.content)
}

/// Does `doc` have the shape of a guard [`render`] writes: every statement a Deny of
/// `sts:AssumeRoleWithWebIdentity` to `*`? Its conditions may have been edited by hand (check
/// reports that drift, and apply restores them with a diff shown); a policy about anything else
/// is not a guard, whatever its tags say.
pub fn shaped_like_ours(doc: &Value) -> bool {
    // An emptied guard holds nothing foreign: it is restored.
    policy::statements(doc).iter().all(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Deny")
            && st.get("Principal").and_then(Value::as_str) == Some("*")
            && policy::strings(st.get("Action")) == ["sts:AssumeRoleWithWebIdentity"]
    })
}

/// Why a policy tagged as this config's is not treated as its guard, if it is not.
fn not_ours_why(p: &ObservedRcp, config: &str) -> String {
    if p.tags.get(CONFIG_TAG).map(String::as_str) == Some(config) && !shaped_like_ours(&p.content) {
        "is tagged as this config's but its document is not one keyless writes (a Deny of sts:AssumeRoleWithWebIdentity)".into()
    } else {
        format!(
            "is not this config's (tag {CONFIG_TAG} = {:?})",
            p.tags.get(CONFIG_TAG).cloned().unwrap_or_default()
        )
    }
}

/// Desired against observed. Pure.
pub fn plan(g: &Guard, config: &str, o: &ObservedGuard) -> GuardPlan {
    let document = render(g);
    let size = size(&document);
    let mut p = GuardPlan {
        name: g.name.clone(),
        document: document.clone(),
        size,
        ..Default::default()
    };
    if size > SIZE_QUOTA {
        p.refusals.push(format!(
            "the policy is {size} characters; AWS Organizations allows {SIZE_QUOTA} per RCP: list fewer owners or issuers"
        ));
    }
    if let Some(existing) = &o.policy
        && !ours(existing, config)
    {
        p.refusals.push(format!(
            "a resource control policy named {} ({}) exists and {}: keyless does not touch it; choose another [guard] name",
            g.name,
            existing.id,
            not_ours_why(existing, config)
        ));
        return p;
    }
    if !g.targets.is_empty() && g.targets.iter().all(|t| t == &o.management_account) {
        p.refusals.push(format!(
            "the only target is the management account {}, which RCPs never apply to: the guard would guard nothing; target member accounts, organizational units or the root",
            o.management_account
        ));
        return p;
    }
    if g.targets.iter().any(|t| t == &o.management_account) {
        p.notes.push(format!(
            "{} is the management account: RCPs never apply to it, so its roles are not guarded",
            o.management_account
        ));
    }
    p.notes.push(format!(
        "the management account {} is not subject to RCPs: its GitHub-trusting roles (the dry run lists them) must be kept safe by their own trust",
        o.management_account
    ));
    if !o.rcp_enabled {
        p.changes.push(GuardChange::EnablePolicyType {
            root: o.root_id.clone(),
        });
    }
    let attached: BTreeSet<&str> = o
        .policy
        .as_ref()
        .map(|x| x.targets.iter().map(String::as_str).collect())
        .unwrap_or_default();
    match &o.policy {
        None => p.changes.push(GuardChange::CreatePolicy {
            name: g.name.clone(),
            description: "keyless: deny GitHub OIDC tokens from owners outside the allowed list"
                .into(),
            content: document.clone(),
            tags: tags(config),
        }),
        Some(existing) if !policy::same(&existing.content, &document) => {
            p.changes.push(GuardChange::UpdatePolicy {
                id: existing.id.clone(),
                before: existing.content.clone(),
                after: document.clone(),
            })
        }
        Some(_) => {}
    }
    let id = o.policy.as_ref().map(|x| x.id.clone());
    for t in &g.targets {
        let others = o.other_rcps.get(t).cloned().unwrap_or_default();
        if !attached.contains(t.as_str()) {
            // RCPFullAWSAccess counts against the five once the type is enabled.
            let full = usize::from(!o.rcp_enabled);
            if others.len() + full + 1 > MAX_PER_TARGET {
                p.refusals.push(format!(
                    "{t} already has {} resource control policies ({}); AWS allows {MAX_PER_TARGET} per target",
                    others.len() + full,
                    others.join(", ")
                ));
            }
            p.changes.push(GuardChange::Attach {
                id: id.clone(),
                target: t.clone(),
            });
        }
        if !others.is_empty() {
            p.notes.push(format!(
                "{t} has {} other RCP(s): {}",
                others.len(),
                others.join(", ")
            ));
        }
    }
    if let Some(existing) = &o.policy {
        for t in &existing.targets {
            if !g.targets.contains(t) {
                p.changes.push(GuardChange::Detach {
                    id: existing.id.clone(),
                    target: t.clone(),
                });
            }
        }
    }
    p
}

/// Remove the guard: detach it everywhere, then delete it. Only keyless's own policy.
pub fn plan_destroy(name: &str, config: &str, o: &ObservedGuard) -> GuardPlan {
    let mut p = GuardPlan {
        name: name.to_string(),
        ..Default::default()
    };
    let Some(existing) = &o.policy else {
        return p;
    };
    if !ours(existing, config) {
        p.refusals.push(format!(
            "the resource control policy {name} ({}) {}: keyless does not touch it",
            existing.id,
            not_ours_why(existing, config)
        ));
        return p;
    }
    for t in &existing.targets {
        p.changes.push(GuardChange::Detach {
            id: existing.id.clone(),
            target: t.clone(),
        });
    }
    p.changes.push(GuardChange::DeletePolicy {
        id: existing.id.clone(),
        name: name.to_string(),
    });
    p
}

/// Who a role's trust admits, as far as the guard is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Admitted {
    /// An owner by ID (immutable subjects, or a `repository_owner_id` condition).
    OwnerId {
        /// The ID.
        id: String,
        /// Its name, when the sub names it too.
        name: Option<String>,
    },
    /// An owner by name only (classic subjects): its ID decides.
    OwnerName {
        /// The login.
        name: String,
    },
    /// Any owner (a wildcard owner, or no sub condition keyless can read).
    Any,
}

/// One GitHub-trusting role in the dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleImpact {
    /// Account.
    pub account: String,
    /// Role name.
    pub role: String,
    /// Whether the guard covers the account (RCPs never apply to the management account).
    pub covered: bool,
    /// Who the trust admits, each with the guard's verdict.
    pub admitted: Vec<(Admitted, Verdict)>,
}

/// What the guard does to one admitted owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Still admitted: the owner is on the list.
    Kept,
    /// Refused from now on: a deploy from this owner breaks.
    Blocked,
    /// Narrowed: any owner before, only the listed ones after (what the guard is for).
    Narrowed,
    /// The owner's ID is not known here (a classic sub names it): refused unless its ID is
    /// listed; `keyless guard plan` with a GitHub token resolves it.
    Unknown,
    /// The account is not covered (management account): nothing changes.
    Uncovered,
}

/// The dry run for one role's trust: `known` maps owner logins to IDs (from the config and
/// GitHub), `covered` says whether the guard applies in the role's account.
pub fn impact(
    g: &Guard,
    account: &str,
    role: &str,
    trust: &Value,
    known: &BTreeMap<String, String>,
    covered: bool,
) -> RoleImpact {
    let mut admitted: Vec<Admitted> = Vec::new();
    let mut any_sub = false;
    for st in policy::statements(trust) {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        for (_, key, values) in policy::condition_entries(st) {
            let k = key.to_ascii_lowercase();
            if k.ends_with(":repository_owner_id") {
                for v in values {
                    admitted.push(Admitted::OwnerId { id: v, name: None });
                }
            } else if k.ends_with(":sub") {
                any_sub = true;
                for v in values {
                    admitted.push(match crate::identity::subject::parse_sub(&v) {
                        crate::identity::subject::ParsedSub::Repo { repo, .. }
                            if !repo.owner.contains(['*', '?']) =>
                        {
                            match repo
                                .owner_id
                                .or_else(|| known.get(&repo.owner.to_ascii_lowercase()).cloned())
                            {
                                Some(id) => Admitted::OwnerId {
                                    id,
                                    name: Some(repo.owner),
                                },
                                None => Admitted::OwnerName { name: repo.owner },
                            }
                        }
                        _ => Admitted::Any,
                    });
                }
            }
        }
    }
    if !any_sub && admitted.is_empty() {
        admitted.push(Admitted::Any);
    }
    admitted.sort_by_key(|a| format!("{a:?}"));
    admitted.dedup();
    let allowed: BTreeSet<&str> = g.owner_ids.iter().map(String::as_str).collect();
    let judged = admitted
        .into_iter()
        .map(|a| {
            let v = if !covered {
                Verdict::Uncovered
            } else {
                match &a {
                    Admitted::Any => Verdict::Narrowed,
                    Admitted::OwnerId { id, .. } if allowed.contains(id.as_str()) => Verdict::Kept,
                    Admitted::OwnerId { .. } => Verdict::Blocked,
                    Admitted::OwnerName { name } => match known.get(&name.to_ascii_lowercase()) {
                        Some(id) if allowed.contains(id.as_str()) => Verdict::Kept,
                        Some(_) => Verdict::Blocked,
                        None => Verdict::Unknown,
                    },
                }
            };
            (a, v)
        })
        .collect();
    RoleImpact {
        account: account.to_string(),
        role: role.to_string(),
        covered,
        admitted: judged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::issuer::Issuer;
    use crate::policy::evaluate::{Context, evaluate};

    fn guard(owners: &[&str], enterprises: &[&str]) -> Guard {
        Guard {
            name: "keyless-github-guard".into(),
            owner_ids: owners.iter().map(|s| s.to_string()).collect(),
            enterprise_ids: enterprises.iter().map(|s| s.to_string()).collect(),
            issuers: vec![
                Issuer::github_com(),
                Issuer::enterprise_slug("octo-inc").unwrap(),
                Issuer::ghe_com("octo", false).unwrap(),
            ],
            targets: vec!["ou-ab12-cd34ef56".into()],
        }
    }

    /// The RCP's verdict for a request context of `keys` (lower-case key → values).
    fn denied(doc: &Value, keys: &[(&str, &str)]) -> bool {
        let mut ctx = Context {
            provider_arn: "arn:aws:iam::111111111111:oidc-provider/x".into(),
            ..Default::default()
        };
        for (k, v) in keys {
            ctx.keys.insert(k.to_ascii_lowercase(), vec![v.to_string()]);
        }
        evaluate(doc, &ctx)
            .statements
            .iter()
            .any(|s| s.effect == "Deny" && s.matched)
    }

    const GH: &str = "token.actions.githubusercontent.com";

    #[test]
    fn the_rcp_denies_foreign_owners_of_each_issuer_and_nothing_else() {
        let doc = render(&guard(&["123456"], &[]));
        let owner = |p: &str, id: &str| (format!("{p}:repository_owner_id"), id.to_string());
        let ctx = |pairs: Vec<(String, String)>| pairs;
        let check = |pairs: Vec<(String, String)>| {
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            denied(&doc, &refs)
        };
        // github.com, an enterprise slug, GHE.com: allowed owner admitted, another refused.
        for p in [
            GH.to_string(),
            format!("{GH}/octo-inc"),
            "token.actions.octo.ghe.com".into(),
        ] {
            assert!(!check(ctx(vec![owner(&p, "123456")])), "{p}");
            assert!(check(ctx(vec![owner(&p, "9999")])), "{p}");
        }
        // Absent keys: a Cognito, Google or EKS token carries no GitHub key and is untouched.
        assert!(!check(vec![]));
        assert!(!check(vec![(
            "accounts.google.com:sub".into(),
            "1234".into()
        )]));
        assert!(!check(vec![(
            "cognito-identity.amazonaws.com:aud".into(),
            "us-east-1:x".into()
        )]));
        // A GitHub token with only aud/sub (no owner key reached IAM) is not denied by the
        // guard either: the Null check needs the key present.
        assert!(!check(vec![(
            format!("{GH}:sub"),
            "repo:evil/x:ref:refs/heads/main".into()
        )]));
    }

    #[test]
    fn enterprise_ids_admit_their_owners_and_an_absent_enterprise_is_not_listed() {
        let doc = render(&guard(&["1"], &["77"]));
        let o = format!("{GH}:repository_owner_id");
        let e = format!("{GH}:enterprise_id");
        assert!(!denied(&doc, &[(&o, "1")]));
        assert!(!denied(&doc, &[(&o, "555"), (&e, "77")]));
        assert!(denied(&doc, &[(&o, "555"), (&e, "78")]));
        assert!(
            denied(&doc, &[(&o, "555")]),
            "no enterprise: the owner decides"
        );
    }

    #[test]
    fn owner_lists_at_the_size_limit() {
        // As many 9-digit owners as fit three issuers in the quota, and one more does not.
        let mut n = 0;
        loop {
            let ids: Vec<String> = (0..n + 1).map(|i| format!("{}", 100_000_000 + i)).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            if size(&render(&guard(&refs, &[]))) > SIZE_QUOTA {
                break;
            }
            n += 1;
        }
        assert!(n > 50, "{n} owners fit");
        let ids: Vec<String> = (0..n).map(|i| format!("{}", 100_000_000 + i)).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let g = guard(&refs, &[]);
        let doc = render(&g);
        assert!(size(&doc) <= SIZE_QUOTA);
        let o = format!("{GH}:repository_owner_id");
        assert!(!denied(&doc, &[(&o, refs[n - 1])]));
        assert!(denied(&doc, &[(&o, "99")]));
        let observed = ObservedGuard {
            root_id: "r-ab12".into(),
            rcp_enabled: true,
            management_account: "000000000000".into(),
            ..Default::default()
        };
        assert!(plan(&g, "c", &observed).refusals.is_empty());
        let mut more = ids.clone();
        more.push("999999999".into());
        let refs: Vec<&str> = more.iter().map(String::as_str).collect();
        let over = plan(&guard(&refs, &[]), "c", &observed);
        assert!(
            over.refusals[0].contains("characters"),
            "{:?}",
            over.refusals
        );
    }

    #[test]
    fn plans_create_attach_converge_and_refuse_what_is_not_ours() {
        let g = guard(&["1"], &[]);
        let mut o = ObservedGuard {
            root_id: "r-ab12".into(),
            rcp_enabled: false,
            management_account: "000000000000".into(),
            ..Default::default()
        };
        let p = plan(&g, "c", &o);
        let apis: Vec<_> = p.changes.iter().map(GuardChange::api).collect();
        assert_eq!(apis, ["EnablePolicyType", "CreatePolicy", "AttachPolicy"]);
        o.rcp_enabled = true;
        o.policy = Some(ObservedRcp {
            id: "p-1".into(),
            content: render(&g),
            tags: tags("c"),
            targets: vec!["ou-ab12-cd34ef56".into()],
        });
        assert!(plan(&g, "c", &o).changes.is_empty());
        // Edited by hand: updated back. Detached: attached again. Attached elsewhere: detached.
        let mut edited = o.clone();
        edited.policy.as_mut().unwrap().content = json!({"Statement": []});
        edited.policy.as_mut().unwrap().targets = vec!["r-ab12".into()];
        let apis: Vec<_> = plan(&g, "c", &edited)
            .changes
            .iter()
            .map(GuardChange::api)
            .collect();
        assert_eq!(apis, ["UpdatePolicy", "AttachPolicy", "DetachPolicy"]);
        // Our tags on a policy about something else: not ours, neither replaced nor deleted.
        let mut tagged = o.clone();
        tagged.policy.as_mut().unwrap().content = json!({"Statement": [{"Effect": "Deny",
            "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"}]});
        let p = plan(&g, "c", &tagged);
        assert!(p.changes.is_empty() && p.refusals[0].contains("not one keyless writes"));
        assert!(
            plan_destroy("keyless-github-guard", "c", &tagged)
                .changes
                .is_empty()
        );
        // Someone else's policy of the same name.
        let mut foreign = o.clone();
        foreign.policy.as_mut().unwrap().tags = BTreeMap::new();
        let p = plan(&g, "c", &foreign);
        assert!(p.changes.is_empty() && p.refusals[0].contains("not this config's"));
        assert!(
            plan_destroy("keyless-github-guard", "c", &foreign)
                .changes
                .is_empty()
        );
        let apis: Vec<_> = plan_destroy("keyless-github-guard", "c", &o)
            .changes
            .iter()
            .map(GuardChange::api)
            .collect();
        assert_eq!(apis, ["DetachPolicy", "DeletePolicy"]);
        // Five RCPs already on a target.
        let mut full = o.clone();
        full.policy = None;
        full.other_rcps.insert(
            "ou-ab12-cd34ef56".into(),
            (0..5).map(|i| format!("p-{i}")).collect(),
        );
        assert!(plan(&g, "c", &full).refusals[0].contains("already has 5"));
    }

    #[test]
    fn the_dry_run_says_who_breaks() {
        let g = guard(&["123456"], &[]);
        let trust = |sub: &str| json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {format!("{GH}:sub"): sub}}}]});
        let known = BTreeMap::from([("octo-org".to_string(), "123456".to_string())]);
        let v = |sub: &str, covered: bool| {
            impact(&g, "1", "r", &trust(sub), &known, covered).admitted[0]
                .1
                .clone()
        };
        assert_eq!(v("repo:octo-org/site:*", true), Verdict::Kept);
        assert_eq!(v("repo:octo-org@123456/site@1:*", true), Verdict::Kept);
        assert_eq!(v("repo:partner@777/x@1:*", true), Verdict::Blocked);
        assert_eq!(v("repo:stranger/x:*", true), Verdict::Unknown);
        assert_eq!(v("repo:*", true), Verdict::Narrowed);
        assert_eq!(v("repo:partner@777/x@1:*", false), Verdict::Uncovered);
    }
}
