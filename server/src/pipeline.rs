//! The pipeline core: owns the Engine (the authoritative tree) and the write path. It merges
//! what every shard sends, feeds the engine, group-commits the txns that produced (every txn
//! that arrived while the previous sync ran goes into the next batch), and routes the released
//! outputs back to the shards that own the connections.

use crate::config::ServerConfig;
use crate::limits::{MAX_BATCH_MESSAGES, PIPELINE_MERGE_CAPACITY};
use crate::msg::{shard_of, Item, ToPipeline, ToShard};
use crate::persist::Persist;
use crate::replica::driver::Replica;
use crate::replica::links::{LinkEvent, Links};
use crate::replica::setup::Prepared;
use crate::stats::{ConnStats, ServerStats};
use crate::status::{collect, words, Board, Inbox, Need, Reset, Snapshot, StatusRequest};
use glommio::channels::local_channel;
use glommio::channels::shared_channel::{ConnectedSender, SharedReceiver, SharedSender};
use ringkeeper_engine::proto::{xid, ErrorCode};
use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::{opcode_of, ConnId, Engine, Output};
use std::collections::{HashMap, VecDeque};
use std::os::fd::FromRawFd as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the pipeline core runs: a standalone server's engine and log, or an ensemble
/// member (whose quorum links start on the pipeline's executor).
// One value for the life of the process: boxing the standalone engine would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Start {
    Standalone { engine: Engine, persist: Persist },
    Replica(Box<Prepared>),
}

impl Start {
    pub fn engine(&self) -> &Engine {
        match self {
            Start::Standalone { engine, .. } => engine,
            Start::Replica(p) => p.member.engine(),
        }
    }
}

#[allow(clippy::large_enum_variant)] // as `Start`
enum Core {
    Standalone { engine: Engine, persist: Persist },
    Replica(Box<Replica>),
}

pub struct PipelineSetup {
    pub config: Arc<ServerConfig>,
    pub limits: Arc<crate::limits::Limits>,
    pub start: Start,
    pub from_shards: Vec<SharedReceiver<ToPipeline>>,
    pub to_shards: Vec<SharedSender<ToShard>>,
    pub started: Instant,
    pub released_zxid: Arc<std::sync::atomic::AtomicI64>,
    pub watches: Vec<crate::watches::ShardWatches>,
    pub board: Arc<Board>,
    pub status_inbox: Inbox,
}

enum In {
    Shard(ToPipeline),
    Tick,
    /// The ensemble's Raft clock (`ringkeeper.raftTickMs`).
    RaftTick,
    /// From the quorum links.
    Peer(LinkEvent),
    /// From the AdminServer (see `status::board`).
    Status(StatusRequest),
}

/// Pipeline state, owned by the one task that runs the loop.
pub struct Pipeline {
    config: Arc<ServerConfig>,
    limits: Arc<crate::limits::Limits>,
    core: Core,
    conns: HashMap<ConnId, ConnStats>,
    stats: ServerStats,
    started: Instant,
    shards: Vec<ConnectedSender<ToShard>>,
    pending: Vec<Vec<crate::msg::ToShard>>,
    /// Txns made durable and not yet sent to the shards (each goes out at its
    /// `Output::TxnApplied`), and the last zxid made durable.
    committed: VecDeque<Arc<Txn>>,
    last_committed: Option<i64>,
    /// Shared with the shards: see `ShardState::committed`.
    released_zxid: Arc<std::sync::atomic::AtomicI64>,
    /// Every shard's watches, for the status snapshot.
    watches: Vec<crate::watches::ShardWatches>,
    board: Arc<Board>,
}

/// Pause between snapshot chunks copied while no message is waiting.
const SNAPSHOT_IDLE_PAUSE: Duration = Duration::from_micros(50);

