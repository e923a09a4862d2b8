//! The pressure index 2.0: the 1.0 formulas corrected where an expert objected (issue 15).
//!
//! - A use mode for the policy in force in 2026 ([`UseMode::Package2026`]: immobilisation kept,
//!   windfall profits to the ERA loans, an EU-borrowed loan), whose money to Ukraine is taken
//!   from the dataset's amounts as of the scenario's date, not from constants.
//! - The share of reserves denied divides by the latest reserves figure on or before the date
//!   (`russia.reserves_latest_eur_bn`), not by a 2022 constant.
//! - A use's permanence applies to the part it uses (the mobilised pool); the rest of the
//!   immobilised assets stays at the permanence of immobilisation.
//! - European defence capacity (SAFE take-up, defence spending) is reported beside the index,
//!   not inside it: it measures what Europe can field, not pressure on Russia.
//!
//! The 1.0 functions in the crate root are untouched. Formulas, parameters and sources:
//! `docs/models/pressure-index.md`. Same purity rules: plain IEEE arithmetic only.

use leverage_plugin_api::{Component, Config, Input, Parameter};

use crate::{MAX_EUR_BN, check_input};

/// How the immobilised assets are used (`lever.use_mode`, 0..=5). The first five are those of
/// 1.0, with the same codes; the 2026 package was added last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseMode {
    /// 0: frozen, nothing else.
    Immobilisation,
    /// 1: the depository's windfall profits are skimmed and paid out.
    WindfallProfits,
    /// 2: a loan front-loading years of windfall, serviced by it (the G7 ERA model).
    ProfitsBackedLoan,
    /// 3: the cash is lent to Ukraine against an EU claim; repaid only if Russia pays reparations.
    ReparationsLoan,
    /// 4: title is taken.
    Confiscation,
    /// 5: the policy in force in 2026: immobilisation kept indefinitely, the windfall services
    /// the ERA loans, and the EU borrows on the markets to lend to Ukraine.
    Package2026,
}

impl UseMode {
    /// All modes in input order.
    pub const ALL: [UseMode; 6] = [
        UseMode::Immobilisation,
        UseMode::WindfallProfits,
        UseMode::ProfitsBackedLoan,
        UseMode::ReparationsLoan,
        UseMode::Confiscation,
        UseMode::Package2026,
    ];

    /// The mode encoded by `lever.use_mode`: an integer 0..=5.
    pub fn from_input(value: f64) -> Result<UseMode, String> {
        UseMode::ALL
            .iter()
            .zip(0u8..)
            .find(|(_, code)| f64::from(*code) == value)
            .map(|(mode, _)| *mode)
            .ok_or_else(|| {
                format!(
                    "{} = {value} is not one of 0, 1, 2, 3, 4, 5",
                    inputs::USE_MODE
                )
            })
    }

