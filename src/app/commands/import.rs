//! `keyless import --role NAME... | --all-github`: roles made by hand become keyless.toml. The
//! description is the library's (`keyless::artifacts::import`); this reads the roles, writes the config and
//! its files, renders it for the account to keep verbatim what keyless would write differently,
//! and shows the lint findings: an import is also a security review.

use keyless::artifacts::import as described;
use keyless::error::{Error, Result};
use keyless::ops::import::{self, Found, Selection};
use keyless::policy::document as policy;
use keyless::policy::lint::Finding;

use crate::app::args::ImportArgs;
use crate::app::exit::ExitStatus;
use crate::app::report::findings_text;
use crate::app::session::{Need, Session};
use crate::app::style;

/// `keyless import`
pub fn cmd_import(s: &Session, args: &ImportArgs) -> Result<ExitStatus> {
    let p = &s.printer;
    let path = s.config_path.clone();
    if path.exists() && !args.force {
        return Err(Error::usage(
            format!("{} already exists; nothing was written", path.display()),
            "pass --force to overwrite it, or -c PATH to write another file",
        ));
    }
    let account = s.account(Need::Caller)?;
    let selection = if args.all_github {
        Selection::AllGitHub
    } else {
        Selection::Named(args.roles.clone())
    };
    let mine = crate::app::files::config_name(&path);
    let Found { roles, described } =
        s.block_on(import::import(&account, &selection, mine.as_deref()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| ".".into());
    let write = crate::app::files::write;
    for f in &described.files {
        write(&dir.join(&f.path), &f.text)?;
    }
    write(&path, &described.toml)?;
    for n in &described.notes {
        p.note(&format!("{} {n}", style::dim("note:")));
    }
    // Keep verbatim every trust policy keyless would write differently.
    let rendered = render_written(s)?;
    let mut text = described.toml.clone();
    let mut verbatim = Vec::new();
    for live in &roles {
        let same = rendered
            .roles
            .iter()
            .find(|r| r.name == live.name)
            .is_some_and(|r| policy::same(&r.trust_policy, &live.trust_policy));
        if !same {
            let file = format!(
                "imported/{}/trust.json",
                described::file_component(&live.name)
            );
            write(&dir.join(&file), &policy::pretty(&live.trust_policy))?;
            text = described::amend(&text, &live.name, Some(&file), &[], "")?;
            verbatim.push(live.name.clone());
        }
    }
    write(&path, &text)?;
    // The security review: every finding, and blocking ones allowed by name, loudly.
    let rendered = render_written(s)?;
    let reason = "imported as made by hand; review, then fix the role or remove this allow";
    let mut allowed = Vec::new();
    for role in &rendered.roles {
        let mut rules: Vec<&str> = role
            .findings
            .iter()
            .filter(|f| f.blocks())
            .map(|f| f.rule)
            .collect();
        rules.sort();
        rules.dedup();
        if !rules.is_empty() {
            text = described::amend(&text, &role.name, None, &rules, reason)?;
            allowed.push(format!("{} ({})", role.name, rules.join(", ")));
        }
    }
    write(&path, &text)?;
    let findings: Vec<&Finding> = rendered.findings().collect();
    if !findings.is_empty() {
        p.note(&format!(
            "{} lint finding(s) on the imported roles:\n{}",
            findings.len(),
            findings_text(&findings).trim_end()
        ));
    }
    p.out(&format!(
        "{} {} role(s) into {}{}{}\nnext: `keyless plan` (only keyless's ownership tags change), then `keyless apply`",
        style::ok("imported"),
        roles.len(),
        path.display(),
        if verbatim.is_empty() {
            String::new()
        } else {
            format!(
                "\n  trust kept verbatim (keyless would render it differently): {}",
                verbatim.join(", ")
            )
        },
        if allowed.is_empty() {
            String::new()
        } else {
            format!(
                "\n  {} blocking findings allowed for now, review them: {}",
                style::bad("warning:"),
                allowed.join("; ")
            )
        }
    ));
    Ok(ExitStatus::findings_if(!allowed.is_empty()))
}

/// The config just written, rendered for the caller's account (no GitHub, nothing refused).
fn render_written(s: &Session) -> Result<keyless::state::render::Rendered> {
    let fresh = s.reopen();
    let target = fresh.target(Need::Caller)?;
    keyless::state::render::render(fresh.config()?, fresh.templates()?, &target)
}
