//! Every workflow keyless emits, judged by the tools users run on them: actionlint (with
//! shellcheck) and zizmor (medium and above), for every example config, every scope and issuer.
//! The tools come from `bash tests/outside-tools.sh` (pinned, in a venv under target/).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{example, expect, keyless_in, root};

/// The venv `tests/outside-tools.sh` fills.
fn tools() -> PathBuf {
    crate::util::need_tools(&["actionlint", "zizmor", "shellcheck"]).join("bin")
}

/// Configs that between them cover every scope, a custom sub, GHES, aws-cn and custom audiences.
const SCOPES: &[(&str, &str)] = &[
    (
        "scopes",
        r#"
account_id = "123456789012"
region = "eu-west-1"
[[role]]
name = "gha-branch"
  [[role.subject]]
  repo = "octo-org/a"
  branch = "main"
[[role]]
name = "gha-tag"
  [[role.subject]]
  repo = "octo-org/a"
  tag = "v*"
[[role]]
name = "gha-env"
  [[role.subject]]
  repo = "octo-org/a"
  environment = "prod"
[[role]]
name = "gha-pr"
  [[role.subject]]
  repo = "octo-org/b"
  pull_request = true
[[role]]
name = "gha-any"
  [[role.subject]]
  repo = "octo-org/c"
  any_ref = true
[[role]]
name = "gha-custom"
  [[role.subject]]
  custom = "repository_owner_id:123456:environment:staging"
[[role]]
name = "gha-check"
  [[role.subject]]
  repo = "octo-org/a"
  branch = "main"
  [[role.preset]]
  name = "keyless-check"
"#,
    ),
    (
        "ghes",
        r#"
account_id = "123456789012"
[provider]
ghes_host = "github.example.com"
[[role]]
name = "gha-ghes"
  [[role.subject]]
  repo = "octo-org/a"
  branch = "main"
"#,
    ),
    (
        "china",
        r#"
account_id = "123456789012"
partition = "aws-cn"
region = "cn-north-1"
[[role]]
name = "gha-cn"
  [[role.subject]]
  repo = "octo-org/a"
  environment = "prod"
"#,
    ),
    (
        "audience",
        r#"
account_id = "123456789012"
[provider]
audiences = ["https://github.com/octo-org"]
[workflow]
runs_on = "octo-runners"
[[role]]
name = "gha-aud"
  [[role.subject]]
  repo = "octo-org/a"
  branch = "main"
"#,
    ),
    (
        "audit",
        r#"
account_id = "123456789012"
region = "eu-west-1"
[workflow]
keyless_commit = "0123456789abcdef0123456789abcdef01234567"
[[role]]
name = "gha-keyless-audit"
  [[role.subject]]
  repo = "octo-org/platform"
  branch = "main"
  [[role.preset]]
  name = "keyless-audit"
"#,
    ),
];

