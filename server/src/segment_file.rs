//! One open WAL segment on glommio: O_DIRECT (`DmaFile`) where the file system allows it,
//! buffered (`BufferedFile`) where it does not. Every error names the operation and the file.
//!
//! [`LogDisk`] and [`SegmentIo`] are what the log writer (`dma_log`, `zero_ahead`) needs of
//! the disk. The writer is generic over them (no dynamic dispatch): production uses
//! [`GlommioDisk`] and [`SegmentFile`]; the power-loss tests put a simulated disk with
//! separate live and durable images behind the same writer (`dma_power_test`).

use glommio::io::{BufferedFile, DmaFile, OpenOptions};
use ringkeeper_storage::StorageError;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Creates segments and syncs their directory.
#[allow(async_fn_in_trait)] // used generically on one executor thread, never as `dyn`
pub trait LogDisk: 'static {
    /// An open segment.
    type File: SegmentIo;
    /// Creates (truncating) a segment file.
    async fn create(&self, path: &Path) -> Result<Self::File, StorageError>;
    /// `fsync` of a directory, so the names created in it are durable.
    async fn sync_dir(&self, dir: &Path) -> Result<(), StorageError>;
}

/// One segment open for writing. Methods take `&self`: the zeroing task shares the file.
#[allow(async_fn_in_trait)] // used generically on one executor thread, never as `dyn`
pub trait SegmentIo: 'static {
    /// Offsets and lengths of writes must be multiples of this (1 when buffered).
    fn alignment(&self) -> u64;
    /// Grows the file to `len` bytes of zeros.
    async fn preallocate(&self, len: u64) -> Result<(), StorageError>;
    /// Writes all of `data` at `offset`.
    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), StorageError>;
    /// Writes `len` zero bytes at `offset` (O_DIRECT files only; others ignore it).
    async fn write_zeros(&self, offset: u64, len: u64) -> Result<(), StorageError>;
    /// `fdatasync(2)`.
    async fn sync_data(&self) -> Result<(), StorageError>;
    /// Closes the file.
    async fn close(self);
}

/// The real disk: glommio files, O_DIRECT where possible.
#[derive(Debug, Default, Clone, Copy)]
pub struct GlommioDisk;

impl LogDisk for GlommioDisk {
    type File = SegmentFile;

    async fn create(&self, path: &Path) -> Result<SegmentFile, StorageError> {
        SegmentFile::create(path).await
    }

    async fn sync_dir(&self, dir: &Path) -> Result<(), StorageError> {
        sync_dir(dir).await
    }
}

impl SegmentIo for SegmentFile {
    fn alignment(&self) -> u64 {
        SegmentFile::alignment(self)
    }
    async fn preallocate(&self, len: u64) -> Result<(), StorageError> {
        SegmentFile::preallocate(self, len).await
    }
    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        SegmentFile::write_at(self, offset, data).await
    }
    async fn write_zeros(&self, offset: u64, len: u64) -> Result<(), StorageError> {
        SegmentFile::write_zeros(self, offset, len).await
    }
    async fn sync_data(&self) -> Result<(), StorageError> {
        SegmentFile::sync_data(self).await
    }
    async fn close(self) {
        SegmentFile::close(self).await
    }
}

enum Handle {
    Direct(DmaFile),
    Buffered(BufferedFile),
}

/// A segment open for writing.
pub struct SegmentFile {
    handle: Handle,
    path: PathBuf,
}

fn io_error<T>(op: &'static str, path: &Path, e: glommio::GlommioError<T>) -> StorageError {
    StorageError::io(op, path, io::Error::from(e))
}

impl SegmentFile {
    /// Creates (truncating) `path`. Falls back to buffered I/O, with a warning, when the file
    /// system refuses O_DIRECT with EINVAL (glommio itself writes buffered on tmpfs).
    pub async fn create(path: &Path) -> Result<SegmentFile, StorageError> {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        let handle = match opts.dma_open(path).await.map_err(io::Error::from) {
            Ok(f) => Handle::Direct(f),
            Err(e) if e.kind() != io::ErrorKind::InvalidInput => {
                return Err(StorageError::io("create", path, e));
            }
            Err(e) => {
                tracing::warn!(
                    file = %path.display(),
                    error = %e,
                    "cannot open the log segment with O_DIRECT; writing it buffered"
                );
                let f = opts
                    .buffered_open(path)
                    .await
                    .map_err(|e| io_error("create", path, e))?;
                Handle::Buffered(f)
            }
        };
        Ok(SegmentFile {
            handle,
            path: path.to_path_buf(),
        })
    }

