//! Prudent pressure: the pressure index discounted by what could go wrong — legal risk of the
//! chosen use, exposure to Russian retaliation, risk to the euro and financial stability, and the
//! bargaining value a ceasefire gives the assets. Each discount is shown as a component.
//!
//! Documentation with formulas and sources: `docs/models/prudent-pressure.md`.

use leverage_plugin_api::{Component, Config, Input, Metadata, Output, Parameter, ScoringPlugin};
use leverage_pressure_model::{
    INPUTS as PRESSURE_INPUTS, PARAMETERS as PRESSURE_PARAMETERS, Params, Scenario, UseMode,
    check_input, concat, pressure,
};

/// Catalog names of the inputs this model adds to the pressure inputs.
pub mod inputs {
    /// 0..1, the legal risk of the chosen use mode.
    pub const LEGAL_RISK_SELECTED: &str = "legal.risk.selected";
    /// EUR bn of Euroclear client assets stuck in Russia.
    pub const RETALIATION_EUR_BN: &str = "exposure.retaliation_eur_bn";
    /// 0..1 share of the guarantees mutualised beyond the custodian's state.
    pub const GUARANTEE_SHARING: &str = "lever.guarantee_sharing";
    /// 0 or 1 (a probability in between is accepted).
    pub const CEASEFIRE: &str = "lever.ceasefire";
}

const N_PRESSURE_INPUTS: usize = PRESSURE_INPUTS.len();

const INPUTS: [Input; 14] = concat(
    PRESSURE_INPUTS,
    [
        Input::new(inputs::LEGAL_RISK_SELECTED, "0..1"),
        Input::new(inputs::RETALIATION_EUR_BN, "EUR bn"),
        Input::new(inputs::GUARANTEE_SHARING, "0..1"),
        Input::new(inputs::CEASEFIRE, "0 or 1"),
    ],
);

const PERCENT: &str = "% of pressure discounted";

/// Index of each component.
pub mod component {
    /// The undiscounted pressure index.
    pub const BASE_PRESSURE: usize = 0;
    /// Discount for legal risk.
    pub const LEGAL: usize = 1;
    /// Discount for retaliation exposure.
    pub const RETALIATION: usize = 2;
    /// Discount for euro / financial-stability risk.
    pub const EURO: usize = 3;
    /// Discount for spending a bargaining chip under a ceasefire.
    pub const CEASEFIRE: usize = 4;
}

const COMPONENTS: [Component; 5] = [
    Component::new(
        "base_pressure",
        "index points",
        0.0,
        100.0,
        "the pressure index before discounts (same formulas as pressure-index)",
    ),
    Component::new(
        "legal_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.legal_weight × legal.risk.selected",
    ),
    Component::new(
        "retaliation_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.retaliation_weight × intensity(mode) × exposure / (exposure + pool)",
    ),
    Component::new(
        "euro_risk_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.euro_weight × level(mode) × (1 − discount.guarantee_mitigation × guarantee_sharing)",
    ),
    Component::new(
        "ceasefire_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.ceasefire_weight × ceasefire × irreversibility(mode)",
    ),
];

const N_PRESSURE_PARAMETERS: usize = PRESSURE_PARAMETERS.len();

const PARAMETERS: [Parameter; 25] = concat(
    PRESSURE_PARAMETERS,
    [
        Parameter::new(
            "discount.legal_weight",
            "0..1",
            1.0,
            0.0,
            1.0,
            "how much of the legal risk discounts the pressure (1: pressure that courts undo counts for nothing)",
        ),
        Parameter::new(
            "discount.retaliation_weight",
            "0..1",
            1.0,
            0.0,
            1.0,
            "how much of the retaliation exposure share discounts the pressure",
        ),
        Parameter::new(
            "discount.euro_weight",
            "0..1",
            0.5,
            0.0,
            1.0,
            "largest discount for euro / financial-stability risk, at the most intense use",
        ),
        Parameter::new(
            "discount.guarantee_mitigation",
            "0..1",
            0.6,
            0.0,
            1.0,
            "share of the euro risk removed when guarantees are fully mutualised",
        ),
        Parameter::new(
            "discount.ceasefire_weight",
            "0..1",
            0.3,
            0.0,
            1.0,
            "largest discount for spending the assets as a bargaining chip under a ceasefire",
        ),
    ],
);

