//! The executor: makes a [`Plan`]'s changes as a dependency graph ([`crate::state::plan::waves`]):
//! independent changes at the same time (at most [`WRITE_CONCURRENCY`]), dependent ones in the
//! plan's order. It can be stopped between two groups of calls (never in the middle of one).
//!
//! [`execute_github`] makes the GitHub half of a plan (environments, then variables) one call at
//! a time, in order, with the same stop and failure rules.
//!
//! It is the only producer of [`Error::Partial`] and [`Error::Interrupted`]: a failure or a
//! cancel part-way leaves the account in a state the next run re-reads and converges from. It
//! knows nothing about the terminal or signals: progress goes to a callback, and the caller
//! decides what sets the cancel flag (the binary wires it to Ctrl-C).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::io::github::GitHub;
use crate::state::github_plan::{GitHubChange, GitHubPlan};
use crate::state::plan::{Change, Plan};

/// Makes one change. [`crate::io::aws::Aws`] is the real one.
pub trait Applier {
    /// Make `change`, or say why not; and whether this call made it.
    fn apply(&self, change: &Change) -> impl Future<Output = Result<Made>>;
}

impl Applier for crate::io::aws::Aws {
    fn apply(&self, change: &Change) -> impl Future<Output = Result<Made>> {
        crate::io::aws::Aws::apply(self, change)
    }
}

pub use crate::io::aws::Made;

/// One step of an execution, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// About to make change `index` (0-based) of `total`.
    Start {
        /// Position in the plan.
        index: usize,
        /// Changes in the plan.
        total: usize,
        /// The change.
        change: &'a Change,
    },
    /// Change `index` was made.
    Done {
        /// Position in the plan.
        index: usize,
        /// Changes in the plan.
        total: usize,
        /// The change.
        change: &'a Change,
    },
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Changes made (all of the plan's, when it returns `Ok`).
    pub applied: usize,
    /// The creates (by position in the plan) that found their entity already there.
    pub existing: Vec<usize>,
}

/// Writes in flight at once: IAM throttles writes harder than reads.
pub const WRITE_CONCURRENCY: usize = 4;

