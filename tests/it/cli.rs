//! The binary, end to end: render, lint, emit, presets, completions, man, error paths.

use keyless_testkit::{ACCOUNT_ID, Kit};

use crate::util::{example, keyless, keyless_in};

#[test]
fn render_example_offline_json_carries_aud_and_sub() {
    let r = keyless(&["render", "-c", &example("keyless.toml"), "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let role = &j["roles"][0];
    assert_eq!(
        role["arn"],
        "arn:aws:iam::123456789012:role/gha-octo-org-site-deploy"
    );
    let cond = &role["trust_policy"]["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(
        cond["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    assert_eq!(
        cond["token.actions.githubusercontent.com:sub"],
        "repo:octo-org@123456/site@456789:ref:refs/heads/main"
    );
    assert_eq!(role["tags"]["managed-by"], "keyless");
    assert_eq!(role["policies"].as_array().unwrap().len(), 2);
}

#[test]
fn every_example_renders_and_lints_without_blocking_findings() {
    for ex in ["keyless.toml", "multi-role.toml", "enterprise.toml"] {
        let r = keyless(&["lint", "-c", &example(ex), "--output", "json"]);
        assert_eq!(r.code, 0, "{ex}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.json()["blocking"], 0);
        let r = keyless(&["render", "-c", &example(ex)]);
        assert_eq!(r.code, 0, "{ex}: {}", r.stderr);
    }
}

#[test]
fn render_asks_sts_for_the_account_when_none_is_pinned() {
    let kit = Kit::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keyless.toml"),
        "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n",
    )
    .unwrap();
    let r = keyless_in(
        dir.path(),
        &["render", "--output", "json", "-v"],
        &kit.env(),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["target"]["account_id"], ACCOUNT_ID);
    assert_eq!(kit.count("GetCallerIdentity"), 1);
    assert_eq!(
        kit.calls().keys().filter(|(s, _)| s == "iam").count(),
        0,
        "render makes no IAM calls"
    );
    assert!(
        !r.stderr.contains("test-kit-secret-not-real")
            && !r.stdout.contains("test-kit-secret-not-real"),
        "never print a secret key"
    );
}

#[test]
fn unreachable_endpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keyless.toml"),
        "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n",
    )
    .unwrap();
    let env = fake_credentials();
    let r = keyless_in(
        dir.path(),
        &["render", "--endpoint-url", "http://127.0.0.1:1"],
        &env,
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("sts:GetCallerIdentity") && r.stderr.contains("fix:"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("not-a-real-secret-value"));
}

#[test]
fn bad_config_names_file_key_value_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keyless.toml"), "[[role]]\nname = \"r\"\nmax_session_duration = 99\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n").unwrap();
    let r = keyless_in(dir.path(), &["render"], &[], None);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("keyless.toml: role[0].max_session_duration: must be 3600 to 43200 seconds"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("(got \"99\")") && r.stderr.contains("fix: "),
        "{}",
        r.stderr
    );
    let r = keyless_in(dir.path(), &["render", "-c", "missing.toml"], &[], None);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("missing.toml") && r.stderr.contains("keyless init"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_flags_exit_1_and_help_exits_0() {
    let r = keyless(&["render", "--bogus"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--bogus"));
    let r = keyless(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Exit codes:"));
    let r = keyless(&["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("keyless "));
}

const BROAD_TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:octo-org/*"}}
  }]
}"#;

#[test]
fn lint_a_raw_policy_from_file_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trust.json"), BROAD_TRUST).unwrap();
    let r = keyless_in(
        dir.path(),
        &["lint", "--policy", "trust.json", "--output", "json"],
        &[],
        None,
    );
    assert_eq!(r.code, 2, "a blocking finding exits 2: {}", r.stdout);
    let j = r.json();
    let rules: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"KL004") && rules.contains(&"KL009"),
        "{rules:?}"
    );
    let kl004 = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "KL004")
        .unwrap();
    assert_eq!(kl004["severity"], "high");
    assert_eq!(
        kl004["location"]["key"],
        "token.actions.githubusercontent.com:sub"
    );
    assert_eq!(kl004["location"]["value"], "repo:octo-org/*");
    assert!(
        kl004["location"]["statement"]
            .as_str()
            .unwrap()
            .starts_with("Statement[0]")
    );

    let r = keyless_in(
        dir.path(),
        &["lint", "--policy", "-"],
        &[],
        Some(BROAD_TRUST),
    );
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("KL004"));

    let r = keyless_in(
        dir.path(),
        &["lint", "--policy", "-"],
        &[],
        Some("{ not json"),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not valid JSON"), "{}", r.stderr);

    let perm = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    let r = keyless_in(
        dir.path(),
        &["lint", "--policy", "-", "--kind", "permission"],
        &[],
        Some(perm),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn lint_blocks_org_wide_config_until_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let base = "account_id = \"123456789012\"\n[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/*\"\nbranch = \"main\"\n";
    std::fs::write(dir.path().join("keyless.toml"), base).unwrap();
    let r = keyless_in(dir.path(), &["lint"], &[], None);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("KL004"));
    let r = keyless_in(dir.path(), &["render"], &[], None);
    assert_eq!(r.code, 2, "render reports that apply would refuse");
    std::fs::write(
        dir.path().join("keyless.toml"),
        format!(
            "{base}[[role.allow]]\nrule = \"KL004\"\nreason = \"read-only audit across the org\"\n"
        ),
    )
    .unwrap();
    let r = keyless_in(dir.path(), &["lint"], &[], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("allowed for this role: read-only audit across the org")
    );
}

#[test]
fn lint_rules_lists_the_catalogue() {
    let r = keyless(&["lint", "--rules", "--output", "json"]);
    assert_eq!(r.code, 0);
    let rules = r.json();
    assert_eq!(rules["format_version"], 1);
    let rules = &rules["rules"];
    assert!(rules.as_array().unwrap().len() >= 30);
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "KL001" && r["severity"] == "critical")
    );
}

#[test]
fn emit_workflow_parses_and_matches_the_trust_scope() {
    let r = keyless(&[
        "emit",
        "workflow",
        "-c",
        &example("multi-role.toml"),
        "--role",
        "gha-infra-apply",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let y: serde_json::Value = serde_saphyr::from_str(&r.stdout).expect("valid YAML");
    assert_eq!(y["jobs"]["deploy"]["environment"], "prod");
    assert_eq!(y["jobs"]["deploy"]["permissions"]["id-token"], "write");
    assert!(r.stdout.contains("${{ vars.AWS_ROLE_ARN }}"));
    let r = keyless(&[
        "emit",
        "workflow",
        "-c",
        &example("multi-role.toml"),
        "--role",
        "gha-infra-plan",
    ]);
    let y: serde_json::Value = serde_saphyr::from_str(&r.stdout).unwrap();
    assert!(y["on"].get("pull_request").is_some());
    assert!(y["jobs"]["pull-request"].get("environment").is_none());
}

#[test]
fn emit_variable_gives_the_arn_and_gh_command() {
    let r = keyless(&[
        "emit",
        "variable",
        "-c",
        &example("multi-role.toml"),
        "--role",
        "gha-infra-apply",
        "--output",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["name"], "AWS_ROLE_ARN");
    assert_eq!(v["value"], "arn:aws:iam::123456789012:role/gha-infra-apply");
    assert_eq!(v["targets"][0]["environment"], "prod");
    assert!(
        v["targets"][0]["command"]
            .as_str()
            .unwrap()
            .contains("--env 'prod'")
    );
    let r = keyless(&["emit", "variable", "-c", &example("multi-role.toml")]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("pass --role"), "{}", r.stderr);
    let r = keyless(&[
        "emit",
        "variable",
        "-c",
        &example("multi-role.toml"),
        "--role",
        "nope",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("gha-infra-plan"),
        "the error lists the roles: {}",
        r.stderr
    );
}

#[test]
fn presets_completions_and_man() {
    let r = keyless(&["presets", "--output", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["format_version"], 1);
    assert!(r.json()["presets"].as_object().unwrap().len() >= 10);
    let r = keyless(&["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("keyless"));
    let r = keyless(&["man"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains(".TH keyless"));
}

#[test]
fn help_and_human_lint_output_snapshots() {
    let r = keyless(&["--help"]);
    insta::assert_snapshot!("help", r.stdout);
    let r = keyless(&["lint", "--help"]);
    insta::assert_snapshot!("lint-help", r.stdout);
    let dir = tempfile::tempdir().unwrap();
    let r = keyless_in(
        dir.path(),
        &["lint", "--policy", "-", "--no-color"],
        &[],
        Some(BROAD_TRUST),
    );
    insta::assert_snapshot!("lint-broad-trust", r.stdout);
}

#[test]
fn every_rule_of_the_catalogue_is_in_readmes_table_with_its_severity() {
    let r = crate::util::keyless(&["lint", "--rules", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let rules = r.json()["rules"].as_array().unwrap().clone();
    assert!(rules.len() > 30);
    let mut missing = Vec::new();
    for rule in &rules {
        let (id, severity) = (
            rule["id"].as_str().unwrap(),
            rule["severity"].as_str().unwrap(),
        );
        let row = format!("| {id} | ");
        match readme.lines().find(|l| l.starts_with(&row)) {
            None => missing.push(format!("{id}: no row")),
            Some(l) => {
                let cell = l[row.len()..].split(" | ").next().unwrap_or_default();
                // KL008's severity is the loosest value's.
                if cell != severity && !(id == "KL008" && cell == "loosest value") {
                    missing.push(format!(
                        "{id}: README says {cell}, the catalogue {severity}"
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn help_says_what_each_command_takes() {
    // destroy has no --verify; emit names every document it prints.
    let r = crate::util::keyless(&["destroy", "--help"]);
    assert!(!r.stdout.contains("--verify"), "{}", r.stdout);
    let r = crate::util::keyless(&["--help"]);
    assert!(
        r.stdout.contains("scheduled check and audit workflows"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_endpoint_that_is_not_aws_or_not_a_url_is_one_line_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keyless.toml"),
        "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n",
    )
    .unwrap();
    let env = fake_credentials();
    // Something that answers HTTP, but not as AWS does: the GitHub kit.
    let gh = keyless_testkit::GitHub::start("ghp_x");
    for endpoint in [gh.url(), "notaurl".to_string()] {
        let r = keyless_in(
            dir.path(),
            &["plan", "--no-github", "--endpoint-url", &endpoint],
            &env,
            None,
        );
        assert_eq!(r.code, 1, "{endpoint}: {}", r.stderr);
        let error = r
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{}", r.stderr));
        assert!(!error.contains("Unknown: Unknown"), "{error}");
        assert!(!r.stderr.contains("Request {"), "{}", r.stderr);
        assert!(!r.stderr.contains("SdkBody"), "{}", r.stderr);
        assert!(r.stderr.contains("fix:"), "{}", r.stderr);
        assert!(r.stderr.lines().count() <= 4, "{}", r.stderr);
    }
}

/// Credentials that look real to the SDK (one attempt per call); the secret must never be printed.
fn fake_credentials() -> [(&'static str, String); 4] {
    [
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE".to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "not-a-real-secret-value".to_string(),
        ),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_MAX_ATTEMPTS", "1".to_string()),
    ]
}
