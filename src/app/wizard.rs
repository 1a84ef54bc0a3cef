//! `keyless init`: the set-up wizard. Every question has a flag; a flag's answer is validated and
//! used, otherwise the question is asked (dialoguer, re-asking on a bad answer), or with `--yes`
//! its default is taken and a missing required answer is reported as the flag to pass. Nothing is
//! written until every answer is in, so Ctrl-C at any prompt leaves nothing behind. The answers
//! become `keyless.toml` through `keyless::config::setup`. This module only asks: writing the file and
//! planning or applying belong to the `init` command.

use std::collections::BTreeMap;

use keyless::config::setup::{self, Answers, RepoAnswer};
use keyless::error::{Error, Result};
use keyless::identity::issuer::Issuer;
use keyless::identity::names;
use keyless::identity::repository::{RepoInfo, SubForm, SubjectSettings};
use keyless::identity::subject::{Scope, SubjectFormat};
use keyless::policy::template::{ParamKind, Templates};

use crate::app::args::{FormatArg, InitArgs};
use crate::app::printer::Printer;
use crate::app::style;

type Check = Box<dyn Fn(&str) -> std::result::Result<(), String>>;

/// Answers come from flags, prompts, or defaults; missing ones are collected for `--yes`.
pub struct Asker {
    interactive: bool,
    missing: Vec<String>,
}

fn cancelled(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => Error::usage(
            "init cancelled; nothing was written",
            "run `keyless init` again",
        ),
        other => Error::usage(
            format!("cannot ask: {other}"),
            "pass the answers as flags with --yes",
        ),
    }
}

impl Asker {
    /// An asker that prompts (`interactive`) or takes defaults and collects missing flags.
    pub fn new(interactive: bool) -> Asker {
        Asker {
            interactive,
            missing: Vec::new(),
        }
    }

    /// Whether questions are asked.
    pub fn interactive(&self) -> bool {
        self.interactive
    }
    /// A text answer. `flag` is the value given on the command line (validated, never asked).
    fn text(
        &mut self,
        flag: Option<&str>,
        flag_name: &str,
        prompt: &str,
        default: Option<&str>,
        check: Check,
    ) -> Result<Option<String>> {
        if let Some(v) = flag {
            // The check's message already leads with the value (see `ok`).
            check(v).map_err(|m| {
                Error::usage(
                    format!("{flag_name} {m}"),
                    format!("pass a valid {flag_name}"),
                )
            })?;
            return Ok(Some(v.to_string()));
        }
        if !self.interactive {
            return match default {
                Some(d) => Ok(Some(d.to_string())),
                None => {
                    self.missing.push(flag_name.to_string());
                    Ok(None)
                }
            };
        }
        let mut input = dialoguer::Input::<String>::new().with_prompt(prompt);
        if let Some(d) = default {
            input = input.default(d.to_string()).allow_empty(d.is_empty());
        }
        let answer = input
            .validate_with(move |s: &String| check(s))
            .interact_text()
            .map_err(cancelled)?;
        Ok(Some(answer))
    }

    fn choose(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize> {
        if !self.interactive {
            return Ok(default);
        }
        dialoguer::Select::new()
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(cancelled)
    }

    /// A yes/no question (its default without a terminal).
    pub fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        if !self.interactive {
            return Ok(default);
        }
        dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(cancelled)
    }
}

/// A validator for a prompt; its error echoes the answer, so a re-asked question says what was
/// wrong with what.
fn ok(f: impl Fn(&str) -> std::result::Result<(), String> + 'static) -> Check {
    Box::new(move |s| f(s).map_err(|m| format!("{s:?}: {m}")))
}

