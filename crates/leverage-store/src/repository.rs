//! The store plus the snapshot that reads are served from.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use leverage_core::model::{Holding, Observation};
use leverage_core::record::{Record, RecordKey, RecordKind};
use leverage_core::{Dataset, Snapshot};

use crate::{Change, Commit, Committed, MergePlan, MergeSource, Opened, Origin, Store, StoreError};

/// Serves reads from an immutable snapshot of the newest revision and writes through SQLite.
/// After each committed revision, the records it changed are applied to a new snapshot that
/// shares everything else with the one before, and swapped in; readers holding the old `Arc`
/// finish on it undisturbed. Reads at an older revision are built from the store and the last
/// few are kept, since a client reproducing a score asks for the same revision repeatedly.
#[derive(Debug)]
pub struct Repository {
    store: Store,
    current: RwLock<Arc<Snapshot>>,
    /// Orders writes so that each snapshot swap reflects every write committed before it.
    writes: Mutex<()>,
    past: Mutex<VecDeque<Arc<Snapshot>>>,
}

/// How many snapshots of older revisions are kept in memory.
const PAST_SNAPSHOTS: usize = 4;

/// A revision changing more records than this is followed by reading the dataset again,
/// which is cheaper than applying each change to a copy of the snapshot in turn.
const INCREMENTAL_LIMIT: usize = 256;

impl Repository {
    /// Opens the database in `data_dir`, importing `embedded` on first start and merging it
    /// when it is a newer shipped dataset than the database last saw.
    pub fn open(data_dir: &Path, embedded: &Dataset) -> Result<(Self, Opened), StoreError> {
        let store = Store::open(data_dir)?;
        let opened = store.open_or_import(embedded)?;
        let (dataset, revision) = store.load_at(None)?;
        let snapshot = Arc::new(Snapshot::at_revision(dataset, revision));
        Ok((
            Self {
                store,
                current: RwLock::new(snapshot),
                writes: Mutex::new(()),
                past: Mutex::new(VecDeque::new()),
            },
            opened,
        ))
    }

    /// The snapshot of the newest revision. Cheap: one `Arc` clone.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The dataset exactly as it was at `revision`: the current snapshot when that is the
    /// newest, else one built from the store's rows valid then. A revision compacted away or
    /// not yet written is an error, never an answer from another revision.
    pub fn snapshot_at(&self, revision: u64) -> Result<Arc<Snapshot>, StoreError> {
        let now = self.snapshot();
        if revision == now.revision() {
            return Ok(now);
        }
        self.store.check_readable(revision)?;
        let mut past = self.past.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = past.iter().find(|s| s.revision() == revision) {
            return Ok(Arc::clone(s));
        }
        drop(past);
        let snap = Arc::new(self.build_at(&now, revision)?);
        past = self.past.lock().unwrap_or_else(|p| p.into_inner());
        if past.len() == PAST_SNAPSHOTS {
            past.pop_front();
        }
        past.push_back(Arc::clone(&snap));
        Ok(snap)
    }

    /// The snapshot at an older `revision`, from the newest one: the holdings and
    /// observations changed since are put back as they were, the small reference tables are
    /// read whole, and every other holding is shared with the newest snapshot. So a pinned
    /// read costs the changes since its version, not a copy of the dataset. Past a few hundred
    /// changed series, the revision is read whole instead.
    fn build_at(&self, newest: &Snapshot, revision: u64) -> Result<Snapshot, StoreError> {
        let Some(changed) = self
            .store
            .series_changed_since(revision, INCREMENTAL_LIMIT)?
        else {
            let (dataset, at) = self.store.load_at(Some(revision))?;
            return Ok(Snapshot::at_revision(dataset, at));
        };
        let tables = self.store.load_tables_at(revision)?;
        let reverted = newest.with_changes(
            revision,
            changed
                .iter()
                .map(|a| (&a.key, a.parent.as_str(), a.after.as_ref())),
        );
        Ok(reverted.with_tables(tables))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Writes `commit` as the next revision and swaps in the snapshot that follows it.
    pub fn commit(&self, commit: &Commit) -> Result<Committed, StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.commit_in_order(commit)
    }

