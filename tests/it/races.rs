//! Two runs at once against one account: an "already exists" answer is never success by itself,
//! apply reads the account back after its writes, and destroy looks again before it deletes the
//! shared provider. Each race is run many times, with the kit's latency, and the invariant is
//! asserted every time.

use std::time::Duration;

use crate::util::{Env, Run, keyless_in};

/// A config named `name` with role `role` trusting `repo` on main, with preset `preset` on
/// `bucket` under the managed policy `policy`.
fn config(name: &str, role: &str, repo: &str, preset: &str, policy: &str) -> String {
    format!(
        r#"name = "{name}"
[[role]]
name = "{role}"
  [[role.subject]]
  repo = "{repo}"
  branch = "main"
  [[role.preset]]
  name = "{preset}"
  policy_name = "{policy}"
  params = {{ bucket = "x-bucket" }}
"#
    )
}

/// Run `args` with config `a` and with config `b` at the same moment.
fn both(e: &Env, a: &[&str], b: &[&str]) -> (Run, Run) {
    let env = e.kit.env();
    let dir = e.dir.path().to_path_buf();
    std::thread::scope(|s| {
        let (env_a, dir_a) = (env.clone(), dir.clone());
        let first = s.spawn(move || keyless_in(&dir_a, a, &env_a, None));
        let second = s.spawn(move || keyless_in(&dir, b, &env, None));
        (first.join().unwrap(), second.join().unwrap())
    })
}

