//! A workflow moved from a stored key to OIDC, as a minimal textual edit: every other byte,
//! comment and order stays as it was.
//!
//! - configure-aws-credentials' `aws-access-key-id` input becomes `role-to-assume: ${{ vars.V }}`;
//!   its `aws-secret-access-key` and `aws-session-token` inputs go;
//! - `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` lines in `env:` (workflow,
//!   job or step) go (and an `env:` left empty with them); a job that read the key from `env:`
//!   gets a configure-aws-credentials step (pinned by SHA) as its first step;
//! - each job that now assumes the role gets `id-token: write` in its `permissions:`: added to
//!   a block it has, or a block of its own that keeps what the workflow granted (or `contents:
//!   read` when nothing was granted).
//!
//! Only uses of the secrets being migrated are touched. Shapes a textual edit cannot make
//! safely (`permissions: read-all`, a flow mapping that spans lines) are refused with the fix.
//! The result is parsed again before it is returned. Pure: text in, text out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use serde_saphyr::Spanned;

use crate::artifacts::workflow::CONFIGURE_AWS_CREDENTIALS;
use crate::state::keys::{
    EnvMap, JobDoc, KEY_ENV, KEY_INPUTS, WorkflowDoc, parse_workflow, scan_workflow, secret_of,
};

/// What to switch to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// The repository variable holding the role's ARN.
    pub variable: String,
    /// The Region for an added configure-aws-credentials step.
    pub region: String,
    /// The secrets being migrated (a use of any other secret is left alone).
    pub secrets: BTreeSet<String>,
}

/// A switched workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    /// The new text.
    pub text: String,
    /// What changed, one line each.
    pub changes: Vec<String>,
}

