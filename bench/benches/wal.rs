//! Write-ahead log micro-benchmarks (ringkeeper_storage::wal): record framing, group commit on
//! the real file system with and without `fdatasync`, and recovery of preallocated segments.
//!
//! `cargo bench -p ringkeeper-bench --bench wal -- --warm-up-time 1 --measurement-time 3`
//! The file-system groups write to a temporary directory (under $TMPDIR); their numbers are
//! only as good as that disk.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringkeeper_storage::backend::FsBackend;
use ringkeeper_storage::wal::{frame_record, Wal, WalOptions};

/// Payload of the append/commit groups (a small setData or create).
const PAYLOAD: usize = 100;

fn frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal_frame_record");
    for size in [100usize, 1024] {
        let payload = vec![0xa5u8; size];
        let mut out = Vec::with_capacity(size + 64);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &payload, |b, p| {
            let mut zxid = 0x1_0000_0000i64;
            b.iter(|| {
                zxid += 1;
                out.clear();
                frame_record(black_box(zxid), black_box(p), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn open_wal(dir: &Path, force_sync: bool) -> Wal<FsBackend> {
    let opts = WalOptions {
        force_sync,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(FsBackend::new(), dir, opts, 0).expect("open wal");
    wal
}

/// `batch` appends and one commit per iteration; throughput is per record.
fn commit_group(c: &mut Criterion, name: &str, force_sync: bool, batches: &[usize]) {
    let mut g = c.benchmark_group(name);
    if force_sync {
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
    }
    let payload = vec![b'x'; PAYLOAD];
    for &batch in batches {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut wal = open_wal(tmp.path(), force_sync);
        let mut zxid = 0i64;
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                for _ in 0..batch {
                    zxid += 1;
                    wal.append(zxid, &payload).expect("append");
                }
                black_box(wal.commit().expect("commit"))
            })
        });
    }
    g.finish();
}

fn commit_nosync(c: &mut Criterion) {
    commit_group(c, "wal_commit_nosync", false, &[1, 10, 100]);
}

fn commit_fsync(c: &mut Criterion) {
    commit_group(c, "wal_commit_fsync", true, &[1, 100]);
}

/// `Wal::open` of 5 segments with the default 64 MiB preallocation holding 10k records of
/// 100 bytes: recovery cost should follow the log's content, not its preallocated size.
fn recovery(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = WalOptions {
        force_sync: false,
        segment_target_size: 230_000,
        ..WalOptions::default()
    };
    let (mut wal, _) = Wal::open(FsBackend::new(), tmp.path(), opts.clone(), 0).expect("open");
    let payload = vec![b'x'; PAYLOAD];
    for z in 1..=10_000i64 {
        wal.append(z, &payload).expect("append");
        if z % 100 == 0 {
            wal.commit().expect("commit");
        }
    }
    let segments = wal.segments().len();
    drop(wal);
    let mut g = c.benchmark_group("wal_open");
    g.sample_size(20);
    g.bench_function(format!("{segments}x64MiB_prealloc_10k_records"), |b| {
        b.iter(|| {
            let (_, rec) =
                Wal::open(FsBackend::new(), tmp.path(), opts.clone(), 0).expect("recover");
            assert_eq!(rec.records.len(), 10_000);
            black_box(rec.last_zxid)
        })
    });
    g.finish();
}

criterion_group!(benches, frame, commit_nosync, commit_fsync, recovery);
criterion_main!(benches);
