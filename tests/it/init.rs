//! keyless init: the real wizard in a pseudo-terminal (dialoguer answering real key presses,
//! wrong answers re-asked), the flag-only path with --yes, and no hang without a terminal.

use std::process::Command;

use keyless_testkit::Kit;

use crate::util::{expect, keyless_in};

fn wizard(kit: &Kit, dir: &std::path::Path) -> rexpect::session::PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyless"));
    cmd.args([
        "-c",
        &dir.join("keyless.toml").display().to_string(),
        "init",
    ])
    .env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TERM", "xterm")
        .env("AWS_CONFIG_FILE", dir.join("none"));
    for (k, v) in kit.env() {
        cmd.env(k, v);
    }
    rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn keyless init in a pty")
}

#[test]
fn the_wizard_asks_re_asks_on_bad_answers_writes_the_config_and_applies() {
    let kit = Kit::start();
    let dir = tempfile::tempdir().unwrap();
    let mut s = wizard(&kit, dir.path());
    s.exp_string("account 123456789012").unwrap();
    s.exp_string("Where do your workflows run?").unwrap();
    s.send_line("").unwrap(); // github.com (default)
    s.exp_string("Repository (OWNER/REPO)").unwrap();
    s.send_line("octo org/site").unwrap();
    s.exp_string("ASCII letters").unwrap(); // re-asked with the reason
    s.send_line("octo-org/site").unwrap();
    s.exp_string("Add another repository?").unwrap();
    s.send("n").unwrap();
    s.flush().unwrap();
    s.exp_string("Which jobs of octo-org/site may assume the role?")
        .unwrap();
    s.send_line("").unwrap(); // a branch
    s.exp_string("Branch").unwrap();
    s.send_line("").unwrap(); // main
    s.exp_string("Subject format for octo-org/site").unwrap();
    s.send_line("").unwrap(); // classic
    s.exp_string("Presets to grant").unwrap();
    s.send_line("s3-deploy").unwrap();
    s.exp_string("s3-deploy: bucket").unwrap();
    s.send_line("Bad_Bucket").unwrap();
    s.exp_string("lower-case").unwrap();
    s.send_line("octo-org-site").unwrap();
    s.exp_string("s3-deploy: prefix").unwrap();
    s.send_line("").unwrap();
    s.exp_string("Managed policy ARNs").unwrap();
    s.send_line("").unwrap();
    s.exp_string("Role name").unwrap();
    s.send_line("").unwrap(); // gha-octo-org-site-deploy
    s.exp_string("Max session duration").unwrap();
    s.send_line("99").unwrap();
    s.exp_string("3600 to 43200").unwrap();
    s.send_line("7200").unwrap();
    s.exp_string("AWS region for the workflow").unwrap();
    s.send_line("").unwrap();
    s.exp_string("Plan: 4 to add, 0 to change, 0 to destroy.")
        .unwrap();
    s.exp_string("Apply these changes now?").unwrap();
    s.send("y").unwrap();
    s.flush().unwrap();
    let between = s.exp_string("Applied 4 change(s).").unwrap();
    assert!(
        !between.contains("Plan:"),
        "the plan is shown once: {between}"
    );
    s.exp_string("AWS_ROLE_ARN=arn:aws:iam::123456789012:role/gha-octo-org-site-deploy")
        .unwrap();
    s.exp_eof().unwrap();

    let cfg = keyless::config::load(&dir.path().join("keyless.toml"))
        .expect("init writes a valid config");
    let role = &cfg.roles[0];
    assert_eq!(
        (role.name.as_str(), role.max_session_duration),
        ("gha-octo-org-site-deploy", 7200)
    );
    assert_eq!(
        role.subjects[0].patterns(),
        vec!["repo:octo-org/site:ref:refs/heads/main"]
    );
    assert_eq!(role.presets[0].params["bucket"], "octo-org-site");
    assert_eq!(cfg.account_id.as_deref(), Some("123456789012"));
    assert_eq!(kit.count("CreateRole"), 1);
    // The plan against the applied account is empty.
    let r = keyless_in(
        dir.path(),
        &["plan", "--detailed-exitcode"],
        &kit.env(),
        None,
    );
    expect(&r, 0);
}

