//! AWS's request contract, checked on every request the kit receives: each IAM, STS and
//! Organizations call is validated against AWS's own service model for it (botocore's
//! `service-2.json`, from the pinned outside tools: `tests/outside-tools.sh`). The emulators accept
//! anything the Rust SDK sends, and the SDK checks no length, pattern or enum before sending, so a
//! role name, tag, description or path that AWS would refuse passes every emulator; here it is
//! refused the way AWS refuses it (`400 ValidationError`) and recorded for the test to fail on.
//!
//! What is checked, per member: required members, unknown members, string length (in characters)
//! and pattern (Java-style, matched against the whole value, `\w`/`\d` as ASCII), enums, integer
//! ranges, list sizes, booleans. Query-protocol lists are `Name.member.N`; an empty list is `Name=`.
//! Patterns Rust's regex cannot compile (look-ahead) are counted as unchecked, not passed off as
//! checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// One service's model: its operations' input shapes and every shape.
pub struct Model {
    /// `apiVersion`, which query requests must send as `Version`.
    pub api_version: String,
    /// `targetPrefix` for JSON services (`X-Amz-Target: PREFIX.Operation`).
    pub target_prefix: Option<String>,
    inputs: BTreeMap<String, Option<String>>,
    shapes: serde_json::Map<String, Value>,
    patterns: BTreeMap<String, Option<regex::Regex>>,
}

/// The models keyless's calls are checked against, loaded once per process.
pub struct Models {
    /// botocore's version, from its `__init__.py`.
    pub botocore: String,
    /// By the SigV4 service name (`iam`, `sts`, `organizations`).
    pub services: BTreeMap<String, Model>,
}

/// Where the pinned outside tools live (as `tests/outside-tools.sh` installs them).
pub fn outside_tools() -> PathBuf {
    std::env::var_os("KEYLESS_OUTSIDE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/outside-tools"))
}

/// The models, or a message saying how to get them.
pub fn models() -> Result<&'static Models, String> {
    static MODELS: OnceLock<Result<Models, String>> = OnceLock::new();
    MODELS.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn botocore_dir() -> Result<PathBuf, String> {
    let tools = outside_tools();
    let lib = tools.join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.filter_map(|d| d.ok())
            .map(|d| d.path().join("site-packages/botocore"))
            .find(|p| p.is_dir())
    });
    // `pip install --target` puts packages at the top of the directory.
    found
        .or_else(|| Some(tools.join("botocore")).filter(|p| p.is_dir()))
        .ok_or_else(|| {
            format!(
                "botocore is missing from {}: run `bash tests/outside-tools.sh` first",
                tools.display()
            )
        })
}

fn load() -> Result<Models, String> {
    let dir = botocore_dir()?;
    let init = std::fs::read_to_string(dir.join("__init__.py")).map_err(|e| e.to_string())?;
    let botocore = init
        .lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim_matches(|c| c == '\'' || c == '"').to_string())
        .unwrap_or_default();
    let mut services = BTreeMap::new();
    for (name, version) in [
        ("iam", "2010-05-08"),
        ("sts", "2011-06-15"),
        ("organizations", "2016-11-28"),
        ("cloudtrail", "2013-11-01"),
    ] {
        let path = dir.join(format!("data/{name}/{version}/service-2.json.gz"));
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let model: Value = serde_json::from_reader(flate2::read::GzDecoder::new(file))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        services.insert(name.to_string(), Model::new(&model));
    }
    Ok(Models { botocore, services })
}

impl Model {
    fn new(model: &Value) -> Model {
        let shapes = model["shapes"].as_object().cloned().unwrap_or_default();
        let inputs = model["operations"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(op, o)| (op.clone(), o["input"]["shape"].as_str().map(String::from)))
            .collect();
        let patterns = shapes
            .values()
            .filter_map(|s| s["pattern"].as_str())
            .map(|p| (p.to_string(), compile(p)))
            .collect();
        Model {
            api_version: model["metadata"]["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .into(),
            target_prefix: model["metadata"]["targetPrefix"].as_str().map(String::from),
            inputs,
            shapes,
            patterns,
        }
    }

    /// Patterns this model has that could not be compiled (and so are not checked).
    pub fn unchecked_patterns(&self) -> Vec<&str> {
        self.patterns
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(p, _)| p.as_str())
            .collect()
    }

    /// Whether the model has this operation.
    pub fn has(&self, operation: &str) -> bool {
        self.inputs.contains_key(operation)
    }

