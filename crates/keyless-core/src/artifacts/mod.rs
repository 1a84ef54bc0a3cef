//! The documents keyless writes for people and other tools, each a pure function from typed
//! state to text: the workflows a repository runs ([`workflow`]), CloudFormation templates and
//! the StackSets script ([`cloudformation`]), keyless.toml describing hand-made roles
//! ([`import`]), the trust map's page ([`trust_map`]), and a workflow moved from a stored key to
//! the role ([`key_switch`]). Their templates live in `templates/`.
//!
//! Nothing here decides what to change (that is [`crate::state`]) or writes a file, prints, or
//! calls AWS or GitHub.

pub mod cloudformation;
pub mod import;
pub mod key_switch;
pub mod trust_map;
pub mod workflow;
