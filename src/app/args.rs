//! The command line: clap definitions only (ripgrep's "low args"). The session turns them into
//! resolved settings once; a command reads its own arguments on its first line and never passes
//! them on. Help, the man page and shell completions all come from this one definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `--output`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text.
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions annotations, plus a Markdown summary in $GITHUB_STEP_SUMMARY (check, audit).
    Github,
}

/// How many roles `check` reads at once unless `--concurrency` says otherwise (and what every
/// other command that reads roles uses).
pub const DEFAULT_CONCURRENCY: u16 = 8;

const EXIT_CODES: &str = "\
Exit codes:
  0  success: nothing blocking, nothing to change
  1  error: bad config, bad flag, unreadable input, refused change, or AWS could not be reached
  2  findings: `lint`/`render` found a blocking lint finding; `plan --detailed-exitcode` has
     changes; `check` found drift at or above --fail-on

Docs: README.md in the keyless repository.";

/// Set up the AWS side of GitHub Actions OIDC federation, so no workflow needs a stored AWS key.
#[derive(Debug, Parser)]
#[command(name = "keyless", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The desired-state file.
    #[arg(
        short = 'c',
        long,
        global = true,
        env = "KEYLESS_CONFIG",
        default_value = "keyless.toml"
    )]
    pub config: PathBuf,
    /// Output format [default: human; for `check` under GitHub Actions: github].
    #[arg(long, global = true, value_enum)]
    pub output: Option<Format>,
    /// Never colour output (also: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More detail on stderr (never secrets).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// AWS named profile.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region.
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS endpoint URL (also: AWS_ENDPOINT_URL).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Render for this account instead of asking STS (or the config's account_id).
    #[arg(long, global = true, value_name = "ID")]
    pub account_id: Option<String>,
    /// GitHub REST API base URL (default: from the issuer, e.g. https://api.github.com).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "KEYLESS_GITHUB_API_URL"
    )]
    pub github_api_url: Option<String>,
    /// Do not read GitHub (repository IDs, subject form); only the AWS half is checked.
    #[arg(long, global = true)]
    pub no_github: bool,
    /// How plan, apply, check and destroy read IAM: role by role, or the whole account with
    /// GetAccountAuthorizationDetails; `auto` picks the cheaper (README: "Reading the account").
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "KEYLESS_READS"
    )]
    pub reads: ReadsArg,
    /// With `[accounts]` in the config: how many accounts plan, apply, destroy, check and audit
    /// work in at once (each account's IAM quotas are its own; the assume-role calls all come
    /// from the caller's account, and a throttled call is retried with backoff).
    #[arg(long, global = true, value_name = "N", default_value_t = 64)]
    pub account_concurrency: u16,
}

