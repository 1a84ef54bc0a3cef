//! `keyless init`: the wizard's answers (asked in [`crate::app::wizard`]) become the config
//! file; then the ordinary plan and apply operations run, and what the GitHub side needs is
//! shown. Nothing is written until every answer is in.

use std::io::IsTerminal;

use keyless::config::setup::{self, Answers};
use keyless::error::{Error, Result};
use keyless::state::observed::Owner;

use crate::app::args::InitArgs;
use crate::app::exit::ExitStatus;
use crate::app::flow;
use crate::app::session::Session;
use crate::app::style;
use crate::app::wizard::{Asker, ask_answers};

/// `keyless init`
pub fn cmd_init(s: &Session, args: &InitArgs) -> Result<ExitStatus> {
    let p = &s.printer;
    let interactive = !args.yes;
    if interactive && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "keyless init asks questions, but stdin is not a terminal",
            "pass --yes and the answers as flags, e.g. keyless init --yes --repo OWNER/REPO --branch main --preset s3-deploy --param bucket=NAME [--apply]",
        ));
    }
    // Flag mistakes first, before any AWS or GitHub call.
    crate::app::wizard::check_flags(args, p)?;
    let mut ask = Asker::new(interactive);
    let path = &s.config_path;
    let adding = if path.exists() && !args.force {
        if args.add
            || (interactive
                && ask.confirm(
                    &format!("{} exists. Add a role to it?", path.display()),
                    true,
                )?)
        {
            true
        } else if interactive && ask.confirm(&format!("Overwrite {}?", path.display()), false)? {
            false
        } else {
            return Err(Error::usage(
                format!("{} already exists; nothing was written", path.display()),
                "pass --add to add a role to it, --force to overwrite it, or -c PATH to write another file",
            ));
        }
    } else {
        if args.add {
            return Err(Error::usage(
                format!("--add: {} does not exist", path.display()),
                "drop --add to write a new config, or -c PATH to name the one to add to",
            ));
        }
        false
    };
    // Adding: the existing config must load, and gives the account, region and issuer.
    let existing = if adding {
        Some(s.config()?.clone())
    } else {
        None
    };
    // Who the credentials are, and (for a run that goes on to plan) the account's roles, in one
    // round trip: the listing is kept for the plan, which then reads no role twice.
    let keep = args.apply || !args.yes;
    let (caller, listing) = s.caller_beside(async |aws| {
        if keep {
            aws.list_roles_kept().await
        } else {
            aws.other_role_trusts(&[]).await
        }
    });
    match &caller {
        Some(c) => p.note(&format!("{} account {} as {}", style::bold("AWS"), c.account, c.arn)),
        None => p.note(&format!("{} no usable credentials found: init will write the config; run `keyless apply` once credentials work", style::bold("AWS"))),
    }
    let account_id = s
        .account_flag()
        .map(String::from)
        .or_else(|| caller.as_ref().map(|c| c.account.clone()));
    let mut answers = ask_answers(
        &mut ask,
        args,
        p,
        account_id,
        s.region_suggestion(),
        |issuer| {
            // For a person answering questions; automation sees the provider in the plan,
            // one round trip sooner.
            if caller.is_some() && interactive {
                describe_provider(s, &issuer.url);
            }
        },
        &mut |issuer, repo| match s.github_for(issuer) {
            None => Ok(None),
            Some(gh) => {
                let (info, settings) = s.block_on(keyless::ops::migrate::repository(gh, repo))?;
                Ok(Some((info, settings)))
            }
        },
    )?;
    if let Some(cfg) = &existing {
        if answers.issuer != cfg.issuer {
            return Err(Error::usage(
                format!(
                    "{} trusts {}; one config has one provider",
                    cfg.file, cfg.issuer.url
                ),
                "add the role to a config of its own (-c PATH)",
            ));
        }
        answers.config_name = cfg.name.clone();
    }
    if let Some(c) = &caller {
        // One listing of the account's roles serves the config name and the role name.
        let provider_arn = answers.issuer.provider_arn(&c.partition, &c.account);
        let trusts = match listing {
            Some(l) => l?,
            None => s.block_on(s.aws()?.other_role_trusts(&[]))?,
        };
        let listed = s.block_on(keyless::ops::init::roles_from(
            &s.aws()?,
            trusts,
            &provider_arn,
            s.concurrency,
        ))?;
        if existing.is_none() {
            name_freely(
                s,
                &mut answers,
                c,
                args.name.is_some(),
                &listed.config_names,
            )?;
        }
        choose_role_name(
            s,
            &mut answers,
            &c.account,
            args.role_name.is_some(),
            &listed.names,
        )?;
        choose_variable(s, &mut answers, c, existing.is_some())?;
    }
    if existing.is_some() {
        add_to_config(s, &answers)?;
    } else {
        write_config(s, &answers)?;
    }
    let s = &s.reopen();
    finish(
        s,
        &mut ask,
        args.apply,
        caller.is_some(),
        &answers.role_name,
    )
}

