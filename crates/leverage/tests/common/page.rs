//! The browser page's tests: the REAL `leverage` binary started with `--web`, the two bundled
//! plugins and the fixture `fixture-escrow`, and a Node script of `web/test/` that drives the page
//! in headless Chromium (playwright-core, Debian's `/usr/bin/chromium`) against it.
//!
//! A script gets `LEVERAGE_URL`, `LEVERAGE_EXPECTED` (JSON: what the calling test got over plain
//! gRPC with tonic, which the page must show), `CHROMIUM`, and `SCREENSHOT` when
//! `LEVERAGE_SCREENSHOTS` names a directory (the README's screenshots are made this way:
//! `LEVERAGE_SCREENSHOTS=web/screenshots cargo test -p leverage --test 'web_*' --test browser`).
//! It prints `<file name without .mjs>: ok` last when every check held.
//!
//! Without node, Chromium or `web/node_modules` a test fails when `CI` is set (CI must never skip
//! silently) and otherwise says why it skips and passes.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PLUGINS, free_port, skip_or_fail, workspace};

/// How to install what a skipped test misses.
pub const HELP: &str = "install Chromium (`apt-get install -y --no-install-recommends chromium`) \
                        and Node.js 20, then `npm ci` in web/ (as .ci/run does)";

/// A server process of a test, killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `http://ADDR`, for tonic and for the page.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts `leverage serve` on a free port with a data directory of its own, the bundled plugins
/// and fixture-escrow, `--web` when `web`, and `extra` arguments; returns once it listens.
pub fn start_server(web: bool, extra: &[&str]) -> Server {
    let plugins = tempfile::tempdir().expect("temp dir");
    let built = leverage_e2e::plugin_libraries();
    let escrow = [("libfixture_escrow_v1.so", "libfixture_escrow.so")];
    for (from, to) in PLUGINS.iter().map(|n| (*n, *n)).chain(escrow) {
        std::fs::copy(built.join(from), plugins.path().join(to))
            .unwrap_or_else(|e| panic!("copy {from}: {e}"));
    }
    let data = tempfile::tempdir().expect("temp dir");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let mut command = Command::new(env!("CARGO_BIN_EXE_leverage"));
    command
        .args(["serve", "--listen", &addr.to_string(), "--drain-ms", "0"])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--plugin-dir")
        .arg(plugins.path())
        .args(extra)
        .env_remove("LEVERAGE_WEB")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if web {
        command.arg("--web");
    }
    let child = command.spawn().expect("start leverage serve");
    let mut server = Server {
        child,
        addr,
        _dirs: (plugins, data),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "the server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// What a page test runs with: node's version and the Chromium binary.
pub struct Browser {
    pub node_version: String,
    pub chromium: PathBuf,
}

fn tool_version(program: &str, arg: &str) -> Result<String, String> {
    let out = Command::new(program)
        .arg(arg)
        .output()
        .map_err(|e| format!("{program} cannot be run ({e})"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!("{program} {arg} failed ({})", out.status))
    }
}

/// Node, Chromium and web/node_modules, or None when the test `test` skips (outside CI).
pub fn browser(test: &str) -> Option<Browser> {
    let chromium = std::env::var_os("LEVERAGE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let found = tool_version("node", "--version").and_then(|node_version| {
        if !chromium.exists() {
            return Err(format!("no Chromium at {}", chromium.display()));
        }
        let web = workspace().join("web");
        for needed in ["node_modules/playwright-core", "client/dist/index.js"] {
            if !web.join(needed).exists() {
                return Err(format!("web/{needed} is missing"));
            }
        }
        Ok(node_version)
    });
    match found {
        Ok(node_version) => Some(Browser {
            node_version,
            chromium,
        }),
        Err(why) => {
            skip_or_fail(test, &why, HELP);
            None
        }
    }
}

/// Runs `web/test/<script>` against `server` with `expected`, and fails with its output unless
/// it exits 0 having printed `<name>: ok`, `name` being the script's file name without
/// `.mjs` (`page.test: ok`). `screenshot` names the PNG kept under `LEVERAGE_SCREENSHOTS`, when set.
pub fn run_script(
    browser: &Browser,
    script: &str,
    server: &Server,
    expected: &Value,
    screenshot: &str,
) -> String {
    let root = workspace();
    let mut command = Command::new("node");
    command
        .current_dir(root.join("web"))
        .arg(format!("test/{script}"))
        .env("LEVERAGE_URL", server.url())
        .env("LEVERAGE_EXPECTED", expected.to_string())
        .env("CHROMIUM", &browser.chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = std::env::var_os("LEVERAGE_SCREENSHOTS") {
        let dir = root.join(PathBuf::from(dir));
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        command.env("SCREENSHOT", dir.join(screenshot));
    }
    let mut child = command.spawn().expect("run node");
    // Read both pipes on threads so that neither can fill up and stall the browser test.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    println!(
        "node {}, {}\n{stdout}{stderr}",
        browser.node_version,
        browser.chromium.display()
    );
    let status = status.unwrap_or_else(|| panic!("{script} ran past 180 s:\n{stdout}\n{stderr}"));
    assert!(
        status.success(),
        "{script} failed ({status}):\n{stdout}\n{stderr}"
    );
    let name = script.trim_end_matches(".mjs");
    let name = name.rsplit('/').next().unwrap_or(name);
    assert!(stdout.contains(&format!("{name}: ok")), "{stdout}");
    stdout
}

/// Runs `expectations` with a channel to `server` over plain gRPC (tonic), on a runtime of its
/// own: what a page test gets this way is what the page must show.
pub fn over_grpc<T, F>(
    server: &Server,
    expectations: impl FnOnce(tonic::transport::Channel) -> F,
) -> T
where
    F: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(server.url())
            .expect("server address")
            .connect()
            .await
            .expect("connect over gRPC");
        expectations(channel).await
    })
}

/// A refusal's field violations (google.rpc.BadRequest) as `{ field, description }` objects,
/// the form a page test compares with what the page shows next to its fields.
pub fn field_violations(status: &tonic::Status) -> Vec<Value> {
    use tonic_types::StatusExt as _;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations)
        .unwrap_or_default()
        .into_iter()
        .map(|v| serde_json::json!({ "field": v.field, "description": v.description }))
        .collect()
}