/// `--reads`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadsArg {
    /// The whole account when it holds up to 1,000 roles (one page) or the config names at
    /// least one in 50 of them; else role by role.
    Auto,
    /// GetRole and its policies per configured role.
    PerRole,
    /// ListRoles and GetAccountAuthorizationDetails for the whole account.
    Account,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up an account: answer a few questions (or give them as flags), write keyless.toml,
    /// show the plan and offer to apply.
    Init(Box<InitArgs>),
    /// Show what apply would change in IAM (read-only).
    Plan(PlanArgs),
    /// Create or update the provider, roles and policies to match the config.
    Apply(ApplyArgs),
    /// Delete the config's roles and keyless-owned policies (and the provider if keyless owns it
    /// and nothing else trusts it).
    Destroy(DestroyArgs),
    /// Compare the live account with the config and report drift (read-only; for scheduled CI).
    Check(CheckArgs),
    /// Audit the whole account, config or not: every role that trusts a GitHub provider, with the
    /// full trust lint and its permissions, and providers no role uses (read-only).
    Audit(AuditArgs),
    /// What each config role (or any role or IAM user, --arn) actually used, against what it is
    /// granted: IAM's last-accessed data, CloudTrail event history, a trail's files (read-only).
    Usage(UsageArgs),
    /// Propose the permissions each config role used as a change to keyless.toml, proven never
    /// wider than today's grant; shows the diff and the plan, writes with --write.
    Tighten(TightenArgs),
    /// Stored AWS keys: secrets GitHub holds (repository, environment, organisation), the
    /// workflows that pass them, IAM users' keys, and the evidence linking them (read-only);
    /// `keys identify` names the key a workflow's stored secrets hold.
    Keys(KeysArgs),
    /// Move a repository from its stored AWS key to a role, one safe step per run: replace
    /// (the role that does what the key did), switch (the workflows), prove, deactivate, delete.
    MigrateKeys(MigrateKeysArgs),
    /// Prove a role works: a real AssumeRoleWithWebIdentity exchange, then GetCallerIdentity.
    Verify(VerifyArgs),
    /// Explain, offline, whether a token would be admitted by a role's trust policy, and why not.
    Explain(ExplainArgs),
    /// Describe roles made by hand as keyless.toml (adopt = true): subjects read back from their
    /// trust, policies, boundary, tags; then `plan` changes no document.
    Import(ImportArgs),
    /// Move a repository to immutable subjects, one safe step per run: trust both forms, switch
    /// the repository, drop the classic form (needs GitHub access).
    MigrateSubjects(MigrateArgs),
    /// Export what apply creates in one account as a CloudFormation template (for StackSets that
    /// roll it out to organizational units); --stack-set also writes the StackSets steps.
    Export(ExportArgs),
    /// Print every role's trust and permission documents, rendered and linted.
    Render(RoleArg),
    /// Lint the config's documents, or any trust/permission policy JSON.
    Lint(LintArgs),
    /// Print what the GitHub side needs: the deploy workflow, the AWS_ROLE_ARN variable, or the
    /// scheduled check and audit workflows.
    Emit(EmitArgs),
    /// Guard the organisation: one AWS Organizations resource control policy that refuses
    /// GitHub tokens from owners outside `[guard] owner_ids` for every role in the targets,
    /// hand-made ones included; plan shows a dry run over the targets' accounts.
    Guard(GuardArgs),
    /// List the permission presets and their parameters.
    Presets,
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

/// What the command line says about the command, beyond the global flags (worked out by the
/// caller from the command's own arguments).
#[derive(Debug, Clone, Copy)]
pub struct CommandTraits {
    /// How many roles to read at once.
    pub concurrency: usize,
    /// The command has a GitHub Actions view (check, audit): `--output github` applies, and is
    /// the default inside GitHub Actions.
    pub ci_report: bool,
}

impl Command {
    /// What the session needs to know about this command.
    pub fn traits(&self) -> CommandTraits {
        CommandTraits {
            concurrency: match self {
                Command::Check(a) => usize::from(a.concurrency),
                _ => usize::from(DEFAULT_CONCURRENCY),
            },
            ci_report: matches!(self, Command::Check(_) | Command::Audit(_)),
        }
    }
}

/// `--role`
#[derive(Debug, Args)]
pub struct RoleArg {
    /// Only this role.
    #[arg(long)]
    pub role: Option<String>,
}

/// `check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Exit 2 when drift of this severity or worse is found.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: SeverityArg,
    /// How many roles to read at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Also write the trust map of the config's roles, with the drift, to this file (one
    /// self-contained HTML page).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// Also read each role's records (IAM last-accessed data, CloudTrail event history) and
    /// report `unused_permission` (low) for actions unused over the window.
    #[arg(long)]
    pub usage: bool,
    /// Days of records for --usage.
    #[arg(long, value_name = "DAYS", default_value_t = 90, requires = "usage")]
    pub usage_days: u32,
}

/// `audit` arguments.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Exit 2 when a finding of this severity or worse is found.
    #[arg(long, value_enum, default_value = "medium")]
    pub fail_on: SeverityArg,
    /// Also write the findings as SARIF 2.1.0 to this file (for GitHub code scanning's
    /// upload-sarif).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<std::path::PathBuf>,
    /// Report roles not used (IAM's RoleLastUsed) for more than this many days; 0: never.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub unused_days: u32,
    /// Also write the trust map to this file: one self-contained HTML page of which
    /// repositories can reach which roles and what those roles can do.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// Also read each hand-made GitHub role's records (IAM last-accessed data, CloudTrail
    /// event history) and report KA008 for a grant far wider than its use.
    #[arg(long)]
    pub usage: bool,
    /// Days of records for --usage.
    #[arg(long, value_name = "DAYS", default_value_t = 90, requires = "usage")]
    pub usage_days: u32,
}

