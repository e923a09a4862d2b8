//! ScoringService: scenarios in, scores out, through the plugin host.
//!
//! A handler validates the scenarios (naming every bad field), derives the dataset context for
//! each as-of date once, fills one row of named inputs per scenario, and hands the rows to the
//! host in one batch. Sweeps stream chunks in index order and stop when the client goes away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leverage_core::scenario::{Context, INPUT_CATALOG, Lever, Scenario, ScenarioInput};
use leverage_core::{Date, DomainError, Snapshot, Violations};
use leverage_plugin_host::{PluginHost, PluginMetadata, PluginState, RowResult};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_server::ScoringService;
use leverage_store::Repository;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth;
use crate::convert::{date_in, date_out};
use crate::error::{self, Refusal};
use crate::health::Health;
use crate::legal::action_in;
use crate::metrics::Metrics;
use crate::versions;

/// Most scenarios in one `ScoreScenarios` call, and plugins × scenarios in a comparison.
pub const MAX_BATCH: usize = 10_000;
/// Most points in one sweep.
pub const MAX_SWEEP_POINTS: u64 = 1_000_000;
const DEFAULT_CHUNK: usize = 1000;
const MAX_CHUNK: usize = 10_000;

/// The service's name, as health and reflection know it.
pub const SERVICE_NAME: &str =
    <leverage_proto::leverage::v1::scoring_service_server::ScoringServiceServer<ScoringApi> as tonic::server::NamedService>::NAME;

#[derive(Debug)]
pub struct ScoringApi {
    pub repo: Arc<Repository>,
    pub host: PluginHost,
    /// Longest a plugin call may run, whatever the client's deadline.
    pub max_call: Duration,
    metrics: Metrics,
    health: Health,
    contexts: Mutex<Vec<CachedContext>>,
    calls: Arc<CallCounts>,
}

/// A derived context and the snapshot and date it was derived from.
type CachedContext = (Arc<Snapshot>, Date, Arc<Context>);

/// Scenarios scored per (plugin id, build id).
type CallCounts = Mutex<HashMap<(String, String), i64>>;

fn count_calls(calls: &CallCounts, meta: &PluginMetadata, rows: usize) {
    let mut calls = calls.lock().unwrap_or_else(|p| p.into_inner());
    *calls
        .entry((meta.id.clone(), meta.build_id.clone()))
        .or_default() += rows as i64;
}

