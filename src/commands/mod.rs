//! One `cmd_<name>` per subcommand: load what it needs, call the library, print through the
//! [`Printer`], return an exit status. No logic of its own beyond choosing what to show.
//!
//! This file holds what several commands share (loading, the account to render for, connecting,
//! planning); each submodule holds a family of commands:
//! [`documents`] (render, lint, emit, presets), [`provision`] (plan, apply, destroy),
//! [`check`] (drift) and [`verify`] (verify, explain).

use std::io::{IsTerminal, Read};

use keyless::aws::{Aws, AwsOptions};
use keyless::config::{self, Config};
use keyless::emit;
use keyless::error::{Error, ExitStatus, Result};
use keyless::lint::{self, Finding, LintContext};
use keyless::names;
use keyless::policy::{self, Kind};
use keyless::render::{self, Rendered, Target};
use keyless::template::Templates;

use crate::cli::{EmitArgs, EmitWhat, Global, KindArg, LintArgs, RoleArg};
use crate::output::{Format, Printer};

mod check;
mod documents;
mod provision;
mod verify;

pub use check::cmd_check;
pub use documents::{cmd_emit, cmd_lint, cmd_presets, cmd_render};
pub use provision::{cmd_apply, cmd_destroy, cmd_plan};
pub use verify::{cmd_explain, cmd_verify};

/// The single-threaded runtime every command that talks to AWS or GitHub uses.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "(tokio runtime)".into(),
            source,
        })
}

/// AWS connection options from the global flags, with the config's region as a fallback.
pub fn aws_options(g: &Global, config_region: Option<&str>) -> AwsOptions {
    AwsOptions {
        profile: g.profile.clone(),
        region: g.region.clone().or_else(|| config_region.map(String::from)),
        endpoint_url: g.endpoint_url.clone(),
    }
}

/// Load the config and its templates.
fn load(g: &Global) -> Result<(Config, Templates)> {
    let cfg = config::load(&g.config)?;
    let templates = Templates::load(cfg.templates_dir.as_deref())?;
    Ok((cfg, templates))
}

/// Which account and partition to render for: `--account-id`, else the config's pin, else STS.
fn target(g: &Global, cfg: &Config, p: &Printer) -> Result<Target> {
    let pinned = g.account_id.clone().or_else(|| cfg.account_id.clone());
    if let Some(a) = pinned {
        if let Err(m) = names::account_id(&a) {
            return Err(Error::usage(
                format!("--account-id {a:?}: {m}"),
                "pass the 12-digit account ID",
            ));
        }
        let partition = cfg.offline_partition(g.region.as_deref());
        p.debug(&format!(
            "rendering for account {a} in partition {partition} (no AWS call)"
        ));
        return Ok(Target {
            account_id: a,
            partition,
        });
    }
    p.debug("no account pinned: asking STS GetCallerIdentity");
    let rt = crate::commands::runtime()?;
    let id = rt.block_on(async {
        let aws = Aws::connect(&crate::commands::aws_options(g, cfg.region.as_deref())).await;
        aws.caller_identity().await
    })
    .map_err(|e| match e {
        Error::Aws { op, code, message, hint } => Error::Aws {
            op,
            code,
            message,
            hint: Some(format!(
                "{}{}this command works offline when the account is known: set account_id in {} or pass --account-id",
                hint.unwrap_or_default(),
                "\n  or: ",
                cfg.file
            )),
        },
        other => other,
    })?;
    p.debug(&format!(
        "caller {} (account {}, partition {})",
        id.arn, id.account, id.partition
    ));
    Ok(Target {
        account_id: id.account,
        partition: cfg.partition.clone().unwrap_or(id.partition),
    })
}

