//! keyless usage and tighten, end to end through the binary against the kit's IAM last-accessed
//! data and CloudTrail event history (with the kit's 2-requests-per-second pace and throttling),
//! and a trail directory written as a trail delivers it.

use keyless_testkit::usage::{ServiceUse, TrailEvent, trail_file};
use keyless_testkit::{ACCOUNT_ID, Fault, FaultRule};
use serde_json::Value;

use crate::apply::SITE;
use crate::util::{Env, expect};

const ROLE: &str = "gha-site";

fn role_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}")
}

fn applied(config: &str) -> Env {
    let e = Env::new();
    e.write(config);
    expect(&e.run(&["apply", "--yes"]), 0);
    e.kit.reset_counts();
    e
}

/// A trail directory holding `events` as one delivered log file.
fn trail(e: &Env, events: &[TrailEvent]) -> String {
    let dir = e.dir.path().join(format!(
        "trail/AWSLogs/{ACCOUNT_ID}/CloudTrail/us-east-1/2026/12/01"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("log_1.json.gz"), trail_file(events)).unwrap();
    e.dir.path().join("trail").display().to_string()
}

fn put(key: &str) -> TrailEvent {
    TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "PutObject")
        .request(serde_json::json!({"bucketName": "octo-org-site", "key": key}))
        .data_event()
        .days_ago(2)
}

fn rows(j: &Value, principal: usize) -> Vec<(String, String)> {
    j["principals"][principal]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status(j: &Value, action: &str) -> String {
    rows(j, 0)
        .into_iter()
        .find(|(a, _)| a == action)
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("{action} not in {j}"))
}

