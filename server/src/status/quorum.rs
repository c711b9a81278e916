//! This server's place in its ensemble, as the status endpoints show it. The pipeline fills a
//! [`QuorumStatus`] (`collect::Sources::quorum`; None = standalone) and [`apply`] turns it into
//! the snapshot's mode, peer state, gauges and serving flag.
//!
//! What Apache ZooKeeper 3.8.0 (Debian) prints per role, captured from a running ensemble of
//! three voters and one Observer (tests/ensemble/capture_zk_roles.py; the normalised answers
//! are the fixtures in tests/ensemble/fixtures/zk38/<role>/, checked by `quorum_tests`):
//!
//! - srvr / stat: `Mode: leader | follower | observer | read-only`. Only the leader prints
//!   `Proposal sizes last/min/max: l/m/M` after `Node count:` (proposal bytes; -1 before any).
//!   Read-only prints `READ-ONLY mode; serving only read-only clients` after the version line.
//! - mntr, first lines: zk_version, zk_server_state (the mode), then for a member in quorum
//!   zk_peer_state (`leading - broadcast`, `following - broadcast`, `observing - broadcast`),
//!   then on an Observer only zk_observer_master_id (the server it syncs from, here the leader).
//!   Read-only prints no peer_state (its server is not a quorum one).
//! - mntr gauges come from a ConcurrentHashMap of 64 bins: the quorum gauges fall among the
//!   standard ones at their hash's bin (`monitor::MNTR_GAUGE_ORDER`). Every member in quorum
//!   prints zk_quorum_size: the voters in the configuration (3 of 3 voters + 1 Observer), not
//!   the majority. The leader adds zk_learners (connected learners, synced or not),
//!   zk_synced_followers, zk_synced_non_voting_followers (voters outside the voting view,
//!   during a reconfig: 0 here), zk_synced_observers, zk_pending_syncs, zk_leader_uptime and
//!   zk_last/min/max_proposal_size. A follower prints zk_synced_observers only when it is an
//!   observer master (observerMasterPort; Ringkeeper's Observers sync from the leader).
//!   Read-only prints none of them, and zk_avg_latency before zk_num_alive_connections: the two
//!   share a bin, and a server that had a role before registers its gauges again into the
//!   grown map, in registration order (a first role since start-up prints the resize order,
//!   num_alive_connections first).
//! - mntr summary sets: the leader prints `<sid>_learner_handler_qp_size` (avg/min/max/cnt/sum)
//!   for every learner before the per-namespace sets, and `<sid>_learner_handler_qp_time_ms`
//!   (with percentiles) after them. Counters and the other summaries are the same in every role.
//! - zk_uptime counts from when the server took its role (each role runs a new
//!   ZooKeeperServer), as zk_leader_uptime does; the AdminServer's `uptime` too.
//! - conf: the quorum lines (serverId = myid, initLimit, syncLimit, electionAlg, electionPort,
//!   quorumPort, peerType, `membership:`) in every role in quorum; read-only drops membership.
//! - Looking (no quorum, not read-only): every four-letter word but ruok (`imok`), isro
//!   (`null`), envi, gtmk and stmk answers "This ZooKeeper instance is not currently serving
//!   requests". The AdminServer answers that as the `error` of every command but environment,
//!   system_properties, get_trace_mask, set_trace_mask and zabstate (`{"voting": false,
//!   "zabstate": ""}`); its monitor fails with HTTP 500 (a NullPointerException), where
//!   Ringkeeper answers the error document.
//! - AdminServer in quorum: leader `{is_leader, leader_id, leader_ip}`; observers (the leader
//!   lists its synced Observers; others 0 and []); voting_view (each voter's addresses);
//!   zabstate (myid, is_leader, quorum and election addresses, client_address, voting,
//!   last_zxid, zab_epoch, zab_counter, `broadcast`); server_stats and stats add the leader's
//!   proposal_stats; configuration's server_id is the myid; initial_configuration is null.
//!   Read-only answers these as standalone does (leader: "server is not initialized",
//!   voting_view {}, zabstate not voting), with is_read_only true and server_state read-only.

use super::java::hash_map_order;
use super::snapshot::{MetricValue, Snapshot};
use std::time::Instant;

/// ZooKeeper's QuorumPeer states, as Raft roles map onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumRole {
    Leading,
    Following,
    Observing,
    Looking,
}

/// One member the leader replicates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerStatus {
    pub id: u64,
    pub observer: bool,
    /// caught up with the leader's log
    pub synced: bool,
}

