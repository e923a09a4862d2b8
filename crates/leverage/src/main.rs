//! `leverage`: runs the gRPC server, checks plugins the way the server would load them, and
//! calls a running server from a terminal.

mod client;
mod data;
mod report;
mod sweep;

// The server's replies are trees of small strings and vectors built and dropped per call;
// glibc's malloc spent about a third of the server's CPU on them (malloc_consolidate among
// the top symbols of a profile of AssessLegalRisk). Plugins keep their own allocator: nothing
// allocated on one side of the plugin ABI is freed on the other.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use leverage_core::model::Action;
use leverage_core::scenario::{self, Context as ScenarioContext, INPUT_CATALOG, ScenarioInput};
use leverage_core::{Dataset, Date, Snapshot};
use leverage_plugin_host::{
    CheckOptions, HostOptions, PluginHost, PluginState, SandboxOptions, WorkerCommand,
};
use leverage_server::{AccessPolicy, Limits, Replication, ServerState, TlsSettings};
use leverage_store::{Opened, Repository, StoreLocation};

#[derive(Parser, Debug)]
#[command(
    name = "leverage",
    version,
    about = "A gRPC backend for analysts of pressure on Russia"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    connection: client::Connection,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gRPC server.
    Serve(Box<ServeArgs>),
    /// Work with scoring plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Work with access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Frozen holdings (client of a running server).
    #[command(subcommand)]
    Assets(client::AssetsCommand),
    /// Legal risk (client of a running server).
    #[command(subcommand)]
    Legal(client::LegalCommand),
    /// Defence funding (client of a running server).
    #[command(subcommand)]
    Funding(client::FundingCommand),
    /// The dataset's versions, record histories, import and export (client of a running
    /// server).
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Score a scenario file with a plugin, with values for the plugin's own inputs and
    /// parameters (client of a running server).
    Score {
        /// Plugin id, e.g. `pressure-index` (or `plugins/ID`, or a retained build
        /// `plugins/ID@BUILD`).
        #[arg(long)]
        plugin: String,
        /// Scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        values: client::scoring::CallValues,
    },
    /// Sweep one lever of a scenario (or an input the plugin declares), with progress and an
    /// optional SVG chart, on one server or split over several (client of running servers).
    Sweep(sweep::SweepArgs),
    /// A model's published reports: sensitivity (a tornado chart), the ranking of the policy
    /// options and the comparison with published assessments (client of a running server).
    #[command(subcommand)]
    Model(report::ModelCommand),
    /// Internal: serve one sandboxed plugin over stdin/stdout for the server that spawned it.
    #[command(hide = true)]
    PluginWorker {
        /// The plugin library to load.
        plugin: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Read a token on standard input and print the SHA-256 digest a tokens file stores.
    Hash,
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Load a plugin as the server would, score sample scenarios, and report every problem.
    /// Exits non-zero when the server would refuse the plugin.
    Check {
        /// Path of the plugin's shared library (.so).
        path: PathBuf,
    },
    /// Print a plugin's schema as a running server gives it: its catalog inputs, its own inputs
    /// (unit, range, default or required), its parameters (unit, range, value in force), its
    /// components and score range, its build and ABI, and its model card (intended use, inputs
    /// and their sources, what it ignores, known limits, version history) (client of a running
    /// server).
    Describe {
        /// Plugin id, e.g. `pressure-index` (or `plugins/ID`, or a retained build
        /// `plugins/ID@BUILD`).
        plugin: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEVERAGE_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Directory of the SQLite database; created, with the embedded dataset imported, on first start.
    /// Not used with --store postgres://…
    #[arg(long, env = "LEVERAGE_DATA_DIR", default_value = "leverage-data")]
    data_dir: PathBuf,
    /// Where the data lives instead of --data-dir: a PostgreSQL URL
    /// (`postgres://user:password@host:5432/database?sslmode=require`), which every replica of a
    /// fleet shares; each keeps its snapshot and follows the others' writes. `sqlite:<dir>` names
    /// the embedded store's directory.
    #[arg(long, env = "LEVERAGE_STORE", hide_env_values = true)]
    store: Option<String>,
    /// How often a replica asks the store for versions other replicas wrote, in milliseconds,
    /// besides hearing of them at once where the store announces them (PostgreSQL NOTIFY).
    #[arg(long, env = "LEVERAGE_REFRESH_POLL_MS", default_value_t = 1000)]
    refresh_poll_ms: u64,
    /// While the store cannot be reached, how long a call with `leverage-min-dataset-version: V`
    /// waits for this replica to reach version V before it is refused with UNAVAILABLE (reason
    /// REPLICA_BEHIND), in milliseconds. A V the store never had is refused at once.
    #[arg(long, env = "LEVERAGE_MIN_VERSION_WAIT_MS", default_value_t = 2000)]
    min_version_wait_ms: u64,
    /// Directory of scoring plugins (every .so in it is loaded). Default: the directory of
    /// this executable, loading only the bundled `libleverage_plugin_*.so`.
    #[arg(long, env = "LEVERAGE_PLUGIN_DIR")]
    plugin_dir: Option<PathBuf>,
    /// Builds of each plugin kept once they have served a score, the one serving included, so
    /// that `plugins/{id}@{build}` reproduces a score after a reload or a restart; the oldest
    /// beyond it are removed. They live in `plugin-builds/` of the data directory (--data-dir,
    /// or the directory of `--store sqlite:<dir>`). 0 keeps none.
    #[arg(long, env = "LEVERAGE_PLUGIN_BUILDS_KEPT", default_value_t = 10)]
    plugin_builds_kept: usize,
    /// Directory of plugin configurations: `<plugin id>.conf`, one `key = value` per line
    /// (each model's parameters are listed by GetPlugin and documented in docs/models/).
    #[arg(long, env = "LEVERAGE_PLUGIN_CONFIG_DIR")]
    plugin_config_dir: Option<PathBuf>,
    /// Bearer tokens, as `name:role=token` pairs separated by commas (roles: reader, editor,
    /// admin; `name=token` is an editor). The name is recorded as the author of each write.
    /// Without tokens, writes are refused.
    #[arg(
        long,
        env = "LEVERAGE_TOKENS",
        default_value = "",
        hide_env_values = true
    )]
    tokens: String,
    /// A tokens file (TOML): `reads_open` and `[[token]]` entries with name, role and the
    /// token's SHA-256 (`leverage token hash`), so that no secret is stored in the clear.
    #[arg(long, env = "LEVERAGE_TOKENS_FILE")]
    tokens_file: Option<PathBuf>,
    /// Whether reads need no token. `false` makes every read need a reader token.
    #[arg(long, env = "LEVERAGE_READS_OPEN")]
    reads_open: Option<bool>,
    /// PEM certificate chain: serve TLS (with --tls-key).
    #[arg(long, env = "LEVERAGE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "LEVERAGE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate: require client certificates chaining to it (mutual TLS).
    #[arg(long, env = "LEVERAGE_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Largest request or response message, in bytes.
    #[arg(long, env = "LEVERAGE_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_message_bytes: usize,
    /// Calls in progress at once; more are refused at once with RESOURCE_EXHAUSTED.
    #[arg(long, env = "LEVERAGE_MAX_CONCURRENT_CALLS", default_value_t = 1024)]
    max_concurrent_calls: usize,
    /// Sweeps in progress at once (each also counts as a call); more are refused at once with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "LEVERAGE_MAX_CONCURRENT_SWEEPS", default_value_t = 8)]
    max_concurrent_sweeps: usize,
    /// Longest a unary call may run, in milliseconds; it then ends with DEADLINE_EXCEEDED.
    #[arg(long, env = "LEVERAGE_MAX_CALL_MS", default_value_t = 120_000)]
    max_call_ms: u64,
    /// Longest a server stream (a sweep, an export) may run, to its last message, in
    /// milliseconds; it then ends with DEADLINE_EXCEEDED.
    #[arg(long, env = "LEVERAGE_MAX_STREAM_MS", default_value_t = 600_000)]
    max_stream_ms: u64,
    /// Memory for the encoded replies of repeated reads, in MiB (kept per dataset version and
    /// request; a write never leaves one stale); 0 turns the cache off.
    #[arg(long, env = "LEVERAGE_REPLY_CACHE_MB", default_value_t = 64)]
    reply_cache_mb: usize,
    /// After the drain, how long calls in flight may take to finish, in milliseconds.
    #[arg(long, env = "LEVERAGE_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    shutdown_grace_ms: u64,
    /// Serve Prometheus metrics on this address (`GET /metrics`); off when unset.
    #[arg(long, env = "LEVERAGE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, env = "LEVERAGE_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// How long health reports NOT_SERVING before the server stops accepting calls on shutdown.
    #[arg(long, env = "LEVERAGE_DRAIN_MS", default_value_t = 1000)]
    drain_ms: u64,
    /// Longest a plugin call may run, in milliseconds, whatever the client's deadline.
    #[arg(long, env = "LEVERAGE_MAX_PLUGIN_CALL_MS", default_value_t = 30_000)]
    max_plugin_call_ms: u64,
    /// Serve browsers too: gRPC-Web (HTTP/1.1 and HTTP/2) with CORS for any origin, and the
    /// analyst's page at http://<listen>/. Off by default.
    #[arg(long, env = "LEVERAGE_WEB")]
    web: bool,
    /// Export a span per call (OpenTelemetry traces) to the OTLP/gRPC collector at this URL,
    /// e.g. http://127.0.0.1:4317. A client's W3C `traceparent` makes its span the parent.
    /// Off when unset; an unreachable collector costs dropped spans, never failed calls.
    #[arg(long, env = "LEVERAGE_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// Sandbox mode: chosen plugins run in worker processes, so that a crash, a hang or runaway
