//! Currency conversion at the exchange rate in force on a date. Rates are data: dated and
//! sourced, and every conversion says which rate it used.

use crate::codes::Currency;
use crate::date::Date;
use crate::error::DomainError;
use crate::model::{Confidence, ExchangeRate};

/// How a rate was applied to a conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct RateUse {
    pub rate_id: String,
    /// Multiplier applied to go from the source to the target currency.
    pub factor: f64,
    /// Set when the rate is not the latest on or before the as-of date.
    pub note: Option<String>,
}

/// The rates applied to one conversion (none for the same currency, two for a cross rate).
pub type Conversion = (f64, Vec<RateUse>);

/// Currencies through which a cross rate may be formed, in order of preference.
const PIVOTS: [&str; 2] = ["EUR", "USD"];

/// One rate applied to one leg of a conversion, borrowed until a route is chosen.
#[derive(Clone, Copy)]
struct Leg<'a> {
    rate: &'a ExchangeRate,
    factor: f64,
    /// The rate is dated after the as-of date (no rate was in force on it).
    later: bool,
}

impl Leg<'_> {
    fn use_of(self, from: Currency, to: Currency, as_of: Date) -> RateUse {
        RateUse {
            rate_id: self.rate.id.clone(),
            factor: self.factor,
            note: self.later.then(|| {
                format!(
                    "no {from}/{to} rate on or before {as_of}; used the nearest later one, of {}",
                    self.rate.as_of
                )
            }),
        }
    }
}

/// Chooses the rate in force for a pair on a date: the latest observation on or before the
/// date (higher confidence first on the same day); when there is none, the earliest after it,
/// flagged as such, so that old figures can still be converted, transparently.
fn direct<'a>(
    rates: &'a [ExchangeRate],
    from: Currency,
    to: Currency,
    as_of: Date,
) -> Option<Leg<'a>> {
    let candidates = rates.iter().filter_map(|r| {
        if r.base == from && r.quote == to {
            Some((r, r.rate))
        } else if r.base == to && r.quote == from {
            Some((r, 1.0 / r.rate))
        } else {
            None
        }
    });
    let rank = |r: &&'a ExchangeRate| (r.as_of, r.confidence);
    let mut before: Option<(&ExchangeRate, f64)> = None;
    let mut after: Option<(&ExchangeRate, f64)> = None;
    for (r, factor) in candidates {
        if r.as_of <= as_of {
            if before.is_none_or(|(b, _)| rank(&r) > rank(&b)) {
                before = Some((r, factor));
            }
        } else if after.is_none_or(|(a, _)| {
            (r.as_of, std::cmp::Reverse(r.confidence)) < (a.as_of, std::cmp::Reverse(a.confidence))
        }) {
            after = Some((r, factor));
        }
    }
    match (before, after) {
        (Some((rate, factor)), _) => Some(Leg {
            rate,
            factor,
            later: false,
        }),
        (None, Some((rate, factor))) => Some(Leg {
            rate,
            factor,
            later: true,
        }),
        (None, None) => None,
    }
}

/// A way to convert: one rate, or two through a pivot currency (with the pivot).
struct Route<'a> {
    legs: Vec<(Leg<'a>, Currency, Currency)>,
}

impl Route<'_> {
    /// How good a route is, best highest: every leg in force on the date (none taken from
    /// after it), then the staleness of its oldest leg, then its weakest confidence, then
    /// fewer legs. So a fresh ECB cross rate through EUR beats a direct rate implied a year
    /// earlier, and a direct rate wins when it is as fresh as the cross.
    fn rank(
        &self,
    ) -> (
        bool,
        Option<Date>,
        Option<Confidence>,
        std::cmp::Reverse<usize>,
    ) {
        (
            self.legs.iter().all(|(l, _, _)| !l.later),
            self.legs.iter().map(|(l, _, _)| l.rate.as_of).min(),
            self.legs.iter().map(|(l, _, _)| l.rate.confidence).min(),
            std::cmp::Reverse(self.legs.len()),
        )
    }
}

