//! Records as the stores keep them (JSON bodies, the same fields and names as the dataset
//! file), their resource names and etags, and the assembly of a whole revision from its rows.

use std::sync::Mutex;

use leverage_core::Dataset;
use leverage_core::model::{Holding, Observation};
use leverage_core::record::{DatasetBuilder, Record, RecordKey, RecordKind};
use sha2::Digest;

use crate::{Applied, Change, StoreError};

/// The changes that create `holding` with its observations, each a record of its own.
pub fn creation_of(holding: &Holding) -> Vec<Change> {
    let mut bare = holding.clone();
    bare.observations = Vec::new();
    let mut changes = vec![Change::Create(Record::Holding(bare))];
    changes.extend(holding.observations.iter().map(|o| {
        Change::Create(Record::Observation {
            holding: holding.id.clone(),
            observation: Observation::clone(o),
        })
    }));
    changes
}

/// The etag of a holding's own fields (not its observations), computed once per value.
pub fn holding_etag(holding: &Holding) -> std::sync::Arc<str> {
    holding.etag.get_or_init(|| {
        // Without its series from the start: the stored value is the holding's own fields.
        let bare = Holding {
            observations: Vec::new(),
            ..holding.clone()
        };
        etag(&Record::Holding(bare))
    })
}

/// The etag of a record's value (AIP-154): a digest of its stored JSON, so that any replica
/// computes the same one from its snapshot, and any change of the record (its audit fields
/// included) changes it.
pub fn etag(record: &Record) -> String {
    let digest = sha2::Sha256::digest(encode_record(record).as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

pub(crate) fn resource_name(key: &RecordKey, parent: &str) -> String {
    name_of(key.kind.as_str(), &key.id, parent)
}

/// The API name of a stored row.
pub(crate) fn name_of(kind: &str, id: &str, parent: &str) -> String {
    match RecordKind::parse(kind) {
        Some(RecordKind::Observation) => format!("holdings/{parent}/observations/{id}"),
        Some(k) => format!("{}/{id}", k.collection()),
        None => format!("{kind}/{id}"),
    }
}

pub(crate) fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain data structs with string keys into JSON cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// A record as the store keeps it: its JSON (a holding without its observations), the same
/// fields and names as the dataset file.
pub fn record_json(r: &Record) -> String {
    encode_record(r)
}

pub(crate) fn encode_record(r: &Record) -> String {
    match r {
        Record::Meta(x) => encode(x),
        Record::ExchangeRate(x) => encode(x),
        Record::Holding(x) => {
            if x.observations.is_empty() {
                encode(x)
            } else {
                let mut bare = x.clone();
                bare.observations = Vec::new();
                encode(&bare)
            }
        }
        Record::Observation { observation, .. } => encode(observation),
        Record::Figure(x) => encode(x),
        Record::Doctrine(x) => encode(x),
        Record::Position(x) => encode(x),
        Record::Assessment(x) => encode(x),
        Record::Instrument(x) => encode(x),
    }
}

pub(crate) fn decode_record(
    kind: &str,
    id: &str,
    parent: &str,
    body: &str,
) -> Result<Record, StoreError> {
    let d = |kind: &str| -> Result<_, StoreError> {
        Ok(match RecordKind::parse(kind) {
            Some(RecordKind::Meta) => Record::Meta(decode(kind, id, body)?),
            Some(RecordKind::ExchangeRate) => Record::ExchangeRate(decode(kind, id, body)?),
            Some(RecordKind::Holding) => Record::Holding(decode(kind, id, body)?),
            Some(RecordKind::Observation) => Record::Observation {
                holding: parent.to_owned(),
                observation: decode(kind, id, body)?,
            },
            Some(RecordKind::Figure) => Record::Figure(decode(kind, id, body)?),
            Some(RecordKind::Doctrine) => Record::Doctrine(decode(kind, id, body)?),
            Some(RecordKind::Position) => Record::Position(decode(kind, id, body)?),
            Some(RecordKind::Assessment) => Record::Assessment(decode(kind, id, body)?),
            Some(RecordKind::Instrument) => Record::Instrument(decode(kind, id, body)?),
            None => {
                return Err(StoreError::Corrupt {
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                    reason: "unknown record kind".into(),
                });
            }
        })
    };
    d(kind)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    kind: &str,
    id: &str,
    body: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

/// The value `change` leaves and the audit log's word for it, given whether its record is live
/// and whether its key was ever used; refused when the change does not fit (a creation of a
/// name used before, an update or deletion of nothing).
pub(crate) fn applying(
    change: &Change,
    live: bool,
    ever_used: bool,
) -> Result<(Option<&Record>, &'static str), StoreError> {
    // Named only when refused: the key is built then, not for every change applied.
    let name = |parent: &str| resource_name(&change.key(), parent);
    Ok(match change {
        Change::Create(r) if ever_used => return Err(StoreError::AlreadyExists(name(r.parent()))),
        Change::Create(r) => (Some(r), "create"),
        Change::Update(r) if !live => return Err(StoreError::NotFound(name(r.parent()))),
        Change::Update(r) => (Some(r), "update"),
        Change::Put(r) => (Some(r), if live { "update" } else { "create" }),
        Change::Delete(_) if !live => return Err(StoreError::NotFound(name(""))),
        Change::Delete(_) => (None, "delete"),
    })
}

/// The observations of `holding`, as rows (id, body) give them, each as a change that sets it.
pub(crate) fn series_changes(
    holding: &str,
    rows: impl IntoIterator<Item = (String, String)>,
    out: &mut Vec<Applied>,
) -> Result<(), StoreError> {
    for (id, body) in rows {
        out.push(Applied {
            after: Some(decode_record("observation", &id, holding, &body)?),
            key: RecordKey::new(RecordKind::Observation, id),
            parent: holding.to_owned(),
        });
    }
    Ok(())
}

/// What a revision did to each record, from the rows it opened and those it closed (kind, id,
/// parent): a record both closed and opened was updated.
pub(crate) fn changes_of(
    opened: &[(String, String, String)],
    closed: &[(String, String, String)],
) -> Vec<(String, crate::ChangeKind)> {
    use crate::ChangeKind;
    let same = |(k, i, _): &(String, String, String), kind: &str, id: &str| k == kind && i == id;
    let mut changes = Vec::with_capacity(opened.len() + closed.len());
    for (kind, id, parent) in opened {
        let how = if closed.iter().any(|c| same(c, kind, id)) {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        changes.push((name_of(kind, id, parent), how));
    }
    for (kind, id, parent) in closed {
        if !opened.iter().any(|o| same(o, kind, id)) {
            changes.push((name_of(kind, id, parent), ChangeKind::Deleted));
        }
    }
    changes
}

/// Rows handed to a decoder at a time when a revision is read whole.
const LOAD_BATCH: usize = 2048;

/// Rows read for a decoder: their fields (kind, id, parent, body) as ranges of one text.
#[derive(Debug, Default)]
struct Batch {
    text: String,
    rows: Vec<[std::ops::Range<usize>; 4]>,
}

/// Builds the dataset of one revision from its small tables (read whole, in table order) and
/// its holdings and observations, which `read` pushes row by row as (kind, id, parent, body);
/// `push` returns `false` when the rows are no longer wanted (a decoder failed: its error is
/// returned).
///
/// Decoding the JSON of a million rows is most of the work: the reading thread hands rows in
/// batches to decoders on the other cores, each filling a builder of its own, merged at the
/// end. A batch is one text buffer with the rows' fields as ranges, sent back for reuse once
/// decoded: a string per field of a million rows, allocated on one thread and freed on
/// another, cost more than the decoding saved.
pub(crate) fn assemble(
    tables: Vec<Record>,
    revision: u64,
    read: impl FnOnce(&mut dyn FnMut([&str; 4]) -> bool) -> Result<(), StoreError>,
) -> Result<Dataset, StoreError> {
    let mut builder = DatasetBuilder::default();
    for r in tables {
        builder.push(r);
    }
    let decoders = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(decoders * 2);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch>();
    let full_rx = Mutex::new(full_rx);
    let decoded: Vec<Result<DatasetBuilder, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..decoders)
            .map(|_| {
                let (full_rx, empty_tx) = (&full_rx, empty_tx.clone());
                scope.spawn(move || {
                    let mut part = DatasetBuilder::default();
                    loop {
                        let next = full_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(batch) = next else {
                            return Ok(part);
                        };
                        for row in &batch.rows {
                            let [kind, id, parent, body] = row.clone().map(|r| &batch.text[r]);
                            if kind == "observation" {
                                part.push_observation(parent, decode(kind, id, body)?);
                            } else {
                                part.push(decode_record(kind, id, parent, body)?);
                            }
                        }
                        let _ = empty_tx.send(batch);
                    }
                })
            })
            .collect();
        drop(empty_tx);
        let mut batch = Batch::default();
        let mut open = true;
        let read = read(&mut |fields: [&str; 4]| {
            if !open {
                return false;
            }
            let mut ranges: [std::ops::Range<usize>; 4] = Default::default();
            for (range, text) in ranges.iter_mut().zip(fields) {
                let at = batch.text.len();
                batch.text.push_str(text);
                *range = at..batch.text.len();
            }
            batch.rows.push(ranges);
            if batch.rows.len() == LOAD_BATCH {
                let mut next = empty_rx.try_recv().unwrap_or_default();
                next.text.clear();
                next.rows.clear();
                open = full_tx.send(std::mem::replace(&mut batch, next)).is_ok();
            }
            open
        });
        if open {
            let _ = full_tx.send(batch);
        }
        drop(full_tx);
        let mut out: Vec<_> = workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(StoreError::Invalid("a decoder thread panicked".into()))
                })
            })
            .collect();
        if let Err(e) = read {
            out.push(Err(e));
        }
        out
    });
    for part in decoded {
        builder.merge(part?);
    }
    builder.finish().ok_or_else(|| StoreError::Corrupt {
        kind: "meta".into(),
        id: "dataset".into(),
        reason: format!("no dataset description at revision {revision}"),
    })
}
