//! The pipeline core's replicated side: drives one ensemble [`Member`] (raft-rs plus the
//! engine, sans-IO) with the quorum links and the durable Raft log.
//!
//! Per pipeline batch: client inputs go to the member's engine, peer messages and ticks to
//! the member; then `persist` sends what may go at once (a leader's appends go out before its
//! own fdatasync, so its sync, the followers' and the network overlap), makes the batch's Raft
//! writes durable in one group commit, and sends what waited for that (a follower's
//! acknowledgement, a vote).

use super::links::Links;
use super::snapshots::Snapshots;
use super::wire::SnapshotChunk;
use crate::raft_store::RaftStore;
use crate::status::quorum::{LearnerStatus, QuorumRole, QuorumStatus};
use raft::eraftpb::MessageType;
use ringkeeper_engine::replica::{Envelope, Member, PeerMessage, Role, SnapshotMark};
use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::{Engine, Now, Output};
use std::sync::Arc;
use std::time::Instant;

pub struct Replica {
    member: Member,
    store: RaftStore,
    links: Links,
    /// Bytes of Raft entries this member proposed: last, min, max (-1 before the first).
    proposal_sizes: (i64, i64, i64),
    /// The role the status commands show, since when, and whether read-only.
    shown: (QuorumRole, Instant, bool),
    /// The member's role when last logged.
    logged_role: Role,
    /// Term and vote of the last hard state logged.
    durable_term_vote: (u64, u64),
    serving: Serving,
    snapshots: Snapshots,
}

/// Whether this member serves clients. One that has known no leader for an election
/// timeout (`Role::Looking`) drops its connections and refuses new ones, as a ZooKeeper server
/// that leaves the broadcast phase does, so clients move to a server in the quorum; with
/// read-only mode on it then serves the clients that ask for it.
struct Serving {
    on: bool,
    looking_ticks: u64,
    /// Ticks of looking before connections are dropped.
    stop_after: u64,
    /// Ticks of looking before read-only mode starts; None: read-only mode is off.
    read_only_after: Option<u64>,
}

impl Replica {
    pub fn new(
        mut member: Member,
        store: RaftStore,
        links: Links,
        timing: &super::setup::Timing,
        snapshots: Snapshots,
    ) -> Replica {
        member.keep_applied_txns();
        let hard_state = member.hard_state();
        let ticks = |ms: u64| ms.div_ceil(timing.raft_tick_ms.max(1));
        Replica {
            member,
            store,
            links,
            snapshots,
            proposal_sizes: (-1, -1, -1),
            durable_term_vote: (hard_state.term, hard_state.vote),
            shown: (QuorumRole::Looking, Instant::now(), false),
            logged_role: Role::Looking,
            serving: Serving {
                on: true,
                looking_ticks: 0,
                stop_after: timing.election_ticks as u64,
                // ZooKeeper starts its read-only server max(2000, tickTime) ms after
                // losing the quorum.
                read_only_after: timing
                    .read_only
                    .then(|| ticks(timing.tick_time_ms.max(2000))),
            },
        }
    }

    /// Whether a new client connection may be served (read-only mode decides for itself
    /// which clients it takes).
    pub fn accepts_clients(&self) -> bool {
        // A tree fresh from a snapshot whose fuzzy part is not applied yet shows no single
        // zxid's state: new clients wait the moment until the entries after it arrive.
        (self.serving.on && !self.member.tree_is_fuzzy()) || self.member.engine().is_read_only()
    }

    /// Starts or stops serving clients as the member finds or loses its leader.
    fn check_serving(&mut self) {
        let s = &mut self.serving;
        if self.member.role() != Role::Looking {
            s.looking_ticks = 0;
            if !s.on {
                s.on = true;
                let engine = self.member.engine_mut();
                if engine.is_read_only() {
                    // Read-only sessions are local: their clients must find the quorum.
                    engine.set_read_only(false);
                    engine.close_all_conns();
                }
                tracing::info!(role = ?self.member.role(), "serving clients again");
            }
            return;
        }
        s.looking_ticks += 1;
        if s.on && s.looking_ticks >= s.stop_after {
            s.on = false;
            tracing::warn!("no leader: closing client connections until a quorum forms");
            self.member.engine_mut().close_all_conns();
        }
        if !s.on
            && s.read_only_after.is_some_and(|t| s.looking_ticks >= t)
            && !self.member.engine().is_read_only()
        {
            tracing::info!("no quorum: serving read-only clients");
            self.member.engine_mut().set_read_only(true);
        }
    }

