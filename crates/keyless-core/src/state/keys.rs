//! Stored AWS keys: where GitHub holds them, which workflows pass them, which IAM user's key
//! each is, and what links them, with the evidence and how sure it is. Pure: the secrets, the
//! workflow files, the credential report and the CloudTrail records come in as values.
//!
//! A link is never guessed. A key is tied to a repository only by evidence naming that
//! repository: a `keyless keys identify` call made with the stored key (its user agent carries
//! the repository's ID), or the key's description or its user's tags naming the repository.
//! Evidence that a key is used from GitHub Actions at all (a call from GitHub's hosted-runner
//! ranges, or with configure-aws-credentials' user agent) is reported as such, without a
//! repository. Anything unlinked is listed as unlinked.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::policy::finding::{AUDIT_RULES, Finding};

/// The inputs of aws-actions/configure-aws-credentials that carry a stored key.
pub const KEY_INPUTS: &[&str] = &[
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-session-token",
];

/// The environment variables that carry a stored key.
pub const KEY_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The user agent configure-aws-credentials' own STS client sends.
pub const ACTION_AGENT: &str = "configure-aws-credentials-for-github-actions";

/// The application name `keyless keys identify` puts in its user agent, followed by the
/// repository's numeric ID.
pub const IDENTIFY_AGENT: &str = "keyless-id-";

/// Where a workflow passes a stored key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyUse {
    /// `.github/workflows/deploy.yml`
    pub file: String,
    /// The job (`None`: the workflow's own `env:`).
    pub job: Option<String>,
    /// The step's name or `uses`, when in a step.
    pub step: Option<String>,
    /// 1-based line of the value.
    pub line: usize,
    /// `aws-access-key-id` (an action input) or `AWS_ACCESS_KEY_ID` (an `env:` entry).
    pub key: String,
    /// `inputs`, or `env` at `workflow`, `job` or `step` level.
    pub via: String,
    /// The secret it reads (`${{ secrets.NAME }}`), when it reads one.
    pub secret: Option<String>,
}

/// An `env:` map, with where it and each value stand in the file.
pub type EnvMap = Spanned<BTreeMap<String, Spanned<Value>>>;

/// A workflow as keyless reads it: the parts that pass keys or grant permissions, each with
/// where it stands in the file (serde-saphyr's spans; lines and columns from 1). Everything
/// else in the file is ignored. Read by [`scan_workflow`] and edited by
/// [`crate::artifacts::key_switch`].
#[derive(Deserialize)]
pub struct WorkflowDoc {
    /// The workflow's `permissions:`.
    #[serde(default)]
    pub permissions: Option<Spanned<Value>>,
    /// The workflow's `env:`.
    #[serde(default)]
    pub env: Option<EnvMap>,
    /// The jobs by ID (each spanned at its first key).
    #[serde(default)]
    pub jobs: BTreeMap<String, Spanned<JobDoc>>,
}

/// One job of a [`WorkflowDoc`].
#[derive(Deserialize)]
pub struct JobDoc {
    /// The job's `permissions:`.
    #[serde(default)]
    pub permissions: Option<Spanned<Value>>,
    /// The job's `env:`.
    #[serde(default)]
    pub env: Option<EnvMap>,
    /// Its steps (each spanned at its first key).
    #[serde(default)]
    pub steps: Vec<Spanned<StepDoc>>,
}

/// One step of a [`JobDoc`].
#[derive(Deserialize)]
pub struct StepDoc {
    /// `uses:`
    #[serde(default)]
    pub uses: Option<String>,
    /// `name:`
    #[serde(default)]
    pub name: Option<String>,
    /// `with:`
    #[serde(default)]
    pub with: Option<BTreeMap<String, Spanned<Value>>>,
    /// `env:`
    #[serde(default)]
    pub env: Option<EnvMap>,
}

impl StepDoc {
    /// Whether the step is aws-actions/configure-aws-credentials.
    pub fn configures_aws(&self) -> bool {
        self.uses
            .as_deref()
            .is_some_and(|u| u.contains("configure-aws-credentials"))
    }
}

