//! One `cmd_<name>` per subcommand: read its arguments, ask the session for the accounts and
//! what else it needs, call `keyless::ops`, hand the outcome to the command's report, return an
//! exit status. No command calls another: steps several share (plan, apply, showing a
//! workflow) are [`crate::app::flow`]'s, the verification [`crate::app::verifier`]'s.
//!
//! [`documents`] (render, lint, emit, presets), [`provision`] (plan, apply, destroy),
//! [`check`] (drift), [`audit`] (the whole account), [`usage`] (usage and tighten), [`keys`]
//! (stored keys), [`export`] (CloudFormation), [`import`],
//! [`migrate`] (migrate-subjects) and [`verify`] (verify, explain); [`init`] (the set-up wizard;
//! its questions live in [`crate::app::wizard`]).

use keyless::error::{Error, Result};

use crate::app::args::{Command, Format};
use crate::app::exit::ExitStatus;
use crate::app::report::{CiReport, show};
use crate::app::session::Session;

pub mod audit;
pub mod check;
pub mod documents;
pub mod export;
pub mod guard;
pub mod import;
pub mod init;
pub mod keys;
pub mod migrate;
pub mod migrate_keys;
pub mod provision;
pub mod usage;
pub mod verify;

/// Run one command.
pub fn run(s: &Session, command: &Command) -> Result<ExitStatus> {
    match command {
        Command::Init(a) => init::cmd_init(s, a),
        Command::Plan(a) => provision::cmd_plan(s, a),
        Command::Apply(a) => provision::cmd_apply(s, a),
        Command::Destroy(a) => provision::cmd_destroy(s, a),
        Command::Check(a) => check::cmd_check(s, a),
        Command::Audit(a) => audit::cmd_audit(s, a),
        Command::Usage(a) => usage::cmd_usage(s, a),
        Command::Tighten(a) => usage::cmd_tighten(s, a),
        Command::Keys(a) => keys::cmd_keys(s, a),
        Command::MigrateKeys(a) => migrate_keys::cmd_migrate_keys(s, a),
        Command::Verify(a) => verify::cmd_verify(s, a),
        Command::Explain(a) => verify::cmd_explain(s, a),
        Command::Import(a) => import::cmd_import(s, a),
        Command::MigrateSubjects(a) => migrate::cmd_migrate_subjects(s, a),
        Command::Export(a) => export::cmd_export(s, a),
        Command::Render(a) => documents::cmd_render(s, a),
        Command::Lint(a) => documents::cmd_lint(s, a),
        Command::Emit(a) => documents::cmd_emit(s, a),
        Command::Guard(a) => guard::cmd_guard(s, a),
        Command::Presets => documents::cmd_presets(s),
        Command::Completions { shell } => documents::cmd_completions(*shell),
        Command::Man => documents::cmd_man(),
    }
}

/// Show a report that has a GitHub view: under `--output github` its annotations on stdout and
/// its Markdown appended to $GITHUB_STEP_SUMMARY (when set); otherwise as [`show`] does.
pub fn show_ci(s: &Session, report: &impl CiReport) -> Result<()> {
    match s.format {
        Format::Github => {
            s.printer.out(&report.annotations());
            if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
                append(&path, &report.markdown())?;
            }
        }
        Format::Human | Format::Json => show(&s.printer, s.format, report),
    }
    Ok(())
}

fn append(path: &std::ffi::OsStr, text: &str) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?
        .write_all(text.as_bytes())
        .map_err(io)
}
