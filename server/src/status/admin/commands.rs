//! The AdminServer's commands: ZooKeeper 3.8's names (primary name first, then aliases) and
//! the JSON documents they answer, with ZooKeeper's field names (Commands.java; field lists
//! probed on 3.8 from Debian).

use super::super::board::{Board, Reset};
use super::super::host;
use super::super::java::java_socket_addr;
use super::super::monitor::monitor_values;
use super::super::snapshot::{ConnStat, MetricValue, Need, Snapshot};
use super::super::words::ZK_NOT_SERVING;
use super::quorum;
use crate::config::ServerConfig;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Every command's names. The first is the primary one, which answers carry in `command`
/// and `/commands` lists. While the server is not serving (looking, out of quorum) most of
/// them answer an error (see `quorum::ANSWERED_WHILE_NOT_SERVING`).
pub const COMMANDS: &[&[&str]] = &[
    &["connection_stat_reset", "crst"],
    &["configuration", "conf", "config"],
    &["connections", "cons"],
    &["hash"],
    &["dirs"],
    &["dump"],
    &["environment", "env", "envi"],
    &["get_trace_mask", "gtmk"],
    &["initial_configuration", "icfg"],
    &["is_read_only", "isro"],
    &["last_snapshot", "lsnp"],
    &["leader", "lead"],
    &["monitor", "mntr"],
    &["observer_connection_stat_reset", "orst"],
    &["ruok"],
    &["set_trace_mask", "stmk"],
    &["server_stats", "srvr"],
    &["stats", "stat"],
    &["stat_reset", "srst"],
    &["observers", "obsr"],
    &["system_properties", "sysp"],
    &["voting_view"],
    &["watches", "wchc"],
    &["watches_by_path", "wchp"],
    &["watch_summary", "wchs"],
    &["zabstate"],
];

/// The primary name of the command called `name` (any of its names).
pub fn primary_name(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|names| names.contains(&name))
        .map(|names| names[0])
}

/// Sorted primary names, for the `/commands` listing.
pub fn primary_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMANDS.iter().map(|names| names[0]).collect();
    v.sort_unstable();
    v
}

/// What the server needs to answer commands beyond the board: the zoo.cfg text as read at
/// start-up (`initial_configuration`).
pub struct Context<'a> {
    pub board: &'a Board,
    pub initial_config: &'a str,
}

/// Runs `name` with the query's `args`; the JSON document ZooKeeper answers (always HTTP
/// 200: errors are in its `error` field).
pub fn run(name: &str, args: &BTreeMap<String, String>, cx: &Context) -> Value {
    let Some(primary) = primary_name(name) else {
        return response(name, Map::new(), Some(format!("Unknown command: {name}")));
    };
    // ZooKeeper's monitor fails with HTTP 500 here (a NullPointerException); Ringkeeper
    // answers the error as the other commands do.
    if !cx.board.published().running && !quorum::ANSWERED_WHILE_NOT_SERVING.contains(&primary) {
        return response(primary, Map::new(), Some(ZK_NOT_SERVING.into()));
    }
    match answer(primary, args, cx) {
        Ok(data) => response(primary, data, None),
        Err(e) => response(primary, Map::new(), Some(e)),
    }
}

