//! Merging a set of records into the database by id: what an import and an upgrade of the
//! shipped dataset do. A record is added when its id was never used, replaced when the live
//! value came from a file (shipped or imported) and differs, and left alone, reported as a
//! conflict, when someone edited it here (or deleted it): a merge never overwrites a local edit.

use leverage_core::record::{Record, RecordKey};

use crate::{Change, Commit, Datastore, Origin, StoreError};

/// Where the records being merged come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeSource {
    /// The dataset shipped with this build.
    Shipped,
    /// A file imported by a user; its rows get the import id in their sources.
    Import { import_id: String },
}

/// A record the merge left alone because it was edited or deleted locally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub key: RecordKey,
    /// The record's resource name.
    pub name: String,
    pub detail: String,
}

/// What a merge would do, computed before anything is written.
#[derive(Clone, Debug, Default)]
pub struct MergePlan {
    pub added: Vec<Record>,
    pub changed: Vec<Record>,
    pub unchanged: Vec<RecordKey>,
    pub conflicts: Vec<Conflict>,
}

impl MergePlan {
    /// The revision that applies the plan: its additions and changes, its conflicts recorded.
    pub fn into_commit(
        self,
        actor: &str,
        origin: Origin,
        summary: String,
        reason: Option<String>,
    ) -> Commit {
        let changes = self
            .added
            .into_iter()
            .chain(self.changed)
            .map(Change::Put)
            .collect();
        Commit {
            actor: actor.to_owned(),
            origin,
            summary,
            reason,
            changes,
            base: None,
            conflicts: self.conflicts,
        }
    }
}

/// Plans the merge of `records` into `store` (nothing is written).
pub(crate) fn plan<S: Datastore + ?Sized>(
    store: &S,
    records: &[Record],
    source: &MergeSource,
) -> Result<MergePlan, StoreError> {
    let mut plan = MergePlan::default();
    for incoming in records {
        let key = incoming.key();
        let mut record = incoming.clone();
        if let MergeSource::Import { import_id } = source {
            for s in record.sources_mut() {
                s.import_id = Some(import_id.as_str().into());
            }
        }
        match store.live(&key)? {
            Some((_, live)) if live.same_data(&record) => plan.unchanged.push(key),
            Some((origin, live)) if origin == "edit" => {
                if shipped_unchanged(store, &key, &record, source)? {
                    plan.unchanged.push(key);
                } else {
                    let detail = format!(
                        "{} was edited here; the {} value differs and was not applied ({})",
                        live.name(),
                        source_word(source),
                        difference(&live, &record)
                    );
                    let name = record.name();
                    plan.conflicts.push(Conflict { key, name, detail });
                }
            }
            Some(_) => plan.changed.push(record),
            None if store.ever_used(&key)? => {
                if shipped_unchanged(store, &key, &record, source)? {
                    plan.unchanged.push(key);
                } else {
                    let detail = format!(
                        "{} was deleted here; the {} value was not restored",
                        record.name(),
                        source_word(source)
                    );
                    let name = record.name();
                    plan.conflicts.push(Conflict { key, name, detail });
                }
            }
            None => plan.added.push(record),
        }
    }
    Ok(plan)
}

/// Whether `record`, from the shipped dataset, is what was shipped before: then a local
/// edit (or deletion) of it is no conflict, since the new build did not change the row.
fn shipped_unchanged<S: Datastore + ?Sized>(
    store: &S,
    key: &RecordKey,
    record: &Record,
    source: &MergeSource,
) -> Result<bool, StoreError> {
    Ok(*source == MergeSource::Shipped
        && store
            .last_from(key, "shipped")?
            .is_some_and(|base| base.same_data(record)))
}

fn source_word(source: &MergeSource) -> &'static str {
    match source {
        MergeSource::Shipped => "shipped",
        MergeSource::Import { .. } => "imported",
    }
}

/// The top-level fields in which two records differ, for a conflict's description.
fn difference(local: &Record, incoming: &Record) -> String {
    let as_object = |r: &Record| match serde_json::from_str(&crate::codec::encode_record(r)) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (as_object(local), as_object(incoming));
    let mut fields: Vec<&str> = a
        .keys()
        .chain(b.keys())
        .filter(|k| *k != "source" || a.get(*k) != b.get(*k))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    fields.dedup();
    if fields.is_empty() {
        "its contents differ".to_owned()
    } else {
        format!("fields that differ: {}", fields.join(", "))
    }
}
