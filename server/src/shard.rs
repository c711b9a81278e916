//! A connection shard: one glommio executor that accepts on the client port (SO_REUSEPORT,
//! so every shard binds it and the kernel spreads connections) and owns its connections.
//!
//! Each shard keeps a replica of the data tree and its connections' watches. The pipeline
//! sends each shard one ordered stream: its connections' outputs with every committed txn in
//! its place among them. The shard applies each txn to its replica there, firing its own
//! connections' watches, so a write's notifications go out before its reply, and a watch a
//! read armed is registered against exactly the tree that read saw. A tree read (getData, exists, getChildren, getACL, ...) from a
//! connection with nothing outstanding at the pipeline is answered here, from the replica,
//! with no cross-core hop. A read behind a forwarded request of the same connection goes to
//! the pipeline instead, so it waits behind that request as ZooKeeper makes it wait.

use crate::conn::{encode, read_loop, write_loop, ConnCmd, PipelineTx, ReadEnd, Unsent};
use crate::limits::{Limits, SESSIONLESS_CNXN_TIMEOUT};
use crate::msg::{conn_id, output_conn, Item, ToPipeline, ToShard};
use crate::status::{host, words, Board, Snapshot};
use crate::tls::TlsContext;
use crate::watches::{lock, watched_elsewhere, ShardWatches};
use glommio::channels::local_channel::{self, LocalSender};
use glommio::channels::shared_channel::{SharedReceiver, SharedSender};
use glommio::net::{TcpListener, TcpStream};
use ringkeeper_engine::proto::{ErrorCode, Id, ReplyHeader, Request, RequestHeader, Response};
use ringkeeper_engine::read::{is_tree_read, multi_read_reply_bound, read_tree};
use ringkeeper_engine::tree::DataTree;
use ringkeeper_engine::txn::apply;
use ringkeeper_engine::watch::ops::{perform, WatchOp};
use ringkeeper_engine::watch::STANDARD;
use ringkeeper_engine::{ConnId, Output};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One connection as its shard sees it.
struct ConnEntry {
    tx: LocalSender<ConnCmd>,
    /// Bytes queued for the writer and not yet written.
    unsent: Unsent,
    /// The socket, to cut off a connection the server closes for breaking a limit.
    fd: i32,
    /// Set once the server cut the connection off: nothing more is queued for it.
    cut_off: bool,
    /// Requests handed to the pipeline and not answered yet.
    forwarded: u32,
    /// Reads waiting in `ShardState::waiting` for the replica to catch up.
    waiting: u32,
    /// Set once the pipeline accepted the session.
    session_id: i64,
    auth: Vec<Id>,
}

/// Everything a shard's tasks share (one thread; never borrowed across an await).
pub struct ShardState {
    conns: HashMap<ConnId, ConnEntry>,
    replica: DataTree,
    replica_zxid: i64,
    /// The zxid of the last batch the pipeline released to any shard. A reply for it may
    /// already be on its way to a client on another shard, so a read here must not be
    /// answered from an older replica: it waits for this shard's copy of that batch.
    committed: Arc<AtomicI64>,
    /// Reads waiting for the replica to reach their zxid, in arrival order.
    waiting: VecDeque<WaitingRead>,
    /// This shard's connections' watches, and every shard's (this one's at `index`).
    watches: ShardWatches,
    all_watches: Vec<ShardWatches>,
    index: usize,
    skip_acl: bool,
    touched: HashSet<i64>,
    reads: HashMap<ConnId, u64>,
    notified: HashMap<ConnId, u64>,
    /// Requests of this shard's connections now at the pipeline, and this shard's share of
    /// `globalOutstandingLimit`.
    outstanding: u32,
    outstanding_limit: u32,
    limits: Arc<Limits>,
    board: Arc<Board>,
}

/// About how many bytes an output encodes to, so the buffer it goes into is allocated once
/// (a getData reply of 100 bytes would otherwise grow its buffer six times).
fn encoded_len_hint(o: &Output) -> usize {
    const FRAME_AND_STAT: usize = 128;
    match o {
        Output::Reply {
            body: Response::GetData { data, .. },
            ..
        } => FRAME_AND_STAT + data.len(),
        Output::Reply { .. } | Output::Connected { .. } => FRAME_AND_STAT,
        Output::Notify { event, .. } => 32 + event.path.len(),
        _ => 0,
    }
}

