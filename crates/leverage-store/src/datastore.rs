//! The one storage trait. Each implementation keeps the same rows with the same meaning
//! (revisions, records valid from one revision until another, conflicts, the audit log) and
//! passes the same conformance suite (`tests/conformance/`); everything that can be said in
//! terms of the trait's required methods (first import, upgrades, merges) is said once, here.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use leverage_core::Dataset;
use leverage_core::model::{Audit, Holding};
use leverage_core::record::{META_ID, Record, RecordKey, RecordKind};

use crate::{
    Applied, Change, Commit, Committed, MergePlan, MergeSource, Opened, Origin, RecordVersion,
    StoreError, VersionInfo,
};

/// A store of dataset versions. Every method blocks (call it off the async workers); an
/// implementation serialises writers itself, however many processes share it.
pub trait Datastore: Send + Sync + fmt::Debug {
    /// Where the data lives, for logs: a path, or a PostgreSQL address without its password.
    fn describe(&self) -> String;

    /// The newest revision; 0 for a store never imported into.
    fn head(&self) -> Result<u64, StoreError>;

    /// [`Datastore::head`] through a fresh connection, proving that the store answers now and
    /// not only from a cache. For health checks.
    fn probe(&self) -> Result<u64, StoreError>;

    /// The oldest revision that can still be read (1 until a compaction).
    fn oldest(&self) -> Result<u64, StoreError>;

    /// Writes `commit` as the next revision, all or nothing; returns the revision and what
    /// changed. A commit that changes nothing and records no conflict writes no revision and
    /// returns the current one.
    fn commit(&self, commit: &Commit) -> Result<Committed, StoreError>;

    /// The dataset at `revision` (the newest when `None`) and the revision read.
    fn load_at(&self, revision: Option<u64>) -> Result<(Dataset, u64), StoreError>;

    /// The records that are neither holdings nor observations (the meta record and the
    /// reference tables) as they were at `revision`, in table order.
    fn load_tables_at(&self, revision: u64) -> Result<Vec<Record>, StoreError>;

    /// The holdings and observations changed after `revision`, each with its value at
    /// `revision` (`None` when it did not exist then) and its holding, a holding that existed
    /// then with its whole series: what turns the newest snapshot back into the one at
    /// `revision`. `None` when more than `limit` changed.
    fn series_changed_since(
        &self,
        revision: u64,
        limit: usize,
    ) -> Result<Option<Vec<Applied>>, StoreError>;

