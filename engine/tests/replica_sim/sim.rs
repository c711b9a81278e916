//! The ensemble: voters and an Observer, each a `replica::Member` (raft-rs + Engine) with a
//! simulated disk, on a network that drops, delays, duplicates and reorders messages, with
//! partitions, crashes that lose unsynced writes, and Observers that lose their whole disk.
//! Members take fuzzy snapshots every few entries and compact their logs, so laggards and
//! wiped Observers catch up from snapshots. One `Rng` decides everything.
//!
//! Checked after every round: committed entries agree across members; members at the same
//! zxid (with nothing prepared on top) have the same tree; zxids strictly increase (asserted
//! inside the member). `settle` heals every fault and runs until the ensemble has taken one
//! more write and every member applied the same log.

use super::client::{Client, Record, Sent, SHARED};
use super::rng::Rng;
use super::znode::{data_number, ZnodeState};
use crate::harness::test_config;
use raft::eraftpb::MessageType;
use ringkeeper_engine::proto::{ConnectRequest, RequestHeader};
use ringkeeper_engine::replica::{
    DurableState, Envelope, Member, MemberConfig, PeerMessage, PersistTask, Role, SnapshotBegin,
    SnapshotMark, SnapshotSource, SnapshotState,
};
use ringkeeper_engine::{ConnId, Now};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Clients, each with one session at a time.
const CLIENTS: u64 = 3;

/// Applied entries after which a member takes a snapshot (small, so that every run
/// compacts, installs snapshots on laggards and restarts from them).
const SNAP_EVERY: u64 = 12;

/// Snapshots on a member's simulated disk, by index: durable once saved.
type SnapshotFiles = Arc<Mutex<BTreeMap<u64, SnapshotState>>>;

struct SimSnapshots(SnapshotFiles);

impl SnapshotSource for SimSnapshots {
    fn load(&mut self, mark: &SnapshotMark) -> SnapshotState {
        self.0
            .lock()
            .unwrap()
            .get(&mark.index)
            .cloned()
            .expect("the base snapshot is on disk")
    }
}

/// A snapshot being copied: begun at one round, copied and ended at a later one, so the copy
/// is fuzzy as the server's chunked copy is.
struct Copying {
    begin: SnapshotBegin,
    end_at: u64,
}

struct Node {
    config: MemberConfig,
    member: Option<Member>,
    disk: DurableState,
    /// Written, not yet synced: a crash loses these.
    unsynced: VecDeque<PersistTask>,
    /// Rounds until a crashed node restarts.
    down_for: u64,
    /// Highest index whose entry was compared with the ensemble's committed log.
    checked: u64,
    /// zxid whose tree digest was last compared.
    digested: i64,
    snapshots: SnapshotFiles,
    copying: Option<Copying>,
}

struct InFlight {
    at: u64,
    seq: u64,
    msg: Envelope,
}

/// The ensemble, the network between its members, and the clients on them.
pub struct Sim {
    rng: Rng,
    round: u64,
    nodes: BTreeMap<u64, Node>,
    net: Vec<InFlight>,
    /// Members cut off from everyone, until the round given.
    isolated: BTreeMap<u64, u64>,
    /// The committed log as first seen: index -> (term, data).
    log: BTreeMap<u64, (u64, Vec<u8>)>,
    /// Tree digest at each zxid, from members with nothing prepared on top.
    digests: HashMap<i64, u64>,
    clients: Vec<Client>,
    pub record: Record,
    next_conn: u64,
    /// Sequence numbers of messages, and the arrival round of the last forward per link:
    /// forwards travel in order and undoubled, as on the TCP link they model (they may be
    /// lost; the follower then closes the connections it cannot answer).
    seq: u64,
    forward_at: HashMap<(u64, u64), u64>,
    chaos: bool,
    /// Chaos also asks random members to take leadership over (`rqld`).
    transfers: bool,
    /// Leadership requests made, those that went out, and those after which the member
    /// asking led in a later term (its request the likely cause).
    pub transfers_asked: (u64, u64, u64),
    /// Observers that lost their disk.
    wipes: u64,
    /// The last request that went out, from a member not leading: (member, its term then).
    transfer_to: Option<(u64, u64)>,
    /// Clients send new requests (off once the settled ensemble has taken a write).
    writing: bool,
}

