//! Standard gRPC health that tells the truth about what each service depends on:
//! - `""` (the server): SERVING until shutdown begins;
//! - the four data services: SERVING while they can answer reads, which come from the snapshot
//!   in memory, whether or not the store answers;
//! - `writes/{service}` for each data service: SERVING while the store answers a probe (a fresh
//!   connection reading the newest revision, every [`STORE_PROBE_EVERY`]), NOT_SERVING while it
//!   does not: the service is *degraded*, answering reads from the last dataset version it
//!   holds and refusing writes with UNAVAILABLE. Readiness belongs on `""` or a data service,
//!   not on these: a database outage must not take every replica out of its load balancer,
//!   which would stop the reads too;
//! - `leverage.v1.ScoringService`: SERVING while at least one plugin can score;
//! - `plugins/{id}`, one per plugin file: SERVING while that plugin is ready, NOT_SERVING when
//!   it is disabled or its file was refused (the reason is in `ListPlugins`).
//!
//! Plugin states change on a failed call (a panic or a stuck call can disable a plugin) and on a
//! reload; the scoring service refreshes health after each. Once shutdown begins, everything is
//! NOT_SERVING and stays so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use leverage_plugin_host::{PluginHost, PluginState};
use leverage_store::Repository;
use tokio::sync::Mutex;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::SERVICES;

/// How often the store is probed.
pub const STORE_PROBE_EVERY: Duration = Duration::from_secs(2);

/// The services whose answers come from the store.
fn data_services() -> impl Iterator<Item = &'static str> {
    SERVICES
        .into_iter()
        .filter(|s| *s != crate::scoring::SERVICE_NAME)
}

#[derive(Clone, Debug)]
pub struct Health {
    reporter: HealthReporter,
    state: Arc<Mutex<Reported>>,
}

/// What was last reported, so that only changes are logged and drained stays drained.
#[derive(Debug, Default)]
struct Reported {
    draining: bool,
    store_ok: Option<bool>,
    plugins: BTreeMap<String, bool>,
    scoring: Option<bool>,
}

fn serving(ok: bool) -> ServingStatus {
    if ok {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

impl Health {
    pub fn new(reporter: HealthReporter) -> Self {
        Self {
            reporter,
            state: Arc::new(Mutex::new(Reported::default())),
        }
    }

    /// Everything SERVING but what the first refreshes find otherwise.
    pub async fn start(&self, host: &PluginHost, repo: &Arc<Repository>) {
        self.reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
        for name in data_services() {
            self.reporter
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        self.refresh_store(probe(repo).await).await;
        self.refresh_plugins(host).await;
    }

    /// Reports the store's state after a probe.
    pub async fn refresh_store(&self, probe: Result<(), String>) {
        let mut state = self.state.lock().await;
        if state.draining {
            return;
        }
        let ok = probe.is_ok();
        if state.store_ok != Some(ok) {
            match &probe {
                Ok(()) if state.store_ok.is_some() => {
                    tracing::info!("the store answers again: writes are SERVING");
                }
                Ok(()) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the store does not answer: degraded, reads from the last snapshot, writes/* NOT_SERVING");
                }
            }
            for name in data_services() {
                self.reporter
                    .set_service_status(&writes_entry(name), serving(ok))
                    .await;
            }
            state.store_ok = Some(ok);
        }
    }

    /// Reports each plugin's state, and the scoring service's.
    pub async fn refresh_plugins(&self, host: &PluginHost) {
        let mut now = BTreeMap::new();
        for status in host.plugins() {
            let id = crate::scoring::plugin_id_of(&status);
            let ready = matches!(status.state, PluginState::Ready);
            // Two files may claim one id (the second is refused): the id is ready if either is.
            *now.entry(id).or_insert(false) |= ready;
        }
        let mut state = self.state.lock().await;
        if state.draining {
            return;
        }
        for (id, ready) in &now {
            if state.plugins.get(id) != Some(ready) {
                if !ready {
                    tracing::warn!(plugin = %id, "plugin is not ready: health plugins/{id} is NOT_SERVING");
                }
                self.reporter
                    .set_service_status(&format!("plugins/{id}"), serving(*ready))
                    .await;
            }
        }
        let mut reporter = self.reporter.clone();
        for gone in state.plugins.keys().filter(|id| !now.contains_key(*id)) {
            reporter
                .clear_service_status(&format!("plugins/{gone}"))
                .await;
        }
        let scoring = now.values().any(|ready| *ready);
        if state.scoring != Some(scoring) {
            if !scoring {
                tracing::warn!("no plugin can score: ScoringService is NOT_SERVING");
            }
            self.reporter
                .set_service_status(crate::scoring::SERVICE_NAME, serving(scoring))
                .await;
            state.scoring = Some(scoring);
        }
        state.plugins = now;
    }

    /// Shutdown: everything NOT_SERVING, for good.
    pub async fn drain(&self) {
        let mut state = self.state.lock().await;
        state.draining = true;
        for name in SERVICES {
            self.reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        for name in data_services() {
            self.reporter
                .set_service_status(&writes_entry(name), ServingStatus::NotServing)
                .await;
        }
        for id in state.plugins.keys() {
            self.reporter
                .set_service_status(&format!("plugins/{id}"), ServingStatus::NotServing)
                .await;
        }
        self.reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    }

    /// Probes the store every [`STORE_PROBE_EVERY`] until `stop`.
    pub async fn watch_store(self, repo: Arc<Repository>, stop: Arc<tokio::sync::Notify>) {
        loop {
            tokio::select! {
                () = stop.notified() => return,
                () = tokio::time::sleep(STORE_PROBE_EVERY) => {}
            }
            self.refresh_store(probe(&repo).await).await;
        }
    }
}

/// The health entry that says whether `service` takes writes.
pub fn writes_entry(service: &str) -> String {
    format!("writes/{service}")
}

/// Whether the store answers now, asked off the async workers.
async fn probe(repo: &Arc<Repository>) -> Result<(), String> {
    let r = Arc::clone(repo);
    tokio::task::spawn_blocking(move || r.store().probe())
        .await
        .map_err(|e| e.to_string())
        .and_then(|p| p.map(|_| ()).map_err(|e| e.to_string()))
}
