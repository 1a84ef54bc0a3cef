//! CloudTrail event history (`LookupEvents`): management events of the last 90 days, read one
//! Region at a time, paced to AWS's documented 2 requests per second per account per Region,
//! retrying a throttled page with a growing pause. The Regions are read at once (each has its
//! own allowance). Hands back each event's CloudTrail record as JSON; which principal it belongs
//! to and what it means are the usage engine's business ([`crate::policy::usage`]).

use std::time::Duration;

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::io::aws::{Aws, sdk_error};

/// The pause between two requests in one Region: 2 per second, with a margin of 60 ms, so
/// that requests delayed differently on their way (a busy runner, a slow hop) still arrive no
/// more than two in any second.
pub const PACE: Duration = Duration::from_millis(560);

/// How often a throttled page is asked for again before giving up.
const THROTTLE_ATTEMPTS: u32 = 8;

/// What to look up in one Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The Region.
    pub region: String,
    /// First moment (seconds since the epoch).
    pub start: i64,
    /// Last moment.
    pub end: i64,
    /// One lookup attribute: `("Username", "deploy")`, `("AccessKeyId", "AKIA…")`; `None`
    /// reads every management event (one stream, split by principal afterwards).
    pub attribute: Option<(String, String)>,
    /// Stop after this many events (the answer says it stopped).
    pub max_events: usize,
}

/// What one lookup read.
#[derive(Debug, Clone, Default)]
pub struct Looked {
    /// Each event's CloudTrail record.
    pub records: Vec<Value>,
    /// Requests made (pages, retries included).
    pub requests: u64,
    /// Requests answered with throttling (and asked again).
    pub throttled: u64,
    /// Whether it stopped at `max_events` with more to read.
    pub truncated: bool,
}

impl Aws {
    /// Read one Region's event history, page by page at [`PACE`]; `on_page` hears the number of
    /// events read so far.
    pub async fn lookup_events(
        &self,
        l: &Lookup,
        on_page: &(dyn Fn(&str, usize) + Sync),
    ) -> Result<Looked> {
        let conf = self
            .cloudtrail
            .to_builder()
            .region(aws_config::Region::new(l.region.clone()))
            .build();
        let client = aws_sdk_cloudtrail::Client::from_conf(conf);
        let mut out = Looked::default();
        let mut token: Option<String> = None;
        let mut last_sent: Option<tokio::time::Instant> = None;
        loop {
            let mut attempt = 0;
            let page = loop {
                if let Some(t) = last_sent {
                    tokio::time::sleep_until(t + PACE).await;
                }
                last_sent = Some(tokio::time::Instant::now());
                let mut req = client
                    .lookup_events()
                    .start_time(DateTime::from_secs(l.start))
                    .end_time(DateTime::from_secs(l.end))
                    .max_results(50)
                    .set_next_token(token.clone());
                if let Some((k, v)) = &l.attribute {
                    req = req.lookup_attributes(
                        LookupAttribute::builder()
                            .attribute_key(LookupAttributeKey::from(k.as_str()))
                            .attribute_value(v)
                            .build()
                            .map_err(|e| Error::Aws {
                                op: "cloudtrail:LookupEvents".into(),
                                code: "InvalidInput".into(),
                                message: e.to_string(),
                                hint: None,
                            })?,
                    );
                }
                out.requests += 1;
                match req.send().await {
                    Ok(p) => break p,
                    Err(e)
                        if e.code().is_some_and(|c| c.contains("Throttl"))
                            && attempt + 1 < THROTTLE_ATTEMPTS =>
                    {
                        out.throttled += 1;
                        attempt += 1;
                        // Back off beyond the pace: 0.5 s, 1 s, 2 s, ... with jitter.
                        let wait = PACE * 2u32.pow(attempt.min(5)) / 2
                            + Duration::from_millis(fastrand::u64(0..250));
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => return Err(sdk_error("cloudtrail:LookupEvents", e)),
                }
            };
            for e in page.events() {
                if let Some(r) = e
                    .cloud_trail_event()
                    .and_then(|t| serde_json::from_str(t).ok())
                {
                    out.records.push(r);
                }
            }
            on_page(&l.region, out.records.len());
            token = page.next_token().map(String::from);
            if token.is_none() {
                break;
            }
            if out.records.len() >= l.max_events {
                out.truncated = true;
                break;
            }
        }
        Ok(out)
    }
}
