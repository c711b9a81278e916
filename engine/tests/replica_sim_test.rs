//! Seeded deterministic simulation of an ensemble (issue 8): voters and an Observer, each a
//! `replica::Member` (raft-rs + Engine) with a simulated disk, on a network that drops,
//! delays, duplicates and reorders messages, with partitions and crashes that lose unsynced
//! writes. One seed decides everything; a failure prints the command that replays it.
//!
//! Checked after every round: committed entries agree across members; members at the same
//! zxid (with nothing prepared on top) have the same tree; zxids strictly increase (asserted
//! inside the member). At the end, with every fault healed: the ensemble accepts a write, every
//! member applies the same log, and every acknowledged write is on every member.
//!
//! RINGKEEPER_SIM_SEEDS=<n> runs n seeds per shape (default 60); RINGKEEPER_SIM_SEED=<s> runs
//! just that one.

mod harness;

use harness::{create_req, test_config};
use ringkeeper_engine::proto::{
    create_mode, op, Acl, ConnectRequest, ErrorCode, Request, RequestHeader, Response,
};
use ringkeeper_engine::replica::{
    DurableState, Envelope, Member, MemberConfig, PeerMessage, PersistTask,
};
use ringkeeper_engine::{ConnId, Now, Output};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
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
}

struct InFlight {
    at: u64,
    seq: u64,
    msg: Envelope,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Create,
    /// getData of the znode the previous create made, pipelined behind it.
    ReadOwn,
    Sync,
    /// getData, after a sync, of the last znode any client had seen acknowledged when the
    /// sync was sent: ZooKeeper's sync-then-read sees every write acknowledged before.
    ReadSynced,
}

/// A client: one session at a time, on a member chosen at random (followers and Observers
/// forward its writes). It pipelines a create and a read of the same znode: the read must see
/// the create (per-session order), and replies must come in request order.
#[derive(Default)]
struct Client {
    id: u64,
    conn: Option<(u64, ConnId)>,
    connected: bool,
    next_xid: i32,
    next_key: u64,
    /// xid -> (path, what) of requests sent and not answered, in order.
    pending: BTreeMap<i32, (String, Kind)>,
    last_reply_xid: i32,
}

struct Sim {
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
    /// Acknowledged creates: path -> zxid.
    acked: BTreeMap<String, i64>,
    /// The znode acknowledged last, to any client.
    last_acked: Option<String>,
    next_conn: u64,
    /// Sequence numbers of messages, and the arrival round of the last forward per link:
    /// forwards travel in order and undoubled, as on the TCP link they model (they may be
    /// lost; the follower then closes the connections it cannot answer).
    seq: u64,
    forward_at: HashMap<(u64, u64), u64>,
    chaos: bool,
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
    fn new(seed: u64, voters: u64, observers: u64) -> Sim {
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
            clients: (0..3)
                .map(|id| Client {
                    id,
                    ..Client::default()
                })
                .collect(),
            acked: BTreeMap::new(),
            last_acked: None,
            next_conn: 1,
            seq: 0,
            forward_at: HashMap::new(),
            chaos: true,
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
        node.member = Some(Member::new(
            node.config.clone(),
            test_config_for(id),
            &node.disk,
            now,
        ));
        node.checked = 0;
        node.digested = -1;
    }

