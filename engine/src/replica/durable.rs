//! What a member must make durable, and the durable state it restarts from. The server keeps
//! this in its log (issue 8, item 2); the simulator keeps it on its simulated disk, where a
//! crash loses the tasks not yet synced.

use super::snapshot::SnapshotMark;
use raft::eraftpb::{ConfState, Entry, HardState};

/// One Raft `Ready`'s writes. The member is told `handle_persisted(number)` once they, and
/// every task before them, are durable.
#[derive(Clone, Debug)]
pub struct PersistTask {
    pub number: u64,
    pub hard_state: Option<HardState>,
    /// Entries to append; the first may overwrite a conflicting uncommitted tail.
    pub entries: Vec<Entry>,
    /// Written before the entries: a snapshot that now stands for the log up to its index.
    pub snapshot: Option<SnapshotTask>,
}

/// A snapshot becoming the start of the log.
#[derive(Clone, Debug, PartialEq)]
pub enum SnapshotTask {
    /// One this member took (and made durable) is good: the log up to its index can go.
    /// The task is a checkpoint: it carries the hard state and every entry after the
    /// snapshot, so a log read from it on needs nothing written before it.
    Compact(SnapshotMark),
    /// One received from the leader (made durable by the transport) replaces the log.
    Install(SnapshotMark),
}

impl SnapshotTask {
    pub fn mark(&self) -> &SnapshotMark {
        match self {
            SnapshotTask::Compact(m) | SnapshotTask::Install(m) => m,
        }
    }
}

/// A member's durable Raft state: HardState, ConfState and the log.
#[derive(Clone, Debug, Default)]
pub struct DurableState {
    pub hard_state: HardState,
    pub conf_state: ConfState,
    /// The snapshot the log starts after; its state is kept beside the log.
    pub snapshot: Option<SnapshotMark>,
    /// Entries after the snapshot's index (from 1 without one).
    pub entries: Vec<Entry>,
}

impl DurableState {
    /// A member that never ran: the ensemble's initial configuration, nothing else.
    pub fn initial(voters: &[u64], observers: &[u64]) -> DurableState {
        DurableState {
            conf_state: ConfState::from((voters.to_vec(), observers.to_vec())),
            ..DurableState::default()
        }
    }

    /// Applies a task as the log writer does: entries from an index at or below the last one
    /// replace the tail from there (a conflicting uncommitted tail is cut).
    pub fn apply(&mut self, task: &PersistTask) {
        match &task.snapshot {
            Some(SnapshotTask::Compact(mark)) => {
                self.entries.retain(|e| e.index > mark.index);
                self.snapshot = Some(mark.clone());
            }
            Some(SnapshotTask::Install(mark)) => {
                self.entries.clear();
                self.conf_state = mark.conf_state.clone();
                self.hard_state.commit = self.hard_state.commit.max(mark.index);
                self.hard_state.term = self.hard_state.term.max(mark.term);
                self.snapshot = Some(mark.clone());
            }
            None => {}
        }
        if let Some(first) = task.entries.first() {
            let keep = self
                .entries
                .iter()
                .take_while(|e| e.index < first.index)
                .count();
            self.entries.truncate(keep);
            let last = self
                .entries
                .last()
                .map_or(self.snapshot.as_ref().map_or(0, |m| m.index), |e| e.index);
            assert_eq!(
                last + 1,
                first.index,
                "log gap: appending {} after {last}",
                first.index
            );
            self.entries.extend(task.entries.iter().cloned());
        }
        if let Some(hs) = &task.hard_state {
            // A commit index below the snapshot's is one logged before the snapshot was.
            let commit = hs.commit.max(self.snapshot.as_ref().map_or(0, |m| m.index));
            assert!(
                hs.term >= self.hard_state.term && commit >= self.hard_state.commit,
                "hard state went back: {hs:?} after {:?}",
                self.hard_state
            );
            self.hard_state = hs.clone();
            self.hard_state.commit = commit;
        }
    }
}
