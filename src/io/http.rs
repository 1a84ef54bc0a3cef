//! The HTTPS transport for GitHub: one hyper client on rustls with aws-lc (the same TLS stack
//! the AWS SDK uses, so the binary carries one), native roots, a 20 s timeout per request.
//! Used by `token` (the runner's endpoint, discovery, JWKS) and `github` (the REST API).
//!
//! It knows nothing about GitHub's API or tokens: callers pass headers (secrets included) and get
//! status, headers and body back; failures are [`Error::GitHub`] naming the request, never its
//! headers.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::error::{Error, Result};

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Send one request. `what` names it in errors (e.g. `GET https://api.github.com/user`).
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> Result<Response> {
    let what = format!("{method} {url}");
    let fail = |m: String| Error::GitHub {
        what: what.clone(),
        status: None,
        message: m,
        hint: Some("check network access to GitHub (or the runner) and the URL".into()),
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| fail(format!("no TLS root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("user-agent", concat!("keyless/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| fail(format!("bad request: {e}")))?;
    let resp = tokio::time::timeout(std::time::Duration::from_secs(20), client.request(req))
        .await
        .map_err(|_| fail("timed out after 20s".into()))?
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes()
        .to_vec();
    Ok(Response {
        status,
        headers,
        body,
    })
}
