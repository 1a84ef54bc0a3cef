//! GitHub `sub` claims: what GitHub puts in a token, and what a trust policy should match.
//!
//! Two directions, one set of rules (github-oidc-aws.md §3–§5):
//! * [`GitHubContext::sub`] computes the `sub` GitHub mints for a job (environment beats
//!   pull_request beats ref; `:` inside a value becomes `%3A`; classic or immutable form).
//! * [`TrustSubject::patterns`] turns a configured subject into the `sub` values a trust policy
//!   matches, and [`condition_operator`] picks `StringEquals` or `StringLike` for them.
//!
//! Pure functions only: this module never reads config files, renders templates or talks to AWS.

use serde::Serialize;

/// Encode a value the way GitHub does inside `sub`: every `:` becomes `%3A`; `%` itself is left as
/// is (so `a%3Ab` and `a:b` collide; lint rule KL021 warns about that).
pub fn encode_value(v: &str) -> String {
    v.replace(':', "%3A")
}

/// Does this IAM string pattern hold a wildcard (`*` or `?`)?
pub fn has_wildcard(v: &str) -> bool {
    v.contains('*') || v.contains('?')
}

/// The operator for a set of values: `StringLike` only when a wildcard is needed.
pub fn condition_operator<'a>(values: impl IntoIterator<Item = &'a String>) -> &'static str {
    if values.into_iter().any(|v| has_wildcard(v)) {
        "StringLike"
    } else {
        "StringEquals"
    }
}

/// Which form the `repo:` segment of `sub` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectFormat {
    /// `repo:OWNER/REPO:...`
    Classic,
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID:...` (default for repos created after 15 Jul 2026)
    Immutable,
    /// Both values, ORed: for migrating from classic to immutable.
    Both,
}

/// What part of a repository's workflows the subject admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Scope {
    /// Jobs on this branch (pattern allowed) that declare no environment.
    Branch(String),
    /// Jobs on this tag (pattern allowed) that declare no environment.
    Tag(String),
    /// Jobs that declare this environment (any event, any ref).
    Environment(String),
    /// `pull_request` jobs without an environment.
    PullRequest,
    /// Every job of the repository: explicit opt-in, linted KL006.
    AnyRef,
}

impl Scope {
    /// The context part of `sub`, after `repo:...:`.
    pub fn context(&self) -> String {
        match self {
            Scope::Branch(b) => format!("ref:refs/heads/{}", encode_value(b)),
            Scope::Tag(t) => format!("ref:refs/tags/{}", encode_value(t)),
            Scope::Environment(e) => format!("environment:{}", encode_value(e)),
            Scope::PullRequest => "pull_request".to_string(),
            Scope::AnyRef => "*".to_string(),
        }
    }
}

/// A repository named in a trust subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repo {
    /// Owner login.
    pub owner: String,
    /// Repository name, or `*` for org-wide trust (linted KL004).
    pub name: String,
    /// Numeric owner ID, for the immutable form.
    pub owner_id: Option<String>,
    /// Numeric repository ID, for the immutable form.
    pub repo_id: Option<String>,
}

impl Repo {
    /// `OWNER/REPO`, as written in the config.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// `repo:OWNER/REPO`
    pub fn classic_prefix(&self) -> String {
        format!("repo:{}/{}", self.owner, self.name)
    }

    /// `repo:OWNER@ID/REPO@ID`, when both IDs are known.
    pub fn immutable_prefix(&self) -> Option<String> {
        let (o, r) = (self.owner_id.as_ref()?, self.repo_id.as_ref()?);
        let repo = if self.name == "*" {
            "*".to_string()
        } else {
            format!("{}@{r}", self.name)
        };
        Some(format!("repo:{}@{o}/{repo}", self.owner))
    }
}

/// The subject half of one trust entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectSpec {
    /// A repository and scope rendered by GitHub's default rules.
    Repo {
        /// The repository.
        repo: Repo,
        /// The scope.
        scope: Scope,
        /// Classic, immutable or both.
        format: SubjectFormat,
    },
    /// A raw `sub` value for repositories with a custom sub template.
    Custom(String),
}

/// One configured trust subject: any subject of a role admits a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustSubject {
    /// How `sub` is matched.
    pub spec: SubjectSpec,
    /// Extra claim conditions (claim name → value or pattern), ANDed with `sub`.
    pub claims: Vec<(String, String)>,
}

impl TrustSubject {
    /// The `sub` values this subject matches (two for the `both` format).
    pub fn patterns(&self) -> Vec<String> {
        match &self.spec {
            SubjectSpec::Custom(s) => vec![s.clone()],
            SubjectSpec::Repo {
                repo,
                scope,
                format,
            } => {
                let ctx = scope.context();
                let classic = format!("{}:{ctx}", repo.classic_prefix());
                let immutable = repo.immutable_prefix().map(|p| format!("{p}:{ctx}"));
                match (format, immutable) {
                    (SubjectFormat::Classic, _) | (_, None) => vec![classic],
                    (SubjectFormat::Immutable, Some(i)) => vec![i],
                    (SubjectFormat::Both, Some(i)) => vec![i, classic],
                }
            }
        }
    }

    /// The GitHub environment this subject requires, if any (the workflow job must declare it).
    pub fn environment(&self) -> Option<&str> {
        match &self.spec {
            SubjectSpec::Repo {
                scope: Scope::Environment(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

/// One `Condition` operator block entry: `operator → key → values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionEntry {
    /// Full condition key, e.g. `token.actions.githubusercontent.com:sub`.
    pub key: String,
    /// Values, ORed.
    pub values: Vec<String>,
}