#[test]
fn ctrl_c_at_a_prompt_writes_nothing() {
    let kit = Kit::start();
    let dir = tempfile::tempdir().unwrap();
    let mut s = wizard(&kit, dir.path());
    s.exp_string("Where do your workflows run?").unwrap();
    s.send_line("").unwrap();
    s.exp_string("Repository (OWNER/REPO)").unwrap();
    s.send_control('c').unwrap();
    s.exp_eof().unwrap();
    assert!(!dir.path().join("keyless.toml").exists());
    assert_eq!(kit.count("CreateRole"), 0);
}

#[test]
fn flags_with_yes_and_no_terminal() {
    let kit = Kit::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| keyless_in(dir.path(), args, &kit.env(), None);
    // Missing answers are listed as flags.
    let r = run(&["init", "--yes"]);
    expect(&r, 1);
    assert!(
        r.stderr
            .contains("--yes needs these answers as flags: --repo OWNER/REPO"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "init",
        "--yes",
        "--repo",
        "octo-org/site",
        "--preset",
        "s3-deploy",
    ]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("--param bucket=VALUE (s3-deploy)"),
        "{}",
        r.stderr
    );
    // Without a terminal and without --yes: a message, not a hang (stdin is /dev/null here).
    let started = std::time::Instant::now();
    let r = run(&["init"]);
    expect(&r, 1);
    assert!(r.stderr.contains("stdin is not a terminal") && started.elapsed().as_secs() < 30);
    // Bad flag values are named.
    let r = run(&[
        "init",
        "--yes",
        "--repo",
        "octo-org/site",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=Bad_Bucket",
    ]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("Bad_Bucket") && r.stderr.contains("lower-case"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.path().join("keyless.toml").exists(),
        "nothing written on errors"
    );
    // --yes without --apply writes the file and shows the plan, and applies nothing.
    let r = run(&[
        "init",
        "--yes",
        "--repo",
        "octo-org/site",
        "--branch",
        "main",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=octo-site",
    ]);
    expect(&r, 0);
    assert!(r.stdout.contains("Plan: 4 to add"), "{}", r.stdout);
    assert!(r.stdout.contains("gh variable set AWS_ROLE_ARN"));
    assert_eq!(kit.count("CreateRole"), 0);
    // Existing file: refused without --force.
    let r = run(&[
        "init",
        "--yes",
        "--repo",
        "octo-org/site",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=octo-site",
        "--apply",
    ]);
    expect(&r, 1);
    assert!(r.stderr.contains("--force"));
    // One command does what a typical tutorial does by hand in six steps.
    let r = run(&[
        "init",
        "--yes",
        "--force",
        "--repo",
        "octo-org/site",
        "--branch",
        "main",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=octo-site",
        "--format",
        "classic",
        "--apply",
    ]);
    expect(&r, 0);
    assert!(
        r.stdout
            .contains("AWS_ROLE_ARN=arn:aws:iam::123456789012:role/gha-octo-org-site-deploy")
    );
    assert_eq!(kit.count("CreateRole"), 1);
    assert_eq!(kit.count("CreateOpenIDConnectProvider"), 1);
}

#[test]
fn flag_mistakes_are_reported_before_any_aws_or_github_call_and_name_the_value_once() {
    let kit = Kit::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "init",
            "--yes",
            "--repo",
            "octo-org/site",
            "--branch",
            "main",
        ];
        args.extend_from_slice(extra);
        keyless_in(dir.path(), &args, &kit.env(), None)
    };
    kit.reset_counts();
    let r = run(&["--preset", "s3-deploi", "--param", "bucket=octo-site"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("no such preset") && r.stderr.contains("s3-deploy"),
        "{}",
        r.stderr
    );
    let r = run(&["--preset", "s3-deploy", "--param", "bucket=Octo_Site"]);
    expect(&r, 1);
    assert_eq!(r.stderr.matches("Octo_Site").count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("did you mean \"octo-site\""),
        "{}",
        r.stderr
    );
    let r = run(&[
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=octo-site",
        "--max-session",
        "99",
    ]);
    expect(&r, 1);
    assert!(r.stderr.contains("--max-session 99"), "{}", r.stderr);
    assert!(
        kit.calls().is_empty(),
        "no AWS call before the flags are checked: {:?}",
        kit.calls()
    );
    assert!(!dir.path().join("keyless.toml").exists());
}

