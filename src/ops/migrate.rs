//! The reads and the one GitHub write of a `migrate-subjects` step: what a repository mints,
//! whether IAM matches the config (judged without GitHub's findings: a classic trust for a
//! repository that already mints immutable subjects is exactly what the first step repairs),
//! and the switch to immutable subjects. The order of steps and the config edits are
//! [`crate::state::migrate`]'s.

use crate::error::Result;
use crate::identity::repository::{RepoInfo, SubjectSettings};
use crate::io::github::GitHub;
use crate::ops::context::{AccountContext, RenderOptions};
use crate::ops::provision::{observe, render};
use crate::state::plan;

/// What GitHub reports for `repo`: the repository and its subject settings.
pub async fn repository(gh: &GitHub, repo: &str) -> Result<(RepoInfo, SubjectSettings)> {
    let info = gh.repository(repo).await?;
    let settings = gh.subject_settings(&info.full_name).await?;
    Ok((info, settings))
}

/// Does IAM hold exactly what the config renders (GitHub's findings left out)?
pub async fn in_sync(ctx: &AccountContext<'_>) -> Result<bool> {
    let rendered = render(ctx, RenderOptions::default()).await?;
    let seen = observe(ctx, &rendered, false).await?;
    Ok(plan::plan(&rendered, &seen.observed)?.is_empty())
}

/// Switch `full` to immutable subjects and read its settings back.
pub async fn switch_repository(gh: &GitHub, full: &str) -> Result<SubjectSettings> {
    gh.use_immutable_subject(full).await?;
    gh.subject_settings(full).await
}
