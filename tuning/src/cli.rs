//! The command line of `ringkeeper-tune` (and of `ringkeeper tune`, which forwards to it).

use std::path::PathBuf;

use clap::Parser;

use crate::sweep::WorkloadKind;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "ringkeeper-tune",
    version,
    about = "Measure this host's disks, sweep Ringkeeper's storage settings under load, and \
             write a report with a recommended zoo.cfg"
)]
pub struct Args {
    /// The directory meant for dataDir (snapshots); the probe and the sweep write here.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The directory meant for dataLogDir (the transaction log).
    #[arg(long)]
    pub log_dir: PathBuf,
    /// The load the sweep drives.
    #[arg(long, value_enum, default_value = "mixed")]
    pub workload: WorkloadKind,
    /// Fewer samples, settings and repetitions: done in under two minutes.
    #[arg(long)]
    pub quick: bool,
    /// Where the report goes.
    #[arg(long, default_value = "ringkeeper-tune-report")]
    pub out: PathBuf,
    /// The `ringkeeper` binary to sweep (default: $RINGKEEPER_BIN, else the one beside this
    /// program, else `ringkeeper` on PATH).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Only probe the disks; no servers are started.
    #[arg(long)]
    pub probe_only: bool,
    /// fdatasyncs per probe case (default: 200 quick, 1000 full).
    #[arg(long)]
    pub probe_samples: Option<usize>,
    /// Probe only these cases, e.g. `direct-4k-zeroed,buffered-64k-fresh` (default: all twelve:
    /// direct|buffered, 4k|64k, fresh|preallocated|zeroed).
    #[arg(long, value_delimiter = ',')]
    pub probe_cases: Vec<String>,
    /// Leave the probe's files in the directories (to compare with another tool).
    #[arg(long)]
    pub keep_probe_files: bool,
    /// Repetitions of each point (default: 2 quick, 3 full; at least 2).
    #[arg(long)]
    pub reps: Option<usize>,
    /// Measured milliseconds per load level (default: 1200 quick, 2500 full).
    #[arg(long)]
    pub duration_ms: Option<u64>,
    /// Warm-up milliseconds per load level (default: 300 quick, 500 full).
    #[arg(long)]
    pub warmup_ms: Option<u64>,
}
