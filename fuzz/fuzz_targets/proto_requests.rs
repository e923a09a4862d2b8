//! Wire bytes of five requests, decoded with prost and taken through the server's public
//! conversions (`leverage_server::convert`, `leverage_server::scoring::scenario_in`) and the domain
//! calls their handlers make, in the handlers' order. Never panics; every error names fields of
//! the request; accepted input gives finite, consistent output.
//!
//! The handlers' own glue is private (`observation_in` of CreateObservation, the axis checks of
//! SweepScenario); this target restates the few lines between public calls and says so where it
//! does. See docs/fuzzing.md for the functions whose exposure would remove the restatements.
#![no_main]

use leverage_core::assets::{self, GroupBy};
use leverage_core::names::parse_name;
use leverage_core::scenario::{INPUT_CATALOG, Lever};
use leverage_core::{Currency, Date, DomainError, Violations};
use leverage_fuzz::{context, row_is_finite, snapshot};
use leverage_proto::leverage::v1 as pb;
use leverage_server::convert;
use leverage_server::scoring::scenario_in;
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// Every field an error names lies under `prefix`.
fn fields_under(result: &Result<impl std::fmt::Debug, DomainError>, prefix: &str) {
    if let Err(e) = result {
        match e {
            DomainError::InvalidArgument(v) => {
                assert!(!v.is_empty(), "an empty list of violations");
                for f in v {
                    assert!(
                        f.field == prefix || f.field.starts_with(&format!("{prefix}.")),
                        "{:?} is not under {prefix:?}",
                        f.field
                    );
                }
            }
            other => panic!("{prefix}: {other:?} is not INVALID_ARGUMENT"),
        }
    }
}

fn finite_row(s: &leverage_core::scenario::Scenario) {
    let Some(ctx) = context(s.as_of) else {
        return;
    };
    let mut row = vec![f64::NAN; INPUT_CATALOG.len()];
    ctx.fill_row(s, &mut row);
    if let Err(bad) = row_is_finite(&row) {
        panic!("{bad} for {s:?}");
    }
}

fn score_scenario(r: pb::ScoreScenarioRequest) {
    let scenario = scenario_in("scenario", r.scenario.as_ref());
    fields_under(&scenario, "scenario");
    if let Ok(s) = scenario {
        finite_row(&s);
    }
}

/// CreateObservation's validation, restated from the public pieces `observation_in` is made of.
fn create_observation(r: pb::CreateObservationRequest) {
    let mut v = Violations::new();
    let _ = parse_name("holdings", &r.parent);
    let Some(o) = r.observation.as_ref() else {
        return;
    };
    let amount = convert::money_in("observation.amount", o.amount.as_ref(), &mut v);
    let high = o
        .amount_high
        .as_ref()
        .and_then(|h| convert::money_in("observation.amount_high", Some(h), &mut v));
    for (value, currency) in amount.iter().chain(high.iter()) {
        assert!(
            value.is_finite() && *value >= 0.0,
            "accepted amount {value}"
        );
        // What the server answers with: back to units and nanos.
        let m = convert::money(*value, *currency);
        assert!((0..1_000_000_000).contains(&m.nanos), "{m:?} from {value}");
        assert_eq!(m.currency_code, currency.as_str());
    }
    if let (Some(m), Some((value, _))) = (o.amount.as_ref(), amount) {
        // Below a million units, units + nanos fit in an f64's 15 exact digits.
        if m.units.unsigned_abs() < 1_000_000 {
            let back = convert::money(value, Currency::parse("EUR").expect("EUR"));
            assert_eq!((back.units, back.nanos), (m.units, m.nanos), "{m:?}");
        }
    }
    let today = Date::today();
    let as_of = convert::date_in("observation.as_of", o.as_of.as_ref(), today, &mut v);
    let out = convert::date_out(as_of);
    assert_eq!(
        Date::new(out.year, out.month as u32, out.day as u32),
        Ok(as_of)
    );
    let confidence = convert::confidence_in("observation.confidence", o.confidence, &mut v);
    let _ = convert::confidence(confidence);
    let bound = convert::bound_in("observation.bound", o.bound, &mut v);
    let _ = convert::bound(bound);
    let source = convert::source_in(o.source.as_ref());
    let _ = convert::source(&source);
    fields_under(&v.into_result(), "observation");
}

fn list_holdings(r: pb::ListHoldingsRequest) {
    let mut v = Violations::new();
    let as_of = convert::date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
    if v.into_result().is_err() {
        return;
    }
    let snap = snapshot();
    let Ok(page) = assets::list_holdings(
        snap,
        &r.filter,
        &r.order_by,
        as_of,
        r.page_size,
        &r.page_token,
    ) else {
        return;
    };
    assert!(page.holdings.len() <= page.total_size);
    let size = match r.page_size {
        0 => 50,
        n => (n as usize).min(1000),
    };
    assert!(page.holdings.len() <= size);
    // The response as the handler builds it, encoded for the wire.
    let full = r.view == pb::HoldingView::Full as i32;
    let response = pb::ListHoldingsResponse {
        holdings: page
            .holdings
            .iter()
            .map(|(h, o)| leverage_server::assets::holding(h, *o, full))
            .collect(),
        next_page_token: page.next_page_token.clone(),
        total_size: page.total_size as i32,
        as_of: Some(convert::date_out(as_of)),
    };
    let _ = response.encode_to_vec();
    // The next page's token is accepted with the same request.
    if !page.next_page_token.is_empty() {
        let next = assets::list_holdings(
            snap,
            &r.filter,
            &r.order_by,
            as_of,
            r.page_size,
            &page.next_page_token,
        )
        .expect("the issued token is accepted");
        assert_eq!(next.total_size, page.total_size);
        if let (Some(a), Some(b)) = (page.holdings.last(), next.holdings.first()) {
            assert_ne!(a.0.id, b.0.id, "a holding on two pages");
        }
    }
}

