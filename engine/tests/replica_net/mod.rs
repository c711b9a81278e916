//! A small ensemble for scenario tests: three voters and an Observer (`replica::Member`s)
//! on a lossless network with instant disks, driven step by step. Members can be cut off,
//! and forwarded writes from chosen members held back and released later.

// Each test file uses a part of it.
#![allow(dead_code)]

use super::harness::{create_req, test_config};
use ringkeeper_engine::proto::{create_mode, op, Acl, ConnectRequest, Request, RequestHeader};
use ringkeeper_engine::replica::{
    DurableState, Envelope, Member, MemberConfig, PeerMessage, SnapshotMark, SnapshotSource,
    SnapshotState,
};
use ringkeeper_engine::{ConnId, EngineConfig, Now, Output};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// These members take no snapshots, so their log never starts after one.
pub struct NoSnapshots;

impl SnapshotSource for NoSnapshots {
    fn load(&mut self, mark: &SnapshotMark) -> SnapshotState {
        panic!(
            "no snapshot was taken, yet snapshot {} is asked for",
            mark.index
        )
    }
}

pub const VOTERS: [u64; 3] = [1, 2, 3];
pub const OBSERVER: u64 = 4;
pub const MS_PER_TICK: i64 = 50;

pub struct Ensemble {
    pub members: BTreeMap<u64, Member>,
    /// Members cut off from every other member.
    pub isolated: BTreeSet<u64>,
    net: VecDeque<Envelope>,
    pub outputs: Vec<(u64, Output)>,
    ticks: i64,
    /// Isolate the sender of the first MsgTimeoutNow as it is delivered.
    pub isolate_on_timeout_now: bool,
    /// Forwards from these members wait in `held` until released.
    pub hold_forwards_from: BTreeSet<u64>,
    pub held: Vec<Envelope>,
}

impl Ensemble {
    pub fn new() -> Ensemble {
        let members = VOTERS
            .iter()
            .chain([&OBSERVER])
            .map(|&id| {
                let config = MemberConfig {
                    id,
                    voters: VOTERS.to_vec(),
                    observers: vec![OBSERVER],
                    election_tick: 10,
                    heartbeat_tick: 2,
                    seed: 7,
                };
                let engine = EngineConfig {
                    server_id: id as i64,
                    ..test_config()
                };
                let durable = DurableState::initial(&VOTERS, &[OBSERVER]);
                let member = Member::new(
                    config,
                    engine,
                    &durable,
                    None,
                    Box::new(NoSnapshots),
                    Now::at(0),
                );
                (id, member)
            })
            .collect();
        Ensemble {
            members,
            isolated: BTreeSet::new(),
            net: VecDeque::new(),
            outputs: Vec::new(),
            ticks: 0,
            isolate_on_timeout_now: false,
            hold_forwards_from: BTreeSet::new(),
            held: Vec::new(),
        }
    }

    pub fn now(&self) -> Now {
        Now::at(1_700_000_000_000 + self.ticks * MS_PER_TICK)
    }

    pub fn member(&mut self, id: u64) -> &mut Member {
        self.members.get_mut(&id).expect("member")
    }

    /// Makes every write durable and delivers every message, until nothing moves.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            for (&id, m) in self.members.iter_mut() {
                let mut last = None;
                while let Some(task) = m.poll_persist() {
                    last = Some(task.number);
                }
                if let Some(n) = last {
                    m.handle_persisted(n);
                }
                while let Some(msg) = m.poll_message() {
                    self.net.push_back(msg);
                }
                while let Some(o) = m.poll_output() {
                    self.outputs.push((id, o));
                }
            }
            let Some(msg) = self.net.pop_front() else {
                return;
            };
            if self.isolated.contains(&msg.from) || self.isolated.contains(&msg.to) {
                continue;
            }
            if matches!(msg.body, PeerMessage::Forward(_))
                && self.hold_forwards_from.contains(&msg.from)
            {
                self.held.push(msg);
                continue;
            }
            let timeout_now = matches!(&msg.body, PeerMessage::Raft(m)
                if m.get_msg_type() == raft::eraftpb::MessageType::MsgTimeoutNow);
            if timeout_now && self.isolate_on_timeout_now {
                self.isolate_on_timeout_now = false;
                self.isolated.insert(msg.from);
            }
            let to = msg.to;
            self.member(to).step(msg);
            self.member(to).flush();
        }
        panic!("the network never went quiet");
    }

    pub fn tick(&mut self) {
        self.ticks += 1;
        let now = self.now();
        for m in self.members.values_mut() {
            m.tick(now);
        }
        self.pump();
    }

    pub fn elect(&mut self) -> u64 {
        for _ in 0..100 {
            if let Some(id) = self.leader() {
                return id;
            }
            self.tick();
        }
        panic!("no leader within 100 ticks");
    }

    pub fn leader(&self) -> Option<u64> {
        let leaders: Vec<u64> = self
            .members
            .iter()
            .filter(|(id, m)| !self.isolated.contains(id) && m.accepts_writes())
            .map(|(id, _)| *id)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    pub fn connect(&mut self, id: u64, conn: ConnId) {
        self.connect_with(id, conn, &ConnectRequest::new_session(30_000));
    }

    /// Connects with `req` (a new session, or an existing one moving here).
    pub fn connect_with(&mut self, id: u64, conn: ConnId, req: &ConnectRequest) {
        let now = self.now();
        let m = self.member(id);
        m.engine_mut().handle_connect(conn, "127.0.0.1", req, now);
        m.flush();
        self.pump();
        let connected = self
            .outputs
            .iter()
            .any(|(_, o)| matches!(o, Output::Connected { conn: c, .. } if *c == conn));
        assert!(
            connected,
            "connection {conn} to member {id} not established"
        );
    }

    pub fn send(&mut self, id: u64, conn: ConnId, reqs: Vec<(i32, i32, Request)>) {
        let now = self.now();
        let m = self.member(id);
        for (xid, opcode, req) in reqs {
            m.engine_mut()
                .handle_request(conn, RequestHeader { xid, opcode }, req, now);
        }
        m.flush();
        self.pump();
    }

    /// Delivers the held forwards, in order, and what follows from them.
    pub fn release_held(&mut self) {
        self.hold_forwards_from.clear();
        for msg in std::mem::take(&mut self.held) {
            let to = msg.to;
            self.member(to).step(msg);
            self.member(to).flush();
            self.pump();
        }
    }

    /// The session a connection was given: (id, password).
    pub fn session_of(&self, conn: ConnId) -> (i64, Vec<u8>) {
        self.outputs
            .iter()
            .find_map(|(_, o)| match o {
                Output::Connected { conn: c, resp } if *c == conn => {
                    Some((resp.session_id, resp.passwd.clone()))
                }
                _ => None,
            })
            .expect("connected")
    }

    /// What connection `conn` was sent: (xid, error code) of each reply, and whether it closed.
    pub fn replies(&self, conn: ConnId) -> (Vec<(i32, i32)>, bool) {
        let mut replies = Vec::new();
        let mut closed = false;
        for (_, o) in &self.outputs {
            match o {
                Output::Reply {
                    conn: c, header, ..
                } if *c == conn => {
                    replies.push((header.xid, header.err));
                }
                Output::Close { conn: c } if *c == conn => closed = true,
                _ => {}
            }
        }
        (replies, closed)
    }
}

/// A create of a persistent znode holding "x", open to all.
pub fn create(path: &str) -> Request {
    create_req(
        op::CREATE,
        path,
        b"x",
        create_mode::PERSISTENT,
        None,
        Acl::open_unsafe(),
    )
}
