//! No output of any command, at any verbosity or format, and no file keyless writes, contains a
//! secret access key, a session token, the runner's request token or a raw OIDC token.

use keyless_testkit::{Claims, GITHUB_ISSUER, Issuer};

use crate::util::{Env, keyless_in};

const SECRET: &str = "CANARYsecretKEY0000000000000000000000000";
const SESSION: &str = "CANARYsessionTOKENxyz";

#[test]
fn every_command_in_every_format_keeps_secrets_out() {
    let e = Env::new();
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let token = issuer.mint(&Claims::push("octo-org/site", "main"));
    std::fs::write(e.dir.path().join("token.jwt"), &token).unwrap();
    let summary = e.dir.path().join("summary.md");
    let mut env: Vec<(&str, String)> = e
        .kit
        .env()
        .into_iter()
        .map(|(k, v)| {
            if k == "AWS_SECRET_ACCESS_KEY" {
                (k, SECRET.to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    env.push(("AWS_SESSION_TOKEN", SESSION.into()));
    env.push(("GITHUB_STEP_SUMMARY", summary.display().to_string()));
    env.extend(issuer.runner_env());
    let request_token = issuer.runner_env()[1].1.clone();
    let init = [
        "init",
        "--yes",
        "--force",
        "--repo",
        "octo-org/site",
        "--branch",
        "main",
        "--preset",
        "s3-deploy",
        "--param",
        "bucket=octo-site",
        "--apply",
    ];
    let commands: Vec<Vec<&str>> = vec![
        init.to_vec(),
        vec!["render"],
        vec!["lint"],
        vec!["plan"],
        vec!["apply", "--yes", "--verify"],
        vec!["check"],
        vec!["check", "--output", "github"],
        vec!["verify"],
        vec!["verify", "--token-file", "token.jwt"],
        vec![
            "explain",
            "--repo",
            "octo-org/site",
            "--environment",
            "prod",
        ],
        vec!["emit", "variable"],
        vec!["emit", "workflow"],
        vec!["destroy", "--yes"],
    ];
    let mut runs = 0;
    for cmd in &commands {
        for extra in [
            &[][..],
            &["-v"][..],
            &["--output", "json"][..],
            &["--output", "json", "-v"][..],
        ] {
            if cmd.contains(&"--output") && extra.contains(&"--output") {
                continue;
            }
            let mut args = cmd.clone();
            args.extend_from_slice(extra);
            let r = keyless_in(e.dir.path(), &args, &env, None);
            runs += 1;
            let text = format!("{}\n{}", r.stdout, r.stderr);
            for (what, secret) in [
                ("secret key", SECRET),
                ("session token", SESSION),
                ("runner request token", request_token.as_str()),
                ("raw token", token.as_str()),
            ] {
                assert!(
                    !text.contains(secret),
                    "`keyless {}` printed the {what}",
                    args.join(" ")
                );
            }
            assert!(
                !text.contains(token.rsplit('.').next().unwrap()),
                "`keyless {}` printed a token signature",
                args.join(" ")
            );
        }
    }
    assert!(runs >= 40, "{runs}");
    // Files keyless wrote.
    for f in ["keyless.toml", "summary.md"] {
        let Ok(text) = std::fs::read_to_string(e.dir.path().join(f)) else {
            continue;
        };
        for secret in [SECRET, SESSION, request_token.as_str(), token.as_str()] {
            assert!(!text.contains(secret), "{f} holds a secret");
        }
    }
}
