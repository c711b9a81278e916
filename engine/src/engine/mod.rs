//! The Engine: one ZooKeeper server's request processing, sans-IO.
//!
//! Call contract (quinn-proto style):
//! - in: `handle_connect`, `handle_request`, `handle_bad_request`, `handle_disconnect`,
//!   `handle_tick`, and `handle_persisted` once the WAL has made txns durable;
//! - out: `poll_txn` gives txns to append to the WAL, in zxid order; `poll_output` gives
//!   replies, notifications and connection closes, in the order they must be sent.
//!
//! Txns are applied to the tree when prepared, but nothing that depends on a txn leaves the
//! engine before that txn is durable: every output carries the zxid it depends on (the last
//! zxid prepared when it was made) and `poll_output` releases outputs in FIFO order up to the
//! durable zxid. So a reply never runs ahead of its txn, a write's notifications precede its
//! reply, and no read shows state that a crash could lose.

mod forward;
mod read;
mod read_only;
mod watch_ops;
mod write;

pub use forward::{Forwarded, ForwardedOp};

use crate::config::EngineConfig;
use crate::proto::{
    op, xid, ConnectRequest, ConnectResponse, ErrorCode, Id, ReplyHeader, Request, RequestHeader,
    Response, WatcherEvent,
};
use crate::session::{initial_session_id, session_password, SessionTracker};
use crate::tree::DataTree;
use crate::txn::{apply, Applied, Txn, TxnBody};
use crate::watch::ops::WatchOp;
use crate::watch::{ConnId, WatchManager};
use crate::Now;
use std::collections::{HashMap, VecDeque};

/// Something the server must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Connected {
        conn: ConnId,
        resp: ConnectResponse,
    },
    Reply {
        conn: ConnId,
        header: ReplyHeader,
        body: Response,
    },
    Notify {
        conn: ConnId,
        event: WatcherEvent,
    },
    /// Close the connection after flushing what came before.
    Close {
        conn: ConnId,
    },
    /// The connection's authenticated ids changed (connect, auth). Not a frame: a shard that
    /// serves reads itself keeps them for ACL checks.
    AuthIds {
        conn: ConnId,
        ids: Vec<Id>,
    },
    /// Only with `watches_at_shards`: the connection's shard performs this watch request
    /// against its replica (which at this point of the stream equals the engine's tree) and,
    /// with `reply = Some((xid, zxid))`, answers it.
    Watch {
        conn: ConnId,
        op: WatchOp,
        reply: Option<(i32, i64)>,
    },
    /// Only with `watches_at_shards`: the txn with this zxid was applied here. Every shard
    /// applies it at this point of the stream, firing its own connections' watches.
    TxnApplied {
        zxid: i64,
    },
    /// Only from an ensemble member that keeps applied txns: a snapshot from the leader
    /// replaced the tree. Every shard's replica starts again from that snapshot's tree
    /// (`Member::take_reset_tree`) at this point of the stream, at this zxid.
    ReplicaReset {
        zxid: i64,
    },
}

/// Per-connection state the engine keeps.
#[derive(Clone, Debug)]
pub struct ConnState {
    pub session_id: i64,
    /// Authenticated ids: ("ip", address) first, then what `auth` packets added.
    pub auth: Vec<Id>,
}

pub struct Engine {
    config: EngineConfig,
    tree: DataTree,
    sessions: SessionTracker,
    watches: WatchManager,
    conns: HashMap<ConnId, ConnState>,
    /// Last zxid prepared (and applied to `tree`).
    last_zxid: i64,
    /// Highest zxid the WAL reported durable.
    durable_zxid: i64,
    txns: VecDeque<Txn>,
    outputs: VecDeque<(i64, Output)>,
    /// When the next container and TTL check is due, on the elapsed (monotonic) clock.
    next_container_check_ms: i64,
    /// The latest time seen, for txns made by inputs that carry no time.
    last_now: Now,
    /// A follower or Observer: writes go to the leader (see `forward.rs`).
    forwarding: bool,
    /// An ensemble member: when it leads, a sync waits for a ReadIndex, as a follower's
    /// does, not only for the writes in flight before it (see `forward.rs`).
    sync_by_read_index: bool,
    /// Out of quorum, serving read-only clients (see `read_only.rs`).
    read_only: bool,
    forward_out: VecDeque<forward::Forwarded>,
    /// Per session: forwarded writes not yet applied here, and what waits behind them.
    waiting: HashMap<i64, VecDeque<forward::Queued>>,
    /// New sessions forwarded to the leader, by session id.
    connecting: HashMap<i64, forward::Connecting>,
    forwarded_answered: u64,
    /// Syncs (a follower's, or an ensemble leader's): ids handed out, their paths, those asked of the leader, those done.
    next_sync_id: u64,
    sync_paths: HashMap<u64, String>,
    sync_out: VecDeque<u64>,
    synced: std::collections::HashSet<u64>,
    /// Sessions active here since the last `take_touched` (a follower reports them).
    touched: std::collections::BTreeSet<i64>,
}