/// Outputs gathered for one connection, written together.
#[derive(Default)]
struct Batcher {
    conn: Option<ConnId>,
    batch: Vec<Output>,
}

struct WaitingRead {
    conn: ConnId,
    header: RequestHeader,
    req: Request,
    zxid: i64,
}

pub type Shard = Rc<RefCell<ShardState>>;

pub struct ShardSetup {
    pub index: usize,
    /// The plain client port (`clientPort`), if any.
    pub listen: Option<SocketAddr>,
    /// The secure client port (`secureClientPort`) and its TLS configuration, if any.
    pub secure: Option<(SocketAddr, Arc<TlsContext>)>,
    pub limits: Arc<Limits>,
    /// Client connections open on every shard, against `Limits::max_cnxns`.
    pub open_conns: Arc<AtomicU64>,
    pub skip_acl: bool,
    pub replica: DataTree,
    pub replica_zxid: i64,
    pub committed: Arc<AtomicI64>,
    pub touch_interval: Duration,
    pub outstanding_limit: u32,
    pub to_pipeline: SharedSender<ToPipeline>,
    pub from_pipeline: SharedReceiver<ToShard>,
    /// Told once the listener is bound (or failed to bind).
    pub ready: std::sync::mpsc::Sender<Result<(), String>>,
    /// Every shard's watches, indexed by shard.
    pub watches: Vec<ShardWatches>,
    pub board: Arc<Board>,
}

/// What the reader should do with a decoded request.
pub enum Serve {
    /// Answered from the replica (or queued to be, once it catches up).
    Local,
    Forward,
}

impl ShardState {
    /// Answers a tree read locally when the connection has an established session and
    /// nothing outstanding at the pipeline; otherwise counts it as forwarded.
    pub fn serve(&mut self, conn: ConnId, header: RequestHeader, req: &Request) -> Serve {
        let Some(entry) = self.conns.get_mut(&conn) else {
            return Serve::Forward;
        };
        if !is_tree_read(req) || entry.forwarded > 0 || entry.session_id == 0 {
            entry.forwarded += 1;
            self.outstanding += 1;
            return Serve::Forward;
        }
        let committed = self.committed.load(Ordering::Acquire);
        if entry.waiting > 0 || committed > self.replica_zxid {
            entry.waiting += 1;
            let req = req.clone();
            self.waiting.push_back(WaitingRead {
                conn,
                header,
                req,
                zxid: committed,
            });
            return Serve::Local;
        }
        self.answer(conn, header, req);
        Serve::Local
    }

    /// Answers a read from the replica, arming the watch it asks for.
    fn answer(&mut self, conn: ConnId, header: RequestHeader, req: &Request) {
        let Some(entry) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Request::MultiRead(ops) = req {
            if multi_read_reply_bound(&self.replica, ops) > self.limits.max_reply_bytes {
                tracing::debug!(conn, "multiRead reply above maxReplyBytes; closing");
                self.cut_off(conn);
                return;
            }
        }
        let outcome = read_tree(&self.replica, &entry.auth, self.skip_acl, req);
        let (err, body) = match outcome.result {
            Ok(body) => (ErrorCode::Ok, body),
            Err(e) => (e, Response::Empty),
        };
        let header = ReplyHeader {
            xid: header.xid,
            zxid: self.replica_zxid,
            err: err.code(),
        };
        self.touched.insert(entry.session_id);
        *self.reads.entry(conn).or_default() += 1;
        if let Some(w) = outcome.watch {
            lock(&self.watches).add(w.table, &w.path, conn, STANDARD);
        }
        self.send(conn, &[Output::Reply { conn, header, body }]);
    }