/// Give the config a name no other config in the account uses (the roles that trust the
/// provider carry their configs' names): the suggested one, else with a `-2`, `-3` suffix. A name
/// given with `--name` is refused when another config uses it. Rewriting a config file keeps the
/// name that file has.
fn name_freely(
    s: &Session,
    answers: &mut Answers,
    caller: &keyless::io::aws::CallerIdentity,
    named: bool,
    in_use: &std::collections::BTreeSet<String>,
) -> Result<()> {
    let mine = crate::app::files::config_name(&s.config_path);
    let wanted = answers.config_name.clone();
    let free = setup::free_config_name(&wanted, in_use, mine.as_deref());
    if free == wanted {
        return Ok(());
    }
    if named {
        return Err(Error::usage(
            format!(
                "config name {wanted} is already used by another config's roles in account {}",
                caller.account
            ),
            format!("pass --name with another name, e.g. --name {free}"),
        ));
    }
    s.printer.note(&format!(
        "{} config name {wanted} is already used in account {} by another config: this one is named {free} (--name sets it)",
        style::bold("name"),
        caller.account
    ));
    answers.config_name = free;
    Ok(())
}

/// When the variable the role would use on GitHub already carries another config's role (or a
/// role made by hand), give the role a variable of its own, so that nothing of the other
/// config is repointed.
fn choose_variable(
    s: &Session,
    answers: &mut Answers,
    caller: &keyless::io::aws::CallerIdentity,
    adding: bool,
) -> Result<()> {
    let Some(gh) = s.github_for(&answers.issuer) else {
        return Ok(());
    };
    let aws = s.aws()?;
    let (text, file, dir) = config_file(s)?;
    let text = if adding {
        setup::add_role(&text, &file, &dir, answers)?
    } else {
        setup::to_toml(answers)?
    };
    let cfg = keyless::config::parse(&text, &file, &dir)?;
    let target = keyless::state::render::Target {
        account_id: caller.account.clone(),
        partition: caller.partition.clone(),
    };
    let taken = s.block_on(keyless::ops::init::taken_variables(&cfg, &target, gh, &aws))?;
    if let Some((role, why)) = taken.iter().find(|(r, _)| *r == answers.role_name) {
        let own = keyless::config::variables::role_variable(role);
        s.printer.note(&format!(
            "{} {}: role {role} gets its own variable, {own}",
            style::bold("variable"),
            why.lines().next().unwrap_or_default()
        ));
        answers.variable = Some(own);
    }
    Ok(())
}

/// The config file's text (empty when there is none yet), its name for messages and its
/// directory.
fn config_file(s: &Session) -> Result<(String, String, std::path::PathBuf)> {
    let path = &s.config_path;
    let text = if path.exists() {
        keyless::config::read_capped(path, keyless::config::MAX_CONFIG_BYTES).map_err(|source| {
            Error::Io {
                path: path.clone(),
                source,
            }
        })?
    } else {
        String::new()
    };
    Ok((text, path.display().to_string(), s.config_dir()))
}

