//! The trust map as the GitHub step summary draws it: a Mermaid flowchart of the roles with
//! findings, the worst first, at most a cap of them. The page (`--html`) is the core's
//! [`keyless::artifacts::trust_map`]; this is the summary's own, smaller view of the same data.

use keyless::artifacts::trust_map::{MapAccount, risk, sources};

/// A Mermaid flowchart of the roles with findings, at most `cap` roles, the worst first (then
/// by account and name); `None` when there is nothing to draw. Labels are quoted and stripped
/// of what Mermaid would read as syntax.
pub fn mermaid(accounts: &[MapAccount], cap: usize) -> Option<String> {
    let label = |s: &str| {
        s.chars()
            .filter(|c| {
                !matches!(
                    c,
                    '"' | '[' | ']' | '{' | '}' | '|' | '<' | '>' | '`' | '#' | ';'
                )
            })
            .collect::<String>()
    };
    // Every role with findings, worst first: a cap drops the mildest, never a critical one.
    let mut with_findings = Vec::new();
    for a in accounts {
        for role in &a.view.roles {
            let fs = a.findings_of(&role.name);
            if let Some(worst) = fs.iter().map(|f| f.severity).max() {
                with_findings.push((worst, a, role, fs.len()));
            }
        }
    }
    if with_findings.is_empty() {
        return None;
    }
    with_findings.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then_with(|| x.1.account.cmp(&y.1.account))
            .then_with(|| x.2.name.cmp(&y.2.name))
    });
    let skipped = with_findings.len().saturating_sub(cap);
    let mut lines = vec!["flowchart LR".to_string()];
    let mut n = 0;
    for (i, (worst, a, role, count)) in with_findings.into_iter().take(cap).enumerate() {
        let r = format!("r{}", i + 1);
        lines.push(format!(
            "  {r}[\"{} / {}<br/>{count} finding(s), worst {}\"]",
            label(&a.account),
            label(&role.name),
            worst.as_str()
        ));
        lines.push(format!("  class {r} {}", risk(Some(worst))));
        for s in sources(&role.trust_policy) {
            n += 1;
            let arrow = if s.broad.is_empty() { "-->" } else { "==>" };
            lines.push(format!(
                "  s{n}[\"{}<br/>{}\"] {arrow} {r}",
                label(&s.repo),
                label(&s.scope)
            ));
        }
    }
    lines.push("  classDef critical fill:#7f1d1d,color:#fff".into());
    lines.push("  classDef high fill:#dc2626,color:#fff".into());
    lines.push("  classDef medium fill:#f59e0b".into());
    lines.push("  classDef low fill:#fde68a".into());
    lines.push("  classDef none fill:#e5e7eb".into());
    let mut text = format!("```mermaid\n{}\n```\n", lines.join("\n"));
    if skipped > 0 {
        text.push_str(&format!(
            "\n{skipped} more role(s) with findings are in the table below and in `--html`.\n"
        ));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyless::policy::lint::Finding;
    use keyless::policy::lint::Severity;
    use keyless::state::audit::{AccountView, AuditedRole};
    use serde_json::json;

    fn role(name: &str, sub: &str) -> AuditedRole {
        let gh = "token.actions.githubusercontent.com";
        AuditedRole {
            name: name.into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            trust_policy: json!({"Statement": [{"Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{gh}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {format!("{gh}:sub"): sub}}}]}),
            ..Default::default()
        }
    }

    fn finding(role: &str, severity: Severity) -> Finding {
        Finding::new("KL001", severity, "m <script>").on_role(Some(role.into()))
    }

    fn sample() -> Vec<MapAccount> {
        vec![MapAccount {
            account: "123456789012".into(),
            view: AccountView {
                providers: vec![],
                roles: vec![
                    role("a-mild", "repo:octo-org/a:ref:refs/heads/main"),
                    role("b-clean", "repo:octo-org/b:ref:refs/heads/main"),
                    role("c-<script>-worst", "repo:*"),
                ],
            },
            findings: vec![
                finding("a-mild", Severity::Low),
                finding("c-<script>-worst", Severity::Critical),
            ],
            guarded: Some(false),
            used: Default::default(),
            stored: Default::default(),
        }]
    }

    #[test]
    fn draws_only_roles_with_findings_worst_first_within_the_cap() {
        let m = mermaid(&sample(), 10).unwrap();
        assert!(m.starts_with("```mermaid\nflowchart LR"));
        assert!(m.contains("a-mild") && m.contains("c-script-worst") && !m.contains("b-clean"));
        assert!(m.contains("==>"), "broad edges are thick");
        assert!(!m.contains("<script"), "labels are stripped: {m}");
        assert!(
            m.find("c-script-worst").unwrap() < m.find("a-mild").unwrap(),
            "the worst first: {m}"
        );
        let capped = mermaid(&sample(), 1).unwrap();
        assert!(capped.contains("c-script-worst") && !capped.contains("a-mild"));
        assert!(capped.contains("1 more role(s)"));
        let mut clean = sample();
        clean[0].findings.clear();
        assert!(mermaid(&clean, 10).is_none());
    }
}
