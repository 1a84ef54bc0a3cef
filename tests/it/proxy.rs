//! Corporate networks: every HTTPS call keyless makes (IAM/STS, GitHub's REST API, the runner's
//! token endpoint) goes through `HTTPS_PROXY` and trusts a private CA, through the kit's
//! TLS-inspecting proxy. The kit's names (`*.kit.test`) resolve nowhere: a run that succeeds went
//! through the proxy, and the proxy's log says which targets it carried.

use std::net::SocketAddr;

use keyless_testkit::github::Repo;
use keyless_testkit::proxy::{Proxy, fixtures};
use keyless_testkit::{Claims, GITHUB_ISSUER, GitHub, Issuer};

use crate::github::TOKEN;
use crate::util::{Env, Run, expect, keyless_in};

const SITE: &str = "account_id = \"123456789012\"\n[[role]]\nname = \"gha-site\"\n  [[role.subject]]\n  repo = \"octo-org/site\"\n  branch = \"main\"\n  [[role.preset]]\n  name = \"s3-deploy\"\n  params = { bucket = \"octo-site\" }\n";

struct Net {
    e: Env,
    gh: GitHub,
    issuer: Issuer,
    proxy: Proxy,
}

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

fn net() -> Net {
    let e = Env::new();
    let gh = GitHub::start(TOKEN);
    gh.add_repo(Repo::new("octo-org/site", 123456, 456789));
    let issuer = Issuer::start(GITHUB_ISSUER, Claims::push("octo-org/site", "main"));
    let proxy = Proxy::start(&[
        ("aws.kit.test", addr(&e.kit.endpoint())),
        ("github.kit.test", addr(&gh.url())),
        ("token.kit.test", addr(&issuer.base_url())),
    ]);
    Net {
        e,
        gh,
        issuer,
        proxy,
    }
}

