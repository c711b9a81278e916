//! Server and per-connection counters, kept by the pipeline for the status snapshot.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Request latency in the units ZooKeeper reports (ms), kept as min/sum/count/max.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    pub min_us: u64,
    pub max_us: u64,
    pub sum_us: u64,
    pub count: u64,
}

impl Latency {
    pub fn record(&mut self, us: u64) {
        if self.count == 0 || us < self.min_us {
            self.min_us = us;
        }
        self.max_us = self.max_us.max(us);
        self.sum_us += us;
        self.count += 1;
    }

    pub fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64 / 1000.0
        }
    }

    pub fn min_ms(&self) -> u64 {
        self.min_us / 1000
    }

    pub fn max_ms(&self) -> u64 {
        self.max_us / 1000
    }
}

pub struct ConnStats {
    pub remote: SocketAddr,
    pub established_ms: i64,
    pub received: u64,
    pub sent: u64,
    pub last_opcode: Option<i32>,
    pub last_cxid: i64,
    pub last_zxid: i64,
    pub last_response_ms: i64,
    pub last_latency_us: u64,
    pub latency: Latency,
    /// Requests waiting for their reply: xid and arrival time.
    pub pending: VecDeque<(i32, Instant)>,
}

impl ConnStats {
    pub fn new(remote: SocketAddr, now_ms: i64) -> ConnStats {
        ConnStats {
            remote,
            established_ms: now_ms,
            received: 0,
            sent: 0,
            last_opcode: None,
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_us: 0,
            latency: Latency::default(),
            pending: VecDeque::new(),
        }
    }

    pub fn reset(&mut self) {
        self.received = 0;
        self.sent = 0;
        self.last_opcode = None;
        self.last_cxid = -1;
        self.last_zxid = -1;
        self.last_response_ms = 0;
        self.last_latency_us = 0;
        self.latency = Latency::default();
    }
}

pub struct ServerStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub latency: Latency,
    pub bytes_received: u64,
    pub fsync: Latency,
    pub fsync_batches: u64,
    pub fsync_batch_txns: u64,
    pub last_batch_txns: u64,
    pub max_batch_txns: u64,
    pub snap_count: u64,
    pub connection_rejected: u64,
    pub auth_failed: u64,
    pub fsync_threshold_exceeded: u64,
    pub fsync_hist: Histogram,
    pub batch_hist: Histogram,
    /// Per connection shard: open connections and requests seen, for the per-shard load.
    pub shard_connections: Vec<u64>,
    pub shard_requests: Vec<u64>,
}

impl ServerStats {
    pub fn new(shards: usize) -> ServerStats {
        ServerStats {
            packets_received: 0,
            packets_sent: 0,
            latency: Latency::default(),
            bytes_received: 0,
            fsync: Latency::default(),
            fsync_batches: 0,
            fsync_batch_txns: 0,
            last_batch_txns: 0,
            max_batch_txns: 0,
            snap_count: 0,
            connection_rejected: 0,
            auth_failed: 0,
            fsync_threshold_exceeded: 0,
            fsync_hist: Histogram::new(FSYNC_US_BOUNDS),
            batch_hist: Histogram::new(BATCH_TXNS_BOUNDS),
            shard_connections: vec![0; shards],
            shard_requests: vec![0; shards],
        }
    }
}

/// Upper bounds (us) of the WAL sync latency histogram's buckets.
pub const FSYNC_US_BOUNDS: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];
/// Upper bounds of the group-commit batch size (txns) histogram's buckets.
pub const BATCH_TXNS_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/// A cumulative histogram with fixed bucket bounds, as Prometheus exposes one: `counts[i]`
/// counts the values <= `bounds[i]` and above the bound before; the +Inf bucket is `count`.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bounds: &'static [u64],
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            count: 0,
            sum: 0,
        }
    }

    pub fn record(&mut self, v: u64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += v;
    }

    /// (bound, values <= bound) for each bucket, as Prometheus' `le` buckets.
    pub fn cumulative(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.bounds.iter().zip(&self.counts).scan(0, |acc, (b, c)| {
            *acc += c;
            Some((*b, *acc))
        })
    }
}

impl ServerStats {
    pub fn reset(&mut self) {
        self.packets_received = 0;
        self.packets_sent = 0;
        self.latency = Latency::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::new(&[1, 10, 100]);
        for v in [0, 1, 5, 10, 11, 1000] {
            h.record(v);
        }
        assert_eq!(h.counts, vec![2, 2, 1]);
        assert_eq!(
            h.cumulative().collect::<Vec<_>>(),
            vec![(1, 2), (10, 4), (100, 5)]
        );
        assert_eq!((h.count, h.sum), (6, 1027));
    }
}
