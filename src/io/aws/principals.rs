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
            let (role, created) = tokio::join!(
                self.read_role(name),
                self.iam.get_role().role_name(name).send()
            );
            let Some(role) = role? else {
                return Ok(Grant::default());
            };
            let created = created
                .ok()
                .and_then(|r| r.role().map(|r| r.create_date().secs()));
            let mut g = Grant {
                documents: role.inline_policies.into_iter().collect(),
                created,
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
