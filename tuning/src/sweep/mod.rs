//! The sweep: for each setting and repetition, a fresh Ringkeeper server on loopback driven by
//! the benchmark's library (`ringkeeper_bench::run`) at each load level.

pub mod server;
pub mod settings;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ringkeeper_bench::workload::{Mix, Workload};
use ringkeeper_bench::{BenchConfig, RunReport};
use serde::{Deserialize, Serialize};

pub use server::ServerProcess;
pub use settings::{Knob, Level, Setting};

/// The load's read/write mix (`--workload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    ReadHeavy,
    WriteHeavy,
    Mixed,
}

impl WorkloadKind {
    /// A `ringkeeper-bench --mix` spec; every mix has setData, whose latency is the write
    /// latency the report compares.
    pub fn mix(self) -> &'static str {
        match self {
            WorkloadKind::ReadHeavy => "get=90,set=10",
            WorkloadKind::WriteHeavy => "set=80,create=10,delete=10",
            WorkloadKind::Mixed => "get=50,set=50",
        }
    }
}

/// What the sweep runs and against what.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepPlan {
    pub server_bin: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub settings: Vec<Setting>,
    pub levels: Vec<Level>,
    pub reps: usize,
    pub workload: WorkloadKind,
    pub mix: String,
    pub keys: u64,
    pub value_size: usize,
    pub warmup_ms: u64,
    pub duration_ms: u64,
}

/// Seconds one point (a server start and every level) is expected to take.
const START_COST_SECS: f64 = 1.0;
/// The bench drains outstanding replies and closes sessions after each level.
const LEVEL_OVERHEAD_SECS: f64 = 0.3;

impl SweepPlan {
    pub fn level_secs(&self) -> f64 {
        (self.warmup_ms + self.duration_ms) as f64 / 1000.0 + LEVEL_OVERHEAD_SECS
    }

    pub fn point_secs(&self) -> f64 {
        START_COST_SECS + self.levels.len() as f64 * self.level_secs()
    }

    fn workload(&self) -> Result<Workload, String> {
        let mix = Mix::parse(&self.mix).map_err(|e| e.to_string())?;
        Workload::new(mix, self.keys, self.value_size).map_err(|e| e.to_string())
    }

    fn bench_config(
        &self,
        addr: &str,
        label: String,
        level: Level,
        workload: Workload,
    ) -> BenchConfig {
        BenchConfig {
            servers: vec![addr.to_string()],
            label,
            sessions: level.sessions,
            inflight: level.inflight,
            threads: 1,
            workload,
            duration: Duration::from_millis(self.duration_ms),
            ops: None,
            rate: None,
            warmup: Duration::from_millis(self.warmup_ms),
            progress: false,
            pin: None,
            session_timeout_ms: 30_000,
            setup: false,
            cleanup: false,
            seed: 1,
        }
    }
}

/// One setting, one repetition, one level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub setting: String,
    pub rep: usize,
    pub level: Level,
    pub ops_per_sec: f64,
    /// setData latency (every mix has it).
    pub write_p50_us: f64,
    pub write_p99_us: f64,
    pub write_p999_us: f64,
    pub total_p99_us: f64,
    /// Mean txns per `fdatasync` during the level, from `mntr` (group commit at work).
    pub txns_per_sync: Option<f64>,
    /// Snapshots the server took during the level (from its log directory).
    pub snapshots: u64,
    pub errors: u64,
    pub lost_requests: u64,
}

impl Measurement {
    fn from_report(
        setting: &str,
        rep: usize,
        level: Level,
        r: &RunReport,
        txns_per_sync: Option<f64>,
        snapshots: u64,
    ) -> Measurement {
        let set = r.ops.get("set").cloned().unwrap_or_default();
        Measurement {
            setting: setting.to_string(),
            rep,
            level,
            ops_per_sec: r.total.ops_per_sec,
            write_p50_us: set.p50_us,
            write_p99_us: set.p99_us,
            write_p999_us: set.p999_us,
            total_p99_us: r.total.p99_us,
            txns_per_sync,
            snapshots,
            errors: r.error_count() + r.decode_errors,
            lost_requests: r.lost_requests,
        }
    }
}

/// Runs one setting once at every level on a fresh server with fresh directories; `step` is
/// called after each level.
pub fn run_point(
    plan: &SweepPlan,
    setting: &Setting,
    rep: usize,
    mut step: impl FnMut(),
) -> Result<Vec<Measurement>, String> {
    let data = fresh_dir(&plan.data_dir, "data")?;
    let log = fresh_dir(&plan.log_dir, "log")?;
    sync_fs(&plan.data_dir);
    sync_fs(&plan.log_dir);
    let result = (|| {
        let mut server =
            ServerProcess::start(&plan.server_bin, &data, &data, &log, &setting.lines)?;
        // The keys are created before the first level, so that its counts (syncs, snapshots)
        // are the load's alone.
        let workload = plan.workload()?;
        ringkeeper_bench::setup::setup(&server.addr(), &workload)
            .map_err(|e| format!("{}: creating the keys failed: {e}", setting.name))?;
        let mut out = Vec::new();
        for &level in &plan.levels {
            let before = sync_counts(&server);
            let snaps_before = count_snapshots(&data);
            let label = format!("{} #{} {}", setting.name, rep + 1, level.label());
            let report = ringkeeper_bench::run(&plan.bench_config(
                &server.addr(),
                label,
                level,
                workload.clone(),
            ))
            .map_err(|e| format!("{}: benchmark failed: {e}", setting.name))?;
            if !server.alive() {
                return Err(format!(
                    "{}: the server died during the run:\n{}",
                    setting.name,
                    server.log_tail()
                ));
            }
            let after = sync_counts(&server);
            let per_sync = match (before, after) {
                (Some((c0, s0)), Some((c1, s1))) if c1 > c0 => {
                    Some((s1 - s0) as f64 / (c1 - c0) as f64)
                }
                _ => None,
            };
            let snaps = count_snapshots(&data).saturating_sub(snaps_before);
            out.push(Measurement::from_report(
                &setting.name,
                rep,
                level,
                &report,
                per_sync,
                snaps,
            ));
            step();
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&log);
    // The deletions (and, on a file system mounted with `discard`, their trims) and any
    // writeback the point left are flushed now, not during the next point's measurement.
    sync_fs(&plan.data_dir);
    sync_fs(&plan.log_dir);
    result
}

/// `syncfs` of the file system holding `dir`.
fn sync_fs(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        // SAFETY: a plain syscall on an fd we own.
        unsafe { libc::syncfs(std::os::unix::io::AsRawFd::as_raw_fd(&f)) };
    }
}

/// (fsync batches, txns in them) so far.
fn sync_counts(server: &ServerProcess) -> Option<(u64, u64)> {
    let m = server.mntr();
    let n = m.get("cnt_sync_processor_batch_size")?.parse().ok()?;
    let s = m.get("sum_sync_processor_batch_size")?.parse().ok()?;
    Some((n, s))
}

/// Snapshot files in `data/version-2`.
fn count_snapshots(data: &Path) -> u64 {
    std::fs::read_dir(data.join("version-2"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot."))
                .count() as u64
        })
        .unwrap_or(0)
}

/// `parent/ringkeeper-tune-<what>`, emptied.
fn fresh_dir(parent: &Path, what: &str) -> Result<PathBuf, String> {
    let dir = parent.join(format!("ringkeeper-tune-{what}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