/// Who owns `role` (its keyless:config tag), its trust and the configs of its attached policies.
async fn role_state(e: &Env, role: &str) -> Option<(String, String, Vec<String>)> {
    let iam = e.admin_iam().await;
    let r = iam.get_role().role_name(role).send().await.ok()?.role?;
    let owner = r
        .tags()
        .iter()
        .find(|t| t.key() == "keyless:config")
        .map(|t| t.value().to_string())
        .unwrap_or_default();
    let trust = percent_encoding::percent_decode_str(r.assume_role_policy_document().unwrap_or(""))
        .decode_utf8_lossy()
        .into_owned();
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let mut configs = Vec::new();
    for p in attached.attached_policies() {
        let arn = p.policy_arn().unwrap();
        let pol = iam.get_policy().policy_arn(arn).send().await.unwrap();
        let description = pol
            .policy()
            .and_then(|p| p.description())
            .unwrap_or_default()
            .to_string();
        configs.push(description);
    }
    Some((owner, trust, configs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_configs_applied_at_once_never_share_a_role_or_a_policy() {
    for round in 0..6 {
        let e = Env::new();
        e.kit
            .set_latency(Duration::from_millis(if round % 2 == 0 { 0 } else { 30 }));
        // Rounds 0-3: one role name; rounds 4-5: different roles, one managed policy name.
        let (role_b, policy) = if round < 4 {
            ("gha-shared-name", "x-deploy")
        } else {
            ("gha-other-name", "x-shared-policy")
        };
        let a = config(
            "team-x1",
            "gha-shared-name",
            "octo-org/x1",
            "s3-deploy",
            policy,
        );
        let b = config("team-x2", role_b, "evil-org/x2", "s3-read", policy);
        std::fs::write(e.dir.path().join("a.toml"), a).unwrap();
        std::fs::write(e.dir.path().join("b.toml"), b).unwrap();
        let (ra, rb) = both(
            &e,
            &["-c", "a.toml", "apply", "--yes", "--no-github"],
            &["-c", "b.toml", "apply", "--yes", "--no-github"],
        );
        assert!(
            !(ra.code == 0 && rb.code == 0),
            "round {round}: both applies succeeded\nA: {}\nB: {}",
            ra.stderr,
            rb.stderr
        );
        assert!(
            ra.code == 0
                || rb.code == 0
                || ra.stderr.contains("appeared since the plan")
                || rb.stderr.contains("appeared since the plan")
                || ra.stderr.contains("belongs to")
                || rb.stderr.contains("belongs to"),
            "round {round}: the loser names the owner\nA: {}\nB: {}",
            ra.stderr,
            rb.stderr
        );
        for role in ["gha-shared-name", role_b] {
            let Some((owner, trust, policies)) = role_state(&e, role).await else {
                continue;
            };
            let repo = if owner == "team-x1" {
                "octo-org/x1"
            } else {
                "evil-org/x2"
            };
            assert!(
                owner == "team-x1" || owner == "team-x2",
                "round {round}: {role} owner {owner:?}"
            );
            assert!(
                trust.contains(repo),
                "round {round}: {role} of {owner} trusts {trust}"
            );
            for p in &policies {
                assert!(
                    p.ends_with(&format!("config {owner}")),
                    "round {round}: {role} of {owner} carries a policy of another config: {p}"
                );
            }
        }
        // Whoever lost converges to a clear refusal on the next run; the winner is in sync.
        let winner = if ra.code == 0 { "a.toml" } else { "b.toml" };
        if ra.code == 0 || rb.code == 0 {
            let r = keyless_in(
                e.dir.path(),
                &["-c", winner, "plan", "--detailed-exitcode", "--no-github"],
                &e.kit.env(),
                None,
            );
            assert_eq!(r.code, 0, "round {round}: {}", r.stderr);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_never_deletes_a_provider_another_apply_is_using() {
    for round in 0..4 {
        let e = Env::new();
        let a = config("team-a", "gha-a", "octo-org/a", "s3-read", "a-read");
        let b = config("team-b", "gha-b", "octo-org/b", "s3-read", "b-read");
        std::fs::write(e.dir.path().join("a.toml"), a).unwrap();
        std::fs::write(e.dir.path().join("b.toml"), b).unwrap();
        let r = keyless_in(
            e.dir.path(),
            &["-c", "a.toml", "apply", "--yes", "--no-github"],
            &e.kit.env(),
            None,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        e.kit.set_latency(Duration::from_millis(20 + 20 * round));
        let (rd, ra) = both(
            &e,
            &["-c", "a.toml", "destroy", "--yes", "--no-github"],
            &["-c", "b.toml", "apply", "--yes", "--no-github"],
        );
        e.kit.set_latency(Duration::ZERO);
        let iam = e.admin_iam().await;
        let providers = iam
            .list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .len();
        let b_role = iam.get_role().role_name("gha-b").send().await.is_ok();
        // Never a successful apply with its provider gone.
        assert!(
            !(ra.code == 0 && b_role && providers == 0),
            "round {round}: apply b exited 0 but the provider is gone\ndestroy: {}\napply: {}",
            rd.stderr,
            ra.stderr
        );
        // Whatever happened, the next apply of b converges and leaves b usable.
        let r = keyless_in(
            e.dir.path(),
            &["-c", "b.toml", "apply", "--yes", "--no-github"],
            &e.kit.env(),
            None,
        );
        assert_eq!(r.code, 0, "round {round}: {}", r.stderr);
        let providers = iam
            .list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .len();
        assert_eq!(providers, 1, "round {round}");
    }
}

#[test]
fn a_variable_that_appears_between_plan_and_write_is_never_overwritten() {
    use crate::github::TOKEN;
    use keyless_testkit::github::Repo;
    use keyless_testkit::{Fault, FaultRule, GitHub};
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/legacy", 123456, 111));
    let env = crate::github::env(&e, &gh);
    e.write(&config(
        "team-a",
        "gha-a",
        "octo-org/legacy",
        "s3-read",
        "a-read",
    ));
    // Someone sets the variable after keyless read it (the read answers 404 once).
    gh.set_variable(
        "octo-org/legacy",
        None,
        "AWS_ROLE_ARN",
        "arn:aws:iam::123456789012:role/theirs",
    );
    gh.inject(FaultRule::action(
        "Get /repos/{owner}/{repo}/actions/variables/{name}",
        Fault::Error {
            status: 404,
            code: "Not Found",
        },
        1,
    ));
    let r = keyless_in(e.dir.path(), &["apply", "--yes"], &env, None);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("appeared since the plan"), "{}", r.stderr);
    assert_eq!(
        gh.variable("octo-org/legacy", None, "AWS_ROLE_ARN")
            .as_deref(),
        Some("arn:aws:iam::123456789012:role/theirs"),
        "the other value is untouched"
    );
}
