//! The plugin host: a directory of plugins, loaded, checked, called and reloaded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use leverage_plugin_api::PluginMetadata;

use crate::error::{BuildInfo, HostError, RefuseReason};
use crate::inprocess::{self, InProcess};
use crate::load::{LoadFailure, LoadRequest, content_hash, default_copy_dir, owned_catalog};
use crate::plugin::{Limits, Plugin, PluginState, RowResult};
use crate::pool::WorkerPool;
use crate::sandbox::{self, SandboxOptions, SandboxPool};

/// How the host loads and runs plugins.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// Load only files whose name starts with this (e.g. `libleverage_plugin_` when loading
    /// from the server's own directory). Files must always end in the platform's library suffix
    /// (`.so`).
    pub name_prefix: Option<String>,
    /// Panics after which a plugin is disabled. Default 3. For a sandboxed plugin, crashes of
    /// its worker process count too (panics and crashes together).
    pub max_panics: u32,
    /// Calls still running after being abandoned (deadline or cancellation) at which a plugin is
    /// disabled. Default 3.
    pub max_stuck_calls: u32,
    /// Threads running plugin calls at once. Default: the number of CPUs.
    pub workers: usize,
    /// Calls that may wait for a thread before [`HostError::Overloaded`]. Default 1024.
    pub max_queued_calls: usize,
    /// Configuration text per plugin id (`key = value` lines); plugins without an entry get "".
    pub configs: HashMap<String, String>,
    /// Where private copies of plugin files are made before loading. Default: a directory in
    /// the system temp dir. Must not be mounted `noexec`.
    pub copy_dir: Option<PathBuf>,
    /// Which plugin files run in worker processes instead of this one, and how. Default: none.
    pub sandbox: SandboxOptions,
    /// File names of trusted plugins whose calls through [`PluginHost::score`] run on the
    /// calling thread instead of the host's pool; [`INLINE_ALL`] (`*`) names every file. Default:
    /// none.
    ///
    /// It saves the hop to a pool thread and back (two thread wake-ups), which is most of a
    /// small call's cost. The price is containment: nothing bounds an inline call. Its
    /// deadline is not enforced (the call returns when the plugin does; `cancel` still works if
    /// the plugin honours it), and a plugin that hangs holds the calling thread — in an async
    /// server, a runtime worker — for good. A panic is still caught and counted. Choose it only
    /// for plugins trusted to return promptly. Chosen by file name, like sandbox mode, and
    /// ignored for a sandboxed file (its calls go to its worker processes).
    pub inline: BTreeSet<String>,
}

/// [`HostOptions::inline`] entry that runs every in-process plugin on the calling thread.
pub const INLINE_ALL: &str = "*";

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            name_prefix: None,
            max_panics: 3,
            max_stuck_calls: 3,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_queued_calls: 1024,
            configs: HashMap::new(),
            copy_dir: None,
            sandbox: SandboxOptions::default(),
            inline: BTreeSet::new(),
        }
    }
}

/// A plugin file that was not loaded, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The file in the plugin directory.
    pub path: PathBuf,
    /// Why.
    pub reason: RefuseReason,
}

/// One line of [`PluginHost::plugins`]: a loaded plugin or a refused file.
#[derive(Clone, Debug)]
pub struct PluginStatus {
    /// The file in the plugin directory.
    pub path: PathBuf,
    /// The plugin id, once known.
    pub id: Option<String>,
    /// The plugin's metadata, if loaded.
    pub metadata: Option<Arc<PluginMetadata>>,
    /// How it was built, if the header could be read.
    pub build: Option<BuildInfo>,
    /// Ready, disabled or refused.
    pub state: PluginState,
    /// Panics of the loaded version so far.
    pub panics: u32,
    /// Whether the file runs (or, if refused, would run) in worker processes.
    pub sandboxed: bool,
    /// Whether its calls run on the calling thread ([`HostOptions::inline`]).
    pub inline: bool,
    /// Crashes of the loaded version's worker processes so far (sandboxed plugins only).
    pub crashes: u32,
    /// The pids of the loaded version's live worker processes (sandboxed plugins only).
    pub worker_pids: Vec<u32>,
}

