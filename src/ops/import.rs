//! `import` in one account: read the hand-made roles to describe (those named, or every role
//! that trusts a GitHub provider) and describe them as keyless.toml. Writing the files is the
//! caller's.

use crate::artifacts::import::{self, Imported};
use crate::error::{Error, Result};
use crate::identity::issuer::Issuer;
use crate::ops::context::Account;
use crate::state::observed::ObservedRole;

/// Which roles to import.
#[derive(Debug, Clone)]
pub enum Selection {
    /// These roles, by name.
    Named(Vec<String>),
    /// Every role that trusts a GitHub Actions provider.
    AllGitHub,
}

/// The roles read and how keyless describes them.
#[derive(Debug, Clone)]
pub struct Found {
    /// The roles as IAM holds them.
    pub roles: Vec<ObservedRole>,
    /// The config, its policy files and notes.
    pub described: Imported,
}

/// Read the selected roles and describe them, under a config name no other config in the
/// account uses (`mine`: the name of the config file being rewritten, which may keep it).
/// Refuses roles that do not exist, that trust no GitHub provider, or that trust different
/// issuers (one config has one provider).
pub async fn import(
    account: &Account<'_>,
    selection: &Selection,
    mine: Option<&str>,
) -> Result<Found> {
    let id = &account.target.account_id;
    let names: Vec<String> = match selection {
        Selection::AllGitHub => account
            .aws
            .other_role_trusts(&[])
            .await?
            .into_iter()
            .filter(|(_, trust)| import::trusts_github(trust))
            .map(|(n, _)| n)
            .collect(),
        Selection::Named(names) => names.clone(),
    };
    if names.is_empty() {
        return Err(Error::Refused(vec![format!(
            "no role in account {id} trusts a GitHub Actions provider\n  fix: name the roles to import"
        )]));
    }
    let mut roles: Vec<ObservedRole> = Vec::new();
    for n in &names {
        let live = account.aws.read_role(n).await?.ok_or_else(|| {
            Error::Refused(vec![format!(
                "role {n} does not exist in account {id}\n  fix: check the name (IAM role names are case-insensitive, ARNs are not needed)"
            )])
        })?;
        roles.push(live);
    }
    let prefixes: Vec<String> = roles
        .iter()
        .map(|r| import::provider_prefix(&r.trust_policy).unwrap_or_default())
        .collect();
    if let Some((r, _)) = roles
        .iter()
        .zip(&prefixes)
        .find(|(_, pre)| !Issuer::looks_like_github(pre))
    {
        return Err(Error::Refused(vec![format!(
            "role {} does not trust a GitHub Actions OIDC provider\n  fix: import only roles that GitHub workflows assume",
            r.name
        )]));
    }
    if prefixes.iter().any(|x| *x != prefixes[0]) {
        return Err(Error::Refused(vec![
            "the roles trust different GitHub issuers; one keyless.toml has one provider\n  fix: import the roles of each issuer into its own file".into(),
        ]));
    }
    let provider_arn = format!(
        "arn:{}:iam::{id}:oidc-provider/{}",
        account.target.partition, prefixes[0]
    );
    let in_use = crate::ops::init::account_roles(
        &account.aws,
        &provider_arn,
        account.settings.concurrency,
        false,
    )
    .await?
    .config_names;
    let name = crate::config::setup::free_config_name(
        &import::suggest_name(&roles, &prefixes[0]),
        &in_use,
        mine,
    );
    let described = import::describe(&roles, &prefixes[0], &name, id);
    Ok(Found { roles, described })
}
