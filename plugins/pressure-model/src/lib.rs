//! The pressure-on-Russia formulas shared by the `pressure-index` and `prudent-pressure` plugins.
//!
//! This crate exports no plugin symbol, so both plugins can link it. The formulas, their
//! parameters and the sources of the default values are documented in
//! `docs/models/pressure-index.md`. Everything here is a pure function of its arguments: plain
//! IEEE arithmetic (`+ - × ÷`, `min`, `max`), no clock, no randomness, no I/O, no transcendental
//! functions, so results are bit-identical across compilers and machines.
//!
//! Versions: the crate root holds the pressure index 1.0 and [`prudent_v1`] prudent pressure
//! 1.0, kept unchanged so that a 1.0 score can be reproduced (`tests/golden.rs` pins them to the
//! bit); [`v2`] and [`prudent_v2`] are the 2.0 models the plugins serve.

use leverage_plugin_api::{Component, Config, Input, Parameter};

pub mod prudent_v1;
pub mod prudent_v2;
pub mod v2;

/// How the immobilised assets are used, ordered by legal intensity (`lever.use_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseMode {
    /// 0: frozen, nothing else.
    Immobilisation,
    /// 1: the depository's windfall profits are skimmed and paid out (the EU regime since 2024).
    WindfallProfits,
    /// 2: a loan front-loading years of windfall, serviced by it (the G7 ERA model).
    ProfitsBackedLoan,
    /// 3: the cash is lent to Ukraine against an EU claim; repaid only if Russia pays reparations.
    ReparationsLoan,
    /// 4: title is taken.
    Confiscation,
}

impl UseMode {
    /// All modes in input order.
    pub const ALL: [UseMode; 5] = [
        UseMode::Immobilisation,
        UseMode::WindfallProfits,
        UseMode::ProfitsBackedLoan,
        UseMode::ReparationsLoan,
        UseMode::Confiscation,
    ];

    /// The mode encoded by `lever.use_mode`: an integer 0..=4.
    pub fn from_input(value: f64) -> Result<UseMode, String> {
        UseMode::ALL
            .iter()
            .zip(0u8..)
            .find(|(_, code)| f64::from(*code) == value)
            .map(|(mode, _)| *mode)
            .ok_or_else(|| format!("{} = {value} is not one of 0, 1, 2, 3, 4", inputs::USE_MODE))
    }

