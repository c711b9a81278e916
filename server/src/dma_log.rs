//! The write-ahead log on the pipeline core: the decisions of the storage crate's
//! [`LogCore`] (segment rolls, preallocation, aligned writes with the partial last block
//! rewritten, poisoning) carried out on glommio files. A commit is an `.await` on io_uring
//! (write, then `fdatasync`), so the executor keeps running its other tasks while the disk
//! syncs. Recovery stays with the synchronous `Wal::open`; [`DmaLog::new`] takes over from it.
//!
//! `DmaLog` is `Send` so that start-up can build it (during recovery, before the executors
//! exist) and move it to the pipeline core. Its open segment is a glommio file, which is not
//! `Send`: it lives in a slot of the executor thread that created it, keyed by the log's id.
//! A log moved to another thread after its first commit finds no file there and poisons.
//!
//! Ahead of the log's end, a background task writes zeros over the preallocated blocks
//! (`zero_ahead`), so that commits overwrite written blocks and their `fdatasync` need not
//! commit the file system's journal every time.
//!
//! The writer is generic over its disk ([`LogDisk`]; [`GlommioDisk`] by default), so the
//! power-loss tests (`dma_power_test`) run it, zeroing included, on a simulated disk that
//! keeps only what was synced.

use crate::segment_file::{GlommioDisk, LogDisk, SegmentIo};
use crate::zero_ahead::{self, ZeroAhead};
use ringkeeper_storage::wal::{LogCore, SegmentInfo};
use ringkeeper_storage::{CommitStats, Result, StorageError};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

