//! The resolved session: everything a run needs, worked out once from the command line, the
//! environment and the config (ripgrep's `LowArgs` → `HiArgs`). Commands ask the session; none
//! re-derives the account, partition, region, format or concurrency.
//!
//! It owns the output format and sink, the config path and (lazily) the loaded config and
//! templates, the runtime, the AWS clients, the caller's identity and so the target (account,
//! partition). Its operations (`render`, `observe`, `plan`, `execute`, `role`) return named
//! library types. It must not print reports (commands do) nor know any command's clap type.

use std::cell::{OnceCell, RefCell};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyless::io::aws::{Aws, AwsOptions, CallerIdentity};
use keyless::config::{self, Config, Role};
use keyless::error::{Error, Result};
use keyless::io::execute::{self, Outcome, Progress};
use keyless::io::github::{self, GitHub};
use keyless::state::github_plan::{self, GitHubChange, GitHubPlan, ObservedGitHub, WantedVariable};
use keyless::identity::issuer::Issuer;
use keyless::policy::lint::Finding;
use keyless::identity::names;
use keyless::state::observed::{Observed, OtherTrusts, ReadPath, Reads};
use keyless::state::plan::{self, Plan};
use keyless::state::render::{self, Rendered, Target};
use keyless::policy::template::Templates;

use crate::app::args::{Command, DEFAULT_CONCURRENCY, Format, Global, ReadsArg};
use crate::app::printer::Printer;
use crate::app::report::findings_text;

/// Region assumed when neither a flag, the config nor the environment names one.
const FALLBACK_REGION: &str = "us-east-1";

/// How much a command needs to know about the account it works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Render offline when the account is pinned (`--account-id` or `account_id`); otherwise ask
    /// STS who the credentials belong to.
    Offline,
    /// The credentials' account, always (the command reads or writes it); `--account-id` must
    /// match it.
    Caller,
    /// The pinned account, else the credentials' if there are any (verify: the exchange itself
    /// needs no credentials).
    BestEffort,
}

/// A plan and the documents it was computed from.
pub struct Planned {
    /// The desired state, rendered for the caller's account.
    pub rendered: Rendered,
    /// The changes.
    pub plan: Plan,
    /// The GitHub half (variables, environments), when GitHub is read.
    pub github: Option<GitHubPlan>,
}

impl Planned {
    /// IAM and GitHub changes together.
    pub fn len(&self) -> usize {
        self.plan.changes.len() + self.github.as_ref().map_or(0, |g| g.changes.len())
    }

    /// Nothing to do on either side.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything resolved for one run.
pub struct Session {
    /// Output format.
    pub format: Format,
    /// The sink.
    pub printer: Printer,
    /// The config file path (as given).
    pub config_path: PathBuf,
    /// How many roles to read at once.
    pub concurrency: usize,
    /// How to read the account (`--reads`).
    pub reads: Reads,
    /// How many accounts at once (`--account-concurrency`, with `[accounts]`).
    pub account_concurrency: usize,
    account_flag: Option<String>,
    profile: Option<String>,
    region_flag: Option<String>,
    endpoint_url: Option<String>,
    config: OnceCell<Config>,
    templates: OnceCell<Templates>,
    runtime: OnceCell<tokio::runtime::Runtime>,
    aws: RefCell<Option<(AwsOptions, Aws)>>,
    caller: RefCell<Option<CallerIdentity>>,
    caller_failed: std::cell::Cell<bool>,
    cancel: OnceCell<Arc<AtomicBool>>,
    github_api_url: Option<String>,
    no_github: bool,
    github: OnceCell<Option<GitHub>>,
}

impl Session {
    /// Resolve the global flags and the environment for `command`.
    pub fn new(g: &Global, command: &Command) -> Session {
        if g.no_color {
            anstream::ColorChoice::Never.write_global();
        }
        let is_check = matches!(command, Command::Check(_) | Command::Audit(_));
        let format = match g.output {
            Some(Format::Github) if !is_check => Format::Human,
            Some(f) => f,
            None if is_check && std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") => {
                Format::Github
            }
            None => Format::Human,
        };
        let concurrency = match command {
            Command::Check(a) => a.concurrency,
            _ => DEFAULT_CONCURRENCY,
        };
        Session {
            format,
            printer: Printer {
                quiet: g.quiet,
                verbose: g.verbose,
            },
            config_path: g.config.clone(),
            concurrency: concurrency as usize,
            account_concurrency: usize::from(g.account_concurrency.max(1)),
            reads: match g.reads {
                ReadsArg::Auto => Reads::Auto,
                ReadsArg::PerRole => Reads::PerRole,
                ReadsArg::Account => Reads::Account,
            },
            account_flag: g.account_id.clone(),
            profile: g.profile.clone(),
            region_flag: g.region.clone(),
            endpoint_url: g.endpoint_url.clone(),
            config: OnceCell::new(),
            templates: OnceCell::new(),
            runtime: OnceCell::new(),
            aws: RefCell::new(None),
            caller: RefCell::new(None),
            caller_failed: std::cell::Cell::new(false),
            cancel: OnceCell::new(),
            github_api_url: g.github_api_url.clone(),
            no_github: g.no_github,
            github: OnceCell::new(),
        }
    }

