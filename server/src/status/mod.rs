//! One status model behind the operator endpoints. The pipeline fills a plain [`Snapshot`]
//! ([`collect`]) and publishes one on every tick ([`board`]); it is rendered three ways: the
//! four-letter words ([`fourlw`]), the AdminServer's JSON ([`admin`]) and Prometheus text
//! ([`prometheus`]). Cheap commands stay cheap: `ruok`, `isro`, `gtmk`, `stmk` and `envi`
//! never reach the pipeline, and /proc or data-directory reads ([`host`]) happen only for the
//! commands that print them, on the thread that renders, never on the pipeline core.
//! In an ensemble the snapshot carries this server's quorum role ([`quorum`]), which every
//! rendering shows as ZooKeeper 3.8 does in that role.

pub mod admin;
pub mod board;
pub mod collect;
pub mod fourlw;
pub mod host;
pub mod http;
pub mod java;
pub mod monitor;
pub mod prometheus;
pub mod quorum;
#[cfg(test)]
mod quorum_tests;
pub mod settings;
pub mod snapshot;
pub mod words;

pub use board::{Board, Inbox, Reset, StatusRequest};
pub use snapshot::{Need, Snapshot};
