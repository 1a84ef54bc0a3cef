//! keyless check: apply, change IAM out of band with the SDK, and see the drift reported with the
//! right kind, severity, exit code and format. check itself never writes.

use aws_sdk_iam::Client;
use keyless_testkit::ACCOUNT_ID;

use crate::apply::SITE;
use crate::util::{Env, expect, keyless};

const ROLE: &str = "gha-site";

fn applied() -> Env {
    let e = Env::new();
    e.write(SITE);
    expect(&e.run(&["apply", "--yes"]), 0);
    e.kit.reset_counts();
    e
}

/// Run `check --output json`, assert it wrote nothing, return (exit code, document).
fn check(e: &Env, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "--output", "json"];
    args.extend_from_slice(extra);
    e.kit.reset_counts();
    let r = e.run(&args);
    assert!(
        e.writes().is_empty(),
        "check made write calls: {:?}",
        e.writes()
    );
    assert!(
        r.code == 0 || r.code == 2,
        "unexpected exit {}: {}",
        r.code,
        r.stderr
    );
    (r.code, r.json())
}

/// The (kind, severity) pairs of a check document.
fn kinds(j: &serde_json::Value) -> Vec<(String, String)> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(j: &serde_json::Value, kind: &str, severity: &str) -> bool {
    kinds(j).contains(&(kind.to_string(), severity.to_string()))
}

const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

#[test]
fn in_sync_exits_0_and_reads_only() {
    let e = applied();
    let (code, j) = check(&e, &[]);
    assert_eq!(code, 0);
    assert_eq!(j["in_sync"], true);
    assert_eq!(j["format_version"], 1);
    assert_eq!(j["roles_checked"], 1);
    let r = e.run(&["check"]);
    expect(&r, 0);
    assert!(
        r.stdout
            .starts_with("In sync: 1 role(s) in account 123456789012"),
        "{}",
        r.stdout
    );
}

/// An out-of-band change made with the SDK, as someone with console access would.
#[derive(Debug, Clone, Copy)]
enum Edit {
    WidenTrust,
    PolicyToAdmin,
    AttachAdmin,
    AddInline,
    LongerSessionAndTag,
    AddBoundary,
    DetachPolicy,
    DeleteRole,
    RemoveAudience,
    DeleteProvider,
    /// Not undone by apply: the last rows.
    HandMadeRoleAndLostTag,
}

async fn make(edit: Edit, iam: &Client) {
    let policy = format!("arn:aws:iam::{ACCOUNT_ID}:policy/gha-site-s3-deploy");
    let trust = |sub: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}},"StringLike":{{"token.actions.githubusercontent.com:sub":"{sub}"}}}}}}]}}"#
        )
    };
    match edit {
        Edit::WidenTrust => {
            iam.update_assume_role_policy()
                .role_name(ROLE)
                .policy_document(trust("repo:octo-org/*"))
                .send()
                .await
                .unwrap();
        }
        Edit::PolicyToAdmin => {
            iam.create_policy_version()
                .policy_arn(&policy)
                .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
                .set_as_default(true)
                .send()
                .await
                .unwrap();
        }
        Edit::AttachAdmin => {
            iam.attach_role_policy()
                .role_name(ROLE)
                .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                .send()
                .await
                .unwrap();
        }
        Edit::AddInline => {
            iam.put_role_policy().role_name(ROLE).policy_name("hotfix").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#).send().await.unwrap();
        }
        Edit::LongerSessionAndTag => {
            iam.update_role()
                .role_name(ROLE)
                .max_session_duration(43200)
                .send()
                .await
                .unwrap();
            iam.tag_role()
                .role_name(ROLE)
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key("owner")
                        .value("someone")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        Edit::AddBoundary => {
            let _ = iam.create_policy().policy_name("boundary").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#).send().await;
            iam.put_role_permissions_boundary()
                .role_name(ROLE)
                .permissions_boundary(format!("arn:aws:iam::{ACCOUNT_ID}:policy/boundary"))
                .send()
                .await
                .unwrap();
        }
        Edit::DetachPolicy => {
            iam.detach_role_policy()
                .role_name(ROLE)
                .policy_arn(&policy)
                .send()
                .await
                .unwrap();
        }
        Edit::DeleteRole => {
            // IAM refuses to delete a role with policies: take them off first, as a person would.
            iam.detach_role_policy()
                .role_name(ROLE)
                .policy_arn(&policy)
                .send()
                .await
                .unwrap();
            iam.delete_role().role_name(ROLE).send().await.unwrap();
        }
        Edit::RemoveAudience => {
            iam.remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(PROVIDER)
                .client_id("sts.amazonaws.com")
                .send()
                .await
                .unwrap();
        }
        Edit::DeleteProvider => {
            iam.delete_open_id_connect_provider()
                .open_id_connect_provider_arn(PROVIDER)
                .send()
                .await
                .unwrap();
        }
        Edit::HandMadeRoleAndLostTag => {
            iam.create_role()
                .role_name("hand-made")
                .assume_role_policy_document(trust("repo:octo-org/other:ref:refs/heads/main"))
                .send()
                .await
                .unwrap();
            iam.untag_role()
                .role_name(ROLE)
                .tag_keys("managed-by")
                .send()
                .await
                .unwrap();
        }
    }
}

