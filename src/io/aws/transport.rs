//! The HTTPS client the AWS SDK uses: one per process, shared by every client keyless builds (each
//! account's IAM, STS, Organizations and CloudTrail clients). Left to itself the SDK builds a
//! client per service client, and each loads the system's root certificates again on its first
//! request: a check of 1,000 accounts spent over half its CPU decoding the same PEM bundle 4,000
//! times. One client loads them once and pools connections across accounts.
//!
//! It is the SDK's own default (rustls on aws-lc, proxies from `HTTPS_PROXY`/`HTTP_PROXY`/
//! `NO_PROXY`, the system roots, which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`), except that
//! `AWS_CA_BUNDLE` names a private CA bundle (a corporate TLS-inspecting proxy, a VPC endpoint
//! behind a private CA): the AWS CLI trusts that bundle instead of the system's roots, and so
//! does keyless. This module knows nothing about IAM or STS.

use std::sync::OnceLock;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::error::{ConfigError, Error, Result};

/// The variable the AWS CLI and SDKs read for a private CA bundle.
pub const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";

/// The SDK's HTTPS client for this process, made once: the SDK's default, with the trust of
/// `AWS_CA_BUNDLE` when it is set (read and checked once).
pub fn http_client() -> Result<SharedHttpClient> {
    static CLIENT: OnceLock<std::result::Result<SharedHttpClient, ConfigError>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let Some(path) = std::env::var_os(CA_BUNDLE_VAR).filter(|p| !p.is_empty()) else {
                return Ok(client(None));
            };
            let path = std::path::PathBuf::from(path);
            let pem = std::fs::read(&path).map_err(|e| bundle_error(&path, &e.to_string()))?;
            check_bundle(&pem).map_err(|m| bundle_error(&path, &m))?;
            let context = TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
                .build()
                .map_err(|e| bundle_error(&path, &e.to_string()))?;
            Ok(client(Some(context)))
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

/// [`client`], built once. The SDK's client checks itself each time a service client is built
/// from it (`validate_base_client_config`) by building a whole TLS connector and dropping it,
/// trust anchors and all: four times per account of a run across accounts. This wrapper leaves
/// that check out; the connector is built on the first request and cached by the client (per
/// timeout settings), so a bad trust store still fails, on the first call, with the SDK's error.
#[derive(Debug)]
struct BuiltOnce(SharedHttpClient);

impl HttpClient for BuiltOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The SDK's own client (rustls on aws-lc, as its default), with `context`'s trust when given
/// (else the system's roots, as the SDK's), wrapped in [`BuiltOnce`].
fn client(context: Option<TlsContext>) -> SharedHttpClient {
    SharedHttpClient::new(BuiltOnce(sdk_client(context)))
}

fn sdk_client(context: Option<TlsContext>) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut b = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        if let Some(context) = &context {
            b = b.tls_context(context.clone());
        }
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
