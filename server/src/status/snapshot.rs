//! The status snapshot: plain data the pipeline fills in (what it alone knows) and the
//! renderers read. Host figures (/proc, directory sizes, the environment) are added by
//! whoever renders, off the pipeline core.

use super::java::java_double;
use super::quorum::QuorumStatus;
use super::words::{full_version, DEFAULT_TRACE_MASK};
use crate::stats::Histogram;
use std::net::SocketAddr;

/// A metric value for mntr: integers print plain, doubles as Java prints them.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Int(i64),
    Double(f64),
    Text(String),
}

impl MetricValue {
    pub fn render(&self) -> String {
        match self {
            MetricValue::Int(i) => i.to_string(),
            MetricValue::Double(d) => java_double(*d),
            MetricValue::Text(t) => t.clone(),
        }
    }
}

/// One summary (AvgMinMaxCounter / AvgMinMaxPercentileCounter) as raw figures; min and max
/// are what ZooKeeper prints (0 when nothing was recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub count: i64,
    pub sum: i64,
    pub min: i64,
    pub max: i64,
    pub p50: i64,
    pub p95: i64,
    pub p99: i64,
    pub p999: i64,
}

impl Summary {
    /// sum/count rounded half-up to 4 decimals, 0.0 when empty (AvgMinMaxCounter.getAvg).
    pub fn avg(&self) -> f64 {
        if self.count > 0 {
            round4(self.sum as f64 / self.count as f64)
        } else {
            0.0
        }
    }
}

/// Rounds half-up to 4 decimal places, as ZooKeeper does for average latencies.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Per-connection figures for `cons`, `stat` and `dump` (ServerCnxn.dumpConnectionInfo).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnStat {
    pub remote: SocketAddr,
    /// Selection-key interest ops as NIO prints them (1 = read, 0 for a 4lw connection).
    pub interest_ops: u32,
    pub queued: u64,
    pub received: u64,
    pub sent: u64,
    /// 0 before the session is established: the long form then stops after `sent`.
    pub session_id: i64,
    /// Four-letter op name of the last request ("GETD", "PING", ...) or "NA".
    pub last_op: String,
    /// Wall-clock ms when the connection was established.
    pub established_ms: i64,
    pub timeout_ms: u32,
    /// -1 = none yet (then `lcxid` is omitted).
    pub last_cxid: i64,
    /// -1 = none yet (prints 0xffffffffffffffff, as ZooKeeper does).
    pub last_zxid: i64,
    pub last_response_ms: i64,
    pub last_latency: i64,
    pub min_lat: i64,
    pub avg_lat: i64,
    pub max_lat: i64,
}

/// Everything the four-letter words, the AdminServer and /metrics report.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// false (looking, out of quorum): the commands answer [`ZK_NOT_SERVING`] (isro answers
    /// "null").
    pub running: bool,
    /// [`full_version`] by default.
    pub version: String,
    /// standalone | leader | follower | observer | read-only (see [`super::quorum::mode`]).
    pub mode: String,
    pub read_only: bool,
    /// Quorum mode: mntr's `peer_state`, e.g. "leading - broadcast".
    pub peer_state: Option<String>,
    /// Leader only: `Proposal sizes last/min/max`.
    pub proposal_sizes: Option<(i64, i64, i64)>,
    pub zxid: i64,
    pub node_count: u64,
    pub latency_min_ms: i64,
    /// Already rounded to 4 decimals (see [`round4`]).
    pub latency_avg_ms: f64,
    pub latency_max_ms: i64,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub outstanding: u64,
    /// `Connections:` in srvr and mntr's num_alive_connections.
    pub alive_connections: u64,
    pub connections: Vec<ConnStat>,
    /// (session id, ephemeral paths).
    pub sessions_with_ephemerals: Vec<(i64, Vec<String>)>,
    /// (wall-clock ms of the expiry bucket, session ids), in any order.
    pub session_expiry: Vec<(i64, Vec<i64>)>,
    /// NIO-style connection expiry buckets (wall ms, indexes into `connections`). None: print
    /// nothing after "Connections dump:", as ZooKeeper's Netty factory does.
    pub connection_expiry: Option<Vec<(i64, Vec<usize>)>>,
    pub watches_by_session: Vec<(i64, Vec<String>)>,
    pub watches_by_path: Vec<(String, Vec<i64>)>,
    /// mntr's watch_count.
    pub total_watches: u64,
    pub ephemerals_count: u64,
    pub approximate_data_size: u64,
    pub global_sessions: u64,
    pub local_sessions: u64,
    pub open_fds: i64,
    pub max_fds: i64,
    pub uptime_ms: i64,
    pub data_dir_size: u64,
    pub log_dir_size: u64,
    /// From `ServerConfig::conf_lines`.
    pub conf_lines: Vec<(String, String)>,
    /// From `ServerConfig::membership` (quorum mode).
    pub conf_membership: Option<String>,
    /// `envi` entries; see [`default_env`].
    pub env: Vec<(String, String)>,
    pub trace_mask: i64,
    /// `hash`: (zxid, digest).
    pub digest_log: Vec<(i64, i64)>,
    /// BufferStats; -1 before the first response.
    pub last_client_response_size: i64,
    pub min_client_response_size: i64,
    pub max_client_response_size: i64,
    pub auth_failed_count: i64,
    pub non_mtls_remote_conn_count: i64,
    pub non_mtls_local_conn_count: i64,
    pub outstanding_tls_handshake: i64,
    pub connection_drop_probability: f64,
    /// Counter values by name (without `zk_`); counters not listed print 0.
    pub counters: Vec<(String, i64)>,
    /// Summary figures by name; summaries not listed print zeros.
    pub summaries: Vec<(String, Summary)>,
    /// Per top-level namespace (`zk_avg_<ns>_read_per_namespace` ...).
    pub read_per_namespace: Vec<(String, Summary)>,
    pub write_per_namespace: Vec<(String, Summary)>,
    /// Ringkeeper's own gauges, printed after ZooKeeper's.
    pub extra: Vec<(String, MetricValue)>,
    /// Quorum mode: this server's place in the ensemble (None standalone).
    pub quorum: Option<QuorumStatus>,
    /// The quorum gauges it prints (see [`super::quorum::gauges`]), by name without `zk_`.
    pub quorum_gauges: Vec<(&'static str, MetricValue)>,
    /// ServerStats.fsync_threshold_exceed_count: syncs slower than fsync.warningthresholdms.
    pub fsync_threshold_exceed_count: u64,
    /// Ringkeeper's own: WAL sync latency (us) and txns per group commit.
    pub fsync_us: Histogram,
    pub batch_txns: Histogram,
    /// Ringkeeper's own: load per connection shard, by shard index.
    pub shards: Vec<ShardLoad>,
}

