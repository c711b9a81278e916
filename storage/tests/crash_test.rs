//! Crash consistency of the WAL on `SimBackend`, in the style of redb's crash tests: run a
//! workload of appends and commits, make sync number N+1 fail (so exactly N syncs happened),
//! build the image a crash leaves (optionally with the last write torn), recover, and check
//! that every commit that returned Ok is there, nothing was invented, and the torn tail is cut
//! and reported. Damage before the tail and missing segments must be errors, not truncation.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use ringkeeper_storage::backend::{Backend, SimBackend};
use ringkeeper_storage::wal::{
    frame_record, Recovered, Wal, WalOptions, BATCH_HEADER_LEN, BATCH_TAG, RECORD_HEADER_LEN,
    SECTOR,
};
use ringkeeper_storage::StorageError;

const DIR: &str = "/datalog";

/// Payload bytes are never zero, so a torn record's garbage length is exact-ish.
fn payload(zxid: i64) -> Vec<u8> {
    format!("txn-{zxid:x}-")
        .into_bytes()
        .into_iter()
        .cycle()
        .take(20 + (zxid as usize % 13))
        .collect()
}

fn opts() -> WalOptions {
    aligned_opts(1)
}

/// Alignments the crash workload runs with: unaligned writes (the synchronous backend) and
/// 512-byte blocks with the partial last block rewritten at each commit (O_DIRECT's way).
const ALIGNMENTS: &[u64] = &[1, 512];

fn aligned_opts(write_alignment: u64) -> WalOptions {
    WalOptions {
        pre_alloc_size: 2048,
        segment_target_size: 600,
        force_sync: true,
        max_batch_bytes: 1 << 20,
        max_batch_records: 100,
        write_alignment,
    }
}

/// Batch sizes of the workload; zxids run 1, 2, 3, ...
const BATCHES: &[usize] = &[1, 3, 1, 5, 2, 8, 1, 1, 4, 6, 2, 3, 7, 1, 2];

#[derive(Debug, Default)]
struct Outcome {
    appended: Vec<i64>,
    committed: Vec<i64>,
}

fn workload(b: &SimBackend) -> Outcome {
    workload_aligned(b, 1)
}

fn workload_aligned(b: &SimBackend, align: u64) -> Outcome {
    let mut out = Outcome::default();
    let Ok((mut wal, _)) = Wal::open(b.clone(), Path::new(DIR), aligned_opts(align), 0) else {
        return out;
    };
    let mut zxid = 0;
    for (i, n) in BATCHES.iter().enumerate() {
        for _ in 0..*n {
            zxid += 1;
            if wal.append(zxid, &payload(zxid)).is_err() {
                return out;
            }
            out.appended.push(zxid);
        }
        if i == 9 && wal.roll().is_err() {
            return out;
        }
        match wal.commit() {
            Ok(stats) => {
                assert_eq!(stats.durable_zxid, zxid);
                out.committed = out.appended.clone();
            }
            Err(_) => return out,
        }
    }
    out
}

fn recover(b: SimBackend) -> Result<(Wal<SimBackend>, Recovered), StorageError> {
    recover_aligned(b, 1)
}

fn recover_aligned(
    b: SimBackend,
    align: u64,
) -> Result<(Wal<SimBackend>, Recovered), StorageError> {
    Wal::open(b, Path::new(DIR), aligned_opts(align), 0)
}

fn check(out: &Outcome, rec: &Recovered) {
    let got: Vec<i64> = rec.records.iter().map(|r| r.0).collect();
    assert!(
        got.len() >= out.committed.len(),
        "lost committed records: {got:?} vs {out:?}"
    );
    assert_eq!(
        got[..],
        out.appended[..got.len()],
        "not a prefix of what was appended"
    );
    for (z, p) in &rec.records {
        assert_eq!(p, &payload(*z));
    }
}

