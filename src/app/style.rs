//! Text styles for human views. Styles are always written as ANSI sequences; the printer's
//! streams (anstream) strip them per stream when that stream is not a colour terminal, when
//! `NO_COLOR` is set, or with `--no-color`. So no view ever asks whether colour is on, and
//! `keyless plan 2>err.log` keeps escape codes out of the log while stdout stays coloured.

use anstyle::{AnsiColor, Style};

use keyless::policy::lint::Severity;

fn paint(s: Style, text: &str) -> String {
    format!("{}{text}{}", s.render(), s.render_reset())
}

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

/// Green bold: a good outcome.
pub fn ok(text: &str) -> String {
    paint(fg(AnsiColor::Green).bold(), text)
}

/// Red bold: a bad outcome.
pub fn bad(text: &str) -> String {
    paint(fg(AnsiColor::Red).bold(), text)
}

/// Bold.
pub fn bold(text: &str) -> String {
    paint(Style::new().bold(), text)
}

/// Dim.
pub fn dim(text: &str) -> String {
    paint(Style::new().dimmed(), text)
}

/// An added line in a diff.
pub fn added(text: &str) -> String {
    paint(fg(AnsiColor::Green), text)
}

/// A removed line in a diff.
pub fn removed(text: &str) -> String {
    paint(fg(AnsiColor::Red), text)
}

/// A plan symbol: `+` green, `~` yellow, `-` red.
pub fn symbol(sym: &str) -> String {
    let c = match sym {
        "+" => AnsiColor::Green,
        "~" => AnsiColor::Yellow,
        _ => AnsiColor::Red,
    };
    paint(fg(c).bold(), sym)
}

/// A severity word, coloured by severity.
pub fn severity(s: Severity) -> String {
    severity_padded(s, 0)
}

/// A severity word padded to `width` before it is styled (so columns line up once a stream
/// strips the styles).
pub fn severity_padded(s: Severity, width: usize) -> String {
    let c = match s {
        Severity::Critical | Severity::High | Severity::Error => AnsiColor::Red,
        Severity::Medium | Severity::Warning => AnsiColor::Yellow,
        Severity::Low | Severity::Info => AnsiColor::Cyan,
    };
    paint(fg(c).bold(), &format!("{:<width$}", s.as_str()))
}
