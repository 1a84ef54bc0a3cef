//! The resolved session: everything a run needs, worked out once from the command line, the
//! environment and the config (ripgrep's `LowArgs` → `HiArgs`). Commands ask the session; none
//! re-derives the account, partition, region, format or concurrency.
//!
//! It owns the output format and sink, the config path and (lazily) the loaded config and
//! templates, the runtime (built once in `main`), the AWS clients, the caller's identity and so
//! the target, the GitHub client, and the accounts a run works in: one (the caller's) or many
//! (`[accounts]`, each reached through an assumed role), decided once ([`Session::in_accounts`]).
//! It runs no pipeline step (those are `keyless::ops`), prints no report, and knows no
//! command's clap type.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyless::config::Source;
use keyless::config::accounts::Accounts;
use keyless::config::{Config, Role};
use keyless::error::{Error, Result};
use keyless::identity::issuer::Issuer;
use keyless::identity::names;
use keyless::io::aws::{Aws, AwsOptions, CallerIdentity};
use keyless::io::github::{self, GitHub};
use keyless::ops::accounts::{self, Fleet};
use keyless::ops::context::{Account, AccountContext, RunSettings};
use keyless::policy::template::Templates;
use keyless::state::observed::Reads;
use keyless::state::render::{self, Target};

use crate::app::args::{CommandTraits, Format, Global, ReadsArg};
use crate::app::printer::Printer;

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

/// The accounts a run works in.
pub enum Scope {
    /// The caller's account.
    One,
    /// `[accounts]`: each reached through an assumed role.
    Many {
        /// The `[accounts]` table.
        accounts: Accounts,
        /// The config's text, substituted per account.
        text: String,
    },
}

/// One account's result in a run across accounts.
pub struct AccountRun<'s, T> {
    /// The account.
    pub account_id: String,
    /// Its context (for a later step, such as apply after plan) and the operation's outcome.
    pub result: Result<(AccountContext<'s>, T)>,
}