/// Each row: an out-of-band change, then `check` through the SDK's reads must report exactly
/// these (kind, severity) pairs, exit 2, and write nothing; then `apply` puts the account back
/// and `check` is in sync again (so one kit serves the table). How each change is classified
/// is tested in milliseconds beside the code (`state::drift`'s table); this proves the reads
/// see each one.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn every_out_of_band_change_is_seen_and_apply_converges_from_it() {
    let rows: &[(Edit, &[(&str, &str)])] = &[
        (
            Edit::WidenTrust,
            &[
                ("trust_policy_changed", "high"),
                ("trust_policy_lint", "high"),
            ],
        ),
        (
            Edit::PolicyToAdmin,
            &[("permission_policy_changed", "critical")],
        ),
        (Edit::AttachAdmin, &[("extra_policy_attached", "critical")]),
        (Edit::AddInline, &[("inline_policy_added", "high")]),
        (
            Edit::LongerSessionAndTag,
            &[("max_session_changed", "low"), ("tags_changed", "low")],
        ),
        (Edit::AddBoundary, &[("boundary_changed", "low")]),
        (Edit::DetachPolicy, &[("policy_detached", "medium")]),
        // The consequences of a missing role are not repeated.
        (Edit::DeleteRole, &[("role_missing", "high")]),
        (Edit::RemoveAudience, &[("audience_removed", "high")]),
        (Edit::DeleteProvider, &[("provider_missing", "high")]),
        (
            Edit::HandMadeRoleAndLostTag,
            &[
                ("extra_role", "info"),
                ("role_not_managed", "medium"),
                ("tags_changed", "low"),
            ],
        ),
    ];
    let e = applied();
    let iam: Client = e.iam().await;
    for (edit, want) in rows {
        make(*edit, &iam).await;
        let (code, j) = check(&e, &[]);
        let mut got = kinds(&j);
        got.sort();
        let mut want: Vec<(String, String)> = want
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_string()))
            .collect();
        want.sort();
        assert_eq!((code, &got), (2, &want), "{edit:?}");
        if matches!(edit, Edit::LongerSessionAndTag) {
            // --fail-on sets the threshold: low drift does not fail a high threshold.
            assert_eq!(check(&e, &["--fail-on", "high"]).0, 0);
        }
        if matches!(edit, Edit::HandMadeRoleAndLostTag) {
            break;
        }
        expect(&e.run(&["apply", "--yes"]), 0);
        let (code, j) = check(&e, &[]);
        assert_eq!(
            (code, kinds(&j)),
            (0, vec![]),
            "apply converges after {edit:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn github_output_annotations_and_step_summary() {
    let e = applied();
    let iam = e.iam().await;
    iam.update_role()
        .role_name(ROLE)
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name(ROLE)
        .policy_arn("arn:aws:iam::aws:policy/AmazonS3FullAccess")
        .send()
        .await
        .unwrap();
    let summary = e.dir.path().join("summary.md");
    let mut env = e.kit.env();
    env.push(("GITHUB_ACTIONS", "true".into()));
    env.push(("GITHUB_STEP_SUMMARY", summary.display().to_string()));
    let r = crate::util::keyless_in(e.dir.path(), &["check", "--fail-on", "medium"], &env, None);
    expect(&r, 2);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].starts_with("::error title=keyless drift (high)%3A role gha-site attachment AmazonS3FullAccess::extra_policy_attached: "), "{}", lines[0]);
    assert!(lines[1].starts_with("::warning title=keyless drift (low)%3A role gha-site settings::max_session_changed: max session duration is 7200s"), "{}", lines[1]);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("## keyless check: drift\n"), "{md}");
    assert!(
        md.contains("| high | `extra_policy_attached` |")
            && md.contains("| low | `max_session_changed` |"),
        "{md}"
    );
}