/// Converts `amount` of `from` into `to` at the rates in force on `as_of`, directly or through
/// EUR or USD, by the freshest route (see [`Route::rank`]). The rates used are returned with
/// the result.
pub fn convert(
    rates: &[ExchangeRate],
    amount: f64,
    from: Currency,
    to: Currency,
    as_of: Date,
) -> Result<Conversion, DomainError> {
    if from == to {
        return Ok((amount, Vec::new()));
    }
    let mut routes: Vec<Route<'_>> = Vec::new();
    if let Some(leg) = direct(rates, from, to, as_of) {
        routes.push(Route {
            legs: vec![(leg, from, to)],
        });
    }
    for pivot in PIVOTS {
        let Ok(pivot) = Currency::parse(pivot) else {
            continue;
        };
        if pivot == from || pivot == to {
            continue;
        }
        if let (Some(a), Some(b)) = (
            direct(rates, from, pivot, as_of),
            direct(rates, pivot, to, as_of),
        ) {
            routes.push(Route {
                legs: vec![(a, from, pivot), (b, pivot, to)],
            });
        }
    }
    // The first best route: direct before EUR before USD when they rank the same.
    let best = routes
        .into_iter()
        .rev()
        .max_by_key(Route::rank)
        .ok_or_else(|| {
            DomainError::FailedPrecondition(format!(
                "the dataset has no exchange rate from {from} to {to}, directly or through EUR or USD"
            ))
        })?;
    let used: Vec<RateUse> = best
        .legs
        .into_iter()
        .map(|(leg, a, b)| leg.use_of(a, b, as_of))
        .collect();
    Ok((used.iter().fold(amount, |v, r| v * r.factor), used))
}

/// Converts many amounts into one currency on one date, choosing the rates of each source
/// currency once: a summary over ten thousand holdings in five currencies looks rates up five
/// times, not ten thousand. Each result is computed exactly as [`convert`] computes it.
#[derive(Debug)]
pub struct Converter<'a> {
    rates: &'a [ExchangeRate],
    to: Currency,
    as_of: Date,
    chosen: Vec<(Currency, Result<Vec<RateUse>, DomainError>)>,
}

impl<'a> Converter<'a> {
    pub fn new(rates: &'a [ExchangeRate], to: Currency, as_of: Date) -> Self {
        Self {
            rates,
            to,
            as_of,
            chosen: Vec::new(),
        }
    }

