//! The checks of one trust-policy statement (KL0xx): principal, action, audience, subject
//! and the other GitHub claim keys, operators and wildcards.

use super::*;

pub(super) fn trust_statement(out: &mut Out, i: usize, st: &serde_json::Map<String, Value>) {
    let label = stmt_label(i, st);
    let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("");
    let principal = st.get("Principal");
    if effect == "Allow"
        && (principal.and_then(Value::as_str) == Some("*")
            || principal
                .and_then(Value::as_object)
                .is_some_and(|p| p.values().any(|v| strings(Some(v)).contains(&"*"))))
    {
        out.add(
            "KL026",
            "the principal is `*`: anyone can present a token".into(),
            Some(&label),
            Some("Principal"),
            Some("*"),
        );
    }
    let federated = strings(principal.and_then(|p| p.get("Federated")));
    let providers: Vec<(&str, &str, &str)> = federated
        .iter()
        .filter_map(|a| github_provider(a))
        .collect();
    if effect != "Allow" || providers.is_empty() {
        return;
    }
    let others = federated.len() - providers.len()
        + principal
            .and_then(Value::as_object)
            .map(|p| p.len() - 1)
            .unwrap_or(0);
    if others > 0 || providers.len() > 1 {
        out.add("KL026", "a GitHub provider shares this statement with another principal; conditions written for one issuer do not bind another".into(), Some(&label), Some("Principal"), None);
    }
    let (partition, account, prefix) = providers[0];
    if let Some(a) = &out.ctx.account_id
        && a != account
    {
        out.add("KL025", format!("the provider is in account {account}, the role in {a}; a role can only trust a provider of its own account"), Some(&label), Some("Principal.Federated"), Some(federated[0]));
    }
    if let Some(p) = &out.ctx.partition
        && p != partition
    {
        out.add(
            "KL025",
            format!("the provider ARN is in partition {partition}, the role in {p}"),
            Some(&label),
            Some("Principal.Federated"),
            Some(federated[0]),
        );
    }
    // Action
    let actions = strings(st.get("Action"));
    for a in &actions {
        if matches!(*a, "*" | "sts:*")
            || a.eq_ignore_ascii_case("sts:AssumeRole")
            || a.eq_ignore_ascii_case("sts:TagSession")
        {
            out.add("KL024", format!("only sts:AssumeRoleWithWebIdentity is needed; `{a}` adds nothing for GitHub tokens"), Some(&label), Some("Action"), Some(a));
        }
    }
    let issuer_kind = Issuer::parse(&format!("https://{prefix}"))
        .map(|i| i.kind)
        .ok();
    let supported = issuer_kind
        .as_ref()
        .map(|k| supported_claim_keys(partition, k, &out.ctx.extra_claim_keys))
        .unwrap_or_default();
    let conds = conditions(st);
    let claim_of = |key: &str| -> Option<String> {
        let (p, c) = key_parts(key)?;
        p.eq_ignore_ascii_case(prefix)
            .then(|| c.to_ascii_lowercase())
    };
    let mut has_repository_id = false;
    for c in &conds {
        let Some((kp, claim)) = key_parts(&c.key) else {
            continue;
        };
        let is_ours = kp.eq_ignore_ascii_case(prefix);
        if !is_ours && Issuer::looks_like_github(kp) {
            out.add("KL015", format!("key prefix `{kp}` does not match the provider `{prefix}`; this key is absent from every request"), Some(&label), Some(&c.key), None);
            continue;
        }
        if !is_ours {
            continue;
        }
        let claim = claim.to_ascii_lowercase();
        if claim == "repository_id" && !c.negated {
            has_repository_id = true;
        }
        if !supported.contains(&claim) {
            out.add("KL014", format!("`{claim}` does not reach IAM as a condition key for this issuer in {partition}; supported: {}", supported.join(", ")), Some(&label), Some(&c.key), None);
        }
        if c.for_all {
            out.add(
                "KL011",
                format!(
                    "`{}` is true when `{}` is absent; use the plain operator",
                    c.op, c.key
                ),
                Some(&label),
                Some(&c.key),
                None,
            );
        }
        if c.if_exists {
            out.add(
                "KL012",
                format!(
                    "`{}` matches when `{}` is absent; drop IfExists",
                    c.op, c.key
                ),
                Some(&label),
                Some(&c.key),
                None,
            );
        }
    }
    let positive = |c: &Cond| {
        !c.negated
            && matches!(
                c.base.as_str(),
                "StringEquals" | "StringLike" | "StringEqualsIgnoreCase"
            )
    };
    let sub_pos: Vec<&Cond> = conds
        .iter()
        .filter(|c| {
            claim_of(&c.key).as_deref() == Some("sub") && positive(c) && !c.for_all && !c.if_exists
        })
        .collect();
    let jwr_pos = conds.iter().any(|c| {
        claim_of(&c.key).as_deref() == Some("job_workflow_ref")
            && positive(c)
            && !c.for_all
            && !c.if_exists
    });
    let sub_neg = conds
        .iter()
        .any(|c| claim_of(&c.key).as_deref() == Some("sub") && c.negated);
    // A string comparison on sub scopes it (IfExists/ForAllValues forms get their own rules);
    // Null, Bool and the like only test presence.
    let sub_compared = conds.iter().any(|c| {
        claim_of(&c.key).as_deref() == Some("sub")
            && !c.negated
            && matches!(
                c.base.as_str(),
                "StringEquals" | "StringLike" | "StringEqualsIgnoreCase"
            )
    });
    let sub_other: Vec<&str> = conds
        .iter()
        .filter(|c| claim_of(&c.key).as_deref() == Some("sub") && !c.negated)
        .map(|c| c.op.as_str())
        .collect();
    let pinned_by = |claim: &str| {
        conds
            .iter()
            .any(|c| claim_of(&c.key).as_deref() == Some(claim) && positive(c))
    };
    if sub_pos.is_empty() && !jwr_pos {
        if sub_neg {
            out.add("KL013", "the subject is scoped only by negated operators; they exclude but never scope, and an absent key makes them true".into(), Some(&label), Some(&format!("{prefix}:sub")), None);
        } else if !sub_compared {
            let who = if has_repository_id {
                "trust is pinned by repository_id only, so every job of that repository (every branch, pull request and environment) can assume this role, and IAM refuses trust policies for this provider without a sub condition".to_string()
            } else if pinned_by("repository_owner_id") || pinned_by("repository_owner") {
                "trust is pinned to an owner only, so every job of every repository of that owner can assume this role, and IAM refuses trust policies for this provider without a sub condition".to_string()
            } else if !sub_other.is_empty() {
                format!(
                    "its only sub condition ({}) tests whether the claim is present, not its value: any repository on GitHub can assume this role",
                    sub_other.join(", ")
                )
            } else {
                "any repository on GitHub can assume this role".to_string()
            };
            out.add(
                "KL001",
                format!("no `{prefix}:sub` value condition: {who}"),
                Some(&label),
                Some(&format!("{prefix}:sub")),
                None,
            );
        }
    } else if sub_pos.is_empty() && jwr_pos {
        out.add("KL020", "trust rests only on job_workflow_ref; if that workflow's repository is public, any repository can call it".into(), Some(&label), Some(&format!("{prefix}:job_workflow_ref")), None);
    }
    // A repository_id or repository_owner_id condition beside the sub binds it to an owner, as
    // the same claim inside a custom sub does (KL019).
    let owner_pinned = has_repository_id || pinned_by("repository_owner_id");
    let mut names_only = false;
    for c in &sub_pos {
        let like = c.base == "StringLike";
        let mut per_value: Vec<Option<Severity>> = Vec::new();
        for v in &c.values {
            let before = out.list.len();
            sub_value(out, &label, &c.key, v, like, c.base.as_str(), owner_pinned);
            if v.starts_with("repo:") && !v.split(['/', ':']).nth(1).unwrap_or("").contains('@') {
                names_only = true;
            }
            let worst = out.list[before..]
                .iter()
                .filter(|f| {
                    matches!(
                        f.rule,
                        "KL002"
                            | "KL003"
                            | "KL004"
                            | "KL005"
                            | "KL006"
                            | "KL007"
                            | "KL017"
                            | "KL019"
                    )
                })
                .map(|f| f.severity)
                .max();
            per_value.push(worst);
        }
        if c.values.len() > 1
            && per_value.iter().any(Option::is_none)
            && per_value.iter().any(Option::is_some)
        {
            let worst = per_value.iter().flatten().max().copied().unwrap_or(Info);
            out.add_sev("KL008", worst, format!("the values of `{}` are ORed, so the loosest one decides; tight values do not narrow it", c.key), Some(&label), Some(&c.key), None);
        }
    }
    if names_only && !has_repository_id {
        out.add("KL018", "trust is pinned by names only; a deleted or renamed owner or repository can be re-registered. Prefer the immutable sub (set owner_id and repo_id) or a repository_id claim; a repository_owner_id claim pins at least the owner".into(), Some(&label), Some(&format!("{prefix}:sub")), None);
    }
    let aud_pos: Vec<&Cond> = conds
        .iter()
        .filter(|c| {
            claim_of(&c.key).as_deref() == Some("aud") && positive(c) && !c.for_all && !c.if_exists
        })
        .collect();
    if aud_pos.is_empty() {
        out.add(
            "KL009",
            format!(
                "no `{prefix}:aud` condition; only the provider's client ID list gates audiences"
            ),
            Some(&label),
            Some(&format!("{prefix}:aud")),
            None,
        );
    }
    for c in aud_pos {
        for v in &c.values {
            if c.base == "StringLike" && has_wildcard(v) {
                out.add(
                    "KL010",
                    "aud should be an exact StringEquals value".into(),
                    Some(&label),
                    Some(&c.key),
                    Some(v),
                );
            }
        }
    }
    for c in conds
        .iter()
        .filter(|c| claim_of(&c.key).is_some_and(|k| k != "sub" && k != "aud") && positive(c))
    {
        for v in &c.values {
            check_operator_fit(out, &label, &c.key, v, c.base == "StringLike", &c.base);
        }
    }
}

