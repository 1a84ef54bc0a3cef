//! Writes trust-map pages of N roles spread over up to 20 accounts (a mix of scoped, org-wide
//! and `repo:*` trusts, findings on some), for `examples/bench-map.sh`, which times them in
//! headless Chromium. Usage: `cargo run --example trust_map_pages -- OUT_DIR N...`.

use std::collections::BTreeMap;

use keyless::artifacts::trust_map::{MapAccount, html};
use keyless::policy::lint::Finding;
use keyless::policy::lint::Severity;
use keyless::state::audit::{AccountView, AuditedRole};
use serde_json::json;

fn role(i: usize) -> AuditedRole {
    let gh = "token.actions.githubusercontent.com";
    let sub = match i % 10 {
        0 => "repo:*".to_string(),
        1 => format!("repo:org-{}/*", i % 7),
        _ => format!("repo:org-{}/service-{i}:ref:refs/heads/main", i % 7),
    };
    AuditedRole {
        name: format!("role-{i:04}"),
        arn: format!("arn:aws:iam::123456789012:role/role-{i:04}"),
        trust_policy: json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{gh}")},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {format!("{gh}:sub"): sub}}}]}),
        inline_policies: BTreeMap::from([(
            "p".to_string(),
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "dynamodb:GetItem", "logs:PutLogEvents"], "Resource": "*"}]}),
        )]),
        ..Default::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = std::path::PathBuf::from(&args[0]);
    std::fs::create_dir_all(&out).expect("output directory");
    for n in args[1..]
        .iter()
        .map(|a| a.parse::<usize>().expect("a number of roles"))
    {
        let accounts = n.clamp(1, 20);
        let mut maps: Vec<MapAccount> = (0..accounts)
            .map(|a| MapAccount {
                account: format!("{:012}", 100_000_000_000u64 + a as u64),
                view: AccountView::default(),
                findings: Vec::new(),
                guarded: None,
                used: Default::default(),
                stored: Default::default(),
            })
            .collect();
        for i in 0..n {
            let m = &mut maps[i % accounts];
            let r = role(i);
            if i % 10 < 2 {
                m.findings.push(
                    Finding::new(
                        if i % 10 == 0 { "KL002" } else { "KL004" },
                        if i % 10 == 0 {
                            Severity::Critical
                        } else {
                            Severity::High
                        },
                        "broad trust",
                    )
                    .on_role(Some(r.name.clone())),
                );
            }
            m.view.roles.push(r);
        }
        let page = html(
            "keyless audit (benchmark)",
            "(benchmark)",
            &format!("{n} roles"),
            &maps,
        );
        let path = out.join(format!("map-{n}.html"));
        std::fs::write(&path, page).expect("write page");
        println!("{}", path.display());
    }
}
