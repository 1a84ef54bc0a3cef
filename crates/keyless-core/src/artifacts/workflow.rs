//! What a repository needs on the GitHub side: the workflow snippet and the `AWS_ROLE_ARN`
//! variable (with the `gh` command that sets it).
//!
//! The workflow is a template (`workflow.yml.tera`) filled from the role's trust scope: triggers
//! that match its branches, tags and pull requests (no manual trigger for a pull-request-only
//! role), the job's `environment:` when the role is environment-scoped (also through a custom
//! sub), the audience whenever the action's default is not the provider's, `id-token: write` on
//! the job only, and third-party actions pinned by commit SHA ([`PINNED_ACTIONS`]). Emitted
//! workflows never install keyless from a package registry. The rendered YAML is parsed back
//! before it is returned. No AWS calls and no printing here.

use serde::Serialize;

use crate::config::variables::{Scheduled, subject_environment, variable_name};
use crate::config::{Config, Role};
use crate::error::{Error, Result};
use crate::identity::issuer::{IssuerKind, default_audience};
use crate::identity::subject::{Scope, SubjectSpec};
use crate::policy::template::{self, Templates};
use crate::release;

/// A third-party action the emitted workflows use, pinned by the full commit SHA of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PinnedAction {
    /// `owner/name`
    pub name: &'static str,
    /// The commit the release tag points at.
    pub sha: &'static str,
    /// The release, written beside the SHA as a comment.
    pub version: &'static str,
}

/// `actions/checkout` v7.0.1 (node24). Source: the v7.0.1 tag of
/// <https://github.com/actions/checkout> (`git rev-list -n1 v7.0.1`), released 2026-07-17.
pub const CHECKOUT: PinnedAction = PinnedAction {
    name: "actions/checkout",
    sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
    version: "v7.0.1",
};

/// `aws-actions/configure-aws-credentials` v6.2.3 (node24; v5 runs on the deprecated node20).
/// Source: the v6.2.3 tag of <https://github.com/aws-actions/configure-aws-credentials>
/// (`git rev-list -n1 v6.2.3`), released 2026-07-22.
pub const CONFIGURE_AWS_CREDENTIALS: PinnedAction = PinnedAction {
    name: "aws-actions/configure-aws-credentials",
    sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c",
    version: "v6.2.3",
};

/// Every action keyless pins, in one place.
pub const PINNED_ACTIONS: &[PinnedAction] = &[CHECKOUT, CONFIGURE_AWS_CREDENTIALS];

/// The data the workflow template is rendered from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WorkflowContext {
    /// Role name (for comments).
    pub role_name: String,
    /// The workflow's `name:`, from the role's purpose, e.g. `deploy to prod (gha-app)`.
    pub name: String,
    /// The job's ID: `deploy`, `release` or `pull-request`.
    pub job: String,
    /// The runner label (`[workflow] runs_on`, or the issuer's default).
    pub runs_on: String,
    /// The repository or environment variable holding the role ARN.
    pub variable: String,
    /// AWS region for the credentials.
    pub region: String,
    /// Audience to request; empty when the action's default (`sts.amazonaws.com`) is right.
    pub audience: String,
    /// The job's environment, or empty.
    pub environment: String,
    /// Branches to trigger on.
    pub branches: Vec<String>,
    /// Tags to trigger on.
    pub tags: Vec<String>,
    /// Trigger on pull requests.
    pub pull_request: bool,
    /// Offer a manual trigger (not for roles that trust only pull requests: a dispatched run
    /// is never a `pull_request` job, so it would always be denied).
    pub workflow_dispatch: bool,
    /// configure-aws-credentials commit SHA.
    pub action_ref: String,
    /// Its release, for the comment beside the SHA.
    pub action_version: String,
    /// checkout commit SHA.
    pub checkout_ref: String,
    /// Its release.
    pub checkout_version: String,
    /// keyless's version (the action's `version` input).
    pub keyless_version: String,
    /// keyless's GitHub Action pinned by commit (`owner/repo@SHA`), or empty when this build
    /// does not know its commit and the config names none (then no keyless step is emitted).
    pub keyless_action: String,
    /// The config's path inside the repository (for `keyless verify -c`).
    pub config_path: String,
    /// The variable is already set on GitHub (apply set it): the header says so instead of
    /// asking for it.
    pub variable_set: bool,
}

