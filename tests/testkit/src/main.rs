//! `keyless-testkit`: serve the test kit's IAM + STS and its GitHub REST server on loopback for
//! demos and manual runs. Prints the IAM/STS endpoint URL on the first line of stdout and the
//! GitHub API URL on the second (token `local-demo-github-token`; it knows `octo-org/site`, IDs
//! 123456/456789, minting immutable subjects), then serves until killed or until stdin closes
//! (so `keyless-testkit <&-` style supervisors and scripts can stop it cleanly).
//!
//! `KEYLESS_TESTKIT_LATENCY_MS=N` delays every IAM/STS call by N ms before serving it, so
//! benchmarks see the round trips a CI runner sees (IAM is ~50–100 ms away); `POST
//! ENDPOINT/_kit/latency?ms=N` changes it while the kit runs. `GET ENDPOINT/_kit/calls` and
//! `GET ENDPOINT/_kit/round_trips` say what the runs since `POST ENDPOINT/_kit/reset` cost.

use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("mint") {
        mint(&args[1..]);
        return;
    }
    let kit = keyless_testkit::Kit::start_unchecked();
    if let Some(ms) = std::env::var("KEYLESS_TESTKIT_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
    {
        kit.set_latency(std::time::Duration::from_millis(ms));
    }
    let github = keyless_testkit::GitHub::start("local-demo-github-token");
    github.add_repo(
        keyless_testkit::github::Repo::new("octo-org/site", 123456, 456789).immutable(true),
    );
    println!("{}", kit.endpoint());
    println!("{}", github.url());
    let _ = std::io::stdout().flush();
    // Block until stdin reaches EOF (a closed pipe) or the process is killed.
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
    if std::env::var_os("KEYLESS_TESTKIT_STAY").is_some() {
        loop {
            std::thread::park();
        }
    }
    drop(github);
    drop(kit);
}

/// `keyless-testkit mint --repo O/R [--branch B | --tag T] [--environment E] [--immutable]
/// [--audience A] [--expired]`: print a GitHub-shaped RS256 token (for demos; the kit's STS checks
/// claims and expiry, not signatures).
fn mint(args: &[String]) {
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let repo = get("--repo").unwrap_or_else(|| "octo-org/octo-repo".into());
    let mut claims =
        keyless_testkit::Claims::push(&repo, &get("--branch").unwrap_or_else(|| "main".into()));
    if let Some(t) = get("--tag") {
        claims.git_ref = format!("refs/tags/{t}");
        claims.ref_type = "tag".into();
        claims.sub = format!("repo:{repo}:ref:refs/tags/{t}");
    }
    if let Some(e) = get("--environment") {
        claims = claims.with_environment(&e);
    }
    if has("--immutable") {
        claims = claims.immutable();
    }
    if let Some(a) = get("--audience") {
        claims.aud = a;
    }
    if has("--expired") {
        claims.expires_in = -60;
    }
    let issuer = keyless_testkit::Issuer::start(keyless_testkit::GITHUB_ISSUER, claims.clone());
    println!("{}", issuer.mint(&claims));
}
