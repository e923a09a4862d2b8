//! Policy scenarios: the levers an analyst sets, their validation, and the named numeric
//! inputs that scoring plugins read (the levers plus context derived from the dataset as of
//! the scenario's date).
//!
//! Deriving the context (assets at stake and legal risk per jurisdiction) is the costly part;
//! it depends only on the as-of date, so a sweep derives it once and then fills each row
//! with a few multiplications.

use crate::amounts;
use crate::codes::{Currency, Jurisdiction};
use crate::date::Date;
use crate::error::{DomainError, Violations};
use crate::fx;
use crate::legal;
use crate::legal2;
use crate::model::{Action, HoldingKind, OwnerKind};
use crate::snapshot::Snapshot;

/// One named input a plugin may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
}

const fn spec(name: &'static str, unit: &'static str, description: &'static str) -> InputSpec {
    InputSpec {
        name,
        unit,
        description,
    }
}

/// Every input the host can supply, in row order. Names are a public contract: plugins
/// declare the ones they read, and the host resolves them once at load.
pub const INPUT_CATALOG: [InputSpec; 35] = [
    spec(
        "lever.use_mode",
        "ordinal 0..5",
        "0 immobilisation, 1 windfall profits, 2 profits-backed loan, 3 reparations loan, 4 confiscation, 5 the 2026 package (immobilisation kept + windfall to the ERA loans + an EU-borrowed loan)",
    ),
    spec(
        "lever.participation",
        "fraction 0..1",
        "share of the located central-bank assets mobilised, weighted by amount",
    ),
    spec(
        "lever.interest_rate_pct",
        "% per year",
        "interest earned on the frozen cash",
    ),
    spec(
        "lever.sanctions_tightening",
        "0..1",
        "tightening of sanctions on individuals and entities",
    ),
    spec(
        "lever.safe_takeup",
        "fraction 0..1",
        "share of SAFE's loan capacity taken up",
    ),
    spec(
        "lever.defence_spending_gdp_pct",
        "% of GDP",
        "defence spending of European allies",
    ),
    spec("lever.ceasefire", "0 or 1", "1 when a ceasefire holds"),
    spec(
        "lever.guarantee_sharing",
        "fraction 0..1",
        "share of guarantees mutualised beyond the custodian's state",
    ),
    spec(
        "lever.horizon_years",
        "years",
        "time horizon of the scenario",
    ),
    spec(
        "pool.eur_bn",
        "EUR bn",
        "central-bank assets mobilised by the scenario",
    ),
    spec(
        "pool.immobilised_eur_bn",
        "EUR bn",
        "all located central-bank assets as of the date",
    ),
    spec(
        "windfall.annual_eur_bn",
        "EUR bn per year",
        "net windfall profit on the mobilised pool at the assumed rate",
    ),
    spec(
        "legal.risk.immobilisation",
        "0..1",
        "legal risk of immobilisation, asset-weighted",
    ),
    spec(
        "legal.risk.windfall_profits",
        "0..1",
        "legal risk of using windfall profits, asset-weighted",
    ),
    spec(
        "legal.risk.profits_backed_loan",
        "0..1",
        "legal risk of a profits-backed loan, asset-weighted",
    ),
    spec(
        "legal.risk.reparations_loan",
        "0..1",
        "legal risk of a reparations loan, asset-weighted",
    ),
    spec(
        "legal.risk.confiscation",
        "0..1",
        "legal risk of confiscation, asset-weighted",
    ),
    spec(
        "legal.risk.selected",
        "0..1",
        "legal risk of the scenario's use mode",
    ),
    spec(
        "exposure.retaliation_eur_bn",
        "EUR bn",
        "Euroclear client assets stuck in Russia, exposed to retaliation",
    ),
    spec(
        "private.frozen_eur_bn",
        "EUR bn",
        "located frozen assets of sanctioned persons and entities",
    ),
    spec("funding.safe_eur_bn", "EUR bn", "SAFE loan capacity"),
    spec(
        "funding.ukraine_need_eur_bn",
        "EUR bn",
        "Ukraine's external financing need for 2026-27",
    ),
    spec(
        "russia.reserves_eur_bn",
        "EUR bn",
        "Russia's pre-war international reserves",
    ),
    spec(
        "russia.military_spending_eur_bn",
        "EUR bn per year",
        "Russia's military spending",
    ),
    spec(
        "funding.era_eur_bn",
        "EUR bn",
        "G7 ERA loans, serviced by windfall profits",
    ),
    spec(
        "private.frozen_share_of_pool",
        "fraction",
        "private frozen assets relative to the mobilised pool",
    ),
    spec(
        "legal.risk.package_2026",
        "0..1",
        "legal risk of the 2026 package, asset-weighted (its exposure to a doctrine is the largest of its asset-touching parts: immobilisation, windfall profits, profits-backed loan)",
    ),
    spec(
        "russia.reserves_latest_eur_bn",
        "EUR bn",
        "Russia's international reserves: the latest figure of the dataset's dated reserves series (figures of category sovereign_reserves) on or before the date, at the date's exchange rate",
    ),
    spec(
        "windfall.received_12m_eur_bn",
        "EUR bn per year",
        "windfall profits the EU received in the twelve months to the date: the tranches (allocations of instrument windfall-contribution) dated after the same day a year earlier and on or before the date",
    ),
    spec(
        "funding.era_in_force_eur_bn",
        "EUR bn",
        "G7 ERA loans in force on the date: the lenders' loans (allocations of instrument era-loans) dated on or before it, once the instrument is agreed; 0 before",
    ),
    spec(
        "funding.eu_loan_in_force_eur_bn",
        "EUR bn",
        "loan to Ukraine that the EU borrows on the markets (instrument eu-ukraine-loan-2026-27, EUR 90 bn): its size once adopted as of the date; 0 while only proposed or agreed",
    ),
    // legal-risk/2 (issue 15): its channels apart, so that a model can count each risk once.
    spec(
        "legal.annulment.selected",
        "0..1",
        "legal-risk/2 annulment risk of the scenario's use mode (a court undoes the measure), asset-weighted",
    ),
    spec(
        "legal.retaliation.selected",
        "0..1",
        "legal-risk/2 retaliation risk of the scenario's use mode (Russian counter-measures), asset-weighted",
    ),
    spec(
        "legal.damages_eur_bn",
        "EUR bn",
        "damages awarded (or, until decided, claimed) against the custodians of the mobilised assets as of the date, each claim once",
    ),
    spec(
        "exposure.enforceable_eur_bn",
        "EUR bn",
        "the custodians' assets in jurisdictions that would enforce a Russian judgment (Russia, friendly jurisdictions) as of the date",
    ),
];