    /// Encodes outputs for a connection's writer, within the connection's byte bounds: a
    /// reply above `max_reply_bytes`, or any output for a connection that already has
    /// `max_unsent_bytes` waiting (it does not read), cuts the connection off instead.
    fn send(&mut self, conn: ConnId, outs: &[Output]) {
        let Some(e) = self.conns.get(&conn) else {
            return;
        };
        if e.cut_off {
            return;
        }
        let queued = e.unsent.get();
        let mut bytes = Vec::with_capacity(outs.iter().map(encoded_len_hint).sum());
        let mut close = false;
        for o in outs {
            let before = bytes.len();
            close = encode(o, &mut bytes);
            if bytes.len() - before > self.limits.max_reply_bytes {
                tracing::debug!(
                    conn,
                    len = bytes.len() - before,
                    "reply above maxReplyBytes"
                );
                return self.cut_off(conn);
            }
            if queued + before > self.limits.max_unsent_bytes {
                tracing::debug!(conn, queued, "slow consumer: closing");
                return self.cut_off(conn);
            }
            if close {
                break;
            }
        }
        let Some(e) = self.conns.get(&conn) else {
            return;
        };
        let len = bytes.len();
        if e.tx.try_send(ConnCmd::Frames { bytes, close }).is_ok() {
            e.unsent.add(len);
        }
    }

    /// Closes a connection that broke a limit, dropping what it has not read: its socket is
    /// shut down, so its writer stops and its reader ends and tells the pipeline.
    fn cut_off(&mut self, conn: ConnId) {
        let Some(e) = self.conns.get_mut(&conn) else {
            return;
        };
        if !e.cut_off {
            e.cut_off = true;
            // SAFETY: the connection's task owns the socket until its reader ends, which
            // needs this shard (this thread) and so cannot happen during this call; shutdown
            // only changes the socket's state.
            unsafe {
                libc::shutdown(e.fd, libc::SHUT_RDWR);
            }
        }
    }

    /// Serves the waiting reads the replica has caught up with.
    fn serve_waiting(&mut self) {
        while self
            .waiting
            .front()
            .is_some_and(|w| w.zxid <= self.replica_zxid)
        {
            let Some(w) = self.waiting.pop_front() else {
                break;
            };
            if let Some(e) = self.conns.get_mut(&w.conn) {
                e.waiting -= 1;
            }
            self.answer(w.conn, w.header, &w.req);
        }
    }

    /// A request that went to the pipeline without `serve` (a bad one) still gets a reply.
    pub fn count_forwarded(&mut self, conn: ConnId) {
        if let Some(e) = self.conns.get_mut(&conn) {
            e.forwarded += 1;
            self.outstanding += 1;
        }
    }

    /// Forgets a connection, and its requests still at the pipeline.
    fn remove_conn(&mut self, conn: ConnId) -> Option<ConnEntry> {
        let e = self.conns.remove(&conn)?;
        lock(&self.watches).remove_conn(conn);
        self.notified.remove(&conn);
        self.outstanding = self.outstanding.saturating_sub(e.forwarded);
        Some(e)
    }

    /// Should this connection's reader pause before taking another request? While more
    /// than `max_queued_reply_bytes` of its output waits to be written, or the shard has its
    /// share of globalOutstandingLimit requests at the pipeline.
    pub fn must_wait(&self, conn: ConnId) -> bool {
        let backlog = self
            .conns
            .get(&conn)
            .is_some_and(|e| e.unsent.get() > self.limits.max_queued_reply_bytes);
        backlog || self.outstanding >= self.outstanding_limit
    }

    /// Writes a four-letter word's answer; the writer then closes the connection.
    pub fn deliver_text(&mut self, conn: ConnId, text: String) {
        if let Some(e) = self.remove_conn(conn) {
            let len = text.len();
            if e.tx.try_send(ConnCmd::Text(text)).is_ok() {
                e.unsent.add(len);
            }
        }
    }

    /// A four-letter word this shard answers without the pipeline (see
    /// `status::words::answered_by_shard`): the whitelist's verdict, or the figures to render
    /// (isro's serving and read-only state as of the pipeline's last tick).
    pub fn local_status(&self, cmd: &str) -> Result<Snapshot, String> {
        if !words::is_allowed(cmd, &self.board.config.four_letter_whitelist) {
            return Err(words::not_whitelisted(cmd));
        }
        let published = self.board.published();
        Ok(Snapshot {
            trace_mask: self.board.trace_mask(),
            running: published.running,
            read_only: published.read_only,
            ..Snapshot::default()
        })
    }

