//! The 1.0 formulas give the numbers they gave before 2.0 existed, to the bit.
//!
//! `golden/pressure_v1.txt` and `golden/prudent_v1.txt` were written by the 1.0 code itself
//! (the pressure index through `pressure`, prudent pressure through the 1.0 plugin's ABI shims)
//! before the 2.0 formulas were added and prudent pressure's 1.0 formulas were moved into this
//! crate. Each line is one row: its inputs, `;`, its outputs, every number as the 16 hex
//! digits of its IEEE bits. The rows: the reference scenario in every use mode (with and without
//! a ceasefire), then 400 pseudo-random rows over the accepted ranges; each under the default
//! parameters and under a custom configuration (below), so that the parameters are pinned too.

use leverage_plugin_api::Config;
use leverage_pressure_model::{PARAMETERS, Params, Scenario, pressure, prudent_v1};

/// The configuration of the `custom` rows of `pressure_v1.txt`.
const CUSTOM_PRESSURE: &str = "weight.money_denied = 0.5\nweight.defence_capacity = 0.05\n\
permanence.immobilisation = 0.6\nmonths.reparations_loan = 18\nera.frontload_years = 16\n\
era.pledged_eur_bn = 60\nsanctions.baseline = 0.3\ndefence.safe_share = 0.8";

/// The configuration of the `custom` rows of `prudent_v1.txt`: the above and every discount.
const CUSTOM_PRUDENT: &str = "weight.money_denied = 0.5\nweight.defence_capacity = 0.05\n\
permanence.immobilisation = 0.6\nmonths.reparations_loan = 18\nera.frontload_years = 16\n\
era.pledged_eur_bn = 60\nsanctions.baseline = 0.3\ndefence.safe_share = 0.8\n\
discount.euro_weight = 0.7\ndiscount.guarantee_mitigation = 0.3\ndiscount.ceasefire_weight = 0.5\n\
discount.retaliation_weight = 0.6\ndiscount.legal_weight = 0.8";

fn numbers(hex: &str) -> Vec<f64> {
    hex.split(',')
        .map(|h| f64::from_bits(u64::from_str_radix(h, 16).expect("16 hex digits")))
        .collect()
}

/// One golden row: its inputs and the outputs the 1.0 code gave.
type Case = (Vec<f64>, Vec<f64>);

/// The golden rows of one file, by configuration name.
fn golden(text: &str) -> Vec<(String, Vec<Case>)> {
    let mut sections: Vec<(String, Vec<Case>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("config ") {
            sections.push((name.to_owned(), Vec::new()));
            continue;
        }
        let (inputs, outputs) = line.split_once(';').expect("inputs;outputs");
        let section = sections.last_mut().expect("a config line first");
        section.1.push((numbers(inputs), numbers(outputs)));
    }
    sections
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn the_pressure_index_1_0_gives_yesterdays_numbers_bit_for_bit() {
    let sections = golden(include_str!("golden/pressure_v1.txt"));
    assert_eq!(sections.len(), 2);
    let mut rows = 0;
    for (name, cases) in sections {
        let config = if name == "custom" {
            CUSTOM_PRESSURE
        } else {
            ""
        };
        let params = Params::from_config(&Config::parse(config, &PARAMETERS).expect("parses"))
            .expect("valid");
        for (inputs, expected) in cases {
            let p = pressure(&Scenario::from_inputs(&inputs).expect("valid"), &params);
            let mut got = vec![p.index];
            got.extend(p.components);
            got.push(p.delivered_eur_bn);
            assert_eq!(bits(&got), bits(&expected), "{name}: {inputs:?}");
            rows += 1;
        }
    }
    assert_eq!(rows, 820);
}

#[test]
fn prudent_pressure_1_0_gives_yesterdays_numbers_bit_for_bit() {
    let sections = golden(include_str!("golden/prudent_v1.txt"));
    assert_eq!(sections.len(), 2);
    let mut rows = 0;
    for (name, cases) in sections {
        let config = if name == "custom" { CUSTOM_PRUDENT } else { "" };
        let params = prudent_v1::PrudentParams::from_config(
            &Config::parse(config, &prudent_v1::PARAMETERS).expect("parses"),
        )
        .expect("valid");
        for (inputs, expected) in cases {
            let (score, components) = prudent_v1::score(&inputs, &params).expect("scores");
            let mut got = vec![score];
            got.extend(components);
            assert_eq!(bits(&got), bits(&expected), "{name}: {inputs:?}");
            rows += 1;
        }
    }
    assert_eq!(rows, 820);
}