#[test]
fn a_deploy_role_that_only_put_objects_under_one_prefix_is_tightened_to_exactly_that() {
    let e = applied(SITE);
    e.kit
        .usage()
        .set_services(&role_arn(), vec![ServiceUse::used("s3", 2)]);
    let dir = trail(&e, &[put("site/index.html"), put("site/css/app.css")]);
    let before = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();

    // Shown, not written: exit 2 (changes), the config untouched.
    let r = e.run(&[
        "tighten",
        "--cloudtrail",
        &dir,
        "--min-days",
        "0",
        "--output",
        "json",
    ]);
    expect(&r, 2);
    let j = r.json();
    let role = &j["roles"][0];
    assert_eq!(role["outcome"], "proposed", "{j}");
    let doc = &role["change"]["document"];
    assert_eq!(
        doc["Statement"],
        serde_json::json!([{"Sid": "Used1", "Effect": "Allow", "Action": ["s3:PutObject"],
            "Resource": ["arn:aws:s3:::octo-org-site/site/*"]}]),
        "{j}"
    );
    let removed: Vec<&str> = role["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["s3:DeleteObject", "s3:ListBucket"], "{j}");
    assert!(j["findings"].as_array().unwrap().is_empty(), "lint: {j}");
    assert!(j["plan"].as_str().unwrap().contains("used"), "{j}");
    assert_eq!(
        std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap(),
        before
    );
    assert!(
        e.writes()
            .iter()
            .all(|w| w.starts_with("Generate") || w.starts_with("LookupEvents")),
        "{:?}",
        e.writes()
    );

    // Written: the preset replaced by the inline policy file, comments elsewhere kept.
    let r = e.run(&[
        "tighten",
        "--cloudtrail",
        &dir,
        "--min-days",
        "0",
        "--write",
    ]);
    expect(&r, 0);
    let text = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(!text.contains("s3-deploy"), "{text}");
    assert!(text.contains("policies/gha-site.used.json"), "{text}");
    assert!(text.contains("repo = \"octo-org/site\""), "{text}");
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(e.dir.path().join("policies/gha-site.used.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(policy["Statement"][0]["Action"][0], "s3:PutObject");

    // And it applies: the role carries the used policy, nothing else.
    expect(&e.run(&["apply", "--yes"]), 0);
    let again = e.run(&["plan", "--detailed-exitcode"]);
    expect(&again, 0);
    let lint = e.run(&["lint"]);
    expect(&lint, 0);
}

#[test]
fn a_preset_is_narrowed_instead_when_every_action_it_grants_was_used_under_one_prefix() {
    let e = applied(SITE);
    let list = TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "ListObjects")
        .request(serde_json::json!({"bucketName": "octo-org-site", "prefix": "site/"}))
        .data_event()
        .days_ago(1);
    let delete = TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "DeleteObject")
        .request(serde_json::json!({"bucketName": "octo-org-site", "key": "site/old.html"}))
        .data_event()
        .days_ago(3);
    let dir = trail(&e, &[put("site/index.html"), delete, list]);
    let r = e.run(&[
        "tighten",
        "--cloudtrail",
        &dir,
        "--min-days",
        "0",
        "--output",
        "json",
    ]);
    expect(&r, 2);
    let j = r.json();
    assert_eq!(
        j["roles"][0]["change"],
        serde_json::json!({"kind": "narrow_preset", "index": 0, "preset": "s3-deploy",
            "param": "prefix", "value": "site/"}),
        "{j}"
    );
    assert!(
        j["diff"].as_str().unwrap().contains("prefix = \"site/\""),
        "{j}"
    );
}

#[test]
fn a_role_that_called_nothing_is_refused_not_given_an_empty_policy() {
    let e = applied(SITE);
    let r = e.run(&["tighten", "--min-days", "0", "--output", "json"]);
    expect(&r, 0);
    let j = r.json();
    assert_eq!(j["roles"][0]["outcome"], "refused", "{j}");
    assert!(
        j["roles"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no recorded use"),
        "{j}"
    );
    assert_eq!(j["diff"], "");
    // A role younger than the minimum window is refused by default, naming the flag.
    e.kit
        .usage()
        .set_services(&role_arn(), vec![ServiceUse::used("s3", 0)]);
    let r = e.run(&["tighten", "--output", "json"]);
    expect(&r, 0);
    let reason = r.json()["roles"][0]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("--min-days"), "{reason}");
}

#[test]
fn usage_maps_events_to_the_actions_that_authorise_them_and_splits_one_stream_by_principal() {
    let e = applied(SITE);
    let other = format!("arn:aws:iam::{ACCOUNT_ID}:role/someone-else");
    e.kit.usage().add_events([
        // A bucket-level call: a management event, in event history.
        TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "GetBucketLocation")
            .request(serde_json::json!({"bucketName": "octo-org-site"}))
            .days_ago(5),
        TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "NoSuchCall").days_ago(5),
        TrailEvent::by_role(&role_arn(), "sts.amazonaws.com", "GetCallerIdentity").days_ago(1),
        TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "DeleteBucket")
            .request(serde_json::json!({"bucketName": "octo-org-site"}))
            .failed("AccessDenied")
            .days_ago(4),
        // Another principal's call: not this role's use.
        TrailEvent::by_role(&other, "s3.amazonaws.com", "GetBucketPolicy").days_ago(1),
        // Older than the window.
        TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "GetBucketTagging").days_ago(120),
    ]);
    // An object listing is a data event: only the trail has it (ListObjects authorised by
    // s3:ListBucket).
    let dir = trail(
        &e,
        &[
            TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "ListObjects")
                .request(serde_json::json!({"bucketName": "octo-org-site"}))
                .data_event()
                .days_ago(5),
        ],
    );
    let r = e.run(&["usage", "--days", "60", "--output", "json"]);
    expect(&r, 0);
    let j = r.json();
    assert_eq!(j["format_version"], 1);
    // Without the trail, object calls and listings are beyond the records.
    assert_eq!(status(&j, "s3:ListBucket"), "unknown", "{j}");
    assert_eq!(status(&j, "s3:PutObject"), "unknown", "{j}");
    assert_eq!(status(&j, "s3:GetBucketLocation"), "used", "{j}");
    let granted = j["principals"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "s3:GetBucketLocation")
        .unwrap()["granted"]
        .clone();
    assert_eq!(granted, false, "used but not in the grant: {j}");
    let with_trail = e.run(&[
        "usage",
        "--days",
        "60",
        "--output",
        "json",
        "--cloudtrail",
        &dir,
    ]);
    expect(&with_trail, 0);
    let t = with_trail.json();
    assert_eq!(status(&t, "s3:ListBucket"), "used", "{t}");
    assert_eq!(status(&t, "s3:DeleteObject"), "unused", "{t}");
    let p = &j["principals"][0];
    assert_eq!(p["unmapped"]["s3.amazonaws.com NoSuchCall"], 1, "{j}");
    assert_eq!(p["denied"]["s3:DeleteBucket"], 1, "{j}");
    assert_eq!(
        p["needs_no_permission"][0],
        "sts.amazonaws.com GetCallerIdentity"
    );
    assert!(
        !rows(&j, 0)
            .iter()
            .any(|(a, _)| a == "s3:GetBucketPolicy" || a == "s3:GetBucketTagging"),
        "{j}"
    );
    assert!(
        p["cannot_show"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("--cloudtrail")),
        "{j}"
    );
    // One stream for the Region, read once: not one scan per role.
    assert_eq!(j["read"]["lookups"], 1, "{j}");
    assert_eq!(e.kit.count("GenerateServiceLastAccessedDetails"), 2);
    assert!(
        e.writes()
            .iter()
            .all(|w| w.starts_with("Generate") || w.starts_with("LookupEvents")),
        "{:?}",
        e.writes()
    );
    // The human view says the same.
    let h = e.run(&["usage", "--days", "60"]);
    expect(&h, 0);
    assert!(h.stdout.contains("s3:GetBucketLocation"), "{}", h.stdout);
}

