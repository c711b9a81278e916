//! The report in the output directory: `report.md` (what was measured, the recommendation
//! and its reasons, the risk of forceSync=no), `report.json` (everything, for tools and
//! tests), `recommended.cfg`, and the SVG plots.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::{Point, Spread};
use crate::plot;
use crate::probe::DirProbe;
use crate::recommend::{Recommendation, RECOMMENDED};
use crate::sweep::{Level, Measurement, SweepPlan};

/// What a rerun of the recommended settings should reproduce.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reproduce {
    pub level: Level,
    pub write_p50_us: Spread,
    pub write_p99_us: Spread,
    pub ops_per_sec: Spread,
    /// Where a rerun's setData p50 should land (`Spread::rerun_band`).
    pub accept_p50_us: (f64, f64),
    /// A `ringkeeper-bench` command line that measures the same thing (`ADDR` for the server).
    pub bench_args: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub quick: bool,
    pub plan: SweepPlan,
    pub probes: Vec<DirProbe>,
    pub shared_device: bool,
    pub measurements: Vec<Measurement>,
    pub points: Vec<Point>,
    pub recommendations: Vec<Recommendation>,
    pub reproduce: Option<Reproduce>,
    /// Points that could not be measured, with the reason.
    pub failures: Vec<String>,
    pub elapsed_secs: f64,
}

/// The least widening of the recommended point's range for a rerun (`Spread::rerun_band`).
pub const RERUN_FLOOR: f64 = 0.25;

pub const LATENCY_PLOT: &str = "latency-vs-throughput.svg";

pub fn fsync_plot_name(role: &str) -> String {
    format!("fsync-{role}.svg")
}

/// The plotted settings: every swept one that has a point, then the recommended one.
pub fn plotted_settings(report: &Report) -> Vec<String> {
    let mut names: Vec<String> = report
        .plan
        .settings
        .iter()
        .map(|s| s.name.clone())
        .chain(std::iter::once(RECOMMENDED.to_string()))
        .collect();
    names.retain(|n| report.points.iter().any(|p| &p.setting == n));
    names
}

/// Writes every file of the report into `dir`.
pub fn write(report: &Report, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let put = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    put(
        "report.json",
        serde_json::to_string_pretty(report).map_err(|e| e.to_string())?,
    )?;
    put("recommended.cfg", recommended_cfg(&report.recommendations))?;
    if !report.points.is_empty() {
        plot::latency_vs_throughput(
            &dir.join(LATENCY_PLOT),
            &plotted_settings(report),
            &report.points,
        )?;
    }
    for p in &report.probes {
        plot::fsync_distribution(&dir.join(fsync_plot_name(&p.role)), p)?;
    }
    put("report.md", markdown(report))
}

/// zoo.cfg lines, each after a comment with its reason.
pub fn recommended_cfg(recs: &[Recommendation]) -> String {
    let mut out =
        String::from("# Written by ringkeeper-tune; see report.md for the measurements.\n");
    for r in recs {
        let _ = writeln!(out, "\n# {}\n{}={}", r.reason, r.key, r.value);
    }
    out
}

pub const FORCE_SYNC_RISK: &str = "\
With `forceSync=no` Ringkeeper acknowledges a write once it is in the operating system's page \
cache (or, with the O_DIRECT writer, handed to the device), without waiting for the device to \
make it durable. A crash of the process alone loses nothing. A power cut, a kernel panic or a \
hypervisor failure loses every write acknowledged since the last sync the kernel happened to \
do: typically the last few seconds of acknowledged writes, possibly more, and clients were told \
those writes succeeded. A server of an ensemble that votes (a participant) must never run \
without it: its vote promises the leader that the txn is on its disk, and a quorum of servers \
that lost power together could elect a leader that lacks acknowledged writes, so the ensemble \
silently forgets them or diverges. Use `forceSync=no` only on a standalone server whose data \
can be rebuilt (tests, caches), or on an observer.";

