//! Why a plugin is refused, why a call fails, why one row fails.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use leverage_plugin_api::abi::{self, PANIC_ABORT, PANIC_UNWIND};

/// What a plugin's header says about how it was built: read from the frozen header prefix, so
/// it is known for any plugin with the right magic, whatever its ABI version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// ABI major version the plugin was built against.
    pub abi_major: u16,
    /// ABI minor version the plugin was built against.
    pub abi_minor: u16,
    /// Version of `leverage-plugin-api` it was built against.
    pub api_version: String,
    /// `rustc --version` of the compiler that built it.
    pub rustc_version: String,
    /// `abi::PANIC_*` value from the header.
    pub panic_strategy: u32,
}

impl BuildInfo {
    /// `"unwind"`, `"abort"` or `"unknown (N)"`.
    pub fn panic_strategy_name(&self) -> String {
        match self.panic_strategy {
            PANIC_UNWIND => "unwind".to_owned(),
            PANIC_ABORT => "abort".to_owned(),
            other => format!("unknown ({other})"),
        }
    }
}

impl fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plugin ABI {}.{}, leverage-plugin-api {}, {}, panic = {}",
            self.abi_major,
            self.abi_minor,
            self.api_version,
            self.rustc_version,
            self.panic_strategy_name()
        )
    }
}

