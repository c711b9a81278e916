//! The whole run: probe both directories, sweep the settings, measure the recommendation,
//! write the report. A progress bar shows the time left.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis;
use crate::cli::Args;
use crate::probe::{self, device, ProbePlan};
use crate::recommend::{self, Evidence, RECOMMENDED};
use crate::report::{self, Report, Reproduce};
use crate::sweep::{self, server, settings, Measurement, Setting, SweepPlan};

/// Files and directories the probe and the sweep may leave behind if interrupted; the Ctrl-C
/// handler removes them.
static SCRATCH: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Bounds on what the command line can ask for: the probe keeps every sample in memory and
/// writes samples x 64 KiB per case; each repetition is a server start and a full set of loads.
const MAX_PROBE_SAMPLES: usize = 100_000;
const MAX_REPS: usize = 20;

/// fdatasyncs timed up front on each directory to estimate how long the probe will take.
const CALIBRATION_SYNCS: usize = 20;
/// Guessed sequential write speed, for the time estimate only.
const GUESS_MIB_PER_SEC: f64 = 200.0;

/// Kills every server and removes the scratch directories when the user presses Ctrl-C
/// (or the process gets SIGTERM).
pub fn install_interrupt_handler() -> Result<(), String> {
    ctrlc::set_handler(|| {
        server::kill_all();
        for p in SCRATCH.get().into_iter().flatten() {
            let _ = std::fs::remove_dir_all(p);
            let _ = std::fs::remove_file(p);
        }
        eprintln!("\nringkeeper-tune: interrupted; every server it started is stopped");
        std::process::exit(130);
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
}

/// The `ringkeeper` binary: the option, $RINGKEEPER_BIN, the one beside this program, PATH.
pub fn find_server(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("RINGKEEPER_BIN") {
        return Ok(PathBuf::from(p));
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("ringkeeper")))
        .filter(|p| p.is_file())
    {
        return Ok(beside);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("ringkeeper"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "cannot find the ringkeeper binary: pass --server-bin, set RINGKEEPER_BIN, or put \
             it beside ringkeeper-tune"
                .to_string()
        })
}

pub fn run(args: &Args) -> Result<Report, String> {
    let started = Instant::now();
    for d in [&args.data_dir, &args.log_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let data_dir = std::fs::canonicalize(&args.data_dir).map_err(|e| e.to_string())?;
    let log_dir = std::fs::canonicalize(&args.log_dir).map_err(|e| e.to_string())?;
    let quick = args.quick;
    if args.probe_samples.is_some_and(|n| n > MAX_PROBE_SAMPLES) {
        return Err(format!(
            "--probe-samples is at most {MAX_PROBE_SAMPLES} (each case writes samples x 64 KiB)"
        ));
    }
    if args.reps.is_some_and(|n| n > MAX_REPS) {
        return Err(format!("--reps is at most {MAX_REPS}"));
    }
    let probe_plan = ProbePlan {
        samples: args
            .probe_samples
            .unwrap_or(if quick { 200 } else { 1000 })
            .max(1),
        bandwidth_mib: if quick { 64 } else { 512 },
        keep_files: args.keep_probe_files,
    };
    let server_bin = if args.probe_only {
        PathBuf::new()
    } else {
        find_server(args.server_bin.as_deref())?
    };
    let plan = SweepPlan {
        server_bin,
        data_dir: data_dir.clone(),
        log_dir: log_dir.clone(),
        settings: if args.probe_only {
            Vec::new()
        } else {
            settings::settings(quick)
        },
        levels: settings::levels(quick),
        reps: args.reps.unwrap_or(if quick { 2 } else { 3 }).max(2),
        workload: args.workload,
        mix: args.workload.mix().to_string(),
        keys: if quick { 1000 } else { 10_000 },
        value_size: 100,
        warmup_ms: args.warmup_ms.unwrap_or(if quick { 300 } else { 500 }),
        duration_ms: args.duration_ms.unwrap_or(if quick { 1200 } else { 2500 }),
    };
    let mut scratch = vec![
        data_dir.join("ringkeeper-tune-data"),
        log_dir.join("ringkeeper-tune-log"),
    ];
    if !args.keep_probe_files {
        for dir in [&data_dir, &log_dir] {
            scratch.extend(
                probe::FsyncCase::all()
                    .iter()
                    .map(|c| dir.join(c.file_name())),
            );
            scratch.push(dir.join(probe::bandwidth::FILE_NAME));
        }
    }
    let _ = SCRATCH.set(scratch);

    let cases = probe::select_cases(&args.probe_cases)?;
    let same_dir = data_dir == log_dir;
    let dirs = if same_dir { 1.0 } else { 2.0 };
    let sync_secs = calibrate(&data_dir).max(if same_dir { 0.0 } else { calibrate(&log_dir) });
    let probe_secs = dirs
        * (probe::steps(cases.len()) as f64 * probe_plan.samples as f64 * sync_secs
            + probe_plan.bandwidth_mib as f64 / GUESS_MIB_PER_SEC);
    let points = if args.probe_only {
        0
    } else {
        (plan.settings.len() + 1) * plan.reps + 1
    };
    let sweep_secs = points as f64 * plan.point_secs();
    let total = probe_secs + sweep_secs;
    if !quick {
        eprintln!(
            "ringkeeper-tune: full mode, expected to take about {} ({} settings x {} repetitions x {} load levels); --quick takes under two minutes",
            human(total),
            plan.settings.len() + 1,
            plan.reps,
            plan.levels.len()
        );
    }
    let bar = ProgressBar::new((total * 1000.0) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {percent:>3}%  {eta} left  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let say = |bar: &ProgressBar, line: String| {
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
    };

    // ---- probe
    let step_ms = (probe_secs * 1000.0 / dirs / probe::steps(cases.len()) as f64) as u64;
    let mut probes: Vec<probe::DirProbe> = Vec::new();
    for (role, dir) in [("dataDir", &data_dir), ("dataLogDir", &log_dir)] {
        if same_dir && role == "dataLogDir" {
            // One directory: its figures serve both roles.
            let mut again = probes[0].clone();
            again.role = role.to_string();
            probes.push(again);
            continue;
        }
        bar.set_message(format!("probing {role} {}", dir.display()));
        probes.push(probe::probe_dir(role, dir, &cases, probe_plan, || {
            bar.inc(step_ms)
        }));
        say(&bar, format!("probed {role} {}", dir.display()));
    }
    // The probe's real cost is known now: the bar's remainder is the sweep's estimate.
    bar.set_length(bar.position() + (sweep_secs * 1000.0) as u64);
    let shared_device = match (&probes[0].device, &probes[1].device) {
        (Some(a), Some(b)) => device::shared(a, b),
        _ => data_dir == log_dir,
    };

    // ---- sweep
    let mut measurements: Vec<Measurement> = Vec::new();
    let mut failures = Vec::new();
    let level_ms = (plan.level_secs() * 1000.0) as u64;
    let start_ms =
        ((plan.point_secs() * 1000.0) as u64).saturating_sub(level_ms * plan.levels.len() as u64);
    let run_setting = |setting: &Setting,
                       rep: usize,
                       measurements: &mut Vec<Measurement>,
                       failures: &mut Vec<String>| {
        bar.set_message(format!(
            "{} (run {} of {})",
            setting.name,
            rep + 1,
            plan.reps
        ));
        bar.inc(start_ms);
        match sweep::run_point(&plan, setting, rep, || bar.inc(level_ms)) {
            Ok(ms) => {
                let last = ms.last().cloned();
                measurements.extend(ms);
                if let Some(m) = last {
                    say(
                        &bar,
                        format!(
                            "{:<24} run {}: {} {:>8.0} ops/s  setData p99 {:>8.0} us",
                            setting.name,
                            rep + 1,
                            m.level.label(),
                            m.ops_per_sec,
                            m.write_p99_us
                        ),
                    );
                }
            }
            Err(e) => {
                say(
                    &bar,
                    format!("{} run {}: FAILED: {e}", setting.name, rep + 1),
                );
                failures.push(format!("{} run {}: {e}", setting.name, rep + 1));
            }
        }
    };
    if !args.probe_only {
        // Repetitions outermost, so that drift on the host spreads over every setting alike.
        for rep in 0..plan.reps {
            for setting in &plan.settings {
                run_setting(setting, rep, &mut measurements, &mut failures);
            }
        }
        if !measurements.iter().any(|m| m.setting == "baseline") {
            bar.finish_and_clear();
            return Err(format!(
                "the baseline could not be measured:\n{}",
                failures.join("\n")
            ));
        }
    }
    let points_so_far = analysis::points(&measurements);
    let recommendations = if args.probe_only {
        Vec::new()
    } else {
        recommend::recommend(&Evidence {
            data: &probes[0],
            log: &probes[1],
            settings: &plan.settings,
            levels: &plan.levels,
            points: &points_so_far,
        })
    };
    if !args.probe_only {
        let rec = recommend::recommended_setting(&recommendations);
        // One repetition more than the others: its spread is what a rerun is judged by.
        for rep in 0..plan.reps + 1 {
            run_setting(&rec, rep, &mut measurements, &mut failures);
        }
    }
    bar.finish_and_clear();
    let points = analysis::points(&measurements);
    let low = plan.levels[0];
    let reproduce = analysis::find(&points, RECOMMENDED, low).map(|p| Reproduce {
        level: low,
        write_p50_us: p.write_p50_us,
        write_p99_us: p.write_p99_us,
        ops_per_sec: p.ops_per_sec,
        accept_p50_us: p.write_p50_us.rerun_band(report::RERUN_FLOOR),
        bench_args: bench_args(&plan, low),
    });
    let report = Report {
        quick,
        plan,
        probes,
        shared_device,
        measurements,
        points,
        recommendations,
        reproduce,
        failures,
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    report::write(&report, &args.out)?;
    Ok(report)
}

/// Mean seconds of a 4 KiB buffered commit's fdatasync in `dir`, from a few samples; for the
/// time estimate only (the probe's O_DIRECT and 64 KiB cases cost about as much or less).
fn calibrate(dir: &Path) -> f64 {
    let case = probe::FsyncCase {
        file: probe::FileKind::Preallocated,
        block: 4096,
        direct: false,
    };
    probe::fsync::measure(dir, case, CALIBRATION_SYNCS, false)
        .latency
        .map_or(0.001, |d| d.mean_us / 1e6)
}

/// The `ringkeeper-bench` arguments that measure what the sweep measured at `level`.
fn bench_args(plan: &SweepPlan, level: settings::Level) -> Vec<String> {
    [
        "--servers",
        "ADDR",
        "--sessions",
        &level.sessions.to_string(),
        "--inflight",
        &level.inflight.to_string(),
        "--threads",
        "1",
        "--mix",
        &plan.mix,
        "--keys",
        &plan.keys.to_string(),
        "--value-size",
        &plan.value_size.to_string(),
        "--warmup",
        &format!("{}", plan.warmup_ms as f64 / 1000.0),
        "--duration",
        &format!("{}", plan.duration_ms as f64 / 1000.0),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn human(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}
