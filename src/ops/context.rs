//! The account context an operation runs in, and the settings of the run. Built by the
//! caller (the binary's session) once per account; operations only read it. It knows nothing
//! about how the accounts were found (one caller, or many through an assumed role).

use std::borrow::Cow;

use crate::config::Config;
use crate::io::aws::Aws;
use crate::io::github::GitHub;
use crate::policy::template::Templates;
use crate::state::observed::Reads;
use crate::state::render::Target;

/// How a run reads, the same in every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSettings {
    /// How many roles to read at once.
    pub concurrency: usize,
    /// How to read the account (role by role, or the whole account).
    pub reads: Reads,
    /// Whether the GitHub variables are planned and checked. Off in a run across accounts:
    /// a repository variable holds one role ARN, and the accounts would overwrite each other's.
    pub github_variables: bool,
}

/// One account reached: its clients and where it is. Enough for operations that need no
/// config (audit).
#[derive(Clone)]
pub struct Account<'a> {
    /// The AWS clients for the account.
    pub aws: Aws,
    /// The account and partition.
    pub target: Target,
    /// GitHub, when it is read.
    pub github: Option<&'a GitHub>,
    /// How to read.
    pub settings: RunSettings,
}

/// One account to work in, with the config as that account sees it.
#[derive(Clone)]
pub struct AccountContext<'a> {
    /// The account reached.
    pub account: Account<'a>,
    /// The config as this account sees it (its `${account.VAR}` values substituted).
    pub config: Cow<'a, Config>,
    /// Built-in templates plus the config's own.
    pub templates: &'a Templates,
}

/// What rendering checks before an operation goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// Stop with [`crate::error::Error::LintBlocked`] on blocking lint findings, before
    /// anything reads or writes the account.
    pub refuse_blocking: bool,
    /// Add GitHub's facts about the config's repositories (KL016), when GitHub is read.
    pub with_github: bool,
}
