//! The dataset's record types. Every number is an observation with its source, date and
//! confidence; the embedded default dataset (`data/dataset.toml`) and SQLite hold exactly these.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::text::Text;

use crate::codes::{Currency, Jurisdiction};
use crate::date::Date;

/// How much to trust a figure: `High` is an official or primary text (or several consistent
/// reports of one), `Medium` reputable secondary reporting from one source, `Low` a single
/// low-authority outlet, a leak, state media, or a derived estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// Where a figure comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Who published it, e.g. "Euroclear (FY2024 release, via The Strategist)".
    #[serde(deserialize_with = "crate::text::shared")]
    pub publisher: Text,
    /// The page's title, when known.
    #[serde(
        deserialize_with = "crate::text::shared_optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Text>,
    /// Address of the page read; empty when the figure is derived.
    #[serde(deserialize_with = "crate::text::shared", default)]
    pub url: Text,
    /// The date of the document itself (a release, a judgment), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Date>,
    /// The day the page was read for this dataset, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieved: Option<Date>,
    /// The import that brought the record into this database (set by the store, never read
    /// from a file: an export leaves it out, so a file means the same wherever it is loaded).
    #[serde(
        deserialize_with = "crate::text::shared_optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub import_id: Option<Text>,
}

/// How a published number bounds the true value ("more than 58 bn", "up to 16 bn").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    #[default]
    Exact,
    Approximately,
    AtLeast,
    AtMost,
}

/// The power of ten a figure was published in. Kept so that a figure reads as published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    #[default]
    Unit,
    Thousand,
    Million,
    Billion,
    Trillion,
}

impl Scale {
    pub fn factor(self) -> f64 {
        match self {
            Scale::Unit => 1.0,
            Scale::Thousand => 1e3,
            Scale::Million => 1e6,
            Scale::Billion => 1e9,
            Scale::Trillion => 1e12,
        }
    }
}

/// Who owns the frozen assets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// The Bank of Russia and other sovereign holders (e.g. the National Wealth Fund).
    CentralBank,
    /// Sanctioned natural persons.
    SanctionedIndividuals,
    /// Sanctioned companies and other legal persons.
    SanctionedEntities,
    /// Frozen funds of sanctioned persons where the source does not split persons from
    /// entities (and, for OFSI, does not split private from state).
    SanctionedMixed,
}

/// What form the assets take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    Cash,
    Securities,
    /// Cash and securities where the source gives no split.
    CashAndSecurities,
    RealEstate,
    Vessels,
    Aircraft,
    /// Several kinds together, or a kind not listed.
    Other,
}

/// Whether a holding's figures may be added to others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldingKind {
    /// Assets located in one jurisdiction (and custodian). Located holdings never overlap,
    /// so their figures add up.
    Located,
    /// An estimate across many jurisdictions (e.g. "USD 280 bn across G7+EU+Australia").
    /// Shown beside sums, never added to them.
    Aggregate,
    /// A part or an alternative measure of a located holding (`part_of`), e.g. the cash part
    /// of Euroclear's balance. Never added to sums, which would double count.
    Breakdown,
}

/// One dated, sourced value of a holding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Stable identifier: the fact id from the research (`EC-004`) or one made at creation.
    pub id: String,
    /// The figure as published, in `scale` units of `currency`.
    pub value: f64,
    /// Upper end when the source gives a range (`value` is then the lower end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_high: Option<f64>,
    #[serde(default)]
    pub scale: Scale,
    pub currency: Currency,
    #[serde(default)]
    pub bound: Bound,
    /// The day the figure describes. A figure published for a month or a quarter is dated on
    /// its last day, and `as_of_label` keeps the published precision.
    pub as_of: Date,
    #[serde(
        deserialize_with = "crate::text::shared_optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub as_of_label: Option<Text>,
    pub source: Source,
    pub confidence: Confidence,
    /// True when the figure was read in a source page; false when derived or recalled.
    pub verified: bool,
    #[serde(
        deserialize_with = "crate::text::shared_optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub note: Option<Text>,
    #[serde(default, skip_serializing_if = "Audit::is_embedded")]
    pub audit: Audit,
}

impl Observation {
    /// The amount in whole currency units (e.g. euros), lower end of a range.
    pub fn amount(&self) -> f64 {
        self.value * self.scale.factor()
    }
}

