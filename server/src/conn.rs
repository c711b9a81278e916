//! One client connection on a shard: a reader that frames and decodes requests and hands them
//! to the pipeline, and a writer that encodes what the pipeline sends back.

use crate::limits::{Limits, CONN_READ_BUFFER_BYTES, SESSIONLESS_CNXN_TIMEOUT};
use crate::msg::ToPipeline;
use crate::shard::{Serve, Shard};
use crate::status::words;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use futures_lite::{AsyncRead, AsyncWrite};
use glommio::channels::local_channel::LocalReceiver;
use ringkeeper_engine::proto::{self, op, DecodeError, ErrorCode, Id};
use ringkeeper_engine::{ConnId, Output};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// What a connection's writer is told to do.
pub enum ConnCmd {
    /// Encoded frames; with `close`, the connection closes once they are written.
    Frames { bytes: Vec<u8>, close: bool },
    /// A four-letter word's answer; the connection closes after it.
    Text(String),
}

impl ConnCmd {
    fn len(&self) -> usize {
        match self {
            ConnCmd::Frames { bytes, .. } => bytes.len(),
            ConnCmd::Text(t) => t.len(),
        }
    }
}

/// Bytes queued for one connection and not yet written to its socket: the shard adds what
/// it queues, the writer takes off what it wrote. Back-pressure and the slow-consumer bound
/// look at it (see `crate::limits`).
#[derive(Clone, Default)]
pub struct Unsent(Rc<Cell<usize>>);

impl Unsent {
    pub fn get(&self) -> usize {
        self.0.get()
    }

    pub fn add(&self, n: usize) {
        self.0.set(self.0.get() + n);
    }

    fn sub(&self, n: usize) {
        let now = self.0.get();
        assert!(
            n <= now,
            "connection wrote {n} bytes with only {now} queued"
        );
        self.0.set(now - n);
    }
}

/// Sends a message to the pipeline; false once the pipeline is gone.
pub type PipelineTx = std::rc::Rc<glommio::channels::shared_channel::ConnectedSender<ToPipeline>>;

async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    len_bytes: [u8; 4],
    max: usize,
    buf: &mut Vec<u8>,
) -> Option<()> {
    let len = i32::from_be_bytes(len_bytes);
    if len < 0 || len as usize > max {
        tracing::debug!(len, "frame length out of range; closing connection");
        return None;
    }
    buf.resize(len as usize, 0);
    r.read_exact(buf).await.ok()
}

/// How a connection's reader ended.
pub enum ReadEnd {
    /// The socket closed or misbehaved; the pipeline was told.
    Closed,
    /// A four-letter word: the pipeline's answer is on its way to the writer.
    FourLetterWord,
}