    /// The same settings with nothing loaded yet: for a command that rewrote the config and
    /// must read it again.
    pub fn reopen(&self) -> Session {
        Session {
            format: self.format,
            printer: self.printer,
            config_path: self.config_path.clone(),
            concurrency: self.concurrency,
            reads: self.reads,
            account_concurrency: self.account_concurrency,
            account_flag: self.account_flag.clone(),
            profile: self.profile.clone(),
            region_flag: self.region_flag.clone(),
            endpoint_url: self.endpoint_url.clone(),
            config: OnceCell::new(),
            templates: OnceCell::new(),
            runtime: OnceCell::new(),
            aws: RefCell::new(None),
            caller: RefCell::new(self.caller.borrow().clone()),
            caller_failed: std::cell::Cell::new(self.caller_failed.get()),
            cancel: OnceCell::new(),
            github_api_url: self.github_api_url.clone(),
            no_github: self.no_github,
            github: OnceCell::from(self.github.get().cloned().flatten()),
        }
    }

    /// The config, loaded on first use.
    pub fn config(&self) -> Result<&Config> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let (c, mut problems) = config::load_partial(&self.config_path)?;
        if !problems.is_empty() {
            // Report the preset parameters' problems now too, not after these are fixed.
            if let Ok(t) = Templates::load(c.templates_dir.as_deref()) {
                problems.extend(render::preset_problems(&c, &t));
            }
            return Err(Error::Config(problems));
        }
        Ok(self.config.get_or_init(|| c))
    }

    /// The config when its file exists (commands for which it is optional).
    pub fn config_if_present(&self) -> Result<Option<&Config>> {
        if self.config.get().is_none() && !self.config_path.exists() {
            return Ok(None);
        }
        self.config().map(Some)
    }

    /// The templates: built-ins plus the config's `templates_dir` (when a config is present).
    pub fn templates(&self) -> Result<&Templates> {
        if let Some(t) = self.templates.get() {
            return Ok(t);
        }
        let dir = self
            .config_if_present()?
            .and_then(|c| c.templates_dir.clone());
        let t = Templates::load(dir.as_deref())?;
        Ok(self.templates.get_or_init(|| t))
    }

    /// The region: `--region`, else the config's (once it is loaded).
    pub fn region(&self) -> Option<String> {
        self.region_flag
            .clone()
            .or_else(|| self.config.get().and_then(|c| c.region.clone()))
    }

    /// The region to suggest for a new config: `--region`, else `AWS_REGION`, else us-east-1.
    pub fn region_suggestion(&self) -> String {
        self.region_flag
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
            .unwrap_or_else(|| FALLBACK_REGION.into())
    }

    /// How to reach AWS: the flags, with the config's region as a fallback.
    pub fn aws_options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region: self.region(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }

    /// The runtime (single-threaded), built on first use.
    pub fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "(tokio runtime)".into(),
                source,
            })?;
        Ok(self.runtime.get_or_init(|| rt))
    }

    /// Run a future to completion on the session's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        Ok(self.runtime()?.block_on(f))
    }

    /// The AWS clients for the current options (connected again if the options changed, e.g.
    /// after `init` wrote a config with a region).
    pub fn aws(&self) -> Result<Aws> {
        let opts = self.aws_options();
        if let Some((o, aws)) = self.aws.borrow().as_ref()
            && *o == opts
        {
            return Ok(aws.clone());
        }
        let aws = self.block_on(Aws::connect(&opts))?;
        *self.aws.borrow_mut() = Some((opts, aws.clone()));
        Ok(aws)
    }

    /// Who the credentials belong to (STS GetCallerIdentity, asked once per run).
    pub fn caller(&self) -> Result<CallerIdentity> {
        if let Some(c) = self.caller.borrow().as_ref() {
            return Ok(c.clone());
        }
        let aws = self.aws()?;
        let id = self.block_on(aws.caller_identity())?;
        self.caller_failed.set(id.is_err());
        let id = id?;
        *self.caller.borrow_mut() = Some(id.clone());
        Ok(id)
    }

    /// The caller when the credentials work, `None` otherwise (asked at most once either way):
    /// for commands where AWS credentials are optional.
    pub fn caller_if_any(&self) -> Option<CallerIdentity> {
        if self.caller_failed.get() {
            return None;
        }
        self.caller().ok()
    }

    /// `--account-id`, as given.
    pub fn account_flag(&self) -> Option<&str> {
        self.account_flag.as_deref()
    }

    /// The account pinned by `--account-id` or the config's `account_id`, validated.
    fn pinned_account(&self) -> Result<Option<String>> {
        let pinned = self
            .account_flag
            .clone()
            .or_else(|| self.config.get().and_then(|c| c.account_id.clone()));
        if let Some(a) = &pinned
            && let Err(m) = names::account_id(a)
        {
            return Err(Error::usage(
                format!("--account-id {a:?}: {m}"),
                "pass the 12-digit account ID",
            ));
        }
        Ok(pinned)
    }

    /// The partition: the config's, else the caller's, else the region's.
    fn partition(&self, caller: Option<&CallerIdentity>) -> String {
        self.config
            .get()
            .and_then(|c| c.partition.clone())
            .or_else(|| caller.map(|c| c.partition.clone()))
            .unwrap_or_else(|| {
                names::partition_of_region(self.region().as_deref().unwrap_or(FALLBACK_REGION))
                    .to_string()
            })
    }

    /// The partition when no AWS call is made (workflows, variables rendered offline).
    pub fn offline_partition(&self) -> String {
        self.partition(None)
    }

    /// The account and partition to work on. This is the one place they are resolved.
    pub fn target(&self, need: Need) -> Result<Target> {
        let p = &self.printer;
        let pinned = self.pinned_account()?;
        let (account_id, caller) = match (need, pinned) {
            (Need::Offline, Some(a)) => {
                p.debug(&format!(
                    "rendering for account {a} in partition {} (no AWS call)",
                    self.partition(None)
                ));
                (a, None)
            }
            (Need::Offline, None) => {
                p.debug("no account pinned: asking STS GetCallerIdentity");
                let id = self.caller().map_err(|e| self.offline_hint(e))?;
                p.debug(&format!(
                    "caller {} (account {}, partition {})",
                    id.arn, id.account, id.partition
                ));
                (id.account.clone(), Some(id))
            }
            (Need::Caller, _) => {
                let id = self.caller()?;
                p.note(&format!(
                    "{} {} (account {})",
                    crate::app::style::dim("caller"),
                    id.arn,
                    id.account
                ));
                if let Some(a) = &self.account_flag
                    && a != &id.account
                {
                    return Err(Error::usage(
                        format!(
                            "--account-id {a} does not match the credentials' account {}",
                            id.account
                        ),
                        "use credentials for that account, or drop --account-id",
                    ));
                }
                (id.account.clone(), Some(id))
            }
            (Need::BestEffort, pinned) => {
                let caller = self.caller_if_any();
                let account = pinned
                    .or_else(|| caller.as_ref().map(|c| c.account.clone()))
                    .ok_or_else(|| {
                        Error::usage(
                            "verify needs to know the account of the role",
                            "set account_id in keyless.toml (verify itself needs no AWS credentials) or pass --account-id",
                        )
                    })?;
                (account, caller)
            }
        };
        Ok(Target {
            account_id,
            partition: self.partition(caller.as_ref()),
        })
    }

    fn offline_hint(&self, e: Error) -> Error {
        let file = self
            .config
            .get()
            .map(|c| c.file.clone())
            .unwrap_or_else(|| self.config_path.display().to_string());
        match e {
            Error::Aws {
                op,
                code,
                message,
                hint,
            } => Error::Aws {
                op,
                code,
                message,
                hint: Some(format!(
                    "{}\n  or: this command works offline when the account is known: set account_id in {file} or pass --account-id",
                    hint.unwrap_or_default(),
                )),
            },
            other => other,
        }
    }

    /// The GitHub client for the config's issuer (github.com before a config exists), or `None`
    /// with `--no-github` or without a token; either way the user is told once.
    pub fn github(&self) -> Option<GitHub> {
        let issuer = self
            .config
            .get()
            .map(|c| c.issuer.clone())
            .unwrap_or_else(Issuer::github_com);
        self.github_for(&issuer)
    }

    /// The GitHub client for `issuer` (resolved once per run).
    pub fn github_for(&self, issuer: &Issuer) -> Option<GitHub> {
        self.github
            .get_or_init(|| {
                if self.no_github {
                    self.printer
                        .note("GitHub: not read (--no-github); only the AWS half is checked");
                    return None;
                }
                let (host, base) = github::api_base(issuer);
                let base = self.github_api_url.clone().unwrap_or(base);
                let ghes = matches!(issuer.kind, keyless::identity::issuer::IssuerKind::Ghes { .. });
                match github::discover_token(&host, ghes, |k| std::env::var(k).ok()) {
                    Some((token, source)) => {
                        self.printer
                            .debug(&format!("GitHub: {base}, token from {source}"));
                        Some(GitHub::new(&base, token, source))
                    }
                    None => {
                        self.printer.note(&format!(
                            "GitHub: not read (no token for {host}: set {}, or run `gh auth login`; --no-github silences this); only the AWS half is checked",
                            if ghes { "GH_ENTERPRISE_TOKEN" } else { "GH_TOKEN" }
                        ));
                        None
                    }
                }
            })
            .clone()
    }

    /// Add what GitHub reports about the config's repositories to the rendered roles (KL016),
    /// when GitHub can be read. A repository GitHub does not know is an error naming it.
    pub fn check_github(&self, rendered: &mut Rendered) -> Result<()> {
        let Some(facts) = self.github_facts()? else {
            return Ok(());
        };
        let mut known = std::collections::BTreeMap::new();
        for (full, f) in facts {
            match f {
                Some(f) => {
                    known.insert(full, f);
                }
                None => {
                    let gh = self.github().expect("facts came from GitHub");
                    // Ask again for the error with its fix (404: spelling, or no access).
                    self.block_on(gh.repository(&full))??;
                }
            }
        }
        render::github_findings(self.config()?, rendered, &known);
        Ok(())
    }

    /// What GitHub reports for each repository of the config (`None` for one that is gone), or
    /// `None` when GitHub is not read.
    pub fn github_facts(
        &self,
    ) -> Result<Option<std::collections::BTreeMap<String, Option<render::RepoFacts>>>> {
        let Some(gh) = self.github() else {
            return Ok(None);
        };
        let cfg = self.config()?;
        let mut repos: Vec<String> = Vec::new();
        for role in &cfg.roles {
            for s in &role.subjects {
                if let keyless::identity::subject::SubjectSpec::Repo { repo, .. } = &s.spec
                    && repo.name != "*"
                {
                    let full = format!("{}/{}", repo.owner, repo.name);
                    if !repos.contains(&full) {
                        repos.push(full);
                    }
                }
            }
        }
        let mut facts = std::collections::BTreeMap::new();
        for full in repos {
            let info = match self.block_on(gh.repository(&full))? {
                Ok(info) => info,
                Err(Error::GitHub {
                    status: Some(404), ..
                }) => {
                    facts.insert(full, None);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let settings = self.block_on(gh.subject_settings(&info.full_name))??;
            let mut environments = std::collections::BTreeMap::new();
            for role in &cfg.roles {
                for s in &role.subjects {
                    if let keyless::identity::subject::SubjectSpec::Repo {
                        repo,
                        scope: keyless::identity::subject::Scope::Environment(env),
                        ..
                    } = &s.spec
                        && format!("{}/{}", repo.owner, repo.name) == full
                        && !environments.contains_key(env)
                    {
                        let e = self.block_on(gh.environment(&info.full_name, env))??;
                        environments.insert(env.clone(), e);
                    }
                }
            }
            facts.insert(
                full,
                Some(render::RepoFacts {
                    info,
                    settings,
                    environments,
                }),
            );
        }
        Ok(Some(facts))
    }

    /// The config's roles, or the one named.
    pub fn roles(&self, name: Option<&str>) -> Result<Vec<&Role>> {
        let cfg = self.config()?;
        match name {
            None => Ok(cfg.roles.iter().collect()),
            Some(n) => cfg
                .roles
                .iter()
                .find(|r| r.name == n)
                .map(|r| vec![r])
                .ok_or_else(|| {
                    Error::usage(
                        format!("--role {n:?}: no such role in {}", cfg.file),
                        format!("use one of: {}", role_names(cfg)),
                    )
                }),
        }
    }

    /// One role: the one named, or the only one.
    pub fn role(&self, name: Option<&str>) -> Result<&Role> {
        let cfg = self.config()?;
        match (name, cfg.roles.len()) {
            (Some(_), _) => Ok(self.roles(name)?[0]),
            (None, 1) => Ok(&cfg.roles[0]),
            (None, n) => Err(Error::usage(
                format!("{} defines {n} roles", cfg.file),
                format!("pass --role with one of: {}", role_names(cfg)),
            )),
        }
    }

    /// The config's documents (all roles, or the one named), rendered for [`Need::Offline`].
    pub fn render(&self, role: Option<&str>) -> Result<Rendered> {
        let keep: Vec<String> = self
            .roles(role)?
            .into_iter()
            .map(|r| r.name.clone())
            .collect();
        let target = self.target(Need::Offline)?;
        let mut r = render::render(self.config()?, self.templates()?, &target)?;
        r.roles.retain(|x| keep.contains(&x.name));
        Ok(r)
    }

    /// The config's documents rendered for the caller's account. With `refuse_blocking`, stop
    /// on blocking lint findings before anything reads or writes the account; with
    /// `with_github`, GitHub's facts (KL016) are among them.
    pub fn render_for_caller(&self, refuse_blocking: bool, with_github: bool) -> Result<Rendered> {
        let cfg = self.config()?;
        let templates = self.templates()?;
        let target = self.target(Need::Caller)?;
        let mut rendered = render::render(cfg, templates, &target)?;
        if with_github {
            self.check_github(&mut rendered)?;
        }
        self.refuse_blocking(rendered, refuse_blocking)
    }

    /// Render for `target` (no AWS or GitHub call), refusing blocking findings when asked.
    pub fn render_for_target(&self, target: Target, refuse_blocking: bool) -> Result<Rendered> {
        let rendered = render::render(self.config()?, self.templates()?, &target)?;
        self.refuse_blocking(rendered, refuse_blocking)
    }

    fn refuse_blocking(&self, rendered: Rendered, refuse: bool) -> Result<Rendered> {
        let blocking: Vec<&Finding> = rendered.findings().filter(|f| f.blocks()).collect();
        if refuse && !blocking.is_empty() {
            self.printer.note(&findings_text(&blocking));
            return Err(Error::LintBlocked {
                count: blocking.len(),
            });
        }
        Ok(rendered)
    }

    /// What IAM holds for the rendered roles.
    pub fn observe(&self, rendered: &Rendered) -> Result<Observed> {
        Ok(self.observe_by(rendered, false)?.0)
    }

    fn observe_by(&self, rendered: &Rendered, others: bool) -> Result<(Observed, OtherTrusts)> {
        let aws = self.aws()?;
        let (observed, others, path) =
            self.block_on(aws.observe_by(rendered, self.concurrency, self.reads, others))??;
        self.note_path(path, rendered);
        Ok((observed, others))
    }

    fn note_path(&self, path: ReadPath, rendered: &Rendered) {
        self.printer.debug(&match path {
            ReadPath::PerRole => format!("read {} role(s) one by one", rendered.roles.len()),
            ReadPath::Account => format!(
                "read the whole account (ListRoles, GetAccountAuthorizationDetails) for {} role(s)",
                rendered.roles.len()
            ),
        });
    }

    /// [`Session::render_for_caller`], then what IAM holds for it (with the other roles' trusts
    /// when `others` is set). With a pinned account and no caller known yet, the reads go out
    /// while STS says who the caller is, rather than after: they are read-only, and the pin is
    /// still checked before anything is returned (a different account's reads are thrown away).
    pub fn render_and_observe(
        &self,
        refuse_blocking: bool,
        with_github: bool,
        others: bool,
    ) -> Result<(Rendered, Observed, OtherTrusts)> {
        self.config()?; // the pin may be in it
        let unknown_caller = self.caller.borrow().is_none() && !self.caller_failed.get();
        let guess = match (unknown_caller, self.pinned_account()?) {
            (true, Some(account_id)) => Some(Target {
                account_id,
                partition: self.partition(None),
            }),
            _ => None,
        };
        let early = match guess {
            Some(target) => render::render(self.config()?, self.templates()?, &target).ok(),
            None => None,
        };
        if let Some(early) = early {
            let aws = self.aws()?;
            let (id, seen) = self.block_on(async {
                tokio::join!(
                    aws.caller_identity(),
                    aws.observe_by(&early, self.concurrency, self.reads, others)
                )
            })?;
            self.caller_failed.set(id.is_err());
            *self.caller.borrow_mut() = Some(id?);
            let rendered = self.render_for_caller(refuse_blocking, with_github)?;
            if rendered.target == early.target {
                let (observed, others, path) = seen?;
                self.note_path(path, &rendered);
                return Ok((rendered, observed, others));
            }
            let (observed, others) = self.observe_by(&rendered, others)?;
            return Ok((rendered, observed, others));
        }
        let rendered = self.render_for_caller(refuse_blocking, with_github)?;
        let (observed, others) = self.observe_by(&rendered, others)?;
        Ok((rendered, observed, others))
    }

    /// The tags of the named roles (to tell which keyless config owns each).
    pub fn role_tags(
        &self,
        names: &[&str],
    ) -> Result<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>>
    {
        let aws = self.aws()?;
        self.block_on(aws.role_tags(names, self.concurrency))?
    }

    /// Render for the caller (refusing blocking findings), read the account and GitHub, and plan
    /// the apply.
    pub fn plan(&self) -> Result<Planned> {
        let (rendered, observed, _) = self.render_and_observe(true, true, false)?;
        let plan = plan::plan(&rendered, &observed)?;
        let github = self
            .github_wanted(&rendered)?
            .map(|(wanted, seen)| github_plan::plan(&wanted, &seen));
        Ok(Planned {
            rendered,
            plan,
            github,
        })
    }

    /// Render for the caller, read the account and plan the removal of the config's resources
    /// (and of the variables keyless set on GitHub).
    pub fn plan_destroy(&self) -> Result<Planned> {
        let (rendered, observed, others) = self.render_and_observe(false, true, true)?;
        let plan = plan::destroy(&rendered, &observed, &others)?;
        let github = self
            .github_wanted(&rendered)?
            .map(|(wanted, seen)| github_plan::destroy(&wanted, &seen));
        Ok(Planned {
            rendered,
            plan,
            github,
        })
    }

    /// The variables the config wants on GitHub and what GitHub holds for them; `None` when
    /// GitHub is not read.
    pub fn github_wanted(
        &self,
        rendered: &Rendered,
    ) -> Result<Option<(Vec<WantedVariable>, ObservedGitHub)>> {
        let Some(gh) = self.github() else {
            return Ok(None);
        };
        let wanted = github_plan::wanted(self.config()?, &rendered.target);
        let mut seen = ObservedGitHub::default();
        for w in &wanted {
            if let Some(env) = &w.environment {
                let key = (w.repo.clone(), env.clone());
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    seen.environments.entry(key)
                {
                    slot.insert(self.block_on(gh.environment(&w.repo, env))??);
                }
                if seen.environments[&(w.repo.clone(), env.clone())].is_none() {
                    // No environment yet, so no variable in it.
                    seen.variables.insert(
                        (w.repo.clone(), w.environment.clone(), w.name.clone()),
                        None,
                    );
                    continue;
                }
            }
            let value =
                self.block_on(gh.variable(&w.repo, w.environment.as_deref(), &w.name))??;
            seen.variables.insert(
                (w.repo.clone(), w.environment.clone(), w.name.clone()),
                value,
            );
        }
        Ok(Some((wanted, seen)))
    }

    /// Make the GitHub changes, one at a time, in order. A failure names how far it got; the
    /// next run re-reads GitHub and converges.
    pub fn execute_github(&self, plan: &GitHubPlan) -> Result<usize> {
        let Some(gh) = self.github() else {
            return Ok(0);
        };
        let total = plan.changes.len();
        for (i, c) in plan.changes.iter().enumerate() {
            self.printer.debug(&format!("{} {}", c.api(), c.address()));
            let r = match c {
                GitHubChange::CreateEnvironment { repo, environment } => {
                    self.block_on(gh.create_environment(repo, environment))?
                }
                GitHubChange::SetVariable {
                    repo,
                    environment,
                    name,
                    value,
                    before,
                } => self.block_on(gh.set_variable(
                    repo,
                    environment.as_deref(),
                    name,
                    value,
                    before.is_some(),
                ))?,
                GitHubChange::DeleteVariable {
                    repo,
                    environment,
                    name,
                    ..
                } => self.block_on(gh.delete_variable(repo, environment.as_deref(), name))?,
            };
            if let Err(e) = r {
                return Err(Error::Partial {
                    change: c.address(),
                    api: c.api().into(),
                    done: i,
                    total,
                    source: Box::new(e),
                });
            }
        }
        Ok(total)
    }

    /// The flag Ctrl-C sets; the watcher is installed on first use.
    /// Set once Ctrl-C is pressed (the watcher starts on first use); executors stop between calls.
    pub fn cancel_flag(&self) -> Result<Arc<AtomicBool>> {
        if let Some(c) = self.cancel.get() {
            return Ok(c.clone());
        }
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let rt = self.runtime()?;
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                f.store(true, Ordering::SeqCst);
            }
        });
        // Let the watcher register its handler before the first call.
        rt.block_on(tokio::task::yield_now());
        Ok(self.cancel.get_or_init(|| flag).clone())
    }

    /// Apply a plan with the library's executor: a progress bar on a terminal (not with JSON
    /// output), `-v` lines per call, Ctrl-C stops between two calls.
    pub fn execute(&self, plan: &Plan) -> Result<Outcome> {
        let cancel = self.cancel_flag()?;
        let aws = self.aws()?;
        let bar = self
            .printer
            .progress(plan.changes.len(), self.format != Format::Json);
        let p = self.printer;
        let result = self.block_on(execute::execute(plan, &aws, &cancel, |step| match step {
            Progress::Start { change, .. } => {
                bar.set_message(change.address());
                p.debug(&format!("{} {}", change.api(), change.address()));
            }
            Progress::Done { .. } => bar.inc(1),
        }))?;
        match &result {
            Ok(_) => bar.finish_and_clear(),
            Err(_) => bar.abandon(),
        }
        result
    }

    /// Ask before a write, unless `yes`; refuse to ask when stdin is not a terminal.
    pub fn confirm(&self, yes: bool, question: &str) -> Result<bool> {
        use std::io::IsTerminal;
        if yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "not asking for confirmation: stdin is not a terminal",
                "review `keyless plan`, then run again with --yes",
            ));
        }
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .map_err(|e| Error::usage(format!("confirmation failed: {e}"), "run again with --yes"))
    }
}

fn role_names(cfg: &Config) -> String {
    cfg.roles
        .iter()
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
