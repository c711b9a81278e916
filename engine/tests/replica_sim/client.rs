//! The simulated clients: one session at a time each, on a member chosen at random (followers
//! and Observers forward its writes). Two workloads share the session's pipeline:
//! - private znodes: a create of a fresh znode pipelined with a read of it, which must see the
//!   create (per-session order); and a sync pipelined with a read of the znode acknowledged
//!   last to any client, which must see it. `sim` checks every acknowledged create survives.
//! - shared znodes: every client creates, sets (unconditionally and on the version it last
//!   saw), deletes and sync-then-reads the same few znodes, recorded in the `History` that is
//!   checked linearizable. Outcomes such as NODEEXISTS, BADVERSION and setData's new version
//!   reveal the order the ensemble chose.
//!
//! Every client checks that its replies come in request order.

use super::history::History;
use super::rng::Rng;
use super::znode::{data_bytes, data_number, ZnodeOp, ZnodeRet};
use crate::harness::create_req;
use ringkeeper_engine::proto::{create_mode, op, Acl, ErrorCode, Request, Response};
use ringkeeper_engine::{ConnId, Output};
use std::collections::BTreeMap;

/// The znodes every client writes.
pub const SHARED: [&str; 3] = ["/shared-0", "/shared-1", "/shared-2"];

/// Operations invoked on each shared znode per seed. The linearizability search grows quickly
/// with the operations that overlap (a never-answered one overlaps everything after it); a
/// few dozen keep each seed's check to milliseconds.
pub const OPS_PER_SHARED_MAX: usize = 60;

/// Requests a client has sent and not had answered; it sends no more until some are.
pub const PIPELINE_MAX: usize = 8;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Create,
    /// getData of the znode the previous create made, pipelined behind it.
    ReadOwn,
    Sync,
    /// getData, after a sync, of the last znode any client had seen acknowledged when the
    /// sync was sent: ZooKeeper's sync-then-read sees every write acknowledged before.
    ReadSynced,
    /// An operation on a shared znode: its number in the history, and what it is.
    Shared {
        id: usize,
        op: ZnodeOp,
    },
}

/// What the clients learned, over all their sessions: the input of the checks.
#[derive(Default)]
pub struct Record {
    /// Acknowledged creates of private znodes: path -> zxid.
    pub acked: BTreeMap<String, i64>,
    /// The private znode acknowledged last, to any client.
    pub last_acked: Option<String>,
    pub history: History,
}

/// A request as handed to a member: (xid, opcode, body).
pub type Sent = (i32, i32, Request);

#[derive(Default)]
pub struct Client {
    pub id: u64,
    /// (member, connection) of the current session.
    pub conn: Option<(u64, ConnId)>,
    pub connected: bool,
    next_xid: i32,
    next_key: u64,
    /// xid -> (path, what) of requests sent and not answered, in order.
    pending: BTreeMap<i32, (String, Kind)>,
    last_reply_xid: i32,
    /// Per shared znode, the version this client saw last: its conditional writes use it.
    seen: [Option<i32>; SHARED.len()],
    /// Off only to show the check failing: reads of shared znodes are then sent without
    /// their sync, as if sync answered at once from a lagging member's tree.
    pub sync_shared_reads: bool,
}

impl Client {
    pub fn new(id: u64) -> Client {
        Client {
            id,
            sync_shared_reads: true,
            ..Client::default()
        }
    }

    /// Starts a session on `member` over `conn`.
    pub fn connect(&mut self, member: u64, conn: ConnId) {
        self.conn = Some((member, conn));
        self.connected = false;
        self.last_reply_xid = 0;
    }

    /// The session is up and the pipeline has room.
    pub fn ready(&self) -> bool {
        self.connected && self.pending.len() < PIPELINE_MAX
    }

