//! Shared harness for engine scenario tests: one `Engine`, a virtual clock, simulated clients.
//!
//! The harness plays the server around the sans-IO engine, as quinn's test `Pair` plays the
//! network around a `Connection`. Every engine call goes through `Sim`, which counts it
//! against a step bound so a runaway loop fails the test instead of hanging it. `persist()`
//! plays the WAL: it drains `poll_txn`, checks that zxids arrive strictly increasing and
//! without gaps, keeps the txns (for replay tests) and reports them durable. `pump()` drains
//! `poll_output` into a per-connection inbox and checks, for every reply, that the zxid it
//! carries is already durable. With `hold_durability` set, requests are not persisted
//! automatically, so a test can look at what the engine releases before the WAL catches up.
#![allow(dead_code)]

use ringkeeper_engine::proto::{
    create_mode, op, Acl, ConnectRequest, ConnectResponse, CreateRequest, ErrorCode, MultiOp,
    MultiResult, ReplyHeader, Request, RequestHeader, Response, Stat, WatcherEvent,
};
use ringkeeper_engine::tree::{DataTree, EphemeralType};
use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::{ConnId, Engine, EngineConfig, Now, Output};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Wall-clock start of every simulation: a plausible epoch time, so session ids look real.
pub const START_MS: i64 = 1_700_000_000_000;

/// Engine calls (inputs and polls) one scenario may make before it is declared runaway.
pub const STEP_BOUND: u64 = 200_000;

/// A simulated client: one connection and the session it holds.
#[derive(Clone, Debug)]
pub struct Client {
    pub conn: ConnId,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout_ms: i32,
    next_xid: i32,
}

impl Client {
    /// The xid the next request will carry.
    pub fn peek_xid(&self) -> i32 {
        self.next_xid
    }
}

pub struct Sim {
    pub engine: Engine,
    /// The virtual monotonic clock (session expiry).
    pub now_ms: i64,
    /// How far the virtual wall clock has been stepped away from `now_ms`.
    pub wall_step_ms: i64,
    /// When set, requests are not persisted automatically; call `persist()` yourself.
    pub hold_durability: bool,
    /// Every txn the engine handed to the "WAL", in order.
    pub wal: Vec<Txn>,
    next_conn: ConnId,
    inbox: HashMap<ConnId, VecDeque<Output>>,
    /// Outputs that are not frames for a client (e.g. state for the server's own use), in
    /// release order.
    pub side_outputs: Vec<Output>,
    steps: u64,
}

impl Sim {
    pub fn new(config: EngineConfig) -> Sim {
        Sim {
            engine: Engine::new(config, Now::at(START_MS)),
            now_ms: START_MS,
            wall_step_ms: 0,
            hold_durability: false,
            wal: Vec::new(),
            next_conn: 1,
            inbox: HashMap::new(),
            side_outputs: Vec::new(),
            steps: 0,
        }
    }

    /// Default config with TTL nodes enabled and a short container check interval.
    pub fn with_defaults() -> Sim {
        Sim::new(test_config())
    }

    fn step(&mut self) {
        self.steps += 1;
        assert!(
            self.steps <= STEP_BOUND,
            "step bound {STEP_BOUND} exceeded: runaway scenario"
        );
    }

    // -----------------------------------------------------------------------------------------
    // Durability and output plumbing

    /// Plays the WAL: appends every pending txn, then reports them durable.
    pub fn persist(&mut self) {
        let mut last = None;
        while let Some(txn) = self.engine.poll_txn() {
            self.step();
            let prev = self.wal.last().map(|t| t.zxid).unwrap_or(0);
            assert!(
                txn.zxid > prev,
                "zxid {:#x} not above previous {:#x}",
                txn.zxid,
                prev
            );
            if prev != 0 {
                assert_eq!(txn.zxid, prev + 1, "gap in zxids");
            }
            last = Some(txn.zxid);
            self.wal.push(txn);
        }
        if let Some(z) = last {
            self.step();
            self.engine.handle_persisted(z);
        }
    }