/// The catalog's names, in row order.
pub fn catalog_names() -> Vec<&'static str> {
    INPUT_CATALOG.iter().map(|s| s.name).collect()
}

/// The position of `name` in [`INPUT_CATALOG`].
pub fn catalog_index(name: &str) -> Option<usize> {
    INPUT_CATALOG.iter().position(|s| s.name == name)
}

/// Share of Euroclear's Russian balance held as cash: EUR 172–180 bn of cash (SOV-018)
/// against EUR 193–195 bn on the balance sheet (EC-007, EC-008).
const CASH_SHARE: f64 = 0.9;
/// Belgian corporate tax taken from the windfall: EUR 1.7 bn on EUR 6.9 bn in 2024 (WF-004).
const WINDFALL_TAX: f64 = 0.25;
/// Share a depository may keep against legal risk (WF-014: about 10%).
const WINDFALL_BUFFER: f64 = 0.10;
/// A mobilised pool below this (one euro, in EUR bn) counts as nothing.
const MIN_POOL_EUR_BN: f64 = 1e-9;
/// Russia's reserves before the invasion, USD bn (SOV-001's note: about USD 640 bn).
const RUSSIA_RESERVES_USD_BN: f64 = 640.0;

/// A valid scenario: every lever set and within range.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub use_mode: Action,
    /// Fraction of holdings mobilised per jurisdiction; empty means every jurisdiction, at
    /// `participation_scale`.
    pub participation: Vec<(Jurisdiction, f64)>,
    /// Multiplies every participation fraction; the `participation` sweep lever sets it.
    pub participation_scale: f64,
    pub interest_rate_pct: f64,
    pub sanctions_tightening: f64,
    pub safe_takeup: f64,
    pub defence_spending_gdp_pct: f64,
    pub ceasefire: bool,
    pub guarantee_sharing: f64,
    pub horizon_years: f64,
    pub as_of: Date,
}

/// A scenario as a client sent it: levers unset take documented defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScenarioInput {
    pub use_mode: Option<Action>,
    pub participation: Vec<(String, f64)>,
    pub interest_rate_pct: Option<f64>,
    pub sanctions_tightening: Option<f64>,
    pub safe_takeup: Option<f64>,
    pub defence_spending_gdp_pct: Option<f64>,
    pub ceasefire: bool,
    pub guarantee_sharing: Option<f64>,
    pub horizon_years: Option<i64>,
    pub as_of: Option<Date>,
}

/// The levers a sweep can vary, with their valid ranges and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lever {
    InterestRatePct,
    SanctionsTightening,
    SafeTakeup,
    DefenceSpendingGdpPct,
    GuaranteeSharing,
    HorizonYears,
    Participation,
}

impl Lever {
    /// (min, max, default when unset). Defaults: the ECB deposit rate of 2025 (about 2.5%
    /// earned, consistent with EUR 5.0 bn on the cash in 2025, WF-007); SAFE's plans approved
    /// by Feb 2026 (EUR 112 bn of 150, DEF-008); NATO's 2% floor; half the guarantees shared.
    pub fn range(self) -> (f64, f64, f64) {
        match self {
            Lever::InterestRatePct => (0.0, 20.0, 2.5),
            Lever::SanctionsTightening => (0.0, 1.0, 0.0),
            Lever::SafeTakeup => (0.0, 1.0, 0.75),
            Lever::DefenceSpendingGdpPct => (0.0, 10.0, 2.0),
            Lever::GuaranteeSharing => (0.0, 1.0, 0.5),
            Lever::HorizonYears => (1.0, 30.0, 5.0),
            Lever::Participation => (0.0, 1.0, 1.0),
        }
    }

