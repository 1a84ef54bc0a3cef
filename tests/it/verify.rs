//! keyless verify (a real exchange through the binary, token from the kit's runner endpoint or a
//! file) and keyless explain (offline). Denials are checked against STS *and* the pre-flight.

use keyless_testkit::{ACCOUNT_ID, Claims, GITHUB_ISSUER, Issuer};

use crate::util::{Env, Run, expect, keyless_in};

const SITE: &str = "account_id = \"123456789012\"\n[[role]]\nname = \"gha-site\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"s3-deploy\"\n  params = { bucket = \"octo-org-site\" }\n";

fn setup() -> (Env, Issuer) {
    let e = Env::new();
    e.write(SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    (
        e,
        Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main")),
    )
}

fn verify(e: &Env, issuer: &Issuer, args: &[&str]) -> Run {
    let mut env = e.kit.env();
    env.extend(issuer.runner_env());
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    keyless_in(e.dir.path(), &all, &env, None)
}

/// Nothing verify prints may hold a secret: the raw token, any AWS secret or session token.
fn assert_no_secrets(r: &Run, raw_tokens: &[&str]) {
    let text = format!("{}\n{}", r.stdout, r.stderr);
    assert!(
        !text.contains("test-kit-secret-not-real"),
        "the caller's secret key leaked"
    );
    for t in raw_tokens {
        let sig = t.rsplit('.').next().unwrap();
        assert!(
            !text.contains(sig) && !text.contains(&t[..40]),
            "a raw token leaked"
        );
    }
    for prefix in ["ASIA", "FSIA", "LSIA"] {
        assert!(!text.contains(prefix), "a temporary access key ID leaked");
    }
    // Secret keys are 40 characters of base64, session tokens hundreds: no such run may appear.
    let longest = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+' || c == '='))
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest < 40,
        "a credential-shaped string of {longest} characters appeared:\n{text}"
    );
}

#[test]
fn verify_succeeds_through_the_runner_endpoint_without_printing_secrets() {
    let (e, issuer) = setup();
    for args in [
        &[][..],
        &["-v"][..],
        &["--output", "json"][..],
        &["--output", "json", "-v"][..],
    ] {
        let r = verify(&e, &issuer, args);
        expect(&r, 0);
        assert_no_secrets(&r, &[]);
        if args.contains(&"json") {
            let j = r.json();
            assert_eq!(j["verified"], true);
            assert_eq!(
                j["caller_arn"],
                format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/gha-site/keyless-verify")
            );
            assert_eq!(
                j["token"]["claims"]["sub"],
                "repo:octo-org/site:ref:refs/heads/main"
            );
            assert_eq!(j["preflight"]["trust_policy"], "live");
            assert_eq!(
                j["sts"]["subject"],
                "repo:octo-org/site:ref:refs/heads/main"
            );
        } else {
            assert!(
                r.stdout.contains("VERIFIED role gha-site works"),
                "{}",
                r.stdout
            );
            assert!(
                r.stdout
                    .contains("runner's ID-token endpoint (audience sts.amazonaws.com)")
            );
        }
    }
}

