//! One client connection on a shard: a reader that frames and decodes requests and hands them
//! to the pipeline, and a writer that encodes what the pipeline sends back.

use crate::fourlw;
use crate::msg::ToPipeline;
use crate::shard::{Serve, Shard};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use futures_lite::{AsyncRead, AsyncWrite};
use glommio::channels::local_channel::LocalReceiver;
use ringkeeper_engine::proto::{self, op, DecodeError, ErrorCode};
use ringkeeper_engine::{ConnId, Output};
use std::net::SocketAddr;
use std::time::Instant;

/// What a connection's writer is told to do.
pub enum ConnCmd {
    Outputs(Vec<Output>),
    Text(String),
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

/// `zookeeper.nio.sessionlessCnxnTimeout`.
const SESSIONLESS_CNXN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    max_frame: usize,
    tx: PipelineTx,
    shard: &Shard,
) -> ReadEnd {
    let mut r = BufReader::with_capacity(64 * 1024, reader);
    let mut len = [0u8; 4];
    let mut buf = Vec::with_capacity(1024);
    // A connection that sends no complete ConnectRequest (or four-letter word) in time is
    // dropped, as ZooKeeper's zookeeper.nio.sessionlessCnxnTimeout does.
    let handshake = glommio::timer::timeout(SESSIONLESS_CNXN_TIMEOUT, async {
        r.read_exact(&mut len).await?;
        if let Some(cmd) = fourlw::command_from_u32(i32::from_be_bytes(len)) {
            return Ok(Err(cmd));
        }
        Ok(Ok(read_frame(&mut r, len, max_frame, &mut buf).await))
    })
    .await;
    let connected = match handshake {
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
        .send(ToPipeline::Connect { conn, remote, req })
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
            Ok((header, body)) => match proto::decode_request(header.opcode, body) {
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
            },
        };
        if tx.send(msg).await.is_err() {
            return ReadEnd::Closed;
        }
    }
    let _ = tx.send(ToPipeline::Disconnect { conn }).await;
    ReadEnd::Closed
}

/// Encodes one output onto `out`. True if the connection must close after it.
fn encode(o: &Output, out: &mut Vec<u8>) -> bool {
    match o {
        Output::Connected { resp, .. } => proto::encode_connect_response(resp, out),
        Output::Reply { header, body, .. } => proto::encode_reply(header, body, out),
        Output::Notify { event, .. } => proto::encode_notification(event, out),
        Output::Close { .. } => return true,
        // Shard-side bookkeeping, never frames (the shard consumes them).
        Output::AuthIds { .. } | Output::Watch { .. } | Output::TxnApplied { .. } => {}
    }
    false
}

/// Writes what the pipeline sends, coalescing everything queued into one write.
/// `fd` is the socket's; it is shut down at the end so the reader sees EOF as well.
pub async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, rx: LocalReceiver<ConnCmd>, fd: i32) {
    let mut out = Vec::with_capacity(16 * 1024);
    while let Some(cmd) = rx.recv().await {
        out.clear();
        let mut close = false;
        let mut next = Some(cmd);
        while let Some(cmd) = next.take() {
            match cmd {
                ConnCmd::Outputs(outs) => {
                    for o in &outs {
                        if encode(o, &mut out) {
                            close = true;
                            break;
                        }
                    }
                }
                ConnCmd::Text(t) => {
                    out.extend_from_slice(t.as_bytes());
                    close = true;
                }
            }
            if close {
                break;
            }
            next = futures_lite::future::poll_once(rx.recv()).await.flatten();
        }
        if !out.is_empty() && w.write_all(&out).await.is_err() {
            break;
        }
        if w.flush().await.is_err() || close {
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
