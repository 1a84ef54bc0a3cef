//! The test kit proves itself: provider + role created through the SDK, a GitHub-shaped token
//! exchanged with AssumeRoleWithWebIdentity, the credentials used for GetCallerIdentity; tokens
//! for another repository, another audience or an expired one are refused.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use aws_sdk_sts::config::Credentials;
use keyless_testkit::{ACCOUNT_ID, Claims, GITHUB_ISSUER, Issuer, Kit};

/// Create the provider and a role whose trust policy keyless renders for `subject_toml`.
async fn setup(kit: &Kit, subject_toml: &str) -> String {
    setup_for(kit, "", GITHUB_ISSUER, subject_toml).await
}

/// Same, with a `[provider]` table and the issuer URL to register.
async fn setup_for(kit: &Kit, provider_toml: &str, issuer_url: &str, subject_toml: &str) -> String {
    let conf = kit.sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&conf);
    iam.create_open_id_connect_provider()
        .url(issuer_url)
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .expect("create provider");
    let text = format!(
        "account_id = \"{ACCOUNT_ID}\"\n{provider_toml}\n[[role]]\nname = \"kit-role\"\n[[role.subject]]\n{subject_toml}\n"
    );
    let cfg = keyless::config::parse(&text, "kit.toml", Path::new(".")).unwrap();
    let templates = keyless::policy::template::Templates::load(None).unwrap();
    let target = keyless::state::render::Target {
        account_id: ACCOUNT_ID.into(),
        partition: "aws".into(),
    };
    let rendered = keyless::state::render::render(&cfg, &templates, &target).unwrap();
    let role = &rendered.roles[0];
    iam.create_role()
        .role_name(&role.name)
        .assume_role_policy_document(role.trust_policy.to_string())
        .send()
        .await
        .expect("create role");
    role.arn.clone()
}

async fn exchange(kit: &Kit, role_arn: &str, token: &str) -> Result<Credentials, String> {
    let conf = kit.sdk_config().await;
    let sts = aws_sdk_sts::Client::new(&conf);
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name("keyless-kit")
        .web_identity_token(token)
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_sts::error::ProvideErrorMetadata;
            e.code().unwrap_or("?").to_string()
        })?;
    let c = out.credentials().expect("credentials");
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some(token_sub(token).as_str())
    );
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "web-identity",
    ))
}

fn token_sub(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["sub"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn token_exchange_then_caller_identity_is_the_assumed_role() {
    let kit = Kit::start();
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/octo-repo", "main"));
    let role_arn = setup(&kit, "repo = \"octo-org/octo-repo\"\nbranch = \"main\"").await;

    let token = issuer.mint(&Claims::push("octo-org/octo-repo", "main"));
    assert!(
        issuer.verify(&token),
        "minted token verifies against the JWKS"
    );
    let creds = exchange(&kit, &role_arn, &token)
        .await
        .expect("the matching token is admitted");

    let conf = kit.sdk_config().await;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&conf)
            .credentials_provider(creds)
            .build(),
    );
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with the session");
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/kit-role/keyless-kit").as_str())
    );
    assert_eq!(me.account(), Some(ACCOUNT_ID));
}

