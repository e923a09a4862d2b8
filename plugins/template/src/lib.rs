//! Template scoring plugin: the share of Russia's reserves kept from it.
//!
//! Copy this crate, rename it, replace the model. Build with `cargo build --release`; the
//! plugin is `target/release/libleverage_plugin_template.so`. Check it with
//! `leverage plugin check target/release/libleverage_plugin_template.so`.

use leverage_plugin_api::{
    Component, Config, Input, Metadata, Output, OwnInput, Parameter, ScoringPlugin,
};

/// The model. Holds what `new` derived from the configuration; keep it cheap to create.
#[derive(Debug)]
pub struct ReserveShare {
    cap_pct: f64,
}

// A `const`, so that every string and slice in it is `'static`: the server reads them straight
// from the plugin's memory.
const METADATA: Metadata = Metadata {
    // Stable: the server routes calls by it. Letters, digits, `-`, `_`, `.`.
    id: "template-reserve-share",
    name: "Share of reserves denied (template)",
    version: "0.1.0",
    description: "Located central-bank assets as a share of Russia's pre-war reserves.",
    build_id: concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")),
    // Names from the server's input catalog (see docs/writing-a-plugin.md). Each row passes
    // them in this order.
    inputs: &[
        Input::new("pool.immobilised_eur_bn", "EUR bn"),
        Input::new("pool.eur_bn", "EUR bn"),
        Input::new("russia.reserves_eur_bn", "EUR bn"),
    ],
    // Written after the score, in this order. The server rejects any value outside [min, max].
    components: &[Component::new(
        "mobilised_share",
        "%",
        0.0,
        100.0,
        "mobilised pool as a share of reserves",
    )],
    score: Component::new(
        "denied_share",
        "%",
        0.0,
        100.0,
        "immobilised assets / reserves",
    ),
    // What the server's configuration may set for this plugin (`cap_pct = 50`), and a request
    // for one call (`parameters: [{name: "cap_pct", value: 50}]`).
    parameters: &[Parameter::new(
        "cap_pct",
        "%",
        100.0,
        0.0,
        100.0,
        "upper bound applied to both shares",
    )],
};

// Inputs the server does not know: each scenario sets them by name (`Scenario.inputs`), and the
// server checks them against this declaration before the plugin sees them. Name them in a
// namespace of your own (not `lever.`, `pool.` or another of the catalog's). Each row passes
// them after the catalog inputs, in this order.
const OWN_INPUTS: &[OwnInput] = &[OwnInput::optional(
    "template.reserves_rebuilt_pct",
    "% of pre-war reserves",
    0.0,
    90.0,
    0.0,
    "reserves Russia has rebuilt outside the reach of sanctions",
)];

impl ScoringPlugin for ReserveShare {
    fn metadata() -> Metadata {
        METADATA
    }

    fn own_inputs() -> &'static [OwnInput] {
        OWN_INPUTS
    }

    // The model card: markdown the server serves with the description (intended use, inputs
    // and their sources, what the model ignores, known limits, version history). Compiled in,
    // so each build carries the card that describes it.
    fn model_card() -> &'static str {
        include_str!("../card.md")
    }

    fn new(config: &Config) -> Result<Self, String> {
        Ok(ReserveShare {
            cap_pct: config.get("cap_pct")?,
        })
    }

    // A pure function of the inputs: no clock, no randomness, no I/O, no global state.
    fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
        let [immobilised, pool, pre_war, rebuilt_pct] =
            [inputs[0], inputs[1], inputs[2], inputs[3]];
        let reserves = pre_war * (1.0 + rebuilt_pct / 100.0);
        // A bad row is an `Err` for that row only; never panic on input.
        if !(reserves.is_finite() && reserves > 0.0) {
            return Err(format!(
                "russia.reserves_eur_bn must be positive, got {reserves}"
            ));
        }
        if !(immobilised.is_finite() && immobilised >= 0.0 && pool.is_finite() && pool >= 0.0) {
            return Err("pool amounts must be finite and not negative".to_owned());
        }
        let share = |amount: f64| (100.0 * amount / reserves).clamp(0.0, self.cap_pct);
        out.set_score(share(immobilised));
        out.set_component(0, share(pool));
        Ok(())
    }
}

leverage_plugin_api::export_scoring_plugin!(ReserveShare);

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_plugin_api::testing::Harness;

    // The harness calls the plugin through the same extern "C" shims as the server.
    #[test]
    fn scores_through_the_abi() {
        let mut harness = Harness::new::<ReserveShare>("").expect("loads");
        assert_eq!(
            harness.score(&[290.0, 145.0, 580.0, 0.0]),
            Ok(vec![50.0, 25.0])
        );
    }

    #[test]
    fn the_own_input_enlarges_the_reserves() {
        let mut harness = Harness::new::<ReserveShare>("").expect("loads");
        assert_eq!(
            harness.score(&[290.0, 145.0, 500.0, 16.0]),
            Ok(vec![50.0, 25.0])
        );
    }

    #[test]
    fn the_cap_is_configurable() {
        let mut harness = Harness::new::<ReserveShare>("cap_pct = 30").expect("loads");
        assert_eq!(
            harness.score(&[290.0, 145.0, 580.0, 0.0]),
            Ok(vec![30.0, 25.0])
        );
    }

    // The card's version history names the version the metadata declares: a new version
    // without a line in the card fails here.
    #[test]
    fn the_model_card_has_a_line_for_this_version() {
        let harness = Harness::new::<ReserveShare>("").expect("loads");
        let card = &harness.metadata().model_card;
        let line = format!("- {}:", METADATA.version);
        assert!(card.lines().any(|l| l.starts_with(&line)), "{card}");
    }

    #[test]
    fn bad_input_fails_the_row_not_the_plugin() {
        let mut harness = Harness::new::<ReserveShare>("").expect("loads");
        assert!(harness.score(&[1.0, 1.0, 0.0, 0.0]).is_err());
        assert!(harness.score(&[1.0, 1.0, 1.0, 0.0]).is_ok());
    }
}
