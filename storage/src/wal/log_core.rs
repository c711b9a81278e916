//! The write side of the log without any I/O (sans-IO): when a segment starts, where to
//! preallocate, which bytes go to which offset, and poisoning. [`super::Wal`] runs these
//! decisions on a synchronous [`crate::Backend`]; the server runs the same ones on glommio
//! `DmaFile`s (O_DIRECT), so both write byte-identical segments.
//!
//! One commit, for a caller that owns the open segment file:
//! 1. [`LogCore::append`] records; [`LogCore::batch_full`] says when to stop adding.
//! 2. If [`LogCore::segment_to_create`] names a segment: create the file, `fsync` the
//!    directory, then call [`LogCore::segment_created`] with the file's write alignment.
//! 3. [`LogCore::begin_commit`] gives a [`CommitPlan`]: grow the file to
//!    [`CommitPlan::preallocate`] if set, write [`LogCore::write_data`] at
//!    [`CommitPlan::offset`], `fdatasync` if [`CommitPlan::sync`].
//! 4. [`LogCore::finish_commit`] after all of it succeeded; [`LogCore::poison`] after any
//!    failure (the log then refuses all further work).
//!
//! Alignment: with an alignment `a > 1` (O_DIRECT) every write starts at a multiple of `a`
//! and is a multiple of `a` long. The partial last block of the segment stays in memory
//! ([`LogCore`]'s tail) and each commit rewrites it, followed by the new records and zero
//! padding up to the next boundary. The padding reads as the end-of-log marker (a zero
//! header; a record header is never all zero, its crc covers a non-empty input), and the next
//! commit overwrites it. The rewritten prefix holds the same bytes as before, so a write torn
//! anywhere leaves the earlier records intact and recovery cuts the new part as a torn tail.

use std::path::{Path, PathBuf};

use super::format::{frame_batch_header, frame_record, BATCH_HEADER_LEN, MAX_RECORD_LEN};
use super::{segment_file_name, CommitStats, SegmentInfo, WalOptions};
use crate::error::{Result, StorageError};

/// Preallocation starts a new block when the write position comes this close to the end.
/// At least the largest write alignment, so a padded write never passes the preallocation.
const PREALLOC_MARGIN: u64 = 4096;

/// What the I/O side must do for one commit (after creating the segment, if one was named).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a plan must be carried out and then finished or poisoned"]
pub struct CommitPlan {
    /// Grow the segment (`fallocate`, zeros) to this length before writing.
    pub preallocate: Option<u64>,
    /// Write [`LogCore::write_data`] at this offset (a multiple of the alignment).
    pub offset: u64,
    /// `fdatasync` after the write (zoo.cfg `forceSync`).
    pub sync: bool,
    /// The segment was started for this batch.
    pub rolled: bool,
    /// Records in the batch.
    pub records: usize,
    /// Framed bytes of the batch, its header included (without the rewritten tail and the
    /// padding).
    pub bytes: usize,
    /// The last zxid of the batch: durable once the plan is carried out.
    pub last_zxid: i64,
    /// The segment's write position after the batch.
    end: u64,
}

#[derive(Debug)]
struct Current {
    write_pos: u64,
    /// Everything below this offset was `fdatasync`ed (the batch headers record it).
    synced_to: u64,
    alloc_len: u64,
    align: u64,
}

/// The log's write state. See the module docs for the call protocol.
#[derive(Debug)]
pub struct LogCore {
    dir: PathBuf,
    opts: WalOptions,
    segments: Vec<SegmentInfo>,
    current: Option<Current>,
    roll_pending: bool,
    /// The batch being built, framed.
    buf: Vec<u8>,
    buf_records: usize,
    buf_first_zxid: Option<i64>,
    /// The segment's bytes from the last alignment boundary to the write position.
    tail: Vec<u8>,
    /// Tail, batch and padding of the commit in progress.
    out: Vec<u8>,
    rolled: bool,
    last_appended: Option<i64>,
    durable_zxid: i64,
    last_fsync_ns: u64,
    poisoned: Option<StorageError>,
}

