//! The template engine: built-in templates embedded in the binary, a user directory that
//! overrides or extends them, and the permission-preset catalogue with typed parameters.
//!
//! Tera runs with `<< >>` / `<% %>` / `<# #>` delimiters (so GitHub's `${{ }}` needs no escaping)
//! and with autoescaping on for every template through a JSON string escaper: a parameter can
//! never close a string or change a document's structure, whatever it holds. This module renders
//! text only; parsing and checking rendered documents belongs to `render` and `policy`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tera::{Context, Delimiters, Tera};

use crate::error::{Error, Result};
use crate::identity::names;

/// Built-in trust policy template name.
pub const TRUST: &str = "trust.json.tera";
/// Built-in workflow template name.
pub const WORKFLOW: &str = "workflow.yml.tera";
/// Built-in scheduled-check workflow template name.
pub const CHECK_WORKFLOW: &str = "check-workflow.yml.tera";
/// The scheduled `keyless audit` workflow, with its SARIF upload.
pub const AUDIT_WORKFLOW: &str = "audit-workflow.yml.tera";

macro_rules! presets {
    ($($name:literal),* $(,)?) => {
        &[$(($name,
            include_str!(concat!("../../templates/presets/", $name, ".json.tera")),
            include_str!(concat!("../../templates/presets/", $name, ".toml")))),*]
    };
}

/// (name, template, metadata) of every built-in preset.
const BUILTIN_PRESETS: &[(&str, &str, &str)] = presets![
    "s3-deploy",
    "s3-read",
    "wafv2-read",
    "terraform-state",
    "ecr-push",
    "ecs-deploy",
    "lambda-deploy",
    "cloudformation-deploy",
    "cloudfront-invalidation",
    "secrets-read",
    "ssm-read",
    "keyless-check",
    "keyless-audit",
];

const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    (TRUST, include_str!("../../templates/trust.json.tera")),
    (WORKFLOW, include_str!("../../templates/workflow.yml.tera")),
    (
        CHECK_WORKFLOW,
        include_str!("../../templates/check-workflow.yml.tera"),
    ),
    (
        AUDIT_WORKFLOW,
        include_str!("../../templates/audit-workflow.yml.tera"),
    ),
];

/// What a preset parameter holds; decides its validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// S3 bucket name.
    S3Bucket,
    /// S3 key prefix (may be empty; ends with `/` when not).
    S3Prefix,
    /// S3 object key.
    S3Key,
    /// A resource name: letters, digits, `-`, `_`, `.`.
    Name,
    /// ECR repository name (lower-case, `/` allowed).
    EcrRepository,
    /// AWS region.
    Region,
    /// IAM role ARN.
    RoleArn,
    /// KMS key ARN.
    KmsKeyArn,
    /// CloudFront distribution ID.
    DistributionId,
    /// Secrets Manager secret name.
    SecretName,
    /// SSM parameter path (`/a/b`).
    SsmPath,
    /// IAM path (`/` or `/a/b/`).
    IamPath,
    /// One of the spec's `choices` (a mode such as `read-only`).
    Choice,
}

/// One parameter of a preset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Its kind.
    pub kind: ParamKind,
    /// Default; absent means required (regions default to the config's region).
    pub default: Option<String>,
    /// One line of help.
    pub help: String,
    /// The allowed values, for `choice` parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

impl ParamSpec {
    /// Check a value against this parameter: its kind's rules, and its choices when it has some.
    pub fn check(&self, v: &str) -> names::Check {
        check_param(self.kind, v)?;
        if !self.choices.is_empty() && !self.choices.iter().any(|c| c == v) {
            return Err(format!("one of: {}", self.choices.join(", ")));
        }
        Ok(())
    }
}

/// A preset's metadata.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PresetSpec {
    /// One line saying what it grants.
    pub description: String,
    /// Parameters by name.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
}

