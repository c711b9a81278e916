//! `/metrics` in the Prometheus text format, named as ZooKeeper 3.8's
//! PrometheusMetricsProvider names them (so its Grafana dashboards work): every mntr gauge
//! and counter under its own name, every summary as a Prometheus summary (quantile 0.5, and
//! 0.9/0.99 for the ones mntr prints percentiles of) with `_count` and `_sum`; plus the
//! `process_*` figures of the Prometheus client's default exports and Ringkeeper's own
//! (`ringkeeper_*`): the WAL sync latency and group-commit size histograms and the load per
//! connection shard. Rendered from the board's published snapshot, on the metrics threads.

use super::board::Board;
use super::host;
use super::http::{self, Reply, Request};
use super::java::java_double;
use super::monitor::{
    counter, summary, MNTR_BASIC_SUMMARIES, MNTR_COUNTERS, MNTR_PERCENTILE_SUMMARIES,
};
use super::settings;
use super::snapshot::{MetricValue, Snapshot};
use crate::stats::Histogram;
use std::fmt::Write as _;
use std::sync::Arc;

/// Requests /metrics answers at once (each on its own thread).
pub const METRICS_WORKERS: usize = 2;

/// Starts the endpoint when `metricsProvider.className` names the Prometheus provider. As
/// in ZooKeeper, a provider that cannot start stops the server from starting.
pub fn start(board: &Arc<Board>) -> Result<(), String> {
    let s = settings::metrics(&board.config)?;
    if !s.enabled {
        return Ok(());
    }
    let board = board.clone();
    let handler = move |req: &Request| {
        let path = req.target.split('?').next().unwrap_or("");
        if path != "/metrics" {
            return Reply::text(404, "Not Found\n");
        }
        let mut snap = (*board.published()).clone();
        (snap.open_fds, snap.max_fds) = host::fd_counts();
        Reply {
            status: 200,
            content_type: Some("text/plain; version=0.0.4; charset=utf-8"),
            body: render(&snap, &process()),
        }
    };
    http::start(s.listen, "rk-metrics", METRICS_WORKERS, handler).map_err(|e| {
        format!(
            "Cannot boot MetricsProvider {}: cannot start /metrics server on {}: {e}",
            settings::PROMETHEUS_PROVIDER,
            s.listen
        )
    })?;
    tracing::info!(listen = %s.listen, "Prometheus /metrics started");
    Ok(())
}

fn family(out: &mut String, name: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {name}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, v: f64) {
    let _ = writeln!(out, "{name}{labels} {}", java_double(v));
}

