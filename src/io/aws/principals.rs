//! A principal's grant as IAM holds it, for usage and tightening: a role's or an IAM user's
//! inline policies and the documents of its attached managed policies, and when it was created.
//! Group memberships of a user are listed by name but their policies are not read here (the
//! report says so). Hands back plain documents; judging them is the core's.

use futures_util::future::join_all;

use super::*;

/// What IAM says a principal is granted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grant {
    /// `(name, document)`: inline policies, then attached managed policies (by ARN).
    pub documents: Vec<(String, Value)>,
    /// Attached policies whose document could not be read.
    pub unread: Vec<String>,
    /// The user's groups (their policies are not in `documents`).
    pub groups: Vec<String>,
    /// Creation time (seconds since the epoch).
    pub created: Option<i64>,
    /// Whether the principal exists.
    pub exists: bool,
}

impl Aws {
    /// The grant of a role (`…:role/PATH/NAME`) or a user (`…:user/PATH/NAME`).
    pub async fn principal_grant(&self, arn: &str) -> Result<Grant> {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        let name = resource.rsplit('/').next().unwrap_or_default();
        if resource.starts_with("role/") {
            // One GetRole gives the role and when it was created.
            let Some((role, created)) = self.read_role_created(name).await? else {
                return Ok(Grant::default());
            };
            let mut g = Grant {
                documents: role.inline_policies.into_iter().collect(),
                created: Some(created),
                exists: true,
                ..Grant::default()
            };
            self.attached_documents(&role.attached_policies, &mut g)
                .await?;
            return Ok(g);
        }
        if !resource.starts_with("user/") {
            return Err(Error::Aws {
                op: "usage".into(),
                code: "NotARoleOrUser".into(),
                message: format!("{arn} is not the ARN of an IAM role or user"),
                hint: Some(
                    "pass arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME".into(),
                ),
            });
        }
        let user = match self.iam.get_user().user_name(name).send().await {
            Ok(u) => u,
            Err(e) if not_found(&e) => return Ok(Grant::default()),
            Err(e) => return Err(sdk_error("iam:GetUser", e)),
        };
        let (names, attached, groups) = tokio::join!(
            self.iam
                .list_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            self.iam
                .list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            self.iam
                .list_groups_for_user()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        );
        let names: Vec<String> = names.map_err(|e| sdk_error("iam:ListUserPolicies", e))?;
        let attached: Vec<aws_sdk_iam::types::AttachedPolicy> =
            attached.map_err(|e| sdk_error("iam:ListAttachedUserPolicies", e))?;
        let attached: Vec<String> = attached
            .iter()
            .filter_map(|a| a.policy_arn().map(String::from))
            .collect();
        let groups: Vec<aws_sdk_iam::types::Group> =
            groups.map_err(|e| sdk_error("iam:ListGroupsForUser", e))?;
        let groups = groups.iter().map(|g| g.group_name().to_string()).collect();
        let inline = join_all(names.iter().map(|pn| async move {
            let p = self
                .iam
                .get_user_policy()
                .user_name(name)
                .policy_name(pn)
                .send()
                .await
                .map_err(|e| sdk_error("iam:GetUserPolicy", e))?;
            Ok::<_, Error>((
                pn.clone(),
                decoded(
                    "iam:GetUserPolicy",
                    &format!("user {name} inline policy {pn}"),
                    Some(p.policy_document()),
                )?,
            ))
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        let mut g = Grant {
            documents: inline,
            groups,
            created: user.user().map(|u| u.create_date().secs()),
            exists: true,
            ..Grant::default()
        };
        self.attached_documents(&attached, &mut g).await?;
        Ok(g)
    }

    /// When a role was created (`None`: it does not exist).
    pub async fn role_created(&self, name: &str) -> Result<Option<i64>> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(r) => Ok(r.role().map(|r| r.create_date().secs())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error("iam:GetRole", e)),
        }
    }

    async fn attached_documents(&self, arns: &[String], g: &mut Grant) -> Result<()> {
        let read = join_all(arns.iter().map(|a| self.read_policy(a))).await;
        for (arn, p) in arns.iter().zip(read) {
            match p {
                Ok(Some(p)) => g.documents.push((arn.clone(), p.document)),
                Ok(None) | Err(_) => g.unread.push(arn.clone()),
            }
        }
        Ok(())
    }
}

/// One user's row of the credential report, with its keys' IDs from ListAccessKeys.
#[derive(Debug, Clone, PartialEq)]
pub struct UserKeys {
    /// User name.
    pub user: String,
    /// User ARN.
    pub arn: String,
    /// Its access keys: (ID, active, created, last used, last service, last Region).
    pub keys: Vec<crate::state::keys::IamKey>,
}

/// One key slot of the credential report: active, last used, its service and Region.
type Slot = (bool, Option<i64>, Option<String>, Option<String>);

/// How long to wait for a credential report being generated.
const REPORT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// A credential report's time (`2026-12-01T10:00:00+00:00`), `None` for `N/A` and the like.
fn report_time(v: &str) -> Option<i64> {
    let v = v.replace("+00:00", "Z");
    aws_sdk_iam::primitives::DateTime::from_str(
        &v,
        aws_sdk_iam::primitives::DateTimeFormat::DateTime,
    )
    .ok()
    .map(|t| t.secs())
}

impl Aws {
    /// Every IAM user with an access key: the credential report (generated, then read; AWS
    /// makes at most one new report every 4 hours and answers with the last one meanwhile),
    /// then each such user's keys, tags and policy names, read together.
    pub async fn user_keys(&self) -> Result<Vec<UserKeys>> {
        let began = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(200);
        loop {
            let g = self
                .iam
                .generate_credential_report()
                .send()
                .await
                .map_err(|e| sdk_error("iam:GenerateCredentialReport", e))?;
            if g.state() == Some(&aws_sdk_iam::types::ReportStateType::Complete) {
                break;
            }
            if began.elapsed() > REPORT_DEADLINE {
                return Err(Error::Aws {
                    op: "iam:GenerateCredentialReport".into(),
                    code: "Timeout".into(),
                    message: "the credential report was not ready in 2 minutes".into(),
                    hint: Some("run it again in a minute".into()),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(5));
        }
        let report = self
            .iam
            .get_credential_report()
            .send()
            .await
            .map_err(|e| sdk_error("iam:GetCredentialReport", e))?;
        let csv = report
            .content()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let mut rows = Vec::new();
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let get = |name: &str| col(name).and_then(|i| f.get(i)).copied().unwrap_or("N/A");
            if get("user") == "<root_account>" {
                continue;
            }
            let slots: Vec<Slot> = [1, 2]
                .iter()
                .map(|n| {
                    (
                        get(&format!("access_key_{n}_active")) == "true",
                        report_time(get(&format!("access_key_{n}_last_used_date"))),
                        Some(get(&format!("access_key_{n}_last_used_service")))
                            .filter(|s| *s != "N/A")
                            .map(String::from),
                        Some(get(&format!("access_key_{n}_last_used_region")))
                            .filter(|s| *s != "N/A")
                            .map(String::from),
                    )
                })
                .collect();
            if slots.iter().any(|s| s.0) || get("access_key_1_last_rotated") != "N/A" {
                rows.push((get("user").to_string(), get("arn").to_string(), slots));
            }
        }
        let users = join_all(rows.iter().map(|(user, arn, slots)| async move {
            let (keys, tags, inline, attached) = tokio::join!(
                self.iam.list_access_keys().user_name(user).send(),
                self.iam.list_user_tags().user_name(user).send(),
                self.iam.list_user_policies().user_name(user).send(),
                self.iam
                    .list_attached_user_policies()
                    .user_name(user)
                    .send(),
            );
            let keys = keys.map_err(|e| sdk_error("iam:ListAccessKeys", e))?;
            let tags = tags.map_err(|e| sdk_error("iam:ListUserTags", e))?;
            let mut policies: Vec<String> = inline
                .map_err(|e| sdk_error("iam:ListUserPolicies", e))?
                .policy_names()
                .to_vec();
            policies.extend(
                attached
                    .map_err(|e| sdk_error("iam:ListAttachedUserPolicies", e))?
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(String::from)),
            );
            let tags: BTreeMap<String, String> = tags
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            let mut metadata: Vec<_> = keys.access_key_metadata().to_vec();
            metadata.sort_by_key(|k| k.create_date().map(|d| d.secs()));
            let keys = metadata
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let slot = slots.get(i).cloned().unwrap_or((false, None, None, None));
                    crate::state::keys::IamKey {
                        user: user.clone(),
                        user_arn: arn.clone(),
                        key_id: k.access_key_id().unwrap_or_default().to_string(),
                        active: k.status() == Some(&aws_sdk_iam::types::StatusType::Active),
                        created: k.create_date().map(|d| d.secs()),
                        last_used: slot.1,
                        last_service: slot.2,
                        last_region: slot.3,
                        tags: tags.clone(),
                        policies: policies.clone(),
                    }
                })
                .collect();
            Ok::<_, Error>(UserKeys {
                user: user.clone(),
                arn: arn.clone(),
                keys,
            })
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        Ok(users)
    }
}

impl Aws {
    /// Set an access key Active or Inactive (reversible).
    pub async fn set_key_active(&self, user: &str, key: &str, active: bool) -> Result<()> {
        let status = if active {
            aws_sdk_iam::types::StatusType::Active
        } else {
            aws_sdk_iam::types::StatusType::Inactive
        };
        self.iam
            .update_access_key()
            .user_name(user)
            .access_key_id(key)
            .status(status)
            .send()
            .await
            .map_err(|e| sdk_error("iam:UpdateAccessKey", e))?;
        Ok(())
    }