/// Who wrote a record and when. Records of the embedded dataset carry `dataset`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    #[serde(deserialize_with = "crate::text::shared")]
    pub created_by: Text,
    /// Seconds since the Unix epoch; 0 for embedded records.
    #[serde(default)]
    pub create_time: i64,
    #[serde(deserialize_with = "crate::text::shared", default)]
    pub updated_by: Text,
    #[serde(default)]
    pub update_time: i64,
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            created_by: Audit::EMBEDDED.into(),
            create_time: 0,
            updated_by: Text::default(),
            update_time: 0,
        }
    }
}

impl Audit {
    pub const EMBEDDED: &'static str = "dataset";
    pub fn is_embedded(&self) -> bool {
        &*self.created_by == Self::EMBEDDED && self.updated_by.is_empty()
    }
}

/// A pool of frozen assets (or an estimate of several) with its series of observations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    /// Slug used in the resource name `holdings/{id}`.
    pub id: String,
    pub kind: HoldingKind,
    /// For a breakdown: the located holding it is part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// What exactly the figures measure, e.g. "Sanctioned Russian assets on Euroclear Bank's
    /// balance sheet". Definitions differ between sources; this says which one.
    pub scope: String,
    pub owner_kind: OwnerKind,
    /// Where the assets sit; none for aggregates, which span several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<Jurisdiction>,
    /// For aggregates: which jurisdictions the estimate covers, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<String>,
    /// Who holds the assets (e.g. "Euroclear Bank"), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian: Option<String>,
    pub instrument: Instrument,
    /// Each observation shared (`Arc`): a write copies its holding into the next snapshot, and
    /// copying a pointer per observation keeps that cost flat as the series grows (a deep copy
    /// was several allocations per observation, the main cost of a write late in a soak).
    #[serde(default, rename = "observation")]
    pub observations: Vec<Arc<Observation>>,
    #[serde(default, skip_serializing_if = "Audit::is_embedded")]
    pub audit: Audit,
    /// Who last added or corrected one of its observations, and when, where that is later
    /// than the holding's own stamp. Derived by the snapshot from the series (the store keeps
    /// each stamp on its own record), never stored or written to a file.
    #[serde(skip)]
    pub series_changed: Option<(String, i64)>,
    /// The holding's etag (AIP-154), a digest of its stored fields that the store computes
    /// the first time a reply needs it.
    #[serde(skip)]
    pub etag: Derived,
}

/// A value derived from a record's fields on first use and kept with it. A clone starts
/// without it (a clone is made to be changed), and it takes no part in equality: it is not
/// data.
#[derive(Default)]
pub struct Derived(std::sync::OnceLock<Arc<str>>);

impl Derived {
    pub fn get_or_init(&self, derive: impl FnOnce() -> String) -> Arc<str> {
        Arc::clone(self.0.get_or_init(|| derive().into()))
    }
}

impl Clone for Derived {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived")
    }
}

impl Holding {
    /// The latest observation on or before `as_of`, ties broken by higher confidence (then by
    /// the later one in the series). A binary search: the observations must be in
    /// [`Holding::order_observations`] order, which every [`crate::snapshot::Snapshot`] keeps.
    pub fn observation_as_of(&self, as_of: Date) -> Option<&Observation> {
        debug_assert!(
            self.observations.is_sorted_by_key(observation_rank),
            "observations of {} are not in as-of order",
            self.id
        );
        let end = self.observations.partition_point(|o| o.as_of <= as_of);
        end.checked_sub(1).map(|last| &*self.observations[last])
    }

    /// Who last changed the holding or added or corrected one of its observations, and when:
    /// its own stamp or its newest observation's, whichever is later (see `series_changed`).
    pub fn last_change(&self) -> (&str, i64) {
        match &self.series_changed {
            Some((by, at)) => (by, *at),
            None => (&self.audit.updated_by, self.audit.update_time),
        }
    }

    /// Derives `series_changed` from the series; true when it moved.
    pub fn stamp_last_change(&mut self) -> bool {
        let mut latest: Option<(&str, i64)> = None;
        for o in &self.observations {
            for (by, at) in [
                (&*o.audit.created_by, o.audit.create_time),
                (&*o.audit.updated_by, o.audit.update_time),
            ] {
                if at > latest.map_or(self.audit.update_time, |l| l.1) && !by.is_empty() {
                    latest = Some((by, at));
                }
            }
        }
        let derived = latest.map(|(by, at)| (by.to_owned(), at));
        let moved = derived != self.series_changed;
        self.series_changed = derived;
        moved
    }

