//! The HTTPS client the AWS SDK uses, when keyless must choose it: `AWS_CA_BUNDLE` names a
//! private CA bundle (a corporate TLS-inspecting proxy, a VPC endpoint behind a private CA).
//! The AWS CLI trusts that bundle instead of the system's roots, and so does keyless. Proxies come
//! from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` either way, as the SDK's default client reads them.
//!
//! Without `AWS_CA_BUNDLE` the SDK's default client is used unchanged (the system roots, which
//! honour `SSL_CERT_FILE` and `SSL_CERT_DIR`). This module knows nothing about IAM or STS.

use std::sync::OnceLock;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::error::{ConfigError, Error, Result};

/// The variable the AWS CLI and SDKs read for a private CA bundle.
pub const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";

/// The SDK's HTTPS client for this process: `None` for the SDK's default, `Some` when
/// `AWS_CA_BUNDLE` is set (read and checked once).
pub fn http_client() -> Result<Option<SharedHttpClient>> {
    static CLIENT: OnceLock<std::result::Result<Option<SharedHttpClient>, ConfigError>> =
        OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let Some(path) = std::env::var_os(CA_BUNDLE_VAR).filter(|p| !p.is_empty()) else {
                return Ok(None);
            };
            let path = std::path::PathBuf::from(path);
            let pem = std::fs::read(&path).map_err(|e| bundle_error(&path, &e.to_string()))?;
            check_bundle(&pem).map_err(|m| bundle_error(&path, &m))?;
            let context = TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
                .build()
                .map_err(|e| bundle_error(&path, &e.to_string()))?;
            Ok(Some(client(context)))
        })
        .clone()
        .map_err(|e| Error::Config(vec![e]))
}

fn bundle_error(path: &std::path::Path, message: &str) -> ConfigError {
    ConfigError {
        file: "environment".into(),
        key: CA_BUNDLE_VAR.into(),
        value: Some(format!("{:?}", path.display().to_string())),
        message: format!("the CA bundle cannot be used: {message}"),
        fix: Some(format!(
            "point {CA_BUNDLE_VAR} at a PEM file of CA certificates, or unset it to use the system's roots"
        )),
    }
}

/// Every certificate in a PEM bundle parses as a trust anchor, and there is at least one (the
/// SDK would otherwise panic on the first request, or trust nothing).
pub fn check_bundle(pem: &[u8]) -> std::result::Result<usize, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for (i, der) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = der.map_err(|e| format!("certificate {} is not valid PEM: {e}", i + 1))?;
        roots
            .add(der)
            .map_err(|e| format!("certificate {} is not a usable CA: {e}", i + 1))?;
    }
    match roots.len() {
        0 => Err("the file holds no PEM certificate".into()),
        n => Ok(n),
    }
}

/// The SDK's own client (rustls on aws-lc, as its default) with `context`'s trust.
fn client(context: TlsContext) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut b = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context.clone());
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(ProxyConfig::from_env()));
        b.build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert!(
            check_bundle(b"")
                .unwrap_err()
                .contains("no PEM certificate")
        );
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(
            check_bundle(key)
                .unwrap_err()
                .contains("no PEM certificate")
        );
    }

    #[test]
    fn a_damaged_certificate_is_refused() {
        let bad = b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
        assert!(check_bundle(bad).is_err());
        let not_der = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(check_bundle(not_der).unwrap_err().contains("certificate 1"));
    }
}
