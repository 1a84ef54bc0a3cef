//! The trust map in a real browser: `keyless audit --html` on the kit's account with the
//! tutorial role and hand-made risky ones, loaded from a file by Debian's headless Chromium
//! (installed by tests/outside-tools.sh): no request leaves the page, no console error, every
//! role, repository and finding is in the DOM, the risky edges carry their risk class, the search
//! filters, and a screenshot is taken and is not blank (target/trust-map/audit.png).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Env, expect, root};

/// Headless Chromium as this machine runs it: no sandbox (root), and none of the background
/// networking a closed network refuses.
fn chromium(profile: &Path) -> Command {
    let mut c = Command::new(crate::util::need_on_path("chromium"));
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM after the page's script ran, and what Chromium logged.
fn dump(page: &Path, hash: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = chromium(profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}{hash}", page.display()))
        .output()
        .expect("chromium (run `bash tests/outside-tools.sh`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn attr<'a>(dom: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = dom.find(&key).map(|i| i + key.len()).unwrap_or(0);
    &dom[start..start + dom[start..].find('"').unwrap_or(0)]
}

/// The account: README's multi-role example through keyless, and three roles made by hand.
async fn account(e: &Env) {
    let example = root().join("examples/multi-role.toml");
    let r = crate::util::keyless_in(
        e.dir.path(),
        &[
            "-c",
            example.to_str().unwrap(),
            "apply",
            "--yes",
            "--no-github",
        ],
        &e.kit.env(),
        None,
    );
    expect(&r, 0);
    let iam = e.iam().await;
    let gh = "token.actions.githubusercontent.com";
    for (name, sub, admin) in [
        ("legacy-any", "repo:*", true),
        ("org-wide-secrets", "repo:octo-org/*", false),
        (
            "partner-deploy",
            "repo:partner/app:ref:refs/heads/main",
            false,
        ),
    ] {
        let trust = crate::import::trust(serde_json::json!({
            "StringEquals": {format!("{gh}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{gh}:sub"): sub}}));
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        if admin {
            iam.attach_role_policy()
                .role_name(name)
                .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                .send()
                .await
                .unwrap();
        } else {
            iam.put_role_policy()
                .role_name(name)
                .policy_name("reads")
                .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","s3:GetObject"],"Resource":"*"}]}"#)
                .send()
                .await
                .unwrap();
        }
    }
}

fn out_dir() -> PathBuf {
    let d = root().join("target/trust-map");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_map_renders_in_chromium_with_nothing_fetched_and_the_risky_edges_marked() {
    let e = Env::new();
    account(&e).await;
    let page = e.dir.path().join("map.html");
    let r = e.run(&[
        "audit",
        "--html",
        page.to_str().unwrap(),
        "--output",
        "json",
    ]);
    expect(&r, 2);
    let findings: Vec<String> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    let (dom, log) = dump(&page, "");
    // The script ran, and nothing was fetched: no resource entry, no CSP refusal, no error.
    assert!(
        !attr(&dom, "data-render-ms").is_empty(),
        "the page's script ran"
    );
    assert_eq!(
        attr(&dom, "data-resources"),
        "0",
        "the page fetched something"
    );
    for bad in ["Refused to", "Uncaught", "ERR_", "net::"] {
        assert!(!log.contains(bad), "{bad} in Chromium's log:\n{log}");
    }
    assert!(
        !log.lines()
            .any(|l| l.contains("CONSOLE") && l.to_lowercase().contains("error")),
        "{log}"
    );
    for role in [
        "gha-infra-plan",
        "gha-infra-apply",
        "legacy-any",
        "org-wide-secrets",
        "partner-deploy",
    ] {
        assert!(dom.contains(&format!("data-role=\"{role}\"")), "{role}");
    }
    for repo in [
        "octo-org/infra",
        "any repository on GitHub",
        "any repository in octo-org",
        "partner/app",
    ] {
        assert!(dom.contains(repo), "{repo}");
    }
    for rule in &findings {
        assert!(dom.contains(&format!("<td>{rule}</td>")), "{rule}");
    }
    assert!(
        dom.contains("edge risk-critical broad"),
        "repo:* is critical and broad"
    );
    assert!(dom.contains("edge risk-high broad"), "the org-wide trust");
    assert!(dom.contains("keyless-managed") && dom.contains("hand-made"));
    assert!(dom.contains("administrator-equivalent") && dom.contains("reads secret material"));
    // The search filters: one role left for its name, and the findings table with it.
    let (dom, _) = dump(&page, "#q=partner-deploy");
    assert_eq!(attr(&dom, "data-visible"), "1", "one role matches");
    let rows = dom.matches("class=\"row").count();
    assert_eq!(
        dom.matches("class=\"row hidden\"").count(),
        rows - 1,
        "the others are hidden"
    );
    // A screenshot, not blank: a solid page compresses to a few kilobytes.
    let shot = out_dir().join("audit.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let out = chromium(profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1400,900")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 30_000,
        "{} bytes",
        png.len()
    );
}

/// In GitHub Actions, the step summary of `audit` (and `check`) carries the map of the roles
/// with findings as a Mermaid diagram, which GitHub draws in Markdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_step_summary_draws_the_roles_with_findings_in_mermaid() {
    let e = Env::new();
    account(&e).await;
    let summary = e.dir.path().join("summary.md");
    let mut env = e.kit.env();
    env.push(("GITHUB_ACTIONS", "true".into()));
    env.push(("GITHUB_STEP_SUMMARY", summary.display().to_string()));
    let r = crate::util::keyless_in(e.dir.path(), &["audit"], &env, None);
    expect(&r, 2);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("### Trust map: roles with findings\n\n```mermaid\nflowchart LR"),
        "{md}"
    );
    for role in ["legacy-any", "org-wide-secrets", "partner-deploy"] {
        assert!(md.contains(role), "{role}\n{md}");
    }
    assert!(
        md.contains("any repository on GitHub") && md.contains("==>"),
        "{md}"
    );
    assert!(
        !md.contains("gha-keyless-check"),
        "no finding, not drawn:\n{md}"
    );
    // check draws the config's roles that drifted: a trust edited by hand.
    let iam = e.iam().await;
    let gh = "token.actions.githubusercontent.com";
    let edited = crate::import::trust(serde_json::json!({
        "StringEquals": {format!("{gh}:aud"): "sts.amazonaws.com"},
        "StringLike": {format!("{gh}:sub"): "repo:octo-org/*"}}));
    iam.update_assume_role_policy()
        .role_name("gha-keyless-check")
        .policy_document(edited)
        .send()
        .await
        .unwrap();
    let example = root().join("examples/multi-role.toml");
    std::fs::remove_file(&summary).unwrap();
    let r = crate::util::keyless_in(
        e.dir.path(),
        &["-c", example.to_str().unwrap(), "check", "--no-github"],
        &env,
        None,
    );
    expect(&r, 2);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("```mermaid") && md.contains("gha-keyless-check"),
        "{md}"
    );
    assert!(!md.contains("gha-infra-plan"), "in sync, not drawn:\n{md}");
}

/// `check --html` draws what is live: a role's trust as IAM holds it (widened by hand here),
/// and a hand-made role that trusts the provider, beside the config's roles.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn check_draws_the_live_roles_and_the_hand_made_ones() {
    let e = Env::new();
    e.write(crate::apply::SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    let iam = e.iam().await;
    let provider = format!(
        "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com",
        keyless_testkit::ACCOUNT_ID
    );
    let trust = |sub: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": &provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": sub}}}]})
        .to_string()
    };
    iam.update_assume_role_policy()
        .role_name("gha-site")
        .policy_document(trust("repo:octo-org/*"))
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("hand-made")
        .assume_role_policy_document(trust("repo:other-org/app:ref:refs/heads/main"))
        .send()
        .await
        .unwrap();
    let page = e.dir.path().join("check.html");
    let r = e.run(&["check", "--no-github", "--html", page.to_str().unwrap()]);
    expect(&r, 2);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("any repository in octo-org"),
        "the live, widened trust is drawn"
    );
    assert!(
        html.contains("data-role=\"gha-site (as configured)\""),
        "the config's intent is drawn beside it"
    );
    assert!(
        html.contains("data-role=\"hand-made\"") && html.contains("other-org/app"),
        "the hand-made role is drawn"
    );
}
