//! Sweeps: a grid of one or two levers over a base scenario, scored in chunks and streamed in
//! index order with progress. A chunk is computed only when the stream's four-message channel has
//! room, so a reader that stops reading stops the work; a reader that goes away cancels the
//! plugin call in progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use leverage_core::Violations;
use leverage_core::scenario::{Context, INPUT_CATALOG, Lever, Scenario};
use leverage_plugin_host::{PluginHost, PluginMetadata};
use leverage_proto::leverage::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::inputs::{lever_in, scenario_in};
use super::replies::score_error;
use super::{CallCounts, count_calls};
use crate::error;
use crate::health::Health;
use crate::metrics::Metrics;

/// Most points in one sweep.
pub const MAX_SWEEP_POINTS: u64 = 1_000_000;
const DEFAULT_CHUNK: usize = 1000;
const MAX_CHUNK: usize = 10_000;
/// Messages computed ahead of the reader.
const AHEAD: usize = 4;

/// A valid sweep request.
#[derive(Debug)]
pub(super) struct Plan {
    pub base: Scenario,
    axes: Vec<(Lever, Vec<f64>)>,
    total: u64,
    chunk: usize,
}

impl Plan {
    /// Reads a request, naming every bad field.
    pub fn from_request(r: &pb::SweepScenarioRequest) -> Result<Self, Status> {
        let base = scenario_in("base", r.base.as_ref()).map_err(error::domain)?;
        let mut v = Violations::new();
        if r.axes.is_empty() || r.axes.len() > 2 {
            v.add("axes", "give one or two axes");
        }
        let mut axes: Vec<(Lever, Vec<f64>)> = Vec::new();
        for (i, a) in r.axes.iter().enumerate() {
            let at = |f: &str| format!("axes[{i}].{f}");
            let lever = lever_in(&at("lever"), a.lever, &mut v);
            if a.steps < 2 {
                v.add(at("steps"), "must be at least 2");
            }
            if let Some(lever) = lever {
                lever.check(&at("start"), a.start, &mut v);
                lever.check(&at("stop"), a.stop, &mut v);
                if axes.iter().any(|(l, _)| *l == lever) {
                    v.add(at("lever"), "each lever may be swept once");
                }
                let steps = a.steps.max(2) as usize;
                let values = (0..steps.min(MAX_SWEEP_POINTS as usize))
                    .map(|k| a.start + (a.stop - a.start) * k as f64 / (steps - 1) as f64)
                    .collect();
                axes.push((lever, values));
            }
        }
        let total: u64 = r.axes.iter().map(|a| a.steps.max(1) as u64).product();
        if total > MAX_SWEEP_POINTS {
            v.add(
                "axes",
                format!("{total} points exceed the limit of {MAX_SWEEP_POINTS}"),
            );
        }
        if r.chunk_size < 0 {
            v.add("chunk_size", "must not be negative");
        }
        v.into_result().map_err(error::domain)?;
        let chunk = if r.chunk_size == 0 {
            DEFAULT_CHUNK
        } else {
            (r.chunk_size as usize).min(MAX_CHUNK)
        };
        Ok(Self {
            base,
            axes,
            total,
            chunk,
        })
    }

    /// Fills `rows` with the chunk of points starting at `first`, and returns each point's
    /// lever values. `s` is scratch: every point sets every swept lever.
    fn fill(
        &self,
        ctx: &Context,
        s: &mut Scenario,
        first: usize,
        rows: &mut [f64],
    ) -> Vec<Vec<f64>> {
        let width = INPUT_CATALOG.len();
        let inner = self.axes.get(1).map_or(1, |(_, v)| v.len());
        let mut levers = Vec::with_capacity(rows.len() / width);
        for (k, row) in rows.chunks_exact_mut(width).enumerate() {
            let index = first + k;
            let mut values = Vec::with_capacity(self.axes.len());
            for (axis, (lever, vals)) in self.axes.iter().enumerate() {
                let at = if axis == 0 {
                    index / inner
                } else {
                    index % inner
                };
                lever.set(s, vals[at]);
                values.push(vals[at]);
            }
            ctx.fill_row(s, row);
            levers.push(values);
        }
        levers
    }
}