/// Retaliation intensity per use mode (research notes §5, "Russian retaliation" column).
pub const RETALIATION_INTENSITY: [f64; 5] = [0.25, 0.5, 0.5, 1.0, 1.0];
/// Euro / financial-stability risk level per use mode (§5, last column).
pub const EURO_RISK_LEVEL: [f64; 5] = [0.25, 0.375, 0.375, 0.75, 1.0];
/// How irreversibly each mode spends the assets as a bargaining chip (assumption, see docs).
pub const IRREVERSIBILITY: [f64; 5] = [0.0, 0.1, 0.25, 0.75, 1.0];

/// The prudent-pressure model.
#[derive(Debug)]
pub struct PrudentPressure {
    pressure: Params,
    legal_weight: f64,
    retaliation_weight: f64,
    euro_weight: f64,
    guarantee_mitigation: f64,
    ceasefire_weight: f64,
}

const METADATA: Metadata = Metadata {
    id: "prudent-pressure",
    name: "Legally prudent pressure",
    version: "1.0.0",
    description: "The pressure index discounted by legal risk, retaliation exposure, euro / \
                  financial-stability risk and a ceasefire's bargaining value.",
    build_id: concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")),
    inputs: &INPUTS,
    components: &COMPONENTS,
    score: Component::new(
        "prudent_pressure",
        "index points",
        0.0,
        100.0,
        "base pressure × (1 − each discount)",
    ),
    parameters: &PARAMETERS,
};

/// The extra inputs, validated.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Risks {
    legal: f64,
    retaliation_eur_bn: f64,
    guarantee_sharing: f64,
    ceasefire: f64,
}

impl Risks {
    fn from_inputs(extra: &[f64]) -> Result<Risks, String> {
        let &[legal, retaliation, sharing, ceasefire] = extra else {
            return Err(format!("expected {} inputs", INPUTS.len()));
        };
        Ok(Risks {
            legal: check_input(inputs::LEGAL_RISK_SELECTED, legal, 0.0, 1.0)?,
            retaliation_eur_bn: check_input(
                inputs::RETALIATION_EUR_BN,
                retaliation,
                0.0,
                leverage_pressure_model::MAX_EUR_BN,
            )?,
            guarantee_sharing: check_input(inputs::GUARANTEE_SHARING, sharing, 0.0, 1.0)?,
            ceasefire: check_input(inputs::CEASEFIRE, ceasefire, 0.0, 1.0)?,
        })
    }
}

impl PrudentPressure {
    /// The discounts in percent, in [`component`] order from `LEGAL`.
    fn discounts(&self, mode: UseMode, pool_eur_bn: f64, risks: &Risks) -> [f64; 4] {
        let mode = mode.index();
        let exposure = risks.retaliation_eur_bn;
        let exposure_share = if exposure + pool_eur_bn > 0.0 {
            exposure / (exposure + pool_eur_bn)
        } else {
            0.0
        };
        let percent = |share: f64| (100.0 * share).clamp(0.0, 100.0);
        [
            percent(self.legal_weight * risks.legal),
            percent(self.retaliation_weight * RETALIATION_INTENSITY[mode] * exposure_share),
            percent(
                self.euro_weight
                    * EURO_RISK_LEVEL[mode]
                    * (1.0 - self.guarantee_mitigation * risks.guarantee_sharing),
            ),
            percent(self.ceasefire_weight * risks.ceasefire * IRREVERSIBILITY[mode]),
        ]
    }
}

impl ScoringPlugin for PrudentPressure {
    fn metadata() -> Metadata {
        METADATA
    }

