//! Many accounts from one config (`[accounts]`): `plan`, `apply`, `destroy`, `check` and
//! `audit` run in each account with bounded concurrency, through a role assumed from the caller's
//! credentials. One account failing (refused assume-role, throttling past retries, a pin that
//! does not hold) does not stop the others; the run exits with the worst status. One report with
//! an entry per account. Each account's work is the single-account pipeline of the library
//! (render → observe → plan/drift/audit → execute), on that account's own config
//! ([`keyless::config::accounts::for_account`]).

use std::sync::atomic::AtomicBool;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use keyless::config::accounts::{self, Accounts};
use keyless::state::audit::{self, AccountView, AuditFinding};
use keyless::io::aws::Aws;
use keyless::config;
use keyless::state::drift::{self, DriftFinding};
use keyless::error::{Error, Result};
use keyless::policy::lint::Severity;
use keyless::state::plan::{self, Plan};
use keyless::state::render::{self, Rendered, Target};
use keyless::policy::template::Templates;

use crate::app::commands::check::live_context;
use crate::app::commands::show_ci;
use crate::app::exit::ExitStatus;
use crate::app::report::audit::AuditReport;
use crate::app::report::check::CheckReport;
use crate::app::report::plan::PlanReport;
use crate::app::report::{CiReport, FORMAT_VERSION, Report, annotation, show};
use crate::app::session::Session;

/// What to do in each account.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// `keyless check`.
    Check {
        /// `--fail-on`.
        fail_on: Severity,
    },
    /// `keyless plan`.
    Plan {
        /// `--detailed-exitcode`.
        detailed: bool,
    },
    /// `keyless apply`.
    Apply {
        /// `--yes`.
        yes: bool,
    },
    /// `keyless destroy`.
    Destroy {
        /// `--yes`.
        yes: bool,
    },
    /// `keyless audit`.
    Audit {
        /// `--fail-on`.
        fail_on: Severity,
        /// `--unused-days`.
        unused_days: u32,
    },
}

impl Work {
    /// The threshold for check and audit findings (`--fail-on`; `low` for the others, which
    /// have no findings).
    fn fail_on(self) -> Severity {
        match self {
            Work::Check { fail_on } | Work::Audit { fail_on, .. } => fail_on,
            _ => Severity::Low,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Work::Check { .. } => "check",
            Work::Plan { .. } => "plan",
            Work::Apply { .. } => "apply",
            Work::Destroy { .. } => "destroy",
            Work::Audit { .. } => "audit",
        }
    }
}

/// What was read and decided in one account.
enum Outcome {
    Checked {
        rendered: Rendered,
        findings: Vec<DriftFinding>,
        roles_checked: usize,
    },
    Planned {
        rendered: Rendered,
        plan: Plan,
    },
    Audited {
        account: String,
        view: AccountView,
        findings: Vec<AuditFinding>,
    },
}

/// The config's `[accounts]`, when it has one.
pub fn accounts_of(s: &Session) -> Result<Option<(Accounts, String)>> {
    let text = match std::fs::read_to_string(&s.config_path) {
        Ok(t) => t,
        Err(_) => return Ok(None), // the single-account path reports a missing config
    };
    let file = s.config_path.display().to_string();
    Ok(accounts::read(&text, &file)?.map(|a| (a, text)))
}