    /// Drains released outputs into the per-connection inboxes.
    pub fn pump(&mut self) {
        loop {
            self.step();
            let Some(out) = self.engine.poll_output() else {
                break;
            };
            if let Output::Reply { header, .. } = &out {
                assert!(
                    header.zxid <= self.engine.durable_zxid(),
                    "reply {:?} released before its zxid is durable (durable {:#x})",
                    header,
                    self.engine.durable_zxid()
                );
            }
            match frame_conn(&out) {
                Some(conn) => self.inbox.entry(conn).or_default().push_back(out),
                None => self.side_outputs.push(out),
            }
        }
    }

    /// Persist (unless held) and pump.
    pub fn settle(&mut self) {
        if !self.hold_durability {
            self.persist();
        }
        self.pump();
    }

    /// Everything released to `conn` so far, in order.
    pub fn take(&mut self, conn: ConnId) -> Vec<Output> {
        self.inbox
            .get_mut(&conn)
            .map(|q| q.drain(..).collect())
            .unwrap_or_default()
    }

    /// Notifications released to `conn` so far (other outputs stay queued).
    pub fn take_events(&mut self, conn: ConnId) -> Vec<WatcherEvent> {
        let Some(q) = self.inbox.get_mut(&conn) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        q.retain(|o| match o {
            Output::Notify { event, .. } => {
                events.push(event.clone());
                false
            }
            _ => true,
        });
        events
    }

    /// Is anything at all waiting in any inbox?
    pub fn inbox_is_empty(&self) -> bool {
        self.inbox.values().all(|q| q.is_empty())
    }

    // -----------------------------------------------------------------------------------------
    // Time

    /// Both virtual clocks.
    pub fn now(&self) -> Now {
        Now {
            wall_ms: self.now_ms + self.wall_step_ms,
            elapsed_ms: self.now_ms,
        }
    }

    /// Steps the virtual wall clock by `ms` (an NTP step, an operator's `date -s`): the
    /// monotonic clock does not move.
    pub fn step_wall_clock(&mut self, ms: i64) {
        self.wall_step_ms += ms;
    }

    /// Moves the virtual clock forward by `ms`, ticking once per `tick_ms` step (and at the end).
    pub fn advance(&mut self, ms: i64) {
        let tick = self.engine.config().tick_time_ms.max(1);
        let target = self.now_ms + ms;
        while self.now_ms < target {
            self.step();
            self.now_ms = (self.now_ms + tick).min(target);
            self.engine.handle_tick(self.now());
            self.settle();
        }
    }

    // -----------------------------------------------------------------------------------------
    // Connections

    fn alloc_conn(&mut self) -> ConnId {
        let c = self.next_conn;
        self.next_conn += 1;
        c
    }

    /// Raw connect: returns the new connection id and every output released to it.
    pub fn connect_raw(&mut self, req: &ConnectRequest) -> (ConnId, Vec<Output>) {
        let conn = self.alloc_conn();
        self.step();
        self.engine
            .handle_connect(conn, "127.0.0.1", req, self.now());
        self.settle();
        (conn, self.take(conn))
    }

    /// A new session with the requested timeout.
    pub fn connect_timeout(&mut self, timeout_ms: i32) -> Client {
        let req = ConnectRequest::new_session(timeout_ms);
        let (conn, outs) = self.connect_raw(&req);
        let resp = expect_connected(&outs);
        assert_ne!(resp.session_id, 0, "new session got id 0");
        Client {
            conn,
            session_id: resp.session_id,
            passwd: resp.passwd.clone(),
            timeout_ms: resp.timeout_ms,
            next_xid: 1,
        }
    }

    /// A new session with a 30 s timeout.
    pub fn connect(&mut self) -> Client {
        self.connect_timeout(30_000)
    }