fn summarize_holdings(r: pb::SummarizeHoldingsRequest) {
    let mut v = Violations::new();
    let as_of = convert::date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
    let code = if r.currency_code.is_empty() {
        "EUR"
    } else {
        r.currency_code.as_str()
    };
    let currency = v.check("currency_code", Currency::parse(code));
    let group_by = match pb::GroupBy::try_from(r.group_by) {
        Ok(pb::GroupBy::Unspecified | pb::GroupBy::Jurisdiction) => GroupBy::Jurisdiction,
        Ok(pb::GroupBy::Custodian) => GroupBy::Custodian,
        Ok(pb::GroupBy::OwnerKind) => GroupBy::OwnerKind,
        Ok(pb::GroupBy::Instrument) => GroupBy::Instrument,
        Err(_) => return,
    };
    let (Ok(()), Some(currency)) = (v.into_result(), currency) else {
        return;
    };
    let detail = if r.view == pb::SummaryView::Basic as i32 {
        assets::SummaryDetail::Totals
    } else {
        assets::SummaryDetail::Observations
    };
    let Ok(s) = assets::summarize(snapshot(), &r.filter, group_by, currency, as_of, detail) else {
        return;
    };
    let mut sum = 0.0;
    for g in &s.groups {
        assert!(g.total.is_finite() && g.total >= 0.0, "{g:?}");
        let _ = convert::money(g.total, currency);
        sum += g.total;
    }
    assert!(s.located_total.is_finite());
    assert!(
        (sum - s.located_total).abs() <= 1e-9 * s.located_total.abs().max(1.0),
        "groups add to {sum}, located_total is {}",
        s.located_total
    );
}

/// SweepScenario's checks, restated (the handler's axis checks are private): the base scenario
/// through `scenario_in`, each axis's lever range through `Lever::check`, then rows at the axis
/// ends and in between on the base's context.
fn sweep_scenario(r: pb::SweepScenarioRequest) {
    let base = scenario_in("base", r.base.as_ref());
    fields_under(&base, "base");
    let Ok(base) = base else {
        return;
    };
    let mut v = Violations::new();
    let mut axes = Vec::new();
    for (i, a) in r.axes.iter().take(2).enumerate() {
        let lever = match pb::Lever::try_from(a.lever) {
            Ok(pb::Lever::InterestRatePct) => Lever::InterestRatePct,
            Ok(pb::Lever::SanctionsTightening) => Lever::SanctionsTightening,
            Ok(pb::Lever::SafeTakeup) => Lever::SafeTakeup,
            Ok(pb::Lever::DefenceSpendingGdpPct) => Lever::DefenceSpendingGdpPct,
            Ok(pb::Lever::GuaranteeSharing) => Lever::GuaranteeSharing,
            Ok(pb::Lever::HorizonYears) => Lever::HorizonYears,
            Ok(pb::Lever::Participation) => Lever::Participation,
            _ => return,
        };
        lever.check(&format!("axes[{i}].start"), a.start, &mut v);
        lever.check(&format!("axes[{i}].stop"), a.stop, &mut v);
        axes.push((lever, a.start, a.stop, a.steps.max(2)));
    }
    if v.into_result().is_err() {
        return;
    }
    let Some(ctx) = context(base.as_of) else {
        return;
    };
    let mut row = vec![f64::NAN; INPUT_CATALOG.len()];
    let mut s = base.clone();
    for (lever, start, stop, steps) in axes {
        // The handler's formula for point k of `steps`.
        for k in [0, 1, steps / 2, steps - 2, steps - 1] {
            let value = start + (stop - start) * f64::from(k) / f64::from(steps - 1);
            lever.set(&mut s, value);
            ctx.fill_row(&s, &mut row);
            if let Err(bad) = row_is_finite(&row) {
                panic!("{bad} at {lever:?} = {value} for {s:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 => {
            if let Ok(r) = pb::ScoreScenarioRequest::decode(bytes) {
                score_scenario(r);
            }
        }
        1 => {
            if let Ok(r) = pb::CreateObservationRequest::decode(bytes) {
                create_observation(r);
            }
        }
        2 => {
            if let Ok(r) = pb::ListHoldingsRequest::decode(bytes) {
                list_holdings(r);
            }
        }
        3 => {
            if let Ok(r) = pb::SummarizeHoldingsRequest::decode(bytes) {
                summarize_holdings(r);
            }
        }
        _ => {
            if let Ok(r) = pb::SweepScenarioRequest::decode(bytes) {
                sweep_scenario(r);
            }
        }
    }
});