/// Run `work` in every account of `accounts`.
pub fn run(s: &Session, work: Work, accounts: &Accounts, text: &str) -> Result<ExitStatus> {
    let file = s.config_path.display().to_string();
    let dir = s
        .config_path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let templates = s.templates()?;
    let base = s.aws()?;
    let caller = s.caller()?;
    // The organizational units' accounts, read from AWS Organizations.
    let mut listed = Vec::new();
    for ou in &accounts.organizational_units {
        listed.extend(s.block_on(base.accounts_in(ou))??);
    }
    let ids = accounts::targets(accounts, &listed, &caller.account);
    s.printer.note(&format!(
        "{} in {} account(s), {} at a time, through role {} from {}",
        work.name(),
        ids.len(),
        s.account_concurrency,
        accounts.role,
        caller.arn
    ));
    let ctx = Ctx {
        base: &base,
        accounts,
        text,
        file: &file,
        dir: &dir,
        templates,
        partition: &caller.partition,
        concurrency: s.concurrency,
        reads: s.reads,
        work,
    };
    let prepared: Vec<(String, Result<(Aws, Outcome)>)> = s.block_on(
        futures_util::stream::iter(ids.iter().map(|id| {
            let ctx = &ctx;
            async move { (id.clone(), ctx.prepare(id).await) }
        }))
        .buffered(s.account_concurrency.max(1))
        .collect(),
    )?;
    // apply and destroy: one confirmation for every account's plan, then the writes.
    let mut applied: Vec<Option<Result<usize>>> = prepared.iter().map(|_| None).collect();
    if let Work::Apply { yes } | Work::Destroy { yes } = work {
        let mut shown = Vec::new();
        let mut changes = 0;
        for (id, r) in &prepared {
            if let Ok((_, Outcome::Planned { rendered, plan })) = r {
                changes += plan.changes.len();
                shown.push(format!(
                    "── account {id}\n{}",
                    PlanReport::new(plan, rendered, None).human()
                ));
            }
        }
        if changes > 0 {
            s.printer.note(&shown.join("\n"));
            let question = format!(
                "{} these {changes} change(s) in {} account(s)?",
                if matches!(work, Work::Apply { .. }) {
                    "Apply"
                } else {
                    "Destroy"
                },
                shown.len()
            );
            if !s.confirm(yes, &question)? {
                return Err(Error::usage(
                    "nothing was changed",
                    "run again and confirm, or pass --yes",
                ));
            }
            // Ctrl-C stops every account's executor between two calls.
            let cancel = s.cancel_flag()?;
            let cancel: &AtomicBool = &cancel;
            let results: Vec<Option<Result<usize>>> = s.block_on(
                futures_util::stream::iter(prepared.iter().map(|(_, r)| async move {
                    match r {
                        Ok((aws, Outcome::Planned { plan, .. })) if !plan.is_empty() => Some(
                            keyless::io::execute::execute(plan, aws, cancel, |_| {})
                                .await
                                .map(|o| o.applied),
                        ),
                        _ => None,
                    }
                }))
                .buffered(s.account_concurrency.max(1))
                .collect(),
            )?;
            applied = results;
        }
    }
    let mut entries = Vec::new();
    for ((id, r), applied) in prepared.into_iter().zip(applied) {
        entries.push(entry(id, r.map(|(_, o)| o), applied, work));
    }
    let report = FleetReport::new(work, entries);
    match work {
        Work::Check { .. } | Work::Audit { .. } => show_ci(s, &report)?,
        _ => show(&s.printer, s.format, &report),
    }
    Ok(report.worst)
}

struct Ctx<'a> {
    base: &'a Aws,
    accounts: &'a Accounts,
    text: &'a str,
    file: &'a str,
    dir: &'a std::path::Path,
    templates: &'a Templates,
    partition: &'a str,
    concurrency: usize,
    reads: keyless::state::observed::Reads,
    work: Work,
}

