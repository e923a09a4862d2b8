//! The plugin host: a directory of plugins, loaded, checked, called and reloaded.
//!
//! This file is the public API and the call path; the registry, the reload pass, the options and
//! the reports live in the modules below, which never import from here.

mod archive;
mod builds;
mod options;
mod registry;
mod reload;
mod report;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use leverage_plugin_api::PluginMetadata;

use archive::Archive;
pub use archive::BuildRecord;
use builds::RetainedBuilds;
pub use options::{HostOptions, INLINE_ALL};
use registry::{Backend, Loaded, Registry};
use reload::DirLoader;
pub use report::{PluginStatus, Refusal, ReloadReport, Replaced};

use crate::error::HostError;
use crate::hash::is_build_name;
use crate::inprocess;
use crate::load::{default_copy_dir, owned_catalog};
use crate::plugin::{Limits, PluginState};
use crate::pool::WorkerPool;
use crate::sandbox;
use crate::scored::Scored;

#[derive(Debug)]
struct Inner {
    loader: DirLoader,
    registry: RwLock<Arc<Registry>>,
    reload_lock: Mutex<()>,
    pool: WorkerPool,
    /// Retained builds that calls named, loaded from the archive.
    retained: RetainedBuilds,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.pool.shutdown();
    }
}

/// What one call chooses for itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallOptions {
    /// Parameter values for this call only, by name: each a declared parameter, once, within its
    /// range. The others keep the configured values. Such a call runs on an instance created
    /// for it with these values (never one shared with other calls).
    pub parameters: Vec<(String, f64)>,
    /// The build to call ([`PluginStatus::build_hash`], 16 lowercase hex digits): the one
    /// serving, or one retained in [`HostOptions::archive_dir`] (loaded from there the first
    /// time a call names it, through the same checks as any plugin file). `None`: the build
    /// serving.
    pub build: Option<String>,
}