impl Engine {
    /// A fresh server. The wall clock seeds the session id generator, as ZooKeeper's does.
    pub fn new(config: EngineConfig, now: Now) -> Engine {
        let mut tree = DataTree::new();
        if let Some(m) = &config.membership {
            tree.set_data(
                crate::tree::CONFIG,
                crate::proto::Data::from(&m[..]),
                -1,
                0,
                now.wall_ms,
            )
            .expect("a fresh tree has /zookeeper/config");
        }
        Engine::restore(config, tree, Vec::new(), 0, now)
    }

    /// A server restored from a snapshot and log: `sessions` are (id, timeout) pairs.
    pub fn restore(
        config: EngineConfig,
        tree: DataTree,
        sessions: Vec<(i64, i32)>,
        last_zxid: i64,
        now: Now,
    ) -> Engine {
        let mut tracker = SessionTracker::new(
            config.tick_time_ms,
            initial_session_id(now.wall_ms, config.server_id),
        );
        // Every restored session gets a fresh timeout, measured from now.
        for (id, timeout) in sessions {
            tracker.add(id, timeout, now.elapsed_ms);
        }
        Engine {
            next_container_check_ms: now.elapsed_ms + config.container_check_interval_ms,
            last_now: now,
            config,
            tree,
            sessions: tracker,
            watches: WatchManager::default(),
            conns: HashMap::new(),
            last_zxid,
            durable_zxid: last_zxid,
            txns: VecDeque::new(),
            outputs: VecDeque::new(),
            forwarding: false,
            sync_by_read_index: false,
            read_only: false,
            forward_out: VecDeque::new(),
            waiting: HashMap::new(),
            connecting: HashMap::new(),
            forwarded_answered: 0,
            next_sync_id: 0,
            sync_paths: HashMap::new(),
            sync_out: VecDeque::new(),
            synced: std::collections::HashSet::new(),
            touched: std::collections::BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn sessions(&self) -> &SessionTracker {
        &self.sessions
    }

    pub fn watches(&self) -> &WatchManager {
        &self.watches
    }

    pub fn conn(&self, conn: ConnId) -> Option<&ConnState> {
        self.conns.get(&conn)
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    pub fn durable_zxid(&self) -> i64 {
        self.durable_zxid
    }

    /// Txns prepared but not yet reported durable.
    pub fn outstanding_txns(&self) -> i64 {
        self.last_zxid - self.durable_zxid
    }

    /// A leader starts preparing in a new epoch: the next zxid is `floor + 1`. Only between
    /// txns: nothing may be prepared and not yet committed.
    pub fn start_epoch(&mut self, floor: i64) {
        assert!(
            floor >= self.last_zxid,
            "epoch floor {floor:#x} below the last zxid {:#x}",
            self.last_zxid
        );
        assert!(
            self.txns.is_empty() && self.durable_zxid == self.last_zxid,
            "a new epoch starts with txns in flight"
        );
        self.last_zxid = floor;
        self.durable_zxid = floor;
    }

    /// The connections the engine knows.
    pub fn conn_ids(&self) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Next txn to append to the WAL.
    pub fn poll_txn(&mut self) -> Option<Txn> {
        self.txns.pop_front()
    }

    /// The WAL has made every txn up to `zxid` durable.
    pub fn handle_persisted(&mut self, zxid: i64) {
        assert!(
            zxid <= self.last_zxid,
            "durable zxid {zxid:#x} beyond prepared {:#x}",
            self.last_zxid
        );
        if zxid > self.durable_zxid {
            self.durable_zxid = zxid;
        }
    }

    /// Next output whose txn is durable.
    pub fn poll_output(&mut self) -> Option<Output> {
        match self.outputs.front() {
            Some((release, _)) if *release <= self.durable_zxid => {
                self.outputs.pop_front().map(|(_, o)| o)
            }
            _ => None,
        }
    }

    fn push(&mut self, out: Output) {
        self.outputs.push_back((self.last_zxid, out));
    }

    fn reply(&mut self, conn: ConnId, xid: i32, zxid: i64, err: ErrorCode, body: Response) {
        let header = ReplyHeader {
            xid,
            zxid,
            err: err.code(),
        };
        let body = if err == ErrorCode::Ok {
            body
        } else {
            Response::Empty
        };
        self.push(Output::Reply { conn, header, body });
    }

    /// Prepares and applies one txn, queueing it for the WAL and its watch events for
    /// delivery. Returns its zxid and what applying it did.
    fn commit(&mut self, session_id: i64, cxid: i32, now: Now, body: TxnBody) -> (i64, Applied) {
        self.last_zxid += 1;
        let txn = Txn {
            session_id,
            cxid,
            zxid: self.last_zxid,
            time_ms: now.wall_ms,
            body,
        };
        let mut events = Vec::new();
        let applied = apply(&mut self.tree, &mut self.watches, &txn, &mut events);
        self.after_apply_sessions(&txn, now);
        for (conn, event) in events {
            self.push(Output::Notify { conn, event });
        }
        let zxid = txn.zxid;
        if self.config.watches_at_shards {
            self.push(Output::TxnApplied { zxid });
        }
        self.txns.push_back(txn);
        (zxid, applied)
    }

    fn after_apply_sessions(&mut self, txn: &Txn, now: Now) {
        match &txn.body {
            TxnBody::CreateSession { timeout_ms }
                if self.sessions.get(txn.session_id).is_none() =>
            {
                self.sessions
                    .add(txn.session_id, *timeout_ms, now.elapsed_ms);
            }
            TxnBody::CloseSession { .. } => {
                self.sessions.remove(txn.session_id);
            }
            _ => {}
        }
    }

    /// Replays a logged txn during recovery: no watches, no outputs.
    pub fn replay(&mut self, txn: &Txn, now: Now) {
        let mut events = Vec::new();
        let mut no_watches = WatchManager::default();
        apply(&mut self.tree, &mut no_watches, txn, &mut events);
        self.after_apply_sessions(txn, now);
        if txn.session_id != 0 {
            self.sessions.observe_id(txn.session_id);
        }
        if txn.zxid > self.last_zxid {
            self.last_zxid = txn.zxid;
            self.durable_zxid = txn.zxid;
        }
    }

    fn negotiate_timeout(&self, requested: i32) -> i32 {
        requested
            .max(self.config.min_session_timeout_ms)
            .min(self.config.max_session_timeout_ms)
    }

    /// A ConnectRequest arrived on a new connection (`processConnectRequest`).
    pub fn handle_connect(
        &mut self,
        conn: ConnId,
        remote_ip: &str,
        req: &ConnectRequest,
        now: Now,
    ) {
        self.handle_connect_with(conn, remote_ip, Vec::new(), req, now);
    }

    /// A ConnectRequest on a connection that already holds ids from its transport: a TLS
    /// connection's client certificate (`x509`, and `super` for the configured super user)
    /// is authenticated during the handshake, before the ConnectRequest, as in ZooKeeper.
    pub fn handle_connect_with(
        &mut self,
        conn: ConnId,
        remote_ip: &str,
        transport_ids: Vec<Id>,
        req: &ConnectRequest,
        now: Now,
    ) {
        if req.last_zxid_seen > self.last_zxid {
            // "Refusing session request ... client must try another server": no reply.
            self.push(Output::Close { conn });
            return;
        }
        let timeout_ms = self.negotiate_timeout(req.timeout_ms);
        let mut ids = vec![Id {
            scheme: "ip".into(),
            id: remote_ip.to_string(),
        }];
        ids.extend(transport_ids);
        if self.read_only {
            self.connect_read_only(conn, ids, req, timeout_ms);
            return;
        }
        let read_only = req.read_only.map(|_| false);
        if req.session_id == 0 {
            let session_id = self.sessions.next_id();
            self.attach(conn, session_id, ids);
            let resp = new_session_response(session_id, timeout_ms, read_only);
            if self.forwarding {
                self.forward_connect(conn, session_id, resp);
                return;
            }
            self.commit(session_id, 0, now, TxnBody::CreateSession { timeout_ms });
            self.push(Output::Connected { conn, resp });
            return;
        }
        let session_id = req.session_id;
        // Any other connection holding the session is closed (CLIENT_RECONNECT), before the
        // password is checked, as ZooKeeper does.
        self.close_conns_of(session_id, Some(conn));
        let valid = self.sessions.is_live(session_id)
            && req.passwd.as_slice() == session_password(session_id).as_slice();
        if !valid {
            let resp = ConnectResponse {
                protocol_version: 0,
                timeout_ms: 0,
                session_id: 0,
                passwd: vec![0; 16],
                read_only,
            };
            self.push(Output::Connected { conn, resp });
            self.push(Output::Close { conn });
            return;
        }
        self.attach(conn, session_id, ids);
        self.sessions.set_touch_timeout(session_id, timeout_ms);
        self.sessions.touch(session_id, now.elapsed_ms);
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout_ms,
            session_id,
            passwd: req.passwd.clone(),
            read_only,
        };
        self.push(Output::Connected { conn, resp });
    }

    /// Binds a connection to its session; its auth ids so far are its address and what its
    /// transport authenticated.
    fn attach(&mut self, conn: ConnId, session_id: i64, ids: Vec<Id>) {
        self.conns.insert(
            conn,
            ConnState {
                session_id,
                auth: ids.clone(),
            },
        );
        self.push(Output::AuthIds { conn, ids });
    }

    /// Closes every connection of `session_id` except `keep`.
    fn close_conns_of(&mut self, session_id: i64, keep: Option<ConnId>) {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(c, s)| Some(**c) != keep && s.session_id == session_id)
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            self.drop_conn(conn);
            self.push(Output::Close { conn });
        }
    }

