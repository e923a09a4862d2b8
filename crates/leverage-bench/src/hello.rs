//! The baselines: a bare tonic server, nothing around it (no layers, no health, no reflection),
//! run as `leverage-bench hello-server --listen ADDR` in a process of its own. `SayHello` is
//! the hello world; `Sized` returns a reply of a requested size, the floor of a read RPC whose
//! reply is that large.

use std::net::SocketAddr;

use tonic::{Request, Response, Status};

/// Code generated from `proto/hello.proto`.
pub mod pb {
    #![allow(clippy::all, clippy::pedantic, clippy::nursery)]
    tonic::include_proto!("hello.v1");
}

use pb::greeter_server::{Greeter, GreeterServer};
use pb::{SayHelloRequest, SayHelloResponse, SizedRequest, SizedResponse};

/// Largest `Sized` reply.
pub const MAX_SIZED: usize = 4 << 20;

#[derive(Debug)]
struct Hello {
    payload: bytes::Bytes,
}

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

    async fn sized(
        &self,
        request: Request<SizedRequest>,
    ) -> Result<Response<SizedResponse>, Status> {
        let SizedRequest { size, pad } = request.into_inner();
        let size = size as usize;
        if size > self.payload.len() {
            return Err(Status::out_of_range(format!("at most {MAX_SIZED} bytes")));
        }
        Ok(Response::new(SizedResponse {
            payload: self.payload.slice(..size),
            pad,
        }))
    }
}

/// The payload of every `Sized` reply: not all one byte, in case anything on the way compresses.
fn payload() -> bytes::Bytes {
    (0..MAX_SIZED)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Serves until killed. The runtime is multi-threaded like the leverage server's, so that
/// `TOKIO_WORKER_THREADS` sets its workers the same way.
pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        tonic::transport::Server::builder()
            .add_service(GreeterServer::new(Hello { payload: payload() }))
            .serve(listen)
            .await
    })?;
    Ok(())
}
