//! Read-your-writes for the client commands. Behind a balancer, the replica that answers a
//! command may not have seen what the previous command wrote yet. A write's reply names a
//! dataset version that holds it (`leverage-dataset-version`); a request that asks for at least
//! that version (`leverage-min-dataset-version`) is answered from it or later, never from older.
//!
//! Each command runs in a process of its own, so the newest version the user's writes created
//! on each server is kept in a small state file, `$XDG_STATE_HOME/leverage/written-versions`
//! (`~/.local/state/leverage/` without it), one `<server> <version>` line per server. The file
//! is a convenience: a command never fails because it is missing, damaged or cannot be written.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use leverage_server::versions::{DATASET_VERSION_HEADER, MIN_DATASET_VERSION_HEADER};

const FILE_NAME: &str = "written-versions";

/// The state file, or `None` when neither `XDG_STATE_HOME` nor `HOME` says where it goes.
pub fn state_file() -> Option<PathBuf> {
    let from = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            // The XDG specification says to ignore a relative path.
            .filter(|p| p.is_absolute())
    };
    let dir = match from("XDG_STATE_HOME") {
        Some(state) => state,
        None => from("HOME")?.join(".local/state"),
    };
    Some(dir.join("leverage").join(FILE_NAME))
}

/// One server's key in the file: the address as given, without a trailing slash, so that
/// `--server http://h:1/` and `--server http://h:1` share their line.
fn key(server: &str) -> &str {
    server.trim().trim_end_matches('/')
}

/// The file's lines that parse; the rest (a damaged or foreign line) are ignored, and dropped
/// when the file is next written.
fn parse(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let (server, version) = line.trim().rsplit_once(char::is_whitespace)?;
            let server = key(server);
            let version = version.parse().ok().filter(|v| *v > 0)?;
            (!server.is_empty() && !server.contains(char::is_whitespace))
                .then(|| (server.to_owned(), version))
        })
        .collect()
}

fn read(file: &Path) -> Vec<(String, u64)> {
    match std::fs::read_to_string(file) {
        Ok(text) => parse(&text),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                warn(&format!("cannot read {} ({e})", file.display()));
            }
            Vec::new()
        }
    }
}

/// The newest version the user's writes created on `server`, if the file knows one.
pub fn recall(file: &Path, server: &str) -> Option<u64> {
    read(file)
        .into_iter()
        .find(|(s, _)| s == key(server))
        .map(|(_, v)| v)
}

/// Records that a write on `server` created `version`. Only ever raises a server's version: a
/// command writing at the same time may have recorded a newer one.
pub fn remember(file: &Path, server: &str, version: u64) -> std::io::Result<()> {
    let mut known = read(file);
    match known.iter_mut().find(|(s, _)| s == key(server)) {
        Some((_, v)) if *v >= version => return Ok(()),
        Some((_, v)) => *v = version,
        None => known.push((key(server).to_owned(), version)),
    }
    write(file, &known)
}

/// Forgets `server`'s line if it still holds `version` (a newer one, recorded meanwhile by
/// another command, is kept).
pub fn forget(file: &Path, server: &str, version: u64) -> std::io::Result<()> {
    let mut known = read(file);
    let before = known.len();
    known.retain(|(s, v)| !(s == key(server) && *v == version));
    if known.len() == before {
        return Ok(());
    }
    write(file, &known)
}

fn write(file: &Path, known: &[(String, u64)]) -> std::io::Result<()> {
    let text: String = known.iter().map(|(s, v)| format!("{s} {v}\n")).collect();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written aside, then renamed over: a reader never sees half a file, whatever happens.
    let aside = file.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&aside, text)?;
    std::fs::rename(&aside, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&aside);
    })
}

fn warn(what: &str) {
    eprintln!("leverage: warning: read-your-writes: {what}");
}

/// Whether a method writes, by the server's own list.
fn is_write(path: &str) -> bool {
    leverage_server::auth::WRITES
        .iter()
        .any(|(p, _)| *p == path)
}

/// What to tell a user whose command was refused because a replica had not reached the version
/// this module asked for.
pub fn hint(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    let info = status.get_details_error_info()?;
    if info.reason == NOT_IN_STORE && status.message().contains("does not exist yet") {
        return Some(
            "\n  [DATASET_VERSION_NOT_YET] if the command asked for the version of your last \
             write to this server, the server's data is not the data you wrote to (replaced, or \
             restored from an older backup): that version is forgotten now, and the command will \
             run without it next time"
                .to_owned(),
        );
    }
    (info.reason == "REPLICA_BEHIND").then(|| {
        let file =
            state_file().map_or_else(|| "the state file".to_owned(), |f| f.display().to_string());
        format!(
            "\n  [REPLICA_BEHIND] the command asked for at least the dataset version of your last \
             write to this server, as remembered in {file}; retry, or, if the server's database \
             was replaced since, delete its line there (or pass --read-your-writes false)"
        )
    })
}

