//! keyless keys: stored AWS keys found on GitHub (repository, environment and organisation
//! secrets, and the workflows that pass them), IAM users' keys from the credential report, and
//! the evidence linking them; `keys identify` leaves that evidence in CloudTrail. Through the
//! binary against the kit's IAM/STS/CloudTrail and GitHub.

use keyless_testkit::github::Repo;
use keyless_testkit::usage::TrailEvent;
use keyless_testkit::{ACCOUNT_ID, GitHub};
use serde_json::Value;

use crate::github::env;
use crate::util::{Env, Run, expect, keyless_in};

const TOKEN: &str = "ghp_keyless_keys_test_token";

pub const DEPLOY: &str = r#"name: deploy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      # credentials from the stored key
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - run: aws s3 sync site s3://octo-org-site
"#;

pub const SYNC: &str = r#"name: sync
on: workflow_dispatch
jobs:
  sync:
    runs-on: ubuntu-latest
    env:
      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    steps:
      - run: aws s3 ls
"#;

const API: &str = r#"name: api
on: push
jobs:
  ship:
    runs-on: ubuntu-latest
    steps:
      - run: ./ship.sh
        env:
          AWS_ACCESS_KEY_ID: ${{ secrets.ORG_AWS_ACCESS_KEY_ID }}
          AWS_SECRET_ACCESS_KEY: ${{ secrets.ORG_AWS_SECRET_ACCESS_KEY }}
"#;

/// GitHub with octo-org/site (its own key secrets, two workflows) and octo-org/api (an
/// organisation secret shared with site), and GitHub's hosted-runner range.
pub fn github() -> GitHub {
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789));
    gh.add_repo(Repo::new("octo-org/api", 123456, 456790));
    gh.add_repo(Repo::new("octo-org/docs", 123456, 456791));
    gh.add_secret("octo-org/site", "AWS_ACCESS_KEY_ID");
    gh.add_secret("octo-org/site", "AWS_SECRET_ACCESS_KEY");
    gh.add_secret("octo-org/site", "NPM_TOKEN");
    gh.add_env_secret("octo-org/site", "prod", "PROD_AWS_SECRET_KEY");
    gh.add_org_secret(
        "octo-org",
        "ORG_AWS_ACCESS_KEY_ID",
        "selected",
        &["octo-org/api", "octo-org/site"],
    );
    gh.add_org_secret(
        "octo-org",
        "ORG_AWS_SECRET_ACCESS_KEY",
        "selected",
        &["octo-org/api", "octo-org/site"],
    );
    gh.add_file("octo-org/site", ".github/workflows/deploy.yml", DEPLOY);
    gh.add_file("octo-org/site", ".github/workflows/sync.yml", SYNC);
    gh.add_file("octo-org/api", ".github/workflows/api.yml", API);
    gh.add_file("octo-org/docs", ".github/workflows/broken.yml", "jobs: [\n");
    gh.set_actions_ranges(&["4.148.0.0/16", "2a01:111:f403::/48"]);
    gh
}

pub(crate) fn run(e: &Env, gh: &GitHub, args: &[&str], extra: &[(&'static str, String)]) -> Run {
    let mut vars = env(e, gh);
    for (k, _) in extra {
        vars.retain(|(n, _)| n != k);
    }
    vars.retain(|(k, _)| *k != "GH_TOKEN");
    vars.push(("GH_TOKEN", TOKEN.to_string()));
    vars.extend(extra.iter().cloned());
    keyless_in(e.dir.path(), args, &vars, None)
}

fn finding<'a>(j: &'a Value, rule: &str, about: &str) -> Option<&'a Value> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["resource"].as_str().unwrap_or_default().contains(about))
}

