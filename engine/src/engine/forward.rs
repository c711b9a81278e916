//! Writes on a follower or Observer (ZooKeeper's FollowerRequestProcessor and CommitProcessor):
//! a write, a new session or a close is forwarded to the leader outside the Raft log and
//! answered here once its txn is committed and applied here. A session's later requests that
//! are not writes wait behind its forwarded writes, so per-session order holds across
//! forwarded writes and local reads. A `sync` waits for a ReadIndex (`poll_sync`,
//! `complete_sync`), on a follower and on an ensemble's leader alike.

use super::write::response_for;
use super::{Engine, Output};
use crate::proto::{ConnectResponse, ErrorCode, Id, Request, RequestHeader, Response};
use crate::txn::{apply, Applied, Txn, TxnBody};
use crate::watch::ConnId;
use crate::Now;
use std::collections::VecDeque;

/// What a follower asks the leader to prepare.
#[derive(Clone, Debug, PartialEq)]
pub enum ForwardedOp {
    Request(Request),
    CreateSession {
        timeout_ms: i32,
    },
    /// A write the follower could not decode: the leader logs an error txn for it, as a
    /// standalone server does, so it takes a zxid on every server.
    Failed {
        err: i32,
    },
}

/// A client write a follower or Observer sends to the leader.
#[derive(Clone, Debug, PartialEq)]
pub struct Forwarded {
    pub session_id: i64,
    pub cxid: i32,
    /// The connection's authenticated ids, for the leader's ACL checks.
    pub auth: Vec<Id>,
    pub op: ForwardedOp,
}

/// A session's requests after its first write still in flight, in arrival order.
#[derive(Debug)]
pub(super) enum Queued {
    /// Forwarded; its reply is made when its txn is applied here, and sent when its turn
    /// comes (a sync before it may still wait for its read index).
    Write {
        conn: ConnId,
        cxid: i32,
        req: Request,
        /// The reply, once the txn is applied: (zxid, error, body).
        reply: Option<(i64, ErrorCode, Response)>,
    },
    /// A `sync`: answered once this server has applied everything the leader had committed
    /// when the sync reached it (ReadIndex, asked for through `poll_sync`).
    Sync { conn: ConnId, xid: i32, id: u64 },
    /// Waits for the writes before it.
    Other {
        conn: ConnId,
        header: RequestHeader,
        req: Request,
    },
}

/// A new session forwarded to the leader, answered when its createSession txn is applied.
#[derive(Debug)]
pub(super) struct Connecting {
    pub conn: ConnId,
    pub resp: ConnectResponse,
}

impl Engine {
    /// Followers and Observers forward writes; a standalone server and the leader prepare them.
    pub fn set_forwarding(&mut self, on: bool) {
        self.forwarding = on;
    }

    pub fn is_forwarding(&self) -> bool {
        self.forwarding
    }

    /// An ensemble member's engine: when not forwarding (it leads), syncs are still answered
    /// through `poll_sync` and `complete_sync`. Off on a standalone server, whose sync waits
    /// only behind the writes in flight before it.
    pub fn set_sync_by_read_index(&mut self, on: bool) {
        self.sync_by_read_index = on;
    }

    /// Txns prepared and not yet taken with `poll_txn`.
    pub fn prepared_txns(&self) -> usize {
        self.txns.len()
    }

    /// Next request to send to the leader.
    pub fn poll_forward(&mut self) -> Option<Forwarded> {
        self.forward_out.pop_front()
    }

    /// Requests forwarded and not yet answered (new sessions included).
    pub fn forwarded_waiting(&self) -> usize {
        self.waiting.values().map(|q| q.len()).sum::<usize>() + self.connecting.len()
    }

    /// Forwarded requests answered so far: progress for a caller that times out waiting ones.
    pub fn forwarded_answered(&self) -> u64 {
        self.forwarded_answered
    }