    fn crash(&mut self, id: u64) {
        let down = 20 + self.rng.below(200);
        let node = self.nodes.get_mut(&id).expect("node");
        node.member = None;
        node.unsynced.clear();
        node.down_for = down;
        for c in &mut self.clients {
            if c.conn.is_some_and(|(m, _)| m == id) {
                c.drop_conn();
            }
        }
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
                if let Some(path) = c.receive(id, &o, &mut self.acked) {
                    self.last_acked = Some(path);
                }
            }
        }
    }

    fn round(&mut self) {
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
            if let Some(m) = self
                .nodes
                .get_mut(&f.msg.to)
                .and_then(|n| n.member.as_mut())
            {
                m.step(f.msg);
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
        self.collect();
        self.check();
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
        if self.rng.chance(5) && self.isolated.is_empty() {
            let id = ids[self.rng.below(ids.len() as u64) as usize];
            let until = self.round + 30 + self.rng.below(300);
            self.isolated.insert(id, until);
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
            let next_conn = self.next_conn;
            let c = &mut self.clients[ci];
            match c.conn {
                None => {
                    self.next_conn += 1;
                    c.conn = Some((pick, next_conn));
                    c.connected = false;
                    c.last_reply_xid = 0;
                    let m = member_of(&mut self.nodes, pick);
                    m.engine_mut().handle_connect(
                        next_conn,
                        "127.0.0.1",
                        &ConnectRequest::new_session(30_000),
                        now,
                    );
                    m.flush();
                }
                Some((id, conn))
                    if c.connected
                        && c.pending.len() < 8
                        && self.last_acked.is_some()
                        && self.rng.chance(250) =>
                {
                    let path = self.last_acked.clone().expect("checked");
                    let sync_xid = c.next_xid + 1;
                    let read_xid = c.next_xid + 2;
                    c.next_xid = read_xid;
                    c.pending.insert(sync_xid, (path.clone(), Kind::Sync));
                    c.pending.insert(read_xid, (path.clone(), Kind::ReadSynced));
                    let m = member_of(&mut self.nodes, id);
                    let sync = Request::Sync { path: path.clone() };
                    let read = Request::GetData { path, watch: false };
                    send(
                        m,
                        conn,
                        [(sync_xid, op::SYNC, sync), (read_xid, op::GET_DATA, read)],
                        now,
                    );
                }
                Some((id, conn)) if c.connected && c.pending.len() < 8 => {
                    let key = c.next_key;
                    c.next_key += 1;
                    let path = format!("/c{}-{key}", c.id);
                    let create_xid = c.next_xid + 1;
                    let read_xid = c.next_xid + 2;
                    c.next_xid = read_xid;
                    c.pending.insert(create_xid, (path.clone(), Kind::Create));
                    c.pending.insert(read_xid, (path.clone(), Kind::ReadOwn));
                    let create = create_req(
                        op::CREATE,
                        &path,
                        path.as_bytes(),
                        create_mode::PERSISTENT,
                        None,
                        Acl::open_unsafe(),
                    );
                    let m = member_of(&mut self.nodes, id);
                    if std::env::var_os("RINGKEEPER_SIM_TRACE").is_some() {
                        eprintln!(
                            "r{} m{id} {:?} accepts {} fwd {}: client {} conn {conn} create {path} xid {create_xid}",
                            self.round,
                            m.role(),
                            m.accepts_writes(),
                            m.engine().is_forwarding(),
                            c.id
                        );
                    }
                    let read = Request::GetData { path, watch: false };
                    send(
                        m,
                        conn,
                        [
                            (create_xid, op::CREATE, create),
                            (read_xid, op::GET_DATA, read),
                        ],
                        now,
                    );
                }
                _ => {}
            }
        }
    }

    fn check(&mut self) {
        for (id, node) in self.nodes.iter_mut() {
            let Some(m) = node.member.as_ref() else {
                continue;
            };
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
            if m.engine().last_zxid() == m.applied_zxid() && node.digested != m.applied_zxid() {
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
    fn settle(&mut self) {
        self.chaos = false;
        self.isolated.clear();
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for &id in &ids {
            if self.nodes[&id].member.is_none() {
                self.nodes.get_mut(&id).expect("node").down_for = 1;
            }
        }
        let acked_before = self.acked.len();
        for _ in 0..4000 {
            self.round();
            if self.acked.len() > acked_before {
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
                && self.acked.len() > acked_before
                && self.clients.iter().all(|c| c.pending.is_empty())
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
            self.acked.len()
        );
    }

    fn check_acked_everywhere(&self) {
        for (id, node) in &self.nodes {
            let m = node.member.as_ref().expect("all members up after settle");
            for (path, zxid) in &self.acked {
                let n = m.engine().tree().get(path).unwrap_or_else(|| {
                    panic!("member {id}: acknowledged {path} (zxid {zxid:#x}) is lost")
                });
                assert_eq!(n.czxid, *zxid, "member {id}: {path} has another czxid");
            }
        }
    }
}

/// A client's pipelined requests (xid, opcode, request), then the member's flush.
fn send<const N: usize>(m: &mut Member, conn: ConnId, reqs: [(i32, i32, Request); N], now: Now) {
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

impl Client {
    fn drop_conn(&mut self) {
        self.conn = None;
        self.connected = false;
        // Unanswered creates may or may not have committed: neither acked nor checked.
        self.pending.clear();
    }

    /// Takes an output; returns the path of a create it acknowledges.
    fn receive(
        &mut self,
        member: u64,
        o: &Output,
        acked: &mut BTreeMap<String, i64>,
    ) -> Option<String> {
        let (m, conn) = self.conn?;
        if m != member {
            return None;
        }
        match o {
            Output::Connected { conn: c, resp } if *c == conn => {
                assert!(resp.session_id != 0, "session refused");
                self.connected = true;
            }
            Output::Reply {
                conn: c,
                header,
                body,
            } if *c == conn => {
                let (path, kind) = self.pending.remove(&header.xid)?;
                assert!(
                    header.xid > self.last_reply_xid,
                    "client {}: reply {} after {}",
                    self.id,
                    header.xid,
                    self.last_reply_xid
                );
                self.last_reply_xid = header.xid;
                assert_eq!(
                    header.err,
                    ErrorCode::Ok.code(),
                    "client {}: {kind:?} {path} failed on member {m}",
                    self.id,
                );
                match kind {
                    Kind::Create => {
                        acked.insert(path.clone(), header.zxid);
                        return Some(path);
                    }
                    Kind::ReadOwn | Kind::ReadSynced => {
                        let Response::GetData { data, .. } = body else {
                            panic!("getData answered with {body:?}");
                        };
                        assert_eq!(&data[..], path.as_bytes(), "{kind:?} of {path}");
                    }
                    Kind::Sync => {}
                }
            }
            Output::Close { conn: c } if *c == conn => self.drop_conn(),
            _ => {}
        }
        None
    }
}

fn test_config_for(id: u64) -> ringkeeper_engine::EngineConfig {
    ringkeeper_engine::EngineConfig {
        server_id: id as i64,
        ..test_config()
    }
}

fn run_seed(seed: u64, voters: u64, observers: u64, rounds: u64) -> (usize, u64) {
    let mut sim = Sim::new(seed, voters, observers);
    for _ in 0..rounds {
        sim.round();
    }
    sim.settle();
    sim.check_acked_everywhere();
    if std::env::var_os("RINGKEEPER_SIM_VERBOSE").is_some() {
        let terms: Vec<u64> = sim
            .nodes
            .values()
            .filter_map(|n| n.member.as_ref().map(|m| m.term()))
            .collect();
        eprintln!(
            "seed {seed}: {} acked, {} entries, terms {terms:?}, {} rebuilds",
            sim.acked.len(),
            sim.log.len(),
            sim.nodes
                .values()
                .filter_map(|n| n.member.as_ref().map(|m| m.rebuilds()))
                .sum::<u64>()
        );
    }
    (sim.acked.len(), sim.log.len() as u64)
}

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("RINGKEEPER_SIM_SEED") {
        return vec![s.parse().expect("RINGKEEPER_SIM_SEED is a number")];
    }
    let n: u64 = std::env::var("RINGKEEPER_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    (1..=n).collect()
}

fn run_shape(voters: u64, observers: u64) {
    let mut total_acked = 0;
    for seed in seeds() {
        let result = std::panic::catch_unwind(|| run_seed(seed, voters, observers, 1500));
        match result {
            Ok((acked, _)) => total_acked += acked,
            Err(e) => {
                eprintln!(
                    "seed {seed} failed ({voters} voters, {observers} observers); replay with:\n  \
                     RINGKEEPER_SIM_SEED={seed} cargo test -p ringkeeper-engine --test replica_sim_test"
                );
                std::panic::resume_unwind(e);
            }
        }
    }
    // The runs must have done work, or the checks above prove nothing.
    assert!(
        total_acked as u64 >= seeds().len() as u64 * 5,
        "only {total_acked} writes acknowledged over all seeds"
    );
}

#[test]
fn three_voters_and_an_observer() {
    run_shape(3, 1);
}

#[test]
fn five_voters() {
    run_shape(5, 0);
}
