//! The settings the sweep tries, each a set of zoo.cfg lines over Ringkeeper's defaults, and
//! the load levels each is measured at.

use serde::{Deserialize, Serialize};

/// Which knob a setting varies; the recommendation compares settings of one knob with the
/// baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Knob {
    Baseline,
    ForceSync,
    LogWriter,
    Spin,
    PreAlloc,
    Snapshots,
    /// The recommended combination, measured at the end.
    Recommended,
}

impl Knob {
    /// The zoo.cfg key the knob is about (what the report recommends a value for).
    pub fn key(self) -> &'static str {
        match self {
            Knob::Baseline | Knob::Recommended => "",
            Knob::ForceSync => "forceSync",
            Knob::LogWriter => "ringkeeper.walDirectIo",
            Knob::Spin => "ringkeeper.spinBeforeParkUs",
            Knob::PreAlloc => "preAllocSize",
            Knob::Snapshots => "snapCount",
        }
    }
}

/// Ringkeeper's defaults for the keys the sweep varies (README, server/src/config.rs).
pub const DEFAULTS: &[(&str, &str)] = &[
    ("forceSync", "yes"),
    ("ringkeeper.walDirectIo", "true"),
    ("ringkeeper.spinBeforeParkUs", "300"),
    ("preAllocSize", "65536"),
    ("snapCount", "100000"),
    ("snapSizeLimitInKb", "4194304"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// Short name, unique in a sweep; the plots' legend.
    pub name: String,
    pub knob: Knob,
    /// zoo.cfg lines that differ from `DEFAULTS`.
    pub lines: Vec<(String, String)>,
}

impl Setting {
    pub fn new(name: &str, knob: Knob, lines: &[(&str, &str)]) -> Setting {
        Setting {
            name: name.to_string(),
            knob,
            lines: lines
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The value this setting gives `key` (its own line, else the default).
    pub fn value(&self, key: &str) -> String {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                DEFAULTS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default()
    }
}

/// The settings of a sweep; the quick one tries one alternative per knob.
pub fn settings(quick: bool) -> Vec<Setting> {
    let mut s = vec![
        Setting::new("baseline", Knob::Baseline, &[]),
        Setting::new("forceSync=no", Knob::ForceSync, &[("forceSync", "no")]),
        Setting::new(
            "walDirectIo=false",
            Knob::LogWriter,
            &[("ringkeeper.walDirectIo", "false")],
        ),
        Setting::new(
            "spinBeforeParkUs=0",
            Knob::Spin,
            &[("ringkeeper.spinBeforeParkUs", "0")],
        ),
        Setting::new(
            "preAllocSize=1024",
            Knob::PreAlloc,
            &[("preAllocSize", "1024")],
        ),
        Setting::new("snapCount=2000", Knob::Snapshots, &[("snapCount", "2000")]),
        Setting::new(
            "snapSizeLimitInKb=256",
            Knob::Snapshots,
            &[("snapSizeLimitInKb", "256")],
        ),
    ];
    if !quick {
        s.extend([
            Setting::new(
                "spinBeforeParkUs=50",
                Knob::Spin,
                &[("ringkeeper.spinBeforeParkUs", "50")],
            ),
            Setting::new(
                "spinBeforeParkUs=1000",
                Knob::Spin,
                &[("ringkeeper.spinBeforeParkUs", "1000")],
            ),
            Setting::new(
                "preAllocSize=8192",
                Knob::PreAlloc,
                &[("preAllocSize", "8192")],
            ),
            Setting::new(
                "preAllocSize=262144",
                Knob::PreAlloc,
                &[("preAllocSize", "262144")],
            ),
            Setting::new(
                "snapCount=20000",
                Knob::Snapshots,
                &[("snapCount", "20000")],
            ),
        ]);
    }
    s
}

/// One load level: client sessions and requests outstanding on each. Latency against
/// throughput comes from running every setting at every level; group commit shows in how many
/// txns share an `fdatasync` as the level rises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub sessions: usize,
    pub inflight: usize,
}

impl Level {
    pub fn label(&self) -> String {
        format!("{}x{}", self.sessions, self.inflight)
    }
}

pub fn levels(quick: bool) -> Vec<Level> {
    let l = |sessions, inflight| Level { sessions, inflight };
    if quick {
        vec![l(1, 1), l(16, 4)]
    } else {
        vec![l(1, 1), l(4, 2), l(16, 4), l(32, 8)]
    }
}