    pub fn field(self) -> &'static str {
        match self {
            Lever::InterestRatePct => "interest_rate_pct",
            Lever::SanctionsTightening => "sanctions_tightening",
            Lever::SafeTakeup => "safe_takeup",
            Lever::DefenceSpendingGdpPct => "defence_spending_gdp_pct",
            Lever::GuaranteeSharing => "guarantee_sharing",
            Lever::HorizonYears => "horizon_years",
            Lever::Participation => "participation",
        }
    }

    pub fn set(self, s: &mut Scenario, value: f64) {
        match self {
            Lever::InterestRatePct => s.interest_rate_pct = value,
            Lever::SanctionsTightening => s.sanctions_tightening = value,
            Lever::SafeTakeup => s.safe_takeup = value,
            Lever::DefenceSpendingGdpPct => s.defence_spending_gdp_pct = value,
            Lever::GuaranteeSharing => s.guarantee_sharing = value,
            Lever::HorizonYears => s.horizon_years = value,
            Lever::Participation => s.participation_scale = value,
        }
    }

    /// Whether `value` is in the lever's range.
    pub fn accepts(self, value: f64) -> bool {
        let (min, max, _) = self.range();
        value.is_finite() && value >= min && value <= max
    }

    pub fn check(self, field: &str, value: f64, v: &mut Violations) {
        let (min, max, _) = self.range();
        if !self.accepts(value) {
            v.add(
                field,
                format!("must be between {min} and {max}, got {value}"),
            );
        }
    }
}

impl ScenarioInput {
    /// Checks every lever and names each bad field under `prefix` (e.g. `scenario`).
    pub fn validate(self, prefix: &str, default_as_of: Date) -> Result<Scenario, DomainError> {
        let mut v = Violations::new();
        let field = |name: &str| format!("{prefix}.{name}");
        let use_mode = self.use_mode.unwrap_or(Action::Immobilisation);
        if self.use_mode.is_none() {
            v.add(field("use_mode"), "must be set to one of the asset actions");
        }
        // Field names are built only for a violation: a valid scenario, the common case, then
        // costs no allocation here.
        let lever = |lever: Lever, value: Option<f64>, v: &mut Violations| {
            let value = value.unwrap_or(lever.range().2);
            if !lever.accepts(value) {
                lever.check(&field(lever.field()), value, v);
            }
            value
        };
        let interest_rate_pct = lever(Lever::InterestRatePct, self.interest_rate_pct, &mut v);
        let sanctions_tightening = lever(
            Lever::SanctionsTightening,
            self.sanctions_tightening,
            &mut v,
        );
        let safe_takeup = lever(Lever::SafeTakeup, self.safe_takeup, &mut v);
        let defence_spending_gdp_pct = lever(
            Lever::DefenceSpendingGdpPct,
            self.defence_spending_gdp_pct,
            &mut v,
        );
        let guarantee_sharing = lever(Lever::GuaranteeSharing, self.guarantee_sharing, &mut v);
        let horizon_years = lever(
            Lever::HorizonYears,
            self.horizon_years.map(|y| y as f64),
            &mut v,
        );
        let mut participation = Vec::new();
        for (i, (code, fraction)) in self.participation.into_iter().enumerate() {
            let at = || format!("{prefix}.participation[{i}]");
            let j = match Jurisdiction::parse(&code) {
                Ok(j) => Some(j),
                Err(e) => {
                    v.add(format!("{}.jurisdiction", at()), e.to_string());
                    None
                }
            };
            if !(0.0..=1.0).contains(&fraction) {
                v.add(
                    format!("{}.fraction", at()),
                    format!("must be between 0 and 1, got {fraction}"),
                );
            }
            if let Some(j) = j {
                if participation.iter().any(|(k, _)| *k == j) {
                    v.add(
                        format!("{}.jurisdiction", at()),
                        format!("{j} is listed twice"),
                    );
                }
                participation.push((j, fraction));
            }
        }
        let as_of = self.as_of.unwrap_or(default_as_of);
        v.finish(|| Scenario {
            use_mode,
            participation,
            participation_scale: 1.0,
            interest_rate_pct,
            sanctions_tightening,
            safe_takeup,
            defence_spending_gdp_pct,
            ceasefire: self.ceasefire,
            guarantee_sharing,
            horizon_years,
            as_of,
        })
    }
}

/// What the dataset says as of one date, reduced to what rows need.
#[derive(Clone, Debug)]
pub struct Context {
    pub as_of: Date,
    /// Located central-bank assets per jurisdiction, EUR bn, and legal risk per action (in
    /// [`Action::ALL`] order).
    pub jurisdictions: Vec<(Jurisdiction, f64, [f64; Action::ALL.len()])>,
    pub retaliation_eur_bn: f64,
    pub private_frozen_eur_bn: f64,
    pub safe_eur_bn: f64,
    pub era_eur_bn: f64,
    pub ukraine_need_eur_bn: f64,
    pub russia_reserves_eur_bn: f64,
    pub russia_military_eur_bn: f64,
    /// The latest figure of the reserves series on or before the date.
    pub reserves_latest_eur_bn: f64,
    /// Windfall tranches the EU received in the twelve months to the date.
    pub windfall_received_12m_eur_bn: f64,
    /// The G7 ERA loans in force on the date.
    pub era_in_force_eur_bn: f64,
    /// The EU-borrowed loan to Ukraine in force on the date.
    pub eu_loan_in_force_eur_bn: f64,
    /// For each catalog input derived from the dataset, in catalog order, the records it came
    /// from, in words; empty for the levers (see [`Context::source`]).
    pub sources: Vec<String>,
    /// `legal-risk/2` per jurisdiction, in the order of `jurisdictions`.
    pub legal2: Vec<Legal2Row>,
}

