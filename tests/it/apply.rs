//! plan / apply / destroy through the binary against the test kit's IAM, read back with the SDK.

use std::path::Path;

use aws_sdk_iam::error::ProvideErrorMetadata;
use keyless_testkit::{ACCOUNT_ID, Claims, GITHUB_ISSUER, Issuer};

use crate::util::{Env, decode, expect, keyless_in};

/// The common scenario: one repository, its main branch, S3 deploy.
pub const SITE: &str = r#"
[[role]]
name = "gha-site"
tags = { team = "web" }
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-org-site" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn fresh_apply_creates_exactly_the_config_and_a_second_apply_writes_nothing() {
    let e = Env::new();
    e.write(SITE);
    let plan = e.run(&["plan", "--detailed-exitcode"]);
    expect(&plan, 2);
    e.kit.reset_counts();
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 0);
    assert!(
        r.stdout.contains(&format!(
            "AWS_ROLE_ARN=arn:aws:iam::{ACCOUNT_ID}:role/gha-site"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("gh variable set AWS_ROLE_ARN --repo 'octo-org/site'")
    );
    assert!(
        r.stdout.contains("${{ vars.AWS_ROLE_ARN }}"),
        "the workflow snippet follows the apply"
    );
    let first = e.kit.calls();
    eprintln!("first apply calls: {first:?}");
    assert_eq!(
        e.writes(),
        vec![
            "AttachRolePolicy=1",
            "CreateOpenIDConnectProvider=1",
            "CreatePolicy=1",
            "CreateRole=1"
        ]
    );

    // Read back with the SDK: exactly what the config says.
    let iam = e.iam().await;
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(providers.open_id_connect_provider_list().len(), 1);
    let parn = providers.open_id_connect_provider_list()[0].arn().unwrap();
    let p = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(parn)
        .send()
        .await
        .unwrap();
    assert_eq!(p.client_id_list(), ["sts.amazonaws.com"]);
    assert!(
        p.thumbprint_list().is_empty(),
        "keyless sends no thumbprint"
    );
    let role = iam.get_role().role_name("gha-site").send().await.unwrap();
    let role = role.role().unwrap();
    let rendered = e
        .run(&["render", "--output", "json", "--account-id", ACCOUNT_ID])
        .json();
    assert!(keyless::policy::document::same(
        &decode(role.assume_role_policy_document().unwrap()),
        &rendered["roles"][0]["trust_policy"]
    ));
    let tags = iam
        .list_role_tags()
        .role_name("gha-site")
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().into(), t.value().into()))
        .collect();
    assert!(
        tags.contains(&("managed-by".into(), "keyless".into()))
            && tags.contains(&("team".into(), "web".into()))
    );
    let attached = iam
        .list_attached_role_policies()
        .role_name("gha-site")
        .send()
        .await
        .unwrap();
    let parn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/gha-site-s3-deploy");
    assert_eq!(
        attached
            .attached_policies()
            .iter()
            .map(|a| a.policy_arn().unwrap())
            .collect::<Vec<_>>(),
        vec![parn.as_str()]
    );
    let v = iam
        .get_policy_version()
        .policy_arn(&parn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    assert!(keyless::policy::document::same(
        &decode(v.policy_version().unwrap().document().unwrap()),
        &rendered["roles"][0]["policies"][0]["document"]
    ));

    // Idempotent: a second apply makes zero write calls.
    e.kit.reset_counts();
    let again = e.run(&["apply", "--yes"]);
    expect(&again, 0);
    assert!(again.stdout.contains("No changes."));
    eprintln!("re-apply calls: {:?}", e.kit.calls());
    assert!(e.writes().is_empty(), "re-apply wrote: {:?}", e.writes());
    expect(&e.run(&["plan", "--detailed-exitcode"]), 0);

    // And the role really works: a token from octo-org/site on main is exchanged for credentials.
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let sts = aws_sdk_sts::Client::new(&e.kit.sdk_config().await);
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(format!("arn:aws:iam::{ACCOUNT_ID}:role/gha-site"))
        .role_session_name("after-apply")
        .web_identity_token(issuer.mint(&Claims::push("octo-org/site", "main")))
        .send()
        .await
        .expect("the applied role admits its repository");
    assert!(
        out.assumed_role_user()
            .unwrap()
            .arn()
            .ends_with("assumed-role/gha-site/after-apply")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn subject_parameter_tag_and_session_changes_update_in_place() {
    let e = Env::new();
    e.write(SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    let iam = e.iam().await;
    let id_before = iam
        .get_role()
        .role_name("gha-site")
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .role_id()
        .to_string();
    e.write(
        &SITE
            .replace("branch = \"main\"", "branch = \"release\"")
            .replace("octo-org-site", "octo-org-www")
            .replace("team = \"web\"", "team = \"platform\", cost = \"42\"")
            .replace(
                "name = \"gha-site\"\n",
                "name = \"gha-site\"\nmax_session_duration = 7200\n",
            ),
    );
    let plan = e.run(&["plan"]);
    expect(&plan, 0);
    for want in [
        "~ role gha-site trust policy",
        "refs/heads/release",
        "max_session_duration: 3600 -> 7200",
        "~ role gha-site tags",
        "~ policy gha-site-s3-deploy document",
    ] {
        assert!(
            plan.stdout.contains(want),
            "plan lacks {want:?}:\n{}",
            plan.stdout
        );
    }
    e.kit.reset_counts();
    expect(&e.run(&["apply", "--yes"]), 0);
    assert_eq!(
        e.writes(),
        vec![
            "CreatePolicyVersion=1",
            "TagRole=1",
            "UpdateAssumeRolePolicy=1",
            "UpdateRole=1"
        ]
    );
    let role = iam.get_role().role_name("gha-site").send().await.unwrap();
    let role = role.role().unwrap();
    assert_eq!(
        role.role_id(),
        id_before,
        "updated in place, never recreated"
    );
    assert_eq!(role.max_session_duration(), Some(7200));
    assert!(
        role.assume_role_policy_document()
            .unwrap()
            .contains("release")
    );
    let pol = iam
        .get_policy()
        .policy_arn(format!(
            "arn:aws:iam::{ACCOUNT_ID}:policy/gha-site-s3-deploy"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(pol.policy().unwrap().default_version_id(), Some("v2"));
    expect(&e.run(&["plan", "--detailed-exitcode"]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn removing_a_preset_detaches_and_deletes_its_policy() {
    let e = Env::new();
    let two = format!(
        "{SITE}  [[role.preset]]\n  name = \"cloudfront-invalidation\"\n  params = {{ distribution_id = \"E1ABCDEF2GHIJK\" }}\n"
    );
    e.write(&two);
    expect(&e.run(&["apply", "--yes"]), 0);
    e.write(SITE);
    e.kit.reset_counts();
    expect(&e.run(&["apply", "--yes"]), 0);
    assert_eq!(e.writes(), vec!["DeletePolicy=1", "DetachRolePolicy=1"]);
    let iam = e.iam().await;
    let gone = iam
        .get_policy()
        .policy_arn(format!(
            "arn:aws:iam::{ACCOUNT_ID}:policy/gha-site-cloudfront-invalidation"
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("NoSuchEntity"));
    let attached = iam
        .list_attached_role_policies()
        .role_name("gha-site")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_existing_provider_is_adopted_keeps_its_client_ids_and_survives_destroy() {
    let e = Env::new();
    let iam = e.iam().await;
    iam.create_open_id_connect_provider()
        .url(GITHUB_ISSUER)
        .client_id_list("https://github.com/octo-org")
        .send()
        .await
        .unwrap();
    e.write(SITE);
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 0);
    assert!(
        r.stderr.contains("never removes client IDs"),
        "{}",
        r.stderr
    );
    let parn =
        format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com");
    let p = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&parn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        p.client_id_list(),
        ["https://github.com/octo-org", "sts.amazonaws.com"]
    );
    assert_eq!(
        e.kit.count("CreateOpenIDConnectProvider"),
        1,
        "only the test's own create"
    );
    let d = e.run(&["destroy", "--yes"]);
    expect(&d, 0);
    assert!(
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(&parn)
            .send()
            .await
            .is_ok(),
        "a provider keyless did not create is never deleted"
    );
    assert!(iam.get_role().role_name("gha-site").send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_unowned_role_is_refused_then_adopted() {
    let e = Env::new();
    let iam = e.iam().await;
    iam.create_role().role_name("gha-site").assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#).send().await.unwrap();
    e.write(SITE);
    e.kit.reset_counts();
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("not managed by keyless") && r.stderr.contains("adopt = true"),
        "{}",
        r.stderr
    );
    assert!(
        e.writes().is_empty(),
        "refused means nothing written: {:?}",
        e.writes()
    );
    e.write(&SITE.replace(
        "name = \"gha-site\"\n",
        "name = \"gha-site\"\nadopt = true\n",
    ));
    expect(&e.run(&["apply", "--yes"]), 0);
    let tags = iam
        .list_role_tags()
        .role_name("gha-site")
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "managed-by" && t.value() == "keyless")
    );
    let trust = iam.get_role().role_name("gha-site").send().await.unwrap();
    assert!(
        trust
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap()
            .contains("oidc-provider")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn destroy_keeps_a_provider_another_config_still_uses() {
    let e = Env::new();
    let other_dir = tempfile::tempdir().unwrap();
    e.write(SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    let other = SITE
        .replace("gha-site", "gha-api")
        .replace("octo-org/site", "octo-org/api");
    std::fs::write(other_dir.path().join("keyless.toml"), &other).unwrap();
    let run_other = |args: &[&str]| keyless_in(other_dir.path(), args, &e.kit.env(), None);
    expect(&run_other(&["apply", "--yes"]), 0);
    let d = e.run(&["destroy", "--yes"]);
    expect(&d, 0);
    assert!(
        d.stderr.contains("still trusted by gha-api"),
        "{}",
        d.stderr
    );
    let iam = e.iam().await;
    assert_eq!(
        iam.list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .len(),
        1
    );
    let d = run_other(&["destroy", "--yes"]);
    expect(&d, 0);
    assert!(
        iam.list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .is_empty(),
        "the last user removes keyless's provider"
    );
    assert!(
        iam.list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .send()
            .await
            .unwrap()
            .policies()
            .is_empty()
    );
    expect(&e.run(&["destroy", "--yes"]), 0);
}

#[test]
fn lint_and_validation_errors_write_nothing() {
    let e = Env::new();
    e.write(
        "[[role]]\nname = \"org\"\n[[role.subject]]\nrepo = \"octo-org/*\"\nbranch = \"main\"\n",
    );
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("KL004") && r.stderr.contains("nothing was written"),
        "{}",
        r.stderr
    );
    assert!(e.writes().is_empty());
    e.write("[[role]]\nname = \"bad name\"\n");
    e.kit.reset_counts();
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 1);
    assert!(
        e.kit.calls().is_empty(),
        "a bad config is rejected before any call"
    );
}

#[test]
fn no_terminal_and_no_yes_stops_without_writing() {
    let e = Env::new();
    e.write(SITE);
    let r = e.run(&["apply"]);
    expect(&r, 1);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert!(e.writes().is_empty());
}

#[test]
fn json_outputs_follow_the_documented_shape() {
    let e = Env::new();
    e.write(SITE);
    let plan = e.run(&["plan", "--output", "json"]);
    expect(&plan, 0);
    let j = plan.json();
    assert_eq!(j["format_version"], 1);
    assert_eq!(j["account_id"], ACCOUNT_ID);
    assert_eq!(j["summary"]["create"], 4);
    let first = &j["changes"][0];
    assert_eq!(
        (first["action"].as_str(), first["api"].as_str()),
        (Some("create"), Some("CreateOpenIDConnectProvider"))
    );
    assert_eq!(first["change"]["type"], "create_provider");
    let apply = e.run(&["apply", "--yes", "--output", "json"]);
    expect(&apply, 0);
    let a = apply.json();
    assert_eq!(a["applied"], 4);
    assert_eq!(
        a["roles"][0]["arn"],
        format!("arn:aws:iam::{ACCOUNT_ID}:role/gha-site")
    );
    assert!(
        a["roles"][0]["workflow"]
            .as_str()
            .unwrap()
            .contains("id-token: write")
    );
}

#[test]
fn detailed_exitcode_is_1_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keyless.toml"), SITE).unwrap();
    let env = crate::util::unreachable_env();
    let r = keyless_in(
        Path::new(dir.path()),
        &["plan", "--detailed-exitcode"],
        &env,
        None,
    );
    expect(&r, 1);
}

#[test]
fn a_failure_part_way_reports_progress_and_the_next_apply_converges() {
    let e = Env::new();
    let broken = SITE.replace("tags = { team = \"web\" }\n", "tags = { team = \"web\" }\nmanaged_policies = [\"arn:aws:iam::123456789012:policy/does-not-exist\"]\n");
    e.write(&broken);
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 1);
    for want in [
        "AttachRolePolicy",
        "NoSuchEntity",
        "change(s) were applied",
        "run the command again",
    ] {
        assert!(
            r.stderr.contains(want),
            "stderr lacks {want:?}:\n{}",
            r.stderr
        );
    }
    assert_eq!(
        e.kit.count("CreateRole"),
        1,
        "the role was created before the failure"
    );
    e.write(SITE);
    let fixed = e.run(&["apply", "--yes"]);
    expect(&fixed, 0);
    assert_eq!(
        e.kit.count("CreateRole"),
        1,
        "converged without recreating the role"
    );
    expect(&e.run(&["plan", "--detailed-exitcode"]), 0);
}

#[test]
fn a_pinned_account_that_differs_from_the_caller_stops_before_any_write() {
    let e = Env::new();
    e.write(&format!("account_id = \"999999999999\"\n{SITE}"));
    // The reads go out while STS answers (the account is pinned); the answer still stops
    // every command before it writes or reports.
    for args in [
        &["apply", "--yes"][..],
        &["plan"],
        &["check"],
        &["destroy", "--yes"],
    ] {
        let r = e.run(args);
        expect(&r, 1);
        assert!(
            r.stderr.contains("pinned to account 999999999999") && r.stderr.contains(ACCOUNT_ID),
            "{args:?}: {}",
            r.stderr
        );
        assert!(e.writes().is_empty());
    }
}
