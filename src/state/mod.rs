//! State: desired (rendered from the config), observed (read by [`crate::io`], handed over as
//! plain data) and the decisions between them: plans, drift, the audit's judgement, and the
//! documents keyless writes out (workflows, CloudFormation, imported configs). Pure: no I/O,
//! nothing from [`crate::io`].
//!
//! | module | holds |
//! |---|---|
//! | [`render`] | config → rendered, linted documents per role (desired state) |
//! | [`observed`] | actual state read from IAM, as plain data |
//! | [`plan`] | desired vs actual → ordered changes; destroy plans |
//! | [`drift`] | desired vs actual → findings for `keyless check` |
//! | [`github_plan`] | the GitHub half of a plan: variables and environments, as changes |
//! | [`audit`] | a whole account judged: every role that trusts a GitHub issuer |
//! | [`emit`] | the workflow snippet and the repository variable |
//! | [`export`] | the CloudFormation template of what apply creates, and its StackSets steps |
//! | [`import`] | hand-made roles described as keyless.toml |
//! | [`migrate`] | moving a repository to immutable subjects: the next safe step, config edits |
//! | [`guard`] | the organisation guard: its RCP, the plan against Organizations, the dry run |
//! | [`trust_map`] | the trust map: HTML page and Mermaid diagram of who can reach which role |

pub mod audit;
pub mod drift;
pub mod emit;
pub mod export;
pub mod github_plan;
pub mod guard;
pub mod import;
pub mod migrate;
pub mod observed;
pub mod plan;
pub mod render;
pub mod trust_map;
