//! Messages between connection shards and the pipeline core.

use ringkeeper_engine::proto::{ConnectRequest, ErrorCode, Id, Request, RequestHeader};
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
        /// Ids the transport authenticated (a TLS client certificate); empty on the plain
        /// port.
        ids: Vec<Id>,
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
    /// Sessions active on a shard through reads it served, how many reads per connection,
    /// and how many notifications the shard sent each connection (for `cons` and `stat`).
    Touch {
        sessions: Vec<i64>,
        reads: Vec<(ConnId, u64)>,
        notified: Vec<(ConnId, u64)>,
    },
    /// A four-letter word arrived as the first bytes of a connection.
    FourLetterWord {
        conn: ConnId,
        remote: SocketAddr,
        cmd: &'static str,
    },
}

/// One step of the stream the pipeline sends each shard.
#[derive(Debug)]
pub enum Item {
    /// For one of the shard's connections.
    Out(Output),
    /// A committed txn, for every shard's replica, in zxid order and in its place among the
    /// outputs: the shard applies it (firing its connections' watches) before it sends the
    /// replies that follow, as ZooKeeper sends a write's notifications before its reply.
    Apply(Arc<Txn>),
    /// A snapshot from the leader replaced the member's tree: the replica becomes this tree,
    /// at this zxid, here in the stream.
    Reset(ReplicaTree, i64),
}

/// A whole tree for the shards' replicas (printed as its size).
#[derive(Clone)]
pub struct ReplicaTree(pub Arc<ringkeeper_engine::tree::DataTree>);

impl std::fmt::Debug for ReplicaTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplicaTree({} znodes)", self.0.node_count())
    }
}

/// Pipeline to shard: what to do, in order.
#[derive(Debug)]
pub enum ToShard {
    Stream(Vec<Item>),
    /// A four-letter word's answer: write the text, then close.
    Text {
        conn: ConnId,
        text: String,
    },
    /// The figures a four-letter word prints: the shard adds the host's, renders, writes
    /// the text, then closes.
    Status {
        conn: ConnId,
        cmd: &'static str,
        snap: Box<crate::status::Snapshot>,
    },
}

/// Connection ids carry their shard in the top 16 bits, so the pipeline can route replies.
pub fn conn_id(shard: usize, n: u64) -> ConnId {
    ((shard as u64) << 48) | (n & ((1 << 48) - 1))
}

pub fn shard_of(conn: ConnId) -> usize {
    (conn >> 48) as usize
}

/// The connection an output is for; none for `TxnApplied`, which is for every shard.
pub fn output_conn(o: &Output) -> Option<ConnId> {
    match o {
        Output::Connected { conn, .. }
        | Output::Reply { conn, .. }
        | Output::Notify { conn, .. }
        | Output::Close { conn }
        | Output::AuthIds { conn, .. }
        | Output::Watch { conn, .. } => Some(*conn),
        Output::TxnApplied { .. } | Output::ReplicaReset { .. } => None,
    }
}
