//! `keyless guard` through the binary against the kit: AWS Organizations (fakecloud's) holds the
//! resource control policy, and the kit's STS applies attached RCPs to
//! `AssumeRoleWithWebIdentity` with an evaluator of its own (`keyless_testkit::rcp`), so a
//! hand-made `repo:*` role in a member account is shown refusing another owner's token.

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use keyless_testkit::{Claims, GITHUB_ISSUER, Issuer};

use crate::util::{Env, expect};

const OWNER_ID: &str = "123456";

/// The management account of the test organization. The kit's own account
/// ([`keyless_testkit::ACCOUNT_ID`]) is a member: the kit's STS exchanges web-identity tokens for
/// roles in its own account only, and RCPs never apply to the management account.
const MANAGEMENT: &str = "999999999999";
const MEMBER: &str = keyless_testkit::ACCOUNT_ID;

pub(crate) struct Org {
    pub(crate) ou: String,
    /// The management account's temporary credentials, as environment variables.
    pub(crate) env: Vec<(&'static str, String)>,
    /// Organizations as the management account.
    orgs: aws_sdk_organizations::Client,
    /// IAM in the management account.
    iam: aws_sdk_iam::Client,
}

/// Credentials for `role` in `account`, assumed from the kit's root credentials.
async fn assume(e: &Env, account: &str) -> aws_sdk_sts::types::Credentials {
    let conf = e.kit.sdk_config().await;
    aws_sdk_sts::Client::new(&conf)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("test")
        .send()
        .await
        .unwrap()
        .credentials()
        .unwrap()
        .clone()
}

async fn config_as(e: &Env, c: &aws_sdk_sts::types::Credentials) -> aws_config::SdkConfig {
    let creds = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "test",
    );
    e.kit
        .sdk_config()
        .await
        .into_builder()
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(creds))
        .build()
}

/// A new organization (all features) with an OU `workloads` under its root: (root, OU).
async fn organization_with_unit(orgs: &aws_sdk_organizations::Client) -> (String, String) {
    orgs.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = orgs.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let ou = orgs
        .create_organizational_unit()
        .parent_id(&root)
        .name("workloads")
        .send()
        .await
        .unwrap()
        .organizational_unit()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    (root, ou)
}

/// An organization managed from [`MANAGEMENT`], with the kit's account invited into an OU
/// `workloads`, and in it the role the management account reaches member accounts with.
pub(crate) async fn organization(e: &Env) -> Org {
    e.kit
        .add_account(MANAGEMENT, "OrganizationAccountAccessRole", None);
    let creds = assume(e, MANAGEMENT).await;
    let conf = config_as(e, &creds).await;
    let orgs = aws_sdk_organizations::Client::new(&conf);
    let (root, ou) = organization_with_unit(&orgs).await;
    let handshake = orgs
        .invite_account_to_organization()
        .target(
            aws_sdk_organizations::types::HandshakeParty::builder()
                .id(MEMBER)
                .r#type(aws_sdk_organizations::types::HandshakePartyType::Account)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let id = handshake.handshake().unwrap().id().unwrap().to_string();
    let member_conf = e.kit.sdk_config().await;
    aws_sdk_organizations::Client::new(&member_conf)
        .accept_handshake()
        .handshake_id(&id)
        .send()
        .await
        .unwrap();
    let _ = orgs
        .move_account()
        .account_id(MEMBER)
        .source_parent_id(&root)
        .destination_parent_id(&ou)
        .send()
        .await;
    // The role in the member account that the management account assumes (the dry run).
    let member_iam = aws_sdk_iam::Client::new(&member_conf);
    member_iam
        .create_role()
        .role_name("OrganizationAccountAccessRole")
        .assume_role_policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{MANAGEMENT}:root")}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let mut env: Vec<(&'static str, String)> = e
        .kit
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .collect();
    env.push(("AWS_ACCESS_KEY_ID", creds.access_key_id().to_string()));
    env.push((
        "AWS_SECRET_ACCESS_KEY",
        creds.secret_access_key().to_string(),
    ));
    env.push(("AWS_SESSION_TOKEN", creds.session_token().to_string()));
    Org {
        ou,
        env,
        orgs,
        iam: aws_sdk_iam::Client::new(&conf),
    }
}

/// A hand-made role in `account` trusting `issuer`'s tokens whose sub matches `sub`.
async fn hand_made(
    iam: &aws_sdk_iam::Client,
    account: &str,
    issuer: &str,
    name: &str,
    sub: &str,
) -> String {
    let host = issuer.trim_start_matches("https://");
    let provider = format!("arn:aws:iam::{account}:oidc-provider/{host}");
    // The kit's STS finds a web-identity token's provider by URL across its accounts, so only
    // the member account (where tokens are exchanged) gets one.
    if account == MEMBER {
        let _ = iam
            .create_open_id_connect_provider()
            .url(issuer)
            .client_id_list("sts.amazonaws.com")
            .send()
            .await;
    }
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"},
                      "StringLike": {format!("{host}:sub"): sub}}}]});
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    format!("arn:aws:iam::{account}:role/{name}")
}

