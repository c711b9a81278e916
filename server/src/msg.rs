//! Messages between connection shards and the pipeline core.

use ringkeeper_engine::proto::{ConnectRequest, ErrorCode, Request, RequestHeader};
use ringkeeper_engine::read::WatchRequest;
use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::{ConnId, Output};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Shard to pipeline: what a connection said.
#[derive(Debug)]
pub enum ToPipeline {
    Connect {
        conn: ConnId,
        remote: SocketAddr,
        req: ConnectRequest,
    },
    Request {
        conn: ConnId,
        header: RequestHeader,
        req: Request,
        received: Instant,
        bytes: usize,
    },
    BadRequest {
        conn: ConnId,
        header: RequestHeader,
        err: ErrorCode,
    },
    /// The socket closed or sent something unacceptable.
    Disconnect { conn: ConnId },
    /// A read the shard served from its replica at `served_zxid` asked for a watch.
    Watch {
        conn: ConnId,
        served_zxid: i64,
        watch: WatchRequest,
    },
    /// Sessions active on a shard through reads it served, and how many per connection.
    Touch {
        sessions: Vec<i64>,
        reads: Vec<(ConnId, u64)>,
    },
    /// A four-letter word arrived as the first bytes of a connection.
    FourLetterWord {
        conn: ConnId,
        remote: SocketAddr,
        cmd: &'static str,
    },
}

/// Pipeline to shard: what to send, in order.
#[derive(Debug)]
pub enum ToShard {
    Outputs(Vec<Output>),
    /// A four-letter word's answer: write the text, then close.
    Text {
        conn: ConnId,
        text: String,
    },
    /// Committed txns, in zxid order, for the shard's replica: applied after the outputs
    /// before them, so a read never shows a change before its notification went out.
    Apply(Arc<Vec<Txn>>),
}

/// Connection ids carry their shard in the top 16 bits, so the pipeline can route replies.
pub fn conn_id(shard: usize, n: u64) -> ConnId {
    ((shard as u64) << 48) | (n & ((1 << 48) - 1))
}

pub fn shard_of(conn: ConnId) -> usize {
    (conn >> 48) as usize
}

pub fn output_conn(o: &Output) -> ConnId {
    match o {
        Output::Connected { conn, .. }
        | Output::Reply { conn, .. }
        | Output::Notify { conn, .. }
        | Output::Close { conn }
        | Output::AuthIds { conn, .. } => *conn,
    }
}
