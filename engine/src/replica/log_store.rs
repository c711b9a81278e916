//! The member's Raft log in memory, as raft-rs reads it through its `Storage` trait: the
//! entries after the last snapshot, the snapshot's place (index, term, ConfState) and the
//! hard state. raft-rs's own `MemStorage` cannot stand in: it has no snapshot of its own to
//! hand out (it makes one up at the commit index) and its `compact` forgets the term of the
//! entry before the first one, which raft needs to match a follower's log against it.

use super::snapshot::SnapshotMark;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};
use std::collections::VecDeque;

#[derive(Default)]
pub struct LogStore {
    hard_state: HardState,
    conf_state: ConfState,
    /// The last entry folded into a snapshot: (index, term). (0, 0) before the first.
    base: (u64, u64),
    /// The snapshot a follower that lags behind `base` is sent: raft's metadata, and the
    /// mark (encoded) as its data, which names the state the transport sends with it.
    snapshot: Option<Snapshot>,
    /// Entries `base.0 + 1 ..= last_index`.
    entries: VecDeque<Entry>,
}

impl LogStore {
    pub fn new(hard_state: HardState, conf_state: ConfState) -> LogStore {
        LogStore {
            hard_state,
            conf_state,
            ..LogStore::default()
        }
    }

    pub fn set_hard_state(&mut self, hs: HardState) {
        self.hard_state = hs;
    }

    /// The hard state raft last handed out (with the entries before it).
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// Every entry the log holds.
    pub fn entries_after_base(&self) -> Vec<Entry> {
        self.entries.iter().cloned().collect()
    }

    pub fn base(&self) -> (u64, u64) {
        self.base
    }

    pub fn first_index(&self) -> u64 {
        self.base.0 + 1
    }

    pub fn last_index(&self) -> u64 {
        self.base.0 + self.entries.len() as u64
    }

    /// Appends entries; the first may overwrite a conflicting tail from its index on.
    pub fn append(&mut self, ents: &[Entry]) {
        let Some(first) = ents.first() else {
            return;
        };
        assert!(
            first.index > self.base.0,
            "append at {} inside the snapshot (base {})",
            first.index,
            self.base.0
        );
        assert!(
            first.index <= self.last_index() + 1,
            "log gap: appending {} after {}",
            first.index,
            self.last_index()
        );
        self.entries
            .truncate((first.index - self.first_index()) as usize);
        self.entries.extend(ents.iter().cloned());
    }

    /// Folds the log up to `mark.index` into the snapshot `mark` describes: those entries go,
    /// the snapshot is what a lagging follower is sent from now on.
    pub fn compact(&mut self, mark: &SnapshotMark) {
        assert!(
            mark.index <= self.last_index(),
            "snapshot at {} beyond the log's last index {}",
            mark.index,
            self.last_index()
        );
        if mark.index > self.base.0 {
            let drop = (mark.index - self.base.0) as usize;
            assert_eq!(
                self.entries[drop - 1].term,
                mark.term,
                "snapshot term differs from the log's at {}",
                mark.index
            );
            self.entries.drain(..drop);
            self.base = (mark.index, mark.term);
        }
        self.snapshot = Some(mark.to_raft());
    }

    /// A snapshot received from the leader replaces the whole log.
    pub fn install(&mut self, mark: &SnapshotMark) {
        self.entries.clear();
        self.base = (mark.index, mark.term);
        self.conf_state = mark.conf_state.clone();
        self.hard_state.commit = self.hard_state.commit.max(mark.index);
        self.hard_state.term = self.hard_state.term.max(mark.term);
        self.snapshot = Some(mark.to_raft());
    }

    /// The entry at `index`, if the log still holds it.
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        index
            .checked_sub(self.first_index())
            .and_then(|i| self.entries.get(i as usize))
    }
}

impl Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first_index() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        assert!(
            high <= self.last_index() + 1,
            "entries up to {high} asked, last index {}",
            self.last_index()
        );
        let max_size = max_size.into().unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut size = 0u64;
        for i in low..high {
            let e = self.entry(i).expect("checked against the bounds");
            size += protobuf::Message::compute_size(e) as u64;
            // raft's limit_size: at least one entry, whatever its size.
            if !out.is_empty() && size > max_size {
                break;
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.base.0 {
            return Ok(self.base.1);
        }
        if idx < self.base.0 {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        match self.entry(idx) {
            Some(e) => Ok(e.term),
            None => Err(raft::Error::Store(StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(LogStore::first_index(self))
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(LogStore::last_index(self))
    }

    /// The newest snapshot. A follower lags behind the log only after a compaction, so
    /// there is one; none yet (or an older one) is "temporarily unavailable" to raft, which
    /// asks again.
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        match &self.snapshot {
            Some(s) if s.get_metadata().index >= request_index => Ok(s.clone()),
            _ => Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            )),
        }
    }
}
