//! Every bound the server enforces at run time, in one place: the configurable ones come from
//! zoo.cfg and are checked against each other at start-up, the fixed ones are named constants
//! here. The engine's own bounds are in `ringkeeper_engine::limits`.
//!
//! What one client can make the server hold is bounded per connection: requests are read one
//! frame at a time (`jute.maxbuffer`), a connection's reader pauses while more than
//! `max_queued_reply_bytes` of its replies wait to be written, and a connection whose unsent
//! bytes would pass `max_unsent_bytes` (a client that does not read its replies or
//! notifications) is closed. So one connection holds at most `per_connection_bytes()`, and the
//! server at most that times its connection limit (`maxCnxns`, and never more connections than
//! its open-file limit allows).

use crate::config::ServerConfig;
use ringkeeper_engine::limits::JUTE_MAXBUFFER_MAX;
use std::time::Duration;

// Every request of up to jute.maxbuffer bytes makes a txn that fits one log record, with room
// for the txn header and a multi's per-op framing.
const _: () = assert!(JUTE_MAXBUFFER_MAX * 2 <= ringkeeper_storage::wal::MAX_RECORD_LEN);

/// Default `ringkeeper.maxQueuedReplyBytes`: a connection's reader pauses while more than this
/// many bytes of its replies and notifications wait to be written (ZooKeeper stops reading
/// from a connection whose responses queue up, without a byte bound).
pub const DEFAULT_MAX_QUEUED_REPLY_BYTES: usize = 1 << 20;

/// Default `ringkeeper.maxUnsentBytes`: a connection that has this many bytes waiting to be
/// written and is sent more is closed as a slow consumer.
pub const DEFAULT_MAX_UNSENT_BYTES: usize = 16 << 20;

/// Default `ringkeeper.maxReplyBytes`: a reply larger than this closes its connection instead
/// of being sent (a ZooKeeper client drops a reply above its own jute.maxbuffer the same way).
pub const DEFAULT_MAX_REPLY_BYTES: usize = ringkeeper_engine::limits::MAX_REPLY_BYTES_DEFAULT;

/// Open files the server keeps for itself (logs, snapshots, listeners, io_uring) beside its
/// client connections.
pub const RESERVED_FILES: u64 = 256;

/// `zookeeper.nio.sessionlessCnxnTimeout`: a connection that sends no complete
/// ConnectRequest (or four-letter word) in this time is dropped.
pub const SESSIONLESS_CNXN_TIMEOUT: Duration = Duration::from_secs(10);

/// Read buffer of each connection. Requests larger than this are read in pieces.
pub const CONN_READ_BUFFER_BYTES: usize = 16 * 1024;

/// Capacity of each shard-to-pipeline and pipeline-to-shard channel (messages).
pub const CHANNEL_CAPACITY: usize = 1024;

/// Capacity of the pipeline's merge channel, where every shard's messages and the ticks meet.
pub const PIPELINE_MERGE_CAPACITY: usize = 8192;

/// Upper bound on messages the pipeline handles before it commits and answers the batch.
pub const MAX_BATCH_MESSAGES: usize = 4096;

/// The bounds in force, from zoo.cfg, checked against each other.
#[derive(Clone, Debug)]
pub struct Limits {
    /// `jute.maxbuffer`: the largest request frame; a longer one closes the connection.
    pub max_frame: usize,
    /// jute.maxbuffer plus its extra size (`zookeeper.jute.maxbuffer.extrasize`, which
    /// defaults to jute.maxbuffer): the longest string or buffer inside a request.
    pub max_field: usize,
    pub max_queued_reply_bytes: usize,
    pub max_unsent_bytes: usize,
    pub max_reply_bytes: usize,
    /// `maxClientCnxns`: connections per client address; 0 = unlimited.
    pub max_client_cnxns: u32,
    /// Connections in all: `maxCnxns`, or (0, unlimited in ZooKeeper) the open-file limit.
    pub max_cnxns: u64,
    /// `globalOutstandingLimit`: requests at the pipeline before readers pause.
    pub global_outstanding_limit: u32,
}

