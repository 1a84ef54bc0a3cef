//! State: desired (rendered from the config), observed (read by keyless's io layer, handed over
//! as plain data) and the decisions between them: plans, drift, the GitHub plan, the audit's
//! judgement, the guard, migration steps. Pure: no I/O. The documents keyless writes out for
//! people and other tools are [`crate::artifacts`]'.
//!
//! | module | holds |
//! |---|---|
//! | [`render`] | config → rendered, linted documents per role (desired state) |
//! | [`observed`] | actual state read from IAM, as plain data |
//! | [`plan`] | desired vs actual → ordered changes; destroy plans |
//! | [`drift`] | desired vs actual → findings for `keyless check` |
//! | [`github_plan`] | the GitHub half of a plan: variables and environments, as changes |
//! | [`audit`] | a whole account judged: every role that trusts a GitHub issuer |
//! | [`migrate`] | moving a repository to immutable subjects: the next safe step, config edits |
//! | [`variable`] | the repository variable each role's ARN is set in, as desired state |
//! | [`key_migration`] | migrate-keys: the next safe step from a stored key to the role |
//! | [`keys`] | stored AWS keys: secrets, the workflows that pass them, IAM users' keys, and the evidence linking them |
//! | [`tighten`] | least privilege from use: a narrower grant, proven inside today's, as a config edit |
//! | [`guard`] | the organisation guard: its RCP, the plan against Organizations, the dry run |

pub mod audit;
pub mod drift;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod github_plan;
pub mod guard;
pub mod key_migration;
pub mod keys;
pub mod migrate;
pub mod observed;
pub mod plan;
pub mod render;
pub mod tighten;
pub mod variable;
