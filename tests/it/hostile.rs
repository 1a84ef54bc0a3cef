//! Hostile and oversized input: reads are capped, environment names that GitHub Actions would
//! evaluate are refused, a policy that repeats a key is called out by explain, deeply nested
//! claims name the limit.

use std::os::unix::fs::symlink;

use keyless_testkit::ACCOUNT_ID;

use crate::apply::SITE;
use crate::util::keyless_in;

#[test]
fn reads_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    symlink("/dev/zero", d.join("keyless.toml")).unwrap();
    symlink("/dev/zero", d.join("zero.json")).unwrap();
    let started = std::time::Instant::now();
    let r = keyless_in(d, &["lint", "--no-github"], &[], None);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("larger than 1048576 bytes"),
        "{}",
        r.stderr
    );
    let r = keyless_in(d, &["lint", "--policy", "zero.json"], &[], None);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("larger than 1048576 bytes"),
        "{}",
        r.stderr
    );
    let r = keyless_in(
        d,
        &[
            "explain",
            "--policy",
            "zero.json",
            "--repo",
            "o/r",
            "--ref",
            "refs/heads/main",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("larger than"), "{}", r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// Every command that reads a config reads it through the one capped reader: `-c /dev/zero`
/// is an error naming the limit, at once, never a hang (credentials point at a closed port, so
/// a command that reached AWS first would fail differently).
#[test]
fn every_command_that_reads_a_config_caps_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "x".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_string()),
    ];
    let commands: &[&[&str]] = &[
        &["plan"],
        &["apply", "--yes"],
        &["destroy", "--yes"],
        &["check"],
        &["audit"],
        &["lint"],
        &["render"],
        &["emit", "workflow"],
        &["export", "cloudformation"],
        &["guard", "plan"],
        &["verify"],
        &["migrate-subjects", "--repo", "o/r"],
    ];
    for args in commands {
        let started = std::time::Instant::now();
        let mut all = vec!["-c", "/dev/zero", "--no-github"];
        all.extend_from_slice(args);
        let r = keyless_in(d, &all, &env, None);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stdout);
        assert!(
            r.stderr.contains("larger than 1048576 bytes"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn an_environment_name_github_would_evaluate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keyless.toml"),
        format!(
            "account_id = \"{ACCOUNT_ID}\"\n{}",
            SITE.replace(
                "branch = \"main\"",
                "environment = \"${{ github.event.issue.title }}\""
            )
        ),
    )
    .unwrap();
    for cmd in [&["lint", "--no-github"][..], &["emit", "workflow"][..]] {
        let r = keyless_in(dir.path(), cmd, &[], None);
        assert_eq!(r.code, 1, "{cmd:?}: {}", r.stdout);
        assert!(
            r.stderr.contains("role[0].subject[0].environment") && r.stderr.contains("${{"),
            "{cmd:?}: {}",
            r.stderr
        );
    }
}

