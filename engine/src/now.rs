//! The two times the engine is told (it never reads a clock). ZooKeeper stamps znodes and ages
//! TTL and container nodes with the wall clock (`Time.currentWallTime`), but measures session
//! timeouts on a monotonic one (`Time.currentElapsedTime`), so a step of the system clock can
//! neither expire every session at once nor keep a dead session alive. The engine does the same.

/// The current time on both clocks, passed with every input that needs time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Milliseconds since the Unix epoch: ctime, mtime, txn time, TTL and container ages.
    pub wall_ms: i64,
    /// Milliseconds on a clock that never steps, from any origin: session expiry and the
    /// schedule of periodic checks.
    pub elapsed_ms: i64,
}

impl Now {
    /// Both clocks at one reading, for a virtual clock in tests and simulations.
    pub fn at(ms: i64) -> Now {
        Now {
            wall_ms: ms,
            elapsed_ms: ms,
        }
    }
}
