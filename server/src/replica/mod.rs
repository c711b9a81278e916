//! Replicated ensembles (issue 8), the server's side: the quorum links, their wire format,
//! and the driver that runs an ensemble member on the pipeline core. The member itself
//! (raft-rs and the engine, free of I/O) is `ringkeeper_engine::replica`.

pub mod driver;
pub mod links;
pub mod setup;
pub mod snapshots;
pub mod wire;
