//! Several repositories on one store, as replicas sharing one database: each follows the
//! others' writes, a change computed from a stale snapshot is never applied over a newer
//! write, and "at least version V" never answers from an older version.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use leverage_core::Dataset;
use leverage_core::model::Holding;
use leverage_core::record::{Record, RecordKey, RecordKind};
use leverage_store::{Change, Commit, Opened, Origin, Repository, StoreError};

use super::Backend;

fn embedded() -> Dataset {
    Dataset::embedded().unwrap()
}

fn edit(changes: Vec<Change>) -> Commit {
    Commit {
        actor: "replica-test".into(),
        origin: Origin::Edit,
        summary: "test edit".into(),
        reason: None,
        changes,
        base: None,
        conflicts: Vec::new(),
    }
}

fn bare(h: &Holding) -> Holding {
    let mut h = h.clone();
    h.observations = Vec::new();
    h
}

pub fn a_replica_follows_another_replicas_writes_to_the_same_snapshot(backend: Backend) {
    let place = backend.place();
    let (a, _) = place.open(&embedded()).unwrap();
    let (b, opened) = place.open(&embedded()).unwrap();
    assert!(matches!(opened, Opened::Reused { .. }), "{opened:?}");
    let d = a.snapshot().dataset().clone();
    // A few changes of every sort, each its own revision.
    let mut renamed = bare(&d.holdings[0]);
    renamed.scope = "renamed by replica a".into();
    a.update_holding(&renamed).unwrap();
    a.delete_holding(&d.holdings[1].id, "replica-test").unwrap();
    let mut figure = d.figures[0].clone();
    figure.value = Some(123.5);
    a.commit(&edit(vec![Change::Update(Record::Figure(figure))]))
        .unwrap();
    let mut obs = (*d.holdings[2].observations[0]).clone();
    obs.id = "followed-1".into();
    a.create_observation(&d.holdings[2].id, &obs).unwrap();
    assert!(b.snapshot().revision() < a.snapshot().revision());
    assert_eq!(b.catch_up().unwrap(), a.snapshot().revision());
    assert_eq!(b.snapshot().dataset(), a.snapshot().dataset());

    // A revision too large to apply change by change is followed by a full read.
    let many: Vec<Holding> = (0..300)
        .map(|i| {
            let mut h = bare(&d.holdings[3]);
            h.id = format!("bulk-{i:03}");
            h
        })
        .collect();
    a.store().create_holdings(&many).unwrap();
    a.catch_up().unwrap();
    b.catch_up().unwrap();
    assert_eq!(b.snapshot().revision(), a.snapshot().revision());
    assert_eq!(b.snapshot().dataset(), a.snapshot().dataset());
    assert!(b.snapshot().holding("bulk-299").is_some());
}

pub fn a_change_computed_from_a_stale_snapshot_is_refused_then_rebuilt(backend: Backend) {
    let place = backend.place();
    let (a, _) = place.open(&embedded()).unwrap();
    let (b, _) = place.open(&embedded()).unwrap();
    let stale = b.snapshot().revision();
    let figure = a.snapshot().dataset().figures[0].clone();
    let mut by_a = figure.clone();
    by_a.value = Some(11.0);
    a.commit(&edit(vec![Change::Update(Record::Figure(by_a))]))
        .unwrap();

    // Straight to the store: a commit whose base predates a's write is refused whole.
    let mut by_b = figure.clone();
    by_b.note = Some("from a stale read".into());
    let mut commit = edit(vec![Change::Update(Record::Figure(by_b))]);
    commit.base = Some(stale);
    let head = b.store().head().unwrap();
    assert!(matches!(
        b.store().commit(&commit),
        Err(StoreError::Stale(name)) if name == format!("figures/{}", figure.id)
    ));
    assert_eq!(b.store().head().unwrap(), head, "nothing was written");

    // Through the repository: b's read-modify-write is rebuilt on the newer snapshot, so
    // a's value survives and b's note is added to it.
    let mut builds = 0;
    let done = b
        .commit_from(|snap| {
            builds += 1;
            let mut f = snap
                .dataset()
                .figures
                .iter()
                .find(|f| f.id == figure.id)
                .unwrap()
                .clone();
            f.note = Some("added by b".into());
            Ok::<_, StoreError>((edit(vec![Change::Update(Record::Figure(f))]), ()))
        })
        .unwrap();
    done.unwrap();
    assert_eq!(
        builds, 2,
        "built on the stale snapshot, refused, built again"
    );
    let after = b.snapshot();
    let f = after
        .dataset()
        .figures
        .iter()
        .find(|f| f.id == figure.id)
        .unwrap();
    assert_eq!(
        (f.value, f.note.as_deref()),
        (Some(11.0), Some("added by b"))
    );
}

