//! Reaching the accounts of a run across accounts (`[accounts]`): which accounts (the listed
//! ones, then the organizational units'), and each one through the assumed role, with the
//! config as that account sees it. A role that lands in another account, or a partition pin
//! that does not hold, refuses that account alone. [`each`] is the one fan-out: reading every
//! account and applying every account's plan both go through it.

use std::path::PathBuf;

use futures_util::StreamExt;

use crate::config::accounts::{self, Accounts};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::io::aws::{Aws, CallerIdentity};
use crate::io::github::GitHub;
use crate::ops::context::{Account, RunSettings};
use crate::state::render::Target;

/// What a run across accounts starts from.
pub struct Fleet<'a> {
    /// The caller's clients (they assume the role in each account).
    pub base: &'a Aws,
    /// The `[accounts]` table.
    pub accounts: &'a Accounts,
    /// The config without `[accounts]`, parsed once, substituted per account.
    pub view: config::accounts::PerAccount,
    /// The config file, for messages.
    pub file: String,
    /// Its directory (policy files are relative to it).
    pub dir: PathBuf,
    /// The caller's partition.
    pub partition: &'a str,
}

impl Fleet<'_> {
    /// The accounts to work in: `ids`, then each organizational unit's active accounts (AWS
    /// Organizations), each once, never the caller's own.
    pub async fn ids(&self, caller_account: &str) -> Result<Vec<String>> {
        let mut listed = Vec::new();
        for ou in &self.accounts.organizational_units {
            listed.extend(self.base.accounts_in(ou).await?);
        }
        Ok(accounts::targets(self.accounts, &listed, caller_account))
    }

    /// The config as account `id` sees it, and the account reached through the assumed role.
    pub async fn reach<'g>(
        &self,
        id: &str,
        github: Option<&'g GitHub>,
        settings: RunSettings,
    ) -> Result<(Config, Account<'g>)> {
        let text = self.view.text_for(self.accounts, id)?;
        let cfg = config::parse(&text, &self.file, &self.dir)?;
        let (aws, caller) = self
            .base
            .assume_role(
                &self.accounts.role_arn(self.partition, id),
                self.accounts.external_id.as_deref(),
            )
            .await?;
        if caller.account != id {
            return Err(Error::Account {
                account: id.to_string(),
                message: format!(
                    "the role assumed for account {id} belongs to account {}",
                    caller.account
                ),
                fix: "check [accounts] role: it must name a role in each target account".into(),
            });
        }
        if let Some(p) = cfg.partition.as_deref().filter(|p| *p != caller.partition) {
            return Err(Error::Account {
                account: id.to_string(),
                message: format!(
                    "the config is pinned to partition {p}, but account {id} answered from partition {}",
                    caller.partition
                ),
                fix:
                    "run it with credentials in that partition, or change partition in keyless.toml"
                        .into(),
            });
        }
        let target = Target {
            account_id: id.to_string(),
            partition: caller.partition,
        };
        Ok((
            cfg,
            Account {
                aws,
                target,
                github,
                settings,
            },
        ))
    }
}

/// Run `f` on each item, `concurrency` at a time (at least one), and hand back the outcomes in
/// the items' order. The one fan-out across accounts.
pub async fn each<I, T, F, Fut>(items: I, concurrency: usize, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures_util::stream::iter(items.into_iter().map(f))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Ask STS who the caller is while `op` runs (for a read-only operation started on a pinned
/// account before the caller is known): one round trip instead of two. The caller decides what
/// to do when the answer names another account.
pub async fn identified_while<T>(
    aws: &Aws,
    op: impl std::future::Future<Output = T>,
) -> (Result<CallerIdentity>, T) {
    tokio::join!(aws.caller_identity(), op)
}
