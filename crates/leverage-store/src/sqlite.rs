//! The embedded store: one SQLite database file in WAL mode, for one process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leverage_core::Dataset;
use leverage_core::model::Holding;
use leverage_core::record::{Record, RecordKey, RecordKind};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{decode_record, encode_record, now_seconds, resource_name};
use crate::{
    Applied, Change, Commit, Committed, Conflict, Datastore, RecordVersion, StoreError, VersionInfo,
};

mod schema;

/// The SQLite database. One connection behind a mutex: writes are serialised anyway, and reads
/// of the newest revision go to the in-memory snapshot instead.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
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
}

impl Datastore for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    /// The newest revision; 0 for a database never imported into.
    fn head(&self) -> Result<u64, StoreError> {
        head(&self.conn())
    }

    /// Reads the newest revision through a connection of its own, opened for this probe: unlike
    /// the long-lived connection, whose page cache can hide a damaged or vanished file, it reads
    /// the file as it is now. For health checks.
    fn probe(&self) -> Result<u64, StoreError> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(1))?;
        head(&conn)
    }

    /// The oldest revision that can still be read (1 until a compaction).
    fn oldest(&self) -> Result<u64, StoreError> {
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

    /// Writes `commit` as the next revision, all or nothing; returns the revision and what
    /// changed. A commit that changes nothing and records no conflict writes no revision and
    /// returns the current one.
    fn commit(&self, commit: &Commit) -> Result<Committed, StoreError> {
        let mut conn = self.conn();
        // IMMEDIATE: the write lock from the start, so that the revision read here is still
        // the newest when this one is written, should another process share the file.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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
            if let Some(base) = commit.base
                && changed_after(&tx, &key, base)?
            {
                let parent = live.as_ref().map_or("", |(p, _)| p.as_str());
                return Err(StoreError::Stale(name(parent)));
            }
            let used = matches!(change, Change::Create(_)) && ever_used(&tx, &key)?;
            let (record, action) = crate::codec::applying(change, live.is_some(), used)?;
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
    fn load_at(&self, revision: Option<u64>) -> Result<(Dataset, u64), StoreError> {
        let conn = self.conn();
        let newest = head(&conn)?;
        let at = revision.unwrap_or(newest);
        drop(conn);
        self.check_readable(at)?;
        let tables = self.load_tables_at(at)?;
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
        let dataset = crate::codec::assemble(tables, at, |push| {
            while let Some(row) = rows.next()? {
                let field = |i| -> Result<&str, StoreError> {
                    Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
                };
                if !push([field(0)?, field(1)?, field(2)?, field(3)?]) {
                    break;
                }
            }
            Ok(())
        })?;
        Ok((dataset, at))
    }

    /// The records that are neither holdings nor observations (the meta record and the
    /// reference tables) as they were at `revision`, in table order: small, and read whole.
    fn load_tables_at(&self, revision: u64) -> Result<Vec<Record>, StoreError> {
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
    fn series_changed_since(
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
        Ok(Some(values_at(&conn, keys, revision, true)?))
    }

    fn changed_between(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Option<Vec<Applied>>, StoreError> {
        let conn = self.conn();
        let keys: Vec<(String, String, String)> = conn
            .prepare_cached(
                // Two indexed ranges rather than one OR, which would read the whole table.
                "SELECT kind, id, MAX(parent) FROM (
                     SELECT kind, id, parent FROM records WHERE since_rev > ?1 AND since_rev <= ?2
                     UNION ALL
                     SELECT kind, id, parent FROM records
                     WHERE until_rev IS NOT NULL AND until_rev > ?1 AND until_rev <= ?2
                 ) GROUP BY kind, id LIMIT ?3",
            )?
            .query_map(params![from as i64, to as i64, limit as i64 + 1], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        if keys.len() > limit {
            return Ok(None);
        }
        Ok(Some(values_at(&conn, keys, to, false)?))
    }

    fn wait_for_announcement(&self, _known: u64, timeout: Duration) -> Option<u64> {
        // One process writes a SQLite file: there is nobody to hear from.
        std::thread::sleep(timeout);
        None
    }

    /// One live holding with its observations, exactly as [`Store::load`] reads it; `None` when
    /// there is no such holding or it was deleted. What a snapshot re-reads after a write.
    fn load_holding(&self, id: &str) -> Result<Option<Holding>, StoreError> {
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
    fn history(&self, key: &RecordKey) -> Result<Vec<RecordVersion>, StoreError> {
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
    fn versions(&self, before: Option<u64>, limit: usize) -> Result<Vec<VersionInfo>, StoreError> {
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
            v.changes = crate::codec::changes_of(&opened, &closed);
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
    fn compact(&self, oldest: u64) -> Result<usize, StoreError> {
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
    fn live(&self, key: &RecordKey) -> Result<Option<(String, Record)>, StoreError> {
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
    fn last_from(&self, key: &RecordKey, origin: &str) -> Result<Option<Record>, StoreError> {
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
    fn ever_used(&self, key: &RecordKey) -> Result<bool, StoreError> {
        ever_used(&self.conn(), key)
    }

    /// The audit log, oldest first: (actor, action, resource).
    fn audit_log(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT actor, action, resource FROM audit_log ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
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

/// The value at `revision` of each record `keys` names (kind, id, parent); `None` for one that
/// did not exist then. With `whole_series`, a holding comes with its series as it was then: a
/// holding deleted or changed since may not be in the newest snapshot with its series.
fn values_at(
    conn: &Connection,
    keys: Vec<(String, String, String)>,
    revision: u64,
    whole_series: bool,
) -> Result<Vec<Applied>, StoreError> {
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
        if whole_series && k == RecordKind::Holding && after.is_some() {
            let mut series = conn.prepare_cached(
                "SELECT id, body FROM records
                 WHERE parent = ?1 AND parent <> '' AND kind = 'observation'
                   AND since_rev <= ?2 AND (until_rev IS NULL OR until_rev > ?2)",
            )?;
            let rows: Vec<(String, String)> = series
                .query_map(params![id, revision as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            crate::codec::series_changes(&id, rows, &mut out)?;
        }
        out.push(Applied {
            key: RecordKey::new(k, id),
            parent,
            after,
        });
    }
    Ok(out)
}

/// Whether `key` has a row opened or closed after `revision`.
fn changed_after(conn: &Connection, key: &RecordKey, revision: u64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM records WHERE kind = ?1 AND id = ?2
                 AND (since_rev > ?3 OR until_rev > ?3))",
        )?
        .query_row(params![key.kind.as_str(), key.id, revision as i64], |r| {
            r.get(0)
        })?)
}

fn ever_used(conn: &Connection, key: &RecordKey) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM records WHERE kind = ?1 AND id = ?2)")?
        .query_row(params![key.kind.as_str(), key.id], |r| r.get(0))?)
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
