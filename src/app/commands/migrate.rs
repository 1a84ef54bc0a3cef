//! `keyless migrate-subjects --repo O/R`: one safe step per run towards immutable subjects, each
//! verified before the command ends; re-run until it says done. The decision, the config edit
//! and the repository switch are `keyless::ops::migrate`'s; this asks, shows, and runs the apply
//! a config step needs through the same flow `keyless apply` uses.

use keyless::error::{Error, Result};
use keyless::ops;
use keyless::state::migrate::{Minted, Step};

use crate::app::args::MigrateArgs;
use crate::app::exit::ExitStatus;
use crate::app::flow;
use crate::app::report::{FORMAT_VERSION, Report, show};
use crate::app::session::Session;
use crate::app::session::{Need, Runs};
use crate::app::style;

/// `keyless migrate-subjects --output json`: the state read and the step decided (before it is
/// made; the step's own output follows on stderr).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrateReport {
    /// Schema version.
    pub format_version: u32,
    /// The repository, as GitHub names it.
    pub repo: String,
    /// What it mints: classic or immutable.
    pub minted: &'static str,
    /// The formats the config trusts for it.
    pub trusted: Vec<String>,
    /// IAM matches the config.
    pub iam_in_sync: bool,
    /// The next step: apply_first, trust_both, switch_repository, drop_classic or done.
    pub step: &'static str,
    /// The step in words.
    pub next: &'static str,
}

impl Report for MigrateReport {
    fn human(&self) -> String {
        format!("{} {}", style::bold("next:"), self.next)
    }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::ApplyFirst => "apply_first",
        Step::TrustBoth => "trust_both",
        Step::SwitchRepository => "switch_repository",
        Step::DropClassic => "drop_classic",
        Step::Done => "done",
    }
}

/// `keyless migrate-subjects`
pub fn cmd_migrate_subjects(s: &Session, args: &MigrateArgs) -> Result<ExitStatus> {
    let p = &s.printer;
    let repo = &args.repo;
    // The config first: its problems (and its issuer, which names the GitHub host) come before
    // the question of a token.
    let cfg = s.config()?;
    let gh = s.github().ok_or_else(|| {
        Error::usage(
            "migrate-subjects reads and switches the repository on GitHub, and no GitHub token was found",
            "set GH_TOKEN (GH_ENTERPRISE_TOKEN for GHES) or run `gh auth login`",
        )
    })?;
    if ops::migrate::trusted_formats(cfg, repo).is_empty() {
        return Err(Error::usage(
            format!("{}: no [[role.subject]] trusts repo = {repo:?}", cfg.file),
            "pass --repo with a repository the config trusts",
        ));
    }
    let d = s.block_on(ops::migrate::decide(gh, cfg, repo, in_sync(s)?))?;
    let minted = match d.minted {
        Minted::Classic => "classic",
        Minted::Immutable => "immutable",
    };
    let trusted: Vec<String> = d
        .trusted
        .iter()
        .map(|f| format!("{f:?}").to_ascii_lowercase())
        .collect();
    p.note(&format!(
        "{} {} mints {minted} subjects; the config trusts {}",
        style::bold("GitHub"),
        d.repo.full_name,
        trusted.join(", ")
    ));
    let step = d.step;
    show(
        &s.printer,
        s.format,
        &MigrateReport {
            format_version: FORMAT_VERSION,
            repo: d.repo.full_name.clone(),
            minted,
            trusted,
            iam_in_sync: d.iam_in_sync,
            step: step_name(step),
            next: step.describe(),
        },
    );
    if matches!(step, Step::Done) {
        return Ok(ExitStatus::Success);
    }
    if matches!(step, Step::ApplyFirst) {
        return Ok(ExitStatus::Findings);
    }
    if !s.confirm(args.yes, &format!("Make {}?", step.describe()))? {
        p.note("nothing was changed");
        return Ok(ExitStatus::Error);
    }
    let text = &s.config_source()?.text;
    if let Some(edited) = ops::migrate::edited_config(text, &cfg.file, &d, repo)? {
        crate::app::files::write(&s.config_path, &edited)?;
        p.note(&format!("{} {}", style::ok("edited"), cfg.file));
        let fresh = s.reopen();
        flow::apply(&fresh, true, false)?;
        // Verified: IAM now matches the edited config.
        if !in_sync(&fresh.reopen())? {
            return Err(Error::usage(
                "the apply did not converge: IAM still differs from the config",
                "run `keyless plan` to see what differs, then migrate-subjects again",
            ));
        }
    } else if step == Step::SwitchRepository {
        s.block_on(ops::migrate::switch_repository(gh, &d.repo.full_name))?;
    }
    p.note(&format!(
        "{} {}; run `keyless migrate-subjects --repo {repo}` again for the next step",
        style::ok("done:"),
        step.describe()
    ));
    Ok(if step == Step::DropClassic {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

/// Whether IAM holds what the config renders, in every account of the run.
fn in_sync(s: &Session) -> Result<bool> {
    Ok(
        match s.in_accounts(Need::Caller, async |ctx| ops::migrate::in_sync(ctx).await)? {
            Runs::One(_, same) => same,
            Runs::Many(runs) => {
                let mut all = true;
                for r in runs {
                    all &= r.result?.1;
                }
                all
            }
        },
    )
}