#[test]
fn denials_are_refused_by_sts_and_explained_by_the_preflight() {
    let (e, issuer) = setup();
    let cases = [
        (
            Claims::push("evil-org/site", "main"),
            "AccessDenied",
            "repository evil-org/site",
        ),
        (
            Claims::push("octo-org/site", "dev"),
            "AccessDenied",
            "add branch = \"dev\"",
        ),
        (
            Claims::push("octo-org/site", "main").with_environment("prod"),
            "AccessDenied",
            "add environment = \"prod\"",
        ),
        (
            Claims::push("octo-org/site", "main").with_sub("repo:octo-org/site:pull_request"),
            "AccessDenied",
            "add pull_request = true",
        ),
        (
            Claims::push("octo-org/site", "main").immutable(),
            "AccessDenied",
            "add owner_id = \"123456\" and repo_id = \"456789\"",
        ),
    ];
    for (claims, code, fix) in cases {
        issuer.set_runner_claims(claims.clone());
        let r = verify(&e, &issuer, &["--output", "json"]);
        expect(&r, 2);
        let j = r.json();
        assert_eq!(j["sts"]["code"], code, "{}", r.stdout);
        assert_eq!(
            j["sts"]["attempts"], 1,
            "a denial the pre-flight explains is not retried"
        );
        assert_eq!(j["preflight"]["explanation"]["allowed"], false);
        assert_eq!(j["preflight"]["explanation"]["step"], "trust");
        assert!(
            j["preflight"]["explanation"]["fix"]
                .as_str()
                .unwrap()
                .contains(fix),
            "{}: {}",
            claims.sub,
            j["preflight"]["explanation"]["fix"]
        );
        let human = verify(&e, &issuer, &[]);
        expect(&human, 2);
        assert!(human.stdout.contains("NOT VERIFIED") && human.stdout.contains(fix));
        assert_no_secrets(&human, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn token_file_audience_expiry_provider_and_signature() {
    let (e, issuer) = setup();
    let write = |name: &str, token: &str| {
        let p = e.dir.path().join(name);
        std::fs::write(&p, token).unwrap();
        p.display().to_string()
    };
    let run = |args: &[&str]| {
        let mut all = vec!["verify"];
        all.extend_from_slice(args);
        keyless_in(e.dir.path(), &all, &e.kit.env(), None)
    };
    // A token file source.
    let good = issuer.mint(&Claims::push("octo-org/site", "main"));
    let r = run(&["--token-file", &write("good.jwt", &good)]);
    expect(&r, 0);
    assert!(r.stdout.contains("file ") && r.stdout.contains("VERIFIED"));
    assert_no_secrets(&r, &[&good]);
    // The signature checks out against the issuer's JWKS; a tampered one does not.
    let disco = format!("{}/.well-known/openid-configuration", issuer.base_url());
    let r = run(&[
        "--token-file",
        &write("good.jwt", &good),
        "--check-signature",
        "--discovery-url",
        &disco,
    ]);
    expect(&r, 0);
    assert!(r.stdout.contains("valid (RS256"));
    let forged = format!("{}AAAA", &good[..good.len() - 4]);
    let r = run(&[
        "--token-file",
        &write("forged.jwt", &forged),
        "--check-signature",
        "--discovery-url",
        &disco,
    ]);
    expect(&r, 2);
    assert_no_secrets(&r, &[&forged]);
    // Wrong audience: InvalidIdentityToken, explained at the audience step.
    let mut aud = Claims::push("octo-org/site", "main");
    aud.aud = "https://github.com/octo-org".into();
    let t = issuer.mint(&aud);
    let r = run(&["--token-file", &write("aud.jwt", &t), "--output", "json"]);
    expect(&r, 2);
    let j = r.json();
    assert_eq!(
        (
            j["sts"]["code"].as_str(),
            j["preflight"]["explanation"]["step"].as_str()
        ),
        (Some("InvalidIdentityToken"), Some("audience"))
    );
    assert!(
        j["preflight"]["explanation"]["fix"]
            .as_str()
            .unwrap()
            .contains("audience: sts.amazonaws.com")
    );
    // Expired.
    let mut old = Claims::push("octo-org/site", "main");
    old.expires_in = -120;
    let t = issuer.mint(&old);
    let r = run(&["--token-file", &write("old.jwt", &t), "--output", "json"]);
    expect(&r, 2);
    let j = r.json();
    assert_eq!(
        (
            j["sts"]["code"].as_str(),
            j["preflight"]["explanation"]["step"].as_str()
        ),
        (Some("ExpiredTokenException"), Some("lifetime"))
    );
    // No provider.
    let iam = e.iam().await;
    iam.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(format!(
            "arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
        ))
        .send()
        .await
        .unwrap();
    let r = run(&[
        "--token-file",
        &write("good.jwt", &good),
        "--output",
        "json",
    ]);
    expect(&r, 2);
    let j = r.json();
    assert_eq!(
        (
            j["sts"]["code"].as_str(),
            j["preflight"]["explanation"]["step"].as_str()
        ),
        (Some("InvalidIdentityToken"), Some("provider"))
    );
}

#[test]
fn no_token_source_says_how_to_run_it() {
    let (e, _issuer) = setup();
    let r = e.run(&["verify"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("id-token: write") && r.stderr.contains("--token-file"),
        "{}",
        r.stderr
    );
}

#[test]
fn explain_offline_from_a_described_context() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keyless.toml"), SITE).unwrap();
    let run = |args: &[&str]| keyless_in(dir.path(), args, &[], None);
    let r = run(&[
        "explain",
        "--repo",
        "octo-org/site",
        "--ref",
        "refs/heads/main",
    ]);
    expect(&r, 0);
    assert!(r.stdout.contains("ADMITTED"), "{}", r.stdout);
    let r = run(&[
        "explain",
        "--repo",
        "octo-org/site",
        "--environment",
        "prod",
        "--output",
        "json",
    ]);
    expect(&r, 2);
    let j = r.json();
    assert_eq!(j["allowed"], false);
    assert_eq!(j["sub"], "repo:octo-org/site:environment:prod");
    assert_eq!(j["deciding_statement"], "Statement[0] (GitHubActions)");
    assert_eq!(
        j["deciding_condition"]["key"],
        "token.actions.githubusercontent.com:sub"
    );
    assert_eq!(
        j["deciding_condition"]["presented"][0],
        "repo:octo-org/site:environment:prod"
    );
    assert!(j["fix"].as_str().unwrap().contains("this job uses environment `prod`, so its sub is `repo:octo-org/site:environment:prod`; add environment = \"prod\""));
    let r = run(&[
        "explain",
        "--repo",
        "octo-org/site",
        "--event",
        "pull_request",
        "--ref",
        "refs/pull/7/merge",
    ]);
    expect(&r, 2);
    assert!(r.stdout.contains("pull_request = true"));
    let r = run(&[
        "explain",
        "--repo",
        "octo-org/site",
        "--immutable",
        "--owner-id",
        "1",
        "--repo-id",
        "2",
    ]);
    expect(&r, 2);
    assert!(r.stdout.contains("owner_id = \"1\" and repo_id = \"2\""));
    // Claims from a file; a policy from a file with no config at all.
    std::fs::write(dir.path().join("claims.json"), r#"{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:octo-org/site:ref:refs/heads/main","exp":9999999999}"#).unwrap();
    expect(&run(&["explain", "--claims", "claims.json"]), 0);
    let policy = run(&["render", "--output", "json"]).json()["roles"][0]["trust_policy"].clone();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("trust.json"), policy.to_string()).unwrap();
    std::fs::copy(
        dir.path().join("claims.json"),
        other.path().join("claims.json"),
    )
    .unwrap();
    let r = keyless_in(
        other.path(),
        &[
            "explain",
            "--policy",
            "trust.json",
            "--claims",
            "claims.json",
            "--output",
            "json",
        ],
        &[],
        None,
    );
    expect(&r, 0);
    assert_eq!(r.json()["allowed"], true);
    // Bad input exits 1.
    expect(&run(&["explain", "--repo", "no-slash"]), 1);
    std::fs::write(dir.path().join("bad.json"), "[1]").unwrap();
    expect(&run(&["explain", "--claims", "bad.json"]), 1);
}

#[test]
fn apply_verify_proves_the_roles_this_job_is_for() {
    let e = Env::new();
    let two = format!(
        "{SITE}[[role]]\nname = \"gha-other\"\n  [[role.subject]]\n  repo = \"octo-org/other\"\n  branch = \"main\"\n"
    );
    e.write(&two);
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let mut env = e.kit.env();
    env.extend(issuer.runner_env());
    let r = keyless_in(e.dir.path(), &["apply", "--yes", "--verify"], &env, None);
    expect(&r, 0);
    assert!(
        r.stdout.contains("VERIFIED role gha-site works"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("skip role gha-other"), "{}", r.stderr);
    assert_no_secrets(&r, &[]);
    // Without a token source, --verify says so and the apply still succeeds.
    let r = e.run(&["apply", "--yes", "--verify"]);
    expect(&r, 0);
    assert!(r.stderr.contains("no token source"), "{}", r.stderr);
}

/// The kit's endpoint and region, with no AWS credentials at all (verify's exchange is unsigned).
fn no_credentials_env(e: &Env, issuer: &Issuer) -> Vec<(&'static str, String)> {
    let mut env: Vec<_> = e
        .kit
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .collect();
    env.extend(issuer.runner_env());
    env
}

#[test]
fn sts_admitting_what_the_preflight_denies_is_a_disagreement_never_verified() {
    let (e, issuer) = setup();
    // The live role trusts main; the config (all verify can read without credentials) says
    // release. STS admits the main token, the pre-flight denies it.
    e.write(&SITE.replace("branch = \"main\"", "branch = \"release\""));
    let env = no_credentials_env(&e, &issuer);
    let r = keyless_in(e.dir.path(), &["verify"], &env, None);
    expect(&r, 2);
    assert!(r.stdout.contains("DISAGREEMENT"), "{}", r.stdout);
    assert!(!r.stdout.contains("VERIFIED"), "{}", r.stdout);
    let j = keyless_in(e.dir.path(), &["verify", "--output", "json"], &env, None);
    expect(&j, 2);
    let j = j.json();
    assert_eq!(
        (j["verified"].as_bool(), j["sts"]["ok"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(j["preflight"]["trust_policy"], "config");
}

#[test]
fn a_missing_role_is_reported_at_once_from_the_live_read() {
    let (e, issuer) = setup();
    e.write(&SITE.replace("gha-site", "gha-missing"));
    let started = std::time::Instant::now();
    let r = verify(&e, &issuer, &["--output", "json"]);
    expect(&r, 2);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "not retried for the default 120 s"
    );
    let j = r.json();
    assert_eq!(j["preflight"]["explanation"]["step"], "role");
    assert_eq!(j["sts"]["attempts"], 1);
    assert!(!r.stderr.contains("attempt"), "{}", r.stderr);
    assert!(
        j["preflight"]["explanation"]["message"]
            .as_str()
            .unwrap()
            .contains("gha-missing does not exist")
    );
}

#[test]
fn retries_say_what_they_wait_for_and_stop_at_retry_for() {
    let (e, issuer) = setup();
    // The config (read without credentials) admits main; the live role was changed to trust
    // only release, so STS keeps denying while the pre-flight admits: the propagation case.
    e.write(&SITE.replace("branch = \"main\"", "branch = \"release\""));
    expect(&e.run(&["apply", "--yes"]), 0);
    e.write(SITE);
    let env = no_credentials_env(&e, &issuer);
    let started = std::time::Instant::now();
    let r = keyless_in(e.dir.path(), &["verify", "--retry-for", "3"], &env, None);
    let took = started.elapsed();
    expect(&r, 2);
    assert!(
        r.stderr.contains("waiting") && r.stderr.contains("trust policy of role gha-site"),
        "{}",
        r.stderr
    );
    // Within one backoff step of --retry-for (the last wait is cut to the deadline).
    assert!(took < std::time::Duration::from_secs(6), "took {took:?}");
    assert!(r.stdout.contains("NOT VERIFIED"));
}

#[test]
fn each_sts_error_gets_its_own_fix() {
    let (e, issuer) = setup();
    let write = |name: &str, token: &str| {
        let p = e.dir.path().join(name);
        std::fs::write(&p, token).unwrap();
        p.display().to_string()
    };
    let mut old = Claims::push("octo-org/site", "main");
    old.expires_in = -120;
    let expired = write("old.jwt", &issuer.mint(&old));
    let denied = write(
        "evil.jwt",
        &issuer.mint(&Claims::push("evil-org/site", "main")),
    );
    let mut env = e.kit.env();
    env.retain(|(k, _)| !k.starts_with("ACTIONS_"));
    let fix_of = |file: &str| {
        let r = keyless_in(e.dir.path(), &["verify", "--token-file", file], &env, None);
        expect(&r, 2);
        r.stdout
            .lines()
            .skip_while(|l| !l.starts_with("exchange"))
            .find(|l| l.trim_start().starts_with("fix:"))
            .unwrap_or_default()
            .to_string()
    };
    let (exp_fix, deny_fix) = (fix_of(&expired), fix_of(&denied));
    assert!(exp_fix.contains("expired"), "{exp_fix}");
    assert!(deny_fix.contains("trust policy"), "{deny_fix}");
    assert_ne!(exp_fix, deny_fix);
    assert!(
        !exp_fix.contains("lacks the permission") && !deny_fix.contains("lacks the permission")
    );
}

#[test]
fn no_credentials_and_a_refused_endpoint_fail_fast_with_one_short_message() {
    let e = Env::new();
    e.write(SITE);
    // No credentials and no instance metadata.
    let env = vec![
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    for cmd in [&["plan"][..], &["check"][..], &["apply", "--yes"][..]] {
        let r = keyless_in(e.dir.path(), cmd, &env, None);
        expect(&r, 1);
        assert!(
            r.stderr.contains("no AWS credentials found"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.lines().count() <= 3, "{}", r.stderr);
        assert!(!r.stderr.contains("DispatchFailure("), "{}", r.stderr);
    }
    // Connection refused, with the default retry settings: under a second, not six attempts.
    let env = vec![
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIAX".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "x".to_string()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_string()),
    ];
    let started = std::time::Instant::now();
    let r = keyless_in(e.dir.path(), &["plan"], &env, None);
    expect(&r, 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(r.stderr.contains("Connection refused"), "{}", r.stderr);
    assert!(!r.stderr.contains("DispatchFailure("), "{}", r.stderr);
}
