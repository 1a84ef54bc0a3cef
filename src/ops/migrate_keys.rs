//! `migrate-keys` in one account: observe where a repository stands on its way from a stored
//! key to a role ([`observe`]), and make one step: the role that does what the key did
//! ([`replacement`]), the workflows switched ([`switched_workflows`], [`record_switch`]), the
//! key deactivated or restored ([`deactivate`]), and, after the grace period, the secrets, the
//! key and a bare user deleted ([`delete`]). What the next step is, is the core's
//! ([`crate::state::key_migration`]); the binary asks, writes files and applies.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::artifacts::key_switch::{self, Switch};
use crate::config::Config;
use crate::config::setup::{self, Answers, RepoAnswer};
use crate::error::{Error, Result};
use crate::identity::repository::SubForm;
use crate::identity::subject::{Scope as SubjectScope, SubjectFormat, SubjectSpec};
use crate::io::github::GitHub;
use crate::io::github::stored::{FileInfo, PullInfo, SecretPlace};
use crate::ops::context::{Account, AccountContext};
use crate::ops::keys::{self, Inventory, Options as KeysOptions, Scope};
use crate::ops::usage::{self, Options as UsageOptions};
use crate::state::key_migration::{Facts, deactivated_tag, secrets_tag, switched_tag};
use crate::state::keys::{Certainty, Evidence, IamKey, SecretScope, StoredSecret};
use crate::state::render::{RenderedPolicy, RoleDocuments};
use crate::state::tighten::{self, Change, Options as TightenOptions, Outcome};

/// Where a repository stands.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The repository, as GitHub names it.
    pub repo: String,
    /// What `keys` found for it.
    pub inventory: Inventory,
    /// The key linked to it with evidence naming it (identified or tagged).
    pub key: Option<IamKey>,
    /// The secrets (in the repository, its environments, its organisation) holding the key.
    pub secrets: Vec<StoredSecret>,
    /// The config role trusting the repository.
    pub role: Option<String>,
    /// The facts the next step is decided from.
    pub facts: Facts,
}

