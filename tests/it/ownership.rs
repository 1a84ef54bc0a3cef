//! Ownership is per config: two teams' configs in one account never touch each other's roles,
//! and each one's scheduled check is green when its own state is.

use keyless_testkit::ACCOUNT_ID;

use crate::util::{Env, Run, expect, keyless_in};

fn init(e: &Env, dir: &std::path::Path, repo: &str, bucket: &str, extra: &[&str]) -> Run {
    let bucket = format!("bucket={bucket}");
    let mut args = vec![
        "init",
        "--yes",
        "--repo",
        repo,
        "--branch",
        "main",
        "--preset",
        "s3-deploy",
        "--param",
        &bucket,
        "--format",
        "classic",
        "--apply",
    ];
    args.extend_from_slice(extra);
    keyless_in(dir, &args, &e.kit.env(), None)
}

fn run(e: &Env, dir: &std::path::Path, args: &[&str]) -> Run {
    keyless_in(dir, args, &e.kit.env(), None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_teams_configs_in_one_account_never_rewrite_each_other() {
    let e = Env::new();
    let (a, b) = (e.dir.path().join("a"), e.dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    // The reproduction from review: same repository name, two owners.
    expect(&init(&e, &a, "octo-org/site", "octo-site", &[]), 0);
    let r = init(&e, &b, "other-org/site", "other-site", &[]);
    expect(&r, 0);
    let iam = e.iam().await;
    let role_a = iam
        .get_role()
        .role_name("gha-octo-org-site-deploy")
        .send()
        .await
        .unwrap();
    let trust = urlencoding_decode(
        role_a
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap(),
    );
    assert!(
        trust.contains("repo:octo-org/site") && !trust.contains("other-org"),
        "{trust}"
    );
    let tags = iam
        .list_role_tags()
        .role_name("gha-octo-org-site-deploy")
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "keyless:config" && t.value() == "octo-org-site")
    );
    // init refuses a role name another config owns, before writing anything.
    let c = e.dir.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    e.kit.reset_counts();
    let r = init(
        &e,
        &c,
        "third-org/site",
        "third-site",
        &["--role-name", "gha-octo-org-site-deploy"],
    );
    expect(&r, 1);
    assert!(
        r.stderr.contains("keyless config `octo-org-site`"),
        "{}",
        r.stderr
    );
    assert!(
        !c.join("keyless.toml").exists(),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert!(e.writes().is_empty(), "{:?}", e.writes());
    // A hand-edited config naming the other team's role: plan and apply refuse, write nothing.
    let text = std::fs::read_to_string(b.join("keyless.toml")).unwrap();
    std::fs::write(
        b.join("keyless.toml"),
        text.replace("gha-other-org-site-deploy", "gha-octo-org-site-deploy"),
    )
    .unwrap();
    let r = run(&e, &b, &["apply", "--yes"]);
    expect(&r, 1);
    assert!(
        r.stderr
            .contains("belongs to keyless config `octo-org-site`"),
        "{}",
        r.stderr
    );
    assert!(e.writes().is_empty(), "{:?}", e.writes());
    std::fs::write(b.join("keyless.toml"), text).unwrap();
    // Each config's check is green; the other config's role is information, not drift.
    for (dir, other) in [
        (&a, "gha-other-org-site-deploy"),
        (&b, "gha-octo-org-site-deploy"),
    ] {
        let r = run(&e, dir, &["check", "--output", "json"]);
        expect(&r, 0);
        let j = r.json();
        assert_eq!(j["roles_checked"], 1);
        let f = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["role"] == other)
            .unwrap_or_else(|| panic!("{other} listed: {}", r.stdout));
        assert_eq!(
            (f["kind"].as_str(), f["severity"].as_str()),
            (Some("other_config_role"), Some("info"))
        );
    }
    // The plan names the config.
    let r = run(&e, &a, &["plan"]);
    assert!(r.stderr.contains("config octo-org-site"), "{}", r.stderr);
}

/// A second team's init for the same repository: the config name and the role name are both
/// free ones (`-2`), so it applies beside the first team's role instead of stopping.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_second_teams_init_for_the_same_repository_picks_a_free_role_name() {
    let e = Env::new();
    let (a, b) = (e.dir.path().join("a"), e.dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    expect(&init(&e, &a, "octo-org/site", "octo-site", &[]), 0);
    let r = init(&e, &b, "octo-org/site", "octo-site-2", &[]);
    expect(&r, 0);
    assert!(
        r.stderr.contains("role gha-octo-org-site-deploy belongs to keyless config `octo-org-site`: choosing another name"),
        "{}",
        r.stderr
    );
    let cfg = std::fs::read_to_string(b.join("keyless.toml")).unwrap();
    assert!(
        cfg.contains("name = \"gha-octo-org-site-deploy-2\""),
        "{cfg}"
    );
    let iam = e.iam().await;
    for role in ["gha-octo-org-site-deploy", "gha-octo-org-site-deploy-2"] {
        iam.get_role().role_name(role).send().await.unwrap();
    }
    // Each config's check is green.
    for dir in [&a, &b] {
        expect(&run(&e, dir, &["check"]), 0);
    }
}

fn urlencoding_decode(s: &str) -> String {
    keyless::policy::document::decode_document(s)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_role_no_config_owns_is_reported_and_its_trust_linted() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    let iam = e.iam().await;
    let provider =
        format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com");
    let p = "token.actions.githubusercontent.com";
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{p}:aud"): "sts.amazonaws.com"}, "StringLike": {format!("{p}:sub"): "repo:octo-org/*"}}}]});
    iam.create_role()
        .role_name("hand-made")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    // Information in this config's check (its own state is in sync: exit 0); audit fails it.
    let r = e.run(&["check", "--output", "json"]);
    expect(&r, 0);
    let j = r.json();
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "hand-made")
        .unwrap();
    assert_eq!(
        (
            f["kind"].as_str(),
            f["severity"].as_str(),
            f["rule"].as_str()
        ),
        (Some("extra_role"), Some("info"), Some("KL004"))
    );
    let r = e.run(&["audit", "--output", "json"]);
    expect(&r, 2);
    assert!(
        r.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["role"] == "hand-made" && f["rule"] == "KL004" && f["severity"] == "high"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_role_from_an_earlier_keyless_is_claimed_and_roles_checked_counts_what_exists() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    let iam = e.iam().await;
    iam.untag_role()
        .role_name("gha-site")
        .tag_keys("keyless:config")
        .send()
        .await
        .unwrap();
    let r = e.run(&["plan"]);
    expect(&r, 0);
    assert!(r.stderr.contains("claims it"), "{}", r.stderr);
    assert!(r.stdout.contains("TagRole"), "{}", r.stdout);
    expect(&e.run(&["apply", "--yes"]), 0);
    // A second role in the config that does not exist yet is not counted as checked.
    e.write(&format!(
        "{}\n[[role]]\nname = \"gha-new\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  tag = \"v1\"\n",
        crate::apply::SITE
    ));
    let r = e.run(&["check", "--output", "json"]);
    expect(&r, 2);
    assert_eq!(r.json()["roles_checked"], 1, "{}", r.stdout);
}
