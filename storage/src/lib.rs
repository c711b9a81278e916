//! Ringkeeper storage: the write-ahead log, snapshots and purging, on a small file backend.
//!
//! This crate knows nothing about transactions: the log stores opaque bytes tagged with a
//! zxid, and snapshots store a flat node list defined here ([`snapshot::SnapshotImage`]).
//! The API is synchronous and blocking, except [`wal::LogCore`], the log's write decisions
//! without I/O, which the server carries out on glommio files of its own.
//! Formats and recovery rules are in `storage/DESIGN.md`.

pub mod backend;
pub mod error;
pub mod purge;
pub mod snapshot;
pub mod wal;

pub use backend::{Backend, BackendFile, FsBackend, SimBackend};
pub use error::{Result, StorageError};
pub use purge::{purge, PurgeReport};
pub use snapshot::{load_latest_snapshot, write_snapshot, LoadedSnapshot, SnapshotImage};
pub use wal::{CommitStats, Recovered, Wal, WalOptions};
