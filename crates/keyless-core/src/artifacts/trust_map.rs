//! The trust map: which GitHub repositories, on which scopes, can reach which roles, and what
//! those roles can do, as one self-contained HTML page (`audit --html`, `check --html`) and as a
//! compact Mermaid diagram for a GitHub step summary. A pure function of what the audit (or the
//! check) read: no I/O, nothing fetched by the page (inline styles and script, a
//! Content-Security-Policy that forbids remote loads).
//!
//! The picture, per account: owners → repositories and the scopes they mint (branch, tag,
//! environment, pull request, any) → roles → services with AWS's access levels (from the
//! Service Authorization Reference table), administrator-equivalent and secret access called out.
//! Edges are coloured by the role's worst finding; an edge from "any repository on GitHub" or
//! "any repository in OWNER" is drawn as broad.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::identity::subject::{ParsedSub, Scope, parse_sub};
use crate::policy::actions::{Access, Named, table};
use crate::policy::document as policy;
use crate::policy::finding::Finding;
use crate::policy::lint::Severity;
use crate::state::audit::{AccountView, AuditedRole};

const TEMPLATE: &str = include_str!("../../templates/trust-map.html");

/// Accounts with more roles than this start collapsed (and so do owners).
const OPEN_UP_TO: usize = 40;

/// One account's part of the map.
#[derive(Debug, Clone)]
pub struct MapAccount {
    /// Account ID.
    pub account: String,
    /// Its GitHub-trusting roles.
    pub view: AccountView,
    /// Its findings.
    pub findings: Vec<Finding>,
    /// Whether the organisation guard covers it (`None`: not known).
    pub guarded: Option<bool>,
    /// What each role used, per service (`keyless usage --html`): by role name, service
    /// prefix → `used`, `unused` or `unknown` ([`service_marks`]).
    pub used: BTreeMap<String, BTreeMap<String, &'static str>>,
    /// Where a row is reached from by a stored key instead of a trust (`keyless keys --html`):
    /// by row name (an IAM user), the repositories holding its key. Drawn unlike OIDC.
    pub stored: BTreeMap<String, Vec<Source>>,
}

/// Per service, from a granted-vs-used comparison: `used` when any action of it was used,
/// `unused` when every granted action of it is provably unused, else `unknown`.
pub fn service_marks(rows: &[crate::policy::usage::Row]) -> BTreeMap<String, &'static str> {
    use crate::policy::usage::Status;
    let mut out: BTreeMap<String, &'static str> = BTreeMap::new();
    for r in rows {
        let service = r
            .action
            .split_once(':')
            .map(|(p, _)| p)
            .unwrap_or(&r.action);
        let mark = match r.status {
            Status::Used { .. } => "used",
            Status::Unused { .. } if r.granted => "unused",
            _ => "unknown",
        };
        let e = out.entry(service.to_string()).or_insert(mark);
        *e = match (*e, mark) {
            ("used", _) | (_, "used") => "used",
            ("unused", "unused") => "unused",
            _ => "unknown",
        };
    }
    out
}

/// A config role as the config renders it (its intent), drawn under `name`.
fn as_configured(r: &crate::state::render::RoleDocuments, name: String) -> AuditedRole {
    AuditedRole {
        name,
        arn: r.arn.clone(),
        trust_policy: r.trust_policy.clone(),
        inline_policies: r
            .policies
            .iter()
            .map(|p| (p.name.clone(), p.document.clone()))
            .collect(),
        attached_policies: r.managed_policy_arns.clone(),
        tags: r.tags.clone(),
        ..Default::default()
    }
}

