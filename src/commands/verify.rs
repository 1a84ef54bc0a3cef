//! verify (a real token exchange) and explain (offline evaluation), sharing one explanation.

use super::*;

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
pub(super) fn verify_role(
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