    /// Violations of a query-protocol request (`params` decoded from the form body and query).
    pub fn check_query(&self, params: &BTreeMap<String, String>) -> Vec<String> {
        let Some(op) = params.get("Action") else {
            return vec!["no Action parameter".into()];
        };
        let Some(input) = self.inputs.get(op) else {
            return vec![format!("{op} is not an operation of this service")];
        };
        let mut out = Vec::new();
        if params.get("Version") != Some(&self.api_version) {
            out.push(format!(
                "{op}: Version {:?} is not the model's {}",
                params.get("Version"),
                self.api_version
            ));
        }
        let mut used: BTreeSet<&str> = ["Action", "Version"].into();
        if let Some(shape) = input {
            self.query_value(op, shape, "", params, &mut used, &mut out);
        }
        for k in params.keys() {
            if !used.contains(k.as_str()) {
                out.push(format!("{op}: unknown parameter {k}"));
            }
        }
        out
    }

    fn query_value<'p>(
        &self,
        op: &str,
        shape_name: &str,
        key: &str,
        params: &'p BTreeMap<String, String>,
        used: &mut BTreeSet<&'p str>,
        out: &mut Vec<String>,
    ) {
        let shape = &self.shapes[shape_name];
        let sub = |name: &str| {
            if key.is_empty() {
                name.to_string()
            } else {
                format!("{key}.{name}")
            }
        };
        match shape["type"].as_str().unwrap_or_default() {
            "structure" => {
                for (member, spec) in shape["members"].as_object().into_iter().flatten() {
                    let k = sub(member);
                    let present = self.query_present(&k, params);
                    if !present {
                        if required(shape, member) {
                            out.push(format!("{op}: {k} is required"));
                        }
                        continue;
                    }
                    let target = spec["shape"].as_str().unwrap_or_default();
                    self.query_value(op, target, &k, params, used, out);
                }
            }
            "list" => {
                let member = shape["member"]["shape"].as_str().unwrap_or_default();
                let name = shape["member"]["locationName"].as_str().unwrap_or("member");
                let mut n = 0;
                if let Some((k, v)) = params.get_key_value(key) {
                    used.insert(k.as_str());
                    if !v.is_empty() {
                        out.push(format!("{op}: {key} is a list but was sent a value"));
                    }
                }
                while self.query_present(&format!("{key}.{name}.{}", n + 1), params) {
                    n += 1;
                    let k = format!("{key}.{name}.{n}");
                    self.query_value(op, member, &k, params, used, out);
                }
                bounds(op, key, shape, n as i64, "items", out);
            }
            "map" => {
                let (kshape, vshape) = (
                    shape["key"]["shape"].as_str().unwrap_or_default(),
                    shape["value"]["shape"].as_str().unwrap_or_default(),
                );
                let mut n = 0;
                while self.query_present(&format!("{key}.entry.{}", n + 1), params) {
                    n += 1;
                    let k = format!("{key}.entry.{n}");
                    self.query_value(op, kshape, &format!("{k}.key"), params, used, out);
                    self.query_value(op, vshape, &format!("{k}.value"), params, used, out);
                }
                bounds(op, key, shape, n as i64, "entries", out);
            }
            _ => {
                let Some((k, v)) = params.get_key_value(key) else {
                    out.push(format!("{op}: {key} is required"));
                    return;
                };
                used.insert(k.as_str());
                self.scalar(op, key, shape, &Value::String(v.clone()), out);
            }
        }
    }

    fn query_present(&self, key: &str, params: &BTreeMap<String, String>) -> bool {
        let prefix = format!("{key}.");
        params
            .range(key.to_string()..)
            .take_while(|(k, _)| k.starts_with(key))
            .any(|(k, _)| k == key || k.starts_with(&prefix))
    }

    /// Violations of a JSON-protocol request (`X-Amz-Target` names the operation).
    pub fn check_json(&self, target: &str, body: &[u8]) -> Vec<String> {
        let op = match (&self.target_prefix, target.rsplit_once('.')) {
            // The Rust SDK sends the Smithy shape's short prefix (`CloudTrail_20131101`), botocore
            // names the long one (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`);
            // AWS accepts both.
            (Some(p), Some((prefix, op))) if p == prefix || p.ends_with(&format!(".{prefix}")) => {
                op
            }
            _ => return vec![format!("X-Amz-Target {target:?} is not this service's")],
        };
        let Some(input) = self.inputs.get(op) else {
            return vec![format!("{op} is not an operation of this service")];
        };
        let body: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return vec![format!("{op}: the body is not JSON: {e}")],
            }
        };
        let mut out = Vec::new();
        match input {
            Some(shape) => self.json_value(op, shape, op, &body, &mut out),
            None if body.as_object().is_some_and(|o| !o.is_empty()) => {
                out.push(format!("{op}: takes no input"));
            }
            None => {}
        }
        out
    }

    fn json_value(&self, op: &str, shape_name: &str, key: &str, v: &Value, out: &mut Vec<String>) {
        let shape = &self.shapes[shape_name];
        match (shape["type"].as_str().unwrap_or_default(), v) {
            ("structure", Value::Object(o)) => {
                let members = shape["members"].as_object().cloned().unwrap_or_default();
                for (member, spec) in &members {
                    match o.get(member) {
                        Some(Value::Null) | None if required(shape, member) => {
                            out.push(format!("{op}: {key}.{member} is required"))
                        }
                        Some(Value::Null) | None => {}
                        Some(x) => {
                            let target = spec["shape"].as_str().unwrap_or_default();
                            self.json_value(op, target, &format!("{key}.{member}"), x, out);
                        }
                    }
                }
                for k in o.keys().filter(|k| !members.contains_key(*k)) {
                    out.push(format!("{op}: unknown member {key}.{k}"));
                }
            }
            ("list", Value::Array(items)) => {
                let member = shape["member"]["shape"].as_str().unwrap_or_default();
                for (i, x) in items.iter().enumerate() {
                    self.json_value(op, member, &format!("{key}[{i}]"), x, out);
                }
                bounds(op, key, shape, items.len() as i64, "items", out);
            }
            ("map", Value::Object(o)) => {
                let (kshape, vshape) = (
                    shape["key"]["shape"].as_str().unwrap_or_default(),
                    shape["value"]["shape"].as_str().unwrap_or_default(),
                );
                for (k, x) in o {
                    self.json_value(op, kshape, key, &Value::String(k.clone()), out);
                    self.json_value(op, vshape, &format!("{key}.{k}"), x, out);
                }
                bounds(op, key, shape, o.len() as i64, "entries", out);
            }
            ("structure" | "list" | "map", _) => {
                out.push(format!("{op}: {key} has the wrong JSON type"));
            }
            _ => self.scalar(op, key, shape, v, out),
        }
    }

    fn scalar(&self, op: &str, key: &str, shape: &Value, v: &Value, out: &mut Vec<String>) {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match shape["type"].as_str().unwrap_or_default() {
            "string" => {
                let Value::String(s) = v else {
                    out.push(format!("{op}: {key} must be a string"));
                    return;
                };
                bounds(op, key, shape, s.chars().count() as i64, "characters", out);
                if let Some(p) = shape["pattern"].as_str()
                    && let Some(Some(re)) = self.patterns.get(p)
                    && !re.is_match(s)
                {
                    out.push(format!("{op}: {key} = {s:?} does not match {p}"));
                }
                if let Some(values) = shape["enum"].as_array()
                    && !values.iter().any(|e| e.as_str() == Some(s))
                {
                    out.push(format!("{op}: {key} = {s:?} is not one of {values:?}"));
                }
            }
            "integer" | "long" => match text.parse::<i64>() {
                Ok(n) => {
                    if shape["min"].as_i64().is_some_and(|m| n < m)
                        || shape["max"].as_i64().is_some_and(|m| n > m)
                    {
                        out.push(format!(
                            "{op}: {key} = {n} is outside {}..={}",
                            shape["min"], shape["max"]
                        ));
                    }
                }
                Err(_) => out.push(format!("{op}: {key} = {text:?} is not an integer")),
            },
            "boolean" if text != "true" && text != "false" => {
                out.push(format!("{op}: {key} = {text:?} is not a boolean"));
            }
            _ => {}
        }
    }
}

