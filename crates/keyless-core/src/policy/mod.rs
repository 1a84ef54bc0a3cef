//! Policy: IAM documents and the judgement of them. Parsing and shape checks, the template
//! engine and its presets, the lint catalogue, the trust evaluator and its plain-language
//! explanations. Pure: no I/O, nothing from [`crate::io`].
//!
//! | module | holds |
//! |---|---|
//! | [`document`] | IAM policy documents: parsing, shape checks, size |
//! | [`template`] | the Tera engine, built-in templates and the preset catalogue |
//! | [`finding`] | the one finding type (lint, audit, drift) and the whole catalogue of IDs |
//! | [`lint`] | the rule catalogue and its checks |
//! | [`evaluate`] | IAM trust-policy evaluation for web-identity tokens |
//! | [`explain`] | pre-flight checks and plain-language fixes for a token and a role |
//! | [`actions`] | AWS's Service Authorization Reference: actions, resource types, condition keys |
//! | [`grant`] | what permission policies grant, and proof that one grant is inside another |
//! | [`usage`] | what a principal used: CloudTrail events and last-accessed data mapped to IAM actions |
//! | [`wildcard`] | IAM's `*`/`?` string matching |

pub mod actions;
pub mod document;
pub mod evaluate;
pub mod explain;
pub mod finding;
pub mod grant;
pub mod lint;
pub mod template;
pub mod usage;
pub mod wildcard;
