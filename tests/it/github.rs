//! The GitHub half, through the binary against the kit's GitHub REST server: read what each
//! repository mints instead of guessing, at init and at lint/plan; tokens as `gh` finds them and
//! never printed; the kit's answers checked against GitHub's own REST description.

use keyless_testkit::github::Repo;
use keyless_testkit::{Claims, GITHUB_ISSUER, GitHub, Issuer};

use crate::util::{Env, Run, expect, keyless_in, root};

/// The kit GitHub's token (not a real one), for every test that reads GitHub.
pub(crate) const TOKEN: &str = "ghp_kitTOKENnotREAL0123456789abcdef0000";

fn github() -> GitHub {
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789).immutable(true));
    gh.add_repo(Repo::new("octo-org/legacy", 123456, 111));
    gh.add_repo(
        Repo::new("octo-org/custom", 123456, 222).claim_keys(&["repository_owner_id", "context"]),
    );
    gh
}

/// The kit's AWS environment, with GitHub read from `gh` with [`TOKEN`].
pub(crate) fn env(e: &Env, gh: &GitHub) -> Vec<(&'static str, String)> {
    let mut env = e.kit.env();
    env.push(("GH_TOKEN", TOKEN.to_string()));
    env.push(("KEYLESS_GITHUB_API_URL", gh.url()));
    env
}

fn run(e: &Env, gh: &GitHub, args: &[&str]) -> Run {
    keyless_in(e.dir.path(), args, &env(e, gh), None)
}

fn init(e: &Env, gh: &GitHub, repo: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "init",
        "--yes",
        "--repo",
        repo,
        "--branch",
        "main",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=octo-site",
    ];
    args.extend_from_slice(extra);
    run(e, gh, &args)
}

