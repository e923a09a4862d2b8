//! An immutable, indexed view of the dataset. Reads are answered from a snapshot; a write
//! builds a new one, so reads never wait on writes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::dataset::Dataset;
use crate::date::Date;
use crate::model::{FundingInstrument, Holding, Observation};

#[derive(Debug)]
pub struct Snapshot {
    dataset: Dataset,
    /// Shared between snapshots while the holdings' places do not change (a write to an
    /// existing holding), so a write does not rebuild it.
    holdings: Arc<HashMap<String, usize>>,
    instruments: Arc<HashMap<String, usize>>,
    /// Per holding (same index), the as-of dates of its observations in series order. Finding
    /// the observation in force searches these 8-byte dates, a few cache lines per holding,
    /// instead of touching a 250-byte observation at every step: over a million observations
    /// that is most of a summary's time (issue 4). Shared between snapshots like the holdings.
    observation_dates: Vec<Arc<[Date]>>,
}

fn dates_of(h: &Holding) -> Arc<[Date]> {
    h.observations.iter().map(|o| o.as_of).collect()
}

fn index_by_id<'a>(ids: impl Iterator<Item = &'a str>) -> Arc<HashMap<String, usize>> {
    Arc::new(ids.enumerate().map(|(i, id)| (id.to_owned(), i)).collect())
}

impl Snapshot {
    pub fn new(mut dataset: Dataset) -> Self {
        for h in &mut dataset.holdings {
            if !h.observations_in_order() {
                Arc::make_mut(h).order_observations();
            }
        }
        Self {
            holdings: index_by_id(dataset.holdings.iter().map(|h| h.id.as_str())),
            instruments: index_by_id(dataset.instruments.iter().map(|i| i.id.as_str())),
            observation_dates: dataset.holdings.iter().map(|h| dates_of(h)).collect(),
            dataset,
        }
    }

    /// Every holding that `keep` accepts, in dataset order, with its observation in force on
    /// `as_of` (what [`Holding::observation_as_of`] answers, found through the date index).
    pub fn holdings_as_of<F: Fn(&Holding) -> bool>(
        &self,
        as_of: Date,
        keep: F,
    ) -> impl Iterator<Item = (&Holding, Option<&Observation>)> {
        self.dataset
            .holdings
            .iter()
            .zip(&self.observation_dates)
            .filter(move |(h, _)| keep(h))
            .map(move |(h, dates)| {
                let h: &Holding = h;
                let end = dates.partition_point(|d| *d <= as_of);
                (h, end.checked_sub(1).map(|last| &h.observations[last]))
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
        let mut dates = self.observation_dates.clone();
        // Holdings are in id order as the store reads them; a new one goes where it belongs.
        let at = match self.holdings.get(id) {
            Some(&i) => Ok(i),
            None => Err(dataset.holdings.partition_point(|h| h.id.as_str() < id)),
        };
        let holding = holding.map(|mut h| {
            h.order_observations();
            Arc::new(h)
        });
        let mut moved = true;
        match (at, holding) {
            (Ok(i), Some(h)) => {
                dates[i] = dates_of(&h);
                dataset.holdings[i] = h;
                moved = false;
            }
            (Ok(i), None) => {
                dates.remove(i);
                dataset.holdings.remove(i);
            }
            (Err(i), Some(h)) => {
                dates.insert(i, dates_of(&h));
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
            observation_dates: dates,
            dataset,
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
    }

    #[test]
    fn the_observation_in_force_is_found_whatever_order_the_series_arrives_in() {
        let mut dataset = Dataset::embedded().unwrap();
        for h in &mut dataset.holdings {
            Arc::make_mut(h).observations.reverse();
        }
        let reference = dataset.clone();
        let snap = Snapshot::new(dataset);
        let (first, last) = (
            Date::new(2021, 1, 1).unwrap().days_since_epoch(),
            Date::new(2026, 12, 31).unwrap().days_since_epoch(),
        );
        let mut found = 0;
        for h in &reference.holdings {
            let ordered = snap.holding(&h.id).unwrap();
            for day in (first..=last).step_by(7) {
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
