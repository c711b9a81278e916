//! From repeated measurements to figures with their spread: the median of the repetitions and
//! the range they covered.

use serde::{Deserialize, Serialize};

use crate::sweep::{Level, Measurement};

/// The median of the repetitions and their range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// "183 (176-190)".
    pub fn show(&self) -> String {
        format!("{:.0} ({:.0}-{:.0})", self.median, self.min, self.max)
    }

    /// Where a further run should land: the range widened on each side by its own width, and
    /// by at least `floor` (a fraction) of its ends, since two or three repetitions
    /// understate how far a host's runs wander.
    pub fn rerun_band(&self, floor: f64) -> (f64, f64) {
        let w = self.max - self.min;
        (
            (self.min - w.max(self.min * floor)).max(0.0),
            self.max + w.max(self.max * floor),
        )
    }

    /// Whether all of self lies below all of other: a difference the repetitions can not
    /// explain.
    pub fn clearly_below(&self, other: &Spread) -> bool {
        self.max < other.min
    }
}

/// One setting at one level over its repetitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub setting: String,
    pub level: Level,
    pub reps: usize,
    pub ops_per_sec: Spread,
    pub write_p50_us: Spread,
    pub write_p99_us: Spread,
    pub write_p999_us: Spread,
    pub txns_per_sync: Option<Spread>,
    pub snapshots: u64,
    pub errors: u64,
    pub lost_requests: u64,
}

/// Groups measurements by (setting, level), in the order they first appear.
pub fn points(ms: &[Measurement]) -> Vec<Point> {
    let mut keys: Vec<(String, Level)> = Vec::new();
    for m in ms {
        if !keys.iter().any(|(s, l)| *s == m.setting && *l == m.level) {
            keys.push((m.setting.clone(), m.level));
        }
    }
    keys.into_iter()
        .map(|(setting, level)| {
            let group: Vec<&Measurement> = ms
                .iter()
                .filter(|m| m.setting == setting && m.level == level)
                .collect();
            let f = |get: fn(&Measurement) -> f64| {
                Spread::of(&group.iter().map(|m| get(m)).collect::<Vec<_>>())
            };
            let per_sync: Vec<f64> = group.iter().filter_map(|m| m.txns_per_sync).collect();
            Point {
                reps: group.len(),
                ops_per_sec: f(|m| m.ops_per_sec),
                write_p50_us: f(|m| m.write_p50_us),
                write_p99_us: f(|m| m.write_p99_us),
                write_p999_us: f(|m| m.write_p999_us),
                txns_per_sync: (!per_sync.is_empty()).then(|| Spread::of(&per_sync)),
                snapshots: group.iter().map(|m| m.snapshots).sum(),
                errors: group.iter().map(|m| m.errors).sum(),
                lost_requests: group.iter().map(|m| m.lost_requests).sum(),
                setting,
                level,
            }
        })
        .collect()
}

pub fn find<'a>(points: &'a [Point], setting: &str, level: Level) -> Option<&'a Point> {
    points
        .iter()
        .find(|p| p.setting == setting && p.level == level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range() {
        assert_eq!(
            Spread::of(&[3.0, 1.0, 2.0]),
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(Spread::of(&[4.0, 1.0]).median, 2.5);
        let a = Spread::of(&[1.0, 2.0]);
        let b = Spread::of(&[2.5, 3.0]);
        assert!(a.clearly_below(&b));
        assert!(!b.clearly_below(&a));
        assert!(!a.clearly_below(&Spread::of(&[2.0, 5.0])));
    }

    #[test]
    fn rerun_band_widens_by_the_width_or_the_floor() {
        assert_eq!(Spread::of(&[100.0, 140.0]).rerun_band(0.25), (60.0, 180.0));
        assert_eq!(Spread::of(&[100.0, 101.0]).rerun_band(0.25), (75.0, 126.25));
        assert_eq!(Spread::of(&[10.0, 100.0]).rerun_band(0.25).0, 0.0);
    }
}