/// Check one parameter value. No wildcards anywhere: a preset names resources.
pub fn check_param(kind: ParamKind, v: &str) -> names::Check {
    if v.contains('*') || v.contains('?') {
        return Err("wildcards are not allowed in preset parameters; name the resource".into());
    }
    if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("no spaces or control characters".into());
    }
    let simple = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    match kind {
        ParamKind::S3Bucket => {
            let bucket_ok = |v: &str| {
                (3..=63).contains(&v.len())
                    && simple(v, ".-")
                    && v.chars().all(|c| !c.is_ascii_uppercase())
                    && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && v.ends_with(|c: char| c.is_ascii_alphanumeric())
                    && !v.contains("..")
            };
            if bucket_ok(v) {
                return Ok(());
            }
            let msg = "an S3 bucket name is 3–63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit";
            // `s3://bucket/path` pasted, or capitals and underscores: suggest the bucket name.
            let guess = match v.strip_prefix("s3://") {
                Some(rest) => rest.split('/').next().unwrap_or("").to_string(),
                None => v.to_ascii_lowercase().replace('_', "-"),
            };
            if guess != v && bucket_ok(&guess) {
                Err(format!("{msg}; did you mean {guess:?}?"))
            } else {
                Err(msg.into())
            }
        }
        ParamKind::S3Prefix => {
            if v.is_empty() {
                return Ok(());
            }
            if v.len() > 512 || v.starts_with('/') || !v.ends_with('/') || !simple(v, "/!-_.'()") {
                return Err("a prefix is like `site/` or `builds/app/`: no leading `/`, ends with `/`, safe characters only".into());
            }
            Ok(())
        }
        ParamKind::S3Key => {
            if v.len() > 1024 || v.starts_with('/') || v.ends_with('/') || !simple(v, "/!-_.'()") {
                return Err("an object key is like `prod/terraform.tfstate`: no leading or trailing `/`, safe characters only".into());
            }
            Ok(())
        }
        ParamKind::Name => {
            if v.len() > 255 || !simple(v, "-_.") {
                return Err("a name holds letters, digits, `-`, `_` and `.`".into());
            }
            Ok(())
        }
        ParamKind::EcrRepository => {
            let ok = (2..=256).contains(&v.len())
                && simple(v, "-_./")
                && !v.chars().any(|c| c.is_ascii_uppercase())
                && !v.starts_with('/')
                && !v.ends_with('/');
            if ok {
                Ok(())
            } else {
                Err(
                    "an ECR repository is lower-case letters, digits and - _ . / (e.g. team/app)"
                        .into(),
                )
            }
        }
        ParamKind::Region => names::region(v),
        ParamKind::RoleArn => names::role_arn(v),
        ParamKind::KmsKeyArn => {
            let a = names::arn(v)?;
            if a.service != "kms"
                || !(a.resource.starts_with("key/") || a.resource.starts_with("alias/"))
                || a.region.is_empty()
            {
                return Err("a KMS key ARN looks like arn:aws:kms:REGION:ACCOUNT:key/ID".into());
            }
            Ok(())
        }
        ParamKind::DistributionId => {
            if (10..=20).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                Ok(())
            } else {
                Err("a CloudFront distribution ID is upper-case letters and digits, e.g. E1ABCDEF2GHIJK".into())
            }
        }
        ParamKind::SecretName => {
            if v.len() > 512 || !simple(v, "/_+=.@-") {
                return Err("a secret name holds letters, digits and / _ + = . @ -".into());
            }
            Ok(())
        }
        ParamKind::SsmPath => {
            if !v.starts_with('/') || v.ends_with('/') || v.len() > 1011 || !simple(v, "/_.-") {
                return Err(
                    "a parameter path is like /app/prod: starts with `/`, no trailing `/`".into(),
                );
            }
            Ok(())
        }
        ParamKind::IamPath => names::iam_path(v),
        ParamKind::Choice => {
            if simple(v, "-_") {
                Ok(())
            } else {
                Err("a choice is letters, digits, `-` and `_`".into())
            }
        }
    }
}

/// A Tera instance with keyless's delimiters and JSON escaping of every `<< value >>`.
fn engine() -> Result<Tera> {
    let mut tera = Tera::new();
    tera.set_delimiters(Delimiters {
        block_start: "<%".into(),
        block_end: "%>".into(),
        variable_start: "<<".into(),
        variable_end: ">>".into(),
        comment_start: "<#".into(),
        comment_end: "#>".into(),
    })
    .map_err(|e| Error::Template {
        name: "(engine)".into(),
        message: e.to_string(),
    })?;
    tera.set_escape_fn(json_escape);
    tera.autoescape_on([".tera"]);
    Ok(tera)
}