    /// Whether the observations are in [`Holding::order_observations`] order.
    pub fn observations_in_order(&self) -> bool {
        self.observations.is_sorted_by_key(observation_rank)
    }

    /// Puts the observations in as-of order, lower confidence first on the same day; a stable
    /// sort, so equal ones keep their order.
    pub fn order_observations(&mut self) {
        self.observations.sort_by_key(observation_rank);
    }
}

fn observation_rank(o: &Arc<Observation>) -> (Date, Confidence) {
    (o.as_of, o.confidence)
}

/// A dated exchange rate: one `base` buys `rate` of `quote` (EUR/USD 1.0889).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRate {
    pub id: String,
    pub base: Currency,
    pub quote: Currency,
    pub rate: f64,
    pub as_of: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of_label: Option<String>,
    /// "ECB euro reference rate", or how an implied rate was derived.
    pub kind: String,
    pub source: Source,
    pub confidence: Confidence,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Any other sourced figure of the research (windfall income, loan sizes, needs, counter-
/// exposure…), kept as published so that nothing gathered is lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The fact id from the research, e.g. `WF-004`.
    pub id: String,
    /// Topic, e.g. `windfall_interest`, `counter_exposure`, `needs`.
    pub category: String,
    /// What is measured, in words.
    pub metric: String,
    /// Where it applies, in words (may name several places).
    pub area: String,
    /// None where the source gives no single number (see `note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_high: Option<f64>,
    /// Unit as published: "billion", "percent", "percent of GDP", "claims"…
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default)]
    pub bound: Bound,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of_label: Option<String>,
    pub source: Source,
    pub confidence: Confidence,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a figure about the custodians of immobilised central-bank assets (a claim against
    /// them, their assets that a Russian judgment can reach): the jurisdictions where those
    /// custodians hold the assets, e.g. `BE` for Euroclear. Empty for other figures.
    /// `legal-risk/2` reads it to attach the figure to a jurisdiction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custodian_jurisdictions: Vec<Jurisdiction>,
    /// For a claim or an award of damages: its forum, stage and where it can be enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

/// The figure category of `legal-risk/2`'s coefficients: each is a figure of this category,
/// sourced or labelled as the project's judgment, so that no coefficient hides in the code.
pub const MODEL_COEFFICIENT: &str = "model_coefficient";
/// The figure category of the custodians' assets in jurisdictions that would enforce a
/// Russian judgment (Russia and jurisdictions friendly to it).
pub const ENFORCEABLE_EXPOSURE: &str = "enforceable_exposure";

/// Where a claim for damages is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forum {
    /// A Russian court, e.g. the Moscow Arbitration Court.
    RussianCourt,
    /// An investment-treaty tribunal (UNCITRAL, SCC, HKIAC).
    TreatyTribunal,
    /// The General Court or the Court of Justice of the EU.
    EuCourt,
    /// A national court outside Russia.
    NationalCourt,
}

/// How far a claim has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStage {
    /// Filed, not decided.
    Claimed,
    /// Decided for the claimant (enforceable or not: see `enforceable_in`).
    Awarded,
}

/// A claim or an award of damages against the holders of immobilised assets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub forum: Forum,
    /// The body, in words, e.g. "Moscow Arbitration Court".
    pub forum_name: String,
    pub stage: ClaimStage,
    /// Where the claim or award can be enforced (e.g. RU and jurisdictions friendly to it).
    #[serde(default)]
    pub enforceable_in: Vec<Jurisdiction>,
    /// The figure of the claim an award decides: once the award is in force, the claim is no
    /// longer counted beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decides: Option<String>,
}

