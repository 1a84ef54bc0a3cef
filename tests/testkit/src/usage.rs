//! What AWS records about a principal's use, as the tests write it in: IAM's last-accessed data
//! (`GenerateServiceLastAccessedDetails` / `GetServiceLastAccessedDetails`, which fakecloud
//! answers with no services at all) and CloudTrail event history (`LookupEvents`: fakecloud's
//! CloudTrail crate, 0.51.0, answers it with an empty page whatever happened, since it records
//! no activity). Both are served in AWS's wire shapes (IAM's query XML,
//! CloudTrail's JSON 1.1), and every request is still checked against botocore's models by the
//! counting layer in front.
//!
//! Fidelity kept on purpose: a last-accessed job answers `IN_PROGRESS` on its first polls
//! ([`Usage::set_polls_before_done`]); `LookupEvents` filters on one attribute, answers newest
//! first, 50 events a page at most with a `NextToken`, per Region (the SigV4 scope's Region),
//! and throttles above **2 requests per second per account per Region** (`ThrottlingException`,
//! as AWS documents), unless a test turns the pace off.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::{ACCOUNT_ID, REGION, contract};

/// CloudTrail's JSON target prefix (the Rust SDK sends the short form; botocore the long one,
/// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`).
const TARGET: &str = "CloudTrail_20131101";

/// One service's last-accessed entry for a principal.
#[derive(Debug, Clone)]
pub struct ServiceUse {
    /// The service namespace, e.g. `s3`.
    pub namespace: String,
    /// AWS's display name.
    pub name: String,
    /// Days since the last authenticated use (`None`: never).
    pub days_ago: Option<u32>,
    /// The Region of the last use.
    pub region: String,
    /// Tracked actions: `(action name, days ago, region)`.
    pub actions: Vec<(String, u32, String)>,
}

impl ServiceUse {
    /// A service used `days_ago` days ago in the kit's Region.
    pub fn used(namespace: &str, days_ago: u32) -> ServiceUse {
        ServiceUse {
            namespace: namespace.into(),
            name: format!("Amazon {}", namespace.to_uppercase()),
            days_ago: Some(days_ago),
            region: REGION.into(),
            actions: vec![],
        }
    }

    /// A service the principal may use but never did.
    pub fn unused(namespace: &str) -> ServiceUse {
        ServiceUse {
            days_ago: None,
            ..ServiceUse::used(namespace, 0)
        }
    }

    /// Used in `region`.
    pub fn in_region(mut self, region: &str) -> ServiceUse {
        self.region = region.into();
        self
    }

    /// A tracked action (`PutObject`) last used `days_ago` days ago.
    pub fn action(mut self, name: &str, days_ago: u32) -> ServiceUse {
        let region = self.region.clone();
        self.actions.push((name.into(), days_ago, region));
        self
    }
}

/// One CloudTrail management event, as a test writes it in.
#[derive(Debug, Clone)]
pub struct TrailEvent {
    /// `s3.amazonaws.com`
    pub source: String,
    /// `PutObject`
    pub name: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Where it happened.
    pub region: String,
    /// `userIdentity`.
    pub identity: Value,
    /// `AccessKeyId` (also in `userIdentity`).
    pub access_key: String,
    /// `Username` as event history reports it.
    pub username: String,
    /// `(type, name)` as `Resources` lists them.
    pub resources: Vec<(String, String)>,
    /// `requestParameters`.
    pub request: Value,
    /// `errorCode`, for a failed or denied call.
    pub error: Option<String>,
    /// `userAgent`.
    pub user_agent: String,
    /// `sourceIPAddress`.
    pub source_ip: String,
    /// Whether the event is read-only.
    pub read_only: bool,
    /// A data event (S3 object level), which only a trail records.
    pub data: bool,
}

