//! TLS on the secure client port (`secureClientPort`), from ZooKeeper's `ssl.*` keys.
//!
//! The shards accept on the secure port as on the plain one; a TLS connection does its
//! handshake in its own task and then runs the same reader and writer over the TLS stream,
//! so the plain port's path is untouched. The server configuration is shared by every shard
//! and replaced when the key store or trust store file changes (see `reload`).

mod context;
mod reload;
pub mod settings;
mod stores;
pub mod x500;

use ringkeeper_engine::proto::Id;
use settings::TlsSettings;
use std::sync::{Arc, RwLock};

/// Reads the `ssl.*` keys of the configuration: None without `secureClientPort`. The
/// stores are loaded now (an error stops start-up) and watched for changes from here on.
pub fn start(config: &crate::config::ServerConfig) -> Result<Option<Arc<TlsContext>>, String> {
    let (settings, warnings) = settings::parse(&config.tls, config.secure_client_port.is_some())
        .map_err(|e| e.to_string())?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let Some(settings) = settings else {
        return Ok(None);
    };
    let ctx = TlsContext::load(settings)?;
    reload::spawn_watcher(ctx.clone())
        .map_err(|e| format!("cannot start the TLS reload thread: {e}"))?;
    Ok(Some(ctx))
}

/// The current TLS configuration of the secure port, shared by all shards.
pub struct TlsContext {
    settings: TlsSettings,
    current: RwLock<Arc<rustls::ServerConfig>>,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl TlsContext {
    /// Loads the stores; a missing file, wrong password or expired certificate is an error
    /// naming the file, and start-up stops with it.
    pub fn load(settings: TlsSettings) -> Result<Arc<TlsContext>, String> {
        let config = context::build(&settings, now_unix())?;
        Ok(Arc::new(TlsContext {
            settings,
            current: RwLock::new(Arc::new(config)),
        }))
    }

    /// The configuration a new connection's handshake uses.
    pub fn acceptor(&self) -> futures_rustls::TlsAcceptor {
        let c = match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        futures_rustls::TlsAcceptor::from(c)
    }

    /// Rebuilds from the files; on success new connections use the result.
    fn reload(&self) -> Result<(), String> {
        let config = context::build(&self.settings, now_unix())?;
        match self.current.write() {
            Ok(mut c) => *c = Arc::new(config),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(config),
        }
        Ok(())
    }

    /// The ids a verified client certificate gives its connection, as ZooKeeper's
    /// X509AuthenticationProvider.handleAuthentication adds them: `super` first when the
    /// subject is `X509AuthenticationProvider.superUser`, then `x509:<subject>`.
    pub fn client_ids(&self, peer_chain: Option<&[rustls_pki_types::CertificateDer]>) -> Vec<Id> {
        let Some(leaf) = peer_chain.and_then(|c| c.first()) else {
            return Vec::new();
        };
        let Some(subject) = x500::subject_of(leaf.as_ref()) else {
            return Vec::new();
        };
        let mut ids = Vec::with_capacity(2);
        if self.settings.super_user.as_deref() == Some(subject.as_str()) {
            tracing::info!(%subject, "authenticated as super user by client certificate");
            ids.push(Id {
                scheme: "super".into(),
                id: subject.clone(),
            });
        }
        ids.push(Id {
            scheme: "x509".into(),
            id: subject,
        });
        ids
    }
}