/// Parse a workflow file into a [`WorkflowDoc`]; the error is the parser's message.
pub fn parse_workflow(text: &str) -> Result<WorkflowDoc, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// The secret a value reads, whatever its YAML type.
pub fn secret_of(v: &Value) -> Option<String> {
    secret_in(&text(v))
}

/// The secret an expression reads: `${{ secrets.NAME }}` (also `secrets['NAME']`).
pub fn secret_in(value: &str) -> Option<String> {
    let at = value.find("secrets.").map(|i| i + "secrets.".len());
    if let Some(i) = at {
        let name: String = value[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        return (!name.is_empty()).then_some(name);
    }
    let i = value.find("secrets[")? + "secrets[".len();
    let rest = value[i..].trim_start_matches(['\'', '"']);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every place a workflow file passes a stored AWS key; an unreadable file is an error naming
/// why (it is listed, never skipped silently).
pub fn scan_workflow(file: &str, text_of_file: &str) -> Result<Vec<KeyUse>, String> {
    let wf = parse_workflow(text_of_file)?;
    let mut out = Vec::new();
    let env_uses = |env: &Option<EnvMap>,
                    job: Option<&str>,
                    step: Option<String>,
                    level: &str,
                    out: &mut Vec<KeyUse>| {
        for (k, v) in env.iter().flat_map(|e| e.value.iter()) {
            if KEY_ENV.iter().any(|e| e.eq_ignore_ascii_case(k)) {
                out.push(KeyUse {
                    file: file.to_string(),
                    job: job.map(String::from),
                    step: step.clone(),
                    line: v.referenced.line() as usize,
                    key: k.clone(),
                    via: format!("env ({level})"),
                    secret: secret_of(&v.value),
                });
            }
        }
    };
    env_uses(&wf.env, None, None, "workflow", &mut out);
    for (name, job) in &wf.jobs {
        let job = &job.value;
        env_uses(&job.env, Some(name), None, "job", &mut out);
        for (i, st) in job.steps.iter().enumerate() {
            let st = &st.value;
            let label = st
                .name
                .clone()
                .or_else(|| st.uses.clone())
                .unwrap_or_else(|| format!("#{}", i + 1));
            env_uses(&st.env, Some(name), Some(label.clone()), "step", &mut out);
            if !st.configures_aws() {
                continue;
            }
            for (k, v) in st.with.iter().flatten() {
                if KEY_INPUTS.contains(&k.as_str()) {
                    out.push(KeyUse {
                        file: file.to_string(),
                        job: Some(name.clone()),
                        step: Some(label.clone()),
                        line: v.referenced.line() as usize,
                        key: k.clone(),
                        via: "inputs".into(),
                        secret: secret_of(&v.value),
                    });
                }
            }
        }
    }
    out.sort_by_key(|u| u.line);
    Ok(out)
}

/// Whether a secret's name marks it as an AWS key (`AWS_ACCESS_KEY_ID`, `PROD_AWS_SECRET_KEY`).
pub fn looks_like_aws_key(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.contains("AWS")
        && (n.contains("ACCESS_KEY")
            || n.contains("SECRET_KEY")
            || n.contains("SECRET_ACCESS")
            || n.contains("KEY_ID"))
}

/// Where GitHub holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum SecretScope {
    /// A repository secret.
    Repository {
        /// `owner/repo`
        repo: String,
    },
    /// An environment secret.
    Environment {
        /// `owner/repo`
        repo: String,
        /// The environment.
        environment: String,
    },
    /// An organisation secret.
    Organization {
        /// The organisation.
        org: String,
        /// `all`, `private` or `selected`.
        visibility: String,
        /// The repositories it reaches, when `selected` (or as read).
        reaches: Vec<String>,
    },
}

/// One stored secret that holds (or is used as) an AWS key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredSecret {
    /// The secret's name.
    pub name: String,
    /// Where it is held.
    pub scope: SecretScope,
    /// When it was last updated (GitHub's `updated_at`).
    pub updated_at: Option<String>,
    /// The workflows that pass it as a key.
    pub used_by: Vec<KeyUse>,
}

