//! Snapshots: an rkyv 0.8 archive of [`SnapshotImage`] behind a 32-byte header, in
//! `<dataDir>/version-2/snapshot.<zxid in lower-case hex>`.
//!
//! Header (little-endian): `magic "RKSN"` | `format version u32` | `payload length u64` |
//! `last zxid i64` | `crc32c of payload u32` | `crc32c of the 28 bytes before it u32`.
//! The payload starts at offset 32 (16-aligned) and is read into an `AlignedVec<16>`,
//! validated once with `rkyv::access`, and then used in place.

mod shared;
mod v1;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::with::Map;

use crate::backend::{Backend, BackendFile};
use crate::error::{Result, StorageError};
use crate::wal::{parse_hex_suffix, VERSION_DIR};
pub use shared::{SharedBytes, SharedStr};

/// File name prefix of snapshots.
pub const SNAPSHOT_PREFIX: &str = "snapshot.";
/// Suffix of a snapshot being written.
pub const TMP_SUFFIX: &str = ".tmp";
/// Snapshot file magic.
pub const MAGIC: [u8; 4] = *b"RKSN";
/// Bumped whenever the image types or the rkyv format features change. Version 2 keeps null
/// znode data apart from empty data; version 1 files are still read (see `v1`).
pub const FORMAT_VERSION: u32 = 2;
/// Header length; also the payload offset.
pub const HEADER_LEN: usize = 32;

/// A session as stored in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(derive(Debug))]
pub struct SnapSession {
    /// The session id.
    pub session_id: i64,
    /// The negotiated timeout.
    pub timeout_ms: i32,
}

/// One ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(derive(Debug))]
pub struct SnapAcl {
    /// Permission bits (ZooDefs.Perms).
    pub perms: i32,
    /// Scheme, e.g. "world", "digest".
    pub scheme: String,
    /// Id within the scheme.
    pub id: String,
}

/// An ACL list, shared by every node whose `acl_index` points at it.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(derive(Debug))]
pub struct SnapAclList {
    /// The entries.
    pub entries: Vec<SnapAcl>,
}

/// A znode with its persisted stat. Child lists and counts are rebuilt from the paths.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(derive(Debug))]
pub struct SnapNode {
    /// Full path; the root is "/".
    #[rkyv(with = SharedStr)]
    pub path: Arc<str>,
    /// Node data; `None` is null data (ZooKeeper's `create(path, null)`), not empty data.
    #[rkyv(with = Map<SharedBytes>)]
    pub data: Option<Arc<[u8]>>,
    /// Index into [`SnapshotImage::acls`].
    pub acl_index: u32,
    /// Stat fields, as in ZooKeeper's StatPersisted.
    pub czxid: i64,
    /// zxid of the last data change.
    pub mzxid: i64,
    /// Creation time, ms since the epoch.
    pub ctime: i64,
    /// Last modification time, ms since the epoch.
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Child version.
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Owning session of an ephemeral node, else 0 (containers and TTL use ZooKeeper's
    /// special owner values).
    pub ephemeral_owner: i64,
    /// zxid of the last child change.
    pub pzxid: i64,
}

/// A whole snapshot: flat and sorted by path (parents before children).
#[derive(
    Debug, Clone, PartialEq, Eq, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct SnapshotImage {
    /// The last zxid applied when the snapshot started (it may contain later changes:
    /// snapshots are fuzzy, replay must be idempotent).
    pub last_zxid: i64,
    /// Live sessions.
    pub sessions: Vec<SnapSession>,
    /// The ACL table.
    pub acls: Vec<SnapAclList>,
    /// The nodes.
    pub nodes: Vec<SnapNode>,
}

/// `snapshot.<zxid in lower-case hex, no padding>`.
pub fn snapshot_file_name(zxid: i64) -> String {
    format!("{SNAPSHOT_PREFIX}{:x}", zxid as u64)
}

/// Parses a snapshot file name (not a `.tmp`); `None` for anything else.
pub fn parse_snapshot_name(name: &str) -> Option<i64> {
    parse_hex_suffix(name, SNAPSHOT_PREFIX)
}

/// Snapshot files in `dir` as (zxid, path), newest first.
pub fn list_snapshots<B: Backend>(backend: &B, dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let mut snaps: Vec<(i64, PathBuf)> = backend
        .list_dir(dir)?
        .into_iter()
        .filter_map(|n| parse_snapshot_name(&n).map(|z| (z, dir.join(n))))
        .collect();
    snaps.sort_by_key(|s| std::cmp::Reverse(s.0));
    Ok(snaps)
}

/// What [`write_snapshot`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The final path.
    pub path: PathBuf,
    /// `image.last_zxid`.
    pub zxid: i64,
    /// Total file length.
    pub file_len: u64,
}

