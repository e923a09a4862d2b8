//! The leverage gRPC server: thin tonic handlers over the domain (`leverage-core`), the store
//! (`leverage-store`) and the plugin host, one error mapping (`error`), bearer-token auth for
//! writes (`auth`), standard health and reflection, and graceful shutdown.

pub mod access_log;
pub mod assets;
pub mod auth;
pub mod convert;
pub mod dataset;
pub mod dataset_versions;
pub mod edit;
pub mod error;
pub mod funding;
pub mod health;
pub mod legal;
pub mod limits;
pub mod metrics;
pub mod reply_cache;
pub mod scoring;
pub mod traces;
pub mod versions;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use leverage_plugin_host::PluginHost;
use leverage_proto::leverage::v1::asset_service_server::AssetServiceServer;
use leverage_proto::leverage::v1::dataset_service_server::DatasetServiceServer;
use leverage_proto::leverage::v1::defence_funding_service_server::DefenceFundingServiceServer;
use leverage_proto::leverage::v1::legal_risk_service_server::LegalRiskServiceServer;
use leverage_proto::leverage::v1::scoring_service_server::ScoringServiceServer;
use leverage_store::Repository;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

pub use auth::AccessPolicy;

/// Where the server keeps the plugin builds that served (`HostOptions::archive_dir`), in its
/// data directory: `plugins/{id}@{build}` names them.
pub fn plugin_archive_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("plugin-builds")
}

/// Limits that keep the server responsive under load and hostile input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Calls in progress at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_concurrent_calls: usize,
    /// Sweeps in progress at once (each also counts as a call); more are refused with
    /// RESOURCE_EXHAUSTED.
    pub max_concurrent_sweeps: usize,
    /// Longest a unary call may run, whatever the client asks.
    pub max_call_duration: Duration,
    /// Longest a server stream (a sweep, an export) may run, from the call to its last message.
    pub max_stream_duration: Duration,
    /// Memory for the encoded replies of repeated reads (`reply_cache`); 0 turns it off.
    pub reply_cache_bytes: usize,
    /// After the drain, how long calls in flight may take to finish before the server stops
    /// anyway.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_concurrent_calls: 1024,
            max_concurrent_sweeps: 8,
            max_call_duration: Duration::from_secs(120),
            max_stream_duration: Duration::from_secs(600),
            reply_cache_bytes: 64 << 20,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// TLS: the server's certificate chain and key, and for mutual TLS the CA that client
/// certificates must chain to. All PEM.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

/// Everything a running server needs.
#[derive(Debug)]
pub struct ServerState {
    pub repo: Arc<Repository>,
    pub access: AccessPolicy,
    /// How long health reports NOT_SERVING before the listener closes, so that load balancers
    /// and clients watching health stop sending new calls first.
    pub drain: Duration,
    /// The scoring plugins.
    pub plugins: PluginHost,
    /// Longest a plugin call may run, whatever the client's deadline.
    pub max_plugin_call: Duration,
    pub limits: Limits,
    pub tls: Option<TlsSettings>,
    /// Where to serve Prometheus metrics (`GET /metrics`), if anywhere.
    pub metrics_listener: Option<TcpListener>,
    /// Serve browsers too: gRPC-Web (over HTTP/1.1 as well as HTTP/2) with CORS, and the
    /// analyst's page at `GET /` (`web`).
    pub web: bool,
    pub replication: Replication,
    /// Where each call's span goes (OpenTelemetry over OTLP), if anywhere; flushed when the
    /// server stops.
    pub traces: Option<traces::Traces>,
}

/// How a replica keeps up with a store that other replicas write to.
#[derive(Clone, Copy, Debug)]
pub struct Replication {
    /// How often the store is asked for revisions that other replicas wrote, whatever it
    /// announces (a store without announcements, or one missed while reconnecting).
    pub refresh_poll: Duration,
    /// Longest a call asking for at least a dataset version waits for this replica to reach
    /// it before it is refused.
    pub min_version_wait: Duration,
}

impl Default for Replication {
    fn default() -> Self {
        Self {
            refresh_poll: Duration::from_secs(1),
            min_version_wait: Duration::from_secs(2),
        }
    }
}

/// The fully qualified names of the leverage services, as health and reflection know them.
pub const SERVICES: [&str; 5] = [
    <AssetServiceServer<assets::Assets> as NamedService>::NAME,
    <DatasetServiceServer<dataset::DatasetApi> as NamedService>::NAME,
    <LegalRiskServiceServer<legal::LegalApi> as NamedService>::NAME,
    <DefenceFundingServiceServer<funding::FundingApi> as NamedService>::NAME,
    <ScoringServiceServer<scoring::ScoringApi> as NamedService>::NAME,
];