/// An operator with its entries, e.g. `StringEquals { aud, sub }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionBlock {
    /// `StringEquals` or `StringLike`.
    pub operator: String,
    /// Keys under that operator, ANDed.
    pub keys: Vec<ConditionEntry>,
}

/// One trust statement to render: an `Allow` for the provider with these conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustStatement {
    /// Statement ID (alphanumeric).
    pub sid: String,
    /// Condition blocks, ANDed.
    pub conditions: Vec<ConditionBlock>,
}

/// Group subjects into as few statements as IAM semantics allow.
///
/// Operators inside one statement are ANDed, so exact and wildcard `sub` values cannot share one:
/// subjects without extra claims form at most two statements (exact, patterns); a subject with
/// extra claims gets a statement of its own so its claims bind only its `sub`.
pub fn trust_statements(
    key_prefix: &str,
    audiences: &[String],
    subjects: &[TrustSubject],
) -> Vec<TrustStatement> {
    let aud = ConditionEntry {
        key: format!("{key_prefix}:aud"),
        values: audiences.to_vec(),
    };
    let sub_key = format!("{key_prefix}:sub");
    let mut exact: Vec<String> = Vec::new();
    let mut like: Vec<String> = Vec::new();
    let mut own: Vec<&TrustSubject> = Vec::new();
    for s in subjects {
        if !s.claims.is_empty() {
            own.push(s);
            continue;
        }
        for p in s.patterns() {
            let list = if has_wildcard(&p) {
                &mut like
            } else {
                &mut exact
            };
            if !list.contains(&p) {
                list.push(p);
            }
        }
    }
    let mut out = Vec::new();
    if !exact.is_empty() {
        out.push(TrustStatement {
            sid: "GitHubActions".into(),
            conditions: vec![ConditionBlock {
                operator: "StringEquals".into(),
                keys: vec![
                    aud.clone(),
                    ConditionEntry {
                        key: sub_key.clone(),
                        values: exact,
                    },
                ],
            }],
        });
    }
    if !like.is_empty() {
        out.push(TrustStatement {
            sid: "GitHubActionsPatterns".into(),
            conditions: vec![
                ConditionBlock {
                    operator: "StringEquals".into(),
                    keys: vec![aud.clone()],
                },
                ConditionBlock {
                    operator: "StringLike".into(),
                    keys: vec![ConditionEntry {
                        key: sub_key.clone(),
                        values: like,
                    }],
                },
            ],
        });
    }
    for (i, s) in own.into_iter().enumerate() {
        let mut eq = vec![aud.clone()];
        let mut lk = Vec::new();
        let pats = s.patterns();
        let sub_entry = ConditionEntry {
            key: sub_key.clone(),
            values: pats.clone(),
        };
        if pats.iter().any(|p| has_wildcard(p)) {
            lk.push(sub_entry)
        } else {
            eq.push(sub_entry)
        }
        for (claim, value) in &s.claims {
            let e = ConditionEntry {
                key: format!("{key_prefix}:{claim}"),
                values: vec![value.clone()],
            };
            if has_wildcard(value) {
                lk.push(e)
            } else {
                eq.push(e)
            }
        }
        let mut conditions = vec![ConditionBlock {
            operator: "StringEquals".into(),
            keys: eq,
        }];
        if !lk.is_empty() {
            conditions.push(ConditionBlock {
                operator: "StringLike".into(),
                keys: lk,
            });
        }
        out.push(TrustStatement {
            sid: format!("GitHubActionsClaims{}", i + 1),
            conditions,
        });
    }
    out
}

