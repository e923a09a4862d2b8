//! The formulas of `prudent-pressure` 1.0, kept for reproducibility: the pressure index (1.0)
//! discounted by legal risk, retaliation exposure, euro / financial-stability risk and a
//! ceasefire's bargaining value. Moved here unchanged from the plugin crate when the plugin
//! went to 2.0 ([`crate::prudent_v2`]); `tests/golden.rs` pins their numbers to the bit.
//! Documentation: `docs/models/prudent-pressure.md`, section "Version 1.0".

use leverage_plugin_api::{Component, Config, Input, Parameter};

use crate::{
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

/// The inputs in the order [`score`] reads them: the pressure inputs (1.0), then four.
pub const INPUTS: [Input; 14] = concat(
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

/// The five components of 1.0.
pub const COMPONENTS: [Component; 5] = [
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

/// The pressure parameters (1.0), then the five discount parameters.
pub const PARAMETERS: [Parameter; 25] = concat(
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

/// The model's parameters: the pressure ones and the discount weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrudentParams {
    pub pressure: Params,
    pub legal_weight: f64,
    pub retaliation_weight: f64,
    pub euro_weight: f64,
    pub guarantee_mitigation: f64,
    pub ceasefire_weight: f64,
}

impl PrudentParams {
    /// Reads every parameter of [`PARAMETERS`] from `config`.
    pub fn from_config(config: &Config) -> Result<PrudentParams, String> {
        let get = |index: usize| config.get(PARAMETERS[N_PRESSURE_PARAMETERS + index].name());
        Ok(PrudentParams {
            pressure: Params::from_config(config)?,
            legal_weight: get(0)?,
            retaliation_weight: get(1)?,
            euro_weight: get(2)?,
            guarantee_mitigation: get(3)?,
            ceasefire_weight: get(4)?,
        })
    }
}

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
                crate::MAX_EUR_BN,
            )?,
            guarantee_sharing: check_input(inputs::GUARANTEE_SHARING, sharing, 0.0, 1.0)?,
            ceasefire: check_input(inputs::CEASEFIRE, ceasefire, 0.0, 1.0)?,
        })
    }
}

impl PrudentParams {
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

/// The prudent score of one row of [`INPUTS`] and its components, in [`component`] order.
pub fn score(inputs: &[f64], params: &PrudentParams) -> Result<(f64, [f64; 5]), String> {
    let scenario = Scenario::from_inputs(inputs)?;
    let risks = Risks::from_inputs(inputs.get(N_PRESSURE_INPUTS..).unwrap_or(&[]))?;
    let base = pressure(&scenario, &params.pressure).index;
    let discounts = params.discounts(scenario.use_mode, scenario.pool_eur_bn, &risks);
    let kept: f64 = discounts.iter().map(|d| 1.0 - d / 100.0).product();
    let mut components = [0.0; 5];
    components[component::BASE_PRESSURE] = base;
    components[component::LEGAL..].copy_from_slice(&discounts);
    Ok(((base * kept).clamp(0.0, 100.0), components))
}
