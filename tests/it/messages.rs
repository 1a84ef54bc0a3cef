//! Messages a user reads when something is off: config types by TOML type and key path (all at
//! once, one `error:` line each), explain's fixes, and suggestions for pasted or mistyped values.

use keyless_testkit::{Claims, GITHUB_ISSUER, Issuer};

use crate::util::{Env, expect, keyless_in};

#[test]
fn every_config_problem_at_once_by_key_path_and_toml_type() {
    let e = Env::new();
    e.write(
        "account_id = 123456789012\n[[role]]\nname = \"r\"\nmax_session_duration = \"3600\"\nadopt = \"yes\"\n  [[role.subject]]\n  repo = \"o/r\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"s3-deploy\"\n  params = { bucket = \"Bad_Bucket\" }\n  [[role.preset]]\n  name = \"s3-deplo\"\n  [[role.allow]]\n  rule = \"kl004\"\n  reason = \"org-wide on purpose\"\n",
    );
    let r = e.run(&["lint"]);
    expect(&r, 1);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    for (key, what) in [
        ("account_id", "expected a string, found an integer"),
        (
            "role[0].max_session_duration",
            "expected an integer, found a string",
        ),
        ("role[0].adopt", "expected a boolean"),
        ("role[0].allow[0].rule", "unknown lint rule"),
        ("role[0].preset[0].params.bucket", "an S3 bucket name"),
        ("role[0].preset[1].name", "unknown preset"),
    ] {
        assert!(
            errors
                .iter()
                .any(|l| l.contains(&format!("keyless.toml: {key}: {what}"))),
            "{key}: {what} not on an error: line in\n{}",
            r.stderr
        );
    }
    // A fix ends its line: the next problem never runs on after it ("fix: bucket nameerror:").
    assert!(
        r.stderr
            .lines()
            .all(|l| !(l.contains("fix:") && l.contains("error:"))),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("fix: bucket name, e.g. my-site-bucket\n"));
    assert!(!r.stderr.contains("i64") && !r.stderr.contains("invalid type"));
    assert!(r.stderr.contains("quote it: account_id = \"123456789012\""));
    assert!(
        r.stderr
            .contains("rule IDs are upper-case: rule = \"KL004\"")
    );
    assert!(r.stderr.contains("did you mean \"bad-bucket\""));
}

#[test]
fn a_config_problem_is_reported_before_missing_credentials() {
    let e = Env::new();
    let no_credentials = [("AWS_REGION", "us-east-1".to_string())];
    for pinned in ["", "account_id = \"123456789012\"\n"] {
        e.write(&format!(
            "{pinned}[[role]]\nname = \"r\"\n  [[role.subject]]\n  repo = \"o/r\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"s3-deploy\"\n  params = {{ bucket = \"Bad_Bucket\" }}\n"
        ));
        for cmd in [
            &["plan"][..],
            &["check"],
            &["apply", "--yes"],
            &["destroy", "--yes"],
        ] {
            let r = keyless_in(e.dir.path(), cmd, &no_credentials, None);
            expect(&r, 1);
            assert!(
                r.stderr
                    .contains("role[0].preset[0].params.bucket: an S3 bucket name")
                    && !r.stderr.contains("no AWS credentials"),
                "{cmd:?} {pinned}: {}",
                r.stderr
            );
        }
    }
    // A sound config without credentials still says what is missing.
    e.write("[[role]]\nname = \"r\"\n  [[role.subject]]\n  repo = \"o/r\"\n  branch = \"main\"\n");
    let r = keyless_in(e.dir.path(), &["plan"], &no_credentials, None);
    expect(&r, 1);
    assert!(r.stderr.contains("no AWS credentials"), "{}", r.stderr);
}