/// Loads the plugins of one directory and calls them. Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl PluginHost {
    /// Loads every `*.so` in `dir`, with default options. `catalog` lists the inputs the server
    /// can supply, in the column order of the rows it will pass to [`PluginHost::score`].
    pub fn load_dir(dir: impl AsRef<Path>, catalog: &[&str]) -> Result<PluginHost, HostError> {
        PluginHost::load_dir_with(dir, catalog, HostOptions::default())
    }

    /// Loads every matching library in `dir`. Files that fail a check are listed by
    /// [`PluginHost::plugins`] with their reason; only an unreadable directory or an invalid
    /// catalog is an error.
    pub fn load_dir_with(
        dir: impl AsRef<Path>,
        catalog: &[&str],
        options: HostOptions,
    ) -> Result<PluginHost, HostError> {
        let catalog = owned_catalog(catalog)?;
        let host = PluginHost {
            inner: Arc::new(Inner {
                pool: WorkerPool::new(options.workers, options.max_queued_calls),
                loader: DirLoader {
                    dir: dir.as_ref().to_path_buf(),
                    catalog,
                    limits: Limits {
                        max_panics: options.max_panics.max(1),
                        max_stuck_calls: options.max_stuck_calls.max(1),
                    },
                    copy_dir: options.copy_dir.clone().unwrap_or_else(default_copy_dir),
                    archive: options
                        .archive_dir
                        .clone()
                        .map(|dir| Archive::new(dir, options.builds_kept)),
                    options,
                },
                registry: RwLock::new(Arc::new(Registry::default())),
                reload_lock: Mutex::new(()),
                retained: RetainedBuilds::default(),
            }),
        };
        host.reload_dir()?;
        // The bound may have been lowered since the archive was written.
        if let Some(archive) = &host.inner.loader.archive {
            let registry = host.registry();
            for id in archive.ids() {
                let current = registry.plugins.get(&id).map(|l| l.build.as_str());
                archive.evict(&id, current);
            }
        }
        Ok(host)
    }

    /// The plugin directory.
    pub fn dir(&self) -> &Path {
        &self.inner.loader.dir
    }

    /// The input names, in row column order.
    pub fn catalog(&self) -> &[String] {
        &self.inner.loader.catalog
    }

    fn registry(&self) -> Arc<Registry> {
        Arc::clone(
            &self
                .inner
                .registry
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Every plugin file: loaded plugins with their state, and refused files with the reason.
    /// A file whose new version was refused while the old one still serves appears twice.
    pub fn plugins(&self) -> Vec<PluginStatus> {
        let registry = self.registry();
        let mut list = Vec::new();
        for (path, entry) in &registry.files {
            let loaded = entry
                .loaded
                .as_ref()
                .and_then(|id| registry.plugins.get(id));
            if let Some(loaded) = loaded {
                let mut status = self.status_of(path, loaded, false);
                status.builds = self.builds_of(loaded);
                list.push(status);
            }
            if let Some(reason) = &entry.refusal {
                list.push(PluginStatus {
                    path: path.clone(),
                    id: None,
                    metadata: None,
                    build: entry.build.clone(),
                    state: PluginState::Refused {
                        reason: reason.clone(),
                    },
                    panics: 0,
                    sandboxed: self.inner.loader.sandboxes(path),
                    inline: !self.inner.loader.sandboxes(path) && self.inner.loader.inlines(path),
                    crashes: 0,
                    worker_pids: Vec::new(),
                    build_hash: entry.hash.map(|hash| hash.build()),
                    retained: false,
                    builds: Vec::new(),
                });
            }
        }
        list
    }

    /// The status line of the build serving `plugin_id` (as [`PluginHost::plugins`] lists it,
    /// but with `builds` left empty), read at once: its metadata, state and build agree.
    pub fn status(&self, plugin_id: &str) -> Option<PluginStatus> {
        let registry = self.registry();
        let loaded = registry.plugins.get(plugin_id)?;
        let (path, _) = registry
            .files
            .iter()
            .find(|(_, entry)| entry.loaded.as_deref() == Some(plugin_id))?;
        Some(self.status_of(path, loaded, false))
    }

    /// The status line of a loaded build, its `builds` left empty.
    fn status_of(&self, path: &Path, loaded: &Loaded, retained: bool) -> PluginStatus {
        let (plugin, sandbox) = (&loaded.plugin, loaded.sandbox());
        PluginStatus {
            path: path.to_path_buf(),
            id: Some(plugin.id().to_owned()),
            metadata: Some(Arc::clone(&plugin.metadata)),
            build: Some(plugin.build.clone()),
            state: plugin.state(),
            panics: plugin.panics(),
            sandboxed: sandbox.is_some(),
            inline: matches!(loaded.backend, Backend::Inline(_)),
            crashes: plugin.crashes(),
            worker_pids: sandbox.map(|pool| pool.pids()).unwrap_or_default(),
            build_hash: Some(loaded.build.clone()),
            retained,
            builds: Vec::new(),
        }
    }

    /// The builds of the plugin `current` serves: that one, then the retained ones, newest
    /// first.
    fn builds_of(&self, current: &Loaded) -> Vec<BuildRecord> {
        let metadata = &current.plugin.metadata;
        let mut builds = vec![BuildRecord {
            build: current.build.clone(),
            version: metadata.version.clone(),
            build_id: metadata.build_id.clone(),
            first_loaded: current.first_loaded,
            current: true,
        }];
        if let Some(archive) = &self.inner.loader.archive {
            builds.extend(archive.retained(&metadata.id, Some(&current.build)));
        }
        builds
    }

    /// One build of a plugin, as [`PluginHost::plugins`] lists the one serving: that one when
    /// `build` names it (with its `builds`), else the retained build, loaded from the archive
    /// if no call has loaded it yet (with `retained` set and `builds` empty; its `path` is the
    /// archived file).
    ///
    /// Errors: [`HostError::InvalidRequest`] for a malformed build name,
    /// [`HostError::UnknownBuild`], [`HostError::BuildRefused`] when the archived build fails
    /// a check.
    pub async fn build_status(
        &self,
        plugin_id: &str,
        build: &str,
    ) -> Result<PluginStatus, HostError> {
        let loaded = self.loaded_build(plugin_id, build).await?;
        let registry = self.registry();
        let current = registry
            .files
            .iter()
            .find(|(_, entry)| entry.loaded.as_deref() == Some(plugin_id))
            .filter(|_| {
                registry
                    .plugins
                    .get(plugin_id)
                    .is_some_and(|serving| Arc::ptr_eq(serving, &loaded))
            });
        Ok(match current {
            Some((path, _)) => {
                let mut status = self.status_of(path, &loaded, false);
                status.builds = self.builds_of(&loaded);
                status
            }
            None => {
                let path = self
                    .inner
                    .loader
                    .archive
                    .as_ref()
                    .and_then(|archive| archive.file_of(plugin_id, build))
                    .unwrap_or_default();
                self.status_of(&path, &loaded, true)
            }
        })
    }

    /// The build `build` of `plugin_id`: the one serving, or a retained one (loaded from the
    /// archive on a blocking thread the first time).
    async fn loaded_build(&self, plugin_id: &str, build: &str) -> Result<Arc<Loaded>, HostError> {
        if !is_build_name(build) {
            return Err(HostError::InvalidRequest(format!(
                "`{build}` is not a build name: 16 lowercase hex digits (the start of the \
                 SHA-256 of the plugin file)"
            )));
        }
        if let Some(serving) = self
            .registry()
            .plugins
            .get(plugin_id)
            .filter(|loaded| loaded.build == build)
        {
            return Ok(Arc::clone(serving));
        }
        let host = self.clone();
        let (id, build) = (plugin_id.to_owned(), build.to_owned());
        tokio::task::spawn_blocking(move || {
            let loader = &host.inner.loader;
            host.inner
                .retained
                .get(&id, &build, || loader.load_retained(&id, &build))
        })
        .await
        .map_err(|error| HostError::Internal(format!("loading a retained build failed: {error}")))?
    }

    /// The build a call targets, ready to score.
    async fn call_target(
        &self,
        plugin_id: &str,
        options: &CallOptions,
    ) -> Result<Arc<Loaded>, HostError> {
        match options.build.as_deref() {
            None => self.ready_plugin(plugin_id),
            Some(build) => {
                let loaded = self.loaded_build(plugin_id, build).await?;
                loaded.plugin.ensure_ready()?;
                Ok(loaded)
            }
        }
    }

    /// After `loaded` served a score: archives it if it has not been yet (on a blocking
    /// thread, before the score is returned, so that a score is never cited by a build the
    /// archive could lose).
    async fn served(&self, loaded: &Arc<Loaded>) {
        if !loaded.awaits_archive() {
            return;
        }
        let host = self.clone();
        let loaded = Arc::clone(loaded);
        let archived = tokio::task::spawn_blocking(move || host.archive_served(&loaded)).await;
        if let Err(error) = archived {
            tracing::error!(%error, "archiving a plugin build failed");
        }
    }

    fn archive_served(&self, loaded: &Loaded) {
        let id = loaded.plugin.id();
        let current = self.registry().plugins.get(id).map(|l| l.build.clone());
        let removed = self.inner.loader.archive_served(loaded, current.as_deref());
        let mut forget = removed;
        forget.push(loaded.build.clone());
        self.inner.retained.forget(id, &forget);
    }

    /// The metadata of a loaded plugin.
    pub fn metadata(&self, plugin_id: &str) -> Option<Arc<PluginMetadata>> {
        self.registry()
            .plugins
            .get(plugin_id)
            .map(|loaded| Arc::clone(&loaded.plugin.metadata))
    }

    /// Every parameter of a loaded plugin with the value a call with `overrides` uses: the
    /// override, else the configured value, else the plugin's default. Errors name every bad
    /// override.
    pub fn parameter_values(
        &self,
        plugin_id: &str,
        overrides: &[(String, f64)],
    ) -> Result<Vec<(String, f64)>, HostError> {
        let metadata = self
            .metadata(plugin_id)
            .ok_or_else(|| HostError::UnknownPlugin(plugin_id.to_owned()))?;
        self.parameter_values_of(&metadata, overrides)
    }

    /// [`PluginHost::parameter_values`] of one build, described by `metadata` (builds of a
    /// plugin may declare different parameters; the configuration is the plugin id's).
    pub fn parameter_values_of(
        &self,
        metadata: &PluginMetadata,
        overrides: &[(String, f64)],
    ) -> Result<Vec<(String, f64)>, HostError> {
        let values = metadata
            .parameter_values(self.configuration(&metadata.id), overrides)
            .map_err(HostError::InvalidRequest)?;
        Ok(metadata
            .parameters
            .iter()
            .zip(values)
            .map(|(p, value)| (p.name.clone(), value))
            .collect())
    }

    /// The configuration text the operator gave a plugin (empty when none).
    fn configuration(&self, plugin_id: &str) -> &str {
        self.inner
            .loader
            .options
            .configs
            .get(plugin_id)
            .map_or("", String::as_str)
    }

    /// The configuration text of a call: `None` (the configured instances) unless it sets
    /// parameters, else every parameter's value spelled out.
    fn call_config(
        &self,
        plugin: &crate::plugin::Plugin,
        options: &CallOptions,
    ) -> Result<Option<Arc<str>>, HostError> {
        if options.parameters.is_empty() {
            return Ok(None);
        }
        let values = plugin
            .metadata
            .parameter_values(self.configuration(plugin.id()), &options.parameters)
            .map_err(HostError::InvalidRequest)?;
        Ok(Some(plugin.metadata.config_text(&values).into()))
    }

    /// The state of a loaded plugin.
    pub fn state(&self, plugin_id: &str) -> Option<PluginState> {
        self.registry()
            .plugins
            .get(plugin_id)
            .map(|loaded| loaded.plugin.state())
    }

    /// Looks at the directory again and loads what changed: new files, files whose content
    /// changed (loaded from a fresh private copy, then swapped in atomically: calls already
    /// running finish on the old version), removed files. Unchanged files are not reloaded.
    pub fn reload_dir(&self) -> Result<ReloadReport, HostError> {
        let (report, retired) = {
            let _serial = self
                .inner
                .reload_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let old = self.registry();
            let (next, report) = self.inner.loader.scan(&old)?;
            let retired = std::mem::replace(
                &mut *self
                    .inner
                    .registry
                    .write()
                    .unwrap_or_else(PoisonError::into_inner),
                Arc::new(next),
            );
            (report, retired)
        };
        // Dropping the last hold on a replaced version destroys its idle instances: plugin code,
        // so not under either lock above.
        drop(retired);
        // A retained build serving again is called through the registry from now on.
        for (id, loaded) in &self.registry().plugins {
            self.inner
                .retained
                .forget(id, std::slice::from_ref(&loaded.build));
        }
        for id in &report.added {
            tracing::info!(plugin = %id, "plugin loaded");
        }
        for replaced in &report.replaced {
            tracing::info!(plugin = %replaced.id, old = %replaced.old_version, new = %replaced.new_version, "plugin replaced");
        }
        for id in &report.removed {
            tracing::info!(plugin = %id, "plugin removed");
        }
        for refusal in &report.refused {
            tracing::warn!(path = %refusal.path.display(), reason = %refusal.reason, "plugin refused");
        }
        Ok(report)
    }

    fn ready_plugin(&self, plugin_id: &str) -> Result<Arc<Loaded>, HostError> {
        let loaded = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .plugins
            .get(plugin_id)
            .cloned()
            .ok_or_else(|| HostError::UnknownPlugin(plugin_id.to_owned()))?;
        loaded.plugin.ensure_ready()?;
        Ok(loaded)
    }

    /// Scores `n_rows` scenarios with plugin `plugin_id`.
    ///
    /// `rows` is row-major, [`PluginHost::catalog`] wide; the host passes each plugin only the
    /// columns it declared, in its order. The call runs on the host's bounded thread pool. If it
    /// has not finished after `deadline` (waiting for a thread included), `cancel` is set, the
    /// call is abandoned and [`HostError::DeadlineExceeded`] returned at once; the abandoned
    /// instance is never reused. Dropping the returned future before it completes also sets
    /// `cancel` and abandons the call.
    ///
    /// Each row's outputs are checked (finite, within the declared ranges) before they are
    /// returned; a violation is that row's [`RowError`](crate::RowError).
    ///
    /// A sandboxed plugin's call goes to one of its worker processes instead. At the deadline
    /// (or when the future is dropped, or `cancel` is seen set) that worker is killed with
    /// `SIGKILL` and reaped, and the next call starts a fresh one. A worker that dies during
    /// the call fails it with [`HostError::WorkerCrashed`], naming the signal or exit status.
    ///
    /// A plugin file listed in [`HostOptions::inline`] is called on the calling thread instead,
    /// within this call: no pool hop, and no deadline (see there for what that gives up).
    ///
    /// Must be awaited inside a Tokio runtime with the time driver enabled (for the deadline).
    pub async fn score(
        &self,
        plugin_id: &str,
        rows: Vec<f64>,
        n_rows: usize,
        deadline: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Result<Scored, HostError> {
        let options = CallOptions::default();
        self.score_with(plugin_id, &options, rows, n_rows, deadline, cancel)
            .await
    }

    /// [`PluginHost::score`] with the choices of `options` (parameter values for this call).
    pub async fn score_with(
        &self,
        plugin_id: &str,
        options: &CallOptions,
        rows: Vec<f64>,
        n_rows: usize,
        deadline: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Result<Scored, HostError> {
        let loaded = self.call_target(plugin_id, options).await?;
        let plugin = Arc::clone(&loaded.plugin);
        plugin.check_request(&rows, n_rows)?;
        let config = self.call_config(&plugin, options)?;
        let scored = match &loaded.backend {
            Backend::Sandboxed(pool) => {
                sandbox::score(plugin, pool, config, rows, n_rows, deadline, cancel).await
            }
            Backend::InProcess(backend) => {
                let backend = Arc::clone(backend);
                let pool = &self.inner.pool;
                let work = inprocess::Work {
                    config,
                    rows,
                    n_rows,
                };
                inprocess::score(plugin, backend, pool, work, deadline, cancel).await
            }
            Backend::Inline(backend) => {
                backend.score_blocking(&plugin, config.as_deref(), &rows, n_rows, &cancel)
            }
        };
        if scored.is_ok() {
            self.served(&loaded).await;
        }
        scored
    }

    /// Scores on the calling thread, with no deadline, whatever [`HostOptions::inline`] says
    /// (for the CLI, benchmarks, and callers that bound the call themselves). Same checks and
    /// panic policy as [`PluginHost::score`]; `cancel` may be set from another thread. Nothing
    /// contains a plugin that hangs: the calling thread waits for it. A sandboxed plugin's call is sent to a worker process and waited for (setting
    /// `cancel` kills that worker).
    pub fn score_blocking(
        &self,
        plugin_id: &str,
        rows: &[f64],
        n_rows: usize,
        cancel: &AtomicBool,
    ) -> Result<Scored, HostError> {
        let loaded = self.ready_plugin(plugin_id)?;
        let plugin = &loaded.plugin;
        plugin.check_request(rows, n_rows)?;
        let scored = match &loaded.backend {
            Backend::Sandboxed(pool) => {
                sandbox::score_blocking(plugin, pool, None, rows, n_rows, cancel)
            }
            Backend::InProcess(backend) | Backend::Inline(backend) => {
                backend.score_blocking(plugin, None, rows, n_rows, cancel)
            }
        };
        if scored.is_ok() && loaded.awaits_archive() {
            self.archive_served(&loaded);
        }
        scored
    }
}
