//! Desired state: a validated config rendered into the documents each role needs.
//!
//! [`render`] validates preset use against the catalogue, renders every trust and permission
//! document from templates, parses each one back, checks it is a well-formed IAM policy, and
//! lints it. The result ([`Rendered`]) is plain data: what plan/apply compare with the account,
//! and what `keyless render`, `lint` and `emit` print. No I/O beyond what `Templates` already
//! loaded, and no AWS: the account and partition come in as a [`Target`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Role};
use crate::error::{ConfigError, Error, Result};
use crate::identity::issuer::default_audience;
use crate::identity::names;
use crate::identity::subject::{SubjectSpec, trust_statements};
use crate::policy::document::{self as policy, Kind};
use crate::policy::lint::{self, Finding, LintContext};
use crate::policy::template::{self, ParamKind, Templates};

/// Where the documents are rendered for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// 12-digit account.
    pub account_id: String,
    /// Partition, e.g. `aws`.
    pub partition: String,
}

/// One permission policy of a role.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedPolicy {
    /// Policy name.
    pub name: String,
    /// `managed` (a keyless-owned customer-managed policy, from a preset) or `inline` (from a file).
    pub attach: &'static str,
    /// Preset name or file it came from.
    pub source: String,
    /// The document.
    pub document: Value,
}

/// Everything one role needs.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDocuments {
    /// Role name.
    pub name: String,
    /// Role ARN.
    pub arn: String,
    /// Role path.
    pub path: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Max session seconds.
    pub max_session_duration: i64,
    /// Boundary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Tags, with `managed-by = keyless` added.
    pub tags: BTreeMap<String, String>,
    /// The `sub` values the trust policy admits.
    pub subjects: Vec<String>,
    /// The trust policy.
    pub trust_policy: Value,
    /// Permission policies rendered by keyless.
    pub policies: Vec<RenderedPolicy>,
    /// Managed policy ARNs attached as given.
    pub managed_policy_arns: Vec<String>,
    /// Lint findings for all of the above.
    pub findings: Vec<Finding>,
    /// Take over the role if it exists without keyless's tag.
    pub adopt: bool,
    /// Blocking lint rules this role allows, with reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<crate::policy::lint::Allow>,
}

/// The whole desired state.
#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    /// The config's identity (`keyless:config` on everything it owns).
    pub config: String,
    /// Account and partition.
    pub target: Target,
    /// Issuer URL.
    pub issuer: String,
    /// Provider ARN.
    pub provider_arn: String,
    /// Audiences (provider client IDs and the `aud` condition).
    pub audiences: Vec<String>,
    /// Roles.
    pub roles: Vec<RoleDocuments>,
    /// Roles removed from the config are kept, not deleted (`keep_removed_roles`).
    #[serde(skip)]
    pub keep_removed_roles: bool,
}

impl Rendered {
    /// All findings of all roles.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.roles.iter().flat_map(|r| r.findings.iter())
    }

    /// How many findings block.
    pub fn blocking(&self) -> usize {
        self.findings().filter(|f| f.blocks()).count()
    }
}

/// How the live documents of `target` are linted (check, audit): the account, the partition,
/// and, with a config, its extra claim keys and trust-size quota.
pub fn live_context(cfg: Option<&Config>, target: &Target) -> LintContext {
    let mut ctx = LintContext::new("live");
    ctx.account_id = Some(target.account_id.clone());
    ctx.partition = Some(target.partition.clone());
    if let Some(cfg) = cfg {
        ctx.extra_claim_keys = cfg.extra_claim_keys.clone();
        ctx.trust_size_quota = cfg.trust_policy_size_quota;
    }
    ctx
}

/// The audiences for a config in a partition.
pub fn audiences(cfg: &Config, partition: &str) -> Vec<String> {
    cfg.audiences
        .clone()
        .unwrap_or_else(|| vec![default_audience(partition).to_string()])
}

/// The ARN of a role.
pub fn role_arn(target: &Target, role: &Role) -> String {
    format!(
        "arn:{}:iam::{}:role{}{}",
        target.partition, target.account_id, role.path, role.name
    )
}

/// The config as `account` sees it, or every problem at once: the file's own and, when there
/// are any, the preset parameters' too (so they are not reported only after the first are
/// fixed). The session calls this once per run.
pub fn load_config(source: &crate::config::Source, account: Option<&str>) -> Result<Config> {
    let (c, mut problems) = source.load_partial(account)?;
    if problems.is_empty() {
        return Ok(c);
    }
    if let Ok(t) = Templates::load(c.templates_dir.as_deref()) {
        problems.extend(preset_problems(&c, &t));
    }
    Err(Error::Config(problems))
}

