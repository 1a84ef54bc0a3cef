//! Moving a repository to immutable subjects without a broken deploy in between. Three steps,
//! in this order only: trust both forms, switch the repository (`use_immutable_subject`), drop
//! the classic form. Each state decides the one next step that is safe ([`next_step`]); the
//! config is edited in place ([`set_format`], keeping comments and layout). Pure: the binary
//! reads the config, GitHub and IAM, and makes the step.

use crate::error::{Error, Result};
use crate::identity::subject::SubjectFormat;

/// What the repository mints, as far as a migration cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Minted {
    /// `repo:OWNER/REPO:...`
    Classic,
    /// `repo:OWNER@ID/REPO@ID:...`
    Immutable,
}

/// The next step of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// IAM does not match the config yet: apply first (nothing else is safe to judge).
    ApplyFirst,
    /// Step 1: trust both forms (config `format = "both"` with the IDs), then apply.
    TrustBoth,
    /// Step 2: switch the repository to immutable subjects on GitHub.
    SwitchRepository,
    /// Step 3: trust only the immutable form (config `format = "immutable"`), then apply.
    DropClassic,
    /// Nothing left: the repository mints immutable subjects and only those are trusted.
    Done,
}

impl Step {
    /// One line for people.
    pub fn describe(self) -> &'static str {
        match self {
            Step::ApplyFirst => "IAM does not match the config yet: run `keyless apply` first",
            Step::TrustBoth => {
                "step 1 of 3: trust both subject forms (format = \"both\" with the IDs), then apply"
            }
            Step::SwitchRepository => {
                "step 2 of 3: switch the repository to immutable subjects on GitHub"
            }
            Step::DropClassic => {
                "step 3 of 3: trust only the immutable form (format = \"immutable\"), then apply"
            }
            Step::Done => {
                "done: the repository mints immutable subjects and only those are trusted"
            }
        }
    }
}

/// The one safe next step, from the formats the config trusts for the repository, what the
/// repository mints, and whether IAM matches the config.
pub fn next_step(trusted: &[SubjectFormat], minted: Minted, iam_in_sync: bool) -> Step {
    let all = |f: SubjectFormat| !trusted.is_empty() && trusted.iter().all(|t| *t == f);
    if !iam_in_sync {
        return Step::ApplyFirst;
    }
    match minted {
        Minted::Classic if all(SubjectFormat::Both) => Step::SwitchRepository,
        Minted::Classic => Step::TrustBoth,
        Minted::Immutable if all(SubjectFormat::Immutable) => Step::Done,
        Minted::Immutable if trusted.iter().all(|t| *t != SubjectFormat::Classic) => {
            Step::DropClassic
        }
        // Classic trust for a repository that already mints immutable: trust both first.
        Minted::Immutable => Step::TrustBoth,
    }
}

/// Set `format` (and the IDs) on every `[[role.subject]]` of `repo` in config text, keeping
/// everything else as it is. Errors when no subject names the repository.
pub fn set_format(
    text: &str,
    file: &str,
    repo: &str,
    format: SubjectFormat,
    ids: (&str, &str),
) -> Result<String> {
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| Error::Document {
                file: file.to_string(),
                message: e.to_string(),
                fix: "fix the TOML first".into(),
            })?;
    let name = match format {
        SubjectFormat::Classic => "classic",
        SubjectFormat::Immutable => "immutable",
        SubjectFormat::Both => "both",
    };
    let mut changed = 0;
    if let Some(roles) = doc.get_mut("role").and_then(|r| r.as_array_of_tables_mut()) {
        for role in roles.iter_mut() {
            let Some(subjects) = role
                .get_mut("subject")
                .and_then(|s| s.as_array_of_tables_mut())
            else {
                continue;
            };
            for s in subjects.iter_mut() {
                let matches = s
                    .get("repo")
                    .and_then(|r| r.as_str())
                    .is_some_and(|r| r.eq_ignore_ascii_case(repo));
                if matches {
                    s["owner_id"] = toml_edit::value(ids.0);
                    s["repo_id"] = toml_edit::value(ids.1);
                    s["format"] = toml_edit::value(name);
                    changed += 1;
                }
            }
        }
    }
    if changed == 0 {
        return Err(Error::NotInConfig {
            message: format!("{file}: no [[role.subject]] trusts repo = {repo:?}"),
            fix: "migrate a repository the config trusts".into(),
        });
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubjectFormat::*;

    #[test]
    fn only_the_next_safe_step_in_order() {
        assert_eq!(
            next_step(&[Classic], Minted::Classic, false),
            Step::ApplyFirst
        );
        assert_eq!(
            next_step(&[Classic], Minted::Classic, true),
            Step::TrustBoth
        );
        assert_eq!(
            next_step(&[Both], Minted::Classic, true),
            Step::SwitchRepository
        );
        assert_eq!(
            next_step(&[Both], Minted::Immutable, true),
            Step::DropClassic
        );
        assert_eq!(next_step(&[Immutable], Minted::Immutable, true), Step::Done);
        // Never drop the classic form while the repository still mints it.
        assert_eq!(
            next_step(&[Immutable], Minted::Classic, true),
            Step::TrustBoth
        );
        assert_eq!(
            next_step(&[Classic, Both], Minted::Immutable, true),
            Step::TrustBoth
        );
    }

    #[test]
    fn the_config_is_edited_in_place_keeping_comments() {
        let text = "# team config\n[[role]]\nname = \"r\"\n  [[role.subject]]\n  repo = \"o/r\"   # ours\n  branch = \"main\"\n  [[role.subject]]\n  repo = \"o/other\"\n  branch = \"main\"\n";
        let out = set_format(text, "k.toml", "o/r", Both, ("1", "2")).unwrap();
        assert!(
            out.starts_with("# team config\n") && out.contains("# ours"),
            "{out}"
        );
        let cfg = crate::config::parse(&out, "k.toml", std::path::Path::new(".")).unwrap();
        assert_eq!(
            cfg.roles[0].subjects[0].patterns(),
            vec![
                "repo:o@1/r@2:ref:refs/heads/main",
                "repo:o/r:ref:refs/heads/main"
            ]
        );
        assert_eq!(
            cfg.roles[0].subjects[1].patterns(),
            vec!["repo:o/other:ref:refs/heads/main"]
        );
        assert!(set_format(text, "k.toml", "o/missing", Both, ("1", "2")).is_err());
    }
}
