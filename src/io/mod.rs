//! I/O: the only modules that talk to the outside world. Each owns one system and hands back
//! plain Rust types from the core ([`crate::state`], [`crate::identity`]) or a typed
//! [`crate::error::Error`]. They must not decide anything a plan or a finding decides.
//!
//! | module | holds |
//! |---|---|
//! | [`aws`] | every SDK call (reads, writes, assume-role, Organizations) |
//! | [`github`] | every call to GitHub's REST API: repositories, subject settings, variables |
//! | [`token`] | GitHub OIDC tokens: sources, claims, signature check |
//! | [`http`] | the HTTPS transport for GitHub (one TLS stack with the AWS SDK) |
//! | [`exchange`] | the web-identity exchange with its bounded, typed retry policy |
//! | [`trail`] | a CloudTrail trail's log files on disk (`--cloudtrail DIR`) |
//! | [`execute`] | the executors: a plan's IAM changes, then its GitHub changes, cancellable between calls |

pub mod aws;
pub mod exchange;
pub mod execute;
pub mod github;
pub mod http;
pub mod token;
pub mod trail;
