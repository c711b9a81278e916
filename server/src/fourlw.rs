//! Four-letter words: command recognition, the whitelist, and ZooKeeper 3.8's exact text
//! formats, rendered from a plain-data [`FourLwContext`] the server fills in.
//!
//! A connection whose first four bytes, read as a big-endian int, match a command is a 4lw
//! connection: the server answers with [`render`] (or [`not_whitelisted`]) and closes.
//! `stmk` reads 8 more bytes (the new trace mask, a big-endian long) before answering.
//!
//! The version line reads `Zookeeper version: 3.8.4-ringkeeper-<crate version>, built on
//! 2026-01-01 00:00 UTC`: the same shape as ZooKeeper 3.8's `3.8.4-<git hash>, built on
//! <yyyy-MM-dd HH:mm> UTC`, so tools that take the leading `x.y.z` see 3.8.4.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Every four-letter word ZooKeeper 3.8 knows (besides the telnet close sequence).
pub const COMMANDS: &[&str] = &[
    "ruok", "srvr", "stat", "conf", "cons", "crst", "srst", "dump", "envi", "mntr", "wchs", "wchc",
    "wchp", "isro", "dirs", "gtmk", "stmk", "hash",
];

/// Telnet's interrupt-process sequence (IAC IP IAC DO, 0xfff4fffd): ZooKeeper closes the
/// connection without an answer. [`command_from_u32`] returns this name for it.
pub const TELNET_CLOSE: &str = "telnet close";

/// What every command but ruok/envi/gtmk/stmk answers when the server is not serving.
pub const ZK_NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// ZooTrace's default mask: CLIENT_REQUEST | SERVER_PACKET | SESSION | WARNING.
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// The ZooKeeper release whose behaviour Ringkeeper reproduces.
pub const ZK_VERSION: &str = "3.8.4";
/// Fixed build date printed in the version line (reproducible builds).
pub const BUILD_DATE: &str = "2026-01-01 00:00 UTC";

/// `3.8.4-ringkeeper-<crate version>, built on 2026-01-01 00:00 UTC`.
pub fn full_version() -> String {
    format!(
        "{ZK_VERSION}-ringkeeper-{}, built on {BUILD_DATE}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The command named by the first four bytes of a connection (as a big-endian int).
pub fn command_from_u32(word: i32) -> Option<&'static str> {
    if word as u32 == 0xfff4_fffd {
        return Some(TELNET_CLOSE);
    }
    let bytes = word.to_be_bytes();
    COMMANDS.iter().copied().find(|c| c.as_bytes() == bytes)
}

/// Whether `cmd` may run: exact (case-sensitive) membership, as in ZooKeeper. The config
/// module puts `srvr` in every whitelist and expands `*`.
pub fn is_allowed(cmd: &str, whitelist: &BTreeSet<String>) -> bool {
    whitelist.contains(cmd)
}

/// ZooKeeper's answer to a command that is not whitelisted.
pub fn not_whitelisted(cmd: &str) -> String {
    format!("{cmd} is not executed because it is not in the whitelist.\n")
}

/// A metric value for mntr: integers print plain, doubles as Java prints them.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Int(i64),
    Double(f64),
    Text(String),
}

