//! The file backend under the WAL and snapshots.
//!
//! The trait is deliberately small and synchronous: the server drives storage from a dedicated
//! thread (or an executor task that may block), so no async is needed here. Two implementations:
//!
//! * [`FsBackend`]: `std::fs` plus `fdatasync(2)`, `fallocate(2)` and directory `fsync`.
//! * [`SimBackend`]: in memory, with a *live* and a *durable* image of every file and of the
//!   directory namespace, so tests can build exactly the state a crash would leave, plus fault
//!   injection (failing syncs, torn writes, zeroed ranges, failing every op after a point).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Result, StorageError};

/// A directory-level file system interface.
pub trait Backend: Send + Sync + 'static {
    /// An open, writable file.
    type File: BackendFile;

    /// Creates `path` (truncating it if it exists) and opens it for writing.
    /// The new name is durable only after [`Backend::sync_dir`] on its parent.
    fn create(&self, path: &Path) -> Result<Self::File>;
    /// Opens an existing file for writing.
    fn open(&self, path: &Path) -> Result<Self::File>;
    /// The current length of the file at `path`.
    fn file_len(&self, path: &Path) -> Result<u64>;
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (short at EOF).
    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Reads the whole file.
    fn read_all(&self, path: &Path) -> Result<Vec<u8>> {
        let len = self.file_len(path)?;
        let len = usize::try_from(len).map_err(|_| {
            StorageError::io(
                "read",
                path,
                io::Error::other("file larger than address space"),
            )
        })?;
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let n = self.read_at(path, done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
    /// Renames `from` to `to`, replacing `to`. Durable after `sync_dir` of the parent.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file. Durable after `sync_dir` of the parent.
    fn remove(&self, path: &Path) -> Result<()>;
    /// File names (not paths) in `dir`, in no particular order.
    fn list_dir(&self, dir: &Path) -> Result<Vec<String>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> Result<()>;
    /// Makes creates, renames and removes in `dir` durable (`fsync` on the directory).
    fn sync_dir(&self, dir: &Path) -> Result<()>;
}

/// An open file.
pub trait BackendFile: Send {
    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;
    /// Sets the length, cutting or zero-extending.
    fn set_len(&mut self, len: u64) -> Result<()>;
    /// Grows the file to at least `len` bytes of zeros, reserving the blocks where the file
    /// system can (`fallocate`), so later writes do not change the file size.
    fn preallocate(&mut self, len: u64) -> Result<()>;
    /// Makes the data written so far (and the size) durable: `fdatasync`.
    fn sync_data(&mut self) -> Result<()>;
    /// Writes back `len` bytes at `offset` now and waits for them, with no durability
    /// promise for metadata (`sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`). A large
    /// file written this way a chunk at a time keeps the disk queue short, instead of
    /// leaving hundreds of MB dirty for one flush that the log's `fdatasync` would queue
    /// behind. A hint: the default does nothing.
    fn write_back(&mut self, _offset: u64, _len: u64) {}
    /// The path this file was opened with (for error messages).
    fn path(&self) -> &Path;
}

/// Creates `dir` and its missing parents, and makes each new directory's name durable by
/// syncing the directory it was created in (a name is durable only once its parent is
/// `fsync`ed, for directories as for files). Directories that already existed cost one
/// `list_dir` each and no sync.
pub fn create_dir_durable<B: Backend + ?Sized>(backend: &B, dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| backend.list_dir(a).is_err())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    backend.create_dir_all(dir)?;
    // Parents first: a child's name is no use in a directory that is itself lost.
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            backend.sync_dir(parent)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FsBackend
// ---------------------------------------------------------------------------------------------

/// The real file system.
#[derive(Debug, Clone, Default)]
pub struct FsBackend;

impl FsBackend {
    /// A new backend.
    pub fn new() -> Self {
        FsBackend
    }
}

/// A file of [`FsBackend`].
#[derive(Debug)]
pub struct FsFile {
    file: File,
    path: PathBuf,
}

impl Backend for FsBackend {
    type File = FsFile;

    fn create(&self, path: &Path) -> Result<FsFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| StorageError::io("create", path, e))?;
        Ok(FsFile {
            file,
            path: path.to_path_buf(),
        })
    }

    fn open(&self, path: &Path) -> Result<FsFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StorageError::io("open", path, e))?;
        Ok(FsFile {
            file,
            path: path.to_path_buf(),
        })
    }

    fn file_len(&self, path: &Path) -> Result<u64> {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| StorageError::io("stat", path, e))
    }

    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StorageError::io("read", path, e)),
            }
        }
        Ok(done)
    }

    fn read_all(&self, path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).map_err(|e| StorageError::io("read", path, e))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| StorageError::io("rename", from, e))
    }

    fn remove(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| StorageError::io("remove", path, e))
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io("readdir", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StorageError::io("readdir", dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io("mkdir", dir, e))
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let d = File::open(dir).map_err(|e| StorageError::io("open dir", dir, e))?;
        d.sync_all()
            .map_err(|e| StorageError::io("fsync dir", dir, e))
    }
}