    /// Position in [`UseMode::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Catalog names of the inputs the pressure model reads.
pub mod inputs {
    /// Ordinal 0..4, see [`UseMode`](super::UseMode).
    pub const USE_MODE: &str = "lever.use_mode";
    /// 0..1.
    pub const SANCTIONS_TIGHTENING: &str = "lever.sanctions_tightening";
    /// 0..1 share of SAFE's EUR 150 bn taken up.
    pub const SAFE_TAKEUP: &str = "lever.safe_takeup";
    /// % of GDP, European allies.
    pub const DEFENCE_SPENDING_GDP_PCT: &str = "lever.defence_spending_gdp_pct";
    /// Years, 1..30.
    pub const HORIZON_YEARS: &str = "lever.horizon_years";
    /// EUR bn of central-bank assets mobilised.
    pub const POOL_EUR_BN: &str = "pool.eur_bn";
    /// EUR bn of all located central-bank assets.
    pub const IMMOBILISED_EUR_BN: &str = "pool.immobilised_eur_bn";
    /// EUR bn per year of windfall profit on the mobilised pool.
    pub const WINDFALL_ANNUAL_EUR_BN: &str = "windfall.annual_eur_bn";
    /// EUR bn, Ukraine's external financing need 2026–27.
    pub const UKRAINE_NEED_EUR_BN: &str = "funding.ukraine_need_eur_bn";
    /// EUR bn, Russia's pre-war reserves.
    pub const RUSSIA_RESERVES_EUR_BN: &str = "russia.reserves_eur_bn";
}

/// The inputs in the order [`Scenario::from_inputs`] reads them.
pub const INPUTS: [Input; 10] = [
    Input::new(inputs::USE_MODE, "ordinal 0..4"),
    Input::new(inputs::SANCTIONS_TIGHTENING, "0..1"),
    Input::new(inputs::SAFE_TAKEUP, "0..1 share of EUR 150 bn"),
    Input::new(inputs::DEFENCE_SPENDING_GDP_PCT, "% of GDP"),
    Input::new(inputs::HORIZON_YEARS, "years"),
    Input::new(inputs::POOL_EUR_BN, "EUR bn"),
    Input::new(inputs::IMMOBILISED_EUR_BN, "EUR bn"),
    Input::new(inputs::WINDFALL_ANNUAL_EUR_BN, "EUR bn per year"),
    Input::new(inputs::UKRAINE_NEED_EUR_BN, "EUR bn"),
    Input::new(inputs::RUSSIA_RESERVES_EUR_BN, "EUR bn"),
];

/// Index of each component in [`COMPONENTS`] and [`Pressure::components`].
pub mod component {
    /// Share of reserves kept from Russia, times permanence.
    pub const MONEY_DENIED: usize = 0;
    /// Cash delivered to Ukraine over the horizon against the need.
    pub const MONEY_TO_UKRAINE: usize = 1;
    /// How soon the first money arrives.
    pub const SPEED: usize = 2;
    /// Breadth of sanctions.
    pub const SANCTIONS_BREADTH: usize = 3;
    /// European defence capacity: SAFE take-up and spending against the NATO core target.
    pub const DEFENCE_CAPACITY: usize = 4;
}

const POINTS: &str = "index points";

/// The five components, each 0..100 index points.
pub const COMPONENTS: [Component; 5] = [
    Component::new(
        "money_denied",
        POINTS,
        0.0,
        100.0,
        "share of Russia's reserves kept from it (immobilised / reserves), times the permanence of the use mode",
    ),
    Component::new(
        "money_to_ukraine",
        POINTS,
        0.0,
        100.0,
        "cash delivered to Ukraine over the horizon by the use mode, as a share of the financing need (capped at 100)",
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
        "defence_capacity",
        POINTS,
        0.0,
        100.0,
        "SAFE take-up and European defence spending against the NATO 3.5 % core target",
    ),
];

/// Index of each parameter group in [`PARAMETERS`].
mod param {
    pub const WEIGHTS: usize = 0;
    pub const PERMANENCE: usize = 5;
    pub const MONTHS: usize = 10;
    pub const SPEED_HORIZON: usize = 14;
    pub const FRONTLOAD_YEARS: usize = 15;
    pub const ERA_PLEDGED: usize = 16;
    pub const SANCTIONS_BASELINE: usize = 17;
    pub const NATO_TARGET: usize = 18;
    pub const SAFE_SHARE: usize = 19;
}

/// The model's parameters with their defaults; sources in `docs/models/pressure-index.md`.
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
        "weight.defence_capacity",
        "relative weight",
        0.20,
        0.0,
        1.0,
        "weight of defence_capacity in the index",
    ),
    Parameter::new(
        "permanence.immobilisation",
        "probability",
        0.70,
        0.0,
        1.0,
        "chance the assets stay out of Russia's reach when only frozen",
    ),
    Parameter::new(
        "permanence.windfall_profits",
        "probability",
        0.70,
        0.0,
        1.0,
        "same, when windfall profits are skimmed (principal untouched)",
    ),
    Parameter::new(
        "permanence.profits_backed_loan",
        "probability",
        0.80,
        0.0,
        1.0,
        "same, when a loan of 30+ years is serviced by the windfall",
    ),
    Parameter::new(
        "permanence.reparations_loan",
        "probability",
        0.90,
        0.0,
        1.0,
        "same, when the cash is lent out against reparations",
    ),
    Parameter::new(
        "permanence.confiscation",
        "probability",
        1.00,
        0.0,
        1.0,
        "same, when title is taken",
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
        "years of windfall an ERA-style loan front-loads",
    ),
    Parameter::new(
        "era.pledged_eur_bn",
        "EUR bn",
        45.0,
        0.0,
        1000.0,
        "pool already pledged to repay the G7 ERA loans",
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
        "weight of SAFE take-up inside defence_capacity (the rest: % of GDP)",
    ),
];

