//! What principals used, in one account: IAM's last-accessed data for all of them (jobs started
//! together, polled together), CloudTrail event history read once per Region (one stream, split
//! by principal; Regions read at once, each paced to its own 2 requests per second), and a
//! trail's files when given. The Regions read are the ones last-accessed data shows in use,
//! plus the session's, plus `us-east-1` where IAM and STS log; not every Region blindly.
//!
//! Returns plain [`Usage`] per principal and the counts of what was read; the comparison and
//! the proposal are the core's ([`crate::policy::usage`], [`crate::state::tighten`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures_util::future::join_all;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::io::aws::Aws;
use crate::io::aws::cloudtrail::{Looked, Lookup};
use crate::io::aws::principals::Grant;
use crate::ops::context::{Account, AccountContext};
use crate::policy::usage::{Event, Row, Sources, Usage, compare};
use crate::state::render::{self, Rendered};

/// Event history keeps 90 days.
pub const EVENT_HISTORY_DAYS: u32 = 90;

/// How to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The window, in days (at most 90 with event history, 400 without).
    pub window_days: u32,
    /// Read IAM's last-accessed data.
    pub last_accessed: bool,
    /// Read CloudTrail event history.
    pub event_history: bool,
    /// Read these Regions' event history instead of the ones in use.
    pub regions: Option<Vec<String>>,
    /// Stop a Region's read after this many events.
    pub max_events: usize,
    /// A directory of a trail's log files.
    pub trail_dir: Option<PathBuf>,
    /// Read only role sessions of this name from event history (`Username` lookups; the
    /// configure-aws-credentials action names its sessions `GitHubActions`): far fewer pages in
    /// a busy account, and nothing of sessions named otherwise.
    pub session_name: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            window_days: 90,
            last_accessed: true,
            event_history: true,
            regions: None,
            max_events: 50_000,
            trail_dir: None,
            session_name: None,
        }
    }
}

/// What the read is doing, for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Last-accessed jobs started for this many principals.
    LastAccessed(usize),
    /// Events read so far in a Region.
    Events(String, usize),
    /// Trail files read.
    Trail(usize),
}

/// Requests made and records read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// GenerateServiceLastAccessedDetails requests.
    pub jobs_started: u64,
    /// GetServiceLastAccessedDetails requests.
    pub job_polls: u64,
    /// LookupEvents requests (retries included).
    pub lookups: u64,
    /// LookupEvents requests answered with throttling.
    pub throttled: u64,
    /// Events read from event history.
    pub events: usize,
    /// Trail files read, and their records.
    pub trail_files: usize,
    /// Records in the trail files.
    pub trail_records: usize,
    /// Regions whose event history was read.
    pub regions: Vec<String>,
    /// Regions whose read stopped at the cap (their history is partial).
    pub truncated: Vec<String>,
    /// The session name event history was narrowed to.
    pub session_name: Option<String>,
}

/// One principal's records.
#[derive(Debug, Clone)]
pub struct PrincipalUsage {
    /// Role or user ARN.
    pub arn: String,
    /// Whether it exists.
    pub exists: bool,
    /// What the records say.
    pub usage: Usage,
    /// Days the records cover for it (less than the window for a younger principal).
    pub days: u32,
    /// Granted against used.
    pub rows: Vec<Row>,
}

use crate::io::token::now;

impl PrincipalUsage {
    /// One principal's usage against the documents it is granted: `created` is `None` when it
    /// is not in the account (then no records were read for it, and `usage` is `None`).
    fn of(
        arn: &str,
        created: Option<Option<i64>>,
        usage: Option<Usage>,
        granted: &[&Value],
        opts: &Options,
        now: i64,
    ) -> PrincipalUsage {
        let usage = usage.unwrap_or_else(|| {
            Usage::collect(
                arn,
                &[],
                &[],
                Sources {
                    window_days: opts.window_days,
                    now,
                    last_accessed: false,
                    event_history: vec![],
                    trail_files: false,
                },
            )
        });
        PrincipalUsage {
            arn: arn.to_string(),
            exists: created.is_some(),
            rows: compare(granted, &usage),
            days: created.map_or(0, |c| days_covered(c, opts.window_days, now)),
            usage,
        }
    }
}