impl BackendFile for FsFile {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|e| StorageError::io("write", &self.path, e))
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| StorageError::io("truncate", &self.path, e))
    }

    fn preallocate(&mut self, len: u64) -> Result<()> {
        let current = self
            .file
            .metadata()
            .map_err(|e| StorageError::io("stat", &self.path, e))?
            .len();
        if len <= current {
            return Ok(());
        }
        let len_off = libc::off_t::try_from(len).map_err(|_| {
            StorageError::io(
                "fallocate",
                &self.path,
                io::Error::other("length overflows off_t"),
            )
        })?;
        // SAFETY: plain syscall on an fd we own; no memory is passed.
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), 0, 0, len_off) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // Not supported by this file system: a sparse extension still reads as zeros.
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => self.set_len(len),
            _ => Err(StorageError::io("fallocate", &self.path, err)),
        }
    }

    fn sync_data(&mut self) -> Result<()> {
        loop {
            // SAFETY: plain syscall on an fd we own.
            let rc = unsafe { libc::fdatasync(self.file.as_raw_fd()) };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(StorageError::io("fdatasync", &self.path, err));
            }
        }
    }

    fn write_back(&mut self, offset: u64, len: u64) {
        let (Ok(off), Ok(n)) = (
            libc::off64_t::try_from(offset),
            libc::off64_t::try_from(len),
        ) else {
            return;
        };
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: a plain syscall on an fd we own; it only writes back cached pages.
        unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), off, n, flags);
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

// ---------------------------------------------------------------------------------------------
// SimBackend
// ---------------------------------------------------------------------------------------------

type InodeId = u64;

#[derive(Debug, Clone, Default)]
struct Inode {
    live: Vec<u8>,
    durable: Vec<u8>,
    /// Byte range of `live` changed since the last sync (so a sync of a large preallocated
    /// segment copies only what was written).
    dirty: Option<(usize, usize)>,
}

impl Inode {
    fn touch(&mut self, start: usize, end: usize) {
        self.dirty = Some(match self.dirty {
            None => (start, end),
            Some((s, e)) => (s.min(start), e.max(end)),
        });
    }

    fn resize_live(&mut self, len: usize) {
        let old = self.live.len();
        self.live.resize(len, 0);
        self.touch(old.min(len), old.max(len));
    }