/// What may be done with the immobilised assets, in rising legal intensity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Keep the assets frozen.
    Immobilisation,
    /// Skim the custodians' windfall profits on the frozen cash (the EU regime since 2024).
    WindfallProfits,
    /// Lend against future windfall profits (the G7 ERA loans).
    ProfitsBackedLoan,
    /// Swap the cash for an EU claim and lend it to Ukraine, repaid only from reparations.
    ReparationsLoan,
    /// Take title to the assets.
    Confiscation,
    /// The policy in force in 2026: the assets stay immobilised indefinitely (Reg. 2025/2600),
    /// their windfall profits service the G7 ERA loans, and Ukraine gets an EU-borrowed loan
    /// (EUR 90 bn for 2026-27). Not an escalation of confiscation: it is last because it was
    /// added last, so that every earlier action keeps its number.
    #[serde(rename = "package_2026")]
    Package2026,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Immobilisation,
        Action::WindfallProfits,
        Action::ProfitsBackedLoan,
        Action::ReparationsLoan,
        Action::Confiscation,
        Action::Package2026,
    ];

    /// The actions a package combines that touch the assets (or their income); a single action
    /// is its own only part. The EU-borrowed loan of the 2026 package touches no asset, so it
    /// has no part here.
    pub fn asset_parts(self) -> &'static [Action] {
        match self {
            Action::Immobilisation => &[Action::Immobilisation],
            Action::WindfallProfits => &[Action::WindfallProfits],
            Action::ProfitsBackedLoan => &[Action::ProfitsBackedLoan],
            Action::ReparationsLoan => &[Action::ReparationsLoan],
            Action::Confiscation => &[Action::Confiscation],
            Action::Package2026 => &[
                Action::Immobilisation,
                Action::WindfallProfits,
                Action::ProfitsBackedLoan,
            ],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Immobilisation => "immobilisation",
            Action::WindfallProfits => "windfall_profits",
            Action::ProfitsBackedLoan => "profits_backed_loan",
            Action::ReparationsLoan => "reparations_loan",
            Action::Confiscation => "confiscation",
            Action::Package2026 => "package_2026",
        }
    }
}

/// Exposure of each action to one doctrine, in [0, 1]: how strongly the doctrine, where it
/// applies, argues against the action. Calibrated in `docs/legal-risk-model.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionExposure {
    pub immobilisation: f64,
    pub windfall_profits: f64,
    pub profits_backed_loan: f64,
    pub reparations_loan: f64,
    pub confiscation: f64,
}

impl ActionExposure {
    /// The exposure of `action`. A package is as exposed as the most exposed of the parts that
    /// touch the assets ([`Action::asset_parts`]): a doctrine that argues against one part
    /// argues against the package that contains it, and the parts do not add up (they are one
    /// measure on the same assets, which a court annuls once).
    pub fn get(&self, action: Action) -> f64 {
        match action {
            Action::Immobilisation => self.immobilisation,
            Action::WindfallProfits => self.windfall_profits,
            Action::ProfitsBackedLoan => self.profits_backed_loan,
            Action::ReparationsLoan => self.reparations_loan,
            Action::Confiscation => self.confiscation,
            Action::Package2026 => action
                .asset_parts()
                .iter()
                .map(|part| self.get(*part))
                .fold(0.0, f64::max),
        }
    }
}

/// A legal doctrine that bears on the use of the assets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Doctrine {
    /// e.g. `DOC-IMM-EXEC`.
    pub id: String,
    pub name: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_question: Option<String>,
    /// Where it applies; empty means everywhere.
    #[serde(default)]
    pub jurisdictions: Vec<Jurisdiction>,
    /// How strongly it argues against each action (model calibration, see docs).
    pub exposure: ActionExposure,
    /// Weight of the doctrine in the combined risk, in [0, 1].
    pub weight: f64,
    pub sources: Vec<Source>,
    pub confidence: Confidence,
    /// The channel of `legal-risk/2` the doctrine feeds: a ground that can undo a measure
    /// (annulment), a ground for damages, or a consequence (retaliation). None (a doctrine
    /// written before the channels existed) counts as an annulment ground.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<LegalChannel>,
}

/// The separate outcomes `legal-risk/2` scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalChannel {
    /// A court (EU courts, national courts) undoes the measure.
    Annulment,
    /// A forum (treaty tribunals, Russian courts, the custodian's creditors) awards damages
    /// against the holder or its state; the measure stands.
    Damages,
    /// Russia answers with counter-measures against EU assets in Russia and in jurisdictions
    /// friendly to it.
    Retaliation,
}

impl LegalChannel {
    pub const ALL: [LegalChannel; 3] = [
        LegalChannel::Annulment,
        LegalChannel::Damages,
        LegalChannel::Retaliation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegalChannel::Annulment => "annulment",
            LegalChannel::Damages => "damages",
            LegalChannel::Retaliation => "retaliation",
        }
    }
}

