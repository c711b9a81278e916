//! The ZooKeeper 3.8 client wire protocol: jute encoding, records, opcodes and error codes.
//!
//! Layout follows `zookeeper.jute`. Every frame is a 4-byte big-endian length followed by a
//! jute record; see `../shared/ZK-PROTOCOL.md` sections 1 to 4.

mod error;
mod records;

pub use error::ErrorCode;
pub use records::*;
