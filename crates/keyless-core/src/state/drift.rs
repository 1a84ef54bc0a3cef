//! Drift: every difference between the live account and `keyless.toml`, as findings a scheduled
//! CI job can act on. Pure: it takes the desired state, the observed state and the other roles'
//! trust policies, and performs no I/O.
//!
//! The differences are the plan's changes read backwards (a planned `UpdateAssumeRolePolicy`
//! means someone changed the trust policy), plus what a plan does not show: a live trust policy
//! that now fails a blocking lint rule, a role that lost keyless's tag, and roles outside the
//! config that trust the GitHub provider.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::policy::document::{self as policy, Kind};
pub use crate::policy::finding::DriftKind;
use crate::policy::finding::Finding;
use crate::policy::lint::{self, LintContext, Severity};
use crate::state::observed::{Observed, Owner, owned};
use crate::state::plan::{self, Change, document_diff};
use crate::state::render::Rendered;

/// The worst lint severity of a permission document (critical for `Action: "*"`).
fn permission_risk(doc: &Value, ctx: &LintContext) -> Option<(Severity, &'static str)> {
    let parsed = policy::Parsed {
        doc: doc.clone(),
        duplicate_keys: vec![],
    };
    lint::lint_document(&parsed, Some(Kind::Permission), ctx)
        .into_iter()
        .filter(|f| f.severity.blocks())
        .map(|f| (f.severity, f.rule))
        .max()
}

/// The worst blocking lint finding of a trust policy.
fn trust_risk(doc: &Value, ctx: &LintContext) -> Option<(Severity, &'static str)> {
    let parsed = policy::Parsed {
        doc: doc.clone(),
        duplicate_keys: vec![],
    };
    lint::lint_document(&parsed, Some(Kind::Trust), ctx)
        .into_iter()
        .filter(|f| f.severity.blocks())
        .map(|f| (f.severity, f.rule))
        .max()
}

/// Raise a finding to the severity of the worst blocking lint rule its live document fails.
fn raise_by_lint(x: &mut Finding, doc: &Value, ctx: &LintContext) {
    if let Some((sev, rule)) = permission_risk(doc, ctx) {
        x.severity = x.severity.max(sev);
        x.raised_by = Some(rule);
        x.message.push_str(&format!(" and fails lint rule {rule}"));
    }
}

/// The roles outside the config whose trust names the config's provider: the ones whose tags
/// `drift` needs (to tell another config's roles from unmanaged ones).
pub fn trusting_provider<'a>(desired: &Rendered, others: &'a [(String, Value)]) -> Vec<&'a str> {
    others
        .iter()
        .filter(|(_, trust)| trusts(trust, &desired.provider_arn))
        .map(|(n, _)| n.as_str())
        .collect()
}

fn trusts(trust: &Value, provider_arn: &str) -> bool {
    policy::statements(trust).iter().any(|s| {
        policy::strings(s.get("Principal").and_then(|p| p.get("Federated"))).contains(&provider_arn)
    })
}