impl Limits {
    /// The bounds `config` asks for, given `open_files` (the process's RLIMIT_NOFILE).
    pub fn from_config(config: &ServerConfig, open_files: u64) -> Result<Limits, String> {
        let max_frame = config.jute_maxbuffer as usize;
        if max_frame > JUTE_MAXBUFFER_MAX {
            return Err(format!(
                "jute.maxbuffer={max_frame} is above the largest this server can log \
                 ({JUTE_MAXBUFFER_MAX} bytes)"
            ));
        }
        let l = Limits {
            max_frame,
            max_field: max_frame * 2,
            max_queued_reply_bytes: config.max_queued_reply_bytes,
            max_unsent_bytes: config.max_unsent_bytes,
            max_reply_bytes: config.max_reply_bytes,
            max_client_cnxns: config.max_client_cnxns,
            max_cnxns: connection_limit(config.max_cnxns, open_files),
            global_outstanding_limit: config.global_outstanding_limit,
        };
        // A getData reply holds up to jute.maxbuffer of data and a Stat.
        if l.max_reply_bytes < max_frame + 1024 {
            return Err(format!(
                "ringkeeper.maxReplyBytes={} must be at least jute.maxbuffer + 1024 ({})",
                l.max_reply_bytes,
                max_frame + 1024
            ));
        }
        if l.max_unsent_bytes < l.max_queued_reply_bytes {
            return Err(format!(
                "ringkeeper.maxUnsentBytes={} must be at least ringkeeper.maxQueuedReplyBytes={}",
                l.max_unsent_bytes, l.max_queued_reply_bytes
            ));
        }
        if l.max_cnxns == 0 {
            return Err(format!(
                "the open-file limit ({open_files}) leaves no room for client connections"
            ));
        }
        Ok(l)
    }

    /// The most one connection can make the server hold in queued output: up to
    /// `max_unsent_bytes` waiting, plus the one reply that passed it.
    pub fn per_connection_bytes(&self) -> usize {
        self.max_unsent_bytes + self.max_reply_bytes
    }
}

/// `maxCnxns` (0: unlimited, as in ZooKeeper), but never more than the open files allow.
fn connection_limit(max_cnxns: u32, open_files: u64) -> u64 {
    let by_files = open_files.saturating_sub(RESERVED_FILES);
    match max_cnxns {
        0 => by_files,
        n => u64::from(n).min(by_files),
    }
}

/// Raises the soft open-file limit to the hard one (a server with 10,000 clients needs more
/// than the usual 1,024) and returns it.
pub fn raise_open_file_limit() -> u64 {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 1024;
        }
        if rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit {
                rlim_cur: rl.rlim_max,
                rlim_max: rl.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                rl.rlim_cur = rl.rlim_max;
            }
        }
    }
    rl.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ServerConfig {
        crate::config::standalone_default()
    }

    #[test]
    fn defaults_are_consistent() {
        let l = Limits::from_config(&config(), 65536).unwrap();
        assert_eq!(l.max_frame, 0xfffff);
        assert_eq!(l.max_cnxns, 65536 - RESERVED_FILES);
        assert!(l.per_connection_bytes() <= 64 << 20);
    }

    #[test]
    fn max_cnxns_is_capped_by_open_files() {
        let mut c = config();
        c.max_cnxns = 500;
        assert_eq!(Limits::from_config(&c, 65536).unwrap().max_cnxns, 500);
        assert_eq!(Limits::from_config(&c, 512).unwrap().max_cnxns, 256);
        assert!(Limits::from_config(&c, 100).is_err());
    }

    #[test]
    fn inconsistent_limits_stop_start_up() {
        let mut c = config();
        c.jute_maxbuffer = 16 << 20;
        let e = Limits::from_config(&c, 65536).unwrap_err();
        assert!(e.contains("maxReplyBytes"), "{e}");
        c.jute_maxbuffer = 1 << 30;
        let e = Limits::from_config(&c, 65536).unwrap_err();
        assert!(e.contains("jute.maxbuffer"), "{e}");
        let mut c = config();
        c.max_unsent_bytes = 1000;
        let e = Limits::from_config(&c, 65536).unwrap_err();
        assert!(e.contains("maxUnsentBytes"), "{e}");
    }
}
