//! The `keyless` command line, on top of the library. Nothing in the library reaches up here.
//!
//! | module | holds |
//! |---|---|
//! | [`args`] | clap definitions (the raw flags) |
//! | [`session`] | the settings resolved once per run: format, sink, config, runtime, AWS, target, accounts |
//! | [`commands`] | one `cmd_<name>` per subcommand |
//! | [`flow`] | steps several commands share: plan, apply, destroy, one account or many |
//! | [`verifier`] | verifying a role with a real token (verify, apply --verify) |
//! | [`wizard`] | `keyless init`'s questions |
//! | [`report`] | one report type per command, with its human (and GitHub) views |
//! | [`printer`] | the output sink: stdout for the product, stderr for messages |
//! | [`style`] | text styles, stripped per stream by the sink |
//! | [`exit`] | the exit-code contract |
//! | [`files`] | writing the files keyless produces, never through a link |

use std::process::ExitCode;

use clap::Parser;

pub mod args;
pub mod commands;
pub mod exit;
pub mod files;
pub mod flow;
pub mod printer;
pub mod report;
pub mod session;
pub mod style;
pub mod verifier;
pub mod wizard;

use args::Cli;
use exit::ExitStatus;
use session::Session;

/// Parse the command line, resolve the session, run the command, report an error once.
pub fn main() -> ExitCode {
    // clap's own exit code for usage errors is 2, which keyless reserves for findings.
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            }
            .into();
        }
    };
    // One runtime for the whole run (single-threaded: the calls are I/O-bound).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitStatus::Error.into();
        }
    };
    let session = Session::new(&cli.global, cli.command.traits(), runtime);
    match commands::run(&session, &cli.command) {
        Ok(status) => status.into(),
        Err(e) => {
            if let keyless::error::Error::LintBlocked { findings, .. } = &e {
                session.printer.note(findings.concat().trim_end());
            }
            session.printer.error(&report::error_message(&e));
            ExitStatus::Error.into()
        }
    }
}