    /// Leader: prepares a write a follower forwarded. Its reply is the follower's to send.
    pub fn handle_forwarded(&mut self, f: Forwarded, now: Now) {
        self.last_now = now;
        // No dedupe by xid: links never repeat a forward, and a client's xids start again
        // on every connection (kazoo's do), so a session that moved to another server
        // sends xids the leader has seen before.
        self.sessions.observe_id(f.session_id);
        match f.op {
            ForwardedOp::CreateSession { timeout_ms } => {
                let timeout_ms = self.negotiate_timeout(timeout_ms);
                self.commit(
                    f.session_id,
                    f.cxid,
                    now,
                    TxnBody::CreateSession { timeout_ms },
                );
            }
            ForwardedOp::Failed { err } => {
                self.commit(f.session_id, f.cxid, now, TxnBody::Error { err });
            }
            ForwardedOp::Request(Request::CloseSession) => {
                self.sessions.mark_closing(f.session_id);
                self.commit(f.session_id, f.cxid, now, super::close_session_txn());
                self.close_conns_of(f.session_id, None);
            }
            ForwardedOp::Request(req) => {
                if !self.sessions.touch(f.session_id, now.elapsed_ms) {
                    // Expired or closed meanwhile: ZooKeeper's leader refuses the request
                    // with SESSIONEXPIRED as an error txn the follower answers from.
                    let err = ErrorCode::SessionExpired.code();
                    self.commit(f.session_id, f.cxid, now, TxnBody::Error { err });
                    return;
                }
                self.prep_and_commit(f.session_id, f.cxid, &f.auth, &req, now);
            }
        }
    }

    /// Follower: a write that did not decode goes to the leader as a failure to log; its
    /// client is answered with the error once that txn is applied here, in session order.
    pub(super) fn forward_failed(&mut self, conn: ConnId, header: RequestHeader, err: ErrorCode) {
        let Some(session_id) = self.conns.get(&conn).map(|c| c.session_id) else {
            return;
        };
        self.touched.insert(session_id);
        let op = ForwardedOp::Failed { err: err.code() };
        // Only its reply is made from the queued request, and an error txn's reply is the
        // error.
        self.forward_write(conn, session_id, header.xid, Vec::new(), op, Request::Ping);
    }

    /// Sends a write to the leader and queues its answer in the session's order.
    fn forward_write(
        &mut self,
        conn: ConnId,
        session_id: i64,
        cxid: i32,
        auth: Vec<Id>,
        op: ForwardedOp,
        req: Request,
    ) {
        self.forward_out.push_back(Forwarded {
            session_id,
            cxid,
            auth,
            op,
        });
        self.waiting
            .entry(session_id)
            .or_default()
            .push_back(Queued::Write {
                conn,
                cxid,
                req,
                reply: None,
            });
    }

    /// Follower: a new session, created through the leader.
    pub(super) fn forward_connect(&mut self, conn: ConnId, session_id: i64, resp: ConnectResponse) {
        let timeout_ms = resp.timeout_ms;
        self.connecting
            .insert(session_id, Connecting { conn, resp });
        self.forward_out.push_back(Forwarded {
            session_id,
            cxid: 0,
            auth: Vec::new(),
            op: ForwardedOp::CreateSession { timeout_ms },
        });
    }

    /// Follower: a request of an established session. Writes go to the leader; anything else
    /// waits while the session has writes in flight (see `queue_behind_sync`).
    pub(super) fn forward_or_queue(
        &mut self,
        conn: ConnId,
        session_id: i64,
        header: RequestHeader,
        req: Request,
        is_write: bool,
    ) -> Option<(RequestHeader, Request)> {
        if is_write && !matches!(req, Request::Sync { .. }) {
            let auth = self
                .conns
                .get(&conn)
                .map(|c| c.auth.clone())
                .unwrap_or_default();
            let op = ForwardedOp::Request(req.clone());
            self.forward_write(conn, session_id, header.xid, auth, op, req);
            return None;
        }
        self.queue_behind_sync(conn, session_id, header, req)
    }

