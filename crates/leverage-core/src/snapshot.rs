//! An immutable, indexed view of the dataset. Reads are answered from a snapshot; a write
//! builds a new one, so reads never wait on writes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::dataset::Dataset;
use crate::date::Date;
use crate::model::{FundingInstrument, Holding, Observation};
use crate::record::{Record, RecordKey, RecordKind};

#[derive(Debug)]
pub struct Snapshot {
    dataset: Dataset,
    /// The dataset version (the store's revision) this snapshot is; 0 for one built from a
    /// file.
    revision: u64,
    /// Shared between snapshots while the holdings' places do not change (a write to an
    /// existing holding), so a write does not rebuild it.
    holdings: Arc<HashMap<String, usize>>,
    instruments: Arc<HashMap<String, usize>>,
    /// Per holding (same index), where its observations lie in time; see [`Series`]. Shared
    /// between snapshots like the holdings.
    series: Vec<Series>,
}

/// The as-of dates of one holding's observations, in series order. Finding the observation
/// in force searches these 8-byte dates, a few cache lines per holding, instead of touching a
/// 250-byte observation at every step: over a million observations that is most of a
/// summary's time (issue 4). The first and last dates and the count sit inline, in one flat
/// vector: most questions (a date before the series, or after its end) are answered without
/// following the pointer at all. Before they were inline, the soak of issue 5 saw a listing
/// cost twice as much once its writes had grown the series, each a cache miss to reach.
#[derive(Clone, Debug)]
struct Series {
    /// The first and last dates, `None` for a holding without observations.
    span: Option<(Date, Date)>,
    len: usize,
    dates: Arc<[Date]>,
}

impl Series {
    fn of(h: &Holding) -> Self {
        let dates: Arc<[Date]> = h.observations.iter().map(|o| o.as_of).collect();
        Series {
            span: dates.first().zip(dates.last()).map(|(f, l)| (*f, *l)),
            len: dates.len(),
            dates,
        }
    }

    /// The index of the observation in force on `as_of`: the last one dated on or before it.
    #[inline]
    fn in_force(&self, as_of: Date) -> Option<usize> {
        let (first, last) = self.span?;
        if as_of < first {
            None
        } else if as_of >= last {
            Some(self.len - 1)
        } else {
            self.dates.partition_point(|d| *d <= as_of).checked_sub(1)
        }
    }
}

fn index_by_id<'a>(ids: impl Iterator<Item = &'a str>) -> Arc<HashMap<String, usize>> {
    Arc::new(ids.enumerate().map(|(i, id)| (id.to_owned(), i)).collect())
}

impl Snapshot {
    /// Puts the holdings in id order (the store reads them so; a dataset file may not be), so
    /// that every read walks them in name order and a listing by name needs no sort.
    pub fn new(mut dataset: Dataset) -> Self {
        if !dataset.holdings.is_sorted_by(|a, b| a.id <= b.id) {
            dataset.holdings.sort_by(|a, b| a.id.cmp(&b.id));
        }
        for h in &mut dataset.holdings {
            if !h.observations_in_order() {
                Arc::make_mut(h).order_observations();
            }
            if h.observations.iter().any(|o| !o.audit.is_embedded()) {
                Arc::make_mut(h).stamp_last_change();
            }
        }
        Self {
            holdings: index_by_id(dataset.holdings.iter().map(|h| h.id.as_str())),
            instruments: index_by_id(dataset.instruments.iter().map(|i| i.id.as_str())),
            series: dataset.holdings.iter().map(|h| Series::of(h)).collect(),
            dataset,
            revision: 0,
        }
    }

    /// [`Snapshot::new`] for the dataset as it is at `revision`.
    pub fn at_revision(dataset: Dataset, revision: u64) -> Self {
        Self {
            revision,
            ..Self::new(dataset)
        }
    }

