//! Commands that print documents and findings: render, lint, emit, presets, and the generated
//! completions and man page. Read-only.

use std::io::{Read, Write};

use clap::CommandFactory;

use keyless::artifacts::workflow;
use keyless::config::Role;
use keyless::config::variables::Scheduled;
use keyless::error::{Error, Result};
use keyless::policy::document::{self as policy, Kind};
use keyless::policy::lint::{self, Finding, LintContext};

use crate::app::args::{Cli, EmitArgs, EmitWhat, KindArg, LintArgs, RoleArg};
use crate::app::exit::ExitStatus;
use crate::app::flow;
use crate::app::report::documents::{
    LintReport, PresetsReport, RenderReport, RulesReport, WorkflowReport,
};
use crate::app::report::{FORMAT_VERSION, show};
use crate::app::session::Session;

/// `keyless render`
pub fn cmd_render(s: &Session, args: &RoleArg) -> Result<ExitStatus> {
    let rendered = flow::render(s, args.role.as_deref())?;
    show(&s.printer, s.format, &RenderReport::new(&rendered));
    let blocking = rendered.blocking();
    if blocking > 0 {
        s.printer.note(&format!(
            "{blocking} blocking finding(s): apply would refuse these documents (see `keyless lint`)"
        ));
    }
    Ok(ExitStatus::findings_if(blocking > 0))
}

/// `keyless lint`
pub fn cmd_lint(s: &Session, args: &LintArgs) -> Result<ExitStatus> {
    if args.rules {
        let report = RulesReport {
            format_version: FORMAT_VERSION,
            rules: lint::RULES,
            aws_data: crate::app::report::documents::AwsData::current(),
        };
        show(&s.printer, s.format, &report);
        return Ok(ExitStatus::Success);
    }
    let (source, findings) = match &args.policy {
        Some(path) => {
            let (name, text) = read_policy(path)?;
            let parsed = policy::parse(&text).map_err(|message| Error::Policy {
                what: name.clone(),
                message,
            })?;
            let kind = args.kind.map(|k| match k {
                KindArg::Trust => Kind::Trust,
                KindArg::Permission => Kind::Permission,
            });
            let mut ctx = LintContext::new(name.clone());
            ctx.account_id = s.account_flag().map(String::from);
            (name, lint::lint_document(&parsed, kind, &ctx))
        }
        None => {
            let mut rendered = flow::render(s, args.role.as_deref())?;
            if let Some(gh) = s.github() {
                s.block_on(keyless::ops::github::add_findings(
                    s.config()?,
                    gh,
                    &mut rendered,
                ))?;
            }
            let findings: Vec<Finding> = rendered.findings().cloned().collect();
            (s.config()?.file.clone(), findings)
        }
    };
    let report = LintReport::new(source, findings.iter().collect());
    show(&s.printer, s.format, &report);
    Ok(ExitStatus::findings_if(report.blocking > 0))
}

/// A policy file, or stdin for `-`, with the name to report it under.
fn read_policy(path: &std::path::Path) -> Result<(String, String)> {
    let limit = keyless::config::MAX_CONFIG_BYTES;
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(limit + 1)
            .read_to_string(&mut text)
            .map_err(|source| Error::Io {
                path: "(stdin)".into(),
                source,
            })?;
        if text.len() as u64 > limit {
            return Err(Error::Io {
                path: "(stdin)".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("larger than {limit} bytes, the most keyless reads here"),
                ),
            });
        }
        return Ok(("(stdin)".to_string(), text));
    }
    let text = keyless::config::read_capped(path, limit).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((path.display().to_string(), text))
}

/// The role `emit` is for: `--role`, the only one, or for a scheduled workflow the role with its
/// preset (`keyless-check`, `keyless-audit`).
fn emit_role<'a>(s: &'a Session, args: &EmitArgs) -> Result<&'a Role> {
    match (scheduled(args.what), args.role.as_deref()) {
        (Some(kind), None) => workflow::scheduled_role(s.config()?, kind),
        (_, name) => s.role(name),
    }
}

fn scheduled(what: EmitWhat) -> Option<Scheduled> {
    match what {
        EmitWhat::CheckWorkflow => Some(Scheduled::Check),
        EmitWhat::AuditWorkflow => Some(Scheduled::Audit),
        EmitWhat::Workflow | EmitWhat::Variable => None,
    }
}

/// `keyless emit`
pub fn cmd_emit(s: &Session, args: &EmitArgs) -> Result<ExitStatus> {
    let role = emit_role(s, args)?;
    let cfg = s.config()?;
    let templates = s.templates()?;
    match args.what {
        EmitWhat::CheckWorkflow | EmitWhat::AuditWorkflow => {
            let kind = scheduled(args.what).unwrap_or(Scheduled::Check);
            let workflow = workflow::scheduled_workflow(
                templates,
                kind,
                cfg,
                role,
                &s.offline_partition(),
                &workflow::repo_config_path(&s.config_path.display().to_string()),
            )?;
            show(
                &s.printer,
                s.format,
                &WorkflowReport {
                    format_version: FORMAT_VERSION,
                    role: role.name.clone(),
                    path: kind.path().into(),
                    workflow,
                },
            );
        }
        EmitWhat::Workflow => flow::show_workflow(s, role)?,
        EmitWhat::Variable => flow::show_variable(s, role)?,
    }
    Ok(ExitStatus::Success)
}

/// `keyless presets`
pub fn cmd_presets(s: &Session) -> Result<ExitStatus> {
    let report = PresetsReport {
        format_version: FORMAT_VERSION,
        presets: s.templates()?.presets(),
    };
    show(&s.printer, s.format, &report);
    Ok(ExitStatus::Success)
}

/// `keyless completions SHELL`
pub fn cmd_completions(shell: clap_complete::Shell) -> Result<ExitStatus> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "keyless",
        &mut std::io::stdout(),
    );
    Ok(ExitStatus::Success)
}

/// `keyless man`
pub fn cmd_man() -> Result<ExitStatus> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|source| Error::Io {
            path: "(man page)".into(),
            source,
        })?;
    let _ = std::io::stdout().write_all(&buf);
    Ok(ExitStatus::Success)
}
