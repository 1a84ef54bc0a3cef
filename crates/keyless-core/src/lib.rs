//! keyless's pure core: everything that turns `keyless.toml` into rendered, linted documents and,
//! given what was observed, into plans, findings and generated documents, with no I/O.
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | `keyless.toml`: schema, validation, shape, `[accounts]`, `[guard]`, `init`'s answers, variable names |
//! | [`identity`] | issuers, subjects, claims, names, repository facts |
//! | [`policy`] | documents, templates, lint, evaluation, explanations |
//! | [`state`] | desired and observed state and the decisions between them |
//! | [`artifacts`] | generated documents: workflows, CloudFormation, imported configs, the trust map |
//! | [`error`] | typed errors |
//! | [`release`] | where releases and the GitHub Action live; this build's version and commit |
//!
//! The order inside the core is `config` → `identity` → `policy` → `state` → `artifacts`:
//! each may use those before it and none after it, with `error` and `release` below them all.
//! This crate depends on no tokio, no AWS SDK and no HTTP client; the compiler keeps io and ops
//! out (they are in the `keyless` crate, which depends on this one).
#![deny(missing_docs)]

pub mod artifacts;
pub mod config;
pub mod error;
pub mod identity;
pub mod policy;
pub mod release;
pub mod state;
