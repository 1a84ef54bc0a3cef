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

use crate::config::{Config, Role};
use crate::error::{Error, Result};
use crate::identity::issuer::{IssuerKind, default_audience};
use crate::identity::subject::{Scope, SubjectSpec};
use crate::policy::template::{self, Templates};
use crate::release;
use crate::state::render::{Target, role_arn};

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

/// A scheduled read-only job keyless emits: `keyless check` or `keyless audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    /// Drift of the config's roles (`emit check-workflow`, role with `keyless-check`).
    Check,
    /// The whole account (`emit audit-workflow`, role with `keyless-audit`).
    Audit,
}

impl Scheduled {
    /// The preset its role carries.
    pub fn preset(self) -> &'static str {
        match self {
            Scheduled::Check => "keyless-check",
            Scheduled::Audit => "keyless-audit",
        }
    }

    /// The variable its role's ARN is set in.
    pub fn variable(self) -> &'static str {
        match self {
            Scheduled::Check => "KEYLESS_CHECK_ROLE_ARN",
            Scheduled::Audit => "KEYLESS_AUDIT_ROLE_ARN",
        }
    }

    /// Where the workflow goes in the repository.
    pub fn path(self) -> &'static str {
        match self {
            Scheduled::Check => ".github/workflows/keyless-check.yml",
            Scheduled::Audit => ".github/workflows/keyless-audit.yml",
        }
    }

    /// The `emit` subcommand that prints it.
    pub fn command(self) -> &'static str {
        match self {
            Scheduled::Check => "check-workflow",
            Scheduled::Audit => "audit-workflow",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Scheduled::Check => template::CHECK_WORKFLOW,
            Scheduled::Audit => template::AUDIT_WORKFLOW,
        }
    }

    /// The scheduled job `role` is for, by its preset.
    pub fn of(role: &Role) -> Option<Scheduled> {
        [Scheduled::Check, Scheduled::Audit]
            .into_iter()
            .find(|k| role.presets.iter().any(|p| p.name == k.preset()))
    }

    fn fix(self) -> String {
        format!(
            "add a read-only role for it: [[role]] with [[role.preset]] name = \"{}\" (see examples/multi-role.toml), apply, then emit {}",
            self.preset(),
            self.command()
        )
    }
}

/// Does `role` carry the read-only `keyless-check` (or `keyless-audit`) preset?
pub fn is_check_role(role: &Role) -> bool {
    Scheduled::of(role).is_some()
}

/// The places a role's ARN variable is set: `(owner/repo, environment)` per subject.
fn variable_places(role: &Role) -> Vec<(String, Option<String>)> {
    let mut places: Vec<(String, Option<String>)> = Vec::new();
    for s in &role.subjects {
        let place = match &s.spec {
            SubjectSpec::Repo { repo, scope, .. } if repo.name != "*" => (
                repo.full_name(),
                match scope {
                    Scope::Environment(e) => Some(e.clone()),
                    _ => None,
                },
            ),
            _ => ("OWNER/REPO".to_string(), subject_environment(s)),
        };
        if !places.contains(&place) {
            places.push(place);
        }
    }
    places
}

/// The variable a role's ARN is stored in: `KEYLESS_CHECK_ROLE_ARN` for the read-only check
/// role, `AWS_ROLE_ARN` when no other role of the config is set in the same repository and
/// environment, else `AWS_ROLE_ARN_<ROLE>` so that neither overwrites the other.
pub fn variable_name(cfg: &Config, role: &Role) -> String {
    if let Some(v) = &role.variable {
        return v.clone();
    }
    if let Some(kind) = Scheduled::of(role) {
        return kind.variable().into();
    }
    let mine = variable_places(role);
    // Another role of the config at the same place that would take the default name too (one
    // that names its own variable keeps it, so adding such a role renames nothing).
    let shared = cfg
        .roles
        .iter()
        .filter(|r| r.name != role.name && !is_check_role(r))
        .filter(|r| r.variable.as_deref().is_none_or(|v| v == "AWS_ROLE_ARN"))
        .any(|r| variable_places(r).iter().any(|p| mine.contains(p)));
    if !shared {
        return "AWS_ROLE_ARN".into();
    }
    role_variable(&role.name)
}

/// `AWS_ROLE_ARN_<ROLE>`: the variable name that tells a role apart from others at the same
/// place (the role name upper-cased, anything but letters and digits as `_`).
pub fn role_variable(role: &str) -> String {
    let suffix: String = role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("AWS_ROLE_ARN_{suffix}")
}