/// Who took a position, by the authority its word carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Government,
    Parliament,
    Court,
    CentralBank,
    /// The Commission, the Council, the ECB and other bodies of the Union.
    EuInstitution,
    /// A company, e.g. a custodian.
    Company,
    /// A group of states speaking together (the G7).
    Intergovernmental,
}

impl ActorKind {
    pub const ALL: [ActorKind; 7] = [
        ActorKind::Government,
        ActorKind::Parliament,
        ActorKind::Court,
        ActorKind::CentralBank,
        ActorKind::EuInstitution,
        ActorKind::Company,
        ActorKind::Intergovernmental,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Government => "government",
            ActorKind::Parliament => "parliament",
            ActorKind::Court => "court",
            ActorKind::CentralBank => "central_bank",
            ActorKind::EuInstitution => "eu_institution",
            ActorKind::Company => "company",
            ActorKind::Intergovernmental => "intergovernmental",
        }
    }
}

/// A government's (or institution's) stance on an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    Supports,
    /// Supports only under conditions (risk sharing, guarantees, legal basis).
    Conditional,
    Opposes,
    /// Contradictory or unclear reporting.
    Unresolved,
}

/// A dated, sourced position of an actor in one or more jurisdictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub id: String,
    /// The jurisdictions the position speaks for.
    pub jurisdictions: Vec<Jurisdiction>,
    pub actor: String,
    pub actions: Vec<Action>,
    pub stance: Stance,
    /// Doctrine ids the position invokes.
    #[serde(default)]
    pub doctrines: Vec<String>,
    pub summary: String,
    /// The date of the latest statement the position rests on.
    pub date: Date,
    /// All dates as published, e.g. "2025-10-23 / 2025-12-04".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_label: Option<String>,
    pub source: Source,
    pub confidence: Confidence,
    pub verified: bool,
    /// Who spoke, by kind: `legal-risk/2` weighs a position by it. None when not classified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_kind: Option<ActorKind>,
    /// A stable identifier of the actor (an institution, not a person: `be-government`
    /// whoever is prime minister), so that repeated statements of one actor count once in
    /// `legal-risk/2`. None: the actor is identified by `actor` as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
}

impl Position {
    /// What identifies the actor: `actor_id`, or else the `actor` text, trimmed and in lower
    /// case.
    pub fn actor_key(&self) -> String {
        match &self.actor_id {
            Some(id) => id.clone(),
            None => self.actor.trim().to_lowercase(),
        }
    }
}

/// A band of legal risk. The model's numbers fall in one by [`RiskLevel::of`]; a published
/// assessment's verdict is read into one by the project (see [`PublishedAssessment`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Moderate,
    High,
    Severe,
}

impl RiskLevel {
    pub fn of(risk: f64) -> Self {
        match risk {
            r if r < 0.25 => RiskLevel::Low,
            r if r < 0.5 => RiskLevel::Moderate,
            r if r < 0.75 => RiskLevel::High,
            _ => RiskLevel::Severe,
        }
    }
}

/// A published legal-risk assessment by a firm, a government or analysts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedAssessment {
    pub id: String,
    pub author: String,
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_label: Option<String>,
    pub subject: String,
    pub conclusion: String,
    pub source: Source,
    pub confidence: Confidence,
    pub verified: bool,
    /// The actions the assessment speaks about, so that it can be set beside the model's
    /// answer for those actions. Empty when not (yet) read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// The verdict read as a risk level: the project's reading of `conclusion`, not the
    /// author's words (authors rarely grade their conclusions). None when not (yet) read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<RiskLevel>,
}

/// Lifecycle of a funding instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentStatus {
    Proposed,
    Agreed,
    Adopted,
    Disbursing,
    Completed,
    Abandoned,
}

/// A dated change of status or other milestone of an instrument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<InstrumentStatus>,
    pub text: String,
    pub source: Source,
}

/// A term of an instrument (maturity, grace period, interest…), as published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub name: String,
    pub value: String,
    pub source: Source,
}

