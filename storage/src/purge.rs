//! Autopurge (zoo.cfg `autopurge.snapRetainCount`): keep the newest N valid snapshots (at least
//! 3, as ZooKeeper enforces) and the log segments needed to replay from the oldest kept one.

use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::error::Result;
use crate::snapshot::{list_snapshots, verify_snapshot_file};
use crate::wal::{list_segments, VERSION_DIR};

/// ZooKeeper refuses to keep fewer snapshots than this.
pub const MIN_SNAP_RETAIN_COUNT: usize = 3;

/// What [`purge`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Snapshot files removed.
    pub removed_snapshots: Vec<PathBuf>,
    /// Log segments removed.
    pub removed_logs: Vec<PathBuf>,
    /// zxid of the oldest snapshot kept, if any valid snapshot exists.
    pub oldest_kept_snapshot: Option<i64>,
}

/// Removes old snapshots and log segments.
///
/// Only snapshots that verify (header, length, payload crc) count towards the `N` kept, so a
/// damaged newest snapshot never costs the logs an older valid one needs. Every snapshot file
/// older than the oldest kept one is removed. Segments are kept from the newest one whose first
/// zxid is at or below the oldest kept snapshot's zxid; earlier ones are removed. With no valid
/// snapshot nothing is removed.
pub fn purge<B: Backend>(
    backend: &B,
    data_dir: &Path,
    data_log_dir: &Path,
    snap_retain_count: usize,
) -> Result<PurgeReport> {
    let retain = snap_retain_count.max(MIN_SNAP_RETAIN_COUNT);
    let snap_dir = data_dir.join(VERSION_DIR);
    let log_dir = data_log_dir.join(VERSION_DIR);
    let mut report = PurgeReport::default();
    let snaps = match list_snapshots(backend, &snap_dir) {
        Ok(s) => s,
        Err(e) if e.is_not_found() => return Ok(report),
        Err(e) => return Err(e),
    };
    let mut valid = 0;
    let mut oldest_kept = None;
    for (zxid, path) in &snaps {
        match verify_snapshot_file(backend, path, *zxid) {
            Ok(()) => {
                valid += 1;
                oldest_kept = Some(*zxid);
                if valid == retain {
                    break;
                }
            }
            Err(e) => tracing::warn!(error = %e, "purge: snapshot does not verify; not counted"),
        }
    }
    let Some(oldest) = oldest_kept else {
        return Ok(report);
    };
    report.oldest_kept_snapshot = Some(oldest);
    for (zxid, path) in &snaps {
        if *zxid < oldest {
            backend.remove(path)?;
            report.removed_snapshots.push(path.clone());
        }
    }
    if !report.removed_snapshots.is_empty() {
        backend.sync_dir(&snap_dir)?;
    }
    let segments = match list_segments(backend, &log_dir) {
        Ok(s) => s,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e),
    };
    if let Some(keep_from) = segments.iter().rposition(|s| s.first_zxid <= oldest) {
        for seg in &segments[..keep_from] {
            backend.remove(&seg.path)?;
            report.removed_logs.push(seg.path.clone());
        }
        if !report.removed_logs.is_empty() {
            backend.sync_dir(&log_dir)?;
        }
    }
    Ok(report)
}
