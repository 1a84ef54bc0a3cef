//! The two read paths: role by role, and the whole account (ListRoles and
//! GetAccountAuthorizationDetails). On the same account, drifted in every way keyless looks at,
//! both must observe exactly the same state, and plan and check must say the same through either.

use aws_sdk_iam::types::Tag;
use keyless::state::observed::{Reads, choose_read_path};
use keyless_testkit::ACCOUNT_ID;

use crate::util::{Env, expect};

const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/team-boundary";

/// Six roles (enough for `auto` to read the account) with every kind of thing keyless manages.
fn config() -> String {
    let mut c = String::from("name = \"reads\"\n");
    for i in 1..=6 {
        c.push_str(&format!(
            "[[role]]\nname = \"gha-app-{i}\"\ndescription = \"app {i}\"\ntags = {{ team = \"t{i}\" }}\n"
        ));
        if i == 2 {
            c.push_str(&format!(
                "permissions_boundary = \"{BOUNDARY}\"\nmax_session_duration = 7200\nmanaged_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n  [[role.inline_policy]]\n  name = \"extra\"\n  file = \"extra.json\"\n"
            ));
        }
        c.push_str(&format!(
            "  [[role.subject]]\n  repo = \"octo-org/app-{i}\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"s3-deploy\"\n  params = {{ bucket = \"octo-org-app-{i}\" }}\n"
        ));
    }
    c
}

