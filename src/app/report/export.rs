//! `keyless export`'s report: the template, and the files written.

use serde::Serialize;
use serde_json::Value;

use crate::app::report::Report;

/// `keyless export cloudformation`.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// Schema version.
    pub format_version: u32,
    /// The config's name (the `keyless:config` tag in the template).
    pub config: String,
    /// Files written (with `--dir`).
    pub files: Vec<String>,
    /// The template.
    pub template: Value,
    /// The template as printed (without `--dir`).
    #[serde(skip)]
    pub text: String,
}

impl Report for ExportReport {
    fn human(&self) -> String {
        self.text.clone()
    }

    fn notes(&self) -> Vec<String> {
        self.files.iter().map(|f| format!("wrote {f}")).collect()
    }
}