impl Ctx<'_> {
    /// Reach `id`, read it, and decide (no write).
    async fn prepare(&self, id: &str) -> Result<(Aws, Outcome)> {
        let text = accounts::for_account(self.text, self.file, self.accounts, id)?;
        let cfg = config::parse(&text, self.file, self.dir)?;
        let (aws, caller) = self
            .base
            .assume_role(
                &self.accounts.role_arn(self.partition, id),
                self.accounts.external_id.as_deref(),
            )
            .await?;
        if caller.account != id {
            return Err(Error::usage(
                format!(
                    "the role assumed for account {id} belongs to account {}",
                    caller.account
                ),
                "check [accounts] role: it must name a role in each target account",
            ));
        }
        if let Some(p) = cfg.partition.as_deref().filter(|p| *p != caller.partition) {
            return Err(Error::usage(
                format!(
                    "the config is pinned to partition {p}, but account {id} answered from partition {}",
                    caller.partition
                ),
                "run it with credentials in that partition, or change partition in keyless.toml",
            ));
        }
        let target = Target {
            account_id: id.to_string(),
            partition: caller.partition,
        };
        if let Work::Audit {
            fail_on: _,
            unused_days,
        } = self.work
        {
            let view = aws.audit_view().await?;
            let opts = audit::AuditOptions::now(unused_days);
            let findings = audit::audit(&view, &live_context(&cfg, &target), &opts);
            return Ok((
                aws,
                Outcome::Audited {
                    account: id.to_string(),
                    view,
                    findings,
                },
            ));
        }
        let rendered = render::render(&cfg, self.templates, &target)?;
        let blocking = rendered.blocking();
        if blocking > 0 && !matches!(self.work, Work::Destroy { .. }) {
            return Err(Error::LintBlocked { count: blocking });
        }
        let others = matches!(self.work, Work::Check { .. } | Work::Destroy { .. });
        let (observed, other_trusts, _) = aws
            .observe_by(&rendered, self.concurrency, self.reads, others)
            .await?;
        let outcome = match self.work {
            Work::Check { .. } => {
                let trusting = drift::trusting_provider(&rendered, &other_trusts);
                let other_tags = aws.role_tags(&trusting, self.concurrency).await?;
                let findings = drift::drift(
                    &rendered,
                    &observed,
                    &other_trusts,
                    &other_tags,
                    &live_context(&cfg, &target),
                );
                Outcome::Checked {
                    roles_checked: observed.roles.values().filter(|r| r.is_some()).count(),
                    rendered,
                    findings,
                }
            }
            Work::Destroy { .. } => Outcome::Planned {
                plan: plan::destroy(&rendered, &observed, &other_trusts)?,
                rendered,
            },
            _ => Outcome::Planned {
                plan: plan::plan(&rendered, &observed)?,
                rendered,
            },
        };
        Ok((aws, outcome))
    }
}

/// One account's line in the report.
#[derive(Debug, Serialize)]
pub struct AccountEntry {
    /// The account.
    pub account_id: String,
    /// `ok`, `changes`, `drift`, `findings`, `applied` or `error`.
    pub status: &'static str,
    /// Its exit code alone.
    pub exit: u8,
    /// One line for people.
    pub summary: String,
    /// What failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The single-account report (check, plan or audit JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
    /// Changes made (apply, destroy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<usize>,
    #[serde(skip)]
    human: String,
    #[serde(skip)]
    status_code: ExitStatus,
    /// GitHub workflow commands and step-summary Markdown (check, audit).
    #[serde(skip)]
    ci: Option<(String, String)>,
}

fn entry(
    id: String,
    r: Result<Outcome>,
    applied: Option<Result<usize>>,
    work: Work,
) -> AccountEntry {
    let mut e = AccountEntry {
        account_id: id,
        status: "ok",
        exit: 0,
        summary: String::new(),
        error: None,
        report: None,
        applied: None,
        human: String::new(),
        status_code: ExitStatus::Success,
        ci: None,
    };
    let fail = |e: &mut AccountEntry, err: &Error| {
        e.status = "error";
        e.status_code = ExitStatus::Error;
        e.summary = err
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        e.error = Some(err.to_string());
    };
    match r {
        Err(err) => fail(&mut e, &err),
        Ok(Outcome::Checked {
            rendered,
            findings,
            roles_checked,
        }) => {
            let fail_on = work.fail_on();
            let report = CheckReport::new(
                &findings,
                fail_on,
                rendered.target.account_id.clone(),
                rendered.target.partition.clone(),
                rendered.config.clone(),
                roles_checked,
            );
            e.summary = if findings.is_empty() {
                format!("in sync ({roles_checked} role(s))")
            } else {
                format!("{} drift finding(s)", findings.len())
            };
            if report.drift {
                e.status = "drift";
                e.status_code = ExitStatus::Findings;
            }
            if !findings.is_empty() {
                e.human = report.human();
            }
            e.ci = Some((report.annotations(), report.markdown()));
            e.report = serde_json::to_value(&report).ok();
        }
        Ok(Outcome::Planned { rendered, plan }) => {
            let report = PlanReport::new(&plan, &rendered, None);
            e.summary = if plan.is_empty() {
                "no changes".into()
            } else {
                format!("{} change(s)", plan.changes.len())
            };
            if !plan.is_empty() {
                e.status = "changes";
                if matches!(work, Work::Plan { detailed: true }) {
                    e.status_code = ExitStatus::Findings;
                }
                if matches!(work, Work::Plan { .. }) {
                    e.human = report.human();
                }
            }
            e.report = serde_json::to_value(&report).ok();
            match applied {
                Some(Ok(n)) => {
                    e.status = "applied";
                    e.applied = Some(n);
                    e.summary = format!("{n} change(s) applied");
                }
                Some(Err(err)) => fail(&mut e, &err),
                None => {}
            }
        }
        Ok(Outcome::Audited {
            account,
            view,
            findings,
        }) => {
            let fail_on = work.fail_on();
            let report = AuditReport::new(&view, &findings, fail_on, account);
            e.summary = format!(
                "{} role(s) trusting GitHub, {} finding(s)",
                view.roles.len(),
                findings.len()
            );
            if report.failing {
                e.status = "findings";
                e.status_code = ExitStatus::Findings;
            }
            if !findings.is_empty() {
                e.human = report.human();
            }
            e.ci = Some((report.annotations(), report.markdown()));
            e.report = serde_json::to_value(&report).ok();
        }
    }
    e.exit = e.status_code.code();
    e
}

