//! The HTTPS transport for GitHub: one hyper client on rustls with aws-lc (the same TLS stack
//! the AWS SDK uses, so the binary carries one), native roots, a 20 s timeout per request.
//! Used by `token` (the runner's endpoint, discovery, JWKS) and `github` (the REST API).
//!
//! Corporate networks are read the way the AWS SDK reads them, so both halves of keyless take
//! the same road: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (and the lower-case forms,
//! through hyper-util's matcher, curl's rules) choose a proxy, reached with `CONNECT` (also for
//! `http://` targets); the roots are the system's, which honour `SSL_CERT_FILE`/`SSL_CERT_DIR`
//! for a private CA.
//!
//! It knows nothing about GitHub's API or tokens: callers pass headers (secrets included) and get
//! status, headers and body back; failures are [`Error::GitHub`] naming the request, never its
//! headers.

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};

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

/// `url` with any credentials in it (`https://user:secret@host/…`) replaced by `***`: the form
/// of a URL keyless prints, in errors and at any verbosity.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => url.to_string(),
    }
}

/// Send one request. `what` names it in errors (e.g. `GET https://api.github.com/user`).
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> Result<Response> {
    let what = format!("{method} {}", redacted(url));
    proxies_from_env()?;
    let fail = |m: String| Error::GitHub {
        what: what.clone(),
        status: None,
        message: m,
        hint: Some(
            "check network access to GitHub (or the runner) and the URL; behind a proxy, \
             set HTTPS_PROXY (and NO_PROXY), and SSL_CERT_FILE for a private CA"
                .into(),
        ),
    };
    let uri: hyper::Uri = url.parse().map_err(|e| fail(format!("not a URL: {e}")))?;
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(uri.clone())
        .header("user-agent", concat!("keyless/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| fail(format!("bad request: {e}")))?;
    let tls = || {
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| fail(format!("no TLS root certificates: {e}")))
            .map(|b| b.https_or_http().enable_http1())
    };
    let sent = match proxy_for(&uri) {
        None => request(tls()?.build(), req).await,
        Some(proxy) => {
            let tunnel = tunnel(&proxy).map_err(fail)?;
            request(tls()?.wrap_connector(tunnel), req).await
        }
    };
    let resp = sent.map_err(fail)?;
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

/// The proxy variables keyless (and the AWS SDK) read.
const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The proxies the environment sets, as (variable, URL with credentials redacted); an error
/// naming the variable when one is not a proxy URL (`http://HOST:PORT`), which the matchers
/// would otherwise ignore without a word.
pub fn proxies_from_env() -> Result<Vec<(String, String)>> {
    proxies_in(|k| std::env::var(k).ok())
}

/// [`proxies_from_env`] over any environment.
pub fn proxies_in(env: impl Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for var in PROXY_VARS {
        let Some(value) = env(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let parsed = value.trim().parse::<hyper::Uri>();
        let ok = parsed.as_ref().is_ok_and(|u| {
            matches!(
                u.scheme_str(),
                Some("http" | "https" | "socks5" | "socks5h")
            ) && u.host().is_some_and(|h| !h.is_empty())
        });
        if !ok {
            return Err(Error::Environment {
                var: var.to_string(),
                message: format!(
                    "{:?} is not a proxy URL, and would be ignored",
                    redacted(&value)
                ),
                fix: format!(
                    "set {var} to http://HOST:PORT (with user:password@ if the proxy asks), or unset it"
                ),
            });
        }
        out.push((var.to_string(), redacted(value.trim())));
    }
    Ok(out)
}

/// The proxy for `uri` from the environment (read once per process), if any.
fn proxy_for(uri: &hyper::Uri) -> Option<Intercept> {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(Matcher::from_env).intercept(uri)
}

/// A `CONNECT` tunnel through `proxy`, with its credentials when the variable carries some.
fn tunnel(proxy: &Intercept) -> std::result::Result<Tunnel<HttpConnector>, String> {
    if proxy.uri().scheme_str() != Some("http") {
        // Never the URI itself: it may carry a password.
        return Err(format!(
            "the proxy from HTTPS_PROXY/HTTP_PROXY must be an http:// URL (a TLS connection to \
             the proxy itself is not supported); got a {}:// URL",
            proxy.uri().scheme_str().unwrap_or("schemeless")
        ));
    }
    let t = Tunnel::new(proxy.uri().clone(), HttpConnector::new());
    Ok(match proxy.basic_auth() {
        Some(auth) => t.with_auth(auth.clone()),
        None => t,
    })
}

/// Send `req` over `connector` within the timeout; the answer, or the failure with its causes.
async fn request<C>(
    connector: C,
    req: hyper::Request<Full<Bytes>>,
) -> std::result::Result<hyper::Response<hyper::body::Incoming>, String>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let client: hyper_util::client::legacy::Client<C, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    match tokio::time::timeout(std::time::Duration::from_secs(20), client.request(req)).await {
        Err(_) => Err("timed out after 20s".into()),
        Ok(Err(e)) => Err(with_causes(&e)),
        Ok(Ok(resp)) => Ok(resp),
    }
}

/// An error and its sources on one line ("client error (Connect): tunnel error: ..."): hyper's
/// own `Display` says only which stage failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_proxy_variable_is_refused_and_a_good_one_redacted() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let ok = proxies_in(env(&[("HTTPS_PROXY", "http://u:pw@proxy.corp:3128")])).unwrap();
        assert_eq!(
            ok,
            [(
                "HTTPS_PROXY".to_string(),
                "http://***@proxy.corp:3128".to_string()
            )]
        );
        for bad in [
            "proxy.corp:3128",
            "not a url",
            "ftp://proxy.corp:21",
            "http://",
        ] {
            let e = proxies_in(move |k: &str| (k == "HTTPS_PROXY").then(|| bad.to_string()))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("HTTPS_PROXY:") && e.contains("fix:"),
                "{bad}: {e}"
            );
        }
        assert!(proxies_in(env(&[("HTTPS_PROXY", "")])).unwrap().is_empty());
    }

    #[test]
    fn credentials_in_a_url_are_never_printed() {
        assert_eq!(
            redacted("http://user:secret@gh.example.com:8443/api/v3?x=1"),
            "http://***@gh.example.com:8443/api/v3?x=1"
        );
        assert_eq!(
            redacted("https://api.github.com/repos/o/r"),
            "https://api.github.com/repos/o/r"
        );
        assert_eq!(redacted("https://a@b@host/p@q"), "https://***@host/p@q");
    }
}