/// The same for an environment named by a custom sub or by an `environment` claim condition:
/// wherever it comes from, it would become the workflow's `environment:`.
#[test]
fn an_environment_from_a_custom_sub_or_a_claim_is_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    for (subject, key) in [
        (
            "custom = \"repo:octo-org/site:environment:${{ github.head_ref }}\"",
            "role[0].subject[0].custom",
        ),
        (
            "repo = \"octo-org/site\"\nbranch = \"main\"\nclaims = { environment = \"${{ github.head_ref }}\" }",
            "role[0].subject[0].claims.environment",
        ),
    ] {
        std::fs::write(
            dir.path().join("keyless.toml"),
            format!(
                "account_id = \"{ACCOUNT_ID}\"\n[[role]]\nname = \"r\"\n[[role.subject]]\n{subject}\n"
            ),
        )
        .unwrap();
        for cmd in [&["lint", "--no-github"][..], &["emit", "workflow"][..]] {
            let r = keyless_in(dir.path(), cmd, &[], None);
            assert_eq!(r.code, 1, "{cmd:?}: {}", r.stdout);
            assert!(
                r.stderr.contains(key) && r.stderr.contains("${{"),
                "{cmd:?}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn explain_calls_out_a_repeated_key_and_a_too_deep_claims_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = "token.actions.githubusercontent.com";
    // The same StringEquals twice: the first admits octo-org/site, the last another repository.
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
  "Principal": {{"Federated": "arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{p}"}},
  "Condition": {{"StringEquals": {{"{p}:aud": "sts.amazonaws.com", "{p}:sub": "repo:octo-org/site:ref:refs/heads/main"}},
                "StringEquals": {{"{p}:aud": "sts.amazonaws.com", "{p}:sub": "repo:octo-org/other:ref:refs/heads/main"}}}}}}]}}"#
    );
    std::fs::write(d.join("dup.json"), policy).unwrap();
    let r = keyless_in(
        d,
        &[
            "explain",
            "--policy",
            "dup.json",
            "--repo",
            "octo-org/other",
            "--ref",
            "refs/heads/main",
        ],
        &[],
        None,
    );
    assert_eq!(
        r.code, 2,
        "a repeated key is a finding: {}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains("KL027") && r.stderr.contains("Statement[0].Condition.StringEquals"),
        "{}",
        r.stderr
    );
    // Claims nested past serde_json's limit: the limit is named.
    let deep = format!("{{\"sub\": {}1{}}}", "[".repeat(200), "]".repeat(200));
    std::fs::write(d.join("deep.json"), deep).unwrap();
    let r = keyless_in(
        d,
        &["explain", "--policy", "dup.json", "--claims", "deep.json"],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("nested deeper than 128 levels"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sarif_uris_are_valid_for_any_iam_path() {
    let e = crate::util::Env::new();
    crate::import::hand_made(&e).await;
    let iam = e.iam().await;
    let trust = crate::util::live_trust(&iam, "legacy-any").await;
    // IAM names may hold `+=,.@-` (and AWS's paths any printable ASCII, which the kit's IAM
    // refuses: the unit test beside sarif_uri covers those).
    iam.create_role()
        .role_name("odd+path=x,y@z")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let sarif = e.dir.path().join("out.sarif");
    let r = e.run(&["audit", "--sarif", sarif.to_str().unwrap(), "--no-github"]);
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let uris: Vec<String> = j["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["locations"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| {
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .map(String::from)
        })
        .collect();
    let odd: Vec<&String> = uris.iter().filter(|u| u.contains("odd")).collect();
    assert!(!odd.is_empty(), "{uris:?}");
    for u in &uris {
        assert!(
            u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~/%".contains(c)),
            "not a valid URI reference: {u}"
        );
    }
    assert!(odd[0].ends_with("role/odd%2Bpath%3Dx%2Cy%40z"), "{odd:?}");
}

/// Credentials in `--github-api-url` (or `KEYLESS_GITHUB_API_URL`) are never printed: not in
/// the error when GitHub cannot be reached, not at `-vv`.
#[test]
fn credentials_in_the_github_api_url_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keyless.toml"),
        format!("account_id = \"{ACCOUNT_ID}\"\n{SITE}"),
    )
    .unwrap();
    for (args, env) in [
        (
            vec![
                "-vv",
                "--github-api-url",
                "http://user:hunter2@127.0.0.1:1",
                "lint",
            ],
            vec![("GH_TOKEN", "ghp_test".to_string())],
        ),
        (
            vec!["-vv", "lint"],
            vec![
                ("GH_TOKEN", "ghp_test".to_string()),
                (
                    "KEYLESS_GITHUB_API_URL",
                    "http://user:hunter2@127.0.0.1:1".to_string(),
                ),
            ],
        ),
    ] {
        let r = keyless_in(dir.path(), &args, &env, None);
        assert_ne!(r.code, 0, "GitHub cannot be reached: {}", r.stderr);
        assert!(
            !r.stderr.contains("hunter2") && !r.stdout.contains("hunter2"),
            "{}\n{}",
            r.stdout,
            r.stderr
        );
        assert!(r.stderr.contains("***@127.0.0.1:1"), "{}", r.stderr);
    }
}

/// A proxy variable that is not a URL is refused (naming it), never silently ignored; and an
/// AWS transport failure behind a proxy says which proxy was in use.
#[test]
fn a_malformed_proxy_is_refused_and_a_proxy_in_use_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keyless.toml"),
        format!("account_id = \"{ACCOUNT_ID}\"\n{SITE}"),
    )
    .unwrap();
    let aws = |proxy: &str| {
        vec![
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "x".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_string()),
            ("HTTPS_PROXY", proxy.to_string()),
            ("HTTP_PROXY", proxy.to_string()),
        ]
    };
    let r = keyless_in(
        dir.path(),
        &["plan", "--no-github"],
        &aws("proxy.corp:3128"),
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("HTTPS_PROXY") && r.stderr.contains("is not a proxy URL"),
        "{}",
        r.stderr
    );
    let r = keyless_in(
        dir.path(),
        &["plan", "--no-github"],
        &aws("http://user:pw@127.0.0.1:2"),
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("through the proxy http://***@127.0.0.1:2"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(":pw@"), "{}", r.stderr);
}
