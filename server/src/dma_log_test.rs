//! The O_DIRECT writer against the storage crate's recovery: records written through
//! [`DmaLog`] on a glommio executor (segment rolls, partial-block tails rewritten at every
//! commit, preallocation) must read back exactly with `Wal::open` on `FsBackend`; a last
//! write torn at any point must recover to every record committed before it; a failing
//! write must poison the log with a message naming the file.

use super::DmaLog;
use crate::segment_file::SegmentFile;
use glommio::LocalExecutorBuilder;
use ringkeeper_storage::wal::{Wal, WalOptions, VERSION_DIR};
use ringkeeper_storage::FsBackend;
use std::path::Path;

pub(super) fn opts() -> WalOptions {
    WalOptions {
        pre_alloc_size: 16 << 10,
        segment_target_size: 6000,
        force_sync: true,
        max_batch_bytes: 1 << 20,
        max_batch_records: 1000,
        write_alignment: 1,
    }
}

/// Sizes vary so that batches end anywhere inside a 512-byte block.
pub(super) fn payload(zxid: i64) -> Vec<u8> {
    let len = 1 + (zxid as usize * 37) % 300;
    (0..len)
        .map(|i| b'a' + ((zxid as usize + i) % 26) as u8)
        .collect()
}

pub(super) fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    let ex = LocalExecutorBuilder::default()
        .io_memory(1 << 20)
        .make()
        .expect("executor");
    ex.run(f)
}

/// Recovers `dir` (sync path) and hands the log to a new [`DmaLog`].
fn open(dir: &Path) -> (DmaLog, Vec<(i64, Vec<u8>)>) {
    let (wal, rec) = Wal::open(FsBackend::new(), dir, opts(), 0).expect("recover");
    (DmaLog::new(wal.into_core()), rec.records)
}

async fn write(log: &mut DmaLog, zxids: std::ops::RangeInclusive<i64>, per_batch: usize) {
    let last = *zxids.end();
    for z in zxids {
        log.append(z, &payload(z)).unwrap();
        if (z as usize).is_multiple_of(per_batch) || z == last {
            let stats = log.commit().await.unwrap();
            assert_eq!(stats.durable_zxid, z);
        }
    }
}

fn check(records: &[(i64, Vec<u8>)], expected: std::ops::RangeInclusive<i64>) {
    let zxids: Vec<i64> = records.iter().map(|r| r.0).collect();
    assert_eq!(zxids, expected.collect::<Vec<_>>());
    for (z, p) in records {
        assert_eq!(p, &payload(*z), "zxid {z}");
    }
}

#[test]
fn segments_are_created_with_o_direct_alignment() {
    let tmp = tempfile::tempdir().unwrap();
    let align = run(async {
        let f = SegmentFile::create(&tmp.path().join("log.1"))
            .await
            .unwrap();
        f.alignment()
    });
    // ext4/xfs give the logical block size; tmpfs too (glommio writes it buffered).
    assert!(align >= 512 && align.is_power_of_two(), "{align}");
}

#[test]
fn records_read_back_across_rolls_and_partial_tails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut log, rec) = open(dir);
    assert!(rec.is_empty());
    run(async {
        write(&mut log, 1..=150, 7).await;
        log.roll().unwrap();
        write(&mut log, 151..=160, 1).await;
    });
    let segments = log.segments().to_vec();
    assert!(segments.len() >= 4, "{segments:?}");
    for s in &segments {
        let len = std::fs::metadata(&s.path).unwrap().len();
        assert_eq!(
            len % (16 << 10),
            0,
            "{}: grows in preAllocSize steps",
            s.path.display()
        );
    }
    drop(log);
    let (mut log, rec) = open(dir);
    check(&rec, 1..=160);
    // Writing continues in a fresh segment after recovery.
    run(write(&mut log, 161..=170, 3));
    assert_eq!(log.segments().len(), segments.len() + 1);
    drop(log);
    check(&open(dir).1, 1..=170);
}

#[test]
fn torn_last_write_recovers_every_earlier_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut log, _) = open(dir);
    // One executor for the log's life: its open file belongs to the executor's reactor.
    let (seg, before, after) = run(async {
        write(&mut log, 1..=10, 3).await;
        let seg = log.segments().last().unwrap().path.clone();
        let before = std::fs::read(&seg).unwrap();
        write(&mut log, 11..=14, 4).await;
        (seg.clone(), before, std::fs::read(&seg).unwrap())
    });
    drop(log);
    let first_diff = before.iter().zip(&after).position(|(a, b)| a != b).unwrap();
    // The last write started at a block boundary, rewriting the partial block of 1..=10.
    assert!(
        first_diff % 512 != 0,
        "the rewritten tail should start mid-block"
    );
    let last_diff = after.len() - after.iter().rev().position(|b| *b != 0).unwrap();
    for keep in [
        first_diff,
        first_diff + 5,
        first_diff + 16,
        first_diff + 100,
        last_diff - 1,
    ] {
        // A crash that let only part of the write reach the disk.
        let mut torn = after[..keep].to_vec();
        torn.extend_from_slice(&before[keep..]);
        std::fs::write(&seg, &torn).unwrap();
        let (_, rec) = open(dir);
        let n = rec.len() as i64;
        assert!((10..14).contains(&n), "keep {keep}: {n} records");
        check(&rec, 1..=n);
    }
}

