//! `--compression` of the CLI against the REAL server: gzip and zstd give the same tables and
//! JSON as plain calls, and the server's access log (its line per call names the reply's
//! encoding) shows that the replies really went compressed, and plain without the flag.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{KillOnDrop, free_port, tail, wait_serving};

const LIST: &str = "/leverage.v1.AssetService/ListHoldings";
const ASSESS: &str = "/leverage.v1.LegalRiskService/AssessLegalRisk";

/// `leverage serve` with its access log at debug level (a line per call) in `log`.
fn serve(port: u16, data: &Path, log: &Path) -> KillOnDrop {
    common::spawn_server_with_env(
        port,
        [std::ffi::OsStr::new("--data-dir"), data.as_os_str()],
        [("LEVERAGE_LOG", "warn,leverage_server::access_log=debug")],
        log,
    )
}

fn cli(port: u16, state: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leverage"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LEVERAGE_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .args(["--server", &format!("http://127.0.0.1:{port}")])
        .env("XDG_STATE_HOME", state)
        .output()
        .unwrap()
}

/// The lines of the access log for calls to `method` answered in `encoding`.
fn replies(log: &Path, method: &str, encoding: &str) -> usize {
    let method = format!("method={method} ");
    let encoding = format!("encoding={encoding} ");
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| l.contains(&method) && l.contains(&encoding))
        .count()
}

/// The log line is written as the call ends, which may be just after the CLI has its reply.
fn wait_for_replies(log: &Path, method: &str, encoding: &str, count: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = replies(log, method, encoding);
        if seen >= count || std::time::Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn gzip_and_zstd_give_the_plain_answers_compressed() {
    let dirs = [(); 3].map(|()| tempfile::tempdir().unwrap());
    let log = dirs[1].path().join("server.log");
    let port = free_port();
    let mut server = serve(port, dirs[0].path(), &log);
    wait_serving(&mut server, port, &log);
    let state = dirs[2].path();

    let list = ["assets", "list", "--as-of", "2025-12-31"];
    let assess = ["legal", "assess", "confiscation", "--as-of", "2025-12-31"];
    for json in [false, true] {
        for verb in [&list[..], &assess[..]] {
            let mut args = verb.to_vec();
            if json {
                args.push("--json");
            }
            let plain = cli(port, state, &args);
            assert!(plain.status.success(), "{args:?}: {plain:?}");
            assert!(!plain.stdout.is_empty());
            for encoding in ["none", "gzip", "zstd"] {
                let mut compressed = args.clone();
                compressed.extend(["--compression", encoding]);
                let out = cli(port, state, &compressed);
                assert!(out.status.success(), "{compressed:?}: {out:?}");
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&plain.stdout),
                    "{compressed:?}"
                );
            }
        }
    }
    // Each verb ran four times plain (no flag, `none`, twice over) and twice per encoding.
    for method in [LIST, ASSESS] {
        for (encoding, count) in [("identity", 4), ("gzip", 2), ("zstd", 2)] {
            assert_eq!(
                wait_for_replies(&log, method, encoding, count),
                count,
                "{method} in {encoding}:\n{}",
                tail(&log)
            );
        }
    }

    // The environment sets it too, as for the other connection settings.
    let out = Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args(list)
        .args(["--server", &format!("http://127.0.0.1:{port}")])
        .env("XDG_STATE_HOME", state)
        .env("LEVERAGE_COMPRESSION", "zstd")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(wait_for_replies(&log, LIST, "zstd", 3), 3, "{}", tail(&log));
}

#[test]
fn an_unknown_compression_is_refused_with_the_choices() {
    let state = tempfile::tempdir().unwrap();
    let out = cli(
        free_port(),
        state.path(),
        &["assets", "list", "--compression", "brotli"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("brotli") && err.contains("gzip") && err.contains("zstd"),
        "{err}"
    );
}