#[test]
fn unreachable_endpoint_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keyless.toml"), SITE).unwrap();
    let env = crate::util::unreachable_env();
    let r = crate::util::keyless_in(dir.path(), &["check"], &env, None);
    expect(&r, 1);
    assert!(
        r.stderr.contains("GetCallerIdentity") && r.stderr.contains("fix:"),
        "{}",
        r.stderr
    );
}

#[test]
fn emit_check_workflow_is_a_scheduled_read_only_job() {
    let r = keyless(&[
        "emit",
        "check-workflow",
        "-c",
        &crate::util::example("multi-role.toml"),
    ]);
    expect(&r, 0);
    let y: serde_json::Value = serde_saphyr::from_str(&r.stdout).unwrap();
    assert!(
        y["on"]["schedule"][0]["cron"].is_string() && y["on"].get("workflow_dispatch").is_some()
    );
    assert_eq!(y["jobs"]["check"]["permissions"]["id-token"], "write");
    let steps = y["jobs"]["check"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| {
        s["with"]["args"]
            .as_str()
            .is_some_and(|r| r.starts_with("check"))
    }));
    assert!(r.stdout.contains("${{ vars.KEYLESS_CHECK_ROLE_ARN }}"));
    assert!(
        r.stdout.contains("gha-keyless-check"),
        "the role with the keyless-check preset is chosen"
    );
}

/// The policy document of preset `name` (with `params`, a TOML line), rendered through the
/// binary for the kit's account.
pub(crate) fn preset_document(e: &Env, name: &str, params: &str) -> serde_json::Value {
    let file = format!("{name}.preset.toml");
    std::fs::write(
        e.dir.path().join(&file),
        format!("[[role]]\nname = \"holder\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.preset]]\nname = \"{name}\"\n{params}"),
    )
    .unwrap();
    let rendered = crate::util::keyless_in(
        e.dir.path(),
        &[
            "render",
            "-c",
            &file,
            "--output",
            "json",
            "--account-id",
            ACCOUNT_ID,
        ],
        &[],
        None,
    );
    expect(&rendered, 0);
    rendered.json()["roles"][0]["policies"][0]["document"].clone()
}

/// Create an IAM user holding only `policy`, and return an environment with its keys.
pub(crate) async fn user_with(
    e: &Env,
    name: &str,
    policy: &serde_json::Value,
) -> Vec<(&'static str, String)> {
    let iam = e.admin_iam().await;
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("only")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    // Real AWS never checks a permission for sts:GetCallerIdentity; fakecloud's strict mode does.
    // Grant it separately so the preset itself stays exactly what AWS needs.
    let whoami = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;
    iam.put_user_policy()
        .user_name(name)
        .policy_name("emulator-whoami")
        .policy_document(whoami)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let mut env = e.kit.env();
    for (k, v) in env.iter_mut() {
        match *k {
            "AWS_ACCESS_KEY_ID" => *v = key.access_key_id().to_string(),
            "AWS_SECRET_ACCESS_KEY" => *v = key.secret_access_key().to_string(),
            _ => {}
        }
    }
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn check_needs_exactly_the_keyless_check_preset() {
    let e = Env {
        kit: keyless_testkit::Kit::start_strict(),
        dir: tempfile::tempdir().unwrap(),
    };
    // Every kind of thing check reads: provider, role, preset policy and an inline policy.
    std::fs::write(e.dir.path().join("extra.json"), r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}]}"#).unwrap();
    e.write(&format!(
        "{SITE}  [[role.inline_policy]]\n  name = \"extra\"\n  file = \"extra.json\"\n"
    ));
    expect(
        &crate::util::keyless_in(e.dir.path(), &["apply", "--yes"], &e.kit.admin_env(), None),
        0,
    );
    // Role by role (the preset's default), and the whole account (`reads = "account"`).
    // The account read needs three of the actions (the others are the per-role path's, which
    // `auto` still takes for small configs, proved necessary above; GetPolicy also reads the tags
    // of a policy whose description does not name its config, made by an older keyless).
    exactly_enough(&e, "", &[], None).await;
    let account = [
        "iam:GetOpenIDConnectProvider",
        "iam:ListRoles",
        "iam:GetAccountAuthorizationDetails",
    ];
    exactly_enough(
        &e,
        "params = { reads = \"account\" }\n",
        &["--reads", "account"],
        Some(&account),
    )
    .await;
}

