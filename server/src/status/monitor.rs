//! mntr's figures, in ZooKeeper 3.8's order: one list of (name, value) that the `mntr`
//! four-letter word, the AdminServer's `monitor` and /metrics all read.

use super::quorum::{learner_summary_keys, observer_master_id};
use super::snapshot::{MetricValue, Snapshot, Summary};

/// Every gauge in the order ZooKeeper 3.8 prints them (its registry's ConcurrentHashMap
/// iteration order): the standard ones, as a standalone server prints them, with the quorum
/// ones at their bins of the map's 64 (captured from a leader; a server prints those it has,
/// see `quorum`).
pub const MNTR_GAUGE_ORDER: &[&str] = &[
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "min_proposal_size",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_proposal_size",
    "max_client_response_size",
    "synced_followers",
    "connection_drop_probability",
    "watch_count",
    "synced_non_voting_followers",
    "synced_observers",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "last_proposal_size",
    "pending_syncs",
    "leader_uptime",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "learners",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    "quorum_size",
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

/// A standard gauge's value; None for a name that is not one.
fn standard_gauge(ctx: &Snapshot, g: &str) -> Option<MetricValue> {
    use MetricValue::{Double, Int};
    let i = |v: u64| Int(v as i64);
    Some(match g {
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
        _ => return None,
    })
}

/// The metrics registry's gauges (names without `zk_`) in ZooKeeper 3.8's order, then
/// Ringkeeper's own. Out of quorum ZooKeeper has no server, hence none of its gauges.
pub fn gauge_values(ctx: &Snapshot) -> Vec<(String, MetricValue)> {
    let mut v: Vec<(String, MetricValue)> = Vec::with_capacity(MNTR_GAUGE_ORDER.len());
    if ctx.running {
        let mut order = MNTR_GAUGE_ORDER.to_vec();
        if ctx.read_only {
            // A read-only server had a role before (or will): see `quorum` on why these two
            // swap.
            order.swap(1, 2);
        }
        for g in order {
            let m = standard_gauge(ctx, g).or_else(|| {
                ctx.quorum_gauges
                    .iter()
                    .find(|(k, _)| *k == g)
                    .map(|(_, m)| m.clone())
            });
            if let Some(m) = m {
                v.push((g.to_string(), m));
            }
        }
    }
    v.extend(ctx.extra.iter().cloned());
    v
}

/// mntr's (name without `zk_`, value) pairs in ZooKeeper 3.8's order. Summaries come out
/// as their avg/min/max/cnt/sum (and p50..p999) entries.
pub fn monitor_values(ctx: &Snapshot) -> Vec<(String, MetricValue)> {
    use MetricValue::{Double, Int, Text};
    let mut v: Vec<(String, MetricValue)> = Vec::with_capacity(600);
    v.push(("version".into(), Text(ctx.version.clone())));
    v.push(("server_state".into(), Text(ctx.mode.clone())));
    if let Some(ps) = &ctx.peer_state {
        v.push(("peer_state".into(), Text(ps.clone())));
    }
    if let Some(id) = ctx.quorum.as_ref().and_then(observer_master_id) {
        v.push(("observer_master_id".into(), Int(id)));
    }
    v.extend(gauge_values(ctx));
    let mut out = |k: &str, m: MetricValue| v.push((k.to_string(), m));
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
    fn percentiles(out: &mut dyn FnMut(&str, MetricValue), name: &str, sm: &Summary) {
        basic(out, name, sm);
        out(&format!("p50_{name}"), Int(sm.p50));
        out(&format!("p95_{name}"), Int(sm.p95));
        out(&format!("p99_{name}"), Int(sm.p99));
        out(&format!("p999_{name}"), Int(sm.p999));
    }
    for &name in MNTR_BASIC_SUMMARIES {
        basic(&mut out, name, &summary(ctx, name));
    }
    for &name in MNTR_PERCENTILE_SUMMARIES {
        percentiles(&mut out, name, &summary(ctx, name));
    }
    // Summary sets, in their map's order: learner_handler_qp_size, read_per_namespace,
    // write_per_namespace (basic), then learner_handler_qp_time_ms (with percentiles).
    let learners = ctx
        .quorum
        .as_ref()
        .map(learner_summary_keys)
        .unwrap_or_default();
    for sid in &learners {
        let name = format!("{sid}_learner_handler_qp_size");
        basic(&mut out, &name, &summary(ctx, &name));
    }
    for (ns, sm) in &ctx.read_per_namespace {
        basic(&mut out, &format!("{ns}_read_per_namespace"), sm);
    }
    for (ns, sm) in &ctx.write_per_namespace {
        basic(&mut out, &format!("{ns}_write_per_namespace"), sm);
    }
    for sid in &learners {
        let name = format!("{sid}_learner_handler_qp_time_ms");
        percentiles(&mut out, &name, &summary(ctx, &name));
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::status::java::hash_map_order;
    use crate::status::quorum::QUORUM_GAUGES;

    /// The gauges a standalone server prints, in order.
    pub fn standalone_gauges() -> Vec<&'static str> {
        MNTR_GAUGE_ORDER
            .iter()
            .copied()
            .filter(|g| !QUORUM_GAUGES.contains(g))
            .collect()
    }

    #[test]
    fn gauge_order_is_the_registry_maps() {
        assert_eq!(standalone_gauges().len(), 24);
        assert_eq!(
            MNTR_GAUGE_ORDER.len(),
            standalone_gauges().len() + QUORUM_GAUGES.len()
        );
        // Every gauge at its hash's bin (the one shared bin, num_alive_connections and
        // avg_latency, in the order captured), standalone and in quorum.
        for order in [MNTR_GAUGE_ORDER.to_vec(), standalone_gauges()] {
            let names: Vec<String> = order.iter().map(|g| g.to_string()).collect();
            assert_eq!(hash_map_order(names.clone()), names);
        }
    }

    #[test]
    fn no_gauges_out_of_quorum_but_ringkeepers_own() {
        let mut snap = Snapshot {
            running: false,
            ..Snapshot::default()
        };
        snap.extra = vec![("ringkeeper_shards".into(), MetricValue::Int(2))];
        assert_eq!(
            gauge_values(&snap),
            vec![("ringkeeper_shards".to_string(), MetricValue::Int(2))]
        );
        snap.running = true;
        assert_eq!(gauge_values(&snap).len(), standalone_gauges().len() + 1);
    }
}
