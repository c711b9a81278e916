//! The member: a raft-rs `RawNode` and an [`Engine`], driven by the caller.
//!
//! Call contract (as the Engine's, quinn-proto style):
//! - in: `tick`, `step` (a peer's message), client inputs on [`Member::engine_mut`] followed by
//!   `propose_prepared`, and `handle_persisted` once a [`PersistTask`] is durable;
//! - out: `poll_message` (to peers), `poll_persist` (to make durable, in order),
//!   `poll_output` (to clients).
//!
//! Every input ends with [`Member::drive`], which takes raft's `Ready`s: messages that may go
//! at once (the leader's appends go before its own log write, Raft thesis 10.2.1), writes to
//! persist, and committed entries to apply. Messages that need this ready's writes to be
//! durable first (a follower's acknowledgement, a vote) are held until `handle_persisted`.

use super::batch::{decode_batch, encode_batch};
use super::durable::{DurableState, PersistTask};
use super::log_store::LogStore;
use super::snapshot::{SnapshotMark, SnapshotState};
use super::timeouts::ElectionTimeouts;
use super::zxid;
use super::{Envelope, PeerMessage};
use crate::engine::{Engine, Output};
use crate::txn::Txn;
use crate::{EngineConfig, Now};
use raft::eraftpb::{Entry, EntryType, Message, MessageType};
use raft::{RawNode, StateRole};
use std::collections::VecDeque;
use std::sync::Arc;

mod snapshots;
use snapshots::engine_from_snapshot;

/// Static facts about one member.
#[derive(Clone, Debug)]
pub struct MemberConfig {
    pub id: u64,
    /// Voting members (ZooKeeper's participants).
    pub voters: Vec<u64>,
    /// Observers: Raft learners, which never vote or campaign.
    pub observers: Vec<u64>,
    /// Ticks without a leader before a voter campaigns (at least `heartbeat_tick + 1`).
    pub election_tick: usize,
    pub heartbeat_tick: usize,
    /// Seeds the election timeouts (see `timeouts.rs`).
    pub seed: u64,
}

/// ZooKeeper's server states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// No leader known (an election is going on).
    Looking,
    Leading,
    Following,
    Observing,
}

pub struct Member {
    config: MemberConfig,
    node: RawNode<LogStore>,
    engine: Engine,
    engine_config: EngineConfig,
    timeouts: ElectionTimeouts,
    /// Raft index of the last entry applied to `engine`.
    applied: u64,
    /// zxid of the last txn applied from the committed log (asserted to increase).
    applied_zxid: i64,
    /// The term this member prepares txns in: set once it leads and has applied everything
    /// it inherited, cleared when it stops leading.
    leading_term: Option<u64>,
    persist: VecDeque<PersistTask>,
    /// Each ready's messages that may leave only once that ready is durable.
    held: VecDeque<(u64, Vec<Message>)>,
    outbox: VecDeque<Envelope>,
    /// The leader last seen: when it changes, forwarded requests may be lost.
    known_leader: u64,
    /// Ticks during which forwarded requests waited and none was answered.
    stalled_ticks: usize,
    /// Ticks since start, for retrying syncs.
    ticks: u64,
    /// Syncs waiting for the leader's commit point: engine sync id -> (read_index
    /// attempt, tick asked, read index once known).
    syncs: std::collections::BTreeMap<u64, (u64, u64, Option<u64>)>,
    /// Leader: syncs were answered since the last look, so writes queued behind them may
    /// have been prepared.
    syncs_answered: bool,
    answered_at_last_tick: u64,
    /// How many times this member rebuilt its engine after losing leadership.
    rebuilds: u64,
    /// Outputs of connections dropped by a rebuild (their Close), ahead of the engine's.
    dropped: VecDeque<Output>,
    /// Committed txns applied here, for a caller that keeps replicas of the tree (the
    /// server's connection shards); `None` unless asked for with `keep_applied_txns`.
    applied_txns: Option<VecDeque<Arc<Txn>>>,
    now: Now,
    /// Loads the state of the snapshot the log starts after, for a rebuild.
    snapshots: Box<dyn SnapshotSource + Send>,
    /// The snapshot the log starts after (None: it starts at index 1).
    base: Option<SnapshotMark>,
    /// Snapshots taken and made durable here, waiting for their fuzzy part to commit.
    taken: Vec<SnapshotMark>,
    /// A snapshot received from the leader, stepped with its MsgSnapshot, until raft
    /// hands it back to be installed.
    incoming: Option<(SnapshotMark, SnapshotState)>,
    /// Leader: when each follower was sent a snapshot (tick), to give up on a lost one.
    snapshot_sent: std::collections::BTreeMap<u64, u64>,
    /// Times the engine was replaced by a received snapshot.
    installs: u64,
    /// Number of the last ready taken, for tasks of the member's own (compactions).
    last_ready: u64,
    /// The tree of the snapshot last installed, for the caller's replicas (see
    /// `Output::ReplicaReset`).
    reset_tree: Option<crate::tree::DataTree>,
}