fn select_role(cfg: &Config, role: Option<&str>) -> Result<Vec<usize>> {
    match role {
        None => Ok((0..cfg.roles.len()).collect()),
        Some(name) => cfg
            .roles
            .iter()
            .position(|r| r.name == name)
            .map(|i| vec![i])
            .ok_or_else(|| {
                Error::usage(
                    format!("--role {name:?}: no such role in {}", cfg.file),
                    format!(
                        "use one of: {}",
                        cfg.roles
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }),
    }
}

fn rendered(g: &Global, p: &Printer, role: Option<&str>) -> Result<(Config, Templates, Rendered)> {
    let (cfg, templates) = load(g)?;
    let keep = select_role(&cfg, role)?;
    let t = target(g, &cfg, p)?;
    let mut r = render::render(&cfg, &templates, &t)?;
    let names: Vec<String> = keep.iter().map(|&i| cfg.roles[i].name.clone()).collect();
    r.roles.retain(|x| names.contains(&x.name));
    Ok((cfg, templates, r))
}

/// A runtime, AWS clients and the caller's account: what plan, apply and destroy need.
fn connect(
    g: &Global,
    cfg: &Config,
    p: &Printer,
) -> Result<(tokio::runtime::Runtime, Aws, Target)> {
    let rt = crate::commands::runtime()?;
    let (aws, id) = rt.block_on(async {
        let aws = Aws::connect(&crate::commands::aws_options(g, cfg.region.as_deref())).await;
        let id = aws.caller_identity().await;
        (aws, id)
    });
    let id = id?;
    p.note(&format!(
        "{} {} (account {})",
        p.dim("caller"),
        id.arn,
        id.account
    ));
    if let Some(a) = &g.account_id
        && a != &id.account
    {
        return Err(Error::usage(
            format!(
                "--account-id {a} does not match the credentials' account {}",
                id.account
            ),
            "use credentials for that account, or drop --account-id",
        ));
    }
    let partition = cfg.partition.clone().unwrap_or(id.partition);
    Ok((
        rt,
        aws,
        Target {
            account_id: id.account,
            partition,
        },
    ))
}

/// Load the config, connect to the caller's account and render for it; with `refuse_blocking`,
/// stop on blocking lint findings before anything reads or writes the account.
fn connected_render(
    g: &Global,
    p: &Printer,
    refuse_blocking: bool,
) -> Result<(Config, Templates, Rendered, tokio::runtime::Runtime, Aws)> {
    let (cfg, templates) = load(g)?;
    let (rt, aws, target) = connect(g, &cfg, p)?;
    let rendered = render::render(&cfg, &templates, &target)?;
    let blocking: Vec<&Finding> = rendered.findings().filter(|f| f.blocks()).collect();
    if refuse_blocking && !blocking.is_empty() {
        p.note(&p.findings_text(&blocking));
        return Err(Error::LintBlocked {
            count: blocking.len(),
        });
    }
    Ok((cfg, templates, rendered, rt, aws))
}

/// Render, refuse on blocking findings, read the account and plan.
fn prepare(
    g: &Global,
    p: &Printer,
    destroy: bool,
) -> Result<(
    Config,
    Templates,
    Rendered,
    tokio::runtime::Runtime,
    Aws,
    keyless::plan::Plan,
)> {
    let (cfg, templates, rendered, rt, aws) = connected_render(g, p, !destroy)?;
    let observed = rt.block_on(aws.observe(&rendered, 8))?;
    let plan = if destroy {
        let names: Vec<String> = rendered.roles.iter().map(|r| r.name.clone()).collect();
        let others = rt.block_on(aws.other_role_trusts(&names))?;
        keyless::plan::destroy(&rendered, &observed, &others)?
    } else {
        keyless::plan::plan(&rendered, &observed)?
    };
    Ok((cfg, templates, rendered, rt, aws, plan))
}

fn pick_role<'a>(cfg: &'a Config, name: Option<&str>) -> Result<&'a keyless::config::Role> {
    match (name, cfg.roles.len()) {
        (Some(n), _) => Ok(&cfg.roles[select_role(cfg, Some(n))?[0]]),
        (None, 1) => Ok(&cfg.roles[0]),
        (None, n) => Err(Error::usage(
            format!("{} defines {n} roles", cfg.file),
            format!(
                "pass --role with one of: {}",
                cfg.roles
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}