/// What `legal-risk/2` says of one jurisdiction as of the context's date.
#[derive(Clone, Debug, PartialEq)]
pub struct Legal2Row {
    /// Annulment risk per action, in the order of `Action::ALL`.
    pub annulment: Vec<f64>,
    /// Retaliation risk per action, in the order of `Action::ALL`.
    pub retaliation: Vec<f64>,
    /// The claims counted against the custodians there (figure id, EUR bn): an award replaces
    /// the claim it decides.
    pub claims_eur_bn: Vec<(String, f64)>,
    /// The custodians' assets a Russian judgment can reach (figure id, EUR bn), if recorded.
    pub enforceable_eur_bn: Option<(String, f64)>,
}

impl Legal2Row {
    fn derive(
        snap: &Snapshot,
        coefficients: &legal2::Coefficients,
        j: Jurisdiction,
        as_of: Date,
        eur: Currency,
    ) -> Result<Self, DomainError> {
        let (mut annulment, mut retaliation) = (Vec::new(), Vec::new());
        let mut claims_eur_bn = Vec::new();
        for (i, a) in Action::ALL.into_iter().enumerate() {
            let r = legal2::jurisdiction_risk(snap, coefficients, a, j, as_of, eur, false)?;
            for c in &r.channels {
                match c.channel {
                    crate::model::LegalChannel::Annulment => annulment.push(c.risk),
                    crate::model::LegalChannel::Retaliation => retaliation.push(c.risk),
                    // Claims do not depend on the action: read once.
                    crate::model::LegalChannel::Damages if i == 0 => {
                        claims_eur_bn = c
                            .claims
                            .iter()
                            .map(|(id, _, amount)| (id.clone(), amount / 1e9))
                            .collect();
                    }
                    crate::model::LegalChannel::Damages => {}
                }
            }
        }
        let enforceable_eur_bn = snap
            .dataset()
            .figures
            .iter()
            .filter(|f| {
                f.category == crate::model::ENFORCEABLE_EXPOSURE
                    && f.custodian_jurisdictions.contains(&j)
                    && f.as_of.is_some_and(|d| d <= as_of)
            })
            .max_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)))
            .map(|f| legal2::figure_amount(snap, f, eur, as_of).map(|v| (f.id.clone(), v / 1e9)))
            .transpose()?;
        Ok(Self {
            annulment,
            retaliation,
            claims_eur_bn,
            enforceable_eur_bn,
        })
    }
}

fn figure_eur_bn(
    snap: &Snapshot,
    id: &str,
    as_of: Date,
    eur: Currency,
) -> Result<f64, DomainError> {
    let f = snap
        .dataset()
        .figures
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| DomainError::FailedPrecondition(format!("the dataset lacks figure {id}")))?;
    let (Some(value), Some(currency)) = (f.value, f.currency) else {
        return Err(DomainError::FailedPrecondition(format!(
            "figure {id} has no amount"
        )));
    };
    let scale = if f.unit.starts_with("billion") {
        1.0
    } else {
        1e-3
    };
    Ok(fx::convert(&snap.dataset().rates, value * scale, currency, eur, as_of)?.0)
}

/// How a figure is named in a source: "figure EC-009 (2025-12-31)".
fn figure_label(snap: &Snapshot, id: &str) -> String {
    let date = snap
        .dataset()
        .figures
        .iter()
        .find(|f| f.id == id)
        .and_then(|f| f.as_of);
    match date {
        Some(date) => format!("figure {id} ({date})"),
        None => format!("figure {id}"),
    }
}

/// How observations in force are named in a source: "observations EC-008 (2025-12-31), …".
fn observations_label<'a>(
    what: &str,
    observations: impl Iterator<Item = &'a crate::model::Observation>,
) -> String {
    let labels: Vec<String> = observations
        .map(|o| format!("{} ({})", o.id, o.as_of))
        .collect();
    if labels.is_empty() {
        format!("no observation of {what} in force")
    } else {
        format!("observations {} of {what}", labels.join(", "))
    }
}

impl Context {
    /// The records the input at catalog position `index` came from, in words; empty for a
    /// lever or an index outside the catalog.
    pub fn source(&self, index: usize) -> &str {
        self.sources.get(index).map_or("", String::as_str)
    }

