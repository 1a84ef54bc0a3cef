//! The exit-code contract of the `keyless` command, documented in `keyless --help` and README:
//! 0 ok, 1 error, 2 findings (blocking lint findings, changes with `--detailed-exitcode`, drift,
//! a denied token). The library knows nothing of it; only the binary decides how a run ended.

use std::process::ExitCode;

/// How a command ended. Ordered from best to worst, so several outcomes combine with `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// 0: success, nothing blocking, no changes.
    Success,
    /// 2: the command worked and found something: a blocking lint finding, changes, drift or a
    /// deny.
    Findings,
    /// 1: an error; the input could not be read, parsed or acted on.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::Findings => 2,
        }
    }

    /// `Findings` when `found`, else `Success`.
    pub fn findings_if(found: bool) -> ExitStatus {
        if found {
            ExitStatus::Findings
        } else {
            ExitStatus::Success
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
    }
}