    fn drop_conn(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.watches.remove_conn(conn);
    }

    /// The connection went away; its session lives on until it expires.
    pub fn handle_disconnect(&mut self, conn: ConnId) {
        self.drop_conn(conn);
    }

    /// A request the server could not decode: UNIMPLEMENTED for an unknown opcode (then the
    /// connection closes, as in ZooKeeper), MARSHALLINGERROR for a body that does not parse.
    pub fn handle_bad_request(&mut self, conn: ConnId, header: RequestHeader, err: ErrorCode) {
        let logged = is_write_opcode(header.opcode) || header.opcode == op::DELETE_CONTAINER;
        if self.forwarding && err != ErrorCode::Unimplemented && logged {
            self.forward_failed(conn, header, err);
            return;
        }
        if self.forwarding && err != ErrorCode::Unimplemented {
            // A read: answered here, without an error txn.
            let zxid = self.last_zxid;
            self.reply(conn, header.xid, zxid, err, Response::Empty);
            return;
        }
        if err == ErrorCode::Unimplemented {
            self.reply(conn, header.xid, -1, err, Response::Empty);
            self.push(Output::Close { conn });
        } else if logged {
            // Writes are decoded in prep, so a malformed one becomes an error txn.
            let session_id = self.conns.get(&conn).map(|c| c.session_id).unwrap_or(0);
            let body = TxnBody::Error { err: err.code() };
            let (zxid, _) = self.commit(session_id, header.xid, self.last_now, body);
            self.reply(conn, header.xid, zxid, err, Response::Empty);
        } else {
            let zxid = self.last_zxid;
            self.reply(conn, header.xid, zxid, err, Response::Empty);
        }
    }