fn ca(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

impl Net {
    /// The kit's environment with every endpoint named behind the proxy, the proxy in
    /// `proxy_var`, and the private CA in `SSL_CERT_FILE`.
    fn env(&self, proxy_var: &'static str, proxy_url: &str) -> Vec<(&'static str, String)> {
        let mut env: Vec<_> = self
            .e
            .kit
            .env()
            .into_iter()
            .filter(|(k, _)| *k != "AWS_ENDPOINT_URL")
            .collect();
        env.push(("AWS_ENDPOINT_URL", "https://aws.kit.test".into()));
        env.push(("GH_TOKEN", TOKEN.into()));
        env.push(("KEYLESS_GITHUB_API_URL", "https://github.kit.test".into()));
        env.push(("SSL_CERT_FILE", ca("ca.pem")));
        env.push((proxy_var, proxy_url.into()));
        for (k, v) in self.issuer.runner_env() {
            let v = if k == "ACTIONS_ID_TOKEN_REQUEST_URL" {
                v.replace(&self.issuer.base_url(), "https://token.kit.test")
            } else {
                v
            };
            env.push((k, v));
        }
        env
    }

    fn run(&self, args: &[&str], env: &[(&'static str, String)]) -> Run {
        keyless_in(self.e.dir.path(), args, env, None)
    }
}

#[test]
fn init_apply_and_verify_go_through_the_proxy_and_trust_the_private_ca() {
    let n = net();
    let env = n.env("HTTPS_PROXY", &n.proxy.url());
    let r = n.run(
        &[
            "init",
            "--yes",
            "--repo",
            "octo-org/site",
            "--branch",
            "main",
            "--preset",
            "s3-deploy",
            "--param",
            "bucket=octo-site",
            "--apply",
        ],
        &env,
    );
    expect(&r, 0);
    // GitHub was read and written through the proxy.
    assert_eq!(
        n.gh.variable("octo-org/site", None, "AWS_ROLE_ARN")
            .as_deref(),
        Some("arn:aws:iam::123456789012:role/gha-octo-org-site-deploy")
    );
    // The runner's token endpoint and STS, through the proxy too (lower-case variable this time).
    let env = n.env("https_proxy", &n.proxy.url());
    let r = n.run(&["verify", "--role", "gha-octo-org-site-deploy"], &env);
    expect(&r, 0);
    assert!(r.stdout.contains("VERIFIED"), "{}", r.stdout);
    let targets = n.proxy.targets();
    assert_eq!(
        targets.into_iter().collect::<Vec<_>>(),
        [
            "aws.kit.test:443",
            "github.kit.test:443",
            "token.kit.test:443"
        ],
        "every call went through the proxy, and nothing else did"
    );
    assert!(n.proxy.connects().iter().all(|c| c.authorization.is_none()));
}

#[test]
fn without_the_proxy_nothing_is_reached_and_no_proxy_sends_a_host_direct() {
    let n = net();
    n.e.write(SITE);
    // No proxy: the names resolve nowhere, so AWS fails, naming what it could not reach.
    let mut env = n.env("HTTPS_PROXY", &n.proxy.url());
    env.retain(|(k, _)| *k != "HTTPS_PROXY");
    let r = n.run(&["plan", "--no-github"], &env);
    expect(&r, 1);
    assert!(n.proxy.connects().is_empty());
    // NO_PROXY names GitHub's host: GitHub goes direct (and fails), AWS still goes through.
    let mut env = n.env("HTTPS_PROXY", &n.proxy.url());
    env.push(("NO_PROXY", "localhost,github.kit.test".into()));
    let r = n.run(&["plan"], &env);
    let targets = n.proxy.targets();
    assert!(targets.contains("aws.kit.test:443"), "{targets:?}");
    assert!(!targets.contains("github.kit.test:443"), "{targets:?}");
    assert!(
        r.stderr
            .contains("https://github.kit.test/repos/octo-org/site"),
        "GitHub's failure names the request: {}",
        r.stderr
    );
}

#[test]
fn proxy_credentials_are_sent_and_never_printed() {
    let n = net();
    let url = n
        .proxy
        .url()
        .replace("http://", "http://kit:s3cret-proxy-pw@");
    let env = n.env("HTTPS_PROXY", &url);
    n.e.write(SITE);
    let r = n.run(&["plan", "-v"], &env);
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(!text.contains("s3cret-proxy-pw"), "{text}");
    let github: Vec<_> = n
        .proxy
        .connects()
        .into_iter()
        .filter(|c| c.target.starts_with("github.kit.test"))
        .collect();
    // base64("kit:s3cret-proxy-pw")
    assert!(
        !github.is_empty()
            && github
                .iter()
                .all(|c| c.authorization.as_deref() == Some("Basic a2l0OnMzY3JldC1wcm94eS1wdw==")),
        "{github:?}"
    );
}

#[test]
fn aws_ca_bundle_is_the_aws_sides_trust_and_a_bad_one_is_named() {
    let n = net();
    let base = n.env("HTTPS_PROXY", &n.proxy.url());
    // The system's roots (SSL_CERT_FILE) trust another CA; AWS_CA_BUNDLE trusts the proxy's.
    let with = |extra: &[(&'static str, String)]| {
        let mut env: Vec<_> = base
            .iter()
            .filter(|(k, _)| *k != "SSL_CERT_FILE")
            .cloned()
            .collect();
        env.push(("SSL_CERT_FILE", ca("other-ca.pem")));
        env.extend_from_slice(extra);
        n.run(&["plan", "--no-github"], &env)
    };
    n.e.write(SITE);
    let r = with(&[("AWS_CA_BUNDLE", ca("ca.pem"))]);
    expect(&r, 0);
    assert!(r.stdout.contains("CreateRole"), "{}", r.stdout);
    let r = with(&[]);
    expect(&r, 1);
    assert!(
        r.stderr.to_lowercase().contains("certificate"),
        "an untrusted proxy certificate is named: {}",
        r.stderr
    );
    let r = with(&[("AWS_CA_BUNDLE", ca("missing.pem"))]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("AWS_CA_BUNDLE") && r.stderr.contains("missing.pem"),
        "{}",
        r.stderr
    );
    let r = with(&[("AWS_CA_BUNDLE", ca("server.key"))]);
    expect(&r, 1);
    assert!(
        r.stderr.contains("AWS_CA_BUNDLE") && r.stderr.contains("no PEM certificate"),
        "{}",
        r.stderr
    );
}