/// Compare and report. `others` are the trust policies of roles outside the config;
/// `other_tags` the tags of those that trust the provider ([`trusting_provider`]).
pub fn drift(
    desired: &Rendered,
    observed: &Observed,
    others: &[(String, Value)],
    other_tags: &BTreeMap<String, BTreeMap<String, String>>,
    ctx: &LintContext,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut adopted = desired.clone();
    for role in &mut adopted.roles {
        if let Some(Some(o)) = observed.roles.get(&role.name)
            && !owned(&o.tags)
            && !role.adopt
        {
            out.push(
                Finding::drift(
                    DriftKind::RoleNotManaged,
                    Severity::Medium,
                    "the role exists but has lost its managed-by = keyless tag, so apply would refuse to touch it",
                )
                .on_role(Some(role.name.clone()))
                .on(format!("role {}", role.name)),
            );
            role.adopt = true;
        }
    }
    let changes = match plan::plan(&adopted, observed) {
        Ok(p) => p.changes,
        Err(Error::Refused(msgs)) => {
            for m in msgs {
                out.push(
                    Finding::drift(DriftKind::Unreconcilable, Severity::High, m).on("account"),
                );
            }
            Vec::new()
        }
        Err(_) => Vec::new(),
    };
    // Which role owns each keyless managed policy, so policy findings group under their role.
    let owner_of: std::collections::BTreeMap<String, String> = desired
        .roles
        .iter()
        .flat_map(|r| {
            r.policies
                .iter()
                .filter(|p| p.attach == "managed")
                .map(move |p| (plan::preset_policy_arn(desired, r, &p.name), r.name.clone()))
        })
        .collect();
    let missing_roles: Vec<&str> = changes
        .iter()
        .filter_map(|c| {
            if let Change::CreateRole { role, .. } = c {
                Some(role.as_str())
            } else {
                None
            }
        })
        .collect();
    for c in &changes {
        let role = c.role().map(String::from).or_else(|| match c {
            Change::CreatePolicy { arn, .. }
            | Change::CreatePolicyVersion { arn, .. }
            | Change::TagPolicy { arn, .. } => owner_of.get(arn).cloned(),
            _ => None,
        });
        if matches!(
            c,
            Change::CreatePolicy { .. }
                | Change::AttachPolicy { .. }
                | Change::PutInlinePolicy { .. }
        ) && role.as_deref().is_some_and(|r| missing_roles.contains(&r))
        {
            continue; // consequences of a missing role
        }
        let (before, after) = c.documents().unwrap_or((None, None));
        let diff = (before.is_some() && after.is_some()).then(|| document_diff(before, after));
        let f = |kind: DriftKind, severity, message: String| Finding {
            diff: diff.clone(),
            ..Finding::drift(kind, severity, message)
                .on_role(role.clone())
                .on(c.address())
        };
        let finding = match c {
            Change::CreateProvider { url, .. } => f(
                DriftKind::ProviderMissing,
                Severity::High,
                format!("no IAM OIDC provider for {url}: no GitHub workflow can assume any role"),
            ),
            Change::AddClientId { client_id, .. } => f(
                DriftKind::AudienceRemoved,
                Severity::High,
                format!(
                    "the provider no longer accepts audience {client_id}: tokens requesting it fail with `Incorrect token audience`"
                ),
            ),
            Change::CreateRole { role, .. } => f(
                DriftKind::RoleMissing,
                Severity::High,
                format!("role {role} does not exist"),
            ),
            Change::UpdateTrust { .. } => f(
                DriftKind::TrustPolicyChanged,
                Severity::High,
                "the trust policy differs from keyless.toml".into(),
            ),
            Change::UpdateRole { before, after, .. } => {
                if before.1 != after.1 {
                    out.push(f(
                        DriftKind::MaxSessionChanged,
                        Severity::Low,
                        format!(
                            "max session duration is {}s, keyless.toml says {}s",
                            before.1, after.1
                        ),
                    ));
                }
                if before.0 != after.0 {
                    out.push(f(
                        DriftKind::DescriptionChanged,
                        Severity::Info,
                        format!(
                            "description is {:?}, keyless.toml says {:?}",
                            before.0.clone().unwrap_or_default(),
                            after.0.clone().unwrap_or_default()
                        ),
                    ));
                }
                continue;
            }
            Change::PutBoundary { before, after, .. } => f(
                DriftKind::BoundaryChanged,
                Severity::Medium,
                format!(
                    "permissions boundary is {}, keyless.toml says {after}",
                    before.clone().unwrap_or_else(|| "(none)".into())
                ),
            ),
            Change::DeleteBoundary { before, .. } => f(
                DriftKind::BoundaryChanged,
                Severity::Low,
                format!("a permissions boundary {before} was added by hand"),
            ),
            Change::TagRole { tags, .. } => f(
                DriftKind::TagsChanged,
                Severity::Low,
                format!(
                    "tags differ: keyless.toml sets {}",
                    tags.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Change::UntagRole { keys, .. } => f(
                DriftKind::TagsChanged,
                Severity::Low,
                format!("tags not in keyless.toml: {}", keys.join(", ")),
            ),
            Change::TagPolicy { .. } => f(
                DriftKind::TagsChanged,
                Severity::Low,
                "the policy lost its managed-by = keyless tag".into(),
            ),
            Change::CreatePolicy { .. } => f(
                DriftKind::PolicyMissing,
                Severity::Medium,
                "the keyless-owned policy does not exist".into(),
            ),
            Change::CreatePolicyVersion { before, .. } => {
                let mut x = f(
                    DriftKind::PermissionPolicyChanged,
                    Severity::High,
                    "the policy's default version differs from keyless.toml".into(),
                );
                raise_by_lint(&mut x, before, ctx);
                x
            }
            Change::AttachPolicy { arn, .. } => f(
                DriftKind::PolicyDetached,
                Severity::Medium,
                format!("{arn} is no longer attached"),
            ),
            Change::PutInlinePolicy { before: None, .. } => f(
                DriftKind::InlinePolicyMissing,
                Severity::Medium,
                "the inline policy is gone".into(),
            ),
            Change::PutInlinePolicy {
                before: Some(b), ..
            } => {
                let mut x = f(
                    DriftKind::InlinePolicyChanged,
                    Severity::High,
                    "the inline policy differs from keyless.toml".into(),
                );
                raise_by_lint(&mut x, b, ctx);
                x
            }
            Change::DetachPolicy { arn, .. } => {
                let mut x = f(
                    DriftKind::ExtraPolicyAttached,
                    Severity::High,
                    format!("{arn} is attached but not in keyless.toml"),
                );
                if let Some(l) = lint::lint_managed_arn(arn, ctx)
                    .into_iter()
                    .max_by_key(|l| l.severity)
                {
                    x.severity = l.severity;
                    x.raised_by = Some(l.rule);
                    x.message.push_str(&format!(": {}", l.message));
                } else if let Some(Some(p)) = observed.policies.get(arn) {
                    raise_by_lint(&mut x, &p.document, ctx);
                }
                x
            }
            Change::DeleteInlinePolicy { before, .. } => {
                let mut x = f(
                    DriftKind::InlinePolicyAdded,
                    Severity::High,
                    "an inline policy not in keyless.toml was added".into(),
                );
                x.diff = Some(document_diff(None, Some(before)));
                raise_by_lint(&mut x, before, ctx);
                x
            }
            Change::DeletePolicy { .. }
            | Change::DeleteRole { .. }
            | Change::DeleteProvider { .. } => continue,
        };
        out.push(finding);
    }
    // The live trust policy judged on its own: someone may have widened `sub`.
    for role in &desired.roles {
        let Some(Some(o)) = observed.roles.get(&role.name) else {
            continue;
        };
        let mut lctx = ctx.clone();
        lctx.document = format!("role {}: live trust policy", role.name);
        let parsed = policy::Parsed {
            doc: o.trust_policy.clone(),
            duplicate_keys: vec![],
        };
        let mut findings = lint::lint_document(&parsed, Some(Kind::Trust), &lctx);
        lint::apply_allows(&mut findings, &role.allow);
        for l in findings.into_iter().filter(|l| l.blocks()) {
            let message = format!(
                "{}: {}{}",
                l.rule,
                l.message,
                l.location
                    .value
                    .map(|v| format!(" (value {v})"))
                    .unwrap_or_default()
            );
            out.push(Finding {
                raised_by: Some(l.rule),
                ..Finding::drift(DriftKind::TrustPolicyLint, l.severity, message)
                    .on_role(Some(role.name.clone()))
                    .on(format!("role {} trust policy", role.name))
            });
        }
    }
    for (name, trust) in others {
        if !trusts(trust, &desired.provider_arn) {
            continue;
        }
        let owner = other_tags
            .get(name)
            .map(Owner::of)
            .unwrap_or(Owner::NotKeyless);
        if let Owner::Config(c) = &owner
            && *c != desired.config
        {
            out.push(
                Finding::drift(
                    DriftKind::OtherConfigRole,
                    Severity::Info,
                    format!("belongs to keyless config `{c}`; that config's own check covers it"),
                )
                .on_role(Some(name.clone()))
                .on(format!("role {name}")),
            );
            continue;
        }
        if let Owner::Config(c) = &owner
            && *c == desired.config
        {
            let (severity, message) = if desired.keep_removed_roles {
                (
                    Severity::Info,
                    "carries this config's tag but is no longer in it; kept on purpose (keep_removed_roles = true)",
                )
            } else {
                (
                    Severity::Medium,
                    "carries this config's tag but is no longer in it: apply deletes it (or set keep_removed_roles = true to keep such roles)",
                )
            };
            out.push(
                Finding::drift(DriftKind::RemovedRole, severity, message)
                    .on_role(Some(name.clone()))
                    .on(format!("role {name}")),
            );
            continue;
        }
        // The account's other roles are audit's to judge: here they are information, so one
        // hand-made role does not fail every config's scheduled check.
        let message = match owner {
            Owner::Legacy => {
                "trusts the GitHub provider and was created by an earlier keyless that did not name its config; the config that owns it claims it on its next apply"
            }
            _ => {
                "trusts the GitHub provider but is in no keyless config: review it, or add it to a config with adopt = true"
            }
        };
        let mut finding = Finding::drift(DriftKind::ExtraRole, Severity::Info, message)
            .on_role(Some(name.clone()))
            .on(format!("role {name}"));
        if let Some((sev, rule)) = trust_risk(trust, ctx) {
            finding.raised_by = Some(rule);
            finding.message.push_str(&format!(
                "; its trust policy fails lint rule {rule} ({}): `keyless audit` reports it as a finding",
                sev.as_str()
            ));
        }
        out.push(finding);
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.resource.cmp(&b.resource))
    });
    out
}