pub fn exactly_one_of_two_updates_with_the_same_etag_succeeds(backend: Backend) {
    let place = backend.place();
    let (a, _) = place.open(&embedded()).unwrap();
    let (b, _) = place.open(&embedded()).unwrap();
    let id = a.snapshot().dataset().holdings[0].id.clone();
    let key = RecordKey::new(RecordKind::Holding, id.clone());
    let etag_of = |repo: &Repository| {
        let h = repo.snapshot().holding(&id).cloned().unwrap();
        leverage_store::etag(&Record::Holding(h))
    };
    let read = etag_of(&a);
    assert_eq!(read, etag_of(&b), "every replica computes the same etag");
    let start = Arc::new(Barrier::new(2));
    let outcomes: Vec<Result<u64, StoreError>> = std::thread::scope(|s| {
        let writers: Vec<_> = [(&a, "scope by a"), (&b, "scope by b")]
            .into_iter()
            .map(|(repo, scope)| {
                let (start, read, id) = (Arc::clone(&start), read.clone(), id.clone());
                s.spawn(move || {
                    start.wait();
                    let result = repo.commit_from(|snap| {
                        let mut h = bare(snap.holding(&id).unwrap());
                        let current = leverage_store::etag(&Record::Holding(h.clone()));
                        if current != read {
                            return Err(StoreError::EtagMismatch {
                                name: format!("holdings/{id}"),
                                given: read.clone(),
                                current,
                            });
                        }
                        h.scope = scope.into();
                        Ok((edit(vec![Change::Update(Record::Holding(h))]), ()))
                    });
                    match result {
                        Ok(Ok((c, ()))) => Ok(c.revision),
                        Ok(Err(e)) | Err(e) => Err(e),
                    }
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let won: Vec<_> = outcomes.iter().filter(|o| o.is_ok()).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(StoreError::EtagMismatch { .. }))),
        "{outcomes:?}"
    );
    // The winner's write is the stored one, and nothing else was written to the holding.
    let history = a.store().history(&key).unwrap();
    assert_eq!(history.len(), 2, "the shipped value and one update");
    a.catch_up().unwrap();
    b.catch_up().unwrap();
    let now = a.snapshot();
    let scope = &now.holding(&id).unwrap().scope;
    assert!(scope == "scope by a" || scope == "scope by b", "{scope}");
    assert_eq!(&b.snapshot().holding(&id).unwrap().scope, scope);
}

pub fn at_least_a_version_waits_for_it_and_never_answers_older(backend: Backend) {
    let place = backend.place();
    let (a, _) = place.open(&embedded()).unwrap();
    let (b, _) = place.open(&embedded()).unwrap();
    let d = a.snapshot().dataset().clone();
    let mut obs = (*d.holdings[0].observations[0]).clone();
    obs.id = "read-your-write".into();
    let written = a.create_observation(&d.holdings[0].id, &obs).unwrap();
    let seen = b.at_least(written, Duration::from_secs(5)).unwrap();
    assert!(seen.revision() >= written);
    assert!(
        seen.holding(&d.holdings[0].id)
            .unwrap()
            .observations
            .iter()
            .any(|o| o.id == "read-your-write")
    );
    // A version the store never had: refused at once, never answered from an older one.
    assert!(matches!(
        b.at_least(written + 100, Duration::from_secs(30)),
        Err(StoreError::VersionNotYet { requested, newest })
            if requested == written + 100 && newest == written
    ));
}

pub fn replicas_starting_together_import_once(backend: Backend) {
    let place = backend.place();
    let start = Barrier::new(3);
    let opened: Vec<Opened> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    place.open(&embedded()).unwrap().1
                })
            })
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let imported = opened
        .iter()
        .filter(|o| matches!(o, Opened::Imported { .. }))
        .count();
    assert_eq!(imported, 1, "{opened:?}");
    assert_eq!(place.store().head().unwrap(), 1);
}

pub fn a_write_is_announced_to_the_other_replicas(backend: Backend) {
    let place = backend.place();
    let (a, _) = place.open(&embedded()).unwrap();
    let listener = place.store();
    let known = listener.head().unwrap();
    let d = a.snapshot().dataset().clone();
    let mut obs = (*d.holdings[0].observations[0]).clone();
    obs.id = "announced".into();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        a.create_observation(&d.holdings[0].id, &obs).unwrap()
    });
    let heard = listener.wait_for_announcement(known, Duration::from_secs(10));
    let written = writer.join().unwrap();
    match backend {
        // LISTEN/NOTIFY: the revision arrives as it commits.
        Backend::Postgres => assert_eq!(heard, Some(written)),
        // One process per SQLite file: followers poll instead.
        Backend::Sqlite => assert_eq!(heard, None),
    }
}