fn header(payload_len: u64, payload_crc: u32, zxid: i64) -> [u8; HEADER_LEN] {
    header_of_version(FORMAT_VERSION, payload_len, payload_crc, zxid)
}

fn header_of_version(
    version: u32,
    payload_len: u64,
    payload_crc: u32,
    zxid: i64,
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..8].copy_from_slice(&version.to_le_bytes());
    h[8..16].copy_from_slice(&payload_len.to_le_bytes());
    h[16..24].copy_from_slice(&zxid.to_le_bytes());
    h[24..28].copy_from_slice(&payload_crc.to_le_bytes());
    let hcrc = crc32c::crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&hcrc.to_le_bytes());
    h
}

struct Header {
    version: u32,
    payload_len: u64,
    zxid: i64,
    payload_crc: u32,
}

fn parse_header(h: &[u8; HEADER_LEN]) -> std::result::Result<Header, String> {
    let u32_at = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let mut b8 = [0u8; 8];
    if h[0..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &h[0..4]));
    }
    let stored = u32_at(28);
    let computed = crc32c::crc32c(&h[0..28]);
    if stored != computed {
        return Err(format!(
            "header crc mismatch ({stored:#010x} != {computed:#010x})"
        ));
    }
    let version = u32_at(4);
    if version != FORMAT_VERSION && version != v1::VERSION {
        return Err(format!(
            "format version {version}, this build reads {} and {FORMAT_VERSION}",
            v1::VERSION
        ));
    }
    b8.copy_from_slice(&h[8..16]);
    let payload_len = u64::from_le_bytes(b8);
    b8.copy_from_slice(&h[16..24]);
    let zxid = i64::from_le_bytes(b8);
    Ok(Header {
        version,
        payload_len,
        zxid,
        payload_crc: u32_at(24),
    })
}

/// Streams rkyv output into a backend file at `HEADER_LEN..`, computing the crc as it goes,
/// so writing a snapshot never holds a second full copy of it in memory.
struct ChunkWriter<'a, F: BackendFile> {
    file: &'a mut F,
    pos: u64,
    crc: u32,
    buf: Vec<u8>,
    failed: Option<StorageError>,
    /// Pacing: the earliest time the next chunk may be written, and the time per chunk.
    next_at: std::time::Instant,
    per_chunk: Option<std::time::Duration>,
}

const WRITE_CHUNK: usize = 1 << 20;

impl<F: BackendFile> ChunkWriter<'_, F> {
    fn flush_chunk(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_at(self.pos, &self.buf) {
            let msg = e.to_string();
            self.failed = Some(e);
            return Err(std::io::Error::other(msg));
        }
        self.crc = crc32c::crc32c_append(self.crc, &self.buf);
        self.file.write_back(self.pos, self.buf.len() as u64);
        if let Some(per_chunk) = self.per_chunk {
            let now = std::time::Instant::now();
            if self.next_at > now {
                std::thread::sleep(self.next_at - now);
            }
            self.next_at = self.next_at.max(now) + per_chunk;
        }
        self.pos += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl<F: BackendFile> std::io::Write for ChunkWriter<'_, F> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= WRITE_CHUNK {
            self.flush_chunk()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_chunk()
    }
}

/// Writes `image` as `snapshot.<image.last_zxid>` in `<data_dir>/version-2`: to a `.tmp` file
/// first (payload streamed in 1 MiB chunks, then the header), then `fdatasync`, rename and
/// directory `fsync`, so a crash leaves either the old set of snapshots or the new one, never
/// a partial file under the final name.
pub fn write_snapshot<B: Backend>(
    backend: &B,
    data_dir: &Path,
    image: &SnapshotImage,
) -> Result<SnapshotInfo> {
    write_snapshot_paced(backend, data_dir, image, 0)
}

/// `write_snapshot` at no more than `bytes_per_sec` (0: unpaced), each chunk written back
/// before the next: a snapshot that saturates the disk makes the log's `fdatasync` wait
/// behind it, which is a write-latency stall for every client.
pub fn write_snapshot_paced<B: Backend>(
    backend: &B,
    data_dir: &Path,
    image: &SnapshotImage,
    bytes_per_sec: u64,
) -> Result<SnapshotInfo> {
    let dir = data_dir.join(VERSION_DIR);
    let name = snapshot_file_name(image.last_zxid);
    write_snapshot_as(backend, &dir, &name, image, bytes_per_sec)
}