/// Where a member gets a snapshot's state back when it must rebuild its engine from the
/// committed state (a leader deposed with txns prepared and not committed). The server reads
/// its snapshot file; the simulator keeps them in memory.
pub trait SnapshotSource {
    fn load(&mut self, mark: &SnapshotMark) -> SnapshotState;
}

/// What the leader knows of one other member's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerProgress {
    pub id: u64,
    pub observer: bool,
    /// The highest index known to be in its log.
    pub matched: u64,
    /// Heard from within the last election timeout.
    pub active: bool,
}

impl Member {
    /// Starts a member from its durable state (`DurableState::initial` the first time). Raft
    /// hands back the committed entries, which rebuild the engine from an empty tree.
    ///
    /// A log that starts after a snapshot needs that snapshot's state in `snapshot`.
    pub fn new(
        config: MemberConfig,
        engine_config: EngineConfig,
        durable: &DurableState,
        snapshot: Option<SnapshotState>,
        snapshots: Box<dyn SnapshotSource + Send>,
        now: Now,
    ) -> Member {
        let mut storage = LogStore::new(durable.hard_state.clone(), durable.conf_state.clone());
        let mut engine = Engine::new(engine_config.clone(), now);
        let (mut applied, mut applied_zxid) = (0, 0);
        match (&durable.snapshot, snapshot) {
            (Some(mark), Some(state)) => {
                storage.install(mark);
                engine = engine_from_snapshot(&engine_config, mark, state, now);
                (applied, applied_zxid) = (mark.index, mark.zxid);
            }
            (None, None) => {}
            (mark, state) => panic!(
                "member {}: the log starts after snapshot {:?} but its state is{} given",
                config.id,
                mark.as_ref().map(|m| m.index),
                if state.is_some() { "" } else { " not" }
            ),
        }
        storage.append(&durable.entries);
        let raft_config = raft::Config {
            id: config.id,
            election_tick: config.election_tick,
            heartbeat_tick: config.heartbeat_tick,
            check_quorum: true,
            pre_vote: true,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            applied,
            ..raft::Config::default()
        };
        raft_config.validate().expect("valid raft configuration");
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let node = RawNode::new(&raft_config, storage, &logger).expect("raft node starts");
        let mut m = Member {
            timeouts: ElectionTimeouts::new(config.seed, config.id),
            config,
            node,
            engine,
            engine_config,
            applied,
            applied_zxid,
            leading_term: None,
            persist: VecDeque::new(),
            held: VecDeque::new(),
            outbox: VecDeque::new(),
            known_leader: raft::INVALID_ID,
            stalled_ticks: 0,
            ticks: 0,
            syncs: std::collections::BTreeMap::new(),
            syncs_answered: false,
            answered_at_last_tick: 0,
            dropped: VecDeque::new(),
            applied_txns: None,
            rebuilds: 0,
            now,
            snapshots,
            base: durable.snapshot.clone(),
            taken: Vec::new(),
            incoming: None,
            snapshot_sent: std::collections::BTreeMap::new(),
            installs: 0,
            last_ready: 0,
            reset_tree: None,
        };
        m.engine.set_forwarding(true);
        m.engine.set_sync_by_read_index(true);
        m.fix_election_timeout();
        m.drive();
        m
    }

