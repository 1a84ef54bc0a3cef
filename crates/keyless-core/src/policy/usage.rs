//! What a principal (a role's sessions or an IAM user) actually did, from the records AWS keeps:
//! CloudTrail events (event history's management events, or a trail's files with data events)
//! and IAM's last-accessed data. Events are mapped to the IAM action that authorised them
//! through AWS's Service Authorization Reference ([`crate::policy::actions`]); an event that maps
//! to no action AWS lists is counted as unmapped, never guessed. Resources are kept where the
//! event names them and they fit one of the action's ARN formats.
//!
//! [`Usage::status`] says, for a granted action, whether it was used, provably unused in the
//! window, or beyond what the data can show (and why). Pure: the records come in as values; this
//! module reads no clock, file or network.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::policy::actions::table;

/// One CloudTrail record, reduced to what the usage engine reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Seconds since the epoch.
    pub time: i64,
    /// `eventSource` (`s3.amazonaws.com`).
    pub source: String,
    /// `eventName` (`PutObject`).
    pub name: String,
    /// `awsRegion`.
    pub region: String,
    /// For a role session: the role's ARN (`sessionContext.sessionIssuer.arn`).
    pub issuer: Option<String>,
    /// For an IAM user: the user's ARN.
    pub user: Option<String>,
    /// The access key the call was signed with.
    pub access_key: Option<String>,
    /// ARNs the record names (`resources[].ARN`, and S3's bucket and key).
    pub resources: Vec<String>,
    /// `errorCode`, when the call failed.
    pub error: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// A data event (`managementEvent: false`), which only a trail records.
    pub data_event: bool,
}

fn parse_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp())
}

