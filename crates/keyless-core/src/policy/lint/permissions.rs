//! The checks of one permission-policy statement (KL1xx): wildcards, privilege escalation,
//! secret reads, writes on every resource.

use super::*;

/// Actions that read secret material: on `Resource: "*"` they read every secret, parameter or
/// key-protected value of the account. (The trust map calls out the same actions.)
pub const SECRET_READS: &[&str] = &[
    "secretsmanager:getsecretvalue",
    "ssm:getparameter",
    "ssm:getparameters",
    "ssm:getparametersbypath",
    "ssm:getparameterhistory",
    "kms:decrypt",
];

const ESCALATION: &[&str] = &[
    "iam:createpolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:attachrolepolicy",
    "iam:putrolepolicy",
    "iam:updateassumerolepolicy",
    "iam:createaccesskey",
    "iam:attachuserpolicy",
    "iam:putuserpolicy",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:addusertogroup",
    "iam:putgrouppolicy",
    "iam:attachgrouppolicy",
    "iam:createrole",
    "iam:deleterolepermissionsboundary",
    "iam:putrolepermissionsboundary",
];

/// Whether an action entry only reads or lists, by AWS's access levels (a wildcard: every action
/// it expands to). An action AWS does not list (KL112 says so) falls back to its verb.
fn is_read(action: &str) -> bool {
    use crate::policy::actions::{Access, Named, table};
    match table().named(action) {
        Named::Actions(_, acts) if !acts.is_empty() => {
            acts.iter().all(|a| a.access <= Access::Read)
        }
        _ => {
            let verb = action.split(':').nth(1).unwrap_or("");
            ["Get", "List", "Describe", "Head"]
                .iter()
                .any(|p| verb.len() >= p.len() && verb[..p.len()].eq_ignore_ascii_case(p))
        }
    }
}

/// Whether an action takes only `Resource: "*"` (AWS lists no resource type for it).
fn resourceless(action: &str) -> bool {
    use crate::policy::actions::{Named, table};
    matches!(table().named(action), Named::Actions(_, acts) if !acts.is_empty() && acts.iter().all(|a| a.resources.is_empty()))
}

pub(super) fn permission_statement(out: &mut Out, i: usize, st: &serde_json::Map<String, Value>) {
    let label = stmt_label(i, st);
    if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return;
    }
    for k in ["NotAction", "NotResource"] {
        if st.contains_key(k) {
            out.add(
                "KL105",
                format!("`{k}` in an Allow grants everything except what it lists"),
                Some(&label),
                Some(k),
                None,
            );
        }
    }
    let actions = strings(st.get("Action"));
    let resources = strings(st.get("Resource"));
    let any_resource = resources.contains(&"*");
    for a in &actions {
        let lower = a.to_ascii_lowercase();
        if *a == "*" || lower == "*:*" {
            out.add(
                "KL101",
                "Action \"*\" allows every action of every service".into(),
                Some(&label),
                Some("Action"),
                Some(a),
            );
            continue;
        }
        if lower.ends_with(":*") {
            out.add("KL102", format!("`{a}` allows every action of the service, including future ones; list the actions needed"), Some(&label), Some("Action"), Some(a));
        }
        if lower == "iam:passrole"
            && resources
                .iter()
                .any(|r| *r == "*" || r.ends_with(":role/*"))
        {
            out.add("KL104", "iam:PassRole on any role lets the workflow hand any role to a service; name the roles".into(), Some(&label), Some("Action"), Some(a));
        }
        if lower == "sts:assumerole" && any_resource {
            out.add(
                "KL108",
                "sts:AssumeRole on any role; name the roles to chain into".into(),
                Some(&label),
                Some("Action"),
                Some(a),
            );
        }
        if ESCALATION.contains(&lower.as_str())
            || (lower.starts_with("iam:")
                && lower.ends_with('*')
                && lower != "iam:get*"
                && lower != "iam:list*")
        {
            out.add(
                "KL109",
                format!("`{a}` lets the workflow raise its own privileges"),
                Some(&label),
                Some("Action"),
                Some(a),
            );
        }
        if any_resource
            && let Some(secret) = SECRET_READS
                .iter()
                .find(|r| crate::policy::evaluate::like(&lower, r))
        {
            out.add(
                "KL111",
                format!("`{a}` reads secret material ({secret}) on Resource \"*\": every secret, parameter or key of the account; scope it to the ARNs it needs"),
                Some(&label),
                Some("Resource"),
                Some("*"),
            );
        }
        if any_resource && !is_read(a) && !resourceless(a) && !lower.ends_with(":*") {
            out.add(
                "KL103",
                format!("write action `{a}` on Resource \"*\"; scope it to the resources it needs"),
                Some(&label),
                Some("Resource"),
                Some("*"),
            );
        }
    }
}
