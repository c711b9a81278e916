//! Which writer carries the log: glommio DMA files (`ringkeeper.walDirectIo=true`, the
//! default: O_DIRECT writes and io_uring fdatasync, awaited, so the pipeline's executor runs
//! on while the disk syncs) or the storage crate's buffered `Wal` (pwrite and fdatasync on
//! the pipeline thread). Both carry out the same `LogCore` decisions and write the same files.

use crate::config::ServerConfig;
use crate::dma_log::DmaLog;
use ringkeeper_storage::wal::SegmentInfo;
use ringkeeper_storage::{CommitStats, FsBackend, Recovered, Result, Wal, WalOptions};
use std::path::Path;

pub enum LogWriter {
    Direct(DmaLog),
    Buffered(Wal<FsBackend>),
}

impl LogWriter {
    /// Recovers the log in `<dir>/version-2` (records above `replay_after`) with zoo.cfg's
    /// preAllocSize and forceSync, warns about a cut tail, and hands the log to the writer
    /// `ringkeeper.walDirectIo` picks. `what` names the log in messages.
    pub fn open(
        config: &ServerConfig,
        dir: &Path,
        replay_after: i64,
        what: &str,
    ) -> std::result::Result<(LogWriter, Recovered), String> {
        let opts = WalOptions {
            pre_alloc_size: config.pre_alloc_size_kb * 1024,
            force_sync: config.force_sync,
            ..WalOptions::default()
        };
        let (wal, recovered) = Wal::open(FsBackend::new(), dir, opts, replay_after)
            .map_err(|e| format!("cannot recover the {what}: {e}"))?;
        if let Some(t) = &recovered.tail {
            tracing::warn!(
                file = %t.file.display(),
                valid_len = t.valid_len,
                cut_bytes = t.garbage_bytes,
                reason = %t.reason,
                "cut a torn tail off the {what}"
            );
        }
        Ok((LogWriter::new(wal, config.wal_direct_io), recovered))
    }

    /// Takes over the log `Wal::open` recovered.
    pub fn new(recovered: Wal<FsBackend>, direct_io: bool) -> LogWriter {
        if direct_io {
            LogWriter::Direct(DmaLog::new(recovered.into_core()))
        } else {
            LogWriter::Buffered(recovered)
        }
    }

    pub fn append(&mut self, zxid: i64, payload: &[u8]) -> Result<()> {
        match self {
            LogWriter::Direct(w) => w.append(zxid, payload),
            LogWriter::Buffered(w) => w.append(zxid, payload),
        }
    }

    pub fn batch_full(&self) -> bool {
        match self {
            LogWriter::Direct(w) => w.batch_full(),
            LogWriter::Buffered(w) => w.batch_full(),
        }
    }

    pub fn roll(&mut self) -> Result<()> {
        match self {
            LogWriter::Direct(w) => w.roll(),
            LogWriter::Buffered(w) => w.roll(),
        }
    }

    pub fn segments(&self) -> &[SegmentInfo] {
        match self {
            LogWriter::Direct(w) => w.segments(),
            LogWriter::Buffered(w) => w.segments(),
        }
    }

    /// Bytes in the newest segment file, preallocated room included: the file size
    /// ZooKeeper's slow-fsync warning names.
    pub fn last_segment_len(&self) -> u64 {
        self.segments()
            .last()
            .and_then(|s| std::fs::metadata(&s.path).ok())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    pub async fn commit(&mut self) -> Result<CommitStats> {
        match self {
            LogWriter::Direct(w) => w.commit().await,
            LogWriter::Buffered(w) => w.commit(),
        }
    }
}