/// Apply the config, then change the account by hand: a new default version on one policy, an
/// inline policy added, a policy detached and replaced by one as an earlier keyless made it
/// (tags, no description), a role deleted, a tag removed from a policy, a hand-made policy
/// attached, and a role outside the config.
async fn drifted() -> Env {
    let e = Env::new();
    std::fs::write(
        e.dir.path().join("extra.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:app-2"}]}"#,
    )
    .unwrap();
    let iam = e.iam().await;
    iam.create_policy()
        .policy_name("team-boundary")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    e.write(&config());
    expect(&e.run(&["apply", "--yes"]), 0);
    let policy = |name: &str| format!("arn:aws:iam::{ACCOUNT_ID}:policy/{name}");
    iam.create_policy_version()
        .policy_arn(policy("gha-app-1-s3-deploy"))
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("gha-app-3")
        .policy_name("by-hand")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("gha-app-4")
        .policy_arn(policy("gha-app-4-s3-deploy"))
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("gha-app-5")
        .policy_arn(policy("gha-app-5-s3-deploy"))
        .send()
        .await
        .unwrap();
    iam.delete_policy()
        .policy_arn(policy("gha-app-5-s3-deploy"))
        .send()
        .await
        .unwrap();
    iam.delete_role()
        .role_name("gha-app-5")
        .send()
        .await
        .unwrap();
    // gha-app-4's policy as an earlier keyless made it: tagged, with no description.
    iam.delete_policy()
        .policy_arn(policy("gha-app-4-s3-deploy"))
        .send()
        .await
        .unwrap();
    iam.create_policy()
        .policy_name("gha-app-4-s3-deploy")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::octo-org-app-4/*"}]}"#)
        .tags(Tag::builder().key("managed-by").value("keyless").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.untag_policy()
        .policy_arn(policy("gha-app-6-s3-deploy"))
        .tag_keys("keyless:config")
        .send()
        .await
        .unwrap();
    iam.create_policy()
        .policy_name("by-hand")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .tags(Tag::builder().key("owner").value("someone").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("gha-app-6")
        .policy_arn(policy("by-hand"))
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("made-by-hand")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:octo-org/*"}}}}}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_read_paths_observe_the_same_drifted_account() {
    let e = drifted().await;
    let cfg = keyless::config::load(&e.dir.path().join("keyless.toml")).unwrap();
    let templates = keyless::policy::template::Templates::load(None).unwrap();
    let target = keyless::state::render::Target {
        account_id: ACCOUNT_ID.into(),
        partition: "aws".into(),
    };
    let rendered = keyless::state::render::render(&cfg, &templates, &target).unwrap();
    let aws = keyless::io::aws::Aws::from_config(&e.kit.sdk_config().await);
    let names: Vec<String> = rendered.roles.iter().map(|r| r.name.clone()).collect();

    let per_role = aws.observe(&rendered, 4).await.unwrap();
    let per_role_others = aws.other_role_trusts(&names).await.unwrap();
    e.kit.reset_counts();
    let (account, account_others) = aws.observe_account(&rendered, 4).await.unwrap();
    let account_calls = e.kit.calls();

    assert_eq!(per_role, account);
    assert_eq!(per_role_others, account_others);
    // The drift is really there to be seen.
    let app = |n: &str| per_role.roles[n].as_ref().unwrap();
    assert_eq!(
        app("gha-app-2").permissions_boundary.as_deref(),
        Some(BOUNDARY)
    );
    assert_eq!(app("gha-app-2").max_session_duration, 7200);
    assert_eq!(app("gha-app-2").description.as_deref(), Some("app 2"));
    assert!(app("gha-app-3").inline_policies.contains_key("by-hand"));
    assert!(per_role.roles["gha-app-5"].is_none());
    let p1 = per_role.policies[&format!("arn:aws:iam::{ACCOUNT_ID}:policy/gha-app-1-s3-deploy")]
        .as_ref()
        .unwrap();
    assert_eq!(p1.versions.len(), 2);
    assert_eq!(p1.default_version, "v2");
    assert!(per_role.policies[&format!("arn:aws:iam::{ACCOUNT_ID}:policy/by-hand")].is_some());
    assert!(per_role_others.iter().any(|(n, _)| n == "made-by-hand"));

    // The account path: no per-role reads.
    let count = |a: &str| {
        account_calls
            .iter()
            .filter(|((_, x), _)| x == a)
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    assert_eq!(count("GetRole"), 0, "{account_calls:?}");
    assert_eq!(count("ListRolePolicies"), 0);
    assert_eq!(count("GetPolicyVersion"), 0);
    // Roles and policies: two streams of pages side by side.
    assert_eq!(count("GetAccountAuthorizationDetails"), 2);
    assert_eq!(count("ListRoles"), 1);
    // Tags are read only for policies whose description does not name a keyless config.
    let unmarked = per_role
        .policies
        .values()
        .flatten()
        .filter(|p| p.marked.is_none())
        .count() as u64;
    assert_eq!(
        unmarked, 2,
        "the hand-made policy and the earlier keyless's"
    );
    assert_eq!(count("GetPolicy"), unmarked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_check_say_the_same_whichever_path_reads() {
    let e = drifted().await;
    let mut outputs = Vec::new();
    for reads in ["per-role", "account", "auto"] {
        e.kit.reset_counts();
        let plan = e.run(&["plan", "--output", "json", "--reads", reads]);
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        let gaad = e.kit.count("GetAccountAuthorizationDetails");
        assert_eq!(gaad > 0, reads != "per-role", "{reads}: {gaad} GAAD calls");
        let check = e.run(&["check", "--output", "json", "--reads", reads]);
        assert_eq!(check.code, 2, "{}", check.stderr);
        assert!(e.writes().is_empty(), "{:?}", e.writes());
        outputs.push((reads, plan.json(), check.json()));
    }
    for (reads, plan, check) in &outputs[1..] {
        assert_eq!(
            plan, &outputs[0].1,
            "plan --reads {reads} differs from per-role"
        );
        assert_eq!(
            check, &outputs[0].2,
            "check --reads {reads} differs from per-role"
        );
    }
    let check = &outputs[0].2;
    assert!(!check["findings"].as_array().unwrap().is_empty());
}

#[test]
fn auto_reads_an_account_of_one_page_whole_and_a_vast_one_role_by_role() {
    use keyless::state::observed::ReadPath;
    assert_eq!(choose_read_path(Reads::Auto, 6, Some(7)), ReadPath::Account);
    assert_eq!(choose_read_path(Reads::Auto, 1, None), ReadPath::Account);
    assert_eq!(
        choose_read_path(Reads::Auto, 1, Some(900)),
        ReadPath::Account
    );
    assert_eq!(
        choose_read_path(Reads::Auto, 1, Some(5000)),
        ReadPath::PerRole
    );
}

/// `auto` with a caller that may not call GetAccountAuthorizationDetails (the keyless-check
/// preset's default) reads role by role instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn auto_falls_back_to_role_by_role_when_the_account_read_is_denied() {
    let e = Env {
        kit: keyless_testkit::Kit::start_strict(),
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(
        e.dir.path().join("extra.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:app-2"}]}"#,
    )
    .unwrap();
    e.admin_iam()
        .await
        .create_policy()
        .policy_name("team-boundary")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    e.write(&config());
    let admin = e.kit.admin_env();
    expect(
        &crate::util::keyless_in(e.dir.path(), &["apply", "--yes"], &admin, None),
        0,
    );
    let preset = crate::check::preset_document(&e, "keyless-check", "");
    let env = crate::check::user_with(&e, "checker", &preset).await;
    e.kit.reset_counts();
    let r = crate::util::keyless_in(e.dir.path(), &["check", "--output", "json"], &env, None);
    expect(&r, 0);
    assert_eq!(r.json()["roles_checked"], 6);
    // Both streams (roles, policies) were asked and refused.
    assert_eq!(e.kit.count("GetAccountAuthorizationDetails"), 2);
    assert!(e.kit.count("GetRole") >= 6);
    let r = crate::util::keyless_in(e.dir.path(), &["check", "--reads", "account"], &env, None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("GetAccountAuthorizationDetails"),
        "{}",
        r.stderr
    );
}

/// `-v` says which path a run took and why.
#[test]
fn verbose_says_which_read_path_and_why() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
    let r = e.run(&["check", "--no-github", "-v"]);
    expect(&r, 0);
    assert!(
        r.stderr.contains("read the whole account")
            && r.stderr
                .contains("fit one page: its details came in the listing's round trip"),
        "{}",
        r.stderr
    );
    let r = e.run(&["plan", "--no-github", "-v", "--reads", "per-role"]);
    expect(&r, 0);
    assert!(
        r.stderr
            .contains("read 1 role(s) one by one: --reads per-role"),
        "{}",
        r.stderr
    );
}
