//! Command line (clap derive) and its translation into a `BenchConfig`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::error::{BenchError, Result};
use crate::runner::BenchConfig;
use crate::workload::{Mix, Workload};

/// ZooKeeper-protocol load generator for any compatible server (Ringkeeper, Apache ZooKeeper,
/// ClickHouse Keeper). Reports per-op throughput and HdrHistogram latency percentiles.
#[derive(Parser, Debug, Clone)]
#[command(name = "ringkeeper-bench", version)]
pub struct Args {
    /// Server host:port; repeat to spread sessions round-robin over several servers.
    #[arg(long = "servers", short = 's', value_name = "HOST:PORT")]
    pub servers: Vec<String>,

    /// Run the same load against A, then B, and print B/A ratios.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "servers")]
    pub compare: Option<Vec<String>>,

    /// Number of sessions (connections).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,

    /// Requests in flight per session (pipelining depth).
    #[arg(long, default_value_t = 1)]
    pub inflight: usize,

    /// Client threads; sessions are dealt round-robin to them.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,

    /// Fraction of getData (the rest is setData); ignored when --mix is given.
    #[arg(long, default_value_t = 1.0)]
    pub read_ratio: f64,

    /// Op mix: get,set,create,delete,exists,children,list,count,multi,watch with weights, e.g.
    /// get=70,set=20,create=5,delete=5 (a bare name has weight 1).
    #[arg(long)]
    pub mix: Option<String>,

    /// Bytes per value (setData, create, and the keys made by setup).
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,

    /// Number of keys /rkbench/k<i> created by setup and read or written by the load.
    #[arg(long, default_value_t = 1000)]
    pub keys: u64,

    /// Measured duration in seconds (after warmup).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Stop after this many measured ops instead of after --duration.
    #[arg(long)]
    pub ops: Option<u64>,

    /// Fixed-rate mode: total ops/s. Latency is measured from each request's intended send
    /// time, so queueing behind a slow server is counted (no coordinated omission).
    #[arg(long)]
    pub rate: Option<f64>,

    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,

    /// Write the report as JSON to this file, or "-" for stdout (the table then goes to stderr).
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Print ops/s and p99 so far on stderr every second.
    #[arg(long)]
    pub progress: bool,

    /// Label of the run in tables and JSON (with --compare: "A,B").
    #[arg(long, default_value = "")]
    pub label: String,

    /// Pin client threads to cores (round-robin over all cores, or over --pin-cores).
    #[arg(long)]
    pub pin: bool,

    /// Core ids for --pin, e.g. 1 or 0,1.
    #[arg(long, value_delimiter = ',')]
    pub pin_cores: Vec<usize>,

    /// Requested session timeout in milliseconds; idle sessions ping at a third of it.
    #[arg(long, default_value_t = 30_000)]
    pub session_timeout: i32,

    /// Do not create the keys first (they must exist).
    #[arg(long)]
    pub no_setup: bool,

    /// Leave /rkbench in place at the end.
    #[arg(long)]
    pub no_cleanup: bool,

    /// Only create the keys and exit (for memory measurements); implies --no-cleanup.
    #[arg(long)]
    pub setup_only: bool,

    /// Only delete /rkbench and exit.
    #[arg(long)]
    pub cleanup_only: bool,

    /// Seed of the key and op choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Args {
    /// The servers of a single run (not --compare).
    pub fn config(&self, servers: Vec<String>, label: String) -> Result<BenchConfig> {
        if servers.is_empty() {
            return Err(BenchError::new("give --servers HOST:PORT or --compare A B"));
        }
        let mix = match &self.mix {
            Some(spec) => Mix::parse(spec)?,
            None => Mix::from_read_ratio(self.read_ratio)?,
        };
        if let Some(rate) = self.rate {
            if !(rate > 0.0 && rate.is_finite()) {
                return Err(BenchError::new("--rate must be a positive number"));
            }
        }
        let secs = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v)
                .map_err(|_| BenchError::new(format!("--{name} {v} is not a duration in seconds")))
        };
        Ok(BenchConfig {
            servers,
            label,
            sessions: self.sessions,
            inflight: self.inflight,
            threads: self.threads,
            workload: Workload::new(mix, self.keys, self.value_size)?,
            duration: secs("duration", self.duration)?,
            ops: self.ops,
            rate: self.rate,
            warmup: secs("warmup", self.warmup)?,
            progress: self.progress,
            pin: self.pin.then(|| self.pin_cores.clone()),
            session_timeout_ms: self.session_timeout,
            setup: !self.no_setup,
            cleanup: !self.no_cleanup && !self.setup_only,
            seed: self.seed,
        })
    }
}