/// `write_snapshot_paced` under a name of the caller's in `dir` (an ensemble member names
/// its snapshots by Raft index).
pub fn write_snapshot_as<B: Backend>(
    backend: &B,
    dir: &Path,
    name: &str,
    image: &SnapshotImage,
    bytes_per_sec: u64,
) -> Result<SnapshotInfo> {
    let zxid = image.last_zxid;
    // The new directory's name must survive a power cut like the files in it.
    crate::backend::create_dir_durable(backend, dir)?;
    let final_path = dir.join(name);
    let tmp_path = dir.join(format!("{name}{TMP_SUFFIX}"));
    let mut f = backend.create(&tmp_path)?;
    let mut w = ChunkWriter {
        file: &mut f,
        pos: HEADER_LEN as u64,
        crc: 0,
        buf: Vec::with_capacity(WRITE_CHUNK + 4096),
        failed: None,
        next_at: std::time::Instant::now(),
        per_chunk: (bytes_per_sec > 0)
            .then(|| std::time::Duration::from_secs_f64(WRITE_CHUNK as f64 / bytes_per_sec as f64)),
    };
    // rkyv aligns relative to the writer's start; the payload starts at a 16-aligned offset
    // and is loaded into an `AlignedVec<16>`, so the alignment carries over.
    let res = rkyv::api::high::to_bytes_in::<_, rancor::Error>(
        image,
        rkyv::ser::writer::IoWriter::new(&mut w),
    )
    .map(|_| ());
    let flushed = res.is_ok().then(|| std::io::Write::flush(&mut w));
    if let Some(e) = w.failed.take() {
        return Err(e);
    }
    if let Err(e) = res {
        return Err(StorageError::Serialize {
            zxid,
            reason: e.to_string(),
        });
    }
    if let Some(Err(e)) = flushed {
        return Err(StorageError::io("write", &tmp_path, e));
    }
    let payload_len = w.pos - HEADER_LEN as u64;
    let crc = w.crc;
    f.write_at(0, &header(payload_len, crc, zxid))?;
    f.sync_data()?;
    drop(f);
    backend.rename(&tmp_path, &final_path)?;
    backend.sync_dir(dir)?;
    Ok(SnapshotInfo {
        path: final_path,
        zxid,
        file_len: HEADER_LEN as u64 + payload_len,
    })
}

/// A validated snapshot held in memory; the archived image is read in place.
pub struct LoadedSnapshot {
    /// Validated by `rkyv::access` in [`load_snapshot_file`] and never mutated after.
    buf: AlignedVec<16>,
    zxid: i64,
    path: PathBuf,
}

impl std::fmt::Debug for LoadedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSnapshot")
            .field("path", &self.path)
            .field("zxid", &self.zxid)
            .field("bytes", &self.buf.len())
            .finish()
    }
}

impl LoadedSnapshot {
    /// The archived image, zero-copy.
    pub fn image(&self) -> &ArchivedSnapshotImage {
        // SAFETY: `buf` passed `rkyv::access::<ArchivedSnapshotImage, _>` when this value was
        // built, it is private and never mutated afterwards, and `AlignedVec<16>` keeps the
        // alignment the validation checked.
        unsafe { rkyv::access_unchecked::<ArchivedSnapshotImage>(&self.buf) }
    }

    /// The zxid (from the file name, equal to the header and the image).
    pub fn zxid(&self) -> i64 {
        self.zxid
    }

    /// The file it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The payload length in bytes.
    pub fn payload_len(&self) -> usize {
        self.buf.len()
    }

    /// Deserializes into owned types (a full copy; the engine usually walks [`Self::image`]).
    pub fn to_image(&self) -> Result<SnapshotImage> {
        rkyv::deserialize::<SnapshotImage, rancor::Error>(self.image())
            .map_err(|e| StorageError::corrupt(&self.path, HEADER_LEN as u64, e.to_string()))
    }
}

