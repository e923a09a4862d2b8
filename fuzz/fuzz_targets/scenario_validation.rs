//! Scenario validation and rows: any `ScenarioInput` validates without panicking, the error names
//! exactly the levers that are out of range, and a valid scenario fills a row of finite numbers
//! on the embedded dataset (also after a sweep sets a lever to any value within its range).
#![no_main]

use arbitrary::Arbitrary;
use leverage_core::model::Action;
use leverage_core::scenario::{INPUT_CATALOG, Lever, ScenarioInput};
use leverage_core::{DomainError, Jurisdiction};
use leverage_fuzz::{Code, Float, LEVERS, context, date_from, row_is_finite};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    use_mode: Option<u8>,
    participation: Vec<(Code, Float)>,
    interest_rate_pct: Option<Float>,
    sanctions_tightening: Option<Float>,
    safe_takeup: Option<Float>,
    defence_spending_gdp_pct: Option<Float>,
    ceasefire: bool,
    guarantee_sharing: Option<Float>,
    horizon_years: Option<i64>,
    as_of: Option<u32>,
    default_as_of: u32,
    sweep: Vec<(u8, u16)>,
}

const ACTIONS: [Action; Action::ALL.len()] = Action::ALL;

fn lever_value(lever: Lever, f: Option<Float>) -> Option<f64> {
    let (lo, hi, _) = lever.range();
    f.map(|f| f.value(lo, hi))
}

fn out_of_range(lever: Lever, value: f64) -> bool {
    let (lo, hi, _) = lever.range();
    !value.is_finite() || value < lo || value > hi
}

fuzz_target!(|input: Input| {
    let participation: Vec<(String, f64)> = input
        .participation
        .iter()
        .take(40)
        .map(|(code, f)| (code.text(), f.value(0.0, 1.0)))
        .collect();
    let scenario = ScenarioInput {
        use_mode: input
            .use_mode
            .map(|m| ACTIONS[usize::from(m) % ACTIONS.len()]),
        participation: participation.clone(),
        interest_rate_pct: lever_value(Lever::InterestRatePct, input.interest_rate_pct),
        sanctions_tightening: lever_value(Lever::SanctionsTightening, input.sanctions_tightening),
        safe_takeup: lever_value(Lever::SafeTakeup, input.safe_takeup),
        defence_spending_gdp_pct: lever_value(
            Lever::DefenceSpendingGdpPct,
            input.defence_spending_gdp_pct,
        ),
        ceasefire: input.ceasefire,
        guarantee_sharing: lever_value(Lever::GuaranteeSharing, input.guarantee_sharing),
        horizon_years: input.horizon_years,
        as_of: input.as_of.map(date_from),
    };

    // The oracle: the fields that must be named, in the order validation checks them.
    let mut expected: Vec<String> = Vec::new();
    if scenario.use_mode.is_none() {
        expected.push("s.use_mode".into());
    }
    let levers = [
        (Lever::InterestRatePct, scenario.interest_rate_pct),
        (Lever::SanctionsTightening, scenario.sanctions_tightening),
        (Lever::SafeTakeup, scenario.safe_takeup),
        (
            Lever::DefenceSpendingGdpPct,
            scenario.defence_spending_gdp_pct,
        ),
        (Lever::GuaranteeSharing, scenario.guarantee_sharing),
        (
            Lever::HorizonYears,
            scenario.horizon_years.map(|y| y as f64),
        ),
    ];
    for (lever, value) in levers {
        if out_of_range(lever, value.unwrap_or(lever.range().2)) {
            expected.push(format!("s.{}", lever.field()));
        }
    }
    let mut seen: Vec<Jurisdiction> = Vec::new();
    for (i, (code, fraction)) in participation.iter().enumerate() {
        match Jurisdiction::parse(code) {
            Ok(j) => {
                if !(0.0..=1.0).contains(fraction) {
                    expected.push(format!("s.participation[{i}].fraction"));
                }
                if seen.contains(&j) {
                    expected.push(format!("s.participation[{i}].jurisdiction"));
                }
                seen.push(j);
            }
            Err(_) => {
                expected.push(format!("s.participation[{i}].jurisdiction"));
                if !(0.0..=1.0).contains(fraction) {
                    expected.push(format!("s.participation[{i}].fraction"));
                }
            }
        }
    }

    let default_as_of = date_from(input.default_as_of);
    let valid = match scenario.clone().validate("s", default_as_of) {
        Ok(valid) => {
            assert!(
                expected.is_empty(),
                "accepted, but {expected:?} are out of range: {scenario:?}"
            );
            valid
        }
        Err(DomainError::InvalidArgument(violations)) => {
            let mut named: Vec<String> = violations.iter().map(|v| v.field.clone()).collect();
            let mut want = expected.clone();
            named.sort();
            want.sort();
            assert_eq!(named, want, "{scenario:?}");
            return;
        }
        Err(other) => panic!("validation failed with {other:?}"),
    };
    assert_eq!(valid.as_of, scenario.as_of.unwrap_or(default_as_of));

    let Some(ctx) = context(valid.as_of) else {
        return;
    };
    let mut row = vec![f64::NAN; INPUT_CATALOG.len()];
    ctx.fill_row(&valid, &mut row);
    if let Err(bad) = row_is_finite(&row) {
        panic!("{bad} for {valid:?}");
    }
    // A sweep sets levers to values within their ranges on the same context.
    let mut swept = valid.clone();
    for (lever, at) in input.sweep.iter().take(4) {
        let lever = LEVERS[usize::from(*lever) % LEVERS.len()];
        let (lo, hi, _) = lever.range();
        let value = lo + (hi - lo) * f64::from(*at) / f64::from(u16::MAX);
        lever.set(&mut swept, value);
        ctx.fill_row(&swept, &mut row);
        if let Err(bad) = row_is_finite(&row) {
            panic!("{bad} after sweeping {lever:?} for {swept:?}");
        }
    }
});