    /// Reconnects `old`'s session on a new connection; returns the outputs of the new
    /// connection (the caller inspects the old one's inbox itself).
    pub fn reconnect(&mut self, old: &Client) -> (Client, Vec<Output>) {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.engine.last_zxid(),
            timeout_ms: old.timeout_ms,
            session_id: old.session_id,
            passwd: old.passwd.clone(),
            read_only: Some(false),
        };
        let (conn, outs) = self.connect_raw(&req);
        let client = Client {
            conn,
            session_id: old.session_id,
            passwd: old.passwd.clone(),
            timeout_ms: old.timeout_ms,
            next_xid: old.next_xid,
        };
        (client, outs)
    }

    pub fn disconnect(&mut self, c: &Client) {
        self.step();
        self.engine.handle_disconnect(c.conn);
        self.settle();
    }

    // -----------------------------------------------------------------------------------------
    // Requests

    /// Sends one request with the client's next xid and the opcode it travels with. Returns
    /// the xid; outputs stay in the inbox.
    pub fn send(&mut self, c: &mut Client, req: Request) -> i32 {
        let xid = match req {
            Request::Ping => ringkeeper_engine::proto::xid::PING,
            Request::Auth { .. } => ringkeeper_engine::proto::xid::AUTH,
            _ => {
                let x = c.next_xid;
                c.next_xid += 1;
                x
            }
        };
        let header = RequestHeader {
            xid,
            opcode: ringkeeper_engine::opcode_of(&req),
        };
        self.step();
        self.engine.handle_request(c.conn, header, req, self.now());
        self.settle();
        xid
    }

    /// A request the server could not decode (`handle_bad_request`), with the client's next
    /// xid. Returns the xid; outputs stay in the inbox.
    pub fn send_bad(&mut self, c: &mut Client, opcode: i32, err: ErrorCode) -> i32 {
        let xid = c.next_xid;
        c.next_xid += 1;
        self.step();
        self.engine
            .handle_bad_request(c.conn, RequestHeader { xid, opcode }, err);
        self.settle();
        xid
    }

    /// Sends a request with an explicit xid (the client's own counter is left alone).
    pub fn send_with_xid(&mut self, c: &Client, xid: i32, req: Request) {
        let header = RequestHeader {
            xid,
            opcode: ringkeeper_engine::opcode_of(&req),
        };
        self.step();
        self.engine.handle_request(c.conn, header, req, self.now());
        self.settle();
    }

    /// Sends a request and returns every output released to this client, in order
    /// (notifications included).
    pub fn request(&mut self, c: &mut Client, req: Request) -> Vec<Output> {
        self.send(c, req);
        self.take(c.conn)
    }

    /// Sends a request and returns its reply; other outputs before it (notifications) are
    /// discarded. Panics if the reply is not released.
    pub fn call(&mut self, c: &mut Client, req: Request) -> (ReplyHeader, Response) {
        let xid = self.send(c, req);
        let outs = self.take(c.conn);
        find_reply(&outs, xid).unwrap_or_else(|| panic!("no reply to xid {xid}: {outs:?}"))
    }

    /// Like `call`, but maps the reply to `Ok(body)` or `Err(code)`.
    pub fn call_result(&mut self, c: &mut Client, req: Request) -> Result<Response, i32> {
        let (h, body) = self.call(c, req);
        if h.err == 0 {
            Ok(body)
        } else {
            Err(h.err)
        }
    }

    // -----------------------------------------------------------------------------------------
    // Typed request helpers

    pub fn create(
        &mut self,
        c: &mut Client,
        path: &str,
        data: &[u8],
        flags: i32,
    ) -> Result<String, i32> {
        let req = create_req(op::CREATE, path, data, flags, None, Acl::open_unsafe());
        match self.call_result(c, req)? {
            Response::Create { path } => Ok(path),
            other => panic!("create answered {other:?}"),
        }
    }

    /// create2 / createContainer / createTTL: the created path and its Stat.
    pub fn create2(
        &mut self,
        c: &mut Client,
        opcode: i32,
        path: &str,
        flags: i32,
        ttl: Option<i64>,
    ) -> Result<(String, Stat), i32> {
        let req = create_req(opcode, path, b"", flags, ttl, Acl::open_unsafe());
        match self.call_result(c, req)? {
            Response::Create2 { path, stat } => Ok((path, stat)),
            other => panic!("create2 answered {other:?}"),
        }
    }

    pub fn delete(&mut self, c: &mut Client, path: &str, version: i32) -> Result<(), i32> {
        let req = Request::Delete {
            path: path.into(),
            version,
        };
        self.call_result(c, req).map(|_| ())
    }

    pub fn set_data(
        &mut self,
        c: &mut Client,
        path: &str,
        data: &[u8],
        version: i32,
    ) -> Result<Stat, i32> {
        let req = Request::SetData {
            path: path.into(),
            data: data.to_vec().into(),
            version,
        };
        match self.call_result(c, req)? {
            Response::Stat(s) => Ok(s),
            other => panic!("setData answered {other:?}"),
        }
    }

    pub fn get_data(
        &mut self,
        c: &mut Client,
        path: &str,
        watch: bool,
    ) -> Result<(Vec<u8>, Stat), i32> {
        let req = Request::GetData {
            path: path.into(),
            watch,
        };
        match self.call_result(c, req)? {
            Response::GetData { data, stat } => Ok((data.to_vec(), stat)),
            other => panic!("getData answered {other:?}"),
        }
    }

    pub fn exists(&mut self, c: &mut Client, path: &str, watch: bool) -> Result<Stat, i32> {
        let req = Request::Exists {
            path: path.into(),
            watch,
        };
        match self.call_result(c, req)? {
            Response::Stat(s) => Ok(s),
            other => panic!("exists answered {other:?}"),
        }
    }

    /// getChildren2: sorted children and the parent's Stat.
    pub fn children(
        &mut self,
        c: &mut Client,
        path: &str,
        watch: bool,
    ) -> Result<(Vec<String>, Stat), i32> {
        let req = Request::GetChildren {
            path: path.into(),
            watch,
            with_stat: true,
        };
        match self.call_result(c, req)? {
            Response::GetChildren2 { children, stat } => {
                let mut children = children.to_vec();
                children.sort();
                Ok((children, stat))
            }
            other => panic!("getChildren2 answered {other:?}"),
        }
    }

    pub fn multi(&mut self, c: &mut Client, ops: Vec<MultiOp>) -> (ReplyHeader, Vec<MultiResult>) {
        let (h, body) = self.call(c, Request::Multi(ops));
        match body {
            Response::Multi(r) => (h, r),
            Response::Empty => (h, Vec::new()),
            other => panic!("multi answered {other:?}"),
        }
    }

    pub fn add_auth_digest(&mut self, c: &mut Client, user_pass: &str) -> ReplyHeader {
        let (h, _) = self.call(
            c,
            Request::Auth {
                auth_type: 0,
                scheme: "digest".into(),
                auth: Some(user_pass.as_bytes().to_vec()),
            },
        );
        h
    }
}

