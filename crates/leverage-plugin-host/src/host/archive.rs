//! The archive of builds: every build that served a score, kept by its hash so that it can be
//! called again after a reload replaced it, or after a restart.
//!
//! ```text
//! <archive>/<plugin id>/<build>.so     the file, byte for byte (its SHA-256 starts with <build>)
//! <archive>/<plugin id>/<build>.meta   its record: `key = value` lines (see `Record`)
//! ```
//!
//! A build is in the archive when its record is: the file is written first, then the record,
//! each to a temporary file that is synced and then renamed over the final name, so that a crash
//! leaves either the whole build or no record (a file without a record is never listed, and is
//! swept by the next eviction). Removal goes the other way: record first, then file.
//!
//! Nothing read back is trusted: a file is loaded only if its SHA-256 matches the record and the
//! build's name, and then through the same checks as any plugin file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::RefuseReason;
use crate::hash::{FileHash, is_build_name};
use crate::sync::lock;

/// One build of a plugin that the host keeps or serves, as [`PluginHost::plugins`] lists it.
///
/// [`PluginHost::plugins`]: crate::PluginHost::plugins
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRecord {
    /// The build: the first 16 hex digits of the SHA-256 of the file.
    pub build: String,
    /// The plugin's version in that build.
    pub version: String,
    /// The plugin's own build identifier in that build.
    pub build_id: String,
    /// When a host first loaded it (the one serving it now, or one before it over the same
    /// archive).
    pub first_loaded: SystemTime,
    /// Whether it is the build serving the plugin's id now.
    pub current: bool,
}

/// What `<build>.meta` says.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Record {
    pub(super) id: String,
    pub(super) build: String,
    /// All 64 hex digits of the file's SHA-256.
    pub(super) sha256: String,
    pub(super) version: String,
    pub(super) build_id: String,
    /// The name of the file in the plugin directory it was loaded from: it chooses how the
    /// build runs (sandboxed, inline) as it did for that file.
    pub(super) file_name: String,
    pub(super) first_loaded: SystemTime,
}

impl Record {
    fn text(&self) -> String {
        // Values are single lines: a plugin's version or build id with a line break in it
        // would otherwise forge a key.
        let line = |value: &str| value.replace(['\n', '\r'], " ");
        let ms = self
            .first_loaded
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        format!(
            "# A build of plugin `{id}` kept by the leverage plugin host; the file is {build}.so.\n\
             id = {id}\nbuild = {build}\nsha256 = {sha}\nversion = {version}\nbuild_id = {build_id}\n\
             file = {file}\nfirst_loaded_unix_ms = {ms}\n",
            id = line(&self.id),
            build = self.build,
            sha = self.sha256,
            version = line(&self.version),
            build_id = line(&self.build_id),
            file = line(&self.file_name),
        )
    }

    fn parse(text: &str) -> Result<Record, String> {
        let value = |key: &str| -> Result<String, String> {
            text.lines()
                .filter_map(|line| line.split_once(" = "))
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_owned())
                .ok_or_else(|| format!("no `{key}` line"))
        };
        let ms: u64 = value("first_loaded_unix_ms")?
            .parse()
            .map_err(|_| "`first_loaded_unix_ms` is not a number".to_owned())?;
        Ok(Record {
            id: value("id")?,
            build: value("build")?,
            sha256: value("sha256")?,
            version: value("version")?,
            build_id: value("build_id")?,
            file_name: value("file")?,
            first_loaded: UNIX_EPOCH + Duration::from_millis(ms),
        })
    }

    fn listed(&self, current: bool) -> BuildRecord {
        BuildRecord {
            build: self.build.clone(),
            version: self.version.clone(),
            build_id: self.build_id.clone(),
            first_loaded: self.first_loaded,
            current,
        }
    }
}

/// Why a build could not be read back.
#[derive(Debug)]
pub(super) enum ReadFailure {
    /// The archive has no record of it.
    Unknown,
    /// It has one, but what is there is not that build.
    Refused(RefuseReason),
}

/// The archive directory and its bound.
#[derive(Debug)]
pub(super) struct Archive {
    dir: PathBuf,
    keep: usize,
    /// Serialises the writes and removals of this process.
    writing: Mutex<()>,
}

impl Archive {
    pub(super) fn new(dir: PathBuf, keep: usize) -> Archive {
        Archive {
            dir,
            keep: keep.max(1),
            writing: Mutex::new(()),
        }
    }

    /// The directory of a plugin's builds; `None` for an id that cannot name one (plugin ids
    /// may contain `.`, so `.` and `..` are possible ids).
    fn id_dir(&self, id: &str) -> Option<PathBuf> {
        let usable = !id.is_empty()
            && !id.starts_with('.')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        usable.then(|| self.dir.join(id))
    }

    fn paths(&self, id: &str, build: &str) -> Option<(PathBuf, PathBuf)> {
        if !is_build_name(build) {
            return None;
        }
        let dir = self.id_dir(id)?;
        Some((
            dir.join(format!("{build}.so")),
            dir.join(format!("{build}.meta")),
        ))
    }