    pub fn id(&self) -> u64 {
        self.config.id
    }

    pub fn config(&self) -> &MemberConfig {
        &self.config
    }

    pub fn role(&self) -> Role {
        let raft = &self.node.raft;
        match raft.state {
            StateRole::Leader => Role::Leading,
            _ if raft.leader_id == raft::INVALID_ID => Role::Looking,
            // An Observer never campaigns, so it keeps its leader id however long the
            // leader is silent: silence for two election timeouts means none is reachable.
            _ if raft.election_elapsed >= 2 * self.config.election_tick => Role::Looking,
            _ if self.config.observers.contains(&self.config.id) => Role::Observing,
            _ => Role::Following,
        }
    }

    pub fn term(&self) -> u64 {
        self.node.raft.term
    }

    /// Raft's hard state as this member holds it (term, vote, commit).
    pub fn hard_state(&self) -> raft::eraftpb::HardState {
        self.node.raft.hard_state()
    }

    /// The leader this member knows of.
    pub fn leader_id(&self) -> Option<u64> {
        let id = self.node.raft.leader_id;
        (id != raft::INVALID_ID).then_some(id)
    }

    /// Raft's commit index as known here.
    pub fn committed_index(&self) -> u64 {
        self.node.raft.raft_log.committed
    }

    /// Leader only: every other member's replication progress.
    pub fn peer_progress(&self) -> Vec<PeerProgress> {
        if self.node.raft.state != StateRole::Leader {
            return Vec::new();
        }
        let mut out: Vec<PeerProgress> = self
            .node
            .raft
            .prs()
            .iter()
            .filter(|(id, _)| **id != self.config.id)
            .map(|(id, pr)| PeerProgress {
                id: *id,
                observer: self.config.observers.contains(id),
                matched: pr.matched,
                active: pr.recent_active,
            })
            .collect();
        out.sort_by_key(|p| p.id);
        out
    }

    /// From now on, keep every committed txn applied here for `poll_applied_txn`. Asked for
    /// right after `new`: the txns recovered by `new` are not kept.
    pub fn keep_applied_txns(&mut self) {
        self.applied_txns.get_or_insert_with(VecDeque::new);
    }

    /// The next committed txn applied here, in zxid order (see `keep_applied_txns`).
    pub fn poll_applied_txn(&mut self) -> Option<Arc<Txn>> {
        self.applied_txns.as_mut()?.pop_front()
    }

    /// Raft index of the last entry applied here.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// zxid of the last committed txn applied here.
    pub fn applied_zxid(&self) -> i64 {
        self.applied_zxid
    }

    /// Engine rebuilds since start (a leader that lost leadership with uncommitted txns).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Client inputs go to the engine; call `propose_prepared` afterwards. Only a member that
    /// [`accepts_writes`](Self::accepts_writes) may be given requests that prepare txns.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Leads, and has applied every entry it inherited: the tree is the committed state plus
    /// only what this member prepared in its own term.
    pub fn accepts_writes(&self) -> bool {
        self.leading_term.is_some()
    }

    /// The committed entry at `index`, for comparing logs across members.
    /// None once the log was compacted past it.
    pub fn entry(&self, index: u64) -> Option<Entry> {
        self.node.store().entry(index).cloned()
    }

    /// Whether the tree is exactly the state after the applied entries: nothing prepared on
    /// top of them, and no txn of a fuzzy snapshot's that is not replayed yet.
    pub fn tree_is_committed_state(&self) -> bool {
        self.engine.last_zxid() == self.applied_zxid
            && self
                .base
                .as_ref()
                .is_none_or(|b| self.applied >= b.fuzzy_until)
    }