    /// Position in [`UseMode::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Catalog names of the inputs the 2.0 model reads.
pub mod inputs {
    pub use crate::inputs::{
        DEFENCE_SPENDING_GDP_PCT, HORIZON_YEARS, IMMOBILISED_EUR_BN, POOL_EUR_BN, SAFE_TAKEUP,
        SANCTIONS_TIGHTENING, UKRAINE_NEED_EUR_BN, USE_MODE, WINDFALL_ANNUAL_EUR_BN,
    };
    /// EUR bn, the latest figure of Russia's reserves on or before the date.
    pub const RESERVES_LATEST_EUR_BN: &str = "russia.reserves_latest_eur_bn";
    /// EUR bn per year, the windfall tranches the EU received in the twelve months to the date.
    pub const WINDFALL_RECEIVED_12M_EUR_BN: &str = "windfall.received_12m_eur_bn";
    /// EUR bn, the G7 ERA loans in force on the date.
    pub const ERA_IN_FORCE_EUR_BN: &str = "funding.era_in_force_eur_bn";
    /// EUR bn, the EU-borrowed loan to Ukraine in force on the date.
    pub const EU_LOAN_IN_FORCE_EUR_BN: &str = "funding.eu_loan_in_force_eur_bn";
}

/// The inputs in the order [`Scenario::from_inputs`] reads them.
pub const INPUTS: [Input; 13] = [
    Input::new(inputs::USE_MODE, "ordinal 0..5"),
    Input::new(inputs::SANCTIONS_TIGHTENING, "0..1"),
    Input::new(inputs::SAFE_TAKEUP, "0..1 share of EUR 150 bn"),
    Input::new(inputs::DEFENCE_SPENDING_GDP_PCT, "% of GDP"),
    Input::new(inputs::HORIZON_YEARS, "years"),
    Input::new(inputs::POOL_EUR_BN, "EUR bn"),
    Input::new(inputs::IMMOBILISED_EUR_BN, "EUR bn"),
    Input::new(inputs::WINDFALL_ANNUAL_EUR_BN, "EUR bn per year"),
    Input::new(inputs::UKRAINE_NEED_EUR_BN, "EUR bn"),
    Input::new(inputs::RESERVES_LATEST_EUR_BN, "EUR bn"),
    Input::new(inputs::WINDFALL_RECEIVED_12M_EUR_BN, "EUR bn per year"),
    Input::new(inputs::ERA_IN_FORCE_EUR_BN, "EUR bn"),
    Input::new(inputs::EU_LOAN_IN_FORCE_EUR_BN, "EUR bn"),
];

/// Index of each component in [`COMPONENTS`] and [`Pressure::components`].
pub mod component {
    /// Share of reserves kept from Russia, each part at the permanence of its use.
    pub const MONEY_DENIED: usize = 0;
    /// Cash delivered to Ukraine against the need.
    pub const MONEY_TO_UKRAINE: usize = 1;
    /// How soon the first money arrives.
    pub const SPEED: usize = 2;
    /// Breadth of sanctions.
    pub const SANCTIONS_BREADTH: usize = 3;
    /// European defence capacity: reported beside the index, not part of it.
    pub const EUROPEAN_DEFENCE_CAPACITY: usize = 4;
    /// The components the index averages; the others are reported beside it.
    pub const IN_INDEX: usize = 4;
}

const POINTS: &str = "index points";

/// The five components, each 0..100 index points; the first four make the index.
pub const COMPONENTS: [Component; 5] = [
    Component::new(
        "money_denied",
        POINTS,
        0.0,
        100.0,
        "share of Russia's latest reserves kept from it: the mobilised pool at the permanence of the use mode, the rest of the immobilised assets at the permanence of immobilisation",
    ),
    Component::new(
        "money_to_ukraine",
        POINTS,
        0.0,
        100.0,
        "cash delivered to Ukraine by the use mode (for the 2026 package: the loans in force on the date), as a share of the financing need (capped at 100)",
    ),
    Component::new(
        "speed",
        POINTS,
        0.0,
        100.0,
        "100 × (1 − months to first money / speed.horizon_months); 0 when no money flows",
    ),
    Component::new(
        "sanctions_breadth",
        POINTS,
        0.0,
        100.0,
        "100 × (baseline + (1 − baseline) × sanctions tightening)",
    ),
    Component::new(
        "european_defence_capacity",
        POINTS,
        0.0,
        100.0,
        "SAFE take-up and European defence spending against the NATO 3.5 % core target; reported beside the index, not in it (European capacity, not pressure on Russia)",
    ),
];

/// Index of each parameter group in [`PARAMETERS`].
mod param {
    pub const WEIGHTS: usize = 0;
    pub const PERMANENCE: usize = 4;
    pub const MONTHS: usize = 10;
    pub const SPEED_HORIZON: usize = 15;
    pub const FRONTLOAD_YEARS: usize = 16;
    pub const SANCTIONS_BASELINE: usize = 17;
    pub const NATO_TARGET: usize = 18;
    pub const SAFE_SHARE: usize = 19;
}

/// The 2.0 parameters with their defaults; sources in `docs/models/pressure-index.md`. Every key
/// 1.0 also has keeps its meaning and default; 1.0's `weight.defence_capacity` (the capacity
/// is no longer in the index) and `era.pledged_eur_bn` (the ERA loans in force are now data) are
/// gone.
pub const PARAMETERS: [Parameter; 20] = [
    Parameter::new(
        "weight.money_denied",
        "relative weight",
        0.30,
        0.0,
        1.0,
        "weight of money_denied in the index",
    ),
    Parameter::new(
        "weight.money_to_ukraine",
        "relative weight",
        0.25,
        0.0,
        1.0,
        "weight of money_to_ukraine in the index",
    ),
    Parameter::new(
        "weight.speed",
        "relative weight",
        0.15,
        0.0,
        1.0,
        "weight of speed in the index",
    ),
    Parameter::new(
        "weight.sanctions_breadth",
        "relative weight",
        0.10,
        0.0,
        1.0,
        "weight of sanctions_breadth in the index",
    ),
    Parameter::new(
        "permanence.immobilisation",
        "probability",
        0.70,
        0.0,
        1.0,
        "chance the assets stay out of Russia's reach when only frozen (also the permanence of the immobilised assets a use leaves out of its pool)",
    ),
    Parameter::new(
        "permanence.windfall_profits",
        "probability",
        0.70,
        0.0,
        1.0,
        "same, for the pool whose windfall profits are skimmed (principal untouched)",
    ),
    Parameter::new(
        "permanence.profits_backed_loan",
        "probability",
        0.80,
        0.0,
        1.0,
        "same, for the pool whose windfall services a loan of 30+ years",
    ),
    Parameter::new(
        "permanence.reparations_loan",
        "probability",
        0.90,
        0.0,
        1.0,
        "same, for the pool whose cash is lent out against reparations",
    ),
    Parameter::new(
        "permanence.confiscation",
        "probability",
        1.00,
        0.0,
        1.0,
        "same, for the pool whose title is taken",
    ),
    Parameter::new(
        "permanence.package_2026",
        "probability",
        0.80,
        0.0,
        1.0,
        "same, for the pool under the 2026 package (as the ERA model: its windfall services 30-year loans; open-ended immobilisation, Reg. 2025/2600)",
    ),
    Parameter::new(
        "months.windfall_profits",
        "months",
        2.0,
        0.0,
        120.0,
        "decision to first windfall payment (May → July 2024)",
    ),
    Parameter::new(
        "months.profits_backed_loan",
        "months",
        6.0,
        0.0,
        120.0,
        "decision to first ERA disbursement (June → Dec 2024)",
    ),
    Parameter::new(
        "months.reparations_loan",
        "months",
        9.0,
        0.0,
        120.0,
        "assumed: proposed Sept 2025, not adopted by March 2026",
    ),
    Parameter::new(
        "months.confiscation",
        "months",
        24.0,
        0.0,
        120.0,
        "assumed: REPO Act authority of April 2024 still unused",
    ),
    Parameter::new(
        "months.package_2026",
        "months",
        6.0,
        0.0,
        120.0,
        "decision to first money of the EU-borrowed loan (European Council 18 Dec 2025 → EUR 3.2 bn on 25 June 2026)",
    ),
    Parameter::new(
        "speed.horizon_months",
        "months",
        36.0,
        1.0,
        240.0,
        "months to first money at which speed reaches 0",
    ),
    Parameter::new(
        "era.frontload_years",
        "years",
        10.0,
        1.0,
        40.0,
        "years of windfall an ERA-style loan front-loads (for the 2026 package: years of the windfall received that back the ERA loans in force)",
    ),
    Parameter::new(
        "sanctions.baseline",
        "0..1",
        0.5,
        0.0,
        1.0,
        "breadth of the sanctions in force before any tightening",
    ),
    Parameter::new(
        "defence.nato_core_target_pct",
        "% of GDP",
        3.5,
        0.5,
        10.0,
        "NATO core spending target (2035)",
    ),
    Parameter::new(
        "defence.safe_share",
        "0..1",
        0.5,
        0.0,
        1.0,
        "weight of SAFE take-up inside european_defence_capacity (the rest: % of GDP)",
    ),
];

/// One scenario, validated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scenario {
    /// `lever.use_mode`.
    pub use_mode: UseMode,
    /// `lever.sanctions_tightening`, 0..1.
    pub sanctions_tightening: f64,
    /// `lever.safe_takeup`, 0..1.
    pub safe_takeup: f64,
    /// `lever.defence_spending_gdp_pct`.
    pub defence_spending_gdp_pct: f64,
    /// `lever.horizon_years`, 1..30.
    pub horizon_years: f64,
    /// `pool.eur_bn`.
    pub pool_eur_bn: f64,
    /// `pool.immobilised_eur_bn`.
    pub immobilised_eur_bn: f64,
    /// `windfall.annual_eur_bn`: the model's windfall on the pool at the scenario's rate.
    pub windfall_annual_eur_bn: f64,
    /// `funding.ukraine_need_eur_bn`, > 0.
    pub ukraine_need_eur_bn: f64,
    /// `russia.reserves_latest_eur_bn`, > 0.
    pub reserves_latest_eur_bn: f64,
    /// `windfall.received_12m_eur_bn`: the windfall actually received.
    pub windfall_received_12m_eur_bn: f64,
    /// `funding.era_in_force_eur_bn`.
    pub era_in_force_eur_bn: f64,
    /// `funding.eu_loan_in_force_eur_bn`.
    pub eu_loan_in_force_eur_bn: f64,
}