impl LogCore {
    /// The state after recovery: `segments` are on disk, everything up to `durable_zxid` is
    /// durable, and writing continues in a fresh segment.
    pub fn new(
        dir: PathBuf,
        opts: WalOptions,
        segments: Vec<SegmentInfo>,
        last_appended: Option<i64>,
        durable_zxid: i64,
    ) -> LogCore {
        LogCore {
            dir,
            opts,
            segments,
            current: None,
            roll_pending: true,
            buf: Vec::new(),
            buf_records: 0,
            buf_first_zxid: None,
            tail: Vec::new(),
            out: Vec::new(),
            rolled: false,
            last_appended,
            durable_zxid,
            last_fsync_ns: 0,
            poisoned: None,
        }
    }

    /// Fails with [`StorageError::Poisoned`] once an earlier failure poisoned the log.
    pub fn check_poison(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(StorageError::Poisoned {
                cause: Box::new(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// Records a failure: every later call fails. Returns `err` for the caller to pass on.
    pub fn poison(&mut self, err: StorageError) -> StorageError {
        tracing::error!(error = %err, "write-ahead log failed; refusing further writes");
        self.poisoned = Some(err.clone());
        err
    }

    /// Whether an earlier failure poisoned the log.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Buffers one record. `zxid` must be above every zxid appended before.
    pub fn append(&mut self, zxid: i64, payload: &[u8]) -> Result<()> {
        self.check_poison()?;
        if let Some(last) = self.last_appended {
            if zxid <= last {
                return Err(StorageError::ZxidOrder { zxid, last });
            }
        }
        if payload.len() > MAX_RECORD_LEN {
            return Err(StorageError::RecordTooLarge {
                zxid,
                len: payload.len(),
                max: MAX_RECORD_LEN,
            });
        }
        frame_record(zxid, payload, &mut self.buf);
        self.buf_records += 1;
        self.buf_first_zxid.get_or_insert(zxid);
        self.last_appended = Some(zxid);
        Ok(())
    }

    /// True once the buffered batch reached the byte or record bound of [`WalOptions`].
    pub fn batch_full(&self) -> bool {
        self.buf.len() >= self.opts.max_batch_bytes
            || self.buf_records >= self.opts.max_batch_records
    }

    /// Records buffered and not yet committed.
    pub fn buffered_records(&self) -> usize {
        self.buf_records
    }

    /// Framed bytes buffered and not yet committed.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The highest zxid appended (committed or not), or recovered.
    pub fn last_appended_zxid(&self) -> Option<i64> {
        self.last_appended
    }

    /// Everything up to this zxid is durable.
    pub fn durable_zxid(&self) -> i64 {
        self.durable_zxid
    }

    /// Duration of the last `fdatasync`, in nanoseconds.
    pub fn last_fsync_ns(&self) -> u64 {
        self.last_fsync_ns
    }

    /// The segments of the log, oldest first.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// `<dataLogDir>/version-2`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the log was opened with.
    pub fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// Starts a new segment at the next commit (ZooKeeper rolls the log at every snapshot).
    pub fn roll(&mut self) -> Result<()> {
        self.check_poison()?;
        self.roll_pending = true;
        Ok(())
    }

    /// The segment the next commit must create first, if any: after a roll, at start-up,
    /// or once the current one reached `segment_target_size`. A batch is never split.
    pub fn segment_to_create(&self) -> Option<SegmentInfo> {
        let first_zxid = self.buf_first_zxid?;
        let full = self
            .current
            .as_ref()
            .is_none_or(|c| c.write_pos >= self.opts.segment_target_size);
        (self.roll_pending || full).then(|| SegmentInfo {
            first_zxid,
            path: self.dir.join(segment_file_name(first_zxid)),
        })
    }

    /// The segment named by [`LogCore::segment_to_create`] exists and its name is durable.
    /// Writes to it go in blocks of `align` bytes (1 = unaligned; a power of two).
    pub fn segment_created(&mut self, segment: SegmentInfo, align: u64) {
        assert!(align.is_power_of_two(), "write alignment {align}");
        self.current = Some(Current {
            write_pos: 0,
            synced_to: 0,
            alloc_len: 0,
            align,
        });
        self.tail.clear();
        self.segments.push(segment);
        self.roll_pending = false;
        self.rolled = true;
    }

    /// Moves the batch into the write buffer and says what to do with it. `None` when no
    /// record is buffered. Errors if a segment named by [`LogCore::segment_to_create`] was
    /// not created.
    pub fn begin_commit(&mut self) -> Result<Option<CommitPlan>> {
        self.check_poison()?;
        if self.buf_first_zxid.is_none() {
            return Ok(None);
        }
        let needs_segment = self.segment_to_create().is_some();
        let Some(cur) = self.current.as_mut().filter(|_| !needs_segment) else {
            let err = std::io::Error::other("commit without a current segment");
            return Err(self.poison(StorageError::io("write", &self.dir, err)));
        };
        let offset = cur.write_pos - self.tail.len() as u64;
        let end = cur.write_pos + (BATCH_HEADER_LEN + self.buf.len()) as u64;
        self.out.clear();
        self.out.extend_from_slice(&self.tail);
        frame_batch_header(cur.write_pos, cur.synced_to, &mut self.out);
        self.out.extend_from_slice(&self.buf);
        let padded = (self.out.len() as u64).next_multiple_of(cur.align);
        self.out.resize(padded as usize, 0);
        let mut preallocate = None;
        let step = self.opts.pre_alloc_size;
        if step > 0 && end + PREALLOC_MARGIN > cur.alloc_len {
            let want = (end + PREALLOC_MARGIN).max(offset + padded);
            let target = want.div_ceil(step) * step;
            preallocate = Some(target);
            cur.alloc_len = target;
        }
        let plan = CommitPlan {
            preallocate,
            offset,
            sync: self.opts.force_sync,
            rolled: std::mem::take(&mut self.rolled),
            records: self.buf_records,
            bytes: BATCH_HEADER_LEN + self.buf.len(),
            last_zxid: self.last_appended.unwrap_or(self.durable_zxid),
            end,
        };
        self.buf.clear();
        self.buf_records = 0;
        self.buf_first_zxid = None;
        Ok(Some(plan))
    }

    /// The bytes to write at [`CommitPlan::offset`].
    pub fn write_data(&self) -> &[u8] {
        &self.out
    }

    /// The plan was carried out: its records are durable (or written, without `forceSync`).
    pub fn finish_commit(&mut self, plan: CommitPlan, write_ns: u64, fsync_ns: u64) -> CommitStats {
        if let Some(cur) = self.current.as_mut() {
            cur.write_pos = plan.end;
            if plan.sync {
                cur.synced_to = plan.end;
            }
            let block = plan.end / cur.align * cur.align;
            let from = (block - plan.offset) as usize;
            let to = (plan.end - plan.offset) as usize;
            self.tail.clear();
            self.tail.extend_from_slice(&self.out[from..to]);
        }
        if plan.sync {
            self.last_fsync_ns = fsync_ns;
        }
        self.durable_zxid = plan.last_zxid;
        CommitStats {
            durable_zxid: self.durable_zxid,
            records: plan.records,
            bytes: plan.bytes,
            write_ns,
            fsync_ns,
            rolled: plan.rolled,
        }
    }

    /// Stats of a commit with nothing to write.
    pub fn empty_commit(&self) -> CommitStats {
        CommitStats {
            durable_zxid: self.durable_zxid,
            ..CommitStats::default()
        }
    }

    /// Forgets the open segment: writing continues in a new one (after a truncation).
    pub(crate) fn close_segment(&mut self) {
        self.current = None;
        self.tail.clear();
        self.roll_pending = true;
    }

    pub(crate) fn segments_mut(&mut self) -> &mut Vec<SegmentInfo> {
        &mut self.segments
    }

    /// Everything above `zxid` was removed from the log.
    pub(crate) fn truncated_to(&mut self, zxid: i64) {
        self.last_appended = self.last_appended.map(|l| l.min(zxid));
        self.durable_zxid = self.durable_zxid.min(zxid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::format::RECORD_HEADER_LEN;

    fn core() -> LogCore {
        let opts = WalOptions {
            pre_alloc_size: 8192,
            segment_target_size: 1500,
            ..WalOptions::default()
        };
        LogCore::new(PathBuf::from("/log"), opts, Vec::new(), None, 0)
    }

    /// Runs one commit against an in-memory file; returns the plan.
    fn commit(c: &mut LogCore, align: u64, file: &mut Vec<u8>) -> CommitPlan {
        if let Some(seg) = c.segment_to_create() {
            file.clear();
            c.segment_created(seg, align);
        }
        let plan = c.begin_commit().unwrap().unwrap();
        if let Some(len) = plan.preallocate {
            file.resize(len as usize, 0);
        }
        let data = c.write_data();
        let at = plan.offset as usize;
        if file.len() < at + data.len() {
            file.resize(at + data.len(), 0);
        }
        file[at..at + data.len()].copy_from_slice(data);
        c.finish_commit(plan.clone(), 0, 0);
        plan
    }

    #[test]
    fn aligned_writes_rewrite_the_tail_and_pad_with_zeros() {
        let (mut c, align) = (core(), 512);
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for z in 1..=40i64 {
            let payload = vec![b'a' + (z % 26) as u8; 10 + z as usize];
            c.append(z, &payload).unwrap();
            let plan = commit(&mut c, align, &mut file);
            assert_eq!(plan.offset % align, 0);
            assert_eq!(c.write_data().len() as u64 % align, 0);
            if plan.rolled {
                expected.clear();
            }
            // Each commit synced, so each batch says the segment is durable up to itself.
            let at = expected.len() as u64;
            frame_batch_header(at, at, &mut expected);
            frame_record(z, &payload, &mut expected);
            assert_eq!(&file[..expected.len()], &expected[..], "zxid {z}");
            assert!(file[expected.len()..].iter().all(|b| *b == 0));
        }
        assert!(c.segments().len() > 1, "the test should cross a roll");
    }

    #[test]
    fn unaligned_writes_are_the_batch_exactly() {
        let (mut c, align) = (core(), 1);
        let mut file = Vec::new();
        c.append(1, b"one").unwrap();
        c.append(2, b"two").unwrap();
        let plan = commit(&mut c, align, &mut file);
        assert_eq!(plan.offset, 0);
        assert_eq!(plan.bytes, BATCH_HEADER_LEN + 2 * RECORD_HEADER_LEN + 6);
        assert_eq!(c.write_data().len(), plan.bytes);
        c.append(3, b"three").unwrap();
        let plan = commit(&mut c, align, &mut file);
        assert_eq!(
            plan.offset,
            (BATCH_HEADER_LEN + 2 * RECORD_HEADER_LEN) as u64 + 6
        );
        assert!(!plan.rolled);
    }

    #[test]
    fn preallocation_covers_the_padded_write() {
        let (mut c, align) = (core(), 4096);
        let mut file = Vec::new();
        for z in 1..=200i64 {
            c.append(z, &[7u8; 100]).unwrap();
            let plan = commit(&mut c, align, &mut file);
            if plan.rolled {
                assert!(plan.preallocate.is_some());
            }
            let written_end = plan.offset + c.write_data().len() as u64;
            assert!(written_end <= file.len() as u64);
            assert_eq!(file.len() % 8192, 0, "grows in preAllocSize steps");
        }
    }

    #[test]
    fn commit_without_creating_the_segment_poisons() {
        let mut c = core();
        c.append(1, b"x").unwrap();
        assert!(c.begin_commit().is_err());
        assert!(c.is_poisoned());
        assert!(c.append(2, b"y").unwrap_err().is_poisoned());
    }
}
