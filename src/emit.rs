//! What a repository needs on the GitHub side: the workflow snippet and the `AWS_ROLE_ARN`
//! variable (with the `gh` command that sets it).
//!
//! The workflow is a template (`workflow.yml.tera`) filled from the role's trust scope: triggers
//! that match its branches, tags and pull requests, the job's `environment:` when the role is
//! environment-scoped, and `audience` outside the `aws` partition. The rendered YAML is parsed
//! back before it is returned. No AWS calls and no printing here.

use serde::Serialize;

use crate::config::{Config, Role};
use crate::error::{Error, Result};
use crate::issuer::{IssuerKind, default_audience};
use crate::render::{Target, role_arn};
use crate::subject::{Scope, SubjectSpec};
use crate::template::{self, Templates};

/// The configure-aws-credentials major version the snippet pins.
pub const CONFIGURE_AWS_CREDENTIALS_REF: &str = "v5";
/// The actions/checkout major version the snippet pins.
pub const CHECKOUT_REF: &str = "v5";

/// The data the workflow template is rendered from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WorkflowContext {
    /// Role name (for comments and the workflow name).
    pub role_name: String,
    /// AWS region for the credentials.
    pub region: String,
    /// Audience to request; empty in the `aws` partition (the action's default is right there).
    pub audience: String,
    /// The job's environment, or empty.
    pub environment: String,
    /// Branches to trigger on.
    pub branches: Vec<String>,
    /// Tags to trigger on.
    pub tags: Vec<String>,
    /// Trigger on pull requests.
    pub pull_request: bool,
    /// configure-aws-credentials ref.
    pub action_ref: String,
    /// checkout ref.
    pub checkout_ref: String,
    /// keyless version for the optional verify step.
    pub keyless_version: String,
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

/// Build the workflow context for a role from its trust scope.
pub fn workflow_context(cfg: &Config, role: &Role, partition: &str) -> WorkflowContext {
    let mut ctx = WorkflowContext {
        role_name: role.name.clone(),
        region: workflow_region(cfg, partition),
        audience: if partition == "aws" {
            String::new()
        } else {
            cfg.audiences
                .as_ref()
                .and_then(|a| a.first().cloned())
                .unwrap_or_else(|| default_audience(partition).to_string())
        },
        environment: String::new(),
        branches: vec![],
        tags: vec![],
        pull_request: false,
        action_ref: CONFIGURE_AWS_CREDENTIALS_REF.into(),
        checkout_ref: CHECKOUT_REF.into(),
        keyless_version: env!("CARGO_PKG_VERSION").into(),
    };
    for s in &role.subjects {
        if let SubjectSpec::Repo { scope, .. } = &s.spec {
            match scope {
                Scope::Branch(b) if !ctx.branches.contains(b) => ctx.branches.push(b.clone()),
                Scope::Tag(t) if !ctx.tags.contains(t) => ctx.tags.push(t.clone()),
                Scope::PullRequest => ctx.pull_request = true,
                Scope::Environment(e) if ctx.environment.is_empty() => ctx.environment = e.clone(),
                _ => {}
            }
        }
    }
    ctx
}

/// Render the workflow for a role and check that it parses as YAML of the expected shape.
pub fn workflow(templates: &Templates, ctx: &WorkflowContext) -> Result<String> {
    let text = templates.render(template::WORKFLOW, ctx)?;
    checked(templates, template::WORKFLOW, text)
}

/// A rendered workflow must parse as YAML, have `on` and at least one job, and grant
/// `id-token: write` (without it no OIDC token can be requested). Built-in or user template alike.
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
    if doc["permissions"]["id-token"] != "write" {
        return Err(bad(
            "rendered workflow does not grant `id-token: write`, so no OIDC token can be requested"
                .into(),
        ));
    }
    Ok(text)
}

/// Render the scheduled `keyless check` workflow for a read-only role.
pub fn check_workflow(
    templates: &Templates,
    cfg: &Config,
    role: &Role,
    partition: &str,
    config_path: &str,
) -> Result<String> {
    let base = workflow_context(cfg, role, partition);
    let ctx = serde_json::json!({
        "role_name": role.name,
        "region": base.region,
        "audience": base.audience,
        "config_path": config_path,
        "cron": "17 6 * * *",
        "keyless_version": env!("CARGO_PKG_VERSION"),
        "action_ref": base.action_ref,
        "checkout_ref": base.checkout_ref,
    });
    let text = templates.render(template::CHECK_WORKFLOW, &ctx)?;
    checked(templates, template::CHECK_WORKFLOW, text)
}

/// The repository (or environment) variable a workflow reads the role ARN from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Variable {
    /// Always `AWS_ROLE_ARN`.
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

/// The variable for a role.
pub fn variable(cfg: &Config, role: &Role, target: &Target) -> Variable {
    let value = role_arn(target, role);
    let host = match &cfg.issuer.kind {
        IssuerKind::Ghes { host } => format!("GH_HOST={} ", shell_quote(host)),
        IssuerKind::GheCom { subdomain, .. } => {
            format!("GH_HOST={} ", shell_quote(&format!("{subdomain}.ghe.com")))
        }
        _ => String::new(),
    };
    let mut targets: Vec<VariableTarget> = Vec::new();
    for s in &role.subjects {
        let (repo, env) = match &s.spec {
            SubjectSpec::Repo { repo, scope, .. } if repo.name != "*" => (
                format!("{}/{}", repo.owner, repo.name),
                match scope {
                    Scope::Environment(e) => Some(e.clone()),
                    _ => None,
                },
            ),
            _ => ("OWNER/REPO".to_string(), None),
        };
        if targets
            .iter()
            .any(|t| t.repo == repo && t.environment == env)
        {
            continue;
        }
        let env_flag = env
            .as_ref()
            .map(|e| format!(" --env {}", shell_quote(e)))
            .unwrap_or_default();
        let command = format!(
            "{host}gh variable set AWS_ROLE_ARN --repo {}{env_flag} --body {}",
            shell_quote(&repo),
            shell_quote(&value)
        );
        targets.push(VariableTarget {
            repo,
            environment: env,
            command,
        });
    }
    Variable {
        name: "AWS_ROLE_ARN".into(),
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
        assert_eq!(y["permissions"]["id-token"], "write");
        assert_eq!(y["permissions"]["contents"], "read");
        let steps = y["jobs"]["deploy"]["steps"].as_array().unwrap();
        let creds = steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@v"))
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
