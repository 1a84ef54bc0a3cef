//! `check` in one account: every difference between the account (and GitHub, when it is read)
//! and the config, as drift findings. Read-only by construction.

use crate::error::Result;
use crate::ops::context::{AccountContext, RenderOptions};
use crate::ops::github;
use crate::ops::provision::{observe, render};
use crate::ops::usage::Options as UsageOptions;
use crate::policy::lint::Finding;
use crate::state::drift;
use crate::state::github_plan::{self, GitHubPlan, ObservedGitHub};
use crate::state::observed::{Observed, Others, ReadChoice};
use crate::state::render::{self as rendering, Rendered};
use crate::state::tighten;

/// What a check found in one account.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The desired state, rendered for the account.
    pub rendered: Rendered,
    /// The differences, worst first.
    pub findings: Vec<Finding>,
    /// The config's roles found in the account (what was compared).
    pub roles_checked: usize,
    /// How IAM was read (role by role, or the whole account).
    pub read: ReadChoice,
    /// What IAM holds of the config (what was compared).
    pub observed: Observed,
    /// The trust policies of the account's other roles (those outside the config).
    pub others: Vec<(String, serde_json::Value)>,
}

/// Compare the account with the config: IAM always; GitHub's repositories, subject forms,
/// environments and (when the run plans them) variables when GitHub is read.
pub async fn check(ctx: &AccountContext<'_>) -> Result<Checked> {
    check_with(ctx, None).await
}

/// [`check`], and with `usage`, each config role's records read ([`crate::ops::usage`]):
/// `unused_permission` for a role holding actions its records show unused.
pub async fn check_with(ctx: &AccountContext<'_>, usage: Option<&UsageOptions>) -> Result<Checked> {
    let a = &ctx.account;
    let cfg: &crate::config::Config = &ctx.config;
    let rendered = render(
        ctx,
        RenderOptions {
            refuse_blocking: true,
            with_github: false,
        },
    )
    .await?;
    let seen = observe(ctx, &rendered, Others::Owners).await?;
    // The owners of the other roles trusting the provider: from the account read when it
    // brought them, else one GetRole each.
    let trusting = drift::trusting_provider(&rendered, &seen.others);
    let unread: Vec<&str> = trusting
        .iter()
        .copied()
        .filter(|n| !seen.other_tags.contains_key(*n))
        .collect();
    let mut other_tags = a.aws.role_tags(&unread, a.settings.concurrency).await?;
    other_tags.extend(
        trusting
            .iter()
            .filter_map(|n| seen.other_tags.get(*n).map(|t| (n.to_string(), t.clone()))),
    );
    let lint = rendering::live_context(Some(cfg), &a.target);
    let mut findings = drift::drift(&rendered, &seen.observed, &seen.others, &other_tags, &lint);
    if let Some(gh) = a.github {
        let facts = github::facts(cfg, gh).await?;
        let mut checked = rendered.clone();
        let known = facts
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        rendering::github_findings(cfg, &mut checked, &known);
        let (plan, held) = if a.settings.github_variables {
            let (wanted, held) = github::variables(cfg, &rendered.target, gh, &a.aws).await?;
            (github_plan::plan(&wanted, &held), held)
        } else {
            (GitHubPlan::default(), ObservedGitHub::default())
        };
        findings.extend(drift::github(&checked, &facts, &plan, &held));
    }
    if let Some(opts) = usage {
        // The config as rendered above: not rendered a second time.
        let used = crate::ops::usage::for_rendered(a, rendered.clone(), &[], opts, &|_| {}).await?;
        for (docs, p) in used.rendered.roles.iter().zip(&used.roles) {
            if p.exists
                && let Some(f) = tighten::unused_permission(&docs.name, &p.rows, p.days)
            {
                findings.push(f);
            }
        }
    }
    if a.github.is_some() || usage.is_some() {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.resource.cmp(&b.resource))
        });
    }
    Ok(Checked {
        read: seen.path,
        roles_checked: seen.observed.roles.values().filter(|r| r.is_some()).count(),
        rendered,
        findings,
        observed: seen.observed,
        others: seen.others,
    })
}
