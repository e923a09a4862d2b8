//! The store plus the snapshot that reads are served from.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use leverage_core::model::{Holding, Observation};
use leverage_core::record::{Record, RecordKey, RecordKind};
use leverage_core::{Dataset, Snapshot};

use crate::{
    Applied, Change, Commit, Committed, Datastore, MergePlan, MergeSource, Opened, Origin,
    SqliteStore, StoreError,
};

/// Serves reads from an immutable snapshot of the newest revision and writes through the store.
/// After each committed revision, the records it changed are applied to a new snapshot that
/// shares everything else with the one before, and swapped in; readers holding the old `Arc`
/// finish on it undisturbed. Revisions other replicas commit to a shared store are followed the
/// same way ([`Repository::catch_up`]). Reads at an older revision are built from the store and
/// the last few are kept, since a client reproducing a score asks for the same revision
/// repeatedly.
#[derive(Debug)]
pub struct Repository {
    store: Arc<dyn Datastore>,
    current: RwLock<Arc<Snapshot>>,
    /// Orders this process's writes, so that what a write checked in the snapshot is what it
    /// commits against (other replicas' writes are caught by the commit's base revision).
    writes: Mutex<()>,
    /// Orders snapshot swaps (after a write, or catching up), so that versions only go forward.
    advance: Mutex<()>,
    /// Woken at each swap, for callers waiting for a version.
    swapped: Condvar,
    swapped_lock: Mutex<()>,
    /// The oldest revision still readable, as last read from the store (a replica learns of
    /// another's compaction as it follows it).
    oldest: AtomicU64,
    past: Mutex<VecDeque<Arc<Snapshot>>>,
}

/// How many snapshots of older revisions are kept in memory.
const PAST_SNAPSHOTS: usize = 4;

/// A revision changing more records than this is followed by reading the dataset again,
/// which is cheaper than applying each change to a copy of the snapshot in turn.
const INCREMENTAL_LIMIT: usize = 256;

/// How often a write whose base another replica changed is rebuilt on the newer snapshot
/// before the conflict is reported.
const STALE_RETRIES: usize = 5;

impl Repository {
    /// Opens the SQLite database in `data_dir`, importing `embedded` on first start and
    /// merging it when it is a newer shipped dataset than the database last saw.
    pub fn open(data_dir: &Path, embedded: &Dataset) -> Result<(Self, Opened), StoreError> {
        Self::open_store(Arc::new(SqliteStore::open(data_dir)?), embedded)
    }

    /// [`Repository::open`] on any store.
    pub fn open_store(
        store: Arc<dyn Datastore>,
        embedded: &Dataset,
    ) -> Result<(Self, Opened), StoreError> {
        let opened = store.open_or_import(embedded)?;
        let oldest = store.oldest()?;
        let (dataset, revision) = store.load_at(None)?;
        let snapshot = Arc::new(Snapshot::at_revision(dataset, revision));
        Ok((
            Self {
                store,
                current: RwLock::new(snapshot),
                writes: Mutex::new(()),
                advance: Mutex::new(()),
                swapped: Condvar::new(),
                swapped_lock: Mutex::new(()),
                oldest: AtomicU64::new(oldest),
                past: Mutex::new(VecDeque::new()),
            },
            opened,
        ))
    }

