//! The baseline: a bare tonic hello-world server, nothing around it (no layers, no health,
//! no reflection), run as `leverage-bench hello-server --listen ADDR` in a process of its own.

use std::net::SocketAddr;

use tonic::{Request, Response, Status};

/// Code generated from `proto/hello.proto`.
pub mod pb {
    #![allow(clippy::all, clippy::pedantic, clippy::nursery)]
    tonic::include_proto!("hello.v1");
}

use pb::greeter_server::{Greeter, GreeterServer};
use pb::{SayHelloRequest, SayHelloResponse};

#[derive(Debug, Default)]
struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    async fn say_hello(
        &self,
        request: Request<SayHelloRequest>,
    ) -> Result<Response<SayHelloResponse>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(SayHelloResponse {
            message: format!("Hello, {name}"),
        }))
    }
}

/// Serves until killed. The runtime is multi-threaded like the leverage server's, so that
/// `TOKIO_WORKER_THREADS` sets its workers the same way.
pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        tonic::transport::Server::builder()
            .add_service(GreeterServer::new(Hello))
            .serve(listen)
            .await
    })?;
    Ok(())
}