    /// `amount` of `from` in the target currency, with the rates applied (none when `from` is
    /// the target currency).
    pub fn convert(
        &mut self,
        amount: f64,
        from: Currency,
    ) -> Result<(f64, &[RateUse]), DomainError> {
        let index = match self.chosen.iter().position(|(c, _)| *c == from) {
            Some(i) => i,
            None => {
                let used =
                    convert(self.rates, 1.0, from, self.to, self.as_of).map(|(_, used)| used);
                self.chosen.push((from, used));
                self.chosen.len() - 1
            }
        };
        match &self.chosen[index].1 {
            Ok(used) => Ok((used.iter().fold(amount, |v, r| v * r.factor), used)),
            Err(e) => Err(e.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Source, Text};

    fn rate(id: &str, base: &str, quote: &str, rate: f64, as_of: &str) -> ExchangeRate {
        ExchangeRate {
            id: id.into(),
            base: Currency::parse(base).unwrap(),
            quote: Currency::parse(quote).unwrap(),
            rate,
            as_of: as_of.parse().unwrap(),
            as_of_label: None,
            kind: "test".into(),
            source: Source {
                publisher: "test".into(),
                title: None,
                url: Text::default(),
                ..Source::default()
            },
            confidence: Confidence::High,
            verified: true,
            note: None,
        }
    }

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn uses_the_latest_rate_on_or_before_the_date() {
        let rates = [
            rate("a", "EUR", "USD", 1.10, "2024-10-31"),
            rate("b", "EUR", "USD", 1.20, "2025-03-14"),
        ];
        let (v, used) = convert(
            &rates,
            100.0,
            c("EUR"),
            c("USD"),
            "2025-03-13".parse().unwrap(),
        )
        .unwrap();
        assert!((v - 110.0).abs() < 1e-9);
        assert_eq!(used[0].rate_id, "a");
        let (v, _) = convert(
            &rates,
            120.0,
            c("USD"),
            c("EUR"),
            "2025-03-14".parse().unwrap(),
        )
        .unwrap();
        assert!((v - 100.0).abs() < 1e-9);
    }

    #[test]
    fn falls_back_to_a_later_rate_and_says_so() {
        let rates = [rate("b", "EUR", "USD", 1.20, "2025-03-14")];
        let (_, used) = convert(
            &rates,
            1.0,
            c("EUR"),
            c("USD"),
            "2020-01-01".parse().unwrap(),
        )
        .unwrap();
        assert!(used[0].note.as_deref().unwrap().contains("nearest later"));
    }

    #[test]
    fn crosses_through_the_euro() {
        let rates = [
            rate("u", "EUR", "USD", 1.25, "2025-03-14"),
            rate("f", "EUR", "CHF", 0.5, "2025-03-14"),
        ];
        let (v, used) = convert(
            &rates,
            1.0,
            c("CHF"),
            c("USD"),
            "2025-06-01".parse().unwrap(),
        )
        .unwrap();
        assert!((v - 2.5).abs() < 1e-9);
        assert_eq!(used.len(), 2);
    }

    #[test]
    fn a_fresh_cross_rate_beats_a_stale_direct_one_and_a_direct_one_as_fresh_wins() {
        let mut rates = vec![
            rate("implied-2025", "GBP", "USD", 1.29, "2025-03-14"),
            rate("ecb-gbp", "EUR", "GBP", 0.85, "2026-04-13"),
            rate("ecb-usd", "EUR", "USD", 1.17, "2026-04-13"),
        ];
        let gbp = Currency::parse("GBP").unwrap();
        let usd = Currency::parse("USD").unwrap();
        let on = "2026-05-26".parse().unwrap();
        let (_, used) = convert(&rates, 1.0, gbp, usd, on).unwrap();
        let ids: Vec<&str> = used.iter().map(|u| u.rate_id.as_str()).collect();
        assert_eq!(ids, ["ecb-gbp", "ecb-usd"]);
        // Before the ECB rates existed, the direct one is the only one in force.
        let (_, used) = convert(&rates, 1.0, gbp, usd, "2025-06-30".parse().unwrap()).unwrap();
        assert_eq!(used[0].rate_id, "implied-2025");
        rates.push(rate("direct-2026", "GBP", "USD", 1.38, "2026-04-13"));
        let (v, used) = convert(&rates, 2.0, gbp, usd, on).unwrap();
        assert_eq!((used[0].rate_id.as_str(), v), ("direct-2026", 2.76));
    }

    #[test]
    fn unknown_pairs_fail_clearly() {
        let rates = [rate("u", "EUR", "USD", 1.25, "2025-03-14")];
        assert!(
            convert(
                &rates,
                1.0,
                c("BRL"),
                c("USD"),
                "2025-06-01".parse().unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn the_converter_gives_exactly_what_convert_gives() {
        let rates = [
            rate("a", "EUR", "USD", 1.0889, "2025-03-14"),
            rate("b", "GBP", "EUR", 1.1713, "2025-03-14"),
            rate("c", "EUR", "JPY", 161.3, "2025-03-14"),
        ];
        let day: Date = "2025-03-18".parse().unwrap();
        let mut converter = Converter::new(&rates, c("USD"), day);
        for (amount, from) in [
            (183.0, "EUR"),
            (0.1, "GBP"),
            (7.0, "JPY"),
            (3.3, "GBP"),
            (2.0, "USD"),
        ] {
            let (expected, expected_used) =
                convert(&rates, amount, c(from), c("USD"), day).unwrap();
            let (got, used) = converter.convert(amount, c(from)).unwrap();
            assert_eq!(got.to_bits(), expected.to_bits(), "{amount} {from}");
            assert_eq!(used, expected_used.as_slice());
        }
        let err = converter.convert(1.0, c("CHF")).unwrap_err();
        assert_eq!(Err(err), convert(&rates, 1.0, c("CHF"), c("USD"), day));
    }
}