/// What a sweep scores with.
#[derive(Debug)]
pub(super) struct Scorer {
    pub host: PluginHost,
    pub meta: Arc<PluginMetadata>,
    pub ctx: Arc<Context>,
    pub deadline: Duration,
    pub calls: Arc<CallCounts>,
    pub metrics: Metrics,
    pub health: Health,
}

type Sent = Result<pb::SweepScenarioResponse, Status>;

/// Starts the sweep on its own task; its messages arrive on the returned stream.
pub(super) fn start(plan: Plan, scorer: Scorer) -> ReceiverStream<Sent> {
    let (tx, rx) = mpsc::channel(AHEAD);
    tracing::info!(plugin = %scorer.meta.id, points = plan.total, chunk = plan.chunk, "sweep started");
    tokio::spawn(run(plan, scorer, tx));
    ReceiverStream::new(rx)
}

async fn run(plan: Plan, scorer: Scorer, tx: mpsc::Sender<Sent>) {
    let Scorer {
        host,
        meta,
        ctx,
        deadline,
        calls,
        metrics,
        health,
    } = scorer;
    let width = INPUT_CATALOG.len();
    let total = plan.total;
    let component_names: Vec<String> = meta.components.iter().map(|c| c.name.clone()).collect();
    let mut done: u64 = 0;
    let mut first = true;
    let mut s = plan.base.clone();
    while done < total {
        let n = (total - done).min(plan.chunk as u64) as usize;
        let mut rows = vec![0.0; n * width];
        let levers = plan.fill(&ctx, &mut s, done as usize, &mut rows);
        let cancel = Arc::new(AtomicBool::new(false));
        let started = std::time::Instant::now();
        let scored = tokio::select! {
            r = host.score(&meta.id, rows, n, deadline, Arc::clone(&cancel)) => {
                let failure = r.as_ref().err().map(error::host_failure_kind);
                metrics.record_plugin(&meta.id, n, failure, started.elapsed().as_secs_f64());
                r
            }
            _ = tx.closed() => {
                cancel.store(true, Ordering::Release);
                tracing::info!(plugin = %meta.id, done, total, "sweep stopped: the client went away");
                return;
            }
        };
        let scored = match scored {
            Ok(s) => s,
            Err(e) => {
                health.refresh_plugins(&host).await;
                let _ = tx.send(Err(error::host(e))).await;
                return;
            }
        };
        let points = scored
            .iter()
            .zip(levers)
            .enumerate()
            .map(|(k, (result, lever_values))| {
                let index = (done as usize + k) as i64;
                match result {
                    Ok(s) => pb::SweepPoint {
                        index,
                        lever_values,
                        score: s.score,
                        components: s.components().to_vec(),
                        error: None,
                    },
                    Err(e) => pb::SweepPoint {
                        index,
                        lever_values,
                        score: 0.0,
                        components: Vec::new(),
                        error: Some(score_error(&error::row(&meta.id, e))),
                    },
                }
            })
            .collect();
        count_calls(&calls, &meta, n);
        done += n as u64;
        let message = pb::SweepScenarioResponse {
            points,
            component_names: if std::mem::take(&mut first) {
                component_names.clone()
            } else {
                Vec::new()
            },
            progress: Some(pb::SweepProgress {
                done: done as i64,
                total: total as i64,
            }),
        };
        if tx.send(Ok(message)).await.is_err() {
            tracing::info!(plugin = %meta.id, done, total, "sweep stopped: the client went away");
            return;
        }
    }
    tracing::info!(plugin = %meta.id, points = total, "sweep finished");
}
