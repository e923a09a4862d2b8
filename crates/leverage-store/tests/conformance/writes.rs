//! Writes through the repository: what is written is in the snapshot at once, survives a
//! restart, and equals what a fresh read of the store gives.

use std::sync::Arc;

use leverage_core::model::{Audit, Holding};
use leverage_core::{Dataset, Snapshot};
use leverage_store::{Opened, Repository, StoreError};

use super::Backend;

fn embedded() -> Dataset {
    Dataset::embedded().expect("embedded dataset")
}

pub fn first_start_imports_and_later_starts_reuse(backend: Backend) {
    let place = backend.place();
    let (repo, opened) = place.open(&embedded()).unwrap();
    assert!(matches!(opened, Opened::Imported { .. }));
    assert_eq!(
        repo.snapshot().dataset().holdings.len(),
        embedded().holdings.len()
    );
    drop(repo);
    let (_, opened) = place.open(&embedded()).unwrap();
    assert!(matches!(opened, Opened::Reused { .. }));
}

pub fn loaded_dataset_equals_the_imported_one(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let mut expected = embedded();
    expected.holdings.sort_by(|a, b| a.id.cmp(&b.id));
    for h in &mut expected.holdings {
        Arc::make_mut(h)
            .observations
            .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
    }
    assert_eq!(repo.snapshot().dataset(), &expected);
}

pub fn writes_are_visible_at_once_and_survive_a_restart(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
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
    let (repo, _) = place.open(&embedded()).unwrap();
    assert!(seen(&repo));
    assert!(matches!(
        repo.create_observation(&holding.id, &obs),
        Err(StoreError::AlreadyExists(_))
    ));
}

pub fn deleted_holdings_leave_reads_but_not_the_log(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
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

pub fn a_bulk_creation_is_all_or_nothing(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
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
    let (repo, _) = place.open(&embedded()).unwrap();
    assert!(
        repo.snapshot().holding("bulk-a").is_none(),
        "nothing of a failed bulk load stays"
    );
    repo.store()
        .create_holdings(&[make("bulk-a"), make("bulk-b")])
        .unwrap();
    drop(repo);
    let (repo, _) = place.open(&embedded()).unwrap();
    assert!(repo.snapshot().holding("bulk-b").is_some());
}

pub fn a_failed_write_stores_nothing(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let before = repo.snapshot().dataset().clone();
    let mut h = (*before.holdings[0]).clone();
    // The holding's own observation ids exist already: the whole creation must roll back.
    h.id = "brand-new-holding".into();
    assert!(repo.create_holding(&h).is_err());
    drop(repo);
    let (repo, _) = place.open(&embedded()).unwrap();
    assert!(repo.snapshot().holding("brand-new-holding").is_none());
    assert_eq!(repo.snapshot().dataset(), &before);
}

pub fn after_writes_the_snapshot_is_what_a_fresh_read_of_the_database_gives(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
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
