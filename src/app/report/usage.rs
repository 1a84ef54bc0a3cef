//! `keyless usage` and `keyless tighten`: what each principal used against what it is granted,
//! which records say so and what they cannot show; and, for tighten, each role's proposal or
//! refusal with the actions it drops and their last use.

use serde::Serialize;

use keyless::ops::usage::{Counts, PrincipalUsage};
use keyless::policy::usage::{Row, Status};
use keyless::state::tighten::{Change, Outcome};

use crate::app::report::{FORMAT_VERSION, Report, day};
use crate::app::style;

/// One principal's usage.
#[derive(Debug, Clone, Serialize)]
pub struct PrincipalView {
    /// Role or user ARN.
    pub arn: String,
    /// Whether it exists in the account.
    pub exists: bool,
    /// Days the records cover for it.
    pub days: u32,
    /// Granted against used, per action.
    pub actions: Vec<Row>,
    /// Events that map to no IAM action AWS lists (`source event` → count).
    pub unmapped: std::collections::BTreeMap<String, u64>,
    /// Refused attempts per action (not counted as use).
    pub denied: std::collections::BTreeMap<String, u64>,
    /// Calls seen that need no permission.
    pub needs_no_permission: Vec<String>,
    /// What the records cannot show for this principal.
    pub cannot_show: Vec<String>,
}

impl PrincipalView {
    /// From an operation's answer, with what keyless did not read (`unread` policies, `groups`).
    pub fn new(
        p: &PrincipalUsage,
        counts: &Counts,
        unread: &[String],
        groups: &[String],
    ) -> PrincipalView {
        let u = &p.usage;
        let mut cannot = Vec::new();
        if u.sources.last_accessed {
            for s in u.services.values() {
                if s.tracked.is_none() && s.last.is_some() {
                    cannot.push(format!(
                        "{}: IAM's last-accessed data says when the service was last used, not which actions",
                        s.namespace
                    ));
                }
            }
            cannot.push("IAM's last-accessed data counts attempts, denied ones included".into());
        }
        if !u.sources.trail_files {
            cannot.push("S3 object reads and writes are data events: only a trail records them (--cloudtrail DIR)".into());
        }
        if u.sources.event_history.is_empty() && !u.sources.trail_files {
            cannot
                .push("no CloudTrail records were read: resources and calls are not known".into());
        }
        if let Some(name) = &counts.session_name {
            cannot.push(format!(
                "event history was read for sessions named {name} only"
            ));
        }
        for r in &counts.truncated {
            cannot.push(format!(
                "event history in {r} was read only in part (--max-events)"
            ));
        }
        for a in unread {
            cannot.push(format!(
                "policy {a} could not be read: its grant is not counted"
            ));
        }
        for g in groups {
            cannot.push(format!("group {g}'s policies are not read"));
        }
        if p.days < u.sources.window_days && p.exists {
            cannot.push(format!(
                "it exists for {} day(s) only: the records cover that, not the whole window",
                p.days
            ));
        }
        PrincipalView {
            arn: p.arn.clone(),
            exists: p.exists,
            days: p.days,
            actions: p.rows.clone(),
            unmapped: u.unmapped.clone(),
            denied: u.denied.clone(),
            needs_no_permission: u.free.iter().cloned().collect(),
            cannot_show: cannot,
        }
    }
}

/// `keyless usage`
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// Schema version.
    pub format_version: u32,
    /// The account.
    pub account_id: String,
    /// The window, in days.
    pub window_days: u32,
    /// What was read and how many requests it took.
    pub read: Counts,
    /// One per principal.
    pub principals: Vec<PrincipalView>,
}

impl UsageReport {
    /// The report.
    pub fn new(
        account_id: String,
        window_days: u32,
        read: Counts,
        principals: Vec<PrincipalView>,
    ) -> UsageReport {
        UsageReport {
            format_version: FORMAT_VERSION,
            account_id,
            window_days,
            read,
            principals,
        }
    }
}

/// One action's line.
fn row_line(r: &Row, days: u32) -> String {
    let (word, detail) = match &r.status {
        Status::Used { last } => {
            let calls = if r.calls > 0 {
                format!("{} call(s), ", r.calls)
            } else {
                String::new()
            };
            let on = match r.resources.as_slice() {
                [] => String::new(),
                [one] => format!(" on {one}"),
                [first, rest @ ..] => format!(" on {first} (+{})", rest.len()),
            };
            (
                style::ok("used   "),
                format!("{calls}last {}{on}  [{}]", day(*last), r.seen_by.join(", ")),
            )
        }
        Status::Unused { by } => (
            style::bad("unused "),
            format!("never in {days} day(s) of records ({by})"),
        ),
        Status::Unknown { why } => (style::dim("unknown"), why.to_string()),
    };
    let granted = if r.granted {
        ""
    } else {
        " (not in the grant keyless read)"
    };
    format!("  {word} {}{granted}  {}", r.action, style::dim(&detail))
}

fn principal_text(p: &PrincipalView) -> String {
    let mut s = format!("{} {}", style::bold("principal"), p.arn);
    if !p.exists {
        s.push_str("\n  not in the account");
        return s;
    }
    s.push_str(&format!(
        "  {}\n",
        style::dim(&format!("{} day(s) of records", p.days))
    ));
    let used = p
        .actions
        .iter()
        .filter(|r| matches!(r.status, Status::Used { .. }))
        .count();
    let unused = p
        .actions
        .iter()
        .filter(|r| matches!(r.status, Status::Unused { .. }))
        .count();
    s.push_str(&format!(
        "  {} action(s): {used} used, {unused} unused, {} unknown\n",
        p.actions.len(),
        p.actions.len() - used - unused
    ));
    for r in &p.actions {
        s.push_str(&row_line(r, p.days));
        s.push('\n');
    }
    for (e, n) in &p.unmapped {
        s.push_str(&format!(
            "  {} {e} ×{n}: maps to no action AWS lists\n",
            style::dim("unmapped")
        ));
    }
    for (a, n) in &p.denied {
        s.push_str(&format!(
            "  {} {a} ×{n} (not counted as use)\n",
            style::dim("denied ")
        ));
    }
    for c in &p.cannot_show {
        s.push_str(&format!("  {} {c}\n", style::dim("cannot show:")));
    }
    s
}