/// Reads frames until the socket closes or misbehaves; then tells the pipeline.
pub async fn read_loop<R: AsyncRead + Unpin>(
    reader: R,
    conn: ConnId,
    remote: SocketAddr,
    limits: &Limits,
    tx: PipelineTx,
    shard: &Shard,
    ids: Vec<Id>,
) -> ReadEnd {
    let max_frame = limits.max_frame;
    let mut r = BufReader::with_capacity(CONN_READ_BUFFER_BYTES, reader);
    let mut len = [0u8; 4];
    let mut buf = Vec::with_capacity(1024);
    // A connection that sends no complete ConnectRequest (or four-letter word) in time is
    // dropped, as ZooKeeper's zookeeper.nio.sessionlessCnxnTimeout does.
    let handshake = glommio::timer::timeout(SESSIONLESS_CNXN_TIMEOUT, async {
        r.read_exact(&mut len).await?;
        if let Some(cmd) = words::command_from_u32(i32::from_be_bytes(len)) {
            return Ok(Err(cmd));
        }
        Ok(Ok(read_frame(&mut r, len, max_frame, &mut buf).await))
    })
    .await;
    let connected = match handshake {
        Ok(Err(cmd)) if words::answered_by_shard(cmd) => {
            let local = shard.borrow().local_status(cmd);
            match local {
                Ok(snap) => crate::shard::answer_status(shard.clone(), conn, cmd, snap).await,
                Err(text) => shard.borrow_mut().deliver_text(conn, text),
            }
            return ReadEnd::FourLetterWord;
        }
        Ok(Err(cmd)) => {
            let _ = tx
                .send(ToPipeline::FourLetterWord { conn, remote, cmd })
                .await;
            return ReadEnd::FourLetterWord;
        }
        Ok(Ok(Some(()))) => proto::decode_connect_request(&buf).ok(),
        Ok(Ok(None)) | Err(_) => None,
    };
    let Some(req) = connected else {
        let _ = tx.send(ToPipeline::Disconnect { conn }).await;
        return ReadEnd::Closed;
    };
    shard.borrow_mut().count_forwarded(conn);
    if tx
        .send(ToPipeline::Connect {
            conn,
            remote,
            req,
            ids,
        })
        .await
        .is_err()
    {
        return ReadEnd::Closed;
    }
    loop {
        // Back-pressure: stop reading while this connection's replies pile up unsent or the
        // shard has its share of globalOutstandingLimit requests at the pipeline.
        while shard.borrow().must_wait(conn) {
            glommio::timer::sleep(std::time::Duration::from_micros(200)).await;
        }
        if r.read_exact(&mut len).await.is_err() {
            break;
        }
        if read_frame(&mut r, len, max_frame, &mut buf).await.is_none() {
            break;
        }
        let received = Instant::now();
        let msg = match proto::decode_request_header(&buf) {
            Err(_) => break,
            Ok((header, body)) => {
                match proto::decode_request_within(header.opcode, body, limits.max_field) {
                    Ok(req) => match shard.borrow_mut().serve(conn, header, &req) {
                        Serve::Local => continue,
                        Serve::Forward => ToPipeline::Request {
                            conn,
                            header,
                            req,
                            received,
                            bytes: buf.len() + 4,
                        },
                    },
                    Err(DecodeError::UnknownOpcode(_)) => {
                        shard.borrow_mut().count_forwarded(conn);
                        // deleteContainer (20) is internal: from a client it is a bad argument,
                        // not an unknown opcode (ZooKeeper 3.8, probed).
                        let err = if header.opcode == op::DELETE_CONTAINER {
                            ErrorCode::BadArguments
                        } else {
                            ErrorCode::Unimplemented
                        };
                        ToPipeline::BadRequest { conn, header, err }
                    }
                    Err(_) => {
                        shard.borrow_mut().count_forwarded(conn);
                        ToPipeline::BadRequest {
                            conn,
                            header,
                            err: ErrorCode::MarshallingError,
                        }
                    }
                }
            }
        };
        if tx.send(msg).await.is_err() {
            return ReadEnd::Closed;
        }
    }
    let _ = tx.send(ToPipeline::Disconnect { conn }).await;
    ReadEnd::Closed
}

/// Encodes one output onto `out`. True if the connection must close after it.
pub fn encode(o: &Output, out: &mut Vec<u8>) -> bool {
    match o {
        Output::Connected { resp, .. } => proto::encode_connect_response(resp, out),
        Output::Reply { header, body, .. } => proto::encode_reply(header, body, out),
        Output::Notify { event, .. } => proto::encode_notification(event, out),
        Output::Close { .. } => return true,
        // Shard-side bookkeeping, never frames (the shard consumes them).
        Output::AuthIds { .. }
        | Output::Watch { .. }
        | Output::TxnApplied { .. }
        | Output::ReplicaReset { .. } => {}
    }
    false
}

/// Writes what the shard queues, coalescing everything queued into one write, and takes
/// what it wrote off `unsent`. `fd` is the socket's; it is shut down at the end so the
/// reader sees EOF as well.
pub async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    rx: LocalReceiver<ConnCmd>,
    fd: i32,
    unsent: Unsent,
) {
    let mut out = Vec::with_capacity(16 * 1024);
    while let Some(first) = rx.recv().await {
        let mut written = first.len();
        let mut close = matches!(
            first,
            ConnCmd::Text(_) | ConnCmd::Frames { close: true, .. }
        );
        let mut next = if close {
            None
        } else {
            futures_lite::future::poll_once(rx.recv()).await.flatten()
        };
        let result = if next.is_none() {
            // One command: write its bytes as they are.
            match &first {
                ConnCmd::Frames { bytes, .. } => w.write_all(bytes).await,
                ConnCmd::Text(t) => w.write_all(t.as_bytes()).await,
            }
        } else {
            out.clear();
            let mut cmd = Some(first);
            while let Some(c) = cmd.take() {
                match c {
                    ConnCmd::Frames { bytes, close: c } => {
                        out.extend_from_slice(&bytes);
                        close = c;
                    }
                    ConnCmd::Text(t) => {
                        out.extend_from_slice(t.as_bytes());
                        close = true;
                    }
                }
                if close {
                    break;
                }
                cmd = next.take();
                if let Some(c) = &cmd {
                    written += c.len();
                    next = futures_lite::future::poll_once(rx.recv()).await.flatten();
                }
            }
            w.write_all(&out).await
        };
        unsent.sub(written);
        if result.is_err() || w.flush().await.is_err() || close {
            break;
        }
    }
    let _ = w.close().await;
    // SAFETY: the stream owning `fd` outlives this call (the connection task holds it), and
    // shutdown on a live socket only changes its state.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}