    fn model_card() -> &'static str {
        include_str!("../../../docs/models/prudent-pressure/card.md")
    }

    fn new(config: &Config) -> Result<Self, String> {
        let get = |index: usize| config.get(PARAMETERS[N_PRESSURE_PARAMETERS + index].name());
        Ok(PrudentPressure {
            pressure: Params::from_config(config)?,
            legal_weight: get(0)?,
            retaliation_weight: get(1)?,
            euro_weight: get(2)?,
            guarantee_mitigation: get(3)?,
            ceasefire_weight: get(4)?,
        })
    }

    fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
        let scenario = Scenario::from_inputs(inputs)?;
        let risks = Risks::from_inputs(inputs.get(N_PRESSURE_INPUTS..).unwrap_or(&[]))?;
        let base = pressure(&scenario, &self.pressure).index;
        let discounts = self.discounts(scenario.use_mode, scenario.pool_eur_bn, &risks);
        let kept: f64 = discounts.iter().map(|d| 1.0 - d / 100.0).product();
        out.set_score((base * kept).clamp(0.0, 100.0));
        let components = out.components_mut();
        components[component::BASE_PRESSURE] = base;
        components[component::LEGAL..].copy_from_slice(&discounts);
        Ok(())
    }
}

leverage_plugin_api::export_scoring_plugin!(PrudentPressure);

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_plugin_api::testing::Harness;
    use leverage_pressure_model::REFERENCE_ROW;

    /// The reference scenario plus: legal risk 0.3, EUR 16 bn exposed, no sharing, no ceasefire.
    fn row(mode: f64, legal: f64, sharing: f64, ceasefire: f64) -> Vec<f64> {
        let mut row = REFERENCE_ROW.to_vec();
        row[0] = mode;
        row.extend([legal, 16.0, sharing, ceasefire]);
        row
    }

    fn score(row: &[f64]) -> Vec<f64> {
        let mut harness = Harness::new::<PrudentPressure>("").expect("loads");
        harness.score(row).expect("scores")
    }

    #[test]
    fn base_pressure_equals_the_pressure_index() {
        let row = row(3.0, 0.3, 0.0, 0.0);
        let scenario = Scenario::from_inputs(&row).expect("valid");
        let index = pressure(&scenario, &Params::defaults()).index;
        assert_eq!(score(&row)[1 + component::BASE_PRESSURE], index);
    }

    #[test]
    fn prudence_never_adds_pressure_and_legal_risk_takes_some_away() {
        let out = score(&row(3.0, 0.3, 0.0, 0.0));
        assert!(out[0] < out[1 + component::BASE_PRESSURE], "{out:?}");
        assert_eq!(out[1 + component::LEGAL], 30.0);
    }

    #[test]
    fn shared_guarantees_lower_the_euro_discount() {
        let alone = score(&row(3.0, 0.3, 0.0, 0.0))[1 + component::EURO];
        let shared = score(&row(3.0, 0.3, 1.0, 0.0))[1 + component::EURO];
        assert!(shared < alone, "{shared} >= {alone}");
    }

    #[test]
    fn a_ceasefire_discounts_confiscation_but_not_a_freeze() {
        assert_eq!(
            score(&row(0.0, 0.1, 0.0, 1.0))[1 + component::CEASEFIRE],
            0.0
        );
        assert!(score(&row(4.0, 0.1, 0.0, 1.0))[1 + component::CEASEFIRE] > 0.0);
    }

    #[test]
    fn retaliation_exposure_is_measured_against_the_pool() {
        let out = score(&row(4.0, 0.0, 0.0, 0.0));
        let expected = 100.0 * 16.0 / (16.0 + 185.0);
        assert!((out[1 + component::RETALIATION] - expected).abs() < 1e-9);
    }

    #[test]
    fn out_of_range_risk_fails_the_row() {
        let mut harness = Harness::new::<PrudentPressure>("").expect("loads");
        let err = harness
            .score(&row(1.0, 1.5, 0.0, 0.0))
            .expect_err("risk > 1");
        assert!(err.contains("legal.risk.selected = 1.5"), "{err}");
    }
}
