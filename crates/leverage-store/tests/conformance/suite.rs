//! Dataset versions: every write a revision, older revisions readable until compacted, history
//! kept, merges (imports, upgrades of the shipped dataset) that never overwrite a local edit.

use leverage_core::record::{Record, RecordKey, RecordKind};
use leverage_core::{Dataset, Snapshot};
use leverage_store::{Change, Commit, Opened, Origin, StoreError};

use super::Backend;

fn embedded() -> Dataset {
    Dataset::embedded().unwrap()
}

fn edit(actor: &str, reason: Option<&str>, changes: Vec<Change>) -> Commit {
    Commit {
        actor: actor.into(),
        origin: Origin::Edit,
        summary: "test edit".into(),
        reason: reason.map(Into::into),
        changes,
        base: None,
        conflicts: Vec::new(),
    }
}

/// The first observation of the first holding that has one, as a record.
fn some_observation(d: &Dataset) -> Record {
    let h = d
        .holdings
        .iter()
        .find(|h| !h.observations.is_empty())
        .unwrap();
    Record::Observation {
        holding: h.id.clone(),
        observation: (*h.observations[0]).clone(),
    }
}

pub fn a_correction_is_a_new_version_and_the_superseded_value_stays_readable_with_its_author_and_reason(
    backend: Backend,
) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let before = repo.snapshot().revision();
    let Record::Observation {
        holding,
        mut observation,
    } = some_observation(repo.snapshot().dataset())
    else {
        unreachable!()
    };
    let old_value = observation.value;
    observation.value = old_value + 1.25;
    let committed = repo
        .commit(&edit(
            "carol",
            Some("the release was revised"),
            vec![Change::Update(Record::Observation {
                holding: holding.clone(),
                observation: observation.clone(),
            })],
        ))
        .unwrap();
    assert_eq!(committed.revision, before + 1);
    let value_at = |snap: &Snapshot| {
        snap.holding(&holding)
            .unwrap()
            .observations
            .iter()
            .find(|o| o.id == observation.id)
            .unwrap()
            .value
    };
    assert_eq!(value_at(&repo.snapshot()), old_value + 1.25);
    assert_eq!(value_at(&repo.snapshot_at(before).unwrap()), old_value);

    let history = repo
        .store()
        .history(&RecordKey::new(RecordKind::Observation, &observation.id))
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[0].since, history[0].until), (1, Some(before + 1)));
    assert_eq!(history[1].actor, "carol");
    assert_eq!(
        history[1].reason.as_deref(),
        Some("the release was revised")
    );
    assert_eq!(
        history[0].ended_by.as_ref().map(|e| e.0.as_str()),
        Some("carol")
    );
}

pub fn a_read_at_an_old_version_equals_the_dataset_as_it_was_then(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let first = repo.snapshot();
    let mut figure = first.dataset().figures[0].clone();
    figure.value = Some(123.0);
    let doctrine = first.dataset().doctrines[0].id.clone();
    repo.commit(&edit(
        "dan",
        None,
        vec![
            Change::Update(Record::Figure(figure.clone())),
            Change::Delete(RecordKey::new(RecordKind::Doctrine, &doctrine)),
        ],
    ))
    .unwrap();
    assert_eq!(
        repo.snapshot().dataset().figures[0],
        figure,
        "kept in place"
    );
    assert!(
        repo.snapshot()
            .dataset()
            .doctrines
            .iter()
            .all(|d| d.id != doctrine)
    );
    // A fresh read of the newest revision equals the snapshot the write produced...
    let (fresh, _) = repo.store().load_at(None).unwrap();
    assert_eq!(&fresh, repo.snapshot().dataset());
    // ...and the first revision reads back exactly as it was served.
    let old = repo.snapshot_at(first.revision()).unwrap();
    assert_eq!(old.dataset(), first.dataset());
}

pub fn a_read_at_a_compacted_or_future_version_is_refused_never_answered_from_another(
    backend: Backend,
) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let mut figure = repo.snapshot().dataset().figures[0].clone();
    for v in 1..=3 {
        figure.value = Some(f64::from(v));
        repo.commit(&edit(
            "eve",
            None,
            vec![Change::Update(Record::Figure(figure.clone()))],
        ))
        .unwrap();
    }
    let head = repo.snapshot().revision();
    assert_eq!(head, 4);
    assert!(repo.snapshot_at(2).is_ok());
    let removed = repo.compact(3).unwrap();
    assert_eq!(removed, 2, "the first two values of the figure");
    assert!(matches!(
        repo.snapshot_at(2),
        Err(StoreError::VersionCompacted {
            requested: 2,
            oldest: 3
        })
    ));
    let at3 = repo.snapshot_at(3).unwrap();
    assert_eq!(at3.dataset().figures[0].value, Some(2.0));
    assert!(matches!(
        repo.snapshot_at(head + 1),
        Err(StoreError::VersionNotYet { .. })
    ));
}

