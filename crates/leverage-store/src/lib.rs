//! The durable source of truth: an embedded SQLite database in WAL mode, keeping every version
//! of the dataset.
//!
//! Every record (holding, observation, exchange rate, figure, doctrine, position, assessment,
//! instrument, and the dataset's own description) is a row valid from one revision until
//! another. A write is one transaction that takes the next revision, closes the rows it
//! changes and opens their new values: rows are never overwritten, so the dataset can be read
//! as it was at any revision that has not been compacted, and a record's history lists every
//! value it had with who changed it, when and why.
//!
//! Reads of the newest revision are served from an immutable [`Snapshot`] held by
//! [`Repository`], updated after each committed write and swapped in atomically, so reads never
//! wait on writes.

mod merge;
mod repository;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use leverage_core::Dataset;
use leverage_core::model::{Audit, Holding, Observation};
use leverage_core::record::{DatasetBuilder, META_ID, Record, RecordKey, RecordKind};
use rusqlite::{Connection, OptionalExtension, params};

pub use merge::{Conflict, MergePlan, MergeSource};
pub use repository::Repository;

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
    fn as_str(&self) -> &'static str {
        match self {
            Origin::Edit => "edit",
            Origin::Import { .. } => "import",
            Origin::Shipped => "shipped",
        }
    }

    fn import_id(&self) -> Option<&str> {
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
    fn key(&self) -> RecordKey {
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
    /// Rows the writer chose not to apply, recorded with the revision (import and upgrade
    /// conflicts with local edits).
    pub conflicts: Vec<Conflict>,
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

/// The SQLite database. One connection behind a mutex: writes are serialised anyway, and reads
/// of the newest revision go to the in-memory snapshot instead.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// What `Store::open_or_import` did.
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

impl Store {
    /// Opens (creating if needed) `leverage.db` in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join("leverage.db");
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged write survives power loss, not only a killed process.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest revision; 0 for a database never imported into.
    pub fn head(&self) -> Result<u64, StoreError> {
        head(&self.conn())
    }

    /// Reads the newest revision through a connection of its own, opened for this probe: unlike
    /// the long-lived connection, whose page cache can hide a damaged or vanished file, it reads
    /// the file as it is now. For health checks.
    pub fn probe(&self) -> Result<u64, StoreError> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(1))?;
        head(&conn)
    }

    /// The oldest revision that can still be read (1 until a compaction).
    pub fn oldest(&self) -> Result<u64, StoreError> {
        let conn = self.conn();
        let v: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'oldest_revision'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(1))
    }

    /// Imports `dataset` into a database never imported into; merges it by id into one whose
    /// shipped dataset is another version (see [`Opened::Upgraded`]); otherwise leaves it.
    pub fn open_or_import(&self, dataset: &Dataset) -> Result<Opened, StoreError> {
        if self.head()? == 0 {
            let changes = dataset.records().into_iter().map(Change::Create).collect();
            self.commit(&Commit {
                actor: Audit::EMBEDDED.to_owned(),
                origin: Origin::Shipped,
                summary: format!("import of the shipped dataset {}", dataset.meta.version),
                reason: None,
                changes,
                conflicts: Vec::new(),
            })?;
            return Ok(Opened::Imported {
                version: dataset.meta.version.clone(),
            });
        }
        let stored = match self.live(&RecordKey::new(RecordKind::Meta, META_ID))? {
            Some((_, Record::Meta(meta))) => meta,
            _ => {
                return Err(StoreError::Corrupt {
                    kind: "meta".into(),
                    id: META_ID.into(),
                    reason: "the database has versions but no dataset description".into(),
                });
            }
        };
        let shipped_before = self.last_shipped_meta_version()?;
        if shipped_before.as_deref() == Some(dataset.meta.version.as_str()) {
            return Ok(Opened::Reused {
                dataset_version: stored.version,
            });
        }
        let plan = self.plan_merge(&dataset.records(), &MergeSource::Shipped)?;
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
        let committed =
            self.commit(&plan.into_commit(Audit::EMBEDDED, Origin::Shipped, summary, None))?;
        Ok(Opened::Upgraded {
            from,
            to: dataset.meta.version.clone(),
            revision: committed.revision,
            added,
            changed,
            conflicts,
        })
    }

    /// The version of the newest shipped meta record: the shipped dataset this database last
    /// merged, even when the live meta record was edited since.
    fn last_shipped_meta_version(&self) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let body: Option<String> = conn
            .query_row(
                "SELECT body FROM records WHERE kind = 'meta' AND origin = 'shipped'
                 ORDER BY since_rev DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match body {
            Some(b) => match decode_record("meta", "dataset", "", &b)? {
                Record::Meta(m) => Some(m.version),
                _ => None,
            },
            None => None,
        })
    }

    /// Writes `commit` as the next revision, all or nothing; returns the revision and what
    /// changed. A commit that changes nothing and records no conflict writes no revision and
    /// returns the current one.
    pub fn commit(&self, commit: &Commit) -> Result<Committed, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let before = head(&tx)?;
        if commit.changes.is_empty() && commit.conflicts.is_empty() {
            return Ok(Committed {
                revision: before,
                applied: Vec::new(),
            });
        }
        let revision = before + 1;
        let now = now_seconds();
        tx.prepare_cached(
            "INSERT INTO revisions (revision, time, actor, origin, import_id, summary, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            revision as i64,
            now,
            commit.actor,
            commit.origin.as_str(),
            commit.origin.import_id(),
            commit.summary,
            commit.reason
        ])?;
        let mut applied = Vec::with_capacity(commit.changes.len());
        for change in &commit.changes {
            let key = change.key();
            let live = live_row(&tx, &key)?;
            let name = |parent: &str| resource_name(&key, parent);
            let (record, action) = match change {
                Change::Create(r) => {
                    if ever_used(&tx, &key)? {
                        return Err(StoreError::AlreadyExists(name(r.parent())));
                    }
                    (Some(r), "create")
                }
                Change::Update(r) => {
                    if live.is_none() {
                        return Err(StoreError::NotFound(name(r.parent())));
                    }
                    (Some(r), "update")
                }
                Change::Put(r) => (Some(r), if live.is_some() { "update" } else { "create" }),
                Change::Delete(_) => {
                    if live.is_none() {
                        return Err(StoreError::NotFound(name("")));
                    }
                    (None, "delete")
                }
            };
            if let Some(r) = record
                && let Record::Observation { holding, .. } = r
                && live_row(&tx, &RecordKey::new(RecordKind::Holding, holding.clone()))?.is_none()
            {
                return Err(StoreError::NotFound(format!("holdings/{holding}")));
            }
            let parent = match (record, &live) {
                (Some(r), _) => r.parent().to_owned(),
                (None, Some((parent, _))) => parent.clone(),
                (None, None) => String::new(),
            };
            let seq: i64 = match &live {
                Some(_) => tx
                    .prepare_cached(
                        "SELECT seq FROM records WHERE kind = ?1 AND id = ?2 AND until_rev IS NULL",
                    )?
                    .query_row(params![key.kind.as_str(), key.id], |r| r.get(0))?,
                None => tx
                    .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM records")?
                    .query_row([], |r| r.get(0))?,
            };
            if live.is_some() {
                tx.prepare_cached(
                    "UPDATE records SET until_rev = ?3
                     WHERE kind = ?1 AND id = ?2 AND until_rev IS NULL",
                )?
                .execute(params![key.kind.as_str(), key.id, revision as i64])?;
            }
            let body = match record {
                Some(r) => {
                    let body = encode_record(r);
                    tx.prepare_cached(
                        "INSERT INTO records (kind, id, parent, body, origin, since_rev, seq)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![
                        key.kind.as_str(),
                        key.id,
                        parent,
                        body,
                        commit.origin.as_str(),
                        revision as i64,
                        seq
                    ])?;
                    body
                }
                None => String::new(),
            };
            audit(&tx, now, &commit.actor, action, &name(&parent), &body)?;
            applied.push(Applied {
                key,
                parent,
                after: record.cloned(),
            });
        }
        for c in &commit.conflicts {
            tx.prepare_cached(
                "INSERT INTO conflicts (revision, kind, id, name, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                revision as i64,
                c.key.kind.as_str(),
                c.key.id,
                c.name,
                c.detail
            ])?;
        }
        tx.commit()?;
        Ok(Committed { revision, applied })
    }

    /// The dataset at `revision` (the newest when `None`) and the revision read.
    pub fn load_at(&self, revision: Option<u64>) -> Result<(Dataset, u64), StoreError> {
        let conn = self.conn();
        let newest = head(&conn)?;
        let at = revision.unwrap_or(newest);
        drop(conn);
        self.check_readable(at)?;
        let mut builder = DatasetBuilder::default();
        for r in self.load_tables_at(at)? {
            builder.push(r);
        }
        let conn = self.conn();
        // Holdings and observations in table order: the dataset puts them in id and date
        // order itself, and an ORDER BY over a million rows would read them through an index.
        // The newest revision is the rows still open, which need no range test.
        let sql = if at == newest {
            "SELECT kind, id, parent, body FROM records
             WHERE until_rev IS NULL AND kind IN ('holding', 'observation')"
        } else {
            "SELECT kind, id, parent, body FROM records
             WHERE kind IN ('holding', 'observation')
               AND since_rev <= ?1 AND (until_rev IS NULL OR until_rev > ?1)"
        };
        let mut stmt = conn.prepare(sql)?;
        let mut rows = if at == newest {
            stmt.query([])?
        } else {
            stmt.query([at as i64])?
        };
        // Decoding the JSON of a million rows is most of the work: this thread reads rows and
        // hands them in batches to decoders on the other cores, each filling a builder of its
        // own, merged at the end. A batch is one text buffer with the rows' fields as ranges,
        // sent back for reuse once decoded: a string per field of a million rows, allocated
        // here and freed on another thread, cost more than the decoding saved.
        let decoders = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(decoders * 2);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch>();
        let full_rx = Mutex::new(full_rx);
        let decoded: Vec<Result<DatasetBuilder, StoreError>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..decoders)
                .map(|_| {
                    let (full_rx, empty_tx) = (&full_rx, empty_tx.clone());
                    scope.spawn(move || {
                        let mut part = DatasetBuilder::default();
                        loop {
                            let next = full_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                            let Ok(batch) = next else {
                                return Ok(part);
                            };
                            for row in &batch.rows {
                                let [kind, id, parent, body] = row.clone().map(|r| &batch.text[r]);
                                if kind == "observation" {
                                    part.push_observation(parent, decode(kind, id, body)?);
                                } else {
                                    part.push(decode_record(kind, id, parent, body)?);
                                }
                            }
                            let _ = empty_tx.send(batch);
                        }
                    })
                })
                .collect();
            drop(empty_tx);
            let read = (|| -> Result<(), StoreError> {
                let mut batch = Batch::default();
                while let Some(row) = rows.next()? {
                    let mut fields: [std::ops::Range<usize>; 4] = Default::default();
                    for (i, field) in fields.iter_mut().enumerate() {
                        let text = row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?;
                        let at = batch.text.len();
                        batch.text.push_str(text);
                        *field = at..batch.text.len();
                    }
                    batch.rows.push(fields);
                    if batch.rows.len() == LOAD_BATCH {
                        let mut next = empty_rx.try_recv().unwrap_or_default();
                        next.text.clear();
                        next.rows.clear();
                        if full_tx.send(std::mem::replace(&mut batch, next)).is_err() {
                            // A decoder failed; its error is reported below.
                            return Ok(());
                        }
                    }
                }
                let _ = full_tx.send(batch);
                Ok(())
            })();
            drop(full_tx);
            let mut out: Vec<_> = workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(StoreError::Invalid("a decoder thread panicked".into()))
                    })
                })
                .collect();
            if let Err(e) = read {
                out.push(Err(e));
            }
            out
        });
        for part in decoded {
            builder.merge(part?);
        }
        let dataset = builder.finish().ok_or_else(|| StoreError::Corrupt {
            kind: "meta".into(),
            id: "dataset".into(),
            reason: format!("no dataset description at revision {at}"),
        })?;
        Ok((dataset, at))
    }

    /// The records that are neither holdings nor observations (the meta record and the
    /// reference tables) as they were at `revision`, in table order: small, and read whole.
    pub fn load_tables_at(&self, revision: u64) -> Result<Vec<Record>, StoreError> {
        self.check_readable(revision)?;
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            // The kinds named, so that the (kind, id) index finds these few hundred rows
            // rather than a scan in `seq` order through a million observations.
            "SELECT kind, id, parent, body FROM records
             WHERE kind IN ('meta', 'exchange_rate', 'figure', 'doctrine', 'position',
                            'assessment', 'instrument')
               AND since_rev <= ?1 AND (until_rev IS NULL OR until_rev > ?1) ORDER BY seq",
        )?;
        let mut rows = stmt.query([revision as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let (kind, id, parent, body): (String, String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            out.push(decode_record(&kind, &id, &parent, &body)?);
        }
        Ok(out)
    }

    /// The holdings and observations changed after `revision`, each with its value at
    /// `revision` (`None` when it did not exist then) and its holding: what turns the newest
    /// snapshot back into the one at `revision`. `None` when more than `limit` changed, where
    /// reading the whole revision is cheaper.
    pub fn series_changed_since(
        &self,
        revision: u64,
        limit: usize,
    ) -> Result<Option<Vec<Applied>>, StoreError> {
        self.check_readable(revision)?;
        let conn = self.conn();
        let keys: Vec<(String, String, String)> = conn
            .prepare_cached(
                // Two indexed ranges (rows opened after the revision, rows closed after it)
                // rather than one OR, which would read the whole table; `+kind` keeps SQLite
                // from choosing the (kind, id) index, which would walk every observation.
                "SELECT kind, id, MAX(parent) FROM (
                     SELECT kind, id, parent FROM records WHERE since_rev > ?1
                     UNION ALL
                     SELECT kind, id, parent FROM records
                     WHERE until_rev IS NOT NULL AND until_rev > ?1
                 ) WHERE +kind IN ('holding', 'observation')
                 GROUP BY kind, id LIMIT ?2",
            )?
            .query_map(params![revision as i64, limit as i64 + 1], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        if keys.len() > limit {
            return Ok(None);
        }
        let mut at = conn.prepare_cached(
            "SELECT body FROM records WHERE kind = ?1 AND id = ?2
               AND since_rev <= ?3 AND (until_rev IS NULL OR until_rev > ?3)",
        )?;
        let mut out = Vec::with_capacity(keys.len());
        for (kind, id, parent) in keys {
            let Some(k) = RecordKind::parse(&kind) else {
                continue;
            };
            let body: Option<String> = at
                .query_row(params![kind, id, revision as i64], |r| r.get(0))
                .optional()?;
            let after = body
                .map(|b| decode_record(&kind, &id, &parent, &b))
                .transpose()?;
            if k == RecordKind::Holding && after.is_some() {
                // A holding deleted or changed since may not be in the newest snapshot with its
                // series: give the series as it was, whole.
                let mut series = conn.prepare_cached(
                    "SELECT id, body FROM records
                     WHERE parent = ?1 AND parent <> '' AND kind = 'observation'
                       AND since_rev <= ?2 AND (until_rev IS NULL OR until_rev > ?2)",
                )?;
                let rows: Vec<(String, String)> = series
                    .query_map(params![id, revision as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (oid, body) in rows {
                    out.push(Applied {
                        after: Some(decode_record("observation", &oid, &id, &body)?),
                        key: RecordKey::new(RecordKind::Observation, oid),
                        parent: id.clone(),
                    });
                }
            }
            out.push(Applied {
                key: RecordKey::new(k, id),
                parent,
                after,
            });
        }
        Ok(Some(out))
    }

    /// The newest dataset: what [`Store::load_at`] gives for the newest revision.
    pub fn load(&self) -> Result<Dataset, StoreError> {
        Ok(self.load_at(None)?.0)
    }

    /// Refuses a revision that was compacted away or is not written yet.
    pub fn check_readable(&self, revision: u64) -> Result<(), StoreError> {
        let (newest, oldest) = (self.head()?, self.oldest()?);
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

    /// One live holding with its observations, exactly as [`Store::load`] reads it; `None` when
    /// there is no such holding or it was deleted. What a snapshot re-reads after a write.
    pub fn load_holding(&self, id: &str) -> Result<Option<Holding>, StoreError> {
        let conn = self.conn();
        let Some((_, body)) = live_row(&conn, &RecordKey::new(RecordKind::Holding, id))? else {
            return Ok(None);
        };
        let Record::Holding(mut holding) = decode_record("holding", id, "", &body)? else {
            return Ok(None);
        };
        let mut stmt = conn.prepare_cached(
            "SELECT id, body FROM records
             WHERE parent = ?1 AND parent <> '' AND until_rev IS NULL AND kind = 'observation'",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let (oid, body): (String, String) = (row.get(0)?, row.get(1)?);
            if let Record::Observation { observation, .. } =
                decode_record("observation", &oid, id, &body)?
            {
                holding.observations.push(Arc::new(observation));
            }
        }
        holding
            .observations
            .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
        Ok(Some(holding))
    }

    /// Every value record `key` had, oldest first, with who set each and why.
    pub fn history(&self, key: &RecordKey) -> Result<Vec<RecordVersion>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT r.parent, r.body, r.since_rev, r.until_rev, s.actor, s.time, s.origin,
                    s.reason, u.actor, u.time, u.reason
             FROM records r
             JOIN revisions s ON s.revision = r.since_rev
             LEFT JOIN revisions u ON u.revision = r.until_rev
             WHERE r.kind = ?1 AND r.id = ?2 AND (r.until_rev IS NULL OR r.until_rev > r.since_rev)
             ORDER BY r.since_rev",
        )?;
        let mut rows = stmt.query(params![key.kind.as_str(), key.id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let parent: String = row.get(0)?;
            let body: String = row.get(1)?;
            let until: Option<i64> = row.get(3)?;
            let ended_by = match until {
                Some(_) => Some((row.get(8)?, row.get(9)?, row.get(10)?)),
                None => None,
            };
            out.push(RecordVersion {
                since: row.get::<_, i64>(2)? as u64,
                until: until.map(|u| u as u64),
                record: decode_record(key.kind.as_str(), &key.id, &parent, &body)?,
                actor: row.get(4)?,
                time: row.get(5)?,
                origin: row.get(6)?,
                reason: row.get(7)?,
                ended_by,
            });
        }
        Ok(out)
    }

    /// Revisions newest first, starting below `before` (all when `None`), at most `limit`.
    pub fn versions(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<VersionInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT revision, time, actor, origin, import_id, summary, reason FROM revisions
             WHERE revision < ?1 ORDER BY revision DESC LIMIT ?2",
        )?;
        let before = before.map_or(i64::MAX, |b| b as i64);
        let mut rows = stmt.query(params![before, limit as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(VersionInfo {
                revision: row.get::<_, i64>(0)? as u64,
                time: row.get(1)?,
                actor: row.get(2)?,
                origin: row.get(3)?,
                import_id: row.get(4)?,
                summary: row.get(5)?,
                reason: row.get(6)?,
                changes: Vec::new(),
                conflicts: Vec::new(),
            });
        }
        drop(rows);
        drop(stmt);
        for v in &mut out {
            let rev = v.revision as i64;
            let mut opened =
                conn.prepare_cached("SELECT kind, id, parent FROM records WHERE since_rev = ?1")?;
            let opened: Vec<(String, String, String)> = opened
                .query_map([rev], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut closed = conn.prepare_cached(
                "SELECT kind, id, parent FROM records WHERE until_rev = ?1 AND since_rev < ?1",
            )?;
            let closed: Vec<(String, String, String)> = closed
                .query_map([rev], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            for (kind, id, parent) in &opened {
                let replaced = closed.iter().any(|(k, i, _)| k == kind && i == id);
                let kind_of = if replaced {
                    ChangeKind::Updated
                } else {
                    ChangeKind::Created
                };
                v.changes.push((name_of(kind, id, parent), kind_of));
            }
            for (kind, id, parent) in &closed {
                if !opened.iter().any(|(k, i, _)| k == kind && i == id) {
                    v.changes
                        .push((name_of(kind, id, parent), ChangeKind::Deleted));
                }
            }
            let mut conflicts = conn.prepare_cached(
                "SELECT kind, id, name, detail FROM conflicts WHERE revision = ?1 ORDER BY rowid",
            )?;
            v.conflicts = conflicts
                .query_map([rev], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                    ))
                })?
                .filter_map(|r| match r {
                    Ok((kind, id, name, detail)) => RecordKind::parse(&kind).map(|k| {
                        Ok(Conflict {
                            key: RecordKey::new(k, id),
                            name,
                            detail,
                        })
                    }),
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(out)
    }

    /// Forgets every value that no revision from `oldest` on can see, so that reads below
    /// `oldest` are refused from then on. Returns the number of rows removed. The revisions
    /// themselves (who, when, what) stay listed.
    pub fn compact(&self, oldest: u64) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let newest = head(&tx)?;
        if oldest > newest {
            return Err(StoreError::VersionNotYet {
                requested: oldest,
                newest,
            });
        }
        let removed = tx.execute(
            "DELETE FROM records WHERE until_rev IS NOT NULL AND until_rev <= ?1",
            [oldest as i64],
        )?;
        let current: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'oldest_revision'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let current = current.and_then(|c| c.parse::<u64>().ok()).unwrap_or(1);
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('oldest_revision', ?1)",
            [current.max(oldest).to_string()],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// The live row of `key` (its origin and body), if any.
    pub fn live(&self, key: &RecordKey) -> Result<Option<(String, Record)>, StoreError> {
        let conn = self.conn();
        let row: Option<(String, String, String)> = conn
            .prepare_cached(
                "SELECT parent, body, origin FROM records
                 WHERE kind = ?1 AND id = ?2 AND until_rev IS NULL",
            )?
            .query_row(params![key.kind.as_str(), key.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        row.map(|(parent, body, origin)| {
            Ok((
                origin,
                decode_record(key.kind.as_str(), &key.id, &parent, &body)?,
            ))
        })
        .transpose()
    }

    /// The newest value of `key` that came from `origin` (shipped, import, edit), live or not.
    pub fn last_from(&self, key: &RecordKey, origin: &str) -> Result<Option<Record>, StoreError> {
        let conn = self.conn();
        let row: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT parent, body FROM records WHERE kind = ?1 AND id = ?2 AND origin = ?3
                 ORDER BY since_rev DESC LIMIT 1",
            )?
            .query_row(params![key.kind.as_str(), key.id, origin], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(parent, body)| decode_record(key.kind.as_str(), &key.id, &parent, &body))
            .transpose()
    }

    /// Whether `key` ever had a row (live or not).
    pub fn ever_used(&self, key: &RecordKey) -> Result<bool, StoreError> {
        ever_used(&self.conn(), key)
    }

    /// Adds a holding (with any observations it carries) in one revision.
    pub fn create_holding(&self, holding: &Holding) -> Result<u64, StoreError> {
        self.create_holdings(std::slice::from_ref(holding))
    }

    /// Adds many new holdings (with their observations) in one revision: all or none. For
    /// bulk loads such as synthetic benchmark data.
    pub fn create_holdings(&self, holdings: &[Holding]) -> Result<u64, StoreError> {
        let actor = holdings.first().map_or(Audit::EMBEDDED.to_owned(), |h| {
            h.audit.created_by.to_string()
        });
        let changes = holdings.iter().flat_map(creation_of).collect();
        let summary = match holdings {
            [one] => format!("create holdings/{}", one.id),
            many => format!("create {} holdings", many.len()),
        };
        Ok(self
            .commit(&Commit {
                actor,
                origin: Origin::Edit,
                summary,
                reason: None,
                changes,
                conflicts: Vec::new(),
            })?
            .revision)
    }

    /// The audit log, oldest first: (actor, action, resource).
    pub fn audit_log(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT actor, action, resource FROM audit_log ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Rows handed to a decoder at a time when a revision is read whole.
const LOAD_BATCH: usize = 2048;

/// Rows read for a decoder: their fields (kind, id, parent, body) as ranges of one text.
#[derive(Debug, Default)]
struct Batch {
    text: String,
    rows: Vec<[std::ops::Range<usize>; 4]>,
}

/// The changes that create `holding` with its observations, each a record of its own.
pub fn creation_of(holding: &Holding) -> Vec<Change> {
    let mut bare = holding.clone();
    bare.observations = Vec::new();
    let mut changes = vec![Change::Create(Record::Holding(bare))];
    changes.extend(holding.observations.iter().map(|o| {
        Change::Create(Record::Observation {
            holding: holding.id.clone(),
            observation: Observation::clone(o),
        })
    }));
    changes
}

fn head(conn: &Connection) -> Result<u64, StoreError> {
    let v: Option<i64> = conn.query_row("SELECT MAX(revision) FROM revisions", [], |r| r.get(0))?;
    Ok(v.unwrap_or(0) as u64)
}

fn live_row(conn: &Connection, key: &RecordKey) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT parent, body FROM records WHERE kind = ?1 AND id = ?2 AND until_rev IS NULL",
        )?
        .query_row(params![key.kind.as_str(), key.id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

fn ever_used(conn: &Connection, key: &RecordKey) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM records WHERE kind = ?1 AND id = ?2)")?
        .query_row(params![key.kind.as_str(), key.id], |r| r.get(0))?)
}

fn resource_name(key: &RecordKey, parent: &str) -> String {
    name_of(key.kind.as_str(), &key.id, parent)
}

/// The API name of a stored row.
fn name_of(kind: &str, id: &str, parent: &str) -> String {
    match RecordKind::parse(kind) {
        Some(RecordKind::Observation) => format!("holdings/{parent}/observations/{id}"),
        Some(k) => format!("{}/{id}", k.collection()),
        None => format!("{kind}/{id}"),
    }
}

fn audit(
    tx: &Connection,
    time: i64,
    actor: &str,
    action: &str,
    resource: &str,
    body: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (time, actor, action, resource, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![time, actor, action, resource, body])?;
    Ok(())
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain data structs with string keys into JSON cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// A record as the store keeps it: its JSON (a holding without its observations), the same
/// fields and names as the dataset file.
pub fn record_json(r: &Record) -> String {
    encode_record(r)
}

fn encode_record(r: &Record) -> String {
    match r {
        Record::Meta(x) => encode(x),
        Record::ExchangeRate(x) => encode(x),
        Record::Holding(x) => {
            if x.observations.is_empty() {
                encode(x)
            } else {
                let mut bare = x.clone();
                bare.observations = Vec::new();
                encode(&bare)
            }
        }
        Record::Observation { observation, .. } => encode(observation),
        Record::Figure(x) => encode(x),
        Record::Doctrine(x) => encode(x),
        Record::Position(x) => encode(x),
        Record::Assessment(x) => encode(x),
        Record::Instrument(x) => encode(x),
    }
}

fn decode_record(kind: &str, id: &str, parent: &str, body: &str) -> Result<Record, StoreError> {
    let d = |kind: &str| -> Result<_, StoreError> {
        Ok(match RecordKind::parse(kind) {
            Some(RecordKind::Meta) => Record::Meta(decode(kind, id, body)?),
            Some(RecordKind::ExchangeRate) => Record::ExchangeRate(decode(kind, id, body)?),
            Some(RecordKind::Holding) => Record::Holding(decode(kind, id, body)?),
            Some(RecordKind::Observation) => Record::Observation {
                holding: parent.to_owned(),
                observation: decode(kind, id, body)?,
            },
            Some(RecordKind::Figure) => Record::Figure(decode(kind, id, body)?),
            Some(RecordKind::Doctrine) => Record::Doctrine(decode(kind, id, body)?),
            Some(RecordKind::Position) => Record::Position(decode(kind, id, body)?),
            Some(RecordKind::Assessment) => Record::Assessment(decode(kind, id, body)?),
            Some(RecordKind::Instrument) => Record::Instrument(decode(kind, id, body)?),
            None => {
                return Err(StoreError::Corrupt {
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                    reason: "unknown record kind".into(),
                });
            }
        })
    };
    d(kind)
}

fn decode<T: serde::de::DeserializeOwned>(
    kind: &str,
    id: &str,
    body: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason: e.to_string(),
    })
}
