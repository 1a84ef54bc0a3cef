//! A `migrate-subjects` step: [`decide`] reads what the repository mints and what the config
//! trusts for it and picks the next safe step; whether IAM matches the config is read per
//! account by [`in_sync`] (judged without GitHub's findings: a classic trust for a repository
//! that already mints immutable subjects is exactly what the first step repairs); the steps
//! themselves are [`edited_config`] (then an apply, the caller's), and
//! [`switch_repository`], checked. The order of steps and the config edits are
//! [`crate::state::migrate`]'s.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::identity::repository::{RepoInfo, SubForm, SubjectSettings};
use crate::identity::subject::{SubjectFormat, SubjectSpec};
use crate::io::github::GitHub;
use crate::ops::context::{AccountContext, RenderOptions};
use crate::ops::provision::{observe, render};
use crate::state::migrate::{self, Minted, Step};
use crate::state::plan;

/// The next step for a repository, with what it was decided from.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What GitHub reports for the repository.
    pub repo: RepoInfo,
    /// The subject formats the config trusts for it.
    pub trusted: Vec<SubjectFormat>,
    /// What it mints.
    pub minted: Minted,
    /// Whether IAM matches the config.
    pub iam_in_sync: bool,
    /// The next safe step.
    pub step: Step,
}

/// The formats the config trusts `repo` in (any case), one per subject.
pub fn trusted_formats(cfg: &Config, repo: &str) -> Vec<SubjectFormat> {
    cfg.roles
        .iter()
        .flat_map(|r| &r.subjects)
        .filter_map(|sub| match &sub.spec {
            SubjectSpec::Repo {
                repo: r, format, ..
            } if r.full_name().eq_ignore_ascii_case(repo) => Some(*format),
            _ => None,
        })
        .collect()
}

/// Decide the next step for `repo`: what the config trusts for it, what GitHub says it mints,
/// and `iam_in_sync` (read per account by [`in_sync`]). A repository the config does not trust,
/// or one that mints subjects from a custom template, is refused with what to do instead.
pub async fn decide(gh: &GitHub, cfg: &Config, repo: &str, iam_in_sync: bool) -> Result<Decision> {
    let trusted = trusted_formats(cfg, repo);
    if trusted.is_empty() {
        return Err(Error::NotInConfig {
            message: format!("{}: no [[role.subject]] trusts repo = {repo:?}", cfg.file),
            fix: "migrate a repository the config trusts".into(),
        });
    }
    let (info, settings) = repository(gh, repo).await?;
    let minted = match settings.form() {
        SubForm::Classic => Minted::Classic,
        SubForm::Immutable => Minted::Immutable,
        SubForm::Custom(keys) => {
            return Err(Error::Unsupported {
                message: format!(
                    "{} mints subjects from a custom template ({}); migrate-subjects moves default-template repositories",
                    info.full_name,
                    keys.join(", ")
                ),
                fix: "change the template with `gh api` and the role's custom subjects by hand"
                    .into(),
            });
        }
    };
    let step = migrate::next_step(&trusted, minted, iam_in_sync);
    Ok(Decision {
        repo: info,
        trusted,
        minted,
        iam_in_sync,
        step,
    })
}

/// The config text after a config step (trust both forms, then drop the classic one), for the
/// repository of `d`; `None` for a step that does not edit the config.
pub fn edited_config(text: &str, file: &str, d: &Decision, repo: &str) -> Result<Option<String>> {
    let format = match d.step {
        Step::TrustBoth => SubjectFormat::Both,
        Step::DropClassic => SubjectFormat::Immutable,
        _ => return Ok(None),
    };
    let ids = (d.repo.owner_id.to_string(), d.repo.id.to_string());
    migrate::set_format(text, file, repo, format, (&ids.0, &ids.1)).map(Some)
}

/// What GitHub reports for `repo`: the repository and its subject settings.
pub async fn repository(gh: &GitHub, repo: &str) -> Result<(RepoInfo, SubjectSettings)> {
    let info = gh.repository(repo).await?;
    let settings = gh.subject_settings(&info.full_name).await?;
    Ok((info, settings))
}

/// Does IAM hold exactly what the config renders (GitHub's findings left out)?
pub async fn in_sync(ctx: &AccountContext<'_>) -> Result<bool> {
    let rendered = render(ctx, RenderOptions::default()).await?;
    let seen = observe(ctx, &rendered, crate::state::observed::Others::Nothing).await?;
    Ok(plan::plan(&rendered, &seen.observed)?.is_empty())
}

/// Switch `full` to immutable subjects and read its settings back: an error when GitHub still
/// reports classic subjects.
pub async fn switch_repository(gh: &GitHub, full: &str) -> Result<()> {
    gh.use_immutable_subject(full).await?;
    let now = gh.subject_settings(full).await?;
    if now.form() != SubForm::Immutable {
        return Err(Error::NotConverged {
            message: format!("{full} still reports classic subjects after the switch"),
            fix: "run migrate-subjects again in a minute".into(),
        });
    }
    Ok(())
}