/// `{...data, "command": name, "error": null}`; an `error` the command put in its data
/// stays where it is, as in ZooKeeper's answers.
fn response(name: &str, mut data: Map<String, Value>, error: Option<String>) -> Value {
    data.insert("command".into(), json!(name));
    if !data.contains_key("error") {
        data.insert("error".into(), json!(error));
    }
    Value::Object(data)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn answer(
    cmd: &'static str,
    args: &BTreeMap<String, String>,
    cx: &Context,
) -> Result<Map<String, Value>, String> {
    let board = cx.board;
    let config = &*board.config;
    let fresh = |need: Need, reset: Reset| board.ask(need, reset);
    Ok(match cmd {
        "ruok" | "observer_connection_stat_reset" => Map::new(),
        "connection_stat_reset" => {
            fresh(Need::NONE, Reset::ConnectionStats)?;
            Map::new()
        }
        "stat_reset" => {
            fresh(Need::NONE, Reset::ServerStats)?;
            Map::new()
        }
        "configuration" => configuration(config),
        "connections" => {
            let snap = fresh(Need::CONNECTIONS, Reset::Nothing)?;
            obj(json!({
                "connections": connections(&snap, false),
                "secure_connections": [],
            }))
        }
        "hash" => {
            let snap = board.published();
            let digests: Vec<Value> = snap
                .digest_log
                .iter()
                .map(|(zxid, digest)| json!({"zxid": zxid, "digest": digest}))
                .collect();
            obj(json!({ "digests": digests }))
        }
        "dirs" => {
            let mut snap = Snapshot::default();
            host::fill_dirs(&mut snap, config);
            obj(json!({
                "datadir_size": snap.data_dir_size,
                "logdir_size": snap.log_dir_size,
            }))
        }
        "dump" => {
            let snap = fresh(Need::SESSIONS, Reset::Nothing)?;
            let mut expiry = Map::new();
            let mut buckets = snap.session_expiry.clone();
            buckets.sort();
            for (t, ids) in buckets {
                expiry.insert(t.to_string(), json!(ids));
            }
            let mut ephemerals = Map::new();
            for (sid, paths) in &snap.sessions_with_ephemerals {
                ephemerals.insert(sid.to_string(), json!(paths));
            }
            obj(json!({
                "expiry_time_to_session_ids": expiry,
                "session_id_to_ephemeral_paths": ephemerals,
            }))
        }
        "environment" => host::default_env(&super::super::words::full_version())
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect(),
        "get_trace_mask" => obj(json!({ "tracemask": board.trace_mask() })),
        "set_trace_mask" => {
            let Some(v) = args.get("traceMask") else {
                return Ok(obj(json!({
                    "error": "setTraceMask requires long traceMask argument"
                })));
            };
            let Ok(mask) = v.parse::<i64>() else {
                return Ok(obj(json!({
                    "error": format!("setTraceMask requires long traceMask argument, got {v}")
                })));
            };
            board
                .trace_mask
                .store(mask, std::sync::atomic::Ordering::Relaxed);
            obj(json!({ "tracemask": mask }))
        }
        "initial_configuration" => {
            // QuorumPeerMain, unlike ZooKeeperServerMain, never hands its server the text.
            let text = (!config.is_distributed()).then_some(cx.initial_config);
            obj(json!({ "initial_configuration": text }))
        }
        "is_read_only" => obj(json!({ "read_only": board.published().read_only })),
        "last_snapshot" => {
            let (zxid, timestamp) = last_snapshot(config);
            obj(json!({ "zxid": format!("{:x}", zxid as u64), "timestamp": timestamp }))
        }
        "leader" => quorum::leader(&board.published(), config),
        "monitor" => {
            let mut snap = fresh(Need::WATCH_COUNT, Reset::Nothing)?;
            host::fill("mntr", &mut snap, config);
            monitor_values(&snap)
                .into_iter()
                .map(|(k, v)| (k, metric(v)))
                .collect()
        }
        "server_stats" | "stats" => {
            let need = if cmd == "stats" {
                Need::CONNECTIONS
            } else {
                Need::NONE
            };
            let mut snap = fresh(need, Reset::Nothing)?;
            host::fill_dirs(&mut snap, config);
            let mut m = server_stats(&snap);
            if cmd == "stats" {
                m.insert("connections".into(), connections(&snap, true));
                m.insert("secure_connections".into(), json!([]));
            }
            m
        }
        "observers" => quorum::observers(&board.published()),
        "system_properties" => system_properties(),
        "voting_view" => quorum::voting_view(&board.published(), config),
        "watches" => {
            let snap = fresh(Need::WATCHES, Reset::Nothing)?;
            let mut m = Map::new();
            for (sid, paths) in &snap.watches_by_session {
                m.insert(sid.to_string(), json!(paths));
            }
            obj(json!({ "session_id_to_watched_paths": m }))
        }
        "watches_by_path" => {
            let snap = fresh(Need::WATCHES, Reset::Nothing)?;
            let mut m = Map::new();
            for (path, sids) in &snap.watches_by_path {
                m.insert(path.clone(), json!(sids));
            }
            obj(json!({ "path_to_session_ids": m }))
        }
        "watch_summary" => {
            let snap = fresh(Need::WATCHES, Reset::Nothing)?;
            obj(json!({
                "num_connections": snap.watches_by_session.len(),
                "num_paths": snap.watches_by_path.len(),
                "num_total_watches": snap.total_watches,
            }))
        }
        "zabstate" => quorum::zabstate(&board.published(), config),
        _ => return Err(ZK_NOT_SERVING.into()),
    })
}

fn metric(v: MetricValue) -> Value {
    match v {
        MetricValue::Int(i) => json!(i),
        MetricValue::Double(d) => json!(d),
        MetricValue::Text(t) => json!(t),
    }
}

/// ZooKeeperServer.getConf().toMap().
fn configuration(c: &ServerConfig) -> Map<String, Value> {
    let mut m = obj(json!({
        "client_port": c.client_port.map_or(-1, i32::from),
    }));
    if let Some(p) = c.secure_client_port {
        m.insert("secure_client_port".into(), json!(p));
    }
    m.extend(obj(json!({
        "data_dir": c.snap_dir().display().to_string(),
        "data_log_dir": c.txn_log_dir().display().to_string(),
        "tick_time": c.tick_time_ms,
        "max_client_cnxns": c.max_client_cnxns,
        "min_session_timeout": c.min_session_timeout_ms,
        "max_session_timeout": c.max_session_timeout_ms,
        "server_id": c.server_id(),
        "client_port_listen_backlog": c.client_port_listen_backlog,
    })));
    m
}

/// ServerCnxn.getConnectionInfo: the short form has the first five fields; the long form
/// adds the session's once there is one.
fn connection(c: &ConnStat, brief: bool) -> Value {
    let addr = java_socket_addr(&c.remote);
    let mut m = obj(json!({
        "remote_socket_address": addr.trim_start_matches('/'),
        "interest_ops": c.interest_ops,
        "outstanding_requests": c.queued,
        "packets_received": c.received,
        "packets_sent": c.sent,
    }));
    if !brief && c.session_id != 0 {
        m.extend(obj(json!({
            "session_id": c.session_id,
            "last_operation": c.last_op,
            "established": c.established_ms,
            "session_timeout": c.timeout_ms,
            "last_cxid": c.last_cxid,
            "last_zxid": c.last_zxid,
            "last_response_time": c.last_response_ms,
            "last_latency": c.last_latency,
            "min_latency": c.min_lat,
            "avg_latency": c.avg_lat,
            "max_latency": c.max_lat,
        })));
    }
    Value::Object(m)
}

fn connections(snap: &Snapshot, brief: bool) -> Value {
    Value::Array(
        snap.connections
            .iter()
            .map(|c| connection(c, brief))
            .collect(),
    )
}

/// The `server_stats` document (SrvrCommand): ServerStats' bean properties.
fn server_stats(s: &Snapshot) -> Map<String, Value> {
    let client_response = json!({
        "last_buffer_size": s.last_client_response_size,
        "min_buffer_size": s.min_client_response_size,
        "max_buffer_size": s.max_client_response_size,
    });
    let mut m = obj(json!({
        "version": s.version,
        "read_only": s.read_only,
        "server_stats": {
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "fsync_threshold_exceed_count": s.fsync_threshold_exceed_count,
            "client_response_stats": client_response,
            "uptime": s.uptime_ms,
            "data_dir_size": s.data_dir_size,
            "log_dir_size": s.log_dir_size,
            "provider_null": false,
            "server_state": s.mode,
            "last_processed_zxid": s.zxid,
            "outstanding_requests": s.outstanding,
            "avg_latency": s.latency_avg_ms,
            "max_latency": s.latency_max_ms,
            "min_latency": s.latency_min_ms,
            "num_alive_client_connections": s.alive_connections,
            "auth_failed_count": s.auth_failed_count,
            "non_mtlsremote_conn_count": s.non_mtls_remote_conn_count,
            "non_mtlslocal_conn_count": s.non_mtls_local_conn_count,
        },
        "client_response": client_response,
    }));
    if let Some(p) = quorum::proposal_stats(s) {
        m.insert("proposal_stats".into(), p);
    }
    m.insert("node_count".into(), json!(s.node_count));
    m
}

/// The newest snapshot's zxid and its file's modification time in seconds (-1 and -1 when
/// there is none), as SnapshotInfo reports them.
fn last_snapshot(c: &ServerConfig) -> (i64, i64) {
    let Ok(rd) = std::fs::read_dir(c.snap_dir()) else {
        return (-1, -1);
    };
    rd.flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let zxid = ringkeeper_storage::snapshot::parse_snapshot_name(name.to_str()?)?;
            let secs = e
                .metadata()
                .ok()?
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Some((zxid, secs))
        })
        .max()
        .unwrap_or((-1, -1))
}