    /// Every record changed after `from` up to `to`, with its value at `to` (`None` when it
    /// no longer exists): what brings a snapshot at `from` forward to `to`, as a replica
    /// follows the others' writes. `None` when more than `limit` changed.
    fn changed_between(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Option<Vec<Applied>>, StoreError>;

    /// One live holding with its observations, exactly as [`Datastore::load_at`] reads it;
    /// `None` when there is no such holding or it was deleted.
    fn load_holding(&self, id: &str) -> Result<Option<Holding>, StoreError>;

    /// Every value record `key` had, oldest first, with who set each and why.
    fn history(&self, key: &RecordKey) -> Result<Vec<RecordVersion>, StoreError>;

    /// Revisions newest first, starting below `before` (all when `None`), at most `limit`.
    fn versions(&self, before: Option<u64>, limit: usize) -> Result<Vec<VersionInfo>, StoreError>;

    /// Forgets every value that no revision from `oldest` on can see, so that reads below
    /// `oldest` are refused from then on. Returns the number of rows removed.
    fn compact(&self, oldest: u64) -> Result<usize, StoreError>;

    /// The live row of `key` (its origin and value), if any.
    fn live(&self, key: &RecordKey) -> Result<Option<(String, Record)>, StoreError>;

    /// The newest value of `key` that came from `origin` (shipped, import, edit), live or not.
    fn last_from(&self, key: &RecordKey, origin: &str) -> Result<Option<Record>, StoreError>;

    /// Whether `key` ever had a row (live or not): names are never reused.
    fn ever_used(&self, key: &RecordKey) -> Result<bool, StoreError>;

    /// The audit log, oldest first: (actor, action, resource).
    fn audit_log(&self) -> Result<Vec<(String, String, String)>, StoreError>;

    /// Blocks until another writer announces a revision above `known`, or `timeout` passes;
    /// returns the revision announced, if any. A store whose writers cannot announce (one
    /// process: SQLite) just waits; a follower then polls [`Datastore::head`].
    fn wait_for_announcement(&self, known: u64, timeout: Duration) -> Option<u64>;

    /// The dataset at the newest revision.
    fn load(&self) -> Result<Dataset, StoreError> {
        Ok(self.load_at(None)?.0)
    }

    /// Refuses a revision that was compacted away or is not written yet.
    fn check_readable(&self, revision: u64) -> Result<(), StoreError> {
        readable(revision, self.head()?, self.oldest()?)
    }

    /// Plans the merge of `records` (nothing is written).
    fn plan_merge(
        &self,
        records: &[Record],
        source: &MergeSource,
    ) -> Result<MergePlan, StoreError> {
        crate::merge::plan(self, records, source)
    }

    /// Imports `dataset` into a store never imported into; merges it by id into one whose
    /// shipped dataset is another version (see [`Opened::Upgraded`]); otherwise leaves it.
    /// Replicas starting together on one database agree: one imports (or upgrades), the others
    /// find its work done.
    fn open_or_import(&self, dataset: &Dataset) -> Result<Opened, StoreError> {
        for _ in 0..3 {
            match open_or_import_once(self, dataset) {
                // Another replica imported or upgraded between our look and our write.
                Err(StoreError::AlreadyExists(_) | StoreError::Stale(_)) => continue,
                other => return other,
            }
        }
        open_or_import_once(self, dataset)
    }

    /// Adds a holding (with any observations it carries) in one revision.
    fn create_holding(&self, holding: &Holding) -> Result<u64, StoreError> {
        self.create_holdings(std::slice::from_ref(holding))
    }

    /// Adds many new holdings (with their observations) in one revision: all or none. For
    /// bulk loads such as synthetic benchmark data.
    fn create_holdings(&self, holdings: &[Holding]) -> Result<u64, StoreError> {
        let actor = holdings.first().map_or(Audit::EMBEDDED.to_owned(), |h| {
            h.audit.created_by.to_string()
        });
        let changes = holdings.iter().flat_map(crate::creation_of).collect();
        let summary = match holdings {
            [one] => format!("create holdings/{}", one.id),
            many => format!("create {} holdings", many.len()),
        };
        Ok(self
            .commit(&Commit::edit(actor, summary, changes))?
            .revision)
    }
}

/// Refuses `revision` when it is newer than `newest` or older than `oldest`.
pub(crate) fn readable(revision: u64, newest: u64, oldest: u64) -> Result<(), StoreError> {
    if revision > newest {
        return Err(StoreError::VersionNotYet {
            requested: revision,
            newest,
        });
    }
    if revision < oldest {
        return Err(StoreError::VersionCompacted {
            requested: revision,
            oldest,
        });
    }
    Ok(())
}

fn open_or_import_once<S: Datastore + ?Sized>(
    store: &S,
    dataset: &Dataset,
) -> Result<Opened, StoreError> {
    let head = store.head()?;
    if head == 0 {
        let changes = dataset.records().into_iter().map(Change::Create).collect();
        store.commit(&Commit {
            actor: Audit::EMBEDDED.to_owned(),
            origin: Origin::Shipped,
            summary: format!("import of the shipped dataset {}", dataset.meta.version),
            reason: None,
            changes,
            base: None,
            conflicts: Vec::new(),
        })?;
        return Ok(Opened::Imported {
            version: dataset.meta.version.clone(),
        });
    }
    let meta_key = RecordKey::new(RecordKind::Meta, META_ID);
    let stored = match store.live(&meta_key)? {
        Some((_, Record::Meta(meta))) => meta,
        _ => {
            return Err(StoreError::Corrupt {
                kind: "meta".into(),
                id: META_ID.into(),
                reason: "the database has versions but no dataset description".into(),
            });
        }
    };
    // The shipped dataset this database last merged, even when the live meta record was
    // edited since.
    let shipped_before = match store.last_from(&meta_key, "shipped")? {
        Some(Record::Meta(m)) => Some(m.version),
        _ => None,
    };
    if shipped_before.as_deref() == Some(dataset.meta.version.as_str()) {
        return Ok(Opened::Reused {
            dataset_version: stored.version,
        });
    }
    let plan = store.plan_merge(&dataset.records(), &MergeSource::Shipped)?;
    let from = shipped_before.unwrap_or(stored.version);
    let summary = format!(
        "upgrade of the shipped dataset {from} -> {}: {} added, {} changed, {} kept as edited locally",
        dataset.meta.version,
        plan.added.len(),
        plan.changed.len(),
        plan.conflicts.len()
    );
    let (added, changed) = (plan.added.len(), plan.changed.len());
    let conflicts = plan.conflicts.clone();
    let mut commit = plan.into_commit(Audit::EMBEDDED, Origin::Shipped, summary, None);
    // The plan holds for the revision it was made at: a replica upgrading at the same time
    // makes this commit stale rather than doubled.
    commit.base = Some(head);
    let committed = store.commit(&commit)?;
    Ok(Opened::Upgraded {
        from,
        to: dataset.meta.version.clone(),
        revision: committed.revision,
        added,
        changed,
        conflicts,
    })
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded SQLite database `leverage.db` in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` (or `postgresql://`) URL.
    Postgres(String),
}

impl fmt::Debug for StoreLocation {
    // The URL may hold a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(dir) => write!(f, "Sqlite({})", dir.display()),
            StoreLocation::Postgres(url) => {
                write!(f, "Postgres({})", crate::postgres::redact(url))
            }
        }
    }
}

impl StoreLocation {
    /// `--store`'s value when given (a `postgres://` URL, or `sqlite:` and a directory),
    /// otherwise the SQLite database in `data_dir`.
    pub fn parse(store: Option<&str>, data_dir: PathBuf) -> Result<Self, String> {
        match store.map(str::trim) {
            None | Some("") => Ok(StoreLocation::Sqlite(data_dir)),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(other) => match other.strip_prefix("sqlite:") {
                Some(dir) if !dir.is_empty() => Ok(StoreLocation::Sqlite(PathBuf::from(dir))),
                _ => Err(format!(
                    "a store is `postgres://user@host:port/database` or `sqlite:<directory>`, \
                     not `{}`",
                    crate::postgres::redact(other)
                )),
            },
        }
    }
}

/// Opens (creating and migrating as needed) the store at `location`.
pub fn open(location: &StoreLocation) -> Result<Arc<dyn Datastore>, StoreError> {
    Ok(match location {
        StoreLocation::Sqlite(dir) => Arc::new(crate::SqliteStore::open(dir)?),
        StoreLocation::Postgres(url) => Arc::new(crate::PostgresStore::connect(url)?),
    })
}