    /// The snapshot of the newest revision. Cheap: one `Arc` clone.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn store(&self) -> &dyn Datastore {
        &*self.store
    }

    /// The oldest dataset version that can still be read, without asking the store.
    pub fn oldest(&self) -> u64 {
        self.oldest.load(Ordering::Relaxed)
    }

    /// Brings the snapshot up to the store's newest revision (other replicas' writes) and
    /// returns the revision now served.
    pub fn catch_up(&self) -> Result<u64, StoreError> {
        let head = self.store.head()?;
        if head <= self.snapshot().revision() {
            return Ok(self.snapshot().revision());
        }
        let _advance = self.advance.lock().unwrap_or_else(|p| p.into_inner());
        let before = self.snapshot();
        if head <= before.revision() {
            return Ok(before.revision());
        }
        let fresh = self.advanced(&before, head, None)?;
        self.swap(fresh);
        tracing::debug!(
            from = before.revision(),
            to = head,
            "caught up with the store"
        );
        Ok(head)
    }

    /// The snapshot at `to` from `before`: `changes` (everything between them) applied when
    /// given, else the store's changes between them, each only while few; else `to` read
    /// whole, cheaper than applying many changes one by one to copies.
    fn advanced(
        &self,
        before: &Snapshot,
        to: u64,
        changes: Option<&[Applied]>,
    ) -> Result<Snapshot, StoreError> {
        let apply = |changes: &[Applied]| {
            before.with_changes(
                to,
                changes
                    .iter()
                    .map(|a| (&a.key, a.parent.as_str(), a.after.as_ref())),
            )
        };
        let fetched;
        let changes = match changes {
            Some(c) => Some(c).filter(|c| c.len() <= INCREMENTAL_LIMIT),
            None => {
                fetched = self
                    .store
                    .changed_between(before.revision(), to, INCREMENTAL_LIMIT)?;
                fetched.as_deref()
            }
        };
        Ok(match changes {
            Some(c) => apply(c),
            None => {
                let (dataset, at) = self.store.load_at(Some(to))?;
                Snapshot::at_revision(dataset, at)
            }
        })
    }

    fn swap(&self, fresh: Snapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        let _woken = self.swapped_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.swapped.notify_all();
    }

    /// The snapshot of `version` or a newer one, catching up with the store as needed. A
    /// version the store answers it has not reached is [`StoreError::VersionNotYet`] at once:
    /// every version a client was given is in the store before the client hears of it, so it
    /// comes from another store (or one restored from an older backup), and waiting would not
    /// bring it. While the store cannot be reached, waits at most `bound`, then gives the last
    /// error. Never a snapshot older than `version`.
    pub fn at_least(&self, version: u64, bound: Duration) -> Result<Arc<Snapshot>, StoreError> {
        let deadline = Instant::now() + bound;
        loop {
            let now = self.snapshot();
            if now.revision() >= version {
                return Ok(now);
            }
            let failure = match self.catch_up() {
                Ok(r) if r >= version => return Ok(self.snapshot()),
                Ok(newest) => {
                    return Err(StoreError::VersionNotYet {
                        requested: version,
                        newest,
                    });
                }
                Err(e) => e,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(failure);
            }
            // A swap by the follower wakes this early; otherwise try again shortly.
            let lock = self.swapped_lock.lock().unwrap_or_else(|p| p.into_inner());
            let _ = self
                .swapped
                .wait_timeout(lock, left.min(Duration::from_millis(50)));
        }
    }

    /// Follows the other replicas' writes until `stop` is set: catches up when the store
    /// announces a revision, and every `poll` whatever it announces (a store without
    /// announcements, or one missed while the listener reconnected), and reads the oldest
    /// version still kept (another replica may have compacted). Runs on the calling thread.
    pub fn follow(&self, poll: Duration, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let known = self.snapshot().revision();
            let _ = self.store.wait_for_announcement(known, poll);
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let followed = self.catch_up().and_then(|_| self.store.oldest());
            match followed {
                Ok(oldest) => self.oldest.store(oldest, Ordering::Relaxed),
                Err(e) => tracing::debug!(error = %e, "could not catch up with the store"),
            }
        }
    }

    /// The dataset exactly as it was at `revision`: the current snapshot when that is the
    /// newest, else one built from the store's rows valid then. A revision compacted away or
    /// not yet written is an error, never an answer from another revision.
    pub fn snapshot_at(&self, revision: u64) -> Result<Arc<Snapshot>, StoreError> {
        let now = self.snapshot();
        if revision == now.revision() {
            return Ok(now);
        }
        {
            let past = self.past.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = past.iter().find(|s| s.revision() == revision) {
                return Ok(Arc::clone(s));
            }
        }
        if revision > now.revision() {
            // Written by another replica and not followed yet, or not written at all.
            self.catch_up()?;
            let now = self.snapshot();
            if revision == now.revision() {
                return Ok(now);
            }
        }
        self.store.check_readable(revision)?;
        let snap = Arc::new(self.build_at(&self.snapshot(), revision)?);
        let mut past = self.past.lock().unwrap_or_else(|p| p.into_inner());
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
        let changed = self
            .store
            .series_changed_since(revision, INCREMENTAL_LIMIT)?;
        let Some(changed) = changed else {
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

    /// Writes `commit` as the next revision and swaps in the snapshot that follows it.
    pub fn commit(&self, commit: &Commit) -> Result<Committed, StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.commit_in_order(commit)
    }

    /// [`Repository::commit`] with the write lock already held.
    fn commit_in_order(&self, commit: &Commit) -> Result<Committed, StoreError> {
        let committed = self.store.commit(commit)?;
        let _advance = self.advance.lock().unwrap_or_else(|p| p.into_inner());
        let before = self.snapshot();
        if committed.revision <= before.revision() {
            // Nothing written, or already followed.
            return Ok(committed);
        }
        // The write's own changes take the snapshot there, unless other replicas wrote in
        // between: then it follows them and this write together.
        let own = (committed.revision == before.revision() + 1).then_some(&committed.applied[..]);
        let fresh = self.advanced(&before, committed.revision, own)?;
        self.swap(fresh);
        Ok(committed)
    }

    /// Plans the merge of `records` as an import and, unless `dry_run`, applies it as one
    /// revision; both under the write lock, so the plan is what gets applied (another
    /// replica's write in between makes the commit stale, and the plan is made again).
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
        let mut attempt = 0;
        loop {
            let base = self.store.head()?;
            let plan = self.store.plan_merge(records, &source)?;
            if dry_run || (plan.added.is_empty() && plan.changed.is_empty()) {
                return Ok((plan, self.snapshot().revision().max(base)));
            }
            let report = plan.clone();
            let origin = Origin::Import {
                import_id: import_id.to_owned(),
            };
            let mut commit = plan.into_commit(actor, origin, summary.clone(), None);
            commit.base = Some(base);
            match self.commit_in_order(&commit) {
                Err(StoreError::Stale(_)) if attempt < STALE_RETRIES => attempt += 1,
                other => return other.map(|c| (report, c.revision)),
            }
        }
    }

    /// Forgets the values that no revision from `oldest` on can see; reads below it are
    /// refused from then on. Returns the number of rows removed.
    pub fn compact(&self, oldest: u64) -> Result<usize, StoreError> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let removed = self.store.compact(oldest)?;
        self.oldest.fetch_max(oldest, Ordering::Relaxed);
        self.past
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| s.revision() >= oldest);
        Ok(removed)
    }

    fn edit(&self, actor: &str, summary: String, changes: Vec<Change>) -> Result<u64, StoreError> {
        Ok(self
            .commit(&Commit::edit(actor, summary, changes))?
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
    /// Another replica's write to a record the commit changes, after the snapshot `build`
    /// read, makes the commit stale: the snapshot catches up and `build` runs again, so
    /// `build` must be repeatable. `Err` when `build` refuses; `Ok(Err)` when the store does.
    pub fn commit_from<T, E>(
        &self,
        mut build: impl FnMut(&Snapshot) -> Result<(Commit, T), E>,
    ) -> Result<Result<(Committed, T), StoreError>, E> {
        let _order = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let mut attempt = 0;
        loop {
            let snapshot = self.snapshot();
            let (mut commit, value) = build(&snapshot)?;
            commit.base = Some(snapshot.revision());
            match self.commit_in_order(&commit) {
                Err(StoreError::Stale(_)) if attempt < STALE_RETRIES => {
                    attempt += 1;
                    if let Err(e) = self.catch_up() {
                        return Ok(Err(e));
                    }
                }
                other => return Ok(other.map(|c| (c, value))),
            }
        }
    }
}
