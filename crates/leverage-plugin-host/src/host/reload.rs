//! One reload pass: list the plugin directory, load what changed, and build the registry that
//! will replace the current one.
//!
//! The pass only builds; the swap, and the lock that keeps passes apart, are the host's. It only
//! reads the registry being served, so calls go on unhindered while a pass loads files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::archive::{self, Archive};
use super::options::{HostOptions, INLINE_ALL};
use super::registry::{Backend, Loaded, Registry, admit, refuse};
use super::report::ReloadReport;
use crate::error::{HostError, RefuseReason};
use crate::hash::FileHash;
use crate::inprocess;
use crate::load::{LoadFailure, LoadRequest};
use crate::plugin::Limits;
use crate::sandbox;

/// The plugin directory and how to load what is in it: fixed for the host's life.
#[derive(Debug)]
pub(super) struct DirLoader {
    pub(super) dir: PathBuf,
    pub(super) catalog: Vec<String>,
    pub(super) options: HostOptions,
    pub(super) limits: Limits,
    pub(super) copy_dir: PathBuf,
    /// Where builds that served are kept, if anywhere.
    pub(super) archive: Option<Archive>,
}

impl DirLoader {
    fn list_files(&self) -> Result<Vec<PathBuf>, HostError> {
        let dir = &self.dir;
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

    pub(super) fn scan(&self, old: &Registry) -> Result<(Registry, ReloadReport), HostError> {
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
            let hash = FileHash::of(&bytes);
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
            match self.load(&path, &path, &bytes, hash) {
                Ok(loaded) => {
                    let loaded = self.with_archive_state(loaded, bytes);
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
    pub(super) fn inlines(&self, path: &Path) -> bool {
        let inline = &self.options.inline;
        path.file_name().is_some_and(|name| {
            inline.contains(INLINE_ALL) || inline.contains(name.to_string_lossy().as_ref())
        })
    }

    /// Whether the file at `path` is to run in worker processes.
    pub(super) fn sandboxes(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|name| self.options.sandbox.covers(&name.to_string_lossy()))
    }

    /// Loads the file at `path` (content `bytes`, hash `hash`) with the backend that the name
    /// of `named` calls for: the file itself, or for an archived build, the plugin-directory
    /// file it came from.
    pub(super) fn load(
        &self,
        path: &Path,
        named: &Path,
        bytes: &[u8],
        hash: FileHash,
    ) -> Result<Loaded, Box<LoadFailure>> {
        let config_for = |id: &str| self.options.configs.get(id).cloned().unwrap_or_default();
        let request = LoadRequest {
            path,
            bytes,
            hash,
            catalog: &self.catalog,
            config_for: &config_for,
            limits: self.limits,
            copy_dir: &self.copy_dir,
        };
        let sandbox = &self.options.sandbox;
        let (plugin, backend) = if self.sandboxes(named) {
            let (plugin, pool) = sandbox::load(&request, sandbox, self.options.max_queued_calls)?;
            (plugin, Backend::Sandboxed(pool))
        } else {
            let (plugin, backend) = inprocess::load(&request, sandbox)?;
            let backend = Arc::new(backend);
            if self.inlines(named) {
                (plugin, Backend::Inline(backend))
            } else {
                (plugin, Backend::InProcess(backend))
            }
        };
        let file_name = named
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Loaded::new(plugin, backend, file_name, archive::now()))
    }
}