/// keyless's own action, pinned by commit: `[workflow] keyless_home` (else keyless's home) at
/// `[workflow] keyless_commit` (else the commit this keyless was built from). `None` when no
/// commit is known: a workflow never names the action by a tag or branch.
pub fn keyless_action(cfg: &Config) -> Option<String> {
    let home = cfg.keyless_home.as_deref().unwrap_or(release::HOME);
    let commit = cfg.keyless_commit.as_deref().or(release::COMMIT)?;
    Some(format!("{home}@{commit}"))
}

/// A config path as a workflow in the repository sees it: as given when relative, else the
/// file name (the config is expected at the repository root).
pub fn repo_config_path(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_relative() {
        path.to_string()
    } else {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "keyless.toml".into())
    }
}

/// The region a workflow should use: the config's, else the partition's usual first region.
pub fn workflow_region(cfg: &Config, partition: &str) -> String {
    cfg.region.clone().unwrap_or_else(|| {
        match partition {
            "aws-cn" => "cn-north-1",
            "aws-us-gov" => "us-gov-west-1",
            _ => "us-east-1",
        }
        .to_string()
    })
}

/// The runner label: `[workflow] runs_on`, else `self-hosted` on GHES (no GitHub-hosted
/// runners there), else `ubuntu-latest`.
pub fn runs_on(cfg: &Config) -> String {
    cfg.runs_on.clone().unwrap_or_else(|| {
        match cfg.issuer.kind {
            IssuerKind::Ghes { .. } => "self-hosted",
            _ => "ubuntu-latest",
        }
        .to_string()
    })
}

/// The audience a workflow must request: the config's first custom audience, else the
/// partition's default outside `aws` (the action's own default is right only there).
fn workflow_audience(cfg: &Config, partition: &str) -> String {
    match cfg.audiences.as_ref().and_then(|a| a.first()) {
        Some(a) if a != "sts.amazonaws.com" || partition != "aws" => a.clone(),
        Some(_) => String::new(),
        None if partition == "aws" => String::new(),
        None => default_audience(partition).to_string(),
    }
}

/// The template of a scheduled job's workflow.
fn scheduled_template(kind: Scheduled) -> &'static str {
    match kind {
        Scheduled::Check => template::CHECK_WORKFLOW,
        Scheduled::Audit => template::AUDIT_WORKFLOW,
    }
}

/// How to add the role a scheduled job needs.
fn scheduled_fix(kind: Scheduled) -> String {
    format!(
        "add a read-only role for it: [[role]] with [[role.preset]] name = \"{}\" (see examples/multi-role.toml), apply, then emit {}",
        kind.preset(),
        kind.command()
    )
}

/// Build the workflow context for a role from its trust scope.
pub fn workflow_context(cfg: &Config, role: &Role, partition: &str) -> WorkflowContext {
    let mut ctx = WorkflowContext {
        role_name: role.name.clone(),
        name: String::new(),
        job: String::new(),
        runs_on: runs_on(cfg),
        variable: variable_name(cfg, role),
        region: workflow_region(cfg, partition),
        audience: workflow_audience(cfg, partition),
        environment: String::new(),
        branches: vec![],
        tags: vec![],
        pull_request: false,
        workflow_dispatch: false,
        action_ref: CONFIGURE_AWS_CREDENTIALS.sha.into(),
        action_version: CONFIGURE_AWS_CREDENTIALS.version.into(),
        checkout_ref: CHECKOUT.sha.into(),
        checkout_version: CHECKOUT.version.into(),
        keyless_version: release::VERSION.into(),
        keyless_action: keyless_action(cfg).unwrap_or_default(),
        config_path: repo_config_path(&cfg.file),
        variable_set: false,
    };
    let mut any_ref = false;
    for s in &role.subjects {
        if let SubjectSpec::Repo { scope, .. } = &s.spec {
            match scope {
                Scope::Branch(b) if !ctx.branches.contains(b) => ctx.branches.push(b.clone()),
                Scope::Tag(t) if !ctx.tags.contains(t) => ctx.tags.push(t.clone()),
                Scope::PullRequest => ctx.pull_request = true,
                Scope::AnyRef => any_ref = true,
                _ => {}
            }
        }
        if ctx.environment.is_empty()
            && let Some(e) = subject_environment(s)
        {
            ctx.environment = e;
        }
    }
    let pr_only = ctx.pull_request
        && ctx.branches.is_empty()
        && ctx.tags.is_empty()
        && ctx.environment.is_empty()
        && !any_ref;
    ctx.workflow_dispatch = !pr_only;
    let (job, purpose) = if !ctx.environment.is_empty() {
        ("deploy", format!("deploy to {}", ctx.environment))
    } else if pr_only {
        ("pull-request", "pull request".to_string())
    } else if ctx.branches.is_empty() && !ctx.tags.is_empty() {
        ("release", "release".to_string())
    } else {
        ("deploy", "deploy".to_string())
    };
    ctx.job = job.into();
    ctx.name = format!("{purpose} ({})", role.name);
    ctx
}

