//! The O_DIRECT writer against power loss. A SIGKILL keeps the page cache, so the crash
//! suite cannot see a missing `fdatasync` or a zero chunk written over data that a later
//! sync made durable. Here [`DmaLog`] and its zero-ahead task write to the storage crate's
//! `SimBackend` (live and durable image of every file and directory) through the same
//! [`LogDisk`] interface as the real disk: the workload runs with sync number N+1 failing
//! (exactly N syncs happened), a power cut keeps only the durable image (optionally plus any
//! subset of the last write's sectors), and `Wal::open` must find every acknowledged record,
//! only a prefix of what was appended, and no damage. The failed sync must poison the log.

use super::tests::{opts, payload, run};
use super::DmaLog;
use crate::segment_file::{LogDisk, SegmentIo};
use futures_lite::future::yield_now;
use ringkeeper_storage::backend::{Backend, BackendFile, SimBackend, SimFile};
use ringkeeper_storage::wal::{Wal, SECTOR};
use ringkeeper_storage::StorageError;
use std::cell::RefCell;
use std::path::Path;

const DIR: &str = "/datalog";

/// A disk in memory that loses whatever was not synced when the power goes.
struct SimDisk {
    backend: SimBackend,
    /// The file's write alignment: 512 models O_DIRECT, 1 the buffered fallback.
    align: u64,
}

struct SimSegment {
    file: RefCell<SimFile>,
    align: u64,
}

impl LogDisk for SimDisk {
    type File = SimSegment;

    async fn create(&self, path: &Path) -> Result<SimSegment, StorageError> {
        Ok(SimSegment {
            file: RefCell::new(self.backend.create(path)?),
            align: self.align,
        })
    }

    async fn sync_dir(&self, dir: &Path) -> Result<(), StorageError> {
        self.backend.sync_dir(dir)
    }
}

impl SegmentIo for SimSegment {
    fn alignment(&self) -> u64 {
        self.align
    }

    async fn preallocate(&self, len: u64) -> Result<(), StorageError> {
        self.file.borrow_mut().preallocate(len)
    }

    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        // What O_DIRECT demands of the writer.
        assert_eq!(offset % self.align, 0, "unaligned write offset {offset}");
        assert_eq!(
            data.len() as u64 % self.align,
            0,
            "unaligned length {}",
            data.len()
        );
        self.file.borrow_mut().write_at(offset, data)
    }

    async fn write_zeros(&self, offset: u64, len: u64) -> Result<(), StorageError> {
        if self.align <= 1 {
            return Ok(());
        }
        assert_eq!(offset % self.align, 0, "unaligned zero chunk at {offset}");
        // The chunk lands a while after it was started, as an io_uring write does: commits
        // run in between and must wait for it where they would overlap.
        for _ in 0..3 {
            yield_now().await;
        }
        self.file
            .borrow_mut()
            .write_at(offset, &vec![0; len as usize])
    }

    async fn sync_data(&self) -> Result<(), StorageError> {
        self.file.borrow_mut().sync_data()
    }

    async fn close(self) {}
}

/// Records per commit; a roll before the 6th.
const BATCHES: &[usize] = &[1, 3, 7, 2, 12, 1, 5, 20, 1, 4, 9, 2, 30, 1];

#[derive(Debug, Default)]
struct Outcome {
    appended: Vec<i64>,
    acknowledged: Vec<i64>,
    failure: Option<String>,
}

/// Runs the workload until a commit fails; then checks the log stays poisoned.
async fn workload(b: &SimBackend, align: u64) -> Outcome {
    let mut out = Outcome::default();
    // Recovery creates the directories (and syncs them) before the writer takes over.
    let wal = match Wal::open(b.clone(), Path::new(DIR), opts(), 0) {
        Ok((wal, _)) => wal,
        Err(e) => {
            out.failure = Some(format!("open: {e}"));
            return out;
        }
    };
    let disk = SimDisk {
        backend: b.clone(),
        align,
    };
    // Small chunks close ahead: commits keep overtaking the zeroing.
    let mut log = DmaLog::on_disk_with_zeroing(wal.into_core(), disk, 1024, 4096);
    let mut zxid = 0;
    for (i, n) in BATCHES.iter().enumerate() {
        for _ in 0..*n {
            zxid += 1;
            log.append(zxid, &payload(zxid)).unwrap();
            out.appended.push(zxid);
        }
        if i == 5 {
            log.roll().unwrap();
        }
        match log.commit().await {
            Ok(stats) => {
                assert_eq!(stats.durable_zxid, zxid);
                out.acknowledged = out.appended.clone();
            }
            Err(e) => {
                out.failure = Some(e.to_string());
                // Poisoned for good: nothing after a failed write or sync is acknowledged.
                let again = log.append(zxid + 1, b"x").unwrap_err();
                assert!(again.is_poisoned(), "{again}");
                let commit = log.commit().await.unwrap_err();
                assert!(commit.is_poisoned(), "{commit}");
                return out;
            }
        }
    }
    out
}

