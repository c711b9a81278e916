//! The server's two clocks, read here and passed to the engine as a `Now`: the wall clock for
//! what ZooKeeper stamps with wall time (znode ctime and mtime, TTL ages, `cons` times) and a
//! monotonic clock for session expiry, which a step of the system clock must not move.

use ringkeeper_engine::Now;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Both clocks now. The monotonic one counts from the first call in this process.
pub fn now() -> Now {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    Now {
        wall_ms: wall_ms(),
        elapsed_ms: origin.elapsed().as_millis() as i64,
    }
}