    pub fn idle(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn drop_conn(&mut self) {
        self.conn = None;
        self.connected = false;
        // Unanswered requests may or may not take effect: private creates are neither acked
        // nor checked; shared operations stay in the history without an answer.
        self.pending.clear();
    }

    fn xid(&mut self) -> i32 {
        self.next_xid += 1;
        self.next_xid
    }

    /// The next requests to pipeline. Operations on shared znodes enter the history here, as
    /// invoked: the caller hands the requests to the member straight after.
    pub fn next_requests(&mut self, rng: &mut Rng, record: &mut Record) -> Vec<Sent> {
        let open: Vec<usize> = (0..SHARED.len())
            .filter(|k| record.history.ops_on(SHARED[*k]) < OPS_PER_SHARED_MAX)
            .collect();
        if !open.is_empty() && rng.chance(300) {
            let k = open[rng.below(open.len() as u64) as usize];
            return self.shared_op(k, rng, &mut record.history);
        }
        if let Some(path) = record.last_acked.clone().filter(|_| rng.chance(250)) {
            let sync = self.xid();
            let read = self.xid();
            self.pending.insert(sync, (path.clone(), Kind::Sync));
            self.pending.insert(read, (path.clone(), Kind::ReadSynced));
            return vec![
                (sync, op::SYNC, Request::Sync { path: path.clone() }),
                (read, op::GET_DATA, Request::GetData { path, watch: false }),
            ];
        }
        let path = format!("/c{}-{}", self.id, self.next_key);
        self.next_key += 1;
        let create = self.xid();
        let read = self.xid();
        self.pending.insert(create, (path.clone(), Kind::Create));
        self.pending.insert(read, (path.clone(), Kind::ReadOwn));
        let req = create_req(
            op::CREATE,
            &path,
            path.as_bytes(),
            create_mode::PERSISTENT,
            None,
            Acl::open_unsafe(),
        );
        vec![
            (create, op::CREATE, req),
            (read, op::GET_DATA, Request::GetData { path, watch: false }),
        ]
    }

    fn shared_op(&mut self, k: usize, rng: &mut Rng, history: &mut History) -> Vec<Sent> {
        let path = SHARED[k].to_owned();
        let seen = self.seen[k].unwrap_or(0);
        let op = match rng.below(100) {
            0..20 => ZnodeOp::Create {
                data: history.fresh_data(),
            },
            20..45 => ZnodeOp::SetData {
                data: history.fresh_data(),
                version: -1,
            },
            45..65 => ZnodeOp::SetData {
                data: history.fresh_data(),
                version: seen,
            },
            65..75 => ZnodeOp::Delete { version: -1 },
            75..80 => ZnodeOp::Delete { version: seen },
            _ => ZnodeOp::SyncedRead,
        };
        let id = history.invoke(&path, op);
        let mut sent = Vec::new();
        if op == ZnodeOp::SyncedRead && self.sync_shared_reads {
            let xid = self.xid();
            self.pending.insert(xid, (path.clone(), Kind::Sync));
            sent.push((xid, op::SYNC, Request::Sync { path: path.clone() }));
        }
        let xid = self.xid();
        self.pending
            .insert(xid, (path.clone(), Kind::Shared { id, op }));
        sent.push(match op {
            ZnodeOp::Create { data } => {
                let req = create_req(
                    op::CREATE,
                    &path,
                    &data_bytes(data),
                    create_mode::PERSISTENT,
                    None,
                    Acl::open_unsafe(),
                );
                (xid, op::CREATE, req)
            }
            ZnodeOp::SetData { data, version } => {
                let data = data_bytes(data).into();
                (
                    xid,
                    op::SET_DATA,
                    Request::SetData {
                        path,
                        data,
                        version,
                    },
                )
            }
            ZnodeOp::Delete { version } => (xid, op::DELETE, Request::Delete { path, version }),
            ZnodeOp::SyncedRead => (xid, op::GET_DATA, Request::GetData { path, watch: false }),
        });
        sent
    }

    /// Takes an output of `member`.
    pub fn receive(&mut self, member: u64, o: &Output, record: &mut Record) {
        let Some((m, conn)) = self.conn else {
            return;
        };
        if m != member {
            return;
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
                let Some((path, kind)) = self.pending.remove(&header.xid) else {
                    return;
                };
                assert!(
                    header.xid > self.last_reply_xid,
                    "client {}: reply {} after {}",
                    self.id,
                    header.xid,
                    self.last_reply_xid
                );
                self.last_reply_xid = header.xid;
                if let Kind::Shared { id, op } = kind {
                    let ret = shared_ret(op, header.err, body, &path);
                    self.note_seen(&path, ret);
                    record.history.answer(id, ret);
                    return;
                }
                assert_eq!(
                    header.err,
                    ErrorCode::Ok.code(),
                    "client {}: {kind:?} {path} failed on member {m}",
                    self.id,
                );
                match kind {
                    Kind::Create => {
                        record.acked.insert(path.clone(), header.zxid);
                        record.last_acked = Some(path);
                    }
                    Kind::ReadOwn | Kind::ReadSynced => {
                        let Response::GetData { data, .. } = body else {
                            panic!("getData answered with {body:?}");
                        };
                        assert_eq!(&data[..], path.as_bytes(), "{kind:?} of {path}");
                    }
                    Kind::Sync | Kind::Shared { .. } => {}
                }
            }
            Output::Close { conn: c } if *c == conn => self.drop_conn(),
            _ => {}
        }
    }

    fn note_seen(&mut self, path: &str, ret: ZnodeRet) {
        let k = SHARED
            .iter()
            .position(|p| *p == path)
            .expect("a shared znode");
        match ret {
            ZnodeRet::Created => self.seen[k] = Some(0),
            ZnodeRet::Set { version } | ZnodeRet::Read { version, .. } => {
                self.seen[k] = Some(version)
            }
            ZnodeRet::Deleted | ZnodeRet::Failed(ErrorCode::NoNode) => self.seen[k] = None,
            ZnodeRet::Failed(_) => {}
        }
    }
}

/// A reply to an operation on a shared znode, as the model's answer. The model judges whether
/// an error fits; anything else is a protocol mistake.
fn shared_ret(op: ZnodeOp, err: i32, body: &Response, path: &str) -> ZnodeRet {
    let code = ErrorCode::from_code(err);
    match (op, code, body) {
        (_, ErrorCode::NoNode | ErrorCode::NodeExists | ErrorCode::BadVersion, _) => {
            ZnodeRet::Failed(code)
        }
        (ZnodeOp::Create { .. }, ErrorCode::Ok, Response::Create { .. }) => ZnodeRet::Created,
        (ZnodeOp::SetData { .. }, ErrorCode::Ok, Response::Stat(stat)) => ZnodeRet::Set {
            version: stat.version,
        },
        (ZnodeOp::Delete { .. }, ErrorCode::Ok, Response::Empty) => ZnodeRet::Deleted,
        (ZnodeOp::SyncedRead, ErrorCode::Ok, Response::GetData { data, stat }) => ZnodeRet::Read {
            data: data_number(data, path),
            version: stat.version,
        },
        _ => panic!("{op:?} of {path} answered {code:?} {body:?}"),
    }
}
