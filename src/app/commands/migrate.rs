//! `keyless migrate-subjects --repo O/R`: one safe step per run towards immutable subjects, each
//! verified before the command ends; re-run until it says done. The order and the config edits
//! are the library's (`keyless::state::migrate`); this reads the three sides, asks, and makes the step.

use keyless::error::{Error, Result};
use keyless::identity::repository::SubForm;
use keyless::identity::subject::{SubjectFormat, SubjectSpec};
use keyless::ops;
use keyless::state::migrate::{self, Minted, Step};

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
    let gh = s.github().ok_or_else(|| {
        Error::usage(
            "migrate-subjects reads and switches the repository on GitHub, and no GitHub token was found",
            "set GH_TOKEN (GH_ENTERPRISE_TOKEN for GHES) or run `gh auth login`",
        )
    })?;
    let cfg = s.config()?;
    let trusted: Vec<SubjectFormat> = cfg
        .roles
        .iter()
        .flat_map(|r| &r.subjects)
        .filter_map(|sub| match &sub.spec {
            SubjectSpec::Repo {
                repo: r, format, ..
            } if r.full_name().eq_ignore_ascii_case(repo) => Some(*format),
            _ => None,
        })
        .collect();
    if trusted.is_empty() {
        return Err(Error::usage(
            format!("{}: no [[role.subject]] trusts repo = {repo:?}", cfg.file),
            "pass --repo with a repository the config trusts",
        ));
    }
    let (info, settings) = s.block_on(ops::migrate::repository(gh, repo))?;
    let minted = match settings.form() {
        SubForm::Classic => Minted::Classic,
        SubForm::Immutable => Minted::Immutable,
        SubForm::Custom(keys) => {
            return Err(Error::usage(
                format!(
                    "{} mints subjects from a custom template ({}); migrate-subjects moves default-template repositories",
                    info.full_name,
                    keys.join(", ")
                ),
                "change the template with `gh api` and the role's custom subjects by hand",
            ));
        }
    };
    // Whether IAM matches the config, judged without GitHub's findings: a classic trust for a
    // repository that already mints immutable subjects is exactly what step 1 repairs.
    let synced = in_sync(s)?;
    let step = migrate::next_step(&trusted, minted, synced);
    p.note(&format!(
        "{} {} mints {} subjects; the config trusts {}",
        style::bold("GitHub"),
        info.full_name,
        match minted {
            Minted::Classic => "classic",
            Minted::Immutable => "immutable",
        },
        trusted
            .iter()
            .map(|f| format!("{f:?}").to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let report = MigrateReport {
        format_version: FORMAT_VERSION,
        repo: info.full_name.clone(),
        minted: match minted {
            Minted::Classic => "classic",
            Minted::Immutable => "immutable",
        },
        trusted: trusted
            .iter()
            .map(|f| format!("{f:?}").to_ascii_lowercase())
            .collect(),
        iam_in_sync: synced,
        step: step_name(step),
        next: step.describe(),
    };
    show(&s.printer, s.format, &report);
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
    let ids = (info.owner_id.to_string(), info.id.to_string());
    match step {
        Step::TrustBoth | Step::DropClassic => {
            let format = if step == Step::TrustBoth {
                SubjectFormat::Both
            } else {
                SubjectFormat::Immutable
            };
            let text = std::fs::read_to_string(&s.config_path).map_err(|source| Error::Io {
                path: s.config_path.clone(),
                source,
            })?;
            let edited = migrate::set_format(&text, &cfg.file, repo, format, (&ids.0, &ids.1))?;
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
        }
        Step::SwitchRepository => {
            let now = s.block_on(ops::migrate::switch_repository(gh, &info.full_name))?;
            if now.form() != SubForm::Immutable {
                return Err(Error::usage(
                    format!(
                        "{} still reports classic subjects after the switch",
                        info.full_name
                    ),
                    "run migrate-subjects again in a minute",
                ));
            }
        }
        Step::ApplyFirst | Step::Done => {}
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
