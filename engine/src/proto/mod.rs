//! The ZooKeeper 3.8 client wire protocol: jute encoding, records, opcodes and error codes.
//!
//! Layout follows `zookeeper.jute`. Every frame is a 4-byte big-endian length followed by a
//! jute record; see `../shared/ZK-PROTOCOL.md` sections 1 to 4. `jute` has the primitives,
//! `codec` the client protocol frames, `txn_codec` ZooKeeper's on-disk txn layout (section 10).

mod child_names;
pub mod codec;
mod data;
mod error;
pub mod jute;
mod records;
pub mod txn_codec;

pub use codec::{
    decode_connect_request, decode_connect_response, decode_reply_header, decode_request,
    decode_request_header, decode_request_within, decode_response, decode_watcher_event,
    encode_connect_request, encode_connect_response, encode_notification, encode_reply,
    encode_request,
};
pub use data::Data;
pub use error::ErrorCode;
pub use jute::{DecodeError, JuteReader, JuteWriter};
pub use records::*;
pub use txn_codec::{decode_txn, encode_txn};
