//! The `ssl.*` keys of zoo.cfg for the client port, read as ZooKeeper 3.8's X509Util and
//! ClientX509Util read them. Values are checked here; the files they name are read by
//! `super::stores`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// ZooKeeper's `ssl.clientAuth` (X509Util.ClientAuth): NEED when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Want,
    Need,
}

/// A key store or trust store file as zoo.cfg names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// `ssl.keyStore` or `ssl.trustStore`, for messages.
    pub prefix: &'static str,
    pub location: PathBuf,
    pub password: String,
    pub kind: StoreType,
}

/// `ssl.*Store.type`, or what the file name says (KeyStoreFileType.fromFilename).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Pem,
    Pkcs12,
    Jks,
}

/// TLS versions rustls offers; TLSv1 and TLSv1.1 (and SSL) it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Tls12,
    Tls13,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub key_store: Store,
    pub trust_store: Option<Store>,
    pub client_auth: ClientAuth,
    /// What `ssl.enabledProtocols` (else `ssl.protocol`) allows, that rustls has.
    pub protocols: Vec<Protocol>,
    /// `ssl.ciphersuites` as given (Java names); None: rustls' defaults.
    pub cipher_suites: Option<Vec<String>>,
    /// `X509AuthenticationProvider.superUser`: this certificate subject is also `super`.
    pub super_user: Option<String>,
}

/// ZooKeeper 3.8's X509Util.DEFAULT_PROTOCOL: probed, 3.8.0 on JDK 17 offers only TLSv1.2
/// on its secure port when neither ssl.protocol nor ssl.enabledProtocols is set.
pub const DEFAULT_PROTOCOL: &str = "TLSv1.2";

/// Keys this module applies (besides `ssl.quorum.*`, which the quorum would use).
const APPLIED: &[&str] = &[
    "ssl.keyStore.location",
    "ssl.keyStore.password",
    "ssl.keyStore.passwordPath",
    "ssl.keyStore.type",
    "ssl.trustStore.location",
    "ssl.trustStore.password",
    "ssl.trustStore.passwordPath",
    "ssl.trustStore.type",
    "ssl.clientAuth",
    "ssl.protocol",
    "ssl.enabledProtocols",
    "ssl.ciphersuites",
    "X509AuthenticationProvider.superUser",
];

/// Keys accepted with a warning that says what Ringkeeper does instead.
const NOTED: &[(&str, &str)] = &[
    (
        "ssl.hostnameVerification",
        "the server does not check client host names on the client port (nor does ZooKeeper's ClientX509Util); clients use this key for the server's name",
    ),
    (
        "ssl.clientHostnameVerification",
        "the server does not check client host names on the client port (nor does ZooKeeper's ClientX509Util)",
    ),
    ("ssl.sslProvider", "TLS is rustls whatever the provider"),
    (
        "ssl.authProvider",
        "the x509 scheme is built in; other providers cannot be loaded",
    ),
    (
        "ssl.crl",
        "certificate revocation lists are not checked",
    ),
    ("ssl.ocsp", "OCSP is not checked"),
    (
        "ssl.handshakeDetectionTimeoutMillis",
        "no port unification; the handshake has the connection's sessionless timeout",
    ),
    (
        "ssl.context.supplier.class",
        "there is no JVM; the SSL context comes from the ssl.* keys",
    ),
];

