//! Request budgets: for each scenario, the exact number of AWS requests keyless may make and
//! the number of sequential round trips it may take. Both are counted at the kit: requests by
//! action, round trips as the depth of the deepest request (one more than the deepest request
//! already answered when it arrived), with a latency on every call ([`LATENCY`]) so that one
//! wave's requests arrive before their answers. The figure does not depend on how fast the
//! machine is, or how busy. A change that makes more requests, or more of them one after
//! another, fails here with the scenario, the budget, the count and the requests made.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::util::{Env, Run, expect};

/// The latency added to every call when round trips are measured.
/// 300 ms: a debug build on a busy 2-core runner must send a wave's requests before the first
/// answer comes back, or a request is counted one round deeper than it is.
const LATENCY: Duration = Duration::from_millis(300);

/// What one run cost.
struct Cost {
    requests: u64,
    round_trips: u64,
    calls: BTreeMap<String, u64>,
}

/// One scenario's budget: requests exactly (a change that saves some updates the table, so a
/// saving is never silently given back), round trips at most.
struct Budget {
    requests: u64,
    round_trips: u64,
}

/// Run `step` once, with [`LATENCY`] on every call, counting requests and round trips.
fn measure(setup: &dyn Fn() -> Env, step: &dyn Fn(&Env) -> Run) -> Cost {
    let e = setup();
    e.kit.reset_counts();
    e.kit.set_latency(LATENCY);
    let r = step(&e);
    e.kit.set_latency(Duration::ZERO);
    assert!(r.code == 0 || r.code == 2, "{}\n{}", r.stdout, r.stderr);
    let calls: BTreeMap<String, u64> = e
        .kit
        .calls()
        .into_iter()
        .map(|((_, a), n)| (a, n))
        .collect();
    Cost {
        requests: calls.values().sum(),
        round_trips: e.kit.round_trips(),
        calls,
    }
}

fn check_budget(name: &str, cost: &Cost, budget: &Budget, wrong: &mut Vec<String>) {
    eprintln!(
        "budget {name}: {} requests (budget {}), {} round trips (budget {}): {:?}",
        cost.requests, budget.requests, cost.round_trips, budget.round_trips, cost.calls
    );
    if cost.requests != budget.requests || cost.round_trips > budget.round_trips {
        wrong.push(format!(
            "{name}: {} requests (budget exactly {}), {} round trips (budget at most {}); requests made: {:?}",
            cost.requests, budget.requests, cost.round_trips, budget.round_trips, cost.calls
        ));
    }
}

/// A config of `n` roles, each with one subject and the s3-deploy preset.
fn roles(n: usize) -> String {
    let mut t = String::new();
    for i in 0..n {
        t.push_str(&format!(
            "[[role]]\nname = \"gha-app-{i:04}\"\n[[role.subject]]\nrepo = \"octo-org/app-{i:04}\"\nbranch = \"main\"\n[[role.preset]]\nname = \"s3-deploy\"\nparams = {{ bucket = \"octo-org-app-{i:04}\" }}\n"
        ));
    }
    t
}

fn empty() -> Env {
    Env::new()
}

fn written(text: String) -> impl Fn() -> Env {
    move || {
        let e = Env::new();
        e.write(&text);
        e
    }
}

fn applied(text: String) -> impl Fn() -> Env {
    move || {
        let e = Env::new();
        e.write(&text);
        expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
        e
    }
}

/// `config` applied in an account that already holds `n` other roles (another config's).
fn crowded(config: String, n: usize) -> impl Fn() -> Env {
    move || {
        let e = Env::new();
        e.write(&format!("name = \"others\"\n{}", roles(n)));
        expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
        e.write(&config);
        expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
        e
    }
}

/// `config` applied in an account that also holds `n` roles trusting a service (made with
/// the SDK, `n` at once).
fn among_service_roles(config: String, n: usize) -> impl Fn() -> Env {
    move || {
        let e = Env::new();
        e.write(&config);
        expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let iam = e.iam().await;
            let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
            let made = (0..n).map(|i| {
                iam.create_role()
                    .role_name(format!("svc-{i:04}"))
                    .assume_role_policy_document(trust)
                    .send()
            });
            for r in futures_util::future::join_all(made).await {
                r.unwrap();
            }
        });
        e
    }
}

/// `n` member accounts, each holding the role keyless assumes, with one config role applied in
/// each through `[accounts]`.
fn fleet(n: usize) -> impl Fn() -> Env {
    move || {
        let e = Env::new();
        let ids: Vec<String> = (0..n)
            .map(|i| format!("{:012}", 500_000_000_000u64 + i as u64))
            .collect();
        for id in &ids {
            e.kit.add_account(id, "OrganizationAccountAccessRole", None);
        }
        let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
        e.write(&format!(
            "name = \"platform\"\n[accounts]\nids = [{}]\n[[role]]\nname = \"gha-site\"\n[[role.subject]]\nrepo = \"octo-org/site\"\nbranch = \"main\"\n[[role.preset]]\nname = \"s3-read\"\nparams = {{ bucket = \"octo-site-${{account.id}}\" }}\n",
            list.join(", ")
        ));
        expect(&e.run(&["apply", "--yes", "--no-github"]), 0);
        e
    }
}

/// An organization managed from another account, its guard in keyless.toml, and the
/// management account's credentials kept beside it for the step.
fn guarded() -> Env {
    let e = Env::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let org = rt.block_on(crate::guard::organization(&e));
    e.write(&crate::guard::config(&org.ou));
    let pairs: Vec<(String, String)> = org
        .env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    std::fs::write(
        e.dir.path().join("guard-env.json"),
        serde_json::to_string(&pairs).unwrap(),
    )
    .unwrap();
    e
}

