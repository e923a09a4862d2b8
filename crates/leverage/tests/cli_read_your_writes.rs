//! Read-your-writes across `leverage` commands: a write records the dataset version it created
//! for its server in the state file, and every later command asks for at least that version
//! (`leverage-min-dataset-version`), so a replica behind it never answers.
//!
//! Each test has a server and a state directory (`XDG_STATE_HOME`) of its own.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{KillOnDrop, free_port, spawn_server, wait_serving};

const TOKEN: &str = "cli-ryw-token-0123456789";

/// How long the server waits for a version it lacks before refusing: short, since the test's
/// versions are never reached.
const MIN_VERSION_WAIT_MS: &str = "200";

struct Server {
    _process: KillOnDrop,
    url: String,
    state: tempfile::TempDir,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = data.path().join("server.log");
        let args: [OsString; 8] = [
            "--tokens".into(),
            format!("tester:admin={TOKEN}").into(),
            "--min-version-wait-ms".into(),
            MIN_VERSION_WAIT_MS.into(),
            // No plugin: these commands read and write the dataset only.
            "--plugin-dir".into(),
            data.path().into(),
            "--data-dir".into(),
            data.path().join("db").into(),
        ];
        let mut process = spawn_server(port, args, &log);
        wait_serving(&mut process, port, &log);
        Server {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            state: tempfile::tempdir().unwrap(),
            _data: data,
        }
    }

    fn state_file(&self) -> PathBuf {
        self.state.path().join("leverage/written-versions")
    }

    /// Runs a client command with this test's state directory, whatever the outcome.
    fn try_run(&self, args: &[&str]) -> Output {
        self.command(self.state.path(), args).output().unwrap()
    }

    fn command(&self, state_home: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_leverage"));
        command
            .args(args)
            .args(["--server", &self.url, "--json"])
            .env("LEVERAGE_TOKEN", TOKEN)
            .env("XDG_STATE_HOME", state_home)
            .env_remove("LEVERAGE_READ_YOUR_WRITES")
            .env_remove("LEVERAGE_DATASET_VERSION");
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Imports a one-rate ECB file (a new dataset version each `day`); returns that version.
    fn write(&self, day: u32) -> u64 {
        let csv = self.state.path().join(format!("ecb-{day}.csv"));
        std::fs::write(
            &csv,
            format!("Date, USD, \n{day} November 2026, 1.{day:04}, \n"),
        )
        .unwrap();
        let reply = self.run(&["data", "import", csv.to_str().unwrap()]);
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["applied"], true, "{reply}");
        reply["dataset_version"].as_u64().unwrap()
    }

    fn remember(&self, text: &str) {
        std::fs::create_dir_all(self.state_file().parent().unwrap()).unwrap();
        std::fs::write(self.state_file(), text).unwrap();
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_write_records_its_dataset_version_for_its_server_and_keeps_the_others() {
    let server = Server::start();
    server.remember("http://elsewhere:50051 77\n");
    let first = server.write(2);
    assert_eq!(
        std::fs::read_to_string(server.state_file()).unwrap(),
        format!("http://elsewhere:50051 77\n{} {first}\n", server.url)
    );
    let second = server.write(3);
    assert!(second > first);
    assert_eq!(
        std::fs::read_to_string(server.state_file()).unwrap(),
        format!("http://elsewhere:50051 77\n{} {second}\n", server.url)
    );
    // Reads ask for the recorded version, which the server has: they answer.
    let versions = server.run(&["data", "versions"]);
    let versions: serde_json::Value = serde_json::from_str(&versions).unwrap();
    assert_eq!(versions[0]["dataset_version"], second);
}

#[test]
fn a_remembered_version_the_server_never_had_refuses_one_command_and_is_forgotten() {
    let server = Server::start();
    // As if this address once served other data (a database since replaced), on which a write
    // created version 999999. Another server's line must survive.
    let other = "http://elsewhere:50051 77\n";
    server.remember(&format!("{other}{}/ 999999\n", server.url));
    let out = server.try_run(&["data", "versions"]);
    assert!(!out.status.success(), "answered from an older version");
    let err = stderr(&out);
    assert!(
        err.contains("OutOfRange")
            && err.contains("DATASET_VERSION_NOT_YET")
            && err.contains("999999"),
        "{err}"
    );
    assert!(err.contains("forgotten"), "{err}");
    assert_eq!(std::fs::read_to_string(server.state_file()).unwrap(), other);
    // The next command runs without it.
    server.run(&["data", "versions"]);

    // A write asks for it too (it would be built on data missing the user's last write), and
    // is refused the same way.
    server.remember(&format!("{} 999999\n", server.url));
    let csv = server.state.path().join("ecb.csv");
    std::fs::write(&csv, "Date, USD, \n2 November 2026, 1.1, \n").unwrap();
    let out = server.try_run(&["data", "import", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("DATASET_VERSION_NOT_YET"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pinned_version_or_read_your_writes_off_asks_for_no_minimum() {
    let server = Server::start();
    server.remember(&format!("{} 999999\n", server.url));
    server.run(&["data", "versions", "--dataset-version", "1"]);
    server.run(&["data", "versions", "--read-your-writes", "false"]);
    let out = server
        .command(server.state.path(), &["data", "versions"])
        .env("LEVERAGE_READ_YOUR_WRITES", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Off means off: a write records nothing either.
    server.remember("");
    let csv = server.state.path().join("ecb.csv");
    std::fs::write(&csv, "Date, USD, \n2 November 2026, 1.1, \n").unwrap();
    server.run(&[
        "data",
        "import",
        csv.to_str().unwrap(),
        "--read-your-writes",
        "false",
    ]);
    assert_eq!(std::fs::read_to_string(server.state_file()).unwrap(), "");
}

#[test]
fn a_damaged_or_unwritable_state_file_never_fails_a_command() {
    let server = Server::start();
    server.remember("\u{0}\u{1}garbage\nhttp://x 12 13\n\n");
    server.run(&["data", "versions"]);
    let version = server.write(2);
    assert_eq!(
        std::fs::read_to_string(server.state_file()).unwrap(),
        format!("{} {version}\n", server.url),
        "the damaged lines are dropped, the write recorded"
    );

    // A state "directory" that is a file: nothing can be recorded, and the write succeeds.
    let blocked = server.state.path().join("not-a-directory");
    std::fs::write(&blocked, "").unwrap();
    let csv = server.state.path().join("ecb-3.csv");
    std::fs::write(&csv, "Date, USD, \n3 November 2026, 1.3, \n").unwrap();
    let out = server
        .command(&blocked, &["data", "import", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: read-your-writes: cannot record"),
        "{}",
        stderr(&out)
    );
}
