//! Many accounts from one config: `[accounts]` with per-account values; plan, apply, check,
//! audit and destroy run in each member account through an assumed role (one requiring an
//! external ID), keep going when one account refuses the assume-role or throttles, report one
//! entry per account, and exit with the worst status.

use keyless_testkit::{Fault, FaultRule, Kit};

use crate::util::{Env, expect};

pub(crate) const A: &str = "111111111111";
pub(crate) const B: &str = "222222222222";
const REFUSES: &str = "333333333333";

fn config(ids: &[&str]) -> String {
    let bucket = |id: &str| match id {
        A => "octo-site-prod",
        B => "octo-site-dev",
        _ => "octo-site-test",
    };
    let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    let vars: String = ids
        .iter()
        .map(|i| format!("[accounts.vars.{i}]\nbucket = \"{}\"\n", bucket(i)))
        .collect();
    format!(
        r#"name = "platform"
[accounts]
ids = [{}]
external_id = "keyless-org-7"
{vars}
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = {{ bucket = "${{account.bucket}}" }}
"#,
        list.join(", ")
    )
}

/// Member accounts A and B hold the role keyless assumes (B's trust asks for the external ID);
/// REFUSES has none, so the assume-role is refused there.
pub(crate) fn org() -> Env {
    let e = Env {
        kit: Kit::start(),
        dir: tempfile::tempdir().unwrap(),
    };
    e.kit.add_account(A, "OrganizationAccountAccessRole", None);
    e.kit
        .add_account(B, "OrganizationAccountAccessRole", Some("keyless-org-7"));
    e.kit.add_account(REFUSES, "SomethingElse", None);
    e
}