impl TrailEvent {
    /// A call made by a session of role `role` (`arn:aws:iam::ACCOUNT:role/NAME`).
    pub fn by_role(role_arn: &str, source: &str, name: &str) -> TrailEvent {
        let role = role_arn.rsplit('/').next().unwrap_or_default();
        let account = role_arn.split(':').nth(4).unwrap_or(ACCOUNT_ID);
        TrailEvent {
            source: source.into(),
            name: name.into(),
            time: now() - 3600,
            region: REGION.into(),
            identity: json!({
                "type": "AssumedRole",
                "principalId": format!("AROAKIT:GitHubActions"),
                "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/GitHubActions"),
                "accountId": account,
                "accessKeyId": "ASIAKITSESSION000001",
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": "AROAKIT", "arn": role_arn,
                                      "accountId": account, "userName": role},
                    "attributes": {"creationDate": "2026-01-01T00:00:00Z", "mfaAuthenticated": "false"}
                }
            }),
            access_key: "ASIAKITSESSION000001".into(),
            username: "GitHubActions".into(),
            resources: vec![],
            request: json!({}),
            error: None,
            user_agent: "aws-cli/2.22.0".into(),
            source_ip: "192.0.2.10".into(),
            read_only: name.starts_with("Get")
                || name.starts_with("List")
                || name.starts_with("Describe"),
            data: false,
        }
    }

    /// A call made with IAM user `user`'s access key `key`.
    pub fn by_user(user: &str, key: &str, source: &str, name: &str) -> TrailEvent {
        let mut e = TrailEvent::by_role(&format!("arn:aws:iam::{ACCOUNT_ID}:role/x"), source, name);
        e.identity = json!({
            "type": "IAMUser",
            "principalId": "AIDAKITUSER",
            "arn": format!("arn:aws:iam::{ACCOUNT_ID}:user/{user}"),
            "accountId": ACCOUNT_ID,
            "accessKeyId": key,
            "userName": user,
        });
        e.access_key = key.into();
        e.username = user.into();
        e
    }

    /// Happened `days` days ago.
    pub fn days_ago(mut self, days: u32) -> TrailEvent {
        self.time = now() - i64::from(days) * 86_400 - 60;
        self
    }

    /// Happened `secs` seconds after another moment (for ordering many events).
    pub fn at(mut self, time: i64) -> TrailEvent {
        self.time = time;
        self
    }

    /// In `region`.
    pub fn in_region(mut self, region: &str) -> TrailEvent {
        self.region = region.into();
        self
    }

    /// Names a resource (`AWS::S3::Bucket`, `my-bucket`).
    pub fn resource(mut self, kind: &str, name: &str) -> TrailEvent {
        self.resources.push((kind.into(), name.into()));
        self
    }

    /// With these request parameters.
    pub fn request(mut self, request: Value) -> TrailEvent {
        self.request = request;
        self
    }

    /// A data event (as a trail's files hold S3 object reads and writes).
    pub fn data_event(mut self) -> TrailEvent {
        self.data = true;
        self
    }

    /// Made from `ip` with user agent `agent`.
    pub fn from(mut self, ip: &str, agent: &str) -> TrailEvent {
        self.source_ip = ip.into();
        self.user_agent = agent.into();
        self
    }

    /// Failed with `code` (`AccessDenied`).
    pub fn failed(mut self, code: &str) -> TrailEvent {
        self.error = Some(code.into());
        self
    }

    /// The `CloudTrailEvent` record.
    pub fn record(&self, id: &str) -> Value {
        let mut r = json!({
            "eventVersion": "1.09",
            "userIdentity": self.identity,
            "eventTime": rfc3339(self.time),
            "eventSource": self.source,
            "eventName": self.name,
            "awsRegion": self.region,
            "sourceIPAddress": self.source_ip,
            "userAgent": self.user_agent,
            "requestParameters": self.request,
            "responseElements": null,
            "eventID": id,
            "readOnly": self.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": !self.data,
            "recipientAccountId": ACCOUNT_ID,
            "eventCategory": if self.data { "Data" } else { "Management" },
            "resources": self.resources.iter().map(|(t, n)| json!({"type": t, "ARN": n})).collect::<Vec<_>>(),
        });
        if let Some(code) = &self.error {
            r["errorCode"] = json!(code);
            r["errorMessage"] = json!("denied (written by the keyless test kit)");
        }
        r
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A trail's log file (`{"Records": [...]}`), gzip-compressed, as a trail delivers it.
pub fn trail_file(events: &[TrailEvent]) -> Vec<u8> {
    use std::io::Write;
    let records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, e)| e.record(&format!("kit-trail-{i:06}")))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(json!({ "Records": records }).to_string().as_bytes());
    gz.finish().unwrap_or_default()
}