/// The report of a run across accounts.
#[derive(Debug, Serialize)]
pub struct FleetReport {
    /// Schema version.
    pub format_version: u32,
    /// The command run in each account.
    pub command: &'static str,
    /// One entry per account, in the config's order.
    pub accounts: Vec<AccountEntry>,
    /// Accounts by status.
    pub summary: std::collections::BTreeMap<&'static str, usize>,
    #[serde(skip)]
    worst: ExitStatus,
}

impl FleetReport {
    fn new(work: Work, accounts: Vec<AccountEntry>) -> FleetReport {
        let mut summary = std::collections::BTreeMap::new();
        for a in &accounts {
            *summary.entry(a.status).or_default() += 1;
        }
        FleetReport {
            format_version: FORMAT_VERSION,
            command: work.name(),
            worst: accounts
                .iter()
                .map(|a| a.status_code)
                .max()
                .unwrap_or(ExitStatus::Success),
            accounts,
            summary,
        }
    }
}

impl Report for FleetReport {
    fn human(&self) -> String {
        let mut out = String::new();
        for a in &self.accounts {
            out.push_str(&format!(
                "{}  {:<8}  {}\n",
                a.account_id, a.status, a.summary
            ));
        }
        for a in self.accounts.iter().filter(|a| !a.human.is_empty()) {
            out.push_str(&format!("\n── account {}\n{}", a.account_id, a.human));
        }
        for a in &self.accounts {
            if let Some(err) = &a.error {
                out.push_str(&format!("\n── account {}: error\n{err}\n", a.account_id));
            }
        }
        out
    }
}

impl CiReport for FleetReport {
    /// Each account's workflow commands, their titles naming the account; an `::error` per
    /// account that could not be reached or read.
    fn annotations(&self) -> String {
        let mut out = Vec::new();
        for a in &self.accounts {
            if let Some((annotations, _)) = &a.ci {
                for line in annotations.lines() {
                    out.push(line.replacen(
                        " title=",
                        &format!(" title=account {} ", a.account_id),
                        1,
                    ));
                }
            }
            if let Some(err) = &a.error {
                out.push(annotation(
                    "error",
                    &format!("keyless {} account {}", self.command, a.account_id),
                    err,
                ));
            }
        }
        out.join("\n")
    }

    /// A table of the accounts, then each account's own summary.
    fn markdown(&self) -> String {
        let mut out = format!(
            "## keyless {} across {} account(s)\n\n| account | status | summary |\n|---|---|---|\n",
            self.command,
            self.accounts.len()
        );
        for a in &self.accounts {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                a.account_id,
                a.status,
                a.summary.replace('|', "\\|")
            ));
        }
        for a in &self.accounts {
            if let Some((_, md)) = &a.ci {
                out.push_str(&format!("\n### account {}\n\n{md}\n", a.account_id));
            }
        }
        out
    }
}
