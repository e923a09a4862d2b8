//! Test harness: starts the real server (real layers, real store) on `127.0.0.1:0` in this
//! process and hands out channels to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use leverage_core::Dataset;
use leverage_plugin_host::{HostOptions, PluginHost};
use leverage_server::{AccessPolicy, Limits, Replication, ServerState, TlsSettings};
use leverage_store::{Repository, StoreLocation};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The admin token every test server accepts, recorded as author `tester`.
pub const TOKEN: &str = "test-token-0123456789";
/// A reader's token.
pub const READER_TOKEN: &str = "reader-token-0123456789";
/// An editor's token.
pub const EDITOR_TOKEN: &str = "editor-token-0123456789";

/// A running server; stopped (gracefully) by `stop`, or aborted on drop.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    /// Where metrics are served, when asked for.
    pub metrics_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

/// What a test server is started with; `Default` is the usual: no plugins, no drain, the three
/// test tokens, default limits, plain text.
#[derive(Debug, Clone)]
pub struct Options {
    pub drain: Duration,
    pub plugin_dir: Option<PathBuf>,
    pub host: HostOptions,
    pub access: AccessPolicy,
    pub limits: Limits,
    pub tls: Option<TlsSettings>,
    /// Serve metrics too (on a port of their own; `TestServer::metrics_addr`).
    pub metrics: bool,
    /// The dataset the "build" ships; the embedded one when `None`. A test of upgrades starts a
    /// server with a newer one on a database the embedded one created.
    pub shipped: Option<Dataset>,
    /// A shared store (a `postgres://` URL) instead of the SQLite database in the data
    /// directory: several test servers on one are replicas.
    pub store: Option<String>,
    pub replication: Replication,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            drain: Duration::ZERO,
            plugin_dir: None,
            host: HostOptions::default(),
            access: AccessPolicy::parse_tokens(&format!(
                "tester:admin={TOKEN},reader:reader={READER_TOKEN},editor:editor={EDITOR_TOKEN}"
            ))
            .expect("tokens"),
            limits: Limits::default(),
            tls: None,
            metrics: false,
            shipped: None,
            store: None,
            replication: Replication::default(),
        }
    }
}

impl TestServer {
    /// Starts a server whose database lives in `data_dir` (created and imported if new).
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, Options::default()).await
    }

    pub async fn start_with_drain(data_dir: &Path, drain: Duration) -> Self {
        Self::start_with(
            data_dir,
            Options {
                drain,
                ..Options::default()
            },
        )
        .await
    }

    /// Starts a server with the plugins of `plugin_dir`, loaded with `options`.
    pub async fn start_with_plugins(data_dir: &Path, plugin_dir: &Path, host: HostOptions) -> Self {
        let options = Options {
            plugin_dir: Some(plugin_dir.to_owned()),
            host,
            ..Options::default()
        };
        Self::start_with(data_dir, options).await
    }

    pub async fn start_with(data_dir: &Path, options: Options) -> Self {
        let plugin_dir = options
            .plugin_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("no-plugins"));
        std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
        let catalog = leverage_core::scenario::catalog_names();
        let plugins =
            PluginHost::load_dir_with(&plugin_dir, &catalog, options.host).expect("plugin host");
        let shipped = match options.shipped {
            Some(d) => d,
            None => Dataset::embedded().expect("embedded dataset"),
        };
        let location = StoreLocation::parse(options.store.as_deref(), data_dir.to_owned())
            .expect("store location");
        // Opening waits on the disk or the network: off the async workers.
        let (repo, _) = tokio::task::spawn_blocking(move || {
            Repository::open_store(leverage_store::open(&location)?, &shipped)
        })
        .await
        .expect("opening did not complete")
        .expect("open repository");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let metrics_listener = if options.metrics {
            Some(
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind metrics"),
            )
        } else {
            None
        };
        let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let state = ServerState {
            repo: Arc::new(repo),
            access: options.access,
            drain: options.drain,
            plugins,
            max_plugin_call: Duration::from_secs(30),
            limits: options.limits,
            tls: options.tls,
            metrics_listener,
            web: false,
            replication: options.replication,
            traces: None,
        };
        let handle = tokio::spawn(async move {
            leverage_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server failed");
        });
        Self {
            addr,
            metrics_addr,
            data_dir: data_dir.to_owned(),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect")
    }

    /// Asks the server to shut down without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// Adds the test token to a request.