/// Recovers what a power cut left and checks it against what the writer acknowledged.
fn check_recovery(crashed: SimBackend, out: &Outcome, what: &str) {
    let (_, rec) = Wal::open(crashed, Path::new(DIR), opts(), 0)
        .unwrap_or_else(|e| panic!("{what}: recovery failed: {e}"));
    let got: Vec<i64> = rec.records.iter().map(|r| r.0).collect();
    assert!(
        got.len() >= out.acknowledged.len(),
        "{what}: lost acknowledged records: recovered {got:?}, acknowledged {:?}",
        out.acknowledged
    );
    assert_eq!(got[..], out.appended[..got.len()], "{what}: not a prefix");
    for (z, p) in &rec.records {
        assert_eq!(p, &payload(*z), "{what}: zxid {z}");
    }
}

fn total_syncs(align: u64) -> u64 {
    let b = SimBackend::new();
    let out = run(workload(&b, align));
    assert!(out.failure.is_none(), "{:?}", out.failure);
    assert_eq!(out.acknowledged.len(), BATCHES.iter().sum::<usize>());
    // Without a power cut everything reads back, in the live and in the durable image: no
    // zero chunk landed on a record.
    check_recovery(b.clone(), &out, "live image");
    check_recovery(b.crash(), &out, "durable image");
    b.sync_count()
}

/// Power cut at every sync point of the O_DIRECT writer (512-byte blocks, zeroing ahead) and
/// of its buffered fallback (alignment 1, no zeroing), with the last write kept in whole, in
/// part, or in any sector order.
#[test]
fn power_cut_at_every_sync_point_keeps_every_acknowledged_record() {
    for align in [512, 1] {
        let total = total_syncs(align);
        assert!(total > 15, "workload too small: {total} syncs");
        run(async {
            for n in 0..=total {
                let b = SimBackend::new();
                b.fail_sync_at(n + 1);
                let out = workload(&b, align).await;
                let failure = out.failure.clone();
                if n < total {
                    let failure = failure.expect("sync n+1 failed");
                    assert!(failure.contains("injected sync failure"), "{failure}");
                }
                let what = format!("align {align} sync {n}");
                check_recovery(b.crash(), &out, &what);
                // The write in flight when the power went: some of its sectors made it.
                let Some((_, len)) = b.last_write() else {
                    continue;
                };
                assert!(b.tear_last_write_sectors(SECTOR, |i| i % 2 == 1));
                check_recovery(b.crash(), &out, &format!("{what}, odd sectors"));
                assert!(b.tear_last_write_sectors(SECTOR, |i| i > 0));
                check_recovery(b.crash(), &out, &format!("{what}, all but the first"));
                assert!(b.tear_last_write_sectors(SECTOR, |_| true));
                check_recovery(b.crash(), &out, &format!("{what}, all {len} bytes"));
            }
        });
    }
}

/// Any operation of the writer failing (a segment create, a directory sync, a write, a zero
/// chunk in the background, a sync) poisons the log and loses nothing acknowledged.
#[test]
fn failure_of_any_operation_poisons_and_keeps_acknowledged_records() {
    let probe = SimBackend::new();
    run(workload(&probe, 512));
    let total = probe.op_count();
    run(async {
        let mut failed = 0;
        for n in 0..total {
            let b = SimBackend::new();
            b.fail_ops_after(n);
            let out = workload(&b, 512).await;
            failed += usize::from(out.failure.is_some());
            check_recovery(b.crash(), &out, &format!("op {n}"));
        }
        assert!(failed as u64 > total / 2, "{failed} of {total} runs failed");
    });
}