/// Read the records of `principals` (ARN, creation time) and split them per principal.
pub async fn read(
    aws: &Aws,
    principals: &[(String, Option<i64>)],
    home_region: &str,
    partition: &str,
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<Usage>, Counts)> {
    let max_days = if opts.event_history {
        EVENT_HISTORY_DAYS
    } else {
        400
    };
    if opts.window_days == 0 || opts.window_days > max_days {
        return Err(Error::Aws {
            op: "usage".into(),
            code: "InvalidWindow".into(),
            message: format!(
                "a window of {} days: {}",
                opts.window_days,
                if opts.event_history {
                    "CloudTrail event history keeps 90 days"
                } else {
                    "IAM keeps last-accessed data for 400 days"
                }
            ),
            hint: Some(format!("pass --days between 1 and {max_days}")),
        });
    }
    let end = now();
    let start = end - i64::from(opts.window_days) * 86_400;
    let arns: Vec<String> = principals.iter().map(|(a, _)| a.clone()).collect();
    let mut counts = Counts {
        session_name: opts.session_name.clone(),
        ..Counts::default()
    };
    let services = if opts.last_accessed && !arns.is_empty() {
        progress(Progress::LastAccessed(arns.len()));
        let (s, c) = aws.last_accessed(&arns).await?;
        counts.jobs_started = c.started;
        counts.job_polls = c.polls;
        s
    } else {
        vec![Vec::new(); arns.len()]
    };
    let mut events: Vec<(Event, bool)> = Vec::new();
    if opts.event_history && !arns.is_empty() {
        let regions = match &opts.regions {
            Some(r) => r.clone(),
            None => {
                let mut r: BTreeSet<String> = BTreeSet::from([home_region.to_string()]);
                for s in services.iter().flatten() {
                    if s.last.is_some_and(|t| t >= start) {
                        r.extend(s.region.clone());
                        if matches!(s.namespace.as_str(), "iam" | "sts") {
                            r.insert("us-east-1".into());
                        }
                    }
                    for (_, t, region) in s.tracked.iter().flatten() {
                        if t.is_some_and(|t| t >= start) {
                            r.extend(region.clone());
                        }
                    }
                }
                r.into_iter().collect()
            }
        };
        // Roles: one stream of every event (or of the sessions of one name), split afterwards.
        // Users only: one lookup per user by name.
        let users: Vec<&str> = arns
            .iter()
            .filter(|a| a.contains(":user/"))
            .map(|a| a.rsplit('/').next().unwrap_or_default())
            .collect();
        let attributes: Vec<Option<(String, String)>> = if users.len() == arns.len() {
            users
                .iter()
                .map(|u| Some(("Username".to_string(), u.to_string())))
                .collect()
        } else if let Some(name) = &opts.session_name {
            vec![Some(("Username".to_string(), name.clone()))]
        } else {
            vec![None]
        };
        let reads = join_all(regions.iter().map(|region| {
            let attributes = attributes.clone();
            async move {
                let mut all = Looked::default();
                for attribute in attributes {
                    let l = Lookup {
                        region: region.clone(),
                        start,
                        end,
                        attribute,
                        max_events: opts.max_events,
                    };
                    let got = aws
                        .lookup_events(&l, &|r, n| progress(Progress::Events(r.to_string(), n)))
                        .await?;
                    all.records.extend(got.records);
                    all.requests += got.requests;
                    all.throttled += got.throttled;
                    all.truncated |= got.truncated;
                }
                Ok::<_, Error>((region.clone(), all))
            }
        }))
        .await;
        for r in reads {
            let (region, looked) = r?;
            counts.lookups += looked.requests;
            counts.throttled += looked.throttled;
            counts.events += looked.records.len();
            if looked.truncated {
                counts.truncated.push(region.clone());
            } else {
                counts.regions.push(region.clone());
            }
            events.extend(
                looked
                    .records
                    .iter()
                    .filter_map(|r| Event::from_record(r, partition))
                    .map(|e| (e, false)),
            );
        }
    }
    if let Some(dir) = &opts.trail_dir {
        let (records, files): (Vec<Value>, usize) = crate::io::trail::read_dir(dir)?;
        progress(Progress::Trail(files));
        counts.trail_files = files;
        counts.trail_records = records.len();
        events.extend(
            records
                .iter()
                .filter_map(|r| Event::from_record(r, partition))
                .map(|e| (e, true)),
        );
    }
    let usages = arns
        .iter()
        .zip(services)
        .map(|(arn, services)| {
            Usage::collect(
                arn,
                &events,
                &services,
                Sources {
                    window_days: opts.window_days,
                    now: end,
                    last_accessed: opts.last_accessed,
                    event_history: counts.regions.clone(),
                    trail_files: opts.trail_dir.is_some(),
                },
            )
        })
        .collect();
    Ok((usages, counts))
}

