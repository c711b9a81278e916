//! Start-up of an ensemble member: from zoo.cfg's `server.N` lines and `myid` to a recovered
//! [`Member`], its durable Raft log and the addresses of its quorum links.

use super::snapshots::{self, FileSnapshots, Snapshots};
use crate::config::{LearnerType, ServerConfig};
use crate::raft_store::{self, RaftStore};
use ringkeeper_engine::replica::{DurableState, Member, MemberConfig};
use ringkeeper_engine::{EngineConfig, Now};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// A member recovered and ready to run; its links start on the pipeline's executor.
pub struct Prepared {
    pub member: Member,
    pub store: RaftStore,
    pub my_id: u64,
    /// Where this server accepts its peers' links: its own line's quorumPort.
    pub listen: SocketAddr,
    /// Every other member's quorumPort, to dial.
    pub peers: Vec<(u64, SocketAddr)>,
    pub timing: Timing,
    pub snapshots: Snapshots,
}

/// The member's clock and when it stops serving.
pub struct Timing {
    pub raft_tick_ms: u64,
    pub election_ticks: usize,
    pub tick_time_ms: u64,
    /// `readonlymode.enabled`.
    pub read_only: bool,
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port} resolves to no address"))
}

/// Reads the ensemble's shape, recovers the Raft log and rebuilds the tree from it.
pub fn prepare(
    config: &ServerConfig,
    engine_config: EngineConfig,
    now: Now,
) -> Result<Prepared, String> {
    let me = config
        .my_server()
        .ok_or("quorum mode needs this server's myid among the server.N lines")?;
    let my_id = me.id;
    if raft_store::standalone_data_present(config) {
        return Err(format!(
            "{} or {} holds a standalone server's snapshots or log; an ensemble member keeps \
             its state in the replicated log and would not see them. Start with empty data \
             directories, or move that data away.",
            config.data_dir.display(),
            config.data_log_dir.display()
        ));
    }
    if !config.force_sync && me.learner_type == LearnerType::Participant {
        tracing::warn!(
            "forceSync=no on a voting member: a write is acknowledged once a quorum has it in \
             memory, and losing power on a quorum of servers at once can lose acknowledged \
             writes"
        );
    }
    let voters: Vec<u64> = config.participants().map(|s| s.id).collect();
    let observers: Vec<u64> = config
        .servers
        .iter()
        .filter(|s| s.learner_type == LearnerType::Observer)
        .map(|s| s.id)
        .collect();
    let addr = |line: &crate::config::ServerLine| -> Result<SocketAddr, String> {
        let a = line
            .addrs
            .first()
            .ok_or_else(|| format!("server.{} has no address", line.id))?;
        resolve(&a.host, a.quorum_port)
    };
    let mut listen = addr(me)?;
    if config.quorum_listen_on_all_ips {
        listen.set_ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
    let mut peers = Vec::new();
    for line in config.servers.iter().filter(|s| s.id != my_id) {
        peers.push((line.id, addr(line)?));
    }
    let started = std::time::Instant::now();
    let (store, recovery) = RaftStore::open(config, DurableState::initial(&voters, &observers))?;
    let member_config = MemberConfig {
        id: my_id,
        voters,
        observers,
        election_tick: config.election_ticks,
        heartbeat_tick: config.heartbeat_ticks,
        seed: election_seed(my_id),
    };
    // Snapshots live beside the Raft log's checkpoint that names them, apart from a
    // standalone server's version-2.
    let snap_dir = config.data_dir.join("raft");
    let state = match &recovery.durable.snapshot {
        Some(mark) => Some(snapshots::load(&snap_dir, mark).map_err(|e| {
            format!(
                "the Raft log starts after snapshot {}, which cannot be read: {e}",
                mark.index
            )
        })?),
        None => None,
    };
    let mut member = Member::new(
        member_config,
        engine_config,
        &recovery.durable,
        state,
        Box::new(FileSnapshots(snap_dir.clone())),
        now,
    );
    // Recovery applied the committed log: no client is connected yet, nothing to send.
    while member.poll_output().is_some() {}
    tracing::info!(
        my_id,
        term = recovery.durable.hard_state.term,
        commit = recovery.durable.hard_state.commit,
        entries = recovery.durable.entries.len(),
        snapshot_index = recovery.durable.snapshot.as_ref().map_or(0, |m| m.index),
        tasks_replayed = recovery.tasks_replayed,
        tail_cut_bytes = recovery.tail_cut_bytes,
        last_zxid = format!("{:#x}", member.applied_zxid()),
        znodes = member.engine().tree().node_count(),
        ms = started.elapsed().as_millis() as u64,
        "recovered the replicated log"
    );
    Ok(Prepared {
        member,
        store,
        my_id,
        listen,
        peers,
        timing: Timing {
            raft_tick_ms: config.raft_tick_ms,
            election_ticks: config.election_ticks,
            tick_time_ms: config.tick_time_ms as u64,
            read_only: config.read_only_mode,
        },
        snapshots: Snapshots::new(snap_dir, config.snap_count as u64),
    })
}

/// Election timeouts must differ between members and between runs: a seed from the id and
/// the clock (the engine takes no randomness of its own; the simulator passes its seed).
fn election_seed(my_id: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ my_id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