impl MapAccount {
    /// The config's roles as it renders them (their intent), with `findings`; for a map of
    /// what they used ([`MapAccount::with_usage`]).
    pub fn from_rendered(
        rendered: &crate::state::render::Rendered,
        findings: &[Finding],
    ) -> MapAccount {
        MapAccount {
            account: rendered.target.account_id.clone(),
            view: AccountView {
                providers: vec![rendered.provider_arn.clone()],
                roles: rendered
                    .roles
                    .iter()
                    .map(|r| as_configured(r, r.name.clone()))
                    .collect(),
            },
            findings: findings.to_vec(),
            guarded: None,
            used: BTreeMap::new(),
            stored: BTreeMap::new(),
        }
    }

    /// With what each role used, per service: used permissions drawn solid, granted but
    /// unused ones faint.
    pub fn with_usage(
        mut self,
        used: BTreeMap<String, BTreeMap<String, &'static str>>,
    ) -> MapAccount {
        self.used = used;
        self
    }

    /// The findings about role `name`.
    pub fn findings_of(&self, name: &str) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.role.as_deref() == Some(name))
            .collect()
    }

    /// What an audit read of one account: its roles, findings, and whether a guard covers it
    /// (KA006 says it does not).
    pub fn from_audit(account: &str, view: &AccountView, findings: &[Finding]) -> MapAccount {
        let unguarded = findings
            .iter()
            .any(|f| f.rule == crate::state::audit::UNGUARDED);
        MapAccount {
            account: account.to_string(),
            view: view.clone(),
            findings: findings.to_vec(),
            guarded: unguarded.then_some(false),
            used: BTreeMap::new(),
            stored: BTreeMap::new(),
        }
    }

    /// What a check compared: the config's roles as rendered (keyless-managed), with the drift.
    pub fn from_check(
        rendered: &crate::state::render::Rendered,
        observed: &crate::state::observed::Observed,
        others: &[(String, Value)],
        drift: &[Finding],
    ) -> MapAccount {
        // What is live: each config role as IAM holds it (its documents, its attachments, the
        // managed policies' documents keyless owns), the config's intent only for a role IAM
        // does not hold; and the roles outside the config that trust the provider.
        let mut roles: Vec<AuditedRole> = rendered
            .roles
            .iter()
            .map(|r| match observed.roles.get(&r.name) {
                Some(Some(live)) => AuditedRole {
                    name: live.name.clone(),
                    arn: live.arn.clone(),
                    trust_policy: live.trust_policy.clone(),
                    inline_policies: live.inline_policies.clone(),
                    attached_policies: live.attached_policies.clone(),
                    tags: live.tags.clone(),
                    managed_documents: live
                        .attached_policies
                        .iter()
                        .filter_map(|arn| match observed.policies.get(arn) {
                            Some(Some(p)) => Some((arn.clone(), p.document.clone())),
                            _ => None,
                        })
                        .collect(),
                    ..Default::default()
                },
                _ => as_configured(r, r.name.clone()),
            })
            .collect();
        // Where IAM differs from the config (a changed trust or policy), the config's intent is
        // drawn beside what is live.
        for r in &rendered.roles {
            let differs = drift.iter().any(|f| {
                f.role.as_deref() == Some(r.name.as_str())
                    && matches!(
                        f.kind(),
                        Some(
                            crate::state::drift::DriftKind::TrustPolicyChanged
                                | crate::state::drift::DriftKind::PermissionPolicyChanged
                                | crate::state::drift::DriftKind::InlinePolicyChanged
                                | crate::state::drift::DriftKind::InlinePolicyAdded
                                | crate::state::drift::DriftKind::ExtraPolicyAttached
                                | crate::state::drift::DriftKind::PolicyDetached
                        )
                    )
            });
            if differs && matches!(observed.roles.get(&r.name), Some(Some(_))) {
                roles.push(as_configured(r, format!("{} (as configured)", r.name)));
            }
        }
        for name in crate::state::drift::trusting_provider(rendered, others) {
            if let Some((_, trust)) = others.iter().find(|(n, _)| n == name) {
                roles.push(AuditedRole {
                    name: name.to_string(),
                    arn: format!(
                        "arn:{}:iam::{}:role/{name}",
                        rendered.target.partition, rendered.target.account_id
                    ),
                    trust_policy: trust.clone(),
                    ..Default::default()
                });
            }
        }
        MapAccount {
            account: rendered.target.account_id.clone(),
            view: AccountView {
                providers: vec![rendered.provider_arn.clone()],
                roles,
            },
            // The map names a drift finding by the lint rule behind it (else its kind) and
            // says which resource it is about.
            findings: drift
                .iter()
                .map(|f| Finding {
                    message: format!(
                        "{}: {}",
                        f.resource.as_deref().unwrap_or_default(),
                        f.message
                    ),
                    ..f.clone()
                })
                .collect(),
            guarded: None,
            used: BTreeMap::new(),
            stored: BTreeMap::new(),
        }
    }
}

