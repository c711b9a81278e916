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
use ringkeeper_engine::proto::{create_mode, op, Acl, ConnectRequest, RequestHeader};
use ringkeeper_engine::replica::{DurableState, Member, MemberConfig, Message, PersistTask};
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
    msg: Message,
}

/// The client: one session at a time on whichever member accepts writes.
#[derive(Default)]
struct Client {
    conn: Option<(u64, ConnId)>,
    connected: bool,
    next_xid: i32,
    next_key: u64,
    /// xid -> path of creates sent and not answered.
    pending: HashMap<i32, String>,
    /// Acknowledged creates: path -> zxid.
    acked: BTreeMap<String, i64>,
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
    client: Client,
    next_conn: u64,
    chaos: bool,
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
            client: Client::default(),
            next_conn: 1,
            chaos: true,
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
        if self.client.conn.is_some_and(|(m, _)| m == id) {
            self.client.drop_conn();
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

    fn send(&mut self, msg: Message) {
        if self.cut(msg.from, msg.to) {
            return;
        }
        let copies = if self.chaos && self.rng.chance(20) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.chaos && self.rng.chance(50) {
                continue; // dropped
            }
            let delay = 1 + if self.chaos { self.rng.below(6) } else { 0 };
            self.net.push(InFlight {
                at: self.round + delay,
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
        for o in outs {
            self.client.receive(id, o);
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
        let writer = self
            .nodes
            .iter()
            .find(|(_, n)| n.member.as_ref().is_some_and(|m| m.accepts_writes()))
            .map(|(id, _)| *id);
        let Some(writer) = writer else {
            return;
        };
        match self.client.conn {
            Some((m, _)) if m != writer => self.client.drop_conn(),
            _ => {}
        }
        let member = self
            .nodes
            .get_mut(&writer)
            .and_then(|n| n.member.as_mut())
            .expect("writer");
        match self.client.conn {
            None => {
                let conn: ConnId = self.next_conn;
                self.next_conn += 1;
                self.client.conn = Some((writer, conn));
                self.client.connected = false;
                member.engine_mut().handle_connect(
                    conn,
                    "127.0.0.1",
                    &ConnectRequest::new_session(30_000),
                    now,
                );
                member.propose_prepared();
            }
            Some((_, conn))
                if self.client.connected
                    && self.client.pending.len() < 8
                    && self.rng.chance(300) =>
            {
                let key = self.client.next_key;
                self.client.next_key += 1;
                let path = format!("/k{key}");
                let xid = self.client.next_xid + 1;
                self.client.next_xid = xid;
                self.client.pending.insert(xid, path.clone());
                let req = create_req(
                    op::CREATE,
                    &path,
                    format!("v{key}").as_bytes(),
                    create_mode::PERSISTENT,
                    None,
                    Acl::open_unsafe(),
                );
                member.engine_mut().handle_request(
                    conn,
                    RequestHeader {
                        xid,
                        opcode: op::CREATE,
                    },
                    req,
                    now,
                );
                member.propose_prepared();
            }
            _ => {}
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
        let acked_before = self.client.acked.len();
        for _ in 0..4000 {
            self.round();
            let applied: BTreeSet<u64> = self
                .nodes
                .values()
                .filter_map(|n| n.member.as_ref().map(|m| m.applied_index()))
                .collect();
            let all_up = self.nodes.values().all(|n| n.member.is_some());
            if all_up
                && applied.len() == 1
                && self.client.acked.len() > acked_before
                && self.client.pending.is_empty()
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
            self.client.acked.len()
        );
    }

    fn check_acked_everywhere(&self) {
        for (id, node) in &self.nodes {
            let m = node.member.as_ref().expect("all members up after settle");
            for (path, zxid) in &self.client.acked {
                let n = m.engine().tree().get(path).unwrap_or_else(|| {
                    panic!("member {id}: acknowledged {path} (zxid {zxid:#x}) is lost")
                });
                assert_eq!(n.czxid, *zxid, "member {id}: {path} has another czxid");
            }
        }
    }
}

impl Client {
    fn drop_conn(&mut self) {
        self.conn = None;
        self.connected = false;
        // Unanswered creates may or may not have committed: neither acked nor checked.
        self.pending.clear();
    }

    fn receive(&mut self, member: u64, o: Output) {
        let Some((m, conn)) = self.conn else {
            return;
        };
        if m != member {
            return;
        }
        match o {
            Output::Connected { conn: c, resp } if c == conn => {
                assert!(resp.session_id != 0, "session refused");
                self.connected = true;
            }
            Output::Reply {
                conn: c, header, ..
            } if c == conn => {
                if let Some(path) = self.pending.remove(&header.xid) {
                    assert_eq!(header.err, 0, "create {path} failed: {}", header.err);
                    self.acked.insert(path, header.zxid);
                }
            }
            Output::Close { conn: c } if c == conn => self.drop_conn(),
            _ => {}
        }
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
            sim.client.acked.len(),
            sim.log.len(),
            sim.nodes
                .values()
                .filter_map(|n| n.member.as_ref().map(|m| m.rebuilds()))
                .sum::<u64>()
        );
    }
    (sim.client.acked.len(), sim.log.len() as u64)
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