impl ScoringApi {
    pub fn new(
        repo: Arc<Repository>,
        host: PluginHost,
        max_call: Duration,
        metrics: Metrics,
        health: Health,
    ) -> Self {
        Self {
            repo,
            host,
            max_call,
            metrics,
            health,
            contexts: Mutex::new(Vec::new()),
            calls: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The dataset context as of a date, derived once per snapshot and date. Derived outside
    /// the cache's lock, so that a miss does not hold up calls for other dates; two calls
    /// missing on the same date at once both derive it, and the second result is dropped.
    fn context(&self, snap: &Arc<Snapshot>, as_of: Date) -> Result<Arc<Context>, Status> {
        let cached = |cache: &[CachedContext]| {
            cache
                .iter()
                .find(|(s, d, _)| Arc::ptr_eq(s, snap) && *d == as_of)
                .map(|(_, _, c)| Arc::clone(c))
        };
        if let Some(c) = cached(&self.contexts.lock().unwrap_or_else(|p| p.into_inner())) {
            return Ok(c);
        }
        let ctx = Arc::new(Context::derive(snap, as_of).map_err(error::domain)?);
        let mut cache = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached(&cache) {
            return Ok(c);
        }
        // Contexts of older snapshots go, but not the newest one's: a read pinned to an old
        // version must not cost every other caller its warm cache.
        let newest = self.repo.snapshot();
        cache.retain(|(s, _, _)| Arc::ptr_eq(s, snap) || Arc::ptr_eq(s, &newest));
        if cache.len() >= 64 {
            cache.remove(0);
        }
        cache.push((Arc::clone(snap), as_of, Arc::clone(&ctx)));
        Ok(ctx)
    }

    /// The plugin a request names, ready to score.
    fn ready(&self, field: &str, name: &str) -> Result<Arc<PluginMetadata>, Status> {
        let id = plugin_id(field, name)?;
        match self.host.state(id) {
            None => Err(error::not_found(name)),
            Some(PluginState::Disabled { reason }) => Err(Refusal::PluginDisabled {
                name: name.to_owned(),
                reason,
            }
            .into_status()),
            Some(PluginState::Refused { reason }) => Err(Refusal::PluginRefused {
                name: name.to_owned(),
                reason: reason.to_string(),
            }
            .into_status()),
            Some(PluginState::Ready) => {
                self.host.metadata(id).ok_or_else(|| error::not_found(name))
            }
        }
    }

    /// How long a plugin call may take: the client's deadline less a margin (so that the
    /// answer is DEADLINE_EXCEEDED from here rather than a cancelled stream), capped.
    fn deadline<T>(&self, request: &Request<T>) -> Duration {
        let client = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::limits::parse_grpc_timeout);
        match client {
            Some(d) => d
                .saturating_sub((d / 10).min(Duration::from_millis(50)))
                .min(self.max_call),
            None => self.max_call,
        }
    }

    /// Rows (catalog order) for valid scenarios.
    fn rows(&self, snap: &Arc<Snapshot>, scenarios: &[Scenario]) -> Result<Vec<f64>, Status> {
        let width = INPUT_CATALOG.len();
        let mut rows = vec![0.0; scenarios.len() * width];
        for (s, row) in scenarios.iter().zip(rows.chunks_exact_mut(width)) {
            self.context(snap, s.as_of)?.fill_row(s, row);
        }
        Ok(rows)
    }

    fn result(
        &self,
        meta: &PluginMetadata,
        dataset_version: &str,
        s: &Scenario,
        row: &[f64],
        score: &leverage_plugin_host::RowScore,
    ) -> pb::ScoreResult {
        pb::ScoreResult {
            plugin: format!("plugins/{}", meta.id),
            plugin_version: meta.version.clone(),
            build_id: meta.build_id.clone(),
            dataset_version: dataset_version.to_owned(),
            as_of: Some(date_out(s.as_of)),
            score: score.score,
            score_unit: meta.score.unit.clone(),
            components: meta
                .components
                .iter()
                .zip(score.components().iter())
                .map(|(c, v)| pb::ComponentScore {
                    name: c.name.clone(),
                    value: *v,
                    unit: c.unit.clone(),
                })
                .collect(),
            inputs: meta
                .inputs
                .iter()
                .filter_map(|i| {
                    let at = INPUT_CATALOG.iter().position(|c| c.name == i.name)?;
                    Some(pb::NamedValue {
                        name: i.name.clone(),
                        value: row[at],
                        unit: INPUT_CATALOG[at].unit.to_owned(),
                    })
                })
                .collect(),
        }
    }

    /// Scores a batch with one plugin: invalid scenarios get their own error outcome.
    async fn batch(
        &self,
        snap: &Arc<Snapshot>,
        meta: &PluginMetadata,
        inputs: &[Result<Scenario, DomainError>],
        deadline: Duration,
    ) -> Result<Vec<Result<pb::ScoreResult, Status>>, Status> {
        let valid: Vec<Scenario> = inputs
            .iter()
            .filter_map(|s| s.as_ref().ok().cloned())
            .collect();
        let rows = self.rows(snap, &valid)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let scored = if valid.is_empty() {
            Vec::new()
        } else {
            let started = std::time::Instant::now();
            let scored = self
                .host
                .score(&meta.id, rows.clone(), valid.len(), deadline, cancel)
                .await;
            let failure = scored.as_ref().err().map(error::host_failure_kind);
            self.metrics.record_plugin(
                &meta.id,
                valid.len(),
                failure,
                started.elapsed().as_secs_f64(),
            );
            if scored.is_err() {
                self.health.refresh_plugins(&self.host).await;
            }
            scored.map_err(error::host)?
        };
        count_calls(&self.calls, meta, valid.len());
        let width = INPUT_CATALOG.len();
        let version = snap.revision().to_string();
        let mut scored = scored
            .into_iter()
            .zip(valid.iter())
            .zip(rows.chunks_exact(width));
        let mut out = Vec::with_capacity(inputs.len());
        for input in inputs {
            out.push(match input {
                Err(e) => Err(error::domain(e.clone())),
                Ok(_) => match scored.next() {
                    Some(((Ok(score), s), row)) => Ok(self.result(meta, &version, s, row, &score)),
                    Some(((Err(e), _), _)) => Err(error::row(&meta.id, &e)),
                    None => Err(Refusal::PluginResultMissing.into_status()),
                },
            });
        }
        Ok(out)
    }
}

fn plugin_id<'a>(field: &str, name: &'a str) -> Result<&'a str, Status> {
    name.strip_prefix("plugins/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            error::invalid(
                field,
                format!("{name:?} is not a plugin name (plugins/{{id}})"),
            )
        })
}