#[test]
fn init_reads_the_form_and_ids_and_the_minted_token_is_admitted() {
    let (e, gh) = (Env::new(), github());
    let r = init(&e, &gh, "octo-org/site", &["--apply"]);
    expect(&r, 0);
    // Both halves are done: the variable is set, only committing the workflow is left.
    assert_eq!(
        gh.variable("octo-org/site", None, "AWS_ROLE_ARN")
            .as_deref(),
        Some("arn:aws:iam::123456789012:role/gha-octo-org-site-deploy")
    );
    assert!(
        r.stdout.contains("set on GitHub: octo-org/site")
            && r.stdout.contains("Left for you: commit the workflow below")
            && !r.stdout.contains("gh variable set"),
        "{}",
        r.stdout
    );
    // The workflow shown says the variable is set, not to set it first.
    assert!(
        r.stdout
            .contains("keyless apply set the variable AWS_ROLE_ARN")
            && !r.stdout.contains("Set the variable"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("octo-org/site (id 456789, owner id 123456) mints immutable subjects"),
        "{}",
        r.stderr
    );
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(
        cfg.contains("owner_id = \"123456\"")
            && cfg.contains("repo_id = \"456789\"")
            && cfg.contains("format = \"immutable\""),
        "{cfg}"
    );
    // A job's token, with the sub GitHub's settings imply, is exchanged with the kit's STS.
    let sub = gh.sub_for("octo-org/site", "ref:refs/heads/main").unwrap();
    assert_eq!(sub, "repo:octo-org@123456/site@456789:ref:refs/heads/main");
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let token = issuer.mint(&Claims::push("octo-org/site", "main").with_sub(&sub));
    std::fs::write(e.dir.path().join("t.jwt"), &token).unwrap();
    let r = run(&e, &gh, &["verify", "--token-file", "t.jwt"]);
    expect(&r, 0);
    assert!(r.stdout.contains("VERIFIED"), "{}", r.stdout);
    assert_eq!(
        gh.calls()["GET /repos/{owner}/{repo}"],
        2,
        "init and apply's plan"
    );
    // A second role added: the message matches what is printed (no workflow "below").
    let r = init(
        &e,
        &gh,
        "octo-org/site",
        &["--add", "--role-name", "gha-second", "--apply"],
    );
    expect(&r, 0);
    assert!(
        !r.stdout.contains("# .github/workflows/deploy-")
            && !r.stdout.contains("the workflow below")
            && r.stdout.contains("keyless emit workflow --role NAME"),
        "{}",
        r.stdout
    );
}

#[test]
fn init_follows_renames_writes_custom_subs_and_refuses_unknown_repositories() {
    let (e, gh) = (Env::new(), github());
    gh.rename("octo-org/legacy", "octo-org/legacy-v2");
    let r = init(&e, &gh, "octo-org/legacy", &[]);
    expect(&r, 0);
    assert!(
        r.stderr.contains("is now octo-org/legacy-v2"),
        "{}",
        r.stderr
    );
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(
        cfg.contains("repo = \"octo-org/legacy-v2\"") && cfg.contains("format = \"classic\""),
        "{cfg}"
    );
    let r = init(&e, &gh, "octo-org/custom", &["--force"]);
    expect(&r, 0);
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(
        cfg.contains("custom = \"repository_owner_id:123456:ref:refs/heads/main\""),
        "{cfg}"
    );
    // A typo is an error now, not an AccessDenied a week later; nothing is written.
    let dir = e.dir.path().join("typo");
    std::fs::create_dir_all(&dir).unwrap();
    let r = keyless_in(
        &dir,
        &[
            "init",
            "--yes",
            "--repo",
            "octo-org/stie",
            "--branch",
            "main",
        ],
        &env(&e, &gh),
        None,
    );
    expect(&r, 1);
    assert!(
        r.stderr.contains("octo-org/stie does not exist") && r.stderr.contains("spelling"),
        "{}",
        r.stderr
    );
    assert!(!dir.join("keyless.toml").exists());
}

#[test]
fn lint_and_plan_block_a_classic_trust_for_a_repository_that_mints_immutable() {
    let (e, gh) = (Env::new(), github());
    e.write(crate::apply::SITE);
    let r = run(&e, &gh, &["lint", "--output", "json"]);
    expect(&r, 2);
    let j = r.json();
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "KL016")
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("owner_id = \"123456\"")
    );
    e.kit.reset_counts();
    let r = run(&e, &gh, &["plan"]);
    expect(&r, 1);
    assert!(r.stderr.contains("KL016"), "{}", r.stderr);
    assert!(e.writes().is_empty());
    // Without GitHub, the same config lints as before, and keyless says the half was not read.
    let r = keyless_in(e.dir.path(), &["lint"], &e.kit.env(), None);
    expect(&r, 0);
    assert_eq!(
        r.stderr.matches("GitHub: not read").count(),
        1,
        "{}",
        r.stderr
    );
    let r = run(&e, &gh, &["lint", "--no-github"]);
    expect(&r, 0);
    assert!(r.stderr.contains("--no-github"));
}

