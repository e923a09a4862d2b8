//! What the benchmark needs built before it measures anything: the server binary with the
//! bundled plugins beside it, and the pressure-index plugin library for the boundary part.
//! Builds run with nested cargos, before this process pins itself to a core.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Serialize;

/// The plugin library of the boundary part, and the name the server routes to.
pub const PLUGIN_PACKAGE: &str = "leverage-plugin-pressure-index";
pub const PLUGIN_FILE: &str = "libleverage_plugin_pressure_index.so";

/// The workspace this crate lives in.
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// Cargo's target directory for this workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

fn run(mut command: Command) -> anyhow::Result<()> {
    eprintln!("[prepare] {command:?}");
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Where the binaries come from, for the record.
#[derive(Clone, Debug, Serialize)]
pub struct Binaries {
    /// The `leverage` binary that `serve` runs; its directory holds the bundled plugins.
    pub server: PathBuf,
    /// A directory holding only the pressure-index plugin library (for the boundary part).
    pub plugin_dir: PathBuf,
    /// Whether the binaries were built in release mode.
    pub release: bool,
    /// Modification time of the server binary, seconds since the Unix epoch.
    pub server_mtime: u64,
}

fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Copies the plugin library into a directory of its own, so that a host loading "every .so
/// in the directory" loads it alone.
fn private_plugin_dir(built: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let to = dir.join(PLUGIN_FILE);
    // Replace rather than overwrite: a library already mapped by a running process must not
    // change under it.
    let tmp = dir.join(format!("{PLUGIN_FILE}.tmp"));
    std::fs::copy(built, &tmp).with_context(|| format!("copying {}", built.display()))?;
    std::fs::rename(&tmp, &to)?;
    Ok(dir.to_owned())
}

/// The release binaries for the real figures. The server is `target/release/leverage`, built
/// with `cargo build --release` (the default members: the server and the bundled plugins) when
/// missing or when `rebuild` is set; `server_override` skips that. The plugin library for the
/// boundary part is built by a nested release cargo into a target directory of its own.
pub fn release(rebuild: bool, server_override: Option<&Path>) -> anyhow::Result<Binaries> {
    let target = target_dir();
    let server = match server_override {
        Some(path) => path.to_owned(),
        None => {
            let server = target.join("release/leverage");
            let plugins_beside = target.join("release").join(PLUGIN_FILE);
            if rebuild || !server.exists() || !plugins_beside.exists() {
                let mut command = cargo();
                command.args(["build", "--release"]);
                run(command)?;
            }
            server
        }
    };
    if !server.exists() {
        bail!("no server binary at {}", server.display());
    }
    let plugin_target = target.join("bench-plugin");
    let mut command = cargo();
    command
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            PLUGIN_PACKAGE,
            "--target-dir",
        ])
        .arg(&plugin_target);
    run(command)?;
    let plugin_dir = private_plugin_dir(
        &plugin_target.join("release").join(PLUGIN_FILE),
        &plugin_target.join("boundary"),
    )?;
    Ok(Binaries {
        server_mtime: mtime(&server),
        server,
        plugin_dir,
        release: true,
    })
}

/// Debug binaries for the smoke run, built quietly into `target/bench-smoke` (a target
/// directory of its own, so that a `cargo test` holding the main one never waits on it).
pub fn smoke(server_override: Option<&Path>) -> anyhow::Result<Binaries> {
    let target = target_dir().join("bench-smoke");
    let mut command = cargo();
    command
        .args(["build", "--quiet", "--target-dir"])
        .arg(&target);
    if server_override.is_none() {
        command.args(["-p", "leverage", "-p", "leverage-plugin-prudent-pressure"]);
    }
    command.args(["-p", PLUGIN_PACKAGE]);
    run(command)?;
    let server = server_override
        .map(Path::to_path_buf)
        .unwrap_or_else(|| target.join("debug/leverage"));
    let plugin_dir = private_plugin_dir(
        &target.join("debug").join(PLUGIN_FILE),
        &target.join("boundary"),
    )?;
    Ok(Binaries {
        server_mtime: mtime(&server),
        server,
        plugin_dir,
        release: false,
    })
}

/// The commit of the workspace and whether its tree has uncommitted changes.
#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    pub commit: String,
    pub dirty: bool,
}

pub fn revision() -> Revision {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(workspace_root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    Revision {
        commit: git(&["rev-parse", "HEAD"]).unwrap_or_default(),
        dirty: git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
    }
}