/// GitHub-side drift: repositories gone or archived, subject forms that no longer match (KL016
/// findings on `checked`, the desired state with GitHub's facts applied), role ARN variables
/// missing or changed, environments missing or unprotected. Pure: the caller reads GitHub.
pub fn github(
    checked: &Rendered,
    repos: &BTreeMap<String, Option<crate::state::render::RepoFacts>>,
    plan: &crate::state::github_plan::GitHubPlan,
    observed: &crate::state::github_plan::ObservedGitHub,
) -> Vec<Finding> {
    use crate::state::github_plan::GitHubChange;
    let mut out = Vec::new();
    let finding = |kind: DriftKind,
                   severity,
                   role: Option<String>,
                   resource: String,
                   message: String,
                   rule| {
        Finding {
            raised_by: rule,
            ..Finding::drift(kind, severity, message)
                .on_role(role)
                .on(resource)
        }
    };
    for (repo, facts) in repos {
        match facts {
            None => out.push(finding(
                DriftKind::GithubRepository,
                Severity::High,
                None,
                format!("github {repo}"),
                format!("repository {repo} no longer exists on GitHub: anyone can register its name again, and that repository's jobs would match a classic trust; remove it from the config, or trust the immutable subject (it names the old IDs)"),
                None,
            )),
            Some(f) if f.info.archived => out.push(finding(
                DriftKind::GithubRepository,
                Severity::Low,
                None,
                format!("github {repo}"),
                format!("repository {repo} is archived: its workflows no longer run; remove its roles when it is retired"),
                None,
            )),
            _ => {}
        }
    }
    for role in &checked.roles {
        for f in role.findings.iter().filter(|f| f.rule == "KL016") {
            out.push(finding(
                DriftKind::GithubSubjectForm,
                Severity::High,
                Some(role.name.clone()),
                f.location
                    .value
                    .clone()
                    .map(|r| format!("github {r}"))
                    .unwrap_or_default(),
                f.message.clone(),
                Some("KL016"),
            ));
        }
    }
    for c in &plan.changes {
        match c {
            GitHubChange::SetVariable { name, value, before, repo, .. } => out.push(finding(
                DriftKind::GithubVariable,
                if before.is_some() { Severity::High } else { Severity::Medium },
                None,
                c.address(),
                match before {
                    Some(b) => format!("{name} holds {b}, not {value}: workflows of {repo} assume another role"),
                    None => format!("{name} is not set: workflows of {repo} cannot find the role ({value})"),
                },
                None,
            )),
            GitHubChange::CreateEnvironment { repo, environment } => out.push(finding(
                DriftKind::GithubEnvironment,
                Severity::Medium,
                None,
                c.address(),
                format!("environment {environment} of {repo} does not exist: jobs that name it get a new, unprotected one"),
                None,
            )),
            // Reported below, from what GitHub holds (KL022).
            GitHubChange::ProtectEnvironment { .. } => {}
            GitHubChange::DeleteVariable { name, repo, value, .. } => out.push(finding(
                DriftKind::GithubVariable,
                Severity::Medium,
                None,
                c.address(),
                format!("{name} of {repo} still holds {value} under the role's old variable name: apply sets the new one and removes it; workflows must read the new name"),
                None,
            )),
        }
    }
    // Variables left pointing at a role that no longer exists (a renamed or removed role).
    for ((repo, env), others) in &observed.others {
        for (name, value) in others {
            if observed.holders.get(value) == Some(&crate::state::github_plan::Holder::Gone) {
                out.push(finding(
                    DriftKind::GithubVariable,
                    Severity::Medium,
                    None,
                    format!(
                        "github {repo}{} variable {name}",
                        env.as_ref().map(|e| format!(" environment {e}")).unwrap_or_default()
                    ),
                    format!("{name} holds {value}, a role that no longer exists: workflows that read it fail to assume; delete the variable, or point them to the role's current variable"),
                    None,
                ));
            }
        }
    }
    for why in &plan.refused {
        out.push(finding(
            DriftKind::GithubVariable,
            Severity::Medium,
            None,
            why.split(" holds ")
                .next()
                .unwrap_or("variable")
                .to_string(),
            why.lines().next().unwrap_or_default().to_string(),
            None,
        ));
    }
    for ((repo, env), info) in &observed.environments {
        if let Some(i) = info
            && !i.protected()
        {
            out.push(finding(
                DriftKind::GithubEnvironment,
                Severity::Medium,
                None,
                format!("github {repo} environment {env}"),
                format!("environment {env} of {repo} has no protection rules and no deployment branch policy: any branch can deploy with the role it scopes"),
                Some("KL022"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Drift classification, one row per out-of-band change: the change made to what applying
    //! the config left in IAM, and the (kind, severity, rule) each finding must carry.

    use super::*;
    use crate::config::{CONFIG_KEY, MANAGED_BY_KEY};
    use crate::state::fixtures::{applied, rendered};
    use crate::state::observed::ObservedRole;
    use crate::state::render::live_context;
    use serde_json::json;

    const CFG: &str = "[[role]]\nname = \"site\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.preset]]\nname = \"s3-deploy\"\nparams = { bucket = \"my-bucket\" }\n";
    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    const POLICY: &str = "arn:aws:iam::123456789012:policy/site-s3-deploy";
    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

    fn role(o: &mut Observed) -> &mut ObservedRole {
        o.roles.get_mut("site").unwrap().as_mut().unwrap()
    }

    fn trust(sub: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": sub}}}]})
    }

    /// A finding as the table states it: kind, severity, rule.
    type Found = (DriftKind, Severity, Option<&'static str>);
    /// Roles outside the config: their trust policies, and their tags.
    type Others = (
        Vec<(String, Value)>,
        BTreeMap<String, BTreeMap<String, String>>,
    );
    /// An out-of-band change: to IAM's state, and to the roles outside the config.
    type Edit = fn(
        &mut Observed,
        &mut Vec<(String, Value)>,
        &mut BTreeMap<String, BTreeMap<String, String>>,
    );

    /// The findings for `edit`.
    fn drift_of(edit: Edit) -> Vec<Found> {
        let r = rendered(CFG);
        let mut o = applied(&r);
        let (mut others, mut tags): Others = Default::default();
        edit(&mut o, &mut others, &mut tags);
        drift(&r, &o, &others, &tags, &live_context(None, &r.target))
            .into_iter()
            .map(|f| (f.kind().unwrap(), f.severity, f.raised_by))
            .collect()
    }

    use DriftKind as K;
    use Severity as S;

    #[test]
    fn each_out_of_band_change_is_classified() {
        let rows: Vec<(&str, Edit, Vec<Found>)> = vec![
            ("in sync", |_, _, _| {}, vec![]),
            (
                "trust widened to the owner",
                |o, _, _| role(o).trust_policy = trust("repo:o/*"),
                vec![
                    (K::TrustPolicyChanged, S::High, None),
                    (K::TrustPolicyLint, S::High, Some("KL004")),
                ],
            ),
            (
                "managed policy edited to admin",
                |o, _, _| {
                    let p = o.policies.get_mut(POLICY).unwrap().as_mut().unwrap();
                    p.document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
                },
                vec![(K::PermissionPolicyChanged, S::Critical, Some("KL101"))],
            ),
            (
                "AdministratorAccess attached by hand",
                |o, _, _| role(o).attached_policies.push(ADMIN.into()),
                vec![(K::ExtraPolicyAttached, S::Critical, Some("KL106"))],
            ),
            (
                "inline policy added by hand",
                |o, _, _| {
                    role(o).inline_policies.insert(
                        "hotfix".into(),
                        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}]}),
                    );
                },
                vec![(K::InlinePolicyAdded, S::High, None)],
            ),
            (
                "session length raised",
                |o, _, _| role(o).max_session_duration = 43200,
                vec![(K::MaxSessionChanged, S::Low, None)],
            ),
            (
                "a tag added",
                |o, _, _| {
                    role(o).tags.insert("owner".into(), "someone".into());
                },
                vec![(K::TagsChanged, S::Low, None)],
            ),
            (
                "a boundary added by hand",
                |o, _, _| {
                    role(o).permissions_boundary =
                        Some("arn:aws:iam::123456789012:policy/boundary".into())
                },
                vec![(K::BoundaryChanged, S::Low, None)],
            ),
            (
                "the managed policy detached",
                |o, _, _| role(o).attached_policies.retain(|a| a != POLICY),
                vec![(K::PolicyDetached, S::Medium, None)],
            ),
            (
                "the role deleted: its consequences are not repeated",
                |o, _, _| {
                    o.roles.insert("site".into(), None);
                },
                vec![(K::RoleMissing, S::High, None)],
            ),
            (
                "the audience removed",
                |o, _, _| o.provider.as_mut().unwrap().client_ids.clear(),
                vec![(K::AudienceRemoved, S::High, None)],
            ),
            (
                "the provider deleted",
                |o, _, _| o.provider = None,
                vec![(K::ProviderMissing, S::High, None)],
            ),
            (
                "the ownership tag removed (apply would put it back)",
                |o, _, _| {
                    role(o).tags.remove(MANAGED_BY_KEY);
                },
                vec![
                    (K::RoleNotManaged, S::Medium, None),
                    (K::TagsChanged, S::Low, None),
                ],
            ),
            (
                "a hand-made role trusts the provider",
                |_, others, _| {
                    others.push((
                        "hand-made".into(),
                        trust("repo:o/other:ref:refs/heads/main"),
                    ))
                },
                vec![(K::ExtraRole, S::Info, None)],
            ),
            (
                "a hand-made role trusts any repository",
                |_, others, _| others.push(("any".into(), trust("repo:*"))),
                vec![(K::ExtraRole, S::Info, Some("KL002"))],
            ),
            (
                "another config's role: information",
                |_, others, tags| {
                    others.push(("theirs".into(), trust("repo:o/x:ref:refs/heads/main")));
                    tags.insert(
                        "theirs".into(),
                        BTreeMap::from([
                            (MANAGED_BY_KEY.into(), "keyless".into()),
                            (CONFIG_KEY.into(), "other".into()),
                        ]),
                    );
                },
                vec![(K::OtherConfigRole, S::Info, None)],
            ),
            (
                "this config's role, removed from it",
                |_, others, tags| {
                    others.push(("gone".into(), trust("repo:o/r:ref:refs/heads/main")));
                    tags.insert(
                        "gone".into(),
                        BTreeMap::from([
                            (MANAGED_BY_KEY.into(), "keyless".into()),
                            (CONFIG_KEY.into(), "o-r".into()),
                        ]),
                    );
                },
                vec![(K::RemovedRole, S::Medium, None)],
            ),
            (
                "a role of no config that trusts another provider is none of check's business",
                |_, others, _| {
                    others.push((
                        "elsewhere".into(),
                        json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/example.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}),
                    ))
                },
                vec![],
            ),
        ];
        let mut wrong = Vec::new();
        for (name, edit, want) in rows {
            let mut got = drift_of(edit);
            let mut want = want;
            got.sort_by_key(|g| format!("{g:?}"));
            want.sort_by_key(|w| format!("{w:?}"));
            if got != want {
                wrong.push(format!("{name}: got {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_changed_document_carries_its_diff_and_a_finding_its_role() {
        let r = rendered(CFG);
        let mut o = applied(&r);
        role(&mut o).trust_policy = trust("repo:o/*");
        let p = o.policies.get_mut(POLICY).unwrap().as_mut().unwrap();
        p.document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let found = drift(
            &r,
            &o,
            &[],
            &BTreeMap::new(),
            &live_context(None, &r.target),
        );
        let changed = found
            .iter()
            .find(|f| f.kind() == Some(K::TrustPolicyChanged))
            .unwrap();
        assert!(changed.diff.as_deref().unwrap().contains("repo:o/*"));
        let policy = found
            .iter()
            .find(|f| f.kind() == Some(K::PermissionPolicyChanged))
            .unwrap();
        assert_eq!(
            policy.role.as_deref(),
            Some("site"),
            "grouped under its role"
        );
        assert_eq!(found[0].severity, S::Critical, "the worst first");
    }
}
