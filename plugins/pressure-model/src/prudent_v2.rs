//! Prudent pressure 2.0: the pressure index 2.0 discounted by what could go wrong, each risk
//! counted once (issue 15).
//!
//! 1.0 counted Russian retaliation and the custodian's liability twice: inside the legal risk
//! (legal-risk/1 has doctrines for counter-measures and for the liability mismatch) and again
//! as the retaliation discount and as the part of the euro discount that shared guarantees
//! mitigate. 2.0 keeps each risk in one component:
//!
//! - `legal_discount`: legal-risk/2's *annulment* risk only (can a court undo the measure);
//! - `retaliation_discount`: what Russia can take from the custodians, by counter-measures or
//!   by enforcing a judgment, measured on the custodians' assets in jurisdictions that would
//!   enforce a Russian judgment (not on their clients' assets in Russia);
//! - `euro_risk_discount`: reserve managers' and markets' reaction only, no custodian
//!   liability (so guarantee sharing, which moves that liability between states, no longer
//!   enters);
//! - `ceasefire_discount`: as in 1.0.
//!
//! Formulas and sources: `docs/models/prudent-pressure.md`.

use leverage_plugin_api::{Component, Config, Input, Parameter};

use crate::v2::{self, UseMode};
use crate::{MAX_EUR_BN, check_input, concat};

/// Catalog names of the inputs this model adds to the pressure inputs 2.0.
pub mod inputs {
    /// 0..1, legal-risk/2's annulment risk of the chosen use mode.
    pub const ANNULMENT_SELECTED: &str = "legal.annulment.selected";
    /// 0..1, legal-risk/2's retaliation risk of the chosen use mode.
    pub const RETALIATION_SELECTED: &str = "legal.retaliation.selected";
    /// EUR bn of damages awarded or claimed against the custodians of the mobilised assets.
    pub const DAMAGES_EUR_BN: &str = "legal.damages_eur_bn";
    /// EUR bn of the custodians' own assets in jurisdictions that would enforce a Russian
    /// judgment.
    pub const ENFORCEABLE_EUR_BN: &str = "exposure.enforceable_eur_bn";
    /// 0 or 1 (a probability in between is accepted).
    pub const CEASEFIRE: &str = "lever.ceasefire";
}

const N_PRESSURE_INPUTS: usize = v2::INPUTS.len();

/// The inputs in the order [`score`] reads them: the pressure inputs 2.0, then five.
pub const INPUTS: [Input; 18] = concat(
    v2::INPUTS,
    [
        Input::new(inputs::ANNULMENT_SELECTED, "0..1"),
        Input::new(inputs::RETALIATION_SELECTED, "0..1"),
        Input::new(inputs::DAMAGES_EUR_BN, "EUR bn"),
        Input::new(inputs::ENFORCEABLE_EUR_BN, "EUR bn"),
        Input::new(inputs::CEASEFIRE, "0 or 1"),
    ],
);

const PERCENT: &str = "% of pressure discounted";

/// Index of each component.
pub mod component {
    /// The undiscounted pressure index 2.0.
    pub const BASE_PRESSURE: usize = 0;
    /// Discount for the risk that a court annuls the measure.
    pub const LEGAL: usize = 1;
    /// Discount for what Russia can take from the custodians.
    pub const RETALIATION: usize = 2;
    /// Discount for reserve managers' and markets' reaction.
    pub const EURO: usize = 3;
    /// Discount for spending a bargaining chip under a ceasefire.
    pub const CEASEFIRE: usize = 4;
}

/// The five components of 2.0.
pub const COMPONENTS: [Component; 5] = [
    Component::new(
        "base_pressure",
        "index points",
        0.0,
        100.0,
        "the pressure index 2.0 before discounts (same formulas as pressure-index 2.0)",
    ),
    Component::new(
        "legal_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.legal_weight × legal.annulment.selected (annulment only: consequences are in retaliation_discount)",
    ),
    Component::new(
        "retaliation_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.retaliation_weight × L / (L + pool), L = max(retaliation risk × E, min(damages, E)), E = the custodians' assets where a Russian judgment is enforceable",
    ),
    Component::new(
        "euro_risk_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.euro_stability_weight × level(mode): reserve managers' reaction, without custodian liability",
    ),
    Component::new(
        "ceasefire_discount",
        PERCENT,
        0.0,
        100.0,
        "100 × discount.ceasefire_weight × ceasefire × irreversibility(mode)",
    ),
];

