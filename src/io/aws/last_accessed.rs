//! IAM's last-accessed data: `GenerateServiceLastAccessedDetails` (action level) for many
//! principals started together, then `GetServiceLastAccessedDetails` for all of them polled
//! together with a growing pause, until each job completes. Hands back
//! [`crate::policy::usage::ServiceAccess`] per principal; knows nothing of configs or output.

use std::time::Duration;

use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};
use futures_util::future::join_all;

use crate::error::{Error, Result};
use crate::io::aws::{Aws, sdk_error};
use crate::policy::usage::ServiceAccess;

/// How long a job may take before keyless gives up on it (AWS: usually seconds to minutes).
const JOB_DEADLINE: Duration = Duration::from_secs(300);

/// Requests made, for the report and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobCounts {
    /// Jobs started.
    pub started: u64,
    /// Polls (GetServiceLastAccessedDetails requests, pages included).
    pub polls: u64,
}

impl Aws {
    /// Last-accessed data for each ARN (a role or IAM user), in the order given.
    pub async fn last_accessed(
        &self,
        arns: &[String],
    ) -> Result<(Vec<Vec<ServiceAccess>>, JobCounts)> {
        let started = join_all(arns.iter().map(|arn| async move {
            self.iam
                .generate_service_last_accessed_details()
                .arn(arn)
                .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
                .send()
                .await
                .map_err(|e| sdk_error("iam:GenerateServiceLastAccessedDetails", e))
                .map(|o| o.job_id().unwrap_or_default().to_string())
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<String>>>()?;
        let mut counts = JobCounts {
            started: arns.len() as u64,
            polls: 0,
        };
        let mut done: Vec<Option<Vec<ServiceAccess>>> = vec![None; arns.len()];
        let mut pause = Duration::from_millis(100);
        let began = std::time::Instant::now();
        loop {
            let pending: Vec<usize> = (0..arns.len()).filter(|i| done[*i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let answers = join_all(pending.iter().map(|i| self.job(&started[*i]))).await;
            for (i, answer) in pending.iter().zip(answers) {
                let (services, polls) = answer?;
                counts.polls += polls;
                done[*i] = services;
            }
            if done.iter().all(Option::is_some) {
                break;
            }
            if began.elapsed() > JOB_DEADLINE {
                return Err(Error::Aws {
                    op: "iam:GetServiceLastAccessedDetails".into(),
                    code: "Timeout".into(),
                    message: format!(
                        "IAM's last-accessed jobs did not complete in {} s",
                        JOB_DEADLINE.as_secs()
                    ),
                    hint: Some("run it again later, or use --no-last-accessed".into()),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        Ok((
            done.into_iter().map(Option::unwrap_or_default).collect(),
            counts,
        ))
    }

    /// One poll of a job: `None` while it runs; every page when it is done.
    async fn job(&self, id: &str) -> Result<(Option<Vec<ServiceAccess>>, u64)> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        let mut polls = 0;
        loop {
            let page = self
                .iam
                .get_service_last_accessed_details()
                .job_id(id)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| sdk_error("iam:GetServiceLastAccessedDetails", e))?;
            polls += 1;
            match page.job_status() {
                JobStatusType::Completed => {}
                JobStatusType::Failed => {
                    return Err(Error::Aws {
                        op: "iam:GetServiceLastAccessedDetails".into(),
                        code: "JobFailed".into(),
                        message: page
                            .error()
                            .map(|e| e.message().to_string())
                            .unwrap_or_else(|| "the job failed".into()),
                        hint: None,
                    });
                }
                _ => return Ok((None, polls)),
            }
            for s in page.services_last_accessed() {
                out.push(ServiceAccess {
                    namespace: s.service_namespace().to_string(),
                    last: s.last_authenticated().map(|t| t.secs()),
                    region: s.last_authenticated_region().map(String::from),
                    tracked: s.tracked_actions_last_accessed.as_ref().map(|list| {
                        list.iter()
                            .filter_map(|a| {
                                Some((
                                    a.action_name()?.to_string(),
                                    a.last_accessed_time().map(|t| t.secs()),
                                    a.last_accessed_region().map(String::from),
                                ))
                            })
                            .collect()
                    }),
                });
            }
            if page.is_truncated() {
                marker = page.marker().map(String::from);
                if marker.is_none() {
                    break;
                }
            } else {
                break;
            }
        }
        Ok((Some(out), polls))
    }
}
