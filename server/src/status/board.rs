//! The status board: what the pipeline publishes for the operator endpoints, and the queue
//! through which they ask it for the parts it does not publish.
//!
//! The pipeline publishes a [`Snapshot`] of the scalar figures on every tick (an `Arc`
//! swapped under a lock held only for the swap), which `/metrics` serves as is. The
//! AdminServer asks for fresh figures, or for connection, session and watch details, through
//! a bounded queue: a full queue or a slow pipeline gives the HTTP client an error, never a
//! blocked pipeline. Each request also writes a byte to a socket pair whose other end the
//! pipeline's executor reads (io_uring), so the pipeline wakes for a request without polling.

use super::snapshot::{Need, Snapshot};
use super::words::DEFAULT_TRACE_MASK;
use crate::config::ServerConfig;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests from the HTTP endpoints that may wait for the pipeline at once; more are refused.
pub const STATUS_QUEUE_CAPACITY: usize = 16;
/// How long an HTTP request waits for the pipeline's answer.
pub const STATUS_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Side effects a request asks of the pipeline, done after its snapshot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Nothing,
    /// srst / stat_reset: the server's packet and latency counters.
    ServerStats,
    /// crst / connection_stat_reset: every connection's counters.
    ConnectionStats,
}

/// One request for the pipeline.
pub struct StatusRequest {
    pub need: Need,
    pub reset: Reset,
    pub answer: SyncSender<Snapshot>,
}

/// Shared by the pipeline, the shards and the HTTP threads.
pub struct Board {
    pub config: Arc<ServerConfig>,
    published: Mutex<Arc<Snapshot>>,
    /// ZooTrace's text trace mask: gtmk / stmk / get_trace_mask / set_trace_mask.
    pub trace_mask: AtomicI64,
    requests: SyncSender<StatusRequest>,
    /// Written (one byte, never blocking) after each request is queued.
    wake: Mutex<UnixStream>,
}

/// The pipeline's end: the request queue and the socket to wait on for requests.
pub struct Inbox {
    pub requests: Receiver<StatusRequest>,
    pub wake: OwnedFd,
}

impl Board {
    pub fn new(config: Arc<ServerConfig>) -> std::io::Result<(Arc<Board>, Inbox)> {
        let (tx, rx) = sync_channel(STATUS_QUEUE_CAPACITY);
        let (wake, wakee) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let board = Board {
            config,
            published: Mutex::new(Arc::new(Snapshot::default())),
            trace_mask: AtomicI64::new(DEFAULT_TRACE_MASK),
            requests: tx,
            wake: Mutex::new(wake),
        };
        let inbox = Inbox {
            requests: rx,
            wake: wakee.into(),
        };
        Ok((Arc::new(board), inbox))
    }

    pub fn publish(&self, snap: Snapshot) {
        let snap = Arc::new(snap);
        *self.published.lock().unwrap_or_else(|e| e.into_inner()) = snap;
    }

    /// The figures as of the pipeline's last tick.
    pub fn published(&self) -> Arc<Snapshot> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn trace_mask(&self) -> i64 {
        self.trace_mask.load(Ordering::Relaxed)
    }

    /// Asks the pipeline for a fresh snapshot (blocking the calling HTTP thread, never the
    /// pipeline). The error is the AdminServer's `error` text.
    pub fn ask(&self, need: Need, reset: Reset) -> Result<Snapshot, String> {
        let (tx, rx) = sync_channel(1);
        let req = StatusRequest {
            need,
            reset,
            answer: tx,
        };
        match self.requests.try_send(req) {
            Ok(()) => {
                // A full socket buffer means wake-ups are pending already.
                let _ = self
                    .wake
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .write(&[1]);
            }
            Err(TrySendError::Full(_)) => {
                return Err("too many status requests waiting for the server; retry".into())
            }
            Err(TrySendError::Disconnected(_)) => return Err(NOT_SERVING.into()),
        }
        match rx.recv_timeout(STATUS_ANSWER_TIMEOUT) {
            Ok(s) => Ok(s),
            Err(RecvTimeoutError::Timeout) => Err("the server did not answer in time".into()),
            Err(RecvTimeoutError::Disconnected) => Err(NOT_SERVING.into()),
        }
    }
}

const NOT_SERVING: &str = super::words::ZK_NOT_SERVING;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_is_refused_not_waited_on() {
        let (board, inbox) = Board::new(Arc::new(crate::config::standalone_default())).unwrap();
        let rx = inbox.requests;
        let mut answers = Vec::new();
        for _ in 0..STATUS_QUEUE_CAPACITY {
            let (tx, arx) = sync_channel(1);
            answers.push(arx);
            let req = StatusRequest {
                need: Need::NONE,
                reset: Reset::Nothing,
                answer: tx,
            };
            assert!(board.requests.try_send(req).is_ok());
        }
        let e = board.ask(Need::NONE, Reset::Nothing).unwrap_err();
        assert!(e.contains("too many"), "{e}");
        drop(rx);
        assert_eq!(
            board.ask(Need::NONE, Reset::Nothing).unwrap_err(),
            NOT_SERVING
        );
    }
}