    /// The archived file of a build (whether or not it exists).
    pub(super) fn file_of(&self, id: &str, build: &str) -> Option<PathBuf> {
        self.paths(id, build).map(|(file, _)| file)
    }

    fn record(&self, id: &str, build: &str) -> Result<Record, ReadFailure> {
        let (_, meta) = self.paths(id, build).ok_or(ReadFailure::Unknown)?;
        let text = match fs::read_to_string(&meta) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReadFailure::Unknown);
            }
            Err(error) => {
                return Err(ReadFailure::Refused(RefuseReason::Io {
                    error: format!("{}: {error}", meta.display()),
                }));
            }
        };
        let damaged = |problem: String| {
            ReadFailure::Refused(RefuseReason::ArchiveDamaged {
                problem: format!("{}: {problem}", meta.display()),
            })
        };
        let record = Record::parse(&text).map_err(damaged)?;
        if record.id != id || record.build != build || !record.sha256.starts_with(build) {
            return Err(damaged(format!(
                "the record is of plugin `{}` build `{}` (sha256 {}), not of `{id}` build `{build}`",
                record.id, record.build, record.sha256
            )));
        }
        Ok(record)
    }

    /// A build's record and file, the file checked against both its record and its name.
    pub(super) fn read(&self, id: &str, build: &str) -> Result<(Record, Vec<u8>), ReadFailure> {
        let record = self.record(id, build)?;
        let (file, _) = self.paths(id, build).ok_or(ReadFailure::Unknown)?;
        let bytes = fs::read(&file).map_err(|error| {
            ReadFailure::Refused(RefuseReason::Io {
                error: format!("{}: {error}", file.display()),
            })
        })?;
        let found = FileHash::of(&bytes).hex();
        if found != record.sha256 {
            return Err(ReadFailure::Refused(RefuseReason::ArchiveDamaged {
                problem: format!(
                    "{} has SHA-256 {found}, but build `{build}` is {}",
                    file.display(),
                    record.sha256
                ),
            }));
        }
        Ok((record, bytes))
    }

    /// The record of a build whose file in the archive is intact, if there is one.
    pub(super) fn holds(&self, id: &str, hash: &FileHash) -> Option<Record> {
        self.read(id, &hash.build()).ok().map(|(record, _)| record)
    }

    /// Every build of `id` with a record, newest first (unreadable records are left out).
    fn records(&self, id: &str) -> Vec<Record> {
        let Some(dir) = self.id_dir(id) else {
            return Vec::new();
        };
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut records: Vec<Record> = entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                let build = name.to_str()?.strip_suffix(".meta")?.to_owned();
                self.record(id, &build).ok()
            })
            .collect();
        records.sort_by(|a, b| (b.first_loaded, &b.build).cmp(&(a.first_loaded, &a.build)));
        records
    }

    /// The retained builds of `id` (every archived one but `current`), newest first.
    pub(super) fn retained(&self, id: &str, current: Option<&str>) -> Vec<BuildRecord> {
        self.records(id)
            .iter()
            .filter(|record| Some(record.build.as_str()) != current)
            .map(|record| record.listed(false))
            .collect()
    }

    /// Writes a build: its file, then its record. A record already there for the same file
    /// keeps its first-loaded time. Returns the record written.
    pub(super) fn store(&self, record: &Record, bytes: &[u8]) -> std::io::Result<Record> {
        let unusable = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("plugin id `{}` cannot name an archive directory", record.id),
            )
        };
        let (file, meta) = self.paths(&record.id, &record.build).ok_or_else(unusable)?;
        let dir = self.id_dir(&record.id).ok_or_else(unusable)?;
        let _serial = lock(&self.writing);
        fs::create_dir_all(&dir)?;
        let record = match self.record(&record.id, &record.build) {
            Ok(old) if old.sha256 == record.sha256 => Record {
                first_loaded: old.first_loaded.min(record.first_loaded),
                ..record.clone()
            },
            _ => record.clone(),
        };
        write_replacing(&file, bytes)?;
        write_replacing(&meta, record.text().as_bytes())?;
        sync_dir(&dir);
        Ok(record)
    }

    /// Removes the oldest builds of `id` beyond the bound, never `current`, and files left
    /// without a record (a crash between the two writes). Returns the builds removed.
    pub(super) fn evict(&self, id: &str, current: Option<&str>) -> Vec<String> {
        let Some(dir) = self.id_dir(id) else {
            return Vec::new();
        };
        let _serial = lock(&self.writing);
        let records = self.records(id);
        let mut kept = usize::from(current.is_some_and(|c| records.iter().any(|r| r.build == c)));
        let mut removed = Vec::new();
        for record in &records {
            if Some(record.build.as_str()) == current {
                continue;
            }
            if kept < self.keep {
                kept += 1;
                continue;
            }
            if let Some((file, meta)) = self.paths(id, &record.build) {
                if let Err(error) = fs::remove_file(&meta) {
                    tracing::warn!(plugin = id, build = %record.build, %error, "could not remove an archived build");
                    continue;
                }
                let _ = fs::remove_file(file);
                removed.push(record.build.clone());
            }
        }
        // Files with no record, and temporary files of writes that did not finish.
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let orphan = name
                    .strip_suffix(".so")
                    .is_some_and(|build| !dir.join(format!("{build}.meta")).exists());
                if orphan || name.contains(".tmp-") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        if !removed.is_empty() {
            sync_dir(&dir);
            tracing::info!(plugin = id, removed = ?removed, kept = self.keep, "archived plugin builds removed");
        }
        removed
    }

    /// The plugin ids with a directory in the archive.
    pub(super) fn ids(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|entry| entry.path().is_dir())
            .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
            .filter(|id| self.id_dir(id).is_some())
            .collect()
    }
}

