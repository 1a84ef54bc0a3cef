//! `keyless init`'s answers, and the `keyless.toml` they produce.
//!
//! The wizard (in the binary) fills [`Answers`] from flags and prompts; this module validates
//! single answers with the same rules as the config loader and writes the config text, which is
//! parsed back with [`crate::config::parse`] before it is returned, so `init` can never write a
//! file that keyless itself would reject. No prompts and no I/O here.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::identity::issuer::{Issuer, IssuerKind};
use crate::identity::subject::{Scope, SubjectFormat};

/// One repository's trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoAnswer {
    /// `owner/repo`
    pub repo: String,
    /// What part of its workflows is admitted.
    pub scope: Scope,
    /// Owner and repository IDs, for the immutable form.
    pub ids: Option<(String, String)>,
    /// Subject form.
    pub format: SubjectFormat,
    /// A raw `sub` for a repository with a custom subject template (then scope, IDs and format
    /// only describe it).
    pub custom: Option<String>,
    /// Also require this owner ID (`repository_owner_id` claim): the owner pinned by ID.
    pub owner_pin: Option<String>,
    /// The owner's numeric ID, when known (from GitHub, or `--owner-id`).
    pub owner_id: Option<String>,
}

/// Everything `init` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// The config's identity (`name`), tagged on everything it creates.
    pub config_name: String,
    /// Account to pin, when known.
    pub account_id: Option<String>,
    /// Region for the workflow and regional presets.
    pub region: String,
    /// The GitHub issuer.
    pub issuer: Issuer,
    /// Trusted repositories.
    pub repos: Vec<RepoAnswer>,
    /// Presets with their parameters.
    pub presets: Vec<(String, BTreeMap<String, String>)>,
    /// Managed policy ARNs to attach.
    pub managed_policies: Vec<String>,
    /// Role name.
    pub role_name: String,
    /// Max session seconds.
    pub max_session_duration: i64,
    /// The variable that carries the role's ARN, when the default is taken on GitHub.
    pub variable: Option<String>,
}

/// `owner/repo` by GitHub's rules (no org-wide wildcard from the wizard). A pasted URL or clone
/// address gets the `OWNER/REPO` it names as a suggestion.
pub fn check_repo(s: &str) -> std::result::Result<(), String> {
    check_repo_exact(s).map_err(|m| match repo_suggestion(s) {
        Some(x) if x != s => format!("{m}; did you mean {x:?}?"),
        _ => m,
    })
}

fn check_repo_exact(s: &str) -> std::result::Result<(), String> {
    let Some((o, r)) = s.split_once('/') else {
        return Err("write it as OWNER/REPO, e.g. octo-org/octo-repo".into());
    };
    crate::identity::names::github_owner(o)?;
    crate::identity::names::github_repo_name(r)
}

/// The `OWNER/REPO` inside a repository URL or clone address (`https://github.com/o/r`,
/// `git@github.com:o/r.git`, `github.com/o/r/tree/main`), when there is a valid one.
pub fn repo_suggestion(s: &str) -> Option<String> {
    let mut rest = s.trim();
    for scheme in ["https://", "http://", "ssh://", "git://"] {
        if let Some(r) = rest.strip_prefix(scheme) {
            rest = r;
        }
    }
    if let Some(r) = rest.strip_prefix("git@") {
        rest = r;
    }
    // Drop a host (`github.com/`, `github.com:`, `ghe.example.com/`).
    if let Some(i) = rest.find(['/', ':'])
        && rest[..i].contains('.')
    {
        rest = &rest[i + 1..];
    }
    let mut parts = rest.trim_matches('/').split('/');
    let owner = parts.next()?;
    let repo = parts.next()?.trim_end_matches(".git");
    let candidate = format!("{owner}/{repo}");
    check_repo_exact(&candidate).ok().map(|_| candidate)
}

