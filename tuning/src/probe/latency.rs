//! A latency distribution from raw samples: the percentiles the report shows and the sorted
//! samples the distribution plot draws.

use serde::{Deserialize, Serialize};

/// Percentiles of one set of measurements, in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub count: usize,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Up to `CURVE_POINTS` (percentile, microseconds) pairs for the plot.
    pub curve: Vec<(f64, f64)>,
}

/// Points kept for the distribution plot; enough for a smooth curve, small in the JSON.
const CURVE_POINTS: usize = 200;

impl Distribution {
    /// Nearest-rank percentiles (as fio reports them) of `nanos`.
    pub fn from_nanos(mut nanos: Vec<u64>) -> Distribution {
        if nanos.is_empty() {
            return Distribution::default();
        }
        nanos.sort_unstable();
        let us = |ns: u64| ns as f64 / 1000.0;
        let rank = |q: f64| {
            let i = (q * nanos.len() as f64).ceil() as usize;
            nanos[i.clamp(1, nanos.len()) - 1]
        };
        let n = nanos.len();
        let step = (n / CURVE_POINTS).max(1);
        let mut curve: Vec<(f64, f64)> = (0..n)
            .step_by(step)
            .map(|i| ((i + 1) as f64 * 100.0 / n as f64, us(nanos[i])))
            .collect();
        if curve.last().map(|p| p.0) != Some(100.0) {
            curve.push((100.0, us(nanos[n - 1])));
        }
        Distribution {
            count: n,
            mean_us: nanos.iter().map(|&v| v as f64).sum::<f64>() / n as f64 / 1000.0,
            p50_us: us(rank(0.50)),
            p99_us: us(rank(0.99)),
            p999_us: us(rank(0.999)),
            max_us: us(nanos[n - 1]),
            curve,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let d = Distribution::from_nanos((1..=1000u64).rev().map(|v| v * 1000).collect());
        assert_eq!(d.count, 1000);
        assert_eq!(d.p50_us, 500.0);
        assert_eq!(d.p99_us, 990.0);
        assert_eq!(d.p999_us, 999.0);
        assert_eq!(d.max_us, 1000.0);
        assert!((d.mean_us - 500.5).abs() < 1e-9);
        assert_eq!(d.curve.last(), Some(&(100.0, 1000.0)));
        assert!(d.curve.len() <= CURVE_POINTS + 1);
    }

    #[test]
    fn empty_is_all_zero() {
        assert_eq!(Distribution::from_nanos(vec![]), Distribution::default());
    }
}
