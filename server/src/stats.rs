//! Server and per-connection counters for the four-letter words and mntr.

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

#[derive(Default)]
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
}

impl ServerStats {
    pub fn reset(&mut self) {
        self.packets_received = 0;
        self.packets_sent = 0;
        self.latency = Latency::default();
    }
}
