//! The report renders from measurements alone: the plots exist and name every setting and
//! every probe case. (tests/tune renders one from a real --quick run.)

use std::path::PathBuf;

use ringkeeper_tune::analysis::points;
use ringkeeper_tune::probe::{probe_dir, DirProbe, FsyncCase, ProbePlan};
use ringkeeper_tune::recommend::{recommend, recommended_setting, Evidence};
use ringkeeper_tune::report::{self, Report};
use ringkeeper_tune::sweep::settings::{levels, settings};
use ringkeeper_tune::sweep::{Measurement, SweepPlan, WorkloadKind};

fn measurement(setting: &str, rep: usize, level_i: usize, base: f64) -> Measurement {
    let level = levels(true)[level_i];
    let load = (level.sessions * level.inflight) as f64;
    Measurement {
        setting: setting.to_string(),
        rep,
        level,
        ops_per_sec: base * load / (1.0 + rep as f64 * 0.05),
        write_p50_us: 200.0 * load.sqrt() + rep as f64,
        write_p99_us: 800.0 * load.sqrt() + rep as f64 * 10.0,
        write_p999_us: 1500.0 * load.sqrt(),
        total_p99_us: 700.0 * load.sqrt(),
        txns_per_sync: Some(load / 2.0 + 1.0),
        snapshots: 0,
        errors: 0,
        lost_requests: 0,
    }
}

/// The contents of an SVG's <text> elements, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

fn probe(dir: &std::path::Path, role: &str) -> DirProbe {
    let plan = ProbePlan {
        samples: 3,
        bandwidth_mib: 1,
        keep_files: false,
    };
    probe_dir(role, dir, &FsyncCase::all(), plan, || {})
}

#[test]
fn plots_name_every_setting_and_probe_case() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep_settings = settings(true);
    let mut ms = Vec::new();
    for (i, s) in sweep_settings.iter().enumerate() {
        for rep in 0..2 {
            for level in 0..2 {
                ms.push(measurement(&s.name, rep, level, 100.0 + i as f64 * 20.0));
            }
        }
    }
    let probes = vec![
        probe(tmp.path(), "dataDir"),
        probe(tmp.path(), "dataLogDir"),
    ];
    let pts = points(&ms);
    let lv = levels(true);
    let recs = recommend(&Evidence {
        data: &probes[0],
        log: &probes[1],
        settings: &sweep_settings,
        levels: &lv,
        points: &pts,
    });
    let rec = recommended_setting(&recs);
    for rep in 0..2 {
        for level in 0..2 {
            ms.push(measurement(&rec.name, rep, level, 150.0));
        }
    }
    let report = Report {
        quick: true,
        plan: SweepPlan {
            server_bin: PathBuf::from("ringkeeper"),
            data_dir: tmp.path().to_path_buf(),
            log_dir: tmp.path().to_path_buf(),
            settings: sweep_settings.clone(),
            levels: lv,
            reps: 2,
            workload: WorkloadKind::Mixed,
            mix: WorkloadKind::Mixed.mix().to_string(),
            keys: 10,
            value_size: 10,
            warmup_ms: 1,
            duration_ms: 1,
        },
        probes,
        shared_device: true,
        points: points(&ms),
        measurements: ms,
        recommendations: recs,
        reproduce: None,
        failures: vec![],
        elapsed_secs: 1.0,
    };
    let out = tmp.path().join("report");
    report::write(&report, &out).unwrap();
    let svg = texts(&std::fs::read_to_string(out.join(report::LATENCY_PLOT)).unwrap());
    for s in &sweep_settings {
        assert!(svg.contains(&s.name), "{} not in the plot: {svg:?}", s.name);
    }
    assert!(svg.contains(&"recommended".to_string()));
    for role in ["dataDir", "dataLogDir"] {
        let svg = texts(&std::fs::read_to_string(out.join(report::fsync_plot_name(role))).unwrap());
        for case in FsyncCase::all() {
            // tmpfs refuses O_DIRECT: those cases have no curve and say so in report.md.
            if report.probes[0].case(case).is_some() {
                assert!(
                    svg.contains(&case.label()),
                    "{} not in the {role} plot",
                    case.label()
                );
            }
        }
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("forceSync=yes") && md.contains("power cut"));
    assert!(md.contains(report::LATENCY_PLOT));
    let cfg = std::fs::read_to_string(out.join("recommended.cfg")).unwrap();
    assert!(cfg.lines().any(|l| l == "forceSync=yes"), "{cfg}");
    // The test directory is on tmpfs only when TMPDIR is; the warning must follow the fs type.
    let tmpfs = report.probes[0]
        .device
        .as_ref()
        .is_some_and(|d| d.fs_type == "tmpfs");
    assert_eq!(cfg.contains("NOT DURABLE"), tmpfs, "{cfg}");
}