/// Why a plugin file was not loaded. Each message names the exact cause and, once the header
/// could be read, how the plugin was built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RefuseReason {
    /// The file could not be read or copied.
    #[error("cannot read or copy the file: {error}")]
    Io {
        /// The OS error.
        error: String,
    },
    /// The file is an ELF file whose structure would make the dynamic loader fault (a
    /// loadable segment or the program header table past the end of the file, a dynamic
    /// section outside the loadable segments): refused before any loader sees it.
    #[error("damaged library file, not loaded: {problem}")]
    Damaged {
        /// What is wrong, with the offsets involved.
        problem: String,
    },
    /// `dlopen` failed: not a shared library, wrong architecture, missing dependency.
    #[error("not a loadable shared library: {error}")]
    NotALibrary {
        /// The loader's message.
        error: String,
    },
    /// The library has no entry symbol.
    #[error("no `{symbol}` symbol: not a leverage plugin ({error})", symbol = abi::ENTRY_SYMBOL)]
    MissingEntry {
        /// The loader's message.
        error: String,
    },
    /// The entry returned a null or misaligned pointer.
    #[error("`{symbol}` returned a null or misaligned header pointer", symbol = abi::ENTRY_SYMBOL)]
    BadHeaderPointer,
    /// The header does not start with the magic number.
    #[error("wrong magic {found:#018x} (expected {expected:#018x}): not a leverage plugin header", expected = abi::MAGIC)]
    WrongMagic {
        /// What the header starts with.
        found: u64,
    },
    /// Another ABI major version.
    #[error(
        "incompatible ABI: the plugin was built for plugin ABI {}.{}, this server speaks {host_major}.{host_minor} \
         and only loads the same major version (plugin built with {}, leverage-plugin-api {}); \
         rebuild it against leverage-plugin-api {host_api}",
        build.abi_major, build.abi_minor, build.rustc_version, build.api_version
    )]
    AbiMajor {
        /// The plugin's build.
        build: BuildInfo,
        /// This server's major.
        host_major: u16,
        /// This server's minor.
        host_minor: u16,
        /// This server's `leverage-plugin-api` version.
        host_api: String,
    },
    /// Same major, newer minor than the host.
    #[error(
        "plugin needs a newer server: built for plugin ABI {}.{}, this server speaks {host_major}.{host_minor} \
         (plugin built with {}, leverage-plugin-api {})",
        build.abi_major, build.abi_minor, build.rustc_version, build.api_version
    )]
    AbiMinorTooNew {
        /// The plugin's build.
        build: BuildInfo,
        /// This server's major.
        host_major: u16,
        /// This server's minor.
        host_minor: u16,
    },
    /// The layout fingerprint does not match the host's for the plugin's ABI version.
    #[error(
        "layout fingerprint mismatch: the plugin carries {found:#018x}, plugin ABI {}.{} on this server is \
         {expected:#018x}; it was built from different ABI definitions or for another target \
         (plugin built with {}, leverage-plugin-api {})",
        build.abi_major, build.abi_minor, build.rustc_version, build.api_version
    )]
    LayoutMismatch {
        /// The plugin's build.
        build: BuildInfo,
        /// The plugin's fingerprint.
        found: u64,
        /// The host's fingerprint for that minor.
        expected: u64,
    },
    /// Built with `panic = "abort"` (or the header does not say).
    #[error(
        "the plugin was built with panic = {}: one panic would abort the whole server; rebuild it \
         with panic = \"unwind\" (plugin built with {}, leverage-plugin-api {})",
        build.panic_strategy_name(), build.rustc_version, build.api_version
    )]
    PanicStrategy {
        /// The plugin's build.
        build: BuildInfo,
    },
    /// A function-table entry is null.
    #[error("function table entry `{name}` is null")]
    NullFunction {
        /// Which entry.
        name: &'static str,
    },
    /// `metadata` did not return OK.
    #[error("the metadata function failed with status {status}")]
    MetadataFailed {
        /// Its status.
        status: i32,
    },
    /// The metadata is malformed.
    #[error("invalid metadata: {}", problems.join("; "))]
    BadMetadata {
        /// Every problem found.
        problems: Vec<String>,
    },
    /// The plugin reads inputs the server does not supply.
    #[error(
        "the plugin reads inputs this server does not supply: {}; known inputs: {}",
        unknown.join(", "), known.join(", ")
    )]
    UnknownInputs {
        /// The names not in the catalog.
        unknown: Vec<String>,
        /// The catalog.
        known: Vec<String>,
    },
    /// Inputs the plugin declares itself use a name, or a namespace, of the server's catalog.
    #[error(
        "own input(s) {} are in the server's namespaces ({}): name them in the plugin's own, e.g. `escrow.share`",
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
        reserved.join(", ")
    )]
    OwnInputInCatalogNamespace {
        /// The offending names.
        names: Vec<String>,
        /// The namespaces the catalog uses (`lever`, `pool`, ...).
        reserved: Vec<String>,
    },
    /// Another file already provides this plugin id.
    #[error("plugin id `{id}` is already loaded from {}", other.display())]
    DuplicateId {
        /// The id.
        id: String,
        /// The file that has it.
        other: PathBuf,
    },
    /// Creating an instance from the configuration failed.
    #[error("could not create an instance from the configuration (status {status}): {message}")]
    ConfigRejected {
        /// Status from `create`.
        status: i32,
        /// The plugin's message (unknown keys, bad values).
        message: String,
    },
    /// The worker process that loads a file before this process does (the pre-load check,
    /// [`SandboxOptions::preload_check`](crate::SandboxOptions::preload_check)) was killed by a
    /// signal while loading it: the file crashes the dynamic loader (a damaged dynamic section,
    /// relocation or symbol table), or its initialisers or its `metadata` function crash. It
    /// would have killed this process.
    #[error(
        "crashed the loader (signal {signal}) in the worker process that loads the file first, so \
         it was not loaded into this process: the file is damaged, or its initialisers or its \
         `metadata` function crash ({detail})"
    )]
    LoaderCrashed {
        /// The signal that killed the worker.
        signal: i32,
        /// The worker's pid, its signal, peak memory and CPU time.
        detail: String,
    },
    /// The pre-load check could not conclude: its worker process could not be started, did not
    /// answer in time, exited without describing the file, or broke the protocol. The file is
    /// not loaded into this process on the strength of a check that did not happen.
    #[error("the pre-load check in a worker process failed, so the file was not loaded: {detail}")]
    PreloadFailed {
        /// What happened to the worker.
        detail: String,
    },
    /// A build kept in the archive (`HostOptions::archive_dir`) is not what was archived: its
    /// file's SHA-256 is not the build's, or its record is unreadable. Nothing of it is loaded.
    #[error("the archived build is damaged or was altered, so it is not loaded: {problem}")]
    ArchiveDamaged {
        /// What does not match, with the paths involved.
        problem: String,
    },
    /// The file is to be sandboxed, and its worker process could not load it: the worker could
    /// not be started, died while loading the plugin (a crash in the library's initialisers,
    /// `metadata` or `create`), did not answer in time, or broke the protocol.
    #[error("the sandbox worker could not load the plugin: {detail}")]
    WorkerFailed {
        /// What happened, with the worker's exit status or signal when it died.
        detail: String,
    },
}

