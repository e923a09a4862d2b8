//! Builds side by side: a build that served is archived, and a retained build is loaded from
//! the archive the first time a call names it, then kept for the calls after.
//!
//! A retained build is loaded exactly as a file of the plugin directory is (private copy,
//! structure checks, pre-load in a worker when configured, metadata, configuration, and the
//! backend its original file name chose), after its file was checked against its hash.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::archive::{ReadFailure, record_of};
use super::registry::Loaded;
use super::reload::DirLoader;
use crate::error::{HostError, RefuseReason};
use crate::hash::FileHash;
use crate::sync::lock;

/// After a failed archive write, how long before a call tries again.
const RETRY_ARCHIVING_AFTER: Duration = Duration::from_secs(10);

impl DirLoader {
    /// A build just loaded from the plugin directory, told what the archive knows of it: an
    /// archived build keeps its first-loaded time; any other keeps its file (`bytes`) to be
    /// archived once it has served.
    pub(super) fn with_archive_state(&self, loaded: Loaded, bytes: Vec<u8>) -> Loaded {
        let Some(archive) = &self.archive else {
            return loaded;
        };
        match archive.holds(loaded.plugin.id(), &loaded.plugin.hash) {
            Some(record) => Loaded {
                first_loaded: record.first_loaded,
                ..loaded
            },
            None => loaded.with_file_to_archive(bytes),
        }
    }

    /// Loads build `build` of plugin `id` from the archive.
    pub(super) fn load_retained(&self, id: &str, build: &str) -> Result<Loaded, ReadFailure> {
        let archive = self.archive.as_ref().ok_or(ReadFailure::Unknown)?;
        let (record, bytes) = archive.read(id, build)?;
        let path = archive.file_of(id, build).ok_or(ReadFailure::Unknown)?;
        let named = Path::new(&record.file_name);
        let loaded = self
            .load(&path, named, &bytes, FileHash::of(&bytes))
            .map_err(|failure| ReadFailure::Refused(failure.reason))?;
        if loaded.plugin.id() != id {
            return Err(ReadFailure::Refused(RefuseReason::ArchiveDamaged {
                problem: format!(
                    "{} declares plugin id `{}`, not `{id}`",
                    path.display(),
                    loaded.plugin.id()
                ),
            }));
        }
        Ok(Loaded {
            first_loaded: record.first_loaded,
            ..loaded
        })
    }

    /// Archives a build that has just served, unless it is archived already (or a write failed
    /// a moment ago), then removes the builds of its plugin beyond the bound, never `current`
    /// (the build serving the id now). Returns the builds removed.
    pub(super) fn archive_served(&self, loaded: &Loaded, current: Option<&str>) -> Vec<String> {
        let Some(archive) = &self.archive else {
            return Vec::new();
        };
        let mut unarchived = lock(&loaded.unarchived);
        let Some(bytes) = unarchived.bytes.clone() else {
            return Vec::new();
        };
        if unarchived
            .retry_after
            .is_some_and(|after| Instant::now() < after)
        {
            return Vec::new();
        }
        let plugin = &loaded.plugin;
        let record = record_of(
            plugin.id(),
            &plugin.hash,
            &plugin.metadata.version,
            &plugin.metadata.build_id,
            &loaded.file_name,
            loaded.first_loaded,
        );
        match archive.store(&record, &bytes) {
            Ok(_) => {
                unarchived.bytes = None;
                unarchived.retry_after = None;
                loaded.archived.store(true, Ordering::Release);
                drop(unarchived);
                tracing::info!(plugin = plugin.id(), build = %loaded.build, "plugin build archived");
                archive.evict(plugin.id(), current)
            }
            Err(error) => {
                unarchived.retry_after = Some(Instant::now() + RETRY_ARCHIVING_AFTER);
                tracing::error!(plugin = plugin.id(), build = %loaded.build, %error, "could not archive a plugin build that served; its scores cannot be reproduced after it is replaced");
                Vec::new()
            }
        }
    }
}

/// A retained build being loaded or loaded: the build, or why it was refused.
type Slot = Arc<OnceLock<Result<Arc<Loaded>, ReadFailure>>>;

/// The retained builds that calls have named, by plugin id and build.
#[derive(Debug, Default)]
pub(super) struct RetainedBuilds(Mutex<HashMap<(String, String), Slot>>);

impl RetainedBuilds {
    /// Build `build` of plugin `id`, loaded with `load` the first time it is asked for (a call
    /// asking meanwhile waits for that load). A refusal is remembered like a build (until the
    /// build is archived anew or removed); a build the archive does not have is not.
    pub(super) fn get(
        &self,
        id: &str,
        build: &str,
        load: impl FnOnce() -> Result<Loaded, ReadFailure>,
    ) -> Result<Arc<Loaded>, HostError> {
        let key = (id.to_owned(), build.to_owned());
        let slot = Arc::clone(lock(&self.0).entry(key.clone()).or_default());
        match slot.get_or_init(|| load().map(Arc::new)) {
            Ok(loaded) => Ok(Arc::clone(loaded)),
            Err(ReadFailure::Refused(reason)) => Err(HostError::BuildRefused {
                id: id.to_owned(),
                build: build.to_owned(),
                reason: Box::new(reason.clone()),
            }),
            Err(ReadFailure::Unknown) => {
                // Not kept: names of builds that do not exist must not fill memory.
                let mut slots = lock(&self.0);
                if slots.get(&key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                    slots.remove(&key);
                }
                Err(HostError::UnknownBuild {
                    id: id.to_owned(),
                    build: build.to_owned(),
                })
            }
        }
    }

    /// Forgets builds of `id` (archived anew, removed from the archive, or serving again):
    /// calls holding one finish on it.
    pub(super) fn forget(&self, id: &str, builds: &[String]) {
        let forgotten: Vec<Slot> = {
            let mut slots = lock(&self.0);
            builds
                .iter()
                .filter_map(|build| slots.remove(&(id.to_owned(), build.clone())))
                .collect()
        };
        // Dropping a build destroys its instances: plugin code, so not under the lock.
        drop(forgotten);
    }
}
