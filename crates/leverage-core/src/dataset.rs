//! The whole dataset as one value, and the embedded default compiled into the binary.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{
    Doctrine, ExchangeRate, Figure, FundingInstrument, Holding, HoldingKind, Position,
    PublishedAssessment,
};

/// The default dataset, built from the project's research (`data/dataset.toml`).
pub const EMBEDDED_TOML: &str = include_str!("../../../data/dataset.toml");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Version of the embedded dataset, e.g. `2026.03.1`.
    pub version: String,
    /// What the dataset covers and how it was compiled.
    pub description: String,
    /// When the research behind it was compiled (free text, e.g. "2026-03").
    pub compiled: String,
}

/// Every table is shared (`Arc`), so that the snapshot after a write copies pointers and what
/// was written (a holding, or the one reference table an edit changed): deep-copying the
/// reference tables on each write was a fifth of a write's cost in the soak of issue 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub meta: DatasetMeta,
    #[serde(default, rename = "exchange_rate")]
    pub rates: Arc<[ExchangeRate]>,
    #[serde(default, rename = "holding")]
    pub holdings: Vec<Arc<Holding>>,
    #[serde(default, rename = "figure")]
    pub figures: Arc<[Figure]>,
    #[serde(default, rename = "doctrine")]
    pub doctrines: Arc<[Doctrine]>,
    #[serde(default, rename = "position")]
    pub positions: Arc<[Position]>,
    #[serde(default, rename = "assessment")]
    pub assessments: Arc<[PublishedAssessment]>,
    #[serde(default, rename = "instrument")]
    pub instruments: Arc<[FundingInstrument]>,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("the dataset does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the dataset is inconsistent: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl Dataset {
    /// Parses and checks the dataset compiled into the binary.
    pub fn embedded() -> Result<Self, DatasetError> {
        Self::from_toml(EMBEDDED_TOML)
    }

    pub fn from_toml(text: &str) -> Result<Self, DatasetError> {
        let dataset: Dataset = toml::from_str(text)?;
        let problems = dataset.problems();
        if problems.is_empty() {
            Ok(dataset)
        } else {
            Err(DatasetError::Invalid(problems))
        }
    }

    /// Everything that makes the dataset inconsistent, in words; empty when it is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut ids = HashSet::new();
        let mut unique = |kind: &str, id: &str, out: &mut Vec<String>| {
            if !ids.insert(format!("{kind}/{id}")) {
                out.push(format!("{kind} id {id:?} is used twice"));
            }
        };
        let holding_ids: HashSet<&str> = self.holdings.iter().map(|h| h.id.as_str()).collect();
        for h in &self.holdings {
            unique("holding", &h.id, &mut out);
            if !crate::names::is_valid_id(&h.id) {
                out.push(format!("holding id {:?} is not a lower-case slug", h.id));
            }
            match h.kind {
                HoldingKind::Located if h.jurisdiction.is_none() => {
                    out.push(format!("located holding {} has no jurisdiction", h.id))
                }
                HoldingKind::Breakdown => match &h.part_of {
                    Some(p) if holding_ids.contains(p.as_str()) => {}
                    _ => out.push(format!("breakdown {} is not part of a known holding", h.id)),
                },
                _ => {}
            }
            for o in &h.observations {
                unique("observation", &o.id, &mut out);
                if !o.value.is_finite() || o.value < 0.0 {
                    out.push(format!("observation {} has value {}", o.id, o.value));
                }
            }
        }
        for r in self.rates.iter() {
            unique("exchange_rate", &r.id, &mut out);
            if !(r.rate.is_finite() && r.rate > 0.0) {
                out.push(format!("exchange rate {} is {}", r.id, r.rate));
            }
        }
        for f in self.figures.iter() {
            unique("figure", &f.id, &mut out);
        }
        let doctrine_ids: HashSet<&str> = self.doctrines.iter().map(|d| d.id.as_str()).collect();
        for d in self.doctrines.iter() {
            unique("doctrine", &d.id, &mut out);
            let e = &d.exposure;
            let all = [
                e.immobilisation,
                e.windfall_profits,
                e.profits_backed_loan,
                e.reparations_loan,
                e.confiscation,
                d.weight,
            ];
            if all.iter().any(|v| !(0.0..=1.0).contains(v)) {
                out.push(format!(
                    "doctrine {} has an exposure or weight outside [0, 1]",
                    d.id
                ));
            }
        }
        for p in self.positions.iter() {
            unique("position", &p.id, &mut out);
            for d in p.doctrines.iter() {
                if !doctrine_ids.contains(d.as_str()) {
                    out.push(format!("position {} cites unknown doctrine {d}", p.id));
                }
            }
        }
        for a in self.assessments.iter() {
            unique("assessment", &a.id, &mut out);
        }
        for i in self.instruments.iter() {
            unique("instrument", &i.id, &mut out);
            for a in &i.allocations {
                unique("allocation", &a.id, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_dataset_parses_and_is_consistent() {
        let d = Dataset::embedded().unwrap();
        assert!(!d.holdings.is_empty());
        assert!(!d.rates.is_empty());
    }

    #[test]
    fn every_embedded_record_carries_what_legal_risk_2_reads() {
        let d = Dataset::embedded().unwrap();
        for p in d.positions.iter() {
            assert!(
                p.actor_kind.is_some(),
                "position {} has no actor kind",
                p.id
            );
            assert!(p.actor_id.is_some(), "position {} has no actor id", p.id);
        }
        for doctrine in d.doctrines.iter() {
            assert!(
                doctrine.channel.is_some(),
                "doctrine {} has no channel",
                doctrine.id
            );
        }
        for a in d.assessments.iter() {
            assert!(!a.actions.is_empty(), "assessment {} names no action", a.id);
            assert!(
                a.risk_level.is_some(),
                "assessment {} has no risk level",
                a.id
            );
        }
        for f in d
            .figures
            .iter()
            .filter(|f| f.category == crate::model::MODEL_COEFFICIENT)
        {
            assert!(
                f.value.is_some_and(f64::is_finite),
                "coefficient {} has no value",
                f.id
            );
            let judgment = f.confidence == crate::model::Confidence::Low
                && !f.verified
                && f.note.as_deref().is_some_and(|n| n.starts_with("Judgment"));
            assert!(
                judgment,
                "coefficient {} is not labelled as a judgment",
                f.id
            );
        }
    }
}
