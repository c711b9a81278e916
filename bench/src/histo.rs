//! Per-thread measurements: one HdrHistogram (nanoseconds) per op kind, error counts by code,
//! and connection events. Threads record into their own `Stats`; the runner merges them.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::workload::OpKind;

/// 1 ns to 1 hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

#[derive(Clone, Debug)]
pub struct Stats {
    /// Indexed by `OpKind::index()`.
    pub latency: Vec<Histogram<u64>>,
    /// (op kind, error code) -> count. Server errors, including a failed multi's first error.
    pub errors: BTreeMap<(OpKind, i32), u64>,
    /// Replies whose body did not decode.
    pub decode_errors: u64,
    pub notifications: u64,
    /// Sessions whose connection broke during the run, with the reason.
    pub connection_losses: Vec<String>,
    /// Requests that were on the wire when their connection broke.
    pub lost_requests: u64,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            latency: OpKind::ALL.iter().map(|_| new_histogram()).collect(),
            errors: BTreeMap::new(),
            decode_errors: 0,
            notifications: 0,
            connection_losses: Vec::new(),
            lost_requests: 0,
        }
    }
}

impl Stats {
    pub fn record(&mut self, kind: OpKind, nanos: u64) {
        self.latency[kind.index()].saturating_record(nanos.max(1));
    }

    pub fn error(&mut self, kind: OpKind, code: i32) {
        *self.errors.entry((kind, code)).or_default() += 1;
    }

    pub fn count(&self) -> u64 {
        self.latency.iter().map(|h| h.len()).sum()
    }

    pub fn merge(&mut self, other: &Stats) {
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            mine.add(theirs).expect("histograms share bounds");
        }
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        self.decode_errors += other.decode_errors;
        self.notifications += other.notifications;
        self.connection_losses
            .extend(other.connection_losses.iter().cloned());
        self.lost_requests += other.lost_requests;
    }

    /// All op kinds in one histogram.
    pub fn total(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for h in &self.latency {
            all.add(h).expect("histograms share bounds");
        }
        all
    }
}

/// The name ZooKeeper gives an error code (KeeperException.Code), for reports.
pub fn error_name(code: i32) -> &'static str {
    match code {
        -1 => "SYSTEMERROR",
        -2 => "RUNTIMEINCONSISTENCY",
        -3 => "DATAINCONSISTENCY",
        -4 => "CONNECTIONLOSS",
        -5 => "MARSHALLINGERROR",
        -6 => "UNIMPLEMENTED",
        -7 => "OPERATIONTIMEOUT",
        -8 => "BADARGUMENTS",
        -12 => "UNKNOWNSESSION",
        -13 => "NEWCONFIGNOQUORUM",
        -14 => "RECONFIGINPROGRESS",
        -100 => "APIERROR",
        -101 => "NONODE",
        -102 => "NOAUTH",
        -103 => "BADVERSION",
        -108 => "NOCHILDRENFOREPHEMERALS",
        -110 => "NODEEXISTS",
        -111 => "NOTEMPTY",
        -112 => "SESSIONEXPIRED",
        -113 => "INVALIDCALLBACK",
        -114 => "INVALIDACL",
        -115 => "AUTHFAILED",
        -118 => "SESSIONMOVED",
        -119 => "NOTREADONLY",
        -120 => "EPHEMERALONLOCALSESSION",
        -121 => "NOWATCHER",
        -122 => "REQUESTTIMEOUT",
        -123 => "RECONFIGDISABLED",
        -124 => "SESSIONCLOSEDREQUIRESASLAUTH",
        -125 => "QUOTAEXCEEDED",
        -127 => "THROTTLEDOP",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_keeps_percentiles() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for v in 1..=1000u64 {
            a.record(OpKind::Get, v * 1000);
            b.record(OpKind::Get, (v + 1000) * 1000);
        }
        b.error(OpKind::Set, -101);
        a.merge(&b);
        assert_eq!(a.count(), 2000);
        let p50 = a.latency[OpKind::Get.index()].value_at_quantile(0.5);
        assert!((999_000..1_002_000).contains(&p50), "{p50}");
        assert_eq!(a.errors[&(OpKind::Set, -101)], 1);
    }
}
