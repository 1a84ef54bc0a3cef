//! `keyless migrate-keys --repo O/R`: one safe step per run from a stored key to a role,
//! re-run until it says done. What is observed and each step's work are
//! `keyless::ops::migrate_keys`'; which step is next is the core's; this shows, asks, writes the
//! files and runs the apply through the same flow `keyless apply` uses.

use keyless::error::{Error, Result};
use keyless::io::token::now;
use keyless::ops;
use keyless::ops::migrate_keys::{Observed, ReplaceOptions};
use keyless::state::key_migration::{Facts, Step, next_step};

use crate::app::args::MigrateKeysArgs;
use crate::app::exit::ExitStatus;
use crate::app::flow;
use crate::app::report::{FORMAT_VERSION, Report, show};
use crate::app::session::{Need, Runs, Session};
use crate::app::style;

/// `keyless migrate-keys --output json`: where the repository stands and the next step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrateKeysReport {
    /// Schema version.
    pub format_version: u32,
    /// The repository.
    pub repo: String,
    /// The IAM user whose key it is.
    pub user: Option<String>,
    /// The step, and why when it waits or refuses.
    pub next: Step,
    /// What was observed.
    pub facts: Facts,
}

impl Report for MigrateKeysReport {
    fn human(&self) -> String {
        let what = match &self.next {
            Step::Replace => {
                "replace: add a role for the repository with what the key's user used, and apply it"
                    .to_string()
            }
            Step::Apply => "apply: IAM differs from the config".to_string(),
            Step::Switch => format!(
                "switch: {} workflow line(s) still pass the key",
                self.facts.passing
            ),
            Step::Deactivate => {
                "deactivate the key: the role is used since the switch, the key is not".to_string()
            }
            Step::Delete => {
                "delete the secrets, the key, and the user when nothing else is left".to_string()
            }
            Step::Done => "done: the key and its secrets are gone".to_string(),
            Step::Wait { why } => format!("wait: {why}"),
            Step::Refuse { why } => format!("refused: {why}"),
        };
        format!("{} {what}", style::bold("next:"))
    }
}

fn observe(s: &Session, args: &MigrateKeysArgs) -> Result<Observed> {
    let gh = s.github().ok_or_else(|| {
        Error::usage(
            "migrate-keys reads and changes the repository on GitHub, and no GitHub token was found",
            "set GH_TOKEN (secrets: read and write, contents: read) or run `gh auth login`",
        )
    })?;
    let grace = args.grace_days;
    let repo = args.repo.clone();
    match s.in_accounts(Need::Caller, async |ctx| {
        let in_sync = ops::migrate::in_sync(ctx).await?;
        ops::migrate_keys::observe(ctx, gh, &repo, in_sync, grace, now()).await
    })? {
        Runs::One(_, o) => Ok(o),
        Runs::Many(_) => Err(Error::usage(
            "migrate-keys works in one account at a time, and this config names several ([accounts])",
            "pass --account ID for the account that holds the key's user",
        )),
    }
}

