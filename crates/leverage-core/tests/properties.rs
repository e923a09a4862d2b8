//! Property tests over the domain's input handling: page tokens, pages, filters, dates and
//! scenario validation. Each property runs over inputs from a small deterministic generator
//! (SplitMix64, fixed seeds), so a failure reproduces exactly; the whole file runs in about a
//! second. The fuzz targets under `fuzz/` check the same properties on unbounded input
//! (docs/fuzzing.md).
//!
//! Tests named after a finding of docs/fuzzing.md (F1, F2, F3, F5) reproduced it before its fix
//! and now guard against its return.

use leverage_core::assets::{HoldingFilter, HoldingOrder};
use leverage_core::model::{Action, HoldingKind, Instrument, OwnerKind};
use leverage_core::paging::{self, DEFAULT_PAGE_SIZE, FilterTerm, MAX_PAGE_SIZE, PageRequest};
use leverage_core::scenario::{Context, INPUT_CATALOG, Lever, ScenarioInput};
use leverage_core::{Dataset, Date, DomainError, Jurisdiction, Snapshot};

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------------
// Page tokens and pages

/// The tokens the server hands out when paging `n` items `size` at a time, in order.
fn walk(n: usize, size: i32, query: u64) -> (Vec<usize>, Vec<String>) {
    let items: Vec<usize> = (0..n).collect();
    let mut token = String::new();
    let mut seen = Vec::new();
    let mut tokens = Vec::new();
    loop {
        let page = PageRequest::parse(size, &token, query).expect("an issued token is accepted");
        let (got, next) = page.apply(items.clone());
        let expected = match size {
            0 => DEFAULT_PAGE_SIZE,
            s => (s as usize).min(MAX_PAGE_SIZE),
        };
        assert!(got.len() <= expected);
        if !next.is_empty() {
            assert_eq!(got.len(), expected, "only the last page may be short");
        }
        seen.extend(got);
        if next.is_empty() {
            return (seen, tokens);
        }
        assert!(tokens.len() <= n, "paging does not end");
        tokens.push(next.clone());
        token = next;
    }
}

#[test]
fn pages_of_any_size_concatenate_to_the_whole_list() {
    let mut rng = Rng::new(1);
    for n in (0..40).chain([99, 100, 101, 999, 1000, 1001, 2500]) {
        let query = rng.next();
        let mut sizes: Vec<i32> = vec![0, 1, 2, 3, 49, 50, 51, 1000, 1001, i32::MAX];
        sizes.extend((0..5).map(|_| 1 + rng.below(60) as i32));
        for size in sizes {
            let (seen, _) = walk(n, size, query);
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}, size = {size}");
        }
    }
}

#[test]
fn page_tokens_round_trip_and_belong_to_their_query() {
    let mut rng = Rng::new(2);
    for _ in 0..200 {
        let query = paging::fingerprint(&[&rng.next().to_string()]);
        let other = query ^ (1 << rng.below(64));
        let n = 1 + rng.index(300);
        let size = 1 + rng.below(20) as i32;
        let (_, tokens) = walk(n, size, query);
        for (i, token) in tokens.iter().enumerate() {
            let page = PageRequest::parse(size, token, query).expect("round trip");
            assert_eq!(page.offset, (i + 1) * size as usize);
            // The same token with any other page size is still the same place.
            let resized = PageRequest::parse(7, token, query).expect("any size");
            assert_eq!(resized.offset, page.offset);
            // Replayed against another query: refused.
            assert!(PageRequest::parse(size, token, other).is_err());
        }
    }
    assert!(PageRequest::parse(-1, "", 0).is_err());
    assert!(PageRequest::parse(i32::MIN, "", 0).is_err());
}

/// Every single-byte change of `token` (each position, `tries` replacement bytes each), as text.
fn single_byte_changes(token: &str, rng: &mut Rng, tries: usize) -> Vec<String> {
    let mut out = Vec::new();
    for at in 0..token.len() {
        for _ in 0..tries {
            let mut bytes = token.as_bytes().to_vec();
            let replacement = match rng.below(3) {
                0 => *rng.pick(b"0123456789abcdefABCDEF.+-_ xz"),
                1 => rng.below(128) as u8,
                _ => bytes[at] ^ (1 << rng.below(7)),
            };
            if replacement == bytes[at] {
                continue;
            }
            bytes[at] = replacement;
            if let Ok(text) = String::from_utf8(bytes) {
                out.push(text);
            }
        }
    }
    out
}

