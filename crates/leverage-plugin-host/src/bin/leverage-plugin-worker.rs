//! A sandbox worker: `leverage-plugin-worker PLUGIN_PATH`, speaking the host's protocol on stdin
//! and stdout. The tests and benchmarks of this crate use it; the server runs its own binary
//! (`leverage plugin-worker PLUGIN_PATH`), which calls the same function.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (Some(library), None) => leverage_plugin_host::run_worker(&PathBuf::from(library)),
        _ => {
            eprintln!("usage: leverage-plugin-worker PLUGIN_PATH (started by the plugin host)");
            ExitCode::from(64)
        }
    }
}
