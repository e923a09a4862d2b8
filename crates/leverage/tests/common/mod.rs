//! Helpers shared by the tests that run the real `leverage` binary or outside tools.
//! Each test crate uses a part of them.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

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

/// A local port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
