//! Turning merged `Stats` into a `RunReport`: a human table and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::histo::{error_name, Stats};
use crate::workload::OpKind;

/// Throughput and latency percentiles of one op kind (or of all of them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    pub count: u64,
    pub ops_per_sec: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl OpStats {
    pub fn from_histogram(h: &Histogram<u64>, seconds: f64) -> OpStats {
        let us = |ns: u64| ns as f64 / 1000.0;
        let count = h.len();
        if count == 0 {
            return OpStats::default();
        }
        OpStats {
            count,
            ops_per_sec: if seconds > 0.0 {
                count as f64 / seconds
            } else {
                0.0
            },
            mean_us: h.mean() / 1000.0,
            p50_us: us(h.value_at_quantile(0.50)),
            p90_us: us(h.value_at_quantile(0.90)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        }
    }
}

/// Everything one run measured, as printed and as written to JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub label: String,
    pub servers: Vec<String>,
    pub sessions: usize,
    pub inflight: usize,
    pub threads: usize,
    /// "closed-loop" or "fixed-rate".
    pub mode: String,
    /// Target ops/s in fixed-rate mode; latency is then measured from the intended send time.
    pub rate: Option<f64>,
    pub mix: String,
    pub keys: u64,
    pub value_size: usize,
    /// Length of the measured window (after warmup).
    pub seconds: f64,
    pub total: OpStats,
    pub ops: BTreeMap<String, OpStats>,
    /// op -> "NAME(code)" -> count.
    pub errors: BTreeMap<String, BTreeMap<String, u64>>,
    pub decode_errors: u64,
    pub notifications: u64,
    pub connection_losses: Vec<String>,
    pub lost_requests: u64,
}

impl RunReport {
    /// Fills the measured part of a report from merged stats.
    pub fn fill(&mut self, stats: &Stats, seconds: f64) {
        self.seconds = seconds;
        self.total = OpStats::from_histogram(&stats.total(), seconds);
        self.ops.clear();
        for kind in OpKind::ALL {
            let h = &stats.latency[kind.index()];
            if !h.is_empty() {
                self.ops
                    .insert(kind.name().to_string(), OpStats::from_histogram(h, seconds));
            }
        }
        self.errors.clear();
        for ((kind, code), n) in &stats.errors {
            let per_op = self.errors.entry(kind.name().to_string()).or_default();
            per_op.insert(format!("{}({code})", error_name(*code)), *n);
        }
        self.decode_errors = stats.decode_errors;
        self.notifications = stats.notifications;
        self.connection_losses = stats.connection_losses.clone();
        self.lost_requests = stats.lost_requests;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().flat_map(|m| m.values()).sum()
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let rate = match self.rate {
            Some(r) => format!("fixed-rate {r:.0} ops/s (latency from intended send time)"),
            None => "closed-loop".to_string(),
        };
        let _ = writeln!(
            out,
            "== {} ==  servers={}  sessions={} inflight={} threads={}  {}",
            if self.label.is_empty() {
                "run"
            } else {
                &self.label
            },
            self.servers.join(","),
            self.sessions,
            self.inflight,
            self.threads,
            rate
        );
        let _ = writeln!(
            out,
            "   mix={}  keys={}  value={}B  measured {:.2}s",
            self.mix, self.keys, self.value_size, self.seconds
        );
        let _ = writeln!(
            out,
            "{:<9} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "op", "count", "ops/s", "mean us", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us"
        );
        for (name, s) in self
            .ops
            .iter()
            .chain(std::iter::once((&"total".to_string(), &self.total)))
        {
            let _ = writeln!(
                out,
                "{:<9} {:>10} {:>11.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.1} {:>10.1}",
                name,
                s.count,
                s.ops_per_sec,
                s.mean_us,
                s.p50_us,
                s.p90_us,
                s.p99_us,
                s.p999_us,
                s.max_us
            );
        }
        for (op, codes) in &self.errors {
            let list: Vec<String> = codes.iter().map(|(c, n)| format!("{c}={n}")).collect();
            let _ = writeln!(out, "errors {op}: {}", list.join(" "));
        }
        if self.decode_errors > 0 {
            let _ = writeln!(out, "undecodable replies: {}", self.decode_errors);
        }
        if self.notifications > 0 {
            let _ = writeln!(out, "watch notifications: {}", self.notifications);
        }
        if !self.connection_losses.is_empty() {
            let _ = writeln!(
                out,
                "CONNECTION LOSSES: {} ({} requests lost)",
                self.connection_losses.len(),
                self.lost_requests
            );
            for why in &self.connection_losses {
                let _ = writeln!(out, "  {why}");
            }
        }
        out
    }
}