#[test]
fn the_wizard_asks_again_for_a_repository_github_does_not_know() {
    use crate::github::TOKEN;
    use keyless_testkit::GitHub;
    use keyless_testkit::github::Repo;
    let kit = Kit::start();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789));
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyless"));
    cmd.args([
        "-c",
        &dir.path().join("keyless.toml").display().to_string(),
        "init",
    ])
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("HOME", dir.path())
    .env("TERM", "xterm")
    .env("AWS_CONFIG_FILE", dir.path().join("none"))
    .env("GH_TOKEN", TOKEN)
    .env("KEYLESS_GITHUB_API_URL", gh.url());
    for (k, v) in kit.env() {
        cmd.env(k, v);
    }
    let mut s = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    s.exp_string("Where do your workflows run?").unwrap();
    s.send_line("").unwrap();
    s.exp_string("Repository (OWNER/REPO)").unwrap();
    s.send_line("octo-org/sight").unwrap();
    s.exp_string("GitHub does not know").unwrap();
    s.exp_string("Repository (OWNER/REPO)").unwrap();
    s.send_line("octo-org/site").unwrap();
    s.exp_string("Add another repository?").unwrap();
    s.send("n").unwrap();
    s.flush().unwrap();
    s.exp_string("Which jobs of octo-org/site may assume the role?")
        .unwrap();
    // One lookup for the typo, one for the repository (not repeated later), each with its subject settings.
    let asked: Vec<String> = gh.calls().into_keys().collect();
    assert!(
        asked
            .iter()
            .any(|c| c.starts_with("GET /repos/{owner}/{repo}")),
        "{asked:?}"
    );
    drop(s);
}

/// Without a GitHub token the subject form is unknown: init says so, refuses to apply a guess,
/// and trusts both forms when the IDs are given.
#[test]
fn without_github_the_subject_form_is_never_guessed_into_iam() {
    let kit = keyless_testkit::Kit::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| keyless_in(dir.path(), args, &kit.env(), None);
    let base = [
        "init",
        "--yes",
        "--force",
        "--repo",
        "octo-org/site",
        "--branch",
        "main",
        "--preset",
        "s3-read",
        "--param",
        "bucket=octo-site",
    ];
    let mut apply = base.to_vec();
    apply.push("--apply");
    let r = run(&apply);
    expect(&r, 1);
    assert!(
        r.stderr
            .contains("subject form of octo-org/site is unknown")
            && r.stderr.contains("--format"),
        "{}",
        r.stderr
    );
    assert_eq!(kit.count("CreateRole"), 0);
    // Without --apply the file is written, with the warning.
    let r = run(&base);
    expect(&r, 0);
    assert!(
        r.stderr.contains("warning: the subject form"),
        "{}",
        r.stderr
    );
    // With both IDs: both forms, right whichever the repository mints.
    let mut ids = apply.clone();
    ids.extend(["--owner-id", "123456", "--repo-id", "456789"]);
    let r = run(&ids);
    expect(&r, 0);
    let cfg = std::fs::read_to_string(dir.path().join("keyless.toml")).unwrap();
    assert!(cfg.contains("format = \"both\""), "{cfg}");
}