/// Serves on `listener` until `shutdown` completes; then reports NOT_SERVING for `drain`,
/// stops accepting, lets calls in flight finish for up to `limits.shutdown_grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health_service) = tonic_health::server::health_reporter();

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(leverage_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(leverage_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let ServerState {
        repo,
        access,
        drain,
        plugins,
        max_plugin_call,
        limits,
        tls,
        metrics_listener,
        web,
        replication,
        traces,
    } = state;
    let stop_following = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (repo, stop) = (Arc::clone(&repo), Arc::clone(&stop_following));
        std::thread::Builder::new()
            .name("leverage-follow".into())
            .spawn(move || repo.follow(replication.refresh_poll, &stop))
            .map_err(|e| ServeError::Setup(format!("cannot start following the store: {e}")))?;
    }
    let health = health::Health::new(reporter);
    health.start(&plugins, &repo).await;
    let stop_watching = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(
        health
            .clone()
            .watch_store(Arc::clone(&repo), Arc::clone(&stop_watching)),
    );
    let metrics = metrics::Metrics::default();
    let scoring = scoring::ScoringApi::new(
        Arc::clone(&repo),
        plugins,
        max_plugin_call,
        metrics.clone(),
        health.clone(),
    );
    let metrics_stop = Arc::new(tokio::sync::Notify::new());
    if let Some(listener) = metrics_listener {
        let (metrics, repo, stop) = (
            metrics.clone(),
            Arc::clone(&repo),
            Arc::clone(&metrics_stop),
        );
        tokio::spawn(async move {
            let stopped = async move { stop.notified().await };
            if let Err(e) = metrics::serve_metrics(listener, metrics, repo, stopped).await {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        });
    }
    let draining = Arc::new(tokio::sync::Notify::new());
    let drained = Arc::clone(&draining);
    let signal = async move {
        shutdown.await;
        tracing::info!(
            drain_ms = drain.as_millis() as u64,
            "shutting down: health is NOT_SERVING"
        );
        health.drain().await;
        tokio::time::sleep(drain).await;
        tracing::info!("no longer accepting connections; finishing calls in flight");
        drained.notify_one();
    };

    // Every service takes the same message limits; the generated servers share no trait to
    // set them through, hence a macro.
    let size = limits.max_message_bytes;
    macro_rules! sized {
        ($service:expr) => {
            $service
                .max_decoding_message_size(size)
                .max_encoding_message_size(size)
        };
    }
    // Every service, the standard ones included, takes gzip and zstd requests and answers
    // compressed when the caller says it accepts one (`grpc-accept-encoding`, in the caller's
    // order of preference); a caller that says nothing, as a browser over gRPC-Web, gets plain
    // replies, and an encoding outside these two gets UNIMPLEMENTED from tonic.
    macro_rules! compressed {
        ($service:expr) => {
            $service
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Zstd)
        };
    }
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(tls.cert_pem, tls.key_pem));
        if let Some(ca) = tls.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder.tls_config(config)?;
    }
    tracing::info!(address = ?listener.local_addr().ok(), ?limits, web, "serving");
    let server = builder
        .accept_http1(web)
        .trace_fn(|req| tracing::debug_span!("grpc", method = %req.uri().path()))
        .layer(web::WebLayer { enabled: web })
        .layer(access_log::AccessLogLayer {
            metrics,
            tracer: traces.as_ref().map(traces::Traces::tracer),
        })
        .layer(limits::CallLimitsLayer::new(&limits))
        .layer(auth::AccessLayer {
            policy: Arc::new(access),
        })
        .layer(versions::VersionLayer {
            repo: Arc::clone(&repo),
            min_version_wait: replication.min_version_wait,
        })
        .layer(reply_cache::ReplyCacheLayer::new(limits.reply_cache_bytes))
        .add_service(compressed!(health_service))
        .add_service(compressed!(reflection_v1))
        .add_service(compressed!(reflection_v1alpha))
        .add_service(compressed!(sized!(AssetServiceServer::new(
            assets::Assets {
                repo: Arc::clone(&repo),
            }
        ))))
        .add_service(compressed!(sized!(DatasetServiceServer::new(
            dataset::DatasetApi {
                repo: Arc::clone(&repo),
            }
        ))))
        .add_service(compressed!(sized!(LegalRiskServiceServer::new(
            legal::LegalApi {
                repo: Arc::clone(&repo),
            }
        ))))
        .add_service(compressed!(sized!(DefenceFundingServiceServer::new(
            funding::FundingApi {
                repo: Arc::clone(&repo),
            }
        ))))
        .add_service(compressed!(sized!(ScoringServiceServer::new(scoring))))
        .serve_with_incoming_shutdown(incoming(listener), signal);
    let grace = limits.shutdown_grace;
    tokio::select! {
        result = server => result?,
        () = async {
            draining.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "calls still in flight after the grace period; stopping anyway");
        }
    }
    metrics_stop.notify_one();
    stop_watching.notify_one();
    stop_following.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(traces) = traces {
        // The spans of the last calls are still queued: send them before the process ends.
        // Flushing blocks on the export, so it runs off the async workers.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    Ok(())
}

/// Runs store work (SQLite reads and fsynced writes) on tokio's blocking threads: on the
/// server's own worker it would stall every other call meanwhile.
pub(crate) async fn off_the_workers<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, tonic::Status> + Send + 'static,
) -> Result<T, tonic::Status> {
    tokio::task::spawn_blocking(op)
        .await
        .map_err(|e| error::internal(format!("the store work did not complete: {e}")))?
}

/// Accepted connections with Nagle's algorithm off: a gRPC reply is written in pieces (headers,
/// data, trailers), and with Nagle on the last piece waits for the client's delayed ACK, which
/// added 40 ms to every call whose reply did not fill a segment (measured in issue 4).
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the compiled-in descriptor sets do not load: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport failure: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("{0}")]
    Setup(String),
}
