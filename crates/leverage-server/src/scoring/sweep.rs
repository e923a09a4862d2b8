//! Sweeps: a grid of one or two levers (or inputs the plugin declares) over a base scenario, scored in chunks and streamed in
//! index order with progress. A call scores the whole grid or one part of it (an index range, or
//! a shard), its points keeping their index in the whole grid, so that several servers can share
//! a sweep. A chunk is computed only when the stream's four-message channel has room, so a
//! reader that stops reading stops the work; a reader that goes away cancels the plugin call in
//! progress.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use leverage_core::Violations;
use leverage_core::scenario::{Context, INPUT_CATALOG, Lever, Scenario};
use leverage_core::sweep::shard_points;
use leverage_plugin_host::{CallOptions, PluginHost, PluginMetadata};
use leverage_proto::leverage::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::inputs::{Undeclared, lever_in, own_values, scenario_in};
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

/// What one axis varies.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Swept {
    Lever(Lever),
    /// The plugin's own input at this position among its own inputs.
    Own(usize),
}

/// A valid sweep request.
#[derive(Debug)]
pub(super) struct Plan {
    pub base: Scenario,
    /// The base scenario's values of the plugin's own inputs, in declared order.
    own: Vec<f64>,
    axes: Vec<(Swept, Vec<f64>)>,
    /// Points in the whole grid.
    total: u64,
    /// The indices (in the whole grid) of the points this call scores.
    points: Range<u64>,
    chunk: usize,
}

impl Plan {
    /// Reads a request, naming every bad field. `meta` is the plugin's, when it is known: the
    /// axes over its own inputs and the base's values of them are checked against it.
    pub fn from_request(
        r: &pb::SweepScenarioRequest,
        meta: Option<&PluginMetadata>,
    ) -> Result<Self, Status> {
        let base = scenario_in("base", r.base.as_ref()).map_err(error::domain)?;
        let mut v = Violations::new();
        if r.axes.is_empty() || r.axes.len() > 2 {
            v.add("axes", "give one or two axes");
        }
        let mut axes: Vec<(Swept, Vec<f64>)> = Vec::new();
        for (i, a) in r.axes.iter().enumerate() {
            let at = |f: &str| format!("axes[{i}].{f}");
            let swept = if a.input.is_empty() {
                lever_in(&at("lever"), a.lever, &mut v).map(Swept::Lever)
            } else if a.lever != 0 {
                v.add(at("input"), "set a lever or an input, not both");
                None
            } else {
                meta.and_then(|meta| own_axis(meta, &a.input, &at, &mut v))
            };
            if a.steps < 2 {
                v.add(at("steps"), "must be at least 2");
            }
            if let Some(swept) = swept {
                match swept {
                    Swept::Lever(lever) => {
                        lever.check(&at("start"), a.start, &mut v);
                        lever.check(&at("stop"), a.stop, &mut v);
                    }
                    Swept::Own(k) => {
                        if let Some(declared) = meta.map(|m| &m.own_inputs[k]) {
                            for (field, value) in [("start", a.start), ("stop", a.stop)] {
                                if !declared.accepts(value) {
                                    v.add(
                                        at(field),
                                        format!(
                                            "`{}` must be between {} and {}, got {value}",
                                            declared.name, declared.min, declared.max
                                        ),
                                    );
                                }
                            }
                        }
                    }
                }
                if axes.iter().any(|(s, _)| *s == swept) {
                    v.add(
                        at(if a.input.is_empty() { "lever" } else { "input" }),
                        "each lever or input may be swept once",
                    );
                }
                let steps = a.steps.max(2) as usize;
                let values = (0..steps.min(MAX_SWEEP_POINTS as usize))
                    .map(|k| a.start + (a.stop - a.start) * k as f64 / (steps - 1) as f64)
                    .collect();
                axes.push((swept, values));
            }
        }
        // The base's values of the plugin's own inputs; a swept one counts as set (at its
        // lowest value: its axis sets it at every point, and a start outside the range is the
        // axis's mistake, named there once), so that a required input may be given by its
        // axis alone.
        let own = match meta {
            None => Vec::new(),
            Some(meta) => {
                let mut given = r
                    .base
                    .as_ref()
                    .map(|b| b.inputs.clone())
                    .unwrap_or_default();
                for a in &r.axes {
                    if let Some((_, declared)) = meta.own_input(&a.input)
                        && !given.iter().any(|g| g.name == a.input)
                    {
                        given.push(pb::InputValue {
                            name: a.input.clone(),
                            value: declared.min,
                        });
                    }
                }
                match own_values(meta, &given, Undeclared::Refuse, || "base".to_owned()) {
                    Ok(own) => own,
                    Err(e) => {
                        v.merge(e).map_err(error::domain)?;
                        Vec::new()
                    }
                }
            }
        };
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
        // Against a grid that is not one, a range or a shard means nothing: its own mistakes
        // are reported, not its fit to the grid.
        let grid = v.is_empty().then_some(total);
        let points = points_in(r, grid, &mut v);
        v.into_result().map_err(error::domain)?;
        let chunk = if r.chunk_size == 0 {
            DEFAULT_CHUNK
        } else {
            (r.chunk_size as usize).min(MAX_CHUNK)
        };
        Ok(Self {
            base,
            own,
            axes,
            total,
            points,
            chunk,
        })
    }

