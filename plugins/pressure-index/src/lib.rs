//! Pressure index: how hard a scenario presses on Russia, 0..100 index points, from four
//! components (money denied, money to Ukraine, speed, sanctions breadth), with European defence
//! capacity reported beside it.
//!
//! Version 2.0 (formulas in `leverage_pressure_model::v2`); the 1.0 formulas stay in the crate
//! root of `leverage-pressure-model` for reproducibility. Documentation with formulas and
//! sources: `docs/models/pressure-index.md`.

use leverage_plugin_api::{Component, Config, Metadata, Output, ScoringPlugin};
use leverage_pressure_model::v2::{COMPONENTS, INPUTS, PARAMETERS, Params, Scenario, pressure};

/// The pressure-index model.
#[derive(Debug)]
pub struct PressureIndex {
    params: Params,
}

const METADATA: Metadata = Metadata {
    id: "pressure-index",
    name: "Pressure on Russia index",
    version: "2.0.0",
    description: "Weighted index (0..100) of the pressure a scenario puts on Russia: reserves \
                  denied (against the latest reserves), money to Ukraine (for the 2026 package, \
                  the loans in force in the dataset), speed of money, sanctions breadth. \
                  European defence capacity is reported beside the index, not in it.",
    build_id: concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")),
    inputs: &INPUTS,
    components: &COMPONENTS,
    score: Component::new(
        "pressure_index",
        "index points",
        0.0,
        100.0,
        "weighted mean of money_denied, money_to_ukraine, speed and sanctions_breadth",
    ),
    parameters: &PARAMETERS,
};

impl ScoringPlugin for PressureIndex {
    fn metadata() -> Metadata {
        METADATA
    }

    fn model_card() -> &'static str {
        include_str!("../../../docs/models/pressure-index/card.md")
    }

    fn new(config: &Config) -> Result<Self, String> {
        Ok(PressureIndex {
            params: Params::from_config(config)?,
        })
    }

    fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
        let result = pressure(&Scenario::from_inputs(inputs)?, &self.params);
        out.set_score(result.index);
        out.components_mut().copy_from_slice(&result.components);
        Ok(())
    }
}

leverage_plugin_api::export_scoring_plugin!(PressureIndex);

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_plugin_api::testing::Harness;
    use leverage_pressure_model::v2::{REFERENCE_ROW, component};

    #[test]
    fn scores_the_reference_scenario_through_the_shims() {
        let mut harness = Harness::new::<PressureIndex>("").expect("loads");
        let out = harness.score(&REFERENCE_ROW).expect("scores");
        assert_eq!(out.len(), 6);
        assert!(out[0] > 0.0 && out[0] < 100.0, "{out:?}");
        let native = pressure(
            &Scenario::from_inputs(&REFERENCE_ROW).expect("valid"),
            &Params::defaults(),
        );
        assert_eq!(out[0].to_bits(), native.index.to_bits());
    }

    #[test]
    fn weights_are_overridable_by_configuration() {
        let mut only_speed = Harness::new::<PressureIndex>(
            "weight.money_denied = 0\nweight.money_to_ukraine = 0\nweight.sanctions_breadth = 0\n\
             weight.speed = 1",
        )
        .expect("loads");
        let out = only_speed.score(&REFERENCE_ROW).expect("scores");
        assert_eq!(out[0], out[1 + component::SPEED]);
    }

    #[test]
    fn all_weights_zero_is_refused() {
        let config = "weight.money_denied = 0\nweight.money_to_ukraine = 0\nweight.speed = 0\n\
                      weight.sanctions_breadth = 0";
        let err = Harness::new::<PressureIndex>(config).expect_err("no weight");
        assert!(err.contains("at least one weight"), "{err}");
    }

    #[test]
    fn the_keys_that_2_0_dropped_are_refused_by_name() {
        for key in ["weight.defence_capacity = 0.2", "era.pledged_eur_bn = 45"] {
            let err = Harness::new::<PressureIndex>(key).expect_err("unknown key");
            assert!(err.contains(key.split(' ').next().unwrap_or(key)), "{err}");
        }
    }

    #[test]
    fn a_bad_row_fails_alone() {
        let mut harness = Harness::new::<PressureIndex>("").expect("loads");
        let mut bad = REFERENCE_ROW;
        bad[0] = 9.0;
        let rows: Vec<f64> = REFERENCE_ROW.iter().chain(&bad).copied().collect();
        let result = harness.score_batch(&rows, 2).expect("call");
        assert_eq!(result.row_status, vec![0, 1]);
        assert!(
            result
                .error
                .as_deref()
                .is_some_and(|e| e.contains("lever.use_mode = 9")),
            "{:?}",
            result.error
        );
    }

    #[test]
    fn more_intense_use_presses_harder_on_the_reference_scenario() {
        let mut harness = Harness::new::<PressureIndex>("").expect("loads");
        let mut row = REFERENCE_ROW;
        let mut previous = f64::MIN;
        for mode in [0.0, 1.0, 4.0] {
            row[0] = mode;
            let score = harness.score(&row).expect("scores")[0];
            assert!(score > previous, "mode {mode}: {score} <= {previous}");
            previous = score;
        }
    }

    #[test]
    fn the_2026_package_presses_harder_than_the_windfall_alone() {
        let mut harness = Harness::new::<PressureIndex>("").expect("loads");
        let mut row = REFERENCE_ROW;
        row[0] = 1.0;
        let windfall = harness.score(&row).expect("scores")[0];
        row[0] = 5.0;
        let package = harness.score(&row).expect("scores")[0];
        assert!(package > windfall, "{package} <= {windfall}");
    }
}