    /// A sync asks for a ReadIndex (on a follower, and on an ensemble's leader, so that a
    /// leader deposed without knowing it yet cannot answer it from a stale tree), and waits
    /// in its session's order: its answer comes after the session's writes before it. Any
    /// other request waits while its session has requests queued (forwarded writes, a sync);
    /// otherwise it is served now (returned). On the leader, writes behind a sync are
    /// prepared when it is answered.
    pub(super) fn queue_behind_sync(
        &mut self,
        conn: ConnId,
        session_id: i64,
        header: RequestHeader,
        req: Request,
    ) -> Option<(RequestHeader, Request)> {
        if let Request::Sync { path } = &req {
            self.queue_sync(conn, session_id, header.xid, path);
            return None;
        }
        match self.waiting.get_mut(&session_id) {
            Some(q) if !q.is_empty() => {
                q.push_back(Queued::Other { conn, header, req });
                None
            }
            _ => Some((header, req)),
        }
    }

    /// Queues a sync in its session's order and asks for its read index (`poll_sync`).
    fn queue_sync(&mut self, conn: ConnId, session_id: i64, xid: i32, path: &str) {
        self.next_sync_id += 1;
        let id = self.next_sync_id;
        self.sync_paths.insert(id, path.to_string());
        self.sync_out.push_back(id);
        self.waiting
            .entry(session_id)
            .or_default()
            .push_back(Queued::Sync { conn, xid, id });
    }

    /// Follower: applies a committed txn prepared by the leader: the tree changes, local
    /// watches fire, and the request it answers (if it came from here) gets its reply.
    pub fn apply_committed(&mut self, txn: &Txn, now: Now) {
        assert!(
            txn.zxid > self.last_zxid,
            "committed zxid {:#x} applied after {:#x}",
            txn.zxid,
            self.last_zxid
        );
        self.last_now = now;
        let mut events = Vec::new();
        let applied = apply(&mut self.tree, &mut self.watches, txn, &mut events);
        self.after_apply_sessions(txn, now);
        if txn.session_id != 0 {
            self.sessions.observe_id(txn.session_id);
        }
        self.last_zxid = txn.zxid;
        self.durable_zxid = txn.zxid;
        for (conn, event) in events {
            self.push(Output::Notify { conn, event });
        }
        if self.config.watches_at_shards {
            self.push(Output::TxnApplied { zxid: txn.zxid });
        }
        self.answer(txn, applied, now);
    }

    fn answer(&mut self, txn: &Txn, applied: Applied, now: Now) {
        let session_id = txn.session_id;
        if let TxnBody::CreateSession { .. } = txn.body {
            if let Some(c) = self.connecting.remove(&session_id) {
                self.forwarded_answered += 1;
                self.push(Output::Connected {
                    conn: c.conn,
                    resp: c.resp,
                });
            }
            return;
        }
        // The first write of the session not yet applied here must be this txn's request.
        let expected = self.waiting.get(&session_id).and_then(|q| {
            q.iter().find_map(|e| match e {
                Queued::Write {
                    cxid,
                    conn,
                    reply: None,
                    ..
                } => Some((*cxid, *conn)),
                _ => None,
            })
        });
        // A later write of this session that this server forwarded itself. A txn of the
        // session it did not forward (sent through another server before the session moved
        // here, committing late) is not one: cxids start again on every connection.
        let ours_later = |q: &VecDeque<Queued>| {
            q.iter()
                .any(|e| matches!(e, Queued::Write { cxid, reply: None, .. } if *cxid == txn.cxid))
        };
        let overtaken = txn.cxid > 0 && self.waiting.get(&session_id).is_some_and(ours_later);
        match expected {
            Some((cxid, _)) if cxid == txn.cxid => {}
            Some((_, conn)) if overtaken => {
                // A later request of this session committed before the one we wait for:
                // that one was lost on the way to the leader. Its client cannot be
                // answered in order: close the connection, as a broken link would.
                self.waiting.remove(&session_id);
                self.drop_conn(conn);
                self.push(Output::Close { conn });
                return;
            }
            _ => {
                if let TxnBody::CloseSession { .. } = txn.body {
                    // Expired by the leader, or closed from another server.
                    self.close_conns_of(session_id, None);
                    self.waiting.remove(&session_id);
                }
                return;
            }
        }
        let q = self.waiting.get_mut(&session_id).expect("found above");
        let Some(Queued::Write { req, reply, .. }) = q
            .iter_mut()
            .find(|e| matches!(e, Queued::Write { reply: None, .. }))
        else {
            unreachable!("found above");
        };
        let (err, resp) = if matches!(req, Request::CloseSession) {
            (ErrorCode::Ok, Response::Empty)
        } else {
            response_for(req, applied)
        };
        *reply = Some((txn.zxid, err, resp));
        self.settle_queue(session_id, now);
    }

