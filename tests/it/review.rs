//! What a reviewer sees before apply, and presets that grant only what the job needs.

use crate::apply::SITE;
use crate::util::{Env, example, expect, keyless};

fn policy_of(rendered: &serde_json::Value, role: &str, preset: &str) -> serde_json::Value {
    let role = rendered["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == role)
        .unwrap();
    role["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"].as_str().unwrap_or("").contains(preset))
        .unwrap_or_else(|| panic!("{preset} in {role}"))["document"]
        .clone()
}

/// Every (action, resource) pair an Allow statement grants.
fn grants(doc: &serde_json::Value) -> Vec<(String, String)> {
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => vec![],
        }
    };
    let mut out = Vec::new();
    for st in doc["Statement"].as_array().unwrap() {
        for a in list(&st["Action"]) {
            for r in list(&st["Resource"]) {
                out.push((a.clone(), r));
            }
        }
    }
    out
}

#[test]
fn the_plan_role_reads_the_state_and_takes_the_lock_but_cannot_write_the_state() {
    let r = keyless(&[
        "render",
        "-c",
        &example("multi-role.toml"),
        "--output",
        "json",
    ]);
    expect(&r, 0);
    let j = r.json();
    let plan = grants(&policy_of(&j, "gha-infra-plan", "terraform-state"));
    let state = "arn:aws:s3:::octo-org-tf-state/prod/terraform.tfstate";
    assert!(plan.contains(&("s3:GetObject".into(), state.into())));
    assert!(plan.contains(&("s3:PutObject".into(), format!("{state}.tflock"))));
    assert!(
        !plan.iter().any(|(a, r)| r == state && a != "s3:GetObject"),
        "{plan:?}"
    );
    let apply = grants(&policy_of(&j, "gha-infra-apply", "terraform-state"));
    assert!(apply.contains(&("s3:PutObject".into(), state.into())));
    // A value outside the choices is a config error naming the key, the value and the choices.
    let e = Env::new();
    e.write(&SITE.replace(
        "name = \"s3-deploy\"\n  params = { bucket = \"octo-org-site\" }",
        "name = \"terraform-state\"\n  params = { bucket = \"b-state\", key = \"k\", access = \"write-only\" }",
    ));
    let r = e.run(&["lint"]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("params.access")
            && r.stderr.contains("write-only")
            && r.stderr.contains("read-write, read-only"),
        "{}",
        r.stderr
    );
}

#[test]
fn cloudformation_goes_through_change_sets_unless_direct_is_asked_for() {
    let e = Env::new();
    let cfg = |mode: &str| {
        SITE.replace(
            "name = \"s3-deploy\"\n  params = { bucket = \"octo-org-site\" }",
            &format!("name = \"cloudformation-deploy\"\n  params = {{ stack = \"web\"{mode} }}"),
        )
    };
    e.write(&format!(
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\n{}",
        cfg("")
    ));
    let r = e.run(&["render", "--output", "json"]);
    expect(&r, 0);
    let g = grants(&policy_of(&r.json(), "gha-site", "cloudformation-deploy"));
    assert!(
        g.iter()
            .any(|(a, _)| a == "cloudformation:ExecuteChangeSet")
    );
    assert!(
        !g.iter()
            .any(|(a, _)| a == "cloudformation:CreateStack" || a == "cloudformation:UpdateStack")
    );
    assert!(!g.iter().any(|(_, r)| r.contains(":changeSet/")), "{g:?}");
    e.write(&format!(
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\n{}",
        cfg(", mode = \"direct\"")
    ));
    let r = e.run(&["render", "--output", "json"]);
    expect(&r, 0);
    let g = grants(&policy_of(&r.json(), "gha-site", "cloudformation-deploy"));
    assert!(g.iter().any(|(a, _)| a == "cloudformation:UpdateStack"));
}

#[test]
fn plan_and_apply_show_what_each_new_role_trusts_and_may_do_and_the_findings_that_do_not_block() {
    let e = Env::new();
    e.write(SITE);
    let r = e.run(&["plan"]);
    expect(&r, 0);
    assert!(
        r.stdout.contains("role gha-site")
            && r.stdout
                .contains("trusts repo:octo-org/site:ref:refs/heads/main")
            && r.stdout
                .contains("may managed policy gha-site-s3-deploy: s3:"),
        "{}",
        r.stdout
    );
    // The classic (names-only) subject earns a finding that does not block: shown at plan and
    // at apply, not only by init.
    assert!(
        r.stderr.contains("do not block") && r.stderr.contains("KL018"),
        "{}",
        r.stderr
    );
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 0);
    assert!(
        r.stderr.contains("do not block") && r.stderr.contains("KL018"),
        "{}",
        r.stderr
    );
    let j = e.run(&["plan", "--output", "json"]).json();
    assert_eq!(
        j["roles"],
        serde_json::json!([]),
        "nothing changes, nothing to review"
    );
    assert!(
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "KL018")
    );
}