    /// This snapshot with its meta record and reference tables (everything but holdings and
    /// their observations) replaced by `records`, in their order; the holdings are shared.
    pub fn with_tables(&self, records: Vec<Record>) -> Snapshot {
        let mut dataset = self.dataset.clone();
        let (mut rates, mut figures, mut doctrines) = (Vec::new(), Vec::new(), Vec::new());
        let (mut positions, mut assessments, mut instruments) =
            (Vec::new(), Vec::new(), Vec::new());
        for r in records {
            match r {
                Record::Meta(m) => dataset.meta = m,
                Record::ExchangeRate(x) => rates.push(x),
                Record::Figure(x) => figures.push(x),
                Record::Doctrine(x) => doctrines.push(x),
                Record::Position(x) => positions.push(x),
                Record::Assessment(x) => assessments.push(x),
                Record::Instrument(x) => instruments.push(x),
                Record::Holding(_) | Record::Observation { .. } => {}
            }
        }
        dataset.rates = rates.into();
        dataset.figures = figures.into();
        dataset.doctrines = doctrines.into();
        dataset.positions = positions.into();
        dataset.assessments = assessments.into();
        dataset.instruments = instruments.into();
        Snapshot {
            holdings: Arc::clone(&self.holdings),
            instruments: index_by_id(dataset.instruments.iter().map(|i| i.id.as_str())),
            series: self.series.clone(),
            dataset,
            revision: self.revision,
        }
    }

