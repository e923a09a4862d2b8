//! ScoringService: scenarios in, scores out, through the plugin host.
//!
//! A handler validates the scenarios (naming every bad field), derives the dataset context for
//! each as-of date once, fills one row of named inputs per scenario, and hands the rows to the
//! host in one batch. Sweeps stream chunks in index order and stop when the client goes away.
//!
//! `inputs` reads requests, `replies` builds answers, `sweep` runs streamed sweeps; this module
//! holds the handlers and what they share (plugin readiness, deadlines, dataset contexts).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leverage_core::scenario::{Context, INPUT_CATALOG, Scenario};
use leverage_core::{Date, DomainError, Snapshot, Violations};
use leverage_plugin_host::{CallOptions, HostError, PluginHost, PluginMetadata, PluginState};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_server::ScoringService;
use leverage_store::Repository;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth;
use crate::error::{self, Refusal};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::{traces, versions};

mod inputs;
mod replies;
mod sweep;

pub use inputs::scenario_in;
use inputs::{Requested, Undeclared, own_values, parameters_in, plugin_name, requested_in};
pub(crate) use replies::plugin_id_of;
use replies::{every, outcomes, plugin_message, refused_build};

/// Most scenarios in one `ScoreScenarios` call, and plugins × scenarios in a comparison.
pub const MAX_BATCH: usize = 10_000;
pub use sweep::MAX_SWEEP_POINTS;

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
pub(super) type CallCounts = Mutex<HashMap<(String, String), i64>>;