/// Where `usage` and `tighten` read the records from.
#[derive(Debug, Args)]
pub struct UsageReadArgs {
    /// Days of records to read (CloudTrail event history keeps 90; IAM's last-accessed data
    /// 400, with --no-event-history).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub days: u32,
    /// A directory of the account's CloudTrail trail log files (gzip JSON, as the trail
    /// delivers them): adds data events, i.e. S3 object reads and writes.
    #[arg(long, value_name = "DIR")]
    pub cloudtrail: Option<std::path::PathBuf>,
    /// Read event history in these Regions (default: those IAM's last-accessed data shows in
    /// use, and the session's).
    #[arg(long = "trail-region", value_name = "REGION", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Do not read CloudTrail event history.
    #[arg(long)]
    pub no_event_history: bool,
    /// Do not read IAM's last-accessed data.
    #[arg(long)]
    pub no_last_accessed: bool,
    /// Stop reading a Region's event history after this many events (the report says so).
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub max_events: usize,
    /// Read only role sessions of this name from event history (configure-aws-credentials
    /// names them `GitHubActions`): far fewer requests in a busy account; sessions named
    /// otherwise are not seen.
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
}

/// `usage` arguments.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Only this config role (repeatable).
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// Any IAM role or user by ARN instead of the config's roles (repeatable); its grant is
    /// read from IAM.
    #[arg(long = "arn", value_name = "ARN")]
    pub arns: Vec<String>,
    /// Where to read the records from.
    #[command(flatten)]
    pub read: UsageReadArgs,
    /// Also write the trust map with what each role used: used permissions solid, granted
    /// but unused ones faint (one self-contained HTML page).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// `tighten` arguments.
#[derive(Debug, Args)]
pub struct TightenArgs {
    /// Only this config role (repeatable).
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// Where to read the records from.
    #[command(flatten)]
    pub read: UsageReadArgs,
    /// Refuse to tighten a role with fewer days of records than this.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub min_days: u32,
    /// Keep the exact S3 objects seen, instead of widening them to their folder.
    #[arg(long)]
    pub exact_resources: bool,
    /// Write keyless.toml and the policy files (otherwise the diff and the plan are shown and
    /// a terminal is asked).
    #[arg(long)]
    pub write: bool,
}

/// `keys` arguments.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct KeysArgs {
    /// `keys identify`.
    #[command(subcommand)]
    pub action: Option<KeysAction>,
    /// A repository to read (repeatable).
    #[arg(long = "repo", value_name = "OWNER/REPO")]
    pub repos: Vec<String>,
    /// Every repository of this organisation (and its organisation secrets).
    #[arg(long, value_name = "ORG")]
    pub owner: Option<String>,
    /// Exit 2 when a finding of this severity or worse is found.
    #[arg(long, value_enum, default_value = "medium")]
    pub fail_on: SeverityArg,
    /// Also write the findings as SARIF 2.1.0 to this file.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<std::path::PathBuf>,
    /// Do not read CloudTrail for the keys' calls (then no key is linked by its use).
    #[arg(long)]
    pub no_cloudtrail: bool,
    /// Days of CloudTrail event history to read for each key (at most 90).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub days: u32,
    /// Also write the trust map of stored keys: each IAM user with a key, reached from the
    /// repositories holding it (drawn unlike OIDC), with what its policies allow.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// `migrate-keys` arguments.
#[derive(Debug, Args)]
pub struct MigrateKeysArgs {
    /// The repository to move.
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: String,
    /// A checkout of the repository: the switched workflows are written there (to commit).
    #[arg(long, value_name = "DIR")]
    pub workflows: Option<std::path::PathBuf>,
    /// The branch the new role admits.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Days the key stays inactive (and unused) before it and its secrets are deleted.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub grace_days: u32,
    /// Refuse to build the role on fewer days of the key's records.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub min_days: u32,
    /// Reactivate a key migrate-keys deactivated.
    #[arg(long)]
    pub undo: bool,
    /// Make the step without asking.
    #[arg(long)]
    pub yes: bool,
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Run in a workflow with its stored secrets: GetCallerIdentity with the repository's ID in
    /// the user agent, so CloudTrail records which repository holds the key; prints the user
    /// ARN and the access key ID, never the secret.
    Identify {
        /// The repository's numeric ID (default: `GITHUB_REPOSITORY_ID`, set in every job).
        #[arg(long, value_name = "ID")]
        repo_id: Option<u64>,
    },
}