fn json_escape(s: &str, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let quoted = serde_json::to_string(s).map_err(std::io::Error::other)?;
    w.write_all(&quoted.as_bytes()[1..quoted.len() - 1])
}

/// The loaded templates and preset catalogue.
pub struct Templates {
    tera: Tera,
    presets: BTreeMap<String, PresetSpec>,
    /// Where each template came from (`built-in` or a file path), for messages.
    pub origins: BTreeMap<String, String>,
}

impl Templates {
    /// The built-in templates, plus `user_dir`'s, which override built-ins of the same name and
    /// may add presets (`presets/NAME.json.tera` with `presets/NAME.toml`).
    pub fn load(user_dir: Option<&Path>) -> Result<Templates> {
        let mut sources: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut metas: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (name, text) in BUILTIN_TEMPLATES {
            sources.insert(name.to_string(), (text.to_string(), "built-in".into()));
        }
        for (name, tpl, meta) in BUILTIN_PRESETS {
            sources.insert(
                format!("presets/{name}.json.tera"),
                (tpl.to_string(), "built-in".into()),
            );
            metas.insert(name.to_string(), (meta.to_string(), "built-in".into()));
        }
        if let Some(dir) = user_dir {
            for (rel, path) in user_files(dir)? {
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                let origin = path.display().to_string();
                if let Some(stem) = rel
                    .strip_prefix("presets/")
                    .and_then(|r| r.strip_suffix(".toml"))
                {
                    metas.insert(stem.to_string(), (text, origin));
                } else if rel.ends_with(".tera") {
                    sources.insert(rel, (text, origin));
                }
            }
        }
        let mut tera = engine()?;
        let mut origins = BTreeMap::new();
        for (name, (text, origin)) in &sources {
            tera.add_raw_template(name, text)
                .map_err(|e| Error::Template {
                    name: format!("{name} ({origin})"),
                    message: error_chain(&e),
                })?;
            origins.insert(name.clone(), origin.clone());
        }
        let mut presets = BTreeMap::new();
        for (name, (meta, origin)) in metas {
            let spec: PresetSpec = toml::from_str(&meta).map_err(|e| Error::Template {
                name: format!("presets/{name}.toml ({origin})"),
                message: e.message().to_string(),
            })?;
            if !sources.contains_key(&format!("presets/{name}.json.tera")) {
                return Err(Error::Template {
                    name: format!("presets/{name}.toml ({origin})"),
                    message: format!("no template presets/{name}.json.tera beside it"),
                });
            }
            presets.insert(name, spec);
        }
        Ok(Templates {
            tera,
            presets,
            origins,
        })
    }

    /// The preset catalogue.
    pub fn presets(&self) -> &BTreeMap<String, PresetSpec> {
        &self.presets
    }

    /// The preset name closest to `name` (a typo), when close enough to be a guess.
    pub fn nearest_preset(&self, name: &str) -> Option<&str> {
        self.presets
            .keys()
            .map(|k| {
                (
                    strsim::levenshtein(&name.to_ascii_lowercase(), k),
                    k.as_str(),
                )
            })
            .filter(|(d, k)| *d <= 3.min(k.len() / 3).max(1))
            .min()
            .map(|(_, k)| k)
    }

