//! Ringkeeper's sans-IO core.
//!
//! No sockets, files, threads, clocks or unseeded randomness live here: time comes in as
//! `now_ms` arguments, and everything the engine wants done (append a txn, send a reply,
//! close a connection) comes out of `poll_*` calls. That keeps an ensemble simulable from a
//! single seed.

pub mod proto;
pub mod txn;