#[test]
fn event_history_is_paced_and_a_throttled_lookup_converges() {
    let e = applied(SITE);
    // 180 events: four pages at 50, read at the documented 2 requests per second.
    let t0 = 1_700_000_000i64.max(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 86_400,
    );
    e.kit.usage().add_events((0..180).map(|i| {
        TrailEvent::by_role(&role_arn(), "s3.amazonaws.com", "GetBucketLocation")
            .request(serde_json::json!({"bucketName": "octo-org-site"}))
            .at(t0 - i)
    }));
    // And twice AWS says slow down.
    e.kit.inject(FaultRule::action(
        "LookupEvents",
        Fault::Error {
            status: 400,
            code: "ThrottlingException",
        },
        2,
    ));
    let r = e.run(&["usage", "--output", "json", "--no-last-accessed"]);
    expect(&r, 0);
    let j = r.json();
    assert_eq!(j["read"]["events"], 180, "{j}");
    assert_eq!(j["read"]["throttled"], 2, "{j}");
    assert_eq!(j["read"]["lookups"], 6, "{j}");
    // keyless's own pace kept it inside the kit's 2 per second: no throttling from pace.
    assert_eq!(e.kit.usage().throttled(), 0);
    assert_eq!(status(&j, "s3:GetBucketLocation"), "used", "{j}");
    let list_bucket = j["principals"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "s3:GetBucketLocation")
        .unwrap();
    assert_eq!(list_bucket["calls"], 180, "{j}");
}

#[test]
fn usage_of_an_iam_user_by_arn_reads_its_grant_and_its_own_events() {
    let e = Env::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let iam = e.iam().await;
        iam.create_user().user_name("deploy").send().await.unwrap();
        iam.put_user_policy()
            .user_name("deploy")
            .policy_name("deploy")
            .policy_document(
                serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": ["s3:GetBucketLocation", "s3:GetBucketTagging"], "Resource": "arn:aws:s3:::b"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
    });
    e.kit.usage().add_events([
        TrailEvent::by_user(
            "deploy",
            "AKIAKITDEPLOY0000001",
            "s3.amazonaws.com",
            "GetBucketLocation",
        )
        .request(serde_json::json!({"bucketName": "b"}))
        .days_ago(3),
        TrailEvent::by_user(
            "other",
            "AKIAKITOTHER00000001",
            "s3.amazonaws.com",
            "GetBucketTagging",
        )
        .request(serde_json::json!({"bucketName": "b"}))
        .days_ago(3),
    ]);
    let arn = format!("arn:aws:iam::{ACCOUNT_ID}:user/deploy");
    let r = e.run(&["usage", "--arn", &arn, "--output", "json"]);
    expect(&r, 0);
    let j = r.json();
    assert_eq!(status(&j, "s3:GetBucketLocation"), "used", "{j}");
    assert_eq!(status(&j, "s3:GetBucketTagging"), "unused", "{j}");
    // A user's events are looked up by its name, not by reading every event.
    assert!(e.kit.count("LookupEvents") >= 1);
}

const LAMBDA: &str = r#"
[[role]]
name = "gha-api"
  [[role.subject]]
  repo = "octo-org/api"
  branch = "main"
  [[role.preset]]
  name = "lambda-deploy"
  params = { function = "api", region = "us-east-1" }
"#;

fn api_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/gha-api")
}

/// A Lambda deploy role that only updated code and read the function (management events, in
/// event history): check --usage reports the rest unused, tighten keeps exactly those two.
#[test]
fn check_usage_reports_unused_actions_and_tighten_keeps_the_used_ones() {
    let e = applied(LAMBDA);
    e.kit
        .usage()
        .set_services(&api_arn(), vec![ServiceUse::used("lambda", 1)]);
    e.kit.usage().add_events([
        TrailEvent::by_role(
            &api_arn(),
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
        )
        .request(serde_json::json!({"functionName": "api"}))
        .days_ago(1),
        TrailEvent::by_role(&api_arn(), "lambda.amazonaws.com", "GetFunction20150331v2")
            .request(serde_json::json!({"functionName": "api"}))
            .days_ago(2),
    ]);
    // Without --usage, in sync.
    expect(&e.run(&["check"]), 0);
    let r = e.run(&["check", "--usage", "--output", "json"]);
    expect(&r, 2);
    let j = r.json();
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "unused_permission")
        .unwrap_or_else(|| panic!("{j}"));
    assert_eq!(f["severity"], "low");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("lambda:PublishVersion") && m.contains("lambda:GetFunctionConfiguration"),
        "{m}"
    );
    assert!(!m.contains("lambda:UpdateFunctionCode"), "{m}");
    // The fix names tighten.
    let human = e.run(&["check", "--usage"]);
    assert!(
        human.stdout.contains("keyless tighten") || human.stderr.contains("keyless tighten"),
        "{}{}",
        human.stdout,
        human.stderr
    );

    let r = e.run(&["tighten", "--min-days", "0", "--output", "json"]);
    expect(&r, 2);
    let j = r.json();
    let st = &j["roles"][0]["change"]["document"]["Statement"][0];
    assert_eq!(
        st["Action"],
        serde_json::json!(["lambda:GetFunction", "lambda:UpdateFunctionCode"]),
        "{j}"
    );
    assert_eq!(
        st["Resource"],
        serde_json::json!([
            format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:api"),
            format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:api:*")
        ]),
        "{j}"
    );
    assert!(j["findings"].as_array().unwrap().is_empty(), "{j}");
}

