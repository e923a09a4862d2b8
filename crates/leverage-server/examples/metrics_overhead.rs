//! The cost of recording one call in the metrics (issue 16): the `prometheus-client` recorder
//! the server uses beside the hand-written one it replaced (kept below, as it was, for this
//! comparison only), in the same run, on one thread and on two threads recording at once.
//!
//! `cargo run --release -p leverage-server --example metrics_overhead`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use leverage_server::metrics::Metrics;

/// The hand-written recorder before issue 16: one mutex over maps of plain counters.
mod hand_written {
    use super::*;

    const BUCKETS: [f64; 12] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
    ];

    #[derive(Default)]
    struct Histogram {
        counts: [u64; BUCKETS.len()],
        count: u64,
        sum: f64,
    }

    #[derive(Default)]
    struct MethodStats {
        codes: [u64; 17],
        latency: Histogram,
    }

    #[derive(Clone, Default)]
    pub struct Recorder {
        methods: Arc<Mutex<BTreeMap<String, MethodStats>>>,
    }

    impl Recorder {
        pub fn record_call(&self, method: &str, code: tonic::Code, seconds: f64) {
            let mut methods = self.methods.lock().unwrap_or_else(|p| p.into_inner());
            let stats = match methods.get_mut(method) {
                Some(stats) => stats,
                None => methods.entry(method.to_owned()).or_default(),
            };
            if let Some(count) = stats.codes.get_mut(code as usize) {
                *count += 1;
            }
            for (bound, count) in BUCKETS.iter().zip(&mut stats.latency.counts) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            stats.latency.count += 1;
            stats.latency.sum += seconds;
        }
    }
}

const METHODS: [&str; 4] = [
    "/leverage.v1.AssetService/ListHoldings",
    "/leverage.v1.ScoringService/ScoreScenario",
    "/leverage.v1.LegalRiskService/AssessLegalRisk",
    "/leverage.v1.FundingService/ListInstruments",
];
const CALLS_PER_THREAD: usize = 2_000_000;

/// Nanoseconds per recorded call with `threads` threads recording at once.
fn per_call(threads: usize, record: impl Fn(&str, tonic::Code, f64) + Send + Sync) -> f64 {
    let record = &record;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for i in 0..CALLS_PER_THREAD {
                    let code = if i % 50 == 0 {
                        tonic::Code::InvalidArgument
                    } else {
                        tonic::Code::Ok
                    };
                    // Spread over the buckets like real latencies: 0.1 ms to 40 ms.
                    let seconds = 0.0001 * (1 + (i + t) % 400) as f64;
                    record(black_box(METHODS[(i + t) % METHODS.len()]), code, seconds);
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 / (threads * CALLS_PER_THREAD) as f64
}

fn main() {
    println!("calls per thread: {CALLS_PER_THREAD}; 4 methods; ns per recorded call (best of 5)");
    println!("| threads | hand-written | prometheus-client | ratio |");
    println!("| ---: | ---: | ---: | ---: |");
    for threads in [1, 2] {
        let (mut old, mut new) = (f64::INFINITY, f64::INFINITY);
        // Interleaved, so that both see the same machine load.
        for _ in 0..5 {
            let recorder = hand_written::Recorder::default();
            old = old.min(per_call(threads, |m, c, s| recorder.record_call(m, c, s)));
            let metrics = Metrics::default();
            new = new.min(per_call(threads, |m, c, s| metrics.record_call(m, c, s)));
        }
        println!("| {threads} | {old:.0} | {new:.0} | {:.2} |", new / old);
    }
    let metrics = Metrics::default();
    for (i, method) in METHODS.iter().enumerate() {
        metrics.record_call(method, tonic::Code::Ok, 0.001 * i as f64);
    }
    let started = Instant::now();
    let text = metrics.render("2026.12.1");
    println!(
        "one scrape (4 methods, process metrics included): {} bytes in {:.0} µs",
        text.len(),
        started.elapsed().as_secs_f64() * 1e6
    );
}
