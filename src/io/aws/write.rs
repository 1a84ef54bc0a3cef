//! The writes: one planned change at a time (the executor decides the order), and whether an
//! entity that already exists is this config's.

use super::*;
use crate::policy::document::wire;

/// The tail every write shares: send the call, map the SDK's error to [`Error::Aws`] named
/// `op`, drop the answer.
macro_rules! sent {
    ($op:expr, $call:expr) => {
        $call.send().await.map_err(|e| sdk_error($op, e)).map(drop)
    };
}

/// How a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// This call made it: its success proves what it made, at that moment.
    ByThisCall,
    /// A create found its entity already there, and it is this config's: someone else's write
    /// (or a lost response's retry) made it, so what it holds is read back after the apply.
    Existing,
}

impl Aws {
    /// Make one planned change. A create whose entity already exists and is keyless's (a write
    /// that succeeded although its response was lost, then was retried, or another run made it
    /// meanwhile) counts as done, as [`Made::Existing`]: what is there was not made by this call.
    pub async fn apply(&self, change: &Change) -> Result<Made> {
        if let Change::DeleteProvider { provider_arn } = change {
            // Checked again right before the delete: another config may have started trusting
            // the provider since the plan was made.
            let still = roles_trusting(provider_arn, &self.other_role_trusts(&[]).await?);
            if !still.is_empty() {
                return Err(Error::Refused(vec![format!(
                    "provider {provider_arn} is trusted again, by role(s) {}, since the plan was made: it was kept\n  fix: another config applied meanwhile; run destroy again to see what is left",
                    still.join(", ")
                )]));
            }
        }
        match self.apply_once(change).await {
            Err(Error::Aws { code, .. }) if code == "EntityAlreadyExists" => self
                .confirm_existing(change)
                .await
                .map(|()| Made::Existing)
                .map_err(|m| Error::Refused(vec![format!("{code}: {m}")])),
            other => other.map(|()| Made::ByThisCall),
        }
    }

    /// Read back what a create found already there, and let the plan's rule decide.
    async fn confirm_existing(&self, change: &Change) -> std::result::Result<(), String> {
        let unreadable = |e: Error| format!("{}: could not read it back: {e}", change.address());
        match change {
            Change::CreateProvider { url, .. } => match self.find_provider(url).await {
                Ok(Some(_)) => confirm_existing(change, Existing::Provider),
                Ok(None) => confirm_existing(change, Existing::Gone),
                Err(e) => Err(unreadable(e)),
            },
            Change::CreateRole { role, .. } => match self.read_role(role).await {
                Ok(Some(r)) => confirm_existing(change, Existing::Role(&r)),
                Ok(None) => confirm_existing(change, Existing::Gone),
                Err(e) => Err(unreadable(e)),
            },
            Change::CreatePolicy { arn, .. } => match self.read_policy(arn).await {
                Ok(Some(p)) => confirm_existing(change, Existing::Policy(&p)),
                Ok(None) => confirm_existing(change, Existing::Gone),
                Err(e) => Err(unreadable(e)),
            },
            _ => confirm_existing(change, Existing::Gone),
        }
    }

    async fn apply_once(&self, change: &Change) -> Result<()> {
        let iam = &self.iam;
        let op = format!("iam:{}", change.api());
        match change {
            Change::CreateProvider {
                url,
                client_ids,
                tags,
            } => sent!(
                &op,
                iam.create_open_id_connect_provider()
                    .url(url)
                    .set_client_id_list(Some(client_ids.clone()))
                    .set_tags(Some(to_tags(tags)?))
            ),
            Change::AddClientId {
                provider_arn,
                client_id,
            } => sent!(
                &op,
                iam.add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(provider_arn)
                    .client_id(client_id)
            ),
            Change::CreateRole {
                role,
                path,
                description,
                max_session_duration,
                permissions_boundary,
                tags,
                trust_policy,
            } => sent!(
                &op,
                iam.create_role()
                    .role_name(role)
                    .path(path)
                    .assume_role_policy_document(wire(trust_policy))
                    .set_description(description.clone())
                    .max_session_duration(*max_session_duration as i32)
                    .set_permissions_boundary(permissions_boundary.clone())
                    .set_tags(Some(to_tags(tags)?))
            ),
            Change::UpdateTrust { role, after, .. } => sent!(
                &op,
                iam.update_assume_role_policy()
                    .role_name(role)
                    .policy_document(wire(after))
            ),
            Change::UpdateRole { role, after, .. } => sent!(
                &op,
                iam.update_role()
                    .role_name(role)
                    .description(after.0.clone().unwrap_or_default())
                    .max_session_duration(after.1 as i32)
            ),
            Change::PutBoundary { role, after, .. } => sent!(
                &op,
                iam.put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(after)
            ),
            Change::DeleteBoundary { role, .. } => {
                sent!(&op, iam.delete_role_permissions_boundary().role_name(role))
            }
            Change::TagRole { role, tags } => sent!(
                &op,
                iam.tag_role()
                    .role_name(role)
                    .set_tags(Some(to_tags(tags)?))
            ),
            Change::UntagRole { role, keys } => sent!(
                &op,
                iam.untag_role()
                    .role_name(role)
                    .set_tag_keys(Some(keys.clone()))
            ),
            Change::CreatePolicy {
                name,
                path,
                document,
                description,
                tags,
                ..
            } => sent!(
                &op,
                iam.create_policy()
                    .policy_name(name)
                    .path(path)
                    .set_description(description.clone())
                    .policy_document(wire(document))
                    .set_tags(Some(to_tags(tags)?))
            ),
            Change::TagPolicy { arn, tags } => sent!(
                &op,
                iam.tag_policy()
                    .policy_arn(arn)
                    .set_tags(Some(to_tags(tags)?))
            ),
            Change::CreatePolicyVersion {
                arn,
                delete_version,
                after,
                ..
            } => {
                if let Some(v) = delete_version {
                    iam.delete_policy_version()
                        .policy_arn(arn)
                        .version_id(v)
                        .send()
                        .await
                        .map_err(|e| sdk_error("iam:DeletePolicyVersion", e))?;
                }
                sent!(
                    &op,
                    iam.create_policy_version()
                        .policy_arn(arn)
                        .policy_document(wire(after))
                        .set_as_default(true)
                )
            }
            Change::AttachPolicy { role, arn } => sent!(
                &op,
                iam.attach_role_policy().role_name(role).policy_arn(arn)
            ),
            Change::PutInlinePolicy {
                role, name, after, ..
            } => sent!(
                &op,
                iam.put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(wire(after))
            ),
            Change::DetachPolicy { role, arn } => gone_ok(
                &op,
                iam.detach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await,
            ),
            Change::DeleteInlinePolicy { role, name, .. } => gone_ok(
                &op,
                iam.delete_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .send()
                    .await,
            ),
            Change::DeletePolicy { arn, versions, .. } => {
                for v in versions {
                    gone_ok(
                        "iam:DeletePolicyVersion",
                        iam.delete_policy_version()
                            .policy_arn(arn)
                            .version_id(v)
                            .send()
                            .await,
                    )?;
                }
                gone_ok(&op, iam.delete_policy().policy_arn(arn).send().await)
            }
            Change::DeleteRole { role } => {
                gone_ok(&op, iam.delete_role().role_name(role).send().await)
            }
            Change::DeleteProvider { provider_arn } => gone_ok(
                &op,
                iam.delete_open_id_connect_provider()
                    .open_id_connect_provider_arn(provider_arn)
                    .send()
                    .await,
            ),
        }
    }
}
