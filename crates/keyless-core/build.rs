//! Records the commit keyless is built from (`git rev-parse HEAD`), so the workflows it emits can
//! pin its GitHub Action by that commit. A build outside a git checkout records nothing, and
//! `[workflow] keyless_commit` must then name the commit.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs");
    println!("cargo:rerun-if-env-changed=KEYLESS_BUILD_COMMIT");
    let commit = std::env::var("KEYLESS_BUILD_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()?;
        let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()))
            .then_some(sha)
    });
    if let Some(sha) = commit {
        println!("cargo:rustc-env=KEYLESS_BUILD_COMMIT={sha}");
    }
}
