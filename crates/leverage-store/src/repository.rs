//! The store plus the snapshot that reads are served from.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use leverage_core::model::{Holding, Observation};
use leverage_core::{Dataset, Snapshot};

use crate::{Opened, Store, StoreError};

/// Serves reads from an immutable snapshot and writes through SQLite. After each committed
/// write the snapshot is rebuilt from the database (the source of truth) and swapped in;
/// readers holding the old `Arc` finish on it undisturbed.
#[derive(Debug)]
pub struct Repository {
    store: Store,
    current: RwLock<Arc<Snapshot>>,
    /// Orders writes so that each snapshot swap reflects every write committed before it.
    writes: Mutex<()>,
}

impl Repository {
    /// Opens the database in `data_dir`, importing `embedded` on first start.
    pub fn open(data_dir: &Path, embedded: &Dataset) -> Result<(Self, Opened), StoreError> {
        let store = Store::open(data_dir)?;
        let opened = store.open_or_import(embedded)?;
        let snapshot = Arc::new(Snapshot::new(store.load()?));
        Ok((
            Self {
                store,
                current: RwLock::new(snapshot),
                writes: Mutex::new(()),
            },
            opened,
        ))
    }

    /// The snapshot in force. Cheap: one `Arc` clone.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn write<T>(&self, op: impl FnOnce(&Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let out = op(&self.store)?;
        let fresh = Arc::new(Snapshot::new(self.store.load()?));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(out)
    }

    pub fn create_holding(&self, holding: &Holding) -> Result<(), StoreError> {
        self.write(|s| s.create_holding(holding))
    }

    pub fn create_observation(
        &self,
        holding_id: &str,
        observation: &Observation,
    ) -> Result<(), StoreError> {
        self.write(|s| s.create_observation(holding_id, observation))
    }

    pub fn update_holding(&self, holding: &Holding) -> Result<(), StoreError> {
        self.write(|s| s.update_holding(holding))
    }

    pub fn delete_holding(&self, id: &str, actor: &str, time: i64) -> Result<(), StoreError> {
        self.write(|s| s.delete_holding(id, actor, time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_core::model::Audit;

    fn embedded() -> Dataset {
        Dataset::embedded().expect("embedded dataset")
    }

    #[test]
    fn first_start_imports_and_later_starts_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, opened) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(matches!(opened, Opened::Imported { .. }));
        assert_eq!(
            repo.snapshot().dataset().holdings.len(),
            embedded().holdings.len()
        );
        drop(repo);
        let (_, opened) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(matches!(opened, Opened::Reused { .. }));
    }

    #[test]
    fn loaded_dataset_equals_the_imported_one() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let mut expected = embedded();
        expected.holdings.sort_by(|a, b| a.id.cmp(&b.id));
        for h in &mut expected.holdings {
            h.observations
                .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
        }
        assert_eq!(repo.snapshot().dataset(), &expected);
    }

    #[test]
    fn writes_are_visible_at_once_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let holding = repo.snapshot().dataset().holdings[0].clone();
        let mut obs = holding.observations[0].clone();
        obs.id = "test-obs-1".into();
        obs.value = 1.5;
        obs.audit = Audit {
            created_by: "alice".into(),
            create_time: 7,
            ..Audit::default()
        };
        repo.create_observation(&holding.id, &obs).unwrap();
        let seen = |r: &Repository| {
            r.snapshot().holding(&holding.id).is_some_and(|h| {
                h.observations
                    .iter()
                    .any(|o| o.id == "test-obs-1" && o.audit.created_by == "alice")
            })
        };
        assert!(seen(&repo));
        drop(repo);
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(seen(&repo));
        assert!(matches!(
            repo.create_observation(&holding.id, &obs),
            Err(StoreError::AlreadyExists(_))
        ));
    }

    #[test]
    fn deleted_holdings_leave_reads_but_not_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let id = repo.snapshot().dataset().holdings[0].id.clone();
        repo.delete_holding(&id, "bob", 9).unwrap();
        assert!(repo.snapshot().holding(&id).is_none());
        assert!(matches!(
            repo.delete_holding(&id, "bob", 9),
            Err(StoreError::NotFound(_))
        ));
        let log = repo.store().audit_log().unwrap();
        assert_eq!(
            log.last().unwrap(),
            &(
                "bob".to_owned(),
                "delete".to_owned(),
                format!("holdings/{id}")
            )
        );
    }

    #[test]
    fn a_bulk_creation_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let template = repo.snapshot().dataset().holdings[0].clone();
        let make = |id: &str| {
            let mut h = template.clone();
            h.id = id.to_owned();
            for (i, o) in h.observations.iter_mut().enumerate() {
                o.id = format!("{id}-{i}");
            }
            h
        };
        let clash = template.clone();
        assert!(
            repo.store()
                .create_holdings(&[make("bulk-a"), clash])
                .is_err()
        );
        drop(repo);
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(
            repo.snapshot().holding("bulk-a").is_none(),
            "nothing of a failed bulk load stays"
        );
        repo.store()
            .create_holdings(&[make("bulk-a"), make("bulk-b")])
            .unwrap();
        drop(repo);
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(repo.snapshot().holding("bulk-b").is_some());
    }

    #[test]
    fn a_failed_write_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let before = repo.snapshot().dataset().clone();
        let mut h = before.holdings[0].clone();
        // The holding's own observation ids exist already: the whole creation must roll back.
        h.id = "brand-new-holding".into();
        assert!(repo.create_holding(&h).is_err());
        drop(repo);
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(repo.snapshot().holding("brand-new-holding").is_none());
        assert_eq!(repo.snapshot().dataset(), &before);
    }
}
