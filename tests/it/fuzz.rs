//! Property tests (proptest) over the inputs users control: the config parser, template
//! parameters, the subject renderer, the trust evaluator and the linter. No input may panic, no
//! rendered document may fail to parse, and no parameter may change a document's structure.
//! Failing cases are kept in `tests/it/fuzz.proptest-regressions` and replayed first.

use std::collections::BTreeMap;
use std::path::Path;

use keyless::identity::subject::{
    GitHubContext, Repo, Scope, SubjectFormat, SubjectSpec, TrustSubject,
};
use keyless::policy::document::{self as policy, Kind};
use keyless::policy::evaluate::{context, evaluate, like};
use keyless::policy::lint::{LintContext, lint_document};
use keyless::policy::template::Templates;
use keyless::state::render::{Target, render};
use proptest::prelude::*;
use serde_json::Value;

fn target() -> Target {
    Target {
        account_id: "123456789012".into(),
        partition: "aws".into(),
    }
}

/// Printable text with the characters that break naive escaping.
fn nasty() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._:%*?@/ \\-\"\\\\{}\\[\\]$\n\t\u{202e}\u{430}]{0,24}"
}

fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("Version".to_string()),
        Just("Statement".to_string()),
        Just("Effect".to_string()),
        Just("Principal".to_string()),
        Just("NotPrincipal".to_string()),
        Just("Federated".to_string()),
        Just("Action".to_string()),
        Just("NotAction".to_string()),
        Just("Resource".to_string()),
        Just("Condition".to_string()),
        Just("StringLike".to_string()),
        Just("StringEquals".to_string()),
        Just("ForAllValues:StringLike".to_string()),
        Just("StringNotEqualsIfExists".to_string()),
        Just("Null".to_string()),
        Just("token.actions.githubusercontent.com:sub".to_string()),
        Just("token.actions.githubusercontent.com:aud".to_string()),
        "[a-z:]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("Allow".to_string()),
            Just("Deny".to_string()),
            Just("*".to_string()),
            Just("sts:AssumeRoleWithWebIdentity".to_string()),
            Just(
                "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                    .to_string()
            ),
            "[a-z:*?/${}@]{0,16}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::SourceParallel("proptest-regressions"))), ..ProptestConfig::default() })]

    #[test]
    fn the_config_parser_never_panics(text in "\\PC{0,400}") {
        let _ = keyless::config::parse(&text, "k.toml", Path::new("."));
    }

    #[test]
    fn any_accepted_config_renders_documents_that_parse_and_carry_each_subject(
        owner in nasty(), repo in nasty(), branch in nasty(), env in nasty(), bucket in nasty(), desc in nasty(),
    ) {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let text = format!(
            "[[role]]\nname = \"r\"\ndescription = {}\n[[role.subject]]\nrepo = {}\nbranch = {}\n[[role.subject]]\nrepo = {}\nenvironment = {}\n[[role.preset]]\nname = \"s3-deploy\"\nparams = {{ bucket = {} }}\n",
            q(&desc), q(&format!("{owner}/{repo}")), q(&branch), q(&format!("{owner}/{repo}")), q(&env), q(&bucket)
        );
        let Ok(cfg) = keyless::config::parse(&text, "k.toml", Path::new(".")) else { return Ok(()) };
        let Ok(r) = render(&cfg, &Templates::load(None).unwrap(), &target()) else { return Ok(()) };
        let trust = &r.roles[0].trust_policy;
        prop_assert!(policy::shape_problems(trust, Kind::Trust).is_empty());
        let text = trust.to_string();
        for s in &r.roles[0].subjects {
            prop_assert!(text.contains(&serde_json::to_string(s).unwrap()), "subject {s} missing from {text}");
        }
        for p in &r.roles[0].policies {
            prop_assert!(policy::shape_problems(&p.document, Kind::Permission).is_empty());
        }
    }

    #[test]
    fn template_parameters_are_data_never_structure(value in "\\PC{0,64}") {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("presets")).unwrap();
        std::fs::write(d.path().join("presets/raw.toml"), "description = \"x\"\n").unwrap();
        std::fs::write(d.path().join("presets/raw.json.tera"), "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::<< v >>/*\"}]}").unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let out = t.render("presets/raw.json.tera", &serde_json::json!({ "v": value })).unwrap();
        let doc: Value = serde_json::from_str(&out).expect("always parses");
        prop_assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
        prop_assert_eq!(doc["Statement"][0].as_object().unwrap().len(), 3);
        prop_assert_eq!(doc["Statement"][0]["Resource"].as_str().unwrap(), format!("arn:aws:s3:::{value}/*"));
    }

    #[test]
    fn rendered_subjects_equal_what_github_mints(env in "[^\\p{C}]{1,40}", branch in "[a-z0-9/_.-]{1,30}") {
        let repo = Repo { owner: "octo-org".into(), name: "app".into(), owner_id: Some("1".into()), repo_id: Some("2".into()) };
        for (scope, environment, git_ref) in [
            (Scope::Environment(env.clone()), Some(env.clone()), format!("refs/heads/{branch}")),
            (Scope::Branch(branch.clone()), None, format!("refs/heads/{branch}")),
        ] {
            let s = TrustSubject { spec: SubjectSpec::Repo { repo: repo.clone(), scope, format: SubjectFormat::Both }, claims: vec![] };
            let pats = s.patterns();
            for (immutable, pat) in [(true, &pats[0]), (false, &pats[1])] {
                let ctx = GitHubContext { repository: "octo-org/app".into(), owner_id: Some("1".into()), repo_id: Some("2".into()), event_name: "push".into(), git_ref: git_ref.clone(), environment: environment.clone(), immutable };
                prop_assert_eq!(Some(pat.clone()), ctx.sub());
                // A value never adds a `:` separator of its own.
                prop_assert_eq!(pat.matches(':').count(), 3);
            }
        }
    }

    #[test]
    fn the_evaluator_and_linter_never_panic_on_any_json(doc in json(), sub in "[a-z:/*@]{0,30}", aud in "[a-z.]{0,20}") {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), Value::String(sub));
        claims.insert("aud".into(), Value::String(aud));
        let ctx = context("arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com", "token.actions.githubusercontent.com", &claims, &["aud".into(), "sub".into()]);
        let v = evaluate(&doc, &ctx);
        prop_assert!(!(v.allowed && v.deciding.is_none()));
        let parsed = policy::Parsed { doc: doc.clone(), duplicate_keys: vec![] };
        let _ = lint_document(&parsed, None, &LintContext::new("fuzz"));
        let _ = keyless::state::plan::document_diff(Some(&doc), Some(&policy::canonical(&doc)));
        prop_assert!(policy::same(&doc, &policy::canonical(&doc)));
    }

    #[test]
    fn like_is_total_and_exact_without_wildcards(p in "[a-z*?${}]{0,12}", v in "[a-z*?]{0,12}", plain in "[a-z:/]{0,16}") {
        let _ = like(&p, &v);
        prop_assert!(like(&plain, &plain));
        prop_assert!(like("*", &v));
    }
}