thread_local! {
    /// The open segment (an `OpenSegment<D::File>`) of each log whose commits run on this
    /// thread. One downcast per commit, not per record.
    static OPEN_SEGMENTS: RefCell<HashMap<u64, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// A segment being written, with the zeroing ahead of its end.
struct OpenSegment<F> {
    file: Rc<F>,
    zero: ZeroAhead,
}

impl<F: SegmentIo> OpenSegment<F> {
    /// Waits for the zeroing in flight (it holds the file too), then closes the file.
    async fn close(mut self) -> Result<()> {
        let res = self.zero.finish().await;
        if let Ok(file) = Rc::try_unwrap(self.file) {
            file.close().await;
        }
        res
    }
}

static NEXT_LOG_ID: AtomicU64 = AtomicU64::new(1);

/// The log's write side, committing on the glommio executor it is used on, to the disk `D`
/// (the real one but in tests).
pub struct DmaLog<D: LogDisk = GlommioDisk> {
    core: LogCore,
    disk: D,
    id: u64,
    /// Zero-ahead chunk and distance (`zero_ahead::CHUNK`, `AHEAD`; smaller in tests).
    zero_chunk: u64,
    zero_ahead: u64,
}

impl<D: LogDisk> Drop for DmaLog<D> {
    fn drop(&mut self) {
        // A thread-local is gone during thread exit; the file then closes with it.
        let _ = OPEN_SEGMENTS.try_with(|m| m.borrow_mut().remove(&self.id));
    }
}

impl DmaLog {
    /// Continues the log recovered by `Wal::open` (`Wal::into_core`). No file is opened here:
    /// the first commit creates a fresh segment on the executor that runs it.
    pub fn new(core: LogCore) -> DmaLog {
        DmaLog::on_disk(core, GlommioDisk)
    }

    /// A log with its own zero-ahead chunk and distance (tests use small ones).
    #[cfg(test)]
    pub fn with_zeroing(core: LogCore, chunk: u64, ahead: u64) -> DmaLog {
        DmaLog::on_disk_with_zeroing(core, GlommioDisk, chunk, ahead)
    }
}

impl<D: LogDisk> DmaLog<D> {
    /// Continues the recovered log on `disk`.
    pub fn on_disk(core: LogCore, disk: D) -> DmaLog<D> {
        let id = NEXT_LOG_ID.fetch_add(1, Ordering::Relaxed);
        DmaLog {
            core,
            disk,
            id,
            zero_chunk: zero_ahead::CHUNK,
            zero_ahead: zero_ahead::AHEAD,
        }
    }

    /// [`DmaLog::on_disk`] with its own zero-ahead chunk and distance.
    #[cfg(test)]
    pub fn on_disk_with_zeroing(core: LogCore, disk: D, chunk: u64, ahead: u64) -> DmaLog<D> {
        let mut log = DmaLog::on_disk(core, disk);
        log.zero_chunk = chunk;
        log.zero_ahead = ahead;
        log
    }

    /// Buffers one record. `zxid` must be above every zxid appended before.
    pub fn append(&mut self, zxid: i64, payload: &[u8]) -> Result<()> {
        self.core.append(zxid, payload)
    }

    /// True once the batch reached `max_batch_bytes` or `max_batch_records`.
    pub fn batch_full(&self) -> bool {
        self.core.batch_full()
    }

    /// Starts a new segment at the next commit.
    pub fn roll(&mut self) -> Result<()> {
        self.core.roll()
    }

    /// The segments of the log, oldest first.
    pub fn segments(&self) -> &[SegmentInfo] {
        self.core.segments()
    }

    /// Writes the batch and makes it durable (unless `forceSync=no`). Nothing buffered:
    /// returns at once with `records == 0`. Any failure poisons the log for good.
    pub async fn commit(&mut self) -> Result<CommitStats> {
        // Out of the slot while the commit runs (a RefCell borrow cannot cross an await).
        let mut file = OPEN_SEGMENTS
            .with(|m| m.borrow_mut().remove(&self.id))
            .and_then(|f| f.downcast::<OpenSegment<D::File>>().ok())
            .map(|f| *f);
        let res = self.write_batch(&mut file).await;
        if let Some(f) = file {
            OPEN_SEGMENTS.with(|m| m.borrow_mut().insert(self.id, Box::new(f)));
        }
        match res {
            Ok(stats) => Ok(stats),
            Err(e) if self.core.is_poisoned() => Err(e),
            Err(e) => Err(self.core.poison(e)),
        }
    }

    async fn write_batch(
        &mut self,
        slot: &mut Option<OpenSegment<D::File>>,
    ) -> Result<CommitStats> {
        self.core.check_poison()?;
        if let Some(segment) = self.core.segment_to_create() {
            if let Some(old) = slot.take() {
                old.close().await?;
            }
            let file = self.disk.create(&segment.path).await?;
            // Make the name durable before any record in it is acknowledged.
            self.disk.sync_dir(self.core.dir()).await?;
            self.core.segment_created(segment, file.alignment());
            *slot = Some(OpenSegment {
                file: Rc::new(file),
                zero: ZeroAhead::new(self.zero_chunk, self.zero_ahead),
            });
        }
        let Some(plan) = self.core.begin_commit()? else {
            return Ok(self.core.empty_commit());
        };
        let Some(OpenSegment { file, zero }) = slot.as_mut() else {
            let err = std::io::Error::other("no open segment");
            return Err(StorageError::io("write", self.core.dir(), err));
        };
        if let Some(len) = plan.preallocate {
            file.preallocate(len).await?;
            zero.allocated(len);
        }
        let data = self.core.write_data();
        let end = plan.offset + data.len() as u64;
        zero.before_write(end).await?;
        let t = Instant::now();
        file.write_at(plan.offset, data).await?;
        let write_ns = t.elapsed().as_nanos() as u64;
        let mut fsync_ns = 0;
        if plan.sync {
            let t = Instant::now();
            file.sync_data().await?;
            fsync_ns = t.elapsed().as_nanos() as u64;
        }
        zero.after_write(file, end);
        Ok(self.core.finish_commit(plan, write_ns, fsync_ns))
    }
}

#[cfg(test)]
#[path = "dma_log_test.rs"]
mod tests;

#[cfg(test)]
#[path = "dma_power_test.rs"]
mod power_tests;
