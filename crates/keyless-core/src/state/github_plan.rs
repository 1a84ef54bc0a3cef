//! The GitHub half of a plan: which role-ARN variables and environments the config needs on
//! GitHub, compared with what GitHub holds, as ordered changes. Plain data, no I/O: the session
//! reads GitHub into [`ObservedGitHub`] and applies [`GitHubChange`]s one at a time.
//!
//! keyless sets one variable per role (named by `config::variables::variable_name`) at repository level, or at
//! environment level for an environment-scoped role, creating a missing environment first. It
//! never deletes a variable it did not set: destroy removes only variables that still hold the
//! role's ARN.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::config::variables;
use crate::identity::repository::EnvironmentInfo;
use crate::state::render::Target;
use crate::state::variable;

/// One variable the config wants on GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WantedVariable {
    /// `owner/repo`.
    pub repo: String,
    /// The environment, for an environment-scoped role.
    pub environment: Option<String>,
    /// The variable's name.
    pub name: String,
    /// The role ARN.
    pub value: String,
    /// The role it carries.
    pub role: String,
    /// The config that wants it.
    pub config: String,
}

/// Whose role a variable's current value names (read from IAM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A role of this keyless config (`Owner::Config`), or of an earlier keyless.
    Role(crate::state::observed::Owner),
    /// A role ARN of this account that no longer exists.
    Gone,
    /// Not a role ARN of this account.
    NotARole,
}

/// Where a variable lives: `owner/repo`, and the environment for an environment-level one.
pub type Place = (String, Option<String>);

/// What GitHub holds for the wanted variables and environments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedGitHub {
    /// Each wanted variable's current value (`None`: not set).
    pub variables: BTreeMap<(String, Option<String>, String), Option<String>>,
    /// Each environment a role is scoped to (`None`: it does not exist).
    pub environments: BTreeMap<(String, String), Option<EnvironmentInfo>>,
    /// For a variable holding another value than wanted: whose role that value names, by value
    /// (absent: not read, as when AWS is not at hand).
    pub holders: BTreeMap<String, Holder>,
    /// The other variables at each place a wanted variable lives (repository, environment):
    /// name and value, for renamed variables and variables left pointing at deleted roles.
    pub others: BTreeMap<Place, Vec<(String, String)>>,
}

/// Why `config` must not repoint a variable that holds `held`, if it must not: the value names
/// a role that another keyless config owns, or a role outside any keyless config. A stale ARN
/// (the role is gone), a value that is no role ARN, and a role of this config (or of an earlier
/// keyless) may be overwritten.
pub fn repoint_refusal(w: &WantedVariable, held: &str, holder: Option<&Holder>) -> Option<String> {
    use crate::state::observed::Owner;
    let whose = match holder? {
        Holder::Role(Owner::Config(c)) if *c != w.config => format!("keyless config `{c}`"),
        Holder::Role(Owner::NotKeyless) => "no keyless config (a role made by hand)".to_string(),
        _ => return None,
    };
    Some(format!(
        "variable {} of {}{} holds {held}, a role of {whose}; config `{}` will not repoint it to role {}\n  fix: give role {} its own variable (variable = \"{}\" in its [[role]]), or take the other role into this config with adopt = true",
        w.name,
        w.repo,
        w.environment
            .as_ref()
            .map(|e| format!(" (environment {e})"))
            .unwrap_or_default(),
        w.config,
        w.role,
        w.role,
        variables::role_variable(&w.role)
    ))
}

/// One write on GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GitHubChange {
    /// PUT a new environment with a deployment branch policy: only protected branches may deploy
    /// to it (an existing environment's protection is never set or reset).
    CreateEnvironment {
        /// `owner/repo`.
        repo: String,
        /// Its name.
        environment: String,
    },
    /// PUT an existing environment that has no protection at all (no rules, no deployment
    /// branch policy), adding the policy: only protected branches may deploy to it.
    ProtectEnvironment {
        /// `owner/repo`.
        repo: String,
        /// Its name.
        environment: String,
    },
    /// Create or update a variable.
    SetVariable {
        /// `owner/repo`.
        repo: String,
        /// The environment, if environment-level.
        environment: Option<String>,
        /// Name.
        name: String,
        /// Value to set.
        value: String,
        /// Current value, if any.
        before: Option<String>,
    },
    /// Delete a variable keyless set.
    DeleteVariable {
        /// `owner/repo`.
        repo: String,
        /// The environment, if environment-level.
        environment: Option<String>,
        /// Name.
        name: String,
        /// The value it holds (the role's ARN).
        value: String,
    },
}