    pub fn engine(&self) -> &Engine {
        self.member.engine()
    }

    /// For client inputs; call [`Replica::flush`] after a batch of them.
    pub fn engine_mut(&mut self) -> &mut Engine {
        self.member.engine_mut()
    }

    /// Client inputs are in: the leader proposes what they prepared, a follower forwards.
    pub fn flush(&mut self) {
        self.member.flush();
    }

    pub fn tick(&mut self, now: Now) {
        for peer in self.links.streaming() {
            self.member.snapshot_in_transit(peer);
        }
        self.member.tick(now);
        if let Some(mark) = self.snapshots.poll_written() {
            self.member.snapshot_saved(mark);
        }
        self.snapshots.maybe_begin(&self.member);
        self.check_serving();
        self.update_shown_role();
    }

    pub fn step(&mut self, env: Envelope) {
        if let Some(mark) = snapshot_mark(&env) {
            // The file came ahead of the message, in chunks; without it the message is
            // dropped, and the leader sends both again once it stops waiting.
            match self.snapshots.take_received(&mark) {
                Some(state) => {
                    let from = env.from;
                    let installs = self.member.installs();
                    self.member.step_snapshot(env, state);
                    let installed = self.member.installs() > installs;
                    if installed {
                        tracing::info!(
                            from,
                            index = mark.index,
                            zxid = format!("{:#x}", mark.zxid),
                            "installed a snapshot from the leader"
                        );
                    }
                    if let Err(e) = self.snapshots.received_done(mark.index, installed) {
                        // The log's Install record would name a file that is not there.
                        crate::pipeline::storage_failed(&e);
                    }
                }
                None => tracing::info!(index = mark.index, "snapshot message without its file"),
            }
            return;
        }
        self.member.step(env);
    }

    /// A piece of a snapshot file from the leader.
    pub fn snapshot_chunk(&mut self, chunk: SnapshotChunk) {
        if let Err(e) = self.snapshots.chunk(chunk) {
            tracing::error!("cannot store a snapshot from the leader: {e}");
        }
    }

    /// Whether a snapshot copy is under way (the pipeline copies a chunk between batches).
    pub fn snapshot_in_progress(&self) -> bool {
        self.snapshots.copying()
    }

    pub fn snapshot_step(&mut self) {
        self.snapshots.step(&self.member);
    }

    pub fn snapshots_taken(&self) -> u64 {
        self.snapshots.taken
    }

    /// The tree an `Output::ReplicaReset` names.
    pub fn take_reset_tree(&mut self) -> Option<ringkeeper_engine::tree::DataTree> {
        self.member.take_reset_tree()
    }

    /// `rqld`: asks the leader to hand leadership to this member (see
    /// [`Member::request_leadership`]). Whether the request went out or this member leads.
    pub fn request_leadership(&mut self) -> bool {
        self.member.request_leadership()
    }

    pub fn peer_unreachable(&mut self, peer: u64) {
        self.member.peer_unreachable(peer);
    }

