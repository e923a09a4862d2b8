//! The dataset as a set of records: the unit that is versioned, written, imported and diffed.
//!
//! A [`Dataset`] is what reads need (holdings with their series, tables of reference records);
//! a [`Record`] is one row of it as the store keeps it. Holdings are stored without their
//! observations, and each observation is a record of its own, so that a correction of one
//! observation is one new row, whatever the length of the series.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, DatasetMeta};
use crate::model::{
    Doctrine, ExchangeRate, Figure, FundingInstrument, Holding, Observation, Position,
    PublishedAssessment, Source,
};

/// The kinds of record, in the order a dataset file lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// The dataset's own description (version, what it covers); one record, id `dataset`.
    Meta,
    ExchangeRate,
    Holding,
    Observation,
    Figure,
    Doctrine,
    Position,
    Assessment,
    Instrument,
}

impl RecordKind {
    pub const ALL: [RecordKind; 9] = [
        RecordKind::Meta,
        RecordKind::ExchangeRate,
        RecordKind::Holding,
        RecordKind::Observation,
        RecordKind::Figure,
        RecordKind::Doctrine,
        RecordKind::Position,
        RecordKind::Assessment,
        RecordKind::Instrument,
    ];

    /// The name the store and the audit log use.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Meta => "meta",
            RecordKind::ExchangeRate => "exchange_rate",
            RecordKind::Holding => "holding",
            RecordKind::Observation => "observation",
            RecordKind::Figure => "figure",
            RecordKind::Doctrine => "doctrine",
            RecordKind::Position => "position",
            RecordKind::Assessment => "assessment",
            RecordKind::Instrument => "instrument",
        }
    }

    pub fn parse(s: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The API collection of the kind (AIP-122), e.g. `exchangeRates`.
    pub fn collection(self) -> &'static str {
        match self {
            RecordKind::Meta => "dataset",
            RecordKind::ExchangeRate => "exchangeRates",
            RecordKind::Holding => "holdings",
            RecordKind::Observation => "observations",
            RecordKind::Figure => "figures",
            RecordKind::Doctrine => "doctrines",
            RecordKind::Position => "positions",
            RecordKind::Assessment => "publishedAssessments",
            RecordKind::Instrument => "instruments",
        }
    }
}

/// What identifies a record. Ids are unique within a kind (the dataset checker and the store
/// both hold to it), observations included, so the parent is not part of the key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub kind: RecordKind,
    pub id: String,
}

impl RecordKey {
    pub fn new(kind: RecordKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// The key of a resource name: `figures/WF-012`, `holdings/h/observations/EC-004`.
    pub fn from_name(name: &str) -> Option<RecordKey> {
        let parts: Vec<&str> = name.split('/').collect();
        let (collection, id) = match parts.as_slice() {
            [c, id] => (*c, *id),
            ["holdings", _, "observations", id] => ("observations", *id),
            _ => return None,
        };
        if id.is_empty() {
            return None;
        }
        let kind = RecordKind::ALL
            .into_iter()
            .find(|k| *k != RecordKind::Meta && k.collection() == collection)?;
        Some(RecordKey::new(kind, id))
    }
}

/// One record of the dataset. A holding here carries no observations: they are records of
/// their own.
// Records are built one at a time and kept in vectors read once; boxing the large variants
// would cost an allocation each for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Meta(DatasetMeta),
    ExchangeRate(ExchangeRate),
    Holding(Holding),
    Observation {
        holding: String,
        observation: Observation,
    },
    Figure(Figure),
    Doctrine(Doctrine),
    Position(Position),
    Assessment(PublishedAssessment),
    Instrument(FundingInstrument),
}

/// The id of the meta record.
pub const META_ID: &str = "dataset";

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Meta(_) => RecordKind::Meta,
            Record::ExchangeRate(_) => RecordKind::ExchangeRate,
            Record::Holding(_) => RecordKind::Holding,
            Record::Observation { .. } => RecordKind::Observation,
            Record::Figure(_) => RecordKind::Figure,
            Record::Doctrine(_) => RecordKind::Doctrine,
            Record::Position(_) => RecordKind::Position,
            Record::Assessment(_) => RecordKind::Assessment,
            Record::Instrument(_) => RecordKind::Instrument,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Record::Meta(_) => META_ID,
            Record::ExchangeRate(r) => &r.id,
            Record::Holding(r) => &r.id,
            Record::Observation { observation, .. } => &observation.id,
            Record::Figure(r) => &r.id,
            Record::Doctrine(r) => &r.id,
            Record::Position(r) => &r.id,
            Record::Assessment(r) => &r.id,
            Record::Instrument(r) => &r.id,
        }
    }

    pub fn key(&self) -> RecordKey {
        RecordKey::new(self.kind(), self.id())
    }

    /// The holding an observation belongs to; empty for other kinds.
    pub fn parent(&self) -> &str {
        match self {
            Record::Observation { holding, .. } => holding,
            _ => "",
        }
    }

    /// The resource name the API uses for it.
    pub fn name(&self) -> String {
        match self {
            Record::Observation {
                holding,
                observation,
            } => format!("holdings/{holding}/observations/{}", observation.id),
            other => format!("{}/{}", other.kind().collection(), other.id()),
        }
    }

    /// Every source the record cites, to stamp an import's id on.
    pub fn sources_mut(&mut self) -> Vec<&mut Source> {
        match self {
            Record::Meta(_) | Record::Holding(_) => Vec::new(),
            Record::ExchangeRate(r) => vec![&mut r.source],
            Record::Observation { observation, .. } => vec![&mut observation.source],
            Record::Figure(r) => vec![&mut r.source],
            Record::Doctrine(r) => r.sources.iter_mut().collect(),
            Record::Position(r) => vec![&mut r.source],
            Record::Assessment(r) => vec![&mut r.source],
            Record::Instrument(i) => {
                let mut out: Vec<&mut Source> = Vec::new();
                if let Some(s) = &mut i.size {
                    out.push(&mut s.source);
                }
                out.extend(i.milestones.iter_mut().map(|m| &mut m.source));
                out.extend(i.terms.iter_mut().map(|t| &mut t.source));
                out.extend(i.allocations.iter_mut().map(|a| &mut a.source));
                if let Some(e) = &mut i.eligibility {
                    out.push(&mut e.source);
                    out.extend(e.third_countries.iter_mut().map(|t| &mut t.source));
                }
                out
            }
        }
    }

    /// The record without the provenance a store adds to it (import ids), which is not part
    /// of what the record says: two records that differ only there are the same data.
    pub fn without_provenance(&self) -> Record {
        let mut r = self.clone();
        for s in r.sources_mut() {
            s.import_id = None;
        }
        r
    }

    /// Whether two records say the same thing, provenance apart.
    pub fn same_data(&self, other: &Record) -> bool {
        self.without_provenance() == other.without_provenance()
    }
}

