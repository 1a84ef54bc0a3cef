//! plan, destroy and apply in one account: render (refusing blocking findings), read IAM and
//! GitHub, decide, and (apply) make the changes with the executors. The confirmation between
//! plan and apply is the caller's.

use std::sync::atomic::AtomicBool;

use crate::error::{Error, Result};
use crate::io::execute::{self, Progress};
use crate::ops::context::{AccountContext, RenderOptions};
use crate::ops::github;
use crate::state::github_plan::{self, GitHubChange, GitHubPlan};
use crate::state::observed::{Observed, OtherTags, OtherTrusts, Others, Owner, ReadChoice};
use crate::state::plan::{self, Plan};
use crate::state::render::{self, Rendered};

/// A plan and the documents it was computed from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The desired state, rendered for the account.
    pub rendered: Rendered,
    /// The IAM changes.
    pub plan: Plan,
    /// The GitHub half (variables, environments), when GitHub's variables are planned.
    pub github: Option<GitHubPlan>,
    /// A removal (destroy) rather than an apply.
    pub destroy: bool,
    /// How IAM was read (role by role, or the whole account).
    pub read: ReadChoice,
}

impl Planned {
    /// IAM and GitHub changes together.
    pub fn len(&self) -> usize {
        self.plan.changes.len() + self.github.as_ref().map_or(0, |g| g.changes.len())
    }

    /// Nothing to do on either side.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What IAM holds for the rendered roles, and how it was read.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The config's provider, roles and policies.
    pub observed: Observed,
    /// The trusts of the account's other roles (empty unless asked for).
    pub others: OtherTrusts,
    /// The other roles' tags the read brought (the account read: all of them; role by role:
    /// none).
    pub other_tags: OtherTags,
    /// Role by role, or the whole account.
    pub path: ReadChoice,
}

/// Render the config for the account; with GitHub's facts (KL016) when asked and GitHub is
/// read; stop on blocking findings when asked, before anything reads the account.
pub async fn render(ctx: &AccountContext<'_>, opts: RenderOptions) -> Result<Rendered> {
    let mut rendered = render::render(&ctx.config, ctx.templates, &ctx.account.target)?;
    if opts.with_github
        && let Some(gh) = ctx.account.github
    {
        github::add_findings(&ctx.config, gh, &mut rendered).await?;
    }
    if opts.refuse_blocking {
        refuse_blocking(&rendered)?;
    }
    Ok(rendered)
}

/// [`Error::LintBlocked`] naming each blocking finding, when there is one.
pub fn refuse_blocking(rendered: &Rendered) -> Result<()> {
    let findings: Vec<String> = rendered
        .findings()
        .filter(|f| f.blocks())
        .map(|f| f.text())
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    Err(Error::LintBlocked {
        count: findings.len(),
        findings,
    })
}

/// What IAM holds for `rendered`, with what `others` asks of the account's other roles.
pub async fn observe(
    ctx: &AccountContext<'_>,
    rendered: &Rendered,
    others: Others,
) -> Result<Seen> {
    let a = &ctx.account;
    let (observed, others, other_tags, path) = a
        .aws
        .observe_by(rendered, a.settings.concurrency, a.settings.reads, others)
        .await?;
    Ok(Seen {
        observed,
        others,
        other_tags,
        path,
    })
}

/// Render (refusing blocking findings, with GitHub's facts), read the account and GitHub, and
/// plan the apply.
pub async fn plan(ctx: &AccountContext<'_>) -> Result<Planned> {
    let rendered = render(
        ctx,
        RenderOptions {
            refuse_blocking: true,
            with_github: true,
        },
    )
    .await?;
    let seen = observe(ctx, &rendered, Others::Trusts).await?;
    let mut plan = plan::plan(&rendered, &seen.observed)?;
    let removed = removed_roles(ctx, &rendered, &seen).await?;
    plan::remove_roles(&rendered, &seen.observed, &removed, &mut plan);
    let github = variables(ctx, &rendered)
        .await?
        .map(|(wanted, held)| github_plan::plan(&wanted, &held));
    if let Some(g) = github.as_ref().filter(|g| !g.refused.is_empty()) {
        return Err(Error::Refused(g.refused.clone()));
    }
    Ok(Planned {
        rendered,
        plan,
        github,
        destroy: false,
        read: seen.path,
    })
}