#[test]
fn keys_finds_stored_keys_the_workflows_that_pass_them_and_links_only_with_evidence() {
    let e = Env::new();
    let gh = github();
    // The site's deploy user: its key identified from the site's workflow; also used from an
    // address outside GitHub.
    let site_key = e.kit.add_user_key(
        "site-deploy",
        200,
        Some(&serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
        &[],
    );
    e.kit.set_key_last_used(&site_key, 1, "s3");
    // The api's user: tagged with its repository, called from GitHub's runners.
    let api_key = e
        .kit
        .add_user_key("api-deploy", 30, None, &[("repository", "octo-org/api")]);
    e.kit.usage().add_events([
        TrailEvent::by_user(
            "api-deploy",
            &api_key,
            "s3.amazonaws.com",
            "GetBucketLocation",
        )
        .from(
            "4.148.20.7",
            "aws-cli/2.22 configure-aws-credentials-for-github-actions",
        )
        .days_ago(2),
        TrailEvent::by_user("site-deploy", &site_key, "s3.amazonaws.com", "ListBuckets")
            .from("198.51.100.7", "Boto3/1.35.0")
            .days_ago(3),
    ]);
    // A forgotten user: no evidence at all.
    let old_key = e.kit.add_user_key("legacy", 400, None, &[]);

    // The site's workflow identifies its key (as a one-off step would, with the stored key).
    let mut as_site = e.kit.env();
    as_site.retain(|(k, _)| *k != "AWS_ACCESS_KEY_ID");
    let id = keyless_in(
        e.dir.path(),
        &["keys", "identify", "--output", "json"],
        &[
            as_site,
            vec![
                ("AWS_ACCESS_KEY_ID", site_key.clone()),
                ("GITHUB_REPOSITORY_ID", "456789".into()),
                ("GITHUB_REPOSITORY", "octo-org/site".into()),
            ],
        ]
        .concat(),
        None,
    );
    expect(&id, 0);
    let ident = id.json();
    assert_eq!(
        ident["user_arn"],
        format!("arn:aws:iam::{ACCOUNT_ID}:user/site-deploy")
    );
    assert_eq!(ident["access_key_id"], site_key);
    assert!(!id.stdout.contains("kit-secret-never-shown") && !id.stderr.contains("kit-secret"));

    let r = run(
        &e,
        &gh,
        &["keys", "--owner", "octo-org", "--output", "json"],
        &[],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    // GitHub: the site's two secrets with both workflows, the environment secret by its name,
    // the organisation secret with the repositories it reaches; NPM_TOKEN is not a key.
    let secrets: Vec<(String, String)> = j["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().into(),
                s["scope"]["level"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        secrets.contains(&("AWS_ACCESS_KEY_ID".into(), "repository".into())),
        "{secrets:?}"
    );
    assert!(
        secrets.contains(&("PROD_AWS_SECRET_KEY".into(), "environment".into())),
        "{secrets:?}"
    );
    assert!(
        secrets.contains(&("ORG_AWS_ACCESS_KEY_ID".into(), "organization".into())),
        "{secrets:?}"
    );
    assert!(
        !secrets.iter().any(|(n, _)| n == "NPM_TOKEN"),
        "{secrets:?}"
    );
    let site_secret = j["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "AWS_ACCESS_KEY_ID")
        .unwrap();
    let used: Vec<(String, u64, String)> = site_secret["used_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["file"].as_str().unwrap().into(),
                u["line"].as_u64().unwrap(),
                u["via"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        used,
        vec![
            (".github/workflows/deploy.yml".into(), 15, "inputs".into()),
            (".github/workflows/sync.yml".into(), 7, "env (job)".into()),
        ]
    );
    let org = j["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "ORG_AWS_ACCESS_KEY_ID")
        .unwrap();
    assert_eq!(
        org["scope"]["reaches"],
        serde_json::json!(["octo-org/api", "octo-org/site"])
    );
    assert_eq!(org["used_by"][0]["file"], ".github/workflows/api.yml");
    // A workflow that cannot be read is listed, not skipped.
    assert_eq!(j["unreadable"][0]["repo"], "octo-org/docs");

    // AWS: links only with evidence.
    let link = |key: &str| {
        j["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key_id"] == key)
            .cloned()
            .unwrap()
    };
    let site = link(&site_key);
    assert_eq!(site["certainty"], "identified", "{site}");
    assert_eq!(site["repos"], serde_json::json!(["octo-org/site"]));
    assert!(
        site["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "elsewhere"),
        "the outside use is shown: {site}"
    );
    let api = link(&api_key);
    assert_eq!(api["certainty"], "tagged", "{api}");
    assert!(
        api["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "from_github_actions"),
        "{api}"
    );
    let old = link(&old_key);
    assert_eq!(old["certainty"], "none");
    assert!(old["repos"].as_array().unwrap().is_empty());

    // Findings, one finding type with the KA rules.
    assert!(
        finding(&j, "KA009", "AWS_ACCESS_KEY_ID (octo-org/site)").is_some(),
        "{j}"
    );
    assert!(finding(&j, "KA010", &site_key).is_some(), "{j}");
    assert!(finding(&j, "KA010", &api_key).is_some(), "{j}");
    assert!(
        finding(&j, "KA010", &old_key).is_none(),
        "never guessed: {j}"
    );
    assert!(
        finding(&j, "KA011", &site_key).is_some(),
        "200 days old: {j}"
    );
    assert!(
        finding(&j, "KA012", &old_key).is_some(),
        "never used in 400 days: {j}"
    );
    assert!(
        finding(&j, "KA012", &site_key).is_none(),
        "used yesterday: {j}"
    );
    // Read-only, and no secret anywhere in the output.
    assert_eq!(gh.writes(), 0);
    assert!(!r.stdout.contains("kit-secret-never-shown"));

    // SARIF points at the workflow line that passes the key; the human view names the evidence.
    let sarif = e.dir.path().join("keys.sarif");
    let r = run(
        &e,
        &gh,
        &[
            "keys",
            "--repo",
            "octo-org/site",
            "--sarif",
            sarif.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("keyless keys identify` ran with it in octo-org/site"),
        "{}",
        r.stdout
    );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|x| x["ruleId"] == "KA009"
        && x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == ".github/workflows/deploy.yml"
        && x["locations"][0]["physicalLocation"]["region"]["startLine"] == 15));
    // The trust map: each user reached from the repository holding its key, drawn as a stored
    // key (dotted), not a trust; its permissions read from its policies.
    let html = e.dir.path().join("keys.html");
    let r = run(
        &e,
        &gh,
        &[
            "keys",
            "--owner",
            "octo-org",
            "--html",
            html.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("data-role=\"site-deploy\""),
        "the user is drawn"
    );
    assert!(
        page.contains("chip broad-stored-key") && page.contains("stored-key\""),
        "dotted edges"
    );
    assert!(
        page.contains("stored key (identified, key"),
        "the evidence is named"
    );
    assert!(
        page.contains("a stored access key (an IAM user, no OIDC)"),
        "a legend says so"
    );
    assert!(
        !page.contains("data-role=\"legacy\""),
        "an unlinked key is not drawn as reached"
    );
    // Every GitHub request keys made, and every answer, as GitHub's description has them.
    let checked = crate::github::conforms(&gh);
    for op in [
        "GET /repos/{owner}/{repo}/actions/secrets 200",
        "GET /repos/{owner}/{repo}/environments 200",
        "GET /repos/{owner}/{repo}/environments/{environment_name}/secrets 200",
        "GET /repos/{owner}/{repo}/actions/organization-secrets 200",
        "GET /repos/{owner}/{repo}/contents/{path} 200",
        "GET /orgs/{org}/actions/secrets 200",
        "GET /orgs/{org}/actions/secrets/{secret_name}/repositories 200",
        "GET /orgs/{org}/repos 200",
        "GET /meta 200",
    ] {
        assert!(checked.contains(op), "{op} was exercised: {checked:?}");
    }
}

/// With `[accounts]`, GitHub is read once and each account's keys are linked against it.
#[test]
fn keys_reads_github_once_and_each_account_of_the_config() {
    let e = Env::new();
    let gh = github();
    let (a, b) = ("500000000001", "500000000002");
    e.kit.add_account(a, "OrganizationAccountAccessRole", None);
    e.kit.add_account(b, "OrganizationAccountAccessRole", None);
    let tagged = e
        .kit
        .add_user_key_in(b, "site-ci", 10, None, &[("repository", "octo-org/site")]);
    let loose = e.kit.add_user_key_in(a, "nobody-knows", 10, None, &[]);
    e.write(&format!(
        "name = \"platform\"\n[accounts]\nids = [\"{a}\", \"{b}\"]\n[[role]]\nname = \"gha-site\"\n[[role.subject]]\nrepo = \"octo-org/site\"\nbranch = \"main\"\n"
    ));
    let r = run(
        &e,
        &gh,
        &["keys", "--repo", "octo-org/site", "--output", "json"],
        &[],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    let accounts = j["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2, "{j}");
    let of = |id: &str| {
        accounts
            .iter()
            .find(|x| x["account_id"] == id)
            .unwrap()
            .clone()
    };
    assert!(finding(&of(b), "KA010", &tagged).is_some(), "{j}");
    assert!(finding(&of(a), "KA010", &loose).is_none(), "{j}");
    assert_eq!(of(a)["keys"][0]["key_id"], loose);
    assert_eq!(
        gh.calls()
            .get("GET /repos/{owner}/{repo}/actions/secrets")
            .copied(),
        Some(1),
        "GitHub read once: {:?}",
        gh.calls()
    );
}

/// A token without the permission a call needs: the error names it, as GitHub does.
#[test]
fn a_token_without_secrets_read_is_told_which_permission() {
    let e = Env::new();
    let gh = github();
    gh.deny("GET /repos/{owner}/{repo}/actions/secrets", "secrets=read");
    let r = run(&e, &gh, &["keys", "--repo", "octo-org/site"], &[]);
    expect(&r, 1);
    assert!(r.stderr.contains("secrets=read"), "{}", r.stderr);
    assert!(!r.stderr.contains(TOKEN));
}