fn role_names(config: &Path) -> Vec<String> {
    let r = keyless_in(
        config.parent().unwrap(),
        &[
            "-c",
            &config.display().to_string(),
            "render",
            "--output",
            "json",
        ],
        &[],
        None,
    );
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    r.json()["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

fn emit(config: &Path, args: &[&str]) -> crate::util::Run {
    let mut all = vec![
        "-c".to_string(),
        config.display().to_string(),
        "emit".into(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    keyless_in(config.parent().unwrap(), &all, &[], None)
}

/// Every workflow of every config: (file name, YAML).
fn all_workflows(dir: &Path) -> Vec<(String, String)> {
    let mut configs: Vec<(String, PathBuf)> = ["keyless.toml", "multi-role.toml"]
        .iter()
        .map(|e| {
            (
                e.trim_end_matches(".toml").to_string(),
                PathBuf::from(example(e)),
            )
        })
        .collect();
    for (label, text) in SCOPES {
        let p = dir.join(format!("{label}.toml"));
        std::fs::write(&p, text).unwrap();
        configs.push((label.to_string(), p));
    }
    let mut out = Vec::new();
    for (label, config) in configs {
        for role in role_names(&config) {
            let r = emit(&config, &["workflow", "--role", &role]);
            expect(&r, 0);
            out.push((format!("{label}-{role}.yml"), r.stdout));
        }
        for (what, file) in [
            ("check-workflow", "keyless-check"),
            ("audit-workflow", "keyless-audit"),
        ] {
            let r = emit(&config, &[what]);
            if r.code == 0 {
                out.push((format!("{label}-{file}.yml"), r.stdout));
            }
        }
    }
    out
}

#[test]
fn every_emitted_workflow_passes_actionlint_and_zizmor() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let wf = repo.join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    let workflows = all_workflows(dir.path());
    assert!(workflows.len() >= 17, "{} workflows", workflows.len());
    for (name, text) in &workflows {
        std::fs::write(wf.join(name), text).unwrap();
    }
    // keyless's own release workflow is held to the same standard.
    std::fs::copy(
        root().join(".github/workflows/release.yml"),
        wf.join("release.yml"),
    )
    .unwrap();
    // A custom runner label (`[workflow] runs_on`) is declared to actionlint the way its users
    // declare theirs.
    std::fs::write(
        repo.join(".github/actionlint.yaml"),
        "self-hosted-runner:\n  labels: [octo-runners]\n",
    )
    .unwrap();
    judge(&repo);
}

/// actionlint (with shellcheck) and zizmor (medium and above) on the workflows under
/// `repo/.github/workflows`: any finding fails.
pub(crate) fn judge(repo: &Path) {
    let bin = tools();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo)
        .status()
        .expect("git");
    assert!(git.success());
    // actionlint: any finding fails (shellcheck runs on every `run:` script).
    let out = Command::new(bin.join("actionlint"))
        .args(["-shellcheck", &bin.join("shellcheck").display().to_string()])
        .current_dir(repo)
        .env("PATH", &path)
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // zizmor: any finding of medium severity or above fails.
    let out = Command::new(bin.join("zizmor"))
        .args(["--offline", "--min-severity", "medium", ".github/workflows"])
        .current_dir(repo)
        .env("PATH", &path)
        .output()
        .expect("run zizmor");
    assert!(
        out.status.success(),
        "zizmor:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("valid YAML")
}

#[test]
fn workflows_follow_each_roles_scope_and_never_install_keyless() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = all_workflows(dir.path());
    let get = |name: &str| {
        let text = &workflows
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1;
        (text.clone(), yaml(text))
    };
    for (name, text) in &workflows {
        assert!(!text.contains("cargo install"), "{name} installs keyless");
        let y = yaml(text);
        assert_eq!(y["permissions"], serde_json::json!({}), "{name}");
        for (_, job) in y["jobs"].as_object().unwrap() {
            assert_eq!(job["permissions"]["id-token"], "write", "{name}");
            for step in job["steps"].as_array().unwrap() {
                if let Some(u) = step["uses"].as_str() {
                    let (_, r) = u.split_once('@').unwrap();
                    assert!(
                        r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()),
                        "{name}: {u} is not pinned by SHA"
                    );
                    if u.starts_with("actions/checkout") {
                        assert_eq!(step["with"]["persist-credentials"], false, "{name}");
                    }
                }
            }
        }
    }
    // A pull-request-only role gets no manual trigger (a dispatched run is never a PR job).
    let (_, pr) = get("scopes-gha-pr.yml");
    assert!(pr["on"].get("pull_request").is_some());
    assert!(pr["on"].get("workflow_dispatch").is_none());
    assert_eq!(pr["name"], "pull request (gha-pr)");
    // An environment named by a custom sub puts the job in that environment.
    let (_, custom) = get("scopes-gha-custom.yml");
    let job = custom["jobs"].as_object().unwrap().values().next().unwrap();
    assert_eq!(job["environment"], "staging");
    // Names follow the purpose.
    assert_eq!(
        get("scopes-gha-env.yml").1["name"],
        "deploy to prod (gha-env)"
    );
    assert_eq!(get("scopes-gha-tag.yml").1["name"], "release (gha-tag)");
    // GHES has no GitHub-hosted runners; the setting wins everywhere.
    let (_, ghes) = get("ghes-gha-ghes.yml");
    assert_eq!(ghes["jobs"]["deploy"]["runs-on"], "self-hosted");
    let (aud_text, aud) = get("audience-gha-aud.yml");
    assert_eq!(aud["jobs"]["deploy"]["runs-on"], "octo-runners");
    // A custom audience is requested in the aws partition too.
    assert!(
        aud_text.contains("audience: \"https://github.com/octo-org\""),
        "{aud_text}"
    );
    let (cn_text, _) = get("china-gha-cn.yml");
    assert!(cn_text.contains("audience: \"sts.amazonaws.com.cn\""));
    // The check workflow reads the config named by -c, through KEYLESS_CONFIG.
    let (check_text, check) = get("scopes-keyless-check.yml");
    let steps = check["jobs"]["check"]["steps"].as_array().unwrap();
    let run = steps.iter().find(|s| s["name"] == "keyless check").unwrap();
    assert!(
        run["env"]["KEYLESS_CONFIG"]
            .as_str()
            .unwrap()
            .ends_with("scopes.toml")
    );
    assert!(check_text.contains("vars.KEYLESS_CHECK_ROLE_ARN"));
    // It reads the way its role's preset allows (per-role by default), never `auto`'s first
    // ask for the whole account, which the preset would deny in every run.
    assert_eq!(run["with"]["args"], "check --fail-on low --reads per-role");
}

#[test]
fn one_variable_name_per_role_in_emit_the_workflow_and_apply() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyless.toml");
    std::fs::write(&config, SCOPES[0].1).unwrap();
    // gha-branch, gha-tag and gha-check all trust octo-org/a without an environment: the two
    // deploy roles get their own names; the check role has its own.
    let name_of = |role: &str| {
        let r = emit(&config, &["variable", "--role", role, "--output", "json"]);
        expect(&r, 0);
        r.json()["name"].as_str().unwrap().to_string()
    };
    let names: Vec<String> = ["gha-branch", "gha-tag", "gha-env", "gha-pr", "gha-check"]
        .iter()
        .map(|r| name_of(r))
        .collect();
    assert_eq!(
        names,
        [
            "AWS_ROLE_ARN_GHA_BRANCH",
            "AWS_ROLE_ARN_GHA_TAG",
            "AWS_ROLE_ARN",
            "AWS_ROLE_ARN",
            "KEYLESS_CHECK_ROLE_ARN"
        ]
    );
    for (role, name) in [("gha-branch", &names[0]), ("gha-check", &names[4])] {
        let r = emit(&config, &["workflow", "--role", role]);
        assert!(
            r.stdout.contains(&format!("${{{{ vars.{name} }}}}")),
            "{}",
            r.stdout
        );
        let r = emit(&config, &["variable", "--role", role]);
        assert!(
            r.stdout.contains(&format!("gh variable set {name} ")),
            "{}",
            r.stdout
        );
    }
    // apply's closing output uses the same names.
    let e = crate::util::Env::new();
    e.write(&SCOPES[0].1.replace("any_ref = true", "branch = \"main\""));
    let r = e.run(&["apply", "--yes"]);
    expect(&r, 0);
    assert!(
        r.stdout
            .contains("AWS_ROLE_ARN_GHA_BRANCH=arn:aws:iam::123456789012:role/gha-branch"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("KEYLESS_CHECK_ROLE_ARN=arn:aws:iam::123456789012:role/gha-check")
    );
}

#[test]
fn the_check_workflow_needs_the_read_only_role() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyless.toml");
    std::fs::write(&config, SCOPES[1].1).unwrap();
    let r = emit(&config, &["check-workflow"]);
    expect(&r, 1);
    assert!(r.stderr.contains("keyless-check"), "{}", r.stderr);
    std::fs::write(&config, SCOPES[0].1).unwrap();
    let r = emit(&config, &["check-workflow", "--role", "gha-branch"]);
    expect(&r, 1);
    assert!(r.stderr.contains("no keyless-check preset"), "{}", r.stderr);
}

