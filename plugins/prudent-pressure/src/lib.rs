//! Prudent pressure: the pressure index discounted by what could go wrong — the risk that a
//! court annuls the measure, what Russia can take from the custodians (by counter-measures or by
//! enforcing a judgment), reserve managers' reaction, and the bargaining value a ceasefire gives
//! the assets. Each discount is shown as a component, and each risk is counted once.
//!
//! Version 2.0 (formulas in `leverage_pressure_model::prudent_v2`); the 1.0 formulas are kept in
//! `leverage_pressure_model::prudent_v1`. Documentation with formulas and sources:
//! `docs/models/prudent-pressure.md`.

use leverage_plugin_api::{Component, Config, Metadata, Output, ScoringPlugin};
use leverage_pressure_model::prudent_v2::{COMPONENTS, INPUTS, PARAMETERS, PrudentParams, score};

/// The prudent-pressure model.
#[derive(Debug)]
pub struct PrudentPressure {
    params: PrudentParams,
}

const METADATA: Metadata = Metadata {
    id: "prudent-pressure",
    name: "Legally prudent pressure",
    version: "2.0.0",
    description: "The pressure index 2.0 discounted by annulment risk, what Russia can take from \
                  the custodians where its judgments are enforced, reserve managers' reaction \
                  and a ceasefire's bargaining value; each risk counted once.",
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

impl ScoringPlugin for PrudentPressure {
    fn metadata() -> Metadata {
        METADATA
    }

    fn model_card() -> &'static str {
        include_str!("../../../docs/models/prudent-pressure/card.md")
    }

    fn new(config: &Config) -> Result<Self, String> {
        Ok(PrudentPressure {
            params: PrudentParams::from_config(config)?,
        })
    }

    fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
        let (prudent, components) = score(inputs, &self.params)?;
        out.set_score(prudent);
        out.components_mut().copy_from_slice(&components);
        Ok(())
    }
}

leverage_plugin_api::export_scoring_plugin!(PrudentPressure);

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_plugin_api::testing::Harness;
    use leverage_pressure_model::prudent_v2::{REFERENCE_ROW, component};
    use leverage_pressure_model::v2;

    const RISKS: usize = v2::INPUTS.len();

    fn score_row(row: &[f64]) -> Vec<f64> {
        let mut harness = Harness::new::<PrudentPressure>("").expect("loads");
        harness.score(row).expect("scores")
    }

    #[test]
    fn base_pressure_equals_the_pressure_index_2_0() {
        let scenario = v2::Scenario::from_inputs(&REFERENCE_ROW).expect("valid");
        let index = v2::pressure(&scenario, &v2::Params::defaults()).index;
        assert_eq!(
            score_row(&REFERENCE_ROW)[1 + component::BASE_PRESSURE],
            index
        );
    }

    #[test]
    fn prudence_never_adds_pressure_and_annulment_risk_takes_some_away() {
        let out = score_row(&REFERENCE_ROW);
        assert!(out[0] < out[1 + component::BASE_PRESSURE], "{out:?}");
        assert_eq!(out[1 + component::LEGAL], 15.0);
    }

    /// Each risk input moves one discount: zeroing it through the real ABI shims leaves every
    /// other component where it was.
    #[test]
    fn no_component_depends_on_retaliation_twice() {
        let before = {
            let mut row = REFERENCE_ROW;
            row[RISKS + 2] = 0.0; // no damages: the loss is the retaliation risk's alone
            row
        };
        for zeroed in [RISKS + 1, RISKS + 3] {
            let mut after = before;
            after[zeroed] = 0.0;
            let (a, b) = (score_row(&before), score_row(&after));
            for c in [
                component::BASE_PRESSURE,
                component::LEGAL,
                component::EURO,
                component::CEASEFIRE,
            ] {
                assert_eq!(
                    a[1 + c].to_bits(),
                    b[1 + c].to_bits(),
                    "input {zeroed}, component {c}"
                );
            }
            assert!(b[1 + component::RETALIATION] < a[1 + component::RETALIATION]);
            assert_eq!(b[1 + component::RETALIATION], 0.0);
        }
    }

    #[test]
    fn the_keys_that_2_0_dropped_are_refused_by_name() {
        for key in [
            "discount.euro_weight = 0.5",
            "discount.guarantee_mitigation = 0.6",
        ] {
            let err = Harness::new::<PrudentPressure>(key).expect_err("unknown key");
            assert!(err.contains(key.split(' ').next().unwrap_or(key)), "{err}");
        }
    }

    #[test]
    fn out_of_range_risk_fails_the_row() {
        let mut harness = Harness::new::<PrudentPressure>("").expect("loads");
        let mut row = REFERENCE_ROW;
        row[RISKS] = 1.5;
        let err = harness.score(&row).expect_err("risk > 1");
        assert!(err.contains("legal.annulment.selected = 1.5"), "{err}");
    }
}