/// A plugin whose file changed and whose new version was loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaced {
    /// Plugin id.
    pub id: String,
    /// Version before.
    pub old_version: String,
    /// Version now.
    pub new_version: String,
}

/// What [`PluginHost::reload_dir`] changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReloadReport {
    /// Ids loaded for the first time.
    pub added: Vec<String>,
    /// Ids whose file changed and whose new version now serves calls.
    pub replaced: Vec<Replaced>,
    /// Ids no longer served (file removed, or its new version has another id).
    pub removed: Vec<String>,
    /// Ids whose file did not change.
    pub unchanged: Vec<String>,
    /// Files refused in this pass. A refused new version of a loaded plugin leaves the old
    /// version serving.
    pub refused: Vec<Refusal>,
}

impl ReloadReport {
    /// Whether anything is served differently.
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.replaced.is_empty() && self.removed.is_empty())
    }
}

#[derive(Clone, Debug)]
struct FileEntry {
    hash: Option<u64>,
    loaded: Option<String>,
    refusal: Option<RefuseReason>,
    build: Option<BuildInfo>,
}

#[derive(Debug, Default)]
struct Registry {
    plugins: BTreeMap<String, Arc<Loaded>>,
    files: BTreeMap<PathBuf, FileEntry>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    catalog: Vec<String>,
    options: HostOptions,
    limits: Limits,
    copy_dir: PathBuf,
    registry: RwLock<Arc<Registry>>,
    reload_lock: Mutex<()>,
    pool: WorkerPool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.pool.shutdown();
    }
}

/// Loads the plugins of one directory and calls them. Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

/// One loaded plugin version and the backend that runs it.
#[derive(Debug)]
struct Loaded {
    plugin: Arc<Plugin>,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    /// Called on the host's pool.
    InProcess(Arc<InProcess>),
    /// Called on the calling thread ([`HostOptions::inline`]).
    Inline(Arc<InProcess>),
    Sandboxed(SandboxPool),
}