/// Now, to the millisecond: the precision of a record, so that a time read back from the
/// archive equals the one the host kept.
pub(super) fn now() -> SystemTime {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// The record of a build first loaded at `first_loaded` from the file `file_name`.
pub(super) fn record_of(
    id: &str,
    hash: &FileHash,
    version: &str,
    build_id: &str,
    file_name: &str,
    first_loaded: SystemTime,
) -> Record {
    Record {
        id: id.to_owned(),
        build: hash.build(),
        sha256: hash.hex(),
        version: version.to_owned(),
        build_id: build_id.to_owned(),
        file_name: file_name.to_owned(),
        first_loaded,
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over `path`: a
/// reader sees the old content or the new, never a part.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!("{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(error) = written.and_then(|()| fs::rename(&temporary, path)) {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    Ok(())
}

/// Makes a directory's entries (renames, removals) durable; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "leverage-archive-test-{label}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn build(archive: &Archive, bytes: &[u8], ms: u64) -> Record {
        let record = record_of(
            "m",
            &FileHash::of(bytes),
            "1.0",
            "m 1\nid = forged",
            "libm.so",
            UNIX_EPOCH + Duration::from_millis(ms),
        );
        archive.store(&record, bytes).expect("stored")
    }

    #[test]
    fn a_stored_build_reads_back_and_a_record_keeps_its_first_time() {
        let dir = scratch("read");
        let archive = Archive::new(dir.clone(), 3);
        let record = build(&archive, b"file one", 2_000);
        assert_eq!(record.build_id, "m 1\nid = forged", "returned as given");
        let (read, bytes) = archive.read("m", &record.build).expect("reads");
        assert_eq!(bytes, b"file one");
        assert_eq!(read.id, "m", "a line break in a value forges nothing");
        assert_eq!(read.build_id, "m 1 id = forged");
        // Stored again later: the first time stays.
        let again = build(&archive, b"file one", 9_000);
        assert_eq!(
            again.first_loaded,
            UNIX_EPOCH + Duration::from_millis(2_000)
        );
        assert!(matches!(
            archive.read("m", "0000000000000000"),
            Err(ReadFailure::Unknown)
        ));
        assert!(matches!(
            archive.read("..", &record.build),
            Err(ReadFailure::Unknown)
        ));
        fs::write(
            archive.file_of("m", &record.build).expect("path"),
            b"file 1",
        )
        .expect("alter");
        match archive.read("m", &record.build) {
            Err(ReadFailure::Refused(RefuseReason::ArchiveDamaged { problem })) => {
                assert!(problem.contains("SHA-256"), "{problem}")
            }
            other => panic!("{other:?}"),
        }
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn eviction_keeps_the_newest_and_the_current_build() {
        let dir = scratch("evict");
        let archive = Archive::new(dir.clone(), 2);
        let oldest = build(&archive, b"a", 1_000).build;
        let middle = build(&archive, b"b", 2_000).build;
        let newest = build(&archive, b"c", 3_000).build;
        // An orphan file from a write that did not finish.
        fs::write(dir.join("m/0123456789abcdef.so"), b"x").expect("orphan");
        assert_eq!(archive.evict("m", Some(&oldest)), vec![middle.clone()]);
        let listed: Vec<String> = archive
            .retained("m", Some(&oldest))
            .into_iter()
            .map(|b| b.build)
            .collect();
        assert_eq!(listed, vec![newest.clone()]);
        assert!(!dir.join("m/0123456789abcdef.so").exists());
        assert!(!dir.join(format!("m/{middle}.so")).exists());
        assert!(archive.evict("m", Some(&newest)).is_empty(), "two kept");
        let fourth = build(&archive, b"d", 4_000).build;
        assert_eq!(archive.evict("m", Some(&fourth)), vec![oldest]);
        assert_eq!(archive.ids(), vec!["m".to_owned()]);
        let _ = fs::remove_dir_all(dir);
    }
}