/// Zeros go ahead of the log's end while commits of every size go on. Small chunks and a
/// short distance make commits overtake the zeroing and wait for chunks in flight; every
/// record must still read back, in every segment.
#[test]
fn zeroing_ahead_never_touches_written_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = WalOptions {
        segment_target_size: 40_000,
        ..opts()
    };
    let (wal, _) = Wal::open(FsBackend::new(), dir, o, 0).unwrap();
    let mut log = DmaLog::with_zeroing(wal.into_core(), 4096, 8192);
    let chunks = run(async {
        let before = crate::zero_ahead::chunks_started();
        for (i, per_batch) in [1, 2, 5, 13, 40, 3, 60, 1].into_iter().enumerate() {
            let from = i as i64 * 100 + 1;
            write(&mut log, from..=from + 99, per_batch).await;
        }
        crate::zero_ahead::chunks_started() - before
    });
    assert!(chunks >= 10, "{chunks} zero chunks");
    assert!(log.segments().len() >= 2, "{:?}", log.segments());
    drop(log);
    check(&open(dir).1, 1..=800);
}

#[test]
fn failed_write_poisons_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut log, _) = open(tmp.path());
    std::fs::remove_dir_all(tmp.path().join(VERSION_DIR)).unwrap();
    log.append(1, b"x").unwrap();
    let err = run(log.commit()).unwrap_err().to_string();
    assert!(err.contains(VERSION_DIR), "{err}");
    let again = log.append(2, b"y").unwrap_err();
    assert!(again.is_poisoned(), "{again}");
}

#[test]
fn force_sync_off_still_writes_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = WalOptions {
        force_sync: false,
        ..opts()
    };
    let (wal, _) = Wal::open(FsBackend::new(), dir, o, 0).unwrap();
    let mut log = DmaLog::new(wal.into_core());
    let stats = run(async {
        log.append(1, &payload(1)).unwrap();
        log.commit().await.unwrap()
    });
    assert_eq!(stats.fsync_ns, 0);
    drop(log);
    check(&open(dir).1, 1..=1);
}

/// Commit latency of this writer against the synchronous `Wal` on the same disk, batches of
/// `RK_BATCH` (default 50, what 32 sessions x 4 in flight produce) records of 100 bytes. A
/// measurement, not a check (`RK_BENCH_DIR` picks the disk):
/// `cargo test --release -p ringkeeper commit_latency -- --ignored --nocapture`.
#[test]
#[ignore]
fn commit_latency() {
    const COMMITS: i64 = 2000;
    let batch: i64 = std::env::var("RK_BATCH").map_or(50, |b| b.parse().unwrap());
    fn pct(mut v: Vec<u64>) -> String {
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize] / 1000;
        format!(
            "p50 {} us, p90 {} us, p99 {} us",
            at(0.5),
            at(0.9),
            at(0.99)
        )
    }
    let o = WalOptions {
        pre_alloc_size: 64 << 20,
        segment_target_size: 64 << 20,
        ..opts()
    };
    let tmp = tempfile::tempdir_in(std::env::var("RK_BENCH_DIR").unwrap_or("/tmp".into())).unwrap();
    let (mut wal, _) = Wal::open(FsBackend::new(), &tmp.path().join("sync"), o.clone(), 0).unwrap();
    let mut times = Vec::new();
    for c in 0..COMMITS {
        for z in c * batch + 1..=(c + 1) * batch {
            wal.append(z, &[b'x'; 100]).unwrap();
        }
        let t = std::time::Instant::now();
        wal.commit().unwrap();
        times.push(t.elapsed().as_nanos() as u64);
    }
    println!("sync Wal (pwrite + fdatasync): {}", pct(times));
    for (name, ahead) in [
        ("no zeroing", 0),
        ("zeroing ahead", crate::zero_ahead::AHEAD),
    ] {
        let (wal, _) = Wal::open(
            FsBackend::new(),
            &tmp.path().join(format!("dma-{ahead}")),
            o.clone(),
            0,
        )
        .unwrap();
        let mut log = DmaLog::with_zeroing(wal.into_core(), crate::zero_ahead::CHUNK, ahead);
        let times = run(async {
            let mut times = Vec::new();
            for c in 0..COMMITS {
                for z in c * batch + 1..=(c + 1) * batch {
                    log.append(z, &[b'x'; 100]).unwrap();
                }
                let t = std::time::Instant::now();
                log.commit().await.unwrap();
                times.push(t.elapsed().as_nanos() as u64);
            }
            times
        });
        println!(
            "DmaLog (O_DIRECT write + fdatasync), {name}: {}",
            pct(times)
        );
    }
}