    /// A decoded request from an established connection.
    pub fn handle_request(&mut self, conn: ConnId, header: RequestHeader, req: Request, now: Now) {
        self.last_now = now;
        let Some(state) = self.conns.get(&conn) else {
            return;
        };
        let session_id = state.session_id;
        let xid = header.xid;
        if self.read_only {
            self.request_read_only(conn, session_id, header, req, now);
            return;
        }
        if !self.sessions.touch(session_id, now.elapsed_ms) {
            let zxid = self.last_zxid;
            self.reply(conn, xid, zxid, ErrorCode::SessionExpired, Response::Empty);
            return;
        }
        if self.forwarding {
            self.touched.insert(session_id);
            let write = is_write(&req) || matches!(req, Request::CloseSession);
            if let Some((header, req)) = self.forward_or_queue(conn, session_id, header, req, write)
            {
                self.serve(conn, session_id, header, req, now);
            }
            return;
        }
        if self.sync_by_read_index {
            if let Some((header, req)) = self.queue_behind_sync(conn, session_id, header, req) {
                self.serve(conn, session_id, header, req, now);
            }
            return;
        }
        self.serve(conn, session_id, header, req, now);
    }

    /// Sessions a follower saw active since the last call, for the leader's expiry.
    pub fn take_touched(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.touched).into_iter().collect()
    }

    /// Answers or prepares a request whose turn has come.
    fn serve(
        &mut self,
        conn: ConnId,
        session_id: i64,
        header: RequestHeader,
        req: Request,
        now: Now,
    ) {
        let xid = header.xid;
        match req {
            Request::Ping => {
                let zxid = self.last_zxid;
                self.reply(conn, xid::PING, zxid, ErrorCode::Ok, Response::Empty);
            }
            Request::Auth { scheme, auth, .. } => {
                self.handle_auth(conn, xid, &scheme, auth.as_deref())
            }
            // No SASL provider is configured: ZooKeeper answers OK with a null token.
            Request::Sasl { .. } => self.reply(
                conn,
                xid,
                0,
                ErrorCode::Ok,
                Response::Sasl { token: Vec::new() },
            ),
            Request::CloseSession => self.close_session(conn, session_id, xid, now),
            Request::SetWatches { watches, .. } => self.set_watches(conn, xid, &watches),
            Request::AddWatch { path, mode } => self.add_watch(conn, xid, &path, mode),
            Request::CheckWatches { path, watcher_type } => {
                self.remove_watches(conn, xid, &path, watcher_type, false)
            }
            Request::RemoveWatches { path, watcher_type } => {
                self.remove_watches(conn, xid, &path, watcher_type, true)
            }
            req if is_write(&req) => self.handle_write(conn, session_id, xid, req, now),
            req => self.handle_read(conn, xid, req),
        }
    }

    /// The reply echoes the request's xid (Java clients send -4, others an ordinary xid).
    fn handle_auth(&mut self, conn: ConnId, xid: i32, scheme: &str, auth: Option<&[u8]>) {
        let mut ids = Vec::new();
        match (scheme, auth) {
            ("digest", Some(auth)) if self.config.digest_enabled => {
                let id = crate::tree::acl::digest_id(&String::from_utf8_lossy(auth));
                if self.config.super_digest.as_deref() == Some(id.as_str()) {
                    ids.push(Id {
                        scheme: "super".into(),
                        id: String::new(),
                    });
                }
                ids.insert(
                    0,
                    Id {
                        scheme: "digest".into(),
                        id,
                    },
                );
            }
            ("ip", _) => {}
            // Unknown schemes, and digest with a null buffer (ZooKeeper's provider throws on
            // it): AUTHFAILED, and the connection closes.
            _ => {
                self.reply(conn, xid, 0, ErrorCode::AuthFailed, Response::Empty);
                self.push(Output::Close { conn });
                return;
            }
        }
        if let Some(state) = self.conns.get_mut(&conn) {
            for id in ids {
                if !state.auth.contains(&id) {
                    state.auth.push(id);
                }
            }
            let ids = state.auth.clone();
            self.push(Output::AuthIds { conn, ids });
        }
        self.reply(conn, xid, 0, ErrorCode::Ok, Response::Empty);
    }

    fn close_session(&mut self, conn: ConnId, session_id: i64, xid: i32, now: Now) {
        self.sessions.mark_closing(session_id);
        let (zxid, _) = self.commit(session_id, xid, now, close_session_txn());
        self.reply(conn, xid, zxid, ErrorCode::Ok, Response::Empty);
        self.drop_conn(conn);
        self.push(Output::Close { conn });
    }

    /// Sessions were active where the engine could not see it (reads a shard served).
    pub fn handle_touch(&mut self, session_ids: &[i64], now: Now) {
        for &id in session_ids {
            self.sessions.touch(id, now.elapsed_ms);
        }
    }

    /// Time passes: expire sessions (on the elapsed clock), reap containers and TTL nodes
    /// (aged on the wall clock, against their mtime, as ZooKeeper's ContainerManager does).
    pub fn handle_tick(&mut self, now: Now) {
        self.last_now = now;
        for session_id in self.sessions.take_expired(now.elapsed_ms) {
            self.commit(session_id, 0, now, close_session_txn());
            self.close_conns_of(session_id, None);
        }
        if now.elapsed_ms >= self.next_container_check_ms {
            let interval = self.config.container_check_interval_ms.max(1);
            self.next_container_check_ms = now.elapsed_ms + interval;
            self.reap_containers(now);
        }
    }

    /// ContainerManager: delete empty containers that once had a child, and expired TTL nodes.
    fn reap_containers(&mut self, now: Now) {
        let now_ms = now.wall_ms;
        use crate::tree::EphemeralType;
        let per_minute = self.config.container_max_per_minute.max(1);
        let budget =
            (per_minute * self.config.container_check_interval_ms / 60_000).max(1) as usize;
        let never_used = self.config.container_max_never_used_interval_ms;
        let mut candidates = Vec::new();
        for p in self.tree.containers() {
            if let Some(n) = self.tree.get(p) {
                let used = n.cversion > 0;
                let stale = never_used > 0 && now_ms - n.mtime > never_used;
                if n.children.is_empty() && (used || stale) {
                    candidates.push(p.clone());
                }
            }
        }
        for p in self.tree.ttls() {
            if let Some(n) = self.tree.get(p) {
                if let EphemeralType::Ttl(ttl) = EphemeralType::of(n.ephemeral_owner) {
                    if n.children.is_empty() && ttl != 0 && now_ms - n.mtime > ttl {
                        candidates.push(p.clone());
                    }
                }
            }
        }
        for p in candidates.into_iter().take(budget) {
            let mut view = crate::txn::prep::PrepView::new(&self.tree);
            if let Ok(body) = crate::txn::prep::prep_delete_container(&mut view, &p) {
                self.commit(0, 0, now, body);
            }
        }
    }
}

