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
    holdings: HashMap<String, usize>,
    instruments: HashMap<String, usize>,
    /// The as-of dates of every holding's observations, in series order, one holding after the
    /// other; holding `i`'s are `observation_dates[observation_start[i]..observation_start[i + 1]]`.
    /// Finding the observation in force searches these 8-byte dates, a few cache lines per
    /// holding, instead of touching a 250-byte observation at every step: over a million
    /// observations that is most of a summary's time (issue 4).
    observation_dates: Vec<Date>,
    observation_start: Vec<usize>,
}

impl Snapshot {
    pub fn new(mut dataset: Dataset) -> Self {
        for h in &mut dataset.holdings {
            // Copies a shared holding only when it is out of order (a new one, from a write).
            if !h.observations_in_order() {
                Arc::make_mut(h).order_observations();
            }
        }
        let holdings = dataset
            .holdings
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id.clone(), i))
            .collect();
        let instruments = dataset
            .instruments
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id.clone(), i))
            .collect();
        let mut observation_start = Vec::with_capacity(dataset.holdings.len() + 1);
        let mut observation_dates = Vec::new();
        for h in &dataset.holdings {
            observation_start.push(observation_dates.len());
            observation_dates.extend(h.observations.iter().map(|o| o.as_of));
        }
        observation_start.push(observation_dates.len());
        Self {
            dataset,
            holdings,
            instruments,
            observation_dates,
            observation_start,
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
            .enumerate()
            .filter(move |(_, h)| keep(h))
            .map(move |(i, h)| {
                let h: &Holding = h;
                let dates = &self.observation_dates
                    [self.observation_start[i]..self.observation_start[i + 1]];
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
    /// removed when `None`): what a write changes, without reading anything else again. The
    /// other holdings are shared with this snapshot, not copied.
    pub fn with_holding(&self, id: &str, holding: Option<Holding>) -> Snapshot {
        let mut dataset = self.dataset.clone();
        // Holdings are in id order as the store reads them; a new one goes where it belongs.
        let at = match dataset.holdings.iter().position(|h| h.id == id) {
            Some(i) => Ok(i),
            None => Err(dataset.holdings.partition_point(|h| h.id.as_str() < id)),
        };
        match (at, holding) {
            (Ok(i), Some(h)) => dataset.holdings[i] = Arc::new(h),
            (Ok(i), None) => {
                dataset.holdings.remove(i);
            }
            (Err(i), Some(h)) => dataset.holdings.insert(i, Arc::new(h)),
            (Err(_), None) => {}
        }
        Snapshot::new(dataset)
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
