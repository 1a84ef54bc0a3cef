//! `keyless keys` in one account: every stored AWS key GitHub holds for the repositories read
//! (their own, their environments', their organisation's), the workflows that pass them, every
//! IAM user's access key (the credential report), and what links them: CloudTrail's record of
//! each active key's calls (from GitHub's hosted-runner ranges, with configure-aws-credentials'
//! user agent, or from `keyless keys identify`), and tags naming a repository. Read-only.
//! The judgement (links, findings) is the core's: [`crate::state::keys`].

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::Value;

use crate::error::Result;
use crate::io::aws::cloudtrail::{Lookup, PACE};
use crate::io::aws::principals::UserKeys;
use crate::io::github::GitHub;
use crate::io::github::stored::SecretInfo;
use crate::ops::context::Account;
use crate::policy::lint::Finding;
use crate::state::keys::{
    self, IamKey, KeyUse, Link, SecretScope, StoredSecret, looks_like_aws_key,
};

/// Which repositories to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `owner/repo` each.
    pub repos: Vec<String>,
    /// Every repository of this organisation too.
    pub owner: Option<String>,
    /// Secrets to list whatever their names (those a migration recorded as holding a key).
    pub names: Vec<String>,
}

/// How to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Read CloudTrail event history for each active key.
    pub cloudtrail: bool,
    /// Days of event history (at most 90).
    pub days: u32,
    /// The moment the window ends (seconds since the epoch).
    pub now: i64,
    /// Also read each key's user's policies (for the trust map).
    pub grants: bool,
}

/// A workflow file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unreadable {
    /// `owner/repo`
    pub repo: String,
    /// The file.
    pub file: String,
    /// Why.
    pub error: String,
}

/// What `keys` found.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The repositories read: `owner/repo` → ID.
    pub repos: BTreeMap<String, u64>,
    /// Stored secrets that hold AWS keys (by name or by use).
    pub secrets: Vec<StoredSecret>,
    /// Every place a workflow passes a key.
    pub uses: Vec<(String, KeyUse)>,
    /// Workflow files that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// Every IAM user's access key.
    pub keys: Vec<IamKey>,
    /// What links each key to GitHub.
    pub links: Vec<Link>,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
    /// LookupEvents requests made.
    pub lookups: u64,
    /// Each key's user's policy documents, when asked for: user → (name, document).
    pub grants: BTreeMap<String, Vec<(String, Value)>>,
}

/// What one repository holds.
struct RepoRead {
    full: String,
    own: Vec<SecretInfo>,
    envs: Vec<(String, Vec<SecretInfo>)>,
    org_visible: Vec<String>,
    files: Vec<crate::io::github::stored::FileInfo>,
}

async fn read_repo(gh: &GitHub, full: String) -> Result<RepoRead> {
    let (own, envs, org_visible, files) = tokio::join!(
        gh.repo_secrets(&full),
        gh.environments(&full),
        gh.repo_org_secrets(&full),
        gh.workflow_files(&full),
    );
    let envs = envs?;
    let env_secrets = join_all(envs.iter().map(|e| gh.env_secrets(&full, e))).await;
    let mut per_env = Vec::new();
    for (e, s) in envs.into_iter().zip(env_secrets) {
        per_env.push((e, s?));
    }
    Ok(RepoRead {
        own: own?,
        envs: per_env,
        org_visible: org_visible?.into_iter().map(|s| s.name).collect(),
        files: files?,
        full,
    })
}

/// GitHub's side, read once for any number of accounts.
#[derive(Debug, Clone)]
pub struct GitHubSide {
    /// The repositories read: `owner/repo` → ID.
    pub repos: BTreeMap<String, u64>,
    /// Stored secrets that hold AWS keys (by name or by use).
    pub secrets: Vec<StoredSecret>,
    /// Every place a workflow passes a key.
    pub uses: Vec<(String, KeyUse)>,
    /// Workflow files that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// GitHub's hosted-runner ranges (read when CloudTrail is).
    pub ranges: Vec<String>,
}