#[test]
fn explain_fixes_name_the_environment_and_a_case_only_mismatch() {
    let e = Env::new();
    e.write(
        "account_id = \"123456789012\"\n[[role]]\nname = \"gha-prod\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  environment = \"production\"\n",
    );
    // A branch job for an environment-scoped role: run it in the environment.
    let r = e.run(&[
        "explain",
        "--repo",
        "octo-org/site",
        "--ref",
        "refs/heads/main",
    ]);
    expect(&r, 2);
    let fix = r
        .stdout
        .lines()
        .find(|l| l.contains("fix:"))
        .unwrap_or_default();
    assert!(
        fix.contains("add `environment: production` to the job"),
        "{}",
        r.stdout
    );
    // Production vs production: named as a letter-case difference.
    let r = e.run(&[
        "explain",
        "--repo",
        "octo-org/site",
        "--environment",
        "Production",
    ]);
    expect(&r, 2);
    assert!(r.stdout.contains("only in letter case"), "{}", r.stdout);
}

#[test]
fn explain_takes_a_raw_token_as_claims_and_never_prints_it() {
    let e = Env::new();
    e.write(
        "account_id = \"123456789012\"\n[[role]]\nname = \"gha-site\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n",
    );
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let token = issuer.mint(&Claims::push("octo-org/site", "main"));
    std::fs::write(e.dir.path().join("token.jwt"), &token).unwrap();
    let r = e.run(&["explain", "--claims", "token.jwt"]);
    expect(&r, 0);
    assert!(r.stdout.contains("ADMITTED"), "{}", r.stdout);
    let sig = token.rsplit('.').next().unwrap();
    assert!(!r.stdout.contains(sig) && !r.stderr.contains(sig));
}

#[test]
fn init_echoes_pasted_values_and_suggests_the_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["init", "--yes", "--branch", "main"];
        args.extend_from_slice(extra);
        keyless_in(dir.path(), &args, &[], None)
    };
    let r = run(&[
        "--repo",
        "https://github.com/octo-org/site.git",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=b-site",
    ]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("https://github.com/octo-org/site.git")
            && r.stderr.contains("did you mean \"octo-org/site\""),
        "{}",
        r.stderr
    );
    let r = run(&["--repo", "octo-org/site", "--preset", "s3-deplyo"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("did you mean \"s3-deploy\""),
        "{}",
        r.stderr
    );
    let r = run(&[
        "--repo",
        "octo-org/site",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=s3://octo-site/build",
    ]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("s3://octo-site/build")
            && r.stderr.contains("did you mean \"octo-site\""),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("keyless.toml").exists());
}

/// Every problem at once, and the nearest name for a typo: a preset typo beside a refused
/// subject, a `--param` typo, and a profile that does not exist.
#[test]
fn typos_are_named_with_the_nearest_name_and_never_wait_for_other_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("keyless.toml"),
        "account_id = \"123456789012\"\n[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"octo org/site\"\nbranch = \"main\"\n[[role.preset]]\nname = \"s3-deplo\"\nparams = { bucket = \"x\" }\n",
    )
    .unwrap();
    let r = crate::util::keyless_in(d, &["lint", "--no-github"], &[], None);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("role[0].subject[0].repo")
            && r.stderr.contains("role[0].preset[0].name")
            && r.stderr.contains("did you mean \"s3-deploy\""),
        "{}",
        r.stderr
    );
    let fresh = tempfile::tempdir().unwrap();
    let r = crate::util::keyless_in(
        fresh.path(),
        &[
            "init",
            "--yes",
            "--repo",
            "o/r",
            "--branch",
            "main",
            "--preset",
            "s3-deploy",
            "--param",
            "buckt=x",
            "--format",
            "classic",
            "--no-github",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("did you mean --param bucket=VALUE (s3-deploy)"),
        "{}",
        r.stderr
    );
    std::fs::write(d.join("aws-config"), "[profile dev]\nregion = us-east-1\n").unwrap();
    std::fs::copy(crate::util::example("keyless.toml"), d.join("ok.toml")).unwrap();
    let r = crate::util::keyless_in(
        d,
        &["plan", "--no-github", "-c", "ok.toml"],
        &[
            ("AWS_PROFILE", "prodd".to_string()),
            (
                "AWS_CONFIG_FILE",
                d.join("aws-config").display().to_string(),
            ),
        ],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("profile prodd does not exist"),
        "{}",
        r.stderr
    );
}
