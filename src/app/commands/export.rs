//! `keyless export cloudformation`: checks the flags, asks [`keyless::ops::export`] for the
//! template (and the StackSets script), writes them under `--dir` or prints them. Offline: no
//! AWS or GitHub call.

use keyless::error::{Error, Result};
use keyless::ops::export::{self, Exported, StackSet};

use crate::app::args::ExportArgs;
use crate::app::exit::ExitStatus;
use crate::app::files;
use crate::app::report::export::ExportReport;
use crate::app::report::{FORMAT_VERSION, show};
use crate::app::session::Session;

/// `keyless export cloudformation --guard`: the `[guard]` as a template. Offline.
fn export_guard(s: &Session, args: &ExportArgs) -> Result<ExitStatus> {
    let g = s.guard(&s.offline_partition())?;
    let out = export::guard(&g, &s.config()?.name);
    let mut files = Vec::new();
    if let Some(dir) = &args.dir {
        let path = dir.join(GUARD_FILE);
        files::write(&path, &out.text)?;
        files.push(path.display().to_string());
    }
    show_export(s, args, files, out);
    Ok(ExitStatus::Success)
}

/// Show the export: the template on stdout, unless it went to `--dir`.
fn show_export(s: &Session, args: &ExportArgs, files: Vec<String>, out: Exported) {
    show(
        &s.printer,
        s.format,
        &ExportReport {
            format_version: FORMAT_VERSION,
            config: out.config,
            files,
            template: out.template,
            text: if args.dir.is_none() {
                out.text
            } else {
                String::new()
            },
        },
    );
}

/// The guard template's file name under `--dir`.
const GUARD_FILE: &str = "keyless-guard.cfn.json";
/// The template's file name under `--dir`.
const TEMPLATE_FILE: &str = "keyless.cfn.json";
/// The StackSets script's file name under `--dir`.
const SCRIPT_FILE: &str = "deploy-stack-set.sh";

/// `keyless export`
pub fn cmd_export(s: &Session, args: &ExportArgs) -> Result<ExitStatus> {
    if args.guard {
        return export_guard(s, args);
    }
    let ous = checked_ous(&args.ous)?;
    if let Some(name) = &args.stack_set {
        checked_stack_set_name(name)?;
    }
    let out = export::cloudformation(s.config()?, s.templates()?, &s.offline_partition())?;
    let mut files = Vec::new();
    if let Some(dir) = &args.dir {
        let path = dir.join(TEMPLATE_FILE);
        files::write(&path, &out.text)?;
        files.push(path.display().to_string());
        if let Some(name) = &args.stack_set {
            let region = s.region().unwrap_or_else(|| "us-east-1".into());
            let script = export::stack_set_script(&StackSet {
                name,
                template_file: TEMPLATE_FILE,
                ous: &ous,
                region: &region,
                delegated_admin: args.delegated_admin,
            });
            let path = dir.join(SCRIPT_FILE);
            files::write_script(&path, &script)?;
            files.push(path.display().to_string());
        }
    }
    show_export(s, args, files, out);
    Ok(ExitStatus::Success)
}

/// Organizational unit (`ou-xxxx-yyyyyyyy`) or root (`r-xxxx`) IDs, as AWS Organizations spells them.
fn checked_ous(ous: &[String]) -> Result<Vec<String>> {
    for ou in ous {
        if !keyless::config::accounts::is_ou_id(ou) {
            return Err(Error::usage(
                format!("--ou {ou:?} is not an organizational unit or root ID"),
                "pass an ID like ou-ab12-cd34ef56 (aws organizations list-organizational-units-for-parent) or the root r-ab12",
            ));
        }
    }
    Ok(ous.to_vec())
}

/// StackSet names: a letter, then letters, digits and `-`, at most 128.
fn checked_stack_set_name(name: &str) -> Result<()> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(
            format!("--stack-set {name:?} is not a StackSet name"),
            "start with a letter; use letters, digits and `-` (at most 128), e.g. keyless-github-oidc",
        ))
    }
}