/// Where to render a config to find its own problems without asking AWS: the pinned account
/// (or a placeholder) in the config's partition.
pub fn placeholder_target(cfg: &Config) -> Target {
    Target {
        account_id: cfg
            .account_id
            .clone()
            .filter(|a| names::account_id(a).is_ok())
            .unwrap_or_else(|| "123456789012".into()),
        partition: cfg.partition.clone().unwrap_or_else(|| {
            names::partition_of_region(cfg.region.as_deref().unwrap_or("us-east-1")).to_string()
        }),
    }
}

/// The preset-parameter problems of a config that failed validation, so that they are reported
/// with the config's own problems instead of after they are fixed. Renders for the pinned
/// account (or a placeholder) in the config's partition; anything that fails for another reason
/// contributes nothing.
pub fn preset_problems(cfg: &Config, templates: &Templates) -> Vec<ConfigError> {
    let target = placeholder_target(cfg);
    // A role whose subjects were all refused still has presets to check: give it a
    // placeholder subject, so its preset problems are reported with the subjects' (not after
    // they are fixed).
    let mut cfg = cfg.clone();
    for role in cfg.roles.iter_mut().filter(|r| r.subjects.is_empty()) {
        role.trust_override = None;
        role.subjects.push(crate::identity::subject::TrustSubject {
            spec: SubjectSpec::Repo {
                repo: crate::identity::subject::Repo {
                    owner: "placeholder".into(),
                    name: "placeholder".into(),
                    owner_id: None,
                    repo_id: None,
                },
                scope: crate::identity::subject::Scope::Branch("main".into()),
                format: crate::identity::subject::SubjectFormat::Classic,
            },
            claims: Vec::new(),
        });
    }
    match render(&cfg, templates, &target) {
        Err(Error::Config(problems)) => problems
            .into_iter()
            .filter(|p| p.key.contains(".preset["))
            .collect(),
        _ => Vec::new(),
    }
}

/// What GitHub reports for one repository of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFacts {
    /// The repository (current name, IDs, archived, moved).
    pub info: crate::identity::repository::RepoInfo,
    /// Its OIDC subject settings.
    pub settings: crate::identity::repository::SubjectSettings,
    /// The environments the config scopes roles to, by the name written in the config
    /// (`None`: it does not exist).
    pub environments: BTreeMap<String, Option<crate::identity::repository::EnvironmentInfo>>,
}

