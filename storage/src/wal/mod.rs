//! The write-ahead log: segments of framed records in `<dataLogDir>/version-2/log.<zxid>`.
//!
//! Call protocol (one owner: tests, tools, or start-up recovery, after which the server takes
//! the write side over with [`Wal::into_core`] and writes through glommio):
//! 1. [`Wal::open`] recovers: it returns every record above the snapshot zxid and cuts a torn
//!    tail. Writing always continues in a fresh segment.
//! 2. [`Wal::append`] buffers records; [`Wal::batch_full`] says when to stop adding.
//! 3. [`Wal::commit`] writes the batch and `fdatasync`s it: group commit. Everything appended
//!    while the previous commit ran goes into the next one.
//! 4. After any write or sync failure the log is poisoned and every call fails with
//!    [`StorageError::Poisoned`]; the server must stop taking writes and exit.
//!
//! The write decisions are [`LogCore`]'s (sans-IO); `Wal` only carries them out.

mod format;
mod log_core;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use format::{
    frame_batch_header, frame_record, record_crc, BATCH_HEADER_LEN, BATCH_TAG, END_CHECK_LEN,
    MAX_RECORD_LEN, RECORD_HEADER_LEN, SECTOR,
};

use crate::backend::{Backend, BackendFile};
use crate::error::{Result, StorageError};
use format::{Source, Stop};
pub use log_core::{CommitPlan, LogCore};

/// Subdirectory of dataDir / dataLogDir holding the files, as in ZooKeeper.
pub const VERSION_DIR: &str = "version-2";
/// File name prefix of log segments.
pub const SEGMENT_PREFIX: &str = "log.";
/// Bytes per `read_at` when reading a segment (recovery, truncation).
pub const READ_CHUNK: usize = 1 << 20;

/// Tuning of the log.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Preallocation step in bytes (zoo.cfg `preAllocSize` is in KiB); 0 disables it.
    pub pre_alloc_size: u64,
    /// A new segment is started at the next commit once the current one reaches this size.
    pub segment_target_size: u64,
    /// `fdatasync` every commit (zoo.cfg `forceSync`). Without it a crash of the machine can
    /// lose acknowledged transactions.
    pub force_sync: bool,
    /// [`Wal::batch_full`] once this many bytes are buffered.
    pub max_batch_bytes: usize,
    /// [`Wal::batch_full`] once this many records are buffered.
    pub max_batch_records: usize,
    /// [`Wal`] writes in blocks of this many bytes from aligned offsets, rewriting the
    /// partial last block padded with zeros at each commit, as an O_DIRECT writer must
    /// (1 = write each batch exactly; a power of two). The server's O_DIRECT writer takes the
    /// alignment of its files instead; tests set this to model it on [`crate::SimBackend`].
    pub write_alignment: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            pre_alloc_size: 64 << 20,
            segment_target_size: 64 << 20,
            force_sync: true,
            max_batch_bytes: 1 << 20,
            max_batch_records: 1000,
            write_alignment: 1,
        }
    }
}

/// What one [`Wal::commit`] did; the values are meant for histograms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Every record up to this zxid is durable (or was when recovery started).
    pub durable_zxid: i64,
    /// Records in this batch.
    pub records: usize,
    /// Framed bytes written.
    pub bytes: usize,
    /// Time spent in `write`.
    pub write_ns: u64,
    /// Time spent in `fdatasync` (0 when skipped).
    pub fsync_ns: u64,
    /// A new segment was started for this batch.
    pub rolled: bool,
}

/// A segment file found on disk or created by the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The zxid of its first record (from the file name).
    pub first_zxid: i64,
    /// Its path.
    pub path: PathBuf,
}

/// A torn or damaged tail that recovery removed from the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailCut {
    /// The segment.
    pub file: PathBuf,
    /// The file was cut to this length (the end of the last valid record).
    pub valid_len: u64,
    /// Non-zero bytes that were thrown away (from `valid_len` to the last non-zero byte).
    pub garbage_bytes: u64,
    /// Why the record at `valid_len` was not accepted.
    pub reason: String,
    /// The whole segment held no valid record and was removed.
    pub removed: bool,
}