/// The part a jurisdiction plays in an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Borrower,
    Lender,
    Guarantor,
    Recipient,
    /// Took no obligations (e.g. HU, SK, CZ under the EUR 90 bn loan).
    OptedOut,
    /// Treated like a member for procurement (EEA-EFTA states, Ukraine under SAFE).
    Associated,
    ThirdCountry,
    Contributor,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    pub jurisdiction: Jurisdiction,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An amount allocated, lent, contributed or paid under an instrument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub id: String,
    /// The jurisdiction receiving or providing it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<Jurisdiction>,
    /// Who or what, in words (e.g. "Tranche 3 (for H1 2025)").
    pub label: String,
    pub value: f64,
    #[serde(default)]
    pub scale: Scale,
    pub currency: Currency,
    #[serde(default)]
    pub bound: Bound,
    pub as_of: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of_label: Option<String>,
    pub source: Source,
    pub confidence: Confidence,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Allocation {
    pub fn amount(&self) -> f64 {
        self.value * self.scale.factor()
    }
}

/// Events in a third country's access to an instrument, in the order they can happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessEvent {
    /// Talks on a Security and Defence Partnership (the prerequisite) opened.
    PartnershipTalks,
    /// A Security and Defence Partnership signed.
    PartnershipSigned,
    /// Talks on a bilateral participation agreement failed.
    TalksFailed,
    /// A bilateral participation agreement concluded: the cap no longer binds.
    AgreementConcluded,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThirdCountryStep {
    pub jurisdiction: Jurisdiction,
    pub date: Date,
    pub event: AccessEvent,
    pub text: String,
    pub source: Source,
}

/// Who may take part in an instrument's procurement, and on what terms (SAFE's rules).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EligibilityRules {
    /// States treated as members for the origin rule besides the EU 27 (EEA-EFTA, Ukraine).
    pub associated: Vec<Jurisdiction>,
    /// Highest share of component cost, in percent, that may come from outside the EU,
    /// the associated states, and third countries with an agreement.
    pub outside_component_cap_pct: f64,
    /// The rules in words, with their legal reference.
    pub summary: String,
    pub source: Source,
    #[serde(default, rename = "third_country")]
    pub third_countries: Vec<ThirdCountryStep>,
}

/// A way Europe funds defence or Ukraine: SAFE, the ERA loans, the EUR 90 bn loan…
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FundingInstrument {
    /// Slug used in the resource name `instruments/{id}`.
    pub id: String,
    pub name: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// The headline size (ceiling, total or estimate), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Allocation>,
    #[serde(rename = "milestone")]
    pub milestones: Vec<Milestone>,
    #[serde(default, rename = "term")]
    pub terms: Vec<Term>,
    #[serde(default, rename = "participant")]
    pub participants: Vec<Participant>,
    #[serde(default, rename = "allocation")]
    pub allocations: Vec<Allocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<EligibilityRules>,
}

impl FundingInstrument {
    /// Status as of a date: the latest milestone on or before it that sets a status.
    pub fn status_as_of(&self, as_of: Date) -> Option<(InstrumentStatus, &Milestone)> {
        self.milestones
            .iter()
            .filter(|m| m.date <= as_of)
            .filter_map(|m| m.status.map(|s| (s, m)))
            .max_by_key(|(_, m)| m.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2026_package_is_as_exposed_as_its_most_exposed_asset_part() {
        let exposure = ActionExposure {
            immobilisation: 0.1,
            windfall_profits: 0.4,
            profits_backed_loan: 0.3,
            reparations_loan: 0.8,
            confiscation: 1.0,
        };
        assert_eq!(exposure.get(Action::Package2026), 0.4);
        let only_the_freeze = ActionExposure {
            immobilisation: 0.6,
            ..exposure.clone()
        };
        assert_eq!(only_the_freeze.get(Action::Package2026), 0.6);
    }

    #[test]
    fn every_action_keeps_its_position_and_its_name() {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "immobilisation",
                "windfall_profits",
                "profits_backed_loan",
                "reparations_loan",
                "confiscation",
                "package_2026"
            ]
        );
        #[derive(Deserialize)]
        struct Row {
            action: Action,
        }
        for (i, a) in Action::ALL.into_iter().enumerate() {
            assert_eq!(a as usize, i, "{a:?}");
            let row: Row = toml::from_str(&format!("action = \"{}\"", a.as_str()))
                .expect("the dataset spells an action by its name");
            assert_eq!(row.action, a);
        }
    }
}