impl Scenario {
    /// Reads the first [`INPUTS`]`.len()` values of a row, in [`INPUTS`] order.
    pub fn from_inputs(row: &[f64]) -> Result<Scenario, String> {
        let Some(
            &[
                use_mode,
                tightening,
                safe,
                gdp,
                horizon,
                pool,
                immobilised,
                windfall,
                need,
                reserves,
                received,
                era,
                eu_loan,
            ],
        ) = row.get(..INPUTS.len())
        else {
            return Err(format!("expected at least {} inputs", INPUTS.len()));
        };
        let positive = f64::MIN_POSITIVE;
        let eur_bn = |name: &str, value: f64| check_input(name, value, 0.0, MAX_EUR_BN);
        Ok(Scenario {
            use_mode: UseMode::from_input(use_mode)?,
            sanctions_tightening: check_input(inputs::SANCTIONS_TIGHTENING, tightening, 0.0, 1.0)?,
            safe_takeup: check_input(inputs::SAFE_TAKEUP, safe, 0.0, 1.0)?,
            defence_spending_gdp_pct: check_input(
                inputs::DEFENCE_SPENDING_GDP_PCT,
                gdp,
                0.0,
                100.0,
            )?,
            horizon_years: check_input(inputs::HORIZON_YEARS, horizon, 1.0, 30.0)?,
            pool_eur_bn: eur_bn(inputs::POOL_EUR_BN, pool)?,
            immobilised_eur_bn: eur_bn(inputs::IMMOBILISED_EUR_BN, immobilised)?,
            windfall_annual_eur_bn: eur_bn(inputs::WINDFALL_ANNUAL_EUR_BN, windfall)?,
            ukraine_need_eur_bn: check_input(
                inputs::UKRAINE_NEED_EUR_BN,
                need,
                positive,
                MAX_EUR_BN,
            )?,
            reserves_latest_eur_bn: check_input(
                inputs::RESERVES_LATEST_EUR_BN,
                reserves,
                positive,
                MAX_EUR_BN,
            )?,
            windfall_received_12m_eur_bn: eur_bn(inputs::WINDFALL_RECEIVED_12M_EUR_BN, received)?,
            era_in_force_eur_bn: eur_bn(inputs::ERA_IN_FORCE_EUR_BN, era)?,
            eu_loan_in_force_eur_bn: eur_bn(inputs::EU_LOAN_IN_FORCE_EUR_BN, eu_loan)?,
        })
    }
}