/// What the pipeline knows of this server's place in the ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct QuorumStatus {
    pub role: QuorumRole,
    pub my_id: u64,
    pub leader_id: Option<u64>,
    /// The Raft term: the zxid epoch.
    pub epoch: u64,
    /// Leader only: every other member it is replicating to that is currently connected.
    pub learners: Vec<LearnerStatus>,
    /// Leader only: syncs waiting for their commit point.
    pub pending_syncs: u64,
    /// Leader only: sizes in bytes of proposals (raft entries) since start / last reset:
    /// (last, min, max); -1 none.
    pub proposal_sizes: (i64, i64, i64),
    /// Voters in the configuration (quorum size = voters/2+1).
    pub voters: u64,
    /// Serving read-only clients while out of quorum (readonlymode.enabled).
    pub read_only: bool,
    /// When this server took its current role (or turned read-only): ZooKeeper starts a new
    /// server for each role, and its zk_uptime and zk_leader_uptime count from there.
    pub since: Instant,
}

/// The gauges a member in quorum adds to mntr (names without `zk_`), as [`gauges`] gives
/// them.
#[cfg(test)]
pub const QUORUM_GAUGES: &[&str] = &[
    "quorum_size",
    "learners",
    "synced_followers",
    "synced_non_voting_followers",
    "synced_observers",
    "pending_syncs",
    "leader_uptime",
    "last_proposal_size",
    "min_proposal_size",
    "max_proposal_size",
];

impl QuorumStatus {
    /// In quorum: leading, following or observing.
    pub fn in_quorum(&self) -> bool {
        self.role != QuorumRole::Looking
    }

    /// Answering clients: in quorum, or read-only out of it.
    pub fn serving(&self) -> bool {
        self.in_quorum() || self.read_only
    }
}

/// ServerStats' server state: what srvr's `Mode:` and mntr's zk_server_state print.
/// ("looking" is never printed: the commands answer that the server is not serving.)
pub fn mode(q: &QuorumStatus) -> &'static str {
    match q.role {
        QuorumRole::Leading => "leader",
        QuorumRole::Following => "follower",
        QuorumRole::Observing => "observer",
        QuorumRole::Looking if q.read_only => "read-only",
        QuorumRole::Looking => "looking",
    }
}

/// QuorumPeer.getDetailedPeerState for a server that answers mntr in quorum: its state and
/// Zab phase (Ringkeeper serves only once it holds its role, ZooKeeper only in broadcast).
pub fn peer_state(q: &QuorumStatus) -> Option<&'static str> {
    match q.role {
        QuorumRole::Leading => Some("leading - broadcast"),
        QuorumRole::Following => Some("following - broadcast"),
        QuorumRole::Observing => Some("observing - broadcast"),
        QuorumRole::Looking => None,
    }
}

/// The mntr line an Observer prints after zk_peer_state: the id of the server it syncs from
/// (-1 without one).
pub fn observer_master_id(q: &QuorumStatus) -> Option<i64> {
    (q.role == QuorumRole::Observing).then(|| q.leader_id.map_or(-1, |id| id as i64))
}

/// The quorum gauges with their values (names without `zk_`), for a server in quorum.
pub fn gauges(q: &QuorumStatus) -> Vec<(&'static str, MetricValue)> {
    use MetricValue::Int;
    if !q.in_quorum() {
        return Vec::new();
    }
    let mut v = vec![("quorum_size", Int(q.voters as i64))];
    if q.role == QuorumRole::Leading {
        let synced = |observer: bool| {
            q.learners
                .iter()
                .filter(|l| l.synced && l.observer == observer)
                .count() as i64
        };
        let (last, min, max) = q.proposal_sizes;
        v.extend([
            ("learners", Int(q.learners.len() as i64)),
            ("synced_followers", Int(synced(false))),
            // Voters outside the voting view exist only during a reconfig.
            ("synced_non_voting_followers", Int(0)),
            ("synced_observers", Int(synced(true))),
            ("pending_syncs", Int(q.pending_syncs as i64)),
            ("leader_uptime", Int(q.since.elapsed().as_millis() as i64)),
            ("last_proposal_size", Int(last)),
            ("min_proposal_size", Int(min)),
            ("max_proposal_size", Int(max)),
        ]);
    }
    v
}

/// The learners whose `<sid>_learner_handler_qp_*` summaries a leader prints, in the order
/// ZooKeeper's summary set map lists them.
pub fn learner_summary_keys(q: &QuorumStatus) -> Vec<String> {
    if q.role != QuorumRole::Leading {
        return Vec::new();
    }
    let mut ids: Vec<u64> = q.learners.iter().map(|l| l.id).collect();
    ids.sort_unstable();
    hash_map_order(ids.iter().map(u64::to_string).collect())
}

