//! An ensemble member's snapshots on disk: `<dataDir>/raft/snapshot.<Raft index, hex>`, each
//! in the standalone snapshot format (rkyv image, crc, header) with the mark's zxid as its
//! last zxid. The Raft log's checkpoint record says which one the log starts after.
//!
//! - Taking one: every `snapCount` txns applied here the live tree is copied a chunk at a time
//!   between pipeline batches (`SnapshotCopy`, fuzzy), written and synced by a thread of its
//!   own at a paced rate, then handed to the member, which compacts once it is good.
//! - Receiving one: a leader streams the file in chunks before its MsgSnapshot; the chunks go
//!   to `<name>.part`, which is synced when complete, then loaded and stepped. Only if the
//!   member installs it is it renamed to its name (a stale one raft refuses must not replace
//!   a snapshot of this member's own at that index, which its log may stand on).
//! - The chunk writes and the final sync of a received file run on the pipeline core (the
//!   follower is catching up, and installing closes its clients); writeback is started every
//!   8 MiB, so the final sync waits only for the tail.

use crate::snapshot_copy::{
    sessions_from_snapshot, tree_from_snapshot, yield_to_the_write_path, SnapshotCopy,
};
use ringkeeper_engine::replica::{
    Member, SnapshotBegin, SnapshotMark, SnapshotSource, SnapshotState,
};
use ringkeeper_storage::snapshot::{load_snapshot_file, write_snapshot_as};
use ringkeeper_storage::FsBackend;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Snapshot write bandwidth (as a standalone server's: a snapshot written at full speed
/// makes the log's fdatasync wait behind it).
const SNAPSHOT_BYTES_PER_SEC: u64 = 64 << 20;
const PREFIX: &str = "snapshot.";
const PART: &str = ".part";

pub fn file_name(index: u64) -> String {
    format!("{PREFIX}{index:x}")
}

fn parse_name(name: &str) -> Option<u64> {
    u64::from_str_radix(name.strip_prefix(PREFIX)?, 16).ok()
}

/// Reads the snapshot `mark` names in `dir`.
pub fn load(dir: &Path, mark: &SnapshotMark) -> Result<SnapshotState, String> {
    load_file(&dir.join(file_name(mark.index)), mark)
}

fn load_file(path: &Path, mark: &SnapshotMark) -> Result<SnapshotState, String> {
    let snap = load_snapshot_file(&FsBackend::new(), path, mark.zxid)
        .map_err(|e| format!("snapshot {}: {e}", path.display()))?;
    let tree = tree_from_snapshot(&snap)?;
    let sessions = sessions_from_snapshot(&snap);
    Ok(SnapshotState { tree, sessions })
}

/// The member's way back to its base snapshot (a rebuild after losing leadership).
pub struct FileSnapshots(pub PathBuf);

impl SnapshotSource for FileSnapshots {
    fn load(&mut self, mark: &SnapshotMark) -> SnapshotState {
        // The base was written, synced and checked before the log named it: failing to read
        // it back is lost data, and the member cannot go on without its committed state.
        load(&self.0, mark).unwrap_or_else(|e| panic!("cannot reload the base snapshot: {e}"))
    }
}

/// A received snapshot file being assembled.
struct Receiving {
    index: u64,
    total: u64,
    next: u64,
    /// Bytes whose writeback has been started.
    flushing_to: u64,
    file: std::fs::File,
}

/// Writeback of a received file is started every this many bytes, so that the final sync,
/// on the pipeline core, waits only for the last of it.
const WRITEBACK_EVERY: u64 = 8 << 20;

pub struct Snapshots {
    dir: PathBuf,
    /// Txns applied here since the last snapshot began, and the threshold.
    txns_since: u64,
    every: u64,
    copy: Option<(SnapshotBegin, SnapshotCopy)>,
    written: Option<mpsc::Receiver<Result<SnapshotMark, String>>>,
    receiving: Option<Receiving>,
    /// Index of the last file received whole.
    received: Option<u64>,
    pub taken: u64,
}

impl Snapshots {
    /// `every`: ZooKeeper's snapCount (txns between snapshots).
    pub fn new(dir: PathBuf, every: u64) -> Snapshots {
        Snapshots {
            dir,
            txns_since: 0,
            every: every.max(1),
            copy: None,
            written: None,
            receiving: None,
            received: None,
            taken: 0,
        }
    }

    pub fn path_of(&self, index: u64) -> PathBuf {
        self.dir.join(file_name(index))
    }

    pub fn count_applied(&mut self, txns: u64) {
        self.txns_since += txns;
    }

    pub fn copying(&self) -> bool {
        self.copy.is_some()
    }

    /// Starts a copy when one is due and none is under way.
    pub fn maybe_begin(&mut self, member: &Member) {
        if self.txns_since < self.every || self.copy.is_some() || self.written.is_some() {
            return;
        }
        let Some(begin) = member.snapshot_begin() else {
            return;
        };
        self.txns_since = 0;
        let copy = SnapshotCopy::begin(member.engine(), begin.zxid());
        tracing::info!(
            zxid = format!("{:#x}", begin.zxid()),
            nodes = copy.nodes(),
            "snapshot started"
        );
        self.copy = Some((begin, copy));
    }

    /// Copies a chunk; a finished copy goes to a writer thread.
    pub fn step(&mut self, member: &Member) {
        let Some((_, copy)) = self.copy.as_mut() else {
            return;
        };
        if !copy.step(member.engine()) {
            return;
        }
        let Some((begin, copy)) = self.copy.take() else {
            return;
        };
        let Some(mark) = member.snapshot_end(&begin) else {
            tracing::info!("snapshot dropped: the tree was rebuilt during the copy");
            return;
        };
        let image = copy.finish();
        let (tx, rx) = mpsc::channel();
        let dir = self.dir.clone();
        let spawned = std::thread::Builder::new()
            .name("rk-snapshot".into())
            .spawn(move || {
                yield_to_the_write_path();
                let started = std::time::Instant::now();
                let name = file_name(mark.index);
                let res = write_snapshot_as(
                    &FsBackend::new(),
                    &dir,
                    &name,
                    &image,
                    SNAPSHOT_BYTES_PER_SEC,
                )
                .map(|info| {
                    tracing::info!(
                        file = %info.path.display(),
                        index = mark.index,
                        bytes = info.file_len,
                        ms = started.elapsed().as_millis() as u64,
                        "snapshot written"
                    );
                    mark
                })
                .map_err(|e| e.to_string());
                let _ = tx.send(res);
            });
        match spawned {
            Ok(_) => self.written = Some(rx),
            Err(e) => tracing::error!("cannot start the snapshot writer: {e}"),
        }
    }

    /// A snapshot the writer thread finished, for `Member::snapshot_saved`.
    pub fn poll_written(&mut self) -> Option<SnapshotMark> {
        let res = match self.written.as_ref()?.try_recv() {
            Ok(res) => res,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err("the writer thread died".into()),
        };
        self.written = None;
        match res {
            Ok(mark) => {
                self.taken += 1;
                Some(mark)
            }
            Err(e) => {
                tracing::error!("snapshot failed: {e}");
                None
            }
        }
    }

    /// A chunk of a snapshot file from the leader. Out of order (a reconnect lost some),
    /// the file is dropped; its MsgSnapshot is then dropped too, and the leader sends again.
    pub fn chunk(&mut self, c: super::wire::SnapshotChunk) -> Result<(), String> {
        if c.offset == 0 {
            let path = self.part_path(c.index);
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| format!("{}: {e}", self.dir.display()))?;
            let file =
                std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            self.receiving = Some(Receiving {
                index: c.index,
                total: c.total,
                next: 0,
                flushing_to: 0,
                file,
            });
        }
        let Some(r) = self.receiving.as_mut() else {
            return Ok(());
        };
        if r.index != c.index || r.next != c.offset || r.total != c.total {
            tracing::info!(index = c.index, "snapshot chunks out of order: dropped");
            self.receiving = None;
            return Ok(());
        }
        r.file
            .write_all(&c.bytes)
            .map_err(|e| format!("writing a received snapshot: {e}"))?;
        r.next += c.bytes.len() as u64;
        if r.next - r.flushing_to >= WRITEBACK_EVERY {
            start_writeback(&r.file, r.flushing_to, r.next - r.flushing_to);
            r.flushing_to = r.next;
        }
        if r.next < r.total {
            return Ok(());
        }
        let r = self.receiving.take().expect("checked above");
        r.file
            .sync_data()
            .map_err(|e| format!("syncing a received snapshot: {e}"))?;
        self.received = Some(r.index);
        Ok(())
    }

    fn part_path(&self, index: u64) -> PathBuf {
        self.dir.join(format!("{}{PART}", file_name(index)))
    }

    /// After `Member::step_snapshot`: an installed snapshot takes its name (durably, before
    /// the log's Install record is written); one raft refused is removed.
    pub fn received_done(&mut self, index: u64, installed: bool) -> Result<(), String> {
        let part = self.part_path(index);
        if !installed {
            let _ = std::fs::remove_file(&part);
            return Ok(());
        }
        std::fs::rename(&part, self.path_of(index))
            .map_err(|e| format!("{}: {e}", part.display()))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("{}: {e}", self.dir.display()))
    }

    /// The state of a snapshot received whole, for `Member::step_snapshot`.
    pub fn take_received(&mut self, mark: &SnapshotMark) -> Option<SnapshotState> {
        if self.received != Some(mark.index) {
            return None;
        }
        self.received = None;
        match load_file(&self.part_path(mark.index), mark) {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::warn!("received snapshot unusable: {e}");
                None
            }
        }
    }

    /// Removes snapshot files older than the log's base, and leftovers of copies or
    /// transfers that never finished.
    pub fn purge(&self, base: u64) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let old = match parse_name(name) {
                Some(index) => index < base,
                None => name
                    .strip_suffix(PART)
                    .and_then(parse_name)
                    .is_some_and(|index| index <= base && self.receiving.is_none()),
            };
            if old {
                if let Err(err) = std::fs::remove_file(e.path()) {
                    tracing::warn!(file = %e.path().display(), error = %err, "cannot remove an old snapshot");
                }
            }
        }
    }
}

/// Starts writing back a range of the file without waiting for it (`sync_file_range` with
/// SYNC_FILE_RANGE_WRITE). Only an optimisation: the final `sync_data` makes it durable.
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on an open descriptor this function borrows; it reads no
    // memory of ours, and a failure only leaves the whole file to the final sync.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}