/// The text for `snap` (with its host figures filled in) and the process figures.
pub fn render(snap: &Snapshot, process: &[(&str, &str, f64)]) -> String {
    let mut out = String::with_capacity(32 * 1024);
    // Gauges: the metrics registry's, as mntr prints them (mntr's first lines, version,
    // state, peer state and observer master, are not metrics).
    for (name, v) in super::monitor::gauge_values(snap) {
        let v = match v {
            MetricValue::Int(i) => i as f64,
            MetricValue::Double(d) => d,
            MetricValue::Text(_) => continue,
        };
        family(&mut out, &name, "gauge");
        sample(&mut out, &name, "", v);
    }
    for &name in MNTR_COUNTERS {
        family(&mut out, name, "counter");
        sample(&mut out, name, "", counter(snap, name) as f64);
    }
    let quantiles = |name: &str| -> Vec<(f64, f64)> {
        let hist = match name {
            "fsynctime" => Some((&snap.fsync_us, 1000.0)),
            "sync_processor_batch_size" => Some((&snap.batch_txns, 1.0)),
            _ => None,
        };
        let qs: &[f64] = if MNTR_PERCENTILE_SUMMARIES.contains(&name) {
            &[0.5, 0.9, 0.99]
        } else {
            &[0.5]
        };
        qs.iter()
            .map(|&q| {
                (
                    q,
                    hist.map_or(f64::NAN, |(h, scale)| quantile(h, q) / scale),
                )
            })
            .collect()
    };
    for &name in MNTR_BASIC_SUMMARIES.iter().chain(MNTR_PERCENTILE_SUMMARIES) {
        let sm = summary(snap, name);
        family(&mut out, name, "summary");
        for (q, v) in quantiles(name) {
            sample(&mut out, name, &format!("{{quantile=\"{q}\"}}"), v);
        }
        sample(&mut out, &format!("{name}_count"), "", sm.count as f64);
        sample(&mut out, &format!("{name}_sum"), "", sm.sum as f64);
    }
    for (name, help, v) in process {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        sample(&mut out, name, "", *v);
    }
    histogram(
        &mut out,
        "ringkeeper_fsync_seconds",
        "WAL sync (group commit) latency",
        &snap.fsync_us,
        1e-6,
    );
    histogram(
        &mut out,
        "ringkeeper_group_commit_txns",
        "Txns made durable per WAL sync",
        &snap.batch_txns,
        1.0,
    );
    let name = "ringkeeper_shard_connections";
    let _ = writeln!(
        out,
        "# HELP {name} Client sessions per connection shard\n# TYPE {name} gauge"
    );
    for (i, l) in snap.shards.iter().enumerate() {
        sample(
            &mut out,
            name,
            &format!("{{shard=\"{i}\"}}"),
            l.connections as f64,
        );
    }
    let name = "ringkeeper_shard_requests_total";
    let _ = writeln!(
        out,
        "# HELP {name} Requests from each connection shard's clients\n# TYPE {name} counter"
    );
    for (i, l) in snap.shards.iter().enumerate() {
        sample(
            &mut out,
            name,
            &format!("{{shard=\"{i}\"}}"),
            l.requests as f64,
        );
    }
    out
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram, scale: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (bound, n) in h.cumulative() {
        let le = bound as f64 * scale;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_count {}", h.count);
    sample(out, &format!("{name}_sum"), "", h.sum as f64 * scale);
}

/// The upper bound of the bucket holding quantile `q` (NaN with no values, as a Prometheus
/// summary with no observations reports).
fn quantile(h: &Histogram, q: f64) -> f64 {
    if h.count == 0 {
        return f64::NAN;
    }
    let rank = (q * h.count as f64).ceil() as u64;
    h.cumulative()
        .find(|(_, n)| *n >= rank)
        .map_or(h.bounds.last().map_or(f64::NAN, |b| *b as f64), |(b, _)| {
            b as f64
        })
}

/// The Prometheus client's process collector figures, from /proc/self.
pub fn process() -> Vec<(&'static str, &'static str, f64)> {
    let mut v = Vec::new();
    let (open, max) = host::fd_counts();
    v.push((
        "process_open_fds",
        "Number of open file descriptors.",
        open as f64,
    ));
    v.push((
        "process_max_fds",
        "Maximum number of open file descriptors.",
        max as f64,
    ));
    // SAFETY: sysconf only reads a configuration value.
    let (tick, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK) as f64,
            libc::sysconf(libc::_SC_PAGESIZE) as f64,
        )
    };
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i - 3).and_then(|s| s.parse::<f64>().ok());
        if let (Some(u), Some(s)) = (num(14), num(15)) {
            v.push((
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                (u + s) / tick,
            ));
        }
        if let (Some(start), Some(boot)) = (num(22), boot_time()) {
            v.push((
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                boot + start / tick,
            ));
        }
        if let Some(vsize) = num(23) {
            v.push((
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                vsize,
            ));
        }
        if let Some(rss) = num(24) {
            v.push((
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                rss * page,
            ));
        }
    }
    v
}

fn boot_time() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("btime "))?;
    line[6..].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_quantiles() {
        let mut snap = Snapshot {
            node_count: 5,
            ..Snapshot::default()
        };
        snap.fsync_us.record(700);
        snap.fsync_us.record(3000);
        let text = render(&snap, &[("process_open_fds", "fds", 12.0)]);
        assert!(text.contains("# TYPE znode_count gauge\nznode_count 5.0\n"));
        assert!(text.contains("# TYPE snap_count counter\nsnap_count 0.0\n"));
        assert!(text.contains("# TYPE fsynctime summary\nfsynctime{quantile=\"0.5\"} 1.0\n"));
        assert!(text.contains("readlatency{quantile=\"0.99\"} NaN\n"));
        assert!(!text.contains("fsynctime{quantile=\"0.9\"}"));
        assert!(text.contains("ringkeeper_fsync_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("ringkeeper_fsync_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("process_open_fds 12.0\n"));
        assert!(!text.contains("version"));
    }
}