async fn exchange(e: &Env, role: &str, token: &str) -> Result<(), String> {
    let conf = e.kit.sdk_config().await;
    aws_sdk_sts::Client::new(&conf)
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name("guard-test")
        .web_identity_token(token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// A resource control policy that is no guard: it denies something else.
const FOREIGN_RCP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"*"}]}"#;

pub(crate) fn config(ou: &str) -> String {
    format!(
        "name = \"org-guard\"\n[guard]\nowner_ids = [\"{OWNER_ID}\"]  # octo-org\ntargets = [\"{ou}\"]\n"
    )
}

fn guard_run(e: &Env, org: &Org, args: &[&str]) -> crate::util::Run {
    crate::util::keyless_in(e.dir.path(), args, &org.env, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_a_foreign_owner_on_a_hand_made_role_and_nothing_else() {
    let e = Env::new();
    let org = organization(&e).await;
    let member_iam = aws_sdk_iam::Client::new(&e.kit.sdk_config().await);
    let any = hand_made(&member_iam, MEMBER, GITHUB_ISSUER, "handmade-any", "repo:*").await;
    let partner = hand_made(
        &member_iam,
        MEMBER,
        GITHUB_ISSUER,
        "partner-deploy",
        "repo:partner@777/app@1:*",
    )
    .await;
    let eks_issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
    let eks = hand_made(
        &member_iam,
        MEMBER,
        eks_issuer,
        "eks-pods",
        "system:serviceaccount:*",
    )
    .await;
    // The management account's own repo:* role: RCPs never reach it.
    hand_made(&org.iam, MANAGEMENT, GITHUB_ISSUER, "mgmt-any", "repo:*").await;
    e.write(&config(&org.ou));
    let run = |args: &[&str]| guard_run(&e, &org, args);

    // Plan: the changes, and the dry run over the OU's account and the management account.
    let r = run(&["guard", "plan"]);
    expect(&r, 0);
    for needle in [
        "+ enable resource control policies on the root",
        "+ policy keyless-github-guard (RESOURCE_CONTROL_POLICY",
        &format!("+ attach keyless-github-guard to {}", org.ou),
        &format!("{MEMBER} handmade-any: admits any owner -> narrowed"),
        &format!("{MEMBER} partner-deploy: admits partner (id 777) -> BLOCKED"),
        &format!("{MANAGEMENT} mgmt-any: admits any owner -> not covered (management account)"),
    ] {
        assert!(r.stdout.contains(needle), "{needle}\n{}", r.stdout);
    }
    assert!(
        r.stderr.contains("is not subject to RCPs")
            && r.stderr.contains("1 role(s) admit an owner"),
        "{}",
        r.stderr
    );
    let j = run(&["guard", "plan", "--output", "json"]).json();
    assert_eq!(j["at_risk"], 1);
    assert!(j["size"].as_u64().unwrap() < 5120);
    // explain --rcp: the evaluator knows the guard, offline.
    let dir = e.dir.path();
    std::fs::write(dir.join("guard.json"), j["document"].to_string()).unwrap();
    let trust = crate::util::live_trust(&member_iam, "handmade-any").await;
    std::fs::write(dir.join("trust.json"), trust).unwrap();
    let claims = |owner: &str| {
        let mut c = Claims::push("evil/x", "main");
        c.repository_owner_id = owner.into();
        c.payload().to_string()
    };
    std::fs::write(dir.join("foreign.json"), claims("9999")).unwrap();
    std::fs::write(dir.join("ours.json"), claims(OWNER_ID)).unwrap();
    let explain = |claims: &str, rcp: bool| {
        let mut a = vec!["explain", "--policy", "trust.json", "--claims", claims];
        if rcp {
            a.extend(["--rcp", "guard.json"]);
        }
        crate::util::keyless_in(dir, &a, &[], None)
    };
    let r = explain("foreign.json", true);
    expect(&r, 2);
    assert!(
        r.stdout.contains("denied by the organisation's RCP guard, Statement[0] (GitHubOwnersTokenActionsGithubusercontentCom): owner 9999 not allowed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("add \"9999\" to [guard] owner_ids"),
        "{}",
        r.stdout
    );
    expect(&explain("ours.json", true), 0);
    expect(&explain("foreign.json", false), 0);

    // Before the guard: any repository on GitHub gets into the hand-made role.
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let mut foreign = Claims::push("evil/x", "main");
    foreign.repository_owner_id = "9999".into();
    let foreign = issuer.mint(&foreign);
    let ours = issuer.mint(&Claims::push("octo-org/site", "main"));
    exchange(&e, &any, &foreign).await.unwrap();

    let r = run(&["guard", "apply", "--yes"]);
    expect(&r, 0);
    let orgs = &org.orgs;
    let listed = orgs
        .list_policies()
        .filter(PolicyType::ResourceControlPolicy)
        .send()
        .await
        .unwrap();
    let guard = listed
        .policies()
        .iter()
        .find(|p| p.name() == Some("keyless-github-guard"))
        .unwrap();
    let id = guard.id().unwrap().to_string();
    let tags = orgs
        .list_tags_for_resource()
        .resource_id(&id)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "keyless:config" && t.value() == "org-guard"),
        "{tags:?}"
    );
    let targets = orgs
        .list_targets_for_policy()
        .policy_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets()[0].target_id(), Some(org.ou.as_str()));

    // After: the foreign owner is refused, the allowed owner admitted, and nothing else changed.
    let denied = exchange(&e, &any, &foreign).await.unwrap_err();
    assert!(
        denied.contains("AccessDenied") && denied.contains("keyless-github-guard"),
        "{denied}"
    );
    exchange(&e, &any, &ours).await.unwrap();
    let mut partner_claims = Claims::push("partner/app", "main");
    partner_claims.repository_owner_id = "777".into();
    partner_claims.sub = "repo:partner@777/app@1:ref:refs/heads/main".into();
    exchange(&e, &partner, &issuer.mint(&partner_claims))
        .await
        .unwrap_err();
    let eks_tokens = Issuer::start(eks_issuer, Claims::push("x/y", "main"));
    let mut pod = Claims::push("x/y", "main");
    pod.iss = eks_issuer.into();
    pod.sub = "system:serviceaccount:default:app".into();
    exchange(&e, &eks, &eks_tokens.mint(&pod)).await.unwrap();
    // sts:AssumeRole is not touched: the dry run still reaches the member account.
    let r = run(&["guard", "plan"]);
    expect(&r, 0);
    assert!(
        r.stdout.contains("no changes") && r.stdout.contains("handmade-any"),
        "{}",
        r.stdout
    );

    // audit says which accounts the guard covers (KA006): the member is covered, the management
    // account never is.
    let j = run(&["audit", "--output", "json"]).json();
    let ka006: Vec<_> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "KA006")
        .collect();
    assert!(
        ka006.len() == 1
            && ka006[0]["message"]
                .as_str()
                .unwrap()
                .contains("management account"),
        "{ka006:?}"
    );
    // A second apply writes nothing.
    let writes = || {
        [
            "EnablePolicyType",
            "CreatePolicy",
            "UpdatePolicy",
            "AttachPolicy",
            "DetachPolicy",
            "DeletePolicy",
        ]
        .iter()
        .map(|a| e.kit.count(a))
        .sum::<u64>()
    };
    let before = writes();
    expect(&run(&["guard", "apply", "--yes"]), 0);
    assert_eq!(writes(), before);
    expect(&run(&["guard", "check"]), 0);

    // Edited by hand: check reports it (exit 2) and apply puts it back.
    orgs.update_policy()
        .policy_id(&id)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Resource":"*","Condition":{"StringEquals":{"token.actions.githubusercontent.com:repository_owner_id":"1"}}}]}"#)
        .send()
        .await
        .unwrap();
    let r = run(&["guard", "check"]);
    expect(&r, 2);
    assert!(
        r.stdout.contains("~ policy keyless-github-guard"),
        "{}",
        r.stdout
    );
    expect(&run(&["guard", "apply", "--yes"]), 0);
    expect(&run(&["guard", "check"]), 0);

    // Someone else's RCP on the same OU stays through destroy.
    let other = orgs
        .create_policy()
        .name("security-team-rcp")
        .description("not keyless's")
        .r#type(PolicyType::ResourceControlPolicy)
        .content(FOREIGN_RCP)
        .send()
        .await
        .unwrap();
    let other = other
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    orgs.attach_policy()
        .policy_id(&other)
        .target_id(&org.ou)
        .send()
        .await
        .unwrap();
    let r = run(&["guard", "destroy", "--yes"]);
    expect(&r, 0);
    let left = orgs
        .list_policies_for_target()
        .target_id(&org.ou)
        .filter(PolicyType::ResourceControlPolicy)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = left.policies().iter().filter_map(|p| p.name()).collect();
    assert!(
        names.contains(&"security-team-rcp") && !names.contains(&"keyless-github-guard"),
        "{names:?}"
    );
    exchange(&e, &any, &foreign).await.unwrap();
}