/// A severity on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    /// Everything.
    Info,
    /// low and worse.
    Low,
    /// warning and worse.
    Warning,
    /// medium and worse.
    Medium,
    /// error and worse.
    Error,
    /// high and worse.
    High,
    /// critical only.
    Critical,
}

impl From<SeverityArg> for keyless::policy::lint::Severity {
    fn from(s: SeverityArg) -> Self {
        use keyless::policy::lint::Severity as S;
        match s {
            SeverityArg::Info => S::Info,
            SeverityArg::Low => S::Low,
            SeverityArg::Warning => S::Warning,
            SeverityArg::Medium => S::Medium,
            SeverityArg::Error => S::Error,
            SeverityArg::High => S::High,
            SeverityArg::Critical => S::Critical,
        }
    }
}

/// `init` arguments: every question has a flag.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Ask nothing: take defaults and flags; stop with the list of missing flags if a required
    /// answer is missing.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// With --yes: apply right away (otherwise init writes the file and shows the plan).
    #[arg(long)]
    pub apply: bool,
    /// Overwrite an existing config file.
    #[arg(long, conflicts_with = "add")]
    pub force: bool,
    /// Add the role to an existing config file (kept as written, comments included) instead
    /// of writing a new one.
    #[arg(long)]
    pub add: bool,
    /// The config's name, tagged on what it creates (default: from the repository, with a
    /// suffix when another config in the account already uses it).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// GitHub issuer URL (default github.com).
    #[arg(long, conflicts_with_all = ["enterprise_slug", "ghe_com", "ghes_host"])]
    pub issuer: Option<String>,
    /// github.com enterprise with a unique issuer: its slug.
    #[arg(long)]
    pub enterprise_slug: Option<String>,
    /// GHE.com subdomain.
    #[arg(long)]
    pub ghe_com: Option<String>,
    /// GitHub Enterprise Server host.
    #[arg(long)]
    pub ghes_host: Option<String>,
    /// Repository to trust, OWNER/REPO (repeat for several).
    #[arg(long = "repo", value_name = "OWNER/REPO")]
    pub repos: Vec<String>,
    /// Trust jobs on this branch.
    #[arg(long, conflicts_with_all = ["tag", "environment", "pull_request", "any_ref"])]
    pub branch: Option<String>,
    /// Trust jobs on this tag (pattern allowed, e.g. v*).
    #[arg(long, conflicts_with_all = ["environment", "pull_request", "any_ref"])]
    pub tag: Option<String>,
    /// Trust jobs that declare this environment.
    #[arg(long, conflicts_with_all = ["pull_request", "any_ref"])]
    pub environment: Option<String>,
    /// Trust pull_request jobs.
    #[arg(long, conflicts_with = "any_ref")]
    pub pull_request: bool,
    /// Trust every job of the repository (broad: lint KL006).
    #[arg(long)]
    pub any_ref: bool,
    /// Subject format.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Owner ID (immutable subjects; one repository only).
    #[arg(long, requires = "repo_id")]
    pub owner_id: Option<String>,
    /// Repository ID (immutable subjects; one repository only).
    #[arg(long, requires = "owner_id")]
    pub repo_id: Option<String>,
    /// Also require each repository's owner by ID (claim repository_owner_id; the ID comes from
    /// GitHub, or --owner-id): no one can take over the trust by registering a deleted owner's
    /// name, and it is what an organisation-wide guardrail keys on.
    #[arg(long)]
    pub pin_owner: bool,
    /// Permission preset (repeat for several; see `keyless presets`).
    #[arg(long = "preset", value_name = "NAME")]
    pub presets: Vec<String>,
    /// Preset parameter KEY=VALUE, or PRESET.KEY=VALUE when presets share a key.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Managed policy ARN to attach (repeat for several).
    #[arg(long = "managed-policy", value_name = "ARN")]
    pub managed_policies: Vec<String>,
    /// Role name (default: gha-<repo>-deploy).
    #[arg(long)]
    pub role_name: Option<String>,
    /// Max session seconds, 3600–43200 (default 3600).
    #[arg(long, value_name = "SECONDS")]
    pub max_session: Option<i64>,
}

