//! Paths that would escape: policy files and templates reached through links or `..`, file
//! names made from IAM names, writes through links, a script's mode under the umask.

use std::os::unix::fs::{PermissionsExt, symlink};

use keyless_testkit::ACCOUNT_ID;

use crate::apply::SITE;
use crate::util::{Env, keyless_in};

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}]}"#;

fn with_inline(file: &str) -> String {
    format!(
        "account_id = \"{ACCOUNT_ID}\"\n{SITE}  [[role.inline_policy]]\n  name = \"extra\"\n  file = \"{file}\"\n"
    )
}

#[test]
fn policy_files_and_templates_stay_inside_the_config_directory() {
    let e = Env::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.json"), POLICY).unwrap();
    // A link to a file outside, and a linked directory, with the config named without a
    // directory (`-c keyless.toml`, the default): both refused.
    symlink(
        outside.path().join("secret.json"),
        e.dir.path().join("linked.json"),
    )
    .unwrap();
    symlink(outside.path(), e.dir.path().join("linked-dir")).unwrap();
    for file in ["linked.json", "linked-dir/secret.json"] {
        e.write(&with_inline(file));
        let r = e.run(&["render", "--no-github"]);
        assert_eq!(r.code, 1, "{file}: {}", r.stdout);
        assert!(
            r.stderr.contains("outside the config directory"),
            "{file}: {}",
            r.stderr
        );
    }
    // The same file copied in is read.
    std::fs::write(e.dir.path().join("inside.json"), POLICY).unwrap();
    e.write(&with_inline("inside.json"));
    let r = e.run(&["render", "--no-github"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // templates_dir: `..`, an absolute path and a link out are refused.
    std::fs::create_dir(outside.path().join("tpl")).unwrap();
    symlink(outside.path().join("tpl"), e.dir.path().join("tpl-link")).unwrap();
    let abs = outside.path().join("tpl").display().to_string();
    for dir in ["..", abs.as_str(), "tpl-link"] {
        e.write(&format!("templates_dir = \"{dir}\"\n{SITE}"));
        let r = e.run(&["lint", "--no-github"]);
        assert_eq!(r.code, 1, "{dir}: {}", r.stdout);
        assert!(r.stderr.contains("templates_dir"), "{dir}: {}", r.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_iam_name_never_becomes_a_path_out_of_imported() {
    let e = Env::new();
    crate::import::hand_made(&e).await;
    let iam = e.iam().await;
    // `..` is a legal IAM role name; give it an inline policy so that a file is written for it.
    let trust = crate::util::live_trust(&iam, "site-deploy").await;
    iam.create_role()
        .role_name("..")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("..")
        .policy_name("..")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    let r = e.run(&["import", "--role", ".."]);
    assert!(r.code == 0 || r.code == 2, "{}\n{}", r.stdout, r.stderr);
    // Nothing was written beside or above the config's directory.
    let mut written = Vec::new();
    for entry in walk(e.dir.path()) {
        written.push(entry);
    }
    assert!(
        written.iter().all(|p| p.starts_with(e.dir.path())),
        "{written:?}"
    );
    assert!(
        e.dir.path().join("imported/_../_...json").is_file(),
        "{written:?}"
    );
    assert!(!e.dir.path().join("....json").exists());
    let cfg = std::fs::read_to_string(e.dir.path().join("keyless.toml")).unwrap();
    assert!(cfg.contains("imported/_../_...json"), "{cfg}");
}

/// Two roles whose names make the same file name (`..` and `_..`) get a directory each, and
/// the plan after the import changes nothing: neither role's policy lands on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_names_that_sanitise_alike_get_a_directory_each() {
    let e = Env::new();
    crate::import::hand_made(&e).await;
    let iam = e.iam().await;
    let trust = crate::util::live_trust(&iam, "site-deploy").await;
    for (role, action) in [("..", "s3:GetObject"), ("_..", "s3:PutObject")] {
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(&trust)
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(role)
            .policy_name("p")
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"arn:aws:s3:::b/*"}}]}}"#
            ))
            .send()
            .await
            .unwrap();
    }
    let r = e.run(&["import", "--role", "..", "--role", "_.."]);
    assert!(r.code == 0 || r.code == 2, "{}\n{}", r.stdout, r.stderr);
    let first = std::fs::read_to_string(e.dir.path().join("imported/_../p.json")).unwrap();
    let second = std::fs::read_to_string(e.dir.path().join("imported/_..-2/p.json")).unwrap();
    assert!(
        first.contains("s3:GetObject") && second.contains("s3:PutObject"),
        "{first}\n{second}"
    );
    // The plan after the import only adopts the roles (keyless's tags): no document changes,
    // so neither role's policy lands on the other.
    let r = e.run(&["plan"]);
    assert!(
        r.stdout.contains("0 to add, 2 to change, 0 to destroy")
            && r.stdout.matches("(TagRole)").count() == 2,
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn nothing_is_written_through_a_link_and_a_script_follows_the_umask() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(
        dir.join("keyless.toml"),
        format!("account_id = \"{ACCOUNT_ID}\"\n{SITE}"),
    )
    .unwrap();
    // export --dir out, where out/keyless.cfn.json is a link to a file elsewhere.
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep").unwrap();
    symlink(&victim, out.join("keyless.cfn.json")).unwrap();
    let r = keyless_in(
        dir,
        &["export", "cloudformation", "--dir", "out"],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    // init with a dangling keyless.toml link: refused, and its target is not created.
    let fresh = dir.join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    symlink(dir.join("elsewhere.toml"), fresh.join("keyless.toml")).unwrap();
    let r = keyless_in(
        &fresh,
        &[
            "init",
            "--yes",
            "--repo",
            "octo-org/site",
            "--branch",
            "main",
            "--preset",
            "s3-read",
            "--param",
            "bucket=octo-site",
            "--account-id",
            ACCOUNT_ID,
            "--no-github",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(!dir.join("elsewhere.toml").exists());
    // The StackSet script is executable as far as the umask allows: 0700 under umask 077.
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 077; exec '{}' export cloudformation --dir out2 --stack-set k --ou ou-ab12-cd34ef56",
            env!("CARGO_BIN_EXE_keyless")
        ))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mode = std::fs::metadata(dir.join("out2/deploy-stack-set.sh"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "{mode:o}");
}