    /// Values per row: the catalog's, then the plugin's own inputs.
    fn width(&self) -> usize {
        INPUT_CATALOG.len() + self.own.len()
    }

    /// Fills `rows` with the chunk of points starting at `first`, and returns each point's
    /// swept values. `s` is scratch: every point sets every swept lever.
    fn fill(
        &self,
        ctx: &Context,
        s: &mut Scenario,
        first: usize,
        rows: &mut [f64],
    ) -> Vec<Vec<f64>> {
        let width = self.width();
        let inner = self.axes.get(1).map_or(1, |(_, v)| v.len());
        let mut levers = Vec::with_capacity(rows.len() / width);
        for (k, row) in rows.chunks_exact_mut(width).enumerate() {
            let index = first + k;
            let (catalog, own) = row.split_at_mut(INPUT_CATALOG.len());
            own.copy_from_slice(&self.own);
            let mut values = Vec::with_capacity(self.axes.len());
            for (axis, (swept, vals)) in self.axes.iter().enumerate() {
                let at = if axis == 0 {
                    index / inner
                } else {
                    index % inner
                };
                match swept {
                    Swept::Lever(lever) => lever.set(s, vals[at]),
                    Swept::Own(k) => own[*k] = vals[at],
                }
                values.push(vals[at]);
            }
            ctx.fill_row(s, catalog);
            levers.push(values);
        }
        levers
    }
}

/// The part of the grid a request asks for: the whole grid, the index range `start_index` to
/// `end_index`, or shard `shard_index` of `shard_count`. `grid` is the number of points, when
/// the axes are valid.
fn points_in(r: &pb::SweepScenarioRequest, grid: Option<u64>, v: &mut Violations) -> Range<u64> {
    let range_asked = r.start_index != 0 || r.end_index != 0;
    let shard_asked = r.shard_index != 0 || r.shard_count != 0;
    if range_asked && shard_asked {
        for (field, set) in [
            ("shard_index", r.shard_index != 0),
            ("shard_count", r.shard_count != 0),
        ] {
            if set {
                v.add(
                    field,
                    "ask for an index range (start_index, end_index) or a shard \
                     (shard_index, shard_count), not both",
                );
            }
        }
        return 0..0;
    }
    let total = grid.unwrap_or(0);
    if shard_asked {
        let index = non_negative("shard_index", r.shard_index.into(), v);
        let count = non_negative("shard_count", r.shard_count.into(), v);
        match (index, count) {
            (Some(_), Some(0)) => v.add(
                "shard_index",
                "is set but shard_count is 0: give the number of shards too",
            ),
            (Some(i), Some(n)) if i >= n => v.add(
                "shard_index",
                format!("must be below shard_count ({n}): shards are numbered from 0"),
            ),
            (Some(i), Some(n)) => return shard_points(total, i, n),
            _ => {}
        }
        return 0..0;
    }
    let start = non_negative("start_index", r.start_index, v);
    let end = non_negative("end_index", r.end_index, v);
    let (Some(start), Some(end)) = (start, end) else {
        return 0..0;
    };
    // 0 is the default, so it cannot mean an empty range ending at the first point.
    let end = if end == 0 { total } else { end };
    let mut within = true;
    if let Some(grid) = grid {
        for (field, index) in [("start_index", start), ("end_index", end)] {
            if index > grid {
                v.add(field, format!("{index} is past the grid's {grid} points"));
                within = false;
            }
        }
    }
    if within && start > end && r.end_index != 0 {
        v.add("end_index", format!("{end} is below start_index {start}"));
    }
    start..end
}