/// Reads a scenario; bad fields are named under `prefix`.
pub fn scenario_in(prefix: &str, s: Option<&pb::Scenario>) -> Result<Scenario, DomainError> {
    let Some(s) = s else {
        return Err(DomainError::invalid(prefix, "is required"));
    };
    let mut v = Violations::new();
    let use_mode = if s.use_mode == 0 {
        None
    } else {
        action_in(&format!("{prefix}.use_mode"), s.use_mode, &mut v)
    };
    let as_of = s.as_of.as_ref().map(|_| {
        date_in(
            &format!("{prefix}.as_of"),
            s.as_of.as_ref(),
            Date::today(),
            &mut v,
        )
    });
    let input = ScenarioInput {
        use_mode,
        participation: s
            .participation
            .iter()
            .map(|p| (p.jurisdiction.clone(), p.fraction))
            .collect(),
        interest_rate_pct: s.interest_rate_pct,
        sanctions_tightening: s.sanctions_tightening,
        safe_takeup: s.safe_takeup,
        defence_spending_gdp_pct: s.defence_spending_gdp_pct,
        ceasefire: s.ceasefire,
        guarantee_sharing: s.guarantee_sharing,
        horizon_years: s.horizon_years.map(i64::from),
        as_of,
    };
    match input.validate(prefix, Date::today()) {
        Ok(scenario) => v.finish(|| scenario),
        Err(e) => {
            v.merge(e)?;
            v.into_result()
                .and(Err(DomainError::invalid(prefix, "is invalid")))
        }
    }
}

fn lever_in(field: &str, value: i32, v: &mut Violations) -> Option<Lever> {
    Some(match pb::Lever::try_from(value) {
        Ok(pb::Lever::InterestRatePct) => Lever::InterestRatePct,
        Ok(pb::Lever::SanctionsTightening) => Lever::SanctionsTightening,
        Ok(pb::Lever::SafeTakeup) => Lever::SafeTakeup,
        Ok(pb::Lever::DefenceSpendingGdpPct) => Lever::DefenceSpendingGdpPct,
        Ok(pb::Lever::GuaranteeSharing) => Lever::GuaranteeSharing,
        Ok(pb::Lever::HorizonYears) => Lever::HorizonYears,
        Ok(pb::Lever::Participation) => Lever::Participation,
        _ => {
            v.add(field, "must be set to a Lever value");
            return None;
        }
    })
}