/// A described GitHub job context, for computing the `sub` GitHub would mint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitHubContext {
    /// `owner/repo`
    pub repository: String,
    /// Owner ID (needed for the immutable form).
    pub owner_id: Option<String>,
    /// Repository ID (needed for the immutable form).
    pub repo_id: Option<String>,
    /// `push`, `pull_request`, `workflow_dispatch`, ...
    pub event_name: String,
    /// `refs/heads/main`, `refs/tags/v1`, `refs/pull/7/merge`, ...
    pub git_ref: String,
    /// The job's `environment:`, if any.
    pub environment: Option<String>,
    /// Whether the repository emits immutable subjects.
    pub immutable: bool,
}

impl GitHubContext {
    /// The `sub` GitHub mints for this job with the default template.
    ///
    /// Returns `None` when the immutable form is asked for without both IDs.
    pub fn sub(&self) -> Option<String> {
        let (owner, name) = self.repository.split_once('/')?;
        let prefix = if self.immutable {
            format!(
                "repo:{owner}@{}/{name}@{}",
                self.owner_id.as_ref()?,
                self.repo_id.as_ref()?
            )
        } else {
            format!("repo:{owner}/{name}")
        };
        let ctx = if let Some(env) = &self.environment {
            format!("environment:{}", encode_value(env))
        } else if self.event_name == "pull_request" {
            "pull_request".to_string()
        } else {
            format!("ref:{}", encode_value(&self.git_ref))
        };
        Some(format!("{prefix}:{ctx}"))
    }
}

/// The `sub` a custom subject template (`include_claim_keys`, in order) mints for a job of this
/// repository in `context` (`ref:refs/heads/main`, `environment:prod`, `pull_request`): each key
/// as `key:value`, `repo` as the repository part (immutable or classic), `context` as is. `None`
/// when a key's value is not known before the job runs (`actor`, `job_workflow_ref`, ...).
pub fn custom_sub(keys: &[String], repo: &Repo, immutable: bool, context: &str) -> Option<String> {
    let mut parts = Vec::new();
    for k in keys {
        parts.push(match k.as_str() {
            "context" => context.to_string(),
            "repo" => {
                if immutable {
                    format!(
                        "repo:{}@{}/{}@{}",
                        repo.owner,
                        repo.owner_id.as_ref()?,
                        repo.name,
                        repo.repo_id.as_ref()?
                    )
                } else {
                    format!("repo:{}/{}", repo.owner, repo.name)
                }
            }
            "repository_owner_id" => format!("repository_owner_id:{}", repo.owner_id.as_ref()?),
            "repository_id" => format!("repository_id:{}", repo.repo_id.as_ref()?),
            "repository_owner" => format!("repository_owner:{}", repo.owner),
            "repository" => format!("repository:{}/{}", repo.owner, repo.name),
            _ => return None,
        });
    }
    Some(parts.join(":"))
}

