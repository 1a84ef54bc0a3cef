//! Distribution: what a release builds (`dist plan`), the GitHub Action (its schema, and its
//! install script against a loopback server serving a release-shaped directory made from this
//! build's binary), and that nothing installs keyless by a name resolved at run time.

use std::path::{Path, PathBuf};
use std::process::Command;

use keyless_testkit::Files;

use crate::util::{example, expect, keyless_in, root};

fn tool(name: &str) -> PathBuf {
    crate::util::need_tools(&[name]).join("bin").join(name)
}

const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

#[test]
fn dist_plans_every_archive_with_checksums_and_installers_and_never_the_kit() {
    let out = Command::new(tool("dist"))
        .args(["plan", "--output-format=json"])
        .current_dir(root())
        .output()
        .expect("dist plan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let artifacts: Vec<&str> = plan["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for t in TARGETS {
        let ext = if t.contains("windows") {
            "zip"
        } else {
            "tar.xz"
        };
        let archive = format!("keyless-{t}.{ext}");
        assert!(
            artifacts.contains(&archive.as_str()),
            "{archive} in {artifacts:?}"
        );
        assert!(artifacts.contains(&format!("{archive}.sha256").as_str()));
    }
    for a in [
        "keyless-installer.sh",
        "keyless-installer.ps1",
        "sha256.sum",
    ] {
        assert!(artifacts.contains(&a), "{a} in {artifacts:?}");
    }
    assert!(
        !artifacts.iter().any(|a| a.contains("testkit")),
        "{artifacts:?}"
    );
}

#[test]
fn the_action_matches_githubs_schema_and_its_defaults_match_this_build() {
    let out = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-actions", "action.yml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let action: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(root().join("action.yml")).unwrap())
            .unwrap();
    assert_eq!(
        action["inputs"]["version"]["default"],
        env!("CARGO_PKG_VERSION"),
        "the action at a release's commit installs that release"
    );
    let script = std::fs::read_to_string(root().join("scripts/install.sh")).unwrap();
    assert!(script.contains(&format!("home=\"{}\"", keyless::release::HOME)));
    let out = Command::new(tool("shellcheck"))
        .arg(root().join("scripts/install.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A release-shaped directory, `v0.1.0/keyless-TARGET.{tar.xz,zip}` with `.sha256` files. This
/// machine's archive holds this build's binary; the others a small stand-in (they are only
/// chosen and verified here, never run).
fn release_dir(dir: &Path) -> PathBuf {
    let rel = dir.join("releases");
    let v = rel.join(format!("v{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&v).unwrap();
    let stand_in = dir.join("stand-in");
    std::fs::write(&stand_in, "#!/bin/sh\necho keyless stand-in\n").unwrap();
    for t in TARGETS {
        let bin = if t == "x86_64-unknown-linux-musl" {
            PathBuf::from(env!("CARGO_BIN_EXE_keyless"))
        } else {
            stand_in.clone()
        };
        let stage = dir.join("stage").join(t);
        let (archive, status) = if t.contains("windows") {
            std::fs::create_dir_all(&stage).unwrap();
            std::fs::copy(&bin, stage.join("keyless.exe")).unwrap();
            let archive = v.join(format!("keyless-{t}.zip"));
            let s = Command::new("zip")
                .args(["-q", "-j"])
                .arg(&archive)
                .arg(stage.join("keyless.exe"))
                .status()
                .unwrap();
            (archive, s)
        } else {
            let inner = stage.join(format!("keyless-{t}"));
            std::fs::create_dir_all(&inner).unwrap();
            std::fs::copy(&bin, inner.join("keyless")).unwrap();
            let archive = v.join(format!("keyless-{t}.tar.xz"));
            let s = Command::new("tar")
                .env("XZ_OPT", "-0 -T0")
                .arg("-cJf")
                .arg(&archive)
                .arg("-C")
                .arg(&stage)
                .arg(format!("keyless-{t}"))
                .status()
                .unwrap();
            (archive, s)
        };
        assert!(status.success());
        let sum = Command::new("sha256sum").arg(&archive).output().unwrap();
        let hash = String::from_utf8(sum.stdout).unwrap();
        let name = archive.file_name().unwrap().to_string_lossy().into_owned();
        let line = format!("{}  {name}\n", hash.split_whitespace().next().unwrap());
        std::fs::write(v.join(format!("{name}.sha256")), line).unwrap();
    }
    rel
}

struct Install {
    code: i32,
    stdout: String,
    stderr: String,
}

fn install(files: &Files, cache: &Path, os: &str, arch: &str, version: &str) -> Install {
    let out = Command::new("bash")
        .arg(root().join("scripts/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cache)
        .env("KEYLESS_VERSION", version)
        .env("KEYLESS_RELEASES_URL", files.url())
        .env("KEYLESS_CACHE_DIR", cache)
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .output()
        .unwrap();
    Install {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_install_script_picks_verifies_caches_and_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let files = Files::serve(release_dir(dir.path()));
    let cache = dir.path().join("cache");
    let v = env!("CARGO_PKG_VERSION");
    // The right archive per OS and architecture.
    for (os, arch, target) in [
        ("Linux", "X64", "x86_64-unknown-linux-musl"),
        ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        ("macOS", "X64", "x86_64-apple-darwin"),
        ("macOS", "ARM64", "aarch64-apple-darwin"),
        ("Windows", "X64", "x86_64-pc-windows-msvc"),
    ] {
        let r = install(&files, &cache, os, arch, v);
        assert_eq!(r.code, 0, "{os}/{arch}: {}", r.stderr);
        assert!(r.stdout.ends_with(&format!("{v}/{target}")), "{}", r.stdout);
        let last = files.requests();
        assert!(
            last.iter()
                .any(|p| p.contains(&format!("keyless-{target}."))),
            "{os}/{arch}: {last:?}"
        );
    }
    // This machine's archive runs, SHA-256 checked.
    let dirpath = install(&files, &cache, "Linux", "X64", v).stdout;
    let out = Command::new(Path::new(&dirpath).join("keyless"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(v));
    // The second run is served from the cache: no download.
    let before = files.requests().len();
    let r = install(&files, &cache, "Linux", "X64", v);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("from the cache"), "{}", r.stderr);
    assert_eq!(files.requests().len(), before);
    // A checksum that does not match is refused, and nothing is cached.
    let fresh = dir.path().join("fresh");
    let sum = dir.path().join(format!(
        "releases/v{v}/keyless-x86_64-unknown-linux-musl.tar.xz.sha256"
    ));
    std::fs::write(
        &sum,
        format!(
            "{}  keyless-x86_64-unknown-linux-musl.tar.xz\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let r = install(&files, &fresh, "Linux", "X64", v);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("checksum mismatch") && r.stderr.contains("refusing"),
        "{}",
        r.stderr
    );
    assert!(!fresh.join(v).exists());
    // An unknown version says so.
    let r = install(&files, &fresh, "Linux", "X64", "9.9.9");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("keyless 9.9.9 has no keyless-x86_64-unknown-linux-musl.tar.xz"),
        "{}",
        r.stderr
    );
    // An unsupported platform too.
    let r = install(&files, &fresh, "Linux", "ARM", v);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no keyless release for Linux/ARM"),
        "{}",
        r.stderr
    );
}

/// Lines that would install keyless (or run whatever a registry serves) by a name resolved at
/// run time.
fn unpinned_installs(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            let l = l.trim();
            !l.starts_with('#')
                && (l.contains("cargo install keyless")
                    || l.contains("cargo install --locked keyless")
                    || l.contains("cargo binstall")
                    || l.contains("pip install keyless")
                    || l.contains("npm install keyless")
                    || (l.starts_with("uses:") || l.starts_with("- uses:"))
                        && l.split('@').nth(1).is_none_or(|r| {
                            !keyless::release::is_commit(r.split_whitespace().next().unwrap_or(""))
                        })
                        && !l.contains("./"))
        })
        .map(String::from)
        .collect()
}

#[test]
fn nothing_installs_keyless_by_an_unpinned_name() {
    // Every workflow keyless emits.
    let dir = tempfile::tempdir().unwrap();
    for ex in ["keyless.toml", "multi-role.toml"] {
        let r = keyless_in(
            dir.path(),
            &["-c", &example(ex), "render", "--output", "json"],
            &[],
            None,
        );
        for role in r.json()["roles"].as_array().unwrap() {
            let name = role["name"].as_str().unwrap();
            let w = keyless_in(
                dir.path(),
                &["-c", &example(ex), "emit", "workflow", "--role", name],
                &[],
                None,
            );
            expect(&w, 0);
            assert!(
                unpinned_installs(&w.stdout).is_empty(),
                "{name}: {:?}",
                unpinned_installs(&w.stdout)
            );
            assert!(
                w.stdout.contains("keyless-dev/keyless@"),
                "the verify step uses the pinned action"
            );
        }
    }
    let c = keyless_in(
        dir.path(),
        &["-c", &example("multi-role.toml"), "emit", "check-workflow"],
        &[],
        None,
    );
    expect(&c, 0);
    assert!(
        unpinned_installs(&c.stdout).is_empty(),
        "{:?}",
        unpinned_installs(&c.stdout)
    );
    // Every workflow, action and script in the repository.
    let mut files = vec![root().join("action.yml"), root().join("scripts/install.sh")];
    for d in ["examples", ".github/workflows"] {
        for e in std::fs::read_dir(root().join(d)).unwrap() {
            let p = e.unwrap().path();
            if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yml" | "yaml" | "sh")
            ) {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            unpinned_installs(&text).is_empty(),
            "{}: {:?}",
            f.display(),
            unpinned_installs(&text)
        );
    }
    // A build that does not know its commit emits no unpinned action: it asks for one.
    let cfg = dir.path().join("k.toml");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(example("multi-role.toml"))
            .unwrap()
            .replace(
                "version = 1\n",
                "version = 1\n[workflow]\nkeyless_commit = \"v0.1.0\"\n",
            ),
    )
    .unwrap();
    let r = keyless_in(
        dir.path(),
        &["-c", "k.toml", "emit", "check-workflow"],
        &[],
        None,
    );
    expect(&r, 1);
    assert!(r.stderr.contains("workflow.keyless_commit"), "{}", r.stderr);
}
