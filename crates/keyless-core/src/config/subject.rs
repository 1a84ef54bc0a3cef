//! Validating one `[[role.subject]]`: the repository (names and IDs), the scope (branch, tag,
//! environment, pull request, any) and the subject format, into a [`TrustSubject`].

use super::*;

pub(super) fn validate_subject(
    s: SubjectFile,
    key: &str,
    p: &mut Problems,
) -> Option<TrustSubject> {
    let start = p.list.len();
    let mut claims = Vec::new();
    for (k, v) in &s.claims {
        if k == "sub" || k == "aud" {
            p.add(
                format!("{key}.claims.{k}"),
                Some(v),
                format!("`{k}` is set by keyless, not as an extra claim"),
                if k == "sub" {
                    "use `custom` for a raw sub value"
                } else {
                    "set audiences under [provider]"
                },
            );
            continue;
        }
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            p.add(
                format!("{key}.claims"),
                Some(k),
                "a claim name holds only letters, digits and `_`",
                "write the bare claim, e.g. job_workflow_ref",
            );
            continue;
        }
        if v.is_empty() || v == "*" {
            p.add(
                format!("{key}.claims.{k}"),
                Some(v),
                "an extra claim condition must name a value",
                "give the exact value, or drop the claim",
            );
            continue;
        }
        // An environment named by a claim condition becomes the workflow's `environment:`.
        if k == "environment"
            && !v.contains(['*', '?'])
            && let Err(m) = names::environment_name(v)
        {
            p.add(
                format!("{key}.claims.environment"),
                Some(v),
                m,
                "write the environment's exact name as GitHub shows it",
            );
            continue;
        }
        claims.push((k.clone(), v.clone()));
    }
    if let Some(custom) = &s.custom {
        let others = [
            s.repo.is_some(),
            s.branch.is_some(),
            s.tag.is_some(),
            s.environment.is_some(),
            s.pull_request.is_some(),
            s.any_ref.is_some(),
            s.owner_id.is_some(),
            s.repo_id.is_some(),
            s.format.is_some(),
        ];
        if others.iter().any(|x| *x) {
            p.add(
                key,
                Some(custom),
                "`custom` stands alone: it cannot be combined with repo, a scope, IDs or format",
                "use either `custom` or `repo` + one scope",
            );
        }
        if custom.is_empty() || custom.len() > 1024 || custom.chars().any(|c| c.is_control()) {
            p.add(
                format!("{key}.custom"),
                Some(custom),
                "a custom sub is 1–1024 printable characters",
                "",
            );
        }
        // The `environment:` segment of a custom sub becomes the workflow's `environment:` too.
        let parts: Vec<&str> = custom.split(':').collect();
        if let Some(i) = parts.iter().position(|x| *x == "environment")
            && let Some(e) = parts.get(i + 1)
            && !e.contains(['*', '?'])
            && let Err(m) = names::environment_name(&e.replace("%3A", ":"))
        {
            p.add(
                format!("{key}.custom"),
                Some(custom),
                format!("its environment {e:?}: {m}"),
                "write the environment's exact name as GitHub shows it",
            );
        }
        if p.list.len() > start {
            return None;
        }
        return Some(TrustSubject {
            spec: SubjectSpec::Custom(custom.clone()),
            claims,
        });
    }
    let Some(repo_s) = &s.repo else {
        p.add(
            format!("{key}.repo"),
            None,
            "missing repository",
            "add repo = \"OWNER/REPO\" (or `custom` for a custom sub template)",
        );
        return None;
    };
    let repo = match repo_s.split_once('/') {
        Some((o, n)) => {
            p.check(
                format!("{key}.repo"),
                repo_s,
                names::github_owner(o),
                "write OWNER/REPO with GitHub's exact owner name",
            );
            if n != "*" {
                p.check(
                    format!("{key}.repo"),
                    repo_s,
                    names::github_repo_name(n),
                    "write OWNER/REPO with GitHub's exact repository name",
                );
            }
            Some((o.to_string(), n.to_string()))
        }
        None => {
            p.add(
                format!("{key}.repo"),
                Some(repo_s),
                "expected OWNER/REPO",
                "e.g. repo = \"octo-org/octo-repo\"",
            );
            None
        }
    };
    let mut scopes = Vec::new();
    if let Some(b) = &s.branch {
        p.check(
            format!("{key}.branch"),
            b,
            names::git_ref_name(b),
            "give a branch name such as \"main\" (patterns like \"release/*\" allowed)",
        );
        scopes.push(Scope::Branch(b.clone()));
    }
    if let Some(t) = &s.tag {
        p.check(
            format!("{key}.tag"),
            t,
            names::git_ref_name(t),
            "give a tag name or pattern such as \"v*\"",
        );
        scopes.push(Scope::Tag(t.clone()));
    }
    if let Some(e) = &s.environment {
        p.check(
            format!("{key}.environment"),
            e,
            names::environment_name(e),
            "give the environment's name exactly as GitHub shows it",
        );
        scopes.push(Scope::Environment(e.clone()));
    }
    match s.pull_request {
        Some(true) => scopes.push(Scope::PullRequest),
        Some(false) => p.add(
            format!("{key}.pull_request"),
            Some("false"),
            "pull_request = false means nothing",
            "remove the key, or choose another scope",
        ),
        None => {}
    }
    match s.any_ref {
        Some(true) => scopes.push(Scope::AnyRef),
        Some(false) => p.add(
            format!("{key}.any_ref"),
            Some("false"),
            "any_ref = false means nothing",
            "remove the key, or choose another scope",
        ),
        None => {}
    }
    if scopes.len() != 1 {
        p.add(key, Some(repo_s), format!("a subject needs exactly one scope, got {}", scopes.len()), "set one of branch, tag, environment, pull_request = true, or any_ref = true (admits every job; linted)");
    }
    let ids = (
        s.owner_id.as_ref().map(IdFile::text),
        s.repo_id.as_ref().map(IdFile::text),
    );
    for (name, v) in [("owner_id", &ids.0), ("repo_id", &ids.1)] {
        if let Some(v) = v {
            p.check(format!("{key}.{name}"), v, names::github_id(v), "");
        }
    }
    if ids.0.is_some() != ids.1.is_some() {
        p.add(
            key,
            Some(repo_s),
            "owner_id and repo_id go together",
            "set both (gh api repos/OWNER/REPO --jq '.owner.id, .id') or neither",
        );
    }
    let have_ids = ids.0.is_some() && ids.1.is_some();
    let format = s.format.unwrap_or(if have_ids {
        SubjectFormat::Immutable
    } else {
        SubjectFormat::Classic
    });
    if format != SubjectFormat::Classic && !have_ids {
        p.add(
            format!("{key}.format"),
            Some(&format!("{format:?}").to_lowercase()),
            "the immutable form needs owner_id and repo_id",
            "add owner_id and repo_id (gh api repos/OWNER/REPO --jq '.owner.id, .id')",
        );
    }
    if p.list.len() > start {
        return None;
    }
    let (owner, name) = repo?;
    Some(TrustSubject {
        spec: SubjectSpec::Repo {
            repo: Repo {
                owner,
                name,
                owner_id: ids.0,
                repo_id: ids.1,
            },
            scope: scopes.pop()?,
            format,
        },
        claims,
    })
}