/// The 2.0 parameters, read from a [`Config`] built against [`PARAMETERS`] (or a schema that
/// contains them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Weights of the four components in the index, in [`component`] order.
    pub weights: [f64; component::IN_INDEX],
    /// Permanence per [`UseMode`].
    pub permanence: [f64; 6],
    /// Months to first money per [`UseMode`]; `None` for immobilisation (no money flows).
    pub months: [Option<f64>; 6],
    /// `speed.horizon_months`.
    pub speed_horizon_months: f64,
    /// `era.frontload_years`.
    pub frontload_years: f64,
    /// `sanctions.baseline`.
    pub sanctions_baseline: f64,
    /// `defence.nato_core_target_pct`.
    pub nato_core_target_pct: f64,
    /// `defence.safe_share`.
    pub safe_share: f64,
}

impl Params {
    /// Reads every parameter of [`PARAMETERS`] from `config`.
    pub fn from_config(config: &Config) -> Result<Params, String> {
        let get = |index: usize| config.get(PARAMETERS[index].name());
        let w = param::WEIGHTS;
        let weights = [get(w)?, get(w + 1)?, get(w + 2)?, get(w + 3)?];
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err("at least one weight.* parameter must be positive".to_owned());
        }
        let p = param::PERMANENCE;
        let m = param::MONTHS;
        Ok(Params {
            weights,
            permanence: [
                get(p)?,
                get(p + 1)?,
                get(p + 2)?,
                get(p + 3)?,
                get(p + 4)?,
                get(p + 5)?,
            ],
            months: [
                None,
                Some(get(m)?),
                Some(get(m + 1)?),
                Some(get(m + 2)?),
                Some(get(m + 3)?),
                Some(get(m + 4)?),
            ],
            speed_horizon_months: get(param::SPEED_HORIZON)?,
            frontload_years: get(param::FRONTLOAD_YEARS)?,
            sanctions_baseline: get(param::SANCTIONS_BASELINE)?,
            nato_core_target_pct: get(param::NATO_TARGET)?,
            safe_share: get(param::SAFE_SHARE)?,
        })
    }

    /// Every parameter at its default.
    pub fn defaults() -> Params {
        match Params::from_config(&Config::defaults(&PARAMETERS)) {
            Ok(params) => params,
            // The defaults are constants with positive weights; a test pins this.
            Err(message) => unreachable!("default parameters are invalid: {message}"),
        }
    }
}

