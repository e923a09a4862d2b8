//! An immutable, indexed view of the dataset. Reads are answered from a snapshot; a write
//! builds a new one, so reads never wait on writes.

use std::collections::HashMap;

use crate::dataset::Dataset;
use crate::model::{FundingInstrument, Holding};

#[derive(Debug)]
pub struct Snapshot {
    dataset: Dataset,
    holdings: HashMap<String, usize>,
    instruments: HashMap<String, usize>,
}

impl Snapshot {
    pub fn new(dataset: Dataset) -> Self {
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
        Self {
            dataset,
            holdings,
            instruments,
        }
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn holding(&self, id: &str) -> Option<&Holding> {
        self.holdings.get(id).map(|&i| &self.dataset.holdings[i])
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
