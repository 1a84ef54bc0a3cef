//! IAM policy documents as data: parsing (with duplicate-key detection), shape checks, size.
//!
//! Every document keyless renders, and every document `keyless lint` reads, goes through
//! [`parse`] and [`shape_problems`] before use. Helpers here normalise IAM's string-or-array
//! fields so other modules never branch on JSON shapes. No templates, no lint rules, no AWS.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Which kind of policy a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A role trust (assume-role) policy: statements carry a `Principal`.
    Trust,
    /// An identity (permission) policy: statements carry `Resource`.
    Permission,
}

impl Kind {
    /// Guess from the document: any statement with `Principal`/`NotPrincipal` makes it a trust policy.
    pub fn detect(doc: &Value) -> Kind {
        if statements(doc)
            .iter()
            .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
        {
            Kind::Trust
        } else {
            Kind::Permission
        }
    }
}

/// A parsed document and the JSON paths of any duplicated object keys.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The document (for duplicates, the last value wins, as most parsers do).
    pub doc: Value,
    /// JSON paths of duplicated keys, e.g. `Statement[0].Condition.StringEquals`.
    pub duplicate_keys: Vec<String>,
}

/// Parse JSON text, recording duplicate keys instead of silently dropping them.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let dups = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = DupSeed {
        path: String::new(),
        dups: &dups,
    }
    .deserialize(&mut de)
    .map_err(|e| format!("not valid JSON: {e}"))?;
    de.end().map_err(|e| format!("not valid JSON: {e}"))?;
    Ok(Parsed {
        doc,
        duplicate_keys: dups.into_inner(),
    })
}

struct DupSeed<'a> {
    path: String,
    dups: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for DupSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(DupSeed {
            path: format!("{}[{}]", self.path, out.len()),
            dups: self.dups,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                k.clone()
            } else {
                format!("{}.{k}", self.path)
            };
            let v = map.next_value_seed(DupSeed {
                path: path.clone(),
                dups: self.dups,
            })?;
            if out.insert(k, v).is_some() {
                self.dups.borrow_mut().push(path);
            }
        }
        Ok(Value::Object(out))
    }
}

/// The statements of a document (a single object is treated as a one-element list).
pub fn statements(doc: &Value) -> Vec<&Map<String, Value>> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => vec![],
    }
}

/// A string-or-array field as a list of strings (non-strings are dropped).
pub fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// A statement's `Condition` flattened to (operator as written, key, values as strings), where a
/// single value and a one-element list are the same and non-strings keep their JSON text.
pub fn condition_entries(st: &Map<String, Value>) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let Some(ops) = st.get("Condition").and_then(Value::as_object) else {
        return out;
    };
    for (op, keys) in ops {
        let Some(keys) = keys.as_object() else {
            continue;
        };
        for (key, v) in keys {
            let values = match v {
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            out.push((op.clone(), key.clone(), values));
        }
    }
    out
}

/// An operator split into (set qualifier or "", base operator, whether it ends in IfExists):
/// `ForAllValues:StringLikeIfExists` → (`ForAllValues`, `StringLike`, true).
pub fn split_operator(op: &str) -> (&str, &str, bool) {
    let (qual, rest) = op.split_once(':').unwrap_or(("", op));
    let if_exists = rest.ends_with("IfExists") && rest != "IfExists";
    (qual, rest.trim_end_matches("IfExists"), if_exists)
}

