//! What the host tells its caller: the state of every file, and what a reload changed.
//!
//! Public and plain, so that a server can show them (ListPlugins, logs) without reaching into
//! the registry.

use std::path::PathBuf;
use std::sync::Arc;

use leverage_plugin_api::PluginMetadata;

#[cfg(doc)]
use super::options::HostOptions;
use crate::error::{BuildInfo, RefuseReason};
use crate::plugin::PluginState;

/// A plugin file that was not loaded, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The file in the plugin directory.
    pub path: PathBuf,
    /// Why.
    pub reason: RefuseReason,
}

/// One line of [`PluginHost::plugins`](crate::PluginHost::plugins): a loaded plugin or a refused file.
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
    /// The build: the first 16 hex digits of the SHA-256 of the file (`None` for a file that
    /// could not be read).
    pub build_hash: Option<String>,
    /// Whether this is a retained build, loaded from the archive, rather than the one serving
    /// the id ([`PluginHost::build_status`](crate::PluginHost::build_status) only).
    pub retained: bool,
    /// For the build serving a plugin: every build of the plugin the host keeps, that one first,
    /// then the retained ones ([`HostOptions::archive_dir`]), newest first. Empty otherwise.
    pub builds: Vec<super::archive::BuildRecord>,
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

/// What [`PluginHost::reload_dir`](crate::PluginHost::reload_dir) changed.
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
