//! `keyless import`: the four hand-made roles of the usual tutorials become keyless.toml, and
//! the plan after it changes no document, only keyless's ownership tags.

use keyless_testkit::ACCOUNT_ID;

use crate::util::{Env, expect};

const P: &str = "token.actions.githubusercontent.com";

/// A GitHub trust (github.com's provider in the kit's account) with `condition`.
pub(crate) fn trust(condition: serde_json::Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{P}")},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}]})
    .to_string()
}

/// What the tutorials do by hand: a provider, four roles, a policy, attachments.
pub(crate) async fn hand_made(e: &Env) {
    let iam = e.iam().await;
    iam.create_open_id_connect_provider()
        .url(format!("https://{P}"))
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let aud = |sub_op: &str, sub: serde_json::Value| {
        let mut c = serde_json::json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}});
        c[sub_op][format!("{P}:sub")] = sub;
        trust(c)
    };
    for (name, doc) in [
        (
            "site-deploy",
            aud(
                "StringLike",
                serde_json::json!("repo:octo-org/site:ref:refs/heads/main"),
            ),
        ),
        (
            "infra-plan",
            aud(
                "StringEquals",
                serde_json::json!("repo:octo-org/infra:pull_request"),
            ),
        ),
        (
            "legacy-any",
            aud("StringLike", serde_json::json!("repo:octo-org/legacy:*")),
        ),
        (
            "app-prod",
            aud(
                "StringEquals",
                serde_json::json!("repo:octo-org/app:environment:production"),
            ),
        ),
    ] {
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(doc)
            .send()
            .await
            .unwrap();
    }
    let policy = iam
        .create_policy()
        .policy_name("site-deploy-s3")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::octo-site/*"}]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("site-deploy")
        .policy_arn(policy.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("infra-plan")
        .policy_name("wafv2-read")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["wafv2:GetIPSet", "wafv2:ListIPSets"], "Resource": "*"}]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("legacy-any")
        .policy_arn("arn:aws:iam::aws:policy/AmazonS3FullAccess")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn hand_made_roles_round_trip_to_a_plan_with_no_document_changes() {
    let e = Env::new();
    hand_made(&e).await;
    let r = e.run(&[
        "import",
        "--role",
        "site-deploy",
        "--role",
        "infra-plan",
        "--role",
        "legacy-any",
        "--role",
        "app-prod",
    ]);
    assert!(r.code == 0 || r.code == 2, "{}\n{}", r.stdout, r.stderr);
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(
        cfg.contains("name = \"octo-org-site\""),
        "named after the first repository: {cfg}"
    );
    for want in [
        "repo = \"octo-org/site\"",
        "branch = \"main\"",
        "pull_request = true",
        "any_ref = true",
        "environment = \"production\"",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "file = \"imported/infra-plan/wafv2-read.json\"",
        "adopt = true",
    ] {
        assert!(cfg.contains(want), "{want} in\n{cfg}");
    }
    // The import is a security review: the any-branch, S3FullAccess role is named, not hidden.
    assert!(
        r.stderr.contains("KL006") && r.stderr.contains("KL110"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("legacy-any"), "{}", r.stdout);
    // The plan changes no document: only ownership tags.
    let j = e.run(&["plan", "--output", "json"]);
    expect(&j, 0);
    let apis: Vec<String> = j.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["api"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !apis.is_empty()
            && apis
                .iter()
                .all(|a| a == "TagRole" || a == "TagOpenIDConnectProvider"),
        "{apis:?}"
    );
    e.kit.reset_counts();
    expect(&e.run(&["apply", "--yes"]), 0);
    assert_eq!(e.kit.count("CreateRole"), 0, "adopted, never recreated");
    assert_eq!(e.kit.count("UpdateAssumeRolePolicy"), 0);
    let r = e.run(&["plan", "--detailed-exitcode"]);
    expect(&r, 0);
}

#[test]
fn import_refuses_a_missing_role_and_an_existing_config() {
    let e = Env::new();
    let r = e.run(&["import", "--role", "nope"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("role nope does not exist"),
        "{}",
        r.stderr
    );
    e.write("# mine\n");
    let r = e.run(&["import", "--role", "nope"]);
    expect(&r, 1);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_import_takes_a_config_name_no_other_config_uses() {
    let e = Env::new();
    hand_made(&e).await;
    // Another team's config already carries the name import would suggest.
    let other = e.dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(
        other.join("keyless.toml"),
        "name = \"octo-org-site\"\n[[role]]\nname = \"gha-other\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n",
    )
    .unwrap();
    let r = crate::util::keyless_in(
        &other,
        &["apply", "--yes", "--no-github"],
        &e.kit.env(),
        None,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = e.run(&["import", "--role", "site-deploy"]);
    assert!(r.code == 0 || r.code == 2, "{}\n{}", r.stdout, r.stderr);
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(cfg.contains("name = \"octo-org-site-2\""), "{cfg}");
    // Its plan only claims its own role; the other config's role is left alone.
    let r = e.run(&["plan", "--output", "json", "--no-github"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("gha-other\""), "{}", r.stdout);
}
