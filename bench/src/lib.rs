//! ringkeeper-bench: a ZooKeeper-protocol load generator for any compatible server
//! (Ringkeeper, Apache ZooKeeper, ClickHouse Keeper).
//!
//! Each client thread owns several sessions over blocking `TcpStream`s and waits on all of them
//! with `ppoll`, keeping up to `inflight` requests outstanding per session. Latencies go into
//! per-thread HdrHistograms (nanoseconds) that are merged with `add()` at report time.
//!
//! The jute codec is `ringkeeper_engine::proto`; this crate never encodes records itself.

pub mod cli;
pub mod client;
pub mod compare;
pub mod error;
pub mod histo;
pub mod report;
pub mod runner;
pub mod setup;
pub mod workload;

pub use error::BenchError;
pub use report::RunReport;
pub use runner::{run, BenchConfig};