/// One connection shard's share of the work.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ShardLoad {
    pub connections: u64,
    /// Requests its connections sent to the pipeline (reads served by the shard included).
    pub requests: u64,
}

/// Which of the costly parts of a [`Snapshot`] a command needs; the scalar figures are
/// always there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need(u8);

impl Need {
    pub const NONE: Need = Need(0);
    /// The connection list (cons, stat, dump's connection part).
    pub const CONNECTIONS: Need = Need(1);
    /// Session expiry buckets and ephemerals by session (dump).
    pub const SESSIONS: Need = Need(2);
    /// Watches by session and by path (wchs, wchc, wchp).
    pub const WATCHES: Need = Need(4);
    /// The total watch count alone (mntr).
    pub const WATCH_COUNT: Need = Need(8);

    pub fn contains(self, other: Need) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Need {
    type Output = Need;
    fn bitor(self, o: Need) -> Need {
        Need(self.0 | o.0)
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            running: true,
            version: full_version(),
            mode: "standalone".into(),
            read_only: false,
            peer_state: None,
            proposal_sizes: None,
            zxid: 0,
            node_count: 0,
            latency_min_ms: 0,
            latency_avg_ms: 0.0,
            latency_max_ms: 0,
            packets_received: 0,
            packets_sent: 0,
            outstanding: 0,
            alive_connections: 0,
            connections: Vec::new(),
            sessions_with_ephemerals: Vec::new(),
            session_expiry: Vec::new(),
            connection_expiry: None,
            watches_by_session: Vec::new(),
            watches_by_path: Vec::new(),
            total_watches: 0,
            ephemerals_count: 0,
            approximate_data_size: 0,
            global_sessions: 0,
            local_sessions: 0,
            open_fds: 0,
            max_fds: 0,
            uptime_ms: 0,
            data_dir_size: 0,
            log_dir_size: 0,
            conf_lines: Vec::new(),
            conf_membership: None,
            env: Vec::new(),
            trace_mask: DEFAULT_TRACE_MASK,
            digest_log: Vec::new(),
            last_client_response_size: -1,
            min_client_response_size: -1,
            max_client_response_size: -1,
            auth_failed_count: 0,
            non_mtls_remote_conn_count: 0,
            non_mtls_local_conn_count: 0,
            outstanding_tls_handshake: 0,
            connection_drop_probability: 0.0,
            counters: Vec::new(),
            summaries: Vec::new(),
            read_per_namespace: Vec::new(),
            write_per_namespace: Vec::new(),
            extra: Vec::new(),
            quorum: None,
            quorum_gauges: Vec::new(),
            fsync_threshold_exceed_count: 0,
            fsync_us: Histogram::new(crate::stats::FSYNC_US_BOUNDS),
            batch_txns: Histogram::new(crate::stats::BATCH_TXNS_BOUNDS),
            shards: Vec::new(),
        }
    }
}
