//! Ringkeeper's sans-IO core.
//!
//! No sockets, files, threads, clocks or unseeded randomness live here: time comes in as
//! `Now` arguments (wall and monotonic milliseconds), and everything the engine wants done (append a txn, send a reply,
//! close a connection) comes out of `poll_*` calls. That keeps an ensemble simulable from a
//! single seed.

pub mod config;
mod engine;
pub mod limits;
mod now;
pub mod proto;
pub mod read;
pub mod replica;
pub mod session;
pub mod tree;
pub mod txn;
pub mod watch;

pub use config::EngineConfig;
pub use engine::{opcode_of, ConnState, Engine, Forwarded, ForwardedOp, Output};
pub use now::Now;
pub use watch::ConnId;