/// Add the answers' role to the existing config file, keeping everything in it as written.
fn add_to_config(s: &Session, answers: &Answers) -> Result<()> {
    let (text, file, dir) = config_file(s)?;
    let out = setup::add_role(&text, &file, &dir, answers)?;
    crate::app::files::write(&s.config_path, &out)?;
    s.printer.note(&format!(
        "{} role {} to {}",
        style::ok("added"),
        answers.role_name,
        s.config_path.display()
    ));
    Ok(())
}

/// A role name the account does not use for something this config would not own: the one
/// asked for, else (when it was derived, not given with `--role-name`) the same with `-2`,
/// `-3`, … as a second team's init for the same repository needs. A name given and taken is
/// refused.
fn choose_role_name(
    s: &Session,
    answers: &mut Answers,
    account: &str,
    named: bool,
    listed: &std::collections::BTreeSet<String>,
) -> Result<()> {
    let aws = s.aws()?;
    let base = answers.role_name.clone();
    for n in 1..=20 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            let suffix = format!("-{n}");
            // IAM allows 64 characters.
            let keep = base.len().min(64 - suffix.len());
            format!("{}{suffix}", &base[..keep])
        };
        // A name the listing does not hold is free: nothing to read.
        if !listed.contains(&candidate) {
            answers.role_name = candidate;
            return Ok(());
        }
        let Some(live) = s.block_on(aws.read_role(&candidate))? else {
            answers.role_name = candidate;
            return Ok(());
        };
        let owner = Owner::of(&live.tags);
        if owner == Owner::Config(answers.config_name.clone()) {
            answers.role_name = candidate;
            return Ok(());
        }
        if named {
            return Err(Error::usage(
                format!(
                    "role {candidate} already exists in account {account} and belongs to {}; nothing was written",
                    owner.describe()
                ),
                "pass --role-name with another name (or answer the role-name question differently)",
            ));
        }
        if n == 1 {
            s.printer.note(&format!(
                "role {candidate} belongs to {}: choosing another name",
                owner.describe()
            ));
        }
    }
    Err(Error::usage(
        format!("roles {base} to {base}-20 are all taken in account {account}"),
        "pass --role-name with a name of your own",
    ))
}

/// Say whether the account already has a provider for the issuer (read errors say nothing).
fn describe_provider(s: &Session, url: &str) {
    let Ok(aws) = s.aws() else { return };
    match s.block_on(aws.find_provider(url)) {
        Ok(Some(pr)) => s.printer.note(&format!(
            "{} {} exists (client IDs: {}); keyless will adopt it",
            style::bold("provider"),
            pr.url,
            pr.client_ids.join(", ")
        )),
        Ok(None) => s.printer.note(&format!(
            "{} none for {url} yet; apply will create it",
            style::bold("provider"),
        )),
        _ => {}
    }
}

/// Write the answers as the config file (creating its directory).
fn write_config(s: &Session, answers: &Answers) -> Result<()> {
    let text = setup::to_toml(answers)?;
    let path = &s.config_path;
    crate::app::files::write(path, &text)?;
    s.printer
        .note(&format!("{} {}", style::ok("wrote"), path.display()));
    Ok(())
}

/// After the config is written: plan, apply if asked (or, interactively, if confirmed), and
/// show the variable and the workflow when not applied.
fn finish(
    s: &Session,
    ask: &mut Asker,
    apply_flag: bool,
    has_credentials: bool,
    role_name: &str,
) -> Result<ExitStatus> {
    let p = &s.printer;
    if !has_credentials {
        p.note("no AWS credentials: when they work, run `keyless plan` and `keyless apply`");
        flow::show_workflow(s, s.role(Some(role_name))?)?;
        return Ok(ExitStatus::Success);
    }
    if ask.interactive() {
        flow::plan(s, false)?;
        if ask.confirm("Apply these changes now?", false)? {
            return flow::apply_confirmed(s);
        }
    } else if apply_flag {
        return flow::apply(s, true, false);
    }
    if !ask.interactive() {
        flow::plan(s, false)?;
    }
    p.note("not applied: run `keyless apply` when ready");
    let role = s.role(Some(role_name))?;
    flow::show_variable(s, role)?;
    flow::show_workflow(s, role)?;
    Ok(ExitStatus::Success)
}