    /// Sends, makes durable, sends again, until the member has nothing more to write.
    /// A storage error is returned: nothing more may be acknowledged.
    ///
    /// A write that only moves the commit index is logged without a sync of its own (the
    /// next sync carries it): Raft needs its term, vote and entries durable before it
    /// answers, not its commit index, which a restarted member learns again from the
    /// leader. Syncing it would cost every write a second fdatasync on every member.
    pub async fn persist(&mut self) -> Result<u64, String> {
        let mut tasks = 0;
        loop {
            self.send_messages();
            let mut last = None;
            let mut sync = false;
            while let Some(task) = self.member.poll_persist() {
                let vote_or_term = task
                    .hard_state
                    .as_ref()
                    .is_some_and(|hs| (hs.term, hs.vote) != self.durable_term_vote);
                if vote_or_term || !task.entries.is_empty() || task.snapshot.is_some() {
                    sync = true;
                }
                if let Some(hs) = &task.hard_state {
                    self.durable_term_vote = (hs.term, hs.vote);
                }
                if task.snapshot.is_none() {
                    self.note_proposals(&task.entries);
                }
                self.store.append(&task).await?;
                last = Some(task.number);
                tasks += 1;
            }
            let Some(number) = last else {
                return Ok(tasks);
            };
            if sync {
                if let Some(base) = self.store.commit().await? {
                    self.snapshots.purge(base);
                }
            }
            self.member.handle_persisted(number);
        }
    }

    fn note_proposals(&mut self, entries: &[raft::eraftpb::Entry]) {
        if self.member.role() != Role::Leading {
            return;
        }
        for e in entries.iter().filter(|e| !e.data.is_empty()) {
            let n = e.data.len() as i64;
            let (_, min, max) = self.proposal_sizes;
            self.proposal_sizes = (n, if min < 0 { n } else { min.min(n) }, max.max(n));
        }
    }

    fn send_messages(&mut self) {
        while let Some(env) = self.member.poll_message() {
            match snapshot_mark(&env) {
                Some(mark) => {
                    let path = self.snapshots.path_of(mark.index);
                    self.links.send_snapshot(env, mark.index, path);
                }
                None => self.links.send(&env),
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.member.poll_output()
    }

    pub fn poll_applied_txn(&mut self) -> Option<Arc<Txn>> {
        let txn = self.member.poll_applied_txn()?;
        self.snapshots.count_applied(1);
        Some(txn)
    }

    pub fn log_size(&self) -> u64 {
        self.store.log_size()
    }

    /// This member's place in the ensemble, for the status commands. A member still in
    /// its grace period without a leader shows the role it had (it still serves).
    pub fn quorum_status(&self) -> QuorumStatus {
        let leading = self.member.role() == Role::Leading;
        let learners = if leading {
            self.member
                .peer_progress()
                .into_iter()
                .filter(|p| self.links.connected(p.id))
                .map(|p| LearnerStatus {
                    id: p.id,
                    observer: p.observer,
                    synced: p.active,
                })
                .collect()
        } else {
            Vec::new()
        };
        QuorumStatus {
            role: self.shown.0,
            my_id: self.member.id(),
            leader_id: self.member.leader_id(),
            epoch: self.member.term(),
            learners,
            pending_syncs: if leading {
                self.member.pending_syncs() as u64
            } else {
                0
            },
            proposal_sizes: self.proposal_sizes,
            voters: self.member.config().voters.len() as u64,
            read_only: self.member.engine().is_read_only(),
            since: self.shown.1,
        }
    }

    /// Keeps the role the status commands show (and since when) up to date, and logs each
    /// change of the member's role.
    fn update_shown_role(&mut self) {
        let now = self.member.role();
        if now != self.logged_role {
            self.logged_role = now;
            tracing::info!(
                role = ?now,
                term = self.member.term(),
                leader = ?self.member.leader_id(),
                "quorum role changed"
            );
        }
        let role = match self.member.role() {
            Role::Leading => QuorumRole::Leading,
            Role::Following => QuorumRole::Following,
            Role::Observing => QuorumRole::Observing,
            Role::Looking if self.serving.on => self.shown.0,
            Role::Looking => QuorumRole::Looking,
        };
        let read_only = self.member.engine().is_read_only();
        if role != self.shown.0 || read_only != self.shown.2 {
            self.shown = (role, Instant::now(), read_only);
        }
    }
}

/// The mark of a MsgSnapshot (the snapshot's file travels beside it).
fn snapshot_mark(env: &Envelope) -> Option<SnapshotMark> {
    match &env.body {
        PeerMessage::Raft(m) if m.get_msg_type() == MessageType::MsgSnapshot => {
            SnapshotMark::from_raft(m.get_snapshot())
        }
        _ => None,
    }
}