/// `--format`
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    /// repo:OWNER/REPO:...
    Classic,
    /// repo:OWNER@ID/REPO@ID:...
    Immutable,
    /// Both, while a repository migrates.
    Both,
}

/// `verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The role (required when the config has more than one).
    #[arg(long)]
    pub role: Option<String>,
    /// Read the token from this file (after the Actions runner endpoint, if present).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Read the token from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Also verify the token's signature against the issuer's JWKS (found via its discovery document).
    #[arg(long)]
    pub check_signature: bool,
    /// A resource control policy of the organisation that applies to the role (JSON; repeat
    /// for more): the pre-flight then says when the organisation's guard refuses the token.
    #[arg(long = "rcp", value_name = "FILE")]
    pub rcps: Vec<PathBuf>,
    /// Discovery document URL to use instead of `<iss>/.well-known/openid-configuration`.
    #[arg(long, value_name = "URL", requires = "check_signature")]
    pub discovery_url: Option<String>,
    /// Role session name.
    #[arg(long, default_value = "keyless-verify")]
    pub session_name: String,
    /// Retry denials that can be IAM propagation for up to this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub retry_for: u64,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The role (required when the config has more than one).
    #[arg(long)]
    pub role: Option<String>,
    /// Evaluate the live role's trust policy instead of the config's.
    #[arg(long, conflicts_with = "policy")]
    pub live: bool,
    /// Evaluate this trust policy JSON file instead.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A resource control policy of the organisation that applies to the role (JSON; repeat
    /// for more). With --live they are read from AWS Organizations when the credentials allow.
    #[arg(long = "rcp", value_name = "FILE")]
    pub rcps: Vec<PathBuf>,
    /// The token's claims: a JSON object (a decoded token payload), or the raw token.
    #[arg(long, value_name = "FILE", conflicts_with = "repo")]
    pub claims: Option<PathBuf>,
    /// Describe the job instead: its repository, OWNER/REPO.
    #[arg(long, required_unless_present = "claims")]
    pub repo: Option<String>,
    /// The triggering event: push, pull_request, workflow_dispatch, schedule, ...
    #[arg(long, default_value = "push")]
    pub event: String,
    /// The ref: refs/heads/BRANCH, refs/tags/TAG, refs/pull/N/merge.
    #[arg(long = "ref", default_value = "refs/heads/main", value_name = "REF")]
    pub git_ref: String,
    /// The job's environment, if it declares one.
    #[arg(long)]
    pub environment: Option<String>,
    /// Repository ID (with --owner-id: the immutable sub form).
    #[arg(long, requires = "owner_id")]
    pub repo_id: Option<String>,
    /// Owner ID.
    #[arg(long, requires = "repo_id")]
    pub owner_id: Option<String>,
    /// The repository emits immutable subjects (needs --repo-id and --owner-id).
    #[arg(long, requires = "repo_id")]
    pub immutable: bool,
    /// The job_workflow_ref claim (for reusable workflows).
    #[arg(long)]
    pub job_workflow_ref: Option<String>,
    /// The audience the job requests (default: the config's first audience).
    #[arg(long)]
    pub audience: Option<String>,
}

/// `import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A role to import (repeat for several).
    #[arg(
        long = "role",
        value_name = "NAME",
        required_unless_present = "all_github"
    )]
    pub roles: Vec<String>,
    /// Import every role whose trust federates with a GitHub Actions issuer.
    #[arg(long, conflicts_with = "roles")]
    pub all_github: bool,
    /// Overwrite an existing config file.
    #[arg(long, conflicts_with = "add")]
    pub force: bool,
    /// Add the role to an existing config file (kept as written, comments included) instead
    /// of writing a new one.
    #[arg(long)]
    pub add: bool,
    /// The config's name, tagged on what it creates (default: from the repository, with a
    /// suffix when another config in the account already uses it).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// `migrate-subjects` arguments.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The repository, OWNER/REPO, as the config names it.
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: String,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `apply` arguments.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Afterwards, run `verify` for each role this job's token is meant for (needs a token
    /// source: inside GitHub Actions, or AWS_WEB_IDENTITY_TOKEN_FILE).
    #[arg(long)]
    pub verify: bool,
}