#[test]
fn a_policy_of_the_same_name_that_is_not_ours_is_refused() {
    let e = Env::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let org = rt.block_on(organization(&e));
    rt.block_on(async {
        org.orgs
            .create_policy()
            .name("keyless-github-guard")
            .description("made by hand")
            .r#type(PolicyType::ResourceControlPolicy)
            .content(FOREIGN_RCP)
            .send()
            .await
            .unwrap();
    });
    e.write(&config(&org.ou));
    let r = guard_run(&e, &org, &["guard", "apply", "--yes"]);
    expect(&r, 1);
    assert!(r.stderr.contains("not this config's"), "{}", r.stderr);
    let r = guard_run(&e, &org, &["guard", "destroy", "--yes"]);
    expect(&r, 1);
    assert_eq!(e.kit.count("DeletePolicy") + e.kit.count("DetachPolicy"), 0);
}

/// A foreign RCP tagged as ours is still not ours (its document is not a guard's shape);
/// configs that would guard nothing are refused; the human report never says "changes made"
/// before anything was made, never "no changes" beside a refusal, and shows the policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_guard_refuses_what_guards_nothing_and_what_only_its_tags_call_ours() {
    let e = Env::new();
    let org = organization(&e).await;
    // Configs that guard nothing, or could never match: refused at once, naming the key.
    for (table, key) in [
        (
            format!(
                "owner_ids = [\"{OWNER_ID}\"]\nissuers = []\ntargets = [\"{}\"]",
                org.ou
            ),
            "guard.issuers",
        ),
        (
            format!("owner_ids = [\"0{OWNER_ID}\"]\ntargets = [\"{}\"]", org.ou),
            "guard.owner_ids",
        ),
        (
            format!(
                "owner_ids = [\"{OWNER_ID}\"]\ntargets = [\"{0}\", \"{0}\"]",
                org.ou
            ),
            "guard.targets",
        ),
    ] {
        e.write(&format!("name = \"org-guard\"\n[guard]\n{table}\n"));
        let r = guard_run(&e, &org, &["guard", "plan", "--no-dry-run"]);
        expect(&r, 1);
        assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
    }
    // Only the management account: RCPs never apply there.
    e.write(&format!(
        "name = \"org-guard\"\n[guard]\nowner_ids = [\"{OWNER_ID}\"]\ntargets = [\"{MANAGEMENT}\"]\n"
    ));
    let r = guard_run(&e, &org, &["guard", "plan", "--no-dry-run"]);
    expect(&r, 2);
    assert!(
        r.stdout.contains("refused") && !r.stdout.contains("no changes"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("guard nothing"), "{}", r.stderr);
    // The plan shows the policy; apply without --yes and no terminal makes nothing, says so,
    // and names `keyless guard plan`.
    e.write(&config(&org.ou));
    let r = guard_run(&e, &org, &["guard", "plan", "--no-dry-run"]);
    expect(&r, 0);
    assert!(r.stdout.contains("\"StringNotEquals\""), "{}", r.stdout);
    let r = guard_run(&e, &org, &["guard", "apply", "--no-dry-run"]);
    expect(&r, 1);
    assert!(!r.stdout.contains("changes made"), "{}", r.stdout);
    assert!(r.stderr.contains("keyless guard plan"), "{}", r.stderr);
    assert_eq!(e.kit.count("CreatePolicy"), 0);
    // A policy of the guard's name carrying our tags, with a document that is not a guard's.
    org.orgs
        .create_policy()
        .name("keyless-github-guard")
        .description("made by hand")
        .r#type(PolicyType::ResourceControlPolicy)
        .content(FOREIGN_RCP)
        .tags(
            aws_sdk_organizations::types::Tag::builder()
                .key("managed-by")
                .value("keyless")
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_organizations::types::Tag::builder()
                .key("keyless:config")
                .value("org-guard")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let r = guard_run(&e, &org, &["guard", "destroy", "--yes"]);
    expect(&r, 1);
    assert!(r.stderr.contains("not one keyless writes"), "{}", r.stderr);
    assert_eq!(e.kit.count("DeletePolicy") + e.kit.count("DetachPolicy"), 0);
}

/// A hand-made role that names its owner only by login: with a GitHub token, the dry run asks
/// GitHub for the owner's ID (through the repository the trust names) and judges it; without
/// one it says the ID is not known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_learns_owner_ids_from_github() {
    use keyless_testkit::GitHub;
    use keyless_testkit::github::Repo;
    let e = Env::new();
    let org = organization(&e).await;
    let member_iam = aws_sdk_iam::Client::new(&e.kit.sdk_config().await);
    hand_made(
        &member_iam,
        MEMBER,
        GITHUB_ISSUER,
        "site-deploy",
        "repo:octo-org/site:ref:refs/heads/main",
    )
    .await;
    hand_made(
        &member_iam,
        MEMBER,
        GITHUB_ISSUER,
        "evil-deploy",
        "repo:evil-org/app:ref:refs/heads/main",
    )
    .await;
    e.write(&config(&org.ou));
    let r = guard_run(&e, &org, &["guard", "plan", "--no-github"]);
    expect(&r, 0);
    assert!(
        r.stdout.contains(&format!(
            "{MEMBER} site-deploy: admits octo-org (id not known) -> blocked unless its id is listed"
        )),
        "{}",
        r.stdout
    );
    let gh = GitHub::start(crate::github::TOKEN);
    gh.add_repo(Repo::new("octo-org/site", OWNER_ID.parse().unwrap(), 1));
    gh.add_repo(Repo::new("evil-org/app", 9999, 2));
    let mut env = org.env.clone();
    env.push(("GH_TOKEN", crate::github::TOKEN.to_string()));
    env.push(("KEYLESS_GITHUB_API_URL", gh.url()));
    let r = crate::util::keyless_in(e.dir.path(), &["guard", "plan"], &env, None);
    expect(&r, 0);
    for needle in [
        format!("{MEMBER} site-deploy: admits octo-org (id {OWNER_ID}) -> kept"),
        format!("{MEMBER} evil-deploy: admits evil-org (id 9999) -> BLOCKED"),
    ] {
        assert!(r.stdout.contains(&needle), "{needle}\n{}", r.stdout);
    }
    assert_eq!(gh.writes(), 0);
}