impl Event {
    /// Read one CloudTrail record (`CloudTrailEvent` of LookupEvents, or one of a trail file's
    /// `Records`). `None` when it lacks the source, name or time.
    pub fn from_record(r: &Value, partition: &str) -> Option<Event> {
        let s = |v: &Value| v.as_str().map(String::from);
        let id = &r["userIdentity"];
        let (issuer, user) = match id["type"].as_str() {
            Some("AssumedRole") => (s(&id["sessionContext"]["sessionIssuer"]["arn"]), None),
            Some("IAMUser") => (None, s(&id["arn"])),
            _ => (None, None),
        };
        let mut resources: Vec<String> = r["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["ARN"].as_str().or(x["arn"].as_str()).map(String::from))
            .collect();
        let source = s(&r["eventSource"])?;
        if source == "s3.amazonaws.com"
            && let Some(bucket) = r["requestParameters"]["bucketName"].as_str()
        {
            resources.push(format!("arn:{partition}:s3:::{bucket}"));
            if let Some(key) = r["requestParameters"]["key"].as_str() {
                resources.push(format!("arn:{partition}:s3:::{bucket}/{key}"));
            }
        }
        resources.sort();
        resources.dedup();
        Some(Event {
            time: parse_time(r["eventTime"].as_str()?)?,
            source,
            name: s(&r["eventName"])?,
            region: s(&r["awsRegion"]).unwrap_or_default(),
            issuer,
            user,
            access_key: s(&id["accessKeyId"]),
            resources,
            error: s(&r["errorCode"]),
            user_agent: s(&r["userAgent"]),
            source_ip: s(&r["sourceIPAddress"]),
            data_event: r["managementEvent"].as_bool() == Some(false)
                || r["eventCategory"].as_str() == Some("Data"),
        })
    }

    /// The principal the call belongs to: the role (for its sessions) or the IAM user.
    pub fn principal(&self) -> Option<&str> {
        self.issuer.as_deref().or(self.user.as_deref())
    }

    /// Whether the call was refused (it proves an attempt, not a permission in use).
    pub fn denied(&self) -> bool {
        self.error.as_deref().is_some_and(|e| {
            let e = e.to_ascii_lowercase();
            e.contains("accessdenied") || e.contains("unauthorized")
        })
    }
}

/// A trail file's records (`{"Records": [...]}`), skipping records that cannot be read.
pub fn trail_records(file: &Value, partition: &str) -> Vec<Event> {
    file["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Event::from_record(r, partition))
        .collect()
}

/// What authorised an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// This IAM action (`s3:ListBucket`), as AWS's reference spells it.
    Action(String),
    /// A call that needs no permission (`sts:GetCallerIdentity`).
    NoPermission,
    /// No action AWS lists matches it.
    Unmapped,
}

/// Event sources whose service prefix differs from the host name.
const SOURCES: &[(&str, &str)] = &[
    ("monitoring", "cloudwatch"),
    ("email", "ses"),
    ("tagging", "tag"),
    ("elasticloadbalancing", "elasticloadbalancing"),
];

/// Event names authorised by an action of another name (source prefix, event, action).
const RENAMED: &[(&str, &str, &str)] = &[
    ("s3", "ListObjects", "ListBucket"),
    ("s3", "ListObjectsV2", "ListBucket"),
    ("s3", "HeadBucket", "ListBucket"),
    ("s3", "ListObjectVersions", "ListBucketVersions"),
    ("s3", "HeadObject", "GetObject"),
    ("s3", "CopyObject", "PutObject"),
    ("s3", "CreateMultipartUpload", "PutObject"),
    ("s3", "UploadPart", "PutObject"),
    ("s3", "UploadPartCopy", "PutObject"),
    ("s3", "CompleteMultipartUpload", "PutObject"),
    ("s3", "DeleteObjects", "DeleteObject"),
    ("s3", "ListMultipartUploads", "ListBucketMultipartUploads"),
    ("s3", "ListParts", "ListMultipartUploadParts"),
    ("s3", "ListBuckets", "ListAllMyBuckets"),
    ("ecr", "InitiateLayerUpload", "InitiateLayerUpload"),
];

/// Calls that need no IAM permission.
const FREE: &[(&str, &str)] = &[("sts", "GetCallerIdentity")];

/// Map an event to the IAM action that authorised it, checked against AWS's reference.
pub fn map_event(source: &str, name: &str) -> Mapping {
    let host = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    let prefix = SOURCES
        .iter()
        .find(|(h, _)| *h == host)
        .map(|(_, p)| *p)
        .unwrap_or(host);
    if FREE.iter().any(|(p, n)| *p == prefix && *n == name) {
        return Mapping::NoPermission;
    }
    let renamed = RENAMED
        .iter()
        .find(|(p, e, _)| *p == prefix && *e == name)
        .map(|(_, _, a)| *a);
    // Lambda logs API versions into event names: `UpdateFunctionCode20150331v2`.
    let trimmed = strip_version(name);
    let Some(service) = table().service(prefix) else {
        return Mapping::Unmapped;
    };
    for candidate in [renamed, Some(name), Some(trimmed)].into_iter().flatten() {
        if let Some(a) = service.actions.get(&candidate.to_ascii_lowercase()) {
            return Mapping::Action(format!("{}:{}", service.prefix, a.name));
        }
    }
    Mapping::Unmapped
}

fn strip_version(name: &str) -> &str {
    let bytes = name.as_bytes();
    let mut end = name.len();
    // `v2`-style suffix after the date.
    if let Some(v) = name.rfind('v')
        && v + 1 < name.len()
        && bytes[v + 1..].iter().all(u8::is_ascii_digit)
    {
        end = v;
    }
    let digits = bytes[..end]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 8 { &name[..end - 8] } else { name }
}

/// One tracked action of last-accessed data: (action name, last use, Region).
pub type TrackedAction = (String, Option<i64>, Option<String>);

/// IAM's last-accessed answer for one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceAccess {
    /// `s3`.
    pub namespace: String,
    /// When it was last authenticated (seconds since the epoch), if ever in IAM's period.
    pub last: Option<i64>,
    /// Where.
    pub region: Option<String>,
    /// For services IAM tracks action by action: `(action name, last use, region)`.
    pub tracked: Option<Vec<TrackedAction>>,
}

/// Which records were read, over which window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sources {
    /// The window, in days.
    pub window_days: u32,
    /// The moment the window ends (seconds since the epoch).
    pub now: i64,
    /// IAM last-accessed data was read.
    pub last_accessed: bool,
    /// The Regions whose CloudTrail event history was read.
    pub event_history: Vec<String>,
    /// A trail's files were read (with data events).
    pub trail_files: bool,
}