    /// Syncs waiting for their read index or for it to be applied here (ZooKeeper's
    /// zk_pending_syncs, which its leader counts).
    pub fn pending_syncs(&self) -> usize {
        self.syncs.len()
    }

    /// Right after a snapshot was installed or loaded, the tree may hold txns of the
    /// snapshot's fuzzy part that are not yet applied here: it is not the state at any one
    /// zxid until they are.
    pub fn tree_is_fuzzy(&self) -> bool {
        self.base
            .as_ref()
            .is_some_and(|b| self.applied < b.fuzzy_until)
    }

    /// The first index the log still holds (1 until a snapshot compacted it).
    pub fn first_index(&self) -> u64 {
        self.node.store().first_index()
    }

    /// The snapshot the log starts after.
    pub fn base_snapshot(&self) -> Option<&SnapshotMark> {
        self.base.as_ref()
    }

    /// The tree an `Output::ReplicaReset` names (taken once).
    pub fn take_reset_tree(&mut self) -> Option<crate::tree::DataTree> {
        self.reset_tree.take()
    }

    /// Times a snapshot received from the leader replaced the engine: a caller that keeps
    /// replicas of the tree (`keep_applied_txns`) must copy it again.
    pub fn installs(&self) -> u64 {
        self.installs
    }

    pub fn tick(&mut self, now: Now) {
        self.now = now;
        self.ticks += 1;
        self.node.tick();
        if self.node.raft.state == StateRole::Leader {
            self.check_snapshots_sent();
        }
        if self.leading_term.is_some() {
            // Only the leader expires sessions and reaps containers.
            self.engine.handle_tick(now);
            self.propose_prepared();
        } else {
            self.report_touches();
            self.check_forward_stall();
        }
        self.retry_syncs();
        self.fix_election_timeout();
        self.drive();
    }

    /// A message from a peer. Raft drops messages from unknown peers or stale terms; forwarded
    /// requests reaching a member that does not lead are dropped (their follower times out).
    /// Call `flush` after a batch of messages: forwarded writes are proposed there.
    pub fn step(&mut self, env: Envelope) {
        match env.body {
            PeerMessage::Raft(mut msg) => {
                if msg.get_msg_type() == MessageType::MsgHeartbeat {
                    self.check_log_lost(&mut msg);
                }
                let _ = self.node.step(msg);
            }
            PeerMessage::LogLost { last_index } => self.resend_log(env.from, last_index),
            PeerMessage::Forward(f) if self.leading_term.is_some() => {
                // Proposed at the caller's next `flush` (or tick), with every other write of
                // its batch: one Raft entry per batch, not per forwarded write.
                self.engine.handle_forwarded(f, self.now);
            }
            PeerMessage::Touch(ids) if self.leading_term.is_some() => {
                self.engine.handle_touch(&ids, self.now);
            }
            PeerMessage::Forward(_) | PeerMessage::Touch(_) => {}
        }
        self.fix_election_timeout();
        self.drive();
    }

    /// The transport saw `peer`'s link close (its process died, or the network failed).
    /// When `peer` is the leader, stop honouring its lease: this voter grants votes at once
    /// and campaigns after what is left of a randomised timeout, in [0, election_tick)
    /// ticks instead of [election_tick, 2 * election_tick). ZooKeeper's followers likewise
    /// start an election when the leader's socket closes.
    pub fn peer_unreachable(&mut self, peer: u64) {
        let raft = &mut self.node.raft;
        if raft.state == StateRole::Leader || raft.leader_id != peer {
            return;
        }
        raft.election_elapsed = raft.election_elapsed.max(self.config.election_tick);
        self.drive();
    }

    /// A leader's heartbeat carries the commit index up to what it believes this member
    /// has. Beyond this member's log, the log was lost; raft-rs would panic on it (etcd's
    /// "was the raft log corrupted, truncated, or lost?"). Keep the commit index and tell
    /// the leader instead.
    fn check_log_lost(&mut self, msg: &mut Message) {
        let log = &self.node.raft.raft_log;
        let last_index = log.last_index();
        if msg.commit <= last_index {
            return;
        }
        msg.commit = log.committed;
        self.outbox.push_back(Envelope {
            from: self.config.id,
            to: msg.from,
            body: PeerMessage::LogLost { last_index },
        });
    }