fn total_syncs(align: u64) -> u64 {
    let b = SimBackend::new();
    let out = workload_aligned(&b, align);
    assert_eq!(out.committed.len(), BATCHES.iter().sum::<usize>());
    b.sync_count()
}

#[test]
fn every_sync_point_recovers_committed_records() {
    for &align in ALIGNMENTS {
        every_sync_point_recovers(align);
    }
}

fn every_sync_point_recovers(align: u64) {
    let total = total_syncs(align);
    assert!(total > 15, "workload too small: {total} syncs");
    for n in 0..=total {
        let b = SimBackend::new();
        b.fail_sync_at(n + 1);
        let out = workload_aligned(&b, align);
        let (mut wal, rec) = recover_aligned(b.crash(), align)
            .unwrap_or_else(|e| panic!("align {align} sync {n}: {e}"));
        check(&out, &rec);
        assert!(
            rec.tail.as_ref().is_none_or(|t| t.garbage_bytes == 0),
            "align {align} sync {n}: {rec:?}"
        );
        // The recovered log is usable: append, commit, crash, recover again.
        let next = rec.last_zxid.unwrap_or(0) + 1;
        wal.append(next, &payload(next)).unwrap();
        wal.commit().unwrap();
        let (_, again) = recover_aligned(wal.backend().crash(), align).unwrap();
        assert_eq!(again.records.len(), rec.records.len() + 1, "sync {n}");
        assert!(again.tail.is_none());
    }
}

#[test]
fn torn_last_write_is_cut_and_reported() {
    for &align in ALIGNMENTS {
        torn_last_write_is_cut(align);
    }
}

/// With `align` > 1 the last write starts with the rewritten, already durable partial block:
/// tearing it anywhere must keep every earlier record.
fn torn_last_write_is_cut(align: u64) {
    let total = total_syncs(align);
    let mut torn_seen = 0;
    for n in 0..=total {
        let probe = SimBackend::new();
        probe.fail_sync_at(n + 1);
        workload_aligned(&probe, align);
        let Some((_, len)) = probe.last_write() else {
            continue;
        };
        for keep in [
            1,
            RECORD_HEADER_LEN / 2,
            RECORD_HEADER_LEN + 3,
            len / 3,
            len / 2,
            len.saturating_sub(1),
        ] {
            let b = SimBackend::new();
            b.fail_sync_at(n + 1);
            let out = workload_aligned(&b, align);
            assert!(b.tear_last_write(keep));
            let crashed = b.crash();
            let (_, rec) = recover_aligned(crashed.clone(), align)
                .unwrap_or_else(|e| panic!("align {align} sync {n} keep {keep}: {e}"));
            check(&out, &rec);
            if let Some(t) = &rec.tail {
                if t.garbage_bytes > 0 {
                    torn_seen += 1;
                    assert!(t.garbage_bytes <= keep as u64);
                    assert!(t.file.starts_with(DIR));
                    // The cut is physical and durable: a second recovery finds a clean log.
                    let (_, again) = recover_aligned(crashed.crash(), align).unwrap();
                    assert_eq!(again.records, rec.records);
                    assert!(again.tail.is_none(), "second recovery: {:?}", again.tail);
                }
            }
        }
    }
    assert!(
        torn_seen > 10,
        "align {align}: the tear cases never produced a torn tail ({torn_seen})"
    );
}

/// Builds a committed log and returns the backend and the path of its last segment.
fn committed_log() -> (SimBackend, Vec<PathBuf>) {
    let b = SimBackend::new();
    let out = workload(&b);
    assert!(!out.committed.is_empty());
    let (wal, _) = recover(b.clone()).unwrap();
    let segs = wal
        .segments()
        .iter()
        .map(|s| s.path.clone())
        .collect::<Vec<_>>();
    assert!(segs.len() >= 3);
    (b, segs)
}

