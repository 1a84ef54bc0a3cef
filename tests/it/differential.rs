//! The local evaluator against the real thing: for a generated set of trust policies and claim
//! sets, `keyless::policy::evaluate` must give the same allow/deny as the test kit's STS, for every case
//! the kit's evaluator covers (conditions on `aud` and `sub`; fakecloud passes no other claims).

use keyless::policy::evaluate::{context, evaluate};
use keyless_testkit::{ACCOUNT_ID, Claims, GITHUB_ISSUER, Issuer, Kit};
use serde_json::{Value, json};

const P: &str = "token.actions.githubusercontent.com";

fn provider_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{P}")
}

/// Condition blocks to combine (each is ANDed inside a statement).
fn blocks() -> Vec<Value> {
    let (sub, aud) = (format!("{P}:sub"), format!("{P}:aud"));
    vec![
        json!({"StringEquals": {&aud: "sts.amazonaws.com", &sub: "repo:octo-org/app:ref:refs/heads/main"}}),
        json!({"StringEquals": {&sub: ["repo:octo-org/app:pull_request", "repo:octo-org/app:environment:prod"]}}),
        json!({"StringLike": {&sub: "repo:octo-org/*"}}),
        json!({"StringLike": {&sub: "repo:octo-org/app:ref:refs/heads/rel?ase"}}),
        json!({"StringLike": {&sub: "repo:octo-org/app:*"}, "StringNotLike": {&sub: "*:pull_request"}}),
        json!({"StringNotEquals": {&sub: "repo:octo-org/app:ref:refs/heads/main"}}),
        json!({"StringEquals": {&aud: "other-audience"}}),
        json!({"StringEqualsIgnoreCase": {&sub: "REPO:OCTO-ORG/APP:REF:REFS/HEADS/MAIN"}}),
        json!({"StringEquals": {&sub: "repo:octo-org/app:*"}}),
    ]
}

fn policies() -> Vec<Value> {
    let allow = |c: &Value| json!({"Effect": "Allow", "Principal": {"Federated": provider_arn()}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": c});
    let mut out = Vec::new();
    for b in blocks() {
        out.push(json!({"Version": "2012-10-17", "Statement": [allow(&b)]}));
    }
    let b = blocks();
    // Statements OR; an explicit Deny wins.
    out.push(json!({"Version": "2012-10-17", "Statement": [allow(&b[0]), allow(&b[1])]}));
    out.push(json!({"Version": "2012-10-17", "Statement": [allow(&b[2]), {"Effect": "Deny", "Principal": {"Federated": provider_arn()}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {format!("{P}:sub"): "*:pull_request"}}}]}));
    // Wrong principal, wrong action.
    out.push(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/accounts.google.com")}, "Action": "sts:AssumeRoleWithWebIdentity"}]}));
    out.push(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider_arn()}, "Action": "sts:AssumeRole"}]}));
    out
}

fn claim_sets() -> Vec<Claims> {
    vec![
        Claims::push("octo-org/app", "main"),
        Claims::push("octo-org/app", "release"),
        Claims::push("octo-org/app", "dev"),
        Claims::push("octo-org/app", "main").with_environment("prod"),
        Claims::push("octo-org/app", "main").with_sub("repo:octo-org/app:pull_request"),
        Claims::push("octo-org/other", "main"),
        Claims::push("octo-org-evil/app", "main"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn local_evaluation_matches_the_kit_sts() {
    let kit = Kit::start();
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("o/r", "main"));
    let conf = kit.sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&conf);
    let sts = aws_sdk_sts::Client::new(&conf);
    iam.create_open_id_connect_provider()
        .url(GITHUB_ISSUER)
        .client_id_list("sts.amazonaws.com")
        .client_id_list("other-audience")
        .send()
        .await
        .unwrap();
    let supported = vec!["aud".to_string(), "sub".to_string()];
    let (mut cases, mut allowed) = (0, 0);
    for (pi, policy) in policies().iter().enumerate() {
        let role = format!("diff-{pi}");
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
        for claims in claim_sets() {
            for aud in ["sts.amazonaws.com", "other-audience"] {
                let mut c = claims.clone();
                c.aud = aud.into();
                let payload = c.payload();
                let local = evaluate(
                    policy,
                    &context(&provider_arn(), P, payload.as_object().unwrap(), &supported),
                )
                .allowed;
                let remote = sts
                    .assume_role_with_web_identity()
                    .role_arn(format!("arn:aws:iam::{ACCOUNT_ID}:role/{role}"))
                    .role_session_name("diff")
                    .web_identity_token(issuer.mint(&c))
                    .send()
                    .await
                    .is_ok();
                assert_eq!(
                    local, remote,
                    "policy {pi} {policy}\nclaims sub={} aud={aud}: local {local}, kit STS {remote}",
                    c.sub
                );
                cases += 1;
                allowed += local as usize;
            }
        }
    }
    eprintln!("{cases} cases compared, {allowed} allowed");
    assert!(
        allowed > 10 && cases - allowed > 10,
        "the generated set exercises both outcomes"
    );
}