    /// Offsets and lengths of writes must be multiples of this (1 when buffered).
    pub fn alignment(&self) -> u64 {
        match &self.handle {
            Handle::Direct(f) => f.alignment(),
            Handle::Buffered(_) => 1,
        }
    }

    /// Grows the file to `len` bytes of zeros, reserving the blocks (`fallocate` mode 0);
    /// a file system without `fallocate` gets a sparse extension, as in `FsBackend`.
    pub async fn preallocate(&self, len: u64) -> Result<(), StorageError> {
        let res = match &self.handle {
            Handle::Direct(f) => f.pre_allocate(len, false).await,
            Handle::Buffered(f) => f.pre_allocate(len, false).await,
        };
        let err = match res {
            Ok(()) => return Ok(()),
            Err(e) => io::Error::from(e),
        };
        if !matches!(
            err.raw_os_error(),
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS)
        ) && err.kind() != io::ErrorKind::Unsupported
        {
            return Err(StorageError::io("fallocate", &self.path, err));
        }
        let res = match &self.handle {
            Handle::Direct(f) => f.truncate(len).await,
            Handle::Buffered(f) => f.truncate(len).await,
        };
        res.map_err(|e| io_error("truncate", &self.path, e))
    }

    /// Writes all of `data` at `offset` (both aligned for O_DIRECT). A short write is an error.
    pub async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        let written = match &self.handle {
            Handle::Direct(f) => {
                let mut buf = f.alloc_dma_buffer(data.len());
                buf.as_bytes_mut().copy_from_slice(data);
                f.write_at(buf, offset).await
            }
            Handle::Buffered(f) => f.write_at(data.to_vec(), offset).await,
        }
        .map_err(|e| io_error("write", &self.path, e))?;
        self.all_written(written, data.len(), offset)
    }

    /// A write that wrote less than asked is an error naming the file.
    fn all_written(&self, written: usize, len: usize, offset: u64) -> Result<(), StorageError> {
        if written == len {
            return Ok(());
        }
        let err = io::Error::other(format!(
            "short write: {written} of {len} bytes at offset {offset}"
        ));
        Err(StorageError::io("write", &self.path, err))
    }

    /// Writes `len` zero bytes at `offset` (see `zero_ahead`). O_DIRECT files only.
    pub async fn write_zeros(&self, offset: u64, len: u64) -> Result<(), StorageError> {
        let Handle::Direct(f) = &self.handle else {
            return Ok(());
        };
        let mut buf = f.alloc_dma_buffer(len as usize);
        buf.as_bytes_mut().fill(0);
        let written = f
            .write_at(buf, offset)
            .await
            .map_err(|e| io_error("write", &self.path, e))?;
        self.all_written(written, len as usize, offset)
    }

    /// `fdatasync(2)` called on the pipeline thread itself, not through io_uring. io_uring
    /// always hands an fsync to a kernel worker (`iou-wrk`) that inherits the pipeline's CPU
    /// mask, so the worker had to share the pipeline's core with the executor spinning while it
    /// waited: measured on the 2-core VM, 51-68k/s 32x4 setData against 74-85k/s with the call
    /// made here (buffered writer: 77-88k/s), single-session p50 the same. Nothing on this core
    /// needs to run during the sync: shard messages queue in their channels and form the next
    /// batch either way.
    ///
    /// Opening the segment O_DSYNC instead (the write is the sync) was tried too: commits alone
    /// were faster (`dma_log_test::commit_latency`), but in the server a single session's
    /// setData p50 went from about 260 to 500 us, the io_uring worker doing the blocking DSYNC
    /// write having the same problem.
    pub async fn sync_data(&self) -> Result<(), StorageError> {
        let fd = match &self.handle {
            Handle::Direct(f) => f.as_raw_fd(),
            Handle::Buffered(f) => f.as_raw_fd(),
        };
        loop {
            // SAFETY: `fd` belongs to the open file in `self.handle`, which outlives the call.
            if unsafe { libc::fdatasync(fd) } == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(StorageError::io("fdatasync", &self.path, err));
            }
        }
    }

    /// Closes the file descriptor (a dropped file is closed by glommio in the background).
    pub async fn close(self) {
        let res = match self.handle {
            Handle::Direct(f) => f.close().await,
            Handle::Buffered(f) => f.close().await,
        };
        if let Err(e) = res {
            tracing::warn!(file = %self.path.display(), "closing a log segment: {e}");
        }
    }
}

/// `fsync` of a directory, so the names created in it are durable.
pub async fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let d = glommio::io::Directory::open(dir)
        .await
        .map_err(|e| io_error("open dir", dir, e))?;
    let res = d.sync().await.map_err(|e| io_error("fsync dir", dir, e));
    let _ = d.close().await;
    res
}
