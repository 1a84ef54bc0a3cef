//! Trust-policy holes found by review, through the binary: custom subs any repository can mint,
//! a `Null`-only sub, KL001's wording, another issuer's trust, and secret reads on `*`.

use crate::util::{Env, expect};

const P: &str = "token.actions.githubusercontent.com";
const FED: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

fn trust(condition: serde_json::Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": FED}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}]}).to_string()
}

fn rules(r: &crate::util::Run) -> Vec<String> {
    r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_exact_custom_sub_any_repository_can_mint_blocks_in_config_and_policy_lint() {
    let e = Env::new();
    for sub in [
        "environment:prod",
        "ref:refs/heads/main",
        "workflow:deploy",
        "context:prod",
        "job_workflow_ref:octo-org/wf/.github/workflows/d.yml@refs/heads/main",
    ] {
        e.write(&format!(
            "account_id = \"123456789012\"\n[[role]]\nname = \"gha-custom\"\n  [[role.subject]]\n  custom = \"{sub}\"\n"
        ));
        let r = e.run(&["lint", "--output", "json"]);
        expect(&r, 2);
        assert!(
            rules(&r).contains(&"KL019".to_string()),
            "{sub}: {}",
            r.stdout
        );
        // plan refuses before any call that writes.
        e.kit.reset_counts();
        let r = e.run(&["plan"]);
        expect(&r, 1);
        assert!(r.stderr.contains("KL019"), "{}", r.stderr);
        assert!(e.writes().is_empty());
        std::fs::write(
            e.dir.path().join("t.json"),
            trust(serde_json::json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:sub"): sub}})),
        )
        .unwrap();
        let r = e.run(&["lint", "--policy", "t.json", "--output", "json"]);
        expect(&r, 2);
        assert!(rules(&r).contains(&"KL019".to_string()), "{sub}");
    }
}

#[test]
fn a_null_only_sub_blocks_and_kl001_names_what_is_missing() {
    let e = Env::new();
    std::fs::write(
        e.dir.path().join("null.json"),
        trust(serde_json::json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"}, "Null": {format!("{P}:sub"): "false"}})),
    )
    .unwrap();
    let r = e.run(&["lint", "--policy", "null.json"]);
    expect(&r, 2);
    assert!(
        r.stdout.contains("KL001") && r.stdout.contains("Null"),
        "{}",
        r.stdout
    );
    std::fs::write(
        e.dir.path().join("id.json"),
        trust(serde_json::json!({"StringEquals": {format!("{P}:aud"): "sts.amazonaws.com", format!("{P}:repository_id"): "42"}})),
    )
    .unwrap();
    let r = e.run(&["lint", "--policy", "id.json"]);
    expect(&r, 2);
    assert!(
        r.stdout.contains("KL001")
            && r.stdout.contains("repository_id")
            && !r.stdout.contains("any repository on GitHub"),
        "{}",
        r.stdout
    );
}

#[test]
fn explain_does_not_admit_a_token_from_another_issuer() {
    let e = Env::new();
    for (prefix, what) in [
        ("github.example.com/_services/token", "GHES"),
        (
            "token.actions.githubusercontent.com/octo-inc",
            "enterprise slug",
        ),
    ] {
        let arn = format!("arn:aws:iam::123456789012:oidc-provider/{prefix}");
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{prefix}:aud"): "sts.amazonaws.com", format!("{prefix}:sub"): "repo:octo-org/site:ref:refs/heads/main"}}}]});
        std::fs::write(e.dir.path().join("other.json"), doc.to_string()).unwrap();
        std::fs::write(
            e.dir.path().join("claims.json"),
            serde_json::json!({"iss": format!("https://{P}"), "aud": "sts.amazonaws.com", "sub": "repo:octo-org/site:ref:refs/heads/main", "exp": 4_000_000_000i64}).to_string(),
        )
        .unwrap();
        let r = e.run(&[
            "explain",
            "--policy",
            "other.json",
            "--claims",
            "claims.json",
        ]);
        expect(&r, 2);
        assert!(r.stdout.contains("DENIED"), "{what}: {}", r.stdout);
        // The token of that issuer is admitted by the same policy.
        std::fs::write(
            e.dir.path().join("claims.json"),
            serde_json::json!({"iss": format!("https://{prefix}"), "aud": "sts.amazonaws.com", "sub": "repo:octo-org/site:ref:refs/heads/main", "exp": 4_000_000_000i64}).to_string(),
        )
        .unwrap();
        let r = e.run(&[
            "explain",
            "--policy",
            "other.json",
            "--claims",
            "claims.json",
        ]);
        expect(&r, 0);
    }
}

#[test]
fn reading_secrets_on_every_resource_is_high() {
    let e = Env::new();
    for action in [
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter*",
        "kms:Decrypt",
    ] {
        std::fs::write(
            e.dir.path().join("p.json"),
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}).to_string(),
        )
        .unwrap();
        let r = e.run(&["lint", "--policy", "p.json", "--output", "json"]);
        expect(&r, 2);
        let j = r.json();
        assert!(
            j["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "KL111" && f["severity"] == "high"),
            "{action}: {}",
            r.stdout
        );
    }
}

/// Numeric operators are evaluated as IAM does, in trust policies and RCPs alike; an operator
/// keyless does not model is "cannot decide" (exit 1, naming it), never ADMITTED; an RCP that
/// repeats a key gets KL027 as a trust policy does.
#[test]
fn numeric_operators_are_evaluated_and_an_unmodelled_one_is_undecided() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let owner_key = format!("{P}:repository_owner_id");
    let write = |name: &str, text: String| std::fs::write(d.join(name), text).unwrap();
    let claims = |owner: &str| {
        let mut c = keyless_testkit::Claims::push("octo-org/site", "main");
        c.repository_owner_id = owner.into();
        c.payload().to_string()
    };
    write("ours.json", claims("2002"));
    write("foreign.json", claims("9999"));
    write(
        "numeric-trust.json",
        trust(serde_json::json!({
            "StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{P}:sub"): "repo:octo-org/site:*"},
            "NumericEquals": {&owner_key: "2002"}
        })),
    );
    write(
        "plain-trust.json",
        trust(serde_json::json!({
            "StringEquals": {format!("{P}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{P}:sub"): "repo:octo-org/site:*"}
        })),
    );
    let rcp = |op: &str| {
        let mut condition = serde_json::Map::new();
        condition.insert(op.to_string(), serde_json::json!({&owner_key: "2002"}));
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "OwnersOnly", "Effect": "Deny", "Principal": "*",
            "Action": "sts:AssumeRoleWithWebIdentity", "Resource": "*",
            "Condition": condition}]})
        .to_string()
    };
    write("numeric-rcp.json", rcp("NumericNotEquals"));
    write("arn-rcp.json", rcp("ArnNotLike"));
    write(
        "dup-rcp.json",
        rcp("NumericNotEquals").replacen(
            r#""Effect":"Deny""#,
            r#""Effect":"Allow","Effect":"Deny""#,
            1,
        ),
    );
    let explain = |policy: &str, claims: &str, rcp: Option<&str>| {
        let mut a = vec!["explain", "--policy", policy, "--claims", claims];
        if let Some(r) = rcp {
            a.extend(["--rcp", r]);
        }
        crate::util::keyless_in(d, &a, &[], None)
    };
    // A trust with NumericEquals on the owner ID admits the owner it names, and only it.
    expect(&explain("numeric-trust.json", "ours.json", None), 0);
    expect(&explain("numeric-trust.json", "foreign.json", None), 2);
    // An RCP denying every owner but 2002 with NumericNotEquals denies 9999, naming the RCP.
    let r = explain("plain-trust.json", "foreign.json", Some("numeric-rcp.json"));
    expect(&r, 2);
    assert!(r.stdout.contains("numeric-rcp"), "{}", r.stdout);
    expect(
        &explain("plain-trust.json", "ours.json", Some("numeric-rcp.json")),
        0,
    );
    // An operator keyless does not model: cannot decide, exit 1, named.
    let r = explain("plain-trust.json", "foreign.json", Some("arn-rcp.json"));
    expect(&r, 1);
    assert!(
        r.stdout.contains("cannot decide") && r.stdout.contains("ArnNotLike"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("ADMITTED"), "{}", r.stdout);
    // An RCP that repeats a key: KL027, as for --policy.
    let r = explain("plain-trust.json", "ours.json", Some("dup-rcp.json"));
    expect(&r, 2);
    assert!(
        r.stderr.contains("KL027") && r.stderr.contains("dup-rcp.json"),
        "{}",
        r.stderr
    );
}
