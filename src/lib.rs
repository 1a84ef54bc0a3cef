//! keyless: set up the AWS side of GitHub Actions OIDC federation, so that no workflow needs a
//! stored AWS access key.
//!
//! The library runs the pipeline; the binary (`src/app/`) resolves settings and accounts, asks,
//! and prints reports. The pure core is its own crate, `keyless-core` (re-exported here, so
//! `keyless::config` is the core's `config`): it turns the config into rendered, linted
//! documents and, given what was observed, into plans, findings and generated documents, with
//! no I/O, and it depends on no runtime, AWS SDK or HTTP client. This crate adds the edges
//! ([`io`]: AWS, GitHub, tokens, the executors) and the operations ([`ops`]): one function per
//! operation, taking an account context, so one account and many run the same code.
//!
//! | module | crate | holds |
//! |---|---|---|
//! | [`config`] | core | `keyless.toml`: schema, validation, shape, `[accounts]`, `[guard]`, `init`'s answers, variable names |
//! | [`identity`] | core | issuers, subjects, claims, names, repository facts |
//! | [`policy`] | core | documents, templates, lint, the one finding type, evaluation, explanations |
//! | [`state`] | core | render, observed, plan, drift, GitHub plan, audit, guard, migrate, variables |
//! | [`artifacts`] | core | workflows, CloudFormation, imported configs, the trust map page |
//! | [`io`] | this | AWS, GitHub, tokens, HTTPS, the exchange, the executors |
//! | [`ops`] | this | plan, apply, destroy, check, audit, import, init's reads, migrate, verify, export, guard |
//! | [`error`] | core | typed errors |
//! | [`release`] | core | where releases and the GitHub Action live; this build's version and commit |
//!
//! The layers (core, then io, then ops, then the binary), the order inside the core, and the
//! absence of cycles are checked by `tests/it/layers.rs`, which parses every module with `syn`.
#![deny(missing_docs)]

pub mod io;
pub mod ops;

pub use keyless_core::{artifacts, config, error, identity, policy, release, state};