/// Render the workflow for a role and check that it parses as YAML of the expected shape.
pub fn workflow(templates: &Templates, ctx: &WorkflowContext) -> Result<String> {
    let text = templates.render(template::WORKFLOW, ctx)?;
    checked(templates, template::WORKFLOW, text)
}

/// A rendered workflow must parse as YAML, have `on` and at least one job, and grant
/// `id-token: write` to every job that requests AWS credentials (without it no OIDC token can be
/// requested). Built-in or user template alike.
fn checked(templates: &Templates, name: &str, text: String) -> Result<String> {
    let bad = |message: String| Error::Template {
        name: format!(
            "{name} ({})",
            templates
                .origins
                .get(name)
                .map(String::as_str)
                .unwrap_or("?")
        ),
        message,
    };
    let doc: serde_json::Value = serde_saphyr::from_str(&text)
        .map_err(|e| bad(format!("rendered text is not valid YAML: {e}")))?;
    if doc
        .get("jobs")
        .and_then(|j| j.as_object())
        .is_none_or(|j| j.is_empty())
        || doc.get("on").is_none()
    {
        return Err(bad("rendered workflow has no `on` or no `jobs`".into()));
    }
    // A job that requests credentials needs `id-token: write`: its own, or the workflow's.
    let jobs = doc["jobs"].as_object().into_iter().flatten();
    let token_jobs = jobs
        .filter(|(_, job)| {
            job["steps"].as_array().into_iter().flatten().any(|st| {
                st["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(CONFIGURE_AWS_CREDENTIALS.name))
            })
        })
        .map(|(id, job)| {
            let granted = if job.get("permissions").is_some() {
                &job["permissions"]["id-token"]
            } else {
                &doc["permissions"]["id-token"]
            };
            (id.clone(), granted == "write")
        })
        .collect::<Vec<_>>();
    if let Some((id, _)) = token_jobs.iter().find(|(_, ok)| !ok) {
        return Err(bad(format!(
            "job `{id}` requests AWS credentials but is not granted `id-token: write`, so no OIDC token can be requested"
        )));
    }
    Ok(text)
}

/// The config's role for a scheduled job (the first with its preset).
pub fn scheduled_role(cfg: &Config, kind: Scheduled) -> Result<&Role> {
    cfg.roles
        .iter()
        .find(|r| Scheduled::of(r) == Some(kind))
        .ok_or_else(|| Error::NotInConfig {
            message: format!("{} has no role with the {} preset", cfg.file, kind.preset()),
            fix: scheduled_fix(kind),
        })
}

/// Render the scheduled `keyless check` or `keyless audit` workflow for its read-only role
/// (the one with the job's preset; any other role is refused, since a deploy role cannot read
/// IAM). `config_path` is the config's path inside the repository.
pub fn scheduled_workflow(
    templates: &Templates,
    kind: Scheduled,
    cfg: &Config,
    role: &Role,
    partition: &str,
    config_path: &str,
) -> Result<String> {
    if Scheduled::of(role) != Some(kind) {
        return Err(Error::NotInConfig {
            message: format!(
                "role {} has no {} preset, so it cannot read what `keyless {}` needs",
                role.name,
                kind.preset(),
                match kind {
                    Scheduled::Check => "check",
                    Scheduled::Audit => "audit",
                }
            ),
            fix: scheduled_fix(kind),
        });
    }
    let base = workflow_context(cfg, role, partition);
    // The read the role's preset allows, said outright: `auto` would first ask for the whole
    // account, which a per-role preset denies, and an AccessDenied in every scheduled run
    // trips the usual CloudTrail alarm on unauthorised calls.
    let args = match kind {
        Scheduled::Check => {
            let reads = role
                .presets
                .iter()
                .find(|p| p.name == kind.preset())
                .and_then(|p| p.params.get("reads"))
                .map_or("per-role", String::as_str);
            format!("check --fail-on low --reads {reads}")
        }
        // The audit workflow's own arguments are in its template.
        Scheduled::Audit => String::new(),
    };
    if base.keyless_action.is_empty() {
        return Err(Error::NotInConfig {
            message: "this keyless build does not know the commit of its release, so it cannot pin its action".into(),
            fix: "set [workflow] keyless_commit = \"<the release tag's commit SHA>\" in keyless.toml (git rev-list -n1 vX.Y.Z), or use a released keyless".into(),
        });
    }
    let ctx = serde_json::json!({
        "role_name": role.name,
        "runs_on": base.runs_on,
        "variable": base.variable,
        "region": base.region,
        "audience": base.audience,
        "config_path": config_path,
        "cron": match kind {
            Scheduled::Check => "17 6 * * *",
            Scheduled::Audit => "43 5 * * 1",
        },
        "keyless_version": base.keyless_version,
        "keyless_action": base.keyless_action,
        "action_ref": base.action_ref,
        "action_version": base.action_version,
        "checkout_ref": base.checkout_ref,
        "checkout_version": base.checkout_version,
        "args": args,
    });
    let text = templates.render(scheduled_template(kind), &ctx)?;
    checked(templates, scheduled_template(kind), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        crate::config::parse(text, "k", Path::new(".")).unwrap()
    }

    fn yaml(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn branch_role_triggers_on_push_and_keeps_github_expressions() {
        let c = cfg(
            "region = \"eu-west-1\"\n[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.subject]]\nrepo = \"o/r\"\ntag = \"v*\"\n",
        );
        let t = Templates::load(None).unwrap();
        let text = workflow(&t, &workflow_context(&c, &c.roles[0], "aws")).unwrap();
        let y = yaml(&text);
        assert_eq!(y["on"]["push"]["branches"], serde_json::json!(["main"]));
        assert_eq!(y["on"]["push"]["tags"], serde_json::json!(["v*"]));
        assert!(y["on"].get("pull_request").is_none());
        // id-token: write on the job that needs it, nothing for the workflow as a whole.
        assert_eq!(y["permissions"], serde_json::json!({}));
        assert_eq!(y["jobs"]["deploy"]["permissions"]["id-token"], "write");
        assert_eq!(y["jobs"]["deploy"]["permissions"]["contents"], "read");
        let steps = y["jobs"]["deploy"]["steps"].as_array().unwrap();
        let creds = steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            })
            .unwrap();
        assert_eq!(creds["with"]["role-to-assume"], "${{ vars.AWS_ROLE_ARN }}");
        assert_eq!(creds["with"]["aws-region"], "eu-west-1");
        assert!(creds["with"].get("audience").is_none());
        assert!(y["jobs"]["deploy"].get("environment").is_none());
        assert!(steps.iter().any(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("get-caller-identity"))
        }));
    }

    #[test]
    fn environment_pr_and_china_audience() {
        let c = cfg(
            "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nenvironment = \"prod: \\\"eu\\\"\"\n[[role.subject]]\nrepo = \"o/r\"\npull_request = true\n",
        );
        let t = Templates::load(None).unwrap();
        let text = workflow(&t, &workflow_context(&c, &c.roles[0], "aws-cn")).unwrap();
        let y = yaml(&text);
        assert_eq!(y["jobs"]["deploy"]["environment"], "prod: \"eu\"");
        assert!(y["on"].get("pull_request").is_some());
        let creds = &y["jobs"]["deploy"]["steps"][1]["with"];
        assert_eq!(creds["audience"], "sts.amazonaws.com.cn");
        assert_eq!(creds["aws-region"], "cn-north-1");
    }
}