/// Check each role's repository subjects against what GitHub reports (`facts`, by `owner/repo`
/// as written in the config) and add the findings to the role: KL016 when the trusted form is
/// not the one the repository mints (classic vs immutable, other IDs, a custom template, a
/// renamed repository). Pure: the caller reads GitHub.
pub fn github_findings(cfg: &Config, rendered: &mut Rendered, facts: &BTreeMap<String, RepoFacts>) {
    use crate::identity::repository::SubForm;
    use crate::identity::subject::{SubjectFormat, SubjectSpec};
    for role in &mut rendered.roles {
        let Some(conf) = cfg.roles.iter().find(|r| r.name == role.name) else {
            continue;
        };
        let mut found = Vec::new();
        for (i, s) in conf.subjects.iter().enumerate() {
            let SubjectSpec::Repo { repo, format, .. } = &s.spec else {
                continue;
            };
            let full = repo.full_name();
            let Some(f) = facts.get(&full) else { continue };
            let key = format!("{}.subject[{i}]", conf_key(cfg, &role.name));
            let ids = format!(
                "owner_id = \"{}\", repo_id = \"{}\"",
                f.info.owner_id, f.info.id
            );
            let problem = if f.info.full_name != full {
                Some(format!(
                    "GitHub reports {full} is now {} (renamed or transferred): tokens carry the new name and this subject never matches",
                    f.info.full_name
                ))
            } else {
                match (f.settings.form(), format) {
                    (SubForm::Custom(keys), _) => Some(format!(
                        "{full} mints subjects from a custom template ({}), not repo:...: write the role's subject with custom = \"...\"",
                        keys.join(", ")
                    )),
                    (SubForm::Immutable, SubjectFormat::Classic) => Some(format!(
                        "{full} mints immutable subjects (repo:OWNER@ID/REPO@ID) but the role trusts the classic form: every token is denied; set {ids} and format = \"immutable\""
                    )),
                    (SubForm::Classic, SubjectFormat::Immutable) => Some(format!(
                        "{full} still mints classic subjects but the role trusts only the immutable form: every token is denied; set format = \"both\" until the repository switches"
                    )),
                    (_, SubjectFormat::Immutable | SubjectFormat::Both)
                        if repo.owner_id.as_deref() != Some(&f.info.owner_id.to_string())
                            || repo.repo_id.as_deref() != Some(&f.info.id.to_string()) =>
                    {
                        Some(format!(
                            "the IDs in the config differ from GitHub's for {full}: set {ids}"
                        ))
                    }
                    _ => None,
                }
            };
            if let crate::identity::subject::Scope::Environment(env) = scope_of(&s.spec)
                && let Some(e) = f.environments.get(env)
            {
                let (rule, message) = match e {
                    None => (
                        "KL022",
                        format!(
                            "environment {env} does not exist in {full}: a job that names it gets a new environment with no protection; apply creates it, then add reviewers or a deployment branch policy"
                        ),
                    ),
                    Some(i) if i.name != *env => (
                        "KL029",
                        format!(
                            "GitHub spells the environment {:?}, the config {env:?}: the sub carries the name as the job writes it, and StringEquals compares case-sensitively",
                            i.name
                        ),
                    ),
                    Some(i) if !i.protected() => (
                        "KL022",
                        format!(
                            "environment {env} of {full} has no protection rules and no deployment branch policy: any branch can run a job in it and assume this role"
                        ),
                    ),
                    _ => ("", String::new()),
                };
                if !rule.is_empty() {
                    let severity = lint::rule(rule)
                        .map(|r| r.severity)
                        .unwrap_or(lint::Severity::Medium);
                    found.push(Finding {
                        location: lint::Location {
                            document: format!("role {}: subjects", role.name),
                            statement: None,
                            key: Some(format!("{key}.environment")),
                            value: Some(env.clone()),
                        },
                        ..Finding::new(rule, severity, message)
                    });
                }
            }
            if let Some(message) = problem {
                let severity = lint::rule("KL016")
                    .map(|r| r.severity)
                    .unwrap_or(lint::Severity::Error);
                found.push(Finding {
                    location: lint::Location {
                        document: format!("role {}: subjects", role.name),
                        statement: None,
                        key: Some(key),
                        value: Some(full.clone()),
                    },
                    ..Finding::new("KL016", severity, message)
                });
            }
        }
        lint::apply_allows(&mut found, &role.allow);
        role.findings.extend(found);
    }
}

fn scope_of(spec: &crate::identity::subject::SubjectSpec) -> &crate::identity::subject::Scope {
    static ANY: crate::identity::subject::Scope = crate::identity::subject::Scope::AnyRef;
    match spec {
        crate::identity::subject::SubjectSpec::Repo { scope, .. } => scope,
        _ => &ANY,
    }
}

fn conf_key(cfg: &Config, role: &str) -> String {
    cfg.roles
        .iter()
        .position(|r| r.name == role)
        .map(|i| format!("role[{i}]"))
        .unwrap_or_else(|| "role".into())
}

/// Render and lint every role of the config.
pub fn render(cfg: &Config, templates: &Templates, target: &Target) -> Result<Rendered> {
    if cfg.roles.is_empty() {
        // Only a config of the organisation guard alone has none.
        return Err(Error::NotInConfig {
            message: format!(
                "{} has no [[role]]: it holds the organisation guard only",
                cfg.file
            ),
            fix: "run `keyless guard plan` (or apply, check, destroy), or add a [[role]]".into(),
        });
    }
    let auds = audiences(cfg, &target.partition);
    let provider_arn = cfg
        .issuer
        .provider_arn(&target.partition, &target.account_id);
    let mut problems = Vec::new();
    if let Some(a) = &cfg.account_id
        && a != &target.account_id
    {
        problems.push(ConfigError {
            file: cfg.file.clone(),
            key: "account_id".into(),
            value: Some(format!("{a:?}")),
            message: format!(
                "the config is pinned to account {a} but the credentials are for {}",
                target.account_id
            ),
            fix: Some(
                "use credentials for the pinned account (e.g. another AWS profile), or change account_id"
                    .into(),
            ),
        });
    }
    let mut roles = Vec::new();
    for role in &cfg.roles {
        roles.push(render_role(
            cfg,
            templates,
            target,
            &auds,
            &provider_arn,
            role,
            &mut problems,
        )?);
    }
    if !problems.is_empty() {
        return Err(Error::Config(problems));
    }
    Ok(Rendered {
        config: cfg.name.clone(),
        target: target.clone(),
        issuer: cfg.issuer.url.clone(),
        provider_arn,
        audiences: auds,
        roles,
        keep_removed_roles: cfg.keep_removed_roles,
    })
}

