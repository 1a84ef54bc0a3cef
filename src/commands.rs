//! One `cmd_<name>` per subcommand: load what it needs, call the library, print through the
//! [`Printer`], return an exit status. No logic of its own beyond choosing what to show.

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
        let region = g
            .region
            .clone()
            .or_else(|| cfg.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        let partition = cfg
            .partition
            .clone()
            .unwrap_or_else(|| names::partition_of_region(&region).to_string());
        p.debug(&format!(
            "rendering for account {a} in partition {partition} (no AWS call)"
        ));
        return Ok(Target {
            account_id: a,
            partition,
        });
    }
    p.debug("no account pinned: asking STS GetCallerIdentity");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "(tokio runtime)".into(),
            source,
        })?;
    let id = rt.block_on(async {
        let aws = Aws::connect(&AwsOptions {
            profile: g.profile.clone(),
            region: g.region.clone().or_else(|| cfg.region.clone()),
            endpoint_url: g.endpoint_url.clone(),
        })
        .await;
        aws.caller_identity().await
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

/// `keyless render`
pub fn cmd_render(g: &Global, p: &Printer, args: &RoleArg) -> Result<ExitStatus> {
    let (_, _, r) = rendered(g, p, args.role.as_deref())?;
    let blocking = r.blocking();
    match p.format {
        Format::Json => p.json(&r),
        Format::Human | Format::Github => {
            let mut s = format!(
                "{} {}\n{} {}\n",
                p.bold("provider"),
                r.provider_arn,
                p.bold("audiences"),
                r.audiences.join(", ")
            );
            for role in &r.roles {
                s.push_str(&format!("\n{} {}\n", p.bold("role"), role.arn));
                s.push_str(&format!(
                    "{}\n",
                    p.dim(&format!(
                        "# trust policy (admits: {})",
                        role.subjects.join(" | ")
                    ))
                ));
                s.push_str(&policy::pretty(&role.trust_policy));
                s.push('\n');
                for pol in &role.policies {
                    s.push_str(&format!(
                        "{}\n",
                        p.dim(&format!(
                            "# {} policy {} ({})",
                            pol.attach, pol.name, pol.source
                        ))
                    ));
                    s.push_str(&policy::pretty(&pol.document));
                    s.push('\n');
                }
                for arn in &role.managed_policy_arns {
                    s.push_str(&format!(
                        "{}\n",
                        p.dim(&format!("# attached managed policy {arn}"))
                    ));
                }
            }
            p.out(&s);
            let shown: Vec<&Finding> = r.findings().collect();
            if !shown.is_empty() {
                p.note(&p.findings_text(&shown));
            }
        }
    }
    if blocking > 0 {
        p.note(&format!("{blocking} blocking finding(s): apply would refuse these documents (see `keyless lint`)"));
        return Ok(ExitStatus::Findings);
    }
    Ok(ExitStatus::Success)
}

fn print_findings(p: &Printer, findings: &[&Finding], source: &str) -> ExitStatus {
    let blocking = findings.iter().filter(|f| f.blocks()).count();
    match p.format {
        Format::Json => p.json(&serde_json::json!({
            "version": 1,
            "source": source,
            "blocking": blocking,
            "findings": findings,
        })),
        Format::Human | Format::Github => {
            if findings.is_empty() {
                p.note(&format!("{source}: no findings"));
            } else {
                p.out(&p.findings_text(findings));
                p.note(&format!(
                    "{source}: {} finding(s), {blocking} blocking",
                    findings.len()
                ));
            }
        }
    }
    if blocking > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    }
}

/// `keyless lint`
pub fn cmd_lint(g: &Global, p: &Printer, args: &LintArgs) -> Result<ExitStatus> {
    if args.rules {
        match p.format {
            Format::Json => p.json(&lint::RULES),
            Format::Human | Format::Github => {
                let mut s = String::new();
                for r in lint::RULES {
                    s.push_str(&format!(
                        "{}  {:<8}  {}\n",
                        p.bold(r.id),
                        r.severity.as_str(),
                        r.title
                    ));
                }
                p.out(&s);
            }
        }
        return Ok(ExitStatus::Success);
    }
    if let Some(path) = &args.policy {
        let (name, text) = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|source| Error::Io {
                    path: "(stdin)".into(),
                    source,
                })?;
            ("(stdin)".to_string(), s)
        } else {
            let t = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            (path.display().to_string(), t)
        };
        let parsed = policy::parse(&text).map_err(|message| Error::Policy {
            what: name.clone(),
            message,
        })?;
        let kind = args.kind.map(|k| match k {
            KindArg::Trust => Kind::Trust,
            KindArg::Permission => Kind::Permission,
        });
        let mut ctx = LintContext::new(name.clone());
        ctx.account_id = g.account_id.clone();
        let findings = lint::lint_document(&parsed, kind, &ctx);
        let refs: Vec<&Finding> = findings.iter().collect();
        return Ok(print_findings(p, &refs, &name));
    }
    let (cfg, _, r) = rendered(g, p, args.role.as_deref())?;
    let refs: Vec<&Finding> = r.findings().collect();
    Ok(print_findings(p, &refs, &cfg.file))
}

