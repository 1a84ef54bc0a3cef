//! Test fixtures shared by the state modules' unit tests: a config rendered for a fixed
//! account, and the observed state that applying it produces (so a test mutates IAM's side one
//! way and asks what the plan or the drift check makes of it). Tests only.

use std::path::Path;

use crate::policy::template::Templates;
use crate::state::observed::{Observed, ObservedPolicy, ObservedProvider, ObservedRole};
use crate::state::plan::{config_tags, keyless_tags, preset_policy_arn};
use crate::state::render::{Rendered, Target, render};

/// The config `text` rendered for account 123456789012 in `aws`.
pub fn rendered(text: &str) -> Rendered {
    let cfg = crate::config::parse(text, "k", Path::new(".")).unwrap();
    render(
        &cfg,
        &Templates::load(None).unwrap(),
        &Target {
            account_id: "123456789012".into(),
            partition: "aws".into(),
        },
    )
    .unwrap()
}

/// The observed state that applying `r` produces.
pub fn applied(r: &Rendered) -> Observed {
    let mut o = Observed {
        provider: Some(ObservedProvider {
            arn: r.provider_arn.clone(),
            url: r.issuer.trim_start_matches("https://").into(),
            client_ids: r.audiences.clone(),
            tags: keyless_tags(),
        }),
        ..Default::default()
    };
    for role in &r.roles {
        let mut attached = Vec::new();
        for p in role.policies.iter().filter(|p| p.attach == "managed") {
            let arn = preset_policy_arn(r, role, &p.name);
            attached.push(arn.clone());
            o.policies.insert(
                arn.clone(),
                Some(ObservedPolicy {
                    arn,
                    default_version: "v1".into(),
                    document: p.document.clone(),
                    versions: vec![("v1".into(), true)],
                    tags: config_tags(&r.config),
                    attachment_count: 1,
                    marked: None,
                }),
            );
        }
        attached.extend(role.managed_policy_arns.iter().cloned());
        o.roles.insert(
            role.name.clone(),
            Some(ObservedRole {
                name: role.name.clone(),
                arn: role.arn.clone(),
                role_id: "AROAEXAMPLE".into(),
                path: role.path.clone(),
                description: role.description.clone(),
                max_session_duration: role.max_session_duration,
                permissions_boundary: role.permissions_boundary.clone(),
                tags: role.tags.clone(),
                trust_policy: role.trust_policy.clone(),
                inline_policies: role
                    .policies
                    .iter()
                    .filter(|p| p.attach == "inline")
                    .map(|p| (p.name.clone(), p.document.clone()))
                    .collect(),
                attached_policies: attached,
            }),
        );
    }
    o
}
