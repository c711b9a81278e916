//! Storage errors. Every variant carries enough context (operation, file, offset, zxid) for an
//! operator to find the damage without a debugger.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Result alias used throughout the crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An operating error of the storage layer.
///
/// `Clone` so that a poisoned [`crate::wal::Wal`] can hand the original cause back on every
/// later call (the I/O source is shared through an `Arc`).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The operation, e.g. "fdatasync", "write", "rename".
        op: &'static str,
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: Arc<io::Error>,
    },
    /// Data on disk is damaged somewhere other than the tolerated torn tail.
    #[error("corrupt {} at offset {offset}: {reason}", file.display())]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the first bad record or header.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// Transactions are missing between two log segments (or before the first one).
    #[error(
        "zxid gap before {}: expected {expected_after:#x} + 1, found first zxid {found:#x}",
        file.display()
    )]
    Gap {
        /// The segment whose first zxid does not follow the previous one.
        file: PathBuf,
        /// The last zxid known before this file.
        expected_after: i64,
        /// The first zxid found in this file.
        found: i64,
    },
    /// An earlier write or sync failed; the log refuses all further work.
    #[error("storage is poisoned by an earlier failure: {cause}")]
    Poisoned {
        /// The failure that poisoned the log.
        cause: Box<StorageError>,
    },
    /// The caller appended a zxid that is not above the last one.
    #[error("zxid {zxid:#x} is not above the last appended zxid {last:#x}")]
    ZxidOrder {
        /// The rejected zxid.
        zxid: i64,
        /// The last accepted zxid.
        last: i64,
    },
    /// A record payload is larger than the format allows.
    #[error("record for zxid {zxid:#x} is {len} bytes, above the limit {max}")]
    RecordTooLarge {
        /// The zxid of the record.
        zxid: i64,
        /// Its payload length.
        len: usize,
        /// [`crate::wal::MAX_RECORD_LEN`].
        max: usize,
    },
    /// rkyv failed to serialize a snapshot image.
    #[error("serializing snapshot {zxid:#x}: {reason}")]
    Serialize {
        /// The zxid of the snapshot.
        zxid: i64,
        /// rkyv's message.
        reason: String,
    },
    /// An operation that needs an empty batch was called with appended, uncommitted records.
    #[error("{op} called with {count} uncommitted records buffered")]
    Uncommitted {
        /// The operation.
        op: &'static str,
        /// Buffered record count.
        count: usize,
    },
}

impl StorageError {
    /// Wraps an OS error with the operation and path it came from.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// Builds a [`StorageError::Corrupt`].
    pub fn corrupt(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        StorageError::Corrupt {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for an I/O error whose OS error is "not found".
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// True for [`StorageError::Poisoned`].
    pub fn is_poisoned(&self) -> bool {
        matches!(self, StorageError::Poisoned { .. })
    }
}