/// Concatenates two arrays in a `const` (to extend [`INPUTS`] or [`PARAMETERS`]).
///
/// # Panics
///
/// At compile time, if `L != N + M` or `N == 0`.
pub const fn concat<T: Copy, const N: usize, const M: usize, const L: usize>(
    a: [T; N],
    b: [T; M],
) -> [T; L] {
    assert!(N > 0 && N + M == L, "concat: L must be N + M and N > 0");
    let mut out = [a[0]; L];
    let mut i = 0;
    while i < N {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < M {
        out[N + j] = b[j];
        j += 1;
    }
    out
}

/// Returns `value` if it is finite and within `[min, max]`, else a message naming the input.
pub fn check_input(name: &str, value: f64, min: f64, max: f64) -> Result<f64, String> {
    if value.is_finite() && value >= min && value <= max {
        Ok(value)
    } else {
        Err(format!("{name} = {value} is outside [{min}, {max}]"))
    }
}

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
    /// `windfall.annual_eur_bn`.
    pub windfall_annual_eur_bn: f64,
    /// `funding.ukraine_need_eur_bn`, > 0.
    pub ukraine_need_eur_bn: f64,
    /// `russia.reserves_eur_bn`, > 0.
    pub russia_reserves_eur_bn: f64,
}

/// Largest amount accepted for any EUR bn input: far above any real figure, low enough to catch
/// a unit mistake (EUR instead of EUR bn).
pub const MAX_EUR_BN: f64 = 100_000.0;

impl Scenario {
    /// Reads the first [`INPUTS`]`.len()` values of a row, in [`INPUTS`] order.
    pub fn from_inputs(row: &[f64]) -> Result<Scenario, String> {
        let [
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
        ] = match row.get(..INPUTS.len()) {
            Some(&[a, b, c, d, e, f, g, h, i, j]) => [a, b, c, d, e, f, g, h, i, j],
            _ => return Err(format!("expected at least {} inputs", INPUTS.len())),
        };
        let positive = f64::MIN_POSITIVE;
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
            pool_eur_bn: check_input(inputs::POOL_EUR_BN, pool, 0.0, MAX_EUR_BN)?,
            immobilised_eur_bn: check_input(
                inputs::IMMOBILISED_EUR_BN,
                immobilised,
                0.0,
                MAX_EUR_BN,
            )?,
            windfall_annual_eur_bn: check_input(
                inputs::WINDFALL_ANNUAL_EUR_BN,
                windfall,
                0.0,
                MAX_EUR_BN,
            )?,
            ukraine_need_eur_bn: check_input(
                inputs::UKRAINE_NEED_EUR_BN,
                need,
                positive,
                MAX_EUR_BN,
            )?,
            russia_reserves_eur_bn: check_input(
                inputs::RUSSIA_RESERVES_EUR_BN,
                reserves,
                positive,
                MAX_EUR_BN,
            )?,
        })
    }
}

