//! keyless: set up the AWS side of GitHub Actions OIDC federation, so that no workflow needs a
//! stored AWS access key.
//!
//! The library is a pure core with thin edges: config → subjects → rendered and linted documents
//! (the desired state); desired vs observed gives a plan (plain data, no I/O); the [`execute`]
//! executor applies it. Only [`aws`] performs I/O against AWS and only [`token`] talks HTTP to
//! GitHub. The command-line layer lives in the binary (`src/app/`) and only resolves settings,
//! asks, and prints reports; nothing here knows about it.
//!
//! | module | holds |
//! |---|---|
//! | [`accounts`] | many accounts from one config: `[accounts]`, per-account substitution |
//! | [`config`] | `keyless.toml`: schema, loading, validation with precise errors |
//! | [`config_shape`] | `keyless.toml`'s keys and TOML types, checked all at once before deserializing |
//! | [`names`] | GitHub and IAM naming rules |
//! | [`issuer`] | GitHub issuers, key prefixes, provider ARNs, supported claim keys |
//! | [`subject`] | GitHub `sub` rules and trust statements |
//! | [`template`] | the Tera engine, built-in templates and the preset catalogue |
//! | [`policy`] | IAM policy documents: parsing, shape checks, size |
//! | [`lint`] | the rule catalogue and its checks |
//! | [`release`] | where releases and the GitHub Action live; this build's version and commit |
//! | [`render`] | config → rendered, linted documents per role (desired state) |
//! | [`observed`] | actual state read from IAM, as plain data |
//! | [`plan`] | desired vs actual → ordered changes; destroy plans |
//! | [`drift`] | desired vs actual → findings for `keyless check` |
//! | [`import`] | hand-made roles described as keyless.toml |
//! | [`migrate`] | moving a repository to immutable subjects: the next safe step, config edits |
//! | [`setup`] | `keyless init`'s answers and the config they produce |
//! | [`emit`] | the workflow snippet and the repository variable |
//! | [`export`] | the CloudFormation template of what apply creates, and its StackSets steps |
//! | [`evaluate`] | IAM trust-policy evaluation for web-identity tokens |
//! | [`explain`] | pre-flight checks and plain-language fixes for a token and a role |
//! | [`claims`] | the token claims GitHub would mint for a described job |
//! | [`execute`] | the executor: a plan's changes in order, cancellable between calls |
//! | [`exchange`] | the web-identity exchange with its bounded, typed retry policy |
//! | [`github`] | every call to GitHub's REST API: repositories, subject settings |
//! | [`github_plan`] | the GitHub half of a plan: variables and environments, as changes |
//! | [`http`] | the HTTPS transport for GitHub (one TLS stack with the AWS SDK) |
//! | [`token`] | GitHub OIDC tokens: sources, claims, signature check (HTTP to GitHub only) |
//! | [`aws`] | every SDK call |
//! | [`error`] | typed errors |
#![deny(missing_docs)]

pub mod accounts;
pub mod audit;
pub mod aws;
pub mod claims;
pub mod config;
pub mod config_shape;
pub mod drift;
pub mod emit;
pub mod error;
pub mod evaluate;
pub mod exchange;
pub mod execute;
pub mod explain;
pub mod export;
pub mod github;
pub mod github_plan;
pub mod http;
pub mod import;
pub mod issuer;
pub mod lint;
pub mod migrate;
pub mod names;
pub mod observed;
pub mod plan;
pub mod policy;
pub mod release;
pub mod render;
pub mod setup;
pub mod subject;
pub mod template;
pub mod token;