/// A `sub` value read back into the parts keyless configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedSub {
    /// `repo:OWNER[@ID]/REPO[@ID]:CONTEXT` with a context keyless renders.
    Repo {
        /// Owner and name, with IDs when the value is in the immutable form.
        repo: Repo,
        /// The scope.
        scope: Scope,
        /// The value uses the immutable form.
        immutable: bool,
    },
    /// Anything else: written back as `custom`.
    Custom(String),
}

/// Read a `sub` value (or pattern) the way keyless renders them, so that a hand-made trust can
/// be described in keyless.toml. What keyless would not render is [`ParsedSub::Custom`].
pub fn parse_sub(sub: &str) -> ParsedSub {
    let custom = || ParsedSub::Custom(sub.to_string());
    let Some(rest) = sub.strip_prefix("repo:") else {
        return custom();
    };
    let Some((repo_part, context)) = rest.split_once(':') else {
        return custom();
    };
    let Some((owner, name)) = repo_part.split_once('/') else {
        return custom();
    };
    let split_id = |s: &str| -> (String, Option<String>) {
        match s.split_once('@') {
            Some((n, id)) => (n.to_string(), Some(id.to_string())),
            None => (s.to_string(), None),
        }
    };
    let (owner, owner_id) = split_id(owner);
    let (name, repo_id) = split_id(name);
    let immutable = owner_id.is_some() && repo_id.is_some();
    if has_wildcard(&owner)
        || owner.is_empty()
        || name.is_empty()
        || (owner_id.is_some() != repo_id.is_some())
        || owner_id
            .iter()
            .chain(repo_id.iter())
            .any(|id| !id.chars().all(|c| c.is_ascii_digit()))
    {
        return custom();
    }
    let decode = |v: &str| v.replace("%3A", ":");
    let scope = if context == "*" {
        Scope::AnyRef
    } else if context == "pull_request" {
        Scope::PullRequest
    } else if let Some(b) = context.strip_prefix("ref:refs/heads/") {
        Scope::Branch(decode(b))
    } else if let Some(t) = context.strip_prefix("ref:refs/tags/") {
        Scope::Tag(decode(t))
    } else if let Some(e) = context.strip_prefix("environment:") {
        Scope::Environment(decode(e))
    } else {
        return custom();
    };
    ParsedSub::Repo {
        repo: Repo {
            owner,
            name,
            owner_id,
            repo_id,
        },
        scope,
        immutable,
    }
}

#[cfg(test)]
mod parse_sub_tests {
    use super::*;

    #[test]
    fn subs_read_back_into_repo_scope_and_form() {
        let p = parse_sub("repo:octo-org@1/site@2:environment:prod%3Aeu");
        let ParsedSub::Repo {
            repo,
            scope,
            immutable,
        } = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(
            (repo.owner.as_str(), repo.repo_id.as_deref()),
            ("octo-org", Some("2"))
        );
        assert_eq!(scope, Scope::Environment("prod:eu".into()));
        assert!(immutable);
        for (sub, scope) in [
            ("repo:o/r:ref:refs/heads/main", Scope::Branch("main".into())),
            ("repo:o/r:ref:refs/tags/v*", Scope::Tag("v*".into())),
            ("repo:o/r:pull_request", Scope::PullRequest),
            ("repo:o/r:*", Scope::AnyRef),
        ] {
            assert!(
                matches!(parse_sub(sub), ParsedSub::Repo { scope: s, immutable: false, .. } if s == scope),
                "{sub}"
            );
        }
        for custom in [
            "repo:o/*",
            "repo:*:*",
            "environment:prod",
            "repo:o/r:job_workflow_ref:x",
            "repo:o@x/r@2:pull_request",
        ] {
            assert_eq!(
                parse_sub(custom),
                ParsedSub::Custom(custom.into()),
                "{custom}"
            );
        }
    }
}

