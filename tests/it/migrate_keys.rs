//! keyless migrate-keys, end to end through the binary: a repository with a stored key passed
//! by two workflows (action inputs and `env:`) is moved to a role that does what the key did,
//! one step per run, to done: replace, switch (the edited workflows clean under actionlint and
//! zizmor, otherwise byte-identical), prove (a key still in use blocks), deactivate (and
//! `--undo`), delete after the grace period. A key with no evidence is never touched.

use keyless_testkit::github::Repo;
use keyless_testkit::usage::{ServiceUse, TrailEvent};
use keyless_testkit::{ACCOUNT_ID, GitHub};
use serde_json::Value;

use crate::keys::run;
use crate::util::{Env, Run, expect, keyless_in};

const TOKEN: &str = "ghp_keyless_keys_test_token";

const DEPLOY: &str = "name: deploy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@SHA_CO # v7.0.1
        with:
          persist-credentials: false
      # credentials from the stored key
      - uses: aws-actions/configure-aws-credentials@SHA_AWS # v6.2.3
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - run: aws s3 sync site s3://octo-org-site
";

const SYNC: &str = "name: sync
on: workflow_dispatch
permissions: {}
jobs:
  sync:
    runs-on: ubuntu-latest
    env:
      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    steps:
      - run: aws s3 ls s3://octo-org-site
";

const CONFIG: &str = "name = \"platform\"
region = \"us-east-1\"

# the docs site, already keyless
[[role]]
name = \"gha-docs\"
  [[role.subject]]
  repo = \"octo-org/docs\"
  branch = \"main\"
  [[role.preset]]
  name = \"s3-read\"
  params = { bucket = \"octo-org-docs\" }
";

struct World {
    e: Env,
    gh: GitHub,
    key: String,
    other_key: String,
}

fn world() -> World {
    world_with(false)
}

/// `org`: the key is held in organisation secrets that octo-org/api reads too.
fn world_with(org: bool) -> World {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789));
    gh.add_repo(Repo::new("octo-org/docs", 123456, 456791));
    gh.add_repo(Repo::new("octo-org/api", 123456, 456790));
    if org {
        for n in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            gh.add_org_secret(
                "octo-org",
                n,
                "selected",
                &["octo-org/site", "octo-org/api"],
            );
        }
    } else {
        gh.add_secret("octo-org/site", "AWS_ACCESS_KEY_ID");
        gh.add_secret("octo-org/site", "AWS_SECRET_ACCESS_KEY");
    }
    gh.add_file(
        "octo-org/site",
        ".github/workflows/deploy.yml",
        &workflow(DEPLOY),
    );
    gh.add_file("octo-org/site", ".github/workflows/sync.yml", SYNC);
    gh.set_actions_ranges(&["4.148.0.0/16"]);
    let key = e.kit.add_user_key(
        "site-deploy",
        200,
        Some(
            &serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:PutBucketPolicy"],
            "Resource": "arn:aws:s3:::octo-org-site"}]}),
        ),
        &[],
    );
    let user = format!("arn:aws:iam::{ACCOUNT_ID}:user/site-deploy");
    e.kit
        .usage()
        .set_services(&user, vec![ServiceUse::used("s3", 2)]);
    e.kit.usage().add_events([TrailEvent::by_user(
        "site-deploy",
        &key,
        "s3.amazonaws.com",
        "GetBucketLocation",
    )
    .request(serde_json::json!({"bucketName": "octo-org-site"}))
    .from("4.148.3.4", "aws-cli/2.22")
    .days_ago(2)]);
    e.kit.set_key_last_used(&key, 2, "s3");
    // Another user's key, with no evidence tying it to anything: never touched.
    let other_key = e.kit.add_user_key("mystery", 30, None, &[]);
    e.write(CONFIG);
    World {
        e,
        gh,
        key,
        other_key,
    }
}

fn workflow(text: &str) -> String {
    text.replace("SHA_CO", "3d3c42e5aac5ba805825da76410c181273ba90b1")
        .replace("SHA_AWS", "e6de054238d6b7531b4efff3b6587d9aade6a06c")
}