/// One IAM user's access key, from the credential report and ListAccessKeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamKey {
    /// The user.
    pub user: String,
    /// The user's ARN.
    pub user_arn: String,
    /// The access key ID (an identifier, not a secret).
    pub key_id: String,
    /// Active (not Inactive).
    pub active: bool,
    /// Created (seconds since the epoch).
    pub created: Option<i64>,
    /// Last used (seconds since the epoch), with the service and Region.
    pub last_used: Option<i64>,
    /// The service it was last used with.
    pub last_service: Option<String>,
    /// The Region it was last used in.
    pub last_region: Option<String>,
    /// The user's tags (the console keeps a key's description as a tag keyed by its ID).
    pub tags: BTreeMap<String, String>,
    /// Policies on the user (inline names, attached ARNs) and its groups.
    pub policies: Vec<String>,
}

/// Why a key is tied to GitHub, or to one repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// `keyless keys identify` ran with the key in this repository (CloudTrail: its user agent).
    Identified {
        /// `owner/repo`
        repo: String,
        /// When.
        time: i64,
    },
    /// The key's description (or a user tag) names the repository.
    Tagged {
        /// `owner/repo`
        repo: String,
        /// The tag key.
        tag: String,
    },
    /// A call with the key from GitHub's hosted-runner address ranges.
    #[serde(rename = "from_github_actions")]
    FromGitHubActions {
        /// The source address.
        ip: String,
        /// When.
        time: i64,
    },
    /// A call with configure-aws-credentials' user agent.
    ActionUserAgent {
        /// When.
        time: i64,
    },
    /// A call from outside GitHub's ranges, without the action's user agent: something else
    /// also uses the key.
    Elsewhere {
        /// The source address (or service).
        source: String,
        /// The user agent.
        agent: String,
        /// When.
        time: i64,
    },
}

/// How sure a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// Nothing ties the key to GitHub.
    None,
    /// Used from GitHub Actions; the repository is not known.
    GitHubOnly,
    /// A tag names the repository (people write tags; they can be stale).
    Tagged,
    /// The key itself said where it runs (`keys identify`).
    Identified,
}

/// What links one key to GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The access key ID.
    pub key_id: String,
    /// The repositories the evidence names.
    pub repos: Vec<String>,
    /// The evidence, strongest first.
    pub evidence: Vec<Evidence>,
    /// How sure.
    pub certainty: Certainty,
}

impl Link {
    /// The latest call the evidence records.
    pub fn last_call(&self) -> Option<i64> {
        self.evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::Identified { time, .. }
                | Evidence::FromGitHubActions { time, .. }
                | Evidence::ActionUserAgent { time }
                | Evidence::Elsewhere { time, .. } => Some(*time),
                Evidence::Tagged { .. } => None,
            })
            .max()
    }
}

/// Whether `ip` falls in one of `ranges` (CIDRs, as `GET /meta` lists them).
pub fn in_ranges(ip: &str, ranges: &[String]) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    ranges
        .iter()
        .filter_map(|r| r.parse::<ipnet::IpNet>().ok())
        .any(|net| net.contains(&ip))
}

