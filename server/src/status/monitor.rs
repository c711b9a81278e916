//! mntr's figures, in ZooKeeper 3.8's order: one list of (name, value) that the `mntr`
//! four-letter word, the AdminServer's `monitor` and /metrics all read.

use super::snapshot::{MetricValue, Snapshot, Summary};

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

/// mntr's (name without `zk_`, value) pairs in ZooKeeper 3.8's order. Summaries come out
/// as their avg/min/max/cnt/sum (and p50..p999) entries.
pub fn monitor_values(ctx: &Snapshot) -> Vec<(String, MetricValue)> {
    use MetricValue::{Double, Int, Text};
    let mut v: Vec<(String, MetricValue)> = Vec::with_capacity(600);
    let mut out = |k: &str, m: MetricValue| v.push((k.to_string(), m));
    out("version", Text(ctx.version.clone()));
    out("server_state", Text(ctx.mode.clone()));
    if let Some(ps) = &ctx.peer_state {
        out("peer_state", Text(ps.clone()));
    }
    let i = |v: u64| Int(v as i64);
    for &g in MNTR_GAUGES {
        let m = match g {
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
        out(g, m);
    }
    for (k, m) in &ctx.extra {
        out(k, m.clone());
    }
    for &c in MNTR_COUNTERS {
        out(c, Int(counter(ctx, c)));
    }
    fn basic(out: &mut dyn FnMut(&str, MetricValue), name: &str, sm: &Summary) {
        out(&format!("avg_{name}"), Double(sm.avg()));
        out(&format!("min_{name}"), Int(sm.min));
        out(&format!("max_{name}"), Int(sm.max));
        out(&format!("cnt_{name}"), Int(sm.count));
        out(&format!("sum_{name}"), Int(sm.sum));
    }
    for &name in MNTR_BASIC_SUMMARIES {
        basic(&mut out, name, &summary(ctx, name));
    }
    for &name in MNTR_PERCENTILE_SUMMARIES {
        let sm = summary(ctx, name);
        basic(&mut out, name, &sm);
        out(&format!("p50_{name}"), Int(sm.p50));
        out(&format!("p95_{name}"), Int(sm.p95));
        out(&format!("p99_{name}"), Int(sm.p99));
        out(&format!("p999_{name}"), Int(sm.p999));
    }
    for (ns, sm) in &ctx.read_per_namespace {
        basic(&mut out, &format!("{ns}_read_per_namespace"), sm);
    }
    for (ns, sm) in &ctx.write_per_namespace {
        basic(&mut out, &format!("{ns}_write_per_namespace"), sm);
    }
    v
}

/// A counter's value; counters the server does not keep are 0.
pub fn counter(ctx: &Snapshot, name: &str) -> i64 {
    ctx.counters
        .iter()
        .find(|(k, _)| k == name)
        .map_or(0, |(_, v)| *v)
}

/// A summary's figures; summaries the server does not keep are all zeros.
pub fn summary(ctx: &Snapshot, name: &str) -> Summary {
    ctx.summaries
        .iter()
        .find(|(k, _)| k == name)
        .map_or_else(Summary::default, |(_, v)| *v)
}

/// The `mntr` four-letter word: `zk_<name>\t<value>` lines.
pub fn render_mntr(ctx: &Snapshot) -> String {
    let mut s = String::new();
    for (k, v) in monitor_values(ctx) {
        s.push_str("zk_");
        s.push_str(&k);
        s.push('\t');
        s.push_str(&v.render());
        s.push('\n');
    }
    s
}