/// What recovery found.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// Every record with zxid above `replay_after`, in zxid order.
    pub records: Vec<(i64, Vec<u8>)>,
    /// The highest zxid in the log, if it holds any record that was read.
    pub last_zxid: Option<i64>,
    /// The tail that was cut, if any.
    pub tail: Option<TailCut>,
    /// Segments that were read (older ones are not needed for `replay_after`).
    pub segments_read: usize,
}

/// The write-ahead log on a synchronous [`Backend`]: the decisions of [`LogCore`] carried out
/// with blocking calls. See the module docs for the call protocol.
pub struct Wal<B: Backend> {
    backend: B,
    core: LogCore,
    file: Option<B::File>,
}

impl<B: Backend> std::fmt::Debug for Wal<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.core.dir())
            .field("segments", &self.core.segments().len())
            .field("last_appended", &self.core.last_appended_zxid())
            .field("durable_zxid", &self.core.durable_zxid())
            .field("poisoned", &self.core.is_poisoned())
            .finish()
    }
}

/// `log.<zxid in lower-case hex, no padding>`.
pub fn segment_file_name(first_zxid: i64) -> String {
    format!("{SEGMENT_PREFIX}{:x}", first_zxid as u64)
}

/// Parses a segment file name; `None` for anything else.
pub fn parse_segment_name(name: &str) -> Option<i64> {
    parse_hex_suffix(name, SEGMENT_PREFIX)
}

pub(crate) fn parse_hex_suffix(name: &str, prefix: &str) -> Option<i64> {
    let hex = name.strip_prefix(prefix)?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    i64::try_from(u64::from_str_radix(hex, 16).ok()?).ok()
}

/// Segments in `dir`, sorted by first zxid.
pub fn list_segments<B: Backend>(backend: &B, dir: &Path) -> Result<Vec<SegmentInfo>> {
    let mut segs: Vec<SegmentInfo> = backend
        .list_dir(dir)?
        .into_iter()
        .filter_map(|n| {
            parse_segment_name(&n).map(|z| SegmentInfo {
                first_zxid: z,
                path: dir.join(n),
            })
        })
        .collect();
    segs.sort_by_key(|s| s.first_zxid);
    Ok(segs)
}

/// True when `next` may directly follow `prev`: the next counter in the same epoch, or any
/// zxid of a later epoch (a new leader starts its own counter).
pub fn zxid_follows(prev: i64, next: i64) -> bool {
    if next <= prev {
        return false;
    }
    next == prev + 1 || (next >> 32) > (prev >> 32)
}

impl<B: Backend> Wal<B> {
    /// Opens (creating if needed) the log in `<data_log_dir>/version-2` and recovers it.
    ///
    /// `replay_after` is the zxid of the snapshot being loaded (0 without one): records up to
    /// it are skipped, and segments entirely before it are not read. Errors (never silent
    /// truncation) on a bad record before the tail, damage in a non-last segment, a segment
    /// whose first record does not match its name, or a zxid gap between segments or between
    /// `replay_after` and the log.
    pub fn open(
        backend: B,
        data_log_dir: &Path,
        opts: WalOptions,
        replay_after: i64,
    ) -> Result<(Wal<B>, Recovered)> {
        let dir = data_log_dir.join(VERSION_DIR);
        // The new directory's name must survive a power cut like the files in it.
        crate::backend::create_dir_durable(&backend, &dir)?;
        let mut segments = list_segments(&backend, &dir)?;
        let recovered = recover(&backend, &dir, &mut segments, replay_after)?;
        let last = recovered
            .last_zxid
            .map_or(replay_after, |z| z.max(replay_after));
        let last_appended = recovered.last_zxid.max(Some(replay_after));
        let core = LogCore::new(dir, opts, segments, last_appended, last);
        let wal = Wal {
            backend,
            core,
            file: None,
        };
        Ok((wal, recovered))
    }

    /// Hands the write state to another writer (the server's O_DIRECT one) after recovery.
    pub fn into_core(self) -> LogCore {
        self.core
    }

    /// Buffers one record. `zxid` must be above every zxid appended before.
    pub fn append(&mut self, zxid: i64, payload: &[u8]) -> Result<()> {
        self.core.append(zxid, payload)
    }

    /// True once the buffered batch reached the byte or record bound of [`WalOptions`].
    pub fn batch_full(&self) -> bool {
        self.core.batch_full()
    }

    /// Records buffered and not yet committed.
    pub fn buffered_records(&self) -> usize {
        self.core.buffered_records()
    }