#[tokio::test]
async fn wrong_repo_environment_audience_and_expiry_are_refused() {
    let kit = Kit::start();
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/octo-repo", "main"));
    let role_arn = setup(&kit, "repo = \"octo-org/octo-repo\"\nbranch = \"main\"").await;

    let other_repo = issuer.mint(&Claims::push("evil-org/octo-repo", "main"));
    assert_eq!(
        exchange(&kit, &role_arn, &other_repo).await.unwrap_err(),
        "AccessDenied"
    );

    let other_branch = issuer.mint(&Claims::push("octo-org/octo-repo", "dev"));
    assert_eq!(
        exchange(&kit, &role_arn, &other_branch).await.unwrap_err(),
        "AccessDenied"
    );

    // A job that declares an environment gets the environment form of sub: not admitted by a branch scope.
    let env_job = issuer.mint(&Claims::push("octo-org/octo-repo", "main").with_environment("prod"));
    assert_eq!(
        exchange(&kit, &role_arn, &env_job).await.unwrap_err(),
        "AccessDenied"
    );

    let mut wrong_aud = Claims::push("octo-org/octo-repo", "main");
    wrong_aud.aud = "https://github.com/octo-org".into();
    assert_eq!(
        exchange(&kit, &role_arn, &issuer.mint(&wrong_aud))
            .await
            .unwrap_err(),
        "InvalidIdentityToken"
    );

    let mut expired = Claims::push("octo-org/octo-repo", "main");
    expired.expires_in = -60;
    assert_eq!(
        exchange(&kit, &role_arn, &issuer.mint(&expired))
            .await
            .unwrap_err(),
        "ExpiredTokenException"
    );

    let mut other_issuer = Claims::push("octo-org/octo-repo", "main");
    other_issuer.iss = "https://token.actions.githubusercontent.com/other-enterprise".into();
    assert_eq!(
        exchange(&kit, &role_arn, &issuer.mint(&other_issuer))
            .await
            .unwrap_err(),
        "InvalidIdentityToken"
    );

    // The kit counted every call by action.
    assert_eq!(kit.count("AssumeRoleWithWebIdentity"), 6);
    assert_eq!(kit.count("CreateRole"), 1);
}

#[tokio::test]
async fn environment_and_wildcard_scopes_work_end_to_end() {
    let kit = Kit::start();
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("o/r", "main"));
    let role_arn = setup(&kit, "repo = \"o/r\"\nenvironment = \"prod:eu\"").await;
    let ok = issuer.mint(&Claims::push("o/r", "feature/x").with_environment("prod:eu"));
    exchange(&kit, &role_arn, &ok)
        .await
        .expect("environment token admitted (sub encodes : as %3A)");

    let kit2 = Kit::start();
    let role2 = setup(&kit2, "repo = \"o/r\"\nbranch = \"release/*\"").await;
    exchange(
        &kit2,
        &role2,
        &issuer.mint(&Claims::push("o/r", "release/1.2")),
    )
    .await
    .expect("StringLike pattern admits");
    assert_eq!(
        exchange(&kit2, &role2, &issuer.mint(&Claims::push("o/r", "main")))
            .await
            .unwrap_err(),
        "AccessDenied"
    );
}

/// A minimal HTTP/1.1 GET over loopback (the kit's own servers only).
fn http_get(url: &str, bearer: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host).unwrap();
    let auth = bearer
        .map(|b| format!("Authorization: bearer {b}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn issuer_serves_discovery_jwks_and_the_runner_token_endpoint() {
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/octo-repo", "main"));
    let (code, body) = http_get(
        &format!("{}/.well-known/openid-configuration", issuer.base_url()),
        None,
    );
    assert_eq!(code, 200);
    let disco: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(disco["issuer"], GITHUB_ISSUER);
    let (code, body) = http_get(disco["jwks_uri"].as_str().unwrap(), None);
    assert_eq!(code, 200);
    let jwks: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");

    let env = issuer.runner_env();
    let url = &env[0].1;
    let bearer = &env[1].1;
    let (code, _) = http_get(&format!("{url}&audience=sts.amazonaws.com"), None);
    assert_eq!(code, 401, "no bearer, no token");
    let (code, body) = http_get(&format!("{url}&audience=sts.amazonaws.com"), Some(bearer));
    assert_eq!(code, 200);
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(issuer.verify(&token));
    assert!(
        !issuer.verify(&format!("{token}x")),
        "a tampered signature fails"
    );
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "sts.amazonaws.com");
    assert_eq!(claims["sub"], "repo:octo-org/octo-repo:ref:refs/heads/main");
    for k in [
        "repository_id",
        "repository_owner_id",
        "ref_type",
        "event_name",
        "job_workflow_ref",
    ] {
        assert!(
            claims[k].is_string(),
            "{k} is a string claim as GitHub sends it"
        );
    }
    assert!(claims["exp"].is_i64() && claims["iat"].is_i64() && claims["nbf"].is_i64());
}

