//! From the measurements to zoo.cfg lines, each with the measured reason. A setting replaces
//! Ringkeeper's default only when the repetitions cannot explain the difference: its range of
//! results lies wholly beyond the baseline's.

use serde::{Deserialize, Serialize};

use crate::analysis::{find, Point, Spread};
use crate::probe::{device, DirProbe, FileKind, FsyncCase};
use crate::sweep::settings::{Knob, Level, Setting, DEFAULTS};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl Recommendation {
    fn new(key: &str, value: impl Into<String>, reason: impl Into<String>) -> Recommendation {
        Recommendation {
            key: key.to_string(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// How much worse than the baseline's median a winner may be on the figures it does not win.
const NOT_WORSE: f64 = 1.1;

/// The name of the recommended setting in the sweep's measurements.
pub const RECOMMENDED: &str = "recommended";

/// What the sweep measured, as the recommendation reads it.
pub struct Evidence<'a> {
    pub data: &'a DirProbe,
    pub log: &'a DirProbe,
    pub settings: &'a [Setting],
    pub levels: &'a [Level],
    pub points: &'a [Point],
}

impl Evidence<'_> {
    fn low(&self) -> Level {
        self.levels[0]
    }

    fn top(&self) -> Level {
        self.levels[self.levels.len() - 1]
    }

    fn at(&self, setting: &str, level: Level) -> Option<&Point> {
        find(self.points, setting, level)
    }

    /// Whether `alt` beats the baseline: more throughput or a lower write p99 at the top level,
    /// beyond both ranges, without being worse on the other or on single-session latency.
    fn beats_baseline(&self, alt: &str) -> bool {
        let (Some(a), Some(b)) = (self.at(alt, self.top()), self.at("baseline", self.top())) else {
            return false;
        };
        let (Some(al), Some(bl)) = (self.at(alt, self.low()), self.at("baseline", self.low()))
        else {
            return false;
        };
        if a.errors + a.lost_requests + al.errors + al.lost_requests > 0 {
            return false;
        }
        let more_ops = b.ops_per_sec.clearly_below(&a.ops_per_sec);
        let lower_p99 = a.write_p99_us.clearly_below(&b.write_p99_us);
        // "Not worse": the median within NOT_WORSE of the baseline's median.
        let ops_ok = a.ops_per_sec.median >= b.ops_per_sec.median / NOT_WORSE;
        let p99_ok = a.write_p99_us.median <= b.write_p99_us.median * NOT_WORSE;
        let p50_ok = al.write_p50_us.median <= bl.write_p50_us.median * NOT_WORSE;
        p50_ok && ((more_ops && p99_ok) || (lower_p99 && ops_ok))
    }

    /// "16x4: 41234 (40100-42000) ops/s, write p99 812 (790-850) us; 1x1: write p50 ..."
    fn describe(&self, setting: &str) -> String {
        let top = self.at(setting, self.top());
        let low = self.at(setting, self.low());
        match (top, low) {
            (Some(t), Some(l)) => format!(
                "{}: {} ops/s, write p99 {} us; {}: write p50 {} us",
                t.level.label(),
                t.ops_per_sec.show(),
                t.write_p99_us.show(),
                l.level.label(),
                l.write_p50_us.show()
            ),
            _ => "not measured".to_string(),
        }
    }
}

/// The recommended lines, in zoo.cfg order.
pub fn recommend(ev: &Evidence) -> Vec<Recommendation> {
    let mut out = Vec::new();
    out.extend(directories(ev));
    out.push(force_sync(ev));
    for knob in [Knob::LogWriter, Knob::Spin, Knob::PreAlloc] {
        out.push(knob_choice(ev, knob));
    }
    out.extend(snapshots(ev));
    out
}

/// The setting to measure last: the defaults with every recommended value.
pub fn recommended_setting(recs: &[Recommendation]) -> Setting {
    let lines = recs
        .iter()
        .filter(|r| DEFAULTS.iter().any(|(k, _)| *k == r.key))
        .map(|r| (r.key.clone(), r.value.clone()))
        .collect();
    Setting {
        name: RECOMMENDED.to_string(),
        knob: Knob::Recommended,
        lines,
    }
}

fn fsync_p50(p: &DirProbe, direct: bool, file: FileKind) -> Option<f64> {
    p.case(FsyncCase {
        file,
        block: 4096,
        direct,
    })
    .map(|d| d.p50_us)
}

fn directories(ev: &Evidence) -> Vec<Recommendation> {
    let name = |p: &DirProbe| {
        p.device
            .as_ref()
            .map(|d| {
                let dev = d
                    .disk
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", d.fs_type, d.dev));
                format!("{} on {dev}", p.path.display())
            })
            .unwrap_or_else(|| p.path.display().to_string())
    };
    let sync = |p: &DirProbe| {
        fsync_p50(p, true, FileKind::Zeroed)
            .or_else(|| fsync_p50(p, false, FileKind::Zeroed))
            .map_or("unmeasured".to_string(), |v| format!("{v:.0} us"))
    };
    let shared = match (&ev.data.device, &ev.log.device) {
        (Some(a), Some(b)) => device::shared(a, b),
        _ => ev.data.path == ev.log.path,
    };
    let log_reason = if shared {
        format!(
            "{} and {} share a device: snapshot writes queue with the log's syncs there \
             (4 KiB commit fdatasync p50 {}); give dataLogDir a device of its own if the host has one",
            name(ev.log),
            name(ev.data),
            sync(ev.log)
        )
    } else {
        format!(
            "the log has a device of its own ({}; 4 KiB commit fdatasync p50 {}, against {} on {}), \
             so snapshots do not queue with its syncs",
            name(ev.log),
            sync(ev.log),
            sync(ev.data),
            name(ev.data)
        )
    };
    // A directory in memory loses everything at a reboot, whatever its sync figures say.
    let warn = |p: &DirProbe| match p.device.as_ref().map(|d| d.fs_type.as_str()) {
        Some(fs @ ("tmpfs" | "ramfs")) => format!(
            "NOT DURABLE: {} is {fs} (memory), a reboot loses it; ",
            p.path.display()
        ),
        _ => String::new(),
    };
    let log_reason = format!("{}{log_reason}", warn(ev.log));
    let bw = ev
        .data
        .write_mib_per_sec
        .map_or("unmeasured".to_string(), |v| format!("{v:.0} MiB/s"));
    vec![
        Recommendation::new(
            "dataDir",
            ev.data.path.display().to_string(),
            format!(
                "{}snapshots go here: sequential write {bw} ({})",
                warn(ev.data),
                name(ev.data)
            ),
        ),
        Recommendation::new("dataLogDir", ev.log.path.display().to_string(), log_reason),
    ]
}

fn force_sync(ev: &Evidence) -> Recommendation {
    Recommendation::new(
        "forceSync",
        "yes",
        format!(
            "an acknowledged write must survive a power cut. With forceSync=yes {}; \
             with forceSync=no {}. That difference is what the risk below buys.",
            ev.describe("baseline"),
            ev.describe("forceSync=no")
        ),
    )
}

fn knob_choice(ev: &Evidence, knob: Knob) -> Recommendation {
    let key = knob.key();
    let default = DEFAULTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let candidates: Vec<&Setting> = ev.settings.iter().filter(|s| s.knob == knob).collect();
    let winner = candidates
        .iter()
        .filter(|s| ev.beats_baseline(&s.name))
        .max_by(|a, b| {
            let ops = |s: &Setting| {
                ev.at(&s.name, ev.top())
                    .map_or(0.0, |p| p.ops_per_sec.median)
            };
            ops(a).total_cmp(&ops(b))
        });
    let others: Vec<String> = candidates
        .iter()
        .map(|s| format!("{} ({})", s.name, ev.describe(&s.name)))
        .collect();
    let extra = if knob == Knob::PreAlloc {
        prealloc_probe(ev.log)
    } else {
        String::new()
    };
    match winner {
        Some(w) => Recommendation::new(
            key,
            w.value(key),
            format!(
                "{} beat the default {key}={default} beyond the spread of the repetitions: {} \
                 against {}{extra}",
                w.name,
                ev.describe(&w.name),
                ev.describe("baseline")
            ),
        ),
        None => Recommendation::new(
            key,
            default.clone(),
            format!(
                "the default ({}) was not beaten beyond the spread by {}{extra}",
                ev.describe("baseline"),
                if others.is_empty() {
                    "anything (not swept)".to_string()
                } else {
                    others.join("; ")
                }
            ),
        ),
    }
}

/// What preallocation and the zero-ahead buy on the log's device, from the probe.
fn prealloc_probe(log: &DirProbe) -> String {
    let direct = log
        .case(FsyncCase {
            file: FileKind::Zeroed,
            block: 4096,
            direct: true,
        })
        .is_some();
    let f = |k| fsync_p50(log, direct, k).map_or("-".to_string(), |v| format!("{v:.0}"));
    format!(
        ". On the log's device a 4 KiB {} commit's fdatasync p50 is {} us into a fresh file, \
         {} us into a preallocated one and {} us over zeroed blocks (what the zero-ahead gives)",
        if direct { "O_DIRECT" } else { "buffered" },
        f(FileKind::Fresh),
        f(FileKind::Preallocated),
        f(FileKind::Zeroed)
    )
}

fn snapshots(ev: &Evidence) -> Vec<Recommendation> {
    let base = ev.at("baseline", ev.top());
    let mut out = Vec::new();
    for (key, default) in [("snapCount", "100000"), ("snapSizeLimitInKb", "4194304")] {
        let mut notes = Vec::new();
        let mut hurt = false;
        let swept = ev
            .settings
            .iter()
            .filter(|s| s.knob == Knob::Snapshots && s.lines.iter().any(|(k, _)| k == key));
        for s in swept {
            if let (Some(p), Some(b)) = (ev.at(&s.name, ev.top()), base) {
                let worse = b.write_p99_us.clearly_below(&p.write_p99_us);
                hurt |= worse;
                notes.push(format!(
                    "with {} ({} snapshots during the {} runs) write p99 was {} us against {} us \
                     without ({})",
                    s.name,
                    p.snapshots,
                    p.level.label(),
                    p.write_p99_us.show(),
                    b.write_p99_us.show(),
                    if worse {
                        "worse beyond the spread"
                    } else {
                        "within the spread"
                    }
                ));
            }
        }
        let verdict = if notes.is_empty() {
            "not swept; the default".to_string()
        } else if hurt {
            "snapshots taken while writes run cost write latency here, so keep them rare"
                .to_string()
        } else {
            "snapshots did not cost write p99 beyond the spread here; a lower value shortens \
             restarts (less log to replay) at little cost"
                .to_string()
        };
        out.push(Recommendation::new(
            key,
            default,
            format!("{verdict}: {}", notes.join("; ")),
        ));
    }
    out
}

/// The spread a rerun of the recommended setting should land in.
pub fn reproduce_target(points: &[Point], level: Level) -> Option<Spread> {
    find(points, RECOMMENDED, level).map(|p| p.write_p50_us)
}
