//! Typed errors at the library boundary.
//!
//! Each variant says what went wrong in terms the user can act on; the binary is the only place
//! that turns an [`Error`] into text on stderr and an exit code (the exit-code contract is the
//! binary's, not the library's). This module knows nothing about clap, the terminal or the SDK's
//! own error types (the `aws` module maps those into [`Error::Aws`], the `token` module HTTP
//! failures into [`Error::GitHub`]).

use std::path::PathBuf;

/// A problem in `keyless.toml` (or a file it points to), located precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {message}{}{}", value.as_ref().map(|v| format!(" (got {v})")).unwrap_or_default(), fix.as_ref().map(|f| format!("\n  fix: {f}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: String,
    /// Dotted path of the key, e.g. `role[0].subject[1].branch`.
    pub key: String,
    /// The offending value, quoted as the user wrote it (JSON-quoted for clarity).
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

/// Every error keyless reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more configuration problems; all are reported at once.
    /// Every problem after the first starts its own `error:` line, so each one reads alone.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\nerror: "))]
    Config(Vec<ConfigError>),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A template failed to parse or render.
    #[error("template {name}: {message}")]
    Template {
        /// Template name, e.g. `presets/s3-deploy.json.tera`.
        name: String,
        /// The engine's message, or our check that failed.
        message: String,
    },
    /// A policy document is not a valid IAM policy.
    #[error("{what}: {message}")]
    Policy {
        /// Which document, e.g. `role gha-deploy trust policy`.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// Blocking lint findings stop the command.
    #[error(
        "{count} blocking lint finding(s); nothing was written.\n  fix: correct the configuration, or allow one rule by name with a reason in [[role.allow]]"
    )]
    LintBlocked {
        /// How many blocking findings.
        count: usize,
        /// Each blocking finding, as plain text (rule, severity, message, where); shown before
        /// the error itself.
        findings: Vec<String>,
    },
    /// An AWS call failed.
    #[error("{op}: {code}: {message}{}", hint.as_ref().map(|h| format!("\n  fix: {h}")).unwrap_or_default())]
    Aws {
        /// The API operation, e.g. `sts:GetCallerIdentity`.
        op: String,
        /// The AWS error code, or a short class like `dispatch failure`.
        code: String,
        /// The full message (SDK errors rendered with their whole source chain).
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// A call to GitHub (the runner's ID-token endpoint, an issuer's discovery document or
    /// JWKS) failed, or its answer was not what GitHub sends.
    #[error("{what}: {message}{}", hint.as_ref().map(|h| format!("\n  fix: {h}")).unwrap_or_default())]
    GitHub {
        /// What was being fetched, e.g. `GET https://…/.well-known/openid-configuration`.
        what: String,
        /// The HTTP status, when an answer came.
        status: Option<u16>,
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// A token's signature does not verify against its issuer's keys.
    #[error(
        "{message}\n  fix: the token was not issued by this issuer, was altered, or the key rotated: fetch a fresh token"
    )]
    InvalidSignature {
        /// What did not check out.
        message: String,
    },
    /// The account holds something keyless must not touch (not owned, or not movable).
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    /// A write failed part-way through an apply or destroy.
    #[error(
        "{change} ({api}) failed after {done} of {total} change(s) were applied{}: {source}\n  nothing after it was attempted; run the command again: it re-reads IAM (and GitHub) and converges from where this stopped",
        if *earlier > 0 { format!(" (on GitHub; all {earlier} IAM change(s) before them were made)") } else { String::new() }
    )]
    Partial {
        /// The change that failed.
        change: String,
        /// Its API.
        api: String,
        /// Changes applied before it.
        done: usize,
        /// Changes planned.
        total: usize,
        /// What AWS said.
        source: Box<Error>,
        /// Changes made on IAM before these GitHub changes started (0 for IAM's own).
        earlier: usize,
    },
    /// Interrupted (SIGINT) between two changes.
    #[error(
        "interrupted: {done} of {total} change(s) were applied and the rest were not attempted\n  fix: run the command again; it re-reads IAM and converges"
    )]
    Interrupted {
        /// Changes applied.
        done: usize,
        /// Changes planned.
        total: usize,
    },
    /// No GitHub OIDC token could be found.
    #[error(
        "no GitHub OIDC token available\n  fix: run inside GitHub Actions with `permissions: id-token: write` (the step `keyless emit workflow` generates does), or give a token in a file or an environment variable"
    )]
    NoToken,
    /// A token, or the runner's answer that carries it, is not what GitHub issues.
    #[error("{message}\n  fix: {fix}")]
    BadToken {
        /// What is wrong (never quoting the token).
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// The config has nothing for what was asked (no role with a preset, no subject for a
    /// repository).
    #[error("{message}\n  fix: {fix}")]
    NotInConfig {
        /// What is missing, naming the file.
        message: String,
        /// How to add it.
        fix: String,
    },
    /// A file keyless edits in place (keyless.toml) is not what it expects.
    #[error("{file}: {message}\n  fix: {fix}")]
    Document {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// After an apply's writes, the account does not hold what was planned: another run changed
    /// it at the same time.
    #[error(
        "{applied} change(s) were made, but the account no longer matches the plan: {}\n  fix: another run changed it at the same time; plan again to see the account as it is now, then apply",
        changes.join("; ")
    )]
    Concurrent {
        /// Changes this run made.
        applied: usize,
        /// What a plan made now still wants (addresses and APIs).
        changes: Vec<String>,
    },
    /// One account of a run across accounts cannot be worked in as configured.
    #[error("{message}\n  fix: {fix}")]
    Account {
        /// The account.
        account: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// Something keyless does not do for this input, and how to do it instead (a repository
    /// minting subjects from a custom template, for `migrate-subjects`).
    #[error("{message}\n  fix: {fix}")]
    Unsupported {
        /// What keyless does not do here.
        message: String,
        /// What to do instead.
        fix: String,
    },
    /// An environment variable keyless reads holds something it cannot use.
    #[error("{var}: {message}\n  fix: {fix}")]
    Environment {
        /// The variable.
        var: String,
        /// What is wrong with its value.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// A step that should have taken effect did not (yet); running again may finish it.
    #[error("{message}\n  fix: {fix}")]
    NotConverged {
        /// What is still not as it should be.
        message: String,
        /// What to run.
        fix: String,
    },
    /// keyless produced something it should not have.
    #[error("{message}\n  fix: this is a keyless bug: please report it with the config")]
    Bug {
        /// What went wrong.
        message: String,
    },
    /// Bad command-line usage that clap cannot catch (the binary's).
    #[error("{message}\n  fix: {fix}")]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
}

impl Error {
    /// Shorthand for an [`Error::Usage`].
    pub fn usage(message: impl Into<String>, fix: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