pub fn an_upgraded_shipped_dataset_adds_and_updates_rows_by_id_and_keeps_every_local_edit(
    backend: Backend,
) {
    let place = backend.place();
    let shipped = embedded();
    let (repo, _) = place.open(&shipped).unwrap();
    // A user edits figure 0 and adds an observation.
    let mut edited = shipped.figures[0].clone();
    edited.note = Some("checked against the annual report".into());
    repo.commit(&edit(
        "fay",
        None,
        vec![Change::Update(Record::Figure(edited.clone()))],
    ))
    .unwrap();
    drop(repo);

    // The next build ships a newer dataset: figure 0 and figure 1 changed, one figure added.
    let mut next = shipped.clone();
    next.meta.version = "2099.01.1".into();
    let mut figures = next.figures.to_vec();
    figures[0].value = Some(1.0);
    figures[1].value = Some(2.0);
    let mut added = figures[1].clone();
    added.id = "NEW-001".into();
    figures.push(added);
    next.figures = figures.into();

    let (repo, opened) = place.open(&next).unwrap();
    let Opened::Upgraded {
        from,
        to,
        added,
        changed,
        conflicts,
        ..
    } = opened
    else {
        panic!("expected an upgrade, got {opened:?}")
    };
    assert_eq!(
        (from.as_str(), to.as_str()),
        (shipped.meta.version.as_str(), "2099.01.1")
    );
    // The meta record and figure 1 changed; NEW-001 added; figure 0 is the user's.
    assert_eq!((added, changed), (1, 2));
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].key.id, edited.id);
    let d = repo.snapshot();
    let d = d.dataset();
    assert_eq!(d.figures[0], edited, "the local edit survives");
    assert_eq!(d.figures[1].value, Some(2.0));
    assert!(d.figures.iter().any(|f| f.id == "NEW-001"));
    assert_eq!(d.meta.version, "2099.01.1");
    drop(repo);
    // Starting the same build again changes nothing.
    let (_, opened) = place.open(&next).unwrap();
    assert!(matches!(opened, Opened::Reused { .. }), "{opened:?}");
}

pub fn importing_the_same_records_twice_changes_nothing_the_second_time(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let mut rate = repo.snapshot().dataset().rates[0].clone();
    rate.id = "imported-rate".into();
    rate.rate = 1.5;
    let mut changed = repo.snapshot().dataset().rates[1].clone();
    changed.rate *= 1.01;
    let records = vec![
        Record::ExchangeRate(rate.clone()),
        Record::ExchangeRate(changed),
    ];
    let (plan, v1) = repo
        .import(&records, "imp-1", "gus", "import".into(), false)
        .unwrap();
    assert_eq!((plan.added.len(), plan.changed.len()), (1, 1));
    let stored = repo
        .snapshot()
        .dataset()
        .rates
        .iter()
        .find(|r| r.id == "imported-rate")
        .cloned()
        .unwrap();
    assert_eq!(stored.source.import_id.as_deref(), Some("imp-1"));
    let (plan, v2) = repo
        .import(&records, "imp-2", "gus", "import".into(), false)
        .unwrap();
    assert_eq!(v2, v1, "no new version");
    assert_eq!(plan.unchanged.len(), 2);
    assert!(plan.added.is_empty() && plan.changed.is_empty());
}

pub fn an_import_does_not_overwrite_a_local_edit_and_reports_it(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let mut mine = repo.snapshot().dataset().positions[0].clone();
    mine.summary = "my reading".into();
    repo.commit(&edit(
        "hal",
        None,
        vec![Change::Update(Record::Position(mine.clone()))],
    ))
    .unwrap();
    let mut theirs = mine.clone();
    theirs.summary = "their reading".into();
    let (plan, _) = repo
        .import(
            &[Record::Position(theirs)],
            "imp",
            "ida",
            "import".into(),
            false,
        )
        .unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    assert!(plan.conflicts[0].detail.contains("summary"));
    assert_eq!(repo.snapshot().dataset().positions[0], mine);
}

