//! Where the pipeline makes txns durable. `Memory` acknowledges at once (no dataDir writes);
//! the WAL-backed implementation lives in `persist.rs`.

use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::Engine;

pub trait Durability {
    /// Buffers one txn for the next commit.
    fn append(&mut self, txn: &Txn) -> Result<(), String>;
    /// Makes everything appended durable; returns the highest durable zxid.
    fn commit(&mut self) -> Result<i64, String>;
    /// Bytes in the current log file, for the fsync warning.
    fn log_size(&self) -> u64;
    /// Takes a snapshot if one is due; returns how many were taken.
    fn maybe_snapshot(&mut self, engine: &Engine) -> Option<u64>;
}

/// No storage: every appended txn counts as durable at commit.
#[derive(Default)]
pub struct Memory {
    last: i64,
}

impl Durability for Memory {
    fn append(&mut self, txn: &Txn) -> Result<(), String> {
        self.last = txn.zxid;
        Ok(())
    }

    fn commit(&mut self) -> Result<i64, String> {
        Ok(self.last)
    }

    fn log_size(&self) -> u64 {
        0
    }

    fn maybe_snapshot(&mut self, _engine: &Engine) -> Option<u64> {
        None
    }
}