#[test]
fn a_token_changed_in_one_byte_is_refused() {
    let mut rng = Rng::new(3);
    for _ in 0..40 {
        let query = rng.next();
        let (_, tokens) = walk(1 + rng.index(2000), 1 + rng.below(50) as i32, query);
        for token in tokens.iter().take(3) {
            for changed in single_byte_changes(token, &mut rng, 4) {
                assert!(
                    PageRequest::parse(10, &changed, query).is_err(),
                    "{changed:?} (issued {token:?}) was accepted"
                );
            }
        }
    }
}

/// F1 (docs/fuzzing.md, fixed): `decode` parsed with `u64::from_str_radix`, which also takes
/// upper-case digits, a leading `+` and leading zeros, so text the server never issued decoded.
#[test]
fn only_tokens_the_server_issued_are_accepted() {
    let mut rng = Rng::new(4);
    let query = rng.next();
    let (_, tokens) = walk(500, 7, query);
    for token in &tokens {
        for changed in single_byte_changes(token, &mut rng, 8) {
            assert!(
                PageRequest::parse(10, &changed, query).is_err(),
                "{changed:?} (issued {token:?}) was accepted"
            );
        }
        for variant in [
            token.to_ascii_uppercase(),
            format!("+{token}"),
            format!("0{token}"),
            token.replacen('.', ".0", 1),
        ] {
            assert!(
                PageRequest::parse(10, &variant, query).is_err(),
                "{variant:?} (issued {token:?}) was accepted"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Filters

const FIELDS: [&str; 5] = [
    "kind",
    "owner_kind",
    "jurisdiction",
    "custodian",
    "instrument",
];

fn random_value(rng: &mut Rng) -> String {
    const PIECES: [&str; 16] = [
        "a", "Z", "0", " ", "  ", "=", "\"", "AND", "and", "\t", "é", "€", "-", ".", "x y", "Bank",
    ];
    let len = 1 + rng.index(6);
    (0..len).map(|_| *rng.pick(&PIECES)).collect()
}

/// Prints terms the way a client would: quoted unless the value holds a `"` (then bare).
fn print(terms: &[FilterTerm]) -> Option<String> {
    let mut parts = Vec::new();
    for t in terms {
        if !t.value.contains('"') {
            parts.push(format!("{} = \"{}\"", t.field, t.value));
        } else if !t.value.starts_with('"') && !t.value.contains(char::is_whitespace) {
            parts.push(format!("{} = {}", t.field, t.value));
        } else {
            return None; // not expressible in the filter syntax
        }
    }
    let mut rng_sep = parts.len();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            // Vary the spacing around AND.
            rng_sep = rng_sep.wrapping_mul(31).wrapping_add(7);
            out.push_str(if rng_sep % 2 == 0 {
                " AND "
            } else {
                "\t AND  "
            });
        }
        out.push_str(p);
    }
    Some(out)
}

#[test]
fn filters_print_and_parse_back_to_the_same_terms() {
    let mut rng = Rng::new(5);
    let mut checked = 0;
    for _ in 0..5000 {
        let mut fields = FIELDS.to_vec();
        let n = rng.index(fields.len() + 1);
        let mut terms = Vec::new();
        for _ in 0..n {
            let field = fields.remove(rng.index(fields.len()));
            let value = random_value(&mut rng);
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            terms.push(FilterTerm {
                field: field.to_owned(),
                value,
            });
        }
        let Some(text) = print(&terms) else {
            continue;
        };
        let parsed = paging::parse_filter(&text, &FIELDS)
            .unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
        assert_eq!(parsed, terms, "{text:?}");
        // And what parses prints back to itself.
        let again = print(&parsed).expect("printable");
        assert_eq!(
            paging::parse_filter(&again, &FIELDS).expect("parses"),
            parsed
        );
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} filters checked");
}

#[test]
fn holding_filters_take_every_documented_value_and_nothing_else() {
    let kinds = [
        ("LOCATED", HoldingKind::Located),
        ("AGGREGATE", HoldingKind::Aggregate),
        ("BREAKDOWN", HoldingKind::Breakdown),
    ];
    let owners = [
        ("CENTRAL_BANK", OwnerKind::CentralBank),
        ("SANCTIONED_INDIVIDUALS", OwnerKind::SanctionedIndividuals),
        ("SANCTIONED_ENTITIES", OwnerKind::SanctionedEntities),
        ("SANCTIONED_MIXED", OwnerKind::SanctionedMixed),
    ];
    let instruments = [
        ("CASH", Instrument::Cash),
        ("SECURITIES", Instrument::Securities),
        ("CASH_AND_SECURITIES", Instrument::CashAndSecurities),
        ("REAL_ESTATE", Instrument::RealEstate),
        ("VESSELS", Instrument::Vessels),
        ("AIRCRAFT", Instrument::Aircraft),
        ("OTHER", Instrument::Other),
    ];
    let mut rng = Rng::new(6);
    for _ in 0..2000 {
        let (kn, k) = *rng.pick(&kinds);
        let (on, o) = *rng.pick(&owners);
        let (inn, i) = *rng.pick(&instruments);
        let j = *rng.pick(&["BE", "FR", "EU", "JP"]);
        let text = format!(
            "instrument = {inn} AND kind = {kn} AND custodian = \"Euroclear Bank\" AND owner_kind = {on} AND jurisdiction = {j}"
        );
        let f = HoldingFilter::parse(&text).expect("valid filter");
        assert_eq!(f.kind, Some(k));
        assert_eq!(f.owner_kind, Some(o));
        assert_eq!(f.instrument, Some(i));
        assert_eq!(f.jurisdiction, Jurisdiction::parse(j).ok());
        assert_eq!(f.custodian.as_deref(), Some("Euroclear Bank"));
        // One character changed in a value: refused, never a different filter.
        let broken = text.replacen(kn, &format!("{kn}X"), 1);
        assert!(HoldingFilter::parse(&broken).is_err(), "{broken:?}");
    }
    for order in [
        "",
        "name",
        "name asc",
        " amount  desc ",
        "as_of desc",
        "jurisdiction",
    ] {
        assert!(HoldingOrder::parse(order).is_ok(), "{order:?}");
    }
    for order in [
        "amount",
        "name desc",
        "as_of",
        "NAME",
        "amount desc x",
        "jurisdiction desc",
    ] {
        assert!(HoldingOrder::parse(order).is_err(), "{order:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

#[test]
fn date_order_is_day_order_over_the_supported_years() {
    let first = Date::new(1900, 1, 1).expect("valid");
    let last = Date::new(2200, 12, 31).expect("valid");
    let mut previous: Option<Date> = None;
    for days in first.days_since_epoch()..=last.days_since_epoch() {
        let d = Date::from_days_since_epoch(days).expect("a supported day");
        assert_eq!(d.days_since_epoch(), days);
        assert_eq!(Date::new(d.year(), d.month(), d.day()), Ok(d));
        assert_eq!(d.to_string().parse::<Date>(), Ok(d));
        if let Some(p) = previous {
            assert!(p < d, "{p} !< {d}");
        }
        previous = Some(d);
    }
    assert_eq!(previous, Some(last));
    let mut rng = Rng::new(7);
    for _ in 0..20_000 {
        let span = last.days_since_epoch() - first.days_since_epoch() + 1;
        let a =
            Date::from_days_since_epoch(first.days_since_epoch() + rng.below(span as u64) as i64)
                .expect("in range");
        let b =
            Date::from_days_since_epoch(first.days_since_epoch() + rng.below(span as u64) as i64)
                .expect("in range");
        assert_eq!(a.cmp(&b), a.days_since_epoch().cmp(&b.days_since_epoch()));
    }
}

#[test]
fn dates_that_do_not_exist_are_refused() {
    for (y, m, d) in [
        (1899, 12, 31),
        (2201, 1, 1),
        (2023, 2, 29),
        (2100, 2, 29),
        (2024, 4, 31),
        (2024, 0, 1),
        (2024, 13, 1),
        (2024, 1, 0),
        (2024, 1, 32),
    ] {
        assert!(Date::new(y, m, d).is_err(), "{y}-{m}-{d}");
    }
    assert!(Date::new(2000, 2, 29).is_ok());
    for text in [
        "2024-1-01",
        "24-01-01",
        "2024-01-01 ",
        "2024/01/01",
        "",
        "2024-01",
        "2024-01-01-",
    ] {
        assert!(text.parse::<Date>().is_err(), "{text:?}");
    }
}

/// F2 (docs/fuzzing.md, fixed): `Date::from_str` parsed each part with `u32::from_str`, which
/// takes a leading `+`, so `2024-+1-+1` was read as 2024-01-01.
#[test]
fn only_canonical_date_text_parses() {
    for text in ["2024-+1-01", "2024-01-+1", "2024-+1-+1"] {
        assert!(text.parse::<Date>().is_err(), "{text:?} parsed");
    }
}

/// F3 (docs/fuzzing.md, fixed): `from_days_since_epoch` added 719,468 to its argument unchecked;
/// it now refuses counts outside the supported years.
#[test]
fn any_day_count_gives_a_date_or_a_refusal_without_panicking() {
    for days in [i64::MAX, i64::MAX - 719_467, i64::MIN] {
        let result = std::panic::catch_unwind(|| Date::from_days_since_epoch(days))
            .unwrap_or_else(|_| panic!("from_days_since_epoch({days}) panicked"));
        assert!(result.is_err(), "{days} is outside the supported years");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// A lever value: unset, inside, at a bound, just outside, or not a number.
fn lever_value(rng: &mut Rng, lever: Lever) -> Option<f64> {
    let (lo, hi, _) = lever.range();
    match rng.below(40) {
        0..=3 => None,
        4 => Some(lo),
        5 => Some(hi),
        6 => Some(lo - 1e-9),
        7 => Some(hi + 1e-9),
        8 => Some(*rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e300])),
        _ => Some(lo + (hi - lo) * rng.unit()),
    }
}

fn out_of_range(lever: Lever, value: f64) -> bool {
    let (lo, hi, _) = lever.range();
    !value.is_finite() || value < lo || value > hi
}

const ACTIONS: [Action; Action::ALL.len()] = Action::ALL;

/// A random scenario and the fields validation must name, in the order it names them.
fn random_scenario(
    rng: &mut Rng,
    fraction: &mut dyn FnMut(&mut Rng) -> f64,
) -> (ScenarioInput, Vec<String>) {
    let mut want = Vec::new();
    let use_mode = if rng.chance(8) {
        want.push("scenario.use_mode".to_owned());
        None
    } else {
        Some(*rng.pick(&ACTIONS))
    };
    let mut values = Vec::new();
    for lever in [
        Lever::InterestRatePct,
        Lever::SanctionsTightening,
        Lever::SafeTakeup,
        Lever::DefenceSpendingGdpPct,
        Lever::GuaranteeSharing,
    ] {
        let v = lever_value(rng, lever);
        if out_of_range(lever, v.unwrap_or(lever.range().2)) {
            want.push(format!("scenario.{}", lever.field()));
        }
        values.push(v);
    }
    let horizon_years = match rng.below(16) {
        0..=2 => None,
        3 => Some(0),
        4 => Some(31),
        5 => Some(*rng.pick(&[i64::MIN, i64::MAX, -1])),
        _ => Some(1 + rng.below(30) as i64),
    };
    if horizon_years.is_some_and(|y| !(1..=30).contains(&y)) {
        want.push("scenario.horizon_years".to_owned());
    }
    let mut participation = Vec::new();
    let mut seen = Vec::new();
    for i in 0..rng.index(4) {
        let code = if rng.chance(10) {
            *rng.pick(&["XX", "be", "", "BEL", "UK"])
        } else {
            *rng.pick(&["BE", "FR", "DE", "JP", "EU", "LU", "GB", "CH"])
        };
        let f = fraction(rng);
        let at = format!("scenario.participation[{i}]");
        match Jurisdiction::parse(code) {
            Ok(j) => {
                if !(0.0..=1.0).contains(&f) {
                    want.push(format!("{at}.fraction"));
                }
                if seen.contains(&j) {
                    want.push(format!("{at}.jurisdiction"));
                }
                seen.push(j);
            }
            Err(_) => {
                want.push(format!("{at}.jurisdiction"));
                if !(0.0..=1.0).contains(&f) {
                    want.push(format!("{at}.fraction"));
                }
            }
        }
        participation.push((code.to_owned(), f));
    }
    let input = ScenarioInput {
        use_mode,
        participation,
        interest_rate_pct: values[0],
        sanctions_tightening: values[1],
        safe_takeup: values[2],
        defence_spending_gdp_pct: values[3],
        ceasefire: rng.chance(2),
        guarantee_sharing: values[4],
        horizon_years,
        as_of: None,
    };
    (input, want)
}

fn ordinary_fraction(rng: &mut Rng) -> f64 {
    match rng.below(20) {
        0 => 0.0,
        1 => 1.0,
        2 => -0.1,
        3 => 1.5,
        4 => f64::NAN,
        _ => 0.001 + 0.999 * rng.unit(),
    }
}

fn validate(input: ScenarioInput) -> Result<leverage_core::scenario::Scenario, Vec<String>> {
    let today = Date::new(2025, 12, 31).expect("valid");
    match input.validate("scenario", today) {
        Ok(s) => Ok(s),
        Err(DomainError::InvalidArgument(v)) => Err(v.into_iter().map(|f| f.field).collect()),
        Err(other) => panic!("validation failed with {other:?}"),
    }
}

#[test]
fn scenario_validation_names_exactly_the_fields_out_of_range() {
    let mut rng = Rng::new(8);
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..20_000 {
        let (input, want) = random_scenario(&mut rng, &mut ordinary_fraction);
        match validate(input.clone()) {
            Ok(s) => {
                assert!(want.is_empty(), "accepted, but {want:?} are bad: {input:?}");
                assert_eq!(Some(s.use_mode), input.use_mode);
                valid += 1;
            }
            Err(named) => {
                assert_eq!(named, want, "{input:?}");
                invalid += 1;
            }
        }
    }
    assert!(
        valid > 2000 && invalid > 2000,
        "{valid} valid, {invalid} invalid"
    );
}

fn context() -> Context {
    let snap = Snapshot::new(Dataset::embedded().expect("embedded dataset"));
    Context::derive(&snap, Date::new(2025, 12, 31).expect("valid")).expect("context")
}

fn finite_row(ctx: &Context, s: &leverage_core::scenario::Scenario) -> Result<(), String> {
    let mut row = vec![f64::NAN; INPUT_CATALOG.len()];
    ctx.fill_row(s, &mut row);
    for (v, spec) in row.iter().zip(INPUT_CATALOG.iter()) {
        if !v.is_finite() {
            return Err(format!("{} = {v}", spec.name));
        }
    }
    Ok(())
}

#[test]
fn valid_scenarios_fill_finite_rows_on_the_embedded_dataset() {
    let ctx = context();
    let mut rng = Rng::new(9);
    let mut rows = 0;
    for _ in 0..5000 {
        let (input, _) = random_scenario(&mut rng, &mut ordinary_fraction);
        let Ok(mut s) = validate(input) else {
            continue;
        };
        finite_row(&ctx, &s).unwrap_or_else(|e| panic!("{e} for {s:?}"));
        // A sweep sets a lever anywhere in its range.
        let lever = *rng.pick(&[
            Lever::InterestRatePct,
            Lever::SafeTakeup,
            Lever::HorizonYears,
            Lever::Participation,
        ]);
        let (lo, hi, _) = lever.range();
        lever.set(&mut s, lo + (hi - lo) * rng.unit().max(0.001));
        finite_row(&ctx, &s).unwrap_or_else(|e| panic!("{e} after {lever:?} for {s:?}"));
        rows += 1;
    }
    assert!(rows > 1000, "only {rows} rows");
}

/// F5 (docs/fuzzing.md, fixed): a participation fraction that is positive but tiny (5e-324,
/// 1e-310) is valid; it made the mobilised pool positive but subnormal, and
/// `private.frozen_share_of_pool` (private assets / pool) overflowed to infinity.
#[test]
fn every_valid_scenario_fills_a_finite_row() {
    let ctx = context();
    for fraction in [5e-324, 1e-310, f64::MIN_POSITIVE] {
        for code in ["BE", "FR", "JP"] {
            let s = validate(ScenarioInput {
                use_mode: Some(Action::Confiscation),
                participation: vec![(code.to_owned(), fraction)],
                ..ScenarioInput::default()
            })
            .expect("a fraction in [0, 1] is valid");
            finite_row(&ctx, &s).unwrap_or_else(|e| panic!("{e} for {code} at {fraction:e}"));
        }
    }
    let mut s = validate(ScenarioInput {
        use_mode: Some(Action::Confiscation),
        ..ScenarioInput::default()
    })
    .expect("valid");
    Lever::Participation.set(&mut s, 5e-324);
    finite_row(&ctx, &s).unwrap_or_else(|e| panic!("{e} at participation scale 5e-324"));
}

/// F5, second face: with one jurisdiction taking part, the asset-weighted legal risks are that
/// jurisdiction's risks whatever its fraction; a subnormal pool used to distort them.
#[test]
fn the_weighted_risk_of_one_jurisdiction_does_not_depend_on_its_fraction() {
    let ctx = context();
    let names: Vec<&str> = INPUT_CATALOG.iter().map(|s| s.name).collect();
    let risk_columns: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.starts_with("legal.risk."))
        .map(|(i, _)| i)
        .collect();
    let row_for = |fraction: f64| {
        let s = validate(ScenarioInput {
            use_mode: Some(Action::ReparationsLoan),
            participation: vec![("BE".to_owned(), fraction)],
            ..ScenarioInput::default()
        })
        .expect("valid");
        let mut row = vec![f64::NAN; INPUT_CATALOG.len()];
        ctx.fill_row(&s, &mut row);
        row
    };
    let whole = row_for(1.0);
    for fraction in [0.5, 1e-6, 1e-300, 1e-310, 5e-324] {
        let row = row_for(fraction);
        for &c in &risk_columns {
            assert!(
                (row[c] - whole[c]).abs() < 1e-12,
                "{} = {} at fraction {fraction:e}, {} at 1",
                names[c],
                row[c],
                whole[c]
            );
        }
    }
}
