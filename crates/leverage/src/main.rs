//! `leverage`: runs the gRPC server, and checks plugins the way the server would load them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use leverage_core::Dataset;
use leverage_server::{ServerState, Tokens};
use leverage_store::{Opened, Repository};

#[derive(Parser, Debug)]
#[command(
    name = "leverage",
    version,
    about = "A gRPC backend for analysts of pressure on Russia"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gRPC server.
    Serve(ServeArgs),
    /// Work with scoring plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Load a plugin as the server would, score sample scenarios, and report every problem.
    /// Exits non-zero when the server would refuse the plugin.
    Check {
        /// Path of the plugin's shared library (.so).
        path: PathBuf,
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
    #[arg(long, env = "LEVERAGE_DATA_DIR", default_value = "leverage-data")]
    data_dir: PathBuf,
    /// Directory of scoring plugins (every .so in it is loaded). Default: the directory of
    /// this executable, loading only the bundled `libleverage_plugin_*.so`.
    #[arg(long, env = "LEVERAGE_PLUGIN_DIR")]
    plugin_dir: Option<PathBuf>,
    /// Bearer tokens allowed to write, as `name=token` pairs separated by commas. The name is
    /// recorded as the author of each write. Without tokens, writes are refused.
    #[arg(
        long,
        env = "LEVERAGE_TOKENS",
        default_value = "",
        hide_env_values = true
    )]
    tokens: String,
    /// Log format.
    #[arg(long, env = "LEVERAGE_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// How long health reports NOT_SERVING before the server stops accepting calls on shutdown.
    #[arg(long, env = "LEVERAGE_DRAIN_MS", default_value_t = 1000)]
    drain_ms: u64,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEVERAGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    let tokens = Tokens::parse(&args.tokens)
        .map_err(anyhow::Error::msg)
        .context("--tokens")?;
    if tokens.is_empty() {
        tracing::warn!(
            "no tokens configured (--tokens or LEVERAGE_TOKENS): writes will be refused"
        );
    }
    let embedded = Dataset::embedded().context("the embedded dataset")?;
    let (repo, opened) = Repository::open(&args.data_dir, &embedded)
        .with_context(|| format!("opening the database in {}", args.data_dir.display()))?;
    match opened {
        Opened::Imported { version } => {
            tracing::info!(dataset = %version, path = %repo.store().path().display(), "imported the embedded dataset")
        }
        Opened::Reused { dataset_version } => {
            tracing::info!(dataset = %dataset_version, path = %repo.store().path().display(), "reusing the database")
        }
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, startup_ms = started.elapsed().as_millis() as u64, "ready");
    let state = ServerState {
        repo: Arc::new(repo),
        tokens,
        drain: Duration::from_millis(args.drain_ms),
    };
    leverage_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(args))
        }
        Command::Plugin(PluginCommand::Check { path }) => {
            anyhow::bail!("plugin check for {} is not available yet", path.display())
        }
    }
}
