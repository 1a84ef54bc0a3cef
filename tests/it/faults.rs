//! Faults: every write of a fresh apply failed in turn (error and connection-reset variants) must
//! leave an account the next apply converges, with nothing left over; throttling is retried;
//! permanent throttling fails in bounded time; SIGINT stops between calls.

use std::time::{Duration, Instant};

use keyless_testkit::{ACCOUNT_ID, Claims, Fault, FaultRule, GITHUB_ISSUER, Issuer, Kit};

use crate::util::{Env, expect, keyless_in};

/// Two roles, each with a preset and an inline policy: 9 writes on a fresh account.
const TWO_ROLES: &str = r#"
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-org-site" }
  [[role.inline_policy]]
  name = "extra"
  file = "extra.json"

[[role]]
name = "gha-api"
  [[role.subject]]
  repo = "octo-org/api"
  environment = "prod"
  [[role.preset]]
  name = "lambda-deploy"
  params = { function = "api", region = "us-east-1" }
  [[role.inline_policy]]
  name = "extra"
  file = "extra.json"
"#;

fn env() -> Env {
    let e = Env::new();
    std::fs::write(e.dir.path().join("extra.json"), r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}]}"#).unwrap();
    e.write(TWO_ROLES);
    e
}

/// The account holds exactly the configured things: nothing half-made, nothing extra.
async fn assert_exactly_desired(kit: &Kit) {
    let iam = aws_sdk_iam::Client::new(&kit.sdk_config().await);
    let mut roles: Vec<String> = iam
        .list_roles()
        .send()
        .await
        .unwrap()
        .roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .filter(|n| !n.starts_with("AWSServiceRole"))
        .collect();
    roles.sort();
    assert_eq!(roles, vec!["gha-api", "gha-site"]);
    let mut policies: Vec<String> = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap()
        .policies()
        .iter()
        .map(|p| p.policy_name().unwrap_or_default().to_string())
        .collect();
    policies.sort();
    assert_eq!(
        policies,
        vec!["gha-api-lambda-deploy", "gha-site-s3-deploy"]
    );
    assert_eq!(
        iam.list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .len(),
        1
    );
    for role in ["gha-site", "gha-api"] {
        assert_eq!(
            iam.list_attached_role_policies()
                .role_name(role)
                .send()
                .await
                .unwrap()
                .attached_policies()
                .len(),
            1,
            "{role}"
        );
        assert_eq!(
            iam.list_role_policies()
                .role_name(role)
                .send()
                .await
                .unwrap()
                .policy_names(),
            ["extra"],
            "{role}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn failing_each_write_of_a_fresh_apply_converges_on_the_next_run() {
    // How many writes does a fresh apply make?
    let probe = env();
    expect(&probe.run(&["apply", "--yes"]), 0);
    let writes: u64 = probe
        .writes()
        .iter()
        .map(|w| w.rsplit('=').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(writes, 9);
    for (variant, fault) in [
        ("ServiceFailure", Fault::service_failure()),
        ("reset after the write", Fault::ResetAfter),
    ] {
        for k in 1..=writes {
            let e = env();
            e.kit.inject(FaultRule::nth_write(k, fault.clone()));
            let r = e.run(&["apply", "--yes"]);
            assert_eq!(r.code, 1, "{variant} on write {k}: {}", r.stderr);
            // Independent writes run together, so how many were made before the failure
            // depends on which of them arrived first; fewer than all of them were.
            let done = (0..writes).any(|n| {
                r.stderr.contains(&format!(
                    "failed after {n} of {writes} change(s) were applied"
                ))
            });
            assert!(
                done && r.stderr.contains("run the command again"),
                "{variant} on write {k}:\n{}",
                r.stderr
            );
            e.kit.clear_faults();
            let again = e.run(&["apply", "--yes"]);
            assert_eq!(
                again.code, 0,
                "{variant} on write {k}: second apply:\n{}",
                again.stderr
            );
            let plan = e.run(&["plan", "--detailed-exitcode"]);
            assert_eq!(
                plan.code, 0,
                "{variant} on write {k}: not converged:\n{}",
                plan.stdout
            );
            assert_exactly_desired(&e.kit).await;
        }
    }
}

fn without_max_attempts(kit: &Kit) -> Vec<(&'static str, String)> {
    kit.env()
        .into_iter()
        .filter(|(k, _)| *k != "AWS_MAX_ATTEMPTS")
        .collect()
}

#[test]
fn thirty_percent_throttling_is_retried_by_apply_check_and_verify() {
    let e = env();
    e.write(&format!("account_id = \"{ACCOUNT_ID}\"\n{TWO_ROLES}"));
    e.kit
        .inject(FaultRule::fraction(3, 10, Fault::throttling()));
    let env = without_max_attempts(&e.kit);
    let run = |args: &[&str], extra: &[(&'static str, String)]| {
        let mut all = env.clone();
        all.extend_from_slice(extra);
        keyless_in(e.dir.path(), args, &all, None)
    };
    expect(&run(&["apply", "--yes"], &[]), 0);
    expect(&run(&["check"], &[]), 0);
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    expect(
        &run(&["verify", "--role", "gha-site"], &issuer.runner_env()),
        0,
    );
    let throttled: u64 = e.kit.calls().values().sum();
    assert!(
        throttled > 30,
        "enough calls went through the 30 % rule ({throttled})"
    );
}

#[test]
fn permanent_throttling_fails_clearly_within_bounded_time() {
    let e = env();
    e.kit.inject(FaultRule::always(Fault::throttling()));
    let started = Instant::now();
    let r = keyless_in(
        e.dir.path(),
        &["apply", "--yes"],
        &without_max_attempts(&e.kit),
        None,
    );
    expect(&r, 1);
    assert!(
        r.stderr.contains("Throttling") && r.stderr.contains("rate-limiting"),
        "{}",
        r.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn sigint_during_apply_stops_between_calls_and_converges() {
    let e = env();
    e.kit
        .inject(FaultRule::every_write(Fault::Delay(Duration::from_millis(
            400,
        ))));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyless"));
    cmd.args(["apply", "--yes"])
        .current_dir(e.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", e.dir.path());
    for (k, v) in e.kit.env() {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while e.kit.count("CreateRole") == 0 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted:") && stderr.contains("run the command again"),
        "{stderr}"
    );
    let writes: u64 = e
        .writes()
        .iter()
        .map(|w| w.rsplit('=').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(writes < 9, "it stopped before the end ({writes} writes)");
    e.kit.clear_faults();
    expect(&e.run(&["apply", "--yes"]), 0);
    expect(&e.run(&["plan", "--detailed-exitcode"]), 0);
}

#[test]
fn a_lost_create_response_retried_by_the_sdk_still_converges_in_one_run() {
    for action in ["CreateOpenIDConnectProvider", "CreateRole", "CreatePolicy"] {
        let e = env();
        e.kit
            .inject(FaultRule::action(action, Fault::ResetAfter, 1));
        let env: Vec<(&str, String)> = e
            .kit
            .env()
            .into_iter()
            .map(|(k, v)| {
                if k == "AWS_MAX_ATTEMPTS" {
                    (k, "3".to_string())
                } else {
                    (k, v)
                }
            })
            .collect();
        let r = keyless_in(e.dir.path(), &["apply", "--yes"], &env, None);
        assert_eq!(r.code, 0, "{action}: {}", r.stderr);
        assert!(
            e.kit.count(action) >= 2,
            "{action} was retried after the lost response"
        );
        expect(&e.run(&["plan", "--detailed-exitcode"]), 0);
    }
    // A create that collides with something keyless does not own is still an error. One role
    // only: the single injected GetRole miss must land on gha-site, and roles are read
    // concurrently.
    let e = env();
    e.write(
        TWO_ROLES
            .split("[[role]]\nname = \"gha-api\"")
            .next()
            .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let iam = aws_sdk_iam::Client::new(&e.kit.sdk_config().await);
        e.kit.inject(FaultRule::action("GetRole", Fault::Error { status: 404, code: "NoSuchEntity" }, 1));
        iam.create_role().role_name("gha-site").assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#).send().await.unwrap();
    });
    // Role by role: the read the injected GetRole miss deceives (the account read does not
    // call GetRole).
    let r = e.run(&["apply", "--yes", "--reads", "per-role"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("EntityAlreadyExists"), "{}", r.stderr);
}

#[test]
fn an_answer_without_aws_error_shape_names_the_call_and_the_http_status() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    e.kit
        .inject(FaultRule::action("CreateRole", Fault::Bare(500), 100));
    let r = e.run(&["apply", "--yes", "--no-github"]);
    expect(&r, 1);
    assert!(!r.stderr.contains("Unknown: Unknown"), "{}", r.stderr);
    assert!(
        r.stderr.contains("iam:CreateRole: HTTP 500")
            || r.stderr.contains("(CreateRole)") && r.stderr.contains("HTTP 500"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("fix:"), "{}", r.stderr);
    // The next apply converges once the endpoint answers again.
    e.kit.clear_faults();
    expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
}

#[test]
fn a_failed_apply_still_prints_its_json_report_with_the_error() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    e.kit
        .inject(FaultRule::nth_write(3, Fault::service_failure()));
    let r = e.run(&["apply", "--yes", "--no-github", "--output", "json"]);
    expect(&r, 1);
    let j = r.json();
    let error = j["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(error.contains("failed after"), "{error}");
    assert!(j["applied"].as_u64().unwrap() >= 1, "{}", r.stdout);
    assert!(
        j["plan"]["changes"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    // stderr still says it once, for people.
    assert!(r.stderr.contains("failed after"), "{}", r.stderr);
}