/// Why a call failed as a whole. Per-row problems are [`RowError`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// No plugin with this id is loaded.
    #[error("no plugin with id `{0}` is loaded")]
    UnknownPlugin(String),
    /// The plugin has no build of this name: not the one serving, nor one kept in the archive.
    #[error("plugin `{id}` has no build `{build}` (neither the one serving nor a retained one)")]
    UnknownBuild {
        /// Plugin id.
        id: String,
        /// The build named.
        build: String,
    },
    /// A retained build could not be loaded from the archive.
    #[error("retained build `{build}` of plugin `{id}` was refused: {reason}")]
    BuildRefused {
        /// Plugin id.
        id: String,
        /// The build.
        build: String,
        /// Why.
        reason: Box<RefuseReason>,
    },
    /// The plugin was disabled (panics, stuck calls).
    #[error("plugin `{id}` is disabled: {reason}")]
    Disabled {
        /// Plugin id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The request does not fit the catalog.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The deadline passed; the cancel flag was set and the call abandoned.
    #[error("plugin `{id}` did not finish within {deadline:?}")]
    DeadlineExceeded {
        /// Plugin id.
        id: String,
        /// The deadline.
        deadline: Duration,
    },
    /// The cancel flag was set and the plugin stopped.
    #[error("the call to plugin `{id}` was cancelled")]
    Cancelled {
        /// Plugin id.
        id: String,
    },
    /// The plugin panicked; the instance was dropped.
    #[error(
        "plugin `{id}` panicked ({panics} of {max_panics} allowed before it is disabled): {message}"
    )]
    Panicked {
        /// Plugin id.
        id: String,
        /// The panic message.
        message: String,
        /// Panics so far (for a sandboxed plugin, panics and worker crashes: they count
        /// together).
        panics: u32,
        /// The limit.
        max_panics: u32,
        /// Whether this panic disabled the plugin.
        disabled: bool,
    },
    /// The worker process of a sandboxed plugin died during the call (a signal such as
    /// `SIGSEGV` or `SIGABRT`, an exit, the kernel's OOM killer) or sent a malformed reply. The
    /// host is unharmed; a fresh worker serves the next call. Crashes count together with
    /// panics towards disabling the plugin.
    #[error(
        "plugin `{id}` crashed its sandbox worker ({failures} of {max_failures} panics and crashes \
         allowed before it is disabled): {detail}"
    )]
    WorkerCrashed {
        /// Plugin id.
        id: String,
        /// What happened: the worker's pid and its signal or exit status, peak memory, CPU time.
        detail: String,
        /// Panics and crashes so far.
        failures: u32,
        /// The limit (`HostOptions::max_panics`).
        max_failures: u32,
        /// Whether this crash disabled the plugin.
        disabled: bool,
    },
    /// No worker process could be started for a sandboxed plugin (the worker command cannot be
    /// run, or the system refuses a process or a thread). Not counted against the plugin.
    #[error("plugin `{id}` is sandboxed and no worker process could be started: {detail}")]
    SandboxUnavailable {
        /// Plugin id.
        id: String,
        /// Why.
        detail: String,
    },
    /// The plugin returned a failure status for the whole call.
    #[error("plugin `{id}` failed with status {status}: {message}")]
    PluginFailed {
        /// Plugin id.
        id: String,
        /// Its status.
        status: i32,
        /// Its message.
        message: String,
    },
    /// Too many calls are queued.
    #[error("too many plugin calls are queued ({0}); try again later")]
    Overloaded(usize),
    /// The catalog given to the host is invalid.
    #[error("invalid input catalog: {0}")]
    Catalog(String),
    /// The plugin directory cannot be read.
    #[error("cannot read the plugin directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A bug in the host.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why one row has no score.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RowError {
    /// The plugin rejected the row (e.g. an input out of range).
    #[error("the plugin could not score this row: {message}")]
    Plugin {
        /// The plugin's message (only the lowest failing row of a call carries the plugin's own
        /// words; the ABI has one message buffer per call).
        message: String,
    },
    /// The call stopped before this row.
    #[error("the row was not scored: the call stopped before reaching it")]
    NotRun,
    /// The plugin returned an unknown row status.
    #[error("the plugin returned an unknown row status {status}")]
    UnknownStatus {
        /// The status.
        status: i32,
    },
    /// An output is NaN or infinite.
    #[error("`{name}` = {value} is not a finite number")]
    NotFinite {
        /// Score or component name.
        name: String,
        /// The value.
        value: f64,
    },
    /// An output is outside its declared range.
    #[error("`{name}` = {value} is outside its declared range [{min}, {max}]")]
    OutOfRange {
        /// Score or component name.
        name: String,
        /// The value.
        value: f64,
        /// Declared minimum.
        min: f64,
        /// Declared maximum.
        max: f64,
    },
}