// ---------------------------------------------------------------------------------------------
// Free helpers

/// The engine configuration scenarios use unless they need something else: TTL nodes on,
/// containers checked every second.
pub fn test_config() -> EngineConfig {
    EngineConfig {
        extended_types_enabled: true,
        container_check_interval_ms: 1_000,
        ..EngineConfig::default()
    }
}

pub fn create_req(
    opcode: i32,
    path: &str,
    data: &[u8],
    flags: i32,
    ttl: Option<i64>,
    acl: Vec<Acl>,
) -> Request {
    Request::Create {
        opcode,
        req: CreateRequest {
            path: path.into(),
            data: data.to_vec().into(),
            acl,
            flags,
            ttl,
        },
    }
}

pub fn multi_create(path: &str, data: &[u8]) -> MultiOp {
    MultiOp::Create {
        opcode: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: data.to_vec().into(),
            acl: Acl::open_unsafe(),
            flags: create_mode::PERSISTENT,
            ttl: None,
        },
    }
}

/// The connection a client-facing output (a frame or a close) is for; None for outputs the
/// server keeps to itself.
#[allow(unreachable_patterns)] // tolerate output kinds added later
pub fn frame_conn(o: &Output) -> Option<ConnId> {
    match o {
        Output::Connected { conn, .. }
        | Output::Reply { conn, .. }
        | Output::Notify { conn, .. }
        | Output::Close { conn } => Some(*conn),
        _ => None,
    }
}

pub fn expect_connected(outs: &[Output]) -> ConnectResponse {
    match outs.first() {
        Some(Output::Connected { resp, .. }) => resp.clone(),
        other => panic!("expected Connected first, got {other:?} (all: {outs:?})"),
    }
}

pub fn find_reply(outs: &[Output], xid: i32) -> Option<(ReplyHeader, Response)> {
    let mut found = outs.iter().filter_map(|o| match o {
        Output::Reply { header, body, .. } if header.xid == xid => Some((*header, body.clone())),
        _ => None,
    });
    let first = found.next();
    assert!(found.next().is_none(), "two replies to xid {xid}: {outs:?}");
    first
}