/// memory costs a worker restart, not the server.
#[derive(clap::Args, Debug, Clone)]
struct SandboxArgs {
    /// Plugin file name to run in a worker process (repeatable); `*` for every plugin.
    #[arg(
        long = "sandbox-plugin",
        env = "LEVERAGE_SANDBOX_PLUGINS",
        value_delimiter = ','
    )]
    files: Vec<String>,
    /// Address-space cap of each worker, in MiB.
    #[arg(long, env = "LEVERAGE_SANDBOX_MEMORY_MB", default_value_t = 1024)]
    sandbox_memory_mb: u64,
    /// CPU-time cap of each worker, in seconds (a worker is replaced before reaching it).
    #[arg(long, env = "LEVERAGE_SANDBOX_CPU_SECS", default_value_t = 600)]
    sandbox_cpu_secs: u64,
    /// Worker processes per sandboxed plugin.
    #[arg(long, env = "LEVERAGE_SANDBOX_WORKERS", default_value_t = 2)]
    sandbox_workers: usize,
    /// Plugin file name (repeatable; `*` for every plugin) whose calls run on the server's own
    /// threads instead of the plugin pool: cheaper per call, but a hanging call is not ended at
    /// its deadline and holds a server thread. Only for plugins trusted to return promptly.
    #[arg(
        long = "inline-plugin",
        env = "LEVERAGE_INLINE_PLUGINS",
        value_delimiter = ','
    )]
    inline: Vec<String>,
}