/// Size as IAM counts it: characters that are not whitespace, in the compact form.
pub fn size(doc: &Value) -> usize {
    doc.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// One line saying what a permission policy allows: its actions (the first few, then a count)
/// and the resources they apply to, e.g. `s3:GetObject, s3:PutObject on arn:aws:s3:::b/* (+1)`.
/// Deny statements are counted separately.
pub fn summary(doc: &Value) -> String {
    let mut actions: Vec<&str> = Vec::new();
    let mut resources: Vec<&str> = Vec::new();
    let mut denies = 0;
    for st in statements(doc) {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            denies += 1;
            continue;
        }
        for a in strings(st.get("Action")) {
            if !actions.contains(&a) {
                actions.push(a);
            }
        }
        for r in strings(st.get("Resource")) {
            if !resources.contains(&r) {
                resources.push(r);
            }
        }
    }
    // A wildcard says how many of AWS's actions it stands for: `s3:Get* (=41 actions)`.
    let expanded = |a: &str| match crate::policy::actions::table().named(a) {
        crate::policy::actions::Named::Actions(_, acts) if a.contains(['*', '?']) => {
            format!("{a} (={} actions)", acts.len())
        }
        _ => a.to_string(),
    };
    let list = |items: &[&str], shown: usize, are_actions: bool| {
        let mut s = items
            .iter()
            .take(shown)
            .map(|a| {
                if are_actions {
                    expanded(a)
                } else {
                    a.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        if items.len() > shown {
            s.push_str(&format!(" (+{})", items.len() - shown));
        }
        s
    };
    let mut s = format!(
        "{} on {}",
        list(&actions, 3, true),
        if resources.is_empty() {
            "(no resource)".to_string()
        } else {
            list(&resources, 1, false)
        }
    );
    if denies > 0 {
        s.push_str(&format!("; {denies} deny statement(s)"));
    }
    s
}

/// Pretty, stable text for a document (keys keep their rendered order).
pub fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_default()
}

/// A document as IAM takes it on the wire: compact JSON whose characters above U+00FF are
/// written as `\uXXXX` escapes. IAM's model admits only tab, newline, carriage return and
/// U+0020–U+00FF in a policy document; the escaped text is the same JSON.
pub fn wire(doc: &Value) -> String {
    let text = doc.to_string();
    if text.chars().all(|c| (c as u32) <= 0xFF) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if (c as u32) <= 0xFF {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

fn is_str_or_str_array(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => {
            !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty()))
        }
        _ => false,
    }
}

/// Structural problems that make a document something other than an IAM policy of `kind`.
/// An empty list means the document has the right shape.
pub fn shape_problems(doc: &Value, kind: Kind) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = doc.as_object() else {
        return vec!["a policy is a JSON object".into()];
    };
    for k in obj.keys() {
        if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
            out.push(format!("unknown top-level key `{k}`"));
        }
    }
    match obj.get("Version") {
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(_) => out.push("`Version` must be \"2012-10-17\"".into()),
        None => {}
    }
    let sts = match obj.get("Statement") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().collect::<Vec<_>>(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => {
            out.push("`Statement` must be a non-empty list of statements".into());
            return out;
        }
    };
    for (i, st) in sts.iter().enumerate() {
        let Some(s) = st.as_object() else {
            out.push(format!("Statement[{i}] is not an object"));
            continue;
        };
        for k in s.keys() {
            if !matches!(
                k.as_str(),
                "Sid"
                    | "Effect"
                    | "Principal"
                    | "NotPrincipal"
                    | "Action"
                    | "NotAction"
                    | "Resource"
                    | "NotResource"
                    | "Condition"
            ) {
                out.push(format!("Statement[{i}]: unknown key `{k}`"));
            }
        }
        if let Some(sid) = s.get("Sid")
            && !sid
                .as_str()
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            out.push(format!("Statement[{i}]: `Sid` must be alphanumeric"));
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => out.push(format!(
                "Statement[{i}]: `Effect` must be \"Allow\" or \"Deny\""
            )),
        }
        let actions: Vec<&Value> = ["Action", "NotAction"]
            .iter()
            .filter_map(|k| s.get(*k))
            .collect();
        if actions.len() != 1 || !is_str_or_str_array(actions[0]) {
            out.push(format!("Statement[{i}]: needs exactly one of `Action`/`NotAction`, a string or list of strings"));
        }
        let resources: Vec<&Value> = ["Resource", "NotResource"]
            .iter()
            .filter_map(|k| s.get(*k))
            .collect();
        let principals: Vec<&Value> = ["Principal", "NotPrincipal"]
            .iter()
            .filter_map(|k| s.get(*k))
            .collect();
        match kind {
            Kind::Permission => {
                if resources.len() != 1 || !is_str_or_str_array(resources[0]) {
                    out.push(format!(
                        "Statement[{i}]: needs exactly one of `Resource`/`NotResource`"
                    ));
                }
                if !principals.is_empty() {
                    out.push(format!(
                        "Statement[{i}]: a permission policy takes no `Principal`"
                    ));
                }
            }
            Kind::Trust => {
                if principals.len() != 1 {
                    out.push(format!(
                        "Statement[{i}]: needs exactly one of `Principal`/`NotPrincipal`"
                    ));
                } else if !(principals[0].as_str() == Some("*")
                    || principals[0]
                        .as_object()
                        .is_some_and(|p| !p.is_empty() && p.values().all(is_str_or_str_array)))
                {
                    out.push(format!("Statement[{i}]: `Principal` must be \"*\" or an object such as {{\"Federated\": ARN}}"));
                }
                if !resources.is_empty() {
                    out.push(format!(
                        "Statement[{i}]: a trust policy takes no `Resource`"
                    ));
                }
            }
        }
        if let Some(c) = s.get("Condition") {
            match c.as_object() {
                Some(ops) => {
                    for (op, keys) in ops {
                        match keys.as_object() {
                            Some(k) if !k.is_empty() => {
                                for (key, v) in k {
                                    let ok = match v {
                                        Value::String(_) | Value::Bool(_) | Value::Number(_) => {
                                            true
                                        }
                                        Value::Array(a) => a.iter().all(|x| {
                                            x.is_string() || x.is_boolean() || x.is_number()
                                        }),
                                        _ => false,
                                    };
                                    if !ok {
                                        out.push(format!("Statement[{i}].Condition.{op}.{key}: values must be strings or lists of strings"));
                                    }
                                }
                            }
                            _ => out.push(format!(
                                "Statement[{i}].Condition.{op}: must be a non-empty object of keys"
                            )),
                        }
                    }
                }
                None => out.push(format!("Statement[{i}]: `Condition` must be an object")),
            }
        }
    }
    out
}

