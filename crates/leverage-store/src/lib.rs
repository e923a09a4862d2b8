//! The durable source of truth: an embedded SQLite database in WAL mode.
//!
//! Holdings and their observations, which users edit, are relational tables; the reference
//! records (rates, figures, doctrines, positions, assessments, instruments) are JSON documents
//! keyed by kind and id. Every write runs in one transaction and leaves an audit-log row. On
//! first start the embedded dataset is imported; later starts reuse the database and never
//! import over user edits.
//!
//! Reads are served from an immutable [`Snapshot`] held by [`Repository`], rebuilt from the
//! database after each committed write and swapped in atomically, so reads never wait on writes.

mod repository;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use leverage_core::Dataset;
use leverage_core::dataset::DatasetMeta;
use leverage_core::model::{Audit, Holding, Observation};
use rusqlite::{Connection, OptionalExtension, params};

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
}

/// The SQLite database. One connection behind a mutex: writes are rare and short, and reads
/// go to the in-memory snapshot instead. The write path's statements are prepared once and
/// cached on the connection (`prepare_cached`): parsing them again was a sixth of a write.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// What `Store::open_or_import` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// A new database was created and the embedded dataset imported.
    Imported { version: String },
    /// An existing database was reused as it was.
    Reused { dataset_version: String },
}