/// The plugin host: an explicit directory loads every `.so` in it; by default, the bundled
/// plugins beside this executable (`cargo build --release` puts them there).
fn load_plugins(
    dir: Option<PathBuf>,
    config_dir: Option<PathBuf>,
    sandbox: &SandboxArgs,
    archive: Option<(PathBuf, usize)>,
) -> anyhow::Result<PluginHost> {
    let catalog = scenario::catalog_names();
    let (dir, mut options) = match dir {
        Some(dir) => (dir, HostOptions::default()),
        None => {
            let exe = std::env::current_exe().context("locating this executable")?;
            let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
            (
                dir,
                HostOptions {
                    name_prefix: Some("libleverage_plugin_".to_owned()),
                    ..HostOptions::default()
                },
            )
        }
    };
    if let Some(config_dir) = config_dir {
        options.configs = read_plugin_configs(&config_dir)?;
    }
    // The worker command runs the sandboxed plugins and, for every other plugin, the pre-load
    // check: each file is loaded first in a worker, so that a file that crashes the loader is
    // refused instead of killing the server (finding F6, docs/fuzzing.md).
    options.sandbox = SandboxOptions {
        files: sandbox.files.iter().cloned().collect(),
        worker_command: Some(worker_command()?),
        workers_per_plugin: sandbox.sandbox_workers.max(1),
        memory_limit: Some(sandbox.sandbox_memory_mb.saturating_mul(1024 * 1024)),
        cpu_limit: Some(Duration::from_secs(sandbox.sandbox_cpu_secs)),
        ..SandboxOptions::default()
    };
    options.inline = sandbox.inline.iter().cloned().collect();
    if let Some((archive_dir, kept)) = archive {
        options.archive_dir = Some(archive_dir);
        options.builds_kept = kept;
    }
    let host = PluginHost::load_dir_with(&dir, &catalog, options)
        .with_context(|| format!("loading plugins from {}", dir.display()))?;
    for p in host.plugins() {
        match (&p.state, &p.metadata) {
            (PluginState::Refused { reason }, _) => {
                tracing::warn!(file = %p.path.display(), %reason, "plugin refused")
            }
            (_, Some(m)) => {
                tracing::info!(plugin = %m.id, version = %m.version, file = %p.path.display(), sandboxed = p.sandboxed, inline = p.inline, "plugin loaded")
            }
            _ => {}
        }
    }
    Ok(host)
}