impl Sources {
    /// The window's first moment.
    pub fn start(&self) -> i64 {
        self.now - i64::from(self.window_days) * 86_400
    }
}

/// One action a principal used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionUse {
    /// `s3:PutObject`.
    pub action: String,
    /// Last use (seconds since the epoch).
    pub last: i64,
    /// Calls seen in events (0 when only last-accessed data names it).
    pub calls: u64,
    /// ARNs it acted on, fitted to the action's formats.
    pub resources: BTreeSet<String>,
    /// Regions.
    pub regions: BTreeSet<String>,
    /// Which records show it: `event-history`, `trail`, `last-accessed`.
    pub seen_by: BTreeSet<&'static str>,
}

/// What the records say about one principal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    /// The role or user ARN.
    pub principal: String,
    /// The records read.
    pub sources: Sources,
    /// Used actions by name.
    pub actions: BTreeMap<String, ActionUse>,
    /// Last-accessed data per service namespace.
    pub services: BTreeMap<String, ServiceAccess>,
    /// Events that map to no IAM action (`source event` → count).
    pub unmapped: BTreeMap<String, u64>,
    /// Refused attempts per action (not counted as use).
    pub denied: BTreeMap<String, u64>,
    /// Calls that need no permission, seen.
    pub free: BTreeSet<String>,
}

/// How much later than the last recorded call IAM's last-accessed time may be and still be
/// explained by it (IAM shows activity within about four hours; a day leaves room).
pub const UNEXPLAINED_SLACK: i64 = 86_400;

/// Whether a granted action was used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Used in the window.
    Used {
        /// Last use.
        last: i64,
    },
    /// Not used in the window, and the records would have shown it.
    Unused {
        /// Which record proves it.
        by: &'static str,
    },
    /// The records cannot show whether it was used.
    Unknown {
        /// Why.
        why: &'static str,
    },
}

/// Actions CloudTrail records as data events (never in event history; only a trail that logs
/// data events holds them), by service: S3's object-level calls (and its object listings),
/// Lambda invocations, DynamoDB item and stream reads and writes, SNS publishing, SQS messages,
/// Kinesis records. Other services' calls are management events, which event history holds.
const DATA_EVENTS: &[(&str, &[&str])] = &[
    (
        "s3",
        &[
            "ListBucket",
            "ListBucketVersions",
            "ListBucketMultipartUploads",
            "ListMultipartUploadParts",
        ],
    ),
    (
        "lambda",
        &["InvokeFunction", "InvokeFunctionUrl", "InvokeAsync"],
    ),
    (
        "dynamodb",
        &[
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchGetItem",
            "BatchWriteItem",
            "Query",
            "Scan",
            "ConditionCheckItem",
            "PartiQLSelect",
            "PartiQLInsert",
            "PartiQLUpdate",
            "PartiQLDelete",
            "GetRecords",
            "GetShardIterator",
        ],
    ),
    ("sns", &["Publish"]),
    (
        "sqs",
        &[
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
        ],
    ),
    (
        "kinesis",
        &[
            "PutRecord",
            "PutRecords",
            "GetRecords",
            "GetShardIterator",
            "SubscribeToShard",
        ],
    ),
];