/// The 2.0 index and its components, each 0..100 index points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pressure {
    /// In [`component`] order.
    pub components: [f64; 5],
    /// Weighted mean of the first [`component::IN_INDEX`] components.
    pub index: f64,
    /// Cash delivered to Ukraine, EUR bn (before the cap against the need).
    pub delivered_eur_bn: f64,
}

fn points(share: f64) -> f64 {
    (100.0 * share).clamp(0.0, 100.0)
}

/// Months to the first money under the scenario's mode, or `None` if no money flows.
pub fn months_to_money(scenario: &Scenario, params: &Params) -> Option<f64> {
    params.months[scenario.use_mode.index()]
}

/// The ERA loans in force that the windfall actually received would back: the loans are
/// repaid out of the windfall, so they count as money to Ukraine as far as
/// `era.frontload_years` of the windfall received covers them. A fall in the windfall shrinks
/// this part; a windfall that covers the loans adds nothing more (any surplus repays them
/// early, it does not reach Ukraine).
pub fn era_backed_eur_bn(scenario: &Scenario, params: &Params) -> f64 {
    scenario
        .era_in_force_eur_bn
        .min(scenario.windfall_received_12m_eur_bn * params.frontload_years)
}

/// Cash delivered to Ukraine, EUR bn. Modes 0..4 as in 1.0, except that the reparations loan
/// deducts the ERA loans in force (data) instead of a pledged constant; the 2026 package
/// delivers the ERA loans the windfall backs and the EU-borrowed loan in force on the date.
pub fn delivered_eur_bn(scenario: &Scenario, params: &Params) -> f64 {
    let Some(months) = months_to_money(scenario, params) else {
        return 0.0;
    };
    if months > 12.0 * scenario.horizon_years {
        return 0.0;
    }
    let windfall = scenario.windfall_annual_eur_bn;
    match scenario.use_mode {
        UseMode::Immobilisation => 0.0,
        UseMode::WindfallProfits => windfall * (scenario.horizon_years - months / 12.0),
        UseMode::ProfitsBackedLoan => windfall * params.frontload_years,
        UseMode::ReparationsLoan => (scenario.pool_eur_bn - scenario.era_in_force_eur_bn).max(0.0),
        UseMode::Confiscation => scenario.pool_eur_bn,
        UseMode::Package2026 => {
            era_backed_eur_bn(scenario, params) + scenario.eu_loan_in_force_eur_bn
        }
    }
}

/// Share of Russia's latest reserves kept from it: the pool at the permanence of the mode, the
/// rest of the immobilised assets at the permanence of immobilisation (a use takes only its
/// pool further than the freeze).
pub fn denied_share(scenario: &Scenario, params: &Params) -> f64 {
    let pool = scenario.pool_eur_bn.min(scenario.immobilised_eur_bn);
    let rest = scenario.immobilised_eur_bn - pool;
    let kept = pool * params.permanence[scenario.use_mode.index()]
        + rest * params.permanence[UseMode::Immobilisation.index()];
    (kept / scenario.reserves_latest_eur_bn).min(1.0)
}