    /// Framed bytes buffered and not yet committed.
    pub fn buffered_bytes(&self) -> usize {
        self.core.buffered_bytes()
    }

    /// The highest zxid appended (committed or not), or recovered.
    pub fn last_appended_zxid(&self) -> Option<i64> {
        self.core.last_appended_zxid()
    }

    /// Everything up to this zxid is durable.
    pub fn durable_zxid(&self) -> i64 {
        self.core.durable_zxid()
    }

    /// Duration of the last `fdatasync`, in nanoseconds.
    pub fn last_fsync_ns(&self) -> u64 {
        self.core.last_fsync_ns()
    }

    /// The segments of the log, oldest first.
    pub fn segments(&self) -> &[SegmentInfo] {
        self.core.segments()
    }

    /// `<dataLogDir>/version-2`.
    pub fn dir(&self) -> &Path {
        self.core.dir()
    }

    /// The backend (for tests and tools).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Whether an earlier failure poisoned the log.
    pub fn is_poisoned(&self) -> bool {
        self.core.is_poisoned()
    }

    /// Starts a new segment at the next commit (ZooKeeper rolls the log at every snapshot).
    pub fn roll(&mut self) -> Result<()> {
        self.core.roll()
    }

    /// Writes the buffered batch and makes it durable (unless `force_sync` is off).
    ///
    /// This is the group-commit primitive. With nothing buffered it returns at once with
    /// `records == 0`. On failure the log is poisoned.
    pub fn commit(&mut self) -> Result<CommitStats> {
        match self.write_batch() {
            Ok(stats) => Ok(stats),
            Err(e) if self.core.is_poisoned() => Err(e),
            Err(e) => Err(self.core.poison(e)),
        }
    }

    fn write_batch(&mut self) -> Result<CommitStats> {
        self.core.check_poison()?;
        if let Some(segment) = self.core.segment_to_create() {
            self.file = Some(self.backend.create(&segment.path)?);
            // Make the name durable before any record in it is acknowledged.
            self.backend.sync_dir(self.core.dir())?;
            let align = self.core.options().write_alignment;
            self.core.segment_created(segment, align);
        }
        let Some(plan) = self.core.begin_commit()? else {
            return Ok(self.core.empty_commit());
        };
        let Some(file) = self.file.as_mut() else {
            let err = std::io::Error::other("no open segment");
            return Err(StorageError::io("write", self.core.dir(), err));
        };
        if let Some(len) = plan.preallocate {
            file.preallocate(len)?;
        }
        let t = Instant::now();
        file.write_at(plan.offset, self.core.write_data())?;
        let write_ns = t.elapsed().as_nanos() as u64;
        let mut fsync_ns = 0;
        if plan.sync {
            let t = Instant::now();
            file.sync_data()?;
            fsync_ns = t.elapsed().as_nanos() as u64;
        }
        Ok(self.core.finish_commit(plan, write_ns, fsync_ns))
    }

    /// Removes every record above `zxid` (ZAB TRUNC). Needs an empty batch. Writing continues
    /// in a new segment. On an I/O failure the log is poisoned.
    pub fn truncate_after(&mut self, zxid: i64) -> Result<()> {
        self.core.check_poison()?;
        if self.core.buffered_records() > 0 {
            return Err(StorageError::Uncommitted {
                op: "truncate_after",
                count: self.core.buffered_records(),
            });
        }
        match self.truncate_inner(zxid) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.core.poison(e)),
        }
    }

    fn truncate_inner(&mut self, zxid: i64) -> Result<()> {
        self.file = None;
        self.core.close_segment();
        let mut changed = false;
        let segments = self.core.segments_mut();
        while segments.last().is_some_and(|s| s.first_zxid > zxid) {
            if let Some(seg) = segments.pop() {
                self.backend.remove(&seg.path)?;
                changed = true;
            }
        }
        if let Some(seg) = segments.last() {
            let scan = format::scan(&mut SegmentReader::new(&self.backend, &seg.path), None)?;
            let keep_end = scan
                .records
                .iter()
                .take_while(|r| r.zxid <= zxid)
                .last()
                .map_or(0, |r| r.end);
            let cut = keep_end < scan.valid_end || matches!(scan.stop, Stop::Garbage { .. });
            if keep_end == 0 {
                // Nothing at or below `zxid` in it: an empty segment must not stay behind
                // later ones (recovery would call it corrupt).
                let path = seg.path.clone();
                segments.pop();
                self.backend.remove(&path)?;
                changed = true;
            } else if cut {
                let mut f = self.backend.open(&seg.path)?;
                f.set_len(keep_end as u64)?;
                f.sync_data()?;
            }
        }
        if changed {
            self.backend.sync_dir(self.core.dir())?;
        }
        self.core.truncated_to(zxid);
        Ok(())
    }
}