const N_PRESSURE_PARAMETERS: usize = v2::PARAMETERS.len();

/// The pressure parameters 2.0, then four discount weights.
pub const PARAMETERS: [Parameter; 24] = concat(
    v2::PARAMETERS,
    [
        Parameter::new(
            "discount.legal_weight",
            "0..1",
            1.0,
            0.0,
            1.0,
            "how much of the annulment risk discounts the pressure (1: pressure that courts undo counts for nothing)",
        ),
        Parameter::new(
            "discount.retaliation_weight",
            "0..1",
            1.0,
            0.0,
            1.0,
            "how much of the custodians' loss share discounts the pressure",
        ),
        Parameter::new(
            "discount.euro_stability_weight",
            "0..1",
            0.2,
            0.0,
            1.0,
            "largest discount for reserve managers' reaction, at the most intense use (1.0's 0.5 less the 60 % that shared guarantees removed: that part was custodian liability)",
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

/// Euro / financial-stability risk level per use mode (research notes §5, last column); the
/// 2026 package as windfall profits and the ERA loans (the principal is untouched).
pub const EURO_RISK_LEVEL: [f64; 6] = [0.25, 0.375, 0.375, 0.75, 1.0, 0.375];
/// How irreversibly each mode spends the assets as a bargaining chip (assumption, see docs);
/// the 2026 package as the ERA loans (the windfall is committed for decades).
pub const IRREVERSIBILITY: [f64; 6] = [0.0, 0.1, 0.25, 0.75, 1.0, 0.25];

/// The model's parameters: the pressure ones 2.0 and the discount weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrudentParams {
    pub pressure: v2::Params,
    pub legal_weight: f64,
    pub retaliation_weight: f64,
    pub euro_stability_weight: f64,
    pub ceasefire_weight: f64,
}

impl PrudentParams {
    /// Reads every parameter of [`PARAMETERS`] from `config`.
    pub fn from_config(config: &Config) -> Result<PrudentParams, String> {
        let get = |index: usize| config.get(PARAMETERS[N_PRESSURE_PARAMETERS + index].name());
        Ok(PrudentParams {
            pressure: v2::Params::from_config(config)?,
            legal_weight: get(0)?,
            retaliation_weight: get(1)?,
            euro_stability_weight: get(2)?,
            ceasefire_weight: get(3)?,
        })
    }

    /// Every parameter at its default.
    pub fn defaults() -> PrudentParams {
        match PrudentParams::from_config(&Config::defaults(&PARAMETERS)) {
            Ok(params) => params,
            // The defaults are constants within their ranges; a test pins this.
            Err(message) => unreachable!("default parameters are invalid: {message}"),
        }
    }
}

/// The risk inputs, validated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Risks {
    /// `legal.annulment.selected`.
    pub annulment: f64,
    /// `legal.retaliation.selected`.
    pub retaliation: f64,
    /// `legal.damages_eur_bn`.
    pub damages_eur_bn: f64,
    /// `exposure.enforceable_eur_bn`.
    pub enforceable_eur_bn: f64,
    /// `lever.ceasefire`.
    pub ceasefire: f64,
}

impl Risks {
    /// Reads the five values that follow the pressure inputs.
    pub fn from_inputs(extra: &[f64]) -> Result<Risks, String> {
        let &[annulment, retaliation, damages, enforceable, ceasefire] = extra else {
            return Err(format!("expected {} inputs", INPUTS.len()));
        };
        Ok(Risks {
            annulment: check_input(inputs::ANNULMENT_SELECTED, annulment, 0.0, 1.0)?,
            retaliation: check_input(inputs::RETALIATION_SELECTED, retaliation, 0.0, 1.0)?,
            damages_eur_bn: check_input(inputs::DAMAGES_EUR_BN, damages, 0.0, MAX_EUR_BN)?,
            enforceable_eur_bn: check_input(
                inputs::ENFORCEABLE_EUR_BN,
                enforceable,
                0.0,
                MAX_EUR_BN,
            )?,
            ceasefire: check_input(inputs::CEASEFIRE, ceasefire, 0.0, 1.0)?,
        })
    }
}

/// What Russia can expect to take from the custodians, EUR bn: their assets within its reach
/// (`E`, where a Russian judgment would be enforced) are lost at most once, whether by
/// counter-measures (with the retaliation risk) or by enforcing damages (awarded or claimed,
/// up to `E`); so the larger of the two, never their sum.
pub fn expected_loss_eur_bn(risks: &Risks) -> f64 {
    let reachable = risks.enforceable_eur_bn;
    (risks.retaliation * reachable).max(risks.damages_eur_bn.min(reachable))
}

/// The four discounts in percent, in [`component`] order from `LEGAL`. Each reads its own
/// inputs: annulment risk; retaliation risk, damages and enforceable exposure; the mode; the
/// ceasefire. No input feeds two discounts.
pub fn discounts(
    mode: UseMode,
    pool_eur_bn: f64,
    risks: &Risks,
    params: &PrudentParams,
) -> [f64; 4] {
    let percent = |share: f64| (100.0 * share).clamp(0.0, 100.0);
    let loss = expected_loss_eur_bn(risks);
    let loss_share = if loss + pool_eur_bn > 0.0 {
        loss / (loss + pool_eur_bn)
    } else {
        0.0
    };
    let mode = mode.index();
    [
        percent(params.legal_weight * risks.annulment),
        percent(params.retaliation_weight * loss_share),
        percent(params.euro_stability_weight * EURO_RISK_LEVEL[mode]),
        percent(params.ceasefire_weight * risks.ceasefire * IRREVERSIBILITY[mode]),
    ]
}

/// The prudent score 2.0 of one row of [`INPUTS`] and its components, in [`component`] order:
/// base × Π (1 − discount / 100).
pub fn score(inputs: &[f64], params: &PrudentParams) -> Result<(f64, [f64; 5]), String> {
    let scenario = v2::Scenario::from_inputs(inputs)?;
    let risks = Risks::from_inputs(inputs.get(N_PRESSURE_INPUTS..).unwrap_or(&[]))?;
    let base = v2::pressure(&scenario, &params.pressure).index;
    let discounts = discounts(scenario.use_mode, scenario.pool_eur_bn, &risks, params);
    let kept: f64 = discounts.iter().map(|d| 1.0 - d / 100.0).product();
    let mut components = [0.0; 5];
    components[component::BASE_PRESSURE] = base;
    components[component::LEGAL..].copy_from_slice(&discounts);
    Ok(((base * kept).clamp(0.0, 100.0), components))
}

/// The 2.0 reference row ([`v2::REFERENCE_ROW`]) plus: annulment risk 0.15, retaliation risk
/// 0.5, EUR 200 bn of damages claimed, EUR 10 bn of custodian assets where a Russian judgment
/// is enforceable (synthetic values for tests and documentation), no ceasefire.
pub const REFERENCE_ROW: [f64; 18] = concat(v2::REFERENCE_ROW, [0.15, 0.5, 200.0, 10.0, 0.0]);

#[cfg(test)]
mod tests {
    use super::*;

    const ANNULMENT: usize = N_PRESSURE_INPUTS;
    const RETALIATION: usize = N_PRESSURE_INPUTS + 1;
    const DAMAGES: usize = N_PRESSURE_INPUTS + 2;
    const ENFORCEABLE: usize = N_PRESSURE_INPUTS + 3;
    const CEASEFIRE: usize = N_PRESSURE_INPUTS + 4;

    fn components(row: &[f64]) -> [f64; 5] {
        score(row, &PrudentParams::defaults()).expect("scores").1
    }

    /// Asserts that only the components in `moving` differ between two rows.
    fn only_these_move(a: &[f64], b: &[f64], moving: &[usize]) {
        let (ca, cb) = (components(a), components(b));
        for i in 0..ca.len() {
            if moving.contains(&i) {
                assert_ne!(ca[i], cb[i], "component {i} should move: {ca:?} {cb:?}");
            } else {
                assert_eq!(ca[i], cb[i], "component {i} moved: {ca:?} {cb:?}");
            }
        }
    }

    #[test]
    fn defaults_are_valid() {
        let params = PrudentParams::defaults();
        assert_eq!(params.euro_stability_weight, 0.2);
    }

    #[test]
    fn zeroing_the_retaliation_risk_moves_only_the_retaliation_discount() {
        let mut before = REFERENCE_ROW;
        // No damages: the loss is the retaliation risk's alone.
        before[DAMAGES] = 0.0;
        let mut after = before;
        after[RETALIATION] = 0.0;
        only_these_move(&before, &after, &[component::RETALIATION]);
        assert_eq!(components(&after)[component::RETALIATION], 0.0);
    }

    #[test]
    fn zeroing_the_enforceable_exposure_moves_only_the_retaliation_discount() {
        let mut after = REFERENCE_ROW;
        after[ENFORCEABLE] = 0.0;
        only_these_move(&REFERENCE_ROW, &after, &[component::RETALIATION]);
        assert_eq!(components(&after)[component::RETALIATION], 0.0);
    }

    #[test]
    fn zeroing_the_annulment_risk_moves_only_the_legal_discount() {
        let mut after = REFERENCE_ROW;
        after[ANNULMENT] = 0.0;
        only_these_move(&REFERENCE_ROW, &after, &[component::LEGAL]);
    }

    #[test]
    fn damages_and_retaliation_take_the_same_assets_once() {
        let risks = |retaliation, damages| Risks {
            annulment: 0.0,
            retaliation,
            damages_eur_bn: damages,
            enforceable_eur_bn: 10.0,
            ceasefire: 0.0,
        };
        assert_eq!(expected_loss_eur_bn(&risks(0.5, 0.0)), 5.0);
        assert_eq!(expected_loss_eur_bn(&risks(0.5, 3.0)), 5.0);
        assert_eq!(expected_loss_eur_bn(&risks(0.5, 8.0)), 8.0);
        // A claim of EUR 200 bn cannot take more than the EUR 10 bn within reach.
        assert_eq!(expected_loss_eur_bn(&risks(1.0, 200.0)), 10.0);
    }

    #[test]
    fn the_euro_discount_reads_no_risk_input() {
        let mut changed = REFERENCE_ROW;
        changed[ANNULMENT] = 0.9;
        changed[RETALIATION] = 1.0;
        changed[DAMAGES] = 0.0;
        changed[ENFORCEABLE] = 500.0;
        assert_eq!(
            components(&changed)[component::EURO],
            components(&REFERENCE_ROW)[component::EURO]
        );
    }

    #[test]
    fn base_pressure_is_the_pressure_index_2_0() {
        let scenario = v2::Scenario::from_inputs(&REFERENCE_ROW).expect("valid");
        let index = v2::pressure(&scenario, &v2::Params::defaults()).index;
        assert_eq!(components(&REFERENCE_ROW)[component::BASE_PRESSURE], index);
    }

    #[test]
    fn a_ceasefire_discounts_confiscation_more_than_the_package_and_not_a_freeze() {
        let with_ceasefire = |mode: f64| {
            let mut row = REFERENCE_ROW;
            row[0] = mode;
            row[CEASEFIRE] = 1.0;
            components(&row)[component::CEASEFIRE]
        };
        assert_eq!(with_ceasefire(0.0), 0.0);
        assert!(with_ceasefire(4.0) > with_ceasefire(5.0));
        assert!(with_ceasefire(5.0) > 0.0);
    }

    #[test]
    fn prudence_never_adds_pressure() {
        for mode in 0..6 {
            let mut row = REFERENCE_ROW;
            row[0] = f64::from(mode);
            let (prudent, parts) = score(&row, &PrudentParams::defaults()).expect("scores");
            assert!(prudent <= parts[component::BASE_PRESSURE], "mode {mode}");
        }
    }

    #[test]
    fn out_of_range_risk_fails_the_row_naming_the_input() {
        let mut row = REFERENCE_ROW;
        row[ANNULMENT] = 1.5;
        let err = score(&row, &PrudentParams::defaults()).expect_err("risk > 1");
        assert!(err.contains("legal.annulment.selected = 1.5"), "{err}");
    }
}