/// GitHub's side of the inventory: the repositories, their secrets and workflows.
pub async fn github_side(gh: &GitHub, scope: &Scope, opts: &Options) -> Result<GitHubSide> {
    // The repositories, by name and ID (IDs name a repository in `keys identify` evidence).
    let mut repos: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(org) = &scope.owner {
        repos.extend(gh.org_repos(org).await?);
    }
    let named = join_all(scope.repos.iter().map(|r| gh.repository(r))).await;
    for info in named {
        let info = info?;
        repos.insert(info.full_name, info.id);
    }
    let reads: Vec<Result<RepoRead>> =
        futures_util::stream::iter(repos.keys().cloned().map(|full| read_repo(gh, full)))
            .buffer_unordered(8)
            .collect()
            .await;
    let mut reads = reads.into_iter().collect::<Result<Vec<_>>>()?;
    reads.sort_by(|a, b| a.full.cmp(&b.full));
    // Workflows first: a secret is an AWS key by its name, or by being passed as one.
    let mut uses: Vec<(String, KeyUse)> = Vec::new();
    let mut unreadable = Vec::new();
    for r in &reads {
        for f in &r.files {
            let (path, text) = (&f.path, &f.text);
            match keys::scan_workflow(path, text) {
                Ok(found) => uses.extend(found.into_iter().map(|u| (r.full.clone(), u))),
                Err(error) => unreadable.push(Unreadable {
                    repo: r.full.clone(),
                    file: path.clone(),
                    error,
                }),
            }
        }
    }
    let used_in = |repo: &str, name: &str| -> Vec<KeyUse> {
        uses.iter()
            .filter(|(r, u)| r == repo && u.secret.as_deref() == Some(name))
            .map(|(_, u)| u.clone())
            .collect()
    };
    let mut secrets = Vec::new();
    for r in &reads {
        for s in &r.own {
            let used_by = used_in(&r.full, &s.name);
            if looks_like_aws_key(&s.name) || !used_by.is_empty() || scope.names.contains(&s.name) {
                secrets.push(StoredSecret {
                    name: s.name.clone(),
                    scope: SecretScope::Repository {
                        repo: r.full.clone(),
                    },
                    updated_at: s.updated_at.clone(),
                    used_by,
                });
            }
        }
        for (env, list) in &r.envs {
            for s in list {
                let used_by = used_in(&r.full, &s.name);
                if looks_like_aws_key(&s.name)
                    || !used_by.is_empty()
                    || scope.names.contains(&s.name)
                {
                    secrets.push(StoredSecret {
                        name: s.name.clone(),
                        scope: SecretScope::Environment {
                            repo: r.full.clone(),
                            environment: env.clone(),
                        },
                        updated_at: s.updated_at.clone(),
                        used_by,
                    });
                }
            }
        }
    }
    // Organisation secrets: the owners of the repositories read.
    let orgs: BTreeSet<String> = repos
        .keys()
        .filter_map(|f| f.split_once('/').map(|(o, _)| o.to_string()))
        .collect();
    for org in orgs {
        let Some(list) = gh.org_secrets(&org).await? else {
            continue;
        };
        for s in list {
            // Passed by a repository that sees it and has no secret of its own by that name.
            let used_by: Vec<KeyUse> = reads
                .iter()
                .filter(|r| {
                    r.org_visible.contains(&s.name) && !r.own.iter().any(|o| o.name == s.name)
                })
                .flat_map(|r| used_in(&r.full, &s.name))
                .collect();
            if !looks_like_aws_key(&s.name) && used_by.is_empty() && !scope.names.contains(&s.name)
            {
                continue;
            }
            let visibility = s.visibility.clone().unwrap_or_else(|| "all".into());
            let mut reaches = if visibility == "selected" {
                gh.org_secret_repos(&org, &s.name).await?
            } else {
                reads
                    .iter()
                    .filter(|r| {
                        r.full.starts_with(&format!("{org}/")) && r.org_visible.contains(&s.name)
                    })
                    .map(|r| r.full.clone())
                    .collect()
            };
            reaches.sort();
            reaches.dedup();
            secrets.push(StoredSecret {
                name: s.name.clone(),
                scope: SecretScope::Organization {
                    org: org.clone(),
                    visibility,
                    reaches,
                },
                updated_at: s.updated_at.clone(),
                used_by,
            });
        }
    }
    let ranges = if opts.cloudtrail {
        gh.actions_ranges().await?
    } else {
        vec![]
    };
    Ok(GitHubSide {
        repos,
        secrets,
        uses,
        unreadable,
        ranges,
    })
}