pub fn every_revision_lists_what_it_changed(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let obs = some_observation(repo.snapshot().dataset());
    let figure = repo.snapshot().dataset().figures[2].clone();
    repo.commit(&edit(
        "jan",
        Some("duplicate"),
        vec![
            Change::Delete(obs.key()),
            Change::Update(Record::Figure(figure.clone())),
        ],
    ))
    .unwrap();
    let versions = repo.store().versions(None, 10).unwrap();
    assert_eq!(versions.len(), 2);
    let newest = &versions[0];
    assert_eq!(newest.actor, "jan");
    assert_eq!(newest.reason.as_deref(), Some("duplicate"));
    let names: Vec<_> = newest
        .changes
        .iter()
        .map(|(n, k)| (n.as_str(), *k))
        .collect();
    assert!(names.contains(&(
        format!("figures/{}", figure.id).as_str(),
        leverage_store::ChangeKind::Updated
    )));
    assert!(names.contains(&(obs.name().as_str(), leverage_store::ChangeKind::Deleted)));
    assert_eq!(versions[1].revision, 1);
    assert_eq!(
        versions[1].changes.len(),
        embedded().records().len(),
        "the shipped import"
    );
    // The holding's series lost the observation in the snapshot too.
    let h = repo.snapshot();
    assert!(
        h.holding(obs.parent())
            .unwrap()
            .observations
            .iter()
            .all(|o| o.id != obs.id())
    );
}

pub fn an_old_version_rebuilt_from_the_newest_equals_a_full_read_of_that_version(backend: Backend) {
    let place = backend.place();
    let (repo, _) = place.open(&embedded()).unwrap();
    let d = repo.snapshot().dataset().clone();
    let holding = |i: usize| (*d.holdings[i]).clone();
    // 2: a correction; 3: a new observation; 4: a holding's description;
    // 5: a holding deleted; 6: a figure deleted and a position changed; 7: a new holding.
    let Record::Observation {
        holding: h0,
        mut observation,
    } = some_observation(&d)
    else {
        unreachable!()
    };
    observation.value += 3.0;
    repo.commit(&edit(
        "a",
        Some("fix"),
        vec![Change::Update(Record::Observation {
            holding: h0.clone(),
            observation: observation.clone(),
        })],
    ))
    .unwrap();
    let mut fresh = observation.clone();
    fresh.id = "later-one".into();
    fresh.as_of = "2026-06-30".parse().unwrap();
    repo.commit(&edit(
        "a",
        None,
        vec![Change::Create(Record::Observation {
            holding: h0.clone(),
            observation: fresh,
        })],
    ))
    .unwrap();
    let mut described = holding(3);
    described.observations.clear();
    described.scope = "re-described".into();
    repo.commit(&edit(
        "b",
        None,
        vec![Change::Update(Record::Holding(described))],
    ))
    .unwrap();
    let gone = holding(4);
    repo.commit(&edit(
        "b",
        None,
        vec![Change::Delete(RecordKey::new(
            RecordKind::Holding,
            &gone.id,
        ))],
    ))
    .unwrap();
    let mut position = d.positions[1].clone();
    position.summary = "changed".into();
    repo.commit(&edit(
        "c",
        None,
        vec![
            Change::Delete(RecordKey::new(RecordKind::Figure, &d.figures[0].id)),
            Change::Update(Record::Position(position)),
        ],
    ))
    .unwrap();
    let mut new_holding = holding(5);
    new_holding.id = "zz-new-holding".into();
    new_holding.observations.clear();
    repo.commit(&edit(
        "c",
        None,
        vec![Change::Create(Record::Holding(new_holding))],
    ))
    .unwrap();
    let head = repo.snapshot().revision();
    assert_eq!(head, 7);
    for v in 1..=head {
        let built = repo.snapshot_at(v).unwrap();
        let (read, _) = repo.store().load_at(Some(v)).unwrap();
        let read = Snapshot::at_revision(read, v);
        assert_eq!(built.dataset(), read.dataset(), "version {v}");
        for day in ["2024-12-31", "2025-12-31", "2026-07-01"] {
            let day = day.parse().unwrap();
            let a: Vec<_> = built
                .holdings_as_of(day, |_| true)
                .map(|(h, o)| (h.id.clone(), o.map(|o| o.id.clone())))
                .collect();
            let b: Vec<_> = read
                .holdings_as_of(day, |_| true)
                .map(|(h, o)| (h.id.clone(), o.map(|o| o.id.clone())))
                .collect();
            assert_eq!(a, b, "version {v}, {day}");
        }
    }
    // The deleted holding is back, series and all, at the versions before its deletion.
    assert_eq!(
        repo.snapshot_at(4)
            .unwrap()
            .holding(&gone.id)
            .unwrap()
            .observations
            .len(),
        gone.observations.len()
    );
}
