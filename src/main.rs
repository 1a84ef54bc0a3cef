//! The `keyless` binary: parse arguments, run one command, print errors once, exit with the
//! documented code (0 ok, 1 error, 2 findings).

mod cli;
mod commands;
mod output;
mod wizard;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use keyless::error::ExitStatus;

use crate::cli::{Cli, Command};
use crate::output::Printer;

fn main() -> ExitCode {
    // clap's own exit code for usage errors is 2, which keyless reserves for findings.
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    let g = &cli.global;
    let color = !g.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    let is_check = matches!(cli.command, Command::Check(_));
    let format = match g.output {
        Some(output::Format::Github) if !is_check => output::Format::Human,
        Some(f) => f,
        None if is_check && std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") => {
            output::Format::Github
        }
        None => output::Format::Human,
    };
    let printer = Printer {
        format,
        color,
        quiet: g.quiet,
        verbose: g.verbose,
    };
    let result = match &cli.command {
        Command::Init(a) => wizard::cmd_init(g, &printer, a),
        Command::Plan(a) => commands::cmd_plan(g, &printer, a),
        Command::Check(a) => commands::cmd_check(g, &printer, a),
        Command::Verify(a) => commands::cmd_verify(g, &printer, a),
        Command::Explain(a) => commands::cmd_explain(g, &printer, a),
        Command::Apply(a) => commands::cmd_apply(g, &printer, a),
        Command::Destroy(a) => commands::cmd_destroy(g, &printer, a),
        Command::Render(a) => commands::cmd_render(g, &printer, a),
        Command::Lint(a) => commands::cmd_lint(g, &printer, a),
        Command::Emit(a) => commands::cmd_emit(g, &printer, a),
        Command::Presets => commands::cmd_presets(g, &printer),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "keyless",
                &mut std::io::stdout(),
            );
            Ok(ExitStatus::Success)
        }
        Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
                Ok(()) => {
                    let _ = std::io::stdout().write_all(&buf);
                    Ok(ExitStatus::Success)
                }
                Err(source) => Err(keyless::error::Error::Io {
                    path: "(man page)".into(),
                    source,
                }),
            }
        }
    };
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let prefix = if color && std::io::stderr().is_terminal() {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            let _ = writeln!(err, "{prefix}: {e}");
            ExitStatus::Error.into()
        }
    }
}
