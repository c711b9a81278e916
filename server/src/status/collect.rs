//! Fills a [`Snapshot`] from the pipeline's state: the engine, the connection counters and
//! every shard's watches. Only what the command needs ([`Need`]) beyond the scalar figures
//! is collected, and nothing here reads the disk or /proc.

use super::quorum::{self, QuorumStatus};
use super::snapshot::{round4, ConnStat, Need, ShardLoad, Snapshot, Summary};
use crate::stats::{ConnStats, Latency, ServerStats};
use crate::watches::ShardWatches;
use ringkeeper_engine::proto::op;
use ringkeeper_engine::{ConnId, Engine};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Instant;

/// The pipeline state a snapshot is read from (borrowed for the moment of collecting).
pub struct Sources<'a> {
    pub engine: &'a Engine,
    pub conns: &'a HashMap<ConnId, ConnStats>,
    pub stats: &'a ServerStats,
    pub watches: &'a [ShardWatches],
    pub started: Instant,
    /// This server's place in its ensemble; None standalone.
    pub quorum: Option<&'a QuorumStatus>,
}

/// FinalRequestProcessor's `lastOp` names.
fn last_op_name(opcode: Option<i32>) -> &'static str {
    match opcode {
        None => "NA",
        Some(op::PING) => "PING",
        Some(op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL) => "CREA",
        Some(op::DELETE) => "DELE",
        Some(op::EXISTS) => "EXIS",
        Some(op::GET_DATA) => "GETD",
        Some(op::SET_DATA) => "SETD",
        Some(op::GET_ACL) => "GETA",
        Some(op::SET_ACL) => "SETA",
        Some(op::GET_CHILDREN | op::GET_CHILDREN2) => "GETC",
        Some(op::SYNC) => "SYNC",
        Some(op::CHECK) => "CHEC",
        Some(op::MULTI) => "MULT",
        Some(op::MULTI_READ) => "MLTR",
        Some(op::RECONFIG) => "RECO",
        Some(op::CHECK_WATCHES) => "CHKW",
        Some(op::REMOVE_WATCHES) => "REMW",
        Some(op::AUTH) => "AUTH",
        Some(op::SET_WATCHES | op::SET_WATCHES2) => "SETW",
        Some(op::SASL) => "SASL",
        Some(op::GET_EPHEMERALS) => "GETE",
        Some(op::GET_ALL_CHILDREN_NUMBER) => "GTCN",
        Some(op::ADD_WATCH) => "ADDW",
        Some(op::WHO_AM_I) => "HOMI",
        Some(op::CLOSE_SESSION) => "CLOS",
        Some(_) => "NA",
    }
}

fn summary(l: &Latency, scale_us: u64) -> Summary {
    Summary {
        count: l.count as i64,
        sum: (l.sum_us / scale_us) as i64,
        min: (l.min_us / scale_us) as i64,
        max: (l.max_us / scale_us) as i64,
        ..Summary::default()
    }
}