/// Reads, checks (magic, version, header crc, length, payload crc, rkyv validation, zxid)
/// and returns one snapshot file. Damage is reported as [`StorageError::Corrupt`].
pub fn load_snapshot_file<B: Backend>(
    backend: &B,
    path: &Path,
    zxid: i64,
) -> Result<LoadedSnapshot> {
    let corrupt = |offset: u64, reason: String| StorageError::corrupt(path, offset, reason);
    let file_len = backend.file_len(path)?;
    let mut h = [0u8; HEADER_LEN];
    let n = backend.read_at(path, 0, &mut h)?;
    if n < HEADER_LEN {
        return Err(corrupt(
            0,
            format!("file of {file_len} bytes is shorter than the header"),
        ));
    }
    let hdr = parse_header(&h).map_err(|r| corrupt(0, r))?;
    let expected = HEADER_LEN as u64 + hdr.payload_len;
    if file_len != expected {
        return Err(corrupt(
            8,
            format!("file is {file_len} bytes, header says {expected} (truncated or extended)"),
        ));
    }
    if hdr.zxid != zxid {
        return Err(corrupt(
            16,
            format!("header zxid {:#x} does not match file name", hdr.zxid),
        ));
    }
    let len = usize::try_from(hdr.payload_len)
        .map_err(|_| corrupt(8, "payload larger than the address space".into()))?;
    let mut buf = AlignedVec::<16>::with_capacity(len);
    buf.resize(len, 0);
    let got = backend.read_at(path, HEADER_LEN as u64, buf.as_mut_slice())?;
    if got != len {
        return Err(corrupt(
            HEADER_LEN as u64 + got as u64,
            "short read of payload".into(),
        ));
    }
    let crc = crc32c::crc32c(&buf);
    if crc != hdr.payload_crc {
        return Err(corrupt(
            HEADER_LEN as u64,
            format!(
                "payload crc mismatch (stored {:#010x}, computed {crc:#010x})",
                hdr.payload_crc
            ),
        ));
    }
    if hdr.version == v1::VERSION {
        buf = v1::upgrade(&buf)
            .map_err(|e| corrupt(HEADER_LEN as u64, format!("version 1 archive: {e}")))?;
    }
    let archived = rkyv::access::<ArchivedSnapshotImage, rancor::Error>(&buf)
        .map_err(|e| corrupt(HEADER_LEN as u64, format!("archive validation failed: {e}")))?;
    let image_zxid = archived.last_zxid.to_native();
    if image_zxid != zxid {
        return Err(corrupt(
            HEADER_LEN as u64,
            format!("image last_zxid {image_zxid:#x} does not match file name"),
        ));
    }
    Ok(LoadedSnapshot {
        buf,
        zxid,
        path: path.to_path_buf(),
    })
}

/// Loads the newest valid snapshot in `<data_dir>/version-2`, trying older ones when a newer
/// one is damaged (each skip is logged with its reason). `Ok(None)` when none is valid.
pub fn load_latest_snapshot<B: Backend>(
    backend: &B,
    data_dir: &Path,
) -> Result<Option<(i64, LoadedSnapshot)>> {
    let dir = data_dir.join(VERSION_DIR);
    let snaps = match list_snapshots(backend, &dir) {
        Ok(s) => s,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    for (zxid, path) in snaps {
        match load_snapshot_file(backend, &path, zxid) {
            Ok(s) => return Ok(Some((zxid, s))),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping invalid snapshot");
            }
        }
    }
    Ok(None)
}

/// Checks a snapshot file without keeping it: header, length and payload crc, read in
/// chunks. Used by purge to count only snapshots that recovery could use.
pub fn verify_snapshot_file<B: Backend>(backend: &B, path: &Path, zxid: i64) -> Result<()> {
    let corrupt = |offset: u64, reason: String| StorageError::corrupt(path, offset, reason);
    let file_len = backend.file_len(path)?;
    let mut h = [0u8; HEADER_LEN];
    if backend.read_at(path, 0, &mut h)? < HEADER_LEN {
        return Err(corrupt(0, "shorter than the header".into()));
    }
    let hdr = parse_header(&h).map_err(|r| corrupt(0, r))?;
    if file_len != HEADER_LEN as u64 + hdr.payload_len || hdr.zxid != zxid {
        return Err(corrupt(
            8,
            "length or zxid does not match the header".into(),
        ));
    }
    let mut crc = 0u32;
    let mut chunk = vec![0u8; 1 << 20];
    let mut off = HEADER_LEN as u64;
    while off < file_len {
        let n = backend.read_at(path, off, &mut chunk)?;
        if n == 0 {
            return Err(corrupt(off, "short read".into()));
        }
        crc = crc32c::crc32c_append(crc, &chunk[..n]);
        off += n as u64;
    }
    if crc != hdr.payload_crc {
        return Err(corrupt(HEADER_LEN as u64, "payload crc mismatch".into()));
    }
    Ok(())
}