/// This executable's hidden `plugin-worker` subcommand: sandbox workers and the pre-load check.
fn worker_command() -> anyhow::Result<WorkerCommand> {
    let exe = std::env::current_exe().context("locating this executable")?;
    // Workers run under RLIMIT_AS (the plugin's memory cap). mimalloc reserves 1 GiB of address
    // space for its first arena, which alone exceeds a 1 GiB cap and made `dlopen` in the worker
    // fail; without the reservation every byte of address space is one the worker asked for.
    Ok(WorkerCommand::new(exe)
        .arg("plugin-worker")
        .env("MIMALLOC_ARENA_RESERVE", "0")
        // Whole arenas committed at once would count against the worker's address-space cap.
        .env("MIMALLOC_ARENA_EAGER_COMMIT", "0"))
}

/// `<id>.conf` files of a directory, keyed by plugin id.
fn read_plugin_configs(
    dir: &std::path::Path,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut configs = std::collections::HashMap::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        tracing::info!(plugin = id, file = %path.display(), "plugin configuration");
        configs.insert(id.to_owned(), text);
    }
    Ok(configs)
}

/// Sample scenarios for `plugin check`: every use mode, with a few lever settings, on the
/// embedded dataset as of today.
fn sample_rows() -> anyhow::Result<Vec<f64>> {
    let snap = Snapshot::new(Dataset::embedded()?);
    let today = Date::today();
    let ctx = ScenarioContext::derive(&snap, today)?;
    let mut rows = Vec::new();
    for (i, action) in Action::ALL.into_iter().enumerate() {
        for ceasefire in [false, true] {
            let s = ScenarioInput {
                use_mode: Some(action),
                interest_rate_pct: Some(1.0 + i as f64),
                sanctions_tightening: Some(0.2 * i as f64),
                horizon_years: Some(2 + 3 * i as i64),
                ceasefire,
                ..ScenarioInput::default()
            }
            .validate("scenario", today)?;
            let mut row = vec![0.0; INPUT_CATALOG.len()];
            ctx.fill_row(&s, &mut row);
            rows.extend(row);
        }
    }
    Ok(rows)
}