/// Make every change of `plan`, wave by wave ([`crate::state::plan::waves`]), up to
/// [`WRITE_CONCURRENCY`] calls at a time. Before each group of calls the cancel flag is read
/// (after yielding once, so a signal task on the same runtime gets to set it); when it is set,
/// nothing more is attempted and the result is [`Error::Interrupted`]. A failed call stops the
/// run with [`Error::Partial`], naming the change and how many were made: the calls already in
/// flight beside it finish, and nothing after them starts.
pub async fn execute<A: Applier>(
    plan: &Plan,
    applier: &A,
    cancel: &AtomicBool,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Outcome> {
    let total = plan.changes.len();
    let mut done = 0;
    let mut existing = Vec::new();
    for wave in crate::state::plan::waves(&plan.changes) {
        for group in wave.chunks(WRITE_CONCURRENCY) {
            tokio::task::yield_now().await;
            if cancel.load(Ordering::SeqCst) {
                return Err(Error::Interrupted { done, total });
            }
            for &index in group {
                progress(Progress::Start {
                    index,
                    total,
                    change: &plan.changes[index],
                });
            }
            let results = futures_util::future::join_all(
                group.iter().map(|&i| applier.apply(&plan.changes[i])),
            )
            .await;
            let mut failed = None;
            for (&index, result) in group.iter().zip(results) {
                let change = &plan.changes[index];
                match result {
                    Ok(made) => {
                        if made == Made::Existing {
                            existing.push(index);
                        }
                        done += 1;
                        progress(Progress::Done {
                            index,
                            total,
                            change,
                        });
                    }
                    Err(e) => {
                        failed.get_or_insert((change, e));
                    }
                }
            }
            if let Some((change, e)) = failed {
                return Err(Error::Partial {
                    change: change.address(),
                    api: change.api().into(),
                    done,
                    total,
                    source: Box::new(e),
                    earlier: 0,
                });
            }
        }
    }
    Ok(Outcome {
        applied: total,
        existing,
    })
}

/// Make the GitHub changes of `plan` one at a time, in order (an environment before the
/// variables in it), telling `progress` before each. The cancel flag is read before each call
/// ([`Error::Interrupted`]); a failed call stops the run with [`Error::Partial`]. Returns how
/// many changes were made. The next run re-reads GitHub and converges.
pub async fn execute_github(
    plan: &GitHubPlan,
    gh: &GitHub,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&GitHubChange),
) -> Result<usize> {
    let total = plan.changes.len();
    for (done, c) in plan.changes.iter().enumerate() {
        tokio::task::yield_now().await;
        if cancel.load(Ordering::SeqCst) {
            return Err(Error::Interrupted { done, total });
        }
        progress(c);
        let r = match c {
            GitHubChange::CreateEnvironment { repo, environment }
            | GitHubChange::ProtectEnvironment { repo, environment } => {
                gh.create_environment(repo, environment).await
            }
            GitHubChange::SetVariable {
                repo,
                environment,
                name,
                value,
                before,
            } => {
                gh.set_variable(repo, environment.as_deref(), name, value, before.is_some())
                    .await
            }
            GitHubChange::DeleteVariable {
                repo,
                environment,
                name,
                ..
            } => gh.delete_variable(repo, environment.as_deref(), name).await,
        };
        if let Err(e) = r {
            return Err(Error::Partial {
                change: c.address(),
                api: c.api().into(),
                done,
                total,
                source: Box::new(e),
                earlier: 0,
            });
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::aws::Aws;
    use keyless_testkit::{Fault, FaultRule, Kit};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn role(name: &str) -> Change {
        Change::CreateRole {
            role: name.into(),
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: BTreeMap::from([("managed-by".into(), "keyless".into())]),
            trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        }
    }

    fn plan(names: &[&str]) -> Plan {
        Plan {
            changes: names.iter().map(|n| role(n)).collect(),
            notes: vec![],
        }
    }

    /// A fresh kit, a runtime and clients pointed at the kit.
    fn setup() -> (Kit, tokio::runtime::Runtime, Aws) {
        let kit = Kit::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let aws = rt.block_on(async { Aws::from_config(&kit.sdk_config().await) });
        (kit, rt, aws)
    }

    /// `role(name)`, then `tags` TagRole calls on it: each waits for the one before.
    fn chain(name: &str, tags: usize) -> Plan {
        let mut changes = vec![role(name)];
        for i in 0..tags {
            changes.push(Change::TagRole {
                role: name.into(),
                tags: BTreeMap::from([(format!("t{i}"), "v".into())]),
            });
        }
        Plan {
            changes,
            notes: vec![],
        }
    }

    #[test]
    fn applies_every_change_against_iam_independent_ones_together() {
        let (kit, rt, aws) = setup();
        let cancel = AtomicBool::new(false);
        let mut seen = Vec::new();
        let out = rt
            .block_on(execute(&plan(&["a", "b", "c"]), &aws, &cancel, |p| {
                if let Progress::Done { index, change, .. } = p {
                    seen.push((index, change.address()));
                }
            }))
            .unwrap();
        assert_eq!(out.applied, 3);
        seen.sort();
        assert_eq!(
            seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(kit.count("CreateRole"), 3);
    }

    #[test]
    fn cancel_stops_between_calls_and_says_how_far_it_got() {
        let (kit, rt, aws) = setup();
        let cancel = AtomicBool::new(false);
        // Ctrl-C lands while the first call is in flight: that call completes, nothing follows.
        let err = rt
            .block_on(execute(&chain("a", 2), &aws, &cancel, |p| {
                if let Progress::Start { index: 0, .. } = p {
                    cancel.store(true, Ordering::SeqCst);
                }
            }))
            .unwrap_err();
        assert!(
            matches!(err, Error::Interrupted { done: 1, total: 3 }),
            "{err}"
        );
        assert_eq!(kit.count("CreateRole"), 1);
        assert_eq!(kit.count("TagRole"), 0);
    }

    #[test]
    fn cancel_before_the_first_call_writes_nothing() {
        let (kit, rt, aws) = setup();
        let cancel = AtomicBool::new(true);
        let err = rt
            .block_on(execute(&plan(&["a"]), &aws, &cancel, |_| {}))
            .unwrap_err();
        assert!(matches!(err, Error::Interrupted { done: 0, total: 1 }));
        assert_eq!(kit.count("CreateRole"), 0);
    }

    #[test]
    fn a_failed_call_is_partial_and_nothing_after_it_runs() {
        let (kit, rt, aws) = setup();
        kit.inject(FaultRule::nth_write(2, Fault::service_failure()));
        let cancel = AtomicBool::new(false);
        let err = rt
            .block_on(execute(&chain("a", 2), &aws, &cancel, |_| {}))
            .unwrap_err();
        match err {
            Error::Partial {
                change,
                api,
                done,
                total,
                ..
            } => {
                assert_eq!((done, total, api.as_str()), (1, 3, "TagRole"));
                assert!(change.contains('a'), "{change}");
            }
            other => panic!("expected Partial, got {other}"),
        }
        assert_eq!(
            kit.count("TagRole"),
            1,
            "the second tag was never attempted"
        );
    }
}