/// Days of records a principal created at `created` has in a window of `window` days.
pub fn days_covered(created: Option<i64>, window: u32, now: i64) -> u32 {
    match created {
        Some(c) if c > now - i64::from(window) * 86_400 => ((now - c).max(0) / 86_400) as u32,
        _ => window,
    }
}

/// The config's roles: what each used against what the config grants it.
#[derive(Debug, Clone)]
pub struct ConfigUsage {
    /// The config rendered for the account.
    pub rendered: Rendered,
    /// One per config role, in config order.
    pub roles: Vec<PrincipalUsage>,
    /// What was read.
    pub counts: Counts,
}

/// Usage of every config role (`only`: just these), granted as the config renders it.
pub async fn for_config(
    ctx: &AccountContext<'_>,
    only: &[String],
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ConfigUsage> {
    let rendered = render::render(&ctx.config, ctx.templates, &ctx.account.target)?;
    for_rendered(&ctx.account, rendered, only, opts, progress).await
}

/// [`for_config`] for a config already rendered for the account.
pub async fn for_rendered(
    a: &Account<'_>,
    rendered: Rendered,
    only: &[String],
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ConfigUsage> {
    let chosen: Vec<&render::RoleDocuments> = rendered
        .roles
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.name))
        .collect();
    let created = join_all(chosen.iter().map(|r| a.aws.role_created(&r.name)))
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let existing: Vec<(String, Option<i64>)> = chosen
        .iter()
        .zip(&created)
        .filter(|(_, c)| c.is_some())
        .map(|(r, c)| (r.arn.clone(), *c))
        .collect();
    let home = a.aws.region();
    let (usages, counts) = read(
        &a.aws,
        &existing,
        &home,
        &a.target.partition,
        opts,
        progress,
    )
    .await?;
    let mut by_arn: std::collections::BTreeMap<String, Usage> = existing
        .iter()
        .map(|(arn, _)| arn.clone())
        .zip(usages)
        .collect();
    let now = now();
    let roles = chosen
        .iter()
        .zip(created)
        .map(|(r, c)| {
            let docs: Vec<&Value> = r.policies.iter().map(|p| &p.document).collect();
            // `role_created` says `None` for a role that does not exist.
            let created = c.map(Some);
            PrincipalUsage::of(&r.arn, created, by_arn.remove(&r.arn), &docs, opts, now)
        })
        .collect();
    Ok(ConfigUsage {
        rendered,
        roles,
        counts,
    })
}

/// Usage of any roles or IAM users by ARN, granted as IAM holds it now.
pub async fn for_arns(
    account: &Account<'_>,
    arns: &[String],
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<(PrincipalUsage, Grant)>, Counts)> {
    let grants = join_all(arns.iter().map(|a| account.aws.principal_grant(a)))
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let existing: Vec<(String, Option<i64>)> = arns
        .iter()
        .zip(&grants)
        .filter(|(_, g)| g.exists)
        .map(|(a, g)| (a.clone(), g.created))
        .collect();
    let home = account.aws.region();
    let (usages, counts) = read(
        &account.aws,
        &existing,
        &home,
        &account.target.partition,
        opts,
        progress,
    )
    .await?;
    let mut usages = usages.into_iter();
    let now = now();
    let mut out = Vec::new();
    for (arn, g) in arns.iter().zip(grants) {
        let usage = if g.exists { usages.next() } else { None };
        let docs: Vec<&Value> = g.documents.iter().map(|(_, d)| d).collect();
        let created = g.exists.then_some(g.created);
        out.push((PrincipalUsage::of(arn, created, usage, &docs, opts, now), g));
    }
    Ok((out, counts))
}
