//! The ensemble simulator behind `replica_sim_test.rs`, one job per file: `sim` runs members
//! on a faulty network, `client` is the workload and its per-reply checks, `history` records
//! the shared znodes' operations for `lincheck` against the `znode` model.

pub mod client;
pub mod history;
pub mod lincheck;
pub mod rng;
pub mod sim;
pub mod znode;