impl Loaded {
    fn sandbox(&self) -> Option<&SandboxPool> {
        match &self.backend {
            Backend::Sandboxed(pool) => Some(pool),
            Backend::InProcess(_) | Backend::Inline(_) => None,
        }
    }
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
                dir: dir.as_ref().to_path_buf(),
                catalog,
                limits: Limits {
                    max_panics: options.max_panics.max(1),
                    max_stuck_calls: options.max_stuck_calls.max(1),
                },
                copy_dir: options.copy_dir.clone().unwrap_or_else(default_copy_dir),
                pool: WorkerPool::new(options.workers, options.max_queued_calls),
                options,
                registry: RwLock::new(Arc::new(Registry::default())),
                reload_lock: Mutex::new(()),
            }),
        };
        host.reload_dir()?;
        Ok(host)
    }

    /// The plugin directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The input names, in row column order.
    pub fn catalog(&self) -> &[String] {
        &self.inner.catalog
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
                let (plugin, sandbox) = (&loaded.plugin, loaded.sandbox());
                list.push(PluginStatus {
                    path: path.clone(),
                    id: Some(plugin.id().to_owned()),
                    metadata: Some(Arc::clone(&plugin.metadata)),
                    build: Some(plugin.build.clone()),
                    state: plugin.state(),
                    panics: plugin.panics(),
                    sandboxed: sandbox.is_some(),
                    inline: matches!(loaded.backend, Backend::Inline(_)),
                    crashes: plugin.crashes(),
                    worker_pids: sandbox.map(|pool| pool.pids()).unwrap_or_default(),
                });
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
                    sandboxed: self.sandboxes(path),
                    inline: !self.sandboxes(path) && self.inlines(path),
                    crashes: 0,
                    worker_pids: Vec::new(),
                });
            }
        }
        list
    }

    /// The metadata of a loaded plugin.
    pub fn metadata(&self, plugin_id: &str) -> Option<Arc<PluginMetadata>> {
        self.registry()
            .plugins
            .get(plugin_id)
            .map(|loaded| Arc::clone(&loaded.plugin.metadata))
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
            let (next, report) = self.scan(&old)?;
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

    fn list_files(&self) -> Result<Vec<PathBuf>, HostError> {
        let dir = &self.inner.dir;
        let io = |source| HostError::Io {
            path: dir.clone(),
            source,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let prefix_ok = self
                .inner
                .options
                .name_prefix
                .as_deref()
                .is_none_or(|prefix| name.starts_with(prefix));
            let path = entry.path();
            if prefix_ok && name.ends_with(std::env::consts::DLL_SUFFIX) && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    fn scan(&self, old: &Registry) -> Result<(Registry, ReloadReport), HostError> {
        let mut next = Registry::default();
        let mut report = ReloadReport::default();
        for path in self.list_files()? {
            let previous = old.files.get(&path);
            let previous_plugin = previous
                .and_then(|entry| entry.loaded.as_ref())
                .and_then(|id| old.plugins.get(id))
                .cloned();
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(error) => {
                    let reason = RefuseReason::Io {
                        error: error.to_string(),
                    };
                    refuse(
                        &mut next,
                        &mut report,
                        path,
                        None,
                        reason,
                        None,
                        previous_plugin,
                    );
                    continue;
                }
            };
            let hash = content_hash(&bytes);
            if let Some(entry) = previous.filter(|entry| entry.hash == Some(hash)) {
                match previous_plugin {
                    Some(plugin) => {
                        let refusal = entry.refusal.clone();
                        admit(&mut next, &mut report, path.clone(), plugin, refusal, None);
                        // Keep the entry as it was: its hash may be that of a newer file that
                        // was refused, which must not be retried until it changes again.
                        if let Some(slot) = next.files.get_mut(&path).filter(|s| s.loaded.is_some())
                        {
                            *slot = entry.clone();
                        }
                    }
                    None => {
                        next.files.insert(path, entry.clone());
                    }
                }
                continue;
            }
            match self.load(&path, &bytes) {
                Ok(loaded) => {
                    admit(
                        &mut next,
                        &mut report,
                        path,
                        Arc::new(loaded),
                        None,
                        Some(previous_plugin),
                    );
                }
                Err(failure) => {
                    refuse(
                        &mut next,
                        &mut report,
                        path,
                        Some(hash),
                        failure.reason,
                        failure.build,
                        previous_plugin,
                    );
                }
            }
        }
        for id in old.plugins.keys() {
            if !next.plugins.contains_key(id) {
                report.removed.push(id.clone());
            }
        }
        Ok((next, report))
    }

    /// Whether the calls of the in-process plugin at `path` run on the calling thread.
    fn inlines(&self, path: &Path) -> bool {
        let inline = &self.inner.options.inline;
        path.file_name().is_some_and(|name| {
            inline.contains(INLINE_ALL) || inline.contains(name.to_string_lossy().as_ref())
        })
    }

    /// Whether the file at `path` is to run in worker processes.
    fn sandboxes(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|name| self.inner.options.sandbox.covers(&name.to_string_lossy()))
    }

    /// Loads the file at `path` (content `bytes`) with the backend its name calls for.
    fn load(&self, path: &Path, bytes: &[u8]) -> Result<Loaded, Box<LoadFailure>> {
        let inner = &self.inner;
        let config_for = |id: &str| inner.options.configs.get(id).cloned().unwrap_or_default();
        let request = LoadRequest {
            path,
            bytes,
            content_hash: content_hash(bytes),
            catalog: &inner.catalog,
            config_for: &config_for,
            limits: inner.limits,
            copy_dir: &inner.copy_dir,
        };
        let sandbox = &inner.options.sandbox;
        let (plugin, backend) = if self.sandboxes(path) {
            let (plugin, pool) = sandbox::load(&request, sandbox, inner.options.max_queued_calls)?;
            (plugin, Backend::Sandboxed(pool))
        } else {
            let (plugin, backend) = inprocess::load(&request, sandbox)?;
            let backend = Arc::new(backend);
            if self.inlines(path) {
                (plugin, Backend::Inline(backend))
            } else {
                (plugin, Backend::InProcess(backend))
            }
        };
        Ok(Loaded {
            plugin: Arc::new(plugin),
            backend,
        })
    }
}

