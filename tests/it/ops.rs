//! One account and many run the same operations (`keyless::ops`): what a single-account run
//! decides, a run across `[accounts]` decides the same way. Each test here failed while the
//! multi-account pipeline was a second copy in the binary.

use keyless_testkit::github::Repo;
use keyless_testkit::{ACCOUNT_ID, GitHub};

use crate::accounts::{A, B, org};
use crate::util::{Env, expect, keyless_in};

use crate::github::TOKEN;

/// `[accounts]` for A and B with one role trusting `repo` on main.
fn fleet(repo: &str) -> String {
    format!(
        r#"name = "platform"
[accounts]
ids = ["{A}", "{B}"]
external_id = "keyless-org-7"

[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "{repo}"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = {{ bucket = "octo-site" }}
"#
    )
}

#[test]
fn blocking_findings_are_listed_in_each_account_as_in_one() {
    let e = org();
    e.write(&fleet("octo-org/*"));
    let r = e.run(&["plan", "--output", "json"]);
    expect(&r, 1);
    let j = r.json();
    for entry in j["accounts"].as_array().unwrap() {
        assert_eq!(entry["status"], "error", "{entry}");
        let error = entry["error"].as_str().unwrap();
        assert!(
            error.contains("KL004") && error.contains("org-wide trust"),
            "the blocking finding is named, not only counted: {error}"
        );
        assert!(error.contains("1 blocking lint finding(s)"), "{error}");
    }
    // The human view shows the same findings.
    let r = e.run(&["plan"]);
    expect(&r, 1);
    assert!(r.stdout.contains("KL004"), "{}\n{}", r.stdout, r.stderr);
    // Nothing but the assume-roles that reached the accounts.
    assert!(
        e.writes().iter().all(|w| w.starts_with("AssumeRole=")),
        "{:?}",
        e.writes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_single_account_audit_lints_with_the_configs_claim_keys_as_many_accounts_do() {
    let e = Env::new();
    let iam = e.iam().await;
    let p = "token.actions.githubusercontent.com";
    iam.create_open_id_connect_provider()
        .url(format!("https://{p}"))
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{p}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{p}:aud"): "sts.amazonaws.com",
            format!("{p}:sub"): "repo:octo-org/site:ref:refs/heads/main",
            format!("{p}:runner_environment"): "github-hosted"}}}]});
    iam.create_role()
        .role_name("hand-made")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    e.kit.reset_counts();
    let kl014 = |r: &crate::util::Run| {
        r.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "KL014" && f["role"] == "hand-made")
    };
    // Without a config, a claim key keyless does not know is a finding.
    let r = e.run(&["audit", "--output", "json"]);
    assert!(kl014(&r), "{}", r.stdout);
    // With a config that declares it ([lint] claim_keys), not: as in a multi-account audit.
    e.write(&format!(
        "[lint]\nclaim_keys = [\"runner_environment\"]\n{}",
        crate::apply::SITE
    ));
    let r = e.run(&["audit", "--output", "json"]);
    assert!(!kl014(&r), "{}", r.stdout);
    assert!(e.writes().is_empty(), "{:?}", e.writes());
}

#[test]
fn github_is_read_in_each_account_and_its_variables_are_left_to_one_account_runs() {
    let e = org();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789).immutable(true));
    gh.add_repo(Repo::new("octo-org/legacy", 123456, 111));
    let env = crate::github::env(&e, &gh);
    // A classic trust for a repository that mints immutable subjects: blocked in every account,
    // as in one (KL016, from what GitHub reports).
    e.write(&fleet("octo-org/site"));
    let r = keyless_in(e.dir.path(), &["plan", "--output", "json"], &env, None);
    expect(&r, 1);
    for entry in r.json()["accounts"].as_array().unwrap() {
        let error = entry["error"].as_str().unwrap_or_default();
        assert!(error.contains("KL016"), "{entry}");
    }
    // A repository that mints classic subjects: planned and applied in each account, and the
    // repository variable (one value, one role ARN) is not fought over by the accounts.
    e.write(&fleet("octo-org/legacy"));
    let r = keyless_in(
        e.dir.path(),
        &["apply", "--yes", "--output", "json"],
        &env,
        None,
    );
    expect(&r, 0);
    let j = r.json();
    for (entry, id) in j["accounts"].as_array().unwrap().iter().zip([A, B]) {
        assert_eq!(entry["account_id"], id);
        assert_eq!(entry["status"], "applied", "{entry}");
        assert!(entry["report"]["github"].is_null(), "{entry}");
    }
    assert_eq!(gh.writes(), 0, "no GitHub write in a run across accounts");
    let r = keyless_in(e.dir.path(), &["check", "--output", "json"], &env, None);
    expect(&r, 0);
}
