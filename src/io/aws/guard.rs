//! AWS Organizations for the organisation guard: read the root, the RCP policy type, the guard's
//! policy (document, tags, targets) and the other RCPs on each target; make one planned
//! [`GuardChange`]. Hands back [`ObservedGuard`]; knows nothing of configs.

use std::collections::BTreeMap;

use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus, Tag as OrgTag};

use super::{Aws, sdk_error};
use crate::error::{Error, Result};
use crate::state::guard::{GuardChange, ObservedGuard, ObservedRcp};

const RCP: PolicyType = PolicyType::ResourceControlPolicy;

impl Aws {
    /// What Organizations holds for a guard named `name` attached to `targets`.
    pub async fn read_guard(&self, name: &str, targets: &[String]) -> Result<ObservedGuard> {
        // The organization, its root, its RCPs and each target's RCPs: independent reads,
        // made together (one round trip, plus one to read the guard's own document).
        let found = async {
            let mut found = None;
            let mut pages = self.org.list_policies().filter(RCP).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| sdk_error("organizations:ListPolicies", e))?;
                if let Some(p) = page.policies().iter().find(|p| p.name() == Some(name)) {
                    found = p.id().map(String::from);
                }
            }
            Ok::<_, Error>(found)
        };
        let per_target = futures_util::future::join_all(targets.iter().map(|t| async move {
            let mut names = Vec::new();
            let mut pages = self
                .org
                .list_policies_for_target()
                .target_id(t)
                .filter(RCP)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| sdk_error("organizations:ListPoliciesForTarget", e))?;
                names.extend(
                    page.policies()
                        .iter()
                        .filter(|p| p.name() != Some(name))
                        .filter_map(|p| p.name().map(String::from)),
                );
            }
            Ok::<_, Error>((t.clone(), names))
        }));
        let (org, roots, found, per_target) = tokio::join!(
            self.org.describe_organization().send(),
            self.org.list_roots().send(),
            found,
            per_target
        );
        let org = org.map_err(|e| sdk_error("organizations:DescribeOrganization", e))?;
        let management_account = org
            .organization()
            .and_then(|o| o.master_account_id())
            .unwrap_or_default()
            .to_string();
        let roots = roots.map_err(|e| sdk_error("organizations:ListRoots", e))?;
        let root = roots.roots().first().ok_or_else(|| Error::Aws {
            op: "organizations:ListRoots".into(),
            code: "NoRoot".into(),
            message: "the organization has no root".into(),
            hint: None,
        })?;
        let rcp_enabled = root
            .policy_types()
            .iter()
            .any(|t| t.r#type() == Some(&RCP) && t.status() == Some(&PolicyTypeStatus::Enabled));
        let policy = match found? {
            None => None,
            Some(id) => Some(self.read_rcp(&id).await?),
        };
        let mut other_rcps = BTreeMap::new();
        for t in per_target {
            let (t, names) = t?;
            other_rcps.insert(t, names);
        }
        Ok(ObservedGuard {
            root_id: root.id().unwrap_or_default().to_string(),
            rcp_enabled,
            management_account,
            policy,
            other_rcps,
        })
    }

    /// The resource control policies that apply to `account`: attached to it, to each OU above
    /// it and to the root (name, document); `None` for the management account, which RCPs do
    /// not reach. Needs Organizations read access (the management account or a delegated
    /// administrator).
    pub async fn rcps_for(
        &self,
        account: &str,
    ) -> Result<Option<Vec<(String, serde_json::Value)>>> {
        let org = self
            .org
            .describe_organization()
            .send()
            .await
            .map_err(|e| sdk_error("organizations:DescribeOrganization", e))?;
        if org.organization().and_then(|o| o.master_account_id()) == Some(account) {
            return Ok(None);
        }
        let mut chain = vec![account.to_string()];
        let mut at = account.to_string();
        for _ in 0..8 {
            let parents = self
                .org
                .list_parents()
                .child_id(&at)
                .send()
                .await
                .map_err(|e| sdk_error("organizations:ListParents", e))?;
            let Some(p) = parents.parents().first().and_then(|p| p.id()) else {
                break;
            };
            chain.push(p.to_string());
            if p.starts_with("r-") {
                break;
            }
            at = p.to_string();
        }
        let mut out = Vec::new();
        for target in chain {
            let listed = self
                .org
                .list_policies_for_target()
                .target_id(&target)
                .filter(RCP)
                .send()
                .await
                .map_err(|e| sdk_error("organizations:ListPoliciesForTarget", e))?;
            for p in listed.policies() {
                let (Some(id), Some(name)) = (p.id(), p.name()) else {
                    continue;
                };
                let rcp = self.read_rcp(id).await?;
                out.push((name.to_string(), rcp.content));
            }
        }
        Ok(Some(out))
    }

    async fn read_rcp(&self, id: &str) -> Result<ObservedRcp> {
        let d = self
            .org
            .describe_policy()
            .policy_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("organizations:DescribePolicy", e))?;
        let text = d.policy().and_then(|p| p.content()).unwrap_or("{}");
        let content = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
        let mut tags = BTreeMap::new();
        let mut pages = self
            .org
            .list_tags_for_resource()
            .resource_id(id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("organizations:ListTagsForResource", e))?;
            for t in page.tags() {
                tags.insert(t.key().to_string(), t.value().to_string());
            }
        }
        let mut targets = Vec::new();
        let mut pages = self
            .org
            .list_targets_for_policy()
            .policy_id(id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("organizations:ListTargetsForPolicy", e))?;
            targets.extend(
                page.targets()
                    .iter()
                    .filter_map(|t| t.target_id().map(String::from)),
            );
        }
        targets.sort();
        Ok(ObservedRcp {
            id: id.to_string(),
            content,
            tags,
            targets,
        })
    }

    /// Make one guard change. `created` carries the ID of a policy this run created, for the
    /// attachments planned before it existed; it is set by `CreatePolicy`.
    pub async fn guard_change(
        &self,
        change: &GuardChange,
        created: &mut Option<String>,
    ) -> Result<()> {
        let id_of = |id: &Option<String>, created: &Option<String>| {
            id.clone()
                .or_else(|| created.clone())
                .ok_or_else(|| Error::Bug {
                    message: "an attachment was planned for a policy that was not created".into(),
                })
        };
        match change {
            GuardChange::EnablePolicyType { root } => {
                self.org
                    .enable_policy_type()
                    .root_id(root)
                    .policy_type(RCP)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:EnablePolicyType", e))?;
            }
            GuardChange::CreatePolicy {
                name,
                description,
                content,
                tags,
            } => {
                let mut req = self
                    .org
                    .create_policy()
                    .name(name)
                    .description(description)
                    .r#type(RCP)
                    .content(crate::policy::document::wire(content));
                for (k, v) in tags {
                    req = req.tags(OrgTag::builder().key(k).value(v).build().map_err(|e| {
                        Error::Bug {
                            message: e.to_string(),
                        }
                    })?);
                }
                let out = req
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:CreatePolicy", e))?;
                *created = out
                    .policy()
                    .and_then(|p| p.policy_summary())
                    .and_then(|s| s.id())
                    .map(String::from);
            }
            GuardChange::UpdatePolicy { id, after, .. } => {
                self.org
                    .update_policy()
                    .policy_id(id)
                    .content(crate::policy::document::wire(after))
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:UpdatePolicy", e))?;
            }
            GuardChange::Attach { id, target } => {
                self.org
                    .attach_policy()
                    .policy_id(id_of(id, created)?)
                    .target_id(target)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:AttachPolicy", e))?;
            }
            GuardChange::Detach { id, target } => {
                self.org
                    .detach_policy()
                    .policy_id(id)
                    .target_id(target)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:DetachPolicy", e))?;
            }
            GuardChange::DeletePolicy { id, .. } => {
                self.org
                    .delete_policy()
                    .policy_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:DeletePolicy", e))?;
            }
        }
        Ok(())
    }
}