const TICK_EVERY: u64 = 4;
const MS_PER_ROUND: i64 = 5;

fn now_at(round: u64) -> Now {
    Now::at(1_700_000_000_000 + round as i64 * MS_PER_ROUND)
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

/// Order-independent digest of the tree: a sum of per-znode hashes, so no sorting is needed.
fn tree_digest(m: &Member) -> u64 {
    let mut sum = 0u64;
    for (path, n) in m.engine().tree().iter() {
        let mut h = 0xcbf2_9ce4_8422_2325;
        fnv(&mut h, path.as_bytes());
        let st = n.stat();
        for v in [
            st.czxid,
            st.mzxid,
            st.ctime,
            st.mtime,
            st.pzxid,
            st.ephemeral_owner,
            i64::from(st.version),
            i64::from(st.cversion),
            i64::from(st.aversion),
            i64::from(st.num_children),
            i64::from(st.data_length),
            i64::from(n.acl),
        ] {
            fnv(&mut h, &v.to_le_bytes());
        }
        fnv(&mut h, &[u8::from(n.data.is_null())]);
        fnv(&mut h, &n.data);
        sum = sum.wrapping_add(h);
    }
    sum
}

impl Sim {
    pub fn new(seed: u64, voters: u64, observers: u64) -> Sim {
        let voter_ids: Vec<u64> = (1..=voters).collect();
        let observer_ids: Vec<u64> = (voters + 1..=voters + observers).collect();
        let mut nodes = BTreeMap::new();
        for id in voter_ids.iter().chain(&observer_ids) {
            let config = MemberConfig {
                id: *id,
                voters: voter_ids.clone(),
                observers: observer_ids.clone(),
                election_tick: 10,
                heartbeat_tick: 2,
                seed,
            };
            let disk = DurableState::initial(&voter_ids, &observer_ids);
            nodes.insert(
                *id,
                Node {
                    config,
                    member: None,
                    disk,
                    unsynced: VecDeque::new(),
                    down_for: 0,
                    checked: 0,
                    digested: -1,
                    snapshots: Arc::default(),
                    copying: None,
                },
            );
        }
        let mut sim = Sim {
            rng: Rng(seed),
            round: 0,
            nodes,
            net: Vec::new(),
            isolated: BTreeMap::new(),
            log: BTreeMap::new(),
            digests: HashMap::new(),
            clients: (0..CLIENTS).map(Client::new).collect(),
            record: Record::default(),
            next_conn: 1,
            seq: 0,
            forward_at: HashMap::new(),
            chaos: true,
            transfers: false,
            transfers_asked: (0, 0, 0),
            wipes: 0,
            transfer_to: None,
            writing: true,
        };
        let ids: Vec<u64> = sim.nodes.keys().copied().collect();
        for id in ids {
            sim.start(id);
        }
        sim
    }

    fn start(&mut self, id: u64) {
        let now = now_at(self.round);
        let node = self.nodes.get_mut(&id).expect("node");
        let state = node
            .disk
            .snapshot
            .as_ref()
            .map(|mark| node.snapshots.lock().unwrap()[&mark.index].clone());
        node.member = Some(Member::new(
            node.config.clone(),
            test_config_for(id),
            &node.disk,
            state,
            Box::new(SimSnapshots(node.snapshots.clone())),
            now,
        ));
        node.copying = None;
        node.checked = 0;
        node.digested = -1;
    }

    fn crash(&mut self, id: u64) {
        let down = 20 + self.rng.below(200);
        let node = self.nodes.get_mut(&id).expect("node");
        node.member = None;
        node.copying = None;
        node.unsynced.clear();
        node.down_for = down;
        for c in &mut self.clients {
            if c.conn.is_some_and(|(m, _)| m == id) {
                c.drop_conn();
            }
        }
    }

    /// An Observer loses its disk (a new machine under the same id): it restarts with an
    /// empty log and catches up from the leader's snapshot. Only Observers: a voter that
    /// forgets what it acknowledged can undo a commit, in Raft as in ZooKeeper.
    fn wipe(&mut self, id: u64) {
        self.crash(id);
        let node = self.nodes.get_mut(&id).expect("node");
        node.disk = DurableState::initial(&node.config.voters, &node.config.observers);
        node.snapshots.lock().unwrap().clear();
        self.wipes += 1;
    }

    fn cut(&self, from: u64, to: u64) -> bool {
        self.isolated.contains_key(&from) || self.isolated.contains_key(&to)
    }

    /// Moves everything members want done: messages onto the network, writes onto disks.
    fn collect(&mut self) {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            let mut sent = Vec::new();
            let node = self.nodes.get_mut(&id).expect("node");
            let Some(m) = node.member.as_mut() else {
                continue;
            };
            while let Some(t) = m.poll_persist() {
                node.unsynced.push_back(t);
            }
            while let Some(msg) = m.poll_message() {
                sent.push(msg);
            }
            for msg in sent {
                self.send(msg);
            }
            self.take_outputs(id);
        }
    }

    fn send(&mut self, msg: Envelope) {
        if self.cut(msg.from, msg.to) {
            return;
        }
        let raft = matches!(msg.body, PeerMessage::Raft(_));
        let copies = if raft && self.chaos && self.rng.chance(20) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.chaos && self.rng.chance(50) {
                continue; // dropped
            }
            let mut at = self.round + 1 + if self.chaos { self.rng.below(6) } else { 0 };
            if !raft {
                let last = self.forward_at.entry((msg.from, msg.to)).or_insert(0);
                at = at.max(*last);
                *last = at;
            }
            self.seq += 1;
            self.net.push(InFlight {
                at,
                seq: self.seq,
                msg: msg.clone(),
            });
        }
    }

    fn take_outputs(&mut self, id: u64) {
        let Some(m) = self.nodes.get_mut(&id).and_then(|n| n.member.as_mut()) else {
            return;
        };
        let mut outs = Vec::new();
        while let Some(o) = m.poll_output() {
            outs.push(o);
        }
        let trace = std::env::var_os("RINGKEEPER_SIM_TRACE").is_some();
        for o in outs {
            if trace {
                let role = self.nodes[&id]
                    .member
                    .as_ref()
                    .map(|m| (m.role(), m.accepts_writes(), m.engine().is_forwarding()));
                eprintln!("r{} m{id} {role:?} out {o:?}", self.round);
            }
            for c in &mut self.clients {
                c.receive(id, &o, &mut self.record);
            }
        }
    }

    pub fn round(&mut self) {
        self.round += 1;
        let now = now_at(self.round);
        // Deliver what is due, in a random order among this round's arrivals.
        let mut due: Vec<InFlight> = Vec::new();
        let mut later = Vec::new();
        for f in self.net.drain(..) {
            if f.at <= self.round {
                due.push(f);
            } else {
                later.push(f);
            }
        }
        self.net = later;
        for i in (1..due.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            due.swap(i, j);
        }
        // Forwards keep their order (see `forward_at`); raft messages stay shuffled.
        due.sort_by_key(|f| match f.msg.body {
            PeerMessage::Raft(_) => 0,
            _ => f.seq,
        });
        for f in due {
            if self.cut(f.msg.from, f.msg.to) {
                continue;
            }
            if let PeerMessage::Raft(r) = &f.msg.body {
                if r.get_msg_type() == MessageType::MsgSnapshot {
                    self.deliver_snapshot(f.msg);
                    continue;
                }
            }
            if let Some(m) = self
                .nodes
                .get_mut(&f.msg.to)
                .and_then(|n| n.member.as_mut())
            {
                m.step(f.msg);
            }
        }
        // As the server's pipeline does after each batch: the leader proposes the writes
        // its followers forwarded this round as one entry.
        for node in self.nodes.values_mut() {
            if let Some(m) = node.member.as_mut() {
                m.flush();
            }
        }
        // Disks sync some of what was written.
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for &id in &ids {
            if !self.rng.chance(600) {
                continue;
            }
            let node = self.nodes.get_mut(&id).expect("node");
            let Some(m) = node.member.as_mut() else {
                continue;
            };
            let mut last = None;
            while let Some(t) = node.unsynced.pop_front() {
                node.disk.apply(&t);
                last = Some(t.number);
            }
            if let Some(n) = last {
                m.handle_persisted(n);
            }
        }
        if self.round.is_multiple_of(TICK_EVERY) {
            for &id in &ids {
                if let Some(m) = self.nodes.get_mut(&id).and_then(|n| n.member.as_mut()) {
                    m.tick(now);
                }
            }
        }
        self.faults();
        self.client_step(now);
        self.snapshots();
        self.collect();
        self.check();
    }

    /// A MsgSnapshot travels with the sender's snapshot state, as the server streams the
    /// file before the message. One the sender no longer holds is lost.
    fn deliver_snapshot(&mut self, msg: Envelope) {
        let PeerMessage::Raft(r) = &msg.body else {
            return;
        };
        let mark = SnapshotMark::from_raft(r.get_snapshot()).expect("a MsgSnapshot has a mark");
        let state = self.nodes[&msg.from]
            .snapshots
            .lock()
            .unwrap()
            .get(&mark.index)
            .cloned();
        let node = self.nodes.get_mut(&msg.to).expect("node");
        let (Some(state), Some(m)) = (state, node.member.as_mut()) else {
            return;
        };
        // A received snapshot is kept only if the member installs it: a stale one (raft
        // refuses it) must not replace a snapshot of the member's own at that index.
        let installs = m.installs();
        m.step_snapshot(msg, state.clone());
        if m.installs() > installs {
            node.snapshots.lock().unwrap().insert(mark.index, state);
        }
    }

    /// Members take snapshots every `SNAP_EVERY` applied entries; the copy ends a few rounds
    /// after it began (fuzzy), and is saved at once.
    fn snapshots(&mut self) {
        let round = self.round;
        for node in self.nodes.values_mut() {
            let Some(m) = node.member.as_mut() else {
                continue;
            };
            match &node.copying {
                None => {
                    let base = m.base_snapshot().map_or(0, |b| b.index);
                    if m.applied_index() >= base + SNAP_EVERY {
                        let Some(begin) = m.snapshot_begin() else {
                            continue;
                        };
                        node.copying = Some(Copying {
                            begin,
                            end_at: round + 1 + self.rng.below(8),
                        });
                    }
                }
                Some(c) if c.end_at <= round => {
                    let c = node.copying.take().expect("matched");
                    let Some(mark) = m.snapshot_end(&c.begin) else {
                        continue;
                    };
                    let e = m.engine();
                    let state = SnapshotState {
                        tree: e.tree().clone(),
                        sessions: e
                            .sessions()
                            .iter()
                            .map(|s| (s.session_id, s.timeout_ms))
                            .collect(),
                    };
                    node.snapshots.lock().unwrap().insert(mark.index, state);
                    m.snapshot_saved(mark);
                }
                Some(_) => {}
            }
        }
    }

    fn faults(&mut self) {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        self.isolated.retain(|_, until| *until > self.round);
        for &id in &ids {
            let node = self.nodes.get_mut(&id).expect("node");
            if node.member.is_none() {
                node.down_for = node.down_for.saturating_sub(1);
                if node.down_for == 0 {
                    self.start(id);
                }
            }
        }
        if !self.chaos {
            return;
        }
        if self.rng.chance(4) {
            let id = ids[self.rng.below(ids.len() as u64) as usize];
            if self.nodes[&id].member.is_some() {
                self.crash(id);
            }
        }
        if self.rng.chance(2) {
            let observers = &self.nodes[&ids[0]].config.observers;
            if !observers.is_empty() {
                let id = observers[self.rng.below(observers.len() as u64) as usize];
                if self.nodes[&id].member.is_some() {
                    self.wipe(id);
                }
            }
        }
        if self.rng.chance(5) && self.isolated.is_empty() {
            let id = ids[self.rng.below(ids.len() as u64) as usize];
            let until = self.round + 30 + self.rng.below(300);
            self.isolated.insert(id, until);
        }
        if self.transfers && self.rng.chance(25) {
            let id = ids[self.rng.below(ids.len() as u64) as usize];
            if let Some(m) = self.nodes.get_mut(&id).and_then(|n| n.member.as_mut()) {
                self.transfers_asked.0 += 1;
                let leading = m.role() == Role::Leading;
                let term = m.term();
                if m.request_leadership() {
                    self.transfers_asked.1 += 1;
                    if !leading {
                        self.transfer_to = Some((id, term));
                    }
                }
            }
        }
    }

    fn client_step(&mut self, now: Now) {
        if !self.writing {
            return;
        }
        for ci in 0..self.clients.len() {
            if !self.rng.chance(300) {
                continue;
            }
            let live: Vec<u64> = self
                .nodes
                .iter()
                .filter(|(_, n)| n.member.is_some())
                .map(|(id, _)| *id)
                .collect();
            if live.is_empty() {
                return;
            }
            let pick = live[self.rng.below(live.len() as u64) as usize];
            let c = &mut self.clients[ci];
            match c.conn {
                None => {
                    let conn = self.next_conn;
                    self.next_conn += 1;
                    c.connect(pick, conn);
                    let m = member_of(&mut self.nodes, pick);
                    m.engine_mut().handle_connect(
                        conn,
                        "127.0.0.1",
                        &ConnectRequest::new_session(30_000),
                        now,
                    );
                    m.flush();
                }
                Some((id, conn)) if c.ready() => {
                    let reqs = c.next_requests(&mut self.rng, &mut self.record);
                    let m = member_of(&mut self.nodes, id);
                    if std::env::var_os("RINGKEEPER_SIM_TRACE").is_some() {
                        eprintln!(
                            "r{} m{id} {:?} accepts {} fwd {}: client {ci} conn {conn} sends {reqs:?}",
                            self.round,
                            m.role(),
                            m.accepts_writes(),
                            m.engine().is_forwarding(),
                        );
                    }
                    send(m, conn, reqs, now);
                }
                _ => {}
            }
        }
    }

    fn check(&mut self) {
        if let Some((id, term)) = self.transfer_to {
            let m = self.nodes[&id].member.as_ref();
            if m.is_some_and(|m| m.role() == Role::Leading && m.term() > term) {
                self.transfers_asked.2 += 1;
                self.transfer_to = None;
            }
        }
        for (id, node) in self.nodes.iter_mut() {
            let Some(m) = node.member.as_ref() else {
                continue;
            };
            // Entries folded into a snapshot are gone from the log.
            node.checked = node.checked.max(m.first_index() - 1);
            while node.checked < m.applied_index() {
                let i = node.checked + 1;
                let e = m
                    .entry(i)
                    .unwrap_or_else(|| panic!("member {id}: applied entry {i} not in its log"));
                let mine = (e.term, e.data.to_vec());
                match self.log.get(&i) {
                    Some(first) => assert_eq!(
                        first, &mine,
                        "member {id}: committed entry {i} differs from another member's"
                    ),
                    None => {
                        self.log.insert(i, mine);
                    }
                }
                node.checked = i;
            }
            if m.tree_is_committed_state() && node.digested != m.applied_zxid() {
                let d = tree_digest(m);
                let z = m.applied_zxid();
                node.digested = z;
                let first = *self.digests.entry(z).or_insert(d);
                assert_eq!(first, d, "member {id}: tree at zxid {z:#x} differs");
            }
        }
    }

    /// Heals every fault and runs until the ensemble has accepted one more write and every
    /// member has applied the same log.
    pub fn settle(&mut self) {
        self.chaos = false;
        self.isolated.clear();
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for &id in &ids {
            if self.nodes[&id].member.is_none() {
                self.nodes.get_mut(&id).expect("node").down_for = 1;
            }
        }
        let acked_before = self.record.acked.len();
        for _ in 0..4000 {
            self.round();
            if self.record.acked.len() > acked_before {
                self.writing = false;
            }
            let applied: BTreeSet<u64> = self
                .nodes
                .values()
                .filter_map(|n| n.member.as_ref().map(|m| m.applied_index()))
                .collect();
            let all_up = self.nodes.values().all(|n| n.member.is_some());
            if all_up
                && applied.len() == 1
                && self.record.acked.len() > acked_before
                && self.clients.iter().all(Client::idle)
                && self.net.is_empty()
            {
                return;
            }
        }
        let state: Vec<String> = self
            .nodes
            .iter()
            .map(|(id, n)| match &n.member {
                Some(m) => format!(
                    "{id}: {:?} term {} applied {} zxid {:#x}",
                    m.role(),
                    m.term(),
                    m.applied_index(),
                    m.applied_zxid()
                ),
                None => format!("{id}: down"),
            })
            .collect();
        panic!(
            "no progress after healing (acked {} -> {}): {state:?}",
            acked_before,
            self.record.acked.len()
        );
    }

    /// Clients read shared znodes without syncing first (a deliberate bug, see `Client`).
    pub fn skip_syncs(&mut self) {
        for c in &mut self.clients {
            c.sync_shared_reads = false;
        }
    }

    /// Chaos also asks random members, Observers included, to take leadership over
    /// (ClickHouse Keeper's `rqld`), about every 25 rounds: writes are in flight during each
    /// transfer.
    pub fn request_transfers(&mut self) {
        self.transfers = true;
    }

    /// Every acknowledged private create is on every member (call after `settle`).
    pub fn check_acked_everywhere(&self) {
        for (id, node) in &self.nodes {
            let m = node.member.as_ref().expect("all members up after settle");
            for (path, zxid) in &self.record.acked {
                let n = m.engine().tree().get(path).unwrap_or_else(|| {
                    panic!("member {id}: acknowledged {path} (zxid {zxid:#x}) is lost")
                });
                assert_eq!(n.czxid, *zxid, "member {id}: {path} has another czxid");
            }
        }
    }

    /// Adds what the settled ensemble holds at each shared znode to the history, as a read
    /// after everything else. After `settle` all members applied the same log; a follower or
    /// Observer is read, as its tree holds only applied txns (it forwards writes) while a
    /// leader's may hold txns prepared and not committed.
    pub fn observe_shared(&mut self) {
        let m = self
            .nodes
            .values()
            .filter_map(|n| n.member.as_ref())
            .find(|m| m.role() != Role::Leading)
            .expect("a member not leading, after settle");
        for path in SHARED {
            let state: ZnodeState = m
                .engine()
                .tree()
                .get(path)
                .map(|n| (data_number(&n.data, path), n.stat().version));
            self.record.history.observe_final(path, state);
        }
    }

    /// One line on what the run did, for RINGKEEPER_SIM_VERBOSE.
    pub fn summary(&self) -> String {
        let members = || self.nodes.values().filter_map(|n| n.member.as_ref());
        let terms: Vec<u64> = members().map(Member::term).collect();
        format!(
            "{} acked, {} entries, terms {terms:?}, {} rebuilds, {} installs, {} wipes, bases {:?}, rqld {:?}, {}",
            self.record.acked.len(),
            self.log.len(),
            members().map(Member::rebuilds).sum::<u64>(),
            members().map(Member::installs).sum::<u64>(),
            self.wipes,
            members()
                .map(|m| m.base_snapshot().map_or(0, |b| b.index))
                .collect::<Vec<_>>(),
            self.transfers_asked,
            self.record.history.summary(),
        )
    }
}

/// A client's pipelined requests, then the member's flush.
fn send(m: &mut Member, conn: ConnId, reqs: Vec<Sent>, now: Now) {
    for (xid, opcode, req) in reqs {
        m.engine_mut()
            .handle_request(conn, RequestHeader { xid, opcode }, req, now);
    }
    m.flush();
}

fn member_of(nodes: &mut BTreeMap<u64, Node>, id: u64) -> &mut Member {
    nodes
        .get_mut(&id)
        .and_then(|n| n.member.as_mut())
        .expect("a live member")
}

fn test_config_for(id: u64) -> ringkeeper_engine::EngineConfig {
    ringkeeper_engine::EngineConfig {
        server_id: id as i64,
        ..test_config()
    }
}