fn issuer_from(args: &InitArgs, ask: &mut Asker) -> Result<Issuer> {
    let bad = |flag: &str, v: &str, m: String| {
        Error::usage(format!("{flag} {v:?}: {m}"), "see `keyless init --help`")
    };
    if let Some(u) = &args.issuer {
        return Issuer::parse(u).map_err(|m| bad("--issuer", u, m));
    }
    if let Some(s) = &args.enterprise_slug {
        return Issuer::enterprise_slug(s).map_err(|m| bad("--enterprise-slug", s, m));
    }
    if let Some(s) = &args.ghe_com {
        return Issuer::ghe_com(s, false).map_err(|m| bad("--ghe-com", s, m));
    }
    if let Some(h) = &args.ghes_host {
        return Issuer::ghes(h).map_err(|m| bad("--ghes-host", h, m));
    }
    let kinds = [
        "github.com",
        "github.com enterprise with a unique issuer (slug)",
        "GHE.com (data residency)",
        "GitHub Enterprise Server",
    ];
    Ok(
        match ask.choose("Where do your workflows run?", &kinds, 0)? {
            1 => {
                let s = ask
                    .text(
                        None,
                        "--enterprise-slug",
                        "Enterprise slug",
                        None,
                        ok(|s| Issuer::enterprise_slug(s).map(drop)),
                    )?
                    .unwrap_or_default();
                Issuer::enterprise_slug(&s).map_err(|m| bad("--enterprise-slug", &s, m))?
            }
            2 => {
                let s = ask
                    .text(
                        None,
                        "--ghe-com",
                        "GHE.com subdomain (SUB in SUB.ghe.com)",
                        None,
                        ok(|s| Issuer::ghe_com(s, false).map(drop)),
                    )?
                    .unwrap_or_default();
                Issuer::ghe_com(&s, false).map_err(|m| bad("--ghe-com", &s, m))?
            }
            3 => {
                let h = ask
                    .text(
                        None,
                        "--ghes-host",
                        "GHES host name",
                        None,
                        ok(|h| Issuer::ghes(h).map(drop)),
                    )?
                    .unwrap_or_default();
                Issuer::ghes(&h).map_err(|m| bad("--ghes-host", &h, m))?
            }
            _ => Issuer::github_com(),
        },
    )
}

fn scope_from_flags(args: &InitArgs) -> Option<Scope> {
    if let Some(b) = &args.branch {
        return Some(Scope::Branch(b.clone()));
    }
    if let Some(t) = &args.tag {
        return Some(Scope::Tag(t.clone()));
    }
    if let Some(e) = &args.environment {
        return Some(Scope::Environment(e.clone()));
    }
    if args.pull_request {
        return Some(Scope::PullRequest);
    }
    args.any_ref.then_some(Scope::AnyRef)
}

fn ask_scope(ask: &mut Asker, p: &Printer, repo: &str) -> Result<Scope> {
    let kinds = [
        "a branch",
        "a tag (pattern allowed, e.g. v*)",
        "an environment",
        "pull requests",
        "every job of the repository (broad)",
    ];
    let scope = match ask.choose(
        &format!("Which jobs of {repo} may assume the role?"),
        &kinds,
        0,
    )? {
        1 => Scope::Tag(
            ask.text(None, "--tag", "Tag", Some("v*"), ok(names::git_ref_name))?
                .unwrap_or_default(),
        ),
        2 => Scope::Environment(
            ask.text(
                None,
                "--environment",
                "Environment",
                Some("production"),
                ok(names::environment_name),
            )?
            .unwrap_or_default(),
        ),
        3 => Scope::PullRequest,
        4 => Scope::AnyRef,
        _ => Scope::Branch(
            ask.text(
                None,
                "--branch",
                "Branch",
                Some("main"),
                ok(names::git_ref_name),
            )?
            .unwrap_or_default(),
        ),
    };
    warn_broad(p, &scope);
    Ok(scope)
}

fn warn_broad(p: &Printer, scope: &Scope) {
    let broad = match scope {
        Scope::AnyRef => Some(
            "every branch, tag, environment and pull request of the repository can assume the role (KL006)",
        ),
        Scope::PullRequest => {
            Some("pull-request code runs before review; give this role read-only permissions")
        }
        Scope::Branch(b) | Scope::Tag(b) if b.contains('*') => {
            Some("anyone who can push a matching ref can assume the role (KL007)")
        }
        _ => None,
    };
    if let Some(w) = broad {
        p.note(&format!("{} {w}", style::bad("warning:")));
    }
}