/// The reason of a refusal of a version the server's store never had.
const NOT_IN_STORE: &str = "DATASET_VERSION_NOT_YET";

/// Where a recorded write goes.
#[derive(Debug)]
struct Recorder {
    file: PathBuf,
    server: String,
}

impl Recorder {
    /// After a call that asked for at least `asked`: a refusal saying the server's store never
    /// had it means the version came from other data (a database replaced or restored), and
    /// asking for it again would fail every command; it is forgotten.
    fn check_refusal<R>(&self, response: &http::Response<R>, asked: u64) {
        use tonic_types::StatusExt;
        let Some(status) = tonic::Status::from_header_map(response.headers()) else {
            return;
        };
        let not_in_store = status.code() == tonic::Code::OutOfRange
            && status
                .get_details_error_info()
                .is_some_and(|i| i.reason == NOT_IN_STORE);
        if not_in_store && let Err(e) = forget(&self.file, &self.server, asked) {
            warn(&format!(
                "cannot forget dataset version {asked} in {} ({e})",
                self.file.display()
            ));
        }
    }

    fn record<R>(&self, response: &http::Response<R>) {
        let headers = response.headers();
        // A failed call's status comes in its headers (a success's, in the trailers): a failed
        // write created no version to ask for.
        if headers
            .get("grpc-status")
            .is_some_and(|s| s.as_bytes() != b"0")
        {
            return;
        }
        let Some(version) = headers
            .get(DATASET_VERSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        else {
            return;
        };
        if let Err(e) = remember(&self.file, &self.server, version) {
            warn(&format!(
                "cannot record dataset version {version} in {} ({e}); a later command may \
                 not see this write at once",
                self.file.display()
            ));
        }
    }
}

/// A transport that asks every call of the API for at least the version the user last wrote on
/// this server, and records the version each write creates.
#[derive(Clone, Debug)]
pub struct ReadYourWrites<S> {
    inner: S,
    at_least: Option<u64>,
    recorder: Option<Arc<Recorder>>,
}

impl<S> ReadYourWrites<S> {
    /// `enabled: false` leaves calls as they are and the file alone; a `pinned` command reads
    /// one exact version, so asks for no minimum (its writes are still recorded).
    pub fn new(inner: S, server: &str, enabled: bool, pinned: bool) -> Self {
        let file = if enabled { state_file() } else { None };
        if enabled && file.is_none() {
            warn("neither XDG_STATE_HOME nor HOME is set: writes are not remembered");
        }
        let at_least = file
            .as_deref()
            .filter(|_| !pinned)
            .and_then(|f| recall(f, server));
        let recorder = file.map(|file| {
            Arc::new(Recorder {
                file,
                server: key(server).to_owned(),
            })
        });
        Self {
            inner,
            at_least,
            recorder,
        }
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for ReadYourWrites<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        // Only the API's services resolve versions (not health, not reflection).
        let api = path.starts_with("/leverage.");
        let write = is_write(path);
        let asked = self.at_least.filter(|_| api);
        if let Some(v) = asked {
            let value = http::HeaderValue::from(v);
            request
                .headers_mut()
                .insert(MIN_DATASET_VERSION_HEADER, value);
        }
        let recorder = self.recorder.clone();
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await?;
            if let Some(recorder) = recorder {
                if let Some(v) = asked {
                    recorder.check_refusal(&response, v);
                }
                if write {
                    recorder.record(&response);
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_line_is_skipped_and_the_others_are_kept() {
        let known = parse(
            "http://a:1 7\n\
             garbage\n\
             http://b:2 not-a-number\n\
             http://c:3/ 12\n\
             http://d:4 0\n",
        );
        assert_eq!(
            known,
            [("http://a:1".to_owned(), 7), ("http://c:3".to_owned(), 12)]
        );
    }

    #[test]
    fn a_server_version_only_rises_and_other_servers_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/written-versions");
        assert_eq!(recall(&file, "http://a:1"), None);
        remember(&file, "http://a:1", 5).unwrap();
        remember(&file, "http://b:2/", 9).unwrap();
        remember(&file, "http://a:1", 3).unwrap();
        assert_eq!(recall(&file, "http://a:1/"), Some(5));
        remember(&file, "http://a:1", 6).unwrap();
        assert_eq!(recall(&file, "http://a:1"), Some(6));
        assert_eq!(recall(&file, "http://b:2"), Some(9));
    }
}
