//! The member's snapshots (see `replica/snapshot.rs` for what a fuzzy snapshot is and when
//! a leader's counts): taking one, compacting the log to it, installing one from the
//! leader, and the leader's wait for one it sent.

use super::super::durable::{PersistTask, SnapshotTask};
use super::super::snapshot::{SnapshotBegin, SnapshotMark, SnapshotState};
use super::super::zxid;
use super::super::{Envelope, PeerMessage};
use super::Member;
use crate::engine::{Engine, Output};
use crate::{EngineConfig, Now};
use raft::{ProgressState, SnapshotStatus};

impl Member {
    /// Starts a snapshot: the caller copies `engine().tree()` and the sessions now, or a
    /// part at a time between inputs, then calls `snapshot_end`.
    ///
    /// None while the newest snapshot (taken, or the log's base) is already at the applied
    /// index: snapshots are named by their index, and one per index is enough.
    pub fn snapshot_begin(&self) -> Option<SnapshotBegin> {
        let newest = self
            .taken
            .iter()
            .map(|m| m.index)
            .chain(self.base.as_ref().map(|b| b.index))
            .max()
            .unwrap_or(0);
        if self.applied <= newest {
            return None;
        }
        let term = raft::Storage::term(self.node.store(), self.applied)
            .expect("the applied entry is in the log or is its base");
        Some(SnapshotBegin {
            index: self.applied,
            term,
            zxid: self.applied_zxid,
            conf_state: self.node.raft.prs().conf().to_conf_state(),
            rebuilds: self.rebuilds + self.installs,
        })
    }

    /// The copy is done. None: the engine was replaced during it, and the copy is no good.
    pub fn snapshot_end(&self, begin: &SnapshotBegin) -> Option<SnapshotMark> {
        if begin.rebuilds != self.rebuilds + self.installs {
            return None;
        }
        if self.engine.prepared_txns() > 0 {
            // Prepared and not proposed (held during a leadership transfer): the copy may
            // hold txns no log entry carries, which may never commit.
            return None;
        }
        // A leader's tree holds what it proposed; anyone else's only what it applied.
        let fuzzy_until = if self.leading_term.is_some() {
            self.node.raft.raft_log.last_index()
        } else {
            self.applied
        };
        // raft's log: entries proposed and not yet handed out in a ready count too.
        let fuzzy_term = self
            .node
            .raft
            .raft_log
            .term(fuzzy_until)
            .expect("the log holds what the tree holds");
        Some(SnapshotMark {
            index: begin.index,
            term: begin.term,
            zxid: begin.zxid,
            conf_state: begin.conf_state.clone(),
            fuzzy_until,
            fuzzy_term,
        })
    }

    /// The snapshot `mark` is durable (with the state copied between `snapshot_begin` and
    /// `snapshot_end`). Once everything it may hold is committed, the log before it is
    /// compacted and a `PersistTask` says so.
    pub fn snapshot_saved(&mut self, mark: SnapshotMark) {
        self.taken.push(mark);
        self.check_snapshots_taken();
    }

    /// Compacts to the newest snapshot taken whose fuzzy part is committed as the copy saw
    /// it; drops the ones whose fuzzy part was overwritten.
    pub(super) fn check_snapshots_taken(&mut self) {
        if self.taken.is_empty() {
            return;
        }
        let store = self.node.store();
        let base = store.base().0;
        let applied = self.applied;
        let mut good = None;
        self.taken.retain(|m| {
            if m.index <= base {
                return false; // a newer snapshot (installed or taken) covers it
            }
            match raft::Storage::term(store, m.fuzzy_until) {
                Ok(t) if t != m.fuzzy_term => false,
                Ok(_) if m.fuzzy_until <= applied => {
                    if good
                        .as_ref()
                        .is_none_or(|g: &SnapshotMark| g.index < m.index)
                    {
                        good = Some(m.clone());
                    }
                    false
                }
                _ => true,
            }
        });
        let Some(mark) = good else {
            return;
        };
        let store = self.node.mut_store();
        store.compact(&mark);
        // A checkpoint: with the hard state and every entry after the snapshot, the log
        // can be read from this task on, and whatever was written before it can go.
        let hard_state = Some(store.hard_state().clone());
        let entries = store.entries_after_base();
        self.base = Some(mark.clone());
        self.persist.push_back(PersistTask {
            number: self.last_ready,
            hard_state,
            entries,
            snapshot: Some(SnapshotTask::Compact(mark)),
        });
    }