/// The link for `key` from its CloudTrail records (already filtered to it), the user's tags,
/// GitHub's hosted-runner ranges and the repositories known by ID (`id` → `owner/repo`).
pub fn link(
    key: &IamKey,
    records: &[Value],
    actions_ranges: &[String],
    repos_by_id: &BTreeMap<u64, String>,
) -> Link {
    let mut evidence: BTreeSet<Evidence> = BTreeSet::new();
    for (tag, value) in &key.tags {
        // keyless's own record of a migration it made from this user's key (after a link with
        // evidence): it still names the repository once the key is inactive and silent.
        if let Some(repo) = tag.strip_prefix("keyless:switched:") {
            evidence.insert(Evidence::Tagged {
                repo: repo.to_string(),
                tag: tag.clone(),
            });
            continue;
        }
        let names_key = tag == &key.key_id;
        let names_repo = tag.eq_ignore_ascii_case("repository")
            || tag.eq_ignore_ascii_case("github_repository")
            || tag.eq_ignore_ascii_case("keyless:repository");
        if (names_key || names_repo)
            && let Some(repo) = repo_named(value)
        {
            evidence.insert(Evidence::Tagged {
                repo,
                tag: tag.clone(),
            });
        }
    }
    for r in records {
        let time = r["eventTime"]
            .as_str()
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
        let agent = r["userAgent"].as_str().unwrap_or_default();
        let ip = r["sourceIPAddress"].as_str().unwrap_or_default();
        if let Some(at) = agent.find(IDENTIFY_AGENT) {
            let id: String = agent[at + IDENTIFY_AGENT.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Some(repo) = id.parse::<u64>().ok().and_then(|id| repos_by_id.get(&id)) {
                evidence.insert(Evidence::Identified {
                    repo: repo.clone(),
                    time,
                });
                continue;
            }
        }
        if in_ranges(ip, actions_ranges) {
            evidence.insert(Evidence::FromGitHubActions {
                ip: ip.to_string(),
                time,
            });
        } else if agent.contains(ACTION_AGENT) {
            evidence.insert(Evidence::ActionUserAgent { time });
        } else {
            evidence.insert(Evidence::Elsewhere {
                source: ip.to_string(),
                agent: agent.chars().take(120).collect(),
                time,
            });
        }
    }
    let evidence: Vec<Evidence> = evidence.into_iter().collect();
    let mut repos: Vec<String> = evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Identified { repo, .. } | Evidence::Tagged { repo, .. } => Some(repo.clone()),
            _ => None,
        })
        .collect();
    repos.sort();
    repos.dedup();
    let certainty = if evidence
        .iter()
        .any(|e| matches!(e, Evidence::Identified { .. }))
    {
        Certainty::Identified
    } else if evidence
        .iter()
        .any(|e| matches!(e, Evidence::Tagged { .. }))
    {
        Certainty::Tagged
    } else if evidence.iter().any(|e| {
        matches!(
            e,
            Evidence::FromGitHubActions { .. } | Evidence::ActionUserAgent { .. }
        )
    }) {
        Certainty::GitHubOnly
    } else {
        Certainty::None
    };
    Link {
        key_id: key.key_id.clone(),
        repos,
        evidence,
        certainty,
    }
}

/// `owner/repo` when a tag value names one (also inside a sentence or a URL).
fn repo_named(value: &str) -> Option<String> {
    let v = value
        .trim()
        .trim_start_matches("https://github.com/")
        .trim_end_matches(".git");
    v.split_whitespace().find_map(|w| {
        let w = w.trim_matches(|c: char| {
            !c.is_ascii_alphanumeric() && c != '/' && c != '-' && c != '_' && c != '.'
        });
        let (o, r) = w.split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(o) && ok(r) && !r.contains('/')).then(|| format!("{o}/{r}"))
    })
}

/// The audit rules of stored keys.
pub const STORED_SECRET: &str = "KA009";
/// A key used from GitHub Actions.
pub const KEY_FROM_ACTIONS: &str = "KA010";
/// A key older than [`OLD_DAYS`].
pub const OLD_KEY: &str = "KA011";
/// A key unused for [`OLD_DAYS`].
pub const IDLE_KEY: &str = "KA012";
/// A key migrate-keys deactivated, active again.
pub const REACTIVATED_KEY: &str = "KA013";
/// Days after which a key is old, or idle.
pub const OLD_DAYS: i64 = 90;

fn rule(id: &str, message: String) -> Finding {
    let r = AUDIT_RULES
        .iter()
        .find(|r| r.id == id)
        .map(|r| (r.id, r.severity))
        .unwrap_or(("KA009", crate::policy::lint::Severity::High));
    Finding::new(r.0, r.1, message)
}

