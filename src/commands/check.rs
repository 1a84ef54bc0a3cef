//! Drift detection for scheduled jobs. Read-only by construction.

use super::*;

/// `keyless check`
pub fn cmd_check(g: &Global, p: &Printer, args: &crate::cli::CheckArgs) -> Result<ExitStatus> {
    let (cfg, _, rendered, rt, aws) = connected_render(g, p, true)?;
    let target = rendered.target.clone();
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