    /// [`Repository::commit`] with the write lock already held.
    fn commit_in_order(&self, commit: &Commit) -> Result<Committed, StoreError> {
        let committed = self.store.commit(commit)?;
        let before = self.snapshot();
        if committed.revision == before.revision() {
            return Ok(committed);
        }
        let fresh = if committed.applied.len() > INCREMENTAL_LIMIT {
            let (dataset, at) = self.store.load_at(Some(committed.revision))?;
            Snapshot::at_revision(dataset, at)
        } else {
            before.with_changes(
                committed.revision,
                committed
                    .applied
                    .iter()
                    .map(|a| (&a.key, a.parent.as_str(), a.after.as_ref())),
            )
        };
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(committed)
    }

    /// Plans the merge of `records` as an import and, unless `dry_run`, applies it as one
    /// revision; both under the write lock, so the plan is what gets applied.
    pub fn import(
        &self,
        records: &[Record],
        import_id: &str,
        actor: &str,
        summary: String,
        dry_run: bool,
    ) -> Result<(MergePlan, u64), StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let source = MergeSource::Import {
            import_id: import_id.to_owned(),
        };
        let plan = self.store.plan_merge(records, &source)?;
        if dry_run || (plan.added.is_empty() && plan.changed.is_empty()) {
            return Ok((plan, self.snapshot().revision()));
        }
        let report = plan.clone();
        let origin = Origin::Import {
            import_id: import_id.to_owned(),
        };
        let committed = self.commit_in_order(&plan.into_commit(actor, origin, summary, None))?;
        Ok((report, committed.revision))
    }

    /// Forgets the values that no revision from `oldest` on can see; reads below it are
    /// refused from then on. Returns the number of rows removed.
    pub fn compact(&self, oldest: u64) -> Result<usize, StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let removed = self.store.compact(oldest)?;
        self.past
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| s.revision() >= oldest);
        Ok(removed)
    }

    fn edit(&self, actor: &str, summary: String, changes: Vec<Change>) -> Result<u64, StoreError> {
        Ok(self
            .commit(&Commit {
                actor: actor.to_owned(),
                origin: Origin::Edit,
                summary,
                reason: None,
                changes,
                conflicts: Vec::new(),
            })?
            .revision)
    }

    pub fn create_holding(&self, holding: &Holding) -> Result<u64, StoreError> {
        self.edit(
            &holding.audit.created_by,
            format!("create holdings/{}", holding.id),
            crate::creation_of(holding),
        )
    }

    /// The frequent write: one new row, applied to the snapshot's copy of the holding.
    pub fn create_observation(
        &self,
        holding_id: &str,
        observation: &Observation,
    ) -> Result<u64, StoreError> {
        self.edit(
            &observation.audit.created_by,
            format!(
                "create holdings/{holding_id}/observations/{}",
                observation.id
            ),
            vec![Change::Create(Record::Observation {
                holding: holding_id.to_owned(),
                observation: observation.clone(),
            })],
        )
    }

    pub fn update_holding(&self, holding: &Holding) -> Result<u64, StoreError> {
        let mut bare = holding.clone();
        bare.observations = Vec::new();
        self.edit(
            &holding.audit.updated_by,
            format!("update holdings/{}", holding.id),
            vec![Change::Update(Record::Holding(bare))],
        )
    }

    pub fn delete_holding(&self, id: &str, actor: &str) -> Result<u64, StoreError> {
        self.edit(
            actor,
            format!("delete holdings/{id}"),
            vec![Change::Delete(RecordKey::new(RecordKind::Holding, id))],
        )
    }

    /// Builds a commit from the newest snapshot and writes it, both under the write lock: what
    /// `build` checked is what the commit applies to, so a read-modify-write (a record merged
    /// with a partial update, an allocation added to its instrument) cannot undo a write
    /// committed meanwhile, nor a check against other records pass on data already gone.
    /// `Err` when `build` refuses; `Ok(Err)` when the store does.
    pub fn commit_from<T, E>(
        &self,
        build: impl FnOnce(&Snapshot) -> Result<(Commit, T), E>,
    ) -> Result<Result<(Committed, T), StoreError>, E> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let (commit, value) = build(&self.snapshot())?;
        Ok(self.commit_in_order(&commit).map(|c| (c, value)))
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
                    .any(|o| o.id == "test-obs-1" && &*o.audit.created_by == "alice")
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
        repo.delete_holding(&id, "bob").unwrap();
        assert!(repo.snapshot().holding(&id).is_none());
        assert!(matches!(
            repo.delete_holding(&id, "bob"),
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
        // Its own author and time, kept on the observation.
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
        repo.delete_holding(&last.id, "bob").unwrap();
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
            &*first_now.observations[1].audit.created_by, "dora",
            "an observation carries its own author"
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