fn step(w: &World, extra: &[&str]) -> (Run, Value) {
    let mut args = vec![
        "migrate-keys",
        "--repo",
        "octo-org/site",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let r = run(&w.e, &w.gh, &args, &[]);
    // The step's report comes first (a step that applies adds apply's report after it).
    let j: Value = serde_json::Deserializer::from_str(&r.stdout)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or(Value::Null);
    (r, j)
}

fn identify(w: &World) {
    let mut env = w.e.kit.env();
    env.retain(|(k, _)| *k != "AWS_ACCESS_KEY_ID");
    env.push(("AWS_ACCESS_KEY_ID", w.key.clone()));
    env.push(("GITHUB_REPOSITORY_ID", "456789".into()));
    expect(
        &keyless_in(w.e.dir.path(), &["keys", "identify"], &env, None),
        0,
    );
}

#[test]
fn a_stored_key_is_moved_to_a_role_step_by_step_until_done() {
    let w = world();
    // Without evidence naming the repository, nothing happens.
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(j["next"]["step"], "refuse", "{j}");

    // 1. replace: the role, with what the user used (never wider), applied, its variable set.
    identify(&w);
    let (r, j) = step(&w, &["--yes", "--min-days", "0"]);
    assert_eq!(j["next"]["step"], "replace", "{j}\n{}", r.stderr);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let text = std::fs::read_to_string(w.e.dir.path().join("keyless.toml")).unwrap();
    assert!(text.contains("# the docs site, already keyless"), "{text}");
    assert!(text.contains("repo = \"octo-org/site\""), "{text}");
    let role = text
        .split("[[role]]")
        .find(|t| t.contains("octo-org/site"))
        .and_then(|t| t.lines().find(|l| l.starts_with("name = ")))
        .map(|l| {
            l.trim_start_matches("name = ")
                .trim_matches('"')
                .to_string()
        })
        .unwrap();
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(w.e.dir.path().join(format!("policies/{role}.used.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!(["s3:GetBucketLocation"]),
        "{policy}"
    );
    let variable = w.gh.variable("octo-org/site", None, "AWS_ROLE_ARN");
    assert_eq!(
        variable,
        Some(format!("arn:aws:iam::{ACCOUNT_ID}:role/{role}"))
    );

    // 2. switch: a pull request (a branch, a commit per file, the plan in its body).
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(j["next"]["step"], "switch", "{j}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    let pulls = w.gh.pulls("octo-org/site");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let (number, head, _, body) = pulls[0].clone();
    assert!(
        body.contains(".github/workflows/sync.yml") && body.contains("vars.AWS_ROLE_ARN"),
        "{body}"
    );
    let deploy =
        w.gh.branch_file("octo-org/site", &head, ".github/workflows/deploy.yml")
            .unwrap();
    let sync =
        w.gh.branch_file("octo-org/site", &head, ".github/workflows/sync.yml")
            .unwrap();
    assert!(
        !deploy.contains("secrets.AWS") && !sync.contains("secrets.AWS"),
        "{deploy}\n{sync}"
    );
    assert!(
        deploy.contains("role-to-assume: ${{ vars.AWS_ROLE_ARN }}"),
        "{deploy}"
    );
    // Otherwise byte-identical: every line of the original that is not about the key is kept,
    // in order.
    let original = workflow(DEPLOY);
    let kept: Vec<&str> = original
        .lines()
        .filter(|l| !l.contains("aws-access-key-id") && !l.contains("aws-secret-access-key"))
        .collect();
    let mut it = deploy.lines();
    for line in kept {
        assert!(
            it.any(|l| l == line),
            "{line:?} is kept, in order:\n{deploy}"
        );
    }
    // Judged by the tools users run.
    let checkout = w.e.dir.path().join("checkout");
    std::fs::create_dir_all(checkout.join(".github/workflows")).unwrap();
    std::fs::write(checkout.join(".github/workflows/deploy.yml"), &deploy).unwrap();
    std::fs::write(checkout.join(".github/workflows/sync.yml"), &sync).unwrap();
    crate::workflows::judge(&checkout);
    // Merged by the repository's owner.
    w.gh.merge("octo-org/site", number);

    // 3. prove: not until the role has been assumed since the switch ...
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(
        (r.code, j["next"]["step"].as_str()),
        (2, Some("wait")),
        "{j}"
    );
    w.e.kit.set_role_used_now(&role);
    // ... and not while the key is still used (from outside GitHub, say).
    w.e.kit.set_key_last_used(&w.key, 0, "s3");
    let (_, j) = step(&w, &["--yes"]);
    assert!(
        j["next"]["why"]
            .as_str()
            .unwrap_or_default()
            .contains("still uses"),
        "{j}"
    );
    w.e.kit.set_key_last_used(&w.key, 2, "s3");

    // 4. deactivate, reversibly.
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(j["next"]["step"], "deactivate", "{j}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(w.e.kit.key_active(&w.key), Some(false));
    let (r, _) = step(&w, &["--undo", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(w.e.kit.key_active(&w.key), Some(true));
    let (_, j) = step(&w, &["--yes"]);
    assert_eq!(j["next"]["step"], "deactivate", "{j}");
    assert_eq!(w.e.kit.key_active(&w.key), Some(false));

    // Someone reactivates it by hand: no further step, and `keys` reports it (KA013).
    w.e.kit.set_key_active(&w.key, true);
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        j["next"]["why"]
            .as_str()
            .unwrap_or_default()
            .contains("active again"),
        "{j}"
    );
    let k = run(
        &w.e,
        &w.gh,
        &["keys", "--repo", "octo-org/site", "--output", "json"],
        &[],
    );
    assert!(k.stdout.contains("\"KA013\""), "{}", k.stdout);
    w.e.kit.set_key_active(&w.key, false);

    // 5. delete, after the grace period.
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(
        (r.code, j["next"]["step"].as_str()),
        (2, Some("wait")),
        "{j}"
    );
    let (r, j) = step(&w, &["--yes", "--grace-days", "0"]);
    assert_eq!(j["next"]["step"], "delete", "{j}");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        w.gh.secrets("octo-org/site").is_empty(),
        "{:?}",
        w.gh.secrets("octo-org/site")
    );
    assert_eq!(w.e.kit.key_active(&w.key), None, "the key is gone");
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(
        (r.code, j["next"]["step"].as_str()),
        (0, Some("done")),
        "{j}\n{}",
        r.stderr
    );
    // The key nothing linked is untouched; nothing printed holds a secret.
    assert_eq!(w.e.kit.key_active(&w.other_key), Some(true));
    assert!(!r.stdout.contains("kit-secret-never-shown") && !r.stderr.contains("kit-secret"));
    // Every GitHub request, and every answer, as GitHub's description has them.
    let checked = crate::github::conforms(&w.gh);
    for op in [
        "GET /repos/{owner}/{repo}/git/ref/{ref} 200",
        "POST /repos/{owner}/{repo}/git/refs 201",
        "PUT /repos/{owner}/{repo}/contents/{path} 200",
        "GET /repos/{owner}/{repo}/pulls 200",
        "POST /repos/{owner}/{repo}/pulls 201",
        "DELETE /repos/{owner}/{repo}/actions/secrets/{secret_name} 204",
    ] {
        assert!(checked.contains(op), "{op} was exercised: {checked:?}");
    }
}

/// The switch into a local checkout instead of a pull request.
#[test]
fn the_switch_can_be_written_into_a_checkout() {
    let w = world();
    identify(&w);
    let (r, _) = step(&w, &["--yes", "--min-days", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let checkout = w.e.dir.path().join("site");
    let (r, j) = step(&w, &["--yes", "--workflows", checkout.to_str().unwrap()]);
    assert_eq!(
        (r.code, j["next"]["step"].as_str()),
        (2, Some("switch")),
        "{}",
        r.stderr
    );
    let sync = std::fs::read_to_string(checkout.join(".github/workflows/sync.yml")).unwrap();
    assert!(
        sync.contains("id-token: write") && !sync.contains("secrets."),
        "{sync}"
    );
    assert!(w.gh.pulls("octo-org/site").is_empty());
    // GitHub got the variables apply set, nothing else: no branch, no pull request.
    assert!(
        w.gh.calls()
            .keys()
            .all(|c| c.starts_with("GET ") || c.contains("/actions/variables")),
        "{:?}",
        w.gh.calls()
    );
}

/// A key held in organisation secrets another repository also reads: the delete step keeps
/// them (and says so); the key itself goes once this repository, its only linked one, moved.
#[test]
fn an_organisation_secret_another_repository_reads_is_kept() {
    let w = world_with(true);
    identify(&w);
    let (r, _) = step(&w, &["--yes", "--min-days", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let (r, _) = step(&w, &["--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let (number, ..) = w.gh.pulls("octo-org/site")[0].clone();
    w.gh.merge("octo-org/site", number);
    let role = "gha-octo-org-site-deploy";
    w.e.kit.set_role_used_now(role);
    let (r, j) = step(&w, &["--yes"]);
    assert_eq!(j["next"]["step"], "deactivate", "{j}\n{}", r.stderr);
    let (r, j) = step(&w, &["--yes", "--grace-days", "0"]);
    assert_eq!(j["next"]["step"], "delete", "{j}\n{}", r.stderr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "kept organisation secret AWS_ACCESS_KEY_ID of octo-org: octo-org/api still read it"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        w.gh.secrets("octo-org").len(),
        2,
        "{:?}",
        w.gh.secrets("octo-org")
    );
    assert_eq!(w.e.kit.key_active(&w.key), None);
}
