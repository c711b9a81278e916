//! One ensemble member, sans-IO: tikv's raft-rs `RawNode` for consensus, the [`Engine`] for
//! ZooKeeper's semantics on top (REPLICATION.md). Inputs are ticks, peer messages, client
//! requests and "this ready is durable"; outputs are peer messages, writes to make durable and
//! client outputs, released when their txn is committed on a quorum and applied here.
//!
//! What this first step does and does not do yet (issue 8):
//! - one Raft entry per batch of txns the leader prepared; zxid = (term << 32) | counter;
//! - a leader prepares only once it has applied everything it inherited; one that loses
//!   leadership with prepared, uncommitted txns rebuilds its engine from the committed log;
//! - followers and Observers (Raft learners) apply committed txns and forward their clients'
//!   writes, new sessions and closes to the leader, answering them once applied here; a
//!   follower whose leader changes or stops answering closes the connections still waiting;
//! - snapshots (see `snapshot.rs`) compact the log and catch up a follower that lags behind it.
//! - `sync` waits for a Raft ReadIndex on every member, the leader included;
//! - a member asks to lead with `Member::request_leadership` (raft's leadership transfer);
//!
//! [`Engine`]: crate::Engine

mod batch;
mod durable;
mod log_store;
mod member;
mod snapshot;
mod timeouts;
pub mod zxid;

pub use batch::{decode_batch, encode_batch};
pub use durable::{DurableState, PersistTask, SnapshotTask};
pub use member::{Member, MemberConfig, PeerProgress, Role, SnapshotSource};
pub use raft::eraftpb::Message;
pub use snapshot::{SnapshotBegin, SnapshotMark, SnapshotState};

use crate::Forwarded;

/// What members send each other.
#[derive(Clone, Debug)]
pub enum PeerMessage {
    /// Consensus.
    Raft(Message),
    /// A client write taken by a follower or Observer, for the leader to prepare.
    Forward(Forwarded),
    /// Sessions active on a follower or Observer, so the leader does not expire them.
    Touch(Vec<i64>),
    /// The leader's heartbeat counted on entries this member does not have: its log was
    /// lost (a wiped data directory). The leader sends it the log again from `last_index`.
    LogLost { last_index: u64 },
}

#[derive(Clone, Debug)]
pub struct Envelope {
    pub from: u64,
    pub to: u64,
    pub body: PeerMessage,
}
