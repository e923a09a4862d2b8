//! The durable source of truth, keeping every version of the dataset, behind one trait
//! ([`Datastore`]) with two implementations: an embedded SQLite database in WAL mode
//! ([`SqliteStore`], the default: one process) and PostgreSQL ([`PostgresStore`]: any number of
//! stateless replicas sharing one database).
//!
//! Every record (holding, observation, exchange rate, figure, doctrine, position, assessment,
//! instrument, and the dataset's own description) is a row valid from one revision until
//! another. A write is one transaction that takes the next revision, closes the rows it
//! changes and opens their new values: rows are never overwritten, so the dataset can be read
//! as it was at any revision that has not been compacted, and a record's history lists every
//! value it had with who changed it, when and why.
//!
//! Reads of the newest revision are served from an immutable [`Snapshot`] held by
//! [`Repository`], updated after each committed write (this process's or another replica's) and
//! swapped in atomically, so reads never wait on writes.
//!
//! [`Snapshot`]: leverage_core::Snapshot

mod codec;
mod datastore;
mod merge;
mod postgres;
mod repository;
mod sqlite;

use std::path::PathBuf;

use leverage_core::record::{Record, RecordKey};

pub use codec::{creation_of, etag, holding_etag, record_json};
pub use datastore::{Datastore, StoreLocation, open};
pub use merge::{Conflict, MergePlan, MergeSource};
pub use postgres::PostgresStore;
pub use repository::Repository;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored record {kind}/{id} does not decode: {reason}")]
    Corrupt {
        kind: String,
        id: String,
        reason: String,
    },
    #[error("cannot create the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database schema version {found} is newer than this build understands ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("dataset version {requested} has been compacted: the oldest version kept is {oldest}")]
    VersionCompacted { requested: u64, oldest: u64 },
    #[error("dataset version {requested} does not exist yet: the newest is {newest}")]
    VersionNotYet { requested: u64, newest: u64 },
    #[error("the change is inconsistent: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Postgres(String),
    /// The database cannot be reached (down, restarting, network): nothing was written, and
    /// the same call may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A record the change was computed from was changed by another writer since (optimistic
    /// concurrency between replicas): nothing was written.
    #[error("{0} was changed by another writer meanwhile")]
    Stale(String),
    /// The client's etag is not the record's current one (AIP-154): nothing was written.
    #[error("{name} has changed since it was read: its etag is now {current}, not {given}")]
    EtagMismatch {
        name: String,
        given: String,
        current: String,
    },
}

/// Who made a revision: an editor through the API, an import of a file, or the dataset
/// shipped with the build (its first import and later upgrades).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Edit,
    Import { import_id: String },
    Shipped,
}

impl Origin {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Origin::Edit => "edit",
            Origin::Import { .. } => "import",
            Origin::Shipped => "shipped",
        }
    }

    pub(crate) fn import_id(&self) -> Option<&str> {
        match self {
            Origin::Import { import_id } => Some(import_id),
            _ => None,
        }
    }
}

/// One change of a revision.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A new record; refused when its key was ever used (names are never reused, AIP-164).
    Create(Record),
    /// A new value for a live record; refused when there is none.
    Update(Record),
    /// Ends a live record; refused when there is none. Its rows stay, readable at earlier
    /// revisions and in its history.
    Delete(RecordKey),
    /// Creates or replaces, whatever there is (imports and upgrades, planned beforehand).
    Put(Record),
}

impl Change {
    pub fn key(&self) -> RecordKey {
        match self {
            Change::Create(r) | Change::Update(r) | Change::Put(r) => r.key(),
            Change::Delete(k) => k.clone(),
        }
    }
}

/// A revision to write: all its changes are stored or none.
#[derive(Clone, Debug)]
pub struct Commit {
    pub actor: String,
    pub origin: Origin,
    /// What the revision does, in words ("update figures/WF-012").
    pub summary: String,
    /// Why, when the writer said (required for corrections of observations).
    pub reason: Option<String>,
    pub changes: Vec<Change>,
    /// The revision the changes were computed from, when they depend on what was read (a
    /// partial update merged with the stored record, a check against other records): the
    /// commit is refused with [`StoreError::Stale`] when a record it changes was changed after
    /// it. `None` for changes that stand alone (creations, imports planned under the lock).
    pub base: Option<u64>,
    /// Rows the writer chose not to apply, recorded with the revision (import and upgrade
    /// conflicts with local edits).
    pub conflicts: Vec<Conflict>,
}

impl Commit {
    /// An edit through the API: `changes`, by `actor`, said in `summary`, standing alone.
    pub fn edit(
        actor: impl Into<String>,
        summary: impl Into<String>,
        changes: Vec<Change>,
    ) -> Self {
        Commit {
            actor: actor.into(),
            origin: Origin::Edit,
            summary: summary.into(),
            reason: None,
            changes,
            base: None,
            conflicts: Vec::new(),
        }
    }
}

/// What one change did, as the snapshot needs to follow it.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub key: RecordKey,
    /// For an observation, its holding.
    pub parent: String,
    /// The record's new value; `None` when it was deleted.
    pub after: Option<Record>,
}

/// A committed revision.
#[derive(Clone, Debug)]
pub struct Committed {
    pub revision: u64,
    pub applied: Vec<Applied>,
}

/// How a revision changed one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// One revision of the dataset, as `ListDatasetVersions` shows it.
#[derive(Clone, Debug)]
pub struct VersionInfo {
    pub revision: u64,
    /// Seconds since the Unix epoch.
    pub time: i64,
    pub actor: String,
    pub origin: String,
    pub import_id: Option<String>,
    pub summary: String,
    pub reason: Option<String>,
    /// Records changed, by resource name (all of them: callers page or cut).
    pub changes: Vec<(String, ChangeKind)>,
    pub conflicts: Vec<Conflict>,
}

/// One value a record had.
#[derive(Clone, Debug)]
pub struct RecordVersion {
    /// The revision that set this value.
    pub since: u64,
    /// The revision that replaced or deleted it; `None` while it is live.
    pub until: Option<u64>,
    pub record: Record,
    /// Who set it, when, how and why (from the revision `since`).
    pub actor: String,
    pub time: i64,
    pub origin: String,
    pub reason: Option<String>,
    /// The same for the revision `until`, when there is one.
    pub ended_by: Option<(String, i64, Option<String>)>,
}

/// What [`Datastore::open_or_import`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Opened {
    /// A new database was created and the embedded dataset imported.
    Imported { version: String },
    /// An existing database was reused as it was.
    Reused { dataset_version: String },
    /// An existing database met a newer shipped dataset: its rows were merged by id as one
    /// revision, keeping every local edit.
    Upgraded {
        from: String,
        to: String,
        revision: u64,
        added: usize,
        changed: usize,
        conflicts: Vec<Conflict>,
    },
}