enum Edit {
    Replace(String),
    Delete,
    InsertBefore(Vec<String>),
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn uses_secret(v: &Value, secrets: &BTreeSet<String>) -> bool {
    secret_of(v).is_some_and(|s| secrets.contains(&s))
}

/// The workflow with the migrated key replaced by the role; `None` when it does not pass the
/// key. An error names what could not be edited and how to do it by hand.
pub fn switch_workflow(file: &str, text: &str, sw: &Switch) -> Result<Option<Switched>, String> {
    let wf = parse_workflow(text).map_err(|e| format!("{file}: {e}"))?;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut edits: BTreeMap<usize, Vec<Edit>> = BTreeMap::new();
    let mut changes = Vec::new();
    let role = format!("${{{{ vars.{} }}}}", sw.variable);
    // Jobs that assume the role afterwards, and whether they need a step added for it.
    let mut assumes: BTreeMap<String, bool> = BTreeMap::new();

    // `env:` maps: delete the key lines; the whole block when nothing else is left.
    let env_edit = |env: &EnvMap,
                    place: &str,
                    edits: &mut BTreeMap<usize, Vec<Edit>>,
                    changes: &mut Vec<String>|
     -> bool {
        let keys: Vec<(&String, &Spanned<Value>)> = env
            .value
            .iter()
            .filter(|(k, v)| {
                KEY_ENV.iter().any(|e| e.eq_ignore_ascii_case(k))
                    && uses_secret(&v.value, &sw.secrets)
            })
            .collect();
        if keys.is_empty() {
            return false;
        }
        for (k, v) in &keys {
            edits
                .entry(v.referenced.line() as usize - 1)
                .or_default()
                .push(Edit::Delete);
            changes.push(format!("{place}: removed env {k}"));
        }
        if keys.len() == env.value.len() {
            // The `env:` line is the nearest line above the first entry with less indent.
            let first = env.referenced.line() as usize - 1;
            let ind = lines.get(first).map_or(0, |l| indent_of(l));
            if let Some(head) = (0..first)
                .rev()
                .find(|i| !lines[*i].trim().is_empty() && indent_of(lines[*i]) < ind)
                && lines[head].trim_start().starts_with("env:")
                && lines[head].trim() == "env:"
            {
                edits.entry(head).or_default().push(Edit::Delete);
            }
        }
        true
    };

    if let Some(env) = &wf.env
        && env_edit(env, "workflow", &mut edits, &mut changes)
    {
        for name in wf.jobs.keys() {
            assumes.insert(name.clone(), true);
        }
    }
    for (name, job) in &wf.jobs {
        if let Some(env) = &job.value.env
            && env_edit(env, &format!("job {name}"), &mut edits, &mut changes)
        {
            assumes.insert(name.clone(), true);
        }
        for st in &job.value.steps {
            if let Some(env) = &st.value.env
                && env_edit(env, &format!("job {name}"), &mut edits, &mut changes)
            {
                assumes.insert(name.clone(), true);
            }
            if !st.value.configures_aws() {
                continue;
            }
            let mut switched = false;
            for (k, v) in st.value.with.iter().flatten() {
                if !KEY_INPUTS.contains(&k.as_str()) || !uses_secret(&v.value, &sw.secrets) {
                    continue;
                }
                let at = v.referenced.line() as usize - 1;
                if k == "aws-access-key-id" {
                    let ind = indent_of(lines[at]);
                    edits.entry(at).or_default().push(Edit::Replace(format!(
                        "{}role-to-assume: {role}",
                        " ".repeat(ind)
                    )));
                    changes.push(format!("job {name}: aws-access-key-id → role-to-assume"));
                    switched = true;
                } else {
                    edits.entry(at).or_default().push(Edit::Delete);
                    changes.push(format!("job {name}: removed input {k}"));
                }
            }
            if switched {
                // This job assumes the role through its own step: no step to add.
                assumes.insert(name.clone(), false);
            }
        }
    }
    if assumes.is_empty() {
        return Ok(None);
    }
    for (name, add_step) in &assumes {
        let Some(job) = wf.jobs.get(name) else {
            continue;
        };
        // The job body's first line and indentation.
        let body = job.referenced.line() as usize - 1;
        let job_indent = lines.get(body).map_or(2, |l| indent_of(l));
        if *add_step {
            let Some(first) = job.value.steps.first() else {
                return Err(format!(
                    "{file}: job {name} has no steps to add the role's step before"
                ));
            };
            let at = first.referenced.line() as usize - 1;
            let dash = lines[at].find('-').unwrap_or_else(|| indent_of(lines[at]));
            let p = " ".repeat(dash);
            edits.entry(at).or_default().push(Edit::InsertBefore(vec![
                format!("{p}- name: Configure AWS credentials (OIDC, keyless)"),
                format!(
                    "{p}  uses: {}@{} # {}",
                    CONFIGURE_AWS_CREDENTIALS.name,
                    CONFIGURE_AWS_CREDENTIALS.sha,
                    CONFIGURE_AWS_CREDENTIALS.version
                ),
                format!("{p}  with:"),
                format!("{p}    role-to-assume: {role}"),
                format!("{p}    aws-region: {}", sw.region),
            ]));
            changes.push(format!(
                "job {name}: added a configure-aws-credentials step assuming the role"
            ));
        }
        permissions(
            file,
            name,
            job,
            &wf,
            &lines,
            body,
            job_indent,
            &mut edits,
            &mut changes,
        )?;
    }
    // Apply, bottom up.
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for (at, list) in edits.into_iter().rev() {
        let mut inserts = Vec::new();
        let mut delete = false;
        let mut replace = None;
        for e in list {
            match e {
                Edit::Delete => delete = true,
                Edit::Replace(t) => replace = Some(t),
                Edit::InsertBefore(v) => inserts.extend(v),
            }
        }
        if delete {
            out.remove(at);
        } else if let Some(t) = replace {
            out[at] = t;
        }
        for (i, l) in inserts.into_iter().enumerate() {
            out.insert(at + i, l);
        }
    }
    let text = out.join("\n");
    // Parsed again: still a workflow, and it no longer passes the key.
    let left = scan_workflow(file, &text)?;
    if left
        .iter()
        .any(|u| u.secret.as_ref().is_some_and(|s| sw.secrets.contains(s)))
    {
        return Err(format!(
            "{file}: the key is still passed after the edit; edit it by hand"
        ));
    }
    Ok(Some(Switched { text, changes }))
}

/// `id-token: write` for job `name`: into its permissions block, or a block of its own.
#[allow(clippy::too_many_arguments)]
fn permissions(
    file: &str,
    name: &str,
    job: &Spanned<JobDoc>,
    wf: &WorkflowDoc,
    lines: &[&str],
    body: usize,
    job_indent: usize,
    edits: &mut BTreeMap<usize, Vec<Edit>>,
    changes: &mut Vec<String>,
) -> Result<(), String> {
    let child = |k: &str, v: &str| format!("{}{k}: {v}", " ".repeat(job_indent + 2));
    match &job.value.permissions {
        Some(p) => match &p.value {
            Value::Object(map) => {
                if map.get("id-token").and_then(Value::as_str) == Some("write") {
                    return Ok(());
                }
                let at = p.referenced.line() as usize - 1;
                let line = lines[at];
                if line.trim_start().starts_with("permissions:") {
                    // A flow mapping on the `permissions:` line: written out as a block.
                    if !line.contains('}') {
                        return Err(format!(
                            "{file}: job {name}'s permissions span lines in flow style; add `id-token: write` by hand"
                        ));
                    }
                    let ind = indent_of(line);
                    let mut block = vec![format!("{}permissions:", " ".repeat(ind))];
                    for (k, v) in map.iter().filter(|(k, _)| *k != "id-token") {
                        block.push(format!(
                            "{}{k}: {}",
                            " ".repeat(ind + 2),
                            v.as_str().unwrap_or("read")
                        ));
                    }
                    block.push(format!("{}id-token: write", " ".repeat(ind + 2)));
                    edits
                        .entry(at)
                        .or_default()
                        .push(Edit::Replace(block.join("\n")));
                } else if map.contains_key("id-token") {
                    // `id-token: read`/`none`: that line becomes `write`.
                    let ind = indent_of(line);
                    let row = (at..lines.len())
                        .take_while(|i| {
                            *i == at || indent_of(lines[*i]) >= ind || lines[*i].trim().is_empty()
                        })
                        .find(|i| lines[*i].trim_start().starts_with("id-token:"));
                    let Some(row) = row else {
                        return Err(format!(
                            "{file}: job {name}: could not find its id-token line"
                        ));
                    };
                    edits.entry(row).or_default().push(Edit::Replace(format!(
                        "{}id-token: write",
                        " ".repeat(indent_of(lines[row]))
                    )));
                } else {
                    let ind = indent_of(line);
                    edits
                        .entry(at)
                        .or_default()
                        .push(Edit::InsertBefore(vec![format!(
                            "{}id-token: write",
                            " ".repeat(ind)
                        )]));
                }
                changes.push(format!("job {name}: permissions gain id-token: write"));
                Ok(())
            }
            Value::String(s) if s == "write-all" => Ok(()),
            other => Err(format!(
                "{file}: job {name} has `permissions: {}`; give it a block with `id-token: write` (and what it needs) by hand",
                match other {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            )),
        },
        None => {
            let mut block = vec![format!("{}permissions:", " ".repeat(job_indent))];
            match wf.permissions.as_ref().map(|p| &p.value) {
                Some(Value::Object(map)) => {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "id-token") {
                        block.push(child(k, v.as_str().unwrap_or("read")));
                    }
                }
                Some(Value::String(s)) if s == "write-all" => return Ok(()),
                Some(Value::String(s)) => {
                    return Err(format!(
                        "{file}: the workflow has `permissions: {s}`; give job {name} a block with `id-token: write` by hand"
                    ));
                }
                _ => block.push(child("contents", "read")),
            }
            block.push(child("id-token", "write"));
            edits
                .entry(body)
                .or_default()
                .push(Edit::InsertBefore(block));
            changes.push(format!(
                "job {name}: permissions block with id-token: write"
            ));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw() -> Switch {
        Switch {
            variable: "AWS_ROLE_ARN".into(),
            region: "us-east-1".into(),
            secrets: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    #[test]
    fn action_inputs_become_role_to_assume_and_the_job_gets_id_token() {
        let wf = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      # creds\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n";
        let out = switch_workflow("d.yml", wf, &sw()).unwrap().unwrap();
        assert_eq!(
            out.text,
            "on: push\njobs:\n  deploy:\n    permissions:\n      contents: read\n      id-token: write\n    runs-on: ubuntu-latest\n    steps:\n      # creds\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_ROLE_ARN }}\n          aws-region: us-east-1\n"
        );
    }

    #[test]
    fn env_keys_go_and_a_step_assumes_the_role_keeping_the_workflows_permissions() {
        let wf = "on: push\npermissions:\n  contents: read\n  pull-requests: write\njobs:\n  sync:\n    runs-on: ubuntu-latest\n    env:\n      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n    steps:\n      - run: aws s3 ls\n";
        let out = switch_workflow("s.yml", wf, &sw()).unwrap().unwrap();
        let expected = format!(
            "on: push\npermissions:\n  contents: read\n  pull-requests: write\njobs:\n  sync:\n    permissions:\n      contents: read\n      pull-requests: write\n      id-token: write\n    runs-on: ubuntu-latest\n    steps:\n      - name: Configure AWS credentials (OIDC, keyless)\n        uses: aws-actions/configure-aws-credentials@{} # {}\n        with:\n          role-to-assume: ${{{{ vars.AWS_ROLE_ARN }}}}\n          aws-region: us-east-1\n      - run: aws s3 ls\n",
            CONFIGURE_AWS_CREDENTIALS.sha, CONFIGURE_AWS_CREDENTIALS.version
        );
        assert_eq!(out.text, expected);
    }

    #[test]
    fn an_existing_block_gains_id_token_and_other_secrets_are_left_alone() {
        let wf = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n    steps:\n      - run: x\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          OTHER: 1\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: y\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.SOMEONE_ELSES }}\n";
        let out = switch_workflow("a.yml", wf, &sw()).unwrap().unwrap();
        assert!(
            out.text
                .contains("    permissions:\n      id-token: write\n      contents: write\n"),
            "{}",
            out.text
        );
        assert!(out.text.contains("          OTHER: 1\n"), "{}", out.text);
        assert!(
            out.text.contains("${{ secrets.SOMEONE_ELSES }}"),
            "{}",
            out.text
        );
        assert!(
            !out.text.contains("secrets.AWS_ACCESS_KEY_ID"),
            "{}",
            out.text
        );
        // Untouched: a workflow without the key.
        assert_eq!(
            switch_workflow("n.yml", "on: push\njobs: {}\n", &sw()).unwrap(),
            None
        );
        // read-all cannot be extended by a textual edit: refused with the fix.
        let ro = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: read-all\n    env:\n      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n    steps:\n      - run: x\n";
        assert!(
            switch_workflow("r.yml", ro, &sw())
                .unwrap_err()
                .contains("by hand")
        );
    }
}