/// The axis over the plugin's own input `name`, or a violation naming it.
fn own_axis(
    meta: &PluginMetadata,
    name: &str,
    at: &impl Fn(&str) -> String,
    v: &mut Violations,
) -> Option<Swept> {
    match meta.own_input(name) {
        Some((k, _)) => Some(Swept::Own(k)),
        None => {
            let own: Vec<&str> = meta.own_inputs.iter().map(|i| i.name.as_str()).collect();
            v.add(
                at("input"),
                if own.is_empty() {
                    format!(
                        "`{name}`: plugins/{} declares no inputs of its own (sweep a lever)",
                        meta.id
                    )
                } else {
                    format!(
                        "`{name}` is not an input of plugins/{}; its own inputs are {}",
                        meta.id,
                        own.join(", ")
                    )
                },
            );
            None
        }
    }
}

/// An index or a count, which must not be negative.
fn non_negative(field: &str, value: i64, v: &mut Violations) -> Option<u64> {
    let n = u64::try_from(value).ok();
    if n.is_none() {
        v.add(field, "must not be negative");
    }
    n
}

/// What a sweep scores with.
#[derive(Debug)]
pub(super) struct Scorer {
    pub host: PluginHost,
    pub meta: Arc<PluginMetadata>,
    pub options: CallOptions,
    /// Every parameter with the value the sweep uses, for its first message.
    pub parameters: Vec<pb::NamedValue>,
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
    tracing::info!(
        plugin = %scorer.meta.id,
        grid = plan.total,
        from = plan.points.start,
        to = plan.points.end,
        chunk = plan.chunk,
        "sweep started"
    );
    tokio::spawn(run(plan, scorer, tx));
    ReceiverStream::new(rx)
}