    /// Leader: `peer` lost its log after `last_index`; replicate to it from there.
    fn resend_log(&mut self, peer: u64, last_index: u64) {
        let raft = &mut self.node.raft;
        if raft.state != StateRole::Leader {
            return;
        }
        if let Some(pr) = raft.mut_prs().get_mut(peer) {
            if pr.matched > last_index {
                pr.matched = last_index;
                pr.become_probe();
            }
        }
    }

    /// Client inputs given through `engine_mut` are done: propose what the leader prepared,
    /// send what a follower forwards.
    pub fn flush(&mut self) {
        if self.leading_term.is_some() {
            self.propose_prepared();
        } else {
            self.drive();
        }
    }

    fn report_touches(&mut self) {
        let leader = self.node.raft.leader_id;
        let ids = self.engine.take_touched();
        if !ids.is_empty() && leader != raft::INVALID_ID && leader != self.config.id {
            self.outbox.push_back(Envelope {
                from: self.config.id,
                to: leader,
                body: PeerMessage::Touch(ids),
            });
        }
    }

    /// Forwarded requests unanswered for many ticks were lost with a message or a leader:
    /// close their connections rather than keep the clients waiting forever.
    fn check_forward_stall(&mut self) {
        let answered = self.engine.forwarded_answered();
        if self.engine.forwarded_waiting() > 0 && answered == self.answered_at_last_tick {
            self.stalled_ticks += 1;
        } else {
            self.stalled_ticks = 0;
        }
        self.answered_at_last_tick = answered;
        if self.stalled_ticks > 4 * self.config.election_tick {
            self.stalled_ticks = 0;
            self.drop_forwarded();
        }
    }

    /// Sends what the engine forwards to the leader; with no leader to send to, those
    /// requests are dropped and their connections closed.
    /// Returns whether it gave raft work (ReadIndex requests) that needs another `drive`.
    fn route_forwards(&mut self) -> bool {
        let leader = self.node.raft.leader_id;
        if leader != self.known_leader {
            self.known_leader = leader;
            if self.leading_term.is_none() {
                self.drop_forwarded();
            }
        }
        if self.leading_term.is_some() {
            return self.route_leader_syncs();
        }
        let reachable = leader != raft::INVALID_ID && leader != self.config.id;
        while let Some(f) = self.engine.poll_forward() {
            if !reachable {
                self.drop_forwarded();
                return false;
            }
            self.outbox.push_back(Envelope {
                from: self.config.id,
                to: leader,
                body: PeerMessage::Forward(f),
            });
        }
        let mut asked = false;
        while let Some(id) = self.engine.poll_sync() {
            if !reachable {
                self.drop_forwarded();
                return false;
            }
            self.syncs.insert(id, (0, self.ticks, None));
            self.node.read_index(sync_ctx(id, 0));
            asked = true;
        }
        asked
    }

    /// Leader: a sync asks raft for a read index too, which raft gives once a quorum has
    /// acknowledged a heartbeat sent after the request (ReadOnlyOption::Safe): a leader
    /// deposed without knowing it yet never answers. Requests its session sent after a sync
    /// wait for it; the writes among them, prepared when it is answered, are proposed here
    /// (other writes wait for `flush`, which proposes a whole batch as one entry).
    /// Returns whether raft has new work.
    fn route_leader_syncs(&mut self) -> bool {
        let mut asked = false;
        while let Some(id) = self.engine.poll_sync() {
            self.syncs.insert(id, (0, self.ticks, None));
            self.node.read_index(sync_ctx(id, 0));
            asked = true;
        }
        if std::mem::take(&mut self.syncs_answered)
            && self.engine.prepared_txns() > 0
            && self.propose_txns()
        {
            asked = true;
        }
        asked
    }