#[test]
fn github_errors_name_the_fix_and_the_token_is_never_printed() {
    let (e, gh) = (Env::new(), github());
    e.write(crate::apply::SITE);
    let mut bad = env(&e, &gh);
    bad.retain(|(k, _)| *k != "GH_TOKEN");
    bad.push(("GH_TOKEN", "ghp_wrongTOKEN".into()));
    let r = keyless_in(e.dir.path(), &["lint"], &bad, None);
    expect(&r, 1);
    assert!(
        r.stderr.contains("401") || r.stderr.contains("Bad credentials"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("$GH_TOKEN") && !r.stderr.contains("ghp_wrongTOKEN"));
    gh.deny(
        "GET /repos/{owner}/{repo}/actions/oidc/customization/sub",
        "actions=read",
    );
    for args in [
        &["lint"][..],
        &["lint", "-v"],
        &["lint", "--output", "json", "-v"],
    ] {
        let r = run(&e, &gh, args);
        expect(&r, 1);
        assert!(
            r.stderr
                .contains("lacks a permission this call needs: actions=read"),
            "{}",
            r.stderr
        );
        assert!(
            !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
            "the token leaked"
        );
    }
}

/// GitHub's REST description (api.github.com, dereferenced OpenAPI, the endpoints keyless uses),
/// kept in the repository so a clean clone tests against it.
fn rest_description() -> serde_json::Value {
    let file = root().join("tests/fixtures/github-rest/api.github.com.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap()
}

/// OpenAPI 3.0's `nullable` turned into JSON Schema.
fn json_schema(mut schema: serde_json::Value) -> serde_json::Value {
    fn nullable(v: &mut serde_json::Value) {
        if let Some(o) = v.as_object_mut() {
            if o.remove("nullable") == Some(serde_json::Value::Bool(true))
                && let Some(t) = o.get("type").cloned()
            {
                o.insert("type".into(), serde_json::json!([t, "null"]));
            }
            for (_, x) in o.iter_mut() {
                nullable(x);
            }
        } else if let Some(a) = v.as_array_mut() {
            a.iter_mut().for_each(nullable);
        }
    }
    nullable(&mut schema);
    schema
}

/// The schema of an operation's response for a status.
fn response_schema(path: &str, method: &str, status: &str) -> serde_json::Value {
    let doc = rest_description();
    let schema =
        doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            .clone();
    assert!(!schema.is_null(), "{method} {path} {status} has a schema");
    json_schema(schema)
}

fn violations(schema: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).unwrap();
    v.iter_errors(value).map(|e| e.to_string()).collect()
}

#[test]
fn every_request_keyless_sends_and_every_answer_match_githubs_rest_description() {
    let (e, gh) = (Env::new(), github());
    gh.add_repo(Repo::new("octo-org/infra", 123456, 333).immutable(true));
    e.write(
        "[[role]]\nname = \"gha-site\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n  owner_id = \"123456\"\n  repo_id = \"456789\"\n  format = \"immutable\"\n[[role]]\nname = \"gha-infra\"\n  [[role.subject]]\n  repo = \"octo-org/infra\"\n  environment = \"prod\"\n  owner_id = \"123456\"\n  repo_id = \"333\"\n  format = \"immutable\"\n",
    );
    for args in [
        &["lint"][..],
        &["apply", "--yes"],
        &["check"],
        &["destroy", "--yes"],
    ] {
        run(&e, &gh, args);
    }
    gh.set_variable("octo-org/site", None, "AWS_ROLE_ARN", "x");
    expect(&run(&e, &gh, &["apply", "--yes"]), 0);
    let checked = conforms(&gh);
    for op in [
        "POST /repos/{owner}/{repo}/actions/variables 201",
        "PATCH /repos/{owner}/{repo}/actions/variables/{name} 204",
        "PUT /repos/{owner}/{repo}/environments/{environment_name} 200",
        "POST /repos/{owner}/{repo}/environments/{environment_name}/variables 201",
        "DELETE /repos/{owner}/{repo}/actions/variables/{name} 204",
        "GET /repos/{owner}/{repo}/actions/variables/{name} 404",
    ] {
        assert!(checked.contains(op), "{op} was exercised: {checked:?}");
    }
}

/// Every request sent to `gh` and every answer it gave, checked against GitHub's REST
/// description; the `METHOD route status` triples checked.
pub(crate) fn conforms(gh: &GitHub) -> std::collections::BTreeSet<String> {
    let doc = rest_description();
    let mut checked = std::collections::BTreeSet::new();
    for x in gh.exchanges() {
        let op = &doc["paths"][&x.route][x.method.to_ascii_lowercase()];
        if op.is_null() {
            continue; // e.g. /repositories/{id}, reached by following a redirect
        }
        let req = &op["requestBody"]["content"]["application/json"]["schema"];
        if !req.is_null() {
            let errs = violations(&json_schema(req.clone()), &x.request);
            assert!(
                errs.is_empty(),
                "request {} {}: {errs:?}",
                x.method,
                x.route
            );
        }
        let resp = &op["responses"][x.status.to_string()];
        if resp.is_null() && matches!(x.status, 401 | 404) {
            // GitHub answers 401 and 404 on every operation, documented or not (GET of a
            // missing environment is one): its basic error body.
            assert!(
                x.response["message"].is_string(),
                "{} {} {}",
                x.method,
                x.route,
                x.status
            );
            checked.insert(format!("{} {} {}", x.method, x.route, x.status));
            continue;
        }
        assert!(
            !resp.is_null(),
            "{} {} answered {}, which GitHub does not document",
            x.method,
            x.route,
            x.status
        );
        let schema = &resp["content"]["application/json"]["schema"];
        if schema.is_null() {
            assert!(
                x.response.is_null(),
                "{} {} {}: no body documented",
                x.method,
                x.route,
                x.status
            );
        } else {
            let errs = violations(&json_schema(schema.clone()), &x.response);
            assert!(
                errs.is_empty(),
                "response {} {} {}: {errs:?}",
                x.method,
                x.route,
                x.status
            );
        }
        checked.insert(format!("{} {} {}", x.method, x.route, x.status));
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_kits_answers_match_githubs_rest_description() {
    let gh = github();
    gh.rename("octo-org/legacy", "octo-org/legacy-v2");
    let get = |path: &str, token: Option<&str>| {
        let url = format!("{}{path}", gh.url());
        let token = token.map(String::from);
        async move {
            let mut headers = vec![("accept", "application/vnd.github+json".to_string())];
            if let Some(t) = token {
                headers.push(("authorization", format!("Bearer {t}")));
            }
            keyless::io::http::send("GET", &url, &headers, None)
                .await
                .unwrap()
        }
    };
    let cases = [
        (
            "/repos/octo-org/site",
            Some(TOKEN),
            "/repos/{owner}/{repo}",
            "200",
        ),
        (
            "/repos/octo-org/legacy",
            Some(TOKEN),
            "/repos/{owner}/{repo}",
            "301",
        ),
        (
            "/repos/octo-org/nope",
            Some(TOKEN),
            "/repos/{owner}/{repo}",
            "404",
        ),
        ("/repos/octo-org/site", None, "/repos/{owner}/{repo}", "403"),
        (
            "/repos/octo-org/site/actions/oidc/customization/sub",
            Some(TOKEN),
            "/repos/{owner}/{repo}/actions/oidc/customization/sub",
            "200",
        ),
        (
            "/repos/octo-org/custom/actions/oidc/customization/sub",
            Some(TOKEN),
            "/repos/{owner}/{repo}/actions/oidc/customization/sub",
            "200",
        ),
        (
            "/orgs/octo-org/actions/oidc/customization/sub",
            Some(TOKEN),
            "/orgs/{org}/actions/oidc/customization/sub",
            "200",
        ),
        ("/rate_limit", Some(TOKEN), "/rate_limit", "200"),
    ];
    for (path, token, op, status) in cases {
        let r = get(path, token).await;
        // 401 without a token is GitHub's answer; its body is the basic error the 403 documents.
        let expected = if token.is_none() { "401" } else { status };
        assert_eq!(r.status.to_string(), expected, "{path}");
        assert!(r.header("x-ratelimit-remaining").is_some(), "{path}");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let errors = violations(&response_schema(op, "get", status), &body);
        assert!(errors.is_empty(), "{path}: {errors:?}");
    }
}

#[test]
fn apply_wires_the_variables_and_a_second_apply_makes_no_github_writes() {
    let (e, gh) = (Env::new(), github());
    gh.add_repo(Repo::new("octo-org/infra", 123456, 333).immutable(true));
    e.write(
        r#"
name = "octo-org-infra"
[[role]]
name = "gha-infra-plan"
  [[role.subject]]
  repo = "octo-org/infra"
  pull_request = true
  owner_id = "123456"
  repo_id = "333"
  format = "immutable"
[[role]]
name = "gha-infra-apply"
  [[role.subject]]
  repo = "octo-org/infra"
  environment = "prod"
  owner_id = "123456"
  repo_id = "333"
  format = "immutable"
"#,
    );
    let r = run(&e, &gh, &["plan", "--output", "json"]);
    expect(&r, 0);
    let j = r.json();
    let apis: Vec<&str> = j["github"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["api"].as_str().unwrap())
        .collect();
    assert_eq!(
        apis,
        vec!["POST variable", "PUT environment", "POST variable"]
    );
    assert!(
        j["github"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("only protected branches can deploy")
    );
    let r = run(&e, &gh, &["apply", "--yes"]);
    expect(&r, 0);
    let arn = |role: &str| format!("arn:aws:iam::123456789012:role/{role}");
    assert_eq!(
        gh.variable("octo-org/infra", None, "AWS_ROLE_ARN"),
        Some(arn("gha-infra-plan"))
    );
    assert_eq!(
        gh.variable("octo-org/infra", Some("prod"), "AWS_ROLE_ARN"),
        Some(arn("gha-infra-apply"))
    );
    // Created with a deployment branch policy (protected branches only), never left open.
    assert_eq!(gh.environment("octo-org/infra", "prod"), Some(true));
    // Converged: nothing to write on either side.
    let (writes, iam) = (gh.writes(), e.kit.calls());
    e.kit.reset_counts();
    let r = run(&e, &gh, &["apply", "--yes"]);
    expect(&r, 0);
    assert!(r.stdout.contains("GitHub: no changes"), "{}", r.stdout);
    assert_eq!(gh.writes(), writes, "a second apply makes no GitHub writes");
    assert!(e.writes().is_empty(), "{:?} after {iam:?}", e.writes());
    let r = run(&e, &gh, &["plan", "--detailed-exitcode"]);
    expect(&r, 0);
    // Someone changes a variable by hand: plan shows it, apply puts it back.
    gh.set_variable(
        "octo-org/infra",
        None,
        "AWS_ROLE_ARN",
        "arn:aws:iam::999999999999:role/x",
    );
    let r = run(&e, &gh, &["plan", "--detailed-exitcode"]);
    expect(&r, 2);
    assert!(
        r.stdout
            .contains("~ github octo-org/infra variable AWS_ROLE_ARN"),
        "{}",
        r.stdout
    );
    expect(&run(&e, &gh, &["apply", "--yes"]), 0);
    assert_eq!(
        gh.variable("octo-org/infra", None, "AWS_ROLE_ARN"),
        Some(arn("gha-infra-plan"))
    );
    // destroy removes what keyless set, and keeps a variable that holds something else.
    gh.set_variable(
        "octo-org/infra",
        Some("prod"),
        "AWS_ROLE_ARN",
        "set-by-someone",
    );
    let r = run(&e, &gh, &["destroy", "--yes"]);
    expect(&r, 0);
    assert_eq!(gh.variable("octo-org/infra", None, "AWS_ROLE_ARN"), None);
    assert_eq!(
        gh.variable("octo-org/infra", Some("prod"), "AWS_ROLE_ARN")
            .as_deref(),
        Some("set-by-someone")
    );
    assert!(
        r.stderr.contains("never deletes a variable it did not set"),
        "{}",
        r.stderr
    );
}

#[test]
fn check_reports_github_side_drift_with_kinds_and_severities() {
    let (e, gh) = (Env::new(), github());
    gh.add_repo(Repo::new("octo-org/infra", 123456, 333).immutable(true));
    gh.add_environment("octo-org/infra", "prod", true);
    e.write(
        r#"
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  owner_id = "123456"
  repo_id = "456789"
  format = "immutable"
[[role]]
name = "gha-infra-apply"
  [[role.subject]]
  repo = "octo-org/infra"
  environment = "prod"
  owner_id = "123456"
  repo_id = "333"
  format = "immutable"
"#,
    );
    expect(&run(&e, &gh, &["apply", "--yes"]), 0);
    let check = || {
        let r = run(&e, &gh, &["check", "--output", "json"]);
        let j = r.json();
        let kinds: Vec<(String, String)> = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"].as_str().unwrap().starts_with("github"))
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (r.code, kinds)
    };
    assert_eq!(check(), (0, vec![]), "in sync on both sides");
    gh.set_variable(
        "octo-org/site",
        None,
        "AWS_ROLE_ARN",
        "arn:aws:iam::999999999999:role/x",
    );
    gh.unprotect("octo-org/infra", "prod");
    let (code, kinds) = check();
    assert_eq!(code, 2);
    assert!(
        kinds.contains(&("github_variable".into(), "high".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("github_environment".into(), "medium".into())),
        "{kinds:?}"
    );
    expect(&run(&e, &gh, &["apply", "--yes"]), 0);
    gh.add_environment("octo-org/infra", "prod", true);
    // The repository opts out of immutable subjects; then it is deleted (its name can be taken).
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789).immutable(false));
    let (code, kinds) = check();
    assert_eq!(
        (code, kinds),
        (2, vec![("github_subject_form".into(), "high".into())])
    );
    gh.remove_repo("octo-org/site");
    let r = run(&e, &gh, &["check"]);
    expect(&r, 2);
    assert!(
        r.stdout.contains("no longer exists on GitHub")
            && r.stdout.contains("register its name again"),
        "{}",
        r.stdout
    );
}

#[test]
fn lint_names_unprotected_missing_and_miscased_environments() {
    let (e, gh) = (Env::new(), github());
    gh.add_repo(Repo::new("octo-org/infra", 123456, 333));
    gh.add_environment("octo-org/infra", "Staging", true);
    gh.add_environment("octo-org/infra", "dev", false);
    let role = |name: &str, env: &str| {
        format!(
            "[[role]]\nname = \"{name}\"\n  [[role.subject]]\n  repo = \"octo-org/infra\"\n  environment = \"{env}\"\n"
        )
    };
    e.write(&format!(
        "{}{}{}",
        role("gha-a", "staging"),
        role("gha-b", "dev"),
        role("gha-c", "prod")
    ));
    let r = run(&e, &gh, &["lint", "--output", "json"]);
    expect(&r, 0);
    let j = r.json();
    let found: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| matches!(f["rule"].as_str(), Some("KL022" | "KL029")))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["location"]["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("KL029".to_string(), "staging".to_string()),
            ("KL022".to_string(), "dev".to_string()),
            ("KL022".to_string(), "prod".to_string()),
        ]
    );
}

#[test]
fn a_secondary_rate_limit_is_waited_out_once() {
    let (e, gh) = (Env::new(), github());
    e.write(
        "[[role]]\nname = \"gha-site\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n  owner_id = \"123456\"\n  repo_id = \"456789\"\n  format = \"immutable\"\n",
    );
    gh.secondary_limit(1);
    let started = std::time::Instant::now();
    let r = run(&e, &gh, &["lint"]);
    expect(&r, 0);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "retry-after honoured"
    );
    // Twice in a row is not waited out again: the error says it is a rate limit.
    gh.secondary_limit(2);
    let r = run(&e, &gh, &["lint"]);
    expect(&r, 1);
    assert!(r.stderr.contains("rate limit"), "{}", r.stderr);
}

