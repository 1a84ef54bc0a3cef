//! `keyless keys`: the stored AWS keys GitHub holds, the workflows that pass them, the IAM
//! users' keys, what links them (with the evidence and how sure it is), and the findings.

use serde::Serialize;

use keyless::ops::keys::{Inventory, Unreadable};
use keyless::policy::lint::{Finding, Severity};
use keyless::state::keys::{Certainty, Evidence, IamKey, KeyUse, Link, SecretScope, StoredSecret};

use crate::app::report::{FORMAT_VERSION, Report, day, severity_counts};
use crate::app::style;

/// `keyless keys`
#[derive(Debug, Clone, Serialize)]
pub struct KeysReport {
    /// Schema version.
    pub format_version: u32,
    /// The account read.
    pub account_id: String,
    /// The repositories read.
    pub repos: Vec<String>,
    /// Stored secrets holding AWS keys.
    pub secrets: Vec<StoredSecret>,
    /// Every place a workflow passes a key: (repository, use).
    pub workflows: Vec<(String, KeyUse)>,
    /// Workflow files that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// Every IAM user's access key.
    pub keys: Vec<IamKey>,
    /// What links each key to GitHub.
    pub links: Vec<Link>,
    /// Findings of each severity.
    pub summary: std::collections::BTreeMap<&'static str, usize>,
    /// The threshold.
    pub fail_on: &'static str,
    /// Whether a finding reaches it.
    pub failing: bool,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
    /// LookupEvents requests made.
    pub lookups: u64,
}

impl KeysReport {
    /// The report of an inventory.
    pub fn new(inv: &Inventory, account_id: String, fail_on: Severity) -> KeysReport {
        KeysReport {
            format_version: FORMAT_VERSION,
            account_id,
            repos: inv.repos.keys().cloned().collect(),
            secrets: inv.secrets.clone(),
            workflows: inv.uses.clone(),
            unreadable: inv.unreadable.clone(),
            keys: inv.keys.clone(),
            links: inv.links.clone(),
            summary: severity_counts(inv.findings.iter().map(|f| f.severity)),
            fail_on: fail_on.as_str(),
            failing: inv.findings.iter().any(|f| f.severity >= fail_on),
            findings: inv.findings.clone(),
            lookups: inv.lookups,
        }
    }

    /// Where a finding points, for SARIF: the first workflow line passing the secret, else
    /// the secret's or key's place.
    pub fn locate(&self, f: &Finding) -> (String, usize) {
        let resource = f.resource_name();
        for s in &self.secrets {
            if resource.starts_with(&format!("secret {} (", s.name))
                && let Some(u) = s.used_by.first()
            {
                return (u.file.clone(), u.line);
            }
        }
        (
            format!(
                "github/{}",
                resource.replace(' ', "-").replace(['(', ')'], "")
            ),
            1,
        )
    }
}

fn scope_text(s: &SecretScope) -> String {
    match s {
        SecretScope::Repository { repo } => format!("repository {repo}"),
        SecretScope::Environment { repo, environment } => {
            format!("environment {environment} of {repo}")
        }
        SecretScope::Organization {
            org,
            visibility,
            reaches,
        } => format!(
            "organisation {org} ({visibility}{})",
            if reaches.is_empty() {
                String::new()
            } else {
                format!(": {}", reaches.join(", "))
            }
        ),
    }
}

fn certainty_label(c: Certainty) -> &'static str {
    match c {
        Certainty::None => "none",
        Certainty::GitHubOnly => "used from GitHub Actions, repository not known",
        Certainty::Tagged => "tagged",
        Certainty::Identified => "identified",
    }
}

fn evidence_text(e: &Evidence) -> String {
    match e {
        Evidence::Identified { repo, time } => {
            format!(
                "`keyless keys identify` ran with it in {repo} ({})",
                day(*time)
            )
        }
        Evidence::Tagged { repo, tag } => format!("tag {tag} names {repo}"),
        Evidence::FromGitHubActions { ip, time } => {
            format!("called from GitHub's hosted runners ({ip}, {})", day(*time))
        }
        Evidence::ActionUserAgent { time } => {
            format!("called by configure-aws-credentials ({})", day(*time))
        }
        Evidence::Elsewhere {
            source,
            agent,
            time,
        } => {
            format!("also called from {source} ({agent}, {})", day(*time))
        }
    }
}

impl Report for KeysReport {
    fn human(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{} ({} repository(ies) read)\n",
            style::bold("GitHub: stored AWS keys"),
            self.repos.len()
        ));
        if self.secrets.is_empty() {
            s.push_str("  none\n");
        }
        for sec in &self.secrets {
            s.push_str(&format!(
                "  secret {} in {}\n",
                sec.name,
                scope_text(&sec.scope)
            ));
            for u in &sec.used_by {
                s.push_str(&format!(
                    "    {}:{}  job {}{}  ({} {})\n",
                    u.file,
                    u.line,
                    u.job.as_deref().unwrap_or("-"),
                    u.step
                        .as_deref()
                        .map(|st| format!(", step {st}"))
                        .unwrap_or_default(),
                    u.via,
                    u.key
                ));
            }
            if sec.used_by.is_empty() {
                s.push_str(&format!(
                    "    {}\n",
                    style::dim("no workflow read passes it")
                ));
            }
        }
        for u in &self.unreadable {
            s.push_str(&format!(
                "  {} {}:{} could not be read: {}\n",
                style::bad("!"),
                u.repo,
                u.file,
                u.error.lines().next().unwrap_or_default()
            ));
        }
        s.push_str(&format!(
            "\n{}\n",
            style::bold("AWS: IAM users' access keys")
        ));
        if self.keys.is_empty() {
            s.push_str("  none\n");
        }
        for k in &self.keys {
            let link = self.links.iter().find(|l| l.key_id == k.key_id);
            let used = match (k.last_used, &k.last_service) {
                (Some(t), Some(svc)) => format!("last used {} ({svc})", day(t)),
                (Some(t), None) => format!("last used {}", day(t)),
                _ => "never used".into(),
            };
            s.push_str(&format!(
                "  user {} key {} {}  {}, {}\n",
                k.user,
                k.key_id,
                if k.active { "active" } else { "inactive" },
                k.created
                    .map(|c| format!("created {}", day(c)))
                    .unwrap_or_default(),
                used
            ));
            if !k.policies.is_empty() {
                s.push_str(&format!("    policies: {}\n", k.policies.join(", ")));
            }
            match link {
                Some(l) if l.certainty > Certainty::None => {
                    s.push_str(&format!(
                        "    linked ({}){}\n",
                        certainty_label(l.certainty),
                        if l.repos.is_empty() {
                            String::new()
                        } else {
                            format!(" to {}", l.repos.join(", "))
                        }
                    ));
                }
                _ => s.push_str(&format!(
                    "    {}\n",
                    style::dim("unlinked: no evidence ties it to GitHub")
                )),
            }
            for e in link.map(|l| l.evidence.as_slice()).unwrap_or_default() {
                s.push_str(&format!("      {}\n", evidence_text(e)));
            }
        }
        if !self.findings.is_empty() {
            s.push_str(&format!("\n{}\n", style::bold("findings")));
            for f in &self.findings {
                s.push_str(&format!(
                    "  {} {}  {}\n",
                    style::severity_padded(f.severity, 8),
                    f.rule,
                    f.message
                ));
                if let Some(fix) = f.fix() {
                    s.push_str(&format!(
                        "           {}\n",
                        style::dim(&format!("fix: {fix}"))
                    ));
                }
            }
        }
        s
    }
}