/// `--param` values: `KEY=VALUE` or `PRESET.KEY=VALUE`.
fn parse_params(raw: &[String]) -> Result<Vec<(Option<String>, String, String)>> {
    raw.iter()
        .map(|p| {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                Error::usage(
                    format!("--param {p:?} is not KEY=VALUE"),
                    "e.g. --param bucket=my-site",
                )
            })?;
            Ok(match k.split_once('.') {
                Some((preset, key)) => (Some(preset.to_string()), key.to_string(), v.to_string()),
                None => (None, k.to_string(), v.to_string()),
            })
        })
        .collect()
}

/// The repositories to trust, each with its scope, subject format and IDs.
/// What GitHub reports about a repository, when it is read.
pub type Found = Option<(RepoInfo, SubjectSettings)>;

/// What GitHub reports for a repository of an issuer: `Ok(None)` when GitHub is not read.
pub type Lookup<'a> = dyn FnMut(&Issuer, &str) -> Result<Found> + 'a;

/// A repository answer from what GitHub reports: its current name, its IDs, and the form its
/// jobs mint (a `--format` flag that contradicts GitHub is refused).
fn from_github(
    asked: &str,
    scope: Scope,
    info: &RepoInfo,
    settings: &SubjectSettings,
    args: &InitArgs,
    p: &Printer,
) -> Result<RepoAnswer> {
    if info.full_name != asked {
        p.note(&format!(
            "{} {asked} is now {} (renamed or transferred); keyless uses the current name",
            style::bold("GitHub"),
            info.full_name
        ));
    }
    if info.archived {
        p.note(&format!(
            "{} {} is archived: its workflows do not run",
            style::bad("warning:"),
            info.full_name
        ));
    }
    let ids = Some((info.owner_id.to_string(), info.id.to_string()));
    let form = settings.form();
    let (format, custom, said) = match &form {
        SubForm::Classic => (
            SubjectFormat::Classic,
            None,
            "classic subjects (repo:OWNER/REPO:...)".to_string(),
        ),
        SubForm::Immutable => (
            SubjectFormat::Immutable,
            None,
            "immutable subjects (repo:OWNER@ID/REPO@ID:...)".to_string(),
        ),
        SubForm::Custom(keys) => {
            let (owner, name) = info
                .full_name
                .split_once('/')
                .unwrap_or((&info.full_name, ""));
            let repo = keyless::identity::subject::Repo {
                owner: owner.into(),
                name: name.into(),
                owner_id: Some(info.owner_id.to_string()),
                repo_id: Some(info.id.to_string()),
            };
            let sub = keyless::identity::subject::custom_sub(keys, &repo, settings.immutable, &scope.context())
                .ok_or_else(|| {
                    Error::usage(
                        format!(
                            "{} uses a custom subject template ({}) with a claim whose value is known only when a job runs",
                            info.full_name,
                            keys.join(", ")
                        ),
                        "write the role's subject by hand with `custom = \"...\"` (see README, Subjects)",
                    )
                })?;
            (
                SubjectFormat::Classic,
                Some(sub),
                format!("a custom subject template ({})", keys.join(", ")),
            )
        }
    };
    let flagged = match args.format {
        Some(FormatArg::Classic) => Some(SubjectFormat::Classic),
        Some(FormatArg::Immutable) => Some(SubjectFormat::Immutable),
        Some(FormatArg::Both) => Some(SubjectFormat::Both),
        None => None,
    };
    let format = match flagged {
        // Trusting both forms is always safe (migrations); the other form alone never matches.
        Some(SubjectFormat::Both) => SubjectFormat::Both,
        Some(f) if f != format && custom.is_none() => {
            return Err(Error::usage(
                format!(
                    "--format {}: GitHub reports that {} mints {said}",
                    match f {
                        SubjectFormat::Classic => "classic",
                        _ => "immutable",
                    },
                    info.full_name
                ),
                "drop --format (keyless uses what GitHub reports), or pass --format both while migrating",
            ));
        }
        _ => format,
    };
    p.note(&format!(
        "{} {} (id {}, owner id {}) mints {said}",
        style::bold("GitHub"),
        info.full_name,
        info.id,
        info.owner_id
    ));
    Ok(RepoAnswer {
        repo: info.full_name.clone(),
        scope,
        ids,
        format,
        custom,
        owner_pin: None,
        owner_id: Some(info.owner_id.to_string()),
    })
}

