//! `keyless audit`: the whole account, config or not. The tutorial roles made by hand are judged
//! (the any-branch role with AmazonS3FullAccess fails), a role for another issuer is left out, a
//! GitHub provider no role trusts is reported, SARIF is written, and audit never writes.

use serde_json::json;

use keyless_testkit::ACCOUNT_ID;

use crate::util::{Env, expect};

const GHE: &str = "token.actions.octo.ghe.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn hand_made_roles_are_judged_and_audit_writes_nothing() {
    let e = Env::new();
    crate::import::hand_made(&e).await;
    let iam = e.iam().await;
    // A provider for GHE.com that nothing trusts, and a role for a non-GitHub issuer.
    iam.create_open_id_connect_provider()
        .url(format!("https://{GHE}"))
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let eks = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC")},
        "Action": "sts:AssumeRoleWithWebIdentity"}]});
    iam.create_role()
        .role_name("eks-pods")
        .assume_role_policy_document(eks.to_string())
        .send()
        .await
        .unwrap();
    // IAM's RoleLastUsed: one role idle for four months, one used last week.
    e.kit.set_role_last_used("legacy-any", 120);
    e.kit.set_role_last_used("site-deploy", 7);
    e.kit.reset_counts();

    let sarif = e.dir.path().join("audit.sarif");
    let r = e.run(&[
        "audit",
        "--output",
        "json",
        "--sarif",
        sarif.to_str().unwrap(),
    ]);
    assert_eq!(
        r.code, 2,
        "findings at or above medium: {}\n{}",
        r.stdout, r.stderr
    );
    assert!(e.writes().is_empty(), "audit wrote: {:?}", e.writes());
    // The whole account in three calls, whatever its size, and one to ask AWS Organizations
    // whether a guard covers the account (KA006; this account is in no organization).
    let calls: std::collections::BTreeMap<String, u64> = e
        .kit
        .calls()
        .into_iter()
        .map(|((_, a), n)| (a, n))
        .collect();
    // The account's details come as two streams of pages side by side (roles, policies): two
    // requests in one round trip.
    let want: std::collections::BTreeMap<String, u64> = [
        ("DescribeOrganization", 1),
        ("GetAccountAuthorizationDetails", 2),
        ("GetCallerIdentity", 1),
        ("ListOpenIDConnectProviders", 1),
    ]
    .into_iter()
    .map(|(a, n)| (a.to_string(), n))
    .collect();
    assert_eq!(calls, want);
    let j = r.json();
    assert_eq!(
        j["roles"],
        serde_json::json!(["app-prod", "infra-plan", "legacy-any", "site-deploy"]),
        "only roles trusting a GitHub provider"
    );
    let findings = j["findings"].as_array().unwrap();
    let on = |role: &str, rule: &str| {
        findings
            .iter()
            .any(|f| f["role"] == role && f["rule"] == rule)
    };
    assert!(
        on("legacy-any", "KL110"),
        "AmazonS3FullAccess: {findings:#?}"
    );
    assert!(
        findings.iter().any(|f| f["role"] == "legacy-any"
            && f["rule"] == "KL006"
            && f["severity"] == "medium"),
        "the any-branch subject: {findings:#?}"
    );
    assert!(
        findings.iter().any(|f| f["rule"] == "KA001"
            && f["resource"] == format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{GHE}")),
        "unused GHE.com provider: {findings:#?}"
    );
    assert!(
        !findings.iter().any(|f| f["rule"] == "KA001"
            && f["resource"]
                .as_str()
                .unwrap()
                .ends_with("githubusercontent.com")),
        "the github.com provider is trusted: {findings:#?}"
    );
    assert!(
        !findings.iter().any(|f| f["role"] == "site-deploy"
            && ["high", "critical"].contains(&f["severity"].as_str().unwrap())),
        "the main-branch role is scoped: {findings:#?}"
    );
    let unused: Vec<&str> = findings
        .iter()
        .filter(|f| f["rule"] == "KA002")
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert_eq!(unused, ["legacy-any"], "{findings:#?}");
    assert!(findings.iter().any(|f| {
        f["rule"] == "KA002"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("not used for 120 days")
    }));

    // SARIF 2.1.0: one result per finding, each with a location code scanning accepts.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for res in results {
        let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with(&format!("iam/{ACCOUNT_ID}/")), "{uri}");
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        let id = res["ruleId"].as_str().unwrap();
        assert!(
            s["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|rule| rule["id"] == id),
            "{id} described"
        );
    }

    // Under Actions: annotations, errors at or above the threshold.
    let r = e.run(&["audit", "--output", "github", "--fail-on", "critical"]);
    assert!(
        r.stdout.contains("::error title=keyless audit")
            || r.stdout.contains("::warning title=keyless audit"),
        "{}",
        r.stdout
    );
    assert!(e.writes().is_empty());
}