#[test]
fn hostile_configs_get_clear_errors() {
    let cases: Vec<(String, &str)> = vec![
        ("[[role]]\nname = \"r\"\nsurprise = 1\n".into(), "unknown key `surprise`"),
        ("[[role]]\nname = 5\n".into(), "role[0].name: expected a string, found an integer"),
        (format!("[[role]]\nname = \"{}\"\n", "r".repeat(100_000)), "role[0].name"),
        ("[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"оcto-org/app\"\nbranch = \"main\"\n".into(), "ASCII"),
        ("[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.inline_policy]]\nname = \"x\"\nfile = \"../../etc/passwd\"\n".into(), "inside the config file's directory"),
        ("[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.preset]]\nname = \"../../etc/passwd\"\n".into(), "not a preset name"),
        ("[[role]]\nname = \"r\"\nmax_session_duration = 99999999999999999\n".into(), ""),
        (format!("[[role]]\nname = \"r\"\ntags = {{ {} }}\n", (0..60).map(|i| format!("k{i} = \"v\"")).collect::<Vec<_>>().join(", ")), "at most 48 tags"),
    ];
    for (text, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keyless.toml"), &text).unwrap();
        let r = crate::util::keyless_in(
            dir.path(),
            &["render", "--account-id", "123456789012"],
            &[],
            None,
        );
        assert_eq!(r.code, 1, "{}: {}", &text[..text.len().min(60)], r.stderr);
        assert!(
            r.stderr.contains("keyless.toml") && r.stderr.contains(want),
            "{want:?} not in {}",
            &r.stderr[..r.stderr.len().min(400)]
        );
        assert!(
            r.stderr.len() < 20_000,
            "errors stay readable even for huge values"
        );
    }
}

#[test]
fn a_symlinked_template_directory_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("tpl");
    std::fs::create_dir_all(tpl.join("presets")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", tpl.join("trust.json.tera")).unwrap();
    std::fs::write(dir.path().join("keyless.toml"), "templates_dir = \"tpl\"\n[[role]]\nname = \"r\"\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n").unwrap();
    let r = crate::util::keyless_in(
        dir.path(),
        &["render", "--account-id", "123456789012"],
        &[],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("symlinks are not followed"),
        "{}",
        r.stderr
    );
    let _ = BTreeMap::<String, String>::new();
}