    pub fn derive(snap: &Snapshot, as_of: Date) -> Result<Self, DomainError> {
        let eur =
            Currency::parse("EUR").map_err(|e| DomainError::FailedPrecondition(e.to_string()))?;
        let stakes = legal::assets_at_stake(snap, as_of, eur)?;
        let coefficients = legal2::Coefficients::of(snap);
        let legal2 = stakes
            .iter()
            .map(|(j, _)| Legal2Row::derive(snap, &coefficients, *j, as_of, eur))
            .collect::<Result<Vec<_>, _>>()?;
        let stakes_order: Vec<Jurisdiction> = stakes.iter().map(|(j, _)| *j).collect();
        let jurisdictions = stakes
            .into_iter()
            .map(|(j, amount)| {
                let risks = Action::ALL.map(|a| legal::risk_of(snap, a, j, as_of));
                (j, amount / 1e9, risks)
            })
            .collect();
        let mut private = 0.0;
        for (_, o) in snap.holdings_as_of(as_of, |h| {
            h.kind == HoldingKind::Located && h.owner_kind != OwnerKind::CentralBank
        }) {
            if let Some(o) = o {
                private +=
                    fx::convert(&snap.dataset().rates, o.amount(), o.currency, eur, as_of)?.0 / 1e9;
            }
        }
        let instrument_eur_bn = |id: &str| -> Result<f64, DomainError> {
            let size = snap
                .instrument(id)
                .and_then(|i| i.size.as_ref())
                .ok_or_else(|| {
                    DomainError::FailedPrecondition(format!("the dataset lacks the size of {id}"))
                })?;
            Ok(fx::convert(
                &snap.dataset().rates,
                size.amount(),
                size.currency,
                eur,
                as_of,
            )?
            .0 / 1e9)
        };
        let usd =
            Currency::parse("USD").map_err(|e| DomainError::FailedPrecondition(e.to_string()))?;
        let reserves_latest = amounts::reserves_latest(snap, as_of)?;
        let windfall_received = amounts::windfall_received_12m(snap, as_of)?;
        let era_in_force = amounts::era_in_force(snap, as_of)?;
        let eu_loan_in_force = amounts::eu_loan_in_force(snap, as_of)?;
        let (russia_reserves_eur_bn, reserves_rates) = fx::convert(
            &snap.dataset().rates,
            RUSSIA_RESERVES_USD_BN,
            usd,
            eur,
            as_of,
        )?;

        let mut sources = vec![String::new(); INPUT_CATALOG.len()];
        let mut trace = |name: &str, text: String| {
            if let Some(i) = catalog_index(name) {
                sources[i] = text;
            }
        };
        let located_central_bank = observations_label(
            "the located central-bank holdings",
            snap.holdings_as_of(as_of, |h| {
                h.kind == HoldingKind::Located && h.owner_kind == OwnerKind::CentralBank
            })
            .filter_map(|(_, o)| o),
        );
        let located_private = observations_label(
            "the located private holdings",
            snap.holdings_as_of(as_of, |h| {
                h.kind == HoldingKind::Located && h.owner_kind != OwnerKind::CentralBank
            })
            .filter_map(|(_, o)| o),
        );
        for name in [
            "lever.participation",
            "pool.eur_bn",
            "pool.immobilised_eur_bn",
        ] {
            trace(name, located_central_bank.clone());
        }
        trace(
            "windfall.annual_eur_bn",
            format!(
                "the pool ({located_central_bank}) at the scenario's interest rate on its cash share \
                 (SOV-018), less Belgian tax (WF-004) and the depository's buffer (WF-014)"
            ),
        );
        let legal_source = format!(
            "{} on the dataset's doctrines and the positions dated on or before {as_of}, weighted \
             by the mobilised central-bank assets ({located_central_bank})",
            legal::MODEL_VERSION
        );
        for action in Action::ALL {
            trace(
                &format!("legal.risk.{}", action.as_str()),
                legal_source.clone(),
            );
        }
        trace(
            "legal.risk.selected",
            format!("{legal_source}, for the scenario's use mode"),
        );
        trace("exposure.retaliation_eur_bn", figure_label(snap, "EC-009"));
        trace("private.frozen_eur_bn", located_private.clone());
        trace(
            "private.frozen_share_of_pool",
            format!("{located_private}, against the pool ({located_central_bank})"),
        );
        let size_label = |id: &str| {
            snap.instrument(id)
                .and_then(|i| i.size.as_ref())
                .map_or(String::new(), |size| {
                    format!("size {} ({}) of instrument {id}", size.id, size.as_of)
                })
        };
        trace("funding.safe_eur_bn", size_label("safe"));
        trace("funding.era_eur_bn", size_label("era-loans"));
        trace("funding.ukraine_need_eur_bn", figure_label(snap, "RL-004"));
        trace(
            "russia.reserves_eur_bn",
            format!(
                "USD {RUSSIA_RESERVES_USD_BN} bn, the pre-war reserves in the note of observation \
                 SOV-001, at rate {}",
                reserves_rates
                    .iter()
                    .map(|r| r.rate_id.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
        trace(
            "russia.military_spending_eur_bn",
            figure_label(snap, "DEF-013"),
        );
        trace("russia.reserves_latest_eur_bn", reserves_latest.source);
        trace("windfall.received_12m_eur_bn", windfall_received.source);
        trace("funding.era_in_force_eur_bn", era_in_force.source);
        trace("funding.eu_loan_in_force_eur_bn", eu_loan_in_force.source);
        let legal2_source = format!(
            "{} on the dataset's doctrines, positions and coefficients as of {as_of}, weighted by \
             the mobilised central-bank assets ({located_central_bank})",
            legal2::MODEL_VERSION
        );
        trace(
            "legal.annulment.selected",
            format!("{legal2_source}: annulment channel, for the scenario's use mode"),
        );
        trace(
            "legal.retaliation.selected",
            format!("{legal2_source}: retaliation channel, for the scenario's use mode"),
        );
        // Which of these a row counts depends on the jurisdictions it mobilises; the source
        // lists every candidate with its jurisdiction.
        let per_jurisdiction = |pick: &dyn Fn(&Legal2Row) -> Vec<String>| -> Vec<String> {
            stakes_order
                .iter()
                .zip(&legal2)
                .flat_map(|(j, row)| pick(row).into_iter().map(move |id| format!("{id} [{j}]")))
                .collect()
        };
        let claims =
            per_jurisdiction(&|row| row.claims_eur_bn.iter().map(|(id, _)| id.clone()).collect());
        trace(
            "legal.damages_eur_bn",
            if claims.is_empty() {
                format!("no claim against the custodians recorded on or before {as_of}")
            } else {
                format!(
                    "figures {} (claims or awards against the custodians, each once; counted for the jurisdictions mobilised)",
                    claims.join(", ")
                )
            },
        );
        let reachable = per_jurisdiction(&|row| {
            row.enforceable_eur_bn
                .iter()
                .map(|(id, _)| id.clone())
                .collect()
        });
        trace(
            "exposure.enforceable_eur_bn",
            if reachable.is_empty() {
                format!(
                    "no figure of the custodians' assets within Russia's reach on or before {as_of}"
                )
            } else {
                format!(
                    "figures {} (custodians' assets where a Russian judgment is enforceable; counted for the jurisdictions mobilised)",
                    reachable.join(", ")
                )
            },
        );

        Ok(Self {
            as_of,
            jurisdictions,
            retaliation_eur_bn: figure_eur_bn(snap, "EC-009", as_of, eur)?,
            private_frozen_eur_bn: private,
            safe_eur_bn: instrument_eur_bn("safe")?,
            era_eur_bn: instrument_eur_bn("era-loans")?,
            ukraine_need_eur_bn: figure_eur_bn(snap, "RL-004", as_of, eur)?,
            russia_reserves_eur_bn,
            russia_military_eur_bn: figure_eur_bn(snap, "DEF-013", as_of, eur)?,
            reserves_latest_eur_bn: reserves_latest.eur_bn,
            windfall_received_12m_eur_bn: windfall_received.eur_bn,
            era_in_force_eur_bn: era_in_force.eur_bn,
            eu_loan_in_force_eur_bn: eu_loan_in_force.eur_bn,
            sources,
            legal2,
        })
    }

    /// Fills `row` (catalog order, `INPUT_CATALOG.len()` wide) for one scenario.
    pub fn fill_row(&self, s: &Scenario, row: &mut [f64]) {
        let fraction = |j: Jurisdiction| {
            let f = if s.participation.is_empty() {
                1.0
            } else {
                s.participation
                    .iter()
                    .find(|(k, _)| *k == j)
                    .map_or(0.0, |(_, f)| *f)
            };
            f * s.participation_scale
        };
        let mobilised: Vec<f64> = self
            .jurisdictions
            .iter()
            .map(|(j, amount, _)| amount * fraction(*j))
            .collect();
        let all: f64 = self.jurisdictions.iter().map(|(_, amount, _)| amount).sum();
        let pool: f64 = mobilised.iter().sum();
        // Weights relative to the largest: the same shares whatever the scale, without the
        // underflow that a vanishing participation (1e-300) would cause in absolute terms.
        let largest = mobilised.iter().copied().fold(0.0, f64::max);
        let mut risk = [0.0; Action::ALL.len()];
        if largest > 0.0 {
            let mut total = 0.0;
            for (m, (_, _, risks)) in mobilised.iter().zip(&self.jurisdictions) {
                let w = m / largest;
                total += w;
                for (r, jr) in risk.iter_mut().zip(risks) {
                    *r += w * jr;
                }
            }
            risk.iter_mut().for_each(|r| *r /= total);
        } else if !self.jurisdictions.is_empty() {
            // Nothing mobilised: report the unweighted mean so the figure stays meaningful.
            for (_, _, risks) in &self.jurisdictions {
                for (r, jr) in risk.iter_mut().zip(risks) {
                    *r += jr / self.jurisdictions.len() as f64;
                }
            }
        }
        let mode = s.use_mode as usize;
        let (annulment, retaliation, damages, enforceable) =
            self.legal2_inputs(s.use_mode, &mobilised, largest);
        let windfall = pool * CASH_SHARE * s.interest_rate_pct / 100.0
            * (1.0 - WINDFALL_TAX)
            * (1.0 - WINDFALL_BUFFER);
        // Typed by the catalog's length: an input added to the catalog without its value here
        // does not compile.
        let values: [f64; INPUT_CATALOG.len()] = [
            mode as f64,
            if all > 0.0 { pool / all } else { 0.0 },
            s.interest_rate_pct,
            s.sanctions_tightening,
            s.safe_takeup,
            s.defence_spending_gdp_pct,
            f64::from(u8::from(s.ceasefire)),
            s.guarantee_sharing,
            s.horizon_years,
            pool,
            all,
            windfall,
            risk[0],
            risk[1],
            risk[2],
            risk[3],
            risk[4],
            risk[mode],
            self.retaliation_eur_bn,
            self.private_frozen_eur_bn,
            self.safe_eur_bn,
            self.ukraine_need_eur_bn,
            self.russia_reserves_eur_bn,
            self.russia_military_eur_bn,
            self.era_eur_bn,
            // Below one euro the pool is nothing: a ratio to it would be infinite.
            if pool >= MIN_POOL_EUR_BN {
                self.private_frozen_eur_bn / pool
            } else {
                0.0
            },
            risk[Action::Package2026 as usize],
            self.reserves_latest_eur_bn,
            self.windfall_received_12m_eur_bn,
            self.era_in_force_eur_bn,
            self.eu_loan_in_force_eur_bn,
            annulment,
            retaliation,
            damages,
            enforceable,
        ];
        row[..INPUT_CATALOG.len()].copy_from_slice(&values);
    }
}

impl Context {
    /// The `legal-risk/2` inputs of a row: the annulment and retaliation risks of `use_mode`
    /// weighted by the mobilised amounts (as `legal.risk.selected`; the unweighted mean when
    /// nothing is mobilised), and the claims and reachable assets of the custodians of the
    /// jurisdictions that mobilise something, each figure once.
    fn legal2_inputs(
        &self,
        use_mode: Action,
        mobilised: &[f64],
        largest: f64,
    ) -> (f64, f64, f64, f64) {
        let Some(at) = Action::ALL.iter().position(|a| *a == use_mode) else {
            return (0.0, 0.0, 0.0, 0.0);
        };
        let (mut annulment, mut retaliation, mut total) = (0.0, 0.0, 0.0);
        for (m, row) in mobilised.iter().zip(&self.legal2) {
            // Relative to the largest, as for `legal.risk.*`; equal weights when none.
            let w = if largest > 0.0 { m / largest } else { 1.0 };
            total += w;
            annulment += w * row.annulment[at];
            retaliation += w * row.retaliation[at];
        }
        if total > 0.0 {
            annulment /= total;
            retaliation /= total;
        }
        let mut counted: Vec<&str> = Vec::new();
        let (mut damages, mut enforceable) = (0.0, 0.0);
        for (m, row) in mobilised.iter().zip(&self.legal2) {
            if *m <= 0.0 {
                continue;
            }
            for (id, amount) in &row.claims_eur_bn {
                if !counted.contains(&id.as_str()) {
                    counted.push(id);
                    damages += amount;
                }
            }
            if let Some((id, amount)) = &row.enforceable_eur_bn
                && !counted.contains(&id.as_str())
            {
                counted.push(id);
                enforceable += amount;
            }
        }
        (annulment, retaliation, damages, enforceable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn today() -> Date {
        "2026-03-01".parse().unwrap()
    }

    #[test]
    fn every_bad_lever_is_named() {
        let input = ScenarioInput {
            use_mode: None,
            interest_rate_pct: Some(-1.0),
            horizon_years: Some(99),
            participation: vec![("XX".into(), 0.5), ("BE".into(), 2.0)],
            ..Default::default()
        };
        let Err(DomainError::InvalidArgument(v)) = input.validate("scenario", today()) else {
            panic!("expected invalid argument");
        };
        let fields: Vec<&str> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "scenario.use_mode",
                "scenario.interest_rate_pct",
                "scenario.horizon_years",
                "scenario.participation[0].jurisdiction",
                "scenario.participation[1].fraction"
            ]
        );
    }

    #[test]
    fn rows_follow_the_catalog_and_the_data() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let ctx = Context::derive(&snap, "2025-12-31".parse().unwrap()).unwrap();
        let s = ScenarioInput {
            use_mode: Some(Action::Confiscation),
            ..Default::default()
        }
        .validate("scenario", "2025-12-31".parse().unwrap())
        .unwrap();
        let mut row = vec![0.0; INPUT_CATALOG.len()];
        ctx.fill_row(&s, &mut row);
        let get = |name: &str| row[catalog_names().iter().position(|n| *n == name).unwrap()];
        assert_eq!(get("lever.use_mode"), 4.0);
        assert!(
            get("pool.eur_bn") > 190.0,
            "Euroclear alone holds EUR 195 bn at end-2025"
        );
        assert_eq!(get("pool.eur_bn"), get("pool.immobilised_eur_bn"));
        assert_eq!(get("legal.risk.selected"), get("legal.risk.confiscation"));
        assert!(get("legal.risk.confiscation") > get("legal.risk.windfall_profits"));
        assert!(row.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn the_2026_package_is_use_mode_5_and_selects_its_own_legal_risk() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let as_of: Date = "2026-06-30".parse().unwrap();
        let ctx = Context::derive(&snap, as_of).unwrap();
        let s = ScenarioInput {
            use_mode: Some(Action::Package2026),
            ..Default::default()
        }
        .validate("scenario", as_of)
        .unwrap();
        let mut row = vec![0.0; INPUT_CATALOG.len()];
        ctx.fill_row(&s, &mut row);
        let get = |name: &str| row[catalog_names().iter().position(|n| *n == name).unwrap()];
        assert_eq!(get("lever.use_mode"), 5.0);
        let package = get("legal.risk.package_2026");
        assert!(package > 0.0 && package < 1.0, "{package}");
        assert_eq!(get("legal.risk.selected"), package);
    }

    #[test]
    fn the_2026_amounts_come_from_the_dataset_as_of_the_date_with_their_records() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let row_and_context = |day: &str| {
            let as_of: Date = day.parse().unwrap();
            let ctx = Context::derive(&snap, as_of).unwrap();
            let s = ScenarioInput {
                use_mode: Some(Action::Package2026),
                ..Default::default()
            }
            .validate("scenario", as_of)
            .unwrap();
            let mut row = vec![0.0; INPUT_CATALOG.len()];
            ctx.fill_row(&s, &mut row);
            (row, ctx)
        };
        let at = |name: &str| catalog_index(name).unwrap();
        let (before, before_ctx) = row_and_context("2026-03-30");
        let (after, after_ctx) = row_and_context("2026-06-30");
        // The EU loan was adopted on 2026-04-23; the fourth windfall tranche came on 2026-03-31.
        assert_eq!(before[at("funding.eu_loan_in_force_eur_bn")], 0.0);
        assert_eq!(after[at("funding.eu_loan_in_force_eur_bn")], 90.0);
        assert!(
            after_ctx
                .source(at("windfall.received_12m_eur_bn"))
                .contains("WF-013 (2026-03-31)")
        );
        assert!(
            !before_ctx
                .source(at("windfall.received_12m_eur_bn"))
                .contains("WF-013")
        );
        assert!(
            after_ctx
                .source(at("russia.reserves_latest_eur_bn"))
                .starts_with("figure SOV-025 (2026-03-01)")
        );
        assert!(after[at("funding.era_in_force_eur_bn")] > 40.0);
        // The pre-war constant keeps its meaning; the latest figure is another input.
        assert_ne!(
            after[at("russia.reserves_eur_bn")],
            after[at("russia.reserves_latest_eur_bn")]
        );
    }

    #[test]
    fn every_input_derived_from_the_dataset_names_its_records_and_no_lever_does() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let ctx = Context::derive(&snap, "2026-06-30".parse().unwrap()).unwrap();
        for (i, input) in INPUT_CATALOG.iter().enumerate() {
            let source = ctx.source(i);
            if input.name.starts_with("lever.") && input.name != "lever.participation" {
                assert_eq!(source, "", "{} is set by the scenario", input.name);
            } else {
                assert!(!source.is_empty(), "{} names no record", input.name);
            }
        }
        assert!(
            ctx.source(catalog_index("exposure.retaliation_eur_bn").unwrap())
                .starts_with("figure EC-009")
        );
    }

    #[test]
    fn legal_risk_2_inputs_follow_the_moscow_judgment_and_the_custodians_mobilised() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let row_of = |as_of: &str, participation: Vec<(String, f64)>| {
            let ctx = Context::derive(&snap, as_of.parse().unwrap()).unwrap();
            let s = ScenarioInput {
                use_mode: Some(Action::ReparationsLoan),
                participation,
                ..Default::default()
            }
            .validate("scenario", as_of.parse().unwrap())
            .unwrap();
            let mut row = vec![f64::NAN; INPUT_CATALOG.len()];
            ctx.fill_row(&s, &mut row);
            let names = catalog_names();
            move |name: &str| row[names.iter().position(|n| *n == name).unwrap()]
        };
        // The block is the catalog's last four names, in this order.
        let names = catalog_names();
        assert_eq!(
            names[names.len() - 4..],
            [
                "legal.annulment.selected",
                "legal.retaliation.selected",
                "legal.damages_eur_bn",
                "exposure.enforceable_eur_bn"
            ]
        );
        let after = row_of("2026-06-01", Vec::new());
        let before = row_of("2026-05-25", Vec::new());
        let early = row_of("2025-06-30", Vec::new());
        // USD 252 bn awarded replaces RUB 18.2 tn claimed; nothing was claimed in mid-2025.
        assert!(
            after("legal.damages_eur_bn") > 200.0,
            "{}",
            after("legal.damages_eur_bn")
        );
        assert!(before("legal.damages_eur_bn") > 150.0);
        assert_ne!(
            after("legal.damages_eur_bn"),
            before("legal.damages_eur_bn")
        );
        assert_eq!(early("legal.damages_eur_bn"), 0.0);
        assert_eq!(after("exposure.enforceable_eur_bn"), 16.0);
        for get in [&after, &before, &early] {
            for name in ["legal.annulment.selected", "legal.retaliation.selected"] {
                assert!((0.0..1.0).contains(&get(name)) && get(name) > 0.0, "{name}");
            }
        }
        // Without Belgium's custodian mobilised, neither the award nor its reachable assets.
        let without_belgium = row_of("2026-06-01", vec![("FR".into(), 1.0)]);
        assert_eq!(without_belgium("legal.damages_eur_bn"), 0.0);
        assert_eq!(without_belgium("exposure.enforceable_eur_bn"), 0.0);
    }

    #[test]
    fn a_vanishing_participation_gives_finite_inputs() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let ctx = Context::derive(&snap, "2025-12-31".parse().unwrap()).unwrap();
        for fraction in [5e-324, 1e-310, 1e-300, 0.0] {
            let s = ScenarioInput {
                use_mode: Some(Action::Immobilisation),
                participation: vec![("BE".into(), fraction)],
                ..Default::default()
            }
            .validate("scenario", "2025-12-31".parse().unwrap())
            .unwrap();
            let mut row = vec![0.0; INPUT_CATALOG.len()];
            ctx.fill_row(&s, &mut row);
            assert!(row.iter().all(|v| v.is_finite()), "{fraction}: {row:?}");
        }
    }
}
