//! A rustls server configuration from the `ssl.*` settings and the files they name.

use super::settings::{ClientAuth, Protocol, Store, TlsSettings};
use super::stores;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::CertificateDer;
use std::sync::Arc;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Builds the configuration, or says which file or key is wrong and why.
pub fn build(s: &TlsSettings, now_unix: i64) -> Result<ServerConfig, String> {
    let provider = Arc::new(provider(s)?);
    let id = stores::load_identity(&s.key_store)?;
    check_validity(&s.key_store, &id.chain[0], now_unix)?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = s
        .protocols
        .iter()
        .map(|p| match p {
            Protocol::Tls12 => &rustls::version::TLS12,
            Protocol::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("ssl.enabledProtocols/ssl.ciphersuites: {e}"))?;
    let builder = match (&s.trust_store, s.client_auth) {
        (_, ClientAuth::None) | (None, _) => builder.with_no_client_auth(),
        (Some(trust), auth) => {
            let roots = roots(trust)?;
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let v = if auth == ClientAuth::Want {
                v.allow_unauthenticated()
            } else {
                v
            };
            let v = v
                .build()
                .map_err(|e| format!("{}: {e}", trust.location.display()))?;
            builder.with_client_cert_verifier(v)
        }
    };
    builder.with_single_cert(id.chain, id.key).map_err(|e| {
        format!(
            "ssl.keyStore.location {}: the private key and certificate cannot be used: {e}",
            s.key_store.location.display()
        )
    })
}

fn roots(trust: &Store) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for c in stores::load_trusted(trust)? {
        roots.add(c).map_err(|e| {
            format!(
                "{}.location {}: a certificate cannot be trusted: {e}",
                trust.prefix,
                trust.location.display()
            )
        })?;
    }
    Ok(roots)
}

/// ring's provider, with only the cipher suites `ssl.ciphersuites` names (Java names; the
/// TLS 1.3 ones are TLS13_* in rustls). Names rustls does not have are skipped with a
/// warning; none left is an error.
fn provider(s: &TlsSettings) -> Result<CryptoProvider, String> {
    let mut p = rustls::crypto::ring::default_provider();
    let Some(names) = &s.cipher_suites else {
        return Ok(p);
    };
    let all = p.cipher_suites.clone();
    let mut chosen = Vec::new();
    for n in names {
        let want = match n.strip_prefix("TLS_") {
            Some(rest) if rest.starts_with("AES_") || rest.starts_with("CHACHA20_") => {
                format!("TLS13_{rest}")
            }
            _ => n.clone(),
        };
        match all.iter().find(|cs| format!("{:?}", cs.suite()) == want) {
            Some(cs) => chosen.push(*cs),
            None => tracing::warn!(
                suite = %n,
                "ssl.ciphersuites: not offered: rustls has no such cipher suite (it has only AEAD suites with ECDHE)"
            ),
        }
    }
    if chosen.is_empty() {
        return Err(format!(
            "ssl.ciphersuites: none of {} is a cipher suite rustls supports ({})",
            names.join(","),
            all.iter()
                .map(|cs| format!("{:?}", cs.suite()).replace("TLS13_", "TLS_"))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    p.cipher_suites = chosen;
    Ok(p)
}

/// An expired (or not yet valid) server certificate stops start-up, and a reload keeps the
/// old one: clients would refuse it anyway, with a less helpful message.
fn check_validity(store: &Store, leaf: &CertificateDer, now_unix: i64) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(leaf.as_ref()).map_err(|e| {
        format!(
            "{}.location {}: the certificate does not parse: {e}",
            store.prefix,
            store.location.display()
        )
    })?;
    let v = cert.validity();
    let subject = super::x500::rfc2253(cert.subject());
    if v.not_after.timestamp() < now_unix {
        return Err(format!(
            "{}.location {}: the certificate '{subject}' expired on {}",
            store.prefix,
            store.location.display(),
            v.not_after
        ));
    }
    if v.not_before.timestamp() > now_unix {
        return Err(format!(
            "{}.location {}: the certificate '{subject}' is not valid before {}",
            store.prefix,
            store.location.display(),
            v.not_before
        ));
    }
    Ok(())
}
