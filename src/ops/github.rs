//! The GitHub half of an operation: what GitHub reports about the config's repositories, and
//! the variables the config wants beside what GitHub holds. Reads only; the writes are
//! [`crate::io::execute::execute_github`]'s.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::io::aws::Aws;
use crate::io::github::GitHub;
use crate::state::github_plan::{self, Holder, ObservedGitHub, WantedVariable};
use crate::state::observed::Owner;
use crate::state::render::{self, Rendered, RepoFacts, Target};

/// What GitHub reports for each repository of the config, by `owner/repo` as written (`None`
/// for one GitHub does not know).
pub type Facts = BTreeMap<String, Option<RepoFacts>>;

/// The repositories the config's subjects name (wildcards left out), each once, in order.
pub fn repositories(cfg: &Config) -> Vec<String> {
    let mut repos: Vec<String> = Vec::new();
    for role in &cfg.roles {
        for s in &role.subjects {
            if let crate::identity::subject::SubjectSpec::Repo { repo, .. } = &s.spec
                && repo.name != "*"
            {
                let full = repo.full_name();
                if !repos.contains(&full) {
                    repos.push(full);
                }
            }
        }
    }
    repos
}

/// What GitHub reports for each repository of `cfg`: its IDs, subject settings and the
/// environments the config scopes roles to.
pub async fn facts(cfg: &Config, gh: &GitHub) -> Result<Facts> {
    let mut facts = BTreeMap::new();
    for full in repositories(cfg) {
        let info = match gh.repository(&full).await {
            Ok(info) => info,
            Err(Error::GitHub {
                status: Some(404), ..
            }) => {
                facts.insert(full, None);
                continue;
            }
            Err(e) => return Err(e),
        };
        let settings = gh.subject_settings(&info.full_name).await?;
        let mut environments = BTreeMap::new();
        for role in &cfg.roles {
            for s in &role.subjects {
                if let crate::identity::subject::SubjectSpec::Repo {
                    repo,
                    scope: crate::identity::subject::Scope::Environment(env),
                    ..
                } = &s.spec
                    && repo.full_name() == full
                    && !environments.contains_key(env)
                {
                    let e = gh.environment(&info.full_name, env).await?;
                    environments.insert(env.clone(), e);
                }
            }
        }
        facts.insert(
            full,
            Some(RepoFacts {
                info,
                settings,
                environments,
            }),
        );
    }
    Ok(facts)
}

/// Add what GitHub reports about the config's repositories to the rendered roles (KL016). A
/// repository GitHub does not know is an error naming it.
pub async fn add_findings(cfg: &Config, gh: &GitHub, rendered: &mut Rendered) -> Result<()> {
    let mut known = BTreeMap::new();
    for (full, f) in facts(cfg, gh).await? {
        match f {
            Some(f) => {
                known.insert(full, f);
            }
            // Ask again for the error with its fix (404: spelling, or no access).
            None => {
                gh.repository(&full).await?;
            }
        }
    }
    render::github_findings(cfg, rendered, &known);
    Ok(())
}

/// The variables `cfg` wants on GitHub for `target`, and what GitHub holds for them; for a
/// variable that holds another role's ARN of this account, whose role that is (IAM's tags).
pub async fn variables(
    cfg: &Config,
    target: &Target,
    gh: &GitHub,
    aws: &Aws,
) -> Result<(Vec<WantedVariable>, ObservedGitHub)> {
    let wanted = github_plan::wanted(cfg, target);
    let mut seen = ObservedGitHub::default();
    for w in &wanted {
        if let Some(env) = &w.environment {
            let key = (w.repo.clone(), env.clone());
            if let std::collections::btree_map::Entry::Vacant(slot) = seen.environments.entry(key) {
                slot.insert(gh.environment(&w.repo, env).await?);
            }
            if seen.environments[&(w.repo.clone(), env.clone())].is_none() {
                // No environment yet, so no variable in it.
                seen.variables.insert(
                    (w.repo.clone(), w.environment.clone(), w.name.clone()),
                    None,
                );
                continue;
            }
        }
        let value = gh
            .variable(&w.repo, w.environment.as_deref(), &w.name)
            .await?;
        if let Some(v) = value.as_deref()
            && v != w.value
            && !seen.holders.contains_key(v)
        {
            let holder = holder(aws, target, v).await?;
            seen.holders.insert(v.to_string(), holder);
        }
        seen.variables.insert(
            (w.repo.clone(), w.environment.clone(), w.name.clone()),
            value,
        );
    }
    // The other variables where the wanted ones live: renamed ones, and ones left pointing at
    // roles that no longer exist.
    for w in &wanted {
        let place = (w.repo.clone(), w.environment.clone());
        if seen.others.contains_key(&place) {
            continue;
        }
        if let Some(env) = &w.environment
            && seen.environments.get(&(w.repo.clone(), env.clone())) == Some(&None)
        {
            continue; // no environment, no variables in it
        }
        let names: Vec<&str> = wanted
            .iter()
            .filter(|x| x.repo == w.repo && x.environment == w.environment)
            .map(|x| x.name.as_str())
            .collect();
        let mut others = Vec::new();
        for (name, value) in gh.variables(&w.repo, w.environment.as_deref()).await? {
            if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                continue;
            }
            if !seen.holders.contains_key(&value) {
                let h = holder(aws, target, &value).await?;
                if h != Holder::NotARole {
                    seen.holders.insert(value.clone(), h);
                }
            }
            others.push((name, value));
        }
        seen.others.insert(place, others);
    }
    Ok((wanted, seen))
}

/// Whose role `value` names: a role ARN of `target`'s account is read back for its tags.
pub async fn holder(aws: &Aws, target: &Target, value: &str) -> Result<Holder> {
    let prefix = format!("arn:{}:iam::{}:role/", target.partition, target.account_id);
    let Some(rest) = value.strip_prefix(&prefix) else {
        return Ok(Holder::NotARole);
    };
    let name = rest.rsplit('/').next().unwrap_or(rest);
    Ok(match aws.read_role(name).await? {
        Some(role) => Holder::Role(Owner::of(&role.tags)),
        None => Holder::Gone,
    })
}
