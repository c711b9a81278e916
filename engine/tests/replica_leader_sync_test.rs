//! A leader's `sync` goes through Raft's ReadIndex (issue 8). Goals: a leader deposed without
//! knowing it yet never answers a sync (and the scenario catches a leader that answers syncs
//! from its own tree); on a healthy leader, a sync keeps its place in the session's order.
//!
//! Method for the first: three voters and an Observer on a lossless network with instant disks. Voter 2
//! asks to lead (`rqld`); the moment the leader's MsgTimeoutNow reaches it, the old leader
//! is cut off from every member (its clients still reach it). Voter 2 wins the election at
//! once and a client's create is acknowledged there. A client of the old leader, which has
//! not heard of the new term and still leads, then sends sync and a read of that znode. With
//! ReadIndex the sync is never answered (no quorum acknowledges the old leader's heartbeat);
//! the connection closes when the old leader steps down. With syncs answered locally the
//! read misses the acknowledged create.

mod harness;

use harness::{create_req, test_config};
use ringkeeper_engine::proto::{create_mode, op, Acl, ConnectRequest, Request, RequestHeader};
use ringkeeper_engine::replica::{
    DurableState, Envelope, Member, MemberConfig, PeerMessage, Role, SnapshotMark, SnapshotSource,
    SnapshotState,
};
use ringkeeper_engine::{ConnId, EngineConfig, Now, Output};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// These members take no snapshots, so their log never starts after one.
struct NoSnapshots;

impl SnapshotSource for NoSnapshots {
    fn load(&mut self, mark: &SnapshotMark) -> SnapshotState {
        panic!(
            "no snapshot was taken, yet snapshot {} is asked for",
            mark.index
        )
    }
}

const VOTERS: [u64; 3] = [1, 2, 3];
const OBSERVER: u64 = 4;
const MS_PER_TICK: i64 = 50;

struct Ensemble {
    members: BTreeMap<u64, Member>,
    /// Members cut off from every other member.
    isolated: BTreeSet<u64>,
    net: VecDeque<Envelope>,
    outputs: Vec<(u64, Output)>,
    ticks: i64,
    /// Isolate the sender of the first MsgTimeoutNow as it is delivered.
    isolate_on_timeout_now: bool,
}

impl Ensemble {
    fn new() -> Ensemble {
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
        }
    }

    fn now(&self) -> Now {
        Now::at(1_700_000_000_000 + self.ticks * MS_PER_TICK)
    }

    fn member(&mut self, id: u64) -> &mut Member {
        self.members.get_mut(&id).expect("member")
    }

    /// Makes every write durable and delivers every message, until nothing moves.
    fn pump(&mut self) {
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

    fn tick(&mut self) {
        self.ticks += 1;
        let now = self.now();
        for m in self.members.values_mut() {
            m.tick(now);
        }
        self.pump();
    }

    fn elect(&mut self) -> u64 {
        for _ in 0..100 {
            if let Some(id) = self.leader() {
                return id;
            }
            self.tick();
        }
        panic!("no leader within 100 ticks");
    }

    fn leader(&self) -> Option<u64> {
        let leaders: Vec<u64> = self
            .members
            .iter()
            .filter(|(id, m)| !self.isolated.contains(id) && m.accepts_writes())
            .map(|(id, _)| *id)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    fn connect(&mut self, id: u64, conn: ConnId) {
        let now = self.now();
        let req = ConnectRequest::new_session(30_000);
        let m = self.member(id);
        m.engine_mut().handle_connect(conn, "127.0.0.1", &req, now);
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

    fn send(&mut self, id: u64, conn: ConnId, reqs: Vec<(i32, i32, Request)>) {
        let now = self.now();
        let m = self.member(id);
        for (xid, opcode, req) in reqs {
            m.engine_mut()
                .handle_request(conn, RequestHeader { xid, opcode }, req, now);
        }
        m.flush();
        self.pump();
    }

    /// What connection `conn` was sent: (xid, error code) of each reply, and whether it closed.
    fn replies(&self, conn: ConnId) -> (Vec<(i32, i32)>, bool) {
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

fn create(path: &str) -> Request {
    create_req(
        op::CREATE,
        path,
        b"x",
        create_mode::PERSISTENT,
        None,
        Acl::open_unsafe(),
    )
}

fn get_data(path: &str) -> Request {
    Request::GetData {
        path: path.into(),
        watch: false,
    }
}

/// Runs the scenario; `local_syncs` makes the old leader answer syncs without a ReadIndex.
/// Returns what the old leader's client got for its sync (xid 10) and read (xid 11).
fn deposed_leader_scenario(local_syncs: bool) -> (Vec<(i32, i32)>, bool) {
    let mut ens = Ensemble::new();
    let old = ens.elect();
    let new = *VOTERS.iter().find(|&&v| v != old).expect("another voter");
    let (on_old, on_new) = (1, 2);
    ens.connect(old, on_old);
    ens.connect(new, on_new);

    ens.isolate_on_timeout_now = true;
    assert!(ens.member(new).request_leadership(), "rqld on a follower");
    ens.pump();
    assert!(ens.isolated.contains(&old), "no MsgTimeoutNow went out");
    assert_eq!(ens.leader(), Some(new), "member {new} leads after rqld");
    let m = ens.member(old);
    assert_eq!(
        m.role(),
        Role::Leading,
        "the old leader has not heard of the new term"
    );
    if local_syncs {
        m.engine_mut().set_sync_by_read_index(false);
    }

    ens.send(new, on_new, vec![(1, op::CREATE, create("/x"))]);
    assert_eq!(ens.replies(on_new).0, vec![(1, 0)], "create acknowledged");

    let sync = Request::Sync { path: "/".into() };
    let read = (11, op::GET_DATA, get_data("/x"));
    ens.send(old, on_old, vec![(10, op::SYNC, sync), read]);
    // Until the old leader finds it has no quorum (check-quorum, within two election
    // timeouts), then a little more.
    for _ in 0..30 {
        ens.tick();
    }
    assert_ne!(
        ens.member(old).role(),
        Role::Leading,
        "the old leader stepped down"
    );
    ens.replies(on_old)
}

#[test]
fn deposed_leader_never_answers_sync() {
    let (replies, closed) = deposed_leader_scenario(false);
    assert_eq!(replies, vec![], "sync answered by a deposed leader");
    assert!(closed, "the client of the deposed leader is disconnected");
}

/// The same scenario with the old leader's syncs answered from its tree reads stale data:
/// the scenario above would catch a leader that skipped the ReadIndex.
#[test]
fn deposed_leader_answering_sync_locally_reads_stale_data() {
    let (replies, _) = deposed_leader_scenario(true);
    let no_node = -101;
    assert_eq!(replies, vec![(10, 0), (11, no_node)], "a stale read");
}

/// On a healthy leader, a pipelined create, sync, create and read are answered in order and
/// without a tick (the create queued behind the sync is prepared once the sync is answered,
/// and proposed with the member's next flush or drive).
#[test]
fn leader_sync_keeps_the_session_order() {
    let mut ens = Ensemble::new();
    let leader = ens.elect();
    ens.connect(leader, 1);
    let sync = Request::Sync { path: "/".into() };
    ens.send(
        leader,
        1,
        vec![
            (1, op::CREATE, create("/a")),
            (2, op::SYNC, sync),
            (3, op::CREATE, create("/b")),
            (4, op::GET_DATA, get_data("/b")),
        ],
    );
    assert_eq!(
        ens.replies(1),
        (vec![(1, 0), (2, 0), (3, 0), (4, 0)], false)
    );
}
