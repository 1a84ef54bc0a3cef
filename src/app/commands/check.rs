//! Drift detection for scheduled jobs. Read-only by construction.

use keyless::state::drift;
use keyless::error::Result;
use keyless::policy::lint::{LintContext, Severity};
use keyless::state::{github_plan, render};

use crate::app::args::CheckArgs;
use crate::app::commands::{fleet, show_ci};
use crate::app::exit::ExitStatus;
use crate::app::report::check::CheckReport;
use crate::app::session::Session;

/// How the live documents of `target` are linted: the account, partition and the config's
/// claim keys and quota.
pub fn live_context(cfg: &keyless::config::Config, target: &render::Target) -> LintContext {
    let mut ctx = LintContext::new("live");
    ctx.account_id = Some(target.account_id.clone());
    ctx.partition = Some(target.partition.clone());
    ctx.extra_claim_keys = cfg.extra_claim_keys.clone();
    ctx.trust_size_quota = cfg.trust_policy_size_quota;
    ctx
}

/// `keyless check`
pub fn cmd_check(s: &Session, args: &CheckArgs) -> Result<ExitStatus> {
    let fail_on: Severity = args.fail_on.into();
    if let Some((accounts, text)) = fleet::accounts_of(s)? {
        return fleet::run(s, fleet::Work::Check { fail_on }, &accounts, &text);
    }
    let (rendered, observed, others) = s.render_and_observe(true, false, true)?;
    let other_tags = s.role_tags(&drift::trusting_provider(&rendered, &others))?;
    let cfg = s.config()?;
    let target = &rendered.target;
    let ctx = live_context(cfg, target);
    let mut findings = drift::drift(&rendered, &observed, &others, &other_tags, &ctx);
    // The GitHub half: what each repository mints, the variables, the environments.
    if let Some(facts) = s.github_facts()? {
        let mut checked = rendered.clone();
        let known = facts
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        render::github_findings(cfg, &mut checked, &known);
        if let Some((wanted, seen)) = s.github_wanted(&rendered)? {
            let gplan = github_plan::plan(&wanted, &seen);
            findings.extend(drift::github(&checked, &facts, &gplan, &seen));
        }
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.resource.cmp(&b.resource))
        });
    }
    let report = CheckReport::new(
        &findings,
        fail_on,
        target.account_id.clone(),
        target.partition.clone(),
        cfg.file.clone(),
        // What was compared: the config's roles found in the account.
        observed.roles.values().filter(|r| r.is_some()).count(),
    );
    show_ci(s, &report)?;
    Ok(ExitStatus::findings_if(report.drift))
}