/// The same guard against a second implementation of AWS Organizations: moto's server (from the
/// outside tools), which creates and attaches resource control policies too.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_guard_converges_against_motos_organizations_too() {
    let moto = crate::export::Moto::start(&crate::export::tools());
    let env = moto.env();
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(env[0].1.clone())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let orgs = aws_sdk_organizations::Client::new(&conf);
    let (_, ou) = organization_with_unit(&orgs).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keyless.toml"), config(&ou)).unwrap();
    let run = |args: &[&str]| crate::util::keyless_in(dir.path(), args, &env, None);
    let r = run(&["guard", "apply", "--yes", "--no-dry-run"]);
    expect(&r, 0);
    let targets = |orgs: aws_sdk_organizations::Client, ou: String| async move {
        orgs.list_policies_for_target()
            .target_id(&ou)
            .filter(PolicyType::ResourceControlPolicy)
            .send()
            .await
            .unwrap()
            .policies()
            .iter()
            .filter_map(|p| p.name().map(String::from))
            .collect::<Vec<_>>()
    };
    assert!(
        targets(orgs.clone(), ou.clone())
            .await
            .contains(&"keyless-github-guard".to_string())
    );
    let r = run(&["guard", "check"]);
    expect(&r, 0);
    assert!(r.stdout.contains("no drift"), "{}", r.stdout);
    let r = run(&["guard", "destroy", "--yes"]);
    expect(&r, 0);
    assert!(
        !targets(orgs.clone(), ou.clone())
            .await
            .contains(&"keyless-github-guard".to_string())
    );
    expect(&run(&["guard", "check"]), 2);
}