/// Render the keyless-check preset with `params`, then: `check` with `flags` as a user holding
/// only it is in sync, and without any one of its actions (or of `needed`) is refused.
async fn exactly_enough(e: &Env, params: &str, flags: &[&str], needed: Option<&[&str]>) {
    let preset = preset_document(e, "keyless-check", params);

    let tag = flags.len();
    let env = user_with(e, &format!("checker{tag}"), &preset).await;
    let mut args = vec!["check", "--output", "json"];
    args.extend_from_slice(flags);
    let r = crate::util::keyless_in(e.dir.path(), &args, &env, None);
    expect(&r, 0);
    assert_eq!(r.json()["in_sync"], true);

    // Least privilege: without any one of its actions, check is refused.
    let actions: Vec<String> = preset["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| {
            keyless::policy::document::strings(st.get("Action"))
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|a| needed.is_none_or(|n| n.contains(&a.as_str())))
        .collect();
    assert_eq!(actions.len(), needed.map_or(actions.len(), <[&str]>::len));
    for (i, drop) in actions.iter().enumerate() {
        let mut narrower = preset.clone();
        for st in narrower["Statement"].as_array_mut().unwrap() {
            match &mut st["Action"] {
                serde_json::Value::Array(list) => list.retain(|a| a != drop.as_str()),
                serde_json::Value::String(a) if a == drop => {
                    st["Action"] = serde_json::json!("iam:GetUser")
                }
                _ => {}
            }
        }
        let env = user_with(e, &format!("narrow{tag}-{i}"), &narrower).await;
        let r = crate::util::keyless_in(e.dir.path(), &args, &env, None);
        assert_eq!(
            r.code, 1,
            "check still worked without {drop}: the preset is wider than needed"
        );
        assert!(
            r.stderr.contains(drop.as_str()) && r.stderr.contains("AccessDenied"),
            "{drop}: {}",
            r.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn inline_and_managed_policy_drift_and_description() {
    let e = Env::new();
    std::fs::write(e.dir.path().join("extra.json"), r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}]}"#).unwrap();
    e.write(&format!(
        "{}  [[role.inline_policy]]\n  name = \"extra\"\n  file = \"extra.json\"\n",
        SITE.replace(
            "tags = { team = \"web\" }\n",
            "tags = { team = \"web\" }\ndescription = \"deploys the site\"\n"
        )
    ));
    expect(&e.run(&["apply", "--yes"]), 0);
    let iam = e.iam().await;
    iam.put_role_policy().role_name(ROLE).policy_name("extra").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#).send().await.unwrap();
    iam.update_role()
        .role_name(ROLE)
        .description("edited in the console")
        .send()
        .await
        .unwrap();
    let parn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/gha-site-s3-deploy");
    iam.detach_role_policy()
        .role_name(ROLE)
        .policy_arn(&parn)
        .send()
        .await
        .unwrap();
    iam.delete_policy().policy_arn(&parn).send().await.unwrap();
    let (code, j) = check(&e, &[]);
    assert_eq!(code, 2);
    let k = kinds(&j);
    for want in [
        ("inline_policy_changed", "high"),
        ("description_changed", "info"),
        ("policy_missing", "medium"),
        ("policy_detached", "medium"),
    ] {
        assert!(
            k.contains(&(want.0.to_string(), want.1.to_string())),
            "missing {want:?} in {k:?}"
        );
    }
    iam.delete_role_policy()
        .role_name(ROLE)
        .policy_name("extra")
        .send()
        .await
        .unwrap();
    let (_, j) = check(&e, &[]);
    assert!(
        has(&j, "inline_policy_missing", "medium"),
        "{:?}",
        kinds(&j)
    );
}

/// The reads check makes, per role and per policy: no tag listings (GetRole and GetPolicy return
/// tags), nothing read twice, and the account looked up once (the scale budget of issue 14).
#[test]
fn check_reads_each_role_and_policy_once() {
    let e = Env::new();
    let roles: String = (1..=5)
        .map(|i| {
            format!(
                "[[role]]\nname = \"gha-app-{i}\"\n  [[role.subject]]\n  repo = \"octo-org/app-{i}\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"s3-deploy\"\n  params = {{ bucket = \"octo-org-app-{i}\" }}\n"
            )
        })
        .collect();
    e.write(&roles);
    expect(&e.run(&["apply", "--yes"]), 0);
    let calls = |flags: &[&str]| {
        let (code, j) = check(&e, flags);
        assert_eq!((code, &j["in_sync"]), (0, &serde_json::json!(true)));
        e.kit
            .calls()
            .into_iter()
            .map(|((_, a), n)| (a, n))
            .collect::<std::collections::BTreeMap<String, u64>>()
    };
    let want = |list: &[(&str, u64)]| {
        list.iter()
            .map(|(a, n)| (a.to_string(), *n))
            .collect::<std::collections::BTreeMap<String, u64>>()
    };
    assert_eq!(
        calls(&["--reads", "per-role"]),
        want(&[
            ("GetCallerIdentity", 1),
            ("GetOpenIDConnectProvider", 1),
            ("GetRole", 5),
            ("ListRolePolicies", 5),
            ("ListAttachedRolePolicies", 5),
            ("GetPolicy", 5),
            ("GetPolicyVersion", 5),
            ("ListPolicyVersions", 5),
            // Roles outside the config that trust the provider (one page of up to 1,000 roles).
            ("ListRoles", 1),
        ])
    );
    // Five configured roles: `auto` reads the whole account, in five requests and two round
    // trips. The policies'
    // descriptions name their config, so no tag is read.
    assert_eq!(
        calls(&[]),
        want(&[
            ("GetCallerIdentity", 1),
            ("GetOpenIDConnectProvider", 1),
            ("ListRoles", 1),
            // Roles and policies as two streams of pages, side by side.
            ("GetAccountAuthorizationDetails", 2),
        ])
    );
}

/// Two roles of one config; the second is then taken out of keyless.toml.
const SITE_AND_API: &str = r#"
name = "octo-platform"
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-org-site" }
[[role]]
name = "gha-api"
  [[role.subject]]
  repo = "octo-org/api"
  branch = "main"
  [[role.preset]]
  name = "s3-read"
  params = { bucket = "octo-org-api" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_role_removed_from_the_config_is_planned_for_removal_unless_kept() {
    let e = Env::new();
    e.write(SITE_AND_API);
    expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
    let without_api = SITE_AND_API
        .split("[[role]]\nname = \"gha-api\"")
        .next()
        .unwrap();
    // Kept on purpose: a note, no change; check says so as information.
    e.write(&format!("keep_removed_roles = true\n{without_api}"));
    let r = e.run(&["plan", "--detailed-exitcode", "--no-github"]);
    expect(&r, 0);
    assert!(r.stderr.contains("keep_removed_roles"), "{}", r.stderr);
    let r = e.run(&["check", "--output", "json", "--no-github"]);
    expect(&r, 0);
    assert!(
        has(&r.json(), "removed_role", "info"),
        "{:?}",
        kinds(&r.json())
    );
    // Otherwise it is this config's role, planned for removal like Terraform does.
    e.write(without_api);
    let r = e.run(&["check", "--output", "json", "--no-github"]);
    expect(&r, 2);
    let j = r.json();
    assert!(has(&j, "removed_role", "medium"), "{:?}", kinds(&j));
    assert!(
        !kinds(&j).iter().any(|(k, _)| k == "extra_role"),
        "{:?}",
        kinds(&j)
    );
    let r = e.run(&["plan", "--output", "json", "--no-github"]);
    let j = r.json();
    let apis: Vec<(String, String)> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["api"].as_str().unwrap().to_string(),
                c["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        apis.iter()
            .any(|(a, addr)| a == "DeleteRole" && addr.contains("gha-api")),
        "{apis:?}"
    );
    assert!(apis.iter().any(|(a, _)| a == "DeletePolicy"), "{apis:?}");
    assert!(
        !apis.iter().any(|(_, addr)| addr.contains("gha-site")),
        "{apis:?}"
    );
    expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
    let iam = e.iam().await;
    assert!(iam.get_role().role_name("gha-api").send().await.is_err());
    assert!(iam.get_role().role_name("gha-site").send().await.is_ok());
    expect(&e.run(&["check", "--no-github"]), 0);
    // destroy then removes what is left, and nothing of another config.
    expect(&e.run(&["destroy", "--yes", "--no-github"]), 0);
    assert!(iam.get_role().role_name("gha-site").send().await.is_err());
    // A destroy with a role taken out of the config removes it too, and then the provider.
    e.write(SITE_AND_API);
    expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
    e.write(without_api);
    expect(&e.run(&["destroy", "--yes", "--no-github"]), 0);
    assert!(iam.get_role().role_name("gha-api").send().await.is_err());
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    assert!(
        providers.open_id_connect_provider_list().is_empty(),
        "{providers:?}"
    );
}