/// The kit's usage records, shared with the serving layer.
#[derive(Default)]
pub struct Usage {
    services: Mutex<BTreeMap<String, Vec<ServiceUse>>>,
    events: Mutex<Vec<TrailEvent>>,
    jobs: Mutex<BTreeMap<String, (String, u32)>>,
    polls_before_done: Mutex<u32>,
    paced: Mutex<BTreeMap<String, Vec<Instant>>>,
    pace_off: Mutex<bool>,
    throttled: Mutex<u64>,
}

/// Shared handle.
pub type Shared = Arc<Usage>;

impl Usage {
    /// Empty records; a job answers `IN_PROGRESS` once before it completes.
    pub fn new() -> Usage {
        Usage {
            polls_before_done: Mutex::new(1),
            ..Usage::default()
        }
    }

    /// Last-accessed data for principal `arn`.
    pub fn set_services(&self, arn: &str, services: Vec<ServiceUse>) {
        self.services.lock().insert(arn.to_string(), services);
    }

    /// Add CloudTrail events.
    pub fn add_events(&self, events: impl IntoIterator<Item = TrailEvent>) {
        self.events.lock().extend(events);
    }

    /// How many polls of a job answer `IN_PROGRESS` before it completes (default 1).
    pub fn set_polls_before_done(&self, n: u32) {
        *self.polls_before_done.lock() = n;
    }

    /// Turn CloudTrail's 2-requests-per-second pace off (`false`) or back on.
    pub fn set_pace(&self, on: bool) {
        *self.pace_off.lock() = !on;
    }

    /// Synthetic records for a benchmark: `roles` roles named `{prefix}{i:03}` (i from 1), each
    /// with last-accessed data (S3 used a day ago in each of `regions`), and `events` management
    /// events spread evenly over the last `days` days, across the roles and Regions.
    pub fn synthetic(
        &self,
        prefix: &str,
        roles: usize,
        events: usize,
        days: u32,
        regions: &[String],
    ) {
        let arn = |i: usize| format!("arn:aws:iam::{ACCOUNT_ID}:role/{prefix}{i:03}");
        for i in 1..=roles {
            let services = regions
                .iter()
                .map(|r| ServiceUse::used("s3", 1).in_region(r))
                .collect();
            self.set_services(&arn(i), services);
        }
        let span = i64::from(days) * 86_400;
        let now = now();
        let roles = roles.max(1);
        self.add_events((0..events).map(|k| {
            let i = k % roles + 1;
            let region = &regions[k % regions.len().max(1)];
            TrailEvent::by_role(&arn(i), "s3.amazonaws.com", "GetBucketLocation")
                .request(json!({"bucketName": format!("octo-org-app-{i:03}")}))
                .at(now - 3600 - (span - 7200) * k as i64 / events.max(1) as i64)
                .in_region(region)
        }));
    }

    /// How many LookupEvents requests were throttled.
    pub fn throttled(&self) -> u64 {
        *self.throttled.lock()
    }
}