#[tokio::test]
async fn immutable_subjects_admit_only_the_immutable_form() {
    let kit = Kit::start();
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/octo-repo", "main"));
    // Claims::push uses owner ID 123456 and repository ID 456789.
    let role_arn = setup(&kit, "repo = \"octo-org/octo-repo\"\nbranch = \"main\"\nowner_id = \"123456\"\nrepo_id = \"456789\"").await;
    let immutable = issuer.mint(&Claims::push("octo-org/octo-repo", "main").immutable());
    exchange(&kit, &role_arn, &immutable)
        .await
        .expect("immutable sub admitted");
    // The classic token is refused with the same opaque AccessDenied users see on AWS.
    let classic = issuer.mint(&Claims::push("octo-org/octo-repo", "main"));
    assert_eq!(
        exchange(&kit, &role_arn, &classic).await.unwrap_err(),
        "AccessDenied"
    );

    // format = "both" admits either during a migration.
    let kit2 = Kit::start();
    let both = setup(&kit2, "repo = \"octo-org/octo-repo\"\nbranch = \"main\"\nowner_id = \"123456\"\nrepo_id = \"456789\"\nformat = \"both\"").await;
    exchange(&kit2, &both, &immutable)
        .await
        .expect("immutable admitted");
    exchange(&kit2, &both, &classic)
        .await
        .expect("classic admitted");
}

#[tokio::test]
async fn enterprise_slug_issuer_uses_its_own_key_prefix() {
    let kit = Kit::start();
    let slug_issuer = "https://token.actions.githubusercontent.com/octo-inc";
    let issuer = Issuer::start(slug_issuer, Claims::push("octo-org/octo-repo", "main"));
    let role_arn = setup_for(
        &kit,
        "[provider]\nenterprise_slug = \"octo-inc\"",
        slug_issuer,
        "repo = \"octo-org/octo-repo\"\nbranch = \"main\"",
    )
    .await;
    let mut claims = Claims::push("octo-org/octo-repo", "main");
    claims.iss = slug_issuer.into();
    exchange(&kit, &role_arn, &issuer.mint(&claims))
        .await
        .expect("slug token admitted by slug-prefixed conditions");
    // A base-URL token has no provider in this account once the enterprise uses its unique issuer.
    assert_eq!(
        exchange(
            &kit,
            &role_arn,
            &issuer.mint(&Claims::push("octo-org/octo-repo", "main"))
        )
        .await
        .unwrap_err(),
        "InvalidIdentityToken"
    );
}

/// What the benchmark scripts read from a running kit: the round trips of the run since a reset,
/// and the calls, both cleared by `POST /_kit/reset`.
#[test]
fn the_kit_counts_round_trips_and_resets_over_http() {
    let kit = Kit::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keyless.toml"), crate::apply::SITE).unwrap();
    let post = |path: &str| {
        let rest = kit.endpoint();
        let host = rest.strip_prefix("http://").unwrap().to_string();
        let mut s = TcpStream::connect(&host).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp.split(' ').nth(1).unwrap().parse::<u16>().unwrap()
    };
    crate::util::expect(
        &crate::util::keyless_in(dir.path(), &["plan", "--no-github"], &kit.env(), None),
        0,
    );
    let (_, trips) = http_get(&format!("{}/_kit/round_trips", kit.endpoint()), None);
    let trips: serde_json::Value = serde_json::from_str(&trips).unwrap();
    assert!(trips["round_trips"].as_u64().unwrap() >= 2, "{trips}");
    assert_eq!(post("/_kit/reset"), 204);
    let (_, trips) = http_get(&format!("{}/_kit/round_trips", kit.endpoint()), None);
    assert_eq!(trips.trim(), r#"{"round_trips":0}"#);
    let (_, calls) = http_get(&format!("{}/_kit/calls", kit.endpoint()), None);
    assert_eq!(calls.trim(), "{}");
}