/// A segment read in [`READ_CHUNK`] pieces from its start, as far as the scan needs.
struct SegmentReader<'a, B> {
    backend: &'a B,
    path: &'a Path,
    buf: Vec<u8>,
    eof: bool,
}

impl<'a, B: Backend> SegmentReader<'a, B> {
    fn new(backend: &'a B, path: &'a Path) -> Self {
        SegmentReader {
            backend,
            path,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Loads the rest of the file.
    fn load_all(&mut self) -> Result<()> {
        self.ensure(usize::MAX)
    }
}

impl<B: Backend> Source for SegmentReader<'_, B> {
    fn ensure(&mut self, upto: usize) -> Result<()> {
        while self.buf.len() < upto && !self.eof {
            let start = self.buf.len();
            self.buf.resize(start + READ_CHUNK, 0);
            let read = self
                .backend
                .read_at(self.path, start as u64, &mut self.buf[start..]);
            let n = *read.as_ref().unwrap_or(&0);
            self.buf.truncate(start + n);
            read?;
            // Only a read of nothing means end of file: a short read just asks again.
            self.eof = n == 0;
        }
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

fn recover<B: Backend>(
    backend: &B,
    dir: &Path,
    segments: &mut Vec<SegmentInfo>,
    replay_after: i64,
) -> Result<Recovered> {
    let mut out = Recovered::default();
    if segments.is_empty() {
        return Ok(out);
    }
    // The newest segment that starts at or before the snapshot; all later ones are needed.
    let start = segments
        .iter()
        .rposition(|s| s.first_zxid <= replay_after)
        .unwrap_or(0);
    let mut last: Option<i64> = None;
    let n = segments.len();
    let mut remove_last = false;
    for (i, seg) in segments.iter().enumerate().skip(start) {
        let is_last = i + 1 == n;
        // Every record of this segment is below the next one's first zxid: when that is at
        // most the snapshot zxid + 1, the snapshot covers the whole segment, and a torn or
        // lost tail of it (forceSync=no and a power cut) does not matter.
        let covered = segments
            .get(i + 1)
            .is_some_and(|next| next.first_zxid <= replay_after.saturating_add(1));
        let mut reader = SegmentReader::new(backend, &seg.path);
        let scan = format::scan(&mut reader, None)?;
        out.segments_read += 1;
        if let Some(first) = scan.records.first() {
            if first.zxid != seg.first_zxid {
                return Err(StorageError::corrupt(
                    &seg.path,
                    0,
                    format!(
                        "first record has zxid {:#x}, file name says {:#x}",
                        first.zxid, seg.first_zxid
                    ),
                ));
            }
            // Records up to the snapshot need not be in the log: a power cut with
            // forceSync=no can leave the log ending before the snapshot's zxid, and the
            // writes after that restart start their own segment at the snapshot zxid + 1.
            let prev = if seg.first_zxid > replay_after {
                Some(last.map_or(replay_after, |l| l.max(replay_after)))
            } else {
                last
            };
            if let Some(prev) = prev {
                if !zxid_follows(prev, first.zxid) {
                    return Err(StorageError::Gap {
                        file: seg.path.clone(),
                        expected_after: prev,
                        found: first.zxid,
                    });
                }
            }
        }
        match &scan.stop {
            Stop::Garbage { reason } if covered => tracing::warn!(
                file = %seg.path.display(),
                offset = scan.valid_end,
                reason = %reason,
                snapshot_zxid = replay_after,
                "ignoring a damaged segment tail that the snapshot covers"
            ),
            _ => {}
        }
        if let (false, Stop::Garbage { reason }) = (covered, &scan.stop) {
            let at = scan.valid_end as u64;
            if !is_last {
                return Err(StorageError::corrupt(
                    &seg.path,
                    at,
                    format!("{reason} in a segment that is not the last"),
                ));
            }
            // Torn tail or damage in the middle? Only a search of the whole rest of the file
            // can tell (a damaged length field hides where the next record starts).
            reader.load_all()?;
            let bytes = reader.bytes();
            let after = scan.records.last().map(|r| r.zxid).or(last);
            if let Some(damage) = damage_in_the_middle(&scan, bytes, after, reason) {
                return Err(StorageError::corrupt(&seg.path, at, damage));
            }
            let garbage = format::last_nonzero(bytes, scan.valid_end)
                .map_or(0, |p| (p + 1 - scan.valid_end) as u64);
            tracing::warn!(
                file = %seg.path.display(),
                offset = at,
                garbage_bytes = garbage,
                reason = %reason,
                "cutting torn tail of the write-ahead log"
            );
            out.tail = Some(TailCut {
                file: seg.path.clone(),
                valid_len: at,
                garbage_bytes: garbage,
                reason: reason.clone(),
                removed: scan.records.is_empty(),
            });
        }
        if scan.records.is_empty() {
            if covered {
                continue;
            }
            if !is_last {
                return Err(StorageError::corrupt(
                    &seg.path,
                    0,
                    "segment holds no records but later segments exist",
                ));
            }
            // Created but never written before a crash: nothing in it was acknowledged.
            remove_last = true;
            continue;
        }
        for r in &scan.records {
            if r.zxid > replay_after {
                let payload = reader
                    .bytes()
                    .get(r.payload_start..r.end)
                    .unwrap_or(&[])
                    .to_vec();
                out.records.push((r.zxid, payload));
            }
        }
        last = scan.records.last().map(|r| r.zxid);
        if is_last && out.tail.is_some() {
            let mut f = backend.open(&seg.path)?;
            f.set_len(scan.valid_end as u64)?;
            f.sync_data()?;
        }
    }
    if remove_last {
        if let Some(seg) = segments.pop() {
            if out.tail.is_none() {
                out.tail = Some(TailCut {
                    file: seg.path.clone(),
                    valid_len: 0,
                    garbage_bytes: 0,
                    reason: "empty segment".into(),
                    removed: true,
                });
            }
            backend.remove(&seg.path)?;
            backend.sync_dir(dir)?;
        }
    }
    out.last_zxid = last;
    Ok(out)
}

/// Whether the bad bytes at `scan.valid_end` of the last segment are damage to data that was
/// durable (`Some(why)`: recovery must stop) rather than a write that a crash tore before its
/// `fdatasync` returned (`None`: nothing from there on was acknowledged; cut it).
///
/// A torn write loses whole sectors anywhere in the batch being written (the device does not
/// order them), so valid records may follow the damage. It is damage in the middle when
/// - a later batch header says the segment was synced past the damage (with forceSync every
///   batch says so of all the batches before it), or
/// - a valid record follows and no lost sector can explain the bad bytes before it (no
///   sector there reads as zeros): a flipped bit, not a power cut.
///
/// A segment written before batch headers existed has no claims to go by: any valid record
/// after the damage stops recovery, as it always did.
fn damage_in_the_middle(
    scan: &format::Scan,
    bytes: &[u8],
    after: Option<i64>,
    reason: &str,
) -> Option<String> {
    let from = scan.valid_end;
    let found = format::look_after_damage(bytes, from, after);
    if let Some((header, synced_to)) = found.synced_past {
        return Some(format!(
            "{reason}, followed by a valid batch at offset {header} written after the log was \
             synced up to offset {synced_to}"
        ));
    }
    let record = found.record?;
    if scan.framed && format::torn_sector_between(bytes, from, record) {
        return None;
    }
    Some(format!(
        "{reason}, followed by a valid record at offset {record}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_file_name(0x1_0000_0001), "log.100000001");
        assert_eq!(parse_segment_name("log.100000001"), Some(0x1_0000_0001));
        assert_eq!(parse_segment_name("log."), None);
        assert_eq!(parse_segment_name("log.xyz"), None);
        assert_eq!(parse_segment_name("snapshot.1"), None);
        assert_eq!(parse_segment_name("log.ffffffffffffffff"), None);
    }

    #[test]
    fn zxid_continuity() {
        assert!(zxid_follows(5, 6));
        assert!(!zxid_follows(5, 7));
        assert!(!zxid_follows(5, 5));
        assert!(zxid_follows(0x1_0000_0005, 0x2_0000_0001));
        assert!(!zxid_follows(0x2_0000_0005, 0x1_0000_0009));
    }
}
