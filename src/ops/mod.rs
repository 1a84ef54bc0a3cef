//! Operations: the pipeline each command runs, in one account (cargo's `ops::compile`,
//! cargo-dist's `do_build`). Each takes an [`AccountContext`] (the config as this account sees
//! it, the templates, the AWS clients, the target, the GitHub client when GitHub is read) and
//! returns a typed outcome; a run across many accounts calls the same function once per account.
//!
//! Operations may call the io modules ([`crate::io`]) and the pure core; they must not know
//! the command line, the terminal or how outcomes are shown (progress goes to a callback, the
//! cancel flag is the caller's).
//!
//! | module | holds |
//! |---|---|
//! | [`context`] | the account context and the run settings every operation reads |
//! | [`accounts`] | reaching each account of a run across accounts (`[accounts]`) |
//! | [`github`] | the GitHub half: repository facts, the variables wanted and held |
//! | [`provision`] | plan, destroy plan, apply (IAM then GitHub) |
//! | [`check`] | drift: IAM and GitHub against the config |
//! | [`audit`] | the whole account, judged |
//! | [`import`] | hand-made roles read back as a config |
//! | [`export`] | the config (or the guard) as a CloudFormation template, the StackSets script |
//! | [`guard`] | the organisation's RCP: plan with its dry run, destroy plan, apply; owners known |
//! | [`init`] | what init reads first: config names in use, variables another config holds |
//! | [`keys`] | stored AWS keys: GitHub's secrets and workflows, IAM users' keys, the evidence linking them |
//! | [`migrate`] | a migrate-subjects step: the decision, the config edit, the repository switch |
//! | [`usage`] | what principals used: last-accessed data, CloudTrail event history and trail files |
//! | [`tighten`] | least privilege from use: proposals, the edited config, its plan |
//! | [`migrate_keys`] | a migrate-keys step: observe, the replacing role, the switch, deactivate, delete |
//! | [`verify`] | a real token exchange for a role, with the pre-flight and who the session is |

pub mod accounts;
pub mod audit;
pub mod check;
pub mod context;
pub mod export;
pub mod github;
pub mod guard;
pub mod import;
pub mod init;
pub mod keys;
pub mod migrate;
pub mod migrate_keys;
pub mod provision;
pub mod tighten;
pub mod usage;
pub mod verify;

pub use context::{Account, AccountContext, RenderOptions, RunSettings};