impl MetricValue {
    fn render(&self) -> String {
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

/// Everything the 4lw commands print. Plain data, filled in by the server.
#[derive(Debug, Clone, PartialEq)]
pub struct FourLwContext {
    /// false: the commands answer [`ZK_NOT_SERVING`] (isro answers "null").
    pub running: bool,
    /// [`full_version`] by default.
    pub version: String,
    /// standalone | leader | follower | observer | read-only.
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
    /// More gauges (quorum ones, Ringkeeper's own), printed after the standard gauges.
    pub extra: Vec<(String, MetricValue)>,
}

impl Default for FourLwContext {
    fn default() -> Self {
        FourLwContext {
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
        }
    }
}

/// Gauges in the order ZooKeeper 3.8 prints them (its ConcurrentHashMap iteration order).
pub const MNTR_GAUGES: &[&str] = &[
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_client_response_size",
    "connection_drop_probability",
    "watch_count",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "min_client_response_size",
    "non_mtls_local_conn_count",
];

/// Counters in ZooKeeper 3.8's mntr order.
pub const MNTR_COUNTERS: &[&str] = &[
    "proposal_count",
    "watch_bytes",
    "outstanding_changes_removed",
    "throttled_ops",
    "stale_requests_dropped",
    "large_requests_rejected",
    "insecure_admin_count",
    "connection_rejected",
    "cnxn_closed_without_zk_server_running",
    "sessionless_connections_expired",
    "looking_count",
    "dead_watchers_queued",
    "stale_requests",
    "connection_drop_count",
    "learner_proposal_received_count",
    "digest_mismatches_count",
    "dead_watchers_cleared",
    "response_packet_cache_hits",
    "bytes_received_count",
    "add_dead_watcher_stall_time",
    "request_throttle_wait_count",
    "requests_not_forwarded_to_commit_processor",
    "response_packet_cache_misses",
    "ensemble_auth_success",
    "prep_processor_request_queued",
    "learner_commit_received_count",
    "stale_replies",
    "connection_request_count",
    "response_bytes",
    "ensemble_auth_fail",
    "diff_count",
    "response_packet_get_children_cache_misses",
    "connection_revalidate_count",
    "quit_leading_due_to_disloyal_voter",
    "snap_count",
    "unrecoverable_error_count",
    "unsuccessful_handshake",
    "commit_count",
    "stale_sessions_expired",
    "response_packet_get_children_cache_hits",
    "sync_processor_request_queued",
    "outstanding_changes_queued",
    "request_commit_queued",
    "ensemble_auth_skip",
    "skip_learner_request_to_next_processor_count",
    "tls_handshake_exceeded",
    "revalidate_count",
];

/// Basic summaries (avg/min/max/cnt/sum) in ZooKeeper 3.8's mntr order.
pub const MNTR_BASIC_SUMMARIES: &[&str] = &[
    "socket_closing_time",
    "proposal_process_time",
    "leader_unavailable_time",
    "node_created_watch_count",
    "session_queues_drained",
    "write_commit_proc_req_queued",
    "connection_token_deficit",
    "read_commit_proc_req_queued",
    "node_deleted_watch_count",
    "startup_txns_load_time",
    "sync_processor_queue_size",
    "follower_sync_time",
    "prep_processor_queue_size",
    "fsynctime",
    "inflight_snap_count",
    "reads_issued_from_session_queue",
    "learner_request_processor_queue_size",
    "snapshottime",
    "unavailable_time",
    "startup_txns_loaded",
    "reads_after_write_in_session_queue",
    "requests_in_session_queue",
    "write_commit_proc_issued",
    "prep_process_time",
    "pending_session_queue_size",
    "time_waiting_empty_pool_in_commit_processor_read_ms",
    "commit_process_time",
    "dbinittime",
    "inflight_diff_count",
    "netty_queued_buffer_capacity",
    "election_time",
    "commit_commit_proc_req_queued",
    "sync_processor_batch_size",
    "node_children_watch_count",
    "write_batch_time_in_commit_processor",
    "read_commit_proc_issued",
    "concurrent_request_processing_in_commit_processor",
    "observer_sync_time",
    "node_changed_watch_count",
    "sync_process_time",
    "startup_snap_load_time",
];

/// Summaries that also print p50/p95/p99/p999, in ZooKeeper 3.8's mntr order.
pub const MNTR_PERCENTILE_SUMMARIES: &[&str] = &[
    "prep_processor_queue_time_ms",
    "jvm_pause_time_ms",
    "close_session_prep_time",
    "read_commitproc_time_ms",
    "updatelatency",
    "local_write_committed_time_ms",
    "request_throttle_queue_time_ms",
    "readlatency",
    "quorum_ack_latency",
    "om_commit_process_time_ms",
    "read_final_proc_time_ms",
    "commit_propagation_latency",
    "dead_watchers_cleaner_latency",
    "write_final_proc_time_ms",
    "proposal_ack_creation_latency",
    "proposal_latency",
    "om_proposal_process_time_ms",
    "sync_processor_queue_and_flush_time_ms",
    "propagation_latency",
    "server_write_committed_time_ms",
    "sync_processor_queue_time_ms",
    "sync_processor_queue_flush_time_ms",
    "write_commitproc_time_ms",
];

/// Java's Double.toString: `0.0`, `2.0194`, `1.0E7`, `1.0E-4`.
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let a = x.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let s = format!("{x:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        if m.contains('.') {
            format!("{m}E{e}")
        } else {
            format!("{m}.0E{e}")
        }
    }
}

/// java.util.Date.toString in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        WD[days.rem_euclid(7) as usize],
        MON[(month - 1) as usize],
        day,
        tod / 3600,
        tod % 3600 / 60,
        tod % 60,
        year
    )
}

/// Long.toHexString.
fn hex(v: i64) -> String {
    format!("{:x}", v as u64)
}

/// InetSocketAddress.toString of a resolved address without host name (JDK 14+):
/// `/127.0.0.1:5000`, `/[0:0:0:0:0:0:0:1]:5000`.
fn java_socket_addr(a: &SocketAddr) -> String {
    let ip = match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => format!("/{}:{}", v4, a.port()),
        IpAddr::V6(v6) => {
            let segs: Vec<String> = v6.segments().iter().map(|s| format!("{s:x}")).collect();
            format!("/[{}]:{}", segs.join(":"), a.port())
        }
    }
}

/// ServerCnxn.dumpConnectionInfo (no trailing newline).
pub fn connection_info(c: &ConnStat, brief: bool) -> String {
    let mut s = String::new();
    let ops = if c.interest_ops == 0 {
        "0".to_string()
    } else {
        format!("{:x}", c.interest_ops)
    };
    let _ = write!(
        s,
        " {}[{}](queued={},recved={},sent={}",
        java_socket_addr(&c.remote),
        ops,
        c.queued,
        c.received,
        c.sent
    );
    if !brief && c.session_id != 0 {
        let _ = write!(
            s,
            ",sid=0x{},lop={},est={},to={}",
            hex(c.session_id),
            c.last_op,
            c.established_ms,
            c.timeout_ms
        );
        if c.last_cxid >= 0 {
            let _ = write!(s, ",lcxid=0x{}", hex(c.last_cxid));
        }
        let _ = write!(
            s,
            ",lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
            hex(c.last_zxid),
            c.last_response_ms,
            c.last_latency,
            c.min_lat,
            c.avg_lat,
            c.max_lat
        );
    }
    s.push(')');
    s
}