fn entries(j: &serde_json::Value) -> Vec<(String, String)> {
    j["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account_id"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn each_account_gets_its_own_roles_and_one_failure_does_not_stop_the_others() {
    let e = org();
    e.write(&config(&[A, B, REFUSES]));
    let r = e.run(&["apply", "--yes", "--output", "json"]);
    assert_eq!(
        r.code, 1,
        "the worst status is the refused account's:\n{}",
        r.stderr
    );
    let j = r.json();
    assert_eq!(
        entries(&j),
        pairs(&[(A, "applied"), (B, "applied"), (REFUSES, "error")])
    );
    let refused = &j["accounts"][2]["error"];
    assert!(
        refused.as_str().unwrap().contains("AccessDenied")
            && refused.as_str().unwrap().contains("sts:AssumeRole"),
        "{refused}"
    );
    // Each account's plan was its own: its bucket in its policy, its account in every ARN.
    let plan_a = j["accounts"][0]["report"].to_string();
    assert!(plan_a.contains("octo-site-prod") && !plan_a.contains("octo-site-dev"));
    assert!(
        plan_a.contains(&format!("arn:aws:iam::{A}:policy/")),
        "{plan_a}"
    );
    let plan_b = j["accounts"][1]["report"].to_string();
    assert!(plan_b.contains("octo-site-dev") && plan_b.contains(&format!("arn:aws:iam::{B}:")));

    // The writes landed in the member accounts, not in the account keyless ran from.
    let home = e.iam().await;
    assert!(home.get_role().role_name("gha-site").send().await.is_err());
    assert_eq!(e.kit.count("AssumeRole"), 3);

    // Now in sync in A and B: check says so per account; plan has nothing left to do there.
    e.write(&config(&[A, B]));
    let r = e.run(&["check", "--output", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(entries(&r.json()), pairs(&[(A, "ok"), (B, "ok")]));
    let r = e.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!("{A}  ok")), "{}", r.stdout);
    // Under GitHub Actions: each account's annotations, titled with it, and one step summary.
    let summary = e.dir.path().join("summary.md");
    let mut env = e.kit.env();
    env.push(("GITHUB_ACTIONS", "true".into()));
    env.push(("GITHUB_STEP_SUMMARY", summary.display().to_string()));
    let r = crate::util::keyless_in(e.dir.path(), &["check"], &env, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for id in [A, B] {
        assert!(
            r.stdout
                .contains(&format!("::notice title=account {id} keyless check::")),
            "{}",
            r.stdout
        );
    }
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| account | status | summary |") && md.contains(&format!("| {B} | ok |")),
        "{md}"
    );

    // B throttles every assume-role: A is still checked, B fails alone, the run exits 1.
    e.kit
        .inject(FaultRule::action("AssumeRole", Fault::throttling(), u64::MAX).containing(B));
    let r = e.run(&["check", "--output", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(entries(&j), pairs(&[(A, "ok"), (B, "error")]));
    assert!(
        j["accounts"][1]["error"]
            .as_str()
            .unwrap()
            .contains("Throttling"),
        "{}",
        j["accounts"][1]["error"]
    );
    e.kit.clear_faults();

    // audit runs in each account too; destroy removes what each account holds.
    let r = e.run(&["audit", "--output", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(entries(&r.json()), pairs(&[(A, "ok"), (B, "ok")]));
    let r = e.run(&["destroy", "--yes", "--output", "json"]);
    expect(&r, 0);
    assert_eq!(entries(&r.json()), pairs(&[(A, "applied"), (B, "applied")]));
    let r = e.run(&["plan", "--output", "json"]);
    let j = r.json();
    for a in j["accounts"].as_array().unwrap() {
        assert_eq!(
            a["status"], "changes",
            "after destroy, apply would create again: {a}"
        );
    }
}

#[test]
fn a_partition_pin_is_checked_in_each_account() {
    let e = org();
    e.write(&config(&[A, B]).replace(
        "name = \"platform\"\n",
        "name = \"platform\"\npartition = \"aws-cn\"\n",
    ));
    let r = e.run(&["check", "--output", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(entries(&j), pairs(&[(A, "error"), (B, "error")]));
    assert!(
        j["accounts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("pinned to partition aws-cn"),
        "{j}"
    );
}

#[test]
fn an_unknown_account_variable_names_the_variable_the_account_and_the_fix() {
    let e = org();
    e.write(&config(&[A, B]).replace("account.bucket", "account.bukket"));
    let r = e.run(&["plan"]);
    expect(&r, 1);
    assert!(
        r.stderr
            .contains("no variable bukket for account 111111111111")
            && r.stderr.contains("[accounts.vars.111111111111]"),
        "{}",
        r.stderr
    );
}

/// A new organizational unit under `parent`; its ID.
async fn create_unit(orgs: &aws_sdk_organizations::Client, parent: &str, name: &str) -> String {
    orgs.create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .unwrap()
        .organizational_unit()
        .unwrap()
        .id()
        .unwrap()
        .to_string()
}

/// `organizational_units`: the accounts AWS Organizations lists in a unit, and in the units
/// nested in it, are targets too, each once, beside the listed `ids`.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_accounts_of_an_organizational_unit_are_targets_too() {
    use aws_sdk_organizations::types::{CreateAccountState, OrganizationFeatureSet};
    let e = org();
    let conf = e.kit.sdk_config().await;
    let orgs = aws_sdk_organizations::Client::new(&conf);
    orgs.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let roots = orgs.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_string();
    let ou = create_unit(&orgs, &root, "workloads").await;
    // A unit nested in it: its accounts count too.
    let nested = create_unit(&orgs, &ou, "team-a").await;
    let mut members = Vec::new();
    for (name, unit) in [("svc-one", &ou), ("svc-two", &nested)] {
        let created = orgs
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .unwrap();
        let request = created
            .create_account_status()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let id = loop {
            let st = orgs
                .describe_create_account_status()
                .create_account_request_id(&request)
                .send()
                .await
                .unwrap();
            let st = st.create_account_status().unwrap();
            if st.state() == Some(&CreateAccountState::Succeeded) {
                break st.account_id().unwrap().to_string();
            }
            assert!(std::time::Instant::now() < deadline, "{st:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        // fakecloud answers MoveAccount with `null`, which the SDK cannot parse: the move
        // itself is checked below through the listing.
        let _ = orgs
            .move_account()
            .account_id(&id)
            .source_parent_id(&root)
            .destination_parent_id(unit)
            .send()
            .await;
        e.kit
            .add_account(&id, "OrganizationAccountAccessRole", None);
        members.push(id);
    }
    let listed = orgs
        .list_accounts_for_parent()
        .parent_id(&ou)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.accounts().len(),
        1,
        "one directly, one nested: {listed:?}"
    );
    e.write(
        &config(&[A])
            .replace(
                "ids = [\"111111111111\"]",
                &format!("ids = [\"{A}\"]\norganizational_units = [\"{ou}\"]"),
            )
            .replace("${account.bucket}", "octo-site-${account.id}"),
    );
    let r = e.run(&["apply", "--yes", "--output", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    members.sort();
    let mut want = vec![(A.to_string(), "applied".to_string())];
    want.extend(members.iter().map(|m| (m.clone(), "applied".to_string())));
    assert_eq!(entries(&j), want);
    assert!(
        j["accounts"][1]["report"]
            .to_string()
            .contains(&format!("octo-site-{}", members[0]))
    );
}

#[test]
fn a_variable_stays_one_string_and_each_accounts_view_can_be_rendered() {
    let e = org();
    // A value crafted to close the string and add a trusted repository, were it pasted as text.
    let note =
        r#"dev\"\n  [[role.subject]]\n  repo = \"evil-org/anything\"\n  branch = \"main\"\n#"#;
    e.write(&format!(
        r#"name = "platform"
[accounts]
ids = ["{A}", "{B}"]
external_id = "keyless-org-7"
[accounts.vars.{A}]
note = "prod"
[accounts.vars.{B}]
note = "{note}"

[[role]]
name = "gha-site"
description = "site deploy ${{account.note}}"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-read"
  params = {{ bucket = "octo-site" }}
"#
    ));
    let r = e.run(&["plan", "--output", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    for entry in j["accounts"].as_array().unwrap() {
        let trust = entry["report"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["api"] == "CreateRole")
            .map(|c| c["change"]["trust_policy"].to_string())
            .unwrap_or_else(|| panic!("{entry}"));
        assert!(!trust.contains("evil-org"), "{trust}");
        assert!(trust.contains("octo-org/site"), "{trust}");
        let subjects = entry["report"]["roles"][0]["subjects"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(subjects, 1, "{entry}");
    }
    // Each account's view, offline: B's description holds the value as written, one string.
    let r = e.run(&["render", "--account-id", B, "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r.stdout.clone();
    assert!(!text.contains("evil-org/anything\","), "{text}");
    let trust = r.json()["roles"][0]["trust_policy"].to_string();
    assert!(!trust.contains("evil-org"), "{trust}");
    assert!(trust.contains("octo-org/site"), "{trust}");
    let r = e.run(&["render", "--account-id", A, "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("site deploy prod"), "{}", r.stdout);
}
