//! The output sink: stdout carries only the product (documents, YAML, JSON, findings); messages
//! and progress go to stderr. It decides nothing about content (views build the text, the
//! session picks the format); it only knows quiet and verbose, and writes each stream through
//! anstream, which keeps or strips styles for that stream alone. A closed pipe
//! (`keyless render | head`) is not an error.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::app::style;

/// Where output goes.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// `-q`: errors only on stderr.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
}

impl Printer {
    /// Product text on stdout (a newline is added when missing).
    pub fn out(&self, text: &str) {
        let mut o = anstream::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = o.write_all(b"\n");
        }
        let _ = o.flush();
    }

    /// A value as pretty JSON on stdout.
    pub fn json(&self, v: &impl Serialize) {
        self.out(
            &serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        );
    }

    /// An informational message on stderr (suppressed by `-q`).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(anstream::stderr(), "{text}");
        }
    }

    /// A verbose message on stderr (`-v`).
    pub fn debug(&self, text: &str) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(anstream::stderr(), "{}", style::dim(text));
        }
    }

    /// An error, printed once, whatever `-q` says.
    pub fn error(&self, text: &str) {
        let _ = writeln!(anstream::stderr(), "{}: {text}", style::bad("error"));
    }

    /// A progress bar on stderr, hidden when quiet, when `visible` is false, or when stderr is
    /// not a terminal.
    pub fn progress(&self, total: usize, visible: bool) -> indicatif::ProgressBar {
        if self.quiet || !visible || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let b = indicatif::ProgressBar::new(total as u64);
        if let Ok(s) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            b.set_style(s);
        }
        b
    }
}
