//! Reading key stores and trust stores in the three formats ZooKeeper deployments use: PEM
//! (ZooKeeper's PemReader: certificates and a PKCS#8 key, encrypted with the store password
//! or not), PKCS#12 (p12-keystore) and JKS (jks). Every error names the file and the problem.

use super::settings::{Store, StoreType};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A server's certificate chain (leaf first) and private key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

fn fail(store: &Store, problem: impl std::fmt::Display) -> String {
    format!(
        "{}.location {}: {problem}",
        store.prefix,
        store.location.display()
    )
}

fn read(store: &Store) -> Result<Vec<u8>, String> {
    std::fs::read(&store.location).map_err(|e| fail(store, format!("cannot read: {e}")))
}

/// The key store's private key and its certificate chain. With several key entries (PKCS#12,
/// JKS), the first alias in sorted order is used.
pub fn load_identity(store: &Store) -> Result<Identity, String> {
    let bytes = read(store)?;
    let id = match store.kind {
        StoreType::Pem => pem_identity(store, &bytes)?,
        StoreType::Pkcs12 => p12_identity(store, &bytes)?,
        StoreType::Jks => jks_identity(store, &bytes)?,
    };
    if id.chain.is_empty() {
        return Err(fail(store, "no certificate for the private key"));
    }
    Ok(id)
}

/// The certificates a trust store trusts: certificate entries, and the leaf certificate of
/// each key entry (as Java's trust manager takes them).
pub fn load_trusted(store: &Store) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(store)?;
    let certs = match store.kind {
        StoreType::Pem => pem_certs(store, &bytes)?,
        StoreType::Pkcs12 => {
            let ks = p12(store, &bytes)?;
            ks.entries()
                .filter_map(|(_, e)| match e {
                    p12_keystore::KeyStoreEntry::Certificate(c) => Some(c.as_der().to_vec()),
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(k) => {
                        k.certs().first().map(|c| c.as_der().to_vec())
                    }
                    _ => None,
                })
                .map(CertificateDer::from)
                .collect()
        }
        StoreType::Jks => {
            let ks = jks(store, &bytes)?;
            let mut aliases = ks.aliases();
            aliases.sort();
            let mut out = Vec::new();
            for a in aliases {
                if let Ok(t) = ks.get_trusted_certificate_entry(&a) {
                    out.push(CertificateDer::from(t.certificate.content));
                } else if let Ok(chain) = ks.get_private_key_entry_certificate_chain(&a) {
                    if let Some(c) = chain.into_iter().next() {
                        out.push(CertificateDer::from(c.content));
                    }
                }
            }
            out
        }
    };
    if certs.is_empty() {
        return Err(fail(store, "holds no certificate to trust"));
    }
    Ok(certs)
}

fn pem_certs(store: &Store, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(store, format!("not valid PEM: {e}")))
}

fn pem_identity(store: &Store, bytes: &[u8]) -> Result<Identity, String> {
    let chain = pem_certs(store, bytes)?;
    let text = String::from_utf8_lossy(bytes);
    const ENCRYPTED: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    let key = if let Some(start) = text.find(ENCRYPTED) {
        const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
        let end = text[start..]
            .find(END)
            .map(|e| start + e + END.len())
            .ok_or_else(|| fail(store, "unterminated ENCRYPTED PRIVATE KEY block"))?;
        let (_, der) = pkcs8::der::pem::decode_vec(text[start..end].as_bytes())
            .map_err(|e| fail(store, format!("bad ENCRYPTED PRIVATE KEY block: {e}")))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| fail(store, format!("bad encrypted private key: {e}")))?;
        if store.password.is_empty() {
            return Err(fail(
                store,
                "the private key is encrypted and ssl.keyStore.password is not set",
            ));
        }
        let plain = info.decrypt(store.password.as_bytes()).map_err(|e| {
            fail(
                store,
                format!("cannot decrypt the private key (wrong ssl.keyStore.password?): {e}"),
            )
        })?;
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(plain.as_bytes().to_vec()))
    } else {
        PrivateKeyDer::from_pem_slice(bytes)
            .map_err(|e| fail(store, format!("no usable private key: {e}")))?
    };
    Ok(Identity { chain, key })
}

fn p12(store: &Store, bytes: &[u8]) -> Result<p12_keystore::KeyStore, String> {
    p12_keystore::KeyStore::from_pkcs12(
        bytes,
        &store.password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| {
        fail(
            store,
            format!(
                "cannot open as PKCS12 (wrong {}.password, or not a PKCS12 file?): {e}",
                store.prefix
            ),
        )
    })
}

fn p12_identity(store: &Store, bytes: &[u8]) -> Result<Identity, String> {
    let ks = p12(store, bytes)?;
    let (_, chain) = ks
        .private_key_chain()
        .ok_or_else(|| fail(store, "holds no private key entry"))?;
    Ok(Identity {
        chain: chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
    })
}

fn jks(store: &Store, bytes: &[u8]) -> Result<jks::KeyStore, String> {
    let mut ks = jks::KeyStore::new();
    ks.load(bytes, store.password.as_bytes()).map_err(|e| {
        let why = match e {
            jks::KeyStoreError::InvalidDigest => {
                format!("wrong {}.password (integrity check failed)", store.prefix)
            }
            jks::KeyStoreError::InvalidMagic => {
                "not a JKS file (a PKCS12 store needs .type=PKCS12)".to_string()
            }
            e => format!("cannot open as JKS: {e}"),
        };
        fail(store, why)
    })?;
    Ok(ks)
}

fn jks_identity(store: &Store, bytes: &[u8]) -> Result<Identity, String> {
    let ks = jks(store, bytes)?;
    let mut aliases = ks.aliases();
    aliases.sort();
    let alias = aliases
        .into_iter()
        .find(|a| ks.is_private_key_entry(a))
        .ok_or_else(|| fail(store, "holds no private key entry"))?;
    // keytool protects each key with the store password unless told otherwise.
    let entry = ks
        .get_private_key_entry(&alias, store.password.as_bytes())
        .map_err(|e| fail(store, format!("cannot decrypt key '{alias}': {e}")))?;
    Ok(Identity {
        chain: entry
            .certificate_chain
            .into_iter()
            .map(|c| CertificateDer::from(c.content))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(entry.private_key)),
    })
}