fn score_error(status: &Status) -> pb::ScoreError {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    pb::ScoreError {
        code: status.code() as i32,
        reason: details
            .error_info()
            .map(|i| i.reason.clone())
            .unwrap_or_default(),
        message: status.message().to_owned(),
        field_violations: details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|f| pb::FieldViolation {
                        field: f.field.clone(),
                        description: f.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A plugin's id, or for a file refused before its id was known, the file's stem.
pub(crate) fn plugin_id_of(status: &leverage_plugin_host::PluginStatus) -> String {
    status.id.clone().unwrap_or_else(|| {
        status
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().trim_start_matches("lib").to_owned())
            .unwrap_or_default()
    })
}

fn plugin_message(
    status: &leverage_plugin_host::PluginStatus,
    calls: &HashMap<(String, String), i64>,
) -> pb::Plugin {
    let (state, state_reason) = match &status.state {
        PluginState::Ready => (pb::PluginState::Ready, String::new()),
        PluginState::Disabled { reason } => (pb::PluginState::Disabled, reason.clone()),
        PluginState::Refused { reason } => (pb::PluginState::Refused, reason.to_string()),
    };
    let id = plugin_id_of(status);
    let mut p = pb::Plugin {
        name: format!("plugins/{id}"),
        id,
        file: status.path.display().to_string(),
        state: state as i32,
        state_reason,
        panic_count: i64::from(status.panics),
        sandboxed: status.sandboxed,
        inline: status.inline,
        crash_count: i64::from(status.crashes),
        ..Default::default()
    };
    if let Some(b) = &status.build {
        p.abi_version = format!("{}.{}", b.abi_major, b.abi_minor);
        p.plugin_api_version = b.api_version.clone();
        p.rustc_version = b.rustc_version.clone();
    }
    if let Some(m) = &status.metadata {
        p.display_name = m.name.clone();
        p.version = m.version.clone();
        p.description = m.description.clone();
        p.build_id = m.build_id.clone();
        p.call_count = calls
            .get(&(m.id.clone(), m.build_id.clone()))
            .copied()
            .unwrap_or(0);
        p.inputs = m
            .inputs
            .iter()
            .map(|i| pb::PluginInput {
                name: i.name.clone(),
                unit: i.unit.clone(),
                description: INPUT_CATALOG
                    .iter()
                    .find(|c| c.name == i.name)
                    .map(|c| c.description.to_owned())
                    .unwrap_or_default(),
            })
            .collect();
        p.components = m
            .components
            .iter()
            .map(|c| pb::PluginComponent {
                name: c.name.clone(),
                unit: c.unit.clone(),
                min: c.min,
                max: c.max,
                description: c.description.clone(),
            })
            .collect();
        p.score_unit = m.score.unit.clone();
        p.score_min = m.score.min;
        p.score_max = m.score.max;
        p.score_description = m.score.description.clone();
        p.parameters = m
            .parameters
            .iter()
            .map(|x| pb::PluginParameter {
                name: x.name.clone(),
                unit: x.unit.clone(),
                default_value: x.default,
                min: x.min,
                max: x.max,
                description: x.description.clone(),
            })
            .collect();
    }
    p
}

type SweepStream = ReceiverStream<Result<pb::SweepScenarioResponse, Status>>;

#[tonic::async_trait]
impl ScoringService for ScoringApi {
    async fn list_plugins(
        &self,
        request: Request<pb::ListPluginsRequest>,
    ) -> Result<Response<pb::ListPluginsResponse>, Status> {
        let r = request.into_inner();
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut all: Vec<pb::Plugin> = self
            .host
            .plugins()
            .iter()
            .map(|s| plugin_message(s, &calls))
            .collect();
        all.sort_by(|a, b| (&a.id, &a.file).cmp(&(&b.id, &b.file)));
        let (plugins, next_page_token, total) =
            leverage_core::paging::paginate(all, r.page_size, &r.page_token, &["plugins"])
                .map_err(error::domain)?;
        Ok(Response::new(pb::ListPluginsResponse {
            plugins,
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn get_plugin(
        &self,
        request: Request<pb::GetPluginRequest>,
    ) -> Result<Response<pb::Plugin>, Status> {
        let r = request.into_inner();
        let id = plugin_id("name", &r.name)?;
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.host
            .plugins()
            .iter()
            .map(|s| plugin_message(s, &calls))
            .find(|p| p.id == id)
            .map(Response::new)
            .ok_or_else(|| error::not_found(&r.name))
    }

    async fn score_scenario(
        &self,
        request: Request<pb::ScoreScenarioRequest>,
    ) -> Result<Response<pb::ScoreScenarioResponse>, Status> {
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let scenario = scenario_in("scenario", r.scenario.as_ref()).map_err(error::domain)?;
        let meta = self.ready("plugin", &r.plugin)?;
        let mut results = self.batch(&snap, &meta, &[Ok(scenario)], deadline).await?;
        let result = results
            .pop()
            .unwrap_or_else(|| Err(Refusal::PluginResultMissing.into_status()))?;
        Ok(Response::new(pb::ScoreScenarioResponse {
            result: Some(result),
        }))
    }

    async fn score_scenarios(
        &self,
        request: Request<pb::ScoreScenariosRequest>,
    ) -> Result<Response<pb::ScoreScenariosResponse>, Status> {
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        if r.scenarios.len() > MAX_BATCH {
            return Err(error::invalid(
                "scenarios",
                format!("at most {MAX_BATCH} scenarios per call"),
            ));
        }
        let meta = self.ready("plugin", &r.plugin)?;
        let inputs: Vec<_> = r
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| scenario_in(&format!("scenarios[{i}]"), Some(s)))
            .collect();
        let outcomes = outcomes(self.batch(&snap, &meta, &inputs, deadline).await?);
        Ok(Response::new(pb::ScoreScenariosResponse { outcomes }))
    }

    async fn compare_scenarios(
        &self,
        request: Request<pb::CompareScenariosRequest>,
    ) -> Result<Response<pb::CompareScenariosResponse>, Status> {
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        if r.plugins.is_empty() {
            return Err(error::invalid("plugins", "name at least one plugin"));
        }
        if r.plugins.len().saturating_mul(r.scenarios.len()) > MAX_BATCH {
            return Err(error::invalid(
                "scenarios",
                format!("plugins x scenarios must not exceed {MAX_BATCH}"),
            ));
        }
        if r.scenarios.is_empty() {
            return Err(error::invalid("scenarios", "give at least one scenario"));
        }
        let mut v = Violations::new();
        for (i, name) in r.plugins.iter().enumerate() {
            match plugin_id(&format!("plugins[{i}]"), name) {
                Err(e) => v.add(format!("plugins[{i}]"), e.message()),
                Ok(_) if r.plugins[..i].contains(name) => {
                    v.add(format!("plugins[{i}]"), format!("{name} is listed twice"))
                }
                Ok(id) if self.host.state(id).is_none() => {
                    return Err(error::not_found(name));
                }
                Ok(_) => {}
            }
        }
        v.into_result().map_err(error::domain)?;
        let inputs: Vec<_> = r
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| scenario_in(&format!("scenarios[{i}]"), Some(s)))
            .collect();
        let mut rows = Vec::new();
        for name in &r.plugins {
            let outcomes = match self.ready("plugins", name) {
                Ok(meta) => match self.batch(&snap, &meta, &inputs, deadline).await {
                    Ok(results) => outcomes(results),
                    Err(status) => every(&inputs, &status),
                },
                Err(status) => every(&inputs, &status),
            };
            rows.push(pb::ComparisonRow {
                plugin: name.clone(),
                outcomes,
            });
        }
        Ok(Response::new(pb::CompareScenariosResponse { rows }))
    }

    type SweepScenarioStream = SweepStream;

    async fn sweep_scenario(
        &self,
        request: Request<pb::SweepScenarioRequest>,
    ) -> Result<Response<Self::SweepScenarioStream>, Status> {
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
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
        let meta = self.ready("plugin", &r.plugin)?;
        let chunk = if r.chunk_size == 0 {
            DEFAULT_CHUNK
        } else {
            (r.chunk_size as usize).min(MAX_CHUNK)
        };
        let ctx = self.context(&snap, base.as_of)?;
        let host = self.host.clone();
        let (tx, rx) = mpsc::channel(4);
        let component_names: Vec<String> = meta.components.iter().map(|c| c.name.clone()).collect();
        let calls = Arc::clone(&self.calls);
        let metrics = self.metrics.clone();
        let health = self.health.clone();
        tracing::info!(plugin = %meta.id, points = total, chunk, "sweep started");
        tokio::spawn(async move {
            let width = INPUT_CATALOG.len();
            let inner = axes.get(1).map_or(1, |(_, v)| v.len());
            let mut done: u64 = 0;
            let mut first = true;
            // Every point sets every swept lever, so one scratch scenario serves them all.
            let mut s = base.clone();
            while done < total {
                let n = (total - done).min(chunk as u64) as usize;
                let mut rows = vec![0.0; n * width];
                let mut levers = Vec::with_capacity(n);
                for (k, row) in rows.chunks_exact_mut(width).enumerate() {
                    let index = done as usize + k;
                    let mut values = Vec::with_capacity(axes.len());
                    for (axis, (lever, vals)) in axes.iter().enumerate() {
                        let at = if axis == 0 {
                            index / inner
                        } else {
                            index % inner
                        };
                        lever.set(&mut s, vals[at]);
                        values.push(vals[at]);
                    }
                    ctx.fill_row(&s, row);
                    levers.push(values);
                }
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
                let scored: Vec<RowResult> = match scored {
                    Ok(s) => s,
                    Err(e) => {
                        health.refresh_plugins(&host).await;
                        let _ = tx.send(Err(error::host(e))).await;
                        return;
                    }
                };
                let points = scored
                    .into_iter()
                    .zip(levers)
                    .enumerate()
                    .map(|(k, (result, lever_values))| match result {
                        Ok(s) => pb::SweepPoint {
                            index: (done as usize + k) as i64,
                            lever_values,
                            score: s.score,
                            components: s.components().to_vec(),
                            error: None,
                        },
                        Err(e) => pb::SweepPoint {
                            index: (done as usize + k) as i64,
                            lever_values,
                            score: 0.0,
                            components: Vec::new(),
                            error: Some(score_error(&error::row(&meta.id, &e))),
                        },
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
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn reload_plugins(
        &self,
        request: Request<pb::ReloadPluginsRequest>,
    ) -> Result<Response<pb::ReloadPluginsResponse>, Status> {
        let actor = auth::principal(&request)?.name;
        let host = self.host.clone();
        let report = tokio::task::spawn_blocking(move || host.reload_dir())
            .await
            .map_err(|e| error::internal(format!("the reload task did not complete: {e}")))?
            .map_err(error::host)?;
        self.health.refresh_plugins(&self.host).await;
        tracing::info!(actor = %actor, added = ?report.added, replaced = ?report.replaced, removed = ?report.removed, refused = report.refused.len(), "plugins reloaded");
        Ok(Response::new(pb::ReloadPluginsResponse {
            loaded: report.added,
            reloaded: report.replaced.into_iter().map(|r| r.id).collect(),
            unchanged: report.unchanged,
            refused: report
                .refused
                .into_iter()
                .map(|r| pb::RefusedPlugin {
                    file: r.path.display().to_string(),
                    reason: r.reason.to_string(),
                })
                .collect(),
            removed: report.removed,
        }))
    }
}

/// The same error as the outcome of every scenario.
fn every(inputs: &[Result<Scenario, DomainError>], status: &Status) -> Vec<pb::ScenarioOutcome> {
    outcomes(inputs.iter().map(|_| Err(status.clone())).collect())
}

fn outcomes(results: Vec<Result<pb::ScoreResult, Status>>) -> Vec<pb::ScenarioOutcome> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| pb::ScenarioOutcome {
            index: i as i32,
            outcome: Some(match r {
                Ok(result) => pb::scenario_outcome::Outcome::Result(result),
                Err(status) => pb::scenario_outcome::Outcome::Error(score_error(&status)),
            }),
        })
        .collect()
}