async fn run(plan: Plan, scorer: Scorer, tx: mpsc::Sender<Sent>) {
    let Scorer {
        host,
        meta,
        options,
        parameters,
        ctx,
        deadline,
        calls,
        metrics,
        health,
    } = scorer;
    let width = plan.width();
    let first_index = plan.points.start;
    // Progress counts the points this call scores, not the whole grid's.
    let total = plan.points.end - first_index;
    let component_names: Vec<String> = meta.components.iter().map(|c| c.name.clone()).collect();
    if total == 0 {
        // Every sweep's first message names the components, an empty part's too.
        let empty = pb::SweepScenarioResponse {
            points: Vec::new(),
            component_names,
            progress: Some(pb::SweepProgress { done: 0, total: 0 }),
            plugin_build: options.build.clone().unwrap_or_default(),
            parameters,
        };
        let _ = tx.send(Ok(empty)).await;
        return;
    }
    let mut done: u64 = 0;
    let mut first = true;
    let mut s = plan.base.clone();
    while done < total {
        let n = (total - done).min(plan.chunk as u64) as usize;
        let next = (first_index + done) as usize;
        let mut rows = vec![0.0; n * width];
        let levers = plan.fill(&ctx, &mut s, next, &mut rows);
        let cancel = Arc::new(AtomicBool::new(false));
        let started = std::time::Instant::now();
        let scored = tokio::select! {
            r = host.score_with(&meta.id, &options, rows, n, deadline, Arc::clone(&cancel)) => {
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
                let index = (next + k) as i64;
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
        let first_message = std::mem::take(&mut first);
        let message = pb::SweepScenarioResponse {
            points,
            component_names: if first_message {
                component_names.clone()
            } else {
                Vec::new()
            },
            plugin_build: if first_message {
                options.build.clone().unwrap_or_default()
            } else {
                String::new()
            },
            parameters: if first_message {
                parameters.clone()
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

#[cfg(test)]
mod tests {
    use leverage_core::DomainError;

    use super::*;

    /// The points a request asks for in a grid of `grid` points, and the fields it gets wrong.
    fn asked(r: pb::SweepScenarioRequest, grid: Option<u64>) -> (Range<u64>, Vec<String>) {
        let mut v = Violations::new();
        let points = points_in(&r, grid, &mut v);
        let fields = match v.into_result() {
            Ok(()) => Vec::new(),
            Err(DomainError::InvalidArgument(bad)) => bad.into_iter().map(|f| f.field).collect(),
            Err(other) => panic!("not a field violation: {other}"),
        };
        (points, fields)
    }

    fn part(start: i64, end: i64, shard: i32, of: i32) -> pb::SweepScenarioRequest {
        pb::SweepScenarioRequest {
            start_index: start,
            end_index: end,
            shard_index: shard,
            shard_count: of,
            ..Default::default()
        }
    }

    fn range(start: i64, end: i64) -> pb::SweepScenarioRequest {
        part(start, end, 0, 0)
    }

    fn shard(index: i32, count: i32) -> pb::SweepScenarioRequest {
        part(0, 0, index, count)
    }

    #[test]
    fn no_part_asks_for_the_whole_grid_a_range_for_its_points_and_a_shard_for_its_share() {
        let cases = [
            (range(0, 0), 0..1000),
            (range(10, 20), 10..20),
            // An end of 0 runs to the last point.
            (range(990, 0), 990..1000),
            (range(1000, 0), 1000..1000),
            (range(0, 1000), 0..1000),
            (shard(0, 3), 0..333),
            (shard(2, 3), 666..1000),
            (shard(0, 1), 0..1000),
        ];
        for (request, points) in cases {
            assert_eq!(asked(request, Some(1000)), (points, vec![]));
        }
    }

    #[test]
    fn a_range_and_a_shard_at_once_name_the_shard_fields() {
        let fields = |r| asked(r, Some(1000)).1;
        assert_eq!(fields(part(5, 0, 1, 2)), ["shard_index", "shard_count"]);
        assert_eq!(fields(part(0, 5, 0, 2)), ["shard_count"]);
    }

    #[test]
    fn a_shard_index_must_be_below_a_shard_count_that_is_set() {
        assert_eq!(asked(shard(3, 3), Some(1000)).1, ["shard_index"]);
        assert_eq!(asked(shard(1, 0), Some(1000)).1, ["shard_index"]);
        assert_eq!(asked(shard(-1, 3), Some(1000)).1, ["shard_index"]);
        assert_eq!(asked(shard(0, -3), Some(1000)).1, ["shard_count"]);
    }

    #[test]
    fn a_range_must_lie_within_the_grid_and_not_end_before_it_starts() {
        assert_eq!(asked(range(20, 10), Some(1000)).1, ["end_index"]);
        assert_eq!(asked(range(1001, 0), Some(1000)).1, ["start_index"]);
        assert_eq!(asked(range(0, 1001), Some(1000)).1, ["end_index"]);
        assert_eq!(
            asked(range(2000, 1001), Some(1000)).1,
            ["start_index", "end_index"]
        );
        assert_eq!(
            asked(range(-1, -1), Some(1000)).1,
            ["start_index", "end_index"]
        );
    }

    #[test]
    fn a_range_is_not_held_against_a_grid_that_is_not_valid() {
        assert_eq!(asked(range(5, 2_000_000), None).1, Vec::<String>::new());
        assert_eq!(asked(range(5, 2), None).1, ["end_index"]);
    }
}
