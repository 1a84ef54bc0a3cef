//! Validating one `[[role]]`: its name, path, session length, boundary, presets, policies and
//! allows, and the policy files it names (read relative to the config).

use super::*;

pub(super) fn validate_role(r: RoleFile, key: String, dir: &Path, p: &mut Problems) -> Role {
    p.check(
        format!("{key}.name"),
        &r.name,
        names::iam_role_name(&r.name),
        "use 1–64 letters, digits and + = , . @ _ -, e.g. gha-octo-repo-deploy",
    );
    if let Some(v) = &r.variable {
        p.check(
            format!("{key}.variable"),
            v,
            names::github_variable_name(v),
            "use letters, digits and _, not starting with a digit or GITHUB_, e.g. AWS_ROLE_ARN_DEPLOY",
        );
    }
    let path = r.path.clone().unwrap_or_else(|| "/".into());
    p.check(
        format!("{key}.path"),
        &path,
        names::iam_path(&path),
        "use \"/\" or a path like \"/github-actions/\"",
    );
    if let Some(d) = &r.description
        && let Err(msg) = names::iam_description(d)
    {
        p.add(
            format!("{key}.description"),
            Some(d),
            msg,
            "shorten it, or drop the characters IAM refuses (emoji, other scripts, no-break spaces)",
        );
    }
    let msd = r.max_session_duration.unwrap_or(3600);
    if !(3600..=43200).contains(&msd) {
        p.add(
            format!("{key}.max_session_duration"),
            Some(&msd.to_string()),
            "must be 3600 to 43200 seconds (1 to 12 hours)",
            "e.g. max_session_duration = 3600",
        );
    }
    if let Some(b) = &r.permissions_boundary {
        p.check(
            format!("{key}.permissions_boundary"),
            b,
            names::managed_policy_arn(b),
            "give a managed policy ARN",
        );
    }
    if r.tags.len() > 48 {
        p.add(
            format!("{key}.tags"),
            Some(&r.tags.len().to_string()),
            "at most 48 tags (IAM allows 50 and keyless adds managed-by and keyless:config)",
            "drop some tags",
        );
    }
    for (k, v) in &r.tags {
        if k == MANAGED_BY_KEY || k == CONFIG_KEY {
            p.add(
                format!("{key}.tags.{k}"),
                Some(v),
                format!("`{k}` is keyless's ownership tag"),
                "remove it; keyless sets managed-by and keyless:config itself",
            );
            continue;
        }
        if let Err(msg) = names::tag(k, v) {
            p.add(format!("{key}.tags.{k}"), Some(v), msg, "");
        }
    }
    let trust_override = match &r.trust_policy {
        None => None,
        Some(file) => match read_policy_file(dir, file) {
            Ok((path, text)) => Some(InlinePolicy {
                name: "trust".into(),
                path,
                text,
                key: format!("{key}.trust_policy"),
            }),
            Err((msg, fix)) => {
                p.add(format!("{key}.trust_policy"), Some(file), msg, fix);
                None
            }
        },
    };
    if r.subject.is_empty() && r.trust_policy.is_none() {
        p.add(
            format!("{key}.subject"),
            None,
            "a role needs at least one [[role.subject]]",
            "add e.g. [[role.subject]] repo = \"OWNER/REPO\" branch = \"main\"",
        );
    }
    let subjects = r
        .subject
        .into_iter()
        .enumerate()
        .filter_map(|(j, s)| validate_subject(s, &format!("{key}.subject[{j}]"), p))
        .collect();

    let mut presets = Vec::new();
    let mut policy_names: BTreeMap<String, String> = BTreeMap::new();
    for (j, pr) in r.preset.into_iter().enumerate() {
        let pkey = format!("{key}.preset[{j}]");
        if pr.name.is_empty()
            || !pr
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            p.add(
                format!("{pkey}.name"),
                Some(&pr.name),
                "not a preset name (names are lower-case words such as s3-deploy)",
                "run `keyless presets` for the list",
            );
            continue;
        }
        let policy_name = pr
            .policy_name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", r.name, pr.name));
        p.check(
            format!("{pkey}.policy_name"),
            &policy_name,
            names::iam_policy_name(&policy_name),
            "set policy_name to 1–128 letters, digits and + = , . @ _ -",
        );
        if let Some(prev) = policy_names.insert(policy_name.clone(), pkey.clone()) {
            p.add(
                format!("{pkey}.policy_name"),
                Some(&policy_name),
                format!("policy name already used by {prev}"),
                "set a distinct policy_name for each use of the same preset",
            );
        }
        let mut params = BTreeMap::new();
        for (k, v) in pr.params {
            match v {
                toml::Value::String(s) => {
                    params.insert(k, s);
                }
                toml::Value::Integer(i) => {
                    params.insert(k, i.to_string());
                }
                other => p.add(
                    format!("{pkey}.params.{k}"),
                    Some(&other.to_string()),
                    format!("expected a string, got a {}", other.type_str()),
                    "quote the value",
                ),
            }
        }
        presets.push(PresetUse {
            name: pr.name,
            policy_name,
            params,
            key: pkey,
        });
    }
    for (j, arn) in r.managed_policies.iter().enumerate() {
        p.check(
            format!("{key}.managed_policies[{j}]"),
            arn,
            names::managed_policy_arn(arn),
            "e.g. \"arn:aws:iam::aws:policy/ReadOnlyAccess\"",
        );
    }
    let mut inline_policies = Vec::new();
    for (j, ip) in r.inline_policy.into_iter().enumerate() {
        let ikey = format!("{key}.inline_policy[{j}]");
        p.check(
            format!("{ikey}.name"),
            &ip.name,
            names::iam_policy_name(&ip.name),
            "use 1–128 letters, digits and + = , . @ _ -",
        );
        if policy_names.insert(ip.name.clone(), ikey.clone()).is_some() {
            p.add(
                format!("{ikey}.name"),
                Some(&ip.name),
                "policy name already used in this role",
                "give it a distinct name",
            );
        }
        match read_policy_file(dir, &ip.file) {
            Ok((path, text)) => inline_policies.push(InlinePolicy {
                name: ip.name,
                path,
                text,
                key: ikey,
            }),
            Err((msg, fix)) => p.add(format!("{ikey}.file"), Some(&ip.file), msg, fix),
        }
    }
    let mut allow = Vec::new();
    for (j, a) in r.allow.into_iter().enumerate() {
        let akey = format!("{key}.allow[{j}]");
        if crate::policy::lint::rule(&a.rule).is_none() {
            let upper = a.rule.to_ascii_uppercase();
            let fix = if crate::policy::lint::rule(&upper).is_some() {
                format!("rule IDs are upper-case: rule = \"{upper}\"")
            } else {
                "run `keyless lint --rules` for the catalogue".to_string()
            };
            p.add(
                format!("{akey}.rule"),
                Some(&a.rule),
                "unknown lint rule",
                fix,
            );
        }
        if a.reason.trim().len() < 8 {
            p.add(
                format!("{akey}.reason"),
                Some(&a.reason),
                "an allowed rule needs a real reason (8+ characters)",
                "say why this role needs it, e.g. reason = \"org-wide read-only audit role\"",
            );
        }
        allow.push(Allow {
            rule: a.rule,
            reason: a.reason,
        });
    }
    Role {
        name: r.name,
        path,
        description: r.description,
        max_session_duration: msd,
        permissions_boundary: r.permissions_boundary,
        tags: r.tags,
        adopt: r.adopt,
        variable: r.variable,
        subjects,
        presets,
        managed_policies: r.managed_policies,
        inline_policies,
        trust_override,
        allow,
        key,
    }
}

/// Resolve a policy file inside the config directory: no absolute paths, no `..`, no symlink that
/// leads outside, at most 64 KiB.
fn read_policy_file(
    dir: &Path,
    file: &str,
) -> std::result::Result<(PathBuf, String), (String, &'static str)> {
    let (path, real) = inside(dir, file, "policy files")?;
    let meta = std::fs::metadata(&real).map_err(|e| (format!("cannot read: {e}"), ""))?;
    if !meta.is_file() || meta.len() > 64 * 1024 {
        return Err((
            "not a regular file of at most 64 KiB".into(),
            "point at a JSON policy document",
        ));
    }
    let text = std::fs::read_to_string(&real).map_err(|e| {
        (
            format!("cannot read as UTF-8: {e}"),
            "save the file as UTF-8 JSON",
        )
    })?;
    Ok((path, text))
}