/// Where a role's trust lets tokens in from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The owner (`*` for any).
    pub owner: String,
    /// `OWNER/REPO`, or a description of the breadth.
    pub repo: String,
    /// The scope, in words.
    pub scope: String,
    /// `github` (any repository on GitHub), `owner` (any in the owner), `stored-key` (a stored
    /// access key, not a trust), or empty.
    pub broad: String,
}

impl Source {
    /// A repository reaching an IAM user through a stored key (`how`: the evidence).
    pub fn stored_key(repo: &str, how: &str) -> Source {
        Source {
            owner: repo.split('/').next().unwrap_or(repo).to_string(),
            repo: repo.to_string(),
            scope: format!("stored key ({how})"),
            broad: "stored-key".into(),
        }
    }
}

/// What a role can do in one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// Service prefix, or `*`.
    pub service: String,
    /// AWS's access level, or what a managed policy is.
    pub level: String,
    /// `admin`, `secrets`, `perm`, `write`, `read`, `other`: how it is drawn.
    pub class: String,
    /// The resources the service's actions are allowed on (empty when not read from a
    /// document: an AWS-managed policy known by name).
    pub resources: Vec<String>,
    /// From the records, when read: `used`, `unused` or `unknown` (empty: not read).
    pub used: &'static str,
}

#[derive(Serialize)]
struct Row {
    account: String,
    role: String,
    managed: bool,
    /// The keyless config (team) that owns a managed role, when its tag names one.
    config: String,
    risk: &'static str,
    sources: Vec<Source>,
    caps: Vec<Capability>,
    findings: usize,
    search: String,
    height: usize,
    edges_in: Vec<Edge>,
    edges_out: Vec<Edge>,
}

#[derive(Serialize)]
struct Edge {
    y1: usize,
    y2: usize,
    class: String,
}

#[derive(Serialize)]
struct Group {
    owner: String,
    broad: bool,
    open: bool,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct AccountOut {
    id: String,
    roles: usize,
    open: bool,
    guarded: Option<bool>,
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct FindingOut {
    account: String,
    rule: String,
    severity: &'static str,
    role: String,
    message: String,
    /// The catalogue's fix for it.
    fix: String,
    search: String,
}

#[derive(Serialize)]
struct Page<'a> {
    title: &'a str,
    generated: &'a str,
    source: &'a str,
    version: &'static str,
    aws_data: String,
    roles: usize,
    accounts: Vec<AccountOut>,
    findings: Vec<FindingOut>,
    risky: usize,
    /// Whether any role carries what it used (a legend for it).
    with_usage: bool,
    /// Whether any row is reached through a stored key (a legend for it).
    with_stored: bool,
}

/// The class an edge or role is drawn with, by its worst finding.
pub fn risk(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Critical) => "critical",
        Some(Severity::High) => "high",
        Some(Severity::Medium | Severity::Error) => "medium",
        Some(Severity::Warning | Severity::Low) => "low",
        Some(Severity::Info) | None => "none",
    }
}

fn scope_words(scope: &Scope) -> String {
    match scope {
        Scope::Branch(b) => format!("branch {b}"),
        Scope::Tag(t) => format!("tag {t}"),
        Scope::Environment(e) => format!("environment {e}"),
        Scope::PullRequest => "pull requests".into(),
        Scope::AnyRef => "any ref".into(),
    }
}