pub async fn run(setup: PipelineSetup) {
    let (merge_tx, merge_rx) = local_channel::new_bounded::<In>(PIPELINE_MERGE_CAPACITY);
    let merge_tx = std::rc::Rc::new(merge_tx);
    for rx in setup.from_shards {
        let tx = merge_tx.clone();
        glommio::spawn_local(async move {
            let rx = rx.connect().await;
            while let Some(m) = rx.recv().await {
                if tx.send(In::Shard(m)).await.is_err() {
                    break;
                }
            }
        })
        .detach();
    }
    let tick = Duration::from_millis((setup.config.tick_time_ms as u64 / 4).clamp(10, 250));
    spawn_ticker(tick, merge_tx.clone(), || In::Tick);
    // The AdminServer's requests come from plain threads, each followed by a byte on the
    // inbox socket: wait for those bytes on this executor's ring, then take the requests.
    let status_tx = merge_tx.clone();
    let inbox = setup.status_inbox;
    glommio::spawn_local(async move {
        use futures_lite::AsyncReadExt;
        // SAFETY: the descriptor comes from `Board::new`, which hands it over once, and is
        // owned by this stream from here on.
        let mut wake = unsafe {
            glommio::net::UnixStream::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(inbox.wake))
        };
        let mut buf = [0u8; 64];
        while let Ok(1..) = wake.read(&mut buf).await {
            while let Ok(req) = inbox.requests.try_recv() {
                if status_tx.send(In::Status(req)).await.is_err() {
                    return;
                }
            }
        }
    })
    .detach();
    let core = match setup.start {
        Start::Standalone { engine, persist } => Core::Standalone { engine, persist },
        Start::Replica(prepared) => {
            let p = *prepared;
            let (links, inbox) = match Links::start(p.my_id, p.listen, &p.peers) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("ringkeeper: {e}");
                    std::process::exit(2);
                }
            };
            let peer_tx = merge_tx.clone();
            glommio::spawn_local(async move {
                while let Some(event) = inbox.recv().await {
                    if peer_tx.send(In::Peer(event)).await.is_err() {
                        break;
                    }
                }
            })
            .detach();
            let raft_tick = Duration::from_millis(p.timing.raft_tick_ms);
            spawn_ticker(raft_tick, merge_tx.clone(), || In::RaftTick);
            Core::Replica(Box::new(Replica::new(
                p.member,
                p.store,
                links,
                &p.timing,
                p.snapshots,
            )))
        }
    };
    let mut shards = Vec::new();
    for s in setup.to_shards {
        shards.push(s.connect().await);
    }
    let n = shards.len();
    let mut p = Pipeline {
        config: setup.config,
        limits: setup.limits,
        core,
        conns: HashMap::new(),
        stats: ServerStats::new(n),
        started: setup.started,
        shards,
        pending: (0..n).map(|_| Vec::new()).collect(),
        committed: VecDeque::new(),
        last_committed: None,
        released_zxid: setup.released_zxid,
        watches: setup.watches,
        board: setup.board,
    };
    loop {
        // While a snapshot is being copied, do a chunk whenever no message is waiting
        // instead of sleeping on the channel.
        let first = if p.snapshot_in_progress() {
            match futures_lite::future::poll_once(merge_rx.recv()).await {
                Some(Some(m)) => Some(m),
                Some(None) => break,
                None => None,
            }
        } else {
            match merge_rx.recv().await {
                Some(m) => Some(m),
                None => break,
            }
        };
        let Some(first) = first else {
            p.snapshot_step();
            // Sleep, not yield: a task that only yields keeps the executor from ever going
            // idle, and glommio then polls for messages from other cores only at its
            // preemption timer (100 ms), which stalled every write during a snapshot.
            glommio::timer::sleep(SNAPSHOT_IDLE_PAUSE).await;
            continue;
        };
        // One reading of the clocks for the batch: its messages arrived within its span.
        let now = crate::clock::now();
        p.handle(first, now);
        let mut handled = 1;
        while handled < MAX_BATCH_MESSAGES {
            match futures_lite::future::poll_once(merge_rx.recv()).await {
                Some(Some(m)) => p.handle(m, now),
                _ => break,
            }
            handled += 1;
        }
        if let Core::Replica(r) = &mut p.core {
            r.flush();
            // What the batch committed is on a quorum already: release it before this
            // member's own sync, not after.
            p.route();
            p.flush().await;
        }
        p.persist().await;
        p.route();
        p.flush().await;
        p.snapshot_step();
    }
}