fn plugin_check(path: &std::path::Path) -> anyhow::Result<bool> {
    let catalog = scenario::catalog_names();
    let options = CheckOptions {
        sample_rows: sample_rows()?,
        // As the server does: a file that crashes the loader is reported, not fatal.
        worker_command: Some(worker_command()?),
        ..CheckOptions::default()
    };
    let report = leverage_plugin_host::check_plugin(path, &catalog, &options);
    println!("file: {}", report.path.display());
    if let Some(b) = &report.build {
        println!("built: {b}");
    }
    if let Some(m) = &report.metadata {
        println!(
            "plugin: {} ({}) version {} build {}",
            m.id, m.name, m.version, m.build_id
        );
        println!("  {}", m.description);
        // A card is not required (a plugin of ABI 1.0 or 1.1 cannot carry one): said, not
        // refused.
        println!(
            "  model card: {}",
            leverage_plugin_host::model_card_summary(&m.model_card)
        );
        println!(
            "  inputs: {}",
            m.inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for i in &m.own_inputs {
            let default = match i.default {
                Some(value) => format!("default {value}"),
                None => "required".to_owned(),
            };
            println!(
                "  own input {} [{}] in [{}, {}], {default}",
                i.name, i.unit, i.min, i.max
            );
        }
        for p in &m.parameters {
            println!(
                "  parameter {} = {} [{}] in [{}, {}]",
                p.name, p.default, p.unit, p.min, p.max
            );
        }
        println!(
            "  score: {} in [{}, {}]",
            m.score.unit, m.score.min, m.score.max
        );
        for c in &m.components {
            println!(
                "  component {}: {} in [{}, {}]",
                c.name, c.unit, c.min, c.max
            );
        }
        for (i, s) in report.samples.iter().enumerate() {
            match s {
                Ok(r) => println!(
                    "  sample {i}: score {:.3} components {:?}",
                    r.score,
                    r.components()
                ),
                Err(e) => println!("  sample {i}: error: {e}"),
            }
        }
    }
    if report.is_acceptable() {
        println!("ok: the server would load this plugin");
    } else {
        println!("problems:");
        for p in &report.problems {
            println!("  - {p}");
        }
    }
    Ok(report.is_acceptable())
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEVERAGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received"),
        _ = terminate => tracing::info!("SIGTERM received"),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logs(args.log_format);
    let started = std::time::Instant::now();
    let mut access = AccessPolicy::parse_tokens(&args.tokens)
        .map_err(anyhow::Error::msg)
        .context("--tokens")?;
    if let Some(file) = &args.tokens_file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let from_file = AccessPolicy::from_file_text(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("tokens file {}", file.display()))?;
        let reads_open = from_file.reads_open();
        access = from_file
            .merge(access)
            .map_err(anyhow::Error::msg)?
            .with_reads_open(reads_open);
    }
    if let Some(open) = args.reads_open {
        access = access.with_reads_open(open);
    }
    if access.is_empty() {
        tracing::warn!("no tokens configured (--tokens, --tokens-file): writes will be refused");
    }
    tracing::info!(policy = ?access, "access control");
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsSettings {
            cert_pem: std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?,
            key_pem: std::fs::read(key).with_context(|| format!("reading {}", key.display()))?,
            client_ca_pem: match &args.tls_client_ca {
                Some(ca) => {
                    Some(std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?)
                }
                None => None,
            },
        }),
        _ => None,
    };
    let embedded = Dataset::embedded().context("the embedded dataset")?;
    let location = StoreLocation::parse(args.store.as_deref(), args.data_dir.clone())
        .map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    // Plugin builds are kept on this machine's disk, whichever store holds the data.
    let archive = (args.plugin_builds_kept > 0).then(|| {
        let data_dir = match &location {
            StoreLocation::Sqlite(dir) => dir.clone(),
            StoreLocation::Postgres(_) => args.data_dir.clone(),
        };
        (
            leverage_server::plugin_archive_dir(&data_dir),
            args.plugin_builds_kept,
        )
    });
    let where_ = format!("{location:?}");
    // Opening may wait on the disk or the network: off the async workers.
    let (repo, opened) = tokio::task::spawn_blocking(move || {
        let store = leverage_store::open(&location)?;
        Repository::open_store(store, &embedded)
    })
    .await?
    .with_context(|| format!("opening the store {where_}"))?;
    let store = repo.store().describe();
    match opened {
        Opened::Imported { version } => {
            tracing::info!(dataset = %version, %store, "imported the embedded dataset")
        }
        Opened::Reused { dataset_version } => {
            tracing::info!(dataset = %dataset_version, %store, "reusing the store")
        }
        Opened::Upgraded {
            from,
            to,
            revision,
            added,
            changed,
            conflicts,
        } => {
            tracing::info!(
                from = %from, to = %to, dataset_version = revision, added, changed,
                conflicts = conflicts.len(),
                "merged the newer shipped dataset into the database, keeping local edits"
            );
            for c in &conflicts {
                tracing::warn!(record = %c.key.id, kind = c.key.kind.as_str(), "upgrade conflict: {}", c.detail);
            }
        }
    }
    tracing::info!(
        dataset_version = repo.snapshot().revision(),
        "dataset version in force"
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let plugins = load_plugins(
        args.plugin_dir.clone(),
        args.plugin_config_dir.clone(),
        &args.sandbox,
        archive,
    )?;
    let traces = match &args.otlp_endpoint {
        Some(endpoint) => {
            let traces =
                leverage_server::traces::Traces::export_to(endpoint).context("--otlp-endpoint")?;
            tracing::info!(%endpoint, "exporting traces over OTLP");
            Some(traces)
        }
        None => None,
    };
    tracing::info!(
        address = %listener.local_addr()?,
        startup_ms = started.elapsed().as_millis() as u64,
        plugins = plugins.plugins().len(),
        "ready"
    );
    let state = ServerState {
        repo: Arc::new(repo),
        access,
        drain: Duration::from_millis(args.drain_ms),
        plugins,
        max_plugin_call: Duration::from_millis(args.max_plugin_call_ms),
        limits: Limits {
            max_message_bytes: args.max_message_bytes,
            max_concurrent_calls: args.max_concurrent_calls.max(1),
            max_concurrent_sweeps: args.max_concurrent_sweeps.max(1),
            max_call_duration: Duration::from_millis(args.max_call_ms),
            max_stream_duration: Duration::from_millis(args.max_stream_ms),
            reply_cache_bytes: args.reply_cache_mb << 20,
            shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
        },
        tls,
        metrics_listener: match args.metrics_listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("metrics on {addr}"))?,
            ),
            None => None,
        },
        web: args.web,
        replication: Replication {
            refresh_poll: Duration::from_millis(args.refresh_poll_ms.max(10)),
            min_version_wait: Duration::from_millis(args.min_version_wait_ms),
        },
        traces,
    };
    leverage_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let connection = cli.connection;
    if let Command::PluginWorker { plugin } = &cli.command {
        // Nothing may be written to stdout before this: it carries the worker protocol.
        return Ok(leverage_plugin_host::run_worker(plugin));
    }
    if matches!(cli.command, Command::Serve(_)) {
        commit_allocator_arenas_eagerly();
    }
    run(cli.command, &connection).map(|()| std::process::ExitCode::SUCCESS)
}

