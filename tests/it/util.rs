//! Running the keyless binary in a clean environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use keyless_testkit::Kit;

/// Path of the repository root (for examples/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where `tests/outside-tools.sh` puts the outside checkers (a venv under target/, or
/// `KEYLESS_OUTSIDE_TOOLS`).
pub fn outside_tools() -> PathBuf {
    std::env::var_os("KEYLESS_OUTSIDE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/outside-tools"))
}

/// The outside tools' directory, after checking that each of `bins` is there: a test that needs
/// one fails first, in one line naming the tool and the command that installs it, never deep
/// inside with a missing-file error.
pub fn need_tools(bins: &[&str]) -> PathBuf {
    let dir = outside_tools();
    for b in bins {
        let found = if b.contains('/') {
            dir.join(b).exists()
        } else {
            dir.join("bin").join(b).exists()
        };
        if !found {
            panic!(
                "outside tool `{b}` is missing from {}: install it with `bash tests/outside-tools.sh`",
                dir.display()
            );
        }
    }
    dir
}

/// `name` on PATH (a Debian package `tests/outside-tools.sh` installs), checked the same way.
pub fn need_on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("`{name}` is not on PATH: install it with `bash tests/outside-tools.sh`")
        })
}

/// An example config.
pub fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Run `keyless ARGS` with only the given environment (plus PATH), in `dir`, with `stdin`.
pub fn keyless_in(dir: &Path, args: &[&str], env: &[(&str, String)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyless"));
    cmd.args(args).current_dir(dir).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("HOME", dir);
    cmd.env("AWS_CONFIG_FILE", dir.join("no-aws-config"));
    cmd.env(
        "AWS_SHARED_CREDENTIALS_FILE",
        dir.join("no-aws-credentials"),
    );
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn keyless");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out: Output = child.wait_with_output().expect("wait for keyless");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run keyless in a fresh temporary directory.
pub fn keyless(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    keyless_in(dir.path(), args, &[], None)
}

/// A fresh test-kit IAM/STS and a config directory.
pub struct Env {
    pub kit: Kit,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            kit: Kit::start(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn write(&self, config: &str) {
        std::fs::write(self.dir.path().join("keyless.toml"), config).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Run {
        keyless_in(self.dir.path(), args, &self.kit.env(), None)
    }

    /// Write calls (anything but Get*/List*) since the last reset.
    pub fn writes(&self) -> Vec<String> {
        self.kit
            .calls()
            .into_iter()
            .filter(|((_, a), _)| {
                !a.starts_with("Get") && !a.starts_with("List") && !a.starts_with("Describe")
            })
            .map(|((_, a), n)| format!("{a}={n}"))
            .collect()
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.kit.sdk_config().await)
    }

    /// IAM as the kit's administrator (allowed everything under strict IAM).
    pub async fn admin_iam(&self) -> aws_sdk_iam::Client {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(self.kit.endpoint())
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "testadmin",
                "x",
                None,
                None,
                "t",
            ))
            .load()
            .await;
        aws_sdk_iam::Client::new(&conf)
    }
}

pub fn decode(s: &str) -> serde_json::Value {
    keyless::policy::document::decode_document(s).unwrap()
}

pub fn expect(r: &Run, code: i32) {
    assert_eq!(r.code, code, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

/// Credentials and an endpoint nothing listens on (port 1), with retries off: every AWS call
/// fails at once with a dispatch failure.
pub fn unreachable_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "AKIAX".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "x".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_MAX_ATTEMPTS", "1".to_string()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_string()),
    ]
}

/// A role's trust policy as IAM holds it, decoded (IAM returns it URL-encoded).
pub async fn live_trust(iam: &aws_sdk_iam::Client, role: &str) -> String {
    let trust = iam
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .assume_role_policy_document
        .unwrap();
    percent_encoding::percent_decode_str(&trust)
        .decode_utf8_lossy()
        .into_owned()
}

/// README's section under `heading` (from it to the next `## `).
pub fn readme_section(heading: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let section = &readme[start..];
    section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)].to_string()
}

/// The cells of each Markdown table row in `text` (every line that starts with `|`), trimmed.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}