#[test]
fn every_scenario_stays_within_its_request_budget() {
    let site = crate::apply::SITE.to_string();
    let init = |e: &Env| {
        e.run(&[
            "init",
            "--yes",
            "--repo",
            "octo-org/site",
            "--branch",
            "main",
            "--preset",
            "s3-deploy",
            "--param",
            "bucket=octo-site",
            "--format",
            "classic",
            "--no-github",
            "--apply",
        ])
    };
    let apply = |e: &Env| e.run(&["apply", "--yes", "--no-github"]);
    let check = |e: &Env| e.run(&["check", "--no-github"]);
    let audit = |e: &Env| e.run(&["audit", "--no-github"]);
    let usage = |e: &Env| e.run(&["usage", "--no-github"]);
    let guard = |e: &Env| {
        let text = std::fs::read_to_string(e.dir.path().join("guard-env.json")).unwrap();
        let pairs: Vec<(String, String)> = serde_json::from_str(&text).unwrap();
        let env: Vec<(&str, String)> = pairs
            .iter()
            .map(|(k, v)| (&*Box::leak(k.clone().into_boxed_str()), v.clone()))
            .collect();
        crate::util::keyless_in(e.dir.path(), &["guard", "plan", "--no-github"], &env, None)
    };
    type Step<'a> = &'a dyn Fn(&Env) -> Run;
    type Setup = Box<dyn Fn() -> Env>;
    // (scenario, state before, step, budget)
    let scenarios: Vec<(&str, Setup, Step, Budget)> = vec![
        (
            "fresh `init --yes --apply` (no GitHub)",
            Box::new(empty),
            &init,
            Budget {
                requests: 8,
                round_trips: 5,
            },
        ),
        (
            "first `apply` of one role",
            Box::new(written(site.clone())),
            &apply,
            Budget {
                requests: 9,
                round_trips: 5,
            },
        ),
        (
            "re-`apply`, nothing to change",
            Box::new(applied(site.clone())),
            &apply,
            Budget {
                requests: 5,
                round_trips: 2,
            },
        ),
        (
            "`check`, 1 role",
            Box::new(applied(site.clone())),
            &check,
            Budget {
                requests: 5,
                round_trips: 2,
            },
        ),
        (
            "`check`, 200 roles",
            Box::new(applied(roles(200))),
            &check,
            Budget {
                requests: 5,
                round_trips: 2,
            },
        ),
        (
            "`check`, 2,000 roles",
            Box::new(applied(roles(2000))),
            &check,
            Budget {
                requests: 10,
                round_trips: 4,
            },
        ),
        (
            "`check`, 1 role in an account of 1,200",
            Box::new(crowded(site.clone(), 1200)),
            &check,
            // The others trust the provider: their owners (tags) come with the account read,
            // where role by role would cost a GetRole each.
            Budget {
                requests: 8,
                round_trips: 3,
            },
        ),
        (
            "`check`, 1 role among 1,200 service roles",
            Box::new(among_service_roles(site.clone(), 1200)),
            &check,
            // Role by role after the listing: ceil(1200/1000) + 3 = 5 at most (the account's
            // details pages in flight when the listing decided are dropped, and counted).
            Budget {
                requests: 13,
                round_trips: 5,
            },
        ),
        (
            "`check`, 20 accounts",
            Box::new(fleet(20)),
            &check,
            // Measured 3 at the default --account-concurrency (64: every account at once); two rounds
            // of slack for a loaded runner.
            Budget {
                requests: 101,
                round_trips: 5,
            },
        ),
        (
            "`audit`, 200 roles",
            Box::new(applied(roles(200))),
            &audit,
            Budget {
                requests: 5,
                round_trips: 2,
            },
        ),
        (
            "`guard plan`, one OU with one member account (dry run)",
            Box::new(guarded),
            &guard,
            Budget {
                requests: 14,
                round_trips: 6,
            },
        ),
        (
            "`usage`, 20 roles (last-accessed jobs answer once IN_PROGRESS)",
            Box::new(applied(roles(20))),
            &usage,
            Budget {
                requests: 82,
                round_trips: 6,
            },
        ),
    ];
    let mut wrong = Vec::new();
    for (name, setup, step, budget) in &scenarios {
        let cost = measure(setup.as_ref(), *step);
        check_budget(name, &cost, budget, &mut wrong);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// README's table of budgets is this test's: every row names a scenario above with its
/// numbers.
#[test]
fn readmes_budget_table_is_the_tests() {
    let section = crate::util::readme_section("## Request budgets");
    let rows: Vec<(String, u64, u64)> = crate::util::table_rows(&section)
        .into_iter()
        .filter(|c| c.len() == 3 && c[1].parse::<u64>().is_ok())
        .map(|c| (c[0].clone(), c[1].parse().unwrap(), c[2].parse().unwrap()))
        .collect();
    let source = std::fs::read_to_string(crate::util::root().join("tests/it/budgets.rs")).unwrap();
    assert!(rows.len() >= 7, "{rows:?}");
    for (name, requests, round_trips) in rows {
        // The scenario and its budget, as written in the table above.
        let at = source
            .find(&format!("\"{name}\","))
            .unwrap_or_else(|| panic!("README's scenario {name:?} is not in the test"));
        let budget = &source[at..source[at..].find("},").map_or(source.len(), |e| at + e)];
        assert!(
            budget.contains(&format!("requests: {requests},"))
                && budget.contains(&format!("round_trips: {round_trips},")),
            "README says {name}: {requests} requests, {round_trips} round trips; the test: {budget}"
        );
    }
}