impl GitHubChange {
    /// `+`, `~` or `-`.
    pub fn symbol(&self) -> &'static str {
        match self {
            GitHubChange::CreateEnvironment { .. } => "+",
            GitHubChange::ProtectEnvironment { .. } => "~",
            GitHubChange::SetVariable { before: None, .. } => "+",
            GitHubChange::SetVariable { .. } => "~",
            GitHubChange::DeleteVariable { .. } => "-",
        }
    }

    /// `github octo-org/site environment prod variable AWS_ROLE_ARN`.
    pub fn address(&self) -> String {
        let at = |repo: &str, env: &Option<String>| match env {
            Some(e) => format!("github {repo} environment {e}"),
            None => format!("github {repo}"),
        };
        match self {
            GitHubChange::CreateEnvironment { repo, environment }
            | GitHubChange::ProtectEnvironment { repo, environment } => {
                format!("github {repo} environment {environment}")
            }
            GitHubChange::SetVariable {
                repo,
                environment,
                name,
                ..
            }
            | GitHubChange::DeleteVariable {
                repo,
                environment,
                name,
                ..
            } => format!("{} variable {name}", at(repo, environment)),
        }
    }

    /// The REST call it makes.
    pub fn api(&self) -> &'static str {
        match self {
            GitHubChange::CreateEnvironment { .. } | GitHubChange::ProtectEnvironment { .. } => {
                "PUT environment"
            }
            GitHubChange::SetVariable { before: None, .. } => "POST variable",
            GitHubChange::SetVariable { .. } => "PATCH variable",
            GitHubChange::DeleteVariable { .. } => "DELETE variable",
        }
    }

    /// A detail line: the value set, and what it replaces.
    pub fn detail(&self) -> Option<String> {
        match self {
            GitHubChange::SetVariable {
                value,
                before: Some(b),
                ..
            } => Some(format!("{b} → {value}")),
            GitHubChange::SetVariable { value, .. } => Some(value.clone()),
            GitHubChange::ProtectEnvironment { .. } => {
                Some("deployment branch policy: protected branches only".into())
            }
            _ => None,
        }
    }
}

/// The GitHub half of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitHubPlan {
    /// Writes, in order (environments before their variables).
    pub changes: Vec<GitHubChange>,
    /// What a reviewer should know (an environment without protection).
    pub warnings: Vec<String>,
    /// Variables another config's role (or a hand-made role) holds: not changed, and the apply
    /// is refused until the config names another variable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

/// The variables a config wants, for `target` (roles whose subjects name no repository are
/// left out: there is nowhere to set their variable).
pub fn wanted(cfg: &Config, target: &Target) -> Vec<WantedVariable> {
    let mut out = Vec::new();
    for role in &cfg.roles {
        let v = variable::variable(cfg, role, target);
        for t in v.targets {
            if t.repo == "OWNER/REPO" {
                continue;
            }
            out.push(WantedVariable {
                repo: t.repo,
                environment: t.environment,
                name: v.name.clone(),
                value: v.value.clone(),
                role: role.name.clone(),
                config: cfg.name.clone(),
            });
        }
    }
    out
}

