//! Quorum links: TCP between ensemble members, on the pipeline core's executor.
//!
//! Each server listens on its own `server.N` line's quorumPort and dials every peer's
//! quorumPort; a link carries frames one way, from the dialer (see `wire.rs`). One-way links
//! keep each side simple (a writer task per peer, a reader task per accepted connection) and
//! let a test harness put a fault-injecting proxy on any directed link.
//!
//! Raft tolerates lost, duplicated and reordered messages, so a link never blocks the
//! pipeline: a message for a peer whose queue is full, or whose link is down, is dropped and
//! counted. A forwarded write lost that way is answered by the follower's stall check
//! (`Member::check_forward_stall`), which closes its connection.

use super::wire;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use glommio::net::{TcpListener, TcpStream};
use ringkeeper_engine::replica::Envelope;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

/// Frames waiting for one peer's link. Raft's own window (`max_inflight_msgs`) keeps the
/// leader's appends far below this; heartbeats and votes are small.
pub const PEER_SEND_QUEUE: usize = 4096;
/// Bytes of queued frames written to a socket in one write.
const MAX_WRITE_BYTES: usize = 4 << 20;
/// Messages decoded from all links and not yet taken by the pipeline.
pub const PEER_INBOX_CAPACITY: usize = 4096;
/// Bytes of a snapshot file per chunk frame.
const SNAPSHOT_CHUNK_BYTES: usize = 256 << 10;
/// Frames queued for a peer before a snapshot being streamed to it waits: the file goes out
/// as the link drains, never all into memory, and Raft's own frames are not held up long.
const SNAPSHOT_QUEUE_AHEAD: usize = 16;
/// Read buffer per accepted link (grows to the largest frame seen).
const READ_CHUNK: usize = 64 << 10;
const REDIAL_MIN: Duration = Duration::from_millis(10);
const REDIAL_MAX: Duration = Duration::from_millis(500);

/// What the links deliver to the pipeline.
#[derive(Debug)]
pub enum LinkEvent {
    Message(Envelope),
    /// A piece of a snapshot file from a peer (see `wire::SnapshotChunk`).
    SnapshotChunk(wire::SnapshotChunk),
    /// A peer's link to this server closed: it may have died (see
    /// `Member::peer_unreachable`).
    Closed(u64),
}

/// The sending side of every link.
pub struct Links {
    my_id: u64,
    queues: HashMap<u64, Rc<LocalSender<Vec<u8>>>>,
    connected: Rc<HashMap<u64, Cell<bool>>>,
    /// Peers a snapshot is being streamed to (one at a time each).
    streaming: Rc<RefCell<BTreeSet<u64>>>,
}

impl Links {
    /// Binds `listen` and starts a dialer per peer. What arrives goes to the returned
    /// receiver, in arrival order per link.
    pub fn start(
        my_id: u64,
        listen: SocketAddr,
        peers: &[(u64, SocketAddr)],
    ) -> Result<(Links, LocalReceiver<LinkEvent>), String> {
        let listener = TcpListener::bind(listen)
            .map_err(|e| format!("cannot bind the quorum port {listen}: {e}"))?;
        let (inbox_tx, inbox_rx) = local_channel::new_bounded(PEER_INBOX_CAPACITY);
        let known: Rc<Vec<u64>> = Rc::new(peers.iter().map(|(id, _)| *id).collect());
        glommio::spawn_local(accept_loop(listener, my_id, known, Rc::new(inbox_tx))).detach();
        let connected: Rc<HashMap<u64, Cell<bool>>> = Rc::new(
            peers
                .iter()
                .map(|(id, _)| (*id, Cell::new(false)))
                .collect(),
        );
        let mut queues = HashMap::new();
        for &(id, addr) in peers {
            let (tx, rx) = local_channel::new_bounded(PEER_SEND_QUEUE);
            queues.insert(id, Rc::new(tx));
            glommio::spawn_local(dial_loop(my_id, id, addr, rx, connected.clone())).detach();
        }
        Ok((
            Links {
                my_id,
                queues,
                connected,
                streaming: Rc::default(),
            },
            inbox_rx,
        ))
    }

