//! `keyless export cloudformation`: the template passes cfn-lint (errors, warnings and
//! informational findings alike) for every example config, names no account or partition, and,
//! deployed by a real CloudFormation implementation on loopback (moto's), leaves an account that
//! `keyless check` finds in sync and `keyless plan` has nothing to do in.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{example, expect, keyless_in, root};

pub(crate) fn tools() -> PathBuf {
    crate::util::need_tools(&["cfn-lint", "moto_server"])
}

/// A command from the outside tools, with their packages importable whether they live in a venv
/// or were installed with `pip --target`.
fn tool(dir: &Path, name: &str) -> Command {
    let mut c = Command::new(dir.join("bin").join(name));
    c.env("PYTHONPATH", dir);
    c
}

/// Two roles with a preset, an inline policy, a boundary in the pinned account, a description,
/// a session length and tags.
const CONFIG: &str = r#"
account_id = "123456789012"
name = "platform"
[[role]]
name = "gha-site"
description = "deploys the site"
tags = { team = "web" }
permissions_boundary = "arn:aws:iam::123456789012:policy/team-boundary"
max_session_duration = 7200
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-org-site" }
  [[role.inline_policy]]
  name = "extra"
  file = "extra.json"
[[role]]
name = "gha-infra-plan"
  [[role.subject]]
  repo = "octo-org/infra"
  pull_request = true
  [[role.preset]]
  name = "terraform-state"
  params = { bucket = "octo-org-tfstate", key = "prod/terraform.tfstate", lock_table = "tf-locks", region = "us-east-1", access = "read-only" }
"#;

fn write_config(dir: &Path) {
    std::fs::write(dir.join("keyless.toml"), CONFIG).unwrap();
    std::fs::write(
        dir.join("extra.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:deploys"}]}"#,
    )
    .unwrap();
}

fn export(dir: &Path, config: &Path, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "-c",
        config.to_str().unwrap(),
        "export",
        "cloudformation",
        "--dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    keyless_in(dir, &args, &[], None)
}

