//! Medians and percentiles: the whole harness (no criterion).

use std::time::{Duration, Instant};

use serde::Serialize;

/// The nearest-rank percentile `q` (0..=1) of sorted values: the smallest value with at least
/// `q` of the values at or below it.
pub fn percentile_sorted<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Median of `values` (mean of the two middle ones for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Latency figures of a set of calls, in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub calls: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

impl Latency {
    /// From per-call latencies in nanoseconds (sorted in place).
    pub fn from_nanos(samples: &mut [u64]) -> Latency {
        samples.sort_unstable();
        let us = |q: f64| percentile_sorted(samples, q).map_or(f64::NAN, |n| n as f64 / 1e3);
        let sum: u128 = samples.iter().map(|&n| u128::from(n)).sum();
        Latency {
            calls: samples.len(),
            p50_us: us(0.50),
            p90_us: us(0.90),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: samples.last().map_or(f64::NAN, |&n| n as f64 / 1e3),
            mean_us: if samples.is_empty() {
                f64::NAN
            } else {
                sum as f64 / samples.len() as f64 / 1e3
            },
        }
    }
}

/// Runs `run` (which does `units` units of work) `runs` times after one warm-up run and returns
/// the median nanoseconds per unit, with every run's figure.
pub fn median_ns_per_unit(runs: usize, units: usize, mut run: impl FnMut()) -> (f64, Vec<f64>) {
    run();
    let samples: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_nanos() as f64 / units.max(1) as f64
        })
        .collect();
    (median(&samples), samples)
}

/// How many repetitions of `once` fill about `target`, at least 1.
pub fn calibrate(target: Duration, mut once: impl FnMut()) -> usize {
    let mut reps = 1usize;
    loop {
        let start = Instant::now();
        for _ in 0..reps {
            once();
        }
        let took = start.elapsed();
        if took >= target / 4 || reps >= 1 << 24 {
            let per = took.as_secs_f64() / reps as f64;
            return ((target.as_secs_f64() / per.max(1e-12)).ceil() as usize).max(1);
        }
        reps *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 0.5), Some(50));
        assert_eq!(percentile_sorted(&v, 0.99), Some(99));
        assert_eq!(percentile_sorted(&v, 0.999), Some(100));
        assert_eq!(percentile_sorted(&v, 0.0), Some(1));
        assert_eq!(percentile_sorted::<u64>(&[], 0.5), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
