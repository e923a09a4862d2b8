//! The leverage gRPC server: thin tonic handlers over the domain (`leverage-core`), the store
//! (`leverage-store`) and the plugin host, one error mapping (`error`), bearer-token auth for
//! writes (`auth`), standard health and reflection, and graceful shutdown.

pub mod access_log;
pub mod assets;
pub mod auth;
pub mod convert;
pub mod dataset;
pub mod error;
pub mod funding;
pub mod legal;
pub mod scoring;

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
use tokio_stream::wrappers::TcpListenerStream;
use tonic::server::NamedService;
use tonic::transport::Server;

pub use auth::Tokens;

/// Everything a running server needs.
#[derive(Debug)]
pub struct ServerState {
    pub repo: Arc<Repository>,
    pub tokens: Tokens,
    /// How long health reports NOT_SERVING before the listener closes, so that load balancers
    /// and clients watching health stop sending new calls first.
    pub drain: Duration,
    /// The scoring plugins.
    pub plugins: PluginHost,
    /// Longest a plugin call may run, whatever the client's deadline.
    pub max_plugin_call: Duration,
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
/// stops accepting, and lets calls in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in SERVICES {
        health
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

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
        tokens,
        drain,
        plugins,
        max_plugin_call,
    } = state;
    let scoring =
        scoring::ScoringApi::new(Arc::clone(&repo), plugins, tokens.clone(), max_plugin_call);
    let reporter = health.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!(
            drain_ms = drain.as_millis() as u64,
            "shutting down: health is NOT_SERVING"
        );
        for name in SERVICES {
            reporter
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        tokio::time::sleep(drain).await;
        tracing::info!("no longer accepting connections; finishing calls in flight");
    };

    tracing::info!(address = ?listener.local_addr().ok(), "serving");
    Server::builder()
        .trace_fn(|req| tracing::info_span!("grpc", method = %req.uri().path()))
        .layer(access_log::AccessLogLayer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(AssetServiceServer::new(assets::Assets {
            repo: Arc::clone(&repo),
            tokens: tokens.clone(),
        }))
        .add_service(DatasetServiceServer::new(dataset::DatasetApi {
            repo: Arc::clone(&repo),
        }))
        .add_service(LegalRiskServiceServer::new(legal::LegalApi {
            repo: Arc::clone(&repo),
        }))
        .add_service(DefenceFundingServiceServer::new(funding::FundingApi {
            repo: Arc::clone(&repo),
        }))
        .add_service(ScoringServiceServer::new(scoring))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal)
        .await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the compiled-in descriptor sets do not load: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport failure: {0}")]
    Transport(#[from] tonic::transport::Error),
}
