//! What every load does before a plugin's code runs anywhere: the catalog checked, the file read
//! into a private copy after the checks of its structure, its hash (which names the build), and
//! why a load failed. The in-process and sandbox backends both start here.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use leverage_plugin_api::PluginMetadata;

use crate::elf::check_elf_extent;
use crate::error::{BuildInfo, HostError, RefuseReason};
use crate::hash::FileHash;
use crate::plugin::{Limits, Plugin};

/// A plugin file to load, and what its plugin is loaded with, whichever backend runs it.
pub(crate) struct LoadRequest<'a> {
    /// The file in the plugin directory.
    pub(crate) path: &'a Path,
    /// Its content, read once.
    pub(crate) bytes: &'a [u8],
    /// The hash of `bytes`.
    pub(crate) hash: FileHash,
    /// The input names the host can supply.
    pub(crate) catalog: &'a [String],
    /// The configuration text for a plugin id.
    pub(crate) config_for: &'a dyn Fn(&str) -> String,
    pub(crate) limits: Limits,
    /// Where private copies go.
    pub(crate) copy_dir: &'a Path,
}

impl LoadRequest<'_> {
    /// A private copy of the file (see [`private_copy`]).
    pub(crate) fn private_copy(&self) -> Result<PrivateCopy, Box<LoadFailure>> {
        Ok(PrivateCopy::new(self.path, self.bytes, self.copy_dir)?)
    }

    /// The plugin described by `build` and `metadata`, its inputs resolved against the catalog.
    pub(crate) fn plugin(
        &self,
        build: &BuildInfo,
        metadata: &Arc<PluginMetadata>,
    ) -> Result<Plugin, Box<LoadFailure>> {
        Plugin::new(
            self.path.to_path_buf(),
            self.hash,
            build.clone(),
            Arc::clone(metadata),
            self.catalog,
            self.limits,
        )
        .map_err(|reason| LoadFailure::described(reason, build, metadata))
    }
}

/// Why a file failed to load, with what was learned before (for `check`).
#[derive(Debug)]
pub(crate) struct LoadFailure {
    pub(crate) reason: RefuseReason,
    pub(crate) build: Option<BuildInfo>,
    pub(crate) metadata: Option<PluginMetadata>,
}

impl From<RefuseReason> for Box<LoadFailure> {
    fn from(reason: RefuseReason) -> Self {
        Box::new(LoadFailure {
            reason,
            build: None,
            metadata: None,
        })
    }
}

impl LoadFailure {
    /// A refusal of a plugin whose build and metadata were read.
    pub(crate) fn described(
        reason: RefuseReason,
        build: &BuildInfo,
        metadata: &PluginMetadata,
    ) -> Box<LoadFailure> {
        Box::new(LoadFailure {
            reason,
            build: Some(build.clone()),
            metadata: Some(metadata.clone()),
        })
    }
}

static COPY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The default directory for private copies of plugin files.
pub(crate) fn default_copy_dir() -> PathBuf {
    std::env::temp_dir().join(format!("leverage-plugins-{}", std::process::id()))
}

/// Writes `bytes` (the content of `path`) to a new file of its own in `copy_dir`, after
/// checking that the loader can map it without faulting on its structure
/// ([`check_elf_extent`]).
///
/// The copy gives every load a path of its own: `dlopen` returns the already-loaded library for
/// a path it has seen, and a build tool rewriting the original in place would corrupt a mapped
/// library.
pub(crate) fn private_copy(
    path: &Path,
    bytes: &[u8],
    copy_dir: &Path,
) -> Result<PathBuf, RefuseReason> {
    check_elf_extent(bytes).map_err(|problem| RefuseReason::Damaged { problem })?;
    let io = |error: std::io::Error| RefuseReason::Io {
        error: error.to_string(),
    };
    fs::create_dir_all(copy_dir).map_err(io)?;
    let file_name = path
        .file_name()
        .map_or_else(|| "plugin".into(), |name| name.to_string_lossy());
    let copy = copy_dir.join(format!(
        "{}-{}-{file_name}",
        std::process::id(),
        COPY_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::write(&copy, bytes).map_err(io)?;
    Ok(copy)
}

/// A private copy of a plugin file, removed on drop unless kept.
pub(crate) struct PrivateCopy(Option<PathBuf>);

impl PrivateCopy {
    /// Makes the private copy of `path` (see [`private_copy`]).
    pub(crate) fn new(path: &Path, bytes: &[u8], copy_dir: &Path) -> Result<Self, RefuseReason> {
        private_copy(path, bytes, copy_dir).map(|copy| PrivateCopy(Some(copy)))
    }

    /// Where the copy is.
    pub(crate) fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    /// Keeps the file past this value's life; returns its path.
    pub(crate) fn keep(&mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Checks the catalog: non-empty unique names.
pub(crate) fn owned_catalog(catalog: &[&str]) -> Result<Vec<String>, HostError> {
    for (i, name) in catalog.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(HostError::Catalog(format!("entry {i} is empty")));
        }
        if catalog[..i].contains(name) {
            return Err(HostError::Catalog(format!("`{name}` appears twice")));
        }
    }
    Ok(catalog.iter().map(|name| (*name).to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_with_empty_or_repeated_names_is_refused() {
        assert!(owned_catalog(&["a", "b"]).is_ok());
        assert!(matches!(
            owned_catalog(&["a", " "]),
            Err(HostError::Catalog(_))
        ));
        assert!(matches!(
            owned_catalog(&["a", "a"]),
            Err(HostError::Catalog(_))
        ));
    }
}
