//! GitHub OIDC tokens: where to get one, what it claims, and whether its signature holds.
//!
//! Sources, in order: the Actions runner's ID-token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` +
//! bearer `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `&audience=`), `--token-file`, `--token-env VAR`,
//! `AWS_WEB_IDENTITY_TOKEN_FILE`. The raw token and the runner's request token are secrets: they
//! never appear in `Debug`, `Display`, errors or output. This module does HTTP to GitHub (or the
//! runner) only; it knows nothing about AWS.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Where a token comes from.
#[derive(Clone)]
pub enum Source {
    /// The Actions runner's ID-token endpoint.
    Runner {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`
        url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (secret)
        request_token: String,
        /// The audience to ask for.
        audience: String,
    },
    /// A file holding the raw token.
    File(PathBuf),
    /// An environment variable holding the raw token.
    Env(String),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Source {
    /// A description safe to print.
    pub fn describe(&self) -> String {
        match self {
            Source::Runner { audience, .. } => {
                format!("the Actions runner's ID-token endpoint (audience {audience})")
            }
            Source::File(p) => format!("file {}", p.display()),
            Source::Env(v) => format!("environment variable {v}"),
        }
    }

    /// Pick the first available source: the runner endpoint, then `--token-file`, `--token-env`,
    /// then `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub fn discover(
        token_file: Option<PathBuf>,
        token_env: Option<String>,
        audience: &str,
    ) -> Result<Source> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let (Some(url), Some(request_token)) = (
            var("ACTIONS_ID_TOKEN_REQUEST_URL"),
            var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            return Ok(Source::Runner {
                url,
                request_token,
                audience: audience.to_string(),
            });
        }
        if let Some(f) = token_file {
            return Ok(Source::File(f));
        }
        if let Some(v) = token_env {
            return Ok(Source::Env(v));
        }
        if let Some(f) = var("AWS_WEB_IDENTITY_TOKEN_FILE") {
            return Ok(Source::File(f.into()));
        }
        Err(Error::NoToken)
    }
}

/// A token: its decoded header and claims, and the raw text (private).
#[derive(Clone)]
pub struct Token {
    raw: String,
    /// JOSE header.
    pub header: Map<String, Value>,
    /// Claims (decoded payload). Used for diagnosis only, never trusted.
    pub claims: Map<String, Value>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Token {{ sub: {:?}, raw: <redacted> }}",
            self.claims.get("sub")
        )
    }
}

impl Token {
    /// Parse a compact JWS. Errors never quote the token.
    pub fn parse(raw: &str) -> Result<Token> {
        let raw = raw.trim();
        let bad = |m: &str| Error::BadToken {
            message: format!("the token is not a JWT: {m}"),
            fix: "give the raw token as GitHub issues it (three base64url parts separated by dots)"
                .into(),
        };
        let parts: Vec<&str> = raw.split('.').collect();
        if parts.len() != 3 {
            return Err(bad("it does not have three parts"));
        }
        let decode = |p: &str| -> Result<Map<String, Value>> {
            let bytes = URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .map_err(|_| bad("a part is not base64url"))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(bad("a part is not a JSON object")),
            }
        };
        Ok(Token {
            header: decode(parts[0])?,
            claims: decode(parts[1])?,
            raw: raw.to_string(),
        })
    }

    /// The raw token, for the STS call only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// Seconds until `exp` (negative when expired).
    pub fn expires_in(&self, now: i64) -> Option<i64> {
        self.claims
            .get("exp")
            .and_then(Value::as_i64)
            .map(|e| e - now)
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn http_get(url: &str, bearer: Option<&str>) -> Result<(u16, Vec<u8>)> {
    let mut headers = vec![("accept", "application/json".to_string())];
    if let Some(b) = bearer {
        headers.push(("authorization", format!("bearer {b}")));
    }
    let r = crate::io::http::send("GET", url, &headers, None).await?;
    Ok((r.status, r.body))
}

/// Obtain a token from a source.
pub async fn fetch(source: &Source) -> Result<Token> {
    match source {
        Source::File(p) => {
            let text = crate::config::read_capped(p, 64 * 1024).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            Token::parse(&text)
        }
        Source::Env(v) => {
            let text = std::env::var(v).map_err(|_| Error::BadToken {
                message: format!("environment variable {v} is not set"),
                fix: "export the token in it, or give the token in a file".into(),
            })?;
            Token::parse(&text)
        }
        Source::Runner {
            url,
            request_token,
            audience,
        } => {
            let sep = if url.contains('?') { '&' } else { '?' };
            let full = format!(
                "{url}{sep}audience={}",
                percent_encoding::utf8_percent_encode(audience, percent_encoding::NON_ALPHANUMERIC)
            );
            let (status, body) = http_get(&full, Some(request_token)).await?;
            if status != 200 {
                return Err(Error::GitHub {
                    what: "the runner's ID-token endpoint".into(),
                    status: Some(status),
                    message: format!("HTTP {status}: the request was refused"),
                    hint: Some("the job needs `permissions: id-token: write`; forked pull requests never get a token".into()),
                });
            }
            let v: Value = serde_json::from_slice(&body).map_err(|_| Error::BadToken {
                message: "the runner's ID-token endpoint answered something other than JSON".into(),
                fix: "retry; if it persists the runner is misbehaving".into(),
            })?;
            let raw = v
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::BadToken {
                    message: "the runner's answer has no `value` field".into(),
                    fix: "retry the job".into(),
                })?;
            Token::parse(raw)
        }
    }
}