fn srvr(ctx: &FourLwContext, stat: bool) -> String {
    let mut s = format!("Zookeeper version: {}\n", ctx.version);
    if ctx.read_only {
        s.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if stat {
        s.push_str("Clients:\n");
        for c in &ctx.connections {
            s.push_str(&connection_info(c, true));
            s.push('\n');
        }
        s.push('\n');
    }
    let _ = write!(
        s,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{}\nMode: {}\nNode count: {}\n",
        ctx.latency_min_ms,
        java_double(ctx.latency_avg_ms),
        ctx.latency_max_ms,
        ctx.packets_received,
        ctx.packets_sent,
        ctx.alive_connections,
        ctx.outstanding,
        hex(ctx.zxid),
        ctx.mode,
        ctx.node_count
    );
    if let Some((last, min, max)) = ctx.proposal_sizes {
        let _ = writeln!(s, "Proposal sizes last/min/max: {last}/{min}/{max}");
    }
    s
}

fn dump(ctx: &FourLwContext) -> String {
    let mut s = String::from("SessionTracker dump:\n");
    let mut buckets: Vec<&(i64, Vec<i64>)> = ctx.session_expiry.iter().collect();
    buckets.sort_by_key(|b| b.0);
    let total: usize = buckets.iter().map(|b| b.1.len()).sum();
    let _ = writeln!(s, "Session Sets ({})/({}):", buckets.len(), total);
    for (t, ids) in buckets {
        let _ = writeln!(s, "{} expire at {}:", ids.len(), java_date(*t));
        for id in ids {
            let _ = writeln!(s, "\t0x{}", hex(*id));
        }
    }
    s.push_str("ephemeral nodes dump:\n");
    let _ = writeln!(
        s,
        "Sessions with Ephemerals ({}):",
        ctx.sessions_with_ephemerals.len()
    );
    for (sid, paths) in &ctx.sessions_with_ephemerals {
        let _ = writeln!(s, "0x{}:", hex(*sid));
        for p in paths {
            let _ = writeln!(s, "\t{p}");
        }
    }
    s.push_str("Connections dump:\n");
    if let Some(cx) = &ctx.connection_expiry {
        let mut buckets: Vec<&(i64, Vec<usize>)> = cx.iter().collect();
        buckets.sort_by_key(|b| b.0);
        let total: usize = buckets.iter().map(|b| b.1.len()).sum();
        let _ = writeln!(s, "Connections Sets ({})/({}):", buckets.len(), total);
        for (t, idx) in buckets {
            let _ = writeln!(s, "{} expire at {}:", idx.len(), java_date(*t));
            for &i in idx {
                if let Some(c) = ctx.connections.get(i) {
                    let _ = writeln!(s, "\t{}", connection_info(c, false));
                }
            }
        }
    }
    s
}

fn mntr(ctx: &FourLwContext) -> String {
    let mut s = String::new();
    let mut out = |k: &str, v: String| {
        let _ = writeln!(s, "zk_{k}\t{v}");
    };
    use MetricValue::{Double, Int, Text};
    out("version", Text(ctx.version.clone()).render());
    out("server_state", Text(ctx.mode.clone()).render());
    if let Some(ps) = &ctx.peer_state {
        out("peer_state", Text(ps.clone()).render());
    }
    let i = |v: u64| Int(v as i64);
    for &g in MNTR_GAUGES {
        let v = match g {
            "ephemerals_count" => i(ctx.ephemerals_count),
            "num_alive_connections" => i(ctx.alive_connections),
            "avg_latency" => Double(ctx.latency_avg_ms),
            "outstanding_requests" => i(ctx.outstanding),
            "znode_count" => i(ctx.node_count),
            "global_sessions" => i(ctx.global_sessions),
            "non_mtls_remote_conn_count" => Int(ctx.non_mtls_remote_conn_count),
            "last_client_response_size" => Int(ctx.last_client_response_size),
            "packets_sent" => i(ctx.packets_sent),
            "packets_received" => i(ctx.packets_received),
            "max_client_response_size" => Int(ctx.max_client_response_size),
            "connection_drop_probability" => Double(ctx.connection_drop_probability),
            "watch_count" => i(ctx.total_watches),
            "auth_failed_count" => Int(ctx.auth_failed_count),
            "min_latency" => Int(ctx.latency_min_ms),
            "max_file_descriptor_count" => Int(ctx.max_fds),
            "approximate_data_size" => i(ctx.approximate_data_size),
            "open_file_descriptor_count" => Int(ctx.open_fds),
            "local_sessions" => i(ctx.local_sessions),
            "uptime" => Int(ctx.uptime_ms),
            "max_latency" => Int(ctx.latency_max_ms),
            "outstanding_tls_handshake" => Int(ctx.outstanding_tls_handshake),
            "min_client_response_size" => Int(ctx.min_client_response_size),
            "non_mtls_local_conn_count" => Int(ctx.non_mtls_local_conn_count),
            _ => Int(0),
        };
        out(g, v.render());
    }
    for (k, v) in &ctx.extra {
        out(k, v.render());
    }
    for &c in MNTR_COUNTERS {
        let v = ctx
            .counters
            .iter()
            .find(|(k, _)| k == c)
            .map_or(0, |(_, v)| *v);
        out(c, v.to_string());
    }
    let find = |name: &str| {
        ctx.summaries
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(Summary::default, |(_, v)| *v)
    };
    fn basic(out: &mut dyn FnMut(&str, String), name: &str, sm: &Summary) {
        out(&format!("avg_{name}"), java_double(sm.avg()));
        out(&format!("min_{name}"), sm.min.to_string());
        out(&format!("max_{name}"), sm.max.to_string());
        out(&format!("cnt_{name}"), sm.count.to_string());
        out(&format!("sum_{name}"), sm.sum.to_string());
    }
    for &name in MNTR_BASIC_SUMMARIES {
        basic(&mut out, name, &find(name));
    }
    for &name in MNTR_PERCENTILE_SUMMARIES {
        let sm = find(name);
        basic(&mut out, name, &sm);
        out(&format!("p50_{name}"), sm.p50.to_string());
        out(&format!("p95_{name}"), sm.p95.to_string());
        out(&format!("p99_{name}"), sm.p99.to_string());
        out(&format!("p999_{name}"), sm.p999.to_string());
    }
    for (ns, sm) in &ctx.read_per_namespace {
        basic(&mut out, &format!("{ns}_read_per_namespace"), sm);
    }
    for (ns, sm) in &ctx.write_per_namespace {
        basic(&mut out, &format!("{ns}_write_per_namespace"), sm);
    }
    s
}

/// The answer to `cmd` (a [`COMMANDS`] entry), in ZooKeeper 3.8's exact format. Commands
/// with side effects (`crst`, `srst`, `stmk`) only print: the caller performs the reset or
/// sets the mask (and puts the new mask in `ctx.trace_mask`) first. Unknown commands and
/// [`TELNET_CLOSE`] render as the empty string.
pub fn render(cmd: &str, ctx: &FourLwContext) -> String {
    match cmd {
        "ruok" => return "imok".into(),
        "envi" => {
            let mut s = String::from("Environment:\n");
            for (k, v) in &ctx.env {
                let _ = writeln!(s, "{k}={v}");
            }
            return s;
        }
        "gtmk" | "stmk" => return ctx.trace_mask.to_string(),
        "isro" => {
            return if !ctx.running {
                "null"
            } else if ctx.read_only {
                "ro"
            } else {
                "rw"
            }
            .into()
        }
        _ => {}
    }
    if !COMMANDS.contains(&cmd) {
        return String::new();
    }
    if !ctx.running {
        return if cmd == "hash" {
            ZK_NOT_SERVING.to_string()
        } else {
            format!("{ZK_NOT_SERVING}\n")
        };
    }
    match cmd {
        "srvr" => srvr(ctx, false),
        "stat" => srvr(ctx, true),
        "cons" => {
            let mut s = String::new();
            for c in &ctx.connections {
                s.push_str(&connection_info(c, false));
                s.push('\n');
            }
            s.push('\n');
            s
        }
        "conf" => {
            let mut s = String::new();
            for (k, v) in &ctx.conf_lines {
                let _ = writeln!(s, "{k}={v}");
            }
            if let Some(m) = &ctx.conf_membership {
                s.push_str("membership: \n");
                s.push_str(m);
            }
            s
        }
        "crst" => "Connection stats reset.\n".into(),
        "srst" => "Server stats reset.\n".into(),
        "dump" => dump(ctx),
        "mntr" => mntr(ctx),
        "wchs" => {
            let total: usize = ctx.watches_by_session.iter().map(|w| w.1.len()).sum();
            format!(
                "{} connections watching {} paths\nTotal watches:{}\n",
                ctx.watches_by_session.len(),
                ctx.watches_by_path.len(),
                total
            )
        }
        "wchc" => {
            let mut s = String::new();
            for (sid, paths) in &ctx.watches_by_session {
                let _ = writeln!(s, "0x{}", hex(*sid));
                for p in paths {
                    let _ = writeln!(s, "\t{p}");
                }
            }
            s.push('\n');
            s
        }
        "wchp" => {
            let mut s = String::new();
            for (path, sids) in &ctx.watches_by_path {
                let _ = writeln!(s, "{path}");
                for sid in sids {
                    let _ = writeln!(s, "\t0x{}", hex(*sid));
                }
            }
            s.push('\n');
            s
        }
        "dirs" => format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            ctx.data_dir_size, ctx.log_dir_size
        ),
        "hash" => {
            let mut s = String::new();
            for (zxid, digest) in &ctx.digest_log {
                let _ = writeln!(s, "{}: {}", hex(*zxid), digest);
            }
            s
        }
        _ => String::new(),
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn meminfo_mb(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// `envi` entries in ZooKeeper's order (Environment.list). There is no JVM: the `java.*`
/// entries print `<NA>` (ZooKeeper's own fallback) except java.io.tmpdir; `os.memory.*` are
/// the machine's (free = MemAvailable, max = total = MemTotal), in MB.
pub fn default_env(version: &str) -> Vec<(String, String)> {
    let na = || "<NA>".to_string();
    let env_or_na = |k: &str| std::env::var(k).unwrap_or_else(|_| na());
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64".to_string(),
        other => other.to_string(),
    };
    let os_name = match std::env::consts::OS {
        "linux" => "Linux".to_string(),
        other => other.to_string(),
    };
    let mb = |v: Option<u64>| v.map_or_else(na, |v| format!("{v}MB"));
    vec![
        ("zookeeper.version".into(), version.to_string()),
        (
            "host.name".into(),
            read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(na),
        ),
        ("java.version".into(), na()),
        ("java.vendor".into(), na()),
        ("java.home".into(), na()),
        ("java.class.path".into(), na()),
        ("java.library.path".into(), na()),
        (
            "java.io.tmpdir".into(),
            std::env::temp_dir().display().to_string(),
        ),
        ("java.compiler".into(), na()),
        ("os.name".into(), os_name),
        ("os.arch".into(), arch),
        (
            "os.version".into(),
            read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(na),
        ),
        ("user.name".into(), env_or_na("USER")),
        ("user.home".into(), env_or_na("HOME")),
        (
            "user.dir".into(),
            std::env::current_dir().map_or_else(|_| na(), |d| d.display().to_string()),
        ),
        ("os.memory.free".into(), mb(meminfo_mb("MemAvailable:"))),
        ("os.memory.max".into(), mb(meminfo_mb("MemTotal:"))),
        ("os.memory.total".into(), mb(meminfo_mb("MemTotal:"))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(s: &str) -> i32 {
        i32::from_be_bytes(s.as_bytes().try_into().unwrap())
    }

    fn conn(sid: i64) -> ConnStat {
        ConnStat {
            remote: "127.0.0.1:50712".parse().unwrap(),
            interest_ops: 1,
            queued: 0,
            received: 12,
            sent: 11,
            session_id: sid,
            last_op: "GETD".into(),
            established_ms: 1_700_000_000_123,
            timeout_ms: 30000,
            last_cxid: 10,
            last_zxid: 0x1f,
            last_response_ms: 1_700_000_005_000,
            last_latency: 1,
            min_lat: 0,
            avg_lat: 0,
            max_lat: 3,
        }
    }

    fn ctx() -> FourLwContext {
        FourLwContext {
            version: "3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC".into(),
            zxid: 0x1f,
            node_count: 7,
            latency_min_ms: 0,
            latency_avg_ms: round4(1.0 / 3.0),
            latency_max_ms: 12,
            packets_received: 100,
            packets_sent: 99,
            outstanding: 0,
            alive_connections: 2,
            connections: vec![conn(0x1000001a2b30000), {
                let mut c = conn(0);
                c.remote = "[::1]:40000".parse().unwrap();
                c.interest_ops = 0;
                c.received = 1;
                c.sent = 0;
                c
            }],
            ..FourLwContext::default()
        }
    }

    #[test]
    fn command_words() {
        for c in COMMANDS {
            assert_eq!(command_from_u32(word(c)), Some(*c));
        }
        assert_eq!(command_from_u32(word("RUOK")), None);
        assert_eq!(command_from_u32(0x0000_002c), None);
        assert_eq!(command_from_u32(0xfff4_fffd_u32 as i32), Some(TELNET_CLOSE));
        assert_eq!(render(TELNET_CLOSE, &ctx()), "");
    }

    #[test]
    fn whitelist() {
        let wl: BTreeSet<String> = ["srvr".to_string(), "mntr".to_string()].into();
        assert!(is_allowed("srvr", &wl));
        assert!(is_allowed("mntr", &wl));
        assert!(!is_allowed("stat", &wl));
        assert!(!is_allowed("MNTR", &wl));
        assert_eq!(
            not_whitelisted("stat"),
            "stat is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn version_line() {
        assert_eq!(
            full_version(),
            format!(
                "3.8.4-ringkeeper-{}, built on 2026-01-01 00:00 UTC",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(FourLwContext::default().version, full_version());
    }

    #[test]
    fn java_formats() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(2.0), "2.0");
        assert_eq!(java_double(2.0194), "2.0194");
        assert_eq!(java_double(0.3333), "0.3333");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12345678.9), "1.23456789E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(-1.5), "-1.5");
        assert_eq!(round4(1.0 / 3.0), 0.3333);
        assert_eq!(round4(2.00005), 2.0001);
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_767_225_600_000), "Thu Jan 01 00:00:00 UTC 2026");
        assert_eq!(
            java_date(951_782_400_000 + 3_723_000),
            "Tue Feb 29 01:02:03 UTC 2000"
        );
        assert_eq!(hex(-1), "ffffffffffffffff");
    }

    #[test]
    fn ruok_isro_gtmk() {
        let mut c = ctx();
        assert_eq!(render("ruok", &c), "imok");
        assert_eq!(render("isro", &c), "rw");
        assert_eq!(render("gtmk", &c), "306");
        c.trace_mask = 0x3ff;
        assert_eq!(render("stmk", &c), "1023");
        c.read_only = true;
        assert_eq!(render("isro", &c), "ro");
        c.running = false;
        assert_eq!(render("isro", &c), "null");
        assert_eq!(render("ruok", &c), "imok");
    }

    #[test]
    fn srvr_exact() {
        assert_eq!(
            render("srvr", &ctx()),
            "Zookeeper version: 3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC\n\
             Latency min/avg/max: 0/0.3333/12\n\
             Received: 100\n\
             Sent: 99\n\
             Connections: 2\n\
             Outstanding: 0\n\
             Zxid: 0x1f\n\
             Mode: standalone\n\
             Node count: 7\n"
        );
        let mut c = ctx();
        c.mode = "leader".into();
        c.proposal_sizes = Some((36, 32, 120));
        c.read_only = false;
        assert!(render("srvr", &c)
            .ends_with("Mode: leader\nNode count: 7\nProposal sizes last/min/max: 36/32/120\n"));
        c.read_only = true;
        assert!(render("srvr", &c)
            .contains("UTC\nREAD-ONLY mode; serving only read-only clients\nLatency"));
    }

    #[test]
    fn stat_exact() {
        assert_eq!(
            render("stat", &ctx()),
            "Zookeeper version: 3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC\n\
             Clients:\n \
             /127.0.0.1:50712[1](queued=0,recved=12,sent=11)\n \
             /[0:0:0:0:0:0:0:1]:40000[0](queued=0,recved=1,sent=0)\n\
             \n\
             Latency min/avg/max: 0/0.3333/12\n\
             Received: 100\n\
             Sent: 99\n\
             Connections: 2\n\
             Outstanding: 0\n\
             Zxid: 0x1f\n\
             Mode: standalone\n\
             Node count: 7\n"
        );
    }

    #[test]
    fn cons_exact() {
        let mut c = ctx();
        let mut fresh = conn(0x2000000000001);
        fresh.last_cxid = -1;
        fresh.last_zxid = -1;
        fresh.last_op = "NA".into();
        c.connections.push(fresh);
        assert_eq!(
            render("cons", &c),
            " /127.0.0.1:50712[1](queued=0,recved=12,sent=11,sid=0x1000001a2b30000,lop=GETD,est=1700000000123,to=30000,lcxid=0xa,lzxid=0x1f,lresp=1700000005000,llat=1,minlat=0,avglat=0,maxlat=3)\n \
             /[0:0:0:0:0:0:0:1]:40000[0](queued=0,recved=1,sent=0)\n \
             /127.0.0.1:50712[1](queued=0,recved=12,sent=11,sid=0x2000000000001,lop=NA,est=1700000000123,to=30000,lzxid=0xffffffffffffffff,lresp=1700000005000,llat=1,minlat=0,avglat=0,maxlat=3)\n\
             \n"
        );
        c.connections.clear();
        assert_eq!(render("cons", &c), "\n");
    }

    #[test]
    fn conf_exact() {
        let mut c = ctx();
        c.conf_lines = vec![
            ("clientPort".into(), "2181".into()),
            ("secureClientPort".into(), "-1".into()),
            ("serverId".into(), "0".into()),
        ];
        assert_eq!(
            render("conf", &c),
            "clientPort=2181\nsecureClientPort=-1\nserverId=0\n"
        );
        c.conf_membership = Some("server.1=a:1:2:participant\nversion=0".into());
        assert_eq!(
            render("conf", &c),
            "clientPort=2181\nsecureClientPort=-1\nserverId=0\nmembership: \nserver.1=a:1:2:participant\nversion=0"
        );
    }

    #[test]
    fn conf_from_config_module() {
        let (cfg, _) = crate::config::parse(
            "dataDir=/var/zk\nclientPort=2181\ntickTime=2000\n",
            std::path::Path::new("zoo.cfg"),
        )
        .unwrap();
        let c = FourLwContext {
            conf_lines: cfg.conf_lines(4096, 8192),
            conf_membership: cfg.membership(),
            ..ctx()
        };
        assert_eq!(
            render("conf", &c),
            "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/zk/version-2\ndataDirSize=4096\n\
             dataLogDir=/var/zk/version-2\ndataLogSize=8192\ntickTime=2000\nmaxClientCnxns=60\n\
             minSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n"
        );
    }

    #[test]
    fn dump_exact() {
        let mut c = ctx();
        c.session_expiry = vec![
            (1_767_225_612_000, vec![0x100000000000002]),
            (
                1_767_225_606_000,
                vec![0x100000000000000, 0x100000000000001],
            ),
        ];
        c.sessions_with_ephemerals = vec![
            (0x100000000000000, vec!["/lock/a".into(), "/lock/b".into()]),
            (0x100000000000001, vec![]),
        ];
        assert_eq!(
            render("dump", &c),
            "SessionTracker dump:\n\
             Session Sets (2)/(3):\n\
             2 expire at Thu Jan 01 00:00:06 UTC 2026:\n\
             \t0x100000000000000\n\
             \t0x100000000000001\n\
             1 expire at Thu Jan 01 00:00:12 UTC 2026:\n\
             \t0x100000000000002\n\
             ephemeral nodes dump:\n\
             Sessions with Ephemerals (2):\n\
             0x100000000000000:\n\
             \t/lock/a\n\
             \t/lock/b\n\
             0x100000000000001:\n\
             Connections dump:\n"
        );
        c.session_expiry.clear();
        c.sessions_with_ephemerals.clear();
        c.connection_expiry = Some(vec![(1_767_225_610_000, vec![0])]);
        assert_eq!(
            render("dump", &c),
            "SessionTracker dump:\nSession Sets (0)/(0):\nephemeral nodes dump:\nSessions with Ephemerals (0):\n\
             Connections dump:\nConnections Sets (1)/(1):\n1 expire at Thu Jan 01 00:00:10 UTC 2026:\n\
             \t /127.0.0.1:50712[1](queued=0,recved=12,sent=11,sid=0x1000001a2b30000,lop=GETD,est=1700000000123,to=30000,lcxid=0xa,lzxid=0x1f,lresp=1700000005000,llat=1,minlat=0,avglat=0,maxlat=3)\n"
        );
    }

    #[test]
    fn envi_exact() {
        let mut c = ctx();
        c.env = vec![
            ("zookeeper.version".into(), c.version.clone()),
            ("host.name".into(), "vm".into()),
        ];
        assert_eq!(
            render("envi", &c),
            "Environment:\nzookeeper.version=3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC\nhost.name=vm\n"
        );
        let env = default_env("v");
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "zookeeper.version",
                "host.name",
                "java.version",
                "java.vendor",
                "java.home",
                "java.class.path",
                "java.library.path",
                "java.io.tmpdir",
                "java.compiler",
                "os.name",
                "os.arch",
                "os.version",
                "user.name",
                "user.home",
                "user.dir",
                "os.memory.free",
                "os.memory.max",
                "os.memory.total",
            ]
        );
        assert_eq!(env[0].1, "v");
    }

    #[test]
    fn watches_exact() {
        let mut c = ctx();
        c.watches_by_session = vec![
            (0x100000000000000, vec!["/a".into(), "/b".into()]),
            (0x100000000000001, vec!["/a".into()]),
        ];
        c.watches_by_path = vec![
            ("/a".into(), vec![0x100000000000000, 0x100000000000001]),
            ("/b".into(), vec![0x100000000000000]),
        ];
        assert_eq!(
            render("wchs", &c),
            "2 connections watching 2 paths\nTotal watches:3\n"
        );
        assert_eq!(
            render("wchc", &c),
            "0x100000000000000\n\t/a\n\t/b\n0x100000000000001\n\t/a\n\n"
        );
        assert_eq!(
            render("wchp", &c),
            "/a\n\t0x100000000000000\n\t0x100000000000001\n/b\n\t0x100000000000000\n\n"
        );
        c.watches_by_session.clear();
        c.watches_by_path.clear();
        assert_eq!(
            render("wchs", &c),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        assert_eq!(render("wchc", &c), "\n");
    }

    #[test]
    fn small_commands_exact() {
        let mut c = ctx();
        c.data_dir_size = 1234;
        c.log_dir_size = 67108880;
        assert_eq!(
            render("dirs", &c),
            "datadir_size: 1234\nlogdir_size: 67108880\n"
        );
        assert_eq!(render("crst", &c), "Connection stats reset.\n");
        assert_eq!(render("srst", &c), "Server stats reset.\n");
        assert_eq!(render("hash", &c), "");
        c.digest_log = vec![(0x100000001, 123456789), (0x100000002, -5)];
        assert_eq!(render("hash", &c), "100000001: 123456789\n100000002: -5\n");
        assert_eq!(render("nope", &c), "");
    }

    #[test]
    fn not_serving() {
        let mut c = ctx();
        c.running = false;
        for cmd in [
            "srvr", "stat", "conf", "cons", "crst", "srst", "dump", "mntr", "wchs", "wchc", "wchp",
            "dirs",
        ] {
            assert_eq!(
                render(cmd, &c),
                "This ZooKeeper instance is not currently serving requests\n",
                "{cmd}"
            );
        }
        assert_eq!(render("hash", &c), ZK_NOT_SERVING);
        assert!(render("envi", &c).starts_with("Environment:\n"));
    }

    #[test]
    fn mntr_exact_head_and_all_keys() {
        let mut c = ctx();
        c.ephemerals_count = 3;
        c.global_sessions = 2;
        c.total_watches = 5;
        c.approximate_data_size = 440;
        c.open_fds = 60;
        c.max_fds = 1048576;
        c.uptime_ms = 86_400_000;
        c.counters = vec![
            ("snap_count".into(), 4),
            ("bytes_received_count".into(), 900),
        ];
        c.summaries = vec![
            (
                "fsynctime".into(),
                Summary {
                    count: 3,
                    sum: 10,
                    min: 1,
                    max: 6,
                    ..Summary::default()
                },
            ),
            (
                "readlatency".into(),
                Summary {
                    count: 4,
                    sum: 8,
                    min: 1,
                    max: 4,
                    p50: 2,
                    p95: 4,
                    p99: 4,
                    p999: 4,
                },
            ),
        ];
        c.write_per_namespace = vec![(
            "app".into(),
            Summary {
                count: 1,
                sum: 20,
                min: 20,
                max: 20,
                ..Summary::default()
            },
        )];
        c.extra = vec![("ringkeeper_shards".into(), MetricValue::Int(2))];
        let out = render("mntr", &c);
        let head: Vec<&str> = out.lines().take(27).collect();
        assert_eq!(
            head,
            vec![
                "zk_version\t3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC",
                "zk_server_state\tstandalone",
                "zk_ephemerals_count\t3",
                "zk_num_alive_connections\t2",
                "zk_avg_latency\t0.3333",
                "zk_outstanding_requests\t0",
                "zk_znode_count\t7",
                "zk_global_sessions\t2",
                "zk_non_mtls_remote_conn_count\t0",
                "zk_last_client_response_size\t-1",
                "zk_packets_sent\t99",
                "zk_packets_received\t100",
                "zk_max_client_response_size\t-1",
                "zk_connection_drop_probability\t0.0",
                "zk_watch_count\t5",
                "zk_auth_failed_count\t0",
                "zk_min_latency\t0",
                "zk_max_file_descriptor_count\t1048576",
                "zk_approximate_data_size\t440",
                "zk_open_file_descriptor_count\t60",
                "zk_local_sessions\t0",
                "zk_uptime\t86400000",
                "zk_max_latency\t12",
                "zk_outstanding_tls_handshake\t0",
                "zk_min_client_response_size\t-1",
                "zk_non_mtls_local_conn_count\t0",
                "zk_ringkeeper_shards\t2",
            ]
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines
            .iter()
            .all(|l| l.starts_with("zk_") && l.matches('\t').count() == 1));
        assert_eq!(lines[27], "zk_proposal_count\t0");
        assert!(lines.contains(&"zk_snap_count\t4"));
        assert!(lines.contains(&"zk_bytes_received_count\t900"));
        let fsync: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.ends_with("_fsynctime") || l.contains("_fsynctime\t"))
            .collect();
        assert_eq!(
            fsync,
            vec![
                "zk_avg_fsynctime\t3.3333",
                "zk_min_fsynctime\t1",
                "zk_max_fsynctime\t6",
                "zk_cnt_fsynctime\t3",
                "zk_sum_fsynctime\t10",
            ]
        );
        let rl: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("_readlatency\t"))
            .collect();
        assert_eq!(
            rl,
            vec![
                "zk_avg_readlatency\t2.0",
                "zk_min_readlatency\t1",
                "zk_max_readlatency\t4",
                "zk_cnt_readlatency\t4",
                "zk_sum_readlatency\t8",
                "zk_p50_readlatency\t2",
                "zk_p95_readlatency\t4",
                "zk_p99_readlatency\t4",
                "zk_p999_readlatency\t4",
            ]
        );
        assert!(lines.contains(&"zk_avg_updatelatency\t0.0"));
        assert!(lines.contains(&"zk_p999_updatelatency\t0"));
        assert_eq!(
            &lines[lines.len() - 5..],
            &[
                "zk_avg_app_write_per_namespace\t20.0",
                "zk_min_app_write_per_namespace\t20",
                "zk_max_app_write_per_namespace\t20",
                "zk_cnt_app_write_per_namespace\t1",
                "zk_sum_app_write_per_namespace\t20",
            ]
        );
        // 2 + 24 gauges + 1 extra + 47 counters + 41*5 + 23*9 + 5 namespace lines.
        assert_eq!(lines.len(), 2 + 24 + 1 + 47 + 41 * 5 + 23 * 9 + 5);
        // Every key ZK-PROTOCOL section 8 lists is present.
        for k in MNTR_GAUGES.iter().chain(MNTR_COUNTERS) {
            assert!(out.contains(&format!("\nzk_{k}\t")), "{k}");
        }
        for k in MNTR_BASIC_SUMMARIES.iter().chain(MNTR_PERCENTILE_SUMMARIES) {
            for p in ["avg", "min", "max", "cnt", "sum"] {
                assert!(out.contains(&format!("\nzk_{p}_{k}\t")), "{p}_{k}");
            }
        }
        for k in MNTR_PERCENTILE_SUMMARIES {
            for p in ["p50", "p95", "p99", "p999"] {
                assert!(out.contains(&format!("\nzk_{p}_{k}\t")), "{p}_{k}");
            }
        }
    }

    #[test]
    fn mntr_quorum_peer_state() {
        let mut c = ctx();
        c.mode = "leader".into();
        c.peer_state = Some("leading - broadcast".into());
        let out = render("mntr", &c);
        let head: Vec<&str> = out.lines().take(3).collect();
        assert_eq!(
            head[1..],
            [
                "zk_server_state\tleader",
                "zk_peer_state\tleading - broadcast"
            ]
        );
    }
}
