//! ringkeeper-tune: measures a host's disks, sweeps Ringkeeper's storage settings under the
//! benchmark's load, and writes a report with a recommended zoo.cfg and the evidence for it.

pub mod analysis;
pub mod cli;
pub mod plot;
pub mod probe;
pub mod recommend;
pub mod report;
pub mod sweep;
pub mod tune;