/// The default role name for a repository and scope: `gha-OWNER-REPO-PURPOSE` (deploy, plan for
/// pull requests, release for tags), within IAM's 64 characters.
pub fn suggest_role_name(repo: &str, scope: &Scope) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let (owner, name) = repo.split_once('/').unwrap_or(("", repo));
    let purpose = match scope {
        Scope::PullRequest => "plan",
        Scope::Tag(_) => "release",
        _ => "deploy",
    };
    // gha-OWNER-REPO-PURPOSE within IAM's 64 characters: the repository keeps its name first,
    // the owner is shortened before it.
    let room = 64 - "gha-".len() - 1 - purpose.len();
    let mut owner = safe(owner);
    let mut repo = safe(name);
    repo.truncate(room.saturating_sub(2).max(1));
    owner.truncate(room.saturating_sub(repo.len() + 1));
    let base = if owner.is_empty() {
        repo
    } else {
        format!("{owner}-{repo}")
    };
    format!("gha-{base}-{purpose}")
}

/// The config's identity for a repository: `owner-repo`, as `name` in keyless.toml.
pub fn suggest_config_name(repo: &str) -> String {
    crate::config::config_slug(repo)
}

/// A config name no other config in the account uses: `wanted`, else `wanted-2`, `wanted-3`, ...
/// `mine` is the name of the config file being rewritten, which may keep its own name.
pub fn free_config_name(
    wanted: &str,
    in_use: &std::collections::BTreeSet<String>,
    mine: Option<&str>,
) -> String {
    let taken = |n: &str| in_use.contains(n) && mine != Some(n);
    if !taken(wanted) {
        return wanted.to_string();
    }
    (2..)
        .map(|i| format!("{wanted}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| wanted.to_string())
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The commented config text for these answers, checked by parsing it back.
pub fn to_toml(a: &Answers) -> Result<String> {
    let mut t = String::from(
        "# keyless.toml, written by `keyless init`. Edit freely; `keyless plan` shows the effect.\n# Reference: README.md (\"keyless.toml\").\nversion = 1\n",
    );
    t.push_str(&format!(
        "name = {}      # this config's identity, tagged on what it creates; keep it stable\n",
        q(&a.config_name)
    ));
    match &a.account_id {
        Some(id) => t.push_str(&format!(
            "account_id = {}      # apply refuses other accounts\n",
            q(id)
        )),
        None => t.push_str("# account_id = \"123456789012\"   # pin the account (recommended)\n"),
    }
    t.push_str(&format!("region = {}\n", q(&a.region)));
    match &a.issuer.kind {
        IssuerKind::GitHubCom => {}
        IssuerKind::EnterpriseSlug { slug } => {
            t.push_str(&format!("\n[provider]\nenterprise_slug = {}\n", q(slug)))
        }
        IssuerKind::GheCom { subdomain, unique } => t.push_str(&format!(
            "\n[provider]\nghe_com = {}\nunique_issuer = {unique}\n",
            q(subdomain)
        )),
        IssuerKind::Ghes { host } => {
            t.push_str(&format!("\n[provider]\nghes_host = {}\n", q(host)))
        }
    }
    t.push_str(&role_toml(a));
    crate::config::parse(&t, "keyless.toml (generated)", Path::new(".")).map_err(|e| match e {
        Error::Config(list) => Error::Bug {
            message: format!(
                "init produced an invalid config from answers it accepted: {}",
                list.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        },
        other => other,
    })?;
    Ok(t)
}

/// The `[[role]]` table these answers describe, as config text.
pub fn role_toml(a: &Answers) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "\n[[role]]\nname = {}\nmax_session_duration = {}\n",
        q(&a.role_name),
        a.max_session_duration
    ));
    if let Some(v) = &a.variable {
        t.push_str(&format!(
            "variable = {}      # its own: the default name is taken at its place\n",
            q(v)
        ));
    }
    if !a.managed_policies.is_empty() {
        t.push_str(&format!(
            "managed_policies = [{}]\n",
            a.managed_policies
                .iter()
                .map(|m| q(m))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for r in &a.repos {
        if let Some(c) = &r.custom {
            t.push_str(&format!(
                "\n  [[role.subject]]\n  # {}: custom subject template (read from GitHub)\n  custom = {}\n",
                r.repo,
                q(c)
            ));
            continue;
        }
        t.push_str(&format!("\n  [[role.subject]]\n  repo = {}\n", q(&r.repo)));
        match &r.scope {
            Scope::Branch(b) => t.push_str(&format!("  branch = {}\n", q(b))),
            Scope::Tag(x) => t.push_str(&format!("  tag = {}\n", q(x))),
            Scope::Environment(e) => t.push_str(&format!("  environment = {}\n", q(e))),
            Scope::PullRequest => t.push_str("  pull_request = true\n"),
            Scope::AnyRef => {
                t.push_str("  any_ref = true      # every job of the repository (lint KL006)\n")
            }
        }
        if let Some((o, rid)) = &r.ids {
            t.push_str(&format!("  owner_id = {}\n  repo_id = {}\n", q(o), q(rid)));
        }
        let fmt = match r.format {
            SubjectFormat::Classic => "classic",
            SubjectFormat::Immutable => "immutable",
            SubjectFormat::Both => "both",
        };
        t.push_str(&format!("  format = {}\n", q(fmt)));
        if let Some(id) = &r.owner_pin {
            t.push_str(&format!(
                "  claims = {{ repository_owner_id = {} }}      # the owner, pinned by ID\n",
                q(id)
            ));
        }
    }
    for (name, params) in &a.presets {
        t.push_str(&format!("\n  [[role.preset]]\n  name = {}\n", q(name)));
        let ps: Vec<String> = params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} = {}", q(v)))
            .collect();
        if !ps.is_empty() {
            t.push_str(&format!("  params = {{ {} }}\n", ps.join(", ")));
        }
    }
    t
}

/// `text` (an existing config) with the role these answers describe added as one more
/// `[[role]]`, everything else kept as written (comments and order included). When the role's
/// variable would share the default name with a role already there, the new role gets a
/// variable of its own, so that no existing role's variable is renamed.
pub fn add_role(text: &str, file: &str, dir: &Path, a: &Answers) -> Result<String> {
    let before = crate::config::parse(text, file, dir)?;
    if before.roles.iter().any(|r| r.name == a.role_name) {
        return Err(Error::Config(vec![crate::error::ConfigError {
            file: file.to_string(),
            key: "role".into(),
            value: Some(format!("{:?}", a.role_name)),
            message: "the config already has a role of that name".into(),
            fix: Some("choose another role name (--role-name)".into()),
        }]));
    }
    let joined = |extra: &str| format!("{}\n{extra}", text.trim_end());
    let mut out = joined(&role_toml(a));
    let after = crate::config::parse(&out, file, dir)?;
    let renamed = before.roles.iter().any(|old| {
        let now = after.roles.iter().find(|r| r.name == old.name);
        now.is_some_and(|now| {
            crate::config::variables::variable_name(&before, old)
                != crate::config::variables::variable_name(&after, now)
        })
    });
    if renamed && a.variable.is_none() {
        let mut own = a.clone();
        own.variable = Some(crate::config::variables::role_variable(&a.role_name));
        out = joined(&role_toml(&own));
        crate::config::parse(&out, file, dir)?;
    }
    Ok(format!("{out}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> Answers {
        Answers {
            config_name: "octo-org-site".into(),
            account_id: Some("123456789012".into()),
            region: "eu-west-1".into(),
            issuer: Issuer::github_com(),
            repos: vec![
                RepoAnswer {
                    repo: "octo-org/site".into(),
                    scope: Scope::Branch("main".into()),
                    ids: Some(("1".into(), "2".into())),
                    custom: None,
                    format: SubjectFormat::Both,
                    owner_pin: None,
                    owner_id: None,
                },
                RepoAnswer {
                    repo: "octo-org/api".into(),
                    scope: Scope::Environment("prod \"eu\"".into()),
                    ids: None,
                    format: SubjectFormat::Classic,
                    custom: None,
                    owner_pin: Some("123456".into()),
                    owner_id: Some("123456".into()),
                },
            ],
            presets: vec![(
                "s3-deploy".into(),
                BTreeMap::from([
                    ("bucket".into(), "octo-site".into()),
                    ("prefix".into(), String::new()),
                ]),
            )],
            managed_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            role_name: "gha-site-deploy".into(),
            max_session_duration: 7200,
            variable: None,
        }
    }

    #[test]
    fn generated_config_parses_back_to_the_answers() {
        let text = to_toml(&answers()).unwrap();
        let cfg = crate::config::parse(&text, "k", Path::new(".")).unwrap();
        let r = &cfg.roles[0];
        assert_eq!(
            (r.name.as_str(), r.max_session_duration),
            ("gha-site-deploy", 7200)
        );
        assert_eq!(
            r.subjects[0].patterns(),
            vec![
                "repo:octo-org@1/site@2:ref:refs/heads/main",
                "repo:octo-org/site:ref:refs/heads/main"
            ]
        );
        assert_eq!(r.subjects[1].environment(), Some("prod \"eu\""));
        assert_eq!(
            r.presets[0].params.get("bucket").map(String::as_str),
            Some("octo-site")
        );
        assert!(
            !r.presets[0].params.contains_key("prefix"),
            "empty optional params are left out"
        );
        assert_eq!(cfg.account_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn issuers_round_trip() {
        for issuer in [
            Issuer::enterprise_slug("octo-inc").unwrap(),
            Issuer::ghe_com("octo", true).unwrap(),
            Issuer::ghes("gh.example.com").unwrap(),
        ] {
            let mut a = answers();
            a.issuer = issuer.clone();
            let cfg = crate::config::parse(&to_toml(&a).unwrap(), "k", Path::new(".")).unwrap();
            assert_eq!(cfg.issuer, issuer);
            assert_eq!((cfg.name.as_str(), cfg.name_given), ("octo-org-site", true));
        }
    }

    #[test]
    fn helpers() {
        let main = Scope::Branch("main".into());
        // The owner and the purpose are in the name, so two owners' `site` or one repository's
        // plan and deploy roles never share a default.
        assert_eq!(
            suggest_role_name("octo-org/My.Site", &main),
            "gha-octo-org-My.Site-deploy"
        );
        assert_ne!(
            suggest_role_name("octo-org/site", &main),
            suggest_role_name("other-org/site", &main)
        );
        assert_eq!(
            suggest_role_name("octo-org/infra", &Scope::PullRequest),
            "gha-octo-org-infra-plan"
        );
        assert_eq!(
            suggest_role_name("octo-org/app", &Scope::Tag("v*".into())),
            "gha-octo-org-app-release"
        );
        for (o, r) in [
            ("o".to_string(), "x".repeat(100)),
            ("y".repeat(39), "x".repeat(100)),
        ] {
            let n = suggest_role_name(&format!("{o}/{r}"), &main);
            assert!(n.len() <= 64 && n.ends_with("-deploy"), "{n}");
            assert!(crate::identity::names::iam_role_name(&n).is_ok(), "{n}");
        }
        assert_eq!(suggest_config_name("Octo-Org/Site"), "octo-org-site");
        assert!(check_repo("octo-org/site").is_ok());
        for pasted in [
            "https://github.com/octo-org/site",
            "https://github.com/octo-org/site.git",
            "git@github.com:octo-org/site.git",
            "github.com/octo-org/site/tree/main",
        ] {
            assert_eq!(
                repo_suggestion(pasted).as_deref(),
                Some("octo-org/site"),
                "{pasted}"
            );
            assert!(
                check_repo(pasted)
                    .unwrap_err()
                    .contains("did you mean \"octo-org/site\"")
            );
        }
        for bad in ["octo-org", "octo org/site", "o/*", "-o/r"] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_config_name_in_use_gets_a_free_suffix_unless_it_is_this_files() {
        let in_use: std::collections::BTreeSet<String> = ["octo-org-site", "octo-org-site-2"]
            .map(String::from)
            .into();
        assert_eq!(
            free_config_name("octo-org-api", &in_use, None),
            "octo-org-api"
        );
        assert_eq!(
            free_config_name("octo-org-site", &in_use, None),
            "octo-org-site-3"
        );
        assert_eq!(
            free_config_name("octo-org-site", &in_use, Some("octo-org-site")),
            "octo-org-site"
        );
    }
}