impl Pipeline {
    fn engine(&self) -> &Engine {
        match &self.core {
            Core::Standalone { engine, .. } => engine,
            Core::Replica(r) => r.engine(),
        }
    }

    fn engine_mut(&mut self) -> &mut Engine {
        match &mut self.core {
            Core::Standalone { engine, .. } => engine,
            Core::Replica(r) => r.engine_mut(),
        }
    }

    fn snapshot_in_progress(&self) -> bool {
        match &self.core {
            Core::Standalone { persist, .. } => persist.snapshot_in_progress(),
            Core::Replica(r) => r.snapshot_in_progress(),
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        match &mut self.core {
            Core::Standalone { engine, .. } => engine.poll_output(),
            Core::Replica(r) => r.poll_output(),
        }
    }

    fn snapshot_step(&mut self) {
        match &mut self.core {
            Core::Standalone { engine, persist } => persist.snapshot_step(engine),
            Core::Replica(r) => r.snapshot_step(),
        }
    }

    fn handle(&mut self, m: In, now: ringkeeper_engine::Now) {
        match m {
            In::Tick => {
                if let Core::Standalone { engine, .. } = &mut self.core {
                    engine.handle_tick(now);
                }
                let snap = self.status(Need::WATCH_COUNT, Reset::Nothing, None);
                self.board.publish(snap);
            }
            In::RaftTick => {
                if let Core::Replica(r) = &mut self.core {
                    r.tick(now);
                }
            }
            In::Peer(event) => {
                if let Core::Replica(r) = &mut self.core {
                    match event {
                        LinkEvent::Message(env) => r.step(env),
                        LinkEvent::Closed(peer) => r.peer_unreachable(peer),
                        LinkEvent::SnapshotChunk(chunk) => r.snapshot_chunk(chunk),
                    }
                }
            }
            In::Status(req) => {
                let snap = self.status(req.need, req.reset, None);
                // The asker may have given up (timed out): nothing to do then.
                let _ = req.answer.try_send(snap);
            }
            In::Shard(ToPipeline::Connect {
                conn,
                remote,
                req,
                ids,
            }) => {
                if let Core::Replica(r) = &self.core {
                    if !r.accepts_clients() {
                        // "ZooKeeperServer not running": closed without an answer.
                        self.queue(shard_of(conn), Item::Out(Output::Close { conn }));
                        return;
                    }
                }
                let limit = self.limits.max_client_cnxns as usize;
                let same_ip = self
                    .conns
                    .values()
                    .filter(|c| c.remote.ip() == remote.ip())
                    .count();
                if limit > 0 && same_ip >= limit {
                    tracing::warn!(%remote, limit, "too many connections from this address");
                    self.stats.connection_rejected += 1;
                    self.queue(shard_of(conn), Item::Out(Output::Close { conn }));
                    return;
                }
                self.conns.insert(conn, ConnStats::new(remote, now.wall_ms));
                self.stats.shard_connections[shard_of(conn)] += 1;
                self.engine_mut().handle_connect_with(
                    conn,
                    &remote.ip().to_string(),
                    ids,
                    &req,
                    now,
                );
            }
            In::Shard(ToPipeline::Request {
                conn,
                header,
                req,
                received,
                bytes,
            }) => {
                self.stats.packets_received += 1;
                self.stats.bytes_received += bytes as u64;
                self.stats.shard_requests[shard_of(conn)] += 1;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.received += 1;
                    c.last_opcode = Some(opcode_of(&req));
                    if header.xid >= 0 {
                        c.last_cxid = header.xid as i64;
                    }
                    c.pending.push_back((header.xid, received));
                }
                self.engine_mut().handle_request(conn, header, req, now);
            }
            In::Shard(ToPipeline::BadRequest { conn, header, err }) => {
                self.stats.packets_received += 1;
                self.engine_mut().handle_bad_request(conn, header, err);
            }
            In::Shard(ToPipeline::Touch {
                sessions,
                reads,
                notified,
            }) => {
                for (conn, n) in notified {
                    self.stats.packets_sent += n;
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.sent += n;
                    }
                }
                self.engine_mut().handle_touch(&sessions, now);
                for (conn, n) in reads {
                    self.stats.packets_received += n;
                    self.stats.shard_requests[shard_of(conn)] += n;
                    self.stats.packets_sent += n;
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.received += n;
                        c.sent += n;
                    }
                }
            }
            In::Shard(ToPipeline::Disconnect { conn }) => {
                self.forget_conn(conn);
                self.engine_mut().handle_disconnect(conn);
            }
            In::Shard(ToPipeline::FourLetterWord { conn, remote, cmd }) => {
                let msg = if !words::is_allowed(cmd, &self.config.four_letter_whitelist) {
                    tracing::debug!(%remote, cmd, "four-letter word not in whitelist");
                    let text = words::not_whitelisted(cmd);
                    ToShard::Text { conn, text }
                } else if cmd == words::REQUEST_LEADERSHIP {
                    let text = self.request_leadership(remote);
                    ToShard::Text { conn, text }
                } else {
                    let reset = match cmd {
                        "srst" => Reset::ServerStats,
                        "crst" => Reset::ConnectionStats,
                        _ => Reset::Nothing,
                    };
                    let snap = self.status(words::need_of(cmd), reset, Some(remote));
                    ToShard::Status {
                        conn,
                        cmd,
                        snap: Box::new(snap),
                    }
                };
                self.pending[shard_of(conn)].push(msg);
            }
        }
    }

    /// `rqld`: an ensemble member asks its leader to hand leadership over. A standalone
    /// server leads already and answers as ClickHouse Keeper's does: sent (its
    /// KeeperServer::requestLeader is `isLeader() || request_leadership()`).
    fn request_leadership(&mut self, remote: std::net::SocketAddr) -> String {
        let sent = match &mut self.core {
            Core::Replica(r) => r.request_leadership(),
            Core::Standalone { .. } => true,
        };
        tracing::info!(%remote, sent, "leadership requested (rqld)");
        words::leadership_request_answer(sent).to_string()
    }

    fn forget_conn(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            self.stats.shard_connections[shard_of(conn)] -= 1;
        }
    }

    /// The figures `need` asks for, then the reset asked for (the answer shows the figures
    /// from before it, as ZooKeeper's do).
    fn status(
        &mut self,
        need: Need,
        reset: Reset,
        asking: Option<std::net::SocketAddr>,
    ) -> Snapshot {
        let quorum = match &self.core {
            Core::Replica(r) => Some(r.quorum_status()),
            Core::Standalone { .. } => None,
        };
        let src = collect::Sources {
            engine: self.engine(),
            conns: &self.conns,
            stats: &self.stats,
            watches: &self.watches,
            started: self.started,
            quorum: quorum.as_ref(),
        };
        let mut snap = collect::collect(&src, need, asking);
        snap.trace_mask = self.board.trace_mask();
        match reset {
            Reset::Nothing => {}
            Reset::ServerStats => self.stats.reset(),
            Reset::ConnectionStats => self.conns.values_mut().for_each(|c| c.reset()),
        }
        snap
    }

    /// Makes the batch's writes durable: a standalone server's txns, an ensemble member's
    /// Raft writes. A storage error is fatal: nothing more may be acknowledged. Messages that
    /// arrive while the sync is awaited wait in the merge channel and form the next batch.
    async fn persist(&mut self) {
        let Core::Replica(r) = &mut self.core else {
            return self.persist_standalone().await;
        };
        let started = Instant::now();
        let tasks = match r.persist().await {
            Ok(n) => n,
            Err(e) => storage_failed(&e),
        };
        self.stats.snap_count = r.snapshots_taken();
        if tasks > 0 && self.record_sync(started, tasks) {
            if let Core::Replica(r) = &self.core {
                warn_slow_sync(started, r.log_size());
            }
        }
    }

    /// Appends what the engine prepared and makes it durable in one batch.
    async fn persist_standalone(&mut self) {
        let Core::Standalone { engine, persist } = &mut self.core else {
            unreachable!("called for a standalone server only");
        };
        let mut count = 0u64;
        let mut last = None;
        while let Some(txn) = engine.poll_txn() {
            if let Err(e) = persist.append(&txn).await {
                storage_failed(&e);
            }
            count += 1;
            last = Some(txn.zxid);
            self.committed.push_back(Arc::new(txn));
        }
        if count == 0 {
            return;
        }
        let started = Instant::now();
        match persist.commit().await {
            Ok(zxid) => engine.handle_persisted(zxid),
            Err(e) => storage_failed(&e),
        }
        persist.maybe_start_snapshot(engine);
        self.last_committed = last;
        self.stats.snap_count = persist.snapshots_taken;
        if self.record_sync(started, count) {
            let Core::Standalone { persist, .. } = &self.core else {
                unreachable!("a standalone server");
            };
            warn_slow_sync(started, persist.log_size());
        }
    }

    /// One group commit's figures: its sync time and how many records it carried (txns;
    /// Raft writes for an ensemble member). True when it was slower than
    /// fsync.warningthresholdms.
    fn record_sync(&mut self, started: Instant, count: u64) -> bool {
        let us = started.elapsed().as_micros() as u64;
        self.stats.fsync.record(us);
        self.stats.fsync_hist.record(us);
        self.stats.batch_hist.record(count);
        self.stats.fsync_batches += 1;
        self.stats.fsync_batch_txns += count;
        self.stats.last_batch_txns = count;
        self.stats.max_batch_txns = self.stats.max_batch_txns.max(count);
        let slow = us / 1000 > self.config.fsync_warning_threshold_ms;
        if slow {
            self.stats.fsync_threshold_exceeded += 1;
        }
        slow
    }

    fn queue(&mut self, shard: usize, item: Item) {
        match self.pending[shard].last_mut() {
            Some(ToShard::Stream(v)) => v.push(item),
            _ => self.pending[shard].push(ToShard::Stream(vec![item])),
        }
    }

    /// Every shard applies the txn at this point of its stream. The engine reports every txn
    /// it prepared as applied, in zxid order, so it is the oldest one made durable.
    fn queue_txn(&mut self, zxid: i64) {
        let txn = self.committed.pop_front();
        let txn = match txn {
            Some(t) if t.zxid == zxid => t,
            other => panic!(
                "txn {zxid:#x} applied, but the oldest durable txn not yet sent is {:?}",
                other.map(|t| t.zxid)
            ),
        };
        for shard in 0..self.pending.len() {
            self.queue(shard, Item::Apply(txn.clone()));
        }
    }

    /// A snapshot from the leader replaced the tree: every shard's replica starts again from
    /// it, here in its stream.
    fn reset_replicas(&mut self, zxid: i64) {
        let Core::Replica(r) = &mut self.core else {
            unreachable!("only an ensemble member installs snapshots");
        };
        let tree =
            crate::msg::ReplicaTree(Arc::new(r.take_reset_tree().expect("a reset names a tree")));
        for shard in 0..self.pending.len() {
            self.queue(shard, Item::Reset(tree.clone(), zxid));
        }
    }

    /// Moves released outputs to their shards' queues and keeps per-connection counters.
    fn route(&mut self) {
        if let Core::Replica(r) = &mut self.core {
            // The txns whose `TxnApplied` comes among the outputs.
            while let Some(txn) = r.poll_applied_txn() {
                self.last_committed = Some(txn.zxid);
                self.committed.push_back(txn);
            }
        }
        let now = crate::clock::wall_ms();
        while let Some(o) = self.poll_output() {
            let Some(conn) = crate::msg::output_conn(&o) else {
                match o {
                    Output::TxnApplied { zxid } => self.queue_txn(zxid),
                    Output::ReplicaReset { zxid } => self.reset_replicas(zxid),
                    _ => {}
                }
                continue;
            };
            if let Some(c) = self.conns.get_mut(&conn) {
                // (xid, error) of an answer to a request, to match it with its arrival.
                let answer = match &o {
                    Output::Reply { header, .. } => Some((header.xid, header.err, header.zxid)),
                    Output::Watch {
                        reply: Some((xid, zxid)),
                        ..
                    } => Some((*xid, 0, *zxid)),
                    _ => None,
                };
                if let Some((xid, err, zxid)) = answer {
                    c.sent += 1;
                    self.stats.packets_sent += 1;
                    if err == ErrorCode::AuthFailed.code() {
                        self.stats.auth_failed += 1;
                    }
                    if zxid > 0 {
                        c.last_zxid = zxid;
                    }
                    if xid != xid::NOTIFICATION {
                        if let Some(pos) = c.pending.iter().position(|(x, _)| *x == xid) {
                            let (_, t) = c.pending.remove(pos).unwrap_or((0, Instant::now()));
                            let us = t.elapsed().as_micros() as u64;
                            c.latency.record(us);
                            c.last_latency_us = us;
                            c.last_response_ms = now;
                            self.stats.latency.record(us);
                        }
                    }
                }
                if matches!(o, Output::Notify { .. } | Output::Connected { .. }) {
                    c.sent += 1;
                    self.stats.packets_sent += 1;
                }
            }
            if matches!(o, Output::Close { .. }) {
                self.forget_conn(conn);
            }
            self.queue(shard_of(conn), Item::Out(o));
        }
    }

    async fn flush(&mut self) {
        if let Some(zxid) = self.last_committed.take() {
            self.released_zxid
                .store(zxid, std::sync::atomic::Ordering::Release);
        }
        for (i, queue) in self.pending.iter_mut().enumerate() {
            for msg in queue.drain(..) {
                if self.shards[i].send(msg).await.is_err() {
                    tracing::error!(shard = i, "shard channel closed");
                }
            }
        }
    }
}

/// Sends `tick()` into the merge channel every `period` until the pipeline is gone.
fn spawn_ticker(
    period: Duration,
    tx: std::rc::Rc<local_channel::LocalSender<In>>,
    tick: impl Fn() -> In + 'static,
) {
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(period).await;
            if tx.send(tick()).await.is_err() {
                break;
            }
        }
    })
    .detach();
}

/// ZooKeeper's warning for a slow sync. The log's size is read (a stat of the file) only
/// here: on every batch it cost the single-session write a quarter of its throughput.
fn warn_slow_sync(started: Instant, log_size: u64) {
    tracing::warn!(
        "fsync-ing the write ahead log took {}ms which will adversely effect operation \
         latency. File size is {log_size} bytes. See the ZooKeeper troubleshooting guide",
        started.elapsed().as_millis()
    );
}

pub fn storage_failed(e: &dyn std::fmt::Display) -> ! {
    tracing::error!("storage failed, refusing further writes and exiting: {e}");
    eprintln!("ringkeeper: storage failed: {e}");
    std::process::exit(3);
}
