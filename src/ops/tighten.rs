//! `keyless tighten` in one account: read what the config's roles used ([`crate::ops::usage`]),
//! propose a narrower grant per role ([`crate::state::tighten`]), prefer a narrowed preset
//! parameter where one passes the same proof, render and lint the tightened config, and plan
//! what applying it would change. Writes nothing: the edited keyless.toml and the policy files
//! come back as text for the caller to show, and to write when told.

use std::borrow::Cow;

use crate::error::Result;
use crate::ops::context::AccountContext;
use crate::ops::provision::{self, Planned};
use crate::ops::usage::{self, ConfigUsage, Options as UsageOptions, Progress};
use crate::policy::lint::Finding;
use crate::state::render;
use crate::state::tighten::{self, Change, Options, Outcome};

/// The edited files.
#[derive(Debug, Clone)]
pub struct Edited {
    /// keyless.toml as it would be.
    pub text: String,
    /// Policy files to write: (path relative to the config's directory, text).
    pub files: Vec<(String, String)>,
    /// keyless.toml's unified diff.
    pub diff: String,
}

/// What tightening found and proposes.
#[derive(Debug, Clone)]
pub struct Tightened {
    /// What the roles used.
    pub usage: ConfigUsage,
    /// One answer per role read.
    pub outcomes: Vec<Outcome>,
    /// The edit, when anything changes.
    pub edited: Option<Edited>,
    /// What applying the tightened config would change.
    pub planned: Option<Planned>,
    /// Lint findings on the tightened roles' documents.
    pub findings: Vec<Finding>,
}

/// Tighten the config's roles (`only`: just these) from their use.
pub async fn tighten(
    ctx: &AccountContext<'_>,
    source_text: &str,
    only: &[String],
    usage_opts: &UsageOptions,
    opts: Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Tightened> {
    let used = usage::for_config(ctx, only, usage_opts, progress).await?;
    let mut outcomes = Vec::new();
    let mut changes: Vec<(String, Change)> = Vec::new();
    for (docs, pu) in used
        .rendered
        .roles
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.name))
        .zip(&used.roles)
    {
        if !pu.exists {
            outcomes.push(Outcome::Refused {
                role: docs.name.clone(),
                reason: "the role is not in the account yet (`keyless apply` first)".into(),
            });
            continue;
        }
        let mut outcome = tighten::propose(docs, &pu.usage, pu.days, opts);
        if let Outcome::Proposed(p) = &mut outcome
            && p.change.is_some()
        {
            let role = ctx.config.roles.iter().find(|r| r.name == docs.name);
            for (index, param, value) in role
                .map(|r| tighten::narrowings(r, ctx.templates, &p.kept))
                .unwrap_or_default()
            {
                let preset = role
                    .and_then(|r| r.presets.get(index))
                    .map(|pr| pr.name.clone())
                    .unwrap_or_default();
                let narrowed = Change::NarrowPreset {
                    index,
                    preset,
                    param,
                    value,
                };
                let cfg = tighten::tightened(&ctx.config, &[(docs.name.clone(), narrowed.clone())]);
                let Ok(r) = render::render(&cfg, ctx.templates, &ctx.account.target) else {
                    continue;
                };
                if let Some(nd) = r.roles.iter().find(|x| x.name == docs.name)
                    && tighten::accept_narrowing(docs, nd, p)
                {
                    p.change = Some(narrowed);
                    break;
                }
            }
            if let Some(c) = &p.change {
                changes.push((docs.name.clone(), c.clone()));
            }
        }
        outcomes.push(outcome);
    }
    if changes.is_empty() {
        return Ok(Tightened {
            usage: used,
            outcomes,
            edited: None,
            planned: None,
            findings: vec![],
        });
    }
    let cfg = tighten::tightened(&ctx.config, &changes);
    let rendered = render::render(&cfg, ctx.templates, &ctx.account.target)?;
    let findings: Vec<Finding> = rendered
        .roles
        .iter()
        .filter(|r| changes.iter().any(|(n, _)| n == &r.name))
        .flat_map(|r| r.findings.iter().cloned())
        .filter(|f| f.rule.starts_with("KL1"))
        .collect();
    let by_role: Vec<(&crate::config::Role, &Change)> = changes
        .iter()
        .filter_map(|(n, c)| {
            ctx.config
                .roles
                .iter()
                .find(|r| &r.name == n)
                .map(|r| (r, c))
        })
        .collect();
    let (text, files) = tighten::edit_config(source_text, &ctx.config.file, &by_role)?;
    let diff = tighten::text_diff(source_text, &text, &ctx.config.file);
    let tight_ctx = AccountContext {
        account: ctx.account.clone(),
        config: Cow::Owned(cfg),
        templates: ctx.templates,
    };
    let planned = provision::plan(&tight_ctx).await?;
    Ok(Tightened {
        usage: used,
        outcomes,
        edited: Some(Edited { text, files, diff }),
        planned: Some(planned),
        findings,
    })
}