/// Serve last-accessed jobs and CloudTrail's LookupEvents; pass everything else on.
pub async fn serve(State(usage): State<Shared>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_kit/") {
        return next.run(req).await;
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let region = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split('/').nth(2))
        .unwrap_or(REGION)
        .to_string();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if let Some(op) = target
        .as_deref()
        .and_then(|t| t.rsplit_once('.'))
        .filter(|(p, _)| p.ends_with(TARGET))
        .map(|(_, op)| op)
    {
        return cloudtrail(&usage, op, &region, &bytes);
    }
    let params = contract::form(&bytes, parts.uri.query());
    match params.get("Action").map(String::as_str) {
        Some("GenerateServiceLastAccessedDetails") => {
            let arn = params.get("Arn").cloned().unwrap_or_default();
            let id = job_id();
            let polls = *usage.polls_before_done.lock();
            usage.jobs.lock().insert(id.clone(), (arn, polls));
            xml(
                "GenerateServiceLastAccessedDetails",
                &format!("<JobId>{id}</JobId>"),
            )
        }
        Some("GetServiceLastAccessedDetails") => {
            let id = params.get("JobId").cloned().unwrap_or_default();
            let mut jobs = usage.jobs.lock();
            let Some((arn, left)) = jobs.get_mut(&id) else {
                return iam_error(404, "NoSuchEntity", &format!("Job {id} not found"));
            };
            let created = rfc3339(now());
            if *left > 0 {
                *left -= 1;
                return xml(
                    "GetServiceLastAccessedDetails",
                    &format!(
                        "<JobStatus>IN_PROGRESS</JobStatus><JobType>ACTION_LEVEL</JobType><JobCreationDate>{created}</JobCreationDate><ServicesLastAccessed/><JobCompletionDate>{created}</JobCompletionDate><IsTruncated>false</IsTruncated>"
                    ),
                );
            }
            let services = usage.services.lock().get(arn.as_str()).cloned();
            let mut members = String::new();
            for s in services.unwrap_or_default() {
                members.push_str("<member>");
                members.push_str(&format!(
                    "<ServiceName>{}</ServiceName><ServiceNamespace>{}</ServiceNamespace>",
                    s.name, s.namespace
                ));
                if let Some(d) = s.days_ago {
                    members.push_str(&format!(
                        "<LastAuthenticated>{}</LastAuthenticated><LastAuthenticatedEntity>{arn}</LastAuthenticatedEntity><LastAuthenticatedRegion>{}</LastAuthenticatedRegion><TotalAuthenticatedEntities>1</TotalAuthenticatedEntities>",
                        rfc3339(now() - i64::from(d) * 86_400 - 60),
                        s.region
                    ));
                } else {
                    members.push_str("<TotalAuthenticatedEntities>0</TotalAuthenticatedEntities>");
                }
                if !s.actions.is_empty() {
                    members.push_str("<TrackedActionsLastAccessed>");
                    for (a, d, r) in &s.actions {
                        members.push_str(&format!(
                            "<member><ActionName>{a}</ActionName><LastAccessedEntity>{arn}</LastAccessedEntity><LastAccessedTime>{}</LastAccessedTime><LastAccessedRegion>{r}</LastAccessedRegion></member>",
                            rfc3339(now() - i64::from(*d) * 86_400 - 60)
                        ));
                    }
                    members.push_str("</TrackedActionsLastAccessed>");
                }
                members.push_str("</member>");
            }
            xml(
                "GetServiceLastAccessedDetails",
                &format!(
                    "<JobStatus>COMPLETED</JobStatus><JobType>ACTION_LEVEL</JobType><JobCreationDate>{created}</JobCreationDate><ServicesLastAccessed>{members}</ServicesLastAccessed><JobCompletionDate>{created}</JobCompletionDate><IsTruncated>false</IsTruncated>"
                ),
            )
        }
        _ => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

fn job_id() -> String {
    let n = fastish();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32,
        (n >> 16) as u16,
        n as u16 & 0xfff,
        (n >> 8) as u16 & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

fn fastish() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0x5eed_0000_0000_0001);
    let n = N.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    n ^ (now() as u64).rotate_left(17)
}

