//! The registry: which plugin version serves each id, and what is known of each file.
//!
//! A registry is never changed once served: a reload builds the next one beside it and the host
//! swaps the two whole, so that a call sees one consistent set of plugins and a replaced version
//! lives on for the calls already holding it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use super::report::{Refusal, ReloadReport, Replaced};
use crate::error::{BuildInfo, RefuseReason};
use crate::hash::FileHash;
use crate::inprocess::InProcess;
use crate::plugin::Plugin;
use crate::sandbox::SandboxPool;

/// What is known of one file in the directory.
#[derive(Clone, Debug)]
pub(super) struct FileEntry {
    pub(super) hash: Option<FileHash>,
    pub(super) loaded: Option<String>,
    pub(super) refusal: Option<RefuseReason>,
    pub(super) build: Option<BuildInfo>,
}

/// The plugins served, by id, and the files seen, by path.
#[derive(Debug, Default)]
pub(super) struct Registry {
    pub(super) plugins: BTreeMap<String, Arc<Loaded>>,
    pub(super) files: BTreeMap<PathBuf, FileEntry>,
}

/// One loaded plugin version and the backend that runs it.
#[derive(Debug)]
pub(super) struct Loaded {
    pub(super) plugin: Arc<Plugin>,
    pub(super) backend: Backend,
    /// The build's name (the first 16 hex digits of the file's SHA-256).
    pub(super) build: String,
    /// The name of the file in the plugin directory it came from, which chose its backend.
    pub(super) file_name: String,
    /// When a host first loaded this build (the archive remembers it across restarts).
    pub(super) first_loaded: SystemTime,
    /// The file, kept until the build is archived (at its first score).
    pub(super) unarchived: Mutex<Unarchived>,
    /// Whether there is nothing (more) to archive: read by every call, without the lock.
    pub(super) archived: AtomicBool,
}

/// A build not archived yet.
#[derive(Debug, Default)]
pub(super) struct Unarchived {
    /// The file's content.
    pub(super) bytes: Option<Arc<[u8]>>,
    /// After a failed write, no new attempt before this.
    pub(super) retry_after: Option<Instant>,
}

impl Loaded {
    /// A build with nothing to archive (none configured, or it is archived already).
    pub(super) fn new(
        plugin: Plugin,
        backend: Backend,
        file_name: String,
        first_loaded: SystemTime,
    ) -> Loaded {
        Loaded {
            build: plugin.hash.build(),
            plugin: Arc::new(plugin),
            backend,
            file_name,
            first_loaded,
            unarchived: Mutex::new(Unarchived::default()),
            archived: AtomicBool::new(true),
        }
    }

    /// Keeps `bytes` (the file) to archive the build once it has served.
    pub(super) fn with_file_to_archive(mut self, bytes: Vec<u8>) -> Loaded {
        self.unarchived
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .bytes = Some(bytes.into());
        *self.archived.get_mut() = false;
        self
    }

    /// Whether the build still has to be archived.
    pub(super) fn awaits_archive(&self) -> bool {
        !self.archived.load(Ordering::Acquire)
    }
}

/// How a loaded plugin's calls are run.
#[derive(Debug)]
pub(super) enum Backend {
    /// Called on the host's pool.
    InProcess(Arc<InProcess>),
    /// Called on the calling thread ([`HostOptions::inline`](crate::HostOptions::inline)).
    Inline(Arc<InProcess>),
    Sandboxed(SandboxPool),
}

impl Loaded {
    pub(super) fn sandbox(&self) -> Option<&SandboxPool> {
        match &self.backend {
            Backend::Sandboxed(pool) => Some(pool),
            Backend::InProcess(_) | Backend::Inline(_) => None,
        }
    }
}

/// Records a refusal of `path`; if an earlier version of it is loaded, that one keeps serving.
pub(super) fn refuse(
    next: &mut Registry,
    report: &mut ReloadReport,
    path: PathBuf,
    hash: Option<FileHash>,
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
pub(super) fn admit(
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
                hash: Some(plugin.hash),
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
            hash: Some(plugin.hash),
            loaded: Some(id.clone()),
            refusal,
            build: Some(plugin.build.clone()),
        },
    );
    next.plugins.insert(id, loaded);
}