fn ask_repos(
    args: &InitArgs,
    ask: &mut Asker,
    p: &Printer,
    lookup: &mut dyn FnMut(&str) -> Result<Found>,
) -> Result<Vec<RepoAnswer>> {
    let interactive = ask.interactive;
    let mut repo_names: Vec<String> = Vec::new();
    for r in &args.repos {
        setup::check_repo(r).map_err(|m| {
            Error::usage(
                format!("--repo {r:?}: {m}"),
                "write OWNER/REPO exactly as on GitHub",
            )
        })?;
        repo_names.push(r.clone());
    }
    // What GitHub said about each repository typed at the prompt (looked up at once, so that
    // a typo is asked again with GitHub's answer rather than failing later).
    let mut found: std::collections::BTreeMap<String, Found> = Default::default();
    if repo_names.is_empty() {
        while let Some(r) = ask.text(
            None,
            "--repo OWNER/REPO",
            "Repository (OWNER/REPO)",
            None,
            ok(setup::check_repo),
        )? {
            match lookup(&r) {
                Err(Error::GitHub {
                    status: Some(404),
                    message,
                    hint,
                    ..
                }) if interactive => {
                    p.note(&format!(
                        "{} {r}: {message}{}; try again",
                        style::bad("GitHub does not know"),
                        hint.map(|h| format!(" ({h})")).unwrap_or_default()
                    ));
                    continue;
                }
                other => {
                    found.insert(r.clone(), other?);
                }
            }
            repo_names.push(r);
            if !ask.confirm("Add another repository?", false)? {
                break;
            }
        }
    }
    let flag_scope = scope_from_flags(args);
    if let Some(s) = &flag_scope {
        if let Scope::Branch(v) | Scope::Tag(v) = s {
            names::git_ref_name(v).map_err(|m| {
                Error::usage(
                    format!("--branch/--tag {v:?}: {m}"),
                    "give a short ref name such as main or v*",
                )
            })?;
        }
        if let Scope::Environment(e) = s {
            names::environment_name(e).map_err(|m| {
                Error::usage(
                    format!("--environment {e:?}: {m}"),
                    "give the environment's name",
                )
            })?;
        }
        warn_broad(p, s);
    }
    let mut repos = Vec::new();
    for repo in &repo_names {
        let scope = match &flag_scope {
            Some(s) => s.clone(),
            None if interactive => ask_scope(ask, p, repo)?,
            None => Scope::Branch("main".into()),
        };
        // What GitHub says this repository mints, when it can be read: IDs and form are then
        // facts, not questions.
        let known = match found.remove(repo) {
            Some(f) => f,
            None => lookup(repo)?,
        };
        if let Some((info, settings)) = known {
            repos.push(from_github(repo, scope, &info, &settings, args, p)?);
            continue;
        }
        // GitHub could not be read: which subject form the repository mints is unknown, and a
        // wrong guess makes a role that denies every token. IDs given: trust both forms (right
        // either way). Otherwise say so plainly, and refuse to apply a guess.
        if args.format.is_none() && !(args.owner_id.is_some() && args.repo_id.is_some()) {
            p.note(&format!(
                "{} the subject form of {repo} is unknown without a GitHub token: a repository created after 15 Jul 2026 (or opted in) mints immutable subjects, and a classic-only trust denies all of its tokens; set GH_TOKEN, or pass --format",
                style::bad("warning:")
            ));
            if !interactive && args.apply {
                return Err(Error::usage(
                    format!(
                        "the subject form of {repo} is unknown (GitHub was not read), and --apply would make a role that may deny every token"
                    ),
                    "set GH_TOKEN so keyless reads it, or pass --format classic|immutable, or --format both with --owner-id and --repo-id",
                ));
            }
        }
        let format = match args.format {
            Some(FormatArg::Classic) => SubjectFormat::Classic,
            Some(FormatArg::Immutable) => SubjectFormat::Immutable,
            Some(FormatArg::Both) => SubjectFormat::Both,
            None if args.owner_id.is_some() && args.repo_id.is_some() => SubjectFormat::Both,
            None if args.owner_id.is_some() => SubjectFormat::Immutable,
            None => match ask.choose(&format!("Subject format for {repo} (repositories created after 15 Jul 2026 emit immutable subjects)"), &["classic: repo:OWNER/REPO", "immutable: repo:OWNER@ID/REPO@ID", "both (while migrating)"], 0)? {
                1 => SubjectFormat::Immutable,
                2 => SubjectFormat::Both,
                _ => SubjectFormat::Classic,
            },
        };
        let ids = if format == SubjectFormat::Classic {
            None
        } else if repo_names.len() == 1 && args.owner_id.is_some() {
            Some((
                args.owner_id.clone().unwrap_or_default(),
                args.repo_id.clone().unwrap_or_default(),
            ))
        } else {
            let o = ask.text(
                None,
                "--owner-id",
                &format!("Owner ID of {repo} (gh api repos/{repo} --jq .owner.id)"),
                None,
                ok(names::github_id),
            )?;
            let r = ask.text(
                None,
                "--repo-id",
                &format!("Repository ID of {repo} (gh api repos/{repo} --jq .id)"),
                None,
                ok(names::github_id),
            )?;
            o.zip(r)
        };
        if let Some((o, r)) = &ids {
            for (flag, v) in [("--owner-id", o), ("--repo-id", r)] {
                names::github_id(v).map_err(|m| {
                    Error::usage(format!("{flag} {v:?}: {m}"), "give the numeric ID")
                })?;
            }
        }
        let owner_id = ids
            .as_ref()
            .map(|(o, _)| o.clone())
            .or_else(|| args.owner_id.clone().filter(|_| repo_names.len() == 1));
        repos.push(RepoAnswer {
            repo: repo.clone(),
            scope,
            ids,
            format,
            custom: None,
            owner_pin: None,
            owner_id,
        });
    }
    Ok(repos)
}