fn read_text(c: &Counts) -> String {
    let mut parts = Vec::new();
    if c.jobs_started > 0 {
        parts.push(format!(
            "IAM last-accessed data ({} job(s), {} poll(s))",
            c.jobs_started, c.job_polls
        ));
    }
    if c.lookups > 0 {
        parts.push(format!(
            "CloudTrail event history in {} ({} event(s), {} request(s), {} throttled)",
            c.regions
                .iter()
                .chain(&c.truncated)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            c.events,
            c.lookups,
            c.throttled
        ));
    }
    if c.trail_files > 0 {
        parts.push(format!(
            "trail files ({} file(s), {} record(s))",
            c.trail_files, c.trail_records
        ));
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join("; ")
    }
}

impl Report for UsageReport {
    fn human(&self) -> String {
        self.principals
            .iter()
            .map(principal_text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn notes(&self) -> Vec<String> {
        vec![format!(
            "{} {} over {} days: {}",
            style::bold("read"),
            self.account_id,
            self.window_days,
            read_text(&self.read)
        )]
    }
}

/// `keyless tighten`
#[derive(Debug, Clone, Serialize)]
pub struct TightenReport {
    /// Schema version.
    pub format_version: u32,
    /// The account.
    pub account_id: String,
    /// The window, in days.
    pub window_days: u32,
    /// What was read.
    pub read: Counts,
    /// One per role.
    pub roles: Vec<Outcome>,
    /// keyless.toml's diff (empty: nothing to change).
    pub diff: String,
    /// Policy files the change writes.
    pub files: Vec<String>,
    /// Lint findings on the tightened documents (`rule message`).
    pub findings: Vec<String>,
    /// The plan applying the tightened config would make, in words.
    pub plan: Option<String>,
    /// Whether the files were written.
    pub written: bool,
}

impl TightenReport {
    /// Whether anything would change.
    pub fn changes(&self) -> bool {
        !self.diff.is_empty()
    }
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Refused { role, reason } => {
            format!(
                "{} {role}: {} {reason}",
                style::bold("role"),
                style::bad("not tightened:")
            )
        }
        Outcome::Proposed(p) => {
            let mut s = format!("{} {}", style::bold("role"), p.role);
            match &p.change {
                None => s.push_str(": already uses everything it is granted (nothing to drop)\n"),
                Some(Change::NarrowPreset {
                    preset,
                    param,
                    value,
                    ..
                }) => s.push_str(&format!(": narrow preset {preset}: {param} = {value:?}\n")),
                Some(Change::Inline { name, .. }) => s.push_str(&format!(
                    ": replace its presets and inline policies with inline policy {name:?}\n"
                )),
            }
            for k in &p.kept {
                let why = match (k.last, k.unknown) {
                    (Some(t), _) => format!("used, last {}", day(t)),
                    (None, Some(why)) => format!("kept: {why}"),
                    (None, None) => "kept".into(),
                };
                let cond = if k.conditional {
                    " (under today's conditions)"
                } else {
                    ""
                };
                s.push_str(&format!(
                    "  {} {} on {}{cond}  {}\n",
                    style::added("keep  "),
                    k.action,
                    if k.resources.is_empty() {
                        "its resources".to_string()
                    } else {
                        k.resources.join(", ")
                    },
                    style::dim(&why)
                ));
            }
            for r in &p.removed {
                s.push_str(&format!(
                    "  {} {}  {}\n",
                    style::removed("remove"),
                    r.action,
                    style::dim(&format!("never in {} day(s) of records ({})", p.days, r.by))
                ));
            }
            for u in &p.used_elsewhere {
                s.push_str(&format!(
                    "  {} {u}: used, granted outside what keyless renders\n",
                    style::dim("note ")
                ));
            }
            for l in &p.left {
                s.push_str(&format!(
                    "  {} managed policy {l} is left as it is\n",
                    style::dim("note ")
                ));
            }
            s
        }
    }
}

impl Report for TightenReport {
    fn human(&self) -> String {
        let mut s: String = self
            .roles
            .iter()
            .map(outcome_text)
            .collect::<Vec<_>>()
            .join("\n");
        if self.diff.is_empty() {
            s.push_str("\nNothing to change.");
            return s;
        }
        s.push_str(&format!(
            "\n{}\n{}",
            style::bold("keyless.toml:"),
            self.diff
        ));
        for f in &self.files {
            s.push_str(&format!("{} {f}\n", style::bold("policy file:")));
        }
        for f in &self.findings {
            s.push_str(&format!("{} {f}\n", style::bold("lint:")));
        }
        if let Some(p) = &self.plan {
            s.push_str(&format!(
                "\n{}\n{p}",
                style::bold("then `keyless apply` would make:")
            ));
        }
        s
    }

    fn notes(&self) -> Vec<String> {
        let mut n = vec![format!(
            "{} {} over {} days: {}",
            style::bold("read"),
            self.account_id,
            self.window_days,
            read_text(&self.read)
        )];
        if self.changes() && !self.written {
            n.push("nothing was written: pass --write to write keyless.toml and the policy file(s), then `keyless apply`".into());
        }
        n
    }
}
