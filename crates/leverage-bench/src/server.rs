//! Starting the servers under test in processes of their own, pinned to the server core with
//! one tokio worker, and waiting until they answer.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::hello::pb::SayHelloRequest;
use crate::hello::pb::greeter_client::GreeterClient;
use crate::sys::{ServerProcess, free_local_addr};

/// Largest message the bench's clients accept (summaries over a million observations list
/// every observation used).
pub const MAX_MESSAGE: usize = 512 * 1024 * 1024;

/// How the servers are started.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Core the servers are pinned to; `None` leaves them unpinned.
    pub cpu: Option<usize>,
    /// `LEVERAGE_LOG` for the leverage server; `None` keeps its default (`info`).
    pub log_filter: Option<String>,
    /// More arguments for `leverage serve` (e.g. `--inline-plugin=*`), recorded in the report.
    pub serve_args: Vec<String>,
}

/// Opens one HTTP/2 connection to `addr`.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await?)
}

/// Starts `leverage serve` on a free port with its database in `data_dir` and the bundled
/// plugins beside the binary (`--plugin-dir` unset), no drain on shutdown. Every `LEVERAGE_*`
/// variable of our environment is removed so that the figures do not depend on the shell.
pub fn spawn_leverage(
    bin: &Path,
    data_dir: &Path,
    options: &ServerOptions,
    log: &Path,
) -> anyhow::Result<ServerProcess> {
    spawn_leverage_with(bin, data_dir, options, log, &[])
}

/// [`spawn_leverage`] with more arguments for `serve` (e.g. `--tokens-file` for the soak's
/// writes).
pub fn spawn_leverage_with(
    bin: &Path,
    data_dir: &Path,
    options: &ServerOptions,
    log: &Path,
    extra_args: &[&OsStr],
) -> anyhow::Result<ServerProcess> {
    let addr = free_local_addr()?;
    let mut command = Command::new(bin);
    command
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--drain-ms", "0"])
        .args(&options.serve_args)
        .args(extra_args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LEVERAGE_") {
            command.env_remove(key);
        }
    }
    if let Some(filter) = &options.log_filter {
        command.env("LEVERAGE_LOG", filter);
    }
    ServerProcess::spawn("leverage serve", command, addr, options.cpu, log)
}

/// Starts this binary's bare tonic hello-world server on a free port.
pub fn spawn_hello(options: &ServerOptions, log: &Path) -> anyhow::Result<ServerProcess> {
    let addr = free_local_addr()?;
    let exe = std::env::current_exe().context("locating this executable")?;
    let mut command = Command::new(exe);
    command
        .arg("hello-server")
        .arg("--listen")
        .arg(addr.to_string());
    ServerProcess::spawn("hello-server", command, addr, options.cpu, log)
}

/// Polls the standard health service until it answers SERVING and returns the time since the
/// process was spawned. With `tight`, retries at once (for start-up times); otherwise every
/// 10 ms.
pub async fn wait_serving(
    server: &mut ServerProcess,
    timeout: Duration,
    tight: bool,
) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        server.check_alive()?;
        if Instant::now() > deadline {
            bail!(
                "{} did not answer SERVING within {timeout:?} (last error: {last_error}); end of its log:\n{}",
                server.name,
                server.log_tail(20)
            );
        }
        match health_check(server.addr).await {
            Ok(true) => return Ok(server.spawned_at.elapsed()),
            Ok(false) => last_error = "not SERVING yet".into(),
            Err(e) => last_error = e.to_string(),
        }
        if !tight {
            tokio::time::sleep(Duration::from_millis(10)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}

async fn health_check(addr: SocketAddr) -> anyhow::Result<bool> {
    let channel = connect(addr).await?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    Ok(reply.status == ServingStatus::Serving as i32)
}

/// Calls SayHello until it answers, for the hello-world server (which has no health service).
pub async fn wait_hello(server: &mut ServerProcess, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        server.check_alive()?;
        let attempt = async {
            let mut client = GreeterClient::new(connect(server.addr).await?);
            let reply = client
                .say_hello(SayHelloRequest {
                    name: "bench".into(),
                })
                .await?;
            anyhow::Ok(reply.into_inner().message)
        };
        match attempt.await {
            Ok(message) if message == "Hello, bench" => return Ok(()),
            Ok(message) => bail!("hello-server answered {message:?}"),
            Err(e) if Instant::now() > deadline => {
                bail!("hello-server did not answer within {timeout:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