/// The findings of an inventory, worst first.
pub fn findings(
    secrets: &[StoredSecret],
    keys: &[IamKey],
    links: &[Link],
    now: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in secrets {
        let (where_, on) = match &s.scope {
            SecretScope::Repository { repo } => (format!("repository {repo}"), repo.clone()),
            SecretScope::Environment { repo, environment } => (
                format!("environment {environment} of {repo}"),
                format!("{repo} ({environment})"),
            ),
            SecretScope::Organization {
                org,
                visibility,
                reaches,
            } => (
                format!(
                    "organisation {org} (visibility {visibility}{})",
                    if reaches.is_empty() {
                        String::new()
                    } else {
                        format!(", reaches {}", reaches.join(", "))
                    }
                ),
                org.clone(),
            ),
        };
        let used = if s.used_by.is_empty() {
            "no workflow read here passes it".to_string()
        } else {
            let mut files: Vec<String> = s
                .used_by
                .iter()
                .map(|u| format!("{}:{}", u.file, u.line))
                .collect();
            files.dedup();
            format!("passed by {}", files.join(", "))
        };
        out.push(
            rule(
                STORED_SECRET,
                format!("secret {} in {where_} holds an AWS key: {used}", s.name),
            )
            .on(format!("secret {} ({on})", s.name)),
        );
    }
    for k in keys.iter().filter(|k| k.active) {
        let on = format!("user {} key {}", k.user, k.key_id);
        let user = Some(k.user.clone());
        if let Some(l) = links.iter().find(|l| l.key_id == k.key_id)
            && l.certainty >= Certainty::GitHubOnly
        {
            let repos = if l.repos.is_empty() {
                "the repository is not known (run `keyless keys identify` in its workflow)".into()
            } else {
                format!("from {}", l.repos.join(", "))
            };
            out.push(
                rule(
                    KEY_FROM_ACTIONS,
                    format!(
                        "IAM user {}'s key {} is used from GitHub Actions: {repos}",
                        k.user, k.key_id
                    ),
                )
                .on_role(user.clone())
                .on(on.clone()),
            );
        }
        if k.tags
            .contains_key(&format!("keyless:deactivated:{}", k.key_id))
        {
            out.push(
                rule(
                    REACTIVATED_KEY,
                    format!(
                        "key {} of user {} was deactivated by keyless migrate-keys and is active again",
                        k.key_id, k.user
                    ),
                )
                .on_role(user.clone())
                .on(on.clone()),
            );
        }
        if let Some(c) = k.created
            && now - c > OLD_DAYS * 86_400
        {
            out.push(
                rule(
                    OLD_KEY,
                    format!(
                        "key {} of user {} is {} days old",
                        k.key_id,
                        k.user,
                        (now - c) / 86_400
                    ),
                )
                .on_role(user.clone())
                .on(on.clone()),
            );
        }
        // The last use the credential report knows, or a later call CloudTrail recorded.
        let recorded = links
            .iter()
            .find(|l| l.key_id == k.key_id)
            .and_then(|l| l.last_call());
        let last_used = match (k.last_used, recorded) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let idle_since = last_used.or(k.created);
        if let Some(t) = idle_since
            && now - t > OLD_DAYS * 86_400
        {
            out.push(
                rule(
                    IDLE_KEY,
                    format!(
                        "key {} of user {} {} {} days",
                        k.key_id,
                        k.user,
                        if last_used.is_some() {
                            "has not been used for"
                        } else {
                            "has never been used in"
                        },
                        (now - t) / 86_400
                    ),
                )
                .on_role(user.clone())
                .on(on),
            );
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.resource.cmp(&b.resource))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WF: &str = r#"name: deploy
on: push
env:
  AWS_REGION: us-east-1
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      # the stored key
      - name: creds
        uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets['AWS_SECRET_ACCESS_KEY'] }}
          aws-region: us-east-1
  sync:
    runs-on: ubuntu-latest
    env:
      AWS_ACCESS_KEY_ID: ${{ secrets.DEPLOY_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.DEPLOY_SECRET }}
    steps:
      - run: aws s3 sync . s3://b