/// `--pin-owner` (or yes at the wizard's question, when GitHub gave the owner's ID): each
/// repository's owner is also required by ID (`repository_owner_id`), which no one can take over
/// by registering a deleted owner's name, and is what an organisation-wide guardrail keys on.
fn pin_owners(
    repos: &mut [RepoAnswer],
    args: &InitArgs,
    ask: &mut Asker,
    issuer: &Issuer,
) -> Result<()> {
    let supported = keyless::identity::issuer::supported_claim_keys("aws", &issuer.kind, &[]);
    if !supported.iter().any(|k| k == "repository_owner_id") {
        if args.pin_owner {
            return Err(Error::usage(
                format!(
                    "--pin-owner: repository_owner_id does not reach IAM for {} (AWS's data)",
                    issuer.url
                ),
                "drop --pin-owner; pin the repository with the immutable subject instead",
            ));
        }
        return Ok(());
    }
    for r in repos.iter_mut().filter(|r| r.custom.is_none()) {
        r.owner_pin = match (args.pin_owner, r.owner_id.clone()) {
            (true, Some(id)) => Some(id),
            (true, None) => {
                return Err(Error::usage(
                    format!("--pin-owner: the owner ID of {} is not known", r.repo),
                    "pass --owner-id (gh api repos/OWNER/REPO --jq .owner.id), or give a GitHub token so keyless reads it",
                ));
            }
            (false, Some(id))
                if ask.interactive
                    && ask.confirm(
                        &format!(
                            "Also require owner ID {id} of {} (repository_owner_id)?",
                            r.repo
                        ),
                        false,
                    )? =>
            {
                Some(id)
            }
            _ => None,
        };
    }
    Ok(())
}