/// Changes that make GitHub hold the wanted variables.
pub fn plan(wanted: &[WantedVariable], observed: &ObservedGitHub) -> GitHubPlan {
    let mut p = GitHubPlan::default();
    // Renamed variables go after the new ones are set.
    let mut renames: Vec<GitHubChange> = Vec::new();
    let mut created: Vec<(String, String)> = Vec::new();
    for w in wanted {
        if let Some(env) = &w.environment {
            let key = (w.repo.clone(), env.clone());
            match observed.environments.get(&key) {
                Some(None) if !created.contains(&key) => {
                    p.changes.push(GitHubChange::CreateEnvironment {
                        repo: w.repo.clone(),
                        environment: env.clone(),
                    });
                    p.warnings.push(format!(
                        "environment {env} of {} will be created so that only protected branches can deploy to it as role {} (protect the branch you deploy from); required reviewers are the repository owner's to add",
                        w.repo, w.role
                    ));
                    created.push(key);
                }
                Some(Some(e)) if !e.protected() && !created.contains(&key) => {
                    p.changes.push(GitHubChange::ProtectEnvironment {
                        repo: w.repo.clone(),
                        environment: env.clone(),
                    });
                    p.warnings.push(format!(
                        "environment {env} of {} has no protection rules and no deployment branch policy, so any branch can deploy as role {} (KL022): apply lets only protected branches deploy to it; required reviewers are the repository owner's to add",
                        w.repo, w.role
                    ));
                    created.push(key);
                }
                _ => {}
            }
        }
        let before = observed
            .variables
            .get(&(w.repo.clone(), w.environment.clone(), w.name.clone()))
            .cloned()
            .flatten();
        if let Some(held) = before.as_deref()
            && held != w.value
            && let Some(why) = repoint_refusal(w, held, observed.holders.get(held))
        {
            p.refused.push(why);
            continue;
        }
        // A variable of another name at the same place that holds this role's ARN is this
        // config's, renamed: it goes, and the workflows that read it must read the new name.
        for (old, value) in observed
            .others
            .get(&(w.repo.clone(), w.environment.clone()))
            .into_iter()
            .flatten()
        {
            let renamed = *value == w.value
                && !old.eq_ignore_ascii_case(&w.name)
                && !renames.iter().any(|c| matches!(c, GitHubChange::DeleteVariable { name, repo, environment, .. } if name == old && *repo == w.repo && *environment == w.environment));
            if renamed {
                renames.push(GitHubChange::DeleteVariable {
                    repo: w.repo.clone(),
                    environment: w.environment.clone(),
                    name: old.clone(),
                    value: value.clone(),
                });
                p.warnings.push(format!(
                    "variable {old} of {} is renamed {}: in the workflows that assume role {}, change `vars.{old}` to `vars.{}` (keyless emit workflow --role {} shows the new one)",
                    w.repo, w.name, w.role, w.name, w.role
                ));
            }
        }
        if before.as_deref() != Some(w.value.as_str()) {
            p.changes.push(GitHubChange::SetVariable {
                repo: w.repo.clone(),
                environment: w.environment.clone(),
                name: w.name.clone(),
                value: w.value.clone(),
                before,
            });
        }
    }
    p.changes.extend(renames);
    p
}