pub(super) fn count_calls(calls: &CallCounts, meta: &PluginMetadata, rows: usize) {
    let mut calls = calls.lock().unwrap_or_else(|p| p.into_inner());
    // Found by reference first (a handful of builds): nothing is allocated per call once a
    // build has scored.
    match calls
        .iter_mut()
        .find(|((id, build), _)| *id == meta.id && *build == meta.build_id)
    {
        Some((_, n)) => *n += rows as i64,
        None => {
            calls.insert((meta.id.clone(), meta.build_id.clone()), rows as i64);
        }
    }
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

    /// The plugin build a request names (`plugins/{id}`, the build serving now, or
    /// `plugins/{id}@{build}`), ready to score.
    async fn ready(&self, field: &str, name: &str) -> Result<Target, Status> {
        let named = plugin_name(field, name)?;
        let status = match named.build {
            None => self.host.status(named.id),
            Some(build) => match self.host.build_status(named.id, build).await {
                Ok(status) => Some(status),
                Err(HostError::UnknownBuild { .. }) => None,
                Err(HostError::BuildRefused { reason, .. }) => {
                    return Err(Refusal::PluginRefused {
                        name: name.to_owned(),
                        reason: reason.to_string(),
                    }
                    .into_status());
                }
                Err(e) => return Err(error::host(e)),
            },
        };
        let status = status.ok_or_else(|| error::not_found(name))?;
        match status.state {
            PluginState::Disabled { reason } => Err(Refusal::PluginDisabled {
                name: name.to_owned(),
                reason,
            }
            .into_status()),
            PluginState::Refused { reason } => Err(Refusal::PluginRefused {
                name: name.to_owned(),
                reason: reason.to_string(),
            }
            .into_status()),
            PluginState::Ready => Ok(Target {
                meta: status.metadata.ok_or_else(|| error::not_found(name))?,
                build: status.build_hash.unwrap_or_default(),
            }),
        }
    }

    /// A plugin's message with each parameter's `default_value` the value calls use when they
    /// set none: the server's configured value, or else the plugin's default.
    fn with_configured_values(&self, plugin: pb::Plugin) -> pb::Plugin {
        let meta = self.host.metadata(&plugin.id);
        self.with_values_of(plugin, meta.as_deref())
    }

    /// [`ScoringApi::with_configured_values`] of one build, described by `meta`.
    fn with_values_of(&self, mut plugin: pb::Plugin, meta: Option<&PluginMetadata>) -> pb::Plugin {
        if plugin.state != pb::PluginState::Refused as i32
            && let Some(meta) = meta
            && let Ok(values) = self.host.parameter_values_of(meta, &[])
        {
            for (p, (_, value)) in plugin.parameters.iter_mut().zip(values) {
                p.default_value = value;
            }
        }
        plugin
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

    /// Rows for valid scenarios: the catalog's inputs, then the plugin's own (`own`, as many per
    /// scenario as the plugin declares); and the context each row was filled from, whose
    /// sources the result cites.
    fn rows(
        &self,
        snap: &Arc<Snapshot>,
        scenarios: &[(&Scenario, Vec<f64>)],
        own: usize,
    ) -> Result<(Vec<f64>, Vec<Arc<Context>>), Status> {
        let catalog = INPUT_CATALOG.len();
        let width = catalog + own;
        let mut rows = vec![0.0; scenarios.len() * width];
        let mut contexts = Vec::with_capacity(scenarios.len());
        for ((s, values), row) in scenarios.iter().zip(rows.chunks_exact_mut(width)) {
            let (levers, own) = row.split_at_mut(catalog);
            let ctx = self.context(snap, s.as_of)?;
            ctx.fill_row(s, levers);
            own.copy_from_slice(values);
            contexts.push(ctx);
        }
        Ok((rows, contexts))
    }

    /// The choices of a call with one plugin: its parameter values (checked against the
    /// plugin's declaration) and what to do with inputs it does not declare.
    fn call_for(
        &self,
        target: &Target,
        parameters: &[pb::ParameterValue],
        undeclared: Undeclared,
    ) -> Result<Call, Status> {
        let meta = &target.meta;
        let overrides = parameters_in(meta, parameters).map_err(error::domain)?;
        let used = self
            .host
            .parameter_values_of(meta, &overrides)
            .map_err(error::host)?;
        Ok(Call {
            parameters: meta
                .parameters
                .iter()
                .zip(used)
                .map(|(declared, (name, value))| pb::NamedValue {
                    name,
                    value,
                    unit: declared.unit.clone(),
                    source: String::new(),
                })
                .collect(),
            // The call goes to the build whose metadata built its rows, even if a reload
            // replaces it meanwhile: the result cites the build that scored.
            options: CallOptions {
                parameters: overrides,
                build: Some(target.build.clone()),
            },
            undeclared,
        })
    }

    /// Scores a batch with one plugin: invalid scenarios get their own error outcome. A
    /// scenario's values for the plugin's own inputs are checked here, against this plugin;
    /// `prefix(i)` names scenario `i` in the request (e.g. `scenarios[3]`).
    async fn batch(
        &self,
        snap: &Arc<Snapshot>,
        meta: &PluginMetadata,
        inputs: &[Result<Requested, DomainError>],
        prefix: &(dyn Fn(usize) -> String + Sync),
        call: &Call,
        deadline: Duration,
    ) -> Result<Vec<Result<pb::ScoreResult, Status>>, Status> {
        let checked: Vec<Result<(&Scenario, Vec<f64>), DomainError>> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let input = input.as_ref().map_err(Clone::clone)?;
                let own = own_values(meta, &input.own, call.undeclared, || prefix(i))?;
                Ok((&input.scenario, own))
            })
            .collect();
        let valid: Vec<(&Scenario, Vec<f64>)> = checked
            .iter()
            .filter_map(|c| c.as_ref().ok().cloned())
            .collect();
        let (rows, contexts) = self.rows(snap, &valid, meta.own_inputs.len())?;
        let cancel = Arc::new(AtomicBool::new(false));
        let scored = if valid.is_empty() {
            leverage_plugin_host::Scored::default()
        } else {
            let started = std::time::Instant::now();
            let scored = self
                .host
                .score_with(
                    &meta.id,
                    &call.options,
                    rows.clone(),
                    valid.len(),
                    deadline,
                    cancel,
                )
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
        let width = INPUT_CATALOG.len() + meta.own_inputs.len();
        let version = snap.revision().to_string();
        let mut scored = scored
            .iter()
            .zip(valid.iter().zip(&contexts))
            .zip(rows.chunks_exact(width));
        let mut out = Vec::with_capacity(inputs.len());
        for input in checked {
            out.push(match input {
                Err(e) => Err(error::domain(e)),
                Ok(_) => match scored.next() {
                    Some(((Ok(score), ((s, _), ctx)), row)) => Ok(replies::score_result(
                        meta,
                        &version,
                        s,
                        ctx,
                        row,
                        score,
                        &call.parameters,
                        call.options.build.as_deref().unwrap_or_default(),
                    )),
                    Some(((Err(e), _), _)) => Err(error::row(&meta.id, e)),
                    None => Err(Refusal::PluginResultMissing.into_status()),
                },
            });
        }
        Ok(out)
    }
}

/// A plugin build a request names (see [`ScoringApi::ready`]).
#[derive(Debug)]
struct Target {
    meta: Arc<PluginMetadata>,
    /// Plugin.build.
    build: String,
}