/// The connection asking (`asking`: a four-letter word's connection) is listed among the
/// live connections too, as ZooKeeper lists it; an AdminServer request is not a connection.
pub fn collect(src: &Sources, need: Need, asking: Option<SocketAddr>) -> Snapshot {
    let engine = src.engine;
    let tree = engine.tree();
    let sessions = engine.sessions();
    let wants_sessions = need.contains(Need::CONNECTIONS) || need.contains(Need::WATCHES);
    let conn_session: BTreeMap<u64, i64> = if wants_sessions {
        src.conns
            .keys()
            .filter_map(|c| engine.conn(*c).map(|s| (*c, s.session_id)))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut connections: Vec<ConnStat> = Vec::new();
    if need.contains(Need::CONNECTIONS) {
        connections = src
            .conns
            .iter()
            .map(|(id, c)| conn_stat(c, conn_session.get(id).copied().unwrap_or(0), engine))
            .collect();
        if let Some(remote) = asking {
            connections.push(asking_conn(remote));
        }
    }
    let mut snap = Snapshot::default();
    if need.contains(Need::SESSIONS) {
        let mut with_ephemerals: Vec<(i64, Vec<String>)> = tree
            .ephemerals()
            .iter()
            .map(|(s, paths)| (*s, paths.iter().cloned().collect()))
            .collect();
        with_ephemerals.sort();
        snap.sessions_with_ephemerals = with_ephemerals;
        snap.session_expiry = sessions
            .buckets()
            .map(|(t, ids)| (*t, ids.iter().copied().collect()))
            .collect();
    }
    if need.contains(Need::WATCHES) {
        let watches = crate::watches::report(src.watches);
        let sid = |c: &u64| conn_session.get(c).copied().unwrap_or(0);
        snap.watches_by_session = watches
            .paths_by_conn
            .into_iter()
            .map(|(c, paths)| (sid(&c), paths.into_iter().collect()))
            .collect();
        snap.watches_by_path = watches
            .conns_by_path
            .into_iter()
            .map(|(path, conns)| (path, conns.iter().map(sid).collect()))
            .collect();
        snap.total_watches = watches.count as u64;
    } else if need.contains(Need::WATCH_COUNT) {
        snap.total_watches = crate::watches::count(src.watches) as u64;
    }
    let st = src.stats;
    let mut snap = Snapshot {
        zxid: engine.last_zxid(),
        node_count: tree.node_count() as u64,
        latency_min_ms: st.latency.min_ms() as i64,
        latency_avg_ms: round4(st.latency.avg_ms()),
        latency_max_ms: st.latency.max_ms() as i64,
        packets_received: st.packets_received,
        packets_sent: st.packets_sent,
        outstanding: engine.outstanding_txns() as u64,
        alive_connections: (src.conns.len() + usize::from(asking.is_some())) as u64,
        connections,
        ephemerals_count: tree.ephemeral_count() as u64,
        approximate_data_size: tree.approximate_data_size().max(0) as u64,
        global_sessions: sessions.len() as u64,
        uptime_ms: src.started.elapsed().as_millis() as i64,
        auth_failed_count: st.auth_failed as i64,
        counters: vec![
            ("connection_rejected".into(), st.connection_rejected as i64),
            ("bytes_received_count".into(), st.bytes_received as i64),
            ("snap_count".into(), st.snap_count as i64),
            ("commit_count".into(), st.fsync_batch_txns as i64),
        ],
        summaries: vec![
            ("fsynctime".into(), summary(&st.fsync, 1000)),
            (
                "sync_processor_batch_size".into(),
                Summary {
                    count: st.fsync_batches as i64,
                    sum: st.fsync_batch_txns as i64,
                    min: if st.fsync_batches > 0 { 1 } else { 0 },
                    max: st.max_batch_txns as i64,
                    ..Summary::default()
                },
            ),
        ],
        fsync_threshold_exceed_count: st.fsync_threshold_exceeded,
        fsync_us: st.fsync_hist.clone(),
        batch_txns: st.batch_hist.clone(),
        shards: st
            .shard_connections
            .iter()
            .zip(&st.shard_requests)
            .map(|(c, r)| ShardLoad {
                connections: *c,
                requests: *r,
            })
            .collect(),
        ..snap
    };
    if let Some(q) = src.quorum {
        quorum::apply(q, &mut snap);
    }
    snap
}

fn conn_stat(c: &ConnStats, session_id: i64, engine: &Engine) -> ConnStat {
    let timeout_ms = engine
        .sessions()
        .get(session_id)
        .map(|s| s.touch_timeout_ms as u32)
        .unwrap_or(0);
    ConnStat {
        remote: c.remote,
        interest_ops: 1,
        queued: c.pending.len() as u64,
        received: c.received,
        sent: c.sent,
        session_id,
        last_op: last_op_name(c.last_opcode).to_string(),
        established_ms: c.established_ms,
        timeout_ms,
        last_cxid: c.last_cxid,
        last_zxid: c.last_zxid,
        last_response_ms: c.last_response_ms,
        last_latency: (c.last_latency_us / 1000) as i64,
        min_lat: c.latency.min_ms() as i64,
        avg_lat: c.latency.avg_ms() as i64,
        max_lat: c.latency.max_ms() as i64,
    }
}

/// The four-letter word's own connection, as ZooKeeper lists it.
pub fn asking_conn(remote: SocketAddr) -> ConnStat {
    ConnStat {
        remote,
        interest_ops: 0,
        queued: 0,
        received: 1,
        sent: 0,
        session_id: 0,
        last_op: "NA".into(),
        established_ms: 0,
        timeout_ms: 0,
        last_cxid: -1,
        last_zxid: -1,
        last_response_ms: 0,
        last_latency: 0,
        min_lat: 0,
        avg_lat: 0,
        max_lat: 0,
    }
}