/// The pressure-on-Russia index 2.0 of one scenario.
pub fn pressure(scenario: &Scenario, params: &Params) -> Pressure {
    let money_denied = points(denied_share(scenario, params));

    let delivered = delivered_eur_bn(scenario, params);
    let money_to_ukraine = points(delivered / scenario.ukraine_need_eur_bn);

    let speed = match months_to_money(scenario, params) {
        Some(months) => points(1.0 - months / params.speed_horizon_months),
        None => 0.0,
    };

    let baseline = params.sanctions_baseline;
    let sanctions_breadth = points(baseline + (1.0 - baseline) * scenario.sanctions_tightening);

    let spending = (scenario.defence_spending_gdp_pct / params.nato_core_target_pct).min(1.0);
    let european_defence_capacity =
        points(params.safe_share * scenario.safe_takeup + (1.0 - params.safe_share) * spending);

    let components = [
        money_denied,
        money_to_ukraine,
        speed,
        sanctions_breadth,
        european_defence_capacity,
    ];
    let mut weighted = 0.0;
    let mut total_weight = 0.0;
    for (value, weight) in components.iter().zip(params.weights) {
        weighted += weight * value;
        total_weight += weight;
    }
    Pressure {
        components,
        index: (weighted / total_weight).clamp(0.0, 100.0),
        delivered_eur_bn: delivered,
    }
}