/// Whether CloudTrail records an action as a data event ([`DATA_EVENTS`], and every S3 action
/// whose resource types are objects only).
pub fn is_data_event(action: &str) -> bool {
    let Some((prefix, name)) = action.split_once(':') else {
        return false;
    };
    if DATA_EVENTS
        .iter()
        .any(|(p, names)| *p == prefix && names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    {
        return true;
    }
    if prefix != "s3" {
        return false;
    }
    table()
        .service(prefix)
        .and_then(|s| s.actions.get(&name.to_ascii_lowercase()))
        .is_some_and(|a| {
            !a.resources.is_empty()
                && a.resources
                    .iter()
                    .all(|(t, _)| t == "object" || t == "accesspointobject")
        })
}

fn fitted(action: &str, resources: &[String]) -> BTreeSet<String> {
    let Some((prefix, name)) = action.split_once(':') else {
        return BTreeSet::new();
    };
    let Some(service) = table().service(prefix) else {
        return BTreeSet::new();
    };
    let Some(a) = service.actions.get(&name.to_ascii_lowercase()) else {
        return BTreeSet::new();
    };
    if a.resources.is_empty() {
        return BTreeSet::from(["*".to_string()]);
    }
    resources
        .iter()
        .filter(|r| service.formats(a).any(|(_, f)| arn_fits(r, f)))
        .cloned()
        .collect()
}

/// Whether a concrete ARN is one of ARN format `format`: each `${...}` stands for non-empty
/// text without `/`, except one that ends the format right after a `/` (an object key, a role
/// name with its path), which may hold anything.
pub fn arn_fits(arn: &str, format: &str) -> bool {
    fn go(a: &[u8], f: &[u8], after_slash: bool) -> bool {
        if f.is_empty() {
            return a.is_empty();
        }
        if f.starts_with(b"${") {
            let Some(close) = f.iter().position(|c| *c == b'}') else {
                return false;
            };
            let rest = &f[close + 1..];
            let free = rest.is_empty() && after_slash;
            for n in 1..=a.len() {
                if !free && a[n - 1] == b'/' {
                    break;
                }
                if go(&a[n..], rest, false) {
                    return true;
                }
            }
            return false;
        }
        !a.is_empty() && a[0] == f[0] && go(&a[1..], &f[1..], f[0] == b'/')
    }
    !arn.contains(['*', '?']) && go(arn.as_bytes(), format.as_bytes(), false)
}

/// The entry of `action`, made when new, with `time` as a use (the latest one kept).
fn used_at(actions: &mut BTreeMap<String, ActionUse>, action: String, time: i64) -> &mut ActionUse {
    let entry = actions.entry(action.clone()).or_insert(ActionUse {
        action,
        last: time,
        calls: 0,
        resources: BTreeSet::new(),
        regions: BTreeSet::new(),
        seen_by: BTreeSet::new(),
    });
    entry.last = entry.last.max(time);
    entry
}

impl Usage {
    /// Gather what `events` (already split to this principal or not: others are skipped) and
    /// `services` say about `principal` within `sources`' window. `from_trail` marks events
    /// that came from a trail's files rather than event history.
    pub fn collect(
        principal: &str,
        events: &[(Event, bool)],
        services: &[ServiceAccess],
        sources: Sources,
    ) -> Usage {
        let start = sources.start();
        let mut u = Usage {
            principal: principal.to_string(),
            sources,
            actions: BTreeMap::new(),
            services: BTreeMap::new(),
            unmapped: BTreeMap::new(),
            denied: BTreeMap::new(),
            free: BTreeSet::new(),
        };
        for (e, from_trail) in events {
            if e.principal() != Some(principal) || e.time < start {
                continue;
            }
            let action = match map_event(&e.source, &e.name) {
                Mapping::Action(a) => a,
                Mapping::NoPermission => {
                    u.free.insert(format!("{} {}", e.source, e.name));
                    continue;
                }
                Mapping::Unmapped => {
                    *u.unmapped
                        .entry(format!("{} {}", e.source, e.name))
                        .or_default() += 1;
                    continue;
                }
            };
            if e.denied() {
                *u.denied.entry(action).or_default() += 1;
                continue;
            }
            let fit = fitted(&action, &e.resources);
            let entry = used_at(&mut u.actions, action, e.time);
            entry.calls += 1;
            entry.resources.extend(fit);
            entry.regions.insert(e.region.clone());
            entry.seen_by.insert(if *from_trail {
                "trail"
            } else {
                "event-history"
            });
        }
        for s in services {
            for (name, last, region) in s.tracked.iter().flatten() {
                let Some(last) = last.filter(|t| *t >= start) else {
                    continue;
                };
                let Mapping::Action(action) = map_event(&s.namespace, name) else {
                    continue;
                };
                let entry = used_at(&mut u.actions, action, last);
                entry.regions.extend(region.clone());
                entry.seen_by.insert("last-accessed");
            }
            u.services.insert(s.namespace.clone(), s.clone());
        }
        u
    }

    /// Whether anything at all was used in the window.
    pub fn is_empty(&self) -> bool {
        let start = self.sources.start();
        self.actions.is_empty()
            && !self
                .services
                .values()
                .any(|s| s.last.is_some_and(|t| t >= start))
    }

    /// Whether a granted action (`svc:Name`, AWS's spelling) was used, provably not, or cannot
    /// be told.
    pub fn status(&self, action: &str) -> Status {
        if let Some(used) = self.actions.get(action) {
            return Status::Used { last: used.last };
        }
        let prefix = action.split_once(':').map(|(p, _)| p).unwrap_or(action);
        let start = self.sources.start();
        // IAM saw the service used later than any record names a call of it: some use is
        // unexplained, so nothing of the service can be called unused.
        if let Some(iam_last) = self
            .services
            .get(prefix)
            .and_then(|s| s.last)
            .filter(|t| *t >= start)
        {
            let seen = self
                .actions
                .values()
                .filter(|a| a.action.split_once(':').map(|(p, _)| p) == Some(prefix))
                .map(|a| a.last)
                .max();
            if seen.is_none_or(|t| iam_last > t + UNEXPLAINED_SLACK) {
                return Status::Unknown {
                    why: "IAM's last-accessed data shows a later use of this service than any record names",
                };
            }
        }
        if self.sources.last_accessed {
            match self.services.get(prefix) {
                // IAM lists every service a principal's policies allow; no recent
                // authentication means no action of the service was used.
                Some(s) if s.last.is_none_or(|t| t < start) => {
                    return Status::Unused {
                        by: "last-accessed",
                    };
                }
                // A tracked action IAM lists with no use in the window.
                Some(s)
                    if s.tracked.iter().flatten().any(|(n, t, _)| {
                        action
                            .split_once(':')
                            .is_some_and(|(_, a)| a.eq_ignore_ascii_case(n))
                            && t.is_none_or(|t| t < start)
                    }) =>
                {
                    return Status::Unused {
                        by: "last-accessed",
                    };
                }
                _ => {}
            }
        }
        if is_data_event(action) {
            return if self.sources.trail_files {
                Status::Unused { by: "trail" }
            } else {
                Status::Unknown {
                    why: "S3 object reads and writes are data events: only a trail records them (--cloudtrail DIR)",
                }
            };
        }
        if !self.sources.event_history.is_empty() || self.sources.trail_files {
            return Status::Unused {
                by: "event-history",
            };
        }
        Status::Unknown {
            why: "no record covers this service",
        }
    }
}

/// One action in a granted-vs-used comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `s3:PutObject`.
    pub action: String,
    /// Whether the grant names it (`false`: used, but granted by something keyless did not
    /// read, e.g. a group or an AWS-managed policy).
    pub granted: bool,
    /// Used, unused, or beyond the records.
    #[serde(flatten)]
    pub status: Status,
    /// Calls seen in events.
    pub calls: u64,
    /// Resources it touched.
    pub resources: Vec<String>,
    /// Which records show its use.
    pub seen_by: Vec<&'static str>,
}