impl Dataset {
    /// Every record of the dataset: the meta record, then each table in file order, each
    /// holding followed by its observations.
    pub fn records(&self) -> Vec<Record> {
        let mut out = vec![Record::Meta(self.meta.clone())];
        out.extend(self.rates.iter().cloned().map(Record::ExchangeRate));
        for h in &self.holdings {
            let mut bare = Holding::clone(h);
            bare.observations = Vec::new();
            out.push(Record::Holding(bare));
            out.extend(h.observations.iter().map(|o| Record::Observation {
                holding: h.id.clone(),
                observation: Observation::clone(o),
            }));
        }
        out.extend(self.figures.iter().cloned().map(Record::Figure));
        out.extend(self.doctrines.iter().cloned().map(Record::Doctrine));
        out.extend(self.positions.iter().cloned().map(Record::Position));
        out.extend(self.assessments.iter().cloned().map(Record::Assessment));
        out.extend(self.instruments.iter().cloned().map(Record::Instrument));
        out
    }

    /// The dataset the records make, holdings in id order with their series in as-of order
    /// (what a snapshot expects); observations of a holding that is not among the records are
    /// dropped, as they are unreachable. `None` without a meta record.
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Option<Dataset> {
        let mut builder = DatasetBuilder::default();
        for r in records {
            builder.push(r);
        }
        builder.finish()
    }
}

/// Assembles a [`Dataset`] from records one at a time, each put in its table as it comes, so
/// that a million observations read from a store are never held twice.
#[derive(Debug, Default)]
pub struct DatasetBuilder {
    meta: Option<DatasetMeta>,
    rates: Vec<ExchangeRate>,
    holdings: Vec<Holding>,
    series: HashMap<String, Vec<Arc<Observation>>>,
    figures: Vec<Figure>,
    doctrines: Vec<Doctrine>,
    positions: Vec<Position>,
    assessments: Vec<PublishedAssessment>,
    instruments: Vec<FundingInstrument>,
}

impl DatasetBuilder {
    pub fn push(&mut self, record: Record) {
        match record {
            Record::Meta(m) => self.meta = Some(m),
            Record::ExchangeRate(r) => self.rates.push(r),
            Record::Holding(h) => self.holdings.push(h),
            Record::Observation {
                holding,
                observation,
            } => self.push_observation(&holding, observation),
            Record::Figure(r) => self.figures.push(r),
            Record::Doctrine(r) => self.doctrines.push(r),
            Record::Position(r) => self.positions.push(r),
            Record::Assessment(r) => self.assessments.push(r),
            Record::Instrument(r) => self.instruments.push(r),
        }
    }

    /// An observation of holding `holding` (whether or not that holding has come yet).
    pub fn push_observation(&mut self, holding: &str, observation: Observation) {
        let observation = Arc::new(observation);
        match self.series.get_mut(holding) {
            Some(series) => series.push(observation),
            None => {
                self.series.insert(holding.to_owned(), vec![observation]);
            }
        }
    }

    /// Takes in everything another builder gathered (records read in parallel).
    pub fn merge(&mut self, other: DatasetBuilder) {
        if other.meta.is_some() {
            self.meta = other.meta;
        }
        self.rates.extend(other.rates);
        self.holdings.extend(other.holdings);
        for (holding, mut series) in other.series {
            match self.series.get_mut(&holding) {
                Some(mine) => mine.append(&mut series),
                None => {
                    self.series.insert(holding, series);
                }
            }
        }
        self.figures.extend(other.figures);
        self.doctrines.extend(other.doctrines);
        self.positions.extend(other.positions);
        self.assessments.extend(other.assessments);
        self.instruments.extend(other.instruments);
    }

    /// The dataset; `None` when no meta record came.
    pub fn finish(mut self) -> Option<Dataset> {
        self.holdings.sort_by(|a, b| a.id.cmp(&b.id));
        let mut series = self.series;
        let holdings = self
            .holdings
            .into_iter()
            .map(|mut h| {
                h.observations = series.remove(&h.id).unwrap_or_default();
                h.observations
                    .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
                h.order_observations();
                Arc::new(h)
            })
            .collect();
        Some(Dataset {
            meta: self.meta?,
            rates: self.rates.into(),
            holdings,
            figures: self.figures.into(),
            doctrines: self.doctrines.into(),
            positions: self.positions.into(),
            assessments: self.assessments.into(),
            instruments: self.instruments.into(),
        })
    }
}
