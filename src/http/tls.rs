//! TLS: rustls with ring, and the OS trust store (plus `--ca-file`) loaded on the first TLS
//! handshake instead of at start-up. Reading and parsing the system's root certificates is
//! most of what starting the bridge costs, and a server on this machine over plain http never
//! needs them.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// TLS for both clients: the OS trust store plus the certificates in `ca_file`.
pub fn config(ca_file: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = Vec::new();
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let pem = std::fs::read(path).with_context(|| format!("reading the CA file {}", path.display()))?;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots
                .push(cert.with_context(|| format!("{} holds a PEM block that is not a certificate", path.display()))?);
        }
        if roots.is_empty() {
            bail!("{} holds no PEM certificate", path.display());
        }
    }
    client_config(roots).context("setting up TLS")
}

/// The rustls configuration for the HTTP clients: HTTP/2 and HTTP/1.1 by ALPN, safe default
/// protocol versions, and the platform's verifier behind a lazy wrapper.
fn client_config(extra_roots: Vec<CertificateDer<'static>>) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(LazyVerifier {
        provider: provider.clone(),
        extra_roots,
        inner: OnceLock::new(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous() // a custom verifier: the platform's, created on first use
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    extra_roots: Vec<CertificateDer<'static>>,
    inner: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error>>,
}

impl LazyVerifier {
    fn get(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        let v = self.inner.get_or_init(|| {
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                self.extra_roots.iter().cloned(),
                self.provider.clone(),
            )
            .map(Arc::new)
        });
        v.as_deref().map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