/// Where a trust lets tokens in from, read from its `sub` conditions (and owner ID pins).
pub fn sources(trust: &Value) -> Vec<Source> {
    let mut out = Vec::new();
    // Each Allow statement on its own, as IAM reads it: a statement admits the repositories
    // its positive `sub` conditions name; one with none (no `sub`, only `Null`, or only
    // negated operators, which exclude rather than admit) admits any repository on GitHub,
    // whatever the other statements narrow.
    for st in policy::statements(trust) {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let mut admitted = Vec::new();
        let mut excluded = Vec::new();
        let mut unread = Vec::new();
        for (op, key, values) in policy::condition_entries(st) {
            if !key.to_ascii_lowercase().ends_with(":sub") {
                continue;
            }
            let (_, base, _) = policy::split_operator(&op);
            match base {
                "StringEquals" | "StringLike" | "StringEqualsIgnoreCase" => admitted.extend(values),
                "StringNotEquals" | "StringNotLike" | "StringNotEqualsIgnoreCase" => {
                    excluded.extend(values)
                }
                "Null" => {}
                _ => unread.push(op.clone()),
            }
        }
        if admitted.is_empty() {
            let scope = if !unread.is_empty() {
                format!("sub only through {}, not read here", unread.join(", "))
            } else if !excluded.is_empty() {
                format!("every sub except {}", excluded.join(", "))
            } else {
                "no sub condition".into()
            };
            out.push(Source {
                owner: "*".into(),
                repo: "any repository on GitHub".into(),
                scope,
                broad: "github".into(),
            });
            continue;
        }
        for v in admitted {
            out.push(match parse_sub(&v) {
                ParsedSub::Repo { repo, scope, .. } if repo.owner.contains(['*', '?']) => Source {
                    owner: "*".into(),
                    repo: "any repository on GitHub".into(),
                    scope: scope_words(&scope),
                    broad: "github".into(),
                },
                ParsedSub::Repo { repo, scope, .. } if repo.name.contains(['*', '?']) => Source {
                    owner: repo.owner.clone(),
                    repo: format!("any repository in {}", repo.owner),
                    scope: scope_words(&scope),
                    broad: "owner".into(),
                },
                ParsedSub::Repo { repo, scope, .. } => Source {
                    owner: repo.owner.clone(),
                    repo: repo.full_name(),
                    scope: scope_words(&scope),
                    broad: String::new(),
                },
                ParsedSub::Custom(c) => custom_source(&c),
            });
        }
    }
    if out.is_empty() {
        // No Allow statement at all: nothing is admitted, but say so rather than draw nothing.
        out.push(Source {
            owner: "*".into(),
            repo: "no repository".into(),
            scope: "no Allow statement".into(),
            broad: String::new(),
        });
    }
    out.sort_by(|a, b| (&a.owner, &a.repo, &a.scope).cmp(&(&b.owner, &b.repo, &b.scope)));
    out.dedup();
    out
}

/// A `sub` keyless would not render: `repo:OWNER/NAME...` read as far as it goes.
fn custom_source(c: &str) -> Source {
    let wild = |s: &str| s.contains(['*', '?']);
    let any = || Source {
        owner: "*".into(),
        repo: "any repository on GitHub".into(),
        scope: format!("sub {c}"),
        broad: "github".into(),
    };
    let Some(rest) = c.strip_prefix("repo:") else {
        return if c == "*" {
            any()
        } else {
            Source {
                owner: "(custom)".into(),
                repo: c.to_string(),
                scope: "custom sub".into(),
                broad: String::new(),
            }
        };
    };
    let repo_part = rest.split(':').next().unwrap_or(rest);
    let (owner, name) = repo_part.split_once('/').unwrap_or((repo_part, "*"));
    let owner = owner.split('@').next().unwrap_or(owner);
    if wild(owner) {
        return any();
    }
    let name = name.split('@').next().unwrap_or(name);
    let scope = rest
        .split_once(':')
        .map(|(_, ctx)| ctx.to_string())
        .unwrap_or_else(|| "any".into());
    if wild(name) {
        Source {
            owner: owner.to_string(),
            repo: format!("any repository in {owner}"),
            scope,
            broad: "owner".into(),
        }
    } else {
        Source {
            owner: owner.to_string(),
            repo: format!("{owner}/{name}"),
            scope,
            broad: String::new(),
        }
    }
}