const REFERENCE_KINDS: [&str; 6] = [
    "exchange_rate",
    "figure",
    "doctrine",
    "position",
    "assessment",
    "instrument",
];

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

    /// Imports `dataset` if the database has never been imported into; otherwise leaves it.
    pub fn open_or_import(&self, dataset: &Dataset) -> Result<Opened, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'dataset_meta'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(meta) = existing {
            let meta: DatasetMeta = decode("meta", "dataset_meta", &meta)?;
            return Ok(Opened::Reused {
                dataset_version: meta.version,
            });
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('dataset_meta', ?1)",
            [encode(&dataset.meta)],
        )?;
        for h in &dataset.holdings {
            insert_holding(&tx, h)?;
            for o in &h.observations {
                insert_observation(&tx, &h.id, o)?;
            }
        }
        let mut put = tx.prepare("INSERT INTO reference (kind, id, body) VALUES (?1, ?2, ?3)")?;
        for r in dataset.rates.iter() {
            put.execute(params!["exchange_rate", r.id, encode(r)])?;
        }
        for r in dataset.figures.iter() {
            put.execute(params!["figure", r.id, encode(r)])?;
        }
        for r in dataset.doctrines.iter() {
            put.execute(params!["doctrine", r.id, encode(r)])?;
        }
        for r in dataset.positions.iter() {
            put.execute(params!["position", r.id, encode(r)])?;
        }
        for r in dataset.assessments.iter() {
            put.execute(params!["assessment", r.id, encode(r)])?;
        }
        for r in dataset.instruments.iter() {
            put.execute(params!["instrument", r.id, encode(r)])?;
        }
        drop(put);
        audit(
            &tx,
            Audit::EMBEDDED,
            "import",
            "dataset",
            &dataset.meta.version,
        )?;
        tx.commit()?;
        Ok(Opened::Imported {
            version: dataset.meta.version.clone(),
        })
    }

    /// Reads the whole dataset back (deleted holdings left out).
    pub fn load(&self) -> Result<Dataset, StoreError> {
        let conn = self.conn();
        let meta: String = conn.query_row(
            "SELECT value FROM meta WHERE key = 'dataset_meta'",
            [],
            |r| r.get(0),
        )?;
        let meta: DatasetMeta = decode("meta", "dataset_meta", &meta)?;
        let mut holdings: Vec<Holding> = Vec::new();
        {
            let mut stmt = conn.prepare(&format!(
                "{HOLDING_COLUMNS} WHERE delete_time IS NULL ORDER BY id"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                holdings.push(holding_from_row(row)?);
            }
        }
        {
            let mut stmt = conn.prepare(
                "SELECT o.holding_id, o.id, o.body FROM observations o
                 JOIN holdings h ON h.id = o.holding_id
                 WHERE h.delete_time IS NULL ORDER BY o.holding_id, o.as_of, o.id",
            )?;
            let mut rows = stmt.query([])?;
            let mut cursor = 0;
            while let Some(row) = rows.next()? {
                let holding_id: String = row.get(0)?;
                let id: String = row.get(1)?;
                let body: String = row.get(2)?;
                let o: Observation = decode("observation", &id, &body)?;
                // Both queries are ordered by holding id, so one forward walk pairs them.
                while cursor < holdings.len() && holdings[cursor].id < holding_id {
                    cursor += 1;
                }
                if let Some(h) = holdings.get_mut(cursor).filter(|h| h.id == holding_id) {
                    h.observations.push(Arc::new(o));
                }
            }
        }
        let (mut rates, mut figures, mut doctrines) = (Vec::new(), Vec::new(), Vec::new());
        let (mut positions, mut assessments, mut instruments) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut stmt = conn.prepare("SELECT kind, id, body FROM reference ORDER BY kind, rowid")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            let id: String = row.get(1)?;
            let body: String = row.get(2)?;
            match kind.as_str() {
                "exchange_rate" => rates.push(decode(&kind, &id, &body)?),
                "figure" => figures.push(decode(&kind, &id, &body)?),
                "doctrine" => doctrines.push(decode(&kind, &id, &body)?),
                "position" => positions.push(decode(&kind, &id, &body)?),
                "assessment" => assessments.push(decode(&kind, &id, &body)?),
                "instrument" => instruments.push(decode(&kind, &id, &body)?),
                _ => {
                    return Err(StoreError::Corrupt {
                        kind,
                        id,
                        reason: format!(
                            "unknown reference kind; known: {}",
                            REFERENCE_KINDS.join(", ")
                        ),
                    });
                }
            }
        }
        let dataset = Dataset {
            meta,
            rates: rates.into(),
            holdings: holdings.into_iter().map(Arc::new).collect(),
            figures: figures.into(),
            doctrines: doctrines.into(),
            positions: positions.into(),
            assessments: assessments.into(),
            instruments: instruments.into(),
        };
        Ok(dataset)
    }

    /// One live holding with its observations, exactly as [`Store::load`] reads it; `None` when
    /// there is no such holding or it was deleted. What a snapshot re-reads after a write.
    pub fn load_holding(&self, id: &str) -> Result<Option<Holding>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{HOLDING_COLUMNS} WHERE id = ?1 AND delete_time IS NULL"
        ))?;
        let mut rows = stmt.query([id])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let mut holding = holding_from_row(row)?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, body FROM observations WHERE holding_id = ?1 ORDER BY as_of, id",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let body: String = row.get(1)?;
            holding
                .observations
                .push(decode("observation", &id, &body)?);
        }
        Ok(Some(holding))
    }

    /// Adds a holding (with any observations it carries) in one transaction.
    pub fn create_holding(&self, holding: &Holding) -> Result<(), StoreError> {
        self.create_holdings(std::slice::from_ref(holding))
    }

    /// Adds many new holdings (with their observations) in one transaction: all or none. For
    /// bulk loads such as synthetic benchmark data; each holding is audited as one creation.
    pub fn create_holdings(&self, holdings: &[Holding]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for holding in holdings {
            // A deleted holding keeps its id: names are never reused (AIP-164 style).
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM holdings WHERE id = ?1)",
                [&holding.id],
                |r| r.get(0),
            )?;
            if exists {
                return Err(StoreError::AlreadyExists(format!(
                    "holdings/{}",
                    holding.id
                )));
            }
            insert_holding(&tx, holding)?;
            for o in &holding.observations {
                insert_observation(&tx, &holding.id, o)?;
            }
            let resource = format!("holdings/{}", holding.id);
            audit(
                &tx,
                &holding.audit.created_by,
                "create",
                &resource,
                &encode(holding),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds an observation to a live holding.
    pub fn create_observation(
        &self,
        holding_id: &str,
        observation: &Observation,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        live_holding(&tx, holding_id)?;
        insert_observation(&tx, holding_id, observation)?;
        tx.prepare_cached("UPDATE holdings SET updated_by = ?2, update_time = ?3 WHERE id = ?1")?
            .execute(params![
                holding_id,
                observation.audit.created_by,
                observation.audit.create_time
            ])?;
        audit(
            &tx,
            &observation.audit.created_by,
            "create",
            &format!("holdings/{holding_id}/observations/{}", observation.id),
            &encode(observation),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces a live holding's descriptive fields (not its observations).
    pub fn update_holding(&self, holding: &Holding) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        live_holding(&tx, &holding.id)?;
        let mut body = holding.clone();
        body.observations.clear();
        tx.execute(
            "UPDATE holdings SET body = ?2, updated_by = ?3, update_time = ?4 WHERE id = ?1",
            params![
                holding.id,
                encode(&body),
                holding.audit.updated_by,
                holding.audit.update_time
            ],
        )?;
        audit(
            &tx,
            &holding.audit.updated_by,
            "update",
            &format!("holdings/{}", holding.id),
            &encode(&body),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Soft-deletes a holding: it leaves every read but stays in the database and the log.
    pub fn delete_holding(&self, id: &str, actor: &str, time: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        live_holding(&tx, id)?;
        tx.execute(
            "UPDATE holdings SET deleted_by = ?2, delete_time = ?3 WHERE id = ?1",
            params![id, actor, time],
        )?;
        audit(&tx, actor, "delete", &format!("holdings/{id}"), "")?;
        tx.commit()?;
        Ok(())
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

fn live_holding(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<(), StoreError> {
    let found: Option<Option<i64>> = tx
        .prepare_cached("SELECT delete_time FROM holdings WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match found {
        Some(None) => Ok(()),
        _ => Err(StoreError::NotFound(format!("holdings/{id}"))),
    }
}

fn insert_holding(tx: &rusqlite::Transaction<'_>, h: &Holding) -> Result<(), StoreError> {
    let mut body = h.clone();
    body.observations.clear();
    body.audit = Audit::default();
    tx.execute(
        "INSERT INTO holdings (id, body, created_by, create_time, updated_by, update_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            h.id,
            encode(&body),
            h.audit.created_by,
            h.audit.create_time,
            h.audit.updated_by,
            h.audit.update_time
        ],
    )?;
    Ok(())
}

fn insert_observation(
    tx: &rusqlite::Transaction<'_>,
    holding_id: &str,
    o: &Observation,
) -> Result<(), StoreError> {
    let taken: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM observations WHERE id = ?1)")?
        .query_row([&o.id], |r| r.get(0))?;
    if taken {
        return Err(StoreError::AlreadyExists(format!(
            "holdings/{holding_id}/observations/{}",
            o.id
        )));
    }
    tx.prepare_cached(
        "INSERT INTO observations (id, holding_id, as_of, body) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![o.id, holding_id, o.as_of.to_string(), encode(o)])?;
    Ok(())
}

fn audit(
    tx: &rusqlite::Transaction<'_>,
    actor: &str,
    action: &str,
    resource: &str,
    body: &str,
) -> Result<(), StoreError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    tx.prepare_cached(
        "INSERT INTO audit_log (time, actor, action, resource, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![now, actor, action, resource, body])?;
    Ok(())
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain data structs with string keys into JSON cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The columns [`holding_from_row`] reads, in its order.
const HOLDING_COLUMNS: &str =
    "SELECT id, body, created_by, create_time, updated_by, update_time FROM holdings";

/// A holding from a row of [`HOLDING_COLUMNS`], without its observations.
fn holding_from_row(row: &rusqlite::Row<'_>) -> Result<Holding, StoreError> {
    let id: String = row.get(0)?;
    let body: String = row.get(1)?;
    let mut h: Holding = decode("holding", &id, &body)?;
    h.audit = Audit {
        created_by: row.get(2)?,
        create_time: row.get(3)?,
        updated_by: row.get(4)?,
        update_time: row.get(5)?,
    };
    Ok(h)
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