/// A reference scenario: the 2026 package as of 2026-06-30 with the dataset's amounts of
/// December 2026 (rounded), used by tests and documentation. Values in [`INPUTS`] order.
pub const REFERENCE_ROW: [f64; 13] = [
    5.0,   // the 2026 package
    0.2,   // some tightening
    0.75,  // SAFE: EUR 112 bn of 150 approved (Feb 2026)
    2.1,   // % of GDP
    5.0,   // years
    210.0, // all located central-bank assets mobilised (Euroclear's included)
    210.0, // all located central-bank assets
    3.0,   // windfall at 2.5 %, as the server computes it on the pool
    135.0, // IMF need 2026–27
    700.0, // USD 809 bn (SOV-025) in EUR
    3.0,   // WF-012 + WF-013: EUR 1.6 + 1.4 bn received in the year to 2026-06-30
    45.0,  // the ERA loans
    90.0,  // the EU loan, adopted 2026-04-23
];

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(mode: f64) -> Scenario {
        let mut row = REFERENCE_ROW;
        row[0] = mode;
        Scenario::from_inputs(&row).expect("valid reference row")
    }

    #[test]
    fn defaults_are_valid_and_the_index_weights_are_those_of_1_0() {
        let params = Params::defaults();
        assert_eq!(params.weights, [0.30, 0.25, 0.15, 0.10]);
    }

    #[test]
    fn use_mode_must_be_an_integer_from_zero_to_five() {
        assert_eq!(UseMode::from_input(5.0), Ok(UseMode::Package2026));
        for bad in [-1.0, 0.5, 6.0, f64::NAN] {
            let err = UseMode::from_input(bad).expect_err("not a mode");
            assert!(err.contains("not one of 0, 1, 2, 3, 4, 5"), "{err}");
        }
    }

    #[test]
    fn the_package_delivers_the_eu_loan_and_the_era_loans_the_windfall_backs() {
        let params = Params::defaults();
        // EUR 3 bn a year × 10 years backs EUR 30 bn of the EUR 45 bn of ERA loans.
        assert_eq!(delivered_eur_bn(&scenario(5.0), &params), 30.0 + 90.0);
        let mut row = REFERENCE_ROW;
        row[10] = 5.0;
        let ample = Scenario::from_inputs(&row).expect("valid");
        assert_eq!(delivered_eur_bn(&ample, &params), 45.0 + 90.0);
    }

    #[test]
    fn less_windfall_received_means_less_money_to_ukraine_under_the_package() {
        let params = Params::defaults();
        let mut row = REFERENCE_ROW;
        let before = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
        row[10] = 2.0;
        let after = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
        assert!(after.delivered_eur_bn < before.delivered_eur_bn);
        assert!(after.index < before.index);
    }

    #[test]
    fn the_dataset_amounts_move_only_the_package_and_the_reparations_loan() {
        let params = Params::defaults();
        let mut row = REFERENCE_ROW;
        for mode in [0.0, 1.0, 2.0, 4.0] {
            row[0] = mode;
            let base = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
            let mut changed = row;
            changed[10] = 0.5;
            changed[11] = 10.0;
            changed[12] = 0.0;
            let moved = pressure(&Scenario::from_inputs(&changed).expect("valid"), &params);
            assert_eq!(base, moved, "mode {mode}");
        }
    }

    #[test]
    fn a_reparations_loan_delivers_the_pool_less_the_era_loans_in_force() {
        let delivered = delivered_eur_bn(&scenario(3.0), &Params::defaults());
        assert_eq!(delivered, 210.0 - 45.0);
    }

    #[test]
    fn permanence_applies_to_the_pool_and_the_rest_stays_at_immobilisation() {
        let params = Params::defaults();
        let mut row = REFERENCE_ROW;
        row[0] = 4.0;
        row[5] = 100.0;
        row[6] = 300.0;
        let share = denied_share(&Scenario::from_inputs(&row).expect("valid"), &params);
        assert!((share - (100.0 * 1.0 + 200.0 * 0.7) / 700.0).abs() < 1e-12);
        // Nothing mobilised: every mode denies what the freeze denies.
        row[5] = 0.0;
        let freeze = {
            row[0] = 0.0;
            denied_share(&Scenario::from_inputs(&row).expect("valid"), &params)
        };
        for mode in 1..6 {
            row[0] = f64::from(mode);
            let s = Scenario::from_inputs(&row).expect("valid");
            assert_eq!(denied_share(&s, &params), freeze, "mode {mode}");
        }
    }

    #[test]
    fn the_denominator_is_the_latest_reserves() {
        let params = Params::defaults();
        let mut row = REFERENCE_ROW;
        let at_700 = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
        row[9] = 560.0;
        let at_560 = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
        let ratio =
            at_560.components[component::MONEY_DENIED] / at_700.components[component::MONEY_DENIED];
        assert!((ratio - 1.25).abs() < 1e-12, "{ratio}");
    }

    #[test]
    fn european_defence_capacity_is_reported_but_does_not_move_the_index() {
        let params = Params::defaults();
        let mut row = REFERENCE_ROW;
        let before = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
        row[2] = 0.0;
        row[3] = 10.0;
        let after = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
        assert_ne!(
            before.components[component::EUROPEAN_DEFENCE_CAPACITY],
            after.components[component::EUROPEAN_DEFENCE_CAPACITY]
        );
        assert_eq!(before.index, after.index);
    }

    #[test]
    fn the_index_is_the_weighted_mean_of_the_four_pressure_components() {
        let params = Params::defaults();
        for mode in 0..6 {
            let p = pressure(&scenario(f64::from(mode)), &params);
            let mean: f64 = p.components[..component::IN_INDEX]
                .iter()
                .zip(params.weights)
                .map(|(c, w)| c * w)
                .sum::<f64>()
                / params.weights.iter().sum::<f64>();
            assert!((p.index - mean).abs() < 1e-9, "mode {mode}");
        }
    }

    #[test]
    fn an_input_outside_its_range_names_the_input() {
        let mut row = REFERENCE_ROW;
        row[9] = 0.0;
        let err = Scenario::from_inputs(&row).expect_err("zero reserves");
        assert!(err.contains("russia.reserves_latest_eur_bn = 0"), "{err}");
        row[9] = 700.0;
        row[10] = -1.0;
        let err = Scenario::from_inputs(&row).expect_err("negative windfall");
        assert!(err.contains("windfall.received_12m_eur_bn = -1"), "{err}");
        assert!(Scenario::from_inputs(&row[..12]).is_err(), "short row");
    }

    #[test]
    fn every_component_stays_within_zero_to_one_hundred_over_a_grid() {
        let params = Params::defaults();
        for mode in 0..6 {
            for step in 0..=10 {
                let x = f64::from(step) / 10.0;
                let row = [
                    f64::from(mode),
                    x,
                    x,
                    10.0 * x,
                    1.0 + 29.0 * x,
                    1000.0 * x,
                    1000.0 * (1.0 - x),
                    50.0 * x,
                    1.0 + 500.0 * x,
                    1.0 + 1000.0 * x,
                    20.0 * x,
                    100.0 * x,
                    200.0 * (1.0 - x),
                ];
                let p = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
                for value in p.components.iter().chain([&p.index]) {
                    assert!((0.0..=100.0).contains(value), "{row:?} → {value}");
                }
            }
        }
    }
}