/// Records a refusal of `path`; if an earlier version of it is loaded, that one keeps serving.
fn refuse(
    next: &mut Registry,
    report: &mut ReloadReport,
    path: PathBuf,
    hash: Option<u64>,
    reason: RefuseReason,
    build: Option<BuildInfo>,
    previous_plugin: Option<Arc<Loaded>>,
) {
    report.refused.push(Refusal {
        path: path.clone(),
        reason: reason.clone(),
    });
    match previous_plugin {
        // Keep serving the version that worked.
        Some(plugin) => {
            admit(next, report, path.clone(), plugin, Some(reason), None);
            // Remember the refused content (not to retry it until it changes again) and
            // how it was built; `None` after a read error, so that it is retried.
            if let Some(entry) = next.files.get_mut(&path) {
                entry.hash = hash;
                entry.build = build;
            }
        }
        None => {
            next.files.insert(
                path,
                FileEntry {
                    hash,
                    loaded: None,
                    refusal: Some(reason),
                    build,
                },
            );
        }
    }
}

/// Adds `plugin` from `path` to `next`, unless its id is taken. `replacing` is `Some` for a
/// fresh load (with the version it replaces, if any), `None` for a carried-over version.
fn admit(
    next: &mut Registry,
    report: &mut ReloadReport,
    path: PathBuf,
    loaded: Arc<Loaded>,
    refusal: Option<RefuseReason>,
    replacing: Option<Option<Arc<Loaded>>>,
) {
    let plugin = &loaded.plugin;
    let id = plugin.id().to_owned();
    if let Some(other) = next.plugins.get(&id) {
        let reason = RefuseReason::DuplicateId {
            id,
            other: other.plugin.path.clone(),
        };
        report.refused.push(Refusal {
            path: path.clone(),
            reason: reason.clone(),
        });
        next.files.insert(
            path,
            FileEntry {
                hash: Some(plugin.content_hash),
                loaded: None,
                refusal: Some(reason),
                build: Some(plugin.build.clone()),
            },
        );
        return;
    }
    match replacing {
        None => report.unchanged.push(id.clone()),
        Some(Some(old)) if old.plugin.id() == id => report.replaced.push(Replaced {
            id: id.clone(),
            old_version: old.plugin.metadata.version.clone(),
            new_version: plugin.metadata.version.clone(),
        }),
        Some(_) => report.added.push(id.clone()),
    }
    next.files.insert(
        path,
        FileEntry {
            hash: Some(plugin.content_hash),
            loaded: Some(id.clone()),
            refusal,
            build: Some(plugin.build.clone()),
        },
    );
    next.plugins.insert(id, loaded);
}

impl PluginHost {
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
    ) -> Result<Vec<RowResult>, HostError> {
        let loaded = self.ready_plugin(plugin_id)?;
        let plugin = Arc::clone(&loaded.plugin);
        plugin.check_request(&rows, n_rows)?;
        match &loaded.backend {
            Backend::Sandboxed(pool) => {
                sandbox::score(plugin, pool, rows, n_rows, deadline, cancel).await
            }
            Backend::InProcess(backend) => {
                let backend = Arc::clone(backend);
                let pool = &self.inner.pool;
                inprocess::score(plugin, backend, pool, rows, n_rows, deadline, cancel).await
            }
            Backend::Inline(backend) => backend.score_blocking(&plugin, &rows, n_rows, &cancel),
        }
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
    ) -> Result<Vec<RowResult>, HostError> {
        let loaded = self.ready_plugin(plugin_id)?;
        let plugin = &loaded.plugin;
        plugin.check_request(rows, n_rows)?;
        match &loaded.backend {
            Backend::Sandboxed(pool) => sandbox::score_blocking(plugin, pool, rows, n_rows, cancel),
            Backend::InProcess(backend) | Backend::Inline(backend) => {
                backend.score_blocking(plugin, rows, n_rows, cancel)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_report_changed_ignores_unchanged_and_refused() {
        let mut report = ReloadReport {
            unchanged: vec!["a".to_owned()],
            ..ReloadReport::default()
        };
        assert!(!report.changed());
        report.removed.push("b".to_owned());
        assert!(report.changed());
    }
}