/// `keyless migrate-keys`
pub fn cmd_migrate_keys(s: &Session, args: &MigrateKeysArgs) -> Result<ExitStatus> {
    let p = &s.printer;
    let cfg = s.config()?;
    let o = observe(s, args)?;
    let step = next_step(&o.facts);
    show(
        p,
        s.format,
        &MigrateKeysReport {
            format_version: FORMAT_VERSION,
            repo: o.repo.clone(),
            user: o.key.as_ref().map(|k| k.user.clone()),
            next: step.clone(),
            facts: o.facts.clone(),
        },
    );
    let account = s.account(Need::Caller)?;
    let gh = s.github().expect("checked in observe");
    if args.undo {
        let Some(k) = &o.key else {
            return Err(Error::usage(
                "no key is linked to the repository",
                "nothing to undo",
            ));
        };
        if k.active || o.facts.deactivated_at.is_none() {
            return Err(Error::usage(
                format!("key {} is not one migrate-keys deactivated", k.key_id),
                "--undo reactivates only a key this command deactivated",
            ));
        }
        if !s.confirm_reviewed(
            args.yes,
            &format!("Reactivate key {}?", k.key_id),
            "keyless migrate-keys",
        )? {
            p.note("nothing was changed");
            return Ok(ExitStatus::Error);
        }
        s.block_on(ops::migrate_keys::deactivate(&account, &o, now(), true))?;
        p.note(&format!(
            "{} key {} is active again",
            style::ok("undone:"),
            k.key_id
        ));
        return Ok(ExitStatus::Success);
    }
    match step {
        Step::Done => Ok(ExitStatus::Success),
        Step::Refuse { .. } => Ok(ExitStatus::Error),
        Step::Wait { .. } => Ok(ExitStatus::Findings),
        Step::Apply => {
            flow::apply(s, args.yes, false)?;
            Ok(ExitStatus::Findings)
        }
        Step::Replace => {
            let text = &s.config_source()?.text;
            let r = s.block_on(ops::migrate_keys::replacement(
                &account,
                gh,
                cfg,
                text,
                &o,
                &ReplaceOptions {
                    branch: args.branch.clone(),
                    usage: ops::usage::Options::default(),
                    min_days: args.min_days,
                },
            ))?;
            p.note(&format!(
                "{} role {} for {}, with what user {} used:",
                style::bold("replace:"),
                r.role,
                o.repo,
                o.key.as_ref().map(|k| k.user.as_str()).unwrap_or("?")
            ));
            p.out(&keyless::state::tighten::text_diff(
                text, &r.text, &cfg.file,
            ));
            for (path, body) in &r.files {
                p.out(&format!("{} {path}\n{body}", style::bold("policy file:")));
            }
            if !s.confirm_reviewed(
                args.yes,
                "Add the role and apply it?",
                "keyless migrate-keys",
            )? {
                p.note("nothing was changed");
                return Ok(ExitStatus::Error);
            }
            let dir = s.config_dir();
            for (rel, body) in &r.files {
                crate::app::files::write(&dir.join(rel), body)?;
            }
            crate::app::files::write(&s.config_path, &r.text)?;
            p.note(&format!("{} {}", style::ok("edited"), cfg.file));
            flow::apply(&s.reopen(), true, false)?;
            p.note("run `keyless migrate-keys` again for the next step (switch the workflows)");
            Ok(ExitStatus::Findings)
        }
        Step::Switch => {
            let Some(role) = o
                .role
                .as_ref()
                .and_then(|n| cfg.roles.iter().find(|r| &r.name == n))
            else {
                return Err(Error::usage(
                    "the config has no role for the repository",
                    "run migrate-keys again",
                ));
            };
            let variable = keyless::config::variables::variable_name(cfg, role);
            let region = cfg.region.clone().unwrap_or_else(|| "us-east-1".into());
            let files = s.block_on(ops::migrate_keys::switched_workflows(
                gh, &o, &variable, &region,
            ))?;
            for f in &files {
                p.note(&format!(
                    "{} {}: {}",
                    style::bold("switch:"),
                    f.file.path,
                    f.changes.join("; ")
                ));
            }
            let question = match &args.workflows {
                Some(dir) => format!("Write the switched workflows into {}?", dir.display()),
                None => format!(
                    "Open a pull request on {} with the switched workflows?",
                    o.repo
                ),
            };
            if !s.confirm_reviewed(args.yes, &question, "keyless migrate-keys")? {
                p.note("nothing was changed");
                return Ok(ExitStatus::Error);
            }
            let delivered = match &args.workflows {
                Some(dir) => {
                    for f in &files {
                        crate::app::files::write(&dir.join(&f.file.path), &f.text)?;
                    }
                    format!(
                        "{} workflow file(s) written in {}: commit and merge them",
                        files.len(),
                        dir.display()
                    )
                }
                None => {
                    let body = switch_body(&o, &files, &variable);
                    let pull = s.block_on(ops::migrate_keys::open_switch_pull(
                        gh,
                        &o,
                        &files,
                        &args.branch,
                        &body,
                    ))?;
                    format!(
                        "pull request #{} ({}): review and merge it",
                        pull.number, pull.html_url
                    )
                }
            };
            s.block_on(ops::migrate_keys::record_switch(&account, &o, now()))?;
            p.note(&format!(
                "{} {delivered}; run a workflow, then `keyless migrate-keys` again",
                style::ok("switched:"),
            ));
            Ok(ExitStatus::Findings)
        }
        Step::Deactivate => {
            let key = o.key.as_ref().map(|k| k.key_id.clone()).unwrap_or_default();
            if !s.confirm_reviewed(
                args.yes,
                &format!("Deactivate key {key}? (--undo restores it)"),
                "keyless migrate-keys",
            )? {
                p.note("nothing was changed");
                return Ok(ExitStatus::Error);
            }
            s.block_on(ops::migrate_keys::deactivate(&account, &o, now(), false))?;
            p.note(&format!(
                "{} key {key} is inactive; after {} day(s) unused, `keyless migrate-keys` deletes it and its secrets (`--undo` restores it)",
                style::ok("deactivated:"),
                args.grace_days
            ));
            Ok(ExitStatus::Findings)
        }
        Step::Delete => {
            if !s.confirm_reviewed(
                args.yes,
                "Delete the secrets and the key?",
                "keyless migrate-keys",
            )? {
                p.note("nothing was changed");
                return Ok(ExitStatus::Error);
            }
            for line in s.block_on(ops::migrate_keys::delete(&account, gh, &o))? {
                p.note(&line);
            }
            p.note(&format!(
                "{} {} no longer uses a stored key",
                style::ok("done:"),
                o.repo
            ));
            Ok(ExitStatus::Success)
        }
    }
}

/// The pull request's body: the plan, file by file, and what comes next.
fn switch_body(o: &Observed, files: &[ops::migrate_keys::SwitchedFile], variable: &str) -> String {
    let mut b = format!(
        "This moves {} from the stored AWS key to the role in `vars.{variable}` (GitHub OIDC, no stored key), made by `keyless migrate-keys`.\n\n",
        o.repo
    );
    for f in files {
        b.push_str(&format!("**{}**\n", f.file.path));
        for c in &f.changes {
            b.push_str(&format!("- {c}\n"));
        }
        b.push('\n');
    }
    b.push_str("After this is merged and a workflow has run, `keyless migrate-keys` deactivates the key (reversibly), then deletes it and its secrets after the grace period.\n");
    b
}