/// Render (with GitHub's facts, blocking findings allowed: removing is always possible), read
/// the account and plan the removal of the config's resources and of the variables keyless set.
pub async fn plan_destroy(ctx: &AccountContext<'_>) -> Result<Planned> {
    let rendered = render(
        ctx,
        RenderOptions {
            refuse_blocking: false,
            with_github: true,
        },
    )
    .await?;
    let seen = observe(ctx, &rendered, Others::Trusts).await?;
    let removed = removed_roles(ctx, &rendered, &seen).await?;
    // The roles this destroy removes do not keep the provider.
    let others: OtherTrusts = seen
        .others
        .iter()
        .filter(|(n, _)| rendered.keep_removed_roles || !removed.roles.iter().any(|r| r.name == *n))
        .cloned()
        .collect();
    let mut plan = plan::destroy(&rendered, &seen.observed, &others)?;
    plan::remove_roles(&rendered, &seen.observed, &removed, &mut plan);
    let github = variables(ctx, &rendered)
        .await?
        .map(|(wanted, held)| github_plan::destroy(&wanted, &held));
    Ok(Planned {
        rendered,
        plan,
        github,
        destroy: true,
        read: seen.path,
    })
}

/// The roles outside the config that trust its provider and carry its tag (taken out of
/// keyless.toml since they were made), read in full with their attached policies.
async fn removed_roles(
    ctx: &AccountContext<'_>,
    rendered: &Rendered,
    seen: &Seen,
) -> Result<plan::Removed> {
    let a = &ctx.account;
    let trusting = crate::state::drift::trusting_provider(rendered, &seen.others);
    if trusting.is_empty() {
        return Ok(plan::Removed::default());
    }
    let tags = a.aws.role_tags(&trusting, a.settings.concurrency).await?;
    let mut removed = plan::Removed::default();
    for (name, t) in &tags {
        if !matches!(Owner::of(t), Owner::Config(c) if c == rendered.config) {
            continue;
        }
        let Some(role) = a.aws.read_role(name).await? else {
            continue;
        };
        for arn in &role.attached_policies {
            if !removed.policies.contains_key(arn) {
                removed
                    .policies
                    .insert(arn.clone(), a.aws.read_policy(arn).await?);
            }
        }
        removed.roles.push(role);
    }
    Ok(removed)
}

/// The variables wanted and held, when GitHub is read and its variables are this run's.
async fn variables(
    ctx: &AccountContext<'_>,
    rendered: &Rendered,
) -> Result<
    Option<(
        Vec<github_plan::WantedVariable>,
        github_plan::ObservedGitHub,
    )>,
> {
    match ctx.account.github {
        Some(gh) if ctx.account.settings.github_variables => Ok(Some(
            github::variables(&ctx.config, &rendered.target, gh, &ctx.account.aws).await?,
        )),
        _ => Ok(None),
    }
}

/// What an apply made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// IAM changes made.
    pub iam: usize,
    /// GitHub changes made.
    pub github: usize,
}

impl Applied {
    /// Both sides together.
    pub fn total(&self) -> usize {
        self.iam + self.github
    }
}