    /// Runs the requests at the front of a session's queue whose turn has come: syncs whose
    /// read index is applied, and the plain requests behind them, up to the next write or
    /// unfinished sync.
    fn settle_queue(&mut self, session_id: i64, now: Now) {
        loop {
            let Some(q) = self.waiting.get_mut(&session_id) else {
                return;
            };
            match q.front() {
                Some(Queued::Other { .. }) => {
                    let Some(Queued::Other { conn, header, req }) = q.pop_front() else {
                        unreachable!("checked above");
                    };
                    self.serve(conn, session_id, header, req, now);
                }
                Some(Queued::Write { reply: Some(_), .. }) => {
                    let Some(Queued::Write {
                        conn,
                        cxid,
                        req,
                        reply: Some((zxid, err, resp)),
                    }) = q.pop_front()
                    else {
                        unreachable!("checked above");
                    };
                    self.forwarded_answered += 1;
                    self.reply(conn, cxid, zxid, err, resp);
                    if matches!(req, Request::CloseSession) {
                        self.waiting.remove(&session_id);
                        self.close_conns_of(session_id, None);
                        return;
                    }
                }
                Some(Queued::Sync { id, .. }) if self.synced.contains(id) => {
                    let Some(Queued::Sync { conn, xid, id }) = q.pop_front() else {
                        unreachable!("checked above");
                    };
                    self.synced.remove(&id);
                    let path = self.sync_paths.remove(&id).unwrap_or_default();
                    self.forwarded_answered += 1;
                    let zxid = self.last_zxid;
                    self.reply(conn, xid, zxid, ErrorCode::Ok, Response::Sync { path });
                }
                Some(_) => return,
                None => {
                    self.waiting.remove(&session_id);
                    return;
                }
            }
        }
    }

    /// Syncs to ask the leader's commit point for (ReadIndex), by id.
    pub fn poll_sync(&mut self) -> Option<u64> {
        self.sync_out.pop_front()
    }

    /// Sync `id`'s read index is applied here: it is answered when its turn comes.
    pub fn complete_sync(&mut self, id: u64, now: Now) {
        if !self.sync_paths.contains_key(&id) {
            return; // its connection was closed meanwhile
        }
        self.synced.insert(id);
        let sessions: Vec<i64> = self
            .waiting
            .iter()
            .filter(|(_, q)| {
                q.iter()
                    .any(|e| matches!(e, Queued::Sync { id: s, .. } if *s == id))
            })
            .map(|(s, _)| *s)
            .collect();
        for s in sessions {
            self.settle_queue(s, now);
        }
    }

    /// Follower: the leader changed or stopped answering, so forwarded requests may never be
    /// committed: their connections close (clients reconnect and retry, as with ZooKeeper).
    pub fn drop_forwarded(&mut self) {
        self.forward_out.clear();
        self.sync_out.clear();
        self.sync_paths.clear();
        self.synced.clear();
        let mut conns: Vec<ConnId> = self.connecting.drain().map(|(_, c)| c.conn).collect();
        for (_, q) in self.waiting.drain() {
            for item in q {
                match item {
                    Queued::Write { conn, .. }
                    | Queued::Other { conn, .. }
                    | Queued::Sync { conn, .. } => conns.push(conn),
                }
            }
        }
        conns.sort_unstable();
        conns.dedup();
        for conn in conns {
            if self.conns.contains_key(&conn) || self.forwarding {
                self.drop_conn(conn);
                self.push(Output::Close { conn });
            }
        }
    }
}