fn xml(action: &str, inner: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>kit-usage</RequestId></ResponseMetadata></{action}Response>"
    );
    Response::builder()
        .status(200)
        .header("content-type", "text/xml")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn iam_error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>kit-usage</RequestId></ErrorResponse>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn json_error(status: u16, kind: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(
            json!({"__type": kind, "message": message}).to_string(),
        ))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn cloudtrail(usage: &Usage, op: &str, region: &str, body: &[u8]) -> Response {
    if op != "LookupEvents" {
        return json_error(
            400,
            "UnsupportedOperationException",
            &format!("the keyless test kit serves only LookupEvents, not {op}"),
        );
    }
    // 2 requests per second per account per Region.
    if !*usage.pace_off.lock() {
        let mut paced = usage.paced.lock();
        let seen = paced.entry(region.to_string()).or_default();
        let now = Instant::now();
        seen.retain(|t| now.duration_since(*t) < Duration::from_secs(1));
        if seen.len() >= 2 {
            *usage.throttled.lock() += 1;
            return json_error(400, "ThrottlingException", "Rate exceeded");
        }
        seen.push(now);
    }
    let req: Value = serde_json::from_slice(body).unwrap_or_else(|_| json!({}));
    let attr = req["LookupAttributes"]
        .as_array()
        .and_then(|a| a.first())
        .map(|a| {
            (
                a["AttributeKey"].as_str().unwrap_or_default().to_string(),
                a["AttributeValue"].as_str().unwrap_or_default().to_string(),
            )
        });
    if req["LookupAttributes"]
        .as_array()
        .is_some_and(|a| a.len() > 1)
    {
        return json_error(
            400,
            "InvalidLookupAttributesException",
            "only one lookup attribute is allowed",
        );
    }
    let start = req["StartTime"].as_f64().map(|t| t as i64);
    let end = req["EndTime"].as_f64().map(|t| t as i64);
    let max = req["MaxResults"].as_u64().unwrap_or(50).min(50) as usize;
    let skip: usize = req["NextToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("kit-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let events = usage.events.lock();
    let mut matching: Vec<(usize, &TrailEvent)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.region == region)
        .filter(|(_, e)| start.is_none_or(|s| e.time >= s) && end.is_none_or(|s| e.time <= s))
        .filter(|(_, e)| match &attr {
            None => true,
            Some((k, v)) => match k.as_str() {
                "AccessKeyId" => &e.access_key == v,
                "Username" => &e.username == v,
                "EventName" => &e.name == v,
                "EventSource" => &e.source == v,
                "ReadOnly" => e.read_only.to_string() == *v,
                "ResourceName" => e.resources.iter().any(|(_, n)| n == v),
                "ResourceType" => e.resources.iter().any(|(t, _)| t == v),
                _ => false,
            },
        })
        .collect();
    // Newest first, as event history answers.
    matching.sort_by_key(|(i, e)| (std::cmp::Reverse(e.time), std::cmp::Reverse(*i)));
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(max)
        .map(|(i, e)| {
            let id = format!("kit-event-{i:06}");
            json!({
                "EventId": id,
                "EventName": e.name,
                "ReadOnly": e.read_only.to_string(),
                "AccessKeyId": e.access_key,
                "EventTime": e.time,
                "EventSource": e.source,
                "Username": e.username,
                "Resources": e.resources.iter().map(|(t, n)| json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
                "CloudTrailEvent": e.record(&id).to_string(),
            })
        })
        .collect();
    let mut out = json!({ "Events": page });
    if skip + max < matching.len() {
        out["NextToken"] = json!(format!("kit-{}", skip + max));
    }
    Response::builder()
        .status(200)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(out.to_string()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