/// Decode a policy document as IAM returns it: URL-encoded on AWS and on emulators (some return
/// certain documents plain). Text starting with `{` is already JSON; anything else is
/// percent-decoded exactly once, so `%3A` inside an environment subject survives.
pub fn decode_document(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    let json = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| format!("policy document is not valid UTF-8 after URL-decoding: {e}"))?
            .into_owned()
    };
    serde_json::from_str(&json).map_err(|e| format!("policy document is not valid JSON: {e}"))
}

/// A canonical form for comparing documents by meaning: object keys sorted, lists of strings
/// sorted and de-duplicated (a one-element list becomes its string), lists of objects
/// (statements) sorted by their canonical text.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(canonical).collect();
            items.sort_by_key(|x| x.to_string());
            items.dedup();
            if items.len() == 1 && items[0].is_string() {
                items.pop().unwrap_or(Value::Null)
            } else if items.len() == 1 && items[0].is_object() {
                // A single statement may be written as an object or a one-element list.
                // Decided on the canonical item, so that canonical is idempotent (`[[{}]]`).
                items.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            }
        }
        other => other.clone(),
    }
}

/// Do two documents mean the same?
pub fn same(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

#[cfg(test)]
mod summary_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_is_idempotent_on_nested_single_statements() {
        for doc in [
            json!([[{}]]),
            json!([[{"a": 1}], [{"a": 1}]]),
            json!([["x"]]),
            json!([{"b": [1]}]),
        ] {
            let once = canonical(&doc);
            assert_eq!(canonical(&once), once, "{doc}");
            assert!(same(&doc, &once), "{doc}");
        }
    }

    #[test]
    fn summary_names_actions_and_resources_in_one_line() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"]},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        assert_eq!(
            summary(&doc),
            "s3:GetObject, s3:PutObject, s3:DeleteObject (+1) on arn:aws:s3:::b/* (+1); 1 deny statement(s)"
        );
        let wild = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:Get*Tagging", "s3:ListBucket"], "Resource": "arn:aws:s3:::b"}]});
        let n = match crate::policy::actions::table().named("s3:Get*Tagging") {
            crate::policy::actions::Named::Actions(_, a) => a.len(),
            _ => 0,
        };
        assert!(n > 3);
        assert_eq!(
            summary(&wild),
            format!("s3:Get*Tagging (={n} actions), s3:ListBucket on arn:aws:s3:::b")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_text_escapes_what_iam_refuses_and_stays_the_same_json() {
        let doc = serde_json::json!({"Sid": "a", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "東京 € 🚀 é"}}});
        let w = wire(&doc);
        assert!(w.chars().all(|c| (c as u32) <= 0xFF), "{w}");
        assert!(w.contains("\\ud83d\\ude80") && w.contains('é'), "{w}");
        assert_eq!(serde_json::from_str::<Value>(&w).unwrap(), doc);
        let ascii = serde_json::json!({"Version": "2012-10-17"});
        assert_eq!(wire(&ascii), ascii.to_string());
    }
    use serde_json::json;

    #[test]
    fn decoding_is_exactly_once() {
        let encoded = "%7B%22a%22%3A%22repo%3Ao%2Fr%3Aenvironment%3Aprod%253Aeu%22%7D";
        assert_eq!(
            decode_document(encoded).unwrap(),
            json!({"a": "repo:o/r:environment:prod%3Aeu"})
        );
        assert_eq!(
            decode_document("{\"a\":\"x%3Ay\"}").unwrap(),
            json!({"a": "x%3Ay"})
        );
        assert!(decode_document("%7Bnot").is_err());
    }

    #[test]
    fn semantic_equality() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::b/*"]},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]});
        let b = json!({"Statement": [
            {"Resource": "arn:aws:s3:::b", "Action": ["s3:ListBucket"], "Effect": "Allow"},
            {"Action": ["s3:DeleteObject", "s3:PutObject"], "Effect": "Allow", "Resource": "arn:aws:s3:::b/*"}], "Version": "2012-10-17"});
        assert!(same(&a, &b));
        let single = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}});
        let listed = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]});
        assert!(same(&single, &listed));
        let c = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::other"}]});
        assert!(!same(&listed, &c));
    }

    #[test]
    fn duplicate_keys_are_found() {
        let p = parse(
            r#"{"Statement":[{"Condition":{"StringEquals":{"a":"1"},"StringEquals":{"b":"2"}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            p.duplicate_keys,
            vec!["Statement[0].Condition.StringEquals"]
        );
        assert!(parse(r#"{"a":1}"#).unwrap().duplicate_keys.is_empty());
        assert!(parse("{").is_err());
        assert!(parse("{} x").is_err());
    }

    #[test]
    fn size_ignores_whitespace() {
        assert_eq!(size(&json!({"a": "b c"})), "{\"a\":\"bc\"}".len());
    }

    #[test]
    fn shapes() {
        let good_perm = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]});
        assert!(shape_problems(&good_perm, Kind::Permission).is_empty());
        assert_eq!(Kind::detect(&good_perm), Kind::Permission);
        let good_trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]});
        assert!(shape_problems(&good_trust, Kind::Trust).is_empty());
        assert_eq!(Kind::detect(&good_trust), Kind::Trust);
        let bad = json!({"Version":"2020-01-01","Statement":[{"Effect":"allow","Action":[],"Resource":"*","Extra":1,"Condition":{"StringEquals":{"k":{"x":1}}}}]});
        let p = shape_problems(&bad, Kind::Permission);
        assert_eq!(p.len(), 5, "{p:?}");
        assert_eq!(shape_problems(&json!([1]), Kind::Trust).len(), 1);
        assert!(!shape_problems(&json!({"Statement": []}), Kind::Trust).is_empty());
        let trust_with_resource = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]});
        assert_eq!(shape_problems(&trust_with_resource, Kind::Trust).len(), 1);
    }
}