/// The choices of a call with one plugin (see [`ScoringApi::call_for`]).
#[derive(Debug)]
struct Call {
    options: CallOptions,
    /// Every parameter with the value the call uses, as replies list them.
    parameters: Vec<pb::NamedValue>,
    undeclared: Undeclared,
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
            .map(|s| self.with_configured_values(plugin_message(s, &calls)))
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
        traces::name_plugin(&request, |r| r.name.clone());
        let r = request.into_inner();
        let named = plugin_name("name", &r.name)?;
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(build) = named.build else {
            return self
                .host
                .plugins()
                .iter()
                .map(|s| plugin_message(s, &calls))
                .find(|p| p.id == named.id)
                .map(|p| Response::new(self.with_configured_values(p)))
                .ok_or_else(|| error::not_found(&r.name));
        };
        match self.host.build_status(named.id, build).await {
            Ok(status) => {
                let plugin = pb::Plugin {
                    name: r.name.clone(),
                    ..plugin_message(&status, &calls)
                };
                Ok(Response::new(
                    self.with_values_of(plugin, status.metadata.as_deref()),
                ))
            }
            Err(HostError::UnknownBuild { .. }) => Err(error::not_found(&r.name)),
            Err(HostError::BuildRefused { reason, .. }) => Ok(Response::new(refused_build(
                &r.name, named.id, build, &reason,
            ))),
            Err(e) => Err(error::host(e)),
        }
    }

    async fn score_scenario(
        &self,
        request: Request<pb::ScoreScenarioRequest>,
    ) -> Result<Response<pb::ScoreScenarioResponse>, Status> {
        traces::name_plugin(&request, |r| r.plugin.clone());
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let scenario = requested_in("scenario", r.scenario.as_ref()).map_err(error::domain)?;
        let target = self.ready("plugin", &r.plugin).await?;
        let call = self.call_for(&target, &r.parameters, Undeclared::Refuse)?;
        let prefix = |_: usize| "scenario".to_owned();
        let mut results = self
            .batch(
                &snap,
                &target.meta,
                &[Ok(scenario)],
                &prefix,
                &call,
                deadline,
            )
            .await?;
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
        traces::name_plugin(&request, |r| r.plugin.clone());
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        if r.scenarios.len() > MAX_BATCH {
            return Err(error::invalid(
                "scenarios",
                format!("at most {MAX_BATCH} scenarios per call"),
            ));
        }
        let target = self.ready("plugin", &r.plugin).await?;
        let call = self.call_for(&target, &r.parameters, Undeclared::Refuse)?;
        let inputs: Vec<_> = r
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| requested_in(&format!("scenarios[{i}]"), Some(s)))
            .collect();
        let prefix = |i: usize| format!("scenarios[{i}]");
        let outcomes = outcomes(
            self.batch(&snap, &target.meta, &inputs, &prefix, &call, deadline)
                .await?,
        );
        Ok(Response::new(pb::ScoreScenariosResponse { outcomes }))
    }

    async fn compare_scenarios(
        &self,
        request: Request<pb::CompareScenariosRequest>,
    ) -> Result<Response<pb::CompareScenariosResponse>, Status> {
        traces::name_plugin(&request, |r| r.plugins.join(","));
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
            match plugin_name(&format!("plugins[{i}]"), name) {
                Err(e) => v.add(format!("plugins[{i}]"), e.message()),
                Ok(_) if r.plugins[..i].contains(name) => {
                    v.add(format!("plugins[{i}]"), format!("{name} is listed twice"))
                }
                Ok(_) => {}
            }
        }
        v.into_result().map_err(error::domain)?;
        let mut metas: Vec<Result<Target, Status>> = Vec::with_capacity(r.plugins.len());
        for name in &r.plugins {
            let target = self.ready("plugins", name).await;
            // A name that matches no plugin (or build) fails the call; a plugin that cannot
            // score fails its row.
            if let Err(status) = &target
                && status.code() == tonic::Code::NotFound
            {
                return Err(status.clone());
            }
            metas.push(target);
        }
        // A value for an input that none of the compared plugins declares is a mistake in
        // every row; each plugin takes the values it declares and leaves the others'.
        let inputs: Vec<_> = r
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let requested = requested_in(&format!("scenarios[{i}]"), Some(s))?;
                let mut v = Violations::new();
                for (k, input) in requested.own.iter().enumerate() {
                    let declared = metas
                        .iter()
                        .flatten()
                        .any(|m| m.meta.own_input(&input.name).is_some());
                    if !declared {
                        v.add(
                            format!("scenarios[{i}].inputs[{k}].name"),
                            format!(
                                "`{}` is not an input of any of the compared plugins",
                                input.name
                            ),
                        );
                    }
                }
                v.finish(|| requested)
            })
            .collect();
        let prefix = |i: usize| format!("scenarios[{i}]");
        let mut rows = Vec::new();
        for (name, meta) in r.plugins.iter().zip(metas) {
            let batch = async {
                let target = meta?;
                let call = self.call_for(&target, &[], Undeclared::Skip)?;
                self.batch(&snap, &target.meta, &inputs, &prefix, &call, deadline)
                    .await
            };
            let outcomes = match batch.await {
                Ok(results) => outcomes(results),
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
        traces::name_plugin(&request, |r| r.plugin.clone());
        let deadline = self.deadline(&request);
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        // The plan needs the plugin for the axes over its own inputs; the request's own mistakes
        // still come before the plugin's absence.
        let target = self.ready("plugin", &r.plugin).await;
        let plan = sweep::Plan::from_request(&r, target.as_ref().ok().map(|t| &*t.meta))?;
        let target = target?;
        let call = self.call_for(&target, &r.parameters, Undeclared::Refuse)?;
        let ctx = self.context(&snap, plan.base.as_of)?;
        let stream = sweep::start(
            plan,
            sweep::Scorer {
                host: self.host.clone(),
                meta: target.meta,
                options: call.options,
                parameters: call.parameters,
                ctx,
                deadline,
                calls: Arc::clone(&self.calls),
                metrics: self.metrics.clone(),
                health: self.health.clone(),
            },
        );
        Ok(Response::new(stream))
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