/// `keyless emit`
pub fn cmd_emit(g: &Global, p: &Printer, args: &EmitArgs) -> Result<ExitStatus> {
    let (cfg, templates) = load(g)?;
    let check_role = cfg
        .roles
        .iter()
        .position(|r| r.presets.iter().any(|p| p.name == "keyless-check"));
    let idx = match (args.role.as_deref(), cfg.roles.len()) {
        (None, _) if matches!(args.what, EmitWhat::CheckWorkflow) && check_role.is_some() => {
            check_role.unwrap_or(0)
        }
        (None, 1) => 0,
        (None, _) => {
            return Err(Error::usage(
                format!("{} defines {} roles", cfg.file, cfg.roles.len()),
                format!(
                    "pass --role with one of: {}",
                    cfg.roles
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        (Some(n), _) => select_role(&cfg, Some(n))?[0],
    };
    let role = &cfg.roles[idx];
    match args.what {
        EmitWhat::CheckWorkflow => {
            let partition = cfg.partition.clone().unwrap_or_else(|| {
                names::partition_of_region(cfg.region.as_deref().unwrap_or("us-east-1")).to_string()
            });
            let text = emit::check_workflow(
                &templates,
                &cfg,
                role,
                &partition,
                &g.config.display().to_string(),
            )?;
            match p.format {
                Format::Json => p.json(&serde_json::json!({"role": role.name, "path": ".github/workflows/keyless-check.yml", "workflow": text})),
                Format::Human | Format::Github => p.out(&text),
            }
        }
        EmitWhat::Workflow => {
            let partition = cfg.partition.clone().unwrap_or_else(|| {
                names::partition_of_region(cfg.region.as_deref().unwrap_or("us-east-1")).to_string()
            });
            let ctx = emit::workflow_context(&cfg, role, &partition);
            let text = emit::workflow(&templates, &ctx)?;
            match p.format {
                Format::Json => p.json(&serde_json::json!({"role": role.name, "path": format!(".github/workflows/deploy-{}.yml", role.name), "workflow": text})),
                Format::Human | Format::Github => p.out(&text),
            }
        }
        EmitWhat::Variable => {
            let t = target(g, &cfg, p)?;
            let v = emit::variable(&cfg, role, &t);
            match p.format {
                Format::Json => p.json(&v),
                Format::Human | Format::Github => {
                    let mut s = format!("{}={}\n", v.name, v.value);
                    for t in &v.targets {
                        s.push_str(&format!("{}\n", t.command));
                    }
                    p.out(&s);
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// `keyless presets`
pub fn cmd_presets(g: &Global, p: &Printer) -> Result<ExitStatus> {
    // A config is optional here: it only adds the user's template directory.
    let dir = if g.config.exists() {
        config::load(&g.config)?.templates_dir
    } else {
        None
    };
    let t = Templates::load(dir.as_deref())?;
    match p.format {
        Format::Json => p.json(t.presets()),
        Format::Human | Format::Github => {
            let mut s = String::new();
            for (name, spec) in t.presets() {
                s.push_str(&format!("{}  {}\n", p.bold(name), spec.description));
                for (k, ps) in &spec.params {
                    let req = match &ps.default {
                        None => "required".to_string(),
                        Some(d) if d.is_empty() => "optional".to_string(),
                        Some(d) => format!("default {d:?}"),
                    };
                    s.push_str(&format!(
                        "    {k:<20} {}\n",
                        p.dim(&format!("{} ({req})", ps.help))
                    ));
                }
            }
            p.out(&s);
        }
    }
    Ok(ExitStatus::Success)
}

/// A runtime, AWS clients and the caller's account: what plan, apply and destroy need.
fn connect(
    g: &Global,
    cfg: &Config,
    p: &Printer,
) -> Result<(tokio::runtime::Runtime, Aws, Target)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "(tokio runtime)".into(),
            source,
        })?;
    let (aws, id) = rt.block_on(async {
        let aws = Aws::connect(&AwsOptions {
            profile: g.profile.clone(),
            region: g.region.clone().or_else(|| cfg.region.clone()),
            endpoint_url: g.endpoint_url.clone(),
        })
        .await;
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
    let (cfg, templates) = load(g)?;
    let (rt, aws, target) = connect(g, &cfg, p)?;
    let rendered = render::render(&cfg, &templates, &target)?;
    let blocking: Vec<&Finding> = rendered.findings().filter(|f| f.blocks()).collect();
    if !destroy && !blocking.is_empty() {
        p.note(&p.findings_text(&blocking));
        return Err(Error::LintBlocked {
            count: blocking.len(),
        });
    }
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

fn show_plan(p: &Printer, plan: &keyless::plan::Plan, target: &Target) {
    match p.format {
        Format::Json => p.json(&plan.view(target)),
        Format::Human | Format::Github => {
            for n in &plan.notes {
                p.note(&p.dim(&format!("note: {n}")));
            }
            p.out(&p.plan_text(plan));
        }
    }
}

/// `keyless plan`
pub fn cmd_plan(g: &Global, p: &Printer, args: &crate::cli::PlanArgs) -> Result<ExitStatus> {
    let (_, _, rendered, _, _, plan) = prepare(g, p, false)?;
    show_plan(p, &plan, &rendered.target);
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

fn confirm(p: &Printer, args: &crate::cli::ApplyArgs, question: &str) -> Result<bool> {
    if args.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "not asking for confirmation: stdin is not a terminal",
            "review `keyless plan`, then run again with --yes",
        ));
    }
    let _ = p;
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| Error::usage(format!("confirmation failed: {e}"), "run again with --yes"))
}

fn execute(
    p: &Printer,
    rt: &tokio::runtime::Runtime,
    aws: &Aws,
    plan: &keyless::plan::Plan,
) -> Result<()> {
    let total = plan.changes.len();
    let bar = if p.quiet || !std::io::stderr().is_terminal() || p.format == Format::Json {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            b.set_style(style);
        }
        b
    };
    for (i, change) in plan.changes.iter().enumerate() {
        bar.set_message(change.address());
        p.debug(&format!("{} {}", change.api(), change.address()));
        if let Err(e) = rt.block_on(aws.apply(change)) {
            bar.abandon();
            return Err(Error::Partial {
                change: change.address(),
                api: change.api().into(),
                done: i,
                total,
                source: Box::new(e),
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// `keyless apply`
pub fn cmd_apply(g: &Global, p: &Printer, args: &crate::cli::ApplyArgs) -> Result<ExitStatus> {
    let (cfg, templates, rendered, rt, aws, plan) = prepare(g, p, false)?;
    if p.format == Format::Human {
        show_plan(p, &plan, &rendered.target);
    }
    let applied = if plan.is_empty() {
        0
    } else {
        if !confirm(
            p,
            args,
            &format!(
                "Apply these {} change(s) to account {}?",
                plan.changes.len(),
                rendered.target.account_id
            ),
        )? {
            p.note("Apply cancelled; nothing was written.");
            return Ok(ExitStatus::Error);
        }
        execute(p, &rt, &aws, &plan)?;
        p.note(&format!("Applied {} change(s).", plan.changes.len()));
        plan.changes.len()
    };
    let mut roles = Vec::new();
    for role in &cfg.roles {
        let v = emit::variable(&cfg, role, &rendered.target);
        let ctx = emit::workflow_context(&cfg, role, &rendered.target.partition);
        let workflow = emit::workflow(&templates, &ctx)?;
        roles.push((role.name.clone(), v, workflow));
    }
    match p.format {
        Format::Json => p.json(&serde_json::json!({
            "format_version": 1,
            "plan": plan.view(&rendered.target),
            "applied": applied,
            "roles": roles.iter().map(|(name, v, w)| serde_json::json!({"name": name, "arn": v.value, "variable": v, "workflow": w})).collect::<Vec<_>>(),
        })),
        Format::Human | Format::Github => {
            let mut s = String::new();
            for (name, v, _) in &roles {
                s.push_str(&format!("\n{} {name}\n  {}={}\n", p.bold("role"), v.name, v.value));
                for t in &v.targets {
                    s.push_str(&format!("  {}\n", t.command));
                }
            }
            if let [(name, _, workflow)] = roles.as_slice() {
                s.push_str(&format!("\n{}\n{workflow}", p.dim(&format!("# .github/workflows/deploy-{name}.yml"))));
            } else {
                s.push_str(&format!("\n{}\n", p.dim("# workflow for each role: keyless emit workflow --role NAME")));
            }
            p.out(&s);
        }
    }
    Ok(ExitStatus::Success)
}

/// `keyless destroy`
pub fn cmd_destroy(g: &Global, p: &Printer, args: &crate::cli::ApplyArgs) -> Result<ExitStatus> {
    let (_, _, rendered, rt, aws, plan) = prepare(g, p, true)?;
    show_plan(p, &plan, &rendered.target);
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    if !confirm(
        p,
        args,
        &format!(
            "Destroy: make these {} change(s) in account {}?",
            plan.changes.len(),
            rendered.target.account_id
        ),
    )? {
        p.note("Destroy cancelled; nothing was deleted.");
        return Ok(ExitStatus::Error);
    }
    execute(p, &rt, &aws, &plan)?;
    p.note(&format!(
        "Destroyed: {} change(s) applied.",
        plan.changes.len()
    ));
    Ok(ExitStatus::Success)
}

/// `keyless check`
pub fn cmd_check(g: &Global, p: &Printer, args: &crate::cli::CheckArgs) -> Result<ExitStatus> {
    let (cfg, templates) = load(g)?;
    let (rt, aws, target) = connect(g, &cfg, p)?;
    let rendered = render::render(&cfg, &templates, &target)?;
    let blocking: Vec<&Finding> = rendered.findings().filter(|f| f.blocks()).collect();
    if !blocking.is_empty() {
        p.note(&p.findings_text(&blocking));
        return Err(Error::LintBlocked {
            count: blocking.len(),
        });
    }
    let observed = rt.block_on(aws.observe(&rendered, args.concurrency as usize))?;
    let names: Vec<String> = rendered.roles.iter().map(|r| r.name.clone()).collect();
    let others = rt.block_on(aws.other_role_trusts(&names))?;
    let mut ctx = LintContext::new("live");
    ctx.account_id = Some(target.account_id.clone());
    ctx.partition = Some(target.partition.clone());
    ctx.extra_claim_keys = cfg.extra_claim_keys.clone();
    ctx.trust_size_quota = cfg.trust_policy_size_quota;
    let findings = keyless::drift::drift(&rendered, &observed, &others, &ctx);
    let fail_on: lint::Severity = args.fail_on.into();
    let failing = findings.iter().filter(|f| f.severity >= fail_on).count();
    match p.format {
        Format::Json => {
            let mut summary = serde_json::Map::new();
            for f in &findings {
                let n = summary
                    .entry(f.severity.as_str())
                    .or_insert(serde_json::json!(0));
                *n = serde_json::json!(n.as_u64().unwrap_or(0) + 1);
            }
            p.json(&serde_json::json!({
                "format_version": 1,
                "in_sync": findings.is_empty(),
                "drift": failing > 0,
                "account_id": target.account_id,
                "partition": target.partition,
                "config": cfg.file,
                "fail_on": fail_on.as_str(),
                "roles_checked": rendered.roles.len(),
                "summary": summary,
                "findings": findings,
            }));
        }
        Format::Github => {
            p.out(&p.drift_annotations(&findings, fail_on));
            if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
                use std::io::Write;
                let md = p.drift_markdown(&findings, fail_on, &target.account_id, &cfg.file);
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|source| Error::Io {
                        path: path.clone().into(),
                        source,
                    })?;
                f.write_all(md.as_bytes()).map_err(|source| Error::Io {
                    path: path.into(),
                    source,
                })?;
            }
        }
        Format::Human => {
            p.out(&p.drift_text(&findings, fail_on, &target.account_id, rendered.roles.len()))
        }
    }
    Ok(if failing > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
