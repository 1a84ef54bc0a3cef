//! The claims GitHub would put in the OIDC token of a described job, computed by GitHub's rules
//! (the `sub` comes from [`crate::identity::subject::GitHubContext`]), for `explain` without a real token.
//!
//! Pure: no clock (the caller passes `now`), no I/O, no knowledge of command-line flags; a
//! description that cannot be turned into claims is a typed [`JobError`].

use serde_json::{Map, Value, json};

use crate::identity::subject::GitHubContext;

/// A job as the user describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Job {
    /// Repository, event, ref, environment and subject format.
    pub context: GitHubContext,
    /// The `job_workflow_ref` claim (reusable workflows).
    pub job_workflow_ref: Option<String>,
}

/// Why a described job has no claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The repository is not `OWNER/REPO`.
    #[error("repository {0:?} is not OWNER/REPO")]
    Repository(String),
    /// The ref is not a full ref.
    #[error("ref {0:?} is not a full ref")]
    Ref(String),
    /// The immutable form needs both IDs.
    #[error("the immutable sub needs the owner ID and the repository ID")]
    MissingIds,
}

/// Token lifetime GitHub gives its ID tokens (about five minutes).
const LIFETIME_SECS: i64 = 300;

impl Job {
    /// The claims of this job's token from issuer `iss` for `audience`, issued at `now`.
    pub fn claims(
        &self,
        iss: &str,
        audience: &str,
        now: i64,
    ) -> Result<Map<String, Value>, JobError> {
        let ctx = &self.context;
        let repo = &ctx.repository;
        let Some((owner, _)) = repo.split_once('/') else {
            return Err(JobError::Repository(repo.clone()));
        };
        if !ctx.git_ref.starts_with("refs/") {
            return Err(JobError::Ref(ctx.git_ref.clone()));
        }
        let sub = ctx.sub().ok_or(JobError::MissingIds)?;
        let mut m = Map::new();
        let mut put = |k: &str, v: &str| {
            m.insert(k.into(), Value::String(v.to_string()));
        };
        put("iss", iss);
        put("aud", audience);
        put("sub", &sub);
        put("repository", repo);
        put("repository_owner", owner);
        if let Some(id) = &ctx.repo_id {
            put("repository_id", id);
        }
        if let Some(id) = &ctx.owner_id {
            put("repository_owner_id", id);
        }
        put("ref", &ctx.git_ref);
        put(
            "ref_type",
            if ctx.git_ref.starts_with("refs/tags/") {
                "tag"
            } else {
                "branch"
            },
        );
        put("event_name", &ctx.event_name);
        if let Some(e) = &ctx.environment {
            put("environment", e);
        }
        if let Some(j) = &self.job_workflow_ref {
            put("job_workflow_ref", j);
        }
        m.insert("iat".into(), json!(now));
        m.insert("exp".into(), json!(now + LIFETIME_SECS));
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(repo: &str, git_ref: &str) -> Job {
        Job {
            context: GitHubContext {
                repository: repo.into(),
                event_name: "push".into(),
                git_ref: git_ref.into(),
                ..GitHubContext::default()
            },
            job_workflow_ref: None,
        }
    }

    #[test]
    fn a_branch_push_gets_githubs_claims() {
        let c = job("octo-org/site", "refs/heads/main")
            .claims(
                "https://token.actions.githubusercontent.com",
                "sts.amazonaws.com",
                1000,
            )
            .unwrap();
        assert_eq!(c["sub"], "repo:octo-org/site:ref:refs/heads/main");
        assert_eq!(c["repository_owner"], "octo-org");
        assert_eq!(c["ref_type"], "branch");
        assert_eq!(
            (c["iat"].as_i64(), c["exp"].as_i64()),
            (Some(1000), Some(1300))
        );
        assert!(c.get("environment").is_none() && c.get("repository_id").is_none());
    }

    #[test]
    fn tags_environments_and_reusable_workflows() {
        let mut j = job("octo-org/site", "refs/tags/v1");
        j.context.environment = Some("prod".into());
        j.job_workflow_ref = Some("octo-org/wf/.github/workflows/d.yml@refs/heads/main".into());
        let c = j.claims("https://i", "a", 0).unwrap();
        assert_eq!(c["ref_type"], "tag");
        assert_eq!(c["sub"], "repo:octo-org/site:environment:prod");
        assert_eq!(c["environment"], "prod");
        assert!(c["job_workflow_ref"].as_str().unwrap().contains("d.yml"));
    }

    #[test]
    fn bad_descriptions_are_typed_errors() {
        assert_eq!(
            job("site", "refs/heads/main").claims("i", "a", 0),
            Err(JobError::Repository("site".into()))
        );
        assert_eq!(
            job("o/r", "main").claims("i", "a", 0),
            Err(JobError::Ref("main".into()))
        );
        let mut j = job("o/r", "refs/heads/main");
        j.context.immutable = true;
        assert_eq!(j.claims("i", "a", 0), Err(JobError::MissingIds));
        j.context.owner_id = Some("1".into());
        j.context.repo_id = Some("2".into());
        assert_eq!(
            j.claims("i", "a", 0).unwrap()["sub"],
            "repo:o@1/r@2:ref:refs/heads/main"
        );
    }
}
