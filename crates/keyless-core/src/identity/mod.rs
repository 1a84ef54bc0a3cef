//! Identity: who GitHub says a job is, and how IAM names things. Issuers and their claim keys,
//! `sub` rules and trust statements, the claims a described job would carry, naming rules, and
//! what GitHub reports about a repository as plain data. Pure: no I/O, nothing from
//! [`crate::io`].
//!
//! | module | holds |
//! |---|---|
//! | [`issuer`] | GitHub issuers, key prefixes, provider ARNs, supported claim keys |
//! | [`subject`] | GitHub `sub` rules and trust statements |
//! | [`claims`] | the token claims GitHub would mint for a described job |
//! | [`names`] | GitHub and IAM naming rules |
//! | [`repository`] | what GitHub reports about a repository: IDs, subject settings, environments |

pub mod claims;
pub mod issuer;
pub mod names;
pub mod repository;
pub mod subject;
