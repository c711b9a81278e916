//! The ZooKeeper 3.8 client wire protocol: jute encoding, records, opcodes and error codes.
//!
//! Layout follows `zookeeper.jute`. Every frame is a 4-byte big-endian length followed by a
//! jute record; see `../shared/ZK-PROTOCOL.md` sections 1 to 4.

mod codec;
mod error;
mod jute;
mod records;
mod txn_codec;

pub use codec::*;
pub use error::ErrorCode;
pub use jute::{DecodeError, JuteReader, JuteWriter};
pub use records::*;
pub use txn_codec::{decode_txn, encode_txn};