    /// The dataset version this snapshot is.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The snapshot after `changes` (each record's key, its parent holding for an
    /// observation, and its new value or `None` when deleted), at `revision`. Holdings not
    /// changed, their series and the reference tables not changed are shared with this one.
    pub fn with_changes<'a>(
        &self,
        revision: u64,
        changes: impl IntoIterator<Item = (&'a RecordKey, &'a str, Option<&'a Record>)>,
    ) -> Snapshot {
        let mut dataset = self.dataset.clone();
        let mut holdings: Vec<(String, Option<Holding>)> = Vec::new();
        fn touched<'h>(
            holdings: &'h mut Vec<(String, Option<Holding>)>,
            current: &Snapshot,
            id: &str,
        ) -> &'h mut Option<Holding> {
            let at = match holdings.iter().position(|(h, _)| h == id) {
                Some(at) => at,
                None => {
                    holdings.push((id.to_owned(), current.holding(id).cloned()));
                    holdings.len() - 1
                }
            };
            &mut holdings[at].1
        }
        fn replace<T: Clone>(
            table: &mut Arc<[T]>,
            id: &str,
            id_of: impl Fn(&T) -> &str,
            value: Option<T>,
        ) {
            let mut rows: Vec<T> = table.to_vec();
            match (rows.iter().position(|r| id_of(r) == id), value) {
                (Some(i), Some(v)) => rows[i] = v,
                (Some(i), None) => {
                    rows.remove(i);
                }
                (None, Some(v)) => rows.push(v),
                (None, None) => {}
            }
            *table = rows.into();
        }
        let mut instruments_moved = false;
        // Per holding: the observation ids changed, and their new values.
        let mut series_changes: HashMap<String, (HashSet<String>, Vec<Arc<Observation>>)> =
            HashMap::new();
        // Holdings first, so that observations of a holding (re)created here find it.
        let mut changes: Vec<_> = changes.into_iter().collect();
        changes.sort_by_key(|(key, _, _)| key.kind == RecordKind::Observation);
        for (key, parent, after) in changes {
            let id = key.id.as_str();
            match (key.kind, after) {
                (RecordKind::Meta, Some(Record::Meta(m))) => dataset.meta = m.clone(),
                (RecordKind::Holding, after) => {
                    let slot = touched(&mut holdings, self, id);
                    *slot = match after {
                        Some(Record::Holding(h)) => {
                            let mut h = h.clone();
                            h.observations =
                                slot.take().map(|old| old.observations).unwrap_or_default();
                            Some(h)
                        }
                        _ => None,
                    };
                }
                (RecordKind::Observation, after) => {
                    // Gathered per holding and applied once below: one pass over the series
                    // and one sort, however many of its observations changed.
                    if touched(&mut holdings, self, parent).is_some() {
                        let entry = series_changes.entry(parent.to_owned()).or_default();
                        entry.0.insert(id.to_owned());
                        if let Some(Record::Observation { observation, .. }) = after {
                            entry.1.push(Arc::new(observation.clone()));
                        }
                    }
                }
                (RecordKind::ExchangeRate, after) => {
                    let v = match after {
                        Some(Record::ExchangeRate(r)) => Some(r.clone()),
                        _ => None,
                    };
                    replace(&mut dataset.rates, id, |r| &r.id, v);
                }
                (RecordKind::Figure, after) => {
                    let v = match after {
                        Some(Record::Figure(r)) => Some(r.clone()),
                        _ => None,
                    };
                    replace(&mut dataset.figures, id, |r| &r.id, v);
                }
                (RecordKind::Doctrine, after) => {
                    let v = match after {
                        Some(Record::Doctrine(r)) => Some(r.clone()),
                        _ => None,
                    };
                    replace(&mut dataset.doctrines, id, |r| &r.id, v);
                }
                (RecordKind::Position, after) => {
                    let v = match after {
                        Some(Record::Position(r)) => Some(r.clone()),
                        _ => None,
                    };
                    replace(&mut dataset.positions, id, |r| &r.id, v);
                }
                (RecordKind::Assessment, after) => {
                    let v = match after {
                        Some(Record::Assessment(r)) => Some(r.clone()),
                        _ => None,
                    };
                    replace(&mut dataset.assessments, id, |r| &r.id, v);
                }
                (RecordKind::Instrument, after) => {
                    let v = match after {
                        Some(Record::Instrument(r)) => Some(r.clone()),
                        _ => None,
                    };
                    instruments_moved = true;
                    replace(&mut dataset.instruments, id, |r| &r.id, v);
                }
                (RecordKind::Meta, _) => {}
            }
        }
        let mut next = Snapshot {
            holdings: Arc::clone(&self.holdings),
            instruments: if instruments_moved {
                index_by_id(dataset.instruments.iter().map(|i| i.id.as_str()))
            } else {
                Arc::clone(&self.instruments)
            },
            series: self.series.clone(),
            dataset,
            revision,
        };
        for (id, mut holding) in holdings {
            if let (Some(h), Some((changed, added))) =
                (holding.as_mut(), series_changes.remove(&id))
            {
                h.observations.retain(|o| !changed.contains(&o.id));
                h.observations.extend(added);
                h.observations
                    .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
            }
            next = next.with_holding(&id, holding);
        }
        next.revision = revision;
        next
    }

    /// Every holding that `keep` accepts, in id order, with its observation in force on
    /// `as_of` (what [`Holding::observation_as_of`] answers, found through the date index).
    pub fn holdings_as_of<F: Fn(&Holding) -> bool>(
        &self,
        as_of: Date,
        keep: F,
    ) -> impl Iterator<Item = (&Holding, Option<&Observation>)> {
        self.dataset
            .holdings
            .iter()
            .zip(&self.series)
            .filter(move |(h, _)| keep(h))
            .map(move |(h, series)| {
                let h: &Holding = h;
                (h, series.in_force(as_of).map(|i| &*h.observations[i]))
            })
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn holding(&self, id: &str) -> Option<&Holding> {
        self.holdings.get(id).map(|&i| &*self.dataset.holdings[i])
    }

    /// A snapshot with holding `id` replaced by `holding` (added when new, in id order, and
    /// removed when `None`): what a write changes. The other holdings and their date indexes
    /// are shared with this snapshot, not copied or checked again, so a write costs the size of
    /// the holding written plus a pointer per holding, not the size of the dataset.
    pub fn with_holding(&self, id: &str, holding: Option<Holding>) -> Snapshot {
        let mut dataset = self.dataset.clone();
        let mut series = self.series.clone();
        // Holdings are in id order as the store reads them; a new one goes where it belongs.
        let at = match self.holdings.get(id) {
            Some(&i) => Ok(i),
            None => Err(dataset.holdings.partition_point(|h| h.id.as_str() < id)),
        };
        let holding = holding.map(|mut h| {
            h.order_observations();
            h.stamp_last_change();
            Arc::new(h)
        });
        let mut moved = true;
        match (at, holding) {
            (Ok(i), Some(h)) => {
                series[i] = Series::of(&h);
                dataset.holdings[i] = h;
                moved = false;
            }
            (Ok(i), None) => {
                series.remove(i);
                dataset.holdings.remove(i);
            }
            (Err(i), Some(h)) => {
                series.insert(i, Series::of(&h));
                dataset.holdings.insert(i, h);
            }
            (Err(_), None) => {}
        }
        Snapshot {
            holdings: if moved {
                index_by_id(dataset.holdings.iter().map(|h| h.id.as_str()))
            } else {
                Arc::clone(&self.holdings)
            },
            instruments: Arc::clone(&self.instruments),
            series,
            dataset,
            revision: self.revision,
        }
    }

    pub fn instrument(&self, id: &str) -> Option<&FundingInstrument> {
        self.instruments
            .get(id)
            .map(|&i| &self.dataset.instruments[i])
    }
}