/// Fills the quorum part of `snap` from `q`.
pub fn apply(q: &QuorumStatus, snap: &mut Snapshot) {
    assert!(
        !q.read_only || q.role == QuorumRole::Looking,
        "read-only is a state out of quorum, not of a {:?} server",
        q.role
    );
    snap.running = q.serving();
    snap.read_only = q.read_only;
    snap.mode = mode(q).into();
    snap.peer_state = peer_state(q).map(str::to_string);
    snap.proposal_sizes = (q.role == QuorumRole::Leading).then_some(q.proposal_sizes);
    snap.uptime_ms = q.since.elapsed().as_millis() as i64;
    snap.quorum_gauges = gauges(q);
    snap.quorum = Some(q.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(role: QuorumRole) -> QuorumStatus {
        QuorumStatus {
            role,
            my_id: 1,
            leader_id: Some(1),
            epoch: 1,
            learners: Vec::new(),
            pending_syncs: 0,
            proposal_sizes: (-1, -1, -1),
            voters: 3,
            read_only: false,
            since: Instant::now(),
        }
    }

    #[test]
    fn modes_and_peer_states() {
        let cases = [
            (
                QuorumRole::Leading,
                false,
                "leader",
                Some("leading - broadcast"),
            ),
            (
                QuorumRole::Following,
                false,
                "follower",
                Some("following - broadcast"),
            ),
            (
                QuorumRole::Observing,
                false,
                "observer",
                Some("observing - broadcast"),
            ),
            (QuorumRole::Looking, true, "read-only", None),
        ];
        for (role, ro, m, ps) in cases {
            let mut q = status(role);
            q.read_only = ro;
            let mut snap = Snapshot::default();
            apply(&q, &mut snap);
            assert_eq!((snap.mode.as_str(), snap.peer_state.as_deref()), (m, ps));
            assert!(snap.running);
            assert_eq!(snap.read_only, ro);
        }
        let mut snap = Snapshot::default();
        apply(&status(QuorumRole::Looking), &mut snap);
        assert!(!snap.running);
        assert!(snap.quorum_gauges.is_empty());
    }

    #[test]
    #[should_panic(expected = "read-only is a state out of quorum")]
    fn read_only_leader_is_refused() {
        let mut q = status(QuorumRole::Leading);
        q.read_only = true;
        apply(&q, &mut Snapshot::default());
    }

    #[test]
    fn leader_gauges_count_synced_learners_by_kind() {
        let mut q = status(QuorumRole::Leading);
        q.learners = vec![
            LearnerStatus {
                id: 2,
                observer: false,
                synced: true,
            },
            LearnerStatus {
                id: 3,
                observer: false,
                synced: false,
            },
            LearnerStatus {
                id: 4,
                observer: true,
                synced: true,
            },
            LearnerStatus {
                id: 5,
                observer: true,
                synced: true,
            },
        ];
        q.pending_syncs = 2;
        q.proposal_sizes = (48, 36, 107);
        let g: Vec<(&str, MetricValue)> = gauges(&q)
            .into_iter()
            .filter(|(k, _)| *k != "leader_uptime")
            .collect();
        use MetricValue::Int;
        assert_eq!(
            g,
            vec![
                ("quorum_size", Int(3)),
                ("learners", Int(4)),
                ("synced_followers", Int(1)),
                ("synced_non_voting_followers", Int(0)),
                ("synced_observers", Int(2)),
                ("pending_syncs", Int(2)),
                ("last_proposal_size", Int(48)),
                ("min_proposal_size", Int(36)),
                ("max_proposal_size", Int(107)),
            ]
        );
        let names: Vec<&str> = gauges(&q).iter().map(|(k, _)| *k).collect();
        assert_eq!(names, QUORUM_GAUGES);
        assert_eq!(
            gauges(&status(QuorumRole::Following)),
            vec![("quorum_size", Int(3))]
        );
        assert_eq!(observer_master_id(&status(QuorumRole::Observing)), Some(1));
        assert_eq!(observer_master_id(&status(QuorumRole::Following)), None);
        q.learners.push(LearnerStatus {
            id: 11,
            observer: true,
            synced: true,
        });
        // "11" hashes to bin 0 of ZooKeeper's map, "2".."5" to bins 2..5.
        assert_eq!(learner_summary_keys(&q), ["11", "2", "3", "4", "5"]);
    }
}
