//! Autopurge keeps the newest N valid snapshots (N >= 3) and exactly the log segments needed to
//! replay from the oldest kept one; recovery from every kept snapshot still works afterwards.

use std::path::Path;

use ringkeeper_storage::backend::SimBackend;
use ringkeeper_storage::snapshot::{load_snapshot_file, write_snapshot, SnapshotImage};
use ringkeeper_storage::wal::{Wal, WalOptions};
use ringkeeper_storage::{purge, StorageError};

const DATA: &str = "/data";
const LOG: &str = "/log";

fn opts() -> WalOptions {
    WalOptions {
        pre_alloc_size: 4096,
        ..WalOptions::default()
    }
}

/// Log segments starting at 1, 15, 25, 35, 45 (records 1..=50); snapshots at 10..=50.
fn setup() -> SimBackend {
    let b = SimBackend::new();
    let (mut wal, _) = Wal::open(b.clone(), Path::new(LOG), opts(), 0).unwrap();
    for z in 1..=50 {
        if [15, 25, 35, 45].contains(&z) {
            wal.roll().unwrap();
        }
        wal.append(z, format!("t{z}").as_bytes()).unwrap();
        wal.commit().unwrap();
    }
    let firsts: Vec<i64> = wal.segments().iter().map(|s| s.first_zxid).collect();
    assert_eq!(firsts, vec![1, 15, 25, 35, 45]);
    for z in [10, 20, 30, 40, 50] {
        write_snapshot(
            &b,
            Path::new(DATA),
            &SnapshotImage {
                last_zxid: z,
                ..Default::default()
            },
        )
        .unwrap();
    }
    b
}

fn names(paths: &[std::path::PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn replay_ok(b: &SimBackend, from: i64) {
    let (_, rec) = Wal::open(b.clone(), Path::new(LOG), opts(), from)
        .unwrap_or_else(|e| panic!("replay from {from}: {e}"));
    let zxids: Vec<i64> = rec.records.iter().map(|r| r.0).collect();
    assert_eq!(zxids, (from + 1..=50).collect::<Vec<_>>());
}

#[test]
fn keeps_newest_three_and_needed_logs() {
    let b = setup();
    let r = purge(&b, Path::new(DATA), Path::new(LOG), 3).unwrap();
    assert_eq!(r.oldest_kept_snapshot, Some(30));
    assert_eq!(
        names(&r.removed_snapshots),
        vec!["snapshot.14", "snapshot.a"]
    );
    assert_eq!(names(&r.removed_logs), vec!["log.1", "log.f"]);
    for z in [30, 40, 50] {
        let path = Path::new(DATA)
            .join("version-2")
            .join(format!("snapshot.{z:x}"));
        load_snapshot_file(&b.crash(), &path, z).unwrap();
        replay_ok(&b.crash(), z);
    }
    // Idempotent.
    let again = purge(&b, Path::new(DATA), Path::new(LOG), 3).unwrap();
    assert!(again.removed_snapshots.is_empty() && again.removed_logs.is_empty());
}

#[test]
fn retain_count_below_three_is_raised() {
    let b = setup();
    let r = purge(&b, Path::new(DATA), Path::new(LOG), 1).unwrap();
    assert_eq!(r.oldest_kept_snapshot, Some(30));
    let r = purge(&setup(), Path::new(DATA), Path::new(LOG), 4).unwrap();
    assert_eq!(r.oldest_kept_snapshot, Some(20));
    assert_eq!(names(&r.removed_logs), vec!["log.1"]);
}

#[test]
fn damaged_snapshots_do_not_count() {
    let b = setup();
    let newest = Path::new(DATA).join("version-2").join("snapshot.32");
    assert!(b.corrupt_byte(&newest, 40));
    let r = purge(&b, Path::new(DATA), Path::new(LOG), 3).unwrap();
    assert_eq!(r.oldest_kept_snapshot, Some(20));
    assert_eq!(names(&r.removed_snapshots), vec!["snapshot.a"]);
    assert_eq!(names(&r.removed_logs), vec!["log.1"]);
    replay_ok(&b.crash(), 20);
    // Replaying from before the kept logs is refused, not silently short.
    assert!(matches!(
        Wal::open(b.crash(), Path::new(LOG), opts(), 5),
        Err(StorageError::Gap { .. })
    ));
}

#[test]
fn nothing_removed_without_valid_snapshots() {
    let b = SimBackend::new();
    let (mut wal, _) = Wal::open(b.clone(), Path::new(LOG), opts(), 0).unwrap();
    wal.append(1, b"x").unwrap();
    wal.commit().unwrap();
    let r = purge(&b, Path::new(DATA), Path::new(LOG), 3).unwrap();
    assert_eq!(r, Default::default());
}