/// Granted against used, action by action: every action the `Allow` statements of `granted`
/// name (wildcards expanded through AWS's reference), then every used action they do not.
pub fn compare(granted: &[&Value], usage: &Usage) -> Vec<Row> {
    let names = crate::policy::grant::granted_actions(granted);
    let mut rows: Vec<Row> = names.iter().map(|a| row(a, true, usage)).collect();
    for a in usage.actions.keys() {
        if !names.contains(a) {
            let covered = !crate::policy::grant::resources_for(granted, a).is_empty()
                || crate::policy::grant::broad_entries(granted)
                    .iter()
                    .any(|b| b == "*" || b == "NotAction");
            rows.push(row(a, covered, usage));
        }
    }
    rows
}

fn row(action: &str, granted: bool, usage: &Usage) -> Row {
    let used = usage.actions.get(action);
    Row {
        action: action.to_string(),
        granted,
        status: usage.status(action),
        calls: used.map_or(0, |u| u.calls),
        resources: used
            .map(|u| u.resources.iter().cloned().collect())
            .unwrap_or_default(),
        seen_by: used
            .map(|u| u.seen_by.iter().copied().collect())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_map_to_the_action_that_authorised_them() {
        assert_eq!(
            map_event("s3.amazonaws.com", "ListObjects"),
            Mapping::Action("s3:ListBucket".into())
        );
        assert_eq!(
            map_event("s3.amazonaws.com", "PutObject"),
            Mapping::Action("s3:PutObject".into())
        );
        assert_eq!(
            map_event("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
            Mapping::Action("lambda:UpdateFunctionCode".into())
        );
        assert_eq!(
            map_event("sts.amazonaws.com", "GetCallerIdentity"),
            Mapping::NoPermission
        );
        assert_eq!(
            map_event("s3.amazonaws.com", "NotARealCall"),
            Mapping::Unmapped
        );
        assert_eq!(
            map_event("example.amazonaws.com", "Anything"),
            Mapping::Unmapped
        );
    }

    #[test]
    fn every_renamed_event_maps_to_an_action_aws_lists() {
        for (prefix, event, action) in RENAMED {
            let service = table().service(prefix).expect(prefix);
            assert!(
                service.actions.contains_key(&action.to_ascii_lowercase()),
                "{prefix}:{action} (for {event}) is not in AWS's reference"
            );
        }
        for (_, prefix) in SOURCES {
            assert!(table().service(prefix).is_some(), "{prefix}");
        }
    }

    fn record(name: &str, key: &str) -> Value {
        json!({"eventTime": "2026-12-01T10:00:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "managementEvent": false,
            "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIA1",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/r"}}},
            "requestParameters": {"bucketName": "b", "key": key}})
    }

    #[test]
    fn resources_are_fitted_to_the_actions_formats() {
        let put = Event::from_record(&record("PutObject", "site/a.html"), "aws").unwrap();
        let list = Event::from_record(&record("ListObjects", "site/a.html"), "aws").unwrap();
        let now = put.time + 10;
        let sources = Sources {
            window_days: 90,
            now,
            last_accessed: false,
            event_history: vec![],
            trail_files: true,
        };
        let u = Usage::collect(
            "arn:aws:iam::1:role/r",
            &[(put, true), (list, true)],
            &[],
            sources,
        );
        assert_eq!(
            u.actions["s3:PutObject"].resources,
            BTreeSet::from(["arn:aws:s3:::b/site/a.html".to_string()])
        );
        assert_eq!(
            u.actions["s3:ListBucket"].resources,
            BTreeSet::from(["arn:aws:s3:::b".to_string()])
        );
        assert_eq!(u.status("s3:DeleteObject"), Status::Unused { by: "trail" });
        assert_eq!(
            u.status("s3:ListBucketVersions"),
            Status::Unused { by: "trail" }
        );
    }

    #[test]
    fn without_a_trail_object_writes_are_beyond_the_data() {
        let u = Usage::collect(
            "arn:aws:iam::1:role/r",
            &[],
            &[],
            Sources {
                window_days: 90,
                now: 1_000_000_000,
                last_accessed: false,
                event_history: vec!["us-east-1".into()],
                trail_files: false,
            },
        );
        assert!(matches!(u.status("s3:PutObject"), Status::Unknown { .. }));
        // Object listings are data events too; bucket settings are management events.
        assert!(matches!(u.status("s3:ListBucket"), Status::Unknown { .. }));
        assert!(matches!(
            u.status("dynamodb:GetItem"),
            Status::Unknown { .. }
        ));
        assert_eq!(
            u.status("s3:GetBucketPolicy"),
            Status::Unused {
                by: "event-history"
            }
        );
        assert!(u.is_empty());
    }

    #[test]
    fn a_later_use_iam_saw_than_any_record_names_keeps_the_service_unknown() {
        let now = 1_000_000_000;
        let sources = Sources {
            window_days: 90,
            now,
            last_accessed: true,
            event_history: vec!["us-east-1".into()],
            trail_files: false,
        };
        let iam = ServiceAccess {
            namespace: "ssm".into(),
            last: Some(now - 3600),
            region: Some("us-east-1".into()),
            tracked: None,
        };
        let u = Usage::collect("arn:aws:iam::1:role/r", &[], &[iam], sources);
        assert!(matches!(
            u.status("ssm:GetParameter"),
            Status::Unknown { .. }
        ));
        // Every listed data-event action is an action AWS lists.
        for (prefix, names) in DATA_EVENTS {
            for n in *names {
                assert!(
                    table()
                        .service(prefix)
                        .is_some_and(|s| s.actions.contains_key(&n.to_ascii_lowercase())),
                    "{prefix}:{n} is not in AWS's reference"
                );
            }
        }
    }
}
