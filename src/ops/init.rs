//! What `init` reads before it writes a config, so that the new config collides with nothing
//! another config owns: the config names in use in the account, and whether the variable its
//! role would use on GitHub already carries another config's role.

use std::collections::BTreeSet;

use crate::config::{CONFIG_KEY, Config};
use crate::error::Result;
use crate::io::aws::Aws;
use crate::io::github::GitHub;
use crate::ops::github;
use crate::state::github_plan::repoint_refusal;
use crate::state::plan::roles_trusting;
use crate::state::render::Target;

/// What init needs to know of the account's roles, from one listing: every role name (so a
/// role name can be chosen without reading roles that do not exist), and the config names
/// (`keyless:config` tags) of the roles that trust `provider_arn`.
#[derive(Debug, Clone, Default)]
pub struct AccountRoles {
    /// Every role's name.
    pub names: BTreeSet<String>,
    /// The config names in use by roles that trust the provider.
    pub config_names: BTreeSet<String>,
}

/// List the account's roles once (ListRoles), and read the tags of those that trust
/// `provider_arn`. With `keep`, the listing serves the plan that follows (the account is
/// listed once per run).
pub async fn account_roles(
    aws: &Aws,
    provider_arn: &str,
    concurrency: usize,
    keep: bool,
) -> Result<AccountRoles> {
    let trusts = if keep {
        aws.list_roles_kept().await?
    } else {
        aws.other_role_trusts(&[]).await?
    };
    roles_from(aws, trusts, provider_arn, concurrency).await
}

/// [`account_roles`] from a listing already made (every role's name and trust).
pub async fn roles_from(
    aws: &Aws,
    trusts: Vec<(String, serde_json::Value)>,
    provider_arn: &str,
    concurrency: usize,
) -> Result<AccountRoles> {
    let names = roles_trusting(provider_arn, &trusts);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let tags = aws.role_tags(&refs, concurrency).await?;
    Ok(AccountRoles {
        names: trusts.iter().map(|(n, _)| n.clone()).collect(),
        config_names: tags
            .values()
            .filter_map(|t| t.get(CONFIG_KEY).cloned())
            .collect(),
    })
}

/// The roles of `cfg` whose variable on GitHub already holds a role of another config (or a
/// role made by hand), with why: each needs a variable of its own.
pub async fn taken_variables(
    cfg: &Config,
    target: &Target,
    gh: &GitHub,
    aws: &Aws,
) -> Result<Vec<(String, String)>> {
    let (wanted, held) = github::variables(cfg, target, gh, aws).await?;
    let mut out = Vec::new();
    for w in &wanted {
        let key = (w.repo.clone(), w.environment.clone(), w.name.clone());
        if let Some(Some(v)) = held.variables.get(&key)
            && *v != w.value
            && let Some(why) = repoint_refusal(w, v, held.holders.get(v))
            && !out.iter().any(|(r, _)| *r == w.role)
        {
            out.push((w.role.clone(), why));
        }
    }
    Ok(out)
}
