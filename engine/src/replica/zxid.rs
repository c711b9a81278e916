//! zxid = (epoch << 32) | counter, with the epoch taken from the Raft term of the leader that
//! prepared the txn. Terms never decrease along a Raft log and one leader writes all entries
//! of its term, so zxids strictly increase along the committed log.

/// The largest term a zxid can carry: the zxid is a signed 64-bit number.
pub const MAX_EPOCH: u64 = (i32::MAX as u64) - 1;

/// The epoch (Raft term) a zxid was prepared in.
pub fn epoch_of(zxid: i64) -> u64 {
    (zxid as u64) >> 32
}

/// The counter part of a zxid.
pub fn counter_of(zxid: i64) -> u32 {
    zxid as u32
}

/// The zxid just before the first txn of `epoch`.
pub fn epoch_start(epoch: u64) -> i64 {
    assert!(
        epoch <= MAX_EPOCH,
        "term {epoch} does not fit in a zxid's epoch"
    );
    (epoch << 32) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let z = epoch_start(7) + 5;
        assert_eq!(epoch_of(z), 7);
        assert_eq!(counter_of(z), 5);
        assert!(epoch_start(8) > z);
    }
}