/// A closeSession txn names no paths: applying it deletes the ephemerals the session owns in
/// the tree it is applied to, which at that zxid are the same on every replica and in replay.
/// ZooKeeper writes the list into the txn, and a session with enough ephemerals (about 65 with
/// 1 MiB paths) makes a record no log can take, which then fails again at every restart.
pub(super) fn close_session_txn() -> TxnBody {
    TxnBody::CloseSession {
        paths_to_delete: Vec::new(),
    }
}

/// The ConnectResponse that gives a client a session (its password derives from the id).
fn new_session_response(
    session_id: i64,
    timeout_ms: i32,
    read_only: Option<bool>,
) -> ConnectResponse {
    ConnectResponse {
        protocol_version: 0,
        timeout_ms,
        session_id,
        passwd: session_password(session_id).to_vec(),
        read_only,
    }
}

fn is_write_opcode(opcode: i32) -> bool {
    matches!(
        opcode,
        op::CREATE
            | op::DELETE
            | op::SET_DATA
            | op::SET_ACL
            | op::CHECK
            | op::MULTI
            | op::CREATE2
            | op::RECONFIG
            | op::CREATE_CONTAINER
            | op::CREATE_TTL
    )
}

fn is_write(req: &Request) -> bool {
    matches!(
        req,
        Request::Create { .. }
            | Request::Delete { .. }
            | Request::SetData { .. }
            | Request::SetAcl { .. }
            | Request::Check { .. }
            | Request::Multi(_)
            | Request::Reconfig { .. }
    )
}

