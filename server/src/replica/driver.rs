//! The pipeline core's replicated side: drives one ensemble [`Member`] (raft-rs plus the
//! engine, sans-IO) with the quorum links and the durable Raft log.
//!
//! Per pipeline batch: client inputs go to the member's engine, peer messages and ticks to
//! the member; then `persist` sends what may go at once (a leader's appends go out before its
//! own fdatasync, so its sync, the followers' and the network overlap), makes the batch's Raft
//! writes durable in one group commit, and sends what waited for that (a follower's
//! acknowledgement, a vote).

use super::links::Links;
use crate::raft_store::RaftStore;
use ringkeeper_engine::replica::{Envelope, Member, PeerProgress, Role};
use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::{Engine, Now, Output};
use std::sync::Arc;

pub struct Replica {
    member: Member,
    store: RaftStore,
    links: Links,
    /// Bytes of Raft entries this member proposed: last, min, max (-1 before the first).
    proposal_sizes: (i64, i64, i64),
}

/// Counters for the status commands.
pub struct ReplicaFigures {
    pub role: Role,
    pub my_id: u64,
    pub leader_id: Option<u64>,
    pub epoch: u64,
    pub peers: Vec<(PeerProgress, bool)>,
    pub committed_index: u64,
    pub proposal_sizes: (i64, i64, i64),
    pub dropped_messages: u64,
}

impl Replica {
    pub fn new(mut member: Member, store: RaftStore, links: Links) -> Replica {
        member.keep_applied_txns();
        Replica {
            member,
            store,
            links,
            proposal_sizes: (-1, -1, -1),
        }
    }

    pub fn engine(&self) -> &Engine {
        self.member.engine()
    }

    /// For client inputs; call [`Replica::flush`] after a batch of them.
    pub fn engine_mut(&mut self) -> &mut Engine {
        self.member.engine_mut()
    }

    /// Client inputs are in: the leader proposes what they prepared, a follower forwards.
    pub fn flush(&mut self) {
        self.member.flush();
    }

    pub fn tick(&mut self, now: Now) {
        self.member.tick(now);
    }

    pub fn step(&mut self, env: Envelope) {
        self.member.step(env);
    }

    pub fn peer_unreachable(&mut self, peer: u64) {
        self.member.peer_unreachable(peer);
    }

    /// Sends, makes durable, sends again, until the member has nothing more to write.
    /// A storage error is returned: nothing more may be acknowledged.
    pub async fn persist(&mut self) -> Result<u64, String> {
        let mut tasks = 0;
        loop {
            self.send_messages();
            let mut last = None;
            let mut writes = false;
            while let Some(task) = self.member.poll_persist() {
                if task.hard_state.is_some() || !task.entries.is_empty() {
                    self.note_proposals(&task.entries);
                    self.store.append(&task).await?;
                    writes = true;
                }
                last = Some(task.number);
                tasks += 1;
            }
            let Some(number) = last else {
                return Ok(tasks);
            };
            if writes {
                self.store.commit().await?;
            }
            self.member.handle_persisted(number);
        }
    }

    fn note_proposals(&mut self, entries: &[raft::eraftpb::Entry]) {
        if self.member.role() != Role::Leading {
            return;
        }
        for e in entries.iter().filter(|e| !e.data.is_empty()) {
            let n = e.data.len() as i64;
            let (_, min, max) = self.proposal_sizes;
            self.proposal_sizes = (n, if min < 0 { n } else { min.min(n) }, max.max(n));
        }
    }

    fn send_messages(&mut self) {
        while let Some(env) = self.member.poll_message() {
            self.links.send(&env);
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.member.poll_output()
    }

    pub fn poll_applied_txn(&mut self) -> Option<Arc<Txn>> {
        self.member.poll_applied_txn()
    }

    pub fn role(&self) -> Role {
        self.member.role()
    }

    pub fn log_size(&self) -> u64 {
        self.store.log_size()
    }

    pub fn figures(&self) -> ReplicaFigures {
        ReplicaFigures {
            role: self.member.role(),
            my_id: self.member.id(),
            leader_id: self.member.leader_id(),
            epoch: self.member.term(),
            peers: self
                .member
                .peer_progress()
                .into_iter()
                .map(|p| (p, self.links.connected(p.id)))
                .collect(),
            committed_index: self.member.committed_index(),
            proposal_sizes: self.proposal_sizes,
            dropped_messages: self.links.dropped(),
        }
    }
}