    fn route(&mut self, msg: ToShard) {
        match msg {
            ToShard::Text { conn, text } => self.deliver_text(conn, text),
            ToShard::Status { conn, cmd, snap } => {
                // A word that prints no host figures (the dispatcher sends the others to
                // `answer_status`).
                let text = crate::status::fourlw::render(cmd, &snap);
                self.deliver_text(conn, text);
            }
            ToShard::Stream(items) => {
                let mut out = Batcher::default();
                for item in items {
                    match item {
                        Item::Out(Output::Watch { conn, op, reply }) => {
                            self.watch_op(&mut out, conn, &op, reply);
                        }
                        Item::Out(o) => self.emit(&mut out, o),
                        Item::Reset(tree, zxid) => {
                            self.replica = (*tree.0).clone();
                            self.replica_zxid = zxid;
                        }
                        Item::Apply(txn) => {
                            // Commit order: a replica applies each txn once, in zxid order.
                            assert!(
                                txn.zxid > self.replica_zxid,
                                "shard {} applied txn {:#x} after {:#x}",
                                self.index,
                                txn.zxid,
                                self.replica_zxid
                            );
                            let mut events = Vec::new();
                            apply(
                                &mut self.replica,
                                &mut lock(&self.watches),
                                &txn,
                                &mut events,
                            );
                            self.replica_zxid = txn.zxid;
                            for (conn, event) in events {
                                *self.notified.entry(conn).or_default() += 1;
                                self.emit(&mut out, Output::Notify { conn, event });
                            }
                        }
                    }
                }
                self.flush(&mut out);
                self.serve_waiting();
            }
        }
    }

    /// Performs a watch request the pipeline handed over, at this point of the stream (the
    /// replica is exactly where the engine's tree was), and answers it.
    fn watch_op(
        &mut self,
        out: &mut Batcher,
        conn: ConnId,
        op: &WatchOp,
        reply: Option<(i32, i64)>,
    ) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        // checkWatches looks at other shards' connections too: ask them before taking this
        // shard's lock, so no two watch locks are ever held together.
        let elsewhere = match op {
            WatchOp::Remove {
                path,
                tables,
                remove: false,
            } => tables
                .iter()
                .any(|&t| watched_elsewhere(&self.all_watches, self.index, t, path)),
            _ => false,
        };
        let done = perform(
            &self.replica,
            &mut lock(&self.watches),
            conn,
            op,
            &|_, _| elsewhere,
        );
        for event in done.events {
            *self.notified.entry(conn).or_default() += 1;
            self.emit(out, Output::Notify { conn, event });
        }
        if let Some((xid, zxid)) = reply {
            let header = ReplyHeader {
                xid,
                zxid,
                err: done.err.code(),
            };
            let body = done.body;
            self.emit(out, Output::Reply { conn, header, body });
        }
    }

    /// Adds an output to the batch for its connection; consecutive outputs for the same
    /// connection go out as one write.
    fn emit(&mut self, out: &mut Batcher, o: Output) {
        let Some(c) = output_conn(&o) else {
            return;
        };
        if out.conn != Some(c) {
            self.flush(out);
            out.conn = Some(c);
        }
        self.track(c, &o);
        let is_close = matches!(o, Output::Close { .. });
        if !matches!(o, Output::AuthIds { .. }) {
            out.batch.push(o);
        }
        if is_close {
            self.flush(out);
        }
    }

    /// Keeps the connection's view of its session up to date as outputs go by.
    fn track(&mut self, conn: ConnId, o: &Output) {
        let Some(e) = self.conns.get_mut(&conn) else {
            return;
        };
        match o {
            Output::Connected { resp, .. } => {
                e.forwarded = e.forwarded.saturating_sub(1);
                self.outstanding = self.outstanding.saturating_sub(1);
                e.session_id = resp.session_id;
            }
            Output::Reply { .. } => {
                e.forwarded = e.forwarded.saturating_sub(1);
                self.outstanding = self.outstanding.saturating_sub(1);
            }
            Output::AuthIds { ids, .. } => e.auth = ids.clone(),
            Output::Notify { .. }
            | Output::Close { .. }
            | Output::Watch { .. }
            | Output::TxnApplied { .. }
            | Output::ReplicaReset { .. } => {}
        }
    }

    fn flush(&mut self, out: &mut Batcher) {
        let Some(conn) = out.conn else { return };
        if out.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut out.batch);
        let closing = matches!(batch.last(), Some(Output::Close { .. }));
        self.send(conn, &batch);
        if closing {
            self.remove_conn(conn);
        }
    }

    fn take_touches(&mut self) -> Option<ToPipeline> {
        if self.touched.is_empty() && self.reads.is_empty() && self.notified.is_empty() {
            return None;
        }
        Some(ToPipeline::Touch {
            sessions: self.touched.drain().collect(),
            reads: self.reads.drain().collect(),
            notified: self.notified.drain().collect(),
        })
    }
}

