//! Helpers shared by the tests that run the real `leverage` binary or outside tools.
//! Each test crate uses a part of them.
#![allow(dead_code)]

pub mod page;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bundled plugins, as cargo builds them beside the binary.
pub const PLUGINS: &[&str] = &[
    "libleverage_plugin_pressure_index.so",
    "libleverage_plugin_prudent_pressure.so",
];

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Whether this run is CI's, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Fails under CI; otherwise prints (uncaptured, so it shows in `cargo test` output) why the
/// test skips, and `help`: how to install what is missing.
pub fn skip_or_fail(test: &str, why: &str, help: &str) {
    assert!(
        !in_ci(),
        "{test}: {why}; CI is set, so this is a failure: {help}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}; {help}");
}

/// Runs the client binary with `args` off the async workers, which serve the tests' in-process
/// servers meanwhile: with the test token, read-your-writes state of its own (the user's would
/// carry versions from other runs to servers that reuse their ports), and none of the caller's
/// `LEVERAGE_SERVER`, `LEVERAGE_DATASET_VERSION` or backtrace settings (an error is its message).
pub async fn cli<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let state = tempfile::tempdir().expect("temp dir");
        Command::new(env!("CARGO_BIN_EXE_leverage"))
            .args(&args)
            .env("LEVERAGE_TOKEN", leverage_e2e::TOKEN)
            .env("XDG_STATE_HOME", state.path())
            .env_remove("LEVERAGE_SERVER")
            .env_remove("LEVERAGE_DATASET_VERSION")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .output()
            .expect("run leverage")
    })
    .await
    .expect("the client ran")
}

/// The standard output of a command that must have succeeded.
pub fn succeeded(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "the command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// A local port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// How to install what the tests that run Python miss.
pub const PYTHON_HELP: &str = "install them with `python3 -m venv .venv && .venv/bin/python -m pip \
                               install -r clients/python/requirements-dev.txt` (as .ci/run does)";

/// The Python that runs the client's tests and tools: `LEVERAGE_PYTHON` when set, else the
/// clone's `.venv/bin/python` when `.ci/run` (or a developer) made one, else `python3`.
pub fn python() -> PathBuf {
    if let Some(explicit) = std::env::var_os("LEVERAGE_PYTHON") {
        return PathBuf::from(explicit);
    }
    let venv = workspace().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// `Err(why)` when `python` cannot run, lacks one of `modules`, or fails `check` (more Python,
/// run after the imports).
pub fn python_ready(python: &Path, modules: &[&str], check: &str) -> Result<(), String> {
    let mut script: String = modules.iter().map(|m| format!("import {m}\n")).collect();
    script.push_str(check);
    let out = Command::new(python)
        .args(["-c", &script])
        .output()
        .map_err(|e| format!("{} cannot be run ({e})", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").trim();
        Err(format!(
            "{} lacks the client's test dependencies ({last})",
            python.display()
        ))
    }
}

/// A child process that is killed when this is dropped, so that a failed test leaves none
/// running.
#[derive(Debug)]
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `leverage serve` of this build on 127.0.0.1:`port`, with `args` besides, its output
/// appended to `log`. Reads no `LEVERAGE_*` setting of the caller's shell.
pub fn spawn_server<I, S>(port: u16, args: I, log: &Path) -> KillOnDrop
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    spawn_server_with_env(port, args, std::iter::empty::<(&str, &str)>(), log)
}

/// [`spawn_server`] with environment variables `env` set for the server (which may be
/// `LEVERAGE_*` ones, or others such as the OpenTelemetry SDK's `OTEL_*`).
pub fn spawn_server_with_env<I, S, E, K, V>(port: u16, args: I, env: E, log: &Path) -> KillOnDrop
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
    E: IntoIterator<Item = (K, V)>,
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("server log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_leverage"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LEVERAGE_") {
            command.env_remove(name);
        }
    }
    let child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env("LEVERAGE_LOG", "warn")
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().expect("server log"))
        .stderr(out)
        .spawn()
        .expect("start leverage serve");
    KillOnDrop(child)
}

/// Waits until the server on `port` reports health `""` SERVING; panics, with the end of its
/// log, if it exits or takes over a minute.
pub fn wait_serving(server: &mut KillOnDrop, port: u16, log: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !serving(port) {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "the server on port {port} exited ({status}):\n{}",
                tail(log)
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server on port {port} was not serving after a minute:\n{}",
            tail(log)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Whether the server on `port` answers health `""` with SERVING now.
pub fn serving(port: u16) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let Ok(endpoint) =
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        else {
            return false;
        };
        let Ok(channel) = endpoint
            .connect_timeout(std::time::Duration::from_secs(1))
            .timeout(std::time::Duration::from_secs(2))
            .connect()
            .await
        else {
            return false;
        };
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
    })
}

/// The last lines of a log, for a failure's message.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