/// The presets to grant, each with its parameter values.
fn ask_presets(
    templates: &Templates,
    args: &InitArgs,
    ask: &mut Asker,
    p: &Printer,
) -> Result<Vec<(String, BTreeMap<String, String>)>> {
    let catalogue = templates.presets();
    let known = catalogue.keys().cloned().collect::<Vec<_>>();
    let mut preset_names: Vec<String> = args.presets.clone();
    for n in &preset_names {
        if !catalogue.contains_key(n) {
            return Err(Error::usage(
                format!(
                    "--preset {n:?}: no such preset{}",
                    templates
                        .nearest_preset(n)
                        .map(|x| format!("; did you mean {x:?}?"))
                        .unwrap_or_default()
                ),
                format!("use one of: {}", known.join(", ")),
            ));
        }
    }
    if preset_names.is_empty() && ask.interactive {
        let mut list = String::from("Permission presets:\n");
        for (n, s) in catalogue {
            list.push_str(&format!("  {n:<24} {}\n", s.description));
        }
        p.note(&list);
        let k2 = known.clone();
        let guesses = Templates::load(None)?;
        let answer = ask
            .text(
                None,
                "--preset",
                "Presets to grant (comma-separated; empty for none)",
                Some(""),
                ok(move |s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .try_for_each(|x| {
                            if k2.iter().any(|k| k == x) {
                                Ok(())
                            } else {
                                Err(format!(
                                    "no preset {x:?}{}",
                                    guesses
                                        .nearest_preset(x)
                                        .map(|n| format!("; did you mean {n:?}?"))
                                        .unwrap_or_default()
                                ))
                            }
                        })
                }),
            )?
            .unwrap_or_default();
        preset_names = split_list(&answer);
    }
    let given = parse_params(&args.params)?;
    for (preset, key, _) in &given {
        let exists = preset_names
            .iter()
            .filter(|n| preset.as_ref().is_none_or(|p| p == *n))
            .any(|n| catalogue[n].params.contains_key(key));
        if !exists {
            // The closest parameter the chosen presets take, for a typo.
            let nearest = preset_names
                .iter()
                .filter(|n| preset.as_ref().is_none_or(|p| p == *n))
                .flat_map(|n| catalogue[n].params.keys().map(move |k| (n, k)))
                .map(|(n, k)| (strsim::damerau_levenshtein(key, k), n, k))
                .filter(|(d, _, k)| *d <= 2.max(k.len() / 3))
                .min();
            return Err(Error::usage(
                format!(
                    "--param {key}: none of the chosen presets ({}) takes it",
                    preset_names.join(", ")
                ),
                match nearest {
                    Some((_, n, k)) => format!(
                        "did you mean --param {k}=VALUE ({n})? `keyless presets` lists each preset's parameters"
                    ),
                    None => "see `keyless presets` for each preset's parameters".into(),
                },
            ));
        }
    }
    let mut presets = Vec::new();
    for name in &preset_names {
        let spec = &catalogue[name];
        let mut values = BTreeMap::new();
        for (key, ps) in &spec.params {
            if ps.kind == ParamKind::Region {
                continue; // the config's region
            }
            let flag = given
                .iter()
                .find(|(pr, k, _)| k == key && pr.as_ref().is_none_or(|pr| pr == name))
                .map(|(_, _, v)| v.as_str());
            let spec_of = ps.clone();
            let optional = ps.default.is_some();
            let check = ok(move |s| {
                if s.is_empty() && optional {
                    Ok(())
                } else {
                    spec_of.check(s)
                }
            });
            if let Some(v) = ask.text(
                flag,
                &format!("--param {key}=VALUE ({name})"),
                &format!("{name}: {key} ({})", ps.help),
                ps.default.as_deref(),
                check,
            )? {
                values.insert(key.clone(), v);
            }
        }
        presets.push((name.clone(), values));
    }
    Ok(presets)
}

/// Managed policy ARNs to attach.
fn ask_managed_policies(args: &InitArgs, ask: &mut Asker) -> Result<Vec<String>> {
    let mut managed = Vec::new();
    for m in &args.managed_policies {
        names::managed_policy_arn(m).map_err(|e| {
            Error::usage(format!("--managed-policy {m:?}: {e}"), "give a policy ARN")
        })?;
        managed.push(m.clone());
    }
    if managed.is_empty() && ask.interactive {
        let answer = ask
            .text(
                None,
                "--managed-policy",
                "Managed policy ARNs to attach (comma-separated; empty for none)",
                Some(""),
                ok(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .try_for_each(names::managed_policy_arn)
                }),
            )?
            .unwrap_or_default();
        managed = split_list(&answer);
    }
    Ok(managed)
}

