//! Output discipline across commands: colour decided per stream, and one JSON contract
//! (`format_version`) for every command's report.

use std::process::Command;

use keyless_testkit::ACCOUNT_ID;

use crate::apply::SITE;
use crate::util::{Env, expect};

const ESC: char = '\u{1b}';

#[test]
fn colour_is_decided_per_stream_so_a_redirected_stderr_has_no_escape_codes() {
    let e = Env::new();
    e.write(SITE);
    let err_log = e.dir.path().join("err.log");
    // stdout on a pseudo-terminal, stderr to a file: `keyless plan 2>err.log`.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec \"$KEYLESS\" plan 2>\"$ERR_LOG\""])
        .current_dir(e.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", e.dir.path())
        .env("TERM", "xterm")
        .env("KEYLESS", env!("CARGO_BIN_EXE_keyless"))
        .env("ERR_LOG", &err_log)
        .env("AWS_CONFIG_FILE", e.dir.path().join("none"));
    for (k, v) in e.kit.env() {
        cmd.env(k, v);
    }
    let mut s = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty");
    let screen = s.exp_eof().expect("plan ends");
    assert!(
        screen.contains("Plan: 4 to add"),
        "the plan reached the terminal: {screen:?}"
    );
    assert!(
        screen.contains(ESC),
        "stdout is a colour terminal, so the plan is coloured: {screen:?}"
    );
    let log = std::fs::read_to_string(&err_log).unwrap();
    assert!(log.contains("caller"), "messages went to the file: {log:?}");
    assert!(!log.contains(ESC), "no escape codes in err.log: {log:?}");
}

#[test]
fn no_color_and_pipes_get_plain_text() {
    let e = Env::new();
    e.write(SITE);
    // Both streams are pipes here: plain text on both, whatever TERM says.
    let r = e.run(&["plan"]);
    expect(&r, 0);
    assert!(!r.stdout.contains(ESC) && !r.stderr.contains(ESC));
    let bad = e.run(&["plan", "--no-color", "-c", "missing.toml"]);
    expect(&bad, 1);
    assert!(bad.stderr.starts_with("error: "), "{}", bad.stderr);
}

#[test]
fn every_json_report_carries_the_same_format_version() {
    let e = Env::new();
    e.write(&format!(
        "account_id = \"{ACCOUNT_ID}\"\n{SITE}\n[[role]]\nname = \"gha-check\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"keyless-check\"\n"
    ));
    std::fs::write(
        e.dir.path().join("trust.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:octo-org/site:ref:refs/heads/main"}}}]}"#,
    )
    .unwrap();
    let commands: &[&[&str]] = &[
        &["render"],
        &["lint"],
        &["lint", "--policy", "trust.json"],
        &["lint", "--rules"],
        &["presets"],
        &["emit", "workflow", "--role", "gha-site"],
        &["emit", "variable", "--role", "gha-site"],
        &["emit", "check-workflow"],
        &["plan"],
        &["explain", "--role", "gha-site", "--repo", "octo-org/site"],
        &[
            "explain",
            "--policy",
            "trust.json",
            "--repo",
            "octo-org/site",
        ],
        &["apply", "--yes"],
        &["check"],
        &["destroy", "--yes"],
    ];
    for args in commands {
        let mut full = args.to_vec();
        full.extend(["--output", "json"]);
        let r = e.run(&full);
        assert!(
            r.code == 0 || r.code == 2,
            "{args:?} exited {}: {}",
            r.code,
            r.stderr
        );
        assert_eq!(r.json()["format_version"], 1, "keyless {args:?}");
    }
}