/// A hand-made GitHub role with `Action: "*"` that only ever read one function: audit --usage
/// says its grant is far wider than its use (KA008), with tighten as the fix; without --usage,
/// no records are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn audit_usage_flags_a_hand_made_role_granted_far_more_than_it_used() {
    let e = Env::new();
    crate::audit::github_roles(
        &e,
        &[(
            "legacy-admin",
            serde_json::json!("repo:octo-org/x:ref:refs/heads/main"),
        )],
    )
    .await;
    let iam = e.iam().await;
    iam.put_role_policy()
        .role_name("legacy-admin")
        .policy_name("all")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:iam::{ACCOUNT_ID}:role/legacy-admin");
    e.kit
        .usage()
        .set_services(&arn, vec![ServiceUse::used("lambda", 2)]);
    e.kit.usage().add_events([TrailEvent::by_role(
        &arn,
        "lambda.amazonaws.com",
        "GetFunction20150331v2",
    )
    .days_ago(2)]);
    let r = e.run(&["audit", "--output", "json"]);
    assert!(!r.stdout.contains("KA008"), "{}", r.stdout);
    assert_eq!(e.kit.count("LookupEvents"), 0);
    let r = e.run(&["audit", "--usage", "--output", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let j = r.json();
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "KA008")
        .unwrap_or_else(|| panic!("{j}"));
    assert_eq!(f["role"], "legacy-admin");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("lambda:GetFunction"),
        "{f}"
    );
}

/// The trust map of `usage --html`: the service the role used drawn solid, the one it never
/// used faint, with a legend saying so.
#[test]
fn the_usage_map_draws_used_permissions_solid_and_unused_ones_faint() {
    let config = format!(
        "{LAMBDA}  [[role.preset]]\n  name = \"s3-read\"\n  params = {{ bucket = \"octo-org-data\" }}\n"
    );
    let e = applied(&config);
    e.kit.usage().set_services(
        &api_arn(),
        vec![ServiceUse::used("lambda", 1), ServiceUse::unused("s3")],
    );
    e.kit.usage().add_events([TrailEvent::by_role(
        &api_arn(),
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
    )
    .days_ago(1)]);
    let html = e.dir.path().join("usage.html");
    let r = e.run(&["usage", "--html", html.to_str().unwrap()]);
    expect(&r, 0);
    let page = std::fs::read_to_string(&html).unwrap();
    let chip = |service: &str| {
        page.split("<div class=\"chip cap ")
            .find(|c| c.contains(&format!("title=\"{service}:")))
            .map(|c| c.split('"').next().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no {service} chip"))
    };
    assert!(chip("lambda").contains("use-used"), "{}", chip("lambda"));
    assert!(chip("s3").contains("use-unused"), "{}", chip("s3"));
    assert!(page.contains("granted, unused in the window"));
}

/// Without a config, usage says how to name a principal instead.
#[test]
fn usage_without_a_config_names_arn() {
    let r = crate::util::keyless(&["usage"]);
    expect(&r, 1);
    assert!(r.stderr.contains("--arn ARN"), "{}", r.stderr);
}

/// A role by `--arn`: its grant read from IAM (the preset's managed policy), with one GetRole.
#[test]
fn usage_of_a_role_by_arn_reads_its_live_grant_with_one_get_role() {
    let e = applied(SITE);
    let r = e.run(&[
        "usage",
        "--arn",
        &role_arn(),
        "--output",
        "json",
        "--no-github",
    ]);
    expect(&r, 0);
    let j = r.json();
    assert_eq!(j["principals"][0]["exists"], true, "{j}");
    assert!(rows(&j, 0).iter().any(|(a, _)| a == "s3:PutObject"), "{j}");
    assert_eq!(e.kit.count("GetRole"), 1, "{:?}", e.kit.calls());
}