fn split_list(answer: &str) -> Vec<String> {
    answer
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Every answer given as a flag, checked before anything reaches AWS or GitHub: repositories,
/// scope, presets and their parameters, managed policies, the role and config names, the
/// session length. A mistake is reported at once, not after the round trips.
pub fn check_flags(args: &InitArgs, p: &Printer) -> Result<()> {
    let mut quiet = Asker::new(false);
    for r in &args.repos {
        setup::check_repo(r).map_err(|m| {
            Error::usage(
                format!("--repo {r:?}: {m}"),
                "write OWNER/REPO exactly as on GitHub",
            )
        })?;
    }
    if !args.presets.is_empty() || !args.params.is_empty() {
        let templates = Templates::load(None)?;
        ask_presets(&templates, args, &mut quiet, p)?;
    }
    ask_managed_policies(args, &mut quiet)?;
    if let Some(n) = &args.role_name {
        names::iam_role_name(n).map_err(|m| {
            Error::usage(
                format!("--role-name {n:?}: {m}"),
                "use 1–64 letters, digits and + = , . @ _ -",
            )
        })?;
    }
    if let Some(n) = &args.name {
        keyless::config::check_config_name(n).map_err(|m| {
            Error::usage(format!("--name {n:?}: {m}"), "e.g. --name octo-org-site-pr")
        })?;
    }
    if let Some(s) = args.max_session
        && !(3600..=43200).contains(&s)
    {
        return Err(Error::usage(
            format!("--max-session {s}: a whole number of seconds from 3600 to 43200"),
            "e.g. --max-session 3600",
        ));
    }
    Ok(())
}

/// Every answer `init` needs, in the wizard's order, each from its flag or asked. `account_id`
/// is the account already known (flag or credentials); `on_issuer` runs right after the issuer
/// is known (to say whether the account has its provider). With `--yes`, a missing required
/// answer fails with the list of flags to pass.
#[allow(clippy::too_many_arguments)]
pub fn ask_answers(
    ask: &mut Asker,
    args: &InitArgs,
    p: &Printer,
    account_id: Option<String>,
    region_default: String,
    on_issuer: impl FnOnce(&Issuer),
    lookup: &mut Lookup<'_>,
) -> Result<Answers> {
    let issuer = issuer_from(args, ask)?;
    on_issuer(&issuer);
    let mut repos = ask_repos(args, ask, p, &mut |repo| lookup(&issuer, repo))?;
    pin_owners(&mut repos, args, ask, &issuer)?;
    let templates = Templates::load(None)?;
    let presets = ask_presets(&templates, args, ask, p)?;
    let managed_policies = ask_managed_policies(args, ask)?;
    let suggested = repos
        .first()
        .map(|r| setup::suggest_role_name(&r.repo, &r.scope))
        .unwrap_or_else(|| "gha-deploy".into());
    let config_name = match &args.name {
        Some(n) => {
            keyless::config::check_config_name(n).map_err(|m| {
                Error::usage(format!("--name {n:?}: {m}"), "e.g. --name octo-org-site-pr")
            })?;
            n.clone()
        }
        None => repos
            .first()
            .map(|r| setup::suggest_config_name(&r.repo))
            .unwrap_or_else(|| "keyless".into()),
    };
    let role_name = ask
        .text(
            args.role_name.as_deref(),
            "--role-name",
            "Role name",
            Some(&suggested),
            ok(names::iam_role_name),
        )?
        .unwrap_or(suggested);
    let session = args.max_session.map(|s| s.to_string());
    let check_session = ok(|s| match s.parse::<i64>() {
        Ok(v) if (3600..=43200).contains(&v) => Ok(()),
        _ => Err("a whole number of seconds from 3600 to 43200".into()),
    });
    let max_session_duration = ask
        .text(
            session.as_deref(),
            "--max-session",
            "Max session duration in seconds",
            Some("3600"),
            check_session,
        )?
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    let region = ask
        .text(
            None,
            "--region",
            "AWS region for the workflow",
            Some(&region_default),
            ok(names::region),
        )?
        .unwrap_or(region_default);
    if !ask.missing.is_empty() {
        return Err(Error::usage(
            format!(
                "--yes needs these answers as flags: {}",
                ask.missing.join(", ")
            ),
            "e.g. keyless init --yes --repo OWNER/REPO --branch main --preset s3-deploy --param bucket=NAME",
        ));
    }
    Ok(Answers {
        config_name,
        account_id,
        region,
        issuer,
        repos,
        presets,
        managed_policies,
        role_name,
        max_session_duration,
        variable: None,
    })
}
