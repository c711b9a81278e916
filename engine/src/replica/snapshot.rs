//! Snapshots of a member's state, for log compaction and for followers that lag behind it.
//!
//! A snapshot is taken as ZooKeeper takes one: fuzzy. The caller copies the live tree while
//! txns keep being applied (the server a chunk at a time between pipeline batches), so the
//! copy holds everything up to `index` and possibly some of the txns after it, up to
//! `fuzzy_until`. Whoever starts from it replays the log after `index`; replaying a txn the
//! copy already holds is harmless (`Engine::replay`, as at a standalone server's start-up).
//!
//! A leader's tree also holds txns it prepared that are not committed, and may never be. Its
//! snapshot counts only once the entry at `fuzzy_until` is committed with the term it had
//! when the copy ended: by Raft's log matching every entry up to there is then the one the
//! copy saw. A member whose engine is rebuilt during the copy drops it.

use crate::tree::DataTree;
use raft::eraftpb::{ConfState, Snapshot};

/// What a snapshot holds: the tree and the sessions (id, timeout).
#[derive(Clone)]
pub struct SnapshotState {
    pub tree: DataTree,
    pub sessions: Vec<(i64, i32)>,
}

/// Where a snapshot stands in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotMark {
    /// Every entry up to this index is in the snapshot.
    pub index: u64,
    pub term: u64,
    /// zxid of the last txn of the entries up to `index`.
    pub zxid: i64,
    pub conf_state: ConfState,
    /// Entries up to this index may be in it too (replayed after it all the same).
    pub fuzzy_until: u64,
    pub fuzzy_term: u64,
}

/// Taken when a copy starts ([`Member::snapshot_begin`](super::Member::snapshot_begin)).
#[derive(Clone, Debug)]
pub struct SnapshotBegin {
    pub(super) index: u64,
    pub(super) term: u64,
    pub(super) zxid: i64,
    pub(super) conf_state: ConfState,
    /// The member's rebuild count: a rebuild during the copy spoils it.
    pub(super) rebuilds: u64,
}

impl SnapshotBegin {
    pub fn zxid(&self) -> i64 {
        self.zxid
    }
}

const MARK_VERSION: u8 = 1;
const MARK_LEN: usize = 1 + 8 * 5;

impl SnapshotMark {
    /// raft's view of it: its metadata, and the mark itself as the data, so the receiver
    /// knows which state the transport must hand it.
    pub fn to_raft(&self) -> Snapshot {
        let mut s = Snapshot::default();
        let meta = s.mut_metadata();
        meta.index = self.index;
        meta.term = self.term;
        meta.set_conf_state(self.conf_state.clone());
        s.data = self.encode().into();
        s
    }

    /// The mark a raft snapshot carries (made by `to_raft`).
    pub fn from_raft(s: &Snapshot) -> Option<SnapshotMark> {
        let d = &s.data[..];
        if d.len() != MARK_LEN || d[0] != MARK_VERSION {
            return None;
        }
        let word = |i: usize| u64::from_le_bytes(d[1 + 8 * i..9 + 8 * i].try_into().unwrap());
        let meta = s.get_metadata();
        let mark = SnapshotMark {
            index: meta.index,
            term: meta.term,
            zxid: word(2) as i64,
            conf_state: meta.get_conf_state().clone(),
            fuzzy_until: word(3),
            fuzzy_term: word(4),
        };
        (word(0) == mark.index && word(1) == mark.term).then_some(mark)
    }

    /// Fixed-size little-endian encoding (index and term repeated as a check).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MARK_LEN);
        out.push(MARK_VERSION);
        for w in [
            self.index,
            self.term,
            self.zxid as u64,
            self.fuzzy_until,
            self.fuzzy_term,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_comes_back_from_raft_metadata() {
        let mark = SnapshotMark {
            index: 77,
            term: 3,
            zxid: 0x3_0000_0010,
            conf_state: ConfState::from((vec![1, 2, 3], vec![4])),
            fuzzy_until: 80,
            fuzzy_term: 3,
        };
        assert_eq!(SnapshotMark::from_raft(&mark.to_raft()), Some(mark.clone()));
        let mut other = mark.to_raft();
        other.mut_metadata().index = 78;
        assert_eq!(SnapshotMark::from_raft(&other), None, "index disagrees");
    }
}
