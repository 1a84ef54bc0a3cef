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
    let rt = crate::commands::runtime()?;
    let id = rt.block_on(async {
        let aws = Aws::connect(&crate::commands::aws_options(g, cfg.region.as_deref())).await;
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
    // Ctrl-C stops between two calls, never in the middle of one.
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    rt.block_on(tokio::task::yield_now());
    for (i, change) in plan.changes.iter().enumerate() {
        rt.block_on(tokio::task::yield_now());
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            bar.abandon();
            return Err(Error::Interrupted { done: i, total });
        }
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
    if !args.verify {
        return Ok(ExitStatus::Success);
    }
    if keyless::token::Source::discover(None, None, &rendered.audiences[0]).is_err() {
        p.note("--verify: no token source (not inside GitHub Actions and no AWS_WEB_IDENTITY_TOKEN_FILE); skipped");
        return Ok(ExitStatus::Success);
    }
    let vargs = crate::cli::VerifyArgs {
        role: None,
        token_file: None,
        token_env: None,
        check_signature: false,
        discovery_url: None,
        session_name: "keyless-verify".into(),
        retry_for: 120,
    };
    let mut worst = ExitStatus::Success;
    for role in &cfg.roles {
        let status = verify_role(g, p, &cfg, &templates, role, &vargs, true)?;
        if status as u8 > worst as u8 {
            worst = status;
        }
    }
    Ok(worst)
}

/// `keyless destroy`
pub fn cmd_destroy(g: &Global, p: &Printer, args: &crate::cli::ApplyArgs) -> Result<ExitStatus> {
    if args.verify {
        return Err(Error::usage(
            "--verify applies to `apply` only",
            "drop --verify",
        ));
    }
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

/// Claims for a described GitHub job, computed by GitHub's rules.
fn described_claims(
    args: &crate::cli::ExplainArgs,
    iss: &str,
    audience: &str,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let repo = args.repo.clone().unwrap_or_default();
    let Some((owner, _)) = repo.split_once('/') else {
        return Err(Error::usage(
            format!("--repo {repo:?} is not OWNER/REPO"),
            "e.g. --repo octo-org/octo-repo",
        ));
    };
    if !args.git_ref.starts_with("refs/") {
        return Err(Error::usage(
            format!("--ref {:?} is not a full ref", args.git_ref),
            "use refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/merge",
        ));
    }
    let ctx = keyless::subject::GitHubContext {
        repository: repo.clone(),
        owner_id: args.owner_id.clone(),
        repo_id: args.repo_id.clone(),
        event_name: args.event.clone(),
        git_ref: args.git_ref.clone(),
        environment: args.environment.clone(),
        immutable: args.immutable,
    };
    let sub = ctx.sub().ok_or_else(|| {
        Error::usage(
            "the immutable sub needs --owner-id and --repo-id",
            "pass both IDs (gh api repos/OWNER/REPO --jq '.owner.id, .id')",
        )
    })?;
    let mut m = serde_json::Map::new();
    let s = |v: &str| serde_json::Value::String(v.to_string());
    m.insert("iss".into(), s(iss));
    m.insert("aud".into(), s(audience));
    m.insert("sub".into(), s(&sub));
    m.insert("repository".into(), s(&repo));
    m.insert("repository_owner".into(), s(owner));
    if let Some(id) = &args.repo_id {
        m.insert("repository_id".into(), s(id));
    }
    if let Some(id) = &args.owner_id {
        m.insert("repository_owner_id".into(), s(id));
    }
    m.insert("ref".into(), s(&args.git_ref));
    m.insert(
        "ref_type".into(),
        s(if args.git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        }),
    );
    m.insert("event_name".into(), s(&args.event));
    if let Some(e) = &args.environment {
        m.insert("environment".into(), s(e));
    }
    if let Some(j) = &args.job_workflow_ref {
        m.insert("job_workflow_ref".into(), s(j));
    }
    let now = keyless::token::now();
    m.insert("iat".into(), serde_json::json!(now));
    m.insert("exp".into(), serde_json::json!(now + 300));
    Ok(m)
}

fn explanation_text(
    p: &Printer,
    e: &keyless::explain::Explanation,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut s = String::new();
    for k in [
        "iss",
        "aud",
        "sub",
        "repository",
        "ref",
        "environment",
        "event_name",
        "job_workflow_ref",
    ] {
        if let Some(v) = claims.get(k) {
            let v = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            s.push_str(&format!("  {:<17} {v}\n", p.dim(k)));
        }
    }
    let head = if e.allowed {
        p.style_ok("ADMITTED")
    } else {
        p.style_bad(&format!("DENIED at {}", e.step))
    };
    s.push_str(&format!("\n{head}: {}\n", e.message));
    if let Some(f) = &e.fix {
        s.push_str(&format!("  {} {f}\n", p.bold("fix:")));
    }
    if let Some(v) = &e.verdict {
        s.push_str(&format!("\n{}\n", p.dim("trust policy evaluation:")));
        for st in &v.statements {
            s.push_str(&format!(
                "  {} {}  principal {}  action {}\n",
                st.label(),
                st.effect,
                if st.principal_matches { "ok" } else { "NO" },
                if st.action_matches { "ok" } else { "NO" }
            ));
            for c in &st.conditions {
                let presented = c
                    .presented
                    .as_ref()
                    .map(|v| v.join(" | "))
                    .unwrap_or_else(|| "(absent)".into());
                s.push_str(&format!(
                    "    {} {} {}\n      expected {}\n      presented {presented}\n",
                    if c.passed { "ok " } else { "NO " },
                    c.operator,
                    c.key,
                    c.expected.join(" | ")
                ));
            }
        }
    }
    s
}

/// `keyless explain`
pub fn cmd_explain(g: &Global, p: &Printer, args: &crate::cli::ExplainArgs) -> Result<ExitStatus> {
    let cfg = if args.policy.is_some() && !g.config.exists() {
        None
    } else {
        Some(config::load(&g.config)?)
    };
    let issuer = cfg
        .as_ref()
        .map(|c| c.issuer.clone())
        .unwrap_or_else(keyless::issuer::Issuer::github_com);
    // The trust policy and the provider ARN it is evaluated for.
    let (trust, provider_arn, partition) = if let Some(path) = &args.policy {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let parsed = policy::parse(&text).map_err(|message| Error::Policy {
            what: path.display().to_string(),
            message,
        })?;
        let arn = policy::statements(&parsed.doc)
            .iter()
            .flat_map(|s| {
                policy::strings(s.get("Principal").and_then(|p| p.get("Federated")))
                    .into_iter()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .find(|a| a.contains(":oidc-provider/"))
            .ok_or_else(|| Error::Policy {
                what: path.display().to_string(),
                message: "no statement names an OIDC provider in Principal.Federated".into(),
            })?;
        let partition = arn.split(':').nth(1).unwrap_or("aws").to_string();
        (parsed.doc, arn, partition)
    } else {
        let cfg = cfg
            .as_ref()
            .ok_or_else(|| Error::usage("no config", "pass -c keyless.toml or --policy FILE"))?;
        let role = pick_role(cfg, args.role.as_deref())?;
        let templates = Templates::load(cfg.templates_dir.as_deref())?;
        if args.live {
            let (rt, aws, target) = connect(g, cfg, p)?;
            let live = rt.block_on(aws.read_role(&role.name))?.ok_or_else(|| {
                Error::usage(
                    format!(
                        "role {} does not exist in account {}",
                        role.name, target.account_id
                    ),
                    "create it with `keyless apply`, or explain the config's policy (drop --live)",
                )
            })?;
            (
                live.trust_policy,
                cfg.issuer
                    .provider_arn(&target.partition, &target.account_id),
                target.partition,
            )
        } else {
            let t = target(g, cfg, p)?;
            let rendered = render::render(cfg, &templates, &t)?;
            let doc = rendered
                .roles
                .iter()
                .find(|r| r.name == role.name)
                .map(|r| r.trust_policy.clone())
                .unwrap_or_default();
            (doc, rendered.provider_arn, t.partition)
        }
    };
    let key_prefix = provider_arn
        .split_once(":oidc-provider/")
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| issuer.key_prefix().to_string());
    let kind = keyless::issuer::Issuer::parse(&format!("https://{key_prefix}"))
        .map(|i| i.kind)
        .unwrap_or(issuer.kind.clone());
    let supported = keyless::issuer::supported_claim_keys(
        &partition,
        &kind,
        cfg.as_ref()
            .map(|c| c.extra_claim_keys.as_slice())
            .unwrap_or(&[]),
    );
    let claims = if let Some(path) = &args.claims {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => {
                return Err(Error::usage(
                    format!("{}: not a JSON object of claims", path.display()),
                    "give the decoded token payload, e.g. {\"sub\": \"repo:o/r:ref:refs/heads/main\", \"aud\": \"sts.amazonaws.com\", ...}",
                ));
            }
        }
    } else {
        let audience = args
            .audience
            .clone()
            .or_else(|| {
                cfg.as_ref()
                    .map(|c| render::audiences(c, &partition)[0].clone())
            })
            .unwrap_or_else(|| keyless::issuer::default_audience(&partition).to_string());
        described_claims(args, &format!("https://{key_prefix}"), &audience)?
    };
    let e = keyless::explain::explain(
        &trust,
        &provider_arn,
        &key_prefix,
        &claims,
        &supported,
        &keyless::explain::ProviderFacts::default(),
        keyless::token::now(),
    );
    match p.format {
        Format::Json => p.json(&serde_json::json!({
            "format_version": 1,
            "allowed": e.allowed,
            "step": e.step,
            "message": e.message,
            "deciding_statement": e.statement,
            "deciding_condition": e.condition,
            "fix": e.fix,
            "sub": claims.get("sub"),
            "claims": claims,
            "verdict": e.verdict,
        })),
        _ => p.out(&explanation_text(p, &e, &claims)),
    }
    Ok(if e.allowed {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

/// A small full-jitter backoff source (no crate needed for this).
fn jitter_ms(attempt: u32, seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let cap = (500u64 << attempt.min(5)).min(10_000);
    *seed % cap.max(1)
}

fn is_denial(e: &Error) -> bool {
    matches!(e, Error::Aws { code, .. } if matches!(code.as_str(), "AccessDenied" | "InvalidIdentityToken" | "ExpiredTokenException" | "IDPRejectedClaim" | "InvalidIdentityTokenException"))
}

fn retryable(e: &Error) -> bool {
    matches!(e, Error::Aws { code, message, .. } if code == "AccessDenied"
        || (code == "InvalidIdentityToken" && message.contains("No OpenIDConnect provider"))
        || code.starts_with("IDPCommunicationError")
        || code.contains("Throttl")
        || code == "dispatch failure"
        || code == "ServiceUnavailable" || code == "InternalFailure")
}

/// `keyless verify`
pub fn cmd_verify(g: &Global, p: &Printer, args: &crate::cli::VerifyArgs) -> Result<ExitStatus> {
    let cfg = config::load(&g.config)?;
    let templates = Templates::load(cfg.templates_dir.as_deref())?;
    let role = pick_role(&cfg, args.role.as_deref())?;
    verify_role(g, p, &cfg, &templates, role, args, false)
}

/// Verify one role. With `skip_foreign`, a token the pre-flight says is not meant for this role
/// is reported as skipped (exit 0) instead of exchanged (used by `apply --verify`).
fn verify_role(
    g: &Global,
    p: &Printer,
    cfg: &Config,
    templates: &Templates,
    role: &keyless::config::Role,
    args: &crate::cli::VerifyArgs,
    skip_foreign: bool,
) -> Result<ExitStatus> {
    let rt = crate::commands::runtime()?;
    let opts = crate::commands::aws_options(g, cfg.region.as_deref());
    // AWS credentials are optional: the exchange is unsigned. With them, the pre-flight reads the
    // live provider and trust policy; without them it uses the config's.
    let aws = rt.block_on(Aws::connect(&opts));
    let caller = rt.block_on(aws.caller_identity()).ok();
    let account = g.account_id.clone().or_else(|| cfg.account_id.clone()).or_else(|| caller.as_ref().map(|c| c.account.clone())).ok_or_else(|| {
        Error::usage("verify needs to know the account of the role", "set account_id in keyless.toml (verify itself needs no AWS credentials) or pass --account-id")
    })?;
    let region = opts.region.clone().unwrap_or_else(|| "us-east-1".into());
    let partition = cfg
        .partition
        .clone()
        .or_else(|| caller.as_ref().map(|c| c.partition.clone()))
        .unwrap_or_else(|| names::partition_of_region(&region).to_string());
    let target = Target {
        account_id: account,
        partition,
    };
    let rendered = render::render(cfg, templates, &target)?;
    let desired = rendered
        .roles
        .iter()
        .find(|r| r.name == role.name)
        .ok_or_else(|| Error::usage("role not rendered", "check the config"))?;
    let audience = rendered.audiences[0].clone();
    let source = keyless::token::Source::discover(
        args.token_file.clone(),
        args.token_env.clone(),
        &audience,
    )?;
    let mut token = rt.block_on(keyless::token::fetch(&source))?;
    p.debug(&format!("token from {}", source.describe()));
    let mut signature = None;
    if args.check_signature {
        match rt.block_on(keyless::token::check_signature(
            &token,
            args.discovery_url.as_deref(),
        )) {
            Ok(jwks) => signature = Some(format!("valid (RS256, key from {jwks})")),
            Err(e) => {
                p.note(&format!("{}: {e}", p.style_bad("signature")));
                return Ok(ExitStatus::Findings);
            }
        }
    }
    // Pre-flight: what the account says, when it can be read.
    let mut facts = keyless::explain::ProviderFacts::default();
    let mut trust = desired.trust_policy.clone();
    let mut trust_source = "config";
    if caller.is_some() {
        if let Ok(provider) = rt.block_on(aws.find_provider(&cfg.issuer.url)) {
            let iss = token
                .claims
                .get("iss")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            facts.issuers = Some(match &provider {
                Some(pr) => vec![format!("https://{}", pr.url)],
                None => vec![],
            });
            if provider.is_none() && iss != cfg.issuer.url {
                facts.issuers = None; // a token from another issuer: let the trust step explain it
            }
            facts.client_ids = provider.map(|pr| pr.client_ids);
        }
        if let Ok(Some(live)) = rt.block_on(aws.read_role(&role.name)) {
            trust = live.trust_policy;
            trust_source = "live";
        }
    }
    let supported = keyless::issuer::supported_claim_keys(
        &target.partition,
        &cfg.issuer.kind,
        &cfg.extra_claim_keys,
    );
    let explanation = keyless::explain::explain(
        &trust,
        &rendered.provider_arn,
        cfg.issuer.key_prefix(),
        &token.claims,
        &supported,
        &facts,
        keyless::token::now(),
    );
    if skip_foreign && !explanation.allowed && explanation.step == "trust" {
        p.note(&format!(
            "{} role {}: this job's token is not meant for it ({})",
            p.dim("skip"),
            role.name,
            explanation.message
        ));
        return Ok(ExitStatus::Success);
    }
    // The real exchange.
    let started = std::time::Instant::now();
    let mut seed = (keyless::token::now() as u64) ^ 0x9E37_79B9_7F4A_7C15;
    let mut attempts = 0u32;
    let result = loop {
        attempts += 1;
        match rt.block_on(keyless::aws::assume_with_token(
            &opts,
            &desired.arn,
            &args.session_name,
            token.expose(),
        )) {
            Ok(s) => break Ok(s),
            Err(e)
                if explanation.allowed
                    && retryable(&e)
                    && started.elapsed().as_secs() < args.retry_for =>
            {
                let wait = jitter_ms(attempts, &mut seed);
                p.note(&p.dim(&format!(
                    "attempt {attempts}: {} (IAM may still be propagating); retrying in {wait} ms",
                    match &e {
                        Error::Aws { code, .. } => code.as_str(),
                        _ => "error",
                    }
                )));
                std::thread::sleep(std::time::Duration::from_millis(wait));
                if token
                    .expires_in(keyless::token::now())
                    .is_some_and(|s| s < 30)
                    && !matches!(source, keyless::token::Source::Env(_))
                {
                    token = rt.block_on(keyless::token::fetch(&source))?;
                }
            }
            Err(e) => break Err(e),
        }
    };
    let claim = |k: &str| {
        token
            .claims
            .get(k)
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let shown: Vec<(&str, String)> = [
        "iss",
        "aud",
        "sub",
        "repository",
        "ref",
        "environment",
        "event_name",
        "job_workflow_ref",
    ]
    .iter()
    .filter_map(|k| claim(k).map(|v| (*k, v)))
    .collect();
    let expected_arn = format!(
        "arn:{}:sts::{}:assumed-role/{}/{}",
        target.partition, target.account_id, role.name, args.session_name
    );
    let (status, sts_json, caller_arn, expiration) = match &result {
        Ok(session) => {
            let me = rt.block_on(keyless::aws::caller_of(&opts, session))?;
            let ok = me.arn == expected_arn;
            (
                if ok {
                    ExitStatus::Success
                } else {
                    ExitStatus::Findings
                },
                serde_json::json!({"ok": true, "attempts": attempts, "subject": session.subject, "audience": session.audience, "provider": session.provider}),
                Some(me.arn),
                session.expiration.clone(),
            )
        }
        Err(e) => {
            let (code, message) = match e {
                Error::Aws { code, message, .. } => (code.clone(), message.clone()),
                other => ("error".into(), other.to_string()),
            };
            (
                if is_denial(e) {
                    ExitStatus::Findings
                } else {
                    ExitStatus::Error
                },
                serde_json::json!({"ok": false, "attempts": attempts, "code": code, "message": message}),
                None,
                None,
            )
        }
    };
    match p.format {
        Format::Json => p.json(&serde_json::json!({
            "format_version": 1,
            "role": role.name,
            "role_arn": desired.arn,
            "verified": status == ExitStatus::Success,
            "token": {"source": source.describe(), "claims": shown.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(), "signature": signature},
            "preflight": {"trust_policy": trust_source, "explanation": explanation},
            "sts": sts_json,
            "caller_arn": caller_arn,
            "expected_arn": expected_arn,
            "expiration": expiration,
        })),
        _ => {
            let mut s = format!("{} {}\n", p.bold("token"), source.describe());
            for (k, v) in &shown {
                s.push_str(&format!("  {:<17} {v}\n", p.dim(k)));
            }
            if let Some(sig) = &signature {
                s.push_str(&format!("  {:<17} {sig}\n", p.dim("signature")));
            }
            let pre = if explanation.allowed { p.style_ok("admits") } else { p.style_bad(&format!("denies at {}", explanation.step)) };
            s.push_str(&format!("{} {pre} ({} trust policy): {}\n", p.bold("pre-flight"), trust_source, explanation.message));
            if let Some(f) = &explanation.fix {
                s.push_str(&format!("  {} {f}\n", p.bold("fix:")));
            }
            match (&result, &caller_arn) {
                (Ok(_), Some(arn)) => {
                    s.push_str(&format!("{} AssumeRoleWithWebIdentity succeeded (attempt {attempts})\n", p.bold("exchange")));
                    s.push_str(&format!("{} {arn}{}\n", p.bold("caller"), if *arn == expected_arn { String::new() } else { format!("  (expected {expected_arn})") }));
                    if let Some(x) = &expiration {
                        s.push_str(&format!("{} {x}\n", p.bold("expires")));
                    }
                    if !explanation.allowed {
                        s.push_str(&format!("{}\n", p.style_bad("note: STS admitted a token the local evaluation denies; please report this")));
                    }
                    s.push_str(&format!("\n{} role {} works for this token.", if status == ExitStatus::Success { p.style_ok("VERIFIED") } else { p.style_bad("MISMATCH") }, role.name));
                }
                (Err(e), _) => s.push_str(&format!("{} {}\n\n{} role {} would not work for this job.", p.bold("exchange"), e, p.style_bad("NOT VERIFIED"), role.name)),
                _ => {}
            }
            p.out(&s);
        }
    }
    Ok(status)
}
