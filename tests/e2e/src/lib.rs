//! Test harness: starts the real server (real layers, real store) on `127.0.0.1:0` in this
//! process and hands out channels to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use leverage_core::Dataset;
use leverage_server::{ServerState, Tokens};
use leverage_store::Repository;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The write token every test server accepts, recorded as author `tester`.
pub const TOKEN: &str = "test-token-0123456789";

/// A running server; stopped (gracefully) by `stop`, or aborted on drop.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server whose database lives in `data_dir` (created and imported if new).
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with_drain(data_dir, Duration::from_millis(0)).await
    }

    pub async fn start_with_drain(data_dir: &Path, drain: Duration) -> Self {
        let embedded = Dataset::embedded().expect("embedded dataset");
        let (repo, _) = Repository::open(data_dir, &embedded).expect("open repository");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let state = ServerState {
            repo: Arc::new(repo),
            tokens: Tokens::parse(&format!("tester={TOKEN}")).expect("tokens"),
            drain,
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

/// A money amount as a float of whole units.
pub fn amount(m: &Option<leverage_proto::leverage::v1::Money>) -> f64 {
    m.as_ref()
        .map_or(f64::NAN, |m| m.units as f64 + f64::from(m.nanos) / 1e9)
}
