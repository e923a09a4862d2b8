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
    // 2: dataset versions. Every record of every kind is a row valid from one revision until
    // another (open while it is live); a change closes the old row and opens a new one, so a
    // read at any revision finds the rows valid then. The tables of schema 1 are carried over
    // as revision 1 (holdings deleted then are kept, valid at no revision) and dropped. `seq`
    // keeps a record's place in its table across its versions (the order lists use).
    "CREATE TABLE revisions (
         revision INTEGER PRIMARY KEY,
         time INTEGER NOT NULL,
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
         since_rev INTEGER NOT NULL,
         until_rev INTEGER,
         seq INTEGER NOT NULL DEFAULT 0
     );
     CREATE UNIQUE INDEX records_live ON records (kind, id) WHERE until_rev IS NULL;
     CREATE INDEX records_by_key ON records (kind, id, since_rev);
     CREATE INDEX records_by_since ON records (since_rev);
     CREATE INDEX records_by_seq ON records (seq);
     CREATE INDEX records_by_until ON records (until_rev) WHERE until_rev IS NOT NULL;
     CREATE INDEX records_by_parent ON records (parent) WHERE parent <> '';
     CREATE TABLE conflicts (
         revision INTEGER NOT NULL,
         kind TEXT NOT NULL,
         id TEXT NOT NULL,
         name TEXT NOT NULL,
         detail TEXT NOT NULL
     );
     INSERT INTO revisions (revision, time, actor, origin, summary)
         SELECT 1, CAST(strftime('%s', 'now') AS INTEGER), 'dataset', 'shipped',
                'the dataset as it stood when versions began to be kept'
         WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'dataset_meta');
     INSERT INTO records (kind, id, body, origin, since_rev)
         SELECT 'meta', 'dataset', value, 'shipped', 1 FROM meta WHERE key = 'dataset_meta';
     INSERT INTO records (kind, id, body, origin, since_rev, until_rev)
         SELECT 'holding', id,
                json_set(body, '$.audit', json_object('created_by', created_by,
                    'create_time', create_time, 'updated_by', updated_by,
                    'update_time', update_time)),
                CASE WHEN created_by = 'dataset' AND updated_by = '' THEN 'shipped' ELSE 'edit' END,
                1, CASE WHEN delete_time IS NULL THEN NULL ELSE 1 END
         FROM holdings;
     INSERT INTO records (kind, id, parent, body, origin, since_rev)
         SELECT 'observation', id, holding_id, body,
                CASE WHEN json_extract(body, '$.audit') IS NULL THEN 'shipped' ELSE 'edit' END, 1
         FROM observations;
     INSERT INTO records (kind, id, body, origin, since_rev)
         SELECT kind, id, body, 'shipped', 1 FROM reference;
     UPDATE records SET seq = rowid;
     DELETE FROM meta WHERE key = 'dataset_meta';
     DROP TABLE observations;
     DROP TABLE holdings;
     DROP TABLE reference;",
];

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        // IMMEDIATE, and the version read again inside: a second process opening the file at
        // the same time waits for this step, then finds it done.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Datastore, SqliteStore};
    use leverage_core::record::{RecordKey, RecordKind};

    /// A database written by the build before versions (schema 1) keeps everything it held:
    /// live rows become revision 1, a user's edits stay edits, a deleted holding stays deleted.
    #[test]
    fn a_schema_1_database_is_carried_over_as_revision_1_without_loss() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join("leverage.db")).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                r#"PRAGMA user_version = 1;
                INSERT INTO meta VALUES ('dataset_meta',
                    '{"version":"2026.03.1","description":"d","compiled":"2026-03"}');
                INSERT INTO holdings (id, body, created_by, create_time)
                    VALUES ('kept', '{"id":"kept","kind":"aggregate","scope":"s","owner_kind":"central_bank","instrument":"cash"}', 'dataset', 0);
                INSERT INTO holdings (id, body, created_by, create_time, updated_by, update_time)
                    VALUES ('mine', '{"id":"mine","kind":"aggregate","scope":"s","owner_kind":"central_bank","instrument":"cash"}', 'alice', 5, 'bob', 6);
                INSERT INTO holdings (id, body, created_by, create_time, deleted_by, delete_time)
                    VALUES ('gone', '{"id":"gone","kind":"aggregate","scope":"s","owner_kind":"central_bank","instrument":"cash"}', 'alice', 5, 'bob', 7);
                INSERT INTO observations VALUES ('o1', 'kept', '2025-01-01',
                    '{"id":"o1","value":1.5,"currency":"EUR","as_of":"2025-01-01","source":{"publisher":"p"},"confidence":"high","verified":true}');
                INSERT INTO reference VALUES ('figure', 'F-1',
                    '{"id":"F-1","category":"c","metric":"m","area":"a","unit":"billion","source":{"publisher":"p"},"confidence":"low","verified":false}');"#,
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.head().unwrap(), 1);
        let d = store.load().unwrap();
        let ids: Vec<&str> = d.holdings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["kept", "mine"]);
        assert_eq!(d.holdings[0].observations[0].value, 1.5);
        assert_eq!(&*d.holdings[1].audit.updated_by, "bob");
        assert_eq!(d.figures[0].id, "F-1");
        let (origin, _) = store
            .live(&RecordKey::new(RecordKind::Holding, "mine"))
            .unwrap()
            .unwrap();
        assert_eq!(origin, "edit");
        assert!(
            store
                .ever_used(&RecordKey::new(RecordKind::Holding, "gone"))
                .unwrap(),
            "a deleted holding's name stays taken"
        );
    }
}