    /// Queues a message for its peer; drops it when the peer's queue is full.
    pub fn send(&mut self, env: &Envelope) {
        debug_assert_eq!(env.from, self.my_id);
        let Some(queue) = self.queues.get(&env.to) else {
            tracing::debug!(peer = env.to, "no link to this peer: message dropped");
            return;
        };
        let mut frame = Vec::new();
        wire::encode_frame(&env.body, &mut frame);
        if queue.try_send(frame).is_err() {
            tracing::debug!(peer = env.to, "peer queue full: message dropped");
        }
    }

    /// Streams the snapshot file at `path` to the MsgSnapshot's peer in chunks, then the
    /// message. The file is read as the link drains; anything that goes wrong drops the
    /// transfer, and the leader sends again once it gives up waiting (`Member`).
    pub fn send_snapshot(&mut self, env: Envelope, index: u64, path: std::path::PathBuf) {
        let Some(queue) = self.queues.get(&env.to).cloned() else {
            return;
        };
        // A second stream would interleave its chunks with the first one's.
        if !self.streaming.borrow_mut().insert(env.to) {
            return;
        }
        let streaming = self.streaming.clone();
        glommio::spawn_local(async move {
            if let Err(e) = stream_snapshot(&queue, &env, index, &path).await {
                tracing::warn!(peer = env.to, index, error = %e, "snapshot not sent");
            }
            streaming.borrow_mut().remove(&env.to);
        })
        .detach();
    }

    /// Peers a snapshot is being streamed to now.
    pub fn streaming(&self) -> Vec<u64> {
        self.streaming.borrow().iter().copied().collect()
    }

    /// Whether the link to `peer` is up (its last dial succeeded and no write failed since).
    pub fn connected(&self, peer: u64) -> bool {
        self.connected.get(&peer).is_some_and(Cell::get)
    }
}

/// Reads the file through the executor's ring (a read never blocks the pipeline core's
/// writes) as the link drains.
async fn stream_snapshot(
    queue: &LocalSender<Vec<u8>>,
    env: &Envelope,
    index: u64,
    path: &std::path::Path,
) -> Result<(), String> {
    let err = |e: glommio::GlommioError<()>| format!("{}: {e}", path.display());
    let file = glommio::io::BufferedFile::open(path).await.map_err(err)?;
    let total = file.file_size().await.map_err(err)?;
    let started = std::time::Instant::now();
    let mut offset = 0u64;
    while offset < total {
        while queue.len() >= SNAPSHOT_QUEUE_AHEAD {
            glommio::timer::sleep(Duration::from_millis(1)).await;
        }
        let want = (total - offset).min(SNAPSHOT_CHUNK_BYTES as u64) as usize;
        let piece = file.read_at(offset, want).await.map_err(err)?;
        if piece.is_empty() {
            return Err(format!("{}: ends at {offset} of {total}", path.display()));
        }
        let mut frame = Vec::with_capacity(piece.len() + 32);
        wire::encode_snapshot_chunk(index, total, offset, &piece, &mut frame);
        queue
            .send(frame)
            .await
            .map_err(|_| "link closed".to_string())?;
        offset += piece.len() as u64;
    }
    let _ = file.close().await;
    let mut frame = Vec::new();
    wire::encode_frame(&env.body, &mut frame);
    queue
        .send(frame)
        .await
        .map_err(|_| "link closed".to_string())?;
    tracing::info!(
        peer = env.to,
        index,
        bytes = total,
        ms = started.elapsed().as_millis() as u64,
        "snapshot sent"
    );
    Ok(())
}