fn check_operator_fit(out: &mut Out, label: &str, key: &str, v: &str, like: bool, base: &str) {
    if like && !has_wildcard(v) {
        out.add(
            "KL028",
            "StringLike without a wildcard; use StringEquals".into(),
            Some(label),
            Some(key),
            Some(v),
        );
    }
    if !like && has_wildcard(v) {
        out.add("KL028", format!("{base} treats `*` and `?` literally, so this value likely never matches; use StringLike if a pattern was meant"), Some(label), Some(key), Some(v));
    }
}

const USER_CONTROLLABLE: &[&str] = &[
    "workflow",
    "environment",
    "ref",
    "context",
    "head_ref",
    "base_ref",
    "actor",
    "job_workflow_ref",
    "event_name",
    "ref_type",
];

/// Why no GitHub token can carry sub value `v`, if it is malformed: every sub GitHub mints is
/// `claim:value` pairs joined by `:`, and a `repo:` value is `repo:OWNER/REPOSITORY:...`.
/// Values with wildcards before the problem are left to the breadth rules.
fn malformed_sub(v: &str) -> Option<&'static str> {
    match v.strip_prefix("repo:") {
        None => (!v.contains(':') && !has_wildcard(v))
            .then_some("every sub GitHub mints is `claim:value` pairs joined by `:`"),
        Some(rest) => {
            let owner_end = rest.find(['/', ':']).unwrap_or(rest.len());
            let owner = &rest[..owner_end];
            if has_wildcard(owner) {
                None
            } else if owner.is_empty() {
                Some("the owner part is empty")
            } else if owner_end == rest.len() || rest[owner_end..].starts_with(':') {
                Some(
                    "`repo:` is followed by `OWNER/REPOSITORY`, and this value has no `/REPOSITORY`",
                )
            } else {
                None
            }
        }
    }
}

