//! Fills the four-letter-word context from the pipeline's state and answers a command.

use crate::fourlw::{self, ConnStat, FourLwContext, Summary};
use crate::pipeline::Pipeline;
use crate::stats::Latency;
use ringkeeper_engine::proto::op;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

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

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn fd_counts() -> (i64, i64) {
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(-1);
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
        rl.rlim_cur as i64
    } else {
        -1
    };
    (open, max)
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

/// The context as seen from the connection asking (`remote`), which ZooKeeper lists among
/// the live connections too.
pub fn context(p: &Pipeline, remote: SocketAddr) -> FourLwContext {
    let engine = &p.engine;
    let tree = engine.tree();
    let sessions = engine.sessions();
    let conn_session: BTreeMap<u64, i64> = p
        .conns
        .keys()
        .filter_map(|c| engine.conn(*c).map(|s| (*c, s.session_id)))
        .collect();
    let mut connections: Vec<ConnStat> = p
        .conns
        .iter()
        .map(|(id, c)| {
            let session_id = conn_session.get(id).copied().unwrap_or(0);
            let timeout_ms = sessions
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
        })
        .collect();
    connections.push(ConnStat {
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
    });
    let mut sessions_with_ephemerals: Vec<(i64, Vec<String>)> = tree
        .ephemerals()
        .iter()
        .map(|(s, paths)| (*s, paths.iter().cloned().collect()))
        .collect();
    sessions_with_ephemerals.sort();
    let session_expiry = sessions
        .buckets()
        .map(|(t, ids)| (*t, ids.iter().copied().collect()))
        .collect();
    let watches = crate::watches::report(&p.watches);
    let watches_by_session = watches
        .paths_by_conn
        .into_iter()
        .map(|(c, paths)| {
            (
                conn_session.get(&c).copied().unwrap_or(0),
                paths.into_iter().collect(),
            )
        })
        .collect();
    let watches_by_path = watches
        .conns_by_path
        .into_iter()
        .map(|(path, conns)| {
            (
                path,
                conns
                    .into_iter()
                    .map(|c| conn_session.get(&c).copied().unwrap_or(0))
                    .collect(),
            )
        })
        .collect();
    let (open_fds, max_fds) = fd_counts();
    let data_dir_size = dir_size(&p.config.snap_dir());
    let log_dir_size = dir_size(&p.config.txn_log_dir());
    let st = &p.stats;
    FourLwContext {
        zxid: engine.last_zxid(),
        node_count: tree.node_count() as u64,
        latency_min_ms: st.latency.min_ms() as i64,
        latency_avg_ms: fourlw::round4(st.latency.avg_ms()),
        latency_max_ms: st.latency.max_ms() as i64,
        packets_received: st.packets_received,
        packets_sent: st.packets_sent,
        outstanding: engine.outstanding_txns() as u64,
        alive_connections: connections.len() as u64,
        connections,
        sessions_with_ephemerals,
        session_expiry,
        watches_by_session,
        watches_by_path,
        total_watches: watches.count as u64,
        ephemerals_count: tree.ephemeral_count() as u64,
        approximate_data_size: tree.approximate_data_size().max(0) as u64,
        global_sessions: sessions.len() as u64,
        open_fds,
        max_fds,
        uptime_ms: p.started.elapsed().as_millis() as i64,
        data_dir_size,
        log_dir_size,
        conf_lines: p.config.conf_lines(data_dir_size, log_dir_size),
        conf_membership: p.config.membership(),
        env: fourlw::default_env(&fourlw::full_version()),
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
        ..FourLwContext::default()
    }
}

/// Answers one four-letter word, applying the whitelist and the reset commands.
pub fn answer(p: &mut Pipeline, cmd: &'static str, remote: SocketAddr) -> String {
    if !fourlw::is_allowed(cmd, &p.config.four_letter_whitelist) {
        tracing::debug!(%remote, cmd, "four-letter word not in whitelist");
        return fourlw::not_whitelisted(cmd);
    }
    let text = fourlw::render(cmd, &context(p, remote));
    match cmd {
        "srst" => p.stats.reset(),
        "crst" => p.conns.values_mut().for_each(|c| c.reset()),
        _ => {}
    }
    text
}