/// Offset of the second-to-last record of `file`: a record with a valid one after it.
fn record_before_last(b: &SimBackend, file: &Path) -> usize {
    let offs = record_offsets(&b.live_contents(file).unwrap());
    assert!(offs.len() >= 2);
    offs[offs.len() - 2]
}

fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offs = Vec::new();
    let mut off = 0;
    while off + RECORD_HEADER_LEN <= bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        if len == BATCH_TAG as usize {
            off += BATCH_HEADER_LEN;
            continue;
        }
        if len == 0 && bytes[off..off + RECORD_HEADER_LEN].iter().all(|b| *b == 0) {
            break;
        }
        offs.push(off);
        off += RECORD_HEADER_LEN + len;
    }
    offs
}

#[test]
fn zeroed_tail_is_cut_with_count() {
    let (b, segs) = committed_log();
    let last = segs.last().unwrap();
    let bytes = b.live_contents(last).unwrap();
    let offs = record_offsets(&bytes);
    assert!(offs.len() >= 2);
    let last_off = *offs.last().unwrap();
    let len = u32::from_le_bytes(bytes[last_off..last_off + 4].try_into().unwrap()) as usize;
    let end = last_off + RECORD_HEADER_LEN + len;
    // Zero the last 5 bytes of the last record: its crc fails, nothing valid follows.
    assert!(b.zero_range(last, (end - 5) as u64, 5));
    let (_, rec) = recover(b.crash()).unwrap();
    let t = rec.tail.expect("tail cut must be reported");
    assert_eq!(&t.file, last);
    assert_eq!(t.valid_len, last_off as u64);
    assert_eq!(t.garbage_bytes, (RECORD_HEADER_LEN + len - 5) as u64);
    assert!(t.reason.contains("crc"), "{}", t.reason);
    let all: i64 = BATCHES.iter().sum::<usize>() as i64;
    assert_eq!(rec.last_zxid, Some(all - 1));

    // A fully zeroed record reads as the end of the log: clean, nothing reported.
    let (b, segs) = committed_log();
    let last = segs.last().unwrap();
    assert!(b.zero_range(last, last_off as u64, end - last_off));
    let (_, rec) = recover(b.crash()).unwrap();
    assert!(rec.tail.is_none());
    assert_eq!(rec.last_zxid, Some(all - 1));
}