"#;

    #[test]
    fn both_ways_of_passing_a_key_are_found_with_their_lines() {
        let uses = scan_workflow(".github/workflows/deploy.yml", WF).unwrap();
        type Row<'a> = (Option<&'a str>, usize, &'a str, &'a str, Option<&'a str>);
        let got: Vec<Row> = uses
            .iter()
            .map(|u| {
                (
                    u.job.as_deref(),
                    u.line,
                    u.key.as_str(),
                    u.via.as_str(),
                    u.secret.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Some("deploy"),
                    14,
                    "aws-access-key-id",
                    "inputs",
                    Some("AWS_ACCESS_KEY_ID")
                ),
                (
                    Some("deploy"),
                    15,
                    "aws-secret-access-key",
                    "inputs",
                    Some("AWS_SECRET_ACCESS_KEY")
                ),
                (
                    Some("sync"),
                    20,
                    "AWS_ACCESS_KEY_ID",
                    "env (job)",
                    Some("DEPLOY_KEY_ID")
                ),
                (
                    Some("sync"),
                    21,
                    "AWS_SECRET_ACCESS_KEY",
                    "env (job)",
                    Some("DEPLOY_SECRET")
                ),
            ]
        );
        assert!(scan_workflow("x.yml", "jobs: [unclosed").is_err());
        assert!(
            scan_workflow("x.yml", "on: push\njobs: {}\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn names_mark_aws_keys_and_tags_name_repositories() {
        assert!(looks_like_aws_key("AWS_ACCESS_KEY_ID"));
        assert!(looks_like_aws_key("prod_aws_secret_key"));
        assert!(!looks_like_aws_key("NPM_TOKEN"));
        assert_eq!(
            repo_named("deploy key for octo-org/site"),
            Some("octo-org/site".into())
        );
        assert_eq!(
            repo_named("https://github.com/octo-org/site.git"),
            Some("octo-org/site".into())
        );
        assert_eq!(repo_named("nothing here"), None);
    }

    #[test]
    fn a_call_cloudtrail_recorded_counts_as_use_when_the_report_has_none() {
        let now = 400 * 86_400;
        let key = IamKey {
            user: "u".into(),
            user_arn: "arn:aws:iam::1:user/u".into(),
            key_id: "AKIA2".into(),
            active: true,
            created: Some(0),
            last_used: None,
            last_service: None,
            last_region: None,
            tags: BTreeMap::new(),
            policies: vec![],
        };
        let idle = |links: &[Link]| {
            findings(&[], std::slice::from_ref(&key), links, now)
                .iter()
                .any(|f| f.rule == IDLE_KEY)
        };
        assert!(idle(&[]));
        let used = Link {
            key_id: "AKIA2".into(),
            repos: vec![],
            evidence: vec![Evidence::Elsewhere {
                source: "198.51.100.1".into(),
                agent: "x".into(),
                time: now - 86_400,
            }],
            certainty: Certainty::None,
        };
        assert!(!idle(&[used]));
    }

    #[test]
    fn a_link_needs_evidence_naming_the_repository() {
        let key = IamKey {
            user: "deploy".into(),
            user_arn: "arn:aws:iam::1:user/deploy".into(),
            key_id: "AKIAKIT".into(),
            active: true,
            created: Some(0),
            last_used: None,
            last_service: None,
            last_region: None,
            tags: BTreeMap::new(),
            policies: vec![],
        };
        let ranges = vec!["4.148.0.0/16".to_string()];
        let repos = BTreeMap::from([(42u64, "octo-org/site".to_string())]);
        let rec = |ip: &str, agent: &str| serde_json::json!({"eventTime": "2026-12-01T00:00:00Z", "sourceIPAddress": ip, "userAgent": agent});
        let l = link(&key, &[rec("4.148.1.2", "aws-cli/2")], &ranges, &repos);
        assert_eq!(l.certainty, Certainty::GitHubOnly);
        assert!(l.repos.is_empty());
        let l = link(
            &key,
            &[rec("4.148.1.2", "aws-sdk-rust/1 app/keyless-id-42")],
            &ranges,
            &repos,
        );
        assert_eq!(
            (l.certainty, l.repos.clone()),
            (Certainty::Identified, vec!["octo-org/site".to_string()])
        );
        let l = link(&key, &[rec("198.51.100.7", "Boto3/1.35")], &ranges, &repos);
        assert_eq!(l.certainty, Certainty::None);
        assert!(matches!(l.evidence[0], Evidence::Elsewhere { .. }));
    }
}
