//! Schema migrations, tracked in SQLite's `user_version`. Each step runs once, in order, in
//! a transaction; a database from a newer build is refused rather than misread.

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: holdings and observations (relational, editable), reference documents, audit log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE holdings (
         id TEXT PRIMARY KEY,
         body TEXT NOT NULL,
         created_by TEXT NOT NULL,
         create_time INTEGER NOT NULL,
         updated_by TEXT NOT NULL DEFAULT '',
         update_time INTEGER NOT NULL DEFAULT 0,
         deleted_by TEXT,
         delete_time INTEGER
     );
     CREATE TABLE observations (
         id TEXT PRIMARY KEY,
         holding_id TEXT NOT NULL REFERENCES holdings(id),
         as_of TEXT NOT NULL,
         body TEXT NOT NULL
     );
     CREATE INDEX observations_by_holding ON observations (holding_id, as_of);
     CREATE TABLE reference (
         kind TEXT NOT NULL,
         id TEXT NOT NULL,
         body TEXT NOT NULL,
         PRIMARY KEY (kind, id)
     );
     CREATE TABLE audit_log (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         time INTEGER NOT NULL,
         actor TEXT NOT NULL,
         action TEXT NOT NULL,
         resource TEXT NOT NULL,
         body TEXT NOT NULL
     );",
];

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}
