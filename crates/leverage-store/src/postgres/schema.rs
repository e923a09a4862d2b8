//! Schema migrations for PostgreSQL, tracked in `schema_version`. Every replica runs them at
//! start under one advisory lock, so replicas starting together migrate once; a database from
//! a newer build is refused rather than misread.
//!
//! The schema is the SQLite store's final one (the SQLite store's first migration, from before
//! versions, has no PostgreSQL counterpart), plus the `head` row that orders writers.

use tokio_postgres::Client;

use super::pg_error;
use crate::StoreError;

/// Any fixed number: the advisory lock's key for migrations ("leverage" in ASCII).
const MIGRATION_LOCK: i64 = 0x6c65_7665_7261_6765;

const MIGRATIONS: &[&str] = &[
    // 1: revisions, records valid from one revision until another, conflicts, the audit log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE head (
         singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
         revision BIGINT NOT NULL
     );
     INSERT INTO head (revision) VALUES (0);
     CREATE TABLE revisions (
         revision BIGINT PRIMARY KEY,
         time BIGINT NOT NULL,
         actor TEXT NOT NULL,
         origin TEXT NOT NULL,
         import_id TEXT,
         summary TEXT NOT NULL,
         reason TEXT
     );
     CREATE TABLE records (
         kind TEXT NOT NULL,
         id TEXT NOT NULL,
         parent TEXT NOT NULL DEFAULT '',
         body TEXT NOT NULL,
         origin TEXT NOT NULL,
         since_rev BIGINT NOT NULL,
         until_rev BIGINT,
         seq BIGINT NOT NULL DEFAULT 0
     );
     CREATE UNIQUE INDEX records_live ON records (kind, id) WHERE until_rev IS NULL;
     CREATE INDEX records_by_key ON records (kind, id, since_rev);
     CREATE INDEX records_by_since ON records (since_rev);
     CREATE INDEX records_by_seq ON records (seq);
     CREATE INDEX records_by_until ON records (until_rev) WHERE until_rev IS NOT NULL;
     CREATE INDEX records_by_parent ON records (parent) WHERE parent <> '';
     CREATE TABLE conflicts (
         position BIGSERIAL PRIMARY KEY,
         revision BIGINT NOT NULL,
         kind TEXT NOT NULL,
         id TEXT NOT NULL,
         name TEXT NOT NULL,
         detail TEXT NOT NULL
     );
     CREATE INDEX conflicts_by_revision ON conflicts (revision);
     CREATE TABLE audit_log (
         seq BIGSERIAL PRIMARY KEY,
         time BIGINT NOT NULL,
         actor TEXT NOT NULL,
         action TEXT NOT NULL,
         resource TEXT NOT NULL,
         body TEXT NOT NULL
     );",
];

pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    // Held until this transaction ends: a second replica waits here, then finds the work done.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .await
        .map_err(pg_error)?;
    let found: i64 = tx
        .query_opt("SELECT MAX(version)::BIGINT FROM schema_version", &[])
        .await
        .map_err(pg_error)?
        .and_then(|r| r.get::<_, Option<i64>>(0))
        .unwrap_or(0);
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )
        .await
        .map_err(pg_error)?;
        tracing::info!(version = i + 1, "applied PostgreSQL schema migration");
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(())
}
