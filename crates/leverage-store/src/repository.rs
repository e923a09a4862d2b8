//! The store plus the snapshot that reads are served from.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use leverage_core::model::{Holding, Observation};
use leverage_core::{Dataset, Snapshot};

use crate::{Opened, Store, StoreError};

/// Serves reads from an immutable snapshot and writes through SQLite. After each committed
/// write the holding written is read back from the database (the source of truth) into a new
/// snapshot that shares every other holding with the old one, and swapped in; readers holding
/// the old `Arc` finish on it undisturbed. (Reading the whole database again after each write
/// cost milliseconds, growing with the data: the soak of issue 5 fell behind on it.)
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

    /// Runs `op`, a write that changes holding `id` only, then swaps in a snapshot with that
    /// holding as the database now has it, read back from the database.
    fn write<T>(
        &self,
        id: &str,
        op: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_then(id, op, |store, _| store.load_holding(id))
    }

    /// Like [`Repository::write`], with `next` telling what holding `id` is after `op`, given
    /// the snapshot before it (still current: writes are serialised here).
    fn write_then<T>(
        &self,
        id: &str,
        op: impl FnOnce(&Store) -> Result<T, StoreError>,
        next: impl FnOnce(&Store, &Snapshot) -> Result<Option<Holding>, StoreError>,
    ) -> Result<T, StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let out = op(&self.store)?;
        let before = self.snapshot();
        let fresh = Arc::new(before.with_holding(id, next(&self.store, &before)?));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(out)
    }

    pub fn create_holding(&self, holding: &Holding) -> Result<(), StoreError> {
        self.write(&holding.id, |s| s.create_holding(holding))
    }

    /// The frequent write. Its holding is not read back: the snapshot's copy gets the same
    /// change the store made (the observation added, the holding's update stamp moved), which
    /// the tests hold equal to a fresh read. Reading back decoded the holding's whole series
    /// again on every write, a cost that grew as observations accumulated.
    pub fn create_observation(
        &self,
        holding_id: &str,
        observation: &Observation,
    ) -> Result<(), StoreError> {
        self.write_then(
            holding_id,
            |s| s.create_observation(holding_id, observation),
            |store, before| match before.holding(holding_id) {
                Some(h) => {
                    let mut h = h.clone();
                    // Exactly one more: a push would double the series' capacity each time.
                    h.observations.reserve_exact(1);
                    h.observations.push(Arc::new(observation.clone()));
                    // The order the store reads a series in, which `with_holding` then ranks.
                    h.observations
                        .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
                    h.audit.updated_by.clone_from(&observation.audit.created_by);
                    h.audit.update_time = observation.audit.create_time;
                    Ok(Some(h))
                }
                None => store.load_holding(holding_id),
            },
        )
    }

    pub fn update_holding(&self, holding: &Holding) -> Result<(), StoreError> {
        self.write(&holding.id, |s| s.update_holding(holding))
    }

    pub fn delete_holding(&self, id: &str, actor: &str, time: i64) -> Result<(), StoreError> {
        self.write(id, |s| s.delete_holding(id, actor, time))
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
            Arc::make_mut(h)
                .observations
                .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
        }
        assert_eq!(repo.snapshot().dataset(), &expected);
    }

    #[test]
    fn writes_are_visible_at_once_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let holding = (*repo.snapshot().dataset().holdings[0]).clone();
        let mut obs = holding.observations[0].as_ref().clone();
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
        let template = (*repo.snapshot().dataset().holdings[0]).clone();
        let make = |id: &str| {
            let mut h = template.clone();
            h.id = id.to_owned();
            for (i, o) in h.observations.iter_mut().enumerate() {
                Arc::make_mut(o).id = format!("{id}-{i}");
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
        let mut h = (*before.holdings[0]).clone();
        // The holding's own observation ids exist already: the whole creation must roll back.
        h.id = "brand-new-holding".into();
        assert!(repo.create_holding(&h).is_err());
        drop(repo);
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        assert!(repo.snapshot().holding("brand-new-holding").is_none());
        assert_eq!(repo.snapshot().dataset(), &before);
    }

    #[test]
    fn after_writes_the_snapshot_is_what_a_fresh_read_of_the_database_gives() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::open(dir.path(), &embedded()).unwrap();
        let first = Holding::clone(&repo.snapshot().dataset().holdings[0]);
        let last = Holding::clone(repo.snapshot().dataset().holdings.last().unwrap());
        // A new holding that sorts between others, with observations out of order.
        let mut new = first.clone();
        new.id = format!("{}-zz", first.id);
        new.observations.reverse();
        for (i, o) in new.observations.iter_mut().enumerate() {
            Arc::make_mut(o).id = format!("new-{i}");
        }
        repo.create_holding(&new).unwrap();
        let mut early = first.observations[0].as_ref().clone();
        early.id = "early".into();
        early.as_of = leverage_core::Date::new(2001, 1, 1).unwrap();
        // Its own author and time: the holding's update stamp must follow them.
        early.audit = Audit {
            created_by: "dora".into(),
            create_time: 13,
            ..Audit::default()
        };
        repo.create_observation(&first.id, &early).unwrap();
        // Same day, an id that sorts first: the series stays in (as_of, id) order.
        let mut tie = early.clone();
        tie.id = "a-tie".into();
        repo.create_observation(&first.id, &tie).unwrap();
        let mut renamed = last.clone();
        renamed.scope = "renamed".into();
        renamed.audit.updated_by = "carol".into();
        renamed.audit.update_time = 11;
        repo.update_holding(&renamed).unwrap();
        repo.delete_holding(&last.id, "bob", 12).unwrap();
        assert!(repo.create_observation(&last.id, &early).is_err());

        let fresh = Snapshot::new(repo.store().load().unwrap());
        assert_eq!(repo.snapshot().dataset(), fresh.dataset());
        // And its date index finds what a fresh snapshot's does, on any day.
        for day in [
            "2000-06-30",
            "2001-01-01",
            "2024-12-31",
            "2025-06-30",
            "2030-01-01",
        ] {
            let day = day.parse().unwrap();
            let written: Vec<_> = repo
                .snapshot()
                .holdings_as_of(day, |_| true)
                .map(|(h, o)| (h.id.clone(), o.cloned()))
                .collect();
            let read: Vec<_> = fresh
                .holdings_as_of(day, |_| true)
                .map(|(h, o)| (h.id.clone(), o.cloned()))
                .collect();
            assert_eq!(written, read, "{day}");
        }
        let written = repo.snapshot();
        assert!(written.holding(&new.id).is_some());
        assert!(written.holding(&last.id).is_none());
        let first_now = written.holding(&first.id).unwrap();
        assert_eq!(
            [&first_now.observations[0].id, &first_now.observations[1].id],
            ["a-tie", "early"],
            "in as-of order, then by id"
        );
        assert_eq!(
            (
                first_now.audit.updated_by.as_str(),
                first_now.audit.update_time
            ),
            ("dora", 13)
        );
        // The holdings a write did not touch are shared with the snapshot before it.
        let before = repo.snapshot();
        let mut later = early.clone();
        later.id = "later".into();
        repo.create_observation(&new.id, &later).unwrap();
        let after = repo.snapshot();
        let (mut shared, mut copied) = (0, Vec::new());
        for h in &after.dataset().holdings {
            let old = before
                .dataset()
                .holdings
                .iter()
                .find(|o| o.id == h.id)
                .unwrap();
            if Arc::ptr_eq(old, h) {
                shared += 1;
            } else {
                copied.push(h.id.clone());
            }
        }
        assert_eq!(copied, [new.id.clone()]);
        assert_eq!(shared, after.dataset().holdings.len() - 1);
        // And within the holding written, its earlier observations are shared too: a write
        // copies a pointer per observation, whatever the length of the series.
        let (old, now) = (
            before.holding(&new.id).unwrap(),
            after.holding(&new.id).unwrap(),
        );
        assert_eq!(now.observations.len(), old.observations.len() + 1);
        for o in &now.observations {
            let kept = old.observations.iter().any(|p| Arc::ptr_eq(p, o));
            assert_eq!(kept, o.id != "later", "observation {}", o.id);
        }
    }
}