/// The notifications in `outs`, as (type, path).
pub fn events_of(outs: &[Output]) -> Vec<(i32, String)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Notify { event, .. } => Some((event.event_type, event.path.clone())),
            _ => None,
        })
        .collect()
}

/// A compact trace of `outs`: "N<type>:<path>", "R<xid>:<err>", "C", "X" (close).
#[allow(unreachable_patterns)] // tolerate output kinds added later
pub fn trace(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .map(|o| match o {
            Output::Connected { .. } => "C".to_string(),
            Output::Reply { header, .. } => format!("R{}:{}", header.xid, header.err),
            Output::Notify { event, .. } => format!("N{}:{}", event.event_type, event.path),
            Output::Close { .. } => "X".to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

pub fn code(e: ErrorCode) -> i32 {
    e.code()
}

// ---------------------------------------------------------------------------------------------
// Tree comparison and invariants

/// Everything a node holds, as a client or a snapshot would see it, for comparisons.
#[derive(Debug, PartialEq, Eq)]
pub struct NodeImage {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    pub stat: Stat,
    pub stored_cversion: i32,
    pub stored_owner: i64,
    pub children: Vec<String>,
}

pub fn tree_image(tree: &DataTree) -> BTreeMap<String, NodeImage> {
    tree.iter()
        .map(|(p, n)| {
            (
                p.to_string(),
                NodeImage {
                    data: n.data.to_vec(),
                    acl: tree.acl_of(n).to_vec(),
                    stat: n.stat(),
                    stored_cversion: n.cversion,
                    stored_owner: n.ephemeral_owner,
                    children: tree.children(p).unwrap_or_default().to_vec(),
                },
            )
        })
        .collect()
}

/// Asserts two trees are equal node by node, Stat fields included, and that their ephemeral,
/// container and TTL indexes agree. Reports the first differing node.
pub fn assert_trees_equal(a: &DataTree, b: &DataTree, ctx: &str) {
    let ia = tree_image(a);
    let ib = tree_image(b);
    let pa: Vec<&String> = ia.keys().collect();
    let pb: Vec<&String> = ib.keys().collect();
    assert_eq!(pa, pb, "{ctx}: trees hold different paths");
    for (p, na) in &ia {
        assert_eq!(Some(na), ib.get(p), "{ctx}: node {p} differs");
    }
    let eph = |t: &DataTree| {
        t.ephemerals()
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(k, v)| (*k, v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(eph(a), eph(b), "{ctx}: ephemeral indexes differ");
    assert_eq!(
        a.containers(),
        b.containers(),
        "{ctx}: container indexes differ"
    );
    assert_eq!(a.ttls(), b.ttls(), "{ctx}: ttl indexes differ");
}

/// Invariants that must hold after every step: numChildren matches the child set, every
/// child exists with this node as parent, and every ephemeral owner is a live session.
pub fn check_invariants(engine: &Engine) {
    let tree = engine.tree();
    for (path, node) in tree.iter() {
        let path: &str = path;
        if path.is_empty() {
            continue; // the snapshot alias of "/", if a tree keeps one
        }
        assert_eq!(
            node.stat().num_children as usize,
            node.children.len(),
            "numChildren of {path}"
        );
        for child in tree.children(path).unwrap_or_default().iter() {
            let full = if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            };
            assert!(tree.get(&full).is_some(), "{full} listed but missing");
        }
        if path != "/" {
            let parent = match path.rfind('/') {
                Some(0) => "/",
                Some(i) => &path[..i],
                None => panic!("path without '/': {path:?}"),
            };
            let name = &path[path.rfind('/').unwrap_or(0) + 1..];
            assert!(tree.get(parent).is_some(), "{path}: parent missing");
            assert!(
                tree.has_child(parent, name),
                "{path} not listed by its parent"
            );
        }
        if let EphemeralType::Normal(owner) = EphemeralType::of(node.ephemeral_owner) {
            assert!(
                engine.sessions().get(owner).is_some(),
                "{path} owned by dead session {owner:#x}"
            );
        }
    }
}
