//! The AdminServer's answers that depend on the quorum role (ZooKeeper 3.8's Commands.java, as
//! captured per role in tests/ensemble/fixtures/zk38): leader, observers, voting_view,
//! zabstate and the leader's proposal_stats. A server out of quorum, or read-only, answers
//! the first four as a standalone server does.

use super::super::java::{hex, java_socket_addr};
use super::super::quorum::{QuorumRole, QuorumStatus};
use super::super::snapshot::Snapshot;
use crate::config::{delimited_host, LearnerType, QuorumAddr, ServerConfig, ServerLine};
use serde_json::{json, Map, Value};
use std::net::{IpAddr, SocketAddr};

/// Commands ZooKeeper answers while it is not serving (looking, out of quorum); the others
/// answer "This ZooKeeper instance is not currently serving requests".
pub const ANSWERED_WHILE_NOT_SERVING: &[&str] = &[
    "environment",
    "system_properties",
    "get_trace_mask",
    "set_trace_mask",
    "zabstate",
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The quorum status of a server in quorum (a read-only one is not: it runs a standalone-like
/// server).
fn in_quorum(snap: &Snapshot) -> Option<&QuorumStatus> {
    snap.quorum.as_ref().filter(|q| q.in_quorum())
}

/// Jackson's InetSocketAddress form: `127.0.0.1:2181`, `[0:0:0:0:0:0:0:1]:2181`, or the host
/// name as configured.
fn jackson_addr(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) => java_socket_addr(&SocketAddr::new(ip, port))
            .trim_start_matches('/')
            .to_string(),
        Err(_) => format!("{host}:{port}"),
    }
}

fn server(config: &ServerConfig, id: u64) -> Option<&ServerLine> {
    config.servers.iter().find(|s| s.id == id)
}

/// LeaderCommand.
pub fn leader(snap: &Snapshot, config: &ServerConfig) -> Map<String, Value> {
    let Some(q) = in_quorum(snap) else {
        return obj(json!({ "error": "server is not initialized" }));
    };
    // QuorumPeer's leader address: the host of the leader's (first) quorum address.
    let leader_ip = q
        .leader_id
        .and_then(|id| server(config, id))
        .and_then(|s| s.addrs.first())
        .map_or(String::new(), |a| a.host.clone());
    obj(json!({
        "is_leader": q.role == QuorumRole::Leading,
        "leader_id": q.leader_id.map_or(-1, |id| id as i64),
        "leader_ip": leader_ip,
    }))
}

/// SyncedObserverConsCommand: the leader lists its synced Observers. Ringkeeper keeps no
/// LearnerHandler connection figures (address, packets, queue), so each entry has the sid.
pub fn observers(snap: &Snapshot) -> Map<String, Value> {
    let synced: Vec<Value> = snap
        .quorum
        .as_ref()
        .filter(|q| q.role == QuorumRole::Leading)
        .map(|q| {
            q.learners
                .iter()
                .filter(|l| l.observer && l.synced)
                .map(|l| json!({ "sid": l.id }))
                .collect()
        })
        .unwrap_or_default();
    obj(json!({ "synced_observers": synced.len(), "observers": synced }))
}

/// VotingViewCommand: every voter's addresses, by id.
pub fn voting_view(snap: &Snapshot, config: &ServerConfig) -> Map<String, Value> {
    let mut view = Map::new();
    if in_quorum(snap).is_some() {
        let delimited = |host: &str, port: u16| format!("{}:{port}", delimited_host(host));
        for s in config.participants() {
            let addrs = |f: fn(&QuorumAddr) -> u16| -> Vec<String> {
                s.addrs.iter().map(|a| delimited(&a.host, f(a))).collect()
            };
            view.insert(
                s.id.to_string(),
                json!({
                    "server_addresses": addrs(|a| a.quorum_port),
                    "election_addresses": addrs(|a| a.election_port),
                    "client_address": s.client.as_ref().map_or(String::new(), |(h, p)| delimited(h, *p)),
                    "learner_type": "participant",
                }),
            );
        }
    }
    obj(json!({ "current_config": view }))
}

/// A MultipleAddresses bean as Jackson writes it (every address taken as reachable).
fn multiple_addresses(addrs: &[(String, u16)]) -> Value {
    let all: Vec<String> = addrs.iter().map(|(h, p)| jackson_addr(h, *p)).collect();
    let first = all.first().cloned();
    json!({
        "empty": all.is_empty(),
        "all_addresses": all,
        "all_reachable_addresses": all,
        "one": first,
        "reachable_address": first,
        "wildcard_addresses": addrs.iter().map(|(_, p)| jackson_addr("0.0.0.0", *p)).collect::<Vec<_>>(),
        "all_ports": addrs.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        "all_host_strings": addrs.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>(),
        "all_reachable_addresses_or_all": all,
        "reachable_or_one": first,
    })
}

/// ZabStateCommand.
pub fn zabstate(snap: &Snapshot, config: &ServerConfig) -> Map<String, Value> {
    let (Some(q), Some(me)) = (in_quorum(snap), config.my_server()) else {
        return obj(json!({ "voting": false, "zabstate": "" }));
    };
    let addrs = |f: fn(&QuorumAddr) -> u16| -> Vec<(String, u16)> {
        me.addrs.iter().map(|a| (a.host.clone(), f(a))).collect()
    };
    let client = config.client_port.map(|p| {
        let host = config
            .client_port_address
            .map_or("0.0.0.0".to_string(), |ip| ip.to_string());
        jackson_addr(&host, p)
    });
    obj(json!({
        "myid": q.my_id,
        "is_leader": q.role == QuorumRole::Leading,
        "quorum_address": multiple_addresses(&addrs(|a| a.quorum_port)),
        "election_address": multiple_addresses(&addrs(|a| a.election_port)),
        "client_address": client,
        "voting": me.learner_type == LearnerType::Participant,
        "last_zxid": format!("0x{}", hex(snap.zxid)),
        "zab_epoch": snap.zxid >> 32,
        "zab_counter": snap.zxid & 0xffff_ffff,
        "zabstate": "broadcast",
    }))
}

/// The leader's `proposal_stats` in server_stats and stats (its BufferStats).
pub fn proposal_stats(snap: &Snapshot) -> Option<Value> {
    snap.proposal_sizes.map(|(last, min, max)| {
        json!({
            "last_buffer_size": last,
            "min_buffer_size": min,
            "max_buffer_size": max,
        })
    })
}