    /// Asks to lead, as ClickHouse Keeper's `rqld` does: a follower asks its leader to hand
    /// leadership over (raft's MsgTransferLeader; the leader sends MsgTimeoutNow once this
    /// member's log is up to date, and this member then campaigns at once). Returns whether
    /// the request went out or this member leads already. An Observer (a raft learner)
    /// never leads, and a member that knows no leader has nobody to ask. The transfer may
    /// still fail (the leader gives up after an election timeout).
    pub fn request_leadership(&mut self) -> bool {
        let raft = &self.node.raft;
        if raft.state == StateRole::Leader {
            return true;
        }
        if self.config.observers.contains(&self.config.id) || raft.leader_id == raft::INVALID_ID {
            return false;
        }
        self.node.transfer_leader(self.config.id);
        self.drive();
        true
    }

    /// A ReadIndex request is dropped silently by a leader that has not committed in its
    /// term, or lost: ask again (with a new context; a repeated one is ignored).
    fn retry_syncs(&mut self) {
        let limit = 2 * self.config.election_tick as u64;
        let mut again = Vec::new();
        for (id, (attempt, asked, index)) in self.syncs.iter_mut() {
            if index.is_none() && self.ticks - *asked > limit {
                *attempt += 1;
                *asked = self.ticks;
                again.push(sync_ctx(*id, *attempt));
            }
        }
        for ctx in again {
            self.node.read_index(ctx);
        }
    }

    /// The read states of a ready: each sync learns the leader's commit index.
    fn take_read_states(&mut self, states: Vec<raft::ReadState>) {
        for rs in states {
            let Some(id) = sync_id(&rs.request_ctx) else {
                continue;
            };
            if let Some((_, _, index)) = self.syncs.get_mut(&id) {
                index.get_or_insert(rs.index);
            }
        }
    }