/// The model's parameters, read from a [`Config`] built against [`PARAMETERS`] (or a schema that
/// starts with them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Weights of the five components, in [`component`] order.
    pub weights: [f64; 5],
    /// Permanence per [`UseMode`].
    pub permanence: [f64; 5],
    /// Months to first money per [`UseMode`]; `None` for immobilisation (no money flows).
    pub months: [Option<f64>; 5],
    /// `speed.horizon_months`.
    pub speed_horizon_months: f64,
    /// `era.frontload_years`.
    pub frontload_years: f64,
    /// `era.pledged_eur_bn`.
    pub era_pledged_eur_bn: f64,
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
        let group = |start: usize| -> Result<[f64; 5], String> {
            Ok([
                get(start)?,
                get(start + 1)?,
                get(start + 2)?,
                get(start + 3)?,
                get(start + 4)?,
            ])
        };
        let weights = group(param::WEIGHTS)?;
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err("at least one weight.* parameter must be positive".to_owned());
        }
        let months = param::MONTHS;
        Ok(Params {
            weights,
            permanence: group(param::PERMANENCE)?,
            months: [
                None,
                Some(get(months)?),
                Some(get(months + 1)?),
                Some(get(months + 2)?),
                Some(get(months + 3)?),
            ],
            speed_horizon_months: get(param::SPEED_HORIZON)?,
            frontload_years: get(param::FRONTLOAD_YEARS)?,
            era_pledged_eur_bn: get(param::ERA_PLEDGED)?,
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

/// The pressure index and its components, each 0..100 index points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pressure {
    /// In [`component`] order.
    pub components: [f64; 5],
    /// Weighted mean of the components.
    pub index: f64,
    /// Cash delivered to Ukraine over the horizon, EUR bn (before the cap against the need).
    pub delivered_eur_bn: f64,
}

fn points(share: f64) -> f64 {
    (100.0 * share).clamp(0.0, 100.0)
}

/// Months to the first money under `mode`, or `None` if no money flows.
pub fn months_to_money(scenario: &Scenario, params: &Params) -> Option<f64> {
    params.months[scenario.use_mode.index()]
}

/// Cash delivered to Ukraine within the horizon, EUR bn.
pub fn delivered_eur_bn(scenario: &Scenario, params: &Params) -> f64 {
    let Some(months) = months_to_money(scenario, params) else {
        return 0.0;
    };
    let horizon_months = 12.0 * scenario.horizon_years;
    if months > horizon_months {
        return 0.0;
    }
    let windfall = scenario.windfall_annual_eur_bn;
    match scenario.use_mode {
        UseMode::Immobilisation => 0.0,
        // The flow, from the first payment to the end of the horizon.
        UseMode::WindfallProfits => windfall * (scenario.horizon_years - months / 12.0),
        // Years of windfall paid out at once, then the windfall services the loan.
        UseMode::ProfitsBackedLoan => windfall * params.frontload_years,
        // The cash, less what already secures the ERA loans.
        UseMode::ReparationsLoan => (scenario.pool_eur_bn - params.era_pledged_eur_bn).max(0.0),
        UseMode::Confiscation => scenario.pool_eur_bn,
    }
}

/// The pressure-on-Russia index of one scenario.
pub fn pressure(scenario: &Scenario, params: &Params) -> Pressure {
    let mode = scenario.use_mode.index();
    let denied_share = (scenario.immobilised_eur_bn / scenario.russia_reserves_eur_bn).min(1.0);
    let money_denied = points(denied_share * params.permanence[mode]);

    let delivered = delivered_eur_bn(scenario, params);
    let money_to_ukraine = points(delivered / scenario.ukraine_need_eur_bn);

    let speed = match months_to_money(scenario, params) {
        Some(months) => points(1.0 - months / params.speed_horizon_months),
        None => 0.0,
    };

    let baseline = params.sanctions_baseline;
    let sanctions_breadth = points(baseline + (1.0 - baseline) * scenario.sanctions_tightening);

    let spending = (scenario.defence_spending_gdp_pct / params.nato_core_target_pct).min(1.0);
    let defence_capacity =
        points(params.safe_share * scenario.safe_takeup + (1.0 - params.safe_share) * spending);

    let components = [
        money_denied,
        money_to_ukraine,
        speed,
        sanctions_breadth,
        defence_capacity,
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

/// A reference scenario close to the situation in early 2026: windfall capture on Euroclear's
/// cash, used by tests and documentation. Values in [`INPUTS`] order.
pub const REFERENCE_ROW: [f64; 10] = [
    1.0,   // windfall profits
    0.2,   // some tightening
    0.75,  // SAFE: EUR 112 bn of 150 approved (Feb 2026)
    2.1,   // % of GDP
    5.0,   // years
    185.0, // Euroclear central-bank assets
    260.0, // all located central-bank assets (EUR 260–265 bn)
    2.75,  // EU estimate EUR 2.5–3 bn a year
    135.0, // IMF need 2026–27
    580.0, // USD 640 bn of reserves in EUR
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
    fn defaults_are_valid() {
        let params = Params::defaults();
        assert!((params.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn use_mode_must_be_an_integer_from_zero_to_four() {
        assert_eq!(UseMode::from_input(3.0), Ok(UseMode::ReparationsLoan));
        for bad in [-1.0, 0.5, 5.0, f64::NAN] {
            assert!(UseMode::from_input(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_input_outside_its_range_names_the_input() {
        let mut row = REFERENCE_ROW;
        row[4] = 31.0;
        let err = Scenario::from_inputs(&row).expect_err("horizon too long");
        assert!(err.contains("lever.horizon_years = 31"), "{err}");
        row[4] = 5.0;
        row[9] = 0.0;
        assert!(Scenario::from_inputs(&row).is_err(), "zero reserves");
    }

    #[test]
    fn immobilisation_alone_delivers_nothing_and_is_not_fast() {
        let p = pressure(&scenario(0.0), &Params::defaults());
        assert_eq!(p.components[component::MONEY_TO_UKRAINE], 0.0);
        assert_eq!(p.components[component::SPEED], 0.0);
        assert!(p.components[component::MONEY_DENIED] > 0.0);
    }

    #[test]
    fn an_era_loan_front_loads_ten_years_of_windfall() {
        let params = Params::defaults();
        let delivered = delivered_eur_bn(&scenario(2.0), &params);
        assert_eq!(delivered, 2.75 * 10.0);
    }

    #[test]
    fn a_reparations_loan_delivers_the_pool_less_the_era_pledge() {
        let delivered = delivered_eur_bn(&scenario(3.0), &Params::defaults());
        assert_eq!(delivered, 185.0 - 45.0);
    }

    #[test]
    fn confiscation_delivers_the_pool_and_covers_the_need() {
        let p = pressure(&scenario(4.0), &Params::defaults());
        assert_eq!(p.delivered_eur_bn, 185.0);
        assert_eq!(p.components[component::MONEY_TO_UKRAINE], 100.0);
    }

    #[test]
    fn money_denied_reflects_the_share_of_reserves_and_permanence() {
        let p = pressure(&scenario(4.0), &Params::defaults());
        let expected = 100.0 * (260.0 / 580.0);
        assert!((p.components[component::MONEY_DENIED] - expected).abs() < 1e-9);
    }

    #[test]
    fn defence_capacity_saturates_at_the_nato_target() {
        let mut row = REFERENCE_ROW;
        row[2] = 1.0;
        row[3] = 5.0;
        let p = pressure(
            &Scenario::from_inputs(&row).expect("valid"),
            &Params::defaults(),
        );
        assert_eq!(p.components[component::DEFENCE_CAPACITY], 100.0);
    }

    #[test]
    fn the_index_is_the_weighted_mean_of_the_components() {
        let params = Params::defaults();
        let p = pressure(&scenario(1.0), &params);
        let mean: f64 = p
            .components
            .iter()
            .zip(params.weights)
            .map(|(c, w)| c * w)
            .sum::<f64>()
            / params.weights.iter().sum::<f64>();
        assert!((p.index - mean).abs() < 1e-9);
    }

    #[test]
    fn every_component_stays_within_zero_to_one_hundred_over_a_grid() {
        let params = Params::defaults();
        for mode in 0..5 {
            for step in 0..=10 {
                let x = f64::from(step) / 10.0;
                let row = [
                    f64::from(mode),
                    x,
                    x,
                    10.0 * x,
                    1.0 + 29.0 * x,
                    1000.0 * x,
                    1000.0 * x,
                    50.0 * x,
                    1.0 + 500.0 * x,
                    1.0 + 1000.0 * x,
                ];
                let p = pressure(&Scenario::from_inputs(&row).expect("valid"), &params);
                for value in p.components.iter().chain([&p.index]) {
                    assert!((0.0..=100.0).contains(value), "{row:?} → {value}");
                }
            }
        }
    }

    #[test]
    fn concat_joins_arrays_in_order() {
        const JOINED: [u8; 5] = concat([1, 2], [3, 4, 5]);
        assert_eq!(JOINED, [1, 2, 3, 4, 5]);
    }
}