/// Adds the host figures a four-letter word prints (read on the executor's blocking-thread
/// pool, not on this core's task queue), renders the answer and hands it to the writer.
pub async fn answer_status(shard: Shard, conn: ConnId, cmd: &'static str, mut snap: Snapshot) {
    if host::wants(cmd) != (false, false, false) {
        let config = shard.borrow().board.config.clone();
        snap = glommio::executor()
            .spawn_blocking(move || {
                host::fill(cmd, &mut snap, &config);
                snap
            })
            .await;
    }
    let text = crate::status::fourlw::render(cmd, &snap);
    shard.borrow_mut().deliver_text(conn, text);
}

pub async fn run(setup: ShardSetup) {
    // Connect the pipeline-to-shard channel first: the pipeline's main task connects those
    // in shard order before anything else, and only then lets its per-shard forwarders
    // connect the other direction. Connecting in the other order could leave each side
    // waiting for the other (a start-up hang seen about once in 50 starts).
    let rx = setup.from_pipeline.connect().await;
    let tx: PipelineTx = Rc::new(setup.to_pipeline.connect().await);
    let shard: Shard = Rc::new(RefCell::new(ShardState {
        conns: HashMap::new(),
        replica: setup.replica,
        replica_zxid: setup.replica_zxid,
        committed: setup.committed,
        waiting: VecDeque::new(),
        watches: setup.watches[setup.index].clone(),
        all_watches: setup.watches.clone(),
        index: setup.index,
        skip_acl: setup.skip_acl,
        touched: HashSet::new(),
        reads: HashMap::new(),
        notified: HashMap::new(),
        outstanding: 0,
        outstanding_limit: setup.outstanding_limit.max(1),
        limits: setup.limits.clone(),
        board: setup.board.clone(),
    }));
    let dispatch = shard.clone();
    glommio::spawn_local(async move {
        while let Some(msg) = rx.recv().await {
            match msg {
                // Host figures are read on the blocking-thread pool: not in this loop.
                ToShard::Status { conn, cmd, snap }
                    if host::wants(cmd) != (false, false, false) =>
                {
                    glommio::spawn_local(answer_status(dispatch.clone(), conn, cmd, *snap))
                        .detach();
                }
                msg => dispatch.borrow_mut().route(msg),
            }
        }
    })
    .detach();
    // Session touches from locally served reads reach the session tracker a few times per
    // tick, well inside any session timeout.
    let (toucher, touch_tx) = (shard.clone(), tx.clone());
    let every = setup.touch_interval;
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(every).await;
            let msg = toucher.borrow_mut().take_touches();
            if let Some(msg) = msg {
                if touch_tx.send(msg).await.is_err() {
                    break;
                }
            }
        }
    })
    .detach();

    let bind =
        |addr: SocketAddr| TcpListener::bind(addr).map_err(|e| format!("cannot bind {addr}: {e}"));
    let plain = setup.listen.map(bind).transpose();
    let secure = setup
        .secure
        .as_ref()
        .map(|(addr, ctx)| bind(*addr).map(|l| (l, ctx.clone())))
        .transpose();
    let (plain, secure) = match (plain, secure) {
        (Ok(p), Ok(s)) => {
            let _ = setup.ready.send(Ok(()));
            (p, s)
        }
        (Err(e), _) | (_, Err(e)) => {
            let _ = setup.ready.send(Err(e));
            return;
        }
    };
    let acceptor = Rc::new(Acceptor {
        index: setup.index,
        next: Cell::new(1),
        limits: setup.limits.clone(),
        open_conns: setup.open_conns.clone(),
        tx,
        shard,
    });
    if let Some((listener, ctx)) = secure {
        glommio::spawn_local(acceptor.clone().serve_tls(listener, ctx)).detach();
    }
    match plain {
        Some(listener) => acceptor.serve_plain(listener).await,
        None => futures_lite::future::pending::<()>().await,
    }
}