#[test]
fn an_account_keyless_set_up_passes_audit() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    let r = e.run(&["audit"]);
    expect(&r, 0);
    assert!(
        r.stdout.contains("1 role(s) trust a GitHub provider"),
        "{}",
        r.stdout
    );
}

/// The `keyless-audit` preset is exactly what audit needs: audit works with it alone, and is
/// refused without any one of its actions (fakecloud's strict IAM mode).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn audit_needs_exactly_the_keyless_audit_preset() {
    let e = Env {
        kit: keyless_testkit::Kit::start_strict(),
        dir: tempfile::tempdir().unwrap(),
    };
    e.write(crate::apply::SITE);
    expect(
        &crate::util::keyless_in(e.dir.path(), &["apply", "--yes"], &e.kit.admin_env(), None),
        0,
    );
    let preset = crate::check::preset_document(&e, "keyless-audit", "");
    let env = crate::check::user_with(&e, "auditor", &preset).await;
    let r = crate::util::keyless_in(e.dir.path(), &["audit", "--output", "json"], &env, None);
    expect(&r, 0);
    assert_eq!(r.json()["roles"], serde_json::json!(["gha-site"]));

    let actions: Vec<String> =
        keyless::policy::document::strings(preset["Statement"][0].get("Action"))
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(actions.len(), 2);
    for (i, drop) in actions.iter().enumerate() {
        let mut narrower = preset.clone();
        narrower["Statement"][0]["Action"] = serde_json::json!(
            actions
                .iter()
                .filter(|a| *a != drop)
                .cloned()
                .collect::<Vec<_>>()
        );
        let env = crate::check::user_with(&e, &format!("narrow{i}"), &narrower).await;
        let r = crate::util::keyless_in(e.dir.path(), &["audit"], &env, None);
        assert_eq!(r.code, 1, "audit still worked without {drop}");
        assert!(
            r.stderr.contains(drop.as_str()) && r.stderr.contains("AccessDenied"),
            "{drop}: {}",
            r.stderr
        );
    }
}