    /// A MsgSnapshot from the leader, with the state its transport brought along.
    pub fn step_snapshot(&mut self, env: Envelope, state: SnapshotState) {
        let PeerMessage::Raft(msg) = &env.body else {
            panic!("step_snapshot takes a raft MsgSnapshot");
        };
        let mark = SnapshotMark::from_raft(msg.get_snapshot())
            .expect("a MsgSnapshot carries the mark of its snapshot");
        self.incoming = Some((mark, state));
        self.step(env);
        // raft took it (and gave it back through a ready) or refused it as stale.
        self.incoming = None;
    }

    /// Raft restored a snapshot from the leader: the engine starts again from its state.
    pub(super) fn install_snapshot(&mut self, snap: &raft::eraftpb::Snapshot) -> SnapshotTask {
        let mark = SnapshotMark::from_raft(snap).expect("snapshots carry their mark");
        let Some((got, state)) = self.incoming.take() else {
            panic!(
                "member {}: raft installs snapshot {} that was not stepped with its state",
                self.config.id, mark.index
            );
        };
        assert_eq!(got, mark, "installed snapshot is not the one received");
        assert!(self.leading_term.is_none(), "a leader installs a snapshot");
        assert!(
            mark.index > self.applied,
            "snapshot {} at or below applied {}",
            mark.index,
            self.applied
        );
        self.installs += 1;
        // Every connection closes: what the old engine still has to say goes first.
        self.drop_forwarded();
        while let Some(out) = self.engine.poll_output() {
            self.dropped.push_back(out);
        }
        for conn in self.engine.conn_ids() {
            self.dropped.push_back(Output::Close { conn });
        }
        if self.applied_txns.is_some() {
            // The caller's replicas start again from this tree, after the old outputs.
            self.reset_tree = Some(state.tree.clone());
            self.dropped
                .push_back(Output::ReplicaReset { zxid: mark.zxid });
        }
        let mut engine = engine_from_snapshot(&self.engine_config, &mark, state, self.now);
        engine.set_forwarding(true);
        engine.set_sync_by_read_index(true);
        self.engine = engine;
        self.applied = mark.index;
        self.applied_zxid = mark.zxid;
        self.node.mut_store().install(&mark);
        self.base = Some(mark.clone());
        self.taken.clear();
        SnapshotTask::Install(mark)
    }

    /// Leader: the snapshot sent to `peer` is still on its way (a large one takes longer than
    /// the wait `check_snapshots_sent` allows): the wait starts again.
    pub fn snapshot_in_transit(&mut self, peer: u64) {
        if let Some(since) = self.snapshot_sent.get_mut(&peer) {
            *since = self.ticks;
        }
    }

    /// Leader: a follower sent a snapshot that has not caught up for a while lost it (a
    /// broken link, a restart): raft waits for it forever unless told.
    pub(super) fn check_snapshots_sent(&mut self) {
        let ticks = self.ticks;
        let limit = 4 * self.config.election_tick as u64;
        let mut failed = Vec::new();
        let prs = self.node.raft.prs();
        self.snapshot_sent.retain(|id, _| {
            prs.get(*id)
                .is_some_and(|p| p.state == ProgressState::Snapshot)
        });
        for (id, pr) in prs.iter() {
            if pr.state != ProgressState::Snapshot {
                continue;
            }
            let since = *self.snapshot_sent.entry(*id).or_insert(ticks);
            if ticks - since > limit {
                failed.push(*id);
            }
        }
        for id in failed {
            self.snapshot_sent.remove(&id);
            self.node.report_snapshot(id, SnapshotStatus::Failure);
        }
    }
}

/// An engine started from a snapshot's state. The entry at the snapshot's index belongs to
/// its term, so that term's epoch had begun there (see `enter_epoch`).
pub(super) fn engine_from_snapshot(
    config: &EngineConfig,
    mark: &SnapshotMark,
    state: SnapshotState,
    now: Now,
) -> Engine {
    let mut engine = Engine::restore(config.clone(), state.tree, state.sessions, mark.zxid, now);
    let floor = zxid::epoch_start(mark.term);
    if floor > engine.last_zxid() {
        engine.start_epoch(floor);
    }
    engine
}