/// Verify the token's RS256 signature against the issuer's JWKS, found through its discovery
/// document (`<iss>/.well-known/openid-configuration`, or `discovery_url` when given).
pub async fn check_signature(token: &Token, discovery_url: Option<&str>) -> Result<String> {
    let iss = token
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or("");
    let disco_url = discovery_url
        .map(String::from)
        .unwrap_or_else(|| format!("{iss}/.well-known/openid-configuration"));
    let sig_err = |message: String| Error::InvalidSignature { message };
    let (status, body) = http_get(&disco_url, None).await?;
    if status != 200 {
        return Err(sig_err(format!(
            "discovery document {disco_url}: HTTP {status}"
        )));
    }
    let disco: Value =
        serde_json::from_slice(&body).map_err(|_| sig_err(format!("{disco_url} is not JSON")))?;
    if disco.get("issuer").and_then(Value::as_str) != Some(iss) {
        return Err(sig_err(format!(
            "the discovery document's issuer is {:?}, the token's is {iss:?}",
            disco.get("issuer")
        )));
    }
    let jwks_uri = disco
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| sig_err("the discovery document has no jwks_uri".into()))?;
    let (status, body) = http_get(jwks_uri, None).await?;
    if status != 200 {
        return Err(sig_err(format!("JWKS {jwks_uri}: HTTP {status}")));
    }
    let jwks: Value =
        serde_json::from_slice(&body).map_err(|_| sig_err(format!("{jwks_uri} is not JSON")))?;
    if token.header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(sig_err(format!(
            "unsupported alg {:?}; GitHub signs with RS256",
            token.header.get("alg")
        )));
    }
    let kid = token.header.get("kid").and_then(Value::as_str);
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|keys| {
            keys.iter()
                .find(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
        })
        .ok_or_else(|| sig_err(format!("no key with kid {kid:?} in {jwks_uri}")))?;
    let b64 = |k: &str| {
        key.get(k)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    let (Some(n), Some(e)) = (b64("n"), b64("e")) else {
        return Err(sig_err("the JWKS key has no RSA n/e".into()));
    };
    let raw = token.expose();
    let (signing_input, sig) = raw
        .rsplit_once('.')
        .ok_or_else(|| sig_err("malformed token".into()))?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| sig_err("the signature is not base64url".into()))?;
    aws_lc_rs::signature::RsaPublicKeyComponents { n, e }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signing_input.as_bytes(),
            &sig,
        )
        .map_err(|_| {
            sig_err(format!(
                "the signature does not verify against key {kid:?} of {jwks_uri}"
            ))
        })?;
    Ok(jwks_uri.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode("sig")
        )
    }

    #[test]
    fn parse_and_never_show_the_raw_token() {
        let raw = jwt(r#"{"sub":"repo:o/r:pull_request","exp":100}"#);
        let t = Token::parse(&format!("{raw}\n")).unwrap();
        assert_eq!(t.claims["sub"], "repo:o/r:pull_request");
        assert_eq!(t.expires_in(40), Some(60));
        assert!(!format!("{t:?}").contains(&raw[..20]));
        for bad in [
            "",
            "a.b",
            "a.b.c",
            &format!("{}.!!.x", URL_SAFE_NO_PAD.encode("{}")),
            "secret-looking-garbage",
        ] {
            let e = Token::parse(bad).unwrap_err().to_string();
            assert!(!bad.is_empty() || e.contains("JWT"));
            if bad.len() > 10 {
                assert!(!e.contains(bad), "errors never quote the token");
            }
        }
    }

    #[test]
    fn runner_source_is_redacted() {
        let s = Source::Runner {
            url: "http://x".into(),
            request_token: "very-secret".into(),
            audience: "sts.amazonaws.com".into(),
        };
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
