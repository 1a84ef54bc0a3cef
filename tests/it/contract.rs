//! AWS's request contract: every request the kit receives, in every integration test, is checked
//! against AWS's own service models (botocore's, pinned in tests/outside-tools.sh; the kit's
//! `contract` module) and a violation fails the test that caused it. These tests prove the
//! checker refuses what AWS refuses, and drive the awkward inputs through the binary: names at
//! their limits, Unicode in descriptions and tags, paths, session lengths at both ends.

use std::collections::BTreeMap;

use keyless_testkit::contract::{form, models};

use crate::util::{Env, expect};

fn create_role(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = [
        ("Action", "CreateRole"),
        ("Version", "2010-05-08"),
        ("RoleName", "gha-site"),
        ("AssumeRolePolicyDocument", "{\"Version\":\"2012-10-17\"}"),
        ("Path", "/"),
        ("MaxSessionDuration", "3600"),
        ("Tags.member.1.Key", "managed-by"),
        ("Tags.member.1.Value", "keyless"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        if v.is_empty() && !k.ends_with("Value") {
            p.remove(*k);
        } else {
            p.insert(k.to_string(), v.to_string());
        }
    }
    p
}

#[test]
fn the_models_refuse_what_aws_refuses() {
    let m = models().unwrap();
    // Every pattern of the three models is checked but one look-ahead Rust's regex cannot run.
    let unchecked: Vec<_> = m
        .services
        .values()
        .flat_map(|s| s.unchecked_patterns())
        .collect();
    assert_eq!(unchecked, ["^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"]);
    let iam = &m.services["iam"];
    assert_eq!(iam.check_query(&create_role(&[])), Vec::<String>::new());
    let at_limits = create_role(&[
        ("RoleName", &"r".repeat(64)),
        ("Path", "/ci/deploy/"),
        ("MaxSessionDuration", "43200"),
        ("Description", "déploiement du site ¡olé! ÿ"),
        ("Tags.member.1.Key", &"k".repeat(128)),
        ("Tags.member.1.Value", "équipe 東京 web"),
    ]);
    assert_eq!(iam.check_query(&at_limits), Vec::<String>::new());
    for (bad, why) in [
        (("RoleName", "r".repeat(65)), "more than 64"),
        (("RoleName", "gha site".into()), "does not match"),
        (("Path", "/ci".into()), "does not match"),
        (("MaxSessionDuration", "43201".into()), "outside"),
        (("MaxSessionDuration", "3599".into()), "outside"),
        (("Description", "deploy 🚀".into()), "does not match"),
        (
            ("Description", "no-break\u{a0}space".into()),
            "does not match",
        ),
        (("Tags.member.1.Key", "k".repeat(129)), "more than 128"),
        (("Tags.member.1.Value", "हिंदी".into()), "does not match"),
        (("RoleName", String::new()), "required"),
        (("Colour", "blue".into()), "unknown parameter"),
    ] {
        let v = iam.check_query(&create_role(&[(bad.0, &bad.1)]));
        assert!(
            v.iter().any(|m| m.contains(why) && m.contains(bad.0)),
            "{bad:?}: {v:?}"
        );
    }
    // Query lists: `Name.member.N`, and `Name=` for an empty one.
    let provider = form(
        b"Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https%3A%2F%2Ftoken.actions.githubusercontent.com&ClientIDList.member.1=sts.amazonaws.com&ThumbprintList=",
        None,
    );
    assert_eq!(iam.check_query(&provider), Vec::<String>::new());
    // STS: session names of 2 to 64 characters.
    let sts = &m.services["sts"];
    let assume = |name: &str| {
        form(
            format!("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName={name}&WebIdentityToken=aaaa.bbbb.cccc").as_bytes(),
            None,
        )
    };
    assert!(sts.check_query(&assume("ab")).is_empty());
    assert!(sts.check_query(&assume(&"s".repeat(64))).is_empty());
    assert!(!sts.check_query(&assume("a")).is_empty());
    assert!(!sts.check_query(&assume(&"s".repeat(65))).is_empty());
    // Organizations speaks JSON.
    let org = &m.services["organizations"];
    let target = "AWSOrganizationsV20161128.ListAccountsForParent";
    assert!(
        org.check_json(target, br#"{"ParentId":"ou-ab12-cdefgh12"}"#)
            .is_empty()
    );
    let v = org.check_json(target, b"{}");
    assert!(
        v.iter().any(|m| m.contains("ParentId is required")),
        "{v:?}"
    );
    let v = org.check_json(target, br#"{"ParentId":"ou-ab12-cdefgh12","MaxResults":0}"#);
    assert!(v.iter().any(|m| m.contains("MaxResults")), "{v:?}");
}

#[test]
fn the_kit_refuses_a_request_that_breaks_the_contract_as_aws_would() {
    let e = Env::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(async {
        let iam = aws_sdk_iam::Client::new(&e.kit.sdk_config().await);
        iam.create_role()
            .role_name("r".repeat(65))
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap_err()
    });
    let text = format!("{:?}", err);
    assert!(text.contains("ValidationError"), "{text}");
    let v = e.kit.forgive_violations();
    assert!(v.len() == 1 && v[0].contains("RoleName"), "{v:?}");
    assert_eq!(e.kit.count("CreateRole"), 1);
}

const AWKWARD: &str = r#"account_id = "123456789012"
[[role]]
name = "NAME64"
path = "/ci/deploy/"
description = "déploiement ¡olé! — tabs	and Latin-1 ÿ"
max_session_duration = 43200
tags = { "KEY128" = "équipe 東京 web", "cost centre" = "" }
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-site" }
[[role]]
name = "gha-short"
max_session_duration = 3600
  [[role.subject]]
  repo = "octo-org/site"
  environment = "prod"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-site" }
  [[role.inline_policy]]
  name = "tagged"
  file = "tagged.json"
"#;

/// A policy whose condition holds characters IAM's model refuses in a document (above U+00FF):
/// keyless sends them as JSON escapes.
const TAGGED: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::octo-site/*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "東京 € 🚀"}}}]}"#;

#[test]
fn awkward_inputs_at_their_limits_reach_aws_within_its_contract() {
    let e = Env::new();
    let name = format!("gha-{}", "x".repeat(60));
    e.write(
        &AWKWARD
            .replace("NAME64", &name)
            .replace("KEY128", &"k".repeat(128))
            .replace('—', "-"),
    );
    std::fs::write(e.dir.path().join("tagged.json"), TAGGED).unwrap();
    expect(&e.run(&["apply", "--yes"]), 0);
    // The policy reads back as written, so a second plan and check see no change.
    let r = e.run(&["check"]);
    expect(&r, 0);
    expect(&e.run(&["apply", "--yes"]), 0);
    assert_eq!(e.kit.count("PutRolePolicy"), 1, "{:?}", e.kit.calls());
    expect(&e.run(&["destroy", "--yes"]), 0);
    let log = e.kit.contract();
    assert!(log.checked > 10 && log.violations.is_empty(), "{log:?}");
    assert!(e.kit.count("TagRole") + e.kit.count("CreateRole") >= 2);
}

#[test]
fn inputs_aws_would_refuse_are_refused_before_any_request() {
    for (from, to, key) in [
        ("NAME64", format!("gha-{}", "x".repeat(61)), "role[0].name"),
        ("/ci/deploy/", "/ci/deploy".into(), "role[0].path"),
        (
            "max_session_duration = 43200",
            "max_session_duration = 43201".into(),
            "role[0].max_session_duration",
        ),
        ("tabs", "🚀".into(), "role[0].description"),
        ("tabs", "no-break\u{a0}space".into(), "role[0].description"),
        ("KEY128", "k".repeat(129), "role[0].tags"),
        ("équipe 東京 web", "हिंदी".into(), "role[0].tags"),
    ] {
        let e = Env::new();
        std::fs::write(e.dir.path().join("tagged.json"), TAGGED).unwrap();
        let text = AWKWARD
            .replace(from, &to)
            .replace("NAME64", "gha-site")
            .replace("KEY128", "team");
        e.write(&text);
        let r = e.run(&["plan"]);
        expect(&r, 1);
        assert!(r.stderr.contains(key), "{from} -> {to}: {}", r.stderr);
        assert!(
            e.kit.calls().is_empty(),
            "nothing was sent: {:?}",
            e.kit.calls()
        );
    }
}
