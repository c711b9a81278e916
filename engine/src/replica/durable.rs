//! What a member must make durable, and the durable state it restarts from. The server keeps
//! this in its log (issue 8, item 2); the simulator keeps it on its simulated disk, where a
//! crash loses the tasks not yet synced.

use raft::eraftpb::{ConfState, Entry, HardState};

/// One Raft `Ready`'s writes. The member is told `handle_persisted(number)` once they, and
/// every task before them, are durable.
#[derive(Clone, Debug)]
pub struct PersistTask {
    pub number: u64,
    pub hard_state: Option<HardState>,
    /// Entries to append; the first may overwrite a conflicting uncommitted tail.
    pub entries: Vec<Entry>,
}

/// A member's durable Raft state: HardState, ConfState and the log.
#[derive(Clone, Debug, Default)]
pub struct DurableState {
    pub hard_state: HardState,
    pub conf_state: ConfState,
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
        if let Some(first) = task.entries.first() {
            let keep = self
                .entries
                .iter()
                .take_while(|e| e.index < first.index)
                .count();
            self.entries.truncate(keep);
            if let Some(last) = self.entries.last() {
                assert_eq!(
                    last.index + 1,
                    first.index,
                    "log gap: appending {} after {}",
                    first.index,
                    last.index
                );
            }
            self.entries.extend(task.entries.iter().cloned());
        }
        if let Some(hs) = &task.hard_state {
            assert!(
                hs.term >= self.hard_state.term && hs.commit >= self.hard_state.commit,
                "hard state went back: {hs:?} after {:?}",
                self.hard_state
            );
            self.hard_state = hs.clone();
        }
    }
}