/// There is no JVM: the properties a JVM would have that describe this process and host.
fn system_properties() -> Map<String, Value> {
    let mut m: BTreeMap<String, String> = host::default_env("")
        .into_iter()
        .filter(|(k, v)| {
            (k.starts_with("java.") || k.starts_with("os.") || k.starts_with("user."))
                && v != "<NA>"
                && !k.starts_with("os.memory")
        })
        .collect();
    m.insert("file.separator".into(), "/".into());
    m.insert("line.separator".into(), "\n".into());
    m.insert("path.separator".into(), ":".into());
    m.insert("file.encoding".into(), "UTF-8".into());
    m.into_iter().map(|(k, v)| (k, json!(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(primary_name("mntr"), Some("monitor"));
        assert_eq!(primary_name("config"), Some("configuration"));
        assert_eq!(primary_name("stats"), Some("stats"));
        assert_eq!(primary_name("nope"), None);
        assert_eq!(primary_names().len(), 26);
    }

    #[test]
    fn unknown_and_error_documents() {
        let v = response("nope", Map::new(), Some("Unknown command: nope".into()));
        assert_eq!(
            v.to_string(),
            r#"{"command":"nope","error":"Unknown command: nope"}"#
        );
        let v = response(
            "leader",
            obj(json!({"error": "server is not initialized"})),
            None,
        );
        assert_eq!(
            v.to_string(),
            r#"{"error":"server is not initialized","command":"leader"}"#
        );
        let v = response("ruok", Map::new(), None);
        assert_eq!(v.to_string(), r#"{"command":"ruok","error":null}"#);
    }
}