/// With a GitHub token, audit asks GitHub about each repository a classic subject names: one
/// deleted (anyone may take its name), one renamed; immutable subjects are safe and not asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn repositories_that_are_gone_or_renamed_are_reported_through_github() {
    use crate::github::TOKEN;
    use keyless_testkit::GitHub;
    use keyless_testkit::github::Repo;
    let e = Env::new();
    github_roles(
        &e,
        &[
            ("gone", json!("repo:octo-org/deleted:ref:refs/heads/main")),
            ("moved", json!("repo:octo-org/old-name:ref:refs/heads/main")),
            ("fine", json!("repo:octo-org/site:ref:refs/heads/main")),
            (
                "pinned",
                json!("repo:octo-org@123456/removed-too@999:ref:refs/heads/main"),
            ),
        ],
    )
    .await;
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 1));
    gh.add_repo(Repo::new("octo-org/old-name", 123456, 2));
    gh.rename("octo-org/old-name", "octo-org/new-name");
    let env = crate::github::env(&e, &gh);
    let r = crate::util::keyless_in(e.dir.path(), &["audit", "--output", "json"], &env, None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains(TOKEN) && !r.stdout.contains(TOKEN));
    let j = r.json();
    let got: Vec<(String, String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("KA00"))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["role"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("KA003".to_string(), "gone".to_string(), "high".to_string()),
            (
                "KA004".to_string(),
                "moved".to_string(),
                "medium".to_string()
            ),
        ]
    );
    assert_eq!(gh.writes(), 0);
    let asked: Vec<String> = gh.calls().into_keys().collect();
    assert!(
        !asked.iter().any(|c| c.contains("removed-too")),
        "immutable subjects are not looked up: {asked:?}"
    );
    // Without a token, the AWS half is audited alone, and says so.
    let r = e.run(&["audit", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("GitHub: not read"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_classic_trust_for_a_repository_that_mints_immutable_subjects_is_flagged() {
    use crate::github::TOKEN;
    use keyless_testkit::GitHub;
    use keyless_testkit::github::Repo;
    let e = Env::new();
    github_roles(
        &e,
        &[
            (
                "classic-only",
                json!("repo:octo-org/site:ref:refs/heads/main"),
            ),
            (
                "both-forms",
                json!([
                    "repo:octo-org/site:ref:refs/heads/main",
                    "repo:octo-org@123456/site@456789:ref:refs/heads/main"
                ]),
            ),
            (
                "classic-repo",
                json!("repo:octo-org/legacy:ref:refs/heads/main"),
            ),
        ],
    )
    .await;
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789).immutable(true));
    gh.add_repo(Repo::new("octo-org/legacy", 123456, 111));
    let env = crate::github::env(&e, &gh);
    let r = crate::util::keyless_in(e.dir.path(), &["audit", "--output", "json"], &env, None);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let ka005: Vec<String> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "KA005")
        .map(|f| {
            format!(
                "{} {}",
                f["role"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(ka005, ["classic-only high"], "{}", r.stdout);
}

/// The github.com provider, and a role per `(name, sub)` that trusts it with that `sub`
/// condition (one value or a list) and the default audience.
pub async fn github_roles(e: &Env, roles: &[(&str, serde_json::Value)]) {
    let iam = e.iam().await;
    let p = "token.actions.githubusercontent.com";
    iam.create_open_id_connect_provider()
        .url(format!("https://{p}"))
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    for (role, sub) in roles {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{p}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{p}:aud"): "sts.amazonaws.com", format!("{p}:sub"): sub}}}]});
        iam.create_role()
            .role_name(*role)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
    }
}

/// A customer-managed policy with `Action: "*"` on a GitHub-trusting role: audit finds it
/// (KL101, critical) in JSON and SARIF and fails, as it does for AdministratorAccess.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_customer_managed_admin_policy_is_found() {
    let e = Env::new();
    let iam = e.iam().await;
    iam.create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let trust = crate::import::trust(json!({
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:octo-org/site:ref:refs/heads/main"
        }
    }));
    iam.create_role()
        .role_name("deployer")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let policy = iam
        .create_policy()
        .policy_name("ci-admin")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("deployer")
        .policy_arn(policy.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    let sarif = e.dir.path().join("audit.sarif");
    let r = e.run(&[
        "audit",
        "--output",
        "json",
        "--sarif",
        sarif.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    let admin = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "KL101")
        .unwrap_or_else(|| panic!("no KL101: {j}"));
    assert_eq!(admin["severity"], "critical");
    assert_eq!(admin["role"], "deployer");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert!(
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == "KL101"),
        "{sarif}"
    );
}

/// Trust values GitHub can never send (a space, markup, a path that climbs) do not break the
/// audit: each is a KA007 finding, the JSON, SARIF and HTML are all written, the real
/// repository is still looked up, and no request is made for the impossible names.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_odd_trust_value_is_a_finding_not_a_failed_audit_or_a_request() {
    use crate::github::TOKEN;
    use keyless_testkit::GitHub;
    use keyless_testkit::github::Repo;
    let e = Env::new();
    github_roles(
        &e,
        &[
            ("spaced", json!("repo:octo-org/my repo:ref:refs/heads/main")),
            (
                "markup",
                json!("repo:octo-org/</script>:ref:refs/heads/main"),
            ),
            ("climb", json!("repo:../../user/x:ref:refs/heads/main")),
            ("fine", json!("repo:octo-org/site:ref:refs/heads/main")),
        ],
    )
    .await;
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 1));
    let env = crate::github::env(&e, &gh);
    let sarif = e.dir.path().join("a.sarif");
    let html = e.dir.path().join("a.html");
    let r = crate::util::keyless_in(
        e.dir.path(),
        &[
            "audit",
            "--output",
            "json",
            "--sarif",
            sarif.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        &env,
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let j = r.json();
    let mut ka7: Vec<String> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "KA007")
        .map(|f| f["role"].as_str().unwrap().to_string())
        .collect();
    ka7.sort();
    assert_eq!(ka7, ["climb", "markup", "spaced"]);
    assert!(sarif.exists() && html.exists());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        !page.contains("</script>:ref"),
        "the value is escaped in the page"
    );
    // One repository looked up (octo-org/site: the repository and its subject settings), and
    // no request of any other shape.
    let asked = gh.calls();
    assert_eq!(
        asked,
        std::collections::BTreeMap::from([
            ("GET /repos/{owner}/{repo}".to_string(), 1),
            (
                "GET /repos/{owner}/{repo}/actions/oidc/customization/sub".to_string(),
                1
            ),
        ]),
        "no request for an impossible name"
    );
}
