//! Commands that print documents and findings: render, lint, emit, presets. Read-only.

use super::*;

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
            let partition = cfg.offline_partition(None);
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
            let partition = cfg.offline_partition(None);
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
