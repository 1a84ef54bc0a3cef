//! One repository, two configs: a second team's `init` for the same repository takes a config
//! name and a variable of its own, never repoints the first team's variable nor rewrites its
//! role, and both scheduled checks stay green.

use keyless_testkit::GitHub;
use keyless_testkit::github::Repo;

use crate::util::{Env, Run, keyless_in};

use crate::github::TOKEN;

fn run(e: &Env, gh: &GitHub, dir: &str, args: &[&str]) -> Run {
    let env = crate::github::env(e, gh);
    let d = e.dir.path().join(dir);
    std::fs::create_dir_all(&d).unwrap();
    keyless_in(&d, args, &env, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_second_config_for_one_repository_repoints_nothing_of_the_first() {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/old-repo", 123456, 777));
    let a = run(
        &e,
        &gh,
        "a",
        &[
            "init",
            "--yes",
            "--apply",
            "--repo",
            "octo-org/old-repo",
            "--branch",
            "main",
            "--preset",
            "s3-deploy",
            "--param",
            "bucket=octo-site",
        ],
    );
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    let a_arn = gh
        .variable("octo-org/old-repo", None, "AWS_ROLE_ARN")
        .expect("A's variable");
    let iam = e.iam().await;
    let role_of = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    let a_role = role_of(&a_arn);
    let a_trust = iam
        .get_role()
        .role_name(&a_role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .assume_role_policy_document
        .unwrap();
    // Team B, same repository, pull requests.
    let b = run(
        &e,
        &gh,
        "b",
        &[
            "init",
            "--yes",
            "--apply",
            "--repo",
            "octo-org/old-repo",
            "--pull-request",
            "--preset",
            "s3-read",
            "--param",
            "bucket=octo-site",
        ],
    );
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    // A's variable and A's role are untouched.
    assert_eq!(
        gh.variable("octo-org/old-repo", None, "AWS_ROLE_ARN")
            .as_deref(),
        Some(a_arn.as_str())
    );
    let after = iam
        .get_role()
        .role_name(&a_role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .assume_role_policy_document
        .unwrap();
    assert_eq!(after, a_trust, "A's trust was rewritten");
    // B took a name and a variable of its own, and its variable is set.
    let a_cfg = std::fs::read_to_string(e.dir.path().join("a/keyless.toml")).unwrap();
    let b_cfg = std::fs::read_to_string(e.dir.path().join("b/keyless.toml")).unwrap();
    assert!(a_cfg.contains("name = \"octo-org-old-repo\""), "{a_cfg}");
    assert!(b_cfg.contains("name = \"octo-org-old-repo-2\""), "{b_cfg}");
    let b_var = b_cfg
        .lines()
        .find_map(|l| l.strip_prefix("variable = \""))
        .and_then(|l| l.split('"').next())
        .unwrap_or_else(|| panic!("{b_cfg}"))
        .to_string();
    assert!(b_var.starts_with("AWS_ROLE_ARN_"), "{b_var}");
    let b_arn = gh
        .variable("octo-org/old-repo", None, &b_var)
        .expect("B's variable");
    assert_ne!(role_of(&b_arn), a_role);
    // Both scheduled checks are green, and A's calls B's role another config's.
    let ca = run(&e, &gh, "a", &["check", "--output", "json"]);
    assert_eq!(ca.code, 0, "{}\n{}", ca.stdout, ca.stderr);
    let kinds: Vec<String> = ca.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["kind"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        kinds.contains(&"other_config_role info".to_string()),
        "{kinds:?}"
    );
    assert!(
        !kinds.iter().any(|k| k.starts_with("extra_role")),
        "{kinds:?}"
    );
    let ca = run(&e, &gh, "a", &["check"]);
    assert!(ca.stdout.starts_with("In sync"), "{}", ca.stdout);
    let cb = run(&e, &gh, "b", &["check"]);
    assert_eq!(cb.code, 0, "{}\n{}", cb.stdout, cb.stderr);
    // A config written by hand that would take A's variable: plan refuses, naming the owner.
    let mut by_hand = b_cfg
        .lines()
        .filter(|l| !l.starts_with("variable = "))
        .collect::<Vec<_>>()
        .join("\n");
    by_hand.push('\n');
    std::fs::write(e.dir.path().join("b/keyless.toml"), by_hand).unwrap();
    let r = run(&e, &gh, "b", &["plan"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("keyless config `octo-org-old-repo`")
            && r.stderr.contains("will not repoint"),
        "{}",
        r.stderr
    );
    assert_eq!(
        gh.variable("octo-org/old-repo", None, "AWS_ROLE_ARN")
            .as_deref(),
        Some(a_arn.as_str())
    );
}

#[test]
fn a_name_in_use_given_with_name_is_refused() {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/old-repo", 123456, 777));
    let args = |extra: &'static [&'static str]| {
        let mut v = vec![
            "init",
            "--yes",
            "--apply",
            "--repo",
            "octo-org/old-repo",
            "--branch",
            "main",
            "--preset",
            "s3-read",
            "--param",
            "bucket=octo-site",
        ];
        v.extend_from_slice(extra);
        v
    };
    assert_eq!(run(&e, &gh, "a", &args(&[])).code, 0);
    let r = run(
        &e,
        &gh,
        "b",
        &args(&["--name", "octo-org-old-repo", "--role-name", "gha-other"]),
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("already used"), "{}", r.stderr);
    assert!(!e.dir.path().join("b/keyless.toml").exists());
    // Rewriting A's own file keeps A's name.
    let r = run(&e, &gh, "a", &args(&["--force"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let a_cfg = std::fs::read_to_string(e.dir.path().join("a/keyless.toml")).unwrap();
    assert!(a_cfg.contains("name = \"octo-org-old-repo\""), "{a_cfg}");
}

#[test]
fn a_config_grows_from_one_role_to_three_and_no_variable_is_renamed_or_stranded() {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 888));
    let base = [
        "--yes",
        "--apply",
        "--repo",
        "octo-org/site",
        "--param",
        "bucket=octo-site",
    ];
    let init = |extra: &[&str]| {
        let mut args = vec!["init"];
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        run(&e, &gh, "c", &args)
    };
    let r = init(&["--branch", "main", "--preset", "s3-deploy"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let first = gh.variable("octo-org/site", None, "AWS_ROLE_ARN").unwrap();
    let path = e.dir.path().join("c/keyless.toml");
    let written = std::fs::read_to_string(&path).unwrap();
    // Without --add, an existing file is still refused (and the fix names --add).
    let r = init(&[
        "--pull-request",
        "--preset",
        "s3-read",
        "--role-name",
        "gha-site-pr",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("--add") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    // Two more roles for the same repository, added to the file.
    for (scope, role) in [
        (&["--pull-request"][..], "gha-site-pr"),
        (&["--tag", "v*"][..], "gha-site-release"),
    ] {
        let mut extra = vec!["--add", "--preset", "s3-read", "--role-name", role];
        extra.extend_from_slice(scope);
        let r = init(&extra);
        assert_eq!(r.code, 0, "{role}: {}\n{}", r.stdout, r.stderr);
    }
    let grown = std::fs::read_to_string(&path).unwrap();
    assert!(
        grown.starts_with(written.trim_end()),
        "the first role is kept as written:\n{grown}"
    );
    assert_eq!(grown.matches("[[role]]").count(), 3, "{grown}");
    // The first role's variable is unchanged; each new role has its own.
    assert_eq!(
        gh.variable("octo-org/site", None, "AWS_ROLE_ARN")
            .as_deref(),
        Some(first.as_str())
    );
    for (var, role) in [
        ("AWS_ROLE_ARN_GHA_SITE_PR", "gha-site-pr"),
        ("AWS_ROLE_ARN_GHA_SITE_RELEASE", "gha-site-release"),
    ] {
        let v = gh
            .variable("octo-org/site", None, var)
            .unwrap_or_else(|| panic!("{var} not set"));
        assert!(v.ends_with(&format!(":role/{role}")), "{var} = {v}");
    }
    let r = run(&e, &gh, "c", &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = run(&e, &gh, "c", &["check"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn a_fresh_environment_scoped_apply_passes_its_own_check() {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 888));
    let r = run(
        &e,
        &gh,
        "env",
        &[
            "init",
            "--yes",
            "--apply",
            "--repo",
            "octo-org/site",
            "--environment",
            "production",
            "--preset",
            "s3-deploy",
            "--param",
            "bucket=octo-site",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("only protected branches"), "{}", r.stderr);
    // The environment exists with a deployment branch policy.
    assert_eq!(gh.environment("octo-org/site", "production"), Some(true));
    let r = run(&e, &gh, "env", &["check", "--output", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let kinds = r.json()["findings"].to_string();
    assert!(!kinds.contains("github_environment"), "{kinds}");
    // An environment someone made without any protection is repaired, as the plan says.
    gh.add_environment("octo-org/site", "staging", false);
    let path = e.dir.path().join("env/keyless.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("environment = \"production\"", "environment = \"staging\"");
    std::fs::write(&path, text).unwrap();
    let r = run(&e, &gh, "env", &["plan"]);
    assert!(
        r.stdout
            .contains("~ github octo-org/site environment staging"),
        "{}",
        r.stdout
    );
    let r = run(&e, &gh, "env", &["apply", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(gh.environment("octo-org/site", "staging"), Some(true));
    assert_eq!(run(&e, &gh, "env", &["check"]).code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_renamed_variable_moves_and_a_variable_left_on_a_deleted_role_is_reported() {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 888));
    let r = run(
        &e,
        &gh,
        "r",
        &[
            "init",
            "--yes",
            "--apply",
            "--repo",
            "octo-org/site",
            "--branch",
            "main",
            "--preset",
            "s3-read",
            "--param",
            "bucket=octo-site",
            "--role-name",
            "gha-site",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let arn = gh.variable("octo-org/site", None, "AWS_ROLE_ARN").unwrap();
    // The role's variable is renamed in the config.
    let path = e.dir.path().join("r/keyless.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "name = \"gha-site\"\n",
        "name = \"gha-site\"\nvariable = \"AWS_ROLE_ARN_SITE\"\n",
    );
    std::fs::write(&path, text).unwrap();
    let r = run(&e, &gh, "r", &["check", "--output", "json"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let r = run(&e, &gh, "r", &["plan"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("change `vars.AWS_ROLE_ARN` to `vars.AWS_ROLE_ARN_SITE`"),
        "{}",
        r.stderr
    );
    let r = run(&e, &gh, "r", &["apply", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(gh.variable("octo-org/site", None, "AWS_ROLE_ARN"), None);
    assert_eq!(
        gh.variable("octo-org/site", None, "AWS_ROLE_ARN_SITE")
            .as_deref(),
        Some(arn.as_str())
    );
    assert_eq!(run(&e, &gh, "r", &["check"]).code, 0);
    // A variable someone left pointing at a role that is gone: reported, never deleted.
    gh.set_variable(
        "octo-org/site",
        None,
        "AWS_ROLE_ARN_OLD",
        "arn:aws:iam::123456789012:role/gha-gone",
    );
    let r = run(&e, &gh, "r", &["check", "--output", "json"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("AWS_ROLE_ARN_OLD") && r.stdout.contains("no longer exists"),
        "{}",
        r.stdout
    );
    let r = run(&e, &gh, "r", &["apply", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        gh.variable("octo-org/site", None, "AWS_ROLE_ARN_OLD")
            .is_some()
    );
}