#[test]
fn migrate_subjects_takes_one_safe_verified_step_per_run_until_done() {
    let (e, gh) = (Env::new(), github());
    gh.add_repo(Repo::new("octo-org/app", 123456, 777));
    e.write(
        "# the app team\n[[role]]\nname = \"gha-app\"\n  [[role.subject]]\n  repo = \"octo-org/app\"   # deploys from main\n  branch = \"main\"\n",
    );
    expect(&run(&e, &gh, &["apply", "--yes"]), 0);
    let step = |want: &str, code: i32| {
        let r = run(
            &e,
            &gh,
            &["migrate-subjects", "--repo", "octo-org/app", "--yes"],
        );
        assert_eq!(r.code, code, "{}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    };
    let admitted = |sub: &str| {
        let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/app", "main"));
        let t = issuer.mint(&Claims::push("octo-org/app", "main").with_sub(sub));
        std::fs::write(e.dir.path().join("t.jwt"), t).unwrap();
        run(
            &e,
            &gh,
            &["verify", "--token-file", "t.jwt", "--retry-for", "0"],
        )
        .code
            == 0
    };
    let classic = "repo:octo-org/app:ref:refs/heads/main";
    let immutable = "repo:octo-org@123456/app@777:ref:refs/heads/main";
    assert!(admitted(classic) && !admitted(immutable));
    step("step 1 of 3", 2);
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(
        cfg.starts_with("# the app team") && cfg.contains("# deploys from main"),
        "{cfg}"
    );
    assert!(
        cfg.contains("format = \"both\"") && cfg.contains("repo_id = \"777\""),
        "{cfg}"
    );
    assert!(
        admitted(classic) && admitted(immutable),
        "both forms trusted before the switch"
    );
    step("step 2 of 3", 2);
    assert_eq!(
        gh.sub_for("octo-org/app", "ref:refs/heads/main").as_deref(),
        Some(immutable)
    );
    step("step 3 of 3", 0);
    assert!(admitted(immutable) && !admitted(classic));
    step("done", 0);
    let r = run(
        &e,
        &gh,
        &[
            "migrate-subjects",
            "--repo",
            "octo-org/app",
            "--output",
            "json",
        ],
    );
    expect(&r, 0);
    assert_eq!(
        (
            r.json()["format_version"].as_u64(),
            r.json()["step"].as_str()
        ),
        (Some(1), Some("done"))
    );
    // Every step is idempotent: running again changes nothing.
    let writes = gh.writes();
    step("done", 0);
    assert_eq!(gh.writes(), writes);
}

#[test]
fn a_github_failure_part_way_is_reported_and_the_next_apply_converges() {
    let (e, gh) = (Env::new(), github());
    gh.add_repo(Repo::new("octo-org/infra", 123456, 333).immutable(true));
    e.write(
        "[[role]]\nname = \"gha-a\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n  owner_id = \"123456\"\n  repo_id = \"456789\"\n  format = \"immutable\"\n[[role]]\nname = \"gha-b\"\n  [[role.subject]]\n  repo = \"octo-org/infra\"\n  branch = \"main\"\n  owner_id = \"123456\"\n  repo_id = \"333\"\n  format = \"immutable\"\n",
    );
    // The second GitHub write fails; then one whose answer is lost after GitHub made it.
    gh.inject(keyless_testkit::FaultRule::nth_write(
        2,
        keyless_testkit::Fault::service_failure(),
    ));
    let r = run(&e, &gh, &["apply", "--yes"]);
    expect(&r, 1);
    assert!(
        r.stderr
            .contains("variable AWS_ROLE_ARN (POST variable) failed after 1 of 2"),
        "{}",
        r.stderr
    );
    // One report for both sides: the IAM writes made before GitHub's are counted too.
    assert!(
        r.stderr
            .contains("(on GitHub; all 3 IAM change(s) before them were made)"),
        "{}",
        r.stderr
    );
    let r = run(&e, &gh, &["apply", "--yes"]);
    expect(&r, 0);
    assert!(gh.variable("octo-org/site", None, "AWS_ROLE_ARN").is_some());
    assert!(
        gh.variable("octo-org/infra", None, "AWS_ROLE_ARN")
            .is_some()
    );
    let r = run(&e, &gh, &["plan", "--detailed-exitcode"]);
    expect(&r, 0);
    // A lost answer: the variable was set, the client never heard; the next run sees it.
    gh.set_variable("octo-org/site", None, "AWS_ROLE_ARN", "changed");
    gh.inject(keyless_testkit::FaultRule::nth_write(
        1,
        keyless_testkit::Fault::ResetAfter,
    ));
    let r = run(&e, &gh, &["apply", "--yes"]);
    expect(&r, 1);
    let r = run(&e, &gh, &["plan", "--detailed-exitcode"]);
    expect(&r, 0);
}