/// mimalloc commits its arenas page by page as they are first touched; on this kind of
/// virtual machine every such fault is dear, and a server reading a million observations at
/// start spent 4.6 s instead of 1.4 s in them (BENCHMARKS.md, part 6). Committing arenas
/// whole is an option mimalloc reads from the environment once, before `main`: so `serve`
/// sets it and executes itself again (same process, same arguments). Idle memory does not
/// change (34 MB either way): committed pages are only resident once written.
fn commit_allocator_arenas_eagerly() {
    use std::os::unix::process::CommandExt as _;
    const OPTION: &str = "MIMALLOC_ARENA_EAGER_COMMIT";
    if std::env::var_os(OPTION).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    // `exec` returns only when it failed; the server then runs with mimalloc's defaults.
    let error = std::process::Command::new(&exe)
        .arg0(argv0)
        .args(args)
        .env(OPTION, "1")
        .exec();
    eprintln!("leverage: could not re-execute with {OPTION}=1 ({error}); starting anyway");
}

fn run(command: Command, connection: &client::Connection) -> anyhow::Result<()> {
    let connection = connection.clone();
    match command {
        Command::Assets(c) => client_runtime()?.block_on(client::assets(&connection, c)),
        Command::Legal(c) => client_runtime()?.block_on(client::legal(&connection, c)),
        Command::Funding(c) => client_runtime()?.block_on(client::funding(&connection, c)),
        Command::Data(c) => client_runtime()?.block_on(data::data(&connection, c)),
        Command::Score {
            plugin,
            scenario,
            values,
        } => client_runtime()?.block_on(client::scoring::score(
            &connection,
            &plugin,
            &scenario,
            &values,
        )),
        Command::Plugin(PluginCommand::Describe { plugin }) => {
            client_runtime()?.block_on(client::scoring::describe(&connection, &plugin))
        }
        Command::Sweep(args) => client_runtime()?.block_on(sweep::sweep(&connection, args)),
        Command::Model(c) => client_runtime()?.block_on(report::model(&connection, c)),
        Command::Serve(args) => {
            // Blocking threads run the writes, which the repository serialises: past a few,
            // more threads only wait on its lock, and each keeps an allocator heap of its own.
            // Unbounded (tokio's default is 512), a burst of writes in the soak of issue 5
            // started 120 threads and took the server from 15 to 480 MB in ten seconds.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(4)
                .build()?;
            runtime.block_on(serve(*args))
        }
        Command::Token(TokenCommand::Hash) => {
            let mut token = String::new();
            std::io::stdin().read_line(&mut token)?;
            let token = token.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(token.len() >= 8, "a token needs at least 8 characters");
            println!("{}", leverage_server::auth::token_digest(token));
            Ok(())
        }
        Command::PluginWorker { .. } => Ok(()),
        Command::Plugin(PluginCommand::Check { path }) => {
            if !plugin_check(&path)? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