/// `destroy` arguments.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `guard` arguments.
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: GuardAction,
    /// Do not ask for confirmation (apply, destroy; required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Skip the dry run over the targets' accounts (plan, apply).
    #[arg(long)]
    pub no_dry_run: bool,
}

/// What `guard` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuardAction {
    /// Show the policy, the changes and the dry run (read-only).
    Plan,
    /// Enable the policy type, create or update the policy and attach it.
    Apply,
    /// Report drift: the policy edited, detached or the type disabled (exit 2).
    Check,
    /// Detach and delete keyless's guard policy (nothing else).
    Destroy,
}

/// `lint` arguments.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lint this policy JSON file (`-` for stdin) instead of the config.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The policy's kind (default: detected from the document).
    #[arg(long, value_enum, requires = "policy")]
    pub kind: Option<KindArg>,
    /// Only this role of the config.
    #[arg(long, conflicts_with = "policy")]
    pub role: Option<String>,
    /// Print the rule catalogue and exit.
    #[arg(long, conflicts_with_all = ["policy", "kind", "role"])]
    pub rules: bool,
}

/// `--kind`
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// A role trust policy.
    Trust,
    /// A permission policy.
    Permission,
}

/// `emit` arguments.
#[derive(Debug, Args)]
pub struct EmitArgs {
    /// What to emit.
    #[arg(value_enum)]
    pub what: EmitWhat,
    /// The role (required when the config has more than one).
    #[arg(long)]
    pub role: Option<String>,
}

/// `export` arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format.
    #[arg(value_enum)]
    pub what: ExportWhat,
    /// Write the template (keyless.cfn.json) into this directory instead of printing it.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// Also write deploy-stack-set.sh: create-stack-set (service-managed permissions, automatic
    /// deployment) and create-stack-instances to each --ou.
    #[arg(long, value_name = "NAME", requires_all = ["ous", "dir"])]
    pub stack_set: Option<String>,
    /// An organizational unit (ou-…) or the root (r-…) to deploy to; repeat for more.
    #[arg(long = "ou", value_name = "OU_ID")]
    pub ous: Vec<String>,
    /// The steps run as a delegated administrator for StackSets (--call-as DELEGATED_ADMIN).
    #[arg(long, requires = "stack_set")]
    pub delegated_admin: bool,
    /// Export the config's [guard] instead: the organisation's resource control policy as an
    /// AWS::Organizations::Policy (keyless-guard.cfn.json), for the management account.
    #[arg(long, conflicts_with_all = ["stack_set", "ous"])]
    pub guard: bool,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportWhat {
    /// A CloudFormation template (JSON).
    Cloudformation,
}

/// What `emit` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EmitWhat {
    /// A GitHub Actions workflow that assumes the role.
    Workflow,
    /// The AWS_ROLE_ARN variable and the `gh` command that sets it.
    Variable,
    /// A scheduled workflow that runs `keyless check` with a read-only role.
    CheckWorkflow,
    /// A weekly workflow that runs `keyless audit` with a read-only role and uploads the SARIF
    /// to code scanning.
    AuditWorkflow,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_session_learns_concurrency_and_the_ci_view_from_the_command() {
        let t = |args: &[&str]| Cli::try_parse_from(args).unwrap().command.traits();
        let check = t(&["keyless", "check", "--concurrency", "3"]);
        assert_eq!(check.concurrency, 3);
        assert!(check.ci_report);
        let audit = t(&["keyless", "audit"]);
        assert!(audit.ci_report);
        let plan = t(&["keyless", "plan"]);
        assert_eq!(plan.concurrency, usize::from(DEFAULT_CONCURRENCY));
        assert!(!plan.ci_report);
    }
}