    /// Tag a user (`keyless:...` records of a migration).
    pub async fn tag_user(&self, user: &str, key: &str, value: &str) -> Result<()> {
        let tag = aws_sdk_iam::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(internal)?;
        self.iam
            .tag_user()
            .user_name(user)
            .tags(tag)
            .send()
            .await
            .map_err(|e| sdk_error("iam:TagUser", e))?;
        Ok(())
    }

    /// Remove a user's tag.
    pub async fn untag_user(&self, user: &str, key: &str) -> Result<()> {
        self.iam
            .untag_user()
            .user_name(user)
            .tag_keys(key)
            .send()
            .await
            .map_err(|e| sdk_error("iam:UntagUser", e))?;
        Ok(())
    }

    /// When a role was last used (`RoleLastUsed`), `None` when never (or it does not exist).
    pub async fn role_last_used(&self, name: &str) -> Result<Option<i64>> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(r) => Ok(r
                .role()
                .and_then(|r| r.role_last_used())
                .and_then(|u| u.last_used_date())
                .map(|d| d.secs())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error("iam:GetRole", e)),
        }
    }

    /// Delete an access key.
    pub async fn delete_key(&self, user: &str, key: &str) -> Result<()> {
        self.iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(key)
            .send()
            .await
            .map_err(|e| sdk_error("iam:DeleteAccessKey", e))?;
        Ok(())
    }