/// What a role can do, per service: the inline documents' actions expanded against AWS's
/// table, and what the attached managed policies are known to be.
pub fn capabilities(role: &AuditedRole) -> Vec<Capability> {
    let mut by_service: BTreeMap<String, (Access, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    let mut admin = false;
    let mut secrets = false;
    let mut other = Vec::new();
    for arn in &role.attached_policies {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        if role.managed_documents.contains_key(arn) {
            continue; // read below with the inline documents
        }
        match name {
            "AdministratorAccess" | "PowerUserAccess" | "IAMFullAccess" => admin = true,
            _ if arn.contains(":aws:policy/") && name.ends_with("FullAccess") => {
                other.push(Capability {
                    service: name.trim_end_matches("FullAccess").to_ascii_lowercase(),
                    level: format!("{name} (AWS managed)"),
                    class: "perm".into(),
                    resources: Vec::new(),
                    used: "",
                })
            }
            "ReadOnlyAccess" => other.push(Capability {
                service: "*".into(),
                level: "ReadOnlyAccess (AWS managed)".into(),
                class: "read".into(),
                resources: Vec::new(),
                used: "",
            }),
            _ => other.push(Capability {
                service: name.to_string(),
                level: "managed policy".into(),
                class: "other".into(),
                resources: Vec::new(),
                used: "",
            }),
        }
    }
    for doc in role
        .inline_policies
        .values()
        .chain(role.managed_documents.values())
    {
        for st in policy::statements(doc) {
            if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            if st.contains_key("NotAction") {
                admin = true;
                continue;
            }
            let resources: Vec<String> = policy::strings(st.get("Resource"))
                .into_iter()
                .map(String::from)
                .collect();
            for entry in policy::strings(st.get("Action")) {
                let lower = entry.to_ascii_lowercase();
                if crate::policy::lint::SECRET_READS
                    .iter()
                    .any(|s| crate::policy::wildcard::like(&lower, s))
                {
                    secrets = true;
                }
                match table().named(entry) {
                    Named::Everything => admin = true,
                    Named::UnknownService(_) => {}
                    Named::Actions(s, acts) => {
                        if let Some(level) = acts.iter().map(|a| a.access).max() {
                            let e = by_service
                                .entry(s.prefix.clone())
                                .or_insert((level, Default::default()));
                            e.0 = e.0.max(level);
                            e.1.extend(resources.iter().cloned());
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    if admin {
        out.push(Capability {
            service: "*".into(),
            level: "administrator-equivalent".into(),
            class: "admin".into(),
            resources: Vec::new(),
            used: "",
        });
    }
    if secrets {
        out.push(Capability {
            service: "secrets".into(),
            level: "reads secret material".into(),
            class: "secrets".into(),
            resources: Vec::new(),
            used: "",
        });
    }
    for (service, (level, resources)) in by_service {
        let class = match level {
            Access::PermissionsManagement => "perm",
            Access::Write | Access::Tagging => "write",
            Access::Read | Access::List => "read",
        };
        out.push(Capability {
            service,
            level: level.label().into(),
            class: class.into(),
            resources: resources.into_iter().collect(),
            used: "",
        });
    }
    out.extend(other);
    out
}

/// Row geometry: 26 px a line.
const LINE: usize = 26;

fn row(
    account: &str,
    role: &AuditedRole,
    findings: &[&Finding],
    used: Option<&BTreeMap<String, &'static str>>,
    stored: Option<&Vec<Source>>,
) -> Row {
    let sources = stored
        .cloned()
        .unwrap_or_else(|| sources(&role.trust_policy));
    let mut caps = capabilities(role);
    if let Some(used) = used {
        for c in &mut caps {
            c.used = used.get(&c.service).copied().unwrap_or("unknown");
        }
    }
    let worst = findings.iter().map(|f| f.severity).max();
    let risk = risk(worst);
    let lines = sources.len().max(caps.len()).max(1);
    let height = lines * LINE;
    let mid = height / 2;
    let y = |i: usize, n: usize| {
        let top = (height - n * LINE) / 2;
        top + i * LINE + LINE / 2
    };
    let edges_in = sources
        .iter()
        .enumerate()
        .map(|(i, s)| Edge {
            y1: y(i, sources.len()),
            y2: mid,
            class: format!(
                "edge risk-{risk}{}",
                match s.broad.as_str() {
                    "" => "",
                    "stored-key" => " stored-key",
                    _ => " broad",
                }
            ),
        })
        .collect();
    let edges_out = caps
        .iter()
        .enumerate()
        .map(|(i, c)| Edge {
            y1: mid,
            y2: y(i, caps.len()),
            class: format!(
                "edge cap-{}{}",
                c.class,
                if c.used.is_empty() {
                    String::new()
                } else {
                    format!(" use-{}", c.used)
                }
            ),
        })
        .collect();
    let managed = role
        .tags
        .get(crate::config::MANAGED_BY_KEY)
        .map(String::as_str)
        == Some(crate::config::MANAGED_BY_VALUE);
    let mut search = format!("{account} {} ", role.name);
    for s in &sources {
        search.push_str(&format!("{} {} ", s.repo, s.scope));
    }
    for f in findings {
        search.push_str(&format!("{} ", f.label()));
    }
    Row {
        account: account.to_string(),
        role: role.name.clone(),
        managed,
        config: role
            .tags
            .get(crate::config::CONFIG_KEY)
            .cloned()
            .unwrap_or_default(),
        risk,
        findings: findings.len(),
        search: search.to_lowercase(),
        height,
        edges_in,
        edges_out,
        sources,
        caps,
    }
}

/// The page. `title` names what was read, `generated` when (RFC 3339), `source` against what.
pub fn html(title: &str, generated: &str, source: &str, accounts: &[MapAccount]) -> String {
    let mut out_accounts = Vec::new();
    let mut findings = Vec::new();
    let mut total = 0;
    let mut risky = 0;
    for a in accounts {
        let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
        for role in &a.view.roles {
            let fs = a.findings_of(&role.name);
            let r = row(
                &a.account,
                role,
                &fs,
                a.used.get(&role.name),
                a.stored.get(&role.name),
            );
            if matches!(r.risk, "critical" | "high")
                || r.sources.iter().any(|s| !s.broad.is_empty())
            {
                risky += 1;
            }
            let owners: std::collections::BTreeSet<&str> =
                r.sources.iter().map(|s| s.owner.as_str()).collect();
            let key = match owners.len() {
                1 => owners.into_iter().next().unwrap_or("*").to_string(),
                _ => "(several owners)".to_string(),
            };
            groups.entry(key).or_default().push(r);
        }
        total += a.view.roles.len();
        let open = a.view.roles.len() <= OPEN_UP_TO;
        out_accounts.push(AccountOut {
            id: a.account.clone(),
            roles: a.view.roles.len(),
            open,
            guarded: a.guarded,
            groups: groups
                .into_iter()
                .map(|(owner, rows)| Group {
                    broad: owner == "*",
                    open: open || rows.len() <= 5,
                    owner: if owner == "*" {
                        "any owner".into()
                    } else {
                        owner
                    },
                    rows,
                })
                .collect(),
        });
        for f in &a.findings {
            findings.push(FindingOut {
                account: a.account.clone(),
                rule: f.label().to_string(),
                severity: f.severity.as_str(),
                role: f.role.clone().unwrap_or_default(),
                message: f.message.clone(),
                fix: f.fix().unwrap_or_default().to_string(),
                search: format!(
                    "{} {} {} {}",
                    a.account,
                    f.label(),
                    f.role.clone().unwrap_or_default(),
                    f.message
                )
                .to_lowercase(),
            });
        }
    }
    let page = Page {
        title,
        generated,
        source,
        version: env!("CARGO_PKG_VERSION"),
        aws_data: table().source.clone(),
        roles: total,
        accounts: out_accounts,
        findings,
        risky,
        with_usage: accounts.iter().any(|a| !a.used.is_empty()),
        with_stored: accounts.iter().any(|a| !a.stored.is_empty()),
    };
    render(&page).unwrap_or_else(|e| {
        format!("<!DOCTYPE html><meta charset=utf-8><title>keyless</title><p>the trust map could not be drawn: {}</p>", e.replace('<', "&lt;"))
    })
}

fn render(page: &Page) -> Result<String, String> {
    let mut tera = tera::Tera::new();
    tera.autoescape_on([".html"]);
    tera.add_raw_template("trust-map.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let ctx = tera::Context::from_serialize(page).map_err(|e| e.to_string())?;
    tera.render("trust-map.html", &ctx)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GH: &str = "token.actions.githubusercontent.com";

    fn role(
        name: &str,
        subs: &[&str],
        inline: Value,
        attached: &[&str],
        managed: bool,
    ) -> AuditedRole {
        let mut tags = BTreeMap::new();
        if managed {
            tags.insert("managed-by".to_string(), "keyless".to_string());
        }
        AuditedRole {
            name: name.into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            trust_policy: json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{GH}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {format!("{GH}:sub"): subs}}}]}),
            inline_policies: BTreeMap::from([("p".to_string(), inline)]),
            attached_policies: attached.iter().map(|s| s.to_string()).collect(),
            tags,
            ..Default::default()
        }
    }

    fn sample() -> Vec<MapAccount> {
        let view = AccountView {
            providers: vec![],
            roles: vec![
                role(
                    "site-deploy",
                    &["repo:octo-org/site:ref:refs/heads/main"],
                    json!({"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:ListBucket"], "Resource": "*"}]}),
                    &[],
                    true,
                ),
                role(
                    "legacy-any",
                    &["repo:*"],
                    json!({}),
                    &["arn:aws:iam::aws:policy/AdministratorAccess"],
                    false,
                ),
                role(
                    "org-wide",
                    &["repo:octo-org/*"],
                    json!({"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}),
                    &[],
                    false,
                ),
            ],
        };
        vec![MapAccount {
            account: "123456789012".into(),
            view,
            findings: vec![
                Finding::new("KL001", Severity::Critical, "any repository <script>")
                    .on_role(Some("legacy-any".into())),
                Finding::new("KL004", Severity::High, "org-wide").on_role(Some("org-wide".into())),
            ],
            guarded: Some(false),
            used: Default::default(),
            stored: Default::default(),
        }]
    }

    #[test]
    fn sources_read_each_statement_and_its_operators() {
        let st = |cond: Value| {
            json!({"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
                "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond})
        };
        let sub = format!("{GH}:sub");
        // A narrow Allow beside an Allow with no sub: the second admits any repository.
        let two = json!({"Statement": [
            st(json!({"StringEquals": {&sub: "repo:octo-org/site:ref:refs/heads/main"}})),
            st(json!({"StringEquals": {format!("{GH}:aud"): "sts.amazonaws.com"}})),
        ]});
        let s = sources(&two);
        assert!(s.iter().any(|s| s.broad == "github"), "{s:?}");
        assert!(s.iter().any(|s| s.repo == "octo-org/site"), "{s:?}");
        // A negated operator excludes a repository; it never admits it.
        let not =
            json!({"Statement": [st(json!({"StringNotLike": {&sub: "repo:octo-org/secret:*"}}))]});
        let s = sources(&not);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].broad, "github");
        assert!(
            s[0].scope.contains("except repo:octo-org/secret:*"),
            "{s:?}"
        );
        assert!(!s.iter().any(|s| s.repo.contains("secret")));
    }

    #[test]
    fn sources_say_how_broad_a_trust_is() {
        let s = sources(&sample()[0].view.roles[1].trust_policy);
        assert_eq!(s[0].broad, "github");
        let s = sources(&sample()[0].view.roles[2].trust_policy);
        assert_eq!(
            (s[0].broad.as_str(), s[0].repo.as_str()),
            ("owner", "any repository in octo-org")
        );
        let s = sources(&sample()[0].view.roles[0].trust_policy);
        assert_eq!(
            (s[0].repo.as_str(), s[0].scope.as_str()),
            ("octo-org/site", "branch main")
        );
        assert_eq!(
            sources(&json!({"Statement": [{"Effect": "Allow"}]}))[0].broad,
            "github"
        );
    }

    #[test]
    fn capabilities_use_aws_access_levels_and_call_out_admin_and_secrets() {
        let a = &sample()[0].view.roles;
        let c = capabilities(&a[0]);
        assert_eq!(
            c,
            vec![Capability {
                service: "s3".into(),
                level: "Write".into(),
                class: "write".into(),
                resources: vec!["*".into()],
                used: "",
            }]
        );
        assert_eq!(capabilities(&a[1])[0].class, "admin");
        let c = capabilities(&a[2]);
        assert!(
            c.iter().any(|c| c.class == "secrets")
                && c.iter()
                    .any(|c| c.service == "secretsmanager" && c.level == "Read")
        );
    }

    #[test]
    fn the_page_is_self_contained_escaped_and_classes_risky_edges() {
        let page = html(
            "keyless audit",
            "2026-12-03T00:00:00Z",
            "account 123456789012",
            &sample(),
        );
        assert!(page.contains("Content-Security-Policy") && page.contains("default-src 'none'"));
        for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!page.contains(remote), "{remote}");
        }
        assert!(!page.contains("<script>\"") && page.contains("any repository &lt;script&gt;"));
        assert!(page.contains("edge risk-critical broad"), "the repo:* edge");
        assert!(page.contains("edge risk-high broad"), "the org-wide edge");
        assert!(page.contains("edge risk-none"), "the scoped role");
        for role in ["site-deploy", "legacy-any", "org-wide"] {
            assert!(page.contains(&format!("data-role=\"{role}\"")), "{role}");
        }
        assert!(page.contains("hand-made") && page.contains("keyless-managed"));
        // The access levels have a legend; low and medium are told apart.
        assert!(page.contains("id=\"access-legend\"") && page.contains("permissions management"));
        let colour = |name: &str| {
            let at = page.find(&format!("--{name}: ")).unwrap() + name.len() + 4;
            page[at..at + 7].to_string()
        };
        assert_ne!(colour("low"), colour("medium"));
        // Every finding says how to fix it (the critical ones included).
        assert!(
            page.contains("fix: add a sub condition naming the repository and its scope"),
            "KL001s fix"
        );
    }

    #[test]
    fn a_managed_role_names_the_config_that_owns_it() {
        let mut accounts = sample();
        accounts[0].view.roles[0]
            .tags
            .insert(crate::config::CONFIG_KEY.into(), "web-team".into());
        let page = html(
            "keyless audit",
            "2026-12-03T00:00:00Z",
            "account 1",
            &accounts,
        );
        assert!(page.contains("keyless-managed (config web-team)"), "{page}");
        // Each permission says what it is allowed on.
        assert!(page.contains("<small>Write on *</small>"), "{page}");
    }
}