/// The environment a subject names: its scope, a custom sub's `environment:` segment, or an
/// `environment` claim condition.
fn subject_environment(s: &crate::identity::subject::TrustSubject) -> Option<String> {
    match &s.spec {
        SubjectSpec::Repo {
            scope: Scope::Environment(e),
            ..
        } => return Some(e.clone()),
        SubjectSpec::Custom(sub) => {
            let parts: Vec<&str> = sub.split(':').collect();
            if let Some(i) = parts.iter().position(|p| *p == "environment")
                && let Some(e) = parts.get(i + 1)
                && !e.is_empty()
                && !e.contains(['*', '?'])
            {
                return Some(e.replace("%3A", ":"));
            }
        }
        _ => {}
    }
    s.claims
        .iter()
        .find(|(k, v)| k == "environment" && !v.contains(['*', '?']))
        .map(|(_, v)| v.clone())
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
            fix: kind.fix(),
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
            fix: kind.fix(),
        });
    }
    let base = workflow_context(cfg, role, partition);
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
    });
    let text = templates.render(kind.template(), &ctx)?;
    checked(templates, kind.template(), text)
}

/// The repository (or environment) variable a workflow reads the role ARN from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Variable {
    /// `AWS_ROLE_ARN`, `AWS_ROLE_ARN_<ROLE>` when roles share a repository, or
    /// `KEYLESS_CHECK_ROLE_ARN` for the check role (see [`variable_name`]).
    pub name: String,
    /// The role ARN.
    pub value: String,
    /// Where it is set: one entry per repository (and environment) the role trusts.
    pub targets: Vec<VariableTarget>,
}

/// One place the variable is set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VariableTarget {
    /// `owner/repo`, or `OWNER/REPO` when the subject does not name one.
    pub repo: String,
    /// Environment, when the role is environment-scoped for that repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The `gh` command that sets it.
    pub command: String,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The variable for a role: its name ([`variable_name`]), the ARN, and a `gh variable set`
/// command for each repository (and environment) the role trusts.
pub fn variable(cfg: &Config, role: &Role, target: &Target) -> Variable {
    let value = role_arn(target, role);
    let name = variable_name(cfg, role);
    let host = match &cfg.issuer.kind {
        IssuerKind::Ghes { host } => format!("GH_HOST={} ", shell_quote(host)),
        IssuerKind::GheCom { subdomain, .. } => {
            format!("GH_HOST={} ", shell_quote(&format!("{subdomain}.ghe.com")))
        }
        _ => String::new(),
    };
    let targets = variable_places(role)
        .into_iter()
        .map(|(repo, environment)| {
            let env_flag = environment
                .as_ref()
                .map(|e| format!(" --env {}", shell_quote(e)))
                .unwrap_or_default();
            let command = format!(
                "{host}gh variable set {name} --repo {}{env_flag} --body {}",
                shell_quote(&repo),
                shell_quote(&value)
            );
            VariableTarget {
                repo,
                environment,
                command,
            }
        })
        .collect();
    Variable {
        name,
        value,
        targets,
    }
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

    #[test]
    fn variable_commands_per_repo_and_environment() {
        let c = cfg(
            "[[role]]\nname = \"r\"\npath = \"/ci/\"\n[[role.subject]]\nrepo = \"o/a\"\nbranch = \"main\"\n[[role.subject]]\nrepo = \"o/a\"\ntag = \"v1\"\n[[role.subject]]\nrepo = \"o/b\"\nenvironment = \"it's prod\"\n",
        );
        let v = variable(
            &c,
            &c.roles[0],
            &Target {
                account_id: "123456789012".into(),
                partition: "aws".into(),
            },
        );
        assert_eq!(v.value, "arn:aws:iam::123456789012:role/ci/r");
        assert_eq!(v.targets.len(), 2);
        assert_eq!(
            v.targets[0].command,
            "gh variable set AWS_ROLE_ARN --repo 'o/a' --body 'arn:aws:iam::123456789012:role/ci/r'"
        );
        assert_eq!(
            v.targets[1].command,
            "gh variable set AWS_ROLE_ARN --repo 'o/b' --env 'it'\\''s prod' --body 'arn:aws:iam::123456789012:role/ci/r'"
        );
        let g = cfg(
            "[provider]\nghes_host = \"gh.example.com\"\n[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/a\"\nbranch = \"main\"\n",
        );
        let v = variable(
            &g,
            &g.roles[0],
            &Target {
                account_id: "123456789012".into(),
                partition: "aws".into(),
            },
        );
        assert!(
            v.targets[0]
                .command
                .starts_with("GH_HOST='gh.example.com' gh variable set")
        );
    }
}