/// Read where `repo` stands: its secrets and workflows, the key linked to it, the config's
/// role for it, and the records on the user.
pub async fn observe(
    ctx: &AccountContext<'_>,
    gh: &GitHub,
    repo: &str,
    in_sync: bool,
    grace_days: u32,
    now: i64,
) -> Result<Observed> {
    let a = &ctx.account;
    // The account's keys, read once: the secrets a switch recorded on a user (no workflow
    // passes them any more) widen what GitHub's side lists; then the keys are linked.
    let users = a.aws.user_keys().await?;
    let recorded: Vec<String> = users
        .iter()
        .flat_map(|u| u.keys.iter())
        .filter_map(|k| {
            k.tags
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(&secrets_tag(repo)))
                .map(|(_, v)| v.clone())
        })
        .flat_map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect();
    let opts = KeysOptions {
        cloudtrail: true,
        days: 90,
        now,
        grants: false,
    };
    let scope = Scope {
        repos: vec![repo.to_string()],
        owner: None,
        names: recorded.clone(),
    };
    let side = keys::github_side(gh, &scope, &opts).await?;
    let inventory = keys::link_users(a, &side, users, &opts).await?;
    let full = inventory
        .repos
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| repo.to_string());
    // Only a link naming this repository counts; a key merely used from GitHub is not enough.
    let linked: Vec<_> = inventory
        .links
        .iter()
        .filter(|l| l.certainty >= Certainty::Tagged && l.repos.contains(&full))
        .collect();
    if linked.len() > 1 {
        return Err(Error::NotInConfig {
            message: format!(
                "several keys are linked to {full}: {}",
                linked.iter().map(|l| l.key_id.as_str()).collect::<Vec<_>>().join(", ")
            ),
            fix: "migrate-keys moves one key per repository: retire the others by hand, or split the workflows".into(),
        });
    }
    let key = linked
        .first()
        .and_then(|l| inventory.keys.iter().find(|k| k.key_id == l.key_id))
        .cloned();
    // The secrets holding the key: those this repository's workflows pass as one. A secret
    // named like a key that no workflow passes is not known to hold this key: left alone.
    let secrets: Vec<StoredSecret> = inventory
        .secrets
        .iter()
        .filter(|s| !s.used_by.is_empty() || recorded.contains(&s.name))
        .cloned()
        .collect();
    let names: BTreeSet<String> = secrets.iter().map(|s| s.name.clone()).collect();
    let passing = inventory
        .uses
        .iter()
        .filter(|(r, u)| r == &full && u.secret.as_ref().is_some_and(|s| names.contains(s)))
        .count();
    let role = ctx
        .config
        .roles
        .iter()
        .find(|r| {
            r.subjects.iter().any(|s| match &s.spec {
                SubjectSpec::Repo { repo: r, .. } => r.full_name().eq_ignore_ascii_case(&full),
                SubjectSpec::Custom(sub) => sub.contains(&full),
            })
        })
        .map(|r| r.name.clone());
    let mut facts = Facts {
        key: key.as_ref().map(|k| k.key_id.clone()),
        key_exists: key.is_some(),
        key_active: key.as_ref().is_some_and(|k| k.active),
        role_in_config: role.is_some(),
        in_sync,
        passing,
        secrets_left: secrets.len(),
        grace_days,
        now,
        ..Facts::default()
    };
    if let Some(k) = &key {
        let tag = |name: &str| k.tags.get(name).and_then(|v| v.parse::<i64>().ok());
        facts.switched_at = tag(&switched_tag(&full));
        facts.deactivated_at = tag(&deactivated_tag(&k.key_id));
        facts.key_last_used = k.last_used;
        // What still uses the key since the switch, as CloudTrail recorded it.
        if let (Some(at), Some(l)) = (
            facts.switched_at,
            inventory.links.iter().find(|l| l.key_id == k.key_id),
        ) {
            for e in &l.evidence {
                let (when, what) = match e {
                    Evidence::Elsewhere {
                        source,
                        agent,
                        time,
                    } => (*time, format!("{source} ({agent})")),
                    Evidence::FromGitHubActions { ip, time } => {
                        (*time, format!("GitHub's runners ({ip})"))
                    }
                    Evidence::ActionUserAgent { time } => {
                        (*time, "configure-aws-credentials".into())
                    }
                    _ => continue,
                };
                if when >= at {
                    facts.key_last_used = Some(facts.key_last_used.map_or(when, |t| t.max(when)));
                    facts
                        .used_since_switch
                        .push(format!("{what} at {}", crate::io::aws::rfc3339(when)));
                }
            }
        }
        if let Some(r) = &role {
            facts.role_last_used = a.aws.role_last_used(r).await?;
        }
        // Other repositories the key is linked to that have not switched yet.
        let link = inventory.links.iter().find(|l| l.key_id == k.key_id);
        facts.others_pending = link
            .map(|l| {
                l.repos
                    .iter()
                    .filter(|r| **r != full && tag(&switched_tag(r)).is_none())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
    }
    Ok(Observed {
        repo: full,
        inventory,
        key,
        secrets,
        role,
        facts,
    })
}

/// The role replacing the key: config text with the role added (subject form and IDs from
/// GitHub, its own variable when the default is taken) and the inline policy of what the key's
/// user used (the user's grant as the ceiling, proven never wider), or why not.
pub struct Replacement {
    /// The role's name.
    pub role: String,
    /// keyless.toml with the role.
    pub text: String,
    /// Policy files to write beside it.
    pub files: Vec<(String, String)>,
    /// What tightening said about the user's use.
    pub outcome: Outcome,
}

/// How to build the replacement.
#[derive(Debug, Clone)]
pub struct ReplaceOptions {
    /// The branch the role admits.
    pub branch: String,
    /// Records for the usage engine.
    pub usage: UsageOptions,
    /// Refuse on fewer days of records.
    pub min_days: u32,
}

/// The role for `o` replacing its key, as a config edit.
pub async fn replacement(
    account: &Account<'_>,
    gh: &GitHub,
    cfg: &Config,
    source_text: &str,
    o: &Observed,
    opts: &ReplaceOptions,
) -> Result<Replacement> {
    let Some(key) = &o.key else {
        return Err(Error::NotInConfig {
            message: format!("no key is linked to {} with evidence", o.repo),
            fix: "run `keyless keys identify` in one of its workflows first".into(),
        });
    };
    let info = gh.repository(&o.repo).await?;
    let settings = gh.subject_settings(&info.full_name).await?;
    let format = match settings.form() {
        SubForm::Immutable => SubjectFormat::Immutable,
        SubForm::Classic => SubjectFormat::Classic,
        SubForm::Custom(_) => {
            return Err(Error::NotInConfig {
                message: format!("{} mints a custom subject template", o.repo),
                fix: "add its role with `keyless init --add` (which reads the template), then run migrate-keys again".into(),
            });
        }
    };
    let scope = SubjectScope::Branch(opts.branch.clone());
    let role = setup::suggest_role_name(&info.full_name, &scope);
    let answers = Answers {
        config_name: cfg.name.clone(),
        account_id: cfg.account_id.clone(),
        region: cfg.region.clone().unwrap_or_else(|| "us-east-1".into()),
        issuer: cfg.issuer.clone(),
        repos: vec![RepoAnswer {
            repo: info.full_name.clone(),
            scope,
            ids: Some((info.owner_id.to_string(), info.id.to_string())),
            format,
            custom: None,
            owner_pin: None,
            owner_id: Some(info.owner_id.to_string()),
        }],
        presets: vec![],
        managed_policies: vec![],
        role_name: role.clone(),
        max_session_duration: 3600,
        variable: None,
    };
    let with_role = setup::add_role(source_text, &cfg.file, &cfg.dir, &answers)?;
    // What the key's user used, within what it is granted.
    let (read, _) = usage::for_arns(
        account,
        std::slice::from_ref(&key.user_arn),
        &opts.usage,
        &|_| {},
    )
    .await?;
    let Some((used, grant)) = read.into_iter().next() else {
        return Err(Error::NotInConfig {
            message: format!("user {}'s records could not be read", key.user),
            fix: "run migrate-keys again".into(),
        });
    };
    let docs = RoleDocuments {
        name: role.clone(),
        arn: key.user_arn.clone(),
        path: "/".into(),
        description: None,
        max_session_duration: 3600,
        permissions_boundary: None,
        tags: Default::default(),
        subjects: vec![],
        trust_policy: json!({}),
        policies: grant
            .documents
            .iter()
            .map(|(name, d)| RenderedPolicy {
                name: name.clone(),
                attach: "inline",
                source: format!("user {}", key.user),
                document: d.clone(),
            })
            .collect(),
        managed_policy_arns: grant.unread.clone(),
        findings: vec![],
        adopt: false,
        allow: vec![],
    };
    let outcome = tighten::propose(
        &docs,
        &used.usage,
        used.days,
        TightenOptions {
            min_days: opts.min_days,
            exact_resources: false,
        },
    );
    let document: Value = match &outcome {
        Outcome::Proposed(p) => match &p.change {
            Some(Change::Inline { document, .. }) => document.clone(),
            // Everything the user holds was used: the same grant, as one document.
            _ => json!({
                "Version": "2012-10-17",
                "Statement": grant
                    .documents
                    .iter()
                    .flat_map(|(_, d)| crate::policy::document::statements(d).into_iter().cloned().map(Value::Object))
                    .collect::<Vec<_>>(),
            }),
        },
        Outcome::Refused { reason, .. } => {
            return Err(Error::NotInConfig {
                message: format!("the role cannot be given what user {} used: {reason}", key.user),
                fix: "wait for more records, or pass --min-days; or add the role by hand (keyless init --add) and run migrate-keys again".into(),
            });
        }
    };
    let parsed = crate::config::parse(&with_role, &cfg.file, &cfg.dir)?;
    let Some(new_role) = parsed.roles.iter().find(|r| r.name == role) else {
        return Err(Error::NotInConfig {
            message: format!("role {role} is not in the edited config"),
            fix: "run migrate-keys again".into(),
        });
    };
    let change = Change::Inline {
        name: tighten::INLINE_NAME.into(),
        document,
    };
    let (text, files) = tighten::edit_config(&with_role, &cfg.file, &[(new_role, &change)])?;
    Ok(Replacement {
        role,
        text,
        files,
        outcome,
    })
}

/// One workflow switched: the file as it is, its new text, what changed.
#[derive(Debug, Clone)]
pub struct SwitchedFile {
    /// The file on the default branch.
    pub file: FileInfo,
    /// Its new text.
    pub text: String,
    /// What changed, one line each.
    pub changes: Vec<String>,
}

/// The branch a switch is proposed on.
pub const SWITCH_BRANCH: &str = "keyless/migrate-keys";

/// The repository's workflows switched from the key to the role's variable, each that passed
/// the key.
pub async fn switched_workflows(
    gh: &GitHub,
    o: &Observed,
    variable: &str,
    region: &str,
) -> Result<Vec<SwitchedFile>> {
    let sw = Switch {
        variable: variable.to_string(),
        region: region.to_string(),
        secrets: o.secrets.iter().map(|s| s.name.clone()).collect(),
    };
    let mut out = Vec::new();
    for file in gh.workflow_files(&o.repo).await? {
        match key_switch::switch_workflow(&file.path, &file.text, &sw) {
            Ok(Some(s)) => out.push(SwitchedFile {
                file,
                text: s.text,
                changes: s.changes,
            }),
            Ok(None) => {}
            Err(e) => {
                return Err(Error::NotInConfig {
                    message: e,
                    fix: "edit that workflow by hand, then run migrate-keys again".into(),
                });
            }
        }
    }
    Ok(out)
}

/// The switch proposed as a pull request: a branch from `base`, one commit per file, and the
/// pull request with `body` (the plan); an open one from the same branch is reused.
pub async fn open_switch_pull(
    gh: &GitHub,
    o: &Observed,
    files: &[SwitchedFile],
    base: &str,
    body: &str,
) -> Result<PullInfo> {
    if let Some(p) = gh.pull_from(&o.repo, SWITCH_BRANCH).await? {
        return Ok(p);
    }
    let sha = gh.branch_sha(&o.repo, base).await?;
    gh.create_branch(&o.repo, SWITCH_BRANCH, &sha).await?;
    for f in files {
        gh.put_file(
            &o.repo,
            SWITCH_BRANCH,
            &f.file,
            &f.text,
            &format!(
                "Assume the AWS role instead of the stored key ({})",
                f.file.path
            ),
        )
        .await?;
    }
    gh.open_pull(
        &o.repo,
        SWITCH_BRANCH,
        base,
        "Use the AWS role (OIDC) instead of the stored AWS key",
        body,
    )
    .await
}

/// Record on the key's user that the repository switched now, and which secrets held the key
/// (they are deleted at the end, once no workflow passes them any more).
pub async fn record_switch(account: &Account<'_>, o: &Observed, now: i64) -> Result<()> {
    if let Some(k) = &o.key {
        let names: Vec<&str> = o.secrets.iter().map(|s| s.name.as_str()).collect();
        account
            .aws
            .tag_user(&k.user, &secrets_tag(&o.repo), &names.join(" "))
            .await?;
        account
            .aws
            .tag_user(&k.user, &switched_tag(&o.repo), &now.to_string())
            .await?;
    }
    Ok(())
}

/// Deactivate the key (recorded on the user), or with `undo` reactivate one keyless
/// deactivated.
pub async fn deactivate(account: &Account<'_>, o: &Observed, now: i64, undo: bool) -> Result<()> {
    let Some(k) = &o.key else { return Ok(()) };
    if undo {
        account.aws.set_key_active(&k.user, &k.key_id, true).await?;
        account
            .aws
            .untag_user(&k.user, &deactivated_tag(&k.key_id))
            .await?;
    } else {
        account
            .aws
            .tag_user(&k.user, &deactivated_tag(&k.key_id), &now.to_string())
            .await?;
        account
            .aws
            .set_key_active(&k.user, &k.key_id, false)
            .await?;
    }
    Ok(())
}

/// Delete the secrets holding the key (an organisation secret only when no other repository
/// reads it), then the key, then the user when nothing else is left on it. Each line says
/// what was done or left.
pub async fn delete(account: &Account<'_>, gh: &GitHub, o: &Observed) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for s in &o.secrets {
        match &s.scope {
            SecretScope::Repository { repo } => {
                gh.delete_secret(&SecretPlace::Repository(repo), &s.name)
                    .await?;
                done.push(format!("deleted secret {} of {repo}", s.name));
            }
            SecretScope::Environment { repo, environment } => {
                gh.delete_secret(&SecretPlace::Environment(repo, environment), &s.name)
                    .await?;
                done.push(format!(
                    "deleted secret {} of {repo} ({environment})",
                    s.name
                ));
            }
            SecretScope::Organization { org, reaches, .. } => {
                let others: Vec<&String> = reaches.iter().filter(|r| **r != o.repo).collect();
                if others.is_empty() {
                    gh.delete_secret(&SecretPlace::Organization(org), &s.name)
                        .await?;
                    done.push(format!("deleted organisation secret {} of {org}", s.name));
                } else {
                    done.push(format!(
                        "kept organisation secret {} of {org}: {} still read it",
                        s.name,
                        others
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
    }
    if let Some(k) = &o.key {
        account.aws.delete_key(&k.user, &k.key_id).await?;
        done.push(format!(
            "deleted access key {} of user {}",
            k.key_id, k.user
        ));
        match account.aws.delete_user_if_bare(&k.user).await? {
            Ok(()) => done.push(format!(
                "deleted user {} (nothing else was left on it)",
                k.user
            )),
            Err(why) => done.push(format!("kept user {}: {why}", k.user)),
        }
    }
    Ok(done)
}