async fn dial_loop(
    my_id: u64,
    peer: u64,
    addr: SocketAddr,
    queue: LocalReceiver<Vec<u8>>,
    connected: Rc<HashMap<u64, Cell<bool>>>,
) {
    let up = |v: bool| {
        if let Some(c) = connected.get(&peer) {
            c.set(v);
        }
    };
    let mut pause = REDIAL_MIN;
    let mut out = Vec::with_capacity(READ_CHUNK);
    loop {
        let mut stream = match TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                tracing::trace!(peer, %addr, error = %e, "cannot reach peer");
                // Frames queued for a peer that is down are stale by the time it is back.
                while let Some(Some(_)) = futures_lite::future::poll_once(queue.recv()).await {}
                glommio::timer::sleep(pause).await;
                pause = (pause * 2).min(REDIAL_MAX);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if stream
            .write_all(&wire::encode_handshake(my_id))
            .await
            .is_err()
        {
            continue;
        }
        tracing::info!(peer, %addr, "quorum link up");
        up(true);
        pause = REDIAL_MIN;
        loop {
            let Some(first) = queue.recv().await else {
                return;
            };
            out.clear();
            out.extend_from_slice(&first);
            while out.len() < MAX_WRITE_BYTES {
                match futures_lite::future::poll_once(queue.recv()).await {
                    Some(Some(more)) => out.extend_from_slice(&more),
                    _ => break,
                }
            }
            if let Err(e) = stream.write_all(&out).await {
                tracing::info!(peer, %addr, error = %e, "quorum link down");
                break;
            }
        }
        up(false);
    }
}

async fn accept_loop(
    listener: TcpListener,
    my_id: u64,
    known: Rc<Vec<u64>>,
    inbox: Rc<LocalSender<LinkEvent>>,
) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                glommio::spawn_local(read_link(stream, my_id, known.clone(), inbox.clone()))
                    .detach();
            }
            Err(e) => {
                tracing::warn!(error = %e, "quorum port accept failed");
                glommio::timer::sleep(REDIAL_MIN).await;
            }
        }
    }
}

async fn read_link(
    mut stream: TcpStream,
    my_id: u64,
    known: Rc<Vec<u64>>,
    inbox: Rc<LocalSender<LinkEvent>>,
) {
    let remote = stream.peer_addr().ok();
    let mut hello = [0u8; wire::HANDSHAKE_LEN];
    if stream.read_exact(&mut hello).await.is_err() {
        return;
    }
    let from = match wire::decode_handshake(&hello) {
        Ok(id) if known.contains(&id) => id,
        Ok(id) => {
            tracing::warn!(
                ?remote,
                id,
                "quorum link from a server not in the configuration"
            );
            return;
        }
        Err(e) => {
            tracing::warn!(?remote, error = %e, "refused a quorum link");
            return;
        }
    };
    read_frames(&mut stream, from, my_id, &inbox).await;
    let _ = inbox.send(LinkEvent::Closed(from)).await;
}

/// Decodes frames from an accepted link until it closes or sends something bad.
async fn read_frames(
    stream: &mut TcpStream,
    from: u64,
    my_id: u64,
    inbox: &LocalSender<LinkEvent>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0;
    loop {
        // Decode every whole frame in the buffer.
        loop {
            let len = match wire::frame_len(&buf[start..]) {
                Ok(Some(len)) if buf.len() - start >= len => len,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(peer = from, error = %e, "closing a quorum link");
                    return;
                }
            };
            let frame = &buf[start + 4..start + len];
            if let Some(chunk) = wire::decode_snapshot_chunk(frame) {
                let event = match chunk {
                    Ok(c) => LinkEvent::SnapshotChunk(c),
                    Err(e) => {
                        tracing::warn!(peer = from, error = %e, "closing a quorum link");
                        return;
                    }
                };
                if inbox.send(event).await.is_err() {
                    return;
                }
                start += len;
                continue;
            }
            match wire::decode_frame(frame, from, my_id) {
                Ok(env) => {
                    if inbox.send(LinkEvent::Message(env)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(peer = from, error = %e, "closing a quorum link");
                    return;
                }
            }
            start += len;
        }
        buf.drain(..start);
        start = 0;
        let have = buf.len();
        buf.resize(have + READ_CHUNK, 0);
        match stream.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => {
                tracing::debug!(peer = from, "quorum link closed by the peer");
                return;
            }
            Ok(n) => buf.truncate(have + n),
        }
    }
}