fn required(shape: &Value, member: &str) -> bool {
    shape["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|m| m.as_str() == Some(member)))
}

fn bounds(op: &str, key: &str, shape: &Value, n: i64, unit: &str, out: &mut Vec<String>) {
    if let Some(min) = shape["min"].as_i64()
        && n < min
    {
        out.push(format!("{op}: {key} has {n} {unit}, fewer than {min}"));
    }
    if let Some(max) = shape["max"].as_i64()
        && n > max
    {
        out.push(format!("{op}: {key} has {n} {unit}, more than {max}"));
    }
}

/// A model pattern as a Rust regex matching the whole value. Java's `\w` and `\d` are ASCII.
fn compile(pattern: &str) -> Option<regex::Regex> {
    // Java patterns name supplementary characters by their UTF-16 surrogates: the range
    // `\uD800\uDC00-\uDBFF\uDFFF` is every code point above U+FFFF (CloudTrail's models).
    let pattern = pattern.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\x{10000}-\x{10FFFF}");
    let pattern = pattern.as_str();
    let mut p = String::new();
    let (mut in_class, mut chars) = (false, pattern.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('w') if in_class => p.push_str("A-Za-z0-9_"),
                Some('w') => p.push_str("[A-Za-z0-9_]"),
                Some('d') if in_class => p.push_str("0-9"),
                Some('d') => p.push_str("[0-9]"),
                Some(e) => {
                    p.push('\\');
                    p.push(e);
                }
                None => p.push('\\'),
            },
            '[' => {
                in_class = true;
                p.push(c);
            }
            ']' => {
                in_class = false;
                p.push(c);
            }
            _ => p.push(c),
        }
    }
    regex::Regex::new(&format!("^(?:{p})$")).ok()
}

/// Decode an `application/x-www-form-urlencoded` body and a query string into one map.
pub fn form(body: &[u8], query: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(body)
        .chain(form_urlencoded::parse(query.unwrap_or_default().as_bytes()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