    /// Delete a user when nothing else is left on it: no access key, no console password, no
    /// group; its own inline policies are deleted and managed ones detached first. `Ok(false)`
    /// (and nothing changed) when something else remains, with what it is.
    pub async fn delete_user_if_bare(&self, user: &str) -> Result<std::result::Result<(), String>> {
        let (keys, groups, login) = tokio::join!(
            self.iam.list_access_keys().user_name(user).send(),
            self.iam.list_groups_for_user().user_name(user).send(),
            self.iam.get_login_profile().user_name(user).send(),
        );
        let keys = keys.map_err(|e| sdk_error("iam:ListAccessKeys", e))?;
        if !keys.access_key_metadata().is_empty() {
            return Ok(Err(format!(
                "user {user} has {} other access key(s)",
                keys.access_key_metadata().len()
            )));
        }
        let groups = groups.map_err(|e| sdk_error("iam:ListGroupsForUser", e))?;
        if !groups.groups().is_empty() {
            return Ok(Err(format!("user {user} is in group(s)")));
        }
        if login.is_ok() {
            return Ok(Err(format!("user {user} has a console password")));
        }
        let inline = self
            .iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_error("iam:ListUserPolicies", e))?;
        for p in inline.policy_names() {
            self.iam
                .delete_user_policy()
                .user_name(user)
                .policy_name(p)
                .send()
                .await
                .map_err(|e| sdk_error("iam:DeleteUserPolicy", e))?;
        }
        let attached = self
            .iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_error("iam:ListAttachedUserPolicies", e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                self.iam
                    .detach_user_policy()
                    .user_name(user)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| sdk_error("iam:DetachUserPolicy", e))?;
            }
        }
        self.iam
            .delete_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_error("iam:DeleteUser", e))?;
        Ok(Ok(()))
    }
}