pub fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("header"),
    );
    r
}

/// The fields named by a status's BadRequest details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The ErrorInfo reason of a status.
pub fn error_reason(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|i| i.reason)
}

pub fn date(year: i32, month: i32, day: i32) -> Option<leverage_proto::leverage::v1::Date> {
    Some(leverage_proto::leverage::v1::Date { year, month, day })
}

/// A sweep of the reparations loan as of 2025-12-31 with pressure-index (a cheap model):
/// interest rate 0 to 10 % in `rate_steps` values by guarantee sharing 0 to 1 in
/// `sharing_steps` values, streamed in chunks of `chunk_size` points.
pub fn rate_by_sharing_sweep(
    rate_steps: i32,
    sharing_steps: i32,
    chunk_size: i32,
) -> leverage_proto::leverage::v1::SweepScenarioRequest {
    use leverage_proto::leverage::v1 as pb;
    pb::SweepScenarioRequest {
        base: Some(pb::Scenario {
            use_mode: pb::AssetAction::ReparationsLoan as i32,
            as_of: date(2025, 12, 31),
            ..Default::default()
        }),
        plugin: "plugins/pressure-index".into(),
        axes: vec![
            pb::SweepAxis {
                lever: pb::Lever::InterestRatePct as i32,
                start: 0.0,
                stop: 10.0,
                steps: rate_steps,
                ..Default::default()
            },
            pb::SweepAxis {
                lever: pb::Lever::GuaranteeSharing as i32,
                start: 0.0,
                stop: 1.0,
                steps: sharing_steps,
                ..Default::default()
            },
        ],
        chunk_size,
        ..Default::default()
    }
}

/// A money amount as a float of whole units.
pub fn amount(m: &Option<leverage_proto::leverage::v1::Money>) -> f64 {
    m.as_ref()
        .map_or(f64::NAN, |m| m.units as f64 + f64::from(m.nanos) / 1e9)
}

/// Builds plugin packages once per test binary, with a nested cargo into a target directory of
/// its own (so it never waits on the lock of the cargo running the tests), and returns the
/// directory holding the libraries. `fixture-slow` and `fixture-escrow` are built twice: as
/// `libfixture_slow_v1.so` and, with `--features v2`, `libfixture_slow_v2.so` (the same for
/// `libfixture_escrow_v1.so` and `libfixture_escrow_v2.so`).
pub fn plugin_libraries() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = workspace.join("target/e2e-plugins");
        let build = |args: &[&str]| {
            let status = std::process::Command::new(env!("CARGO"))
                .current_dir(&workspace)
                .args(["build", "--quiet", "--target-dir"])
                .arg(&target)
                .args(args)
                .status()
                .expect("run cargo");
            assert!(status.success(), "cargo build {args:?} failed");
        };
        let mut packages = vec![
            "leverage-plugin-pressure-index",
            "leverage-plugin-prudent-pressure",
        ];
        for fixture in [
            "panics",
            "hangs",
            "slow",
            "wrong-abi",
            "bad-layout",
            "unknown-inputs",
            "aborts",
            "segfaults",
            "escrow",
            "abi-1-0",
            "bad-own-inputs",
        ] {
            packages.push(Box::leak(format!("fixture-{fixture}").into_boxed_str()));
        }
        let mut args = Vec::new();
        for p in &packages {
            args.extend(["-p", p]);
        }
        build(&args);
        let out = target.join("debug");
        std::fs::copy(
            out.join("libfixture_slow.so"),
            out.join("libfixture_slow_v1.so"),
        )
        .expect("copy v1");
        std::fs::copy(
            out.join("libfixture_escrow.so"),
            out.join("libfixture_escrow_v1.so"),
        )
        .expect("copy v1");
        build(&[
            "-p",
            "fixture-slow",
            "-p",
            "fixture-escrow",
            "--features",
            "fixture-slow/v2,fixture-escrow/v2",
        ]);
        for name in ["slow", "escrow"] {
            std::fs::copy(
                out.join(format!("libfixture_{name}.so")),
                out.join(format!("libfixture_{name}_v2.so")),
            )
            .expect("copy v2");
        }
        out
    })
}

/// A fresh plugin directory holding copies of the named libraries (file names in
/// [`plugin_libraries`]), each under the name given.
pub fn plugin_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (from, to) in files {
        std::fs::copy(plugin_libraries().join(from), dir.path().join(to)).expect("copy plugin");
    }
    dir
}