#[cfg(test)]
mod custom_sub_tests {
    use super::*;

    #[test]
    fn custom_templates_render_known_keys_in_order() {
        let r = Repo {
            owner: "o".into(),
            name: "r".into(),
            owner_id: Some("1".into()),
            repo_id: Some("2".into()),
        };
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            custom_sub(
                &keys(&["repository_owner_id", "context"]),
                &r,
                false,
                "environment:prod"
            ),
            Some("repository_owner_id:1:environment:prod".into())
        );
        assert_eq!(
            custom_sub(&keys(&["repo", "context"]), &r, true, "ref:refs/heads/main"),
            Some("repo:o@1/r@2:ref:refs/heads/main".into())
        );
        assert_eq!(
            custom_sub(&keys(&["actor", "context"]), &r, false, "x"),
            None
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(ids: bool) -> Repo {
        Repo {
            owner: "octo-org".into(),
            name: "octo-repo".into(),
            owner_id: ids.then(|| "123456".into()),
            repo_id: ids.then(|| "456789".into()),
        }
    }

    fn subj(scope: Scope, format: SubjectFormat, ids: bool) -> TrustSubject {
        TrustSubject {
            spec: SubjectSpec::Repo {
                repo: repo(ids),
                scope,
                format,
            },
            claims: vec![],
        }
    }

    #[test]
    fn classic_subjects_for_every_scope() {
        let cases = [
            (
                Scope::Branch("main".into()),
                "repo:octo-org/octo-repo:ref:refs/heads/main",
            ),
            (
                Scope::Branch("release/*".into()),
                "repo:octo-org/octo-repo:ref:refs/heads/release/*",
            ),
            (
                Scope::Tag("v1.2.3".into()),
                "repo:octo-org/octo-repo:ref:refs/tags/v1.2.3",
            ),
            (
                Scope::Environment("prod".into()),
                "repo:octo-org/octo-repo:environment:prod",
            ),
            (
                Scope::Environment("Production:V1".into()),
                "repo:octo-org/octo-repo:environment:Production%3AV1",
            ),
            (Scope::PullRequest, "repo:octo-org/octo-repo:pull_request"),
            (Scope::AnyRef, "repo:octo-org/octo-repo:*"),
        ];
        for (scope, want) in cases {
            assert_eq!(
                subj(scope, SubjectFormat::Classic, false).patterns(),
                vec![want.to_string()]
            );
        }
    }

    #[test]
    fn immutable_and_both_forms() {
        let s = subj(Scope::Branch("main".into()), SubjectFormat::Immutable, true);
        assert_eq!(
            s.patterns(),
            vec!["repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main"]
        );
        let s = subj(Scope::Environment("prod".into()), SubjectFormat::Both, true);
        assert_eq!(
            s.patterns(),
            vec![
                "repo:octo-org@123456/octo-repo@456789:environment:prod",
                "repo:octo-org/octo-repo:environment:prod"
            ]
        );
    }

    #[test]
    fn percent_is_not_escaped_so_names_collide() {
        let a = subj(
            Scope::Environment("a:b".into()),
            SubjectFormat::Classic,
            false,
        )
        .patterns();
        let b = subj(
            Scope::Environment("a%3Ab".into()),
            SubjectFormat::Classic,
            false,
        )
        .patterns();
        assert_eq!(a, b);
    }

    #[test]
    fn github_context_precedence_environment_then_pr_then_ref() {
        let mut c = GitHubContext {
            repository: "o/r".into(),
            event_name: "pull_request".into(),
            git_ref: "refs/pull/7/merge".into(),
            environment: Some("prod:eu".into()),
            ..Default::default()
        };
        assert_eq!(c.sub().unwrap(), "repo:o/r:environment:prod%3Aeu");
        c.environment = None;
        assert_eq!(c.sub().unwrap(), "repo:o/r:pull_request");
        c.event_name = "push".into();
        c.git_ref = "refs/heads/main".into();
        assert_eq!(c.sub().unwrap(), "repo:o/r:ref:refs/heads/main");
        c.event_name = "workflow_dispatch".into();
        c.git_ref = "refs/tags/v1".into();
        assert_eq!(c.sub().unwrap(), "repo:o/r:ref:refs/tags/v1");
        c.immutable = true;
        assert_eq!(c.sub(), None, "immutable form needs both IDs");
        c.owner_id = Some("1".into());
        c.repo_id = Some("2".into());
        assert_eq!(c.sub().unwrap(), "repo:o@1/r@2:ref:refs/tags/v1");
    }

    #[test]
    fn rendered_subject_matches_what_github_mints() {
        // The trust side and the token side must agree for every scope.
        let ctxs = [
            (
                Scope::Branch("main".into()),
                "push",
                "refs/heads/main",
                None,
            ),
            (Scope::Tag("v1".into()), "push", "refs/tags/v1", None),
            (
                Scope::Environment("a:b".into()),
                "push",
                "refs/heads/x",
                Some("a:b"),
            ),
            (
                Scope::PullRequest,
                "pull_request",
                "refs/pull/1/merge",
                None,
            ),
        ];
        for immutable in [false, true] {
            for (scope, ev, r, env) in ctxs.clone() {
                let fmt = if immutable {
                    SubjectFormat::Immutable
                } else {
                    SubjectFormat::Classic
                };
                let want = subj(scope, fmt, true).patterns().remove(0);
                let got = GitHubContext {
                    repository: "octo-org/octo-repo".into(),
                    owner_id: Some("123456".into()),
                    repo_id: Some("456789".into()),
                    event_name: ev.into(),
                    git_ref: r.into(),
                    environment: env.map(String::from),
                    immutable,
                }
                .sub()
                .unwrap();
                assert_eq!(want, got);
            }
        }
    }

    #[test]
    fn statements_split_exact_patterns_and_claims() {
        let p = "token.actions.githubusercontent.com";
        let aud = vec!["sts.amazonaws.com".to_string()];
        let mut with_claims = subj(Scope::Branch("main".into()), SubjectFormat::Classic, false);
        with_claims.claims = vec![(
            "job_workflow_ref".into(),
            "octo-org/wf/.github/workflows/d.yml@*".into(),
        )];
        let subjects = vec![
            subj(Scope::Branch("main".into()), SubjectFormat::Classic, false),
            subj(Scope::Tag("v*".into()), SubjectFormat::Classic, false),
            subj(
                Scope::Environment("prod".into()),
                SubjectFormat::Classic,
                false,
            ),
            with_claims,
        ];
        let st = trust_statements(p, &aud, &subjects);
        assert_eq!(st.len(), 3);
        assert_eq!(st[0].conditions[0].operator, "StringEquals");
        assert_eq!(st[0].conditions[0].keys[1].values.len(), 2);
        assert_eq!(st[1].conditions[1].operator, "StringLike");
        assert_eq!(
            st[1].conditions[1].keys[0].values,
            vec!["repo:octo-org/octo-repo:ref:refs/tags/v*"]
        );
        assert_eq!(st[2].conditions.len(), 2, "exact sub + pattern claim");
        assert_eq!(
            st[2].conditions[1].keys[0].key,
            format!("{p}:job_workflow_ref")
        );
        for s in &st {
            assert_eq!(
                s.conditions[0].keys[0].key,
                format!("{p}:aud"),
                "every statement carries aud"
            );
        }
    }

    #[test]
    fn operator_choice() {
        assert_eq!(
            condition_operator(&["repo:o/r:ref:refs/heads/main".to_string()]),
            "StringEquals"
        );
        assert_eq!(
            condition_operator(&["repo:o/r:ref:refs/heads/*".to_string()]),
            "StringLike"
        );
    }
}