fn sub_value(
    out: &mut Out,
    label: &str,
    key: &str,
    v: &str,
    like: bool,
    base: &str,
    owner_pinned: bool,
) {
    check_operator_fit(out, label, key, v, like, base);
    if let Some(why) = malformed_sub(v) {
        out.add(
            "KL032",
            format!("no GitHub token carries this sub ({why}), so the role can never be assumed"),
            Some(label),
            Some(key),
            Some(v),
        );
        return;
    }
    if v.contains("environment:")
        && v.split("environment:")
            .nth(1)
            .is_some_and(|e| e.contains("%3A") || e.contains("%3a"))
    {
        out.add("KL021", "an environment name with `:` renders as `%3A`, so an environment literally named with `%3A` mints the same sub".into(), Some(label), Some(key), Some(v));
    }
    let wild_at = |s: &str| s.starts_with(['*', '?']);
    // A custom sub (any repository can choose its own subject template): exact or pattern, it
    // must be bound to an owner, or every repository can mint it.
    let custom = !v.starts_with("repo:");
    if custom && !(like && wild_at(v)) {
        let lead = v.split(':').next().unwrap_or("");
        let owner_bound = ["repo:", "repository_id:", "repository_owner_id:"]
            .iter()
            .any(|b| v.starts_with(b) || v.contains(&format!(":{b}")));
        if USER_CONTROLLABLE.contains(&lead) && !owner_bound && !owner_pinned {
            out.add("KL019", format!("custom sub led by `{lead}`, which any repository can choose, and no owner-bound claim (repo, repository_id, repository_owner_id): any repository can set its subject template to mint exactly this sub"), Some(label), Some(key), Some(v));
        }
    }
    if !like {
        return; // exact values: breadth rules do not apply
    }
    let Some(rest) = v.strip_prefix("repo:") else {
        if wild_at(v) {
            out.add(
                "KL002",
                "this sub value matches every repository on GitHub".into(),
                Some(label),
                Some(key),
                Some(v),
            );
        }
        return;
    };
    if wild_at(rest) {
        out.add(
            "KL002",
            "this sub value matches every repository on GitHub".into(),
            Some(label),
            Some(key),
            Some(v),
        );
        return;
    }
    let owner_end = rest.find(['/', ':']).unwrap_or(rest.len());
    let owner = &rest[..owner_end];
    if has_wildcard(owner) {
        if owner.contains('@') && !has_wildcard(owner.split('@').next().unwrap_or("")) {
            out.add(
                "KL017",
                "wildcard in the owner ID defeats the immutable subject".into(),
                Some(label),
                Some(key),
                Some(v),
            );
        } else {
            out.add("KL003", "wildcard in the owner part: attacker-registrable owners (e.g. `octo-org-evil`) match".into(), Some(label), Some(key), Some(v));
        }
        return;
    }
    if owner_end == rest.len() || &rest[owner_end..owner_end + 1] == ":" {
        return;
    }
    let after = &rest[owner_end + 1..];
    let repo_end = after.find(':').unwrap_or(after.len());
    let repo = &after[..repo_end];
    if repo == "*" {
        out.add(
            "KL004",
            "org-wide trust: every current and future repository of the owner can assume the role"
                .into(),
            Some(label),
            Some(key),
            Some(v),
        );
        return;
    }
    if has_wildcard(repo) {
        if repo.contains('@') && !has_wildcard(repo.split('@').next().unwrap_or("")) {
            out.add(
                "KL017",
                "wildcard in the repository ID defeats the immutable subject".into(),
                Some(label),
                Some(key),
                Some(v),
            );
        } else {
            out.add(
                "KL005",
                "wildcard in the repository name: sibling repositories (e.g. `app-evil`) match"
                    .into(),
                Some(label),
                Some(key),
                Some(v),
            );
        }
        return;
    }
    let ctx = after.get(repo_end + 1..).unwrap_or("");
    if ctx == "*" {
        out.add("KL006", "every job of the repository matches, including pull requests, every branch, tag and environment".into(), Some(label), Some(key), Some(v));
    } else if has_wildcard(ctx) {
        out.add("KL007", "wildcard in the branch, tag or environment: anyone who can push a matching ref (or name a matching environment) can assume the role".into(), Some(label), Some(key), Some(v));
    }
}