/// A problem with the `ssl.*` keys; start-up stops with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the keys say: settings for the secure port (None without `secureClientPort`), and
/// one warning for each key not applied as ZooKeeper would apply it.
pub fn parse(
    keys: &BTreeMap<String, String>,
    secure_port: bool,
) -> Result<(Option<TlsSettings>, Vec<String>), SettingsError> {
    let mut warnings = Vec::new();
    for (k, _) in keys.iter() {
        if k.starts_with("ssl.quorum.") {
            warnings.push(format!(
                "{k}: accepted but not applied: quorum links are plain TCP (quorum TLS is not supported)"
            ));
        } else if let Some((_, why)) = NOTED.iter().find(|(n, _)| n == k) {
            warnings.push(format!("{k}: accepted; {why}"));
        } else if !APPLIED.contains(&k.as_str()) {
            warnings.push(format!(
                "{k}: accepted but not applied: not a client-port TLS setting Ringkeeper knows"
            ));
        } else if !secure_port {
            warnings.push(format!(
                "{k}: accepted but not applied: secureClientPort is not set"
            ));
        }
    }
    if !secure_port {
        return Ok((None, warnings));
    }
    let get = |k: &str| keys.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

    let key_store = store(keys, "ssl.keyStore")?.ok_or_else(|| {
        SettingsError("secureClientPort is set but ssl.keyStore.location is not".into())
    })?;
    let trust_store = store(keys, "ssl.trustStore")?;
    let client_auth = match get("ssl.clientAuth").map(|v| v.to_ascii_uppercase()) {
        None => ClientAuth::Need,
        Some(v) if v == "NONE" => ClientAuth::None,
        Some(v) if v == "WANT" => ClientAuth::Want,
        Some(v) if v == "NEED" => ClientAuth::Need,
        Some(v) => {
            return Err(SettingsError(format!(
                "ssl.clientAuth={v}: expected none, want or need"
            )))
        }
    };
    if client_auth != ClientAuth::None && trust_store.is_none() {
        return Err(SettingsError(format!(
            "ssl.clientAuth={} needs ssl.trustStore.location: Ringkeeper has no JVM default trust store to check client certificates against",
            if client_auth == ClientAuth::Need { "need (the default)" } else { "want" }
        )));
    }

    // X509Util: enabledProtocols, else just the context's protocol.
    let names: Vec<String> = match get("ssl.enabledProtocols") {
        Some(v) => v.split(',').map(|s| s.trim().to_string()).collect(),
        None => vec![get("ssl.protocol").unwrap_or(DEFAULT_PROTOCOL).to_string()],
    };
    let mut protocols = Vec::new();
    for n in &names {
        match n.as_str() {
            "TLSv1.3" => protocols.push(Protocol::Tls13),
            "TLSv1.2" => protocols.push(Protocol::Tls12),
            // A generic context name: every version the JDK's "TLS" context enables.
            "TLS" => protocols.extend([Protocol::Tls12, Protocol::Tls13]),
            "" => {}
            other => warnings.push(format!(
                "ssl.enabledProtocols/ssl.protocol: {other} is not offered: rustls supports only TLSv1.2 and TLSv1.3"
            )),
        }
    }
    protocols.sort();
    protocols.dedup();
    if protocols.is_empty() {
        return Err(SettingsError(format!(
            "no TLS version left to offer from {}: rustls supports only TLSv1.2 and TLSv1.3",
            names.join(",")
        )));
    }
    let cipher_suites = get("ssl.ciphersuites").map(|v| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let super_user = keys
        .get("X509AuthenticationProvider.superUser")
        .map(|v| v.trim().to_string());
    Ok((
        Some(TlsSettings {
            key_store,
            trust_store,
            client_auth,
            protocols,
            cipher_suites,
            super_user,
        }),
        warnings,
    ))
}

/// `<prefix>.location`, `.password` (or `.passwordPath`), `.type`; None without a location.
fn store(
    keys: &BTreeMap<String, String>,
    prefix: &'static str,
) -> Result<Option<Store>, SettingsError> {
    let get = |k: &str| {
        keys.get(&format!("{prefix}.{k}"))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let Some(location) = get("location") else {
        return Ok(None);
    };
    let location = PathBuf::from(location);
    let password = match (keys.get(&format!("{prefix}.password")), get("passwordPath")) {
        (Some(p), _) => p.clone(),
        (None, Some(path)) => read_secret(Path::new(path)).map_err(|e| {
            SettingsError(format!("{prefix}.passwordPath {path}: cannot read: {e}"))
        })?,
        (None, None) => String::new(),
    };
    let kind = match get("type") {
        Some(t) => match t.to_ascii_uppercase().as_str() {
            "PEM" => StoreType::Pem,
            "PKCS12" => StoreType::Pkcs12,
            "JKS" => StoreType::Jks,
            "BCFKS" => {
                return Err(SettingsError(format!(
                    "{prefix}.type=BCFKS: BouncyCastle FIPS key stores are not supported (use PEM, PKCS12 or JKS)"
                )))
            }
            _ => {
                return Err(SettingsError(format!(
                    "{prefix}.type={t}: expected PEM, PKCS12 or JKS"
                )))
            }
        },
        None => from_file_name(&location).ok_or_else(|| {
            SettingsError(format!(
                "{prefix}.location {}: cannot tell the store type from the file name (.pem, .p12, .pfx, .jks); set {prefix}.type",
                location.display()
            ))
        })?,
    };
    Ok(Some(Store {
        prefix,
        location,
        password,
        kind,
    }))
}

/// KeyStoreFileType.fromFilename.
fn from_file_name(p: &Path) -> Option<StoreType> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "pem" => Some(StoreType::Pem),
        "p12" | "pfx" => Some(StoreType::Pkcs12),
        "jks" => Some(StoreType::Jks),
        _ => None,
    }
}

/// SecretUtils.readSecret: the file's text without its trailing line break.
fn read_secret(p: &Path) -> std::io::Result<String> {
    let s = std::fs::read_to_string(p)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_zookeeper() {
        let k = keys(&[
            ("ssl.keyStore.location", "/k/server.p12"),
            ("ssl.trustStore.location", "/k/ca.pem"),
        ]);
        let (s, w) = parse(&k, true).unwrap();
        let s = s.unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.client_auth, ClientAuth::Need);
        assert_eq!(s.key_store.kind, StoreType::Pkcs12);
        assert_eq!(s.trust_store.unwrap().kind, StoreType::Pem);
        assert_eq!(s.protocols, vec![Protocol::Tls12]);
    }

    #[test]
    fn readable_errors() {
        let no_trust = keys(&[("ssl.keyStore.location", "/k/server.pem")]);
        assert!(parse(&no_trust, true).unwrap_err().0.contains("trustStore"));
        let bad_type = keys(&[("ssl.keyStore.location", "/k/server.bin")]);
        assert!(parse(&bad_type, true)
            .unwrap_err()
            .0
            .contains("ssl.keyStore.type"));
        let old = keys(&[
            ("ssl.keyStore.location", "/k/s.pem"),
            ("ssl.clientAuth", "none"),
            ("ssl.enabledProtocols", "TLSv1,TLSv1.1"),
        ]);
        assert!(parse(&old, true).unwrap_err().0.contains("TLSv1.2"));
        let no_key = keys(&[("ssl.clientAuth", "none")]);
        assert!(parse(&no_key, true).unwrap_err().0.contains("keyStore"));
    }

    #[test]
    fn warnings_without_secure_port_and_for_quorum() {
        let k = keys(&[
            ("ssl.keyStore.location", "/k/s.pem"),
            ("ssl.quorum.keyStore.location", "/k/q.pem"),
            ("ssl.hostnameVerification", "false"),
        ]);
        let (s, w) = parse(&k, false).unwrap();
        assert!(s.is_none());
        assert_eq!(w.len(), 3);
        assert!(w.iter().any(|w| w.contains("quorum TLS")));
    }
}
