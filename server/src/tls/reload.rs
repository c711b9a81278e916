//! Certificate reload without a restart: a thread looks at the key store and trust store
//! files every `RELOAD_POLL` and rebuilds the TLS configuration when either changed (its
//! modification time, size or inode). New connections get the new certificate; a file that
//! does not load is logged with the reason and the old configuration stays.

use super::TlsContext;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often the store files are looked at (a stat each; ZooKeeper's FileChangeWatcher
/// reacts to inotify events, a few seconds is the same to an operator).
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

type Stamp = Option<(i64, i64, u64, u64)>;

fn stamp(p: &PathBuf) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.mtime(), m.mtime_nsec(), m.len(), m.ino()))
}

/// Starts the watcher thread; it runs as long as the process.
pub fn spawn_watcher(ctx: Arc<TlsContext>) -> std::io::Result<()> {
    let mut files = vec![ctx.settings.key_store.location.clone()];
    if let Some(t) = &ctx.settings.trust_store {
        files.push(t.location.clone());
    }
    std::thread::Builder::new()
        .name("rk-tls-reload".into())
        .spawn(move || {
            let mut seen: Vec<Stamp> = files.iter().map(stamp).collect();
            loop {
                std::thread::sleep(RELOAD_POLL);
                let now: Vec<Stamp> = files.iter().map(stamp).collect();
                if now == seen {
                    continue;
                }
                // A file being rewritten may be caught half-written: the next poll sees
                // its final stamp and loads it again.
                seen = now;
                match ctx.reload() {
                    Ok(()) => tracing::info!(
                        files = ?files,
                        "TLS key/trust store changed: new connections use the reloaded certificates"
                    ),
                    Err(e) => {
                        tracing::error!("TLS reload failed, keeping the previous certificates: {e}")
                    }
                }
            }
        })?;
    Ok(())
}