    /// Syncs whose read index is applied here are done.
    fn finish_syncs(&mut self) {
        let applied = self.applied;
        let done: Vec<u64> = self
            .syncs
            .iter()
            .filter(|(_, (_, _, index))| index.is_some_and(|i| i <= applied))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.syncs.remove(&id);
            self.engine.complete_sync(id, self.now);
            self.syncs_answered = true;
        }
    }

    fn drop_forwarded(&mut self) {
        self.engine.drop_forwarded();
        self.syncs.clear();
    }

    /// Proposes the txns the engine prepared since the last call as one entry, and takes
    /// what raft has to do (syncs to ask for included).
    pub fn propose_prepared(&mut self) {
        self.propose_txns();
        self.drive();
    }

    /// Proposes what the engine prepared as one entry; returns whether it proposed.
    fn propose_txns(&mut self) -> bool {
        if self.node.raft.lead_transferee.is_some() {
            // Raft drops proposals while it hands leadership over: the txns stay prepared.
            // If the transfer times out they are proposed then; if it succeeds, stepping
            // down rebuilds the engine and closes their connections, never answered.
            return false;
        }
        let mut txns: Vec<Txn> = Vec::new();
        while let Some(txn) = self.engine.poll_txn() {
            txns.push(txn);
        }
        if txns.is_empty() {
            return false;
        }
        let Some(term) = self.leading_term else {
            panic!(
                "member {} prepared {} txns without leading",
                self.config.id,
                txns.len()
            );
        };
        for t in &txns {
            assert_eq!(
                zxid::epoch_of(t.zxid),
                term,
                "txn {:#x} prepared outside the leader's epoch",
                t.zxid
            );
        }
        if self.node.propose(Vec::new(), encode_batch(&txns)).is_err() {
            // Dropped: the engine holds txns that will never commit.
            self.step_down();
            // While raft leads, `check_leadership` would lead this term again, with zxids
            // that entries proposed before this one may still commit with: give the term
            // up instead (the voters elect a leader in the next).
            if self.node.raft.state == StateRole::Leader {
                let term = self.node.raft.term;
                self.node.raft.become_follower(term, raft::INVALID_ID);
            }
        }
        true
    }

    /// The writes of ready `number` (and every earlier one) are durable.
    pub fn handle_persisted(&mut self, number: u64) {
        self.node.on_persist_ready(number);
        self.advance_apply();
        while let Some((n, _)) = self.held.front() {
            if *n > number {
                break;
            }
            let (_, msgs) = self.held.pop_front().expect("front exists");
            self.send_raft(msgs);
        }
        self.drive();
    }

    pub fn poll_message(&mut self) -> Option<Envelope> {
        self.outbox.pop_front()
    }

    pub fn poll_persist(&mut self) -> Option<PersistTask> {
        self.persist.pop_front()
    }

    /// Client outputs, released once their txn is committed and applied here.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.dropped
            .pop_front()
            .or_else(|| self.engine.poll_output())
    }

    /// Takes every ready raft has.
    fn drive(&mut self) {
        loop {
            self.drive_readies();
            if !self.route_forwards() {
                break;
            }
        }
    }

    fn drive_readies(&mut self) {
        while self.node.has_ready() {
            let mut rd = self.node.ready();
            let msgs = rd.take_messages();
            self.send_raft(msgs);
            let snapshot =
                (!rd.snapshot().is_empty()).then(|| self.install_snapshot(rd.snapshot()));
            let entries = rd.take_entries();
            let hard_state = rd.hs().cloned();
            {
                let store = self.node.mut_store();
                store.append(&entries);
                if let Some(hs) = &hard_state {
                    store.set_hard_state(hs.clone());
                }
            }
            self.last_ready = rd.number();
            self.persist.push_back(PersistTask {
                number: rd.number(),
                hard_state,
                entries,
                snapshot,
            });
            self.held
                .push_back((rd.number(), rd.take_persisted_messages()));
            let read_states = rd.take_read_states();
            self.take_read_states(read_states);
            let committed = rd.take_committed_entries();
            self.apply(committed);
            self.finish_syncs();
            self.node.advance_append_async(rd);
            self.advance_apply();
            self.check_leadership();
            self.check_snapshots_taken();
        }
    }

    /// Tells raft what is applied: at most what is durable here (after a snapshot is
    /// installed, raft counts it applied only once it is persisted).
    fn advance_apply(&mut self) {
        let log = &self.node.raft.raft_log;
        let to = self.applied.min(log.persisted).min(log.committed);
        if to > log.applied {
            self.node.advance_apply_to(to);
        }
    }

    fn send_raft(&mut self, msgs: Vec<Message>) {
        for m in msgs {
            self.outbox.push_back(Envelope {
                from: m.from,
                to: m.to,
                body: PeerMessage::Raft(m),
            });
        }
    }

    /// Applies committed entries (raft gives only entries also durable here).
    fn apply(&mut self, entries: Vec<Entry>) {
        for e in entries {
            assert_eq!(
                e.index,
                self.applied + 1,
                "member {} applies entry {} after {}",
                self.config.id,
                e.index,
                self.applied
            );
            self.applied = e.index;
            if e.get_entry_type() != EntryType::EntryNormal {
                continue; // conf changes are never proposed yet
            }
            if e.data.is_empty() {
                // A new leader's first entry: its epoch starts here, on every member, as
                // ZooKeeper's NEWLEADER sets every follower's zxid to the new epoch's. A
                // client that saw the leader's zxid may then move to any member.
                self.enter_epoch(&e);
                continue;
            }
            let txns = decode_batch(&e.data)
                .unwrap_or_else(|err| panic!("committed entry {} does not decode: {err}", e.index));
            for txn in txns {
                assert!(
                    txn.zxid > self.applied_zxid,
                    "member {}: zxid {:#x} applied after {:#x} (entry {})",
                    self.config.id,
                    txn.zxid,
                    self.applied_zxid,
                    e.index
                );
                self.applied_zxid = txn.zxid;
                if self.leading_term == Some(zxid::epoch_of(txn.zxid)) {
                    // Prepared (and applied to the tree) here: committing it releases its
                    // replies and notifications.
                    self.engine.handle_persisted(txn.zxid);
                } else {
                    self.engine.apply_committed(&txn, self.now);
                }
                if let Some(kept) = &mut self.applied_txns {
                    kept.push_back(Arc::new(txn));
                }
            }
        }
    }

    /// A new term's first entry, applied: the engine's zxid moves to the epoch's start.
    fn enter_epoch(&mut self, e: &Entry) {
        let floor = zxid::epoch_start(e.term);
        if self.leading_term.is_none() && floor > self.engine.last_zxid() {
            self.engine.start_epoch(floor);
        }
    }

    /// Starts or stops preparing txns as leadership comes and goes.
    fn check_leadership(&mut self) {
        let raft = &self.node.raft;
        let is_leader = raft.state == StateRole::Leader;
        match self.leading_term {
            Some(term) if !is_leader || raft.term != term => self.step_down(),
            None if is_leader
                && raft.commit_to_current_term()
                && self.applied == raft.raft_log.committed =>
            {
                let term = raft.term;
                // Requests this member forwarded while it followed have no leader to go to.
                self.drop_forwarded();
                self.engine.set_forwarding(false);
                self.engine.start_epoch(zxid::epoch_start(term));
                // A new leader gives every session a full timeout (ZooKeeper does the same).
                let sessions: Vec<i64> = self
                    .engine
                    .sessions()
                    .iter()
                    .map(|s| s.session_id)
                    .collect();
                self.engine.handle_touch(&sessions, self.now);
                self.leading_term = Some(term);
            }
            _ => {}
        }
    }

    /// Stops preparing. Txns prepared but not committed are in the tree: rebuild the engine
    /// from the committed log, and close the connections, whose replies may never come.
    fn step_down(&mut self) {
        self.leading_term = None;
        self.engine.set_forwarding(true);
        if self.engine.last_zxid() == self.applied_zxid && self.engine.outstanding_txns() == 0 {
            return;
        }
        self.rebuilds += 1;
        let (mut engine, mut last, first) = match &self.base {
            Some(mark) => {
                let state = self.snapshots.load(mark);
                let engine = engine_from_snapshot(&self.engine_config, mark, state, self.now);
                (engine, mark.zxid, mark.index + 1)
            }
            None => (Engine::new(self.engine_config.clone(), self.now), 0, 1),
        };
        for index in first..=self.applied {
            let Some(e) = self.entry(index) else {
                panic!("committed entry {index} missing from the log")
            };
            if e.get_entry_type() != EntryType::EntryNormal {
                continue;
            }
            if e.data.is_empty() {
                engine.start_epoch(zxid::epoch_start(e.term).max(engine.last_zxid()));
                continue;
            }
            for txn in decode_batch(&e.data).expect("committed entries decode") {
                assert!(txn.zxid > last, "zxid order broken in the committed log");
                last = txn.zxid;
                // Replay, not apply: a fuzzy snapshot may hold some of these already.
                engine.replay(&txn, self.now);
            }
        }
        assert_eq!(last, self.applied_zxid, "rebuild ended at another zxid");
        for conn in self.engine.conn_ids() {
            self.dropped.push_back(Output::Close { conn });
        }
        engine.set_forwarding(true);
        engine.set_sync_by_read_index(true);
        self.engine = engine;
    }

    fn fix_election_timeout(&mut self) {
        // raft-rs's defaults: [election_tick, 2 * election_tick).
        let (min, max) = (self.config.election_tick, 2 * self.config.election_tick);
        let raft = &mut self.node.raft;
        let role = raft.state as u8;
        let t = self.timeouts.pick(raft.term, role, min, max);
        raft.set_randomized_election_timeout(t);
    }
}

/// A ReadIndex context: the engine's sync id and the attempt.
fn sync_ctx(id: u64, attempt: u64) -> Vec<u8> {
    let mut ctx = id.to_be_bytes().to_vec();
    ctx.extend_from_slice(&attempt.to_be_bytes());
    ctx
}

fn sync_id(ctx: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(ctx.get(..8)?.try_into().ok()?))
}