fn render_role(
    cfg: &Config,
    templates: &Templates,
    target: &Target,
    auds: &[String],
    provider_arn: &str,
    role: &Role,
    problems: &mut Vec<ConfigError>,
) -> Result<RoleDocuments> {
    let prefix = cfg.issuer.key_prefix();
    let mut lctx = LintContext::new(format!("role {}: trust policy", role.name));
    lctx.account_id = Some(target.account_id.clone());
    lctx.partition = Some(target.partition.clone());
    lctx.extra_claim_keys = cfg.extra_claim_keys.clone();
    lctx.trust_size_quota = cfg.trust_policy_size_quota;

    let trust = match &role.trust_override {
        // A trust policy given as is (imported): used verbatim, still shape-checked and linted.
        Some(o) => parse_checked(
            &o.text,
            Kind::Trust,
            &format!("role {} trust policy ({})", role.name, o.path.display()),
        )?,
        None => {
            let statements = trust_statements(prefix, auds, &role.subjects);
            let text = templates.render(
                template::TRUST,
                &serde_json::json!({ "provider_arn": provider_arn, "statements": statements }),
            )?;
            parse_checked(
                &text,
                Kind::Trust,
                &format!("role {} trust policy (from {})", role.name, template::TRUST),
            )?
        }
    };
    let mut findings = lint::lint_document(&trust, Some(Kind::Trust), &lctx);
    // KL018's generic advice is to set the IDs; when the config already has them, the fix is
    // the format.
    let ids_known = role.subjects.iter().all(|s| match &s.spec {
        SubjectSpec::Repo { repo, .. } => repo.owner_id.is_some() && repo.repo_id.is_some(),
        SubjectSpec::Custom(_) => false,
    });
    if ids_known {
        for f in findings.iter_mut().filter(|f| f.rule == "KL018") {
            f.message = "trust is pinned by names only; a deleted or renamed owner or repository can be re-registered. The config already has owner_id and repo_id: set format = \"both\" (while the repository still mints classic subjects) or \"immutable\" to pin by ID".into();
        }
    }

    let mut policies = Vec::new();
    for pu in &role.presets {
        let Some(spec) = templates.presets().get(&pu.name) else {
            problems.push(ConfigError {
                file: cfg.file.clone(),
                key: format!("{}.name", pu.key),
                value: Some(format!("{:?}", pu.name)),
                message: "unknown preset".into(),
                fix: Some(format!(
                    "{}use one of: {}",
                    templates
                        .nearest_preset(&pu.name)
                        .map(|n| format!("did you mean {n:?}? "))
                        .unwrap_or_default(),
                    templates
                        .presets()
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
            continue;
        };
        let mut ctx = serde_json::Map::new();
        let start = problems.len();
        for k in pu.params.keys() {
            if !spec.params.contains_key(k) {
                problems.push(ConfigError {
                    file: cfg.file.clone(),
                    key: format!("{}.params.{k}", pu.key),
                    value: Some(format!("{:?}", pu.params[k])),
                    message: format!("preset {} has no parameter `{k}`", pu.name),
                    fix: Some(format!(
                        "its parameters are: {}",
                        spec.params.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                });
            }
        }
        for (k, ps) in &spec.params {
            let value = pu
                .params
                .get(k)
                .cloned()
                .or_else(|| ps.default.clone())
                .or_else(|| {
                    (ps.kind == ParamKind::Region)
                        .then(|| cfg.region.clone())
                        .flatten()
                });
            let Some(value) = value else {
                problems.push(ConfigError {
                    file: cfg.file.clone(),
                    key: format!("{}.params.{k}", pu.key),
                    value: None,
                    message: format!("preset {} needs `{k}`: {}", pu.name, ps.help),
                    fix: Some(if ps.kind == ParamKind::Region {
                        "set region at the top of keyless.toml, or params.region".to_string()
                    } else {
                        format!("add {k} = \"...\" to params")
                    }),
                });
                continue;
            };
            if !value.is_empty()
                && let Err(msg) = ps.check(&value)
            {
                problems.push(ConfigError {
                    file: cfg.file.clone(),
                    key: format!("{}.params.{k}", pu.key),
                    value: Some(serde_json::to_string(&value).unwrap_or_default()),
                    message: msg,
                    fix: Some(ps.help.clone()),
                });
                continue;
            }
            if ps.kind == ParamKind::RoleArn || ps.kind == ParamKind::KmsKeyArn {
                check_partition(
                    cfg,
                    target,
                    &format!("{}.params.{k}", pu.key),
                    &value,
                    problems,
                );
            }
            ctx.insert(k.clone(), Value::String(value));
        }
        if problems.len() > start {
            continue;
        }
        ctx.insert("partition".into(), Value::String(target.partition.clone()));
        ctx.insert(
            "account_id".into(),
            Value::String(target.account_id.clone()),
        );
        ctx.insert("role_name".into(), Value::String(role.name.clone()));
        ctx.entry("region")
            .or_insert_with(|| Value::String(cfg.region.clone().unwrap_or_default()));
        let name = format!("presets/{}.json.tera", pu.name);
        let text = templates.render(&name, &Value::Object(ctx))?;
        let parsed = parse_checked(
            &text,
            Kind::Permission,
            &format!("role {} preset {} (from {name})", role.name, pu.name),
        )?;
        let mut pctx = lctx.clone();
        pctx.document = format!(
            "role {}: policy {} (preset {})",
            role.name, pu.policy_name, pu.name
        );
        findings.extend(lint::lint_document(&parsed, Some(Kind::Permission), &pctx));
        policies.push(RenderedPolicy {
            name: pu.policy_name.clone(),
            attach: "managed",
            source: format!("preset {}", pu.name),
            document: parsed.doc,
        });
    }
    let mut inline_total = 0;
    for ip in &role.inline_policies {
        let parsed = match policy::parse(&ip.text) {
            Ok(p) => p,
            Err(msg) => {
                problems.push(ConfigError {
                    file: ip.path.display().to_string(),
                    key: format!("{}.file", ip.key),
                    value: None,
                    message: msg,
                    fix: Some(
                        "fix the JSON; `keyless lint --policy FILE` shows the details".into(),
                    ),
                });
                continue;
            }
        };
        inline_total += policy::size(&parsed.doc);
        let mut pctx = lctx.clone();
        pctx.document = format!(
            "role {}: inline policy {} ({})",
            role.name,
            ip.name,
            ip.path.display()
        );
        pctx.permission_size_quota = 10_240;
        findings.extend(lint::lint_document(&parsed, Some(Kind::Permission), &pctx));
        policies.push(RenderedPolicy {
            name: ip.name.clone(),
            attach: "inline",
            source: ip.path.display().to_string(),
            document: parsed.doc,
        });
    }
    if inline_total > 10_240 {
        let mut pctx = lctx.clone();
        pctx.document = format!("role {}: inline policies", role.name);
        findings.push(Finding {
            location: lint::Location { document: pctx.document, ..Default::default() },
            ..Finding::new("KL107", lint::Severity::Error, format!("inline policies total {inline_total} characters; IAM allows 10240 per role (RolePolicySizeQuota). Move some into presets (managed policies)"))
        });
    }
    for (j, arn) in role.managed_policies.iter().enumerate() {
        check_partition(
            cfg,
            target,
            &format!("{}.managed_policies[{j}]", role.key),
            arn,
            problems,
        );
        let mut mctx = lctx.clone();
        mctx.document = format!("role {}: managed policy", role.name);
        findings.extend(lint::lint_managed_arn(arn, &mctx));
    }
    if let Some(b) = &role.permissions_boundary {
        check_partition(
            cfg,
            target,
            &format!("{}.permissions_boundary", role.key),
            b,
            problems,
        );
    }
    if role.presets.len() + role.managed_policies.len() > 10 {
        problems.push(ConfigError {
            file: cfg.file.clone(),
            key: role.key.clone(),
            value: None,
            message: format!("{} managed policies (presets plus managed_policies); IAM attaches at most 10 per role by default", role.presets.len() + role.managed_policies.len()),
            fix: Some("combine permissions or raise the quota first".into()),
        });
    }
    lint::apply_allows(&mut findings, &role.allow);
    let mut tags = role.tags.clone();
    tags.insert(
        crate::config::MANAGED_BY_KEY.into(),
        crate::config::MANAGED_BY_VALUE.into(),
    );
    tags.insert(crate::config::CONFIG_KEY.into(), cfg.name.clone());
    Ok(RoleDocuments {
        name: role.name.clone(),
        arn: role_arn(target, role),
        path: role.path.clone(),
        description: role.description.clone(),
        max_session_duration: role.max_session_duration,
        permissions_boundary: role.permissions_boundary.clone(),
        tags,
        subjects: role.subjects.iter().flat_map(|s| s.patterns()).collect(),
        trust_policy: trust.doc,
        policies,
        managed_policy_arns: role.managed_policies.clone(),
        findings,
        adopt: role.adopt,
        allow: role.allow.clone(),
    })
}

fn check_partition(
    cfg: &Config,
    target: &Target,
    key: &str,
    arn: &str,
    problems: &mut Vec<ConfigError>,
) {
    if let Ok(a) = names::arn(arn)
        && a.partition != target.partition
    {
        problems.push(ConfigError {
            file: cfg.file.clone(),
            key: key.into(),
            value: Some(format!("{arn:?}")),
            message: format!(
                "ARN is in partition {} but the account is in {}",
                a.partition, target.partition
            ),
            fix: Some(format!("use arn:{}:...", target.partition)),
        });
    }
}

/// Parse rendered text and insist it is a well-formed policy: a template (built-in or user) that
/// produces anything else is a bug to report, not a document to use.
fn parse_checked(text: &str, kind: Kind, what: &str) -> Result<policy::Parsed> {
    let parsed = policy::parse(text).map_err(|m| Error::Policy {
        what: what.into(),
        message: format!("{m}\n--- rendered text ---\n{text}"),
    })?;
    let problems = policy::shape_problems(&parsed.doc, kind);
    if !problems.is_empty() || !parsed.duplicate_keys.is_empty() {
        let mut all = problems;
        all.extend(
            parsed
                .duplicate_keys
                .iter()
                .map(|d| format!("duplicate key {d}")),
        );
        return Err(Error::Policy {
            what: what.into(),
            message: all.join("; "),
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn target() -> Target {
        Target {
            account_id: "123456789012".into(),
            partition: "aws".into(),
        }
    }

    fn cfg(text: &str) -> Config {
        crate::config::parse(text, "keyless.toml", Path::new(".")).unwrap()
    }

    const BASE: &str = "region = \"eu-west-1\"\n[[role]]\nname = \"gha-site\"\n[[role.subject]]\nrepo = \"octo-org/site\"\nbranch = \"main\"\nowner_id = \"1\"\nrepo_id = \"2\"\n";

    #[test]
    fn trust_policy_carries_aud_and_sub() {
        let r = render(&cfg(BASE), &Templates::load(None).unwrap(), &target()).unwrap();
        let t = &r.roles[0].trust_policy;
        let cond = &t["Statement"][0]["Condition"]["StringEquals"];
        assert_eq!(
            cond["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        assert_eq!(
            cond["token.actions.githubusercontent.com:sub"],
            "repo:octo-org@1/site@2:ref:refs/heads/main"
        );
        assert_eq!(
            t["Statement"][0]["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        );
        assert_eq!(r.roles[0].arn, "arn:aws:iam::123456789012:role/gha-site");
        assert_eq!(r.blocking(), 0, "{:?}", r.roles[0].findings);
    }

    #[test]
    fn china_partition_gets_its_audience_and_arns() {
        let r = render(
            &cfg(&BASE.replace("eu-west-1", "cn-north-1")),
            &Templates::load(None).unwrap(),
            &Target {
                account_id: "123456789012".into(),
                partition: "aws-cn".into(),
            },
        )
        .unwrap();
        assert_eq!(r.audiences, vec!["sts.amazonaws.com.cn"]);
        assert!(r.provider_arn.starts_with("arn:aws-cn:iam::"));
    }

    fn preset_params() -> Vec<(&'static str, &'static str)> {
        vec![
            ("s3-deploy", "bucket = \"my-site\""),
            ("s3-read", "bucket = \"my-site\"\nprefix = \"assets/\""),
            ("wafv2-read", ""),
            (
                "terraform-state",
                "bucket = \"tf-state\"\nkey = \"prod/terraform.tfstate\"\nlock_table = \"tf-lock\"",
            ),
            ("ecr-push", "repository = \"team/app\""),
            (
                "ecs-deploy",
                "cluster = \"main\"\nservice = \"web\"\nexecution_role_arn = \"arn:aws:iam::123456789012:role/ecsTaskExecutionRole\"\ntask_role_arn = \"arn:aws:iam::123456789012:role/web-task\"",
            ),
            ("lambda-deploy", "function = \"api\""),
            (
                "cloudformation-deploy",
                "stack = \"web\"\nservice_role_arn = \"arn:aws:iam::123456789012:role/cfn-exec\"",
            ),
            (
                "cloudfront-invalidation",
                "distribution_id = \"E1ABCDEF2GHIJK\"",
            ),
            ("secrets-read", "secret = \"prod/app/db\""),
            (
                "ssm-read",
                "path = \"/app/prod\"\nkms_key_arn = \"arn:aws:kms:eu-west-1:123456789012:key/abcd\"",
            ),
            ("keyless-check", ""),
            ("keyless-audit", ""),
        ]
    }

    #[test]
    fn every_preset_renders_a_clean_scoped_policy() {
        let templates = Templates::load(None).unwrap();
        assert_eq!(
            templates.presets().len(),
            preset_params().len(),
            "a preset is missing from this test"
        );
        for (name, params) in preset_params() {
            let text = format!(
                "{BASE}[[role.preset]]\nname = \"{name}\"\n[role.preset.params]\n{params}\n"
            );
            let r = render(&cfg(&text), &templates, &target())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let p = &r.roles[0].policies[0];
            assert_eq!(p.name, format!("gha-site-{name}"));
            let blocking: Vec<_> = r.roles[0]
                .findings
                .iter()
                .filter(|f| f.blocks() || f.severity >= lint::Severity::Medium)
                .collect();
            assert!(blocking.is_empty(), "{name}: {blocking:?}");
            insta::assert_json_snapshot!(format!("preset-{name}"), p.document);
        }
    }

    /// Every preset, with every value of each of its choice parameters (modes such as
    /// read-only, direct) and with its optional parameters left out, names only actions AWS
    /// lists, resources that fit them and condition keys they take (KL112-KL114, against AWS's
    /// Service Authorization Reference), and stays free of blocking or medium findings.
    #[test]
    fn every_preset_in_every_mode_agrees_with_aws_reference() {
        let templates = Templates::load(None).unwrap();
        let mut rendered = 0;
        for (name, params) in preset_params() {
            let spec = &templates.presets()[name];
            let mut variants = vec![params.to_string()];
            // Optional parameters left out (those with a default).
            variants.push(
                params
                    .lines()
                    .filter(|l| {
                        let k = l.split('=').next().unwrap_or("").trim();
                        spec.params.get(k).is_none_or(|p| p.default.is_none())
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            for (param, p) in &spec.params {
                for choice in &p.choices {
                    variants.push(format!("{params}\n{param} = \"{choice}\""));
                }
            }
            for v in variants {
                let text = format!(
                    "{BASE}[[role.preset]]\nname = \"{name}\"\n[role.preset.params]\n{v}\n"
                );
                let r = render(&cfg(&text), &templates, &target())
                    .unwrap_or_else(|e| panic!("{name} {v}: {e}"));
                rendered += 1;
                let bad: Vec<_> = r.roles[0]
                    .findings
                    .iter()
                    .filter(|f| {
                        ["KL112", "KL113", "KL114"].contains(&f.rule)
                            || f.blocks()
                            || f.severity >= lint::Severity::Medium
                    })
                    .map(|f| format!("{} {}", f.rule, f.message))
                    .collect();
                assert!(bad.is_empty(), "{name} with {v:?}:\n{}", bad.join("\n"));
            }
        }
        assert!(rendered >= 2 * preset_params().len(), "{rendered}");
    }

    #[test]
    fn optional_params_drop_their_statement() {
        let text = format!(
            "{BASE}[[role.preset]]\nname = \"terraform-state\"\n[role.preset.params]\nbucket = \"b-1\"\nkey = \"k.tfstate\"\n"
        );
        let r = render(&cfg(&text), &Templates::load(None).unwrap(), &target()).unwrap();
        let doc = r.roles[0].policies[0].document.to_string();
        assert!(!doc.contains("dynamodb"), "{doc}");
    }

    #[test]
    fn preset_errors_name_key_value_and_fix() {
        let text = format!(
            "{BASE}[[role.preset]]\nname = \"s3-deploy\"\n[role.preset.params]\nbucket = \"Bad\\\"Bucket\"\nextra = \"x\"\n[[role.preset]]\nname = \"nope\"\n[[role.preset]]\nname = \"ecr-push\"\n"
        );
        let Err(Error::Config(e)) = render(
            &cfg(&text.replace("region = \"eu-west-1\"\n", "")),
            &Templates::load(None).unwrap(),
            &target(),
        ) else {
            panic!()
        };
        let keys: Vec<_> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "role[0].preset[0].params.extra",
                "role[0].preset[0].params.bucket",
                "role[0].preset[1].name",
                "role[0].preset[2].params.region",
                "role[0].preset[2].params.repository"
            ]
        );
        assert_eq!(e[1].value.as_deref(), Some("\"Bad\\\"Bucket\""));
    }

    #[test]
    fn hostile_param_values_never_change_structure() {
        // Even bypassing validation (a user preset with a `name` parameter), escaping holds.
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("presets")).unwrap();
        std::fs::write(d.path().join("presets/raw.toml"), "description = \"x\"\n[params.thing]\nkind = \"s3_prefix\"\ndefault = \"\"\nhelp = \"h\"\n").unwrap();
        std::fs::write(d.path().join("presets/raw.json.tera"), "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:<< partition >>:s3:::b/<< role_name >>*\"}]}").unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        for hostile in ["\"}],\"x\":{\"y", "a\\", "line\nbreak", "}"] {
            let mut ctx = serde_json::Map::new();
            ctx.insert("partition".into(), Value::String("aws".into()));
            ctx.insert("role_name".into(), Value::String(hostile.into()));
            ctx.insert("thing".into(), Value::String(String::new()));
            let text = t
                .render("presets/raw.json.tera", &Value::Object(ctx))
                .unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                doc["Statement"][0]["Resource"],
                format!("arn:aws:s3:::b/{hostile}*")
            );
            assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
            assert_eq!(doc.as_object().unwrap().len(), 2);
        }
    }

    #[test]
    fn lint_blocks_until_allowed_by_name() {
        let org = "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/*\"\nbranch = \"main\"\n";
        let r = render(&cfg(org), &Templates::load(None).unwrap(), &target()).unwrap();
        assert!(r.findings().any(|f| f.rule == "KL004" && f.blocks()));
        let allowed = format!(
            "{org}[[role.allow]]\nrule = \"KL004\"\nreason = \"org-wide read-only audit role\"\n"
        );
        let r = render(&cfg(&allowed), &Templates::load(None).unwrap(), &target()).unwrap();
        assert_eq!(r.blocking(), 0);
        assert!(
            r.findings()
                .any(|f| f.rule == "KL004" && f.allowed.is_some())
        );
    }

    #[test]
    fn kl018_asks_for_the_format_when_the_ids_are_already_there() {
        let names = "[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n";
        let r = render(&cfg(names), &Templates::load(None).unwrap(), &target()).unwrap();
        let f = r.findings().find(|f| f.rule == "KL018").unwrap();
        assert!(
            f.message.contains("set owner_id and repo_id"),
            "{}",
            f.message
        );
        let ids = format!("{names}owner_id = \"1\"\nrepo_id = \"2\"\nformat = \"classic\"\n");
        let r = render(&cfg(&ids), &Templates::load(None).unwrap(), &target()).unwrap();
        let f = r.findings().find(|f| f.rule == "KL018").unwrap();
        assert!(
            !f.message.contains("set owner_id and repo_id")
                && f.message.contains("format = \"both\""),
            "{}",
            f.message
        );
    }

    #[test]
    fn account_pin_mismatch_is_an_error() {
        let c = cfg(&format!("account_id = \"999999999999\"\n{BASE}"));
        let Err(Error::Config(e)) = render(&c, &Templates::load(None).unwrap(), &target()) else {
            panic!()
        };
        assert_eq!(e[0].key, "account_id");
    }

    #[test]
    fn mixed_subjects_snapshot() {
        let text = r#"
[[role]]
name = "gha-app"
[[role.subject]]
repo = "octo-org/app"
branch = "main"
[[role.subject]]
repo = "octo-org/app"
tag = "v*"
[[role.subject]]
repo = "octo-org/app"
environment = "prod"
owner_id = "123456"
repo_id = "456789"
format = "both"
[[role.subject]]
repo = "octo-org/app"
pull_request = true
claims = { job_workflow_ref = "octo-org/workflows/.github/workflows/deploy.yml@refs/heads/main" }
"#;
        let r = render(&cfg(text), &Templates::load(None).unwrap(), &target()).unwrap();
        insta::assert_json_snapshot!("trust-mixed-subjects", r.roles[0].trust_policy);
    }
}