    fn sync(&mut self) {
        self.durable.resize(self.live.len(), 0);
        if let Some((s, e)) = self.dirty.take() {
            let e = e.min(self.live.len());
            if s < e {
                self.durable[s..e].copy_from_slice(&self.live[s..e]);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct LastWrite {
    inode: InodeId,
    offset: u64,
    len: usize,
}

#[derive(Debug, Default)]
struct SimState {
    dirs: BTreeSet<PathBuf>,
    /// Directories whose name survives a crash: made durable by `sync_dir` of their parent
    /// (a root, which has no parent, is durable when created).
    durable_dirs: BTreeSet<PathBuf>,
    live_names: BTreeMap<PathBuf, InodeId>,
    durable_names: BTreeMap<PathBuf, InodeId>,
    inodes: BTreeMap<InodeId, Inode>,
    next_inode: InodeId,
    /// Number of successful or failed sync calls (file and directory) so far.
    syncs: u64,
    /// Number of operations (any call) so far.
    ops: u64,
    /// Bytes returned by `read_at` (and so by `read_all`) so far.
    bytes_read: u64,
    /// The sync with this 1-based number fails.
    fail_sync_at: Option<u64>,
    /// Every operation after this many operations fails.
    fail_ops_after: Option<u64>,
    last_write: Option<LastWrite>,
}

impl SimState {
    fn op(&mut self, what: &'static str, path: &Path) -> Result<()> {
        self.ops += 1;
        if let Some(limit) = self.fail_ops_after {
            if self.ops > limit {
                return Err(StorageError::io(
                    what,
                    path,
                    io::Error::other("injected op failure"),
                ));
            }
        }
        Ok(())
    }

    fn sync(&mut self, what: &'static str, path: &Path) -> Result<()> {
        self.op(what, path)?;
        self.syncs += 1;
        if self.fail_sync_at == Some(self.syncs) {
            return Err(StorageError::io(
                what,
                path,
                io::Error::other("injected sync failure"),
            ));
        }
        Ok(())
    }

    fn inode_of(&self, path: &Path) -> Result<InodeId> {
        self.live_names
            .get(path)
            .copied()
            .ok_or_else(|| StorageError::io("open", path, io::Error::from(io::ErrorKind::NotFound)))
    }

    fn inode_mut(&mut self, id: InodeId, path: &Path) -> Result<&mut Inode> {
        self.inodes.get_mut(&id).ok_or_else(|| {
            StorageError::io("write", path, io::Error::from(io::ErrorKind::NotFound))
        })
    }
}

/// An in-memory file system that models what survives a crash.
///
/// Clones share state: keep one clone in the test to inject faults while the WAL owns another.
/// Writes go to a file's live image; [`BackendFile::sync_data`] copies live to durable for
/// that file; [`Backend::sync_dir`] makes the creates, renames and removes of that directory
/// durable, including the names of directories created in it. [`SimBackend::crash`] returns
/// a fresh backend whose state is the durable image: a directory whose name was never synced
/// is gone, with everything in it.
#[derive(Debug, Clone, Default)]
pub struct SimBackend {
    state: Arc<Mutex<SimState>>,
}

/// A file of [`SimBackend`].
#[derive(Debug)]
pub struct SimFile {
    state: Arc<Mutex<SimState>>,
    inode: InodeId,
    path: PathBuf,
}

impl SimBackend {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock can only come from a bug in this file; the state is
        // still consistent enough for a test to report it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state a crash right now would leave: durable names and durable contents.
    /// Open files of `self` keep pointing at the old state.
    pub fn crash(&self) -> SimBackend {
        let s = self.lock();
        // A directory survives if its name and the names of all its ancestors were synced;
        // the files in a lost directory are lost with it.
        let dirs: BTreeSet<PathBuf> = s
            .durable_dirs
            .iter()
            .filter(|d| {
                d.ancestors()
                    .skip(1)
                    .all(|a| a.as_os_str().is_empty() || s.durable_dirs.contains(a))
            })
            .cloned()
            .collect();
        let names: BTreeMap<PathBuf, InodeId> = s
            .durable_names
            .iter()
            .filter(|(p, _)| p.parent().is_some_and(|d| dirs.contains(d)))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        let mut inodes = BTreeMap::new();
        for id in names.values() {
            if let Some(inode) = s.inodes.get(id) {
                inodes.insert(
                    *id,
                    Inode {
                        live: inode.durable.clone(),
                        durable: inode.durable.clone(),
                        dirty: None,
                    },
                );
            }
        }
        let state = SimState {
            durable_dirs: dirs.clone(),
            dirs,
            live_names: names.clone(),
            durable_names: names,
            inodes,
            next_inode: s.next_inode,
            ..SimState::default()
        };
        SimBackend {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Number of sync calls (file and directory, failed ones included) so far.
    pub fn sync_count(&self) -> u64 {
        self.lock().syncs
    }

    /// Number of operations so far.
    pub fn op_count(&self) -> u64 {
        self.lock().ops
    }

    /// Bytes read through [`Backend::read_at`] and [`Backend::read_all`] so far.
    pub fn bytes_read(&self) -> u64 {
        self.lock().bytes_read
    }

    /// Makes sync number `n` (1-based, counting from the creation of this backend) fail.
    /// Nothing of a failed sync becomes durable.
    pub fn fail_sync_at(&self, n: u64) {
        self.lock().fail_sync_at = Some(n);
    }

    /// Makes every operation after the next `n` fail (`n = 0`: fail from now on).
    pub fn fail_ops_after(&self, n: u64) {
        let mut s = self.lock();
        s.fail_ops_after = Some(s.ops + n);
    }

    /// Clears injected failures.
    pub fn heal(&self) {
        let mut s = self.lock();
        s.fail_sync_at = None;
        s.fail_ops_after = None;
    }

    /// Models a torn last write: the first `keep` bytes of the most recent `write_at` reach
    /// the durable image (as if the device wrote part of it before the crash), the rest not.
    /// Returns false if there was no write or the file is gone.
    pub fn tear_last_write(&self, keep: usize) -> bool {
        let mut s = self.lock();
        let Some(w) = s.last_write else { return false };
        let Some(inode) = s.inodes.get_mut(&w.inode) else {
            return false;
        };
        let keep = keep.min(w.len);
        let start = w.offset as usize;
        let end = start + keep;
        if inode.live.len() < end {
            return false;
        }
        if inode.durable.len() < end {
            inode.durable.resize(end, 0);
        }
        inode.durable[start..end].copy_from_slice(&inode.live[start..end]);
        true
    }

    /// Models a write torn in any order: of the most recent `write_at`, the `sector`-sized
    /// pieces (aligned to file offsets, counted from the write's first one) for which `keep`
    /// says true reach the durable image, the others not. Returns false if there was no write.
    pub fn tear_last_write_sectors(&self, sector: usize, keep: impl Fn(usize) -> bool) -> bool {
        let mut s = self.lock();
        let Some(w) = s.last_write else { return false };
        let Some(inode) = s.inodes.get_mut(&w.inode) else {
            return false;
        };
        let (start, end) = (w.offset as usize, w.offset as usize + w.len);
        if inode.live.len() < end {
            return false;
        }
        for (i, first) in (start / sector * sector..end).step_by(sector).enumerate() {
            let (from, to) = (first.max(start), (first + sector).min(end));
            if keep(i) {
                if inode.durable.len() < to {
                    inode.durable.resize(to, 0);
                }
                inode.durable[from..to].copy_from_slice(&inode.live[from..to]);
            }
        }
        true
    }

    /// The offset and length of the most recent `write_at`, if any.
    pub fn last_write(&self) -> Option<(u64, usize)> {
        self.lock().last_write.map(|w| (w.offset, w.len))
    }

    /// Zeroes `len` bytes at `offset` in both images of the file (a lost or zeroed block).
    pub fn zero_range(&self, path: &Path, offset: u64, len: usize) -> bool {
        self.mutate_both(path, |bytes| {
            let start = (offset as usize).min(bytes.len());
            let end = (start + len).min(bytes.len());
            bytes[start..end].fill(0);
        })
    }

    /// Flips bits of the byte at `offset` in both images (silent corruption).
    pub fn corrupt_byte(&self, path: &Path, offset: u64) -> bool {
        self.mutate_both(path, |bytes| {
            if let Some(b) = bytes.get_mut(offset as usize) {
                *b ^= 0x5a;
            }
        })
    }

    /// Cuts both images of the file to `len` bytes.
    pub fn truncate_file(&self, path: &Path, len: u64) -> bool {
        self.mutate_both(path, |bytes| bytes.truncate(len as usize))
    }

    /// The live contents of a file (for assertions).
    pub fn live_contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        let id = s.live_names.get(path)?;
        s.inodes.get(id).map(|i| i.live.clone())
    }

    fn mutate_both(&self, path: &Path, f: impl Fn(&mut Vec<u8>)) -> bool {
        let mut s = self.lock();
        let Some(id) = s.live_names.get(path).copied() else {
            return false;
        };
        let Some(inode) = s.inodes.get_mut(&id) else {
            return false;
        };
        f(&mut inode.live);
        f(&mut inode.durable);
        true
    }

    fn check_parent(s: &SimState, path: &Path) -> Result<()> {
        match path.parent() {
            Some(p) if s.dirs.contains(p) => Ok(()),
            _ => Err(StorageError::io(
                "create",
                path,
                io::Error::from(io::ErrorKind::NotFound),
            )),
        }
    }
}

impl Backend for SimBackend {
    type File = SimFile;

    fn create(&self, path: &Path) -> Result<SimFile> {
        let mut s = self.lock();
        s.op("create", path)?;
        Self::check_parent(&s, path)?;
        let id = s.next_inode;
        s.next_inode += 1;
        s.inodes.insert(id, Inode::default());
        s.live_names.insert(path.to_path_buf(), id);
        Ok(SimFile {
            state: self.state.clone(),
            inode: id,
            path: path.to_path_buf(),
        })
    }

    fn open(&self, path: &Path) -> Result<SimFile> {
        let mut s = self.lock();
        s.op("open", path)?;
        let id = s.inode_of(path)?;
        Ok(SimFile {
            state: self.state.clone(),
            inode: id,
            path: path.to_path_buf(),
        })
    }

    fn file_len(&self, path: &Path) -> Result<u64> {
        let mut s = self.lock();
        s.op("stat", path)?;
        let id = s.inode_of(path)?;
        Ok(s.inodes.get(&id).map_or(0, |i| i.live.len() as u64))
    }

    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut s = self.lock();
        s.op("read", path)?;
        let id = s.inode_of(path)?;
        let Some(inode) = s.inodes.get(&id) else {
            return Ok(0);
        };
        let start = (offset as usize).min(inode.live.len());
        let n = buf.len().min(inode.live.len() - start);
        buf[..n].copy_from_slice(&inode.live[start..start + n]);
        s.bytes_read += n as u64;
        Ok(n)
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut s = self.lock();
        s.op("rename", from)?;
        Self::check_parent(&s, to)?;
        let id = s.inode_of(from)?;
        s.live_names.remove(from);
        s.live_names.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        let mut s = self.lock();
        s.op("remove", path)?;
        s.inode_of(path)?;
        s.live_names.remove(path);
        Ok(())
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let mut s = self.lock();
        s.op("readdir", dir)?;
        if !s.dirs.contains(dir) {
            return Err(StorageError::io(
                "readdir",
                dir,
                io::Error::from(io::ErrorKind::NotFound),
            ));
        }
        Ok(s.live_names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .collect())
    }

    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        let mut s = self.lock();
        s.op("mkdir", dir)?;
        for a in dir.ancestors() {
            if !a.as_os_str().is_empty() && s.dirs.insert(a.to_path_buf()) && a.parent().is_none() {
                s.durable_dirs.insert(a.to_path_buf());
            }
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let mut s = self.lock();
        s.sync("fsync dir", dir)?;
        let in_dir = |p: &PathBuf| p.parent() == Some(dir);
        let live: Vec<(PathBuf, InodeId)> = s
            .live_names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        s.durable_names.retain(|p, _| !in_dir(p));
        s.durable_names.extend(live);
        let subdirs: Vec<PathBuf> = s.dirs.iter().filter(|d| in_dir(d)).cloned().collect();
        s.durable_dirs.extend(subdirs);
        Ok(())
    }
}

impl SimFile {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl BackendFile for SimFile {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let mut s = self.lock();
        s.op("write", &self.path)?;
        let inode = s.inode_mut(self.inode, &self.path)?;
        let start = offset as usize;
        let end = start + data.len();
        if inode.live.len() < end {
            inode.resize_live(end);
        }
        inode.live[start..end].copy_from_slice(data);
        inode.touch(start, end);
        s.last_write = Some(LastWrite {
            inode: self.inode,
            offset,
            len: data.len(),
        });
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        let mut s = self.lock();
        s.op("truncate", &self.path)?;
        s.inode_mut(self.inode, &self.path)?
            .resize_live(len as usize);
        Ok(())
    }

    fn preallocate(&mut self, len: u64) -> Result<()> {
        let mut s = self.lock();
        s.op("fallocate", &self.path)?;
        let inode = s.inode_mut(self.inode, &self.path)?;
        if (inode.live.len() as u64) < len {
            inode.resize_live(len as usize);
        }
        Ok(())
    }

    fn sync_data(&mut self) -> Result<()> {
        let mut s = self.lock();
        s.sync("fdatasync", &self.path)?;
        s.inode_mut(self.inode, &self.path)?.sync();
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_crash_keeps_only_synced_state() {
        let b = SimBackend::new();
        let dir = Path::new("/d");
        create_dir_durable(&b, dir).unwrap();
        let a = dir.join("a");
        let mut f = b.create(&a).unwrap();
        f.write_at(0, b"hello").unwrap();
        // Not synced at all: the name is gone after a crash.
        assert!(b.crash().list_dir(dir).unwrap().is_empty());
        b.sync_dir(dir).unwrap();
        // Name durable, data not.
        let c = b.crash();
        assert_eq!(c.read_all(&a).unwrap(), b"");
        f.sync_data().unwrap();
        f.write_at(5, b" world").unwrap();
        let c = b.crash();
        assert_eq!(c.read_all(&a).unwrap(), b"hello");
        assert!(b.tear_last_write(3));
        assert_eq!(b.crash().read_all(&a).unwrap(), b"hello wo");
    }

    #[test]
    fn sim_rename_and_remove_need_dir_sync() {
        let b = SimBackend::new();
        let dir = Path::new("/d");
        create_dir_durable(&b, dir).unwrap();
        let mut f = b.create(&dir.join("x.tmp")).unwrap();
        f.write_at(0, b"1").unwrap();
        f.sync_data().unwrap();
        b.sync_dir(dir).unwrap();
        b.rename(&dir.join("x.tmp"), &dir.join("x")).unwrap();
        assert_eq!(b.crash().list_dir(dir).unwrap(), vec!["x.tmp".to_string()]);
        b.sync_dir(dir).unwrap();
        assert_eq!(b.crash().list_dir(dir).unwrap(), vec!["x".to_string()]);
        b.remove(&dir.join("x")).unwrap();
        assert_eq!(b.crash().list_dir(dir).unwrap(), vec!["x".to_string()]);
        b.sync_dir(dir).unwrap();
        assert!(b.crash().list_dir(dir).unwrap().is_empty());
    }

    #[test]
    fn sim_new_directory_needs_its_parent_synced() {
        let b = SimBackend::new();
        let dir = Path::new("/data/version-2");
        b.create_dir_all(dir).unwrap();
        let mut f = b.create(&dir.join("f")).unwrap();
        f.write_at(0, b"x").unwrap();
        f.sync_data().unwrap();
        b.sync_dir(dir).unwrap();
        // The file's name is synced, but not the directories': all of it is lost.
        assert!(b.crash().list_dir(Path::new("/data")).is_err());
        b.sync_dir(Path::new("/data")).unwrap();
        assert!(
            b.crash().list_dir(dir).is_err(),
            "/data itself is not durable yet"
        );
        b.sync_dir(Path::new("/")).unwrap();
        assert_eq!(b.crash().read_all(&dir.join("f")).unwrap(), b"x");

        // The helper syncs the parent of each directory it creates, and only those.
        let b = SimBackend::new();
        create_dir_durable(&b, dir).unwrap();
        assert_eq!(b.sync_count(), 2);
        assert!(b.crash().list_dir(dir).unwrap().is_empty());
        create_dir_durable(&b, dir).unwrap();
        assert_eq!(b.sync_count(), 2);
    }

    #[test]
    fn sim_fault_injection() {
        let b = SimBackend::new();
        let dir = Path::new("/d");
        b.create_dir_all(dir).unwrap();
        let mut f = b.create(&dir.join("a")).unwrap();
        b.fail_sync_at(2);
        f.sync_data().unwrap();
        assert!(f.sync_data().is_err());
        f.sync_data().unwrap();
        b.fail_ops_after(1);
        f.write_at(0, b"x").unwrap();
        assert!(f.write_at(0, b"x").is_err());
        assert!(b.list_dir(dir).is_err());
        b.heal();
        assert!(b.list_dir(dir).is_ok());
    }

    #[test]
    fn fs_backend_basics() {
        let tmp = tempfile::tempdir().unwrap();
        let b = FsBackend::new();
        let dir = tmp.path().join("v");
        b.create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        let mut f = b.create(&p).unwrap();
        f.write_at(0, b"abc").unwrap();
        f.preallocate(4096).unwrap();
        f.sync_data().unwrap();
        b.sync_dir(&dir).unwrap();
        assert_eq!(b.file_len(&p).unwrap(), 4096);
        let mut buf = [0u8; 4];
        assert_eq!(b.read_at(&p, 1, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"bc\0\0");
        b.rename(&p, &dir.join("g")).unwrap();
        assert_eq!(b.list_dir(&dir).unwrap(), vec!["g".to_string()]);
        b.remove(&dir.join("g")).unwrap();
        assert!(b.list_dir(&dir).unwrap().is_empty());
    }
}