/// Changes that remove the variables keyless set: only those that still hold the role's ARN.
pub fn destroy(wanted: &[WantedVariable], observed: &ObservedGitHub) -> GitHubPlan {
    let mut p = GitHubPlan::default();
    for w in wanted {
        let current = observed
            .variables
            .get(&(w.repo.clone(), w.environment.clone(), w.name.clone()))
            .cloned()
            .flatten();
        match current {
            Some(v) if v == w.value => p.changes.push(GitHubChange::DeleteVariable {
                repo: w.repo.clone(),
                environment: w.environment.clone(),
                name: w.name.clone(),
                value: v,
            }),
            Some(other) => p.warnings.push(format!(
                "variable {} of {} holds {other}, not role {}'s ARN: kept (keyless never deletes a variable it did not set)",
                w.name, w.repo, w.role
            )),
            None => {}
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(repo: &str, env: Option<&str>, name: &str, value: &str) -> WantedVariable {
        WantedVariable {
            repo: repo.into(),
            environment: env.map(String::from),
            name: name.into(),
            value: value.into(),
            role: "r".into(),
            config: "b".into(),
        }
    }

    fn observed(
        vars: &[(&str, Option<&str>, &str, Option<&str>)],
        envs: &[(&str, &str, Option<bool>)],
    ) -> ObservedGitHub {
        ObservedGitHub {
            holders: BTreeMap::new(),
            others: BTreeMap::new(),
            variables: vars
                .iter()
                .map(|(r, e, n, v)| {
                    (
                        (r.to_string(), e.map(String::from), n.to_string()),
                        v.map(String::from),
                    )
                })
                .collect(),
            environments: envs
                .iter()
                .map(|(r, e, p)| {
                    (
                        (r.to_string(), e.to_string()),
                        p.map(|p| EnvironmentInfo {
                            name: e.to_string(),
                            protection_rules: usize::from(p),
                            branch_policy: p,
                        }),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn missing_variables_and_environments_are_created_and_a_converged_repo_needs_nothing() {
        let w = vec![
            want("o/a", None, "AWS_ROLE_ARN", "arn:1"),
            want("o/a", Some("prod"), "AWS_ROLE_ARN", "arn:2"),
        ];
        let p = plan(
            &w,
            &observed(
                &[
                    ("o/a", None, "AWS_ROLE_ARN", None),
                    ("o/a", Some("prod"), "AWS_ROLE_ARN", None),
                ],
                &[("o/a", "prod", None)],
            ),
        );
        let apis: Vec<&str> = p.changes.iter().map(GitHubChange::api).collect();
        assert_eq!(
            apis,
            vec!["POST variable", "PUT environment", "POST variable"]
        );
        assert!(p.warnings[0].contains("only protected branches can deploy"));
        let done = plan(
            &w,
            &observed(
                &[
                    ("o/a", None, "AWS_ROLE_ARN", Some("arn:1")),
                    ("o/a", Some("prod"), "AWS_ROLE_ARN", Some("arn:2")),
                ],
                &[("o/a", "prod", Some(true))],
            ),
        );
        assert_eq!(done, GitHubPlan::default());
    }

    #[test]
    fn another_value_is_updated_and_destroy_keeps_what_keyless_did_not_set() {
        let w = vec![want("o/a", None, "AWS_ROLE_ARN", "arn:1")];
        let o = observed(&[("o/a", None, "AWS_ROLE_ARN", Some("arn:other"))], &[]);
        let p = plan(&w, &o);
        assert_eq!(p.changes[0].symbol(), "~");
        assert_eq!(p.changes[0].detail().as_deref(), Some("arn:other → arn:1"));
        let d = destroy(&w, &o);
        assert!(d.changes.is_empty() && d.warnings[0].contains("never deletes"));
        let mine = observed(&[("o/a", None, "AWS_ROLE_ARN", Some("arn:1"))], &[]);
        assert_eq!(destroy(&w, &mine).changes[0].api(), "DELETE variable");
    }

    #[test]
    fn a_variable_held_by_another_configs_role_is_never_repointed() {
        use crate::state::observed::Owner;
        let w = want("o/r", None, "AWS_ROLE_ARN", "arn:aws:iam::1:role/b-pr");
        let theirs = "arn:aws:iam::1:role/a-deploy";
        let mut seen = observed(&[("o/r", None, "AWS_ROLE_ARN", Some(theirs))], &[]);
        for (holder, refused) in [
            (Holder::Role(Owner::Config("a".into())), true),
            (Holder::Role(Owner::NotKeyless), true),
            (Holder::Role(Owner::Config("b".into())), false),
            (Holder::Role(Owner::Legacy), false),
            (Holder::Gone, false),
            (Holder::NotARole, false),
        ] {
            seen.holders.insert(theirs.into(), holder.clone());
            let p = plan(std::slice::from_ref(&w), &seen);
            assert_eq!(!p.refused.is_empty(), refused, "{holder:?}");
            assert_eq!(p.changes.is_empty(), refused, "{holder:?}");
            if refused {
                assert!(
                    p.refused[0].contains("variable = \"AWS_ROLE_ARN_R\""),
                    "{}",
                    p.refused[0]
                );
            }
        }
    }
}