/// The opcode a request was sent with, for stats (`cons` shows the last one).
pub fn opcode_of(req: &Request) -> i32 {
    match req {
        Request::Create { opcode, .. } => *opcode,
        Request::Delete { .. } => op::DELETE,
        Request::Exists { .. } => op::EXISTS,
        Request::GetData { .. } => op::GET_DATA,
        Request::SetData { .. } => op::SET_DATA,
        Request::GetAcl { .. } => op::GET_ACL,
        Request::SetAcl { .. } => op::SET_ACL,
        Request::GetChildren {
            with_stat: false, ..
        } => op::GET_CHILDREN,
        Request::GetChildren {
            with_stat: true, ..
        } => op::GET_CHILDREN2,
        Request::Sync { .. } => op::SYNC,
        Request::Ping => op::PING,
        Request::Check { .. } => op::CHECK,
        Request::Multi(_) => op::MULTI,
        Request::MultiRead(_) => op::MULTI_READ,
        Request::Reconfig { .. } => op::RECONFIG,
        Request::CheckWatches { .. } => op::CHECK_WATCHES,
        Request::RemoveWatches { .. } => op::REMOVE_WATCHES,
        Request::Auth { .. } => op::AUTH,
        Request::SetWatches { v2: false, .. } => op::SET_WATCHES,
        Request::SetWatches { v2: true, .. } => op::SET_WATCHES2,
        Request::Sasl { .. } => op::SASL,
        Request::GetEphemerals { .. } => op::GET_EPHEMERALS,
        Request::GetAllChildrenNumber { .. } => op::GET_ALL_CHILDREN_NUMBER,
        Request::AddWatch { .. } => op::ADD_WATCH,
        Request::WhoAmI => op::WHO_AM_I,
        Request::CloseSession => op::CLOSE_SESSION,
    }
}