fn markdown(r: &Report) -> String {
    let mut m = String::new();
    let plan = &r.plan;
    let _ = writeln!(m, "# Ringkeeper tuning report\n");
    let _ = writeln!(
        m,
        "Mode: {}; workload `{}` (mix `{}`, {} keys of {} bytes); each point run {} times \
         ({} ms warm-up, {} ms measured per load level); server `{}`; took {:.0} s.\n",
        if r.quick { "quick" } else { "full" },
        serde_json::to_value(plan.workload)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        plan.mix,
        plan.keys,
        plan.value_size,
        plan.reps,
        plan.warmup_ms,
        plan.duration_ms,
        if r.recommendations.is_empty() {
            "none (probe only)".to_string()
        } else {
            plan.server_bin.display().to_string()
        },
        r.elapsed_secs
    );
    let _ = writeln!(m, "Figures are `median (min-max)` over the repetitions.\n");
    if r.recommendations.is_empty() {
        let _ = writeln!(m, "Probe only: no servers were started.\n");
    } else {
        recommendation_section(&mut m, r);
    }
    let _ = writeln!(m, "\n## The risk of forceSync=no\n\n{FORCE_SYNC_RISK}\n");
    let _ = writeln!(m, "## Disks\n");
    let _ = writeln!(
        m,
        "dataDir and dataLogDir {} a device.\n",
        if r.shared_device {
            "share"
        } else {
            "do not share"
        }
    );
    for p in &r.probes {
        disk_section(&mut m, p);
    }
    let _ = writeln!(m, "## Sweep\n");
    let _ = writeln!(
        m,
        "Each setting differs from Ringkeeper's defaults only in the lines shown; each point is \
         a fresh server (fresh directories) driven by `ringkeeper_bench::run` at each load \
         level (`sessions x requests in flight`). Group commit has no bound to set in \
         Ringkeeper (every txn that arrives while a sync runs joins the next one); the \
         `txns/sync` column shows it working as the load rises.\n"
    );
    if !r.points.is_empty() {
        let _ = writeln!(m, "![write p99 against throughput]({LATENCY_PLOT})\n");
    }
    let _ = writeln!(
        m,
        "| setting | lines | load | ops/s | setData p50 us | setData p99 us | p99.9 us | txns/sync | snapshots | errors |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    let lines_of = |name: &str| -> String {
        let setting = plan.settings.iter().find(|s| s.name == name);
        let lines = match setting {
            Some(s) => s.lines.clone(),
            None => r
                .recommendations
                .iter()
                .map(|x| (x.key.clone(), x.value.clone()))
                .filter(|(k, _)| crate::sweep::settings::DEFAULTS.iter().any(|(d, _)| d == k))
                .collect(),
        };
        if lines.is_empty() {
            "defaults".to_string()
        } else {
            lines
                .iter()
                .map(|(k, v)| format!("`{k}={v}`"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    for p in &r.points {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.setting,
            lines_of(&p.setting),
            p.level.label(),
            p.ops_per_sec.show(),
            p.write_p50_us.show(),
            p.write_p99_us.show(),
            p.write_p999_us.show(),
            p.txns_per_sync
                .map_or("-".to_string(), |s| format!("{:.1}", s.median)),
            p.snapshots,
            p.errors + p.lost_requests
        );
    }
    if !r.failures.is_empty() {
        let _ = writeln!(m, "\n## Points that failed\n");
        for f in &r.failures {
            let _ = writeln!(m, "- {}", f.replace('\n', " "));
        }
    }
    m
}

fn recommendation_section(m: &mut String, r: &Report) {
    let _ = writeln!(m, "## Recommended zoo.cfg lines\n");
    let _ = writeln!(m, "```\n{}```\n", cfg_block(&r.recommendations));
    let _ = writeln!(m, "| line | measured reason |\n|---|---|");
    for rec in &r.recommendations {
        let _ = writeln!(
            m,
            "| `{}={}` | {} |",
            rec.key,
            rec.value,
            rec.reason.replace('|', "/")
        );
    }
    if let Some(rep) = &r.reproduce {
        let _ = writeln!(
            m,
            "\nThe recommended settings together, measured last at {}: setData p50 {} us, \
             p99 {} us, {} ops/s. To check: start Ringkeeper with `recommended.cfg` and run \
             `ringkeeper-bench {}`; its setData p50 should land within {:.0}-{:.0} us (the \
             range of the repetitions widened by its own width, at least {:.0}%).",
            rep.level.label(),
            rep.write_p50_us.show(),
            rep.write_p99_us.show(),
            rep.ops_per_sec.show(),
            rep.bench_args.join(" "),
            rep.accept_p50_us.0,
            rep.accept_p50_us.1,
            RERUN_FLOOR * 100.0
        );
    }
}

fn cfg_block(recs: &[Recommendation]) -> String {
    recs.iter()
        .map(|r| format!("{}={}\n", r.key, r.value))
        .collect()
}

fn disk_section(m: &mut String, p: &DirProbe) {
    let _ = writeln!(m, "### {} `{}`\n", p.role, p.path.display());
    match &p.device {
        Some(d) => {
            let _ = writeln!(
                m,
                "File system {} on {} (device {}{}{}), mounted at `{}` with `{}` (super block: `{}`).",
                d.fs_type,
                d.source,
                d.dev,
                d.disk
                    .as_ref()
                    .map_or(String::new(), |x| format!(", disk {x}")),
                match d.rotational {
                    Some(true) => ", rotational",
                    Some(false) => ", not rotational",
                    None => "",
                },
                d.mount_point,
                d.mount_options,
                d.super_options
            );
        }
        None => {
            let _ = writeln!(
                m,
                "Device unknown: {}",
                p.device_error.as_deref().unwrap_or("-")
            );
        }
    }
    let _ = writeln!(
        m,
        "Sequential write: {}.\n",
        p.write_mib_per_sec.map_or_else(
            || format!("failed ({})", p.bandwidth_error.as_deref().unwrap_or("-")),
            |v| format!("{v:.0} MiB/s")
        )
    );
    let _ = writeln!(
        m,
        "| fdatasync after append | samples | p50 us | p99 us | p99.9 us | max us |\n|---|---|---|---|---|---|"
    );
    for f in &p.fsync {
        match &f.latency {
            Some(d) => {
                let _ = writeln!(
                    m,
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    f.label, d.count, d.p50_us, d.p99_us, d.p999_us, d.max_us
                );
            }
            None => {
                let _ = writeln!(
                    m,
                    "| {} | - | not measured: {} | | | |",
                    f.label,
                    f.error.as_deref().unwrap_or("-")
                );
            }
        }
    }
    let _ = writeln!(
        m,
        "\n![fdatasync latency, {}]({})\n",
        p.role,
        fsync_plot_name(&p.role)
    );
}