/// The outcomes of an operation across the run's accounts.
pub enum Runs<'s, T> {
    /// The caller's account: its context and outcome (a failure is the command's error).
    One(Box<AccountContext<'s>>, T),
    /// Each account of `[accounts]`, in order; a failure in one does not stop the others.
    Many(Vec<AccountRun<'s, T>>),
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
    source: OnceCell<Option<Source>>,
    config: OnceCell<Config>,
    templates: OnceCell<Templates>,
    scope: OnceCell<Scope>,
    runtime: Rc<tokio::runtime::Runtime>,
    aws: RefCell<Option<(AwsOptions, Aws)>>,
    caller: RefCell<Option<CallerIdentity>>,
    caller_failed: std::cell::Cell<bool>,
    cancel: OnceCell<Arc<AtomicBool>>,
    github_api_url: Option<String>,
    no_github: bool,
    github: OnceCell<Option<GitHub>>,
    github_note: RefCell<Option<String>>,
}

impl Session {
    /// Resolve the global flags and the environment, for a command with `traits`, on `runtime`.
    pub fn new(g: &Global, traits: CommandTraits, runtime: tokio::runtime::Runtime) -> Session {
        if g.no_color {
            anstream::ColorChoice::Never.write_global();
        }
        let format = match g.output {
            Some(Format::Github) if !traits.ci_report => Format::Human,
            Some(f) => f,
            None if traits.ci_report
                && std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") =>
            {
                Format::Github
            }
            None => Format::Human,
        };
        Session {
            format,
            printer: Printer {
                quiet: g.quiet,
                verbose: g.verbose,
            },
            config_path: g.config.clone(),
            concurrency: traits.concurrency,
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
            source: OnceCell::new(),
            config: OnceCell::new(),
            templates: OnceCell::new(),
            scope: OnceCell::new(),
            runtime: Rc::new(runtime),
            aws: RefCell::new(None),
            caller: RefCell::new(None),
            caller_failed: std::cell::Cell::new(false),
            cancel: OnceCell::new(),
            github_api_url: g.github_api_url.clone(),
            no_github: g.no_github,
            github: OnceCell::new(),
            github_note: RefCell::new(None),
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
            source: OnceCell::new(),
            config: OnceCell::new(),
            templates: OnceCell::new(),
            scope: OnceCell::new(),
            runtime: self.runtime.clone(),
            // The same clients (and what they listed this run), unless the options change.
            aws: RefCell::new(self.aws.borrow().clone()),
            caller: RefCell::new(self.caller.borrow().clone()),
            caller_failed: std::cell::Cell::new(self.caller_failed.get()),
            cancel: OnceCell::new(),
            github_api_url: self.github_api_url.clone(),
            no_github: self.no_github,
            github: OnceCell::from(self.github.get().cloned().flatten()),
            github_note: RefCell::new(None),
        }
    }

    /// The config file as read: once per run (capped), `None` when there is no file. Every
    /// later step (the config, `[accounts]`, `[guard]`) starts from it.
    fn source(&self) -> Result<Option<&Source>> {
        if let Some(s) = self.source.get() {
            return Ok(s.as_ref());
        }
        let source = match Source::read(&self.config_path) {
            Ok(s) => Some(s),
            // A missing config is reported by whatever needs it.
            Err(Error::Config(e)) if e.first().is_some_and(|e| e.key == "(file)") => None,
            Err(e) => return Err(e),
        };
        Ok(self.source.get_or_init(|| source).as_ref())
    }

    /// The config, loaded on first use (with `[accounts]`, `--account-id` chooses whose view
    /// it is: render, lint, emit).
    pub fn config(&self) -> Result<&Config> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let c = match self.source()? {
            Some(source) => render::load_config(source, self.account_flag.as_deref())?,
            // Read again for the error that says how to make one.
            None => {
                return Err(Source::read(&self.config_path)
                    .err()
                    .unwrap_or_else(|| Error::Bug {
                        message: "the config appeared during the run".into(),
                    }));
            }
        };
        Ok(self.config.get_or_init(|| c))
    }

    /// The config file as read this run (its text for an in-place edit).
    pub fn config_source(&self) -> Result<&Source> {
        self.config()?;
        self.source()?.ok_or_else(|| Error::Bug {
            message: "the config loaded without a source".into(),
        })
    }

    /// The config's `[guard]`, checked for `partition` (which claim keys its issuers pass to IAM
    /// depends on it); an error naming the file when it has none.
    pub fn guard(&self, partition: &str) -> Result<keyless::config::guard::Guard> {
        self.config()?.guard(partition)
    }

    /// The config when its file exists (commands for which it is optional).
    pub fn config_if_present(&self) -> Result<Option<&Config>> {
        if self.source()?.is_none() {
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

    /// How to reach AWS: the flags, with the config's region as a fallback, then the
    /// environment's (as the SDK would take it): the same effective options compare equal, so
    /// a run that writes a config with the region it already used keeps its clients.
    pub fn aws_options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region: self.region().or_else(|| {
                ["AWS_REGION", "AWS_DEFAULT_REGION"]
                    .iter()
                    .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            }),
            endpoint_url: self.endpoint_url.clone(),
        }
    }

    /// Run a future to completion on the run's runtime (built once, in `main`).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
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
        for (var, url) in keyless::io::http::proxies_from_env().unwrap_or_default() {
            self.printer.debug(&format!("proxy: {url} ({var})"));
        }
        *self.aws.borrow_mut() = Some((opts, aws.clone()));
        Ok(aws)
    }

    /// Who the credentials belong to (STS GetCallerIdentity, asked once per run).
    pub fn caller(&self) -> Result<CallerIdentity> {
        if let Some(c) = self.caller.borrow().as_ref() {
            return Ok(c.clone());
        }
        let aws = self.aws()?;
        let id = self.block_on(aws.caller_identity());
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

    /// [`Session::caller_if_any`], with `beside` run at the same time (one round trip for
    /// both); `beside` gets the clients, and is not run when there are none.
    pub fn caller_beside<T>(
        &self,
        beside: impl AsyncFnOnce(&Aws) -> T,
    ) -> (Option<CallerIdentity>, Option<T>) {
        if self.caller.borrow().is_some() || self.caller_failed.get() {
            let aws = self.aws().ok();
            let other = aws.as_ref().map(|a| self.block_on(beside(a)));
            return (self.caller_if_any(), other);
        }
        let Ok(aws) = self.aws() else {
            return (None, None);
        };
        let (id, other) = self.block_on(accounts::identified_while(&aws, beside(&aws)));
        self.caller_failed.set(id.is_err());
        if let Ok(id) = &id {
            *self.caller.borrow_mut() = Some(id.clone());
        }
        (id.ok(), Some(other))
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
    pub fn github(&self) -> Option<&GitHub> {
        let issuer = self
            .config
            .get()
            .map(|c| c.issuer.clone())
            .unwrap_or_else(Issuer::github_com);
        self.github_for(&issuer)
    }

    /// The GitHub client for `issuer` (resolved once per run).
    pub fn github_for(&self, issuer: &Issuer) -> Option<&GitHub> {
        let gh = self.github_quiet(issuer);
        self.flush_github_note();
        gh
    }

    /// Say why GitHub is not read, once, if that was decided and not said yet.
    fn flush_github_note(&self) {
        if let Some(note) = self.github_note.borrow_mut().take() {
            self.printer.note(&note);
        }
    }

    /// [`Session::github_for`], keeping the note for [`Session::flush_github_note`] (so that a
    /// run that fails on its credentials first says only that).
    fn github_quiet(&self, issuer: &Issuer) -> Option<&GitHub> {
        self.github
            .get_or_init(|| {
                if self.no_github {
                    *self.github_note.borrow_mut() = Some(
                        "GitHub: not read (--no-github); only the AWS half is checked".into(),
                    );
                    return None;
                }
                let (host, base) = github::api_base(issuer);
                let base = self.github_api_url.clone().unwrap_or(base);
                let ghes = matches!(issuer.kind, keyless::identity::issuer::IssuerKind::Ghes { .. });
                match github::discover_token(&host, ghes, |k| std::env::var(k).ok()) {
                    Some((token, source)) => {
                        self.printer
                            .debug(&format!(
                                "GitHub: {}, token from {source}",
                                keyless::io::http::redacted(&base)
                            ));
                        Some(GitHub::new(&base, token, source))
                    }
                    None => {
                        *self.github_note.borrow_mut() = Some(format!(
                            "GitHub: not read (no token for {host}: set {}, or run `gh auth login`; --no-github silences this); only the AWS half is checked",
                            if ghes { "GH_ENTERPRISE_TOKEN" } else { "GH_TOKEN" }
                        ));
                        None
                    }
                }
            })
            .as_ref()
    }

    /// The accounts this run works in, decided once: the config's `[accounts]`, else the
    /// caller's.
    pub fn scope(&self) -> Result<&Scope> {
        if let Some(s) = self.scope.get() {
            return Ok(s);
        }
        let scope = match self.source()? {
            Some(Source {
                accounts: Some(accounts),
                text,
                ..
            }) => Scope::Many {
                accounts: accounts.clone(),
                text: text.clone(),
            },
            _ => Scope::One,
        };
        Ok(self.scope.get_or_init(|| scope))
    }

    /// Whether the run works in several accounts.
    pub fn is_many(&self) -> Result<bool> {
        Ok(matches!(self.scope()?, Scope::Many { .. }))
    }

    /// How operations read in this run.
    fn settings(&self, many: bool) -> RunSettings {
        RunSettings {
            concurrency: self.concurrency,
            reads: self.reads,
            github_variables: !many,
        }
    }

    /// The caller's account, reached (for operations that need no config: audit).
    pub fn account(&self, need: Need) -> Result<Account<'_>> {
        let target = self.target(need)?;
        Ok(Account {
            aws: self.aws()?,
            target,
            github: self.github(),
            settings: self.settings(false),
        })
    }

    /// Run `op` in each account of the run, `--account-concurrency` at a time, and hand back
    /// every outcome with the context it ran in. One account: the caller's (`need` says how it
    /// is found), and its failure is the command's. Many: each reached through the assumed
    /// role, with the config as that account sees it; one failing does not stop the others.
    ///
    /// With a pinned account and no caller known yet, the operation starts while STS says who
    /// the caller is, rather than after (operations passed here only read); the pin is checked
    /// before anything is returned, and an outcome for another account is thrown away.
    pub fn in_accounts<'s, T>(
        &'s self,
        need: Need,
        op: impl AsyncFn(&AccountContext<'s>) -> Result<T>,
    ) -> Result<Runs<'s, T>> {
        if let Scope::Many { accounts, text } = self.scope()? {
            return Ok(Runs::Many(self.many(accounts, text, &op)?));
        }
        let cfg = self.config()?;
        let templates = self.templates()?;
        let github = self.github_quiet(&cfg.issuer);
        let context = |target: Target| -> Result<AccountContext<'s>> {
            Ok(AccountContext {
                account: Account {
                    aws: self.aws()?,
                    target,
                    github,
                    settings: self.settings(false),
                },
                config: Cow::Borrowed(cfg),
                templates,
            })
        };
        let unknown_caller = self.caller.borrow().is_none() && !self.caller_failed.get();
        if need == Need::Caller
            && unknown_caller
            && let Some(account_id) = self.pinned_account()?
        {
            let guess = context(Target {
                account_id,
                partition: self.partition(None),
            })?;
            let aws = guess.account.aws.clone();
            let (id, outcome) = self.block_on(accounts::identified_while(&aws, op(&guess)));
            self.caller_failed.set(id.is_err());
            *self.caller.borrow_mut() = Some(id.map_err(|e| self.config_problem_first(e))?);
            let target = self.target(Need::Caller)?;
            self.flush_github_note();
            if target == guess.account.target {
                return Ok(Runs::One(Box::new(guess), outcome?));
            }
            let ctx = context(target)?;
            let outcome = self.block_on(op(&ctx))?;
            return Ok(Runs::One(Box::new(ctx), outcome));
        }
        let target = self
            .target(need)
            .map_err(|e| self.config_problem_first(e))?;
        let ctx = context(target)?;
        self.flush_github_note();
        let outcome = self.block_on(op(&ctx))?;
        Ok(Runs::One(Box::new(ctx), outcome))
    }

    /// When AWS could not be reached (no credentials, a refused identity), a problem in the
    /// config itself is the one to report: it needs no credentials to see and must be fixed
    /// either way, so the user is not sent to fix credentials first and the config after.
    /// Costs nothing when AWS answers: the config is rendered here only on that failure.
    fn config_problem_first(&self, aws: Error) -> Error {
        let (Ok(cfg), Ok(templates)) = (self.config(), self.templates()) else {
            return aws;
        };
        match render::render(cfg, templates, &render::placeholder_target(cfg)) {
            Err(e @ (Error::Config(_) | Error::LintBlocked { .. })) => e,
            _ => aws,
        }
    }

    /// Each account of `[accounts]`: its ID (the listed ones, then the organizational units'),
    /// reached and run.
    fn many<'s, T>(
        &'s self,
        accounts: &'s Accounts,
        text: &'s str,
        op: &impl AsyncFn(&AccountContext<'s>) -> Result<T>,
    ) -> Result<Vec<AccountRun<'s, T>>> {
        let base = self.aws()?;
        let caller = self.caller()?;
        let templates = self.templates()?;
        let github = self.github_for_accounts();
        let file = self.config_path.display().to_string();
        let fleet = Fleet {
            base: &base,
            accounts,
            view: keyless::config::accounts::PerAccount::new(text, &file)?,
            file,
            dir: self.config_dir(),
            partition: &caller.partition,
        };
        let ids = self.block_on(fleet.ids(&caller.account))?;
        self.printer.note(&format!(
            "{} account(s), {} at a time, through role {} from {}",
            ids.len(),
            self.account_concurrency,
            accounts.role,
            caller.arn
        ));
        let settings = self.settings(true);
        let fleet = &fleet;
        let runs = self.block_on(accounts::each(
            ids,
            self.account_concurrency,
            |id| async move {
                let result = async {
                    let (config, account) = fleet.reach(&id, github, settings).await?;
                    let ctx = AccountContext {
                        account,
                        config: Cow::Owned(config),
                        templates,
                    };
                    let outcome = op(&ctx).await?;
                    Ok((ctx, outcome))
                }
                .await;
                AccountRun {
                    account_id: id,
                    result,
                }
            },
        ));
        Ok(runs)
    }

    /// The GitHub client for the config's issuer in a run across accounts: the issuer of the
    /// config as the run's view sees it, problems and all (each account's own view fails on its
    /// own), else github.com.
    fn github_for_accounts(&self) -> Option<&GitHub> {
        let issuer = self
            .source()
            .ok()
            .flatten()
            .and_then(|s| s.load_partial(self.account_flag.as_deref()).ok())
            .map(|(c, _)| c.issuer)
            .unwrap_or_else(Issuer::github_com);
        self.github_for(&issuer)
    }

    /// The config file's directory: policy files and templates are relative to it.
    pub fn config_dir(&self) -> PathBuf {
        self.config_path
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default()
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

    /// The flag Ctrl-C sets; the watcher is installed on first use.
    /// Set once Ctrl-C is pressed (the watcher starts on first use); executors stop between calls.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        if let Some(c) = self.cancel.get() {
            return c.clone();
        }
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let rt = &self.runtime;
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                f.store(true, Ordering::SeqCst);
            }
        });
        // Let the watcher register its handler before the first call.
        rt.block_on(tokio::task::yield_now());
        self.cancel.get_or_init(|| flag).clone()
    }

    /// Ask before a write, unless `yes`; refuse to ask when stdin is not a terminal.
    pub fn confirm(&self, yes: bool, question: &str) -> Result<bool> {
        self.confirm_reviewed(yes, question, "keyless plan")
    }

    /// [`Session::confirm`], naming `review` (the command that shows what would change) in the
    /// refusal.
    pub fn confirm_reviewed(&self, yes: bool, question: &str, review: &str) -> Result<bool> {
        use std::io::IsTerminal;
        if yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "not asking for confirmation: stdin is not a terminal",
                format!("review `{review}`, then run again with --yes"),
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