    /// Render a template with a serialisable context.
    pub fn render(&self, name: &str, ctx: &impl Serialize) -> Result<String> {
        let context = Context::from_serialize(ctx).map_err(|e| Error::Template {
            name: name.into(),
            message: error_chain(&e),
        })?;
        self.tera
            .render(name, &context)
            .map_err(|e| Error::Template {
                name: format!(
                    "{name} ({})",
                    self.origins.get(name).map(String::as_str).unwrap_or("?")
                ),
                message: error_chain(&e),
            })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// `.tera` and `presets/*.toml` files under a user template directory, as (relative name, path).
/// Symlinks and anything outside the directory are refused.
fn user_files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for sub in ["", "presets"] {
        let d = dir.join(sub);
        if !sub.is_empty() && std::fs::symlink_metadata(&d).is_ok_and(|m| m.is_symlink()) {
            return Err(Error::Template {
                name: d.display().to_string(),
                message:
                    "symlinks are not followed in the template directory; copy the directory in"
                        .into(),
            });
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                path: d.clone(),
                source,
            })?;
            let ft = entry.file_type().map_err(|source| Error::Io {
                path: entry.path(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().to_string();
            if ft.is_symlink() {
                return Err(Error::Template {
                    name: entry.path().display().to_string(),
                    message:
                        "symlinks are not followed in the template directory; copy the file in"
                            .into(),
                });
            }
            if !ft.is_file()
                || !(name.ends_with(".tera") || (sub == "presets" && name.ends_with(".toml")))
            {
                continue;
            }
            let rel = if sub.is_empty() {
                name
            } else {
                format!("{sub}/{name}")
            };
            out.push((rel, entry.path()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtins_load_and_every_preset_has_documented_params() {
        let t = Templates::load(None).unwrap();
        assert!(t.presets().len() >= 10);
        for (name, spec) in t.presets() {
            assert!(!spec.description.is_empty(), "{name}");
            for (p, ps) in &spec.params {
                assert!(!ps.help.is_empty(), "{name}.{p}");
                if let Some(d) = &ps.default
                    && !d.is_empty()
                {
                    ps.check(d)
                        .unwrap_or_else(|e| panic!("{name}.{p} default: {e}"));
                }
            }
        }
    }

    #[test]
    fn values_are_json_escaped_and_github_expressions_pass_through() {
        let mut tera = engine().unwrap();
        tera.add_raw_template("t.json.tera", r#"{"a": "<< v >>", "b": "${{ vars.X }}"}"#)
            .unwrap();
        for hostile in [
            "\"}, \"Effect\": \"Allow",
            "back\\slash",
            "new\nline",
            "}",
            "\u{0}",
            "<< v >>",
        ] {
            let mut ctx = Context::new();
            ctx.insert("v", hostile);
            let out = tera.render("t.json.tera", &ctx).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(parsed, json!({"a": hostile, "b": "${{ vars.X }}"}));
        }
    }

    #[test]
    fn param_checks() {
        use ParamKind::*;
        let ok = [
            (S3Bucket, "my-site.example"),
            (S3Prefix, ""),
            (S3Prefix, "site/"),
            (S3Key, "prod/terraform.tfstate"),
            (EcrRepository, "team/app"),
            (
                RoleArn,
                "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            ),
            (KmsKeyArn, "arn:aws:kms:us-east-1:123456789012:key/1234abcd"),
            (DistributionId, "E1ABCDEF2GHIJK"),
            (SecretName, "prod/app/db"),
            (SsmPath, "/app/prod"),
            (IamPath, "/ci/"),
            (Name, "my_table-1"),
        ];
        for (k, v) in ok {
            assert!(check_param(k, v).is_ok(), "{k:?} {v:?}");
        }
        let bad = [
            (S3Bucket, "My_Bucket"),
            (S3Bucket, "b\"x"),
            (S3Bucket, "*"),
            (S3Prefix, "site"),
            (S3Prefix, "/site/"),
            (S3Key, "a b"),
            (EcrRepository, "Team/App"),
            (RoleArn, "arn:aws:iam::123456789012:role/*"),
            (KmsKeyArn, "arn:aws:s3:::b"),
            (DistributionId, "e1"),
            (SsmPath, "app/prod"),
            (Name, "a}b"),
            (Name, "a\nb"),
        ];
        for (k, v) in bad {
            assert!(check_param(k, v).is_err(), "{k:?} {v:?}");
        }
    }

    #[test]
    fn user_dir_overrides_and_extends() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("presets")).unwrap();
        std::fs::write(
            d.path().join("presets/custom.toml"),
            "description = \"x\"\n[params.thing]\nkind = \"name\"\nhelp = \"h\"\n",
        )
        .unwrap();
        std::fs::write(d.path().join("presets/custom.json.tera"), "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::<< thing >>/*\"}]}").unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        assert!(t.presets().contains_key("custom"));
        assert!(t.origins["presets/custom.json.tera"].ends_with("custom.json.tera"));
        std::fs::write(
            d.path().join("presets/orphan.toml"),
            "description = \"x\"\n",
        )
        .unwrap();
        assert!(Templates::load(Some(d.path())).is_err());
    }
}