#[test]
fn the_audit_workflow_uploads_sarif_with_the_audit_role() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyless.toml");
    let audit = SCOPES.iter().find(|(l, _)| *l == "audit").unwrap().1;
    std::fs::write(&config, audit).unwrap();
    let r = emit(&config, &["audit-workflow"]);
    expect(&r, 0);
    let wf = &r.stdout;
    for want in [
        "role-to-assume: ${{ vars.KEYLESS_AUDIT_ROLE_ARN }}",
        "security-events: write",
        "args: \"audit --fail-on medium --sarif keyless-audit.sarif\"",
        "code-scanning/sarifs",
        "hashFiles('keyless-audit.sarif')",
    ] {
        assert!(wf.contains(want), "missing {want}:\n{wf}");
    }
    assert!(!wf.contains("contents: write"), "{wf}");
    let r = emit(&config, &["variable"]);
    expect(&r, 0);
    assert!(r.stdout.contains("KEYLESS_AUDIT_ROLE_ARN="), "{}", r.stdout);
    // A config without the audit role, or a role without the preset, is refused with the fix.
    std::fs::write(&config, SCOPES[0].1).unwrap();
    let r = emit(&config, &["audit-workflow"]);
    expect(&r, 1);
    assert!(r.stderr.contains("keyless-audit"), "{}", r.stderr);
    let r = emit(&config, &["audit-workflow", "--role", "gha-branch"]);
    expect(&r, 1);
    assert!(r.stderr.contains("no keyless-audit preset"), "{}", r.stderr);
}