/// One account's side: every user's keys, each active key's calls, the evidence linking them
/// to the repositories of `side`, and the findings.
pub async fn account_side(
    account: &Account<'_>,
    side: &GitHubSide,
    opts: &Options,
) -> Result<Inventory> {
    let users = account.aws.user_keys().await?;
    link_users(account, side, users, opts).await
}

/// [`account_side`] for the account's users and keys already read
/// ([`crate::io::aws::Aws::user_keys`]).
pub async fn link_users(
    account: &Account<'_>,
    side: &GitHubSide,
    users: Vec<UserKeys>,
    opts: &Options,
) -> Result<Inventory> {
    let GitHubSide {
        repos,
        secrets,
        uses,
        unreadable,
        ranges,
    } = side.clone();
    // AWS: every user's keys; then each active key's calls, and the evidence.
    let all_keys: Vec<IamKey> = users.into_iter().flat_map(|u| u.keys).collect();
    let by_id: BTreeMap<u64, String> = repos.iter().map(|(f, id)| (*id, f.clone())).collect();
    let home = account.aws.region();
    let start = opts.now - i64::from(opts.days.clamp(1, 90)) * 86_400;
    let mut lookups = 0;
    let mut links = Vec::new();
    // One key after another, each Region's lookups spaced at CloudTrail's pace (2 a second
    // per Region, shared by every lookup in it).
    let mut seen = BTreeSet::new();
    for k in all_keys.iter().filter(|k| k.active && opts.cloudtrail) {
        let mut regions: BTreeSet<String> = BTreeSet::from([home.clone()]);
        regions.extend(k.last_region.clone());
        let mut records: Vec<Value> = Vec::new();
        for region in regions {
            if lookups > 0 {
                tokio::time::sleep(PACE).await;
            }
            let got = account
                .aws
                .lookup_events(
                    &Lookup {
                        region,
                        start,
                        end: opts.now,
                        attribute: Some(("AccessKeyId".into(), k.key_id.clone())),
                        max_events: 5_000,
                    },
                    &|_, _| {},
                )
                .await?;
            lookups += got.requests;
            records.extend(got.records);
        }
        seen.insert(k.key_id.clone());
        links.push(keys::link(k, &records, &ranges, &by_id));
    }
    for k in all_keys.iter().filter(|k| !seen.contains(&k.key_id)) {
        links.push(keys::link(k, &[], &ranges, &by_id));
    }
    let findings = keys::findings(&secrets, &all_keys, &links, opts.now);
    let mut grants = BTreeMap::new();
    if opts.grants {
        let arns: Vec<&str> = all_keys
            .iter()
            .map(|k| k.user_arn.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let read = join_all(arns.iter().map(|a| account.aws.principal_grant(a))).await;
        for (arn, g) in arns.iter().zip(read) {
            let user = arn.rsplit('/').next().unwrap_or(arn).to_string();
            grants.insert(user, g?.documents);
        }
    }
    Ok(Inventory {
        repos,
        secrets,
        uses,
        unreadable,
        keys: all_keys,
        links,
        findings,
        lookups,
        grants,
    })
}
