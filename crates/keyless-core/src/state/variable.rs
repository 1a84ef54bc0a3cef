//! The repository variable each role's ARN is set in, as desired state: its name (from
//! [`crate::config::variables`]), the ARN, and the places (repository, environment) with the
//! `gh` command that sets it by hand. The GitHub plan compares it with what GitHub holds.

use serde::Serialize;

use crate::config::variables::{variable_name, variable_places};
use crate::config::{Config, Role};
use crate::identity::issuer::IssuerKind;
use crate::state::render::{Target, role_arn};

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
