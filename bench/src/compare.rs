//! `--compare A B`: the same load against two servers, and B/A ratios.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::report::{OpStats, RunReport};

/// B/A for throughput and each latency percentile of one op kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ratios {
    pub ops_per_sec: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

fn ratio(b: f64, a: f64) -> Option<f64> {
    (a > 0.0 && b.is_finite()).then(|| b / a)
}

impl Ratios {
    pub fn of(a: &OpStats, b: &OpStats) -> Ratios {
        Ratios {
            ops_per_sec: ratio(b.ops_per_sec, a.ops_per_sec),
            p50: ratio(b.p50_us, a.p50_us),
            p90: ratio(b.p90_us, a.p90_us),
            p99: ratio(b.p99_us, a.p99_us),
            p999: ratio(b.p999_us, a.p999_us),
            max: ratio(b.max_us, a.max_us),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub a: RunReport,
    pub b: RunReport,
    /// op (and "total") -> B/A.
    pub ratios: BTreeMap<String, Ratios>,
}

impl Comparison {
    pub fn new(a: RunReport, b: RunReport) -> Comparison {
        let mut ratios = BTreeMap::new();
        let empty = OpStats::default();
        for name in a.ops.keys().chain(b.ops.keys()) {
            let sa = a.ops.get(name).unwrap_or(&empty);
            let sb = b.ops.get(name).unwrap_or(&empty);
            ratios.insert(name.clone(), Ratios::of(sa, sb));
        }
        ratios.insert("total".to_string(), Ratios::of(&a.total, &b.total));
        Comparison { a, b, ratios }
    }

    /// Both tables, then one block per op: A, B and B/A side by side.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.a.table());
        out.push('\n');
        out.push_str(&self.b.table());
        let la = if self.a.label.is_empty() {
            "A"
        } else {
            &self.a.label
        };
        let lb = if self.b.label.is_empty() {
            "B"
        } else {
            &self.b.label
        };
        let _ = writeln!(
            out,
            "\n== B/A: B={lb} vs A={la} (latency < 1 and ops/s > 1 favour B) =="
        );
        let _ = writeln!(
            out,
            "{:<9} {:<9} {:>12} {:>12} {:>8}",
            "op", "metric", la, lb, "B/A"
        );
        let empty = OpStats::default();
        let names = self
            .ratios
            .keys()
            .filter(|n| *n != "total")
            .chain(std::iter::once(
                self.ratios
                    .keys()
                    .find(|n| *n == "total")
                    .expect("total inserted"),
            ));
        for name in names {
            let (sa, sb) = if name == "total" {
                (&self.a.total, &self.b.total)
            } else {
                (
                    self.a.ops.get(name).unwrap_or(&empty),
                    self.b.ops.get(name).unwrap_or(&empty),
                )
            };
            let rows = [
                ("ops/s", sa.ops_per_sec, sb.ops_per_sec),
                ("p50 us", sa.p50_us, sb.p50_us),
                ("p90 us", sa.p90_us, sb.p90_us),
                ("p99 us", sa.p99_us, sb.p99_us),
                ("p99.9 us", sa.p999_us, sb.p999_us),
                ("max us", sa.max_us, sb.max_us),
            ];
            for (i, (metric, va, vb)) in rows.iter().enumerate() {
                let r = ratio(*vb, *va).map_or("-".to_string(), |r| format!("{r:.2}"));
                let op = if i == 0 { name.as_str() } else { "" };
                let _ = writeln!(out, "{op:<9} {metric:<9} {va:>12.1} {vb:>12.1} {r:>8}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_b_over_a() {
        let mut a = RunReport::default();
        let mut b = RunReport::default();
        a.total = OpStats {
            ops_per_sec: 100.0,
            p50_us: 10.0,
            ..OpStats::default()
        };
        b.total = OpStats {
            ops_per_sec: 300.0,
            p50_us: 5.0,
            ..OpStats::default()
        };
        a.ops.insert("get".into(), a.total.clone());
        b.ops.insert("get".into(), b.total.clone());
        let c = Comparison::new(a, b);
        assert_eq!(c.ratios["get"].ops_per_sec, Some(3.0));
        assert_eq!(c.ratios["total"].p50, Some(0.5));
        assert_eq!(c.ratios["total"].p99, None);
        assert!(c.table().contains("B/A"));
    }
}
