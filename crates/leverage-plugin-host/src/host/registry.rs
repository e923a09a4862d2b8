//! The registry: which plugin version serves each id, and what is known of each file.
//!
//! A registry is never changed once served: a reload builds the next one beside it and the host
//! swaps the two whole, so that a call sees one consistent set of plugins and a replaced version
//! lives on for the calls already holding it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::report::{Refusal, ReloadReport, Replaced};
use crate::error::{BuildInfo, RefuseReason};
use crate::inprocess::InProcess;
use crate::plugin::Plugin;
use crate::sandbox::SandboxPool;

/// What is known of one file in the directory.
#[derive(Clone, Debug)]
pub(super) struct FileEntry {
    pub(super) hash: Option<u64>,
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
