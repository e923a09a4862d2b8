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
    /// Whether this bench (the load generator, the boundary loops) is a release build.
    pub bench_release: bool,
    /// Modification time of the server binary, seconds since the Unix epoch.
    pub server_mtime: u64,
    /// How the server binary is known to match the sources: built by the bench's own cargo, or
    /// checked against the newest source file and commit.
    pub server_provenance: String,
    /// The server binary was older than its sources and run anyway (--allow-stale-server).
    pub server_stale: bool,
}

fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// What the server binary is built from: every crate but this one, the plugins, the protos, the
/// embedded dataset and web page, the manifests; not tests, benches or prose, which cargo does
/// not rebuild the server for.
const SERVER_SOURCES: [&str; 11] = [
    "crates",
    ":(exclude)crates/leverage-bench",
    ":(exclude,glob)**/tests/**",
    ":(exclude,glob)**/benches/**",
    ":(exclude,glob)**/*.md",
    "plugins",
    "proto",
    "data",
    ":(glob)web/*",
    "Cargo.toml",
    "Cargo.lock",
];

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .current_dir(workspace_root())
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// The newest server source in the work tree: (mtime, file). Edited, checked-out and
/// uncommitted files all count, as they do for cargo.
fn newest_source_file() -> anyhow::Result<(u64, String)> {
    let mut args = vec![
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
    ];
    args.extend(SERVER_SOURCES);
    let files = git(&args).context("listing the server's sources with git ls-files")?;
    let root = workspace_root();
    files
        .lines()
        .map(|f| (mtime(&root.join(f)), f.to_owned()))
        .max()
        .context("git ls-files listed no server source")
}

/// The newest commit that touched the server's sources: (commit time, short hash).
fn newest_source_commit() -> anyhow::Result<(u64, String)> {
    let mut args = vec!["log", "-1", "--format=%ct %h", "HEAD", "--"];
    args.extend(SERVER_SOURCES);
    let line = git(&args).context("reading the server sources' last commit")?;
    let (time, hash) = line.split_once(' ').context("git log output")?;
    Ok((time.parse().context("commit time")?, hash.to_owned()))
}

/// Why `binary` may be older than the sources the results will be stamped with, if it may. With
/// `commits`, a binary older than the last commit of the server's sources counts too: a binary
/// from elsewhere (another checkout, an older build) cannot be told apart from one built from
/// the same sources just before they were committed.
fn staleness(binary: &Path, commits: bool) -> anyhow::Result<Option<String>> {
    let built = mtime(binary);
    let (file_time, file) = newest_source_file()?;
    if built < file_time {
        return Ok(Some(format!(
            "{} was built before {file} was last changed ({}s later)",
            binary.display(),
            file_time - built
        )));
    }
    if commits {
        let (commit_time, hash) = newest_source_commit()?;
        if built < commit_time {
            return Ok(Some(format!(
                "{} was built before commit {hash} of the server's sources ({}s later)",
                binary.display(),
                commit_time - built
            )));
        }
    }
    Ok(None)
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

/// The release binaries for the real figures. Without `server_override`, the server is
/// `target/release/leverage` as `cargo build --release` leaves it (the default members: the
/// server and the bundled plugins), built every time so that the results never stamp HEAD on
/// an older binary (cargo does nothing when it is up to date). An overriding binary must be
/// newer than every server source and commit unless `allow_stale`. The plugin library for the
/// boundary part is built by a nested release cargo into a target directory of its own.
pub fn release(server_override: Option<&Path>, allow_stale: bool) -> anyhow::Result<Binaries> {
    let target = target_dir();
    let mut server_stale = false;
    let (server, server_provenance) = match server_override {
        Some(path) => {
            if !path.exists() {
                bail!("no server binary at {}", path.display());
            }
            match staleness(path, true)? {
                None => (
                    path.to_owned(),
                    "--server-bin, newer than every server source and commit".to_owned(),
                ),
                Some(why) if allow_stale => {
                    server_stale = true;
                    (
                        path.to_owned(),
                        format!("--server-bin, STALE (--allow-stale-server): {why}"),
                    )
                }
                Some(why) => bail!(
                    "{why}: the results would carry HEAD's commit for another build. Rebuild it, \
                     leave --server-bin out (the bench then builds the server itself), or pass \
                     --allow-stale-server (the report then says so)"
                ),
            }
        }
        None => {
            let mut command = cargo();
            command.args(["build", "--release"]);
            run(command)?;
            (
                target.join("release/leverage"),
                "built by the bench: cargo build --release".to_owned(),
            )
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
        bench_release: !cfg!(debug_assertions),
        server_provenance,
        server_stale,
    })
}

/// The debug server that `cargo test --workspace` has just built beside this executable (with
/// the bundled plugins), when it is there and no source changed since.
fn debug_server_beside_this_exe() -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_owned();
    let server = dir.join("leverage");
    let fresh = server.exists()
        && dir.join(PLUGIN_FILE).exists()
        && matches!(staleness(&server, false), Ok(None));
    fresh.then_some(server)
}

/// Debug binaries for the smoke run: the ones `cargo test --workspace` built beside this
/// executable when they are up to date (seconds), else built quietly into
/// `target/bench-smoke` (minutes; a target directory of its own, so that a `cargo test`
/// holding the main one never waits on it).
pub fn smoke(server_override: Option<&Path>) -> anyhow::Result<Binaries> {
    let beside = if server_override.is_none() {
        debug_server_beside_this_exe()
    } else {
        None
    };
    let (server, plugin_built, server_provenance) = match beside {
        Some(server) => {
            let plugin = server.with_file_name(PLUGIN_FILE);
            (
                server,
                plugin,
                "the debug build beside the bench, newer than every server source".to_owned(),
            )
        }
        None => {
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
            let provenance = if server_override.is_some() {
                "--server-bin, not checked (smoke)".to_owned()
            } else {
                "built by the bench: cargo build (debug, target/bench-smoke)".to_owned()
            };
            (server, target.join("debug").join(PLUGIN_FILE), provenance)
        }
    };
    let plugin_dir = private_plugin_dir(
        &plugin_built,
        &target_dir().join("bench-smoke").join("boundary"),
    )?;
    Ok(Binaries {
        server_mtime: mtime(&server),
        server,
        plugin_dir,
        release: false,
        bench_release: !cfg!(debug_assertions),
        server_provenance,
        server_stale: false,
    })
}

/// The commit of the workspace and whether its tree has uncommitted changes.
#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    pub commit: String,
    pub dirty: bool,
}

pub fn revision() -> Revision {
    Revision {
        commit: git(&["rev-parse", "HEAD"]).unwrap_or_default(),
        dirty: git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn binary_built_at(dir: &Path, at: SystemTime) -> PathBuf {
        let path = dir.join("leverage");
        let file = std::fs::File::create(&path).expect("create");
        file.set_modified(at).expect("set mtime");
        path
    }

    #[test]
    fn a_binary_older_than_the_sources_is_stale_and_a_new_one_is_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let old = binary_built_at(dir.path(), SystemTime::UNIX_EPOCH + Duration::from_secs(1));
        let why = staleness(&old, false).expect("git answers");
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("was built before")),
            "{why:?}"
        );
        let new = binary_built_at(dir.path(), SystemTime::now() + Duration::from_secs(60));
        assert_eq!(staleness(&new, true).expect("git answers"), None);
    }
}