/// One step of an apply, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// An IAM change starts or is done.
    Iam(Progress<'a>),
    /// A GitHub change starts.
    GitHub(&'a GitHubChange),
}

/// Make a plan's changes: IAM first (the executor, concurrent where independent), then GitHub's
/// in order. Stops between calls when `cancel` is set; a failure names how far it got. After
/// the writes, the account is read back (the config's roles, policies and provider, concurrently)
/// and planned again: anything left to do means another run changed the account meanwhile, and
/// is reported as [`Error::Concurrent`] instead of success.
pub async fn apply(
    ctx: &AccountContext<'_>,
    planned: &Planned,
    cancel: &AtomicBool,
    mut progress: impl FnMut(Step<'_>),
) -> Result<Applied> {
    let outcome = execute::execute(&planned.plan, &ctx.account.aws, cancel, |p| {
        progress(Step::Iam(p))
    })
    .await?;
    let iam = outcome.applied;
    let github = match (&planned.github, ctx.account.github) {
        (Some(plan), Some(gh)) => {
            execute::execute_github(plan, gh, cancel, |c| progress(Step::GitHub(c)))
                .await
                .map_err(|e| match e {
                    // One report for both sides: the IAM writes before it were made.
                    Error::Partial {
                        change,
                        api,
                        done,
                        total,
                        source,
                        ..
                    } => Error::Partial {
                        change,
                        api,
                        done,
                        total,
                        source,
                        earlier: iam,
                    },
                    other => other,
                })?
        }
        _ => 0,
    };
    if iam > 0
        && let Some(subset) = to_read_back(planned, &outcome.existing)
    {
        // IAM is eventually consistent: a difference must outlast a short wait to count.
        let mut left = read_back(ctx, planned, &subset).await?;
        for wait_ms in [300, 1200] {
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
            left = read_back(ctx, planned, &subset).await?;
        }
        if !left.is_empty() {
            return Err(Error::Concurrent {
                applied: iam + github,
                changes: left,
            });
        }
    }
    Ok(Applied { iam, github })
}

/// What the read-back after an apply must read: the desired state cut down to what a
/// concurrent run could have changed under this one, or `None` when that is nothing.
///
/// The argument: a `Create*` call that succeeded proves what it created, at that moment, and
/// everything this run then did to that entity (attach, put inline, tag) was its own call on
/// its own entity, whose success proves it too. What another run can change meanwhile is an
/// entity that existed before this one touched it: the shared OIDC provider (when this run did
/// not create it), a role or policy this run only updated, and anything a create found already
/// there ("already exists", [`execute::Made::Existing`]). Only those are read back. A destroy
/// is read back whole: the provider it keeps or deletes depends on roles it did not touch.
fn to_read_back(planned: &Planned, existing: &[usize]) -> Option<Rendered> {
    use crate::state::plan::Change;
    if planned.destroy {
        return Some(planned.rendered.clone());
    }
    let changes = &planned.plan.changes;
    let made = |i: usize| !existing.contains(&i);
    let provider_made = changes
        .iter()
        .enumerate()
        .any(|(i, c)| matches!(c, Change::CreateProvider { .. }) && made(i));
    // Roles this run created; every other role it touched (directly, or through a policy of
    // its own that it created or updated) is read back.
    let created: std::collections::BTreeSet<&str> = changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Change::CreateRole { role, .. } if made(i) => Some(role.as_str()),
            _ => None,
        })
        .collect();
    let owner_of_policy = |arn: &str| {
        planned.rendered.roles.iter().find(|r| {
            r.policies
                .iter()
                .filter(|p| p.attach == "managed")
                .any(|p| plan::preset_policy_arn(&planned.rendered, r, &p.name) == arn)
        })
    };
    let mut reread: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for c in changes {
        let role = match c {
            // A policy's change (made by this call or found already there) is read back
            // through the role that owns it, unless this run created that role.
            Change::CreatePolicy { arn, .. }
            | Change::CreatePolicyVersion { arn, .. }
            | Change::TagPolicy { arn, .. } => owner_of_policy(arn).map(|r| r.name.as_str()),
            other => other.role(),
        };
        if let Some(r) = role
            && !created.contains(r)
        {
            reread.insert(r.to_string());
        }
    }
    if provider_made && reread.is_empty() {
        return None;
    }
    let mut subset = planned.rendered.clone();
    subset.roles.retain(|r| reread.contains(&r.name));
    Some(subset)
}

/// What a plan made now, after the writes, still wants on the IAM side, among `subset` (the
/// provider and the roles a concurrent run could have changed).
async fn read_back(
    ctx: &AccountContext<'_>,
    planned: &Planned,
    subset: &Rendered,
) -> Result<Vec<String>> {
    let a = &ctx.account;
    let (again, _) = if planned.destroy {
        let seen = observe(ctx, subset, Others::Trusts).await?;
        (plan::destroy(subset, &seen.observed, &seen.others)?, ())
    } else {
        // All at once: the provider and each role's reads, concurrently.
        let observed = a.aws.observe(subset, a.settings.concurrency.max(1)).await?;
        (plan::plan(subset, &observed)?, ())
    };
    Ok(again
        .changes
        .iter()
        .map(|c| format!("{} ({})", c.address(), c.api()))
        .collect())
}