#[test]
fn exported_templates_pass_cfn_lint_and_name_no_account_or_partition() {
    let tools = tools();
    let work = tempfile::tempdir().unwrap();
    write_config(work.path());
    let mut configs = vec![(
        "platform".to_string(),
        work.path().join("keyless.toml"),
        "123456789012",
    )];
    for e in ["keyless.toml", "multi-role.toml", "enterprise.toml"] {
        configs.push((e.into(), PathBuf::from(example(e)), "123456789012"));
    }
    let mut templates = Vec::new();
    for (label, config, account) in &configs {
        let out = work.path().join(format!("out-{label}"));
        std::fs::create_dir_all(&out).unwrap();
        let r = export(
            &out,
            config,
            &["--stack-set", "keyless-oidc", "--ou", "ou-ab12-cd34ef56"],
        );
        expect(&r, 0);
        let path = out.join("keyless.cfn.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(account),
            "{label}: a literal account:\n{text}"
        );
        assert!(
            !text.contains("arn:aws:"),
            "{label}: a literal partition:\n{text}"
        );
        let t: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            t["Resources"]["GitHubOIDCProvider"]["Condition"], "CreateOIDCProvider",
            "{label}"
        );
        let script = out.join("deploy-stack-set.sh");
        let body = std::fs::read_to_string(&script).unwrap();
        for want in [
            "--permission-model SERVICE_MANAGED",
            "--auto-deployment Enabled=true",
            "--capabilities CAPABILITY_NAMED_IAM",
            "OrganizationalUnitIds=ou-ab12-cd34ef56",
        ] {
            assert!(body.contains(want), "{label}: {want}\n{body}");
        }
        let sc = tool(&tools, "shellcheck").arg(&script).output().unwrap();
        assert!(
            sc.status.success(),
            "{}",
            String::from_utf8_lossy(&sc.stdout)
        );
        templates.push(path);
    }
    // The organisation guard as an AWS::Organizations::Policy (keyless export ... --guard).
    let guard_dir = work.path().join("out-guard");
    std::fs::create_dir_all(&guard_dir).unwrap();
    std::fs::write(
        guard_dir.join("guard.toml"),
        "name = \"org-guard\"\n[guard]\nowner_ids = [\"123456\", \"7890\"]\nenterprise_ids = [\"42\"]\ntargets = [\"r-ab12\", \"ou-ab12-cd34ef56\"]\nissuers = [\"https://token.actions.githubusercontent.com\", \"https://token.actions.githubusercontent.com/octo-inc\"]\n",
    )
    .unwrap();
    let r = export(&guard_dir, &guard_dir.join("guard.toml"), &["--guard"]);
    expect(&r, 0);
    let path = guard_dir.join("keyless-guard.cfn.json");
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let p = &t["Resources"]["KeylessGitHubGuard"];
    assert_eq!(p["Type"], "AWS::Organizations::Policy");
    assert_eq!(p["Properties"]["Type"], "RESOURCE_CONTROL_POLICY");
    assert_eq!(
        p["Properties"]["Content"]["Statement"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    templates.push(path);
    // cfn-lint with every rule that reports by default, informational ones included, and I3042
    // (hard-coded partitions in substitutions) also checking account IDs.
    let lint = tool(&tools, "cfn-lint")
        .args(&templates)
        .args(["--include-checks", "I"])
        .args(["--configure-rule", "I3042:accountId=true"])
        .output()
        .unwrap();
    assert!(
        lint.status.success() && lint.stdout.is_empty(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn bad_stack_set_arguments_are_refused_with_the_fix() {
    let work = tempfile::tempdir().unwrap();
    write_config(work.path());
    let config = work.path().join("keyless.toml");
    let r = export(
        work.path(),
        &config,
        &["--stack-set", "k", "--ou", "engineering"],
    );
    expect(&r, 1);
    assert!(
        r.stderr.contains("\"engineering\"") && r.stderr.contains("ou-"),
        "{}",
        r.stderr
    );
    let r = export(
        work.path(),
        &config,
        &["--stack-set", "1st", "--ou", "r-ab12"],
    );
    expect(&r, 1);
    assert!(r.stderr.contains("start with a letter"), "{}", r.stderr);
    // Without --dir the template goes to stdout, as JSON.
    let r = keyless_in(work.path(), &["export", "cloudformation"], &[], None);
    expect(&r, 0);
    let t: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(t["Resources"]["RoleGhaSite"].is_object());
}

/// moto's server on a free loopback port, stopped on drop.
pub(crate) struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    pub(crate) fn start(tools: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tool(tools, "moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_template_deployed_by_cloudformation_is_what_apply_would_make() {
    let tools = tools();
    let work = tempfile::tempdir().unwrap();
    write_config(work.path());
    let config = work.path().join("keyless.toml");
    expect(&export(work.path(), &config, &[]), 0);
    let moto = Moto::start(&tools);
    let deploy = tool(&tools, "python")
        .arg(root().join("tests/fixtures/cfn-deploy.py"))
        .arg(&moto.endpoint)
        .arg(work.path().join("keyless.cfn.json"))
        .output()
        .unwrap();
    assert!(
        deploy.status.success(),
        "{}{}",
        String::from_utf8_lossy(&deploy.stdout),
        String::from_utf8_lossy(&deploy.stderr)
    );
    let stack: serde_json::Value = serde_json::from_slice(&deploy.stdout).unwrap();
    assert_eq!(stack["outputs"].as_array().unwrap().len(), 2, "{stack}");
    let env = moto.env();
    for reads in ["per-role", "account"] {
        let r = keyless_in(
            work.path(),
            &["check", "--no-github", "--output", "json", "--reads", reads],
            &env,
            None,
        );
        assert_eq!(r.code, 0, "--reads {reads}: {}\n{}", r.stdout, r.stderr);
        let j = r.json();
        assert_eq!(j["in_sync"], true, "{j}");
        assert_eq!(j["roles_checked"], 2);
    }
    let plan = keyless_in(
        work.path(),
        &["plan", "--no-github", "--detailed-exitcode"],
        &env,
        None,
    );
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}
