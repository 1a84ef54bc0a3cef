//! keyless: set up the AWS side of GitHub Actions OIDC federation, so that no workflow needs a
//! stored AWS access key.
//!
//! The library runs the pipeline; the binary (`src/app/`) resolves settings and accounts, asks,
//! and prints reports. A pure core (config → identity → policy → state) turns the config into
//! rendered, linted documents and, given what was observed, into plans and findings, with no
//! I/O. The [`io`] modules are the thin edges (AWS, GitHub, tokens, the executors). The [`ops`]
//! operations join them: one function per operation, taking an account context, so one account
//! and many run the same code.
//!
//! | folder | layer | holds |
//! |---|---|---|
//! | [`config`] | core | `keyless.toml`: schema, validation, shape, `[accounts]`, `init`'s answers |
//! | [`identity`] | core | issuers, subjects, claims, names, repository facts |
//! | [`policy`] | core | documents, templates, lint, evaluation, explanations |
//! | [`state`] | core | render, observed, plan, drift, GitHub plan, audit, emit, export, import, migrate |
//! | [`io`] | edges | AWS, GitHub, tokens, HTTPS, the exchange, the executors |
//! | [`ops`] | pipeline | plan, apply, destroy, check, audit, import, migrate step, per account |
//! | [`error`] | | typed errors |
//! | [`release`] | | where releases and the GitHub Action live; this build's version and commit |
//!
//! The core imports nothing from [`io`] or [`ops`] (a test in `tests/it/layers.rs` reads the
//! sources and fails otherwise).
#![deny(missing_docs)]

pub mod io;
pub mod ops;

pub use keyless_core::{artifacts, config, error, identity, policy, release, state};
