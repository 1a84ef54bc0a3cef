//! README's rule tables are the catalogue's: every KL rule (Lint rules), every KA rule (audit)
//! and every drift kind (check) README lists is in `keyless::policy::finding::catalogue` with the
//! same severity, and every catalogue entry is in README.

use std::collections::BTreeMap;

use keyless::policy::finding::{DriftKind, catalogue};

use crate::util::root;

/// The rows of README's tables whose first cell matches `id`: (ID, severity cell).
fn rows(readme: &str, id: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    crate::util::table_rows(readme)
        .into_iter()
        .filter(|cells| cells.len() >= 3 && id(&cells[0]))
        .map(|cells| (cells[0].clone(), cells[1].clone()))
        .collect()
}

#[test]
fn readmes_kl_and_ka_tables_are_the_catalogue() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let listed: BTreeMap<String, String> = rows(&readme, |c| {
        (c.starts_with("KL") || c.starts_with("KA"))
            && c.len() == 5
            && c[2..].chars().all(|d| d.is_ascii_digit())
    })
    .into_iter()
    .collect();
    let mut wrong = Vec::new();
    for e in catalogue().iter().filter(|e| e.family != "drift") {
        match listed.get(e.id) {
            None => wrong.push(format!("{} ({}) is not in README", e.id, e.family)),
            // KL008 takes the severity of the loosest value it finds.
            Some(s) if e.id == "KL008" && s == "loosest value" => {}
            Some(s) if s != e.severity.as_str() => wrong.push(format!(
                "{}: README says {s}, the catalogue {}",
                e.id,
                e.severity.as_str()
            )),
            Some(_) => {}
        }
    }
    for id in listed.keys() {
        if !catalogue().iter().any(|e| e.id == id) {
            wrong.push(format!(
                "README lists {id}, which the catalogue does not have"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn readmes_drift_table_is_every_drift_kind() {
    let section = crate::util::readme_section("## check: drift detection");
    // First cells like "`policy_missing` / `policy_detached`".
    let mut listed = BTreeMap::new();
    for (cell, severity) in rows(&section, |c| c.starts_with('`') && c.ends_with('`')) {
        for kind in cell.split(" / ") {
            listed.insert(kind.trim_matches('`').to_string(), severity.clone());
        }
    }
    let mut wrong = Vec::new();
    for (kind, id, severity, _) in DriftKind::ALL {
        match listed.get(*id) {
            None => wrong.push(format!("{id} is not in README's check table")),
            // The live trust policy's lint finding takes the rule's severity.
            Some(s) if *kind == DriftKind::TrustPolicyLint && s == "the rule's" => {}
            Some(s) if !s.starts_with(severity.as_str()) => wrong.push(format!(
                "{id}: README says {s}, the catalogue {}",
                severity.as_str()
            )),
            Some(_) => {}
        }
    }
    for id in listed.keys() {
        if DriftKind::from_id(id).is_none() {
            wrong.push(format!(
                "README's check table lists {id}, which is no drift kind"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