#[test]
fn flipped_byte_before_tail_is_an_error_naming_file_and_offset() {
    // In the last segment, a record with valid records after it.
    let (b, segs) = committed_log();
    let last = segs.last().unwrap();
    let victim = record_before_last(&b, last);
    assert!(b.corrupt_byte(last, (victim + RECORD_HEADER_LEN + 2) as u64));
    match recover(b.crash()) {
        Err(StorageError::Corrupt {
            file,
            offset,
            reason,
        }) => {
            assert_eq!(&file, last);
            assert_eq!(offset, victim as u64);
            assert!(reason.contains("followed by a valid"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    // A damaged length field is caught too (the resync scan finds the next record).
    let (b, segs) = committed_log();
    let last = segs.last().unwrap();
    assert!(b.corrupt_byte(last, victim as u64));
    assert!(
        matches!(recover(b.crash()), Err(StorageError::Corrupt { offset, .. }) if offset == victim as u64)
    );

    // The last record of a segment that is not the last one.
    let (b, segs) = committed_log();
    let first = &segs[0];
    let offs = record_offsets(&b.live_contents(first).unwrap());
    let victim = *offs.last().unwrap();
    assert!(b.corrupt_byte(first, (victim + 9) as u64));
    match recover(b.crash()) {
        Err(e @ StorageError::Corrupt { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&first.display().to_string()), "{msg}");
            assert!(msg.contains(&format!("offset {victim}")), "{msg}");
            assert!(msg.contains("not the last"), "{msg}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn missing_segment_is_a_gap() {
    let (b, segs) = committed_log();
    b.remove(&segs[1]).unwrap();
    b.sync_dir(Path::new(DIR).join("version-2").as_path())
        .unwrap();
    match recover(b.crash()) {
        Err(StorageError::Gap { file, .. }) => assert_eq!(file, segs[2]),
        other => panic!("expected Gap, got {other:?}"),
    }
}

#[test]
fn log_starting_after_snapshot_is_a_gap() {
    let (b, _) = committed_log();
    // Replaying from a snapshot at zxid 0 works; the log starts at 1.
    assert!(Wal::open(b.clone(), Path::new(DIR), opts(), 0).is_ok());
    // Drop the first segment: the log now starts later than a replay from 0 needs.
    let (wal, _) = recover(b.clone()).unwrap();
    let first = wal.segments()[0].path.clone();
    drop(wal);
    b.remove(&first).unwrap();
    assert!(matches!(recover(b.clone()), Err(StorageError::Gap { .. })));
}

#[test]
fn segment_name_must_match_first_record() {
    let (b, segs) = committed_log();
    let last = segs.last().unwrap();
    let renamed = last.with_file_name("log.ffff");
    b.rename(last, &renamed).unwrap();
    // Still sorted last, but named after a zxid its first record does not have.
    match recover(b) {
        Err(StorageError::Corrupt {
            file,
            offset: 0,
            reason,
        }) => {
            assert_eq!(file, renamed);
            assert!(reason.contains("file name"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

proptest! {
    /// Any prefix of a framed log, padded with zeros, recovers to a prefix of its records.
    #[test]
    fn any_truncation_recovers_a_prefix(n in 1usize..20, cut in 0usize..2000, pad in 0usize..100) {
        let b = SimBackend::new();
        let dir = Path::new(DIR).join("version-2");
        b.create_dir_all(&dir).unwrap();
        let mut bytes = Vec::new();
        for z in 1..=n as i64 {
            frame_record(z, &payload(z), &mut bytes);
        }
        let cut = cut.min(bytes.len());
        bytes.truncate(cut);
        bytes.resize(cut + pad, 0);
        let path = dir.join("log.1");
        let mut f = b.create(&path).unwrap();
        use ringkeeper_storage::backend::BackendFile;
        f.write_at(0, &bytes).unwrap();
        let (_, rec) = recover(b).unwrap();
        let got: Vec<i64> = rec.records.iter().map(|r| r.0).collect();
        let expected: Vec<i64> = (1..=got.len() as i64).collect();
        prop_assert_eq!(got, expected);
    }
}

/// Recovery reads what the log holds, not the preallocated zeros behind it: at most the valid
/// bytes plus, per segment, the end check window and one read chunk of rounding.
#[test]
fn recovery_reads_the_log_not_the_preallocation() {
    use ringkeeper_storage::wal::{END_CHECK_LEN, READ_CHUNK};
    let b = SimBackend::new();
    let o = WalOptions {
        pre_alloc_size: 64 << 20,
        segment_target_size: 4 << 20,
        force_sync: false,
        ..WalOptions::default()
    };
    let (mut wal, _) = Wal::open(b.clone(), Path::new(DIR), o.clone(), 0).unwrap();
    let body = vec![7u8; 1000];
    for z in 1..=6000i64 {
        wal.append(z, &body).unwrap();
        if z % 500 == 0 {
            wal.commit().unwrap();
        }
    }
    let segs = wal.segments().to_vec();
    drop(wal);
    assert_eq!(segs.len(), 2);
    let valid = 6000 * (RECORD_HEADER_LEN + body.len()) as u64;
    let allocated: u64 = segs.iter().map(|s| b.file_len(&s.path).unwrap()).sum();
    assert!(allocated >= 128 << 20, "{allocated}");

    let before = b.bytes_read();
    let (_, rec) = Wal::open(b.clone(), Path::new(DIR), o, 0).unwrap();
    let read = b.bytes_read() - before;
    assert_eq!(rec.records.len(), 6000);
    assert!(rec.tail.is_none());
    assert!(
        read <= valid + segs.len() as u64 * (END_CHECK_LEN + READ_CHUNK) as u64,
        "read {read} bytes for {valid} valid bytes"
    );
    assert!(
        read <= 2 * valid + READ_CHUNK as u64,
        "read {read} bytes for {valid} valid bytes"
    );
}

#[test]
fn zeroed_header_before_the_tail_is_an_error() {
    // A zero header reads as an end marker, but valid records right after it mean the log
    // was damaged, not that it ended.
    let (b, segs) = committed_log();
    let last = segs.last().unwrap();
    let victim = record_before_last(&b, last);
    assert!(b.zero_range(last, victim as u64, RECORD_HEADER_LEN));
    match recover(b.crash()) {
        Err(StorageError::Corrupt {
            file,
            offset,
            reason,
        }) => {
            assert_eq!(&file, last);
            assert_eq!(offset, victim as u64);
            assert!(
                reason.contains("end marker followed by non-zero"),
                "{reason}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// One restart of a server with `forceSync=no`: load the newest snapshot, recover the log
/// after it, return the log and the replayed zxids.
fn restart_unsynced(b: SimBackend) -> (Wal<SimBackend>, i64, Vec<i64>) {
    use ringkeeper_storage::snapshot::load_latest_snapshot;
    let snap = load_latest_snapshot(&b, Path::new(SNAP_DIR))
        .unwrap()
        .map_or(0, |(z, _)| z);
    let o = WalOptions {
        force_sync: false,
        ..opts()
    };
    let (wal, rec) = Wal::open(b, Path::new(DIR), o, snap)
        .unwrap_or_else(|e| panic!("restart after snapshot {snap:#x}: {e}"));
    (wal, snap, rec.records.iter().map(|r| r.0).collect())
}

const SNAP_DIR: &str = "/data";

fn commit_range(wal: &mut Wal<SimBackend>, zxids: std::ops::RangeInclusive<i64>) {
    for z in zxids {
        wal.append(z, &payload(z)).unwrap();
    }
    wal.commit().unwrap();
}

/// forceSync=no: a power cut loses the log's unsynced tail while a (durable) snapshot is
/// newer than what is left of the log. The first restart continues from the snapshot; the
/// writes after it must land so that the next restart (same snapshot) works too and finds
/// every one of them.
#[test]
fn snapshot_newer_than_the_log_end_survives_two_restarts() {
    use ringkeeper_storage::snapshot::{write_snapshot, SnapshotImage};
    let b = SimBackend::new();
    let (mut wal, snap, _) = restart_unsynced(b.clone());
    assert_eq!(snap, 0);
    commit_range(&mut wal, 1..=5);
    // The page cache happened to write this batch back; the next one it did not.
    let (_, len) = b.last_write().unwrap();
    assert!(b.tear_last_write(len));
    commit_range(&mut wal, 6..=10);
    let image = SnapshotImage {
        last_zxid: 10,
        ..SnapshotImage::default()
    };
    write_snapshot(&b, Path::new(SNAP_DIR), &image).unwrap();
    drop(wal);

    // Power cut: the log ends at 5, the snapshot is at 10.
    let (mut wal, snap, replayed) = restart_unsynced(b.crash());
    assert_eq!(snap, 10);
    assert!(replayed.is_empty(), "{replayed:?}");
    commit_range(&mut wal, 11..=13);
    commit_range(&mut wal, 14..=15);
    // Everything written after the restart made it to disk this time.
    let b = wal.backend().clone();
    for seg in wal.segments() {
        let mut f = b.open(&seg.path).unwrap();
        use ringkeeper_storage::backend::BackendFile;
        f.sync_data().unwrap();
    }
    drop(wal);

    let (_, snap, replayed) = restart_unsynced(b.crash());
    assert_eq!(snap, 10);
    assert_eq!(replayed, (11..=15).collect::<Vec<_>>());
}

/// forceSync=no: the power cut tore a segment that a later, surviving segment follows, but
/// the snapshot covers everything in the torn one. Its tail is irrelevant: start-up goes on.
#[test]
fn torn_segment_before_the_snapshot_is_irrelevant() {
    use ringkeeper_storage::snapshot::{write_snapshot, SnapshotImage};
    let b = SimBackend::new();
    let (mut wal, _, _) = restart_unsynced(b.clone());
    commit_range(&mut wal, 1..=5);
    let (_, len) = b.last_write().unwrap();
    assert!(b.tear_last_write(len));
    commit_range(&mut wal, 6..=7);
    assert!(b.tear_last_write(RECORD_HEADER_LEN + 3));
    // A snapshot at 7 rolls the log; the new segment is written back, the old tail torn.
    let image = SnapshotImage {
        last_zxid: 7,
        ..SnapshotImage::default()
    };
    write_snapshot(&b, Path::new(SNAP_DIR), &image).unwrap();
    wal.roll().unwrap();
    commit_range(&mut wal, 8..=9);
    let (_, len) = b.last_write().unwrap();
    assert!(b.tear_last_write(len));
    drop(wal);

    let (mut wal, snap, replayed) = restart_unsynced(b.crash());
    assert_eq!(snap, 7);
    assert_eq!(replayed, vec![8, 9]);
    commit_range(&mut wal, 10..=11);
    let (_, len) = wal.backend().last_write().unwrap();
    assert!(wal.backend().tear_last_write(len));
    let (_, _, replayed) = restart_unsynced(wal.backend().crash());
    assert_eq!(replayed, vec![8, 9, 10, 11]);
}

/// Payloads large enough that a batch spans several sectors.
fn big_payload(zxid: i64) -> Vec<u8> {
    payload(zxid)
        .into_iter()
        .cycle()
        .take(200 + (zxid as usize * 37) % 300)
        .collect()
}

const BIG_BATCHES: &[usize] = &[1, 4, 2, 7, 1, 3, 8, 2, 5, 1];

fn big_opts(write_alignment: u64) -> WalOptions {
    WalOptions {
        pre_alloc_size: 16 << 10,
        segment_target_size: 8 << 10,
        ..aligned_opts(write_alignment)
    }
}

fn big_workload(b: &SimBackend, align: u64) -> Outcome {
    let mut out = Outcome::default();
    let Ok((mut wal, _)) = Wal::open(b.clone(), Path::new(DIR), big_opts(align), 0) else {
        return out;
    };
    let mut zxid = 0;
    for n in BIG_BATCHES {
        for _ in 0..*n {
            zxid += 1;
            wal.append(zxid, &big_payload(zxid)).unwrap();
            out.appended.push(zxid);
        }
        match wal.commit() {
            Ok(_) => out.committed = out.appended.clone(),
            Err(_) => return out,
        }
    }
    out
}

/// A power cut during a batch's write (its `fdatasync` never returned) keeps any subset of
/// the batch's sectors: later ones may be on disk while earlier ones are not. Nothing in that
/// batch was acknowledged, so recovery cuts it and starts; it must not report corruption.
#[test]
fn batch_torn_in_any_sector_order_is_cut() {
    type Pattern = fn(usize) -> bool;
    let patterns: &[(&str, Pattern)] = &[
        ("all but the first", |i| i > 0),
        ("only the second", |i| i == 1),
        ("odd", |i| i % 2 == 1),
        ("even from the third", |i| i >= 2 && i % 2 == 0),
    ];
    for &align in ALIGNMENTS {
        let probe = SimBackend::new();
        big_workload(&probe, align);
        let total = probe.sync_count();
        let mut multi_sector = 0;
        for n in 0..=total {
            for (name, keep) in patterns {
                let b = SimBackend::new();
                b.fail_sync_at(n + 1);
                let out = big_workload(&b, align);
                let Some((off, len)) = b.last_write() else {
                    continue;
                };
                if (off as usize + len).div_ceil(SECTOR) - off as usize / SECTOR > 2 {
                    multi_sector += 1;
                }
                assert!(b.tear_last_write_sectors(SECTOR, keep));
                let crashed = b.crash();
                let (_, rec) = Wal::open(crashed.clone(), Path::new(DIR), big_opts(align), 0)
                    .unwrap_or_else(|e| panic!("align {align} sync {n} keep {name}: {e}"));
                let got: Vec<i64> = rec.records.iter().map(|r| r.0).collect();
                assert!(got.len() >= out.committed.len(), "lost committed: {got:?}");
                assert_eq!(got[..], out.appended[..got.len()]);
                for (z, p) in &rec.records {
                    assert_eq!(p, &big_payload(*z));
                }
                // The cut is durable: the next start finds the same records and a clean log.
                let (_, again) =
                    Wal::open(crashed.crash(), Path::new(DIR), big_opts(align), 0).unwrap();
                assert_eq!(again.records, rec.records, "align {align} sync {n} {name}");
            }
        }
        assert!(
            multi_sector > 10,
            "align {align}: too few multi-sector batches"
        );
    }
}

/// A lost sector in a batch that later batches follow (so it was synced and acknowledged)
/// stops start-up with file and offset, even though it looks like a torn write.
#[test]
fn lost_sector_in_an_acknowledged_batch_is_corrupt() {
    let b = SimBackend::new();
    let out = big_workload(&b, 1);
    assert_eq!(out.committed.len(), BIG_BATCHES.iter().sum::<usize>());
    let (wal, _) = Wal::open(b.clone(), Path::new(DIR), big_opts(1), 0).unwrap();
    let last = wal.segments().last().unwrap().path.clone();
    drop(wal);
    let offs = record_offsets(&b.live_contents(&last).unwrap());
    assert!(offs.len() >= 4, "{offs:?}");
    // A sector inside the first records of the segment, which later batches follow.
    let sector = (offs[1] / SECTOR + 1) * SECTOR;
    assert!(sector < offs[offs.len() - 2]);
    assert!(b.zero_range(&last, sector as u64, SECTOR));
    match Wal::open(b.crash(), Path::new(DIR), big_opts(1), 0) {
        Err(StorageError::Corrupt {
            file,
            offset,
            reason,
        }) => {
            assert_eq!(file, last);
            let damaged = *offs.iter().rfind(|o| **o < sector).unwrap();
            assert_eq!(offset, damaged as u64);
            assert!(reason.contains("synced up to offset"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// The first start creates `<dataLogDir>/version-2` (and dataLogDir): their names must be
/// synced into their parents, or a power cut loses the directory with every synced segment
/// in it. The same for the snapshot directory.
#[test]
fn new_directories_survive_a_power_cut() {
    use ringkeeper_storage::snapshot::{load_latest_snapshot, write_snapshot, SnapshotImage};
    let b = SimBackend::new();
    let (mut wal, _) = Wal::open(b.clone(), Path::new(DIR), opts(), 0).unwrap();
    commit_range(&mut wal, 1..=3);
    let image = SnapshotImage {
        last_zxid: 3,
        ..SnapshotImage::default()
    };
    write_snapshot(&b, Path::new(SNAP_DIR), &image).unwrap();
    let crashed = b.crash();
    let (_, rec) = Wal::open(crashed.clone(), Path::new(DIR), opts(), 0).unwrap();
    assert_eq!(rec.records.len(), 3, "the synced log is gone");
    let snap = load_latest_snapshot(&crashed, Path::new(SNAP_DIR)).unwrap();
    assert_eq!(snap.map(|(z, _)| z), Some(3), "the synced snapshot is gone");
}