/// Parses an API enum value (`CENTRAL_BANK`) into the domain enum (`central_bank`).
pub fn parse_enum<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    use serde::de::IntoDeserializer;
    let lower = value.to_ascii_lowercase();
    let de: serde::de::value::StringDeserializer<serde::de::value::Error> =
        lower.into_deserializer();
    T::deserialize(de).ok()
}

/// The API spelling of a domain enum value (`central_bank` → `CENTRAL_BANK`).
pub fn enum_name<T: serde::Serialize>(value: &T) -> String {
    match toml::Value::try_from(value) {
        Ok(toml::Value::String(s)) => s.to_ascii_uppercase(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `observation_as_of` answered before it became a binary search: a scan of every
    /// observation, in any order.
    fn scan(h: &Holding, as_of: Date) -> Option<&Observation> {
        h.observations
            .iter()
            .filter(|o| o.as_of <= as_of)
            .max_by(|a, b| a.as_of.cmp(&b.as_of).then(a.confidence.cmp(&b.confidence)))
            .map(|o| &**o)
    }

    #[test]
    fn holdings_are_put_in_id_order_and_the_observation_in_force_is_found_whatever_order_the_series_arrives_in()
     {
        let mut dataset = Dataset::embedded().unwrap();
        for h in &mut dataset.holdings {
            Arc::make_mut(h).observations.reverse();
        }
        dataset.holdings.reverse();
        let reference = dataset.clone();
        let snap = Snapshot::new(dataset);
        let ids: Vec<&str> = snap
            .dataset()
            .holdings
            .iter()
            .map(|h| h.id.as_str())
            .collect();
        assert!(ids.is_sorted(), "holdings in id order: {ids:?}");
        assert_eq!(ids.len(), reference.holdings.len());
        let (first, last) = (
            Date::new(2021, 1, 1).unwrap().days_since_epoch(),
            Date::new(2026, 12, 31).unwrap().days_since_epoch(),
        );
        let mut found = 0;
        for h in &reference.holdings {
            let ordered = snap.holding(&h.id).unwrap();
            // Every week, plus each observation's own day and the days either side of it
            // (the edges of each series and of each step in it), and days far outside.
            let mut days: Vec<i64> = (first..=last).step_by(7).collect();
            for o in &h.observations {
                let d = o.as_of.days_since_epoch();
                days.extend([d - 1, d, d + 1]);
            }
            days.extend([-25_000, 60_000]);
            for day in days {
                let as_of = Date::from_days_since_epoch(day).unwrap();
                assert_eq!(
                    ordered.observation_as_of(as_of),
                    scan(h, as_of),
                    "{} {as_of}",
                    h.id
                );
                let (indexed, o) = snap.holdings_as_of(as_of, |x| x.id == h.id).next().unwrap();
                assert_eq!((indexed.id.as_str(), o), (h.id.as_str(), scan(h, as_of)));
                found += usize::from(scan(h, as_of).is_some());
            }
        }
        assert!(found > 1000, "the dates tried hit observations ({found})");
    }
}