/// Accepts connections on a shard's listeners and starts their tasks.
struct Acceptor {
    index: usize,
    next: Cell<u64>,
    limits: Arc<Limits>,
    /// Client connections open on every shard, against `Limits::max_cnxns`.
    open_conns: Arc<AtomicU64>,
    tx: PipelineTx,
    shard: Shard,
}

/// A connection's half-made state, between accept and its tasks.
struct Accepted {
    conn: ConnId,
    remote: SocketAddr,
    fd: i32,
}

impl Acceptor {
    /// The next connection from `listener`, within maxCnxns (checked on accept for all
    /// shards, as ZooKeeper's connection factory does).
    async fn accept(&self, listener: &TcpListener) -> (TcpStream, Accepted) {
        loop {
            let stream = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(remote) = stream.peer_addr() else {
                continue;
            };
            let open = self.open_conns.fetch_add(1, Ordering::AcqRel) + 1;
            if open > self.limits.max_cnxns {
                self.open_conns.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!(%remote, limit = self.limits.max_cnxns, "too many connections");
                continue;
            }
            let conn = conn_id(self.index, self.next.get());
            self.next.set(self.next.get() + 1);
            let fd = stream.as_raw_fd();
            return (stream, Accepted { conn, remote, fd });
        }
    }

    /// Registers the connection with the shard and runs its reader and writer over `stream`
    /// until it closes. `ids`: what the transport authenticated.
    async fn run_conn<S>(&self, stream: S, a: Accepted, ids: Vec<Id>)
    where
        S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + 'static,
    {
        let Accepted { conn, remote, fd } = a;
        // Bounded in bytes, not messages: see `ShardState::send`.
        let (ctx, crx) = local_channel::new_unbounded();
        let unsent = Unsent::default();
        let entry = ConnEntry {
            tx: ctx,
            unsent: unsent.clone(),
            fd,
            cut_off: false,
            forwarded: 0,
            waiting: 0,
            session_id: 0,
            auth: Vec::new(),
        };
        self.shard.borrow_mut().conns.insert(conn, entry);
        let (r, w) = futures_lite::io::split(stream);
        let writer = glommio::spawn_local(write_loop(w, crx, fd, unsent));
        // After a four-letter word the writer still has the answer to send; it removes
        // the connection itself. Otherwise dropping the sender lets the writer drain.
        let end = read_loop(
            r,
            conn,
            remote,
            &self.limits,
            self.tx.clone(),
            &self.shard,
            ids,
        )
        .await;
        if let ReadEnd::Closed = end {
            self.shard.borrow_mut().remove_conn(conn);
        }
        writer.await;
    }

    async fn serve_plain(self: Rc<Self>, listener: TcpListener) {
        loop {
            let (stream, a) = self.accept(&listener).await;
            let me = self.clone();
            glommio::spawn_local(async move {
                me.run_conn(stream, a, Vec::new()).await;
                me.open_conns.fetch_sub(1, Ordering::AcqRel);
            })
            .detach();
        }
    }

    /// The secure port: each connection's TLS handshake runs in its own task, bounded by the
    /// sessionless-connection timeout; then the connection runs as a plain one does.
    async fn serve_tls(self: Rc<Self>, listener: TcpListener, tls: Arc<TlsContext>) {
        loop {
            let (stream, a) = self.accept(&listener).await;
            let me = self.clone();
            let acceptor = tls.acceptor();
            let tls = tls.clone();
            glommio::spawn_local(async move {
                let remote = a.remote;
                let handshake = glommio::timer::timeout(SESSIONLESS_CNXN_TIMEOUT, async {
                    Ok(acceptor.accept(stream).await)
                })
                .await;
                match handshake {
                    Ok(Ok(stream)) => {
                        let ids = tls.client_ids(stream.get_ref().1.peer_certificates());
                        me.run_conn(stream, a, ids).await;
                    }
                    Ok(Err(e)) => tracing::info!(%remote, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::info!(%remote, "TLS handshake timed out"),
                }
                me.open_conns.fetch_sub(1, Ordering::AcqRel);
            })
            .detach();
        }
    }
}
