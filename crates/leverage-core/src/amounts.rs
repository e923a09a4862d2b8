//! Amounts a scenario reads from the dataset as of its date, each with the records it came from:
//! Russia's reserves (the latest figure of a dated series), the windfall profits the EU received
//! in the twelve months to the date, and the loans to Ukraine in force on it. The scoring
//! context ([`crate::scenario::Context`]) turns them into catalog inputs, and the sources into
//! the provenance a score's inputs cite.

use crate::codes::Currency;
use crate::date::Date;
use crate::error::DomainError;
use crate::fx;
use crate::model::{Figure, FundingInstrument, InstrumentStatus};
use crate::snapshot::Snapshot;

/// Figures of this category form the dated series of Russia's international reserves.
pub const RESERVES_CATEGORY: &str = "sovereign_reserves";
/// The instrument whose allocations are the windfall-profit tranches the EU received.
pub const WINDFALL_INSTRUMENT: &str = "windfall-contribution";
/// The G7 ERA loans; their allocations are the lenders' loans.
pub const ERA_INSTRUMENT: &str = "era-loans";
/// The loan the EU borrows on the markets for Ukraine in 2026-27 (EUR 90 bn).
pub const EU_LOAN_INSTRUMENT: &str = "eu-ukraine-loan-2026-27";

/// An amount in EUR bn and the records it was derived from, in words (e.g. "figure SOV-020
/// (2025-12-26) at rate ecb-2025-12-24-usd").
#[derive(Clone, Debug, PartialEq)]
pub struct Traced {
    pub eur_bn: f64,
    pub source: String,
}

/// Converts `amount` (whole units of `currency`) to EUR bn at the rates in force on `as_of`,
/// and names the rates used (nothing for an amount already in euros).
fn to_eur_bn(
    snap: &Snapshot,
    amount: f64,
    currency: Currency,
    as_of: Date,
) -> Result<(f64, String), DomainError> {
    let eur = Currency::parse("EUR").map_err(|e| DomainError::FailedPrecondition(e.to_string()))?;
    let (value, used) = fx::convert(&snap.dataset().rates, amount, currency, eur, as_of)?;
    let rates: Vec<&str> = used.iter().map(|r| r.rate_id.as_str()).collect();
    let how = if rates.is_empty() {
        String::new()
    } else {
        format!(" at rate {}", rates.join(" and "))
    };
    Ok((value / 1e9, how))
}

/// A figure's amount in whole currency units, if it has one: figures keep the published unit,
/// "billion" (possibly qualified, "billion (approx.)") or "million".
pub fn figure_amount(f: &Figure) -> Option<(f64, Currency)> {
    let (value, currency) = (f.value?, f.currency?);
    let scale = if f.unit.starts_with("billion") {
        1e9
    } else if f.unit.starts_with("million") {
        1e6
    } else {
        return None;
    };
    Some((value * scale, currency))
}

/// Russia's international reserves as of `as_of`: the latest figure of the reserves series
/// ([`RESERVES_CATEGORY`]) dated on or before it. Before the series starts, the earliest
/// figure, and the source says so (as a rate is chosen when none is in force yet).
pub fn reserves_latest(snap: &Snapshot, as_of: Date) -> Result<Traced, DomainError> {
    let series = snap.dataset().figures.iter().filter_map(|f| {
        let date = f.as_of?;
        let amount = figure_amount(f)?;
        (f.category == RESERVES_CATEGORY).then_some((date, f, amount))
    });
    let (mut latest, mut earliest) = (None, None);
    for (date, f, amount) in series {
        // On a tie of dates the higher confidence wins, as for observations.
        let key = (date, f.confidence);
        if date <= as_of && latest.is_none_or(|(k, _, _)| key > k) {
            latest = Some((key, f, amount));
        }
        if earliest.is_none_or(|(k, _, _): ((Date, _), _, _)| key < k) {
            earliest = Some((key, f, amount));
        }
    }
    let (found, before_series) = match (latest, earliest) {
        (Some(found), _) => (found, false),
        (None, Some(found)) => (found, true),
        (None, None) => {
            return Err(DomainError::FailedPrecondition(format!(
                "the dataset has no figure of category {RESERVES_CATEGORY} (Russia's reserves) with an amount"
            )));
        }
    };
    let ((date, _), f, (amount, currency)) = found;
    let (eur_bn, rates) = to_eur_bn(snap, amount, currency, as_of)?;
    let caveat = if before_series {
        format!(", the earliest of the series: none is dated on or before {as_of}")
    } else {
        String::new()
    };
    Ok(Traced {
        eur_bn,
        source: format!("figure {} ({date}){rates}{caveat}", f.id),
    })
}

/// The same day a year earlier (28 February for 29 February).
fn one_year_before(d: Date) -> Result<Date, DomainError> {
    Date::new(d.year() - 1, d.month(), d.day())
        .or_else(|_| Date::new(d.year() - 1, d.month(), 28))
        .map_err(|e| DomainError::FailedPrecondition(e.to_string()))
}

fn instrument<'a>(snap: &'a Snapshot, id: &str) -> Result<&'a FundingInstrument, DomainError> {
    snap.instrument(id).ok_or_else(|| {
        DomainError::FailedPrecondition(format!("the dataset lacks instrument {id}"))
    })
}

/// Joins record labels: "WF-012 (2025-08-08), WF-013 (2026-03-31)".
fn list(labels: &[String]) -> String {
    labels.join(", ")
}

/// The windfall profits the EU received in the twelve months to `as_of` (after the same day a
/// year earlier, up to and including `as_of`): the tranches, allocations of
/// [`WINDFALL_INSTRUMENT`], dated in that window.
pub fn windfall_received_12m(snap: &Snapshot, as_of: Date) -> Result<Traced, DomainError> {
    let from = one_year_before(as_of)?;
    let windfall = instrument(snap, WINDFALL_INSTRUMENT)?;
    let mut total = 0.0;
    let mut labels = Vec::new();
    for a in &windfall.allocations {
        if a.as_of > from && a.as_of <= as_of {
            let (eur_bn, rates) = to_eur_bn(snap, a.amount(), a.currency, as_of)?;
            total += eur_bn;
            labels.push(format!("{} ({}){rates}", a.id, a.as_of));
        }
    }
    let source = if labels.is_empty() {
        format!(
            "no tranche of instrument {WINDFALL_INSTRUMENT} dated after {from} and on or before {as_of}"
        )
    } else {
        format!(
            "tranches {} of instrument {WINDFALL_INSTRUMENT} (after {from}, on or before {as_of})",
            list(&labels)
        )
    };
    Ok(Traced {
        eur_bn: total,
        source,
    })
}

/// Whether an instrument with this status as of a date is in force: agreed among its parties
/// (for loans between states, the agreement binds) or further, and not abandoned.
fn agreed_or_later(status: Option<InstrumentStatus>) -> bool {
    matches!(
        status,
        Some(
            InstrumentStatus::Agreed
                | InstrumentStatus::Adopted
                | InstrumentStatus::Disbursing
                | InstrumentStatus::Completed
        )
    )
}

/// The status of an instrument as of a date, in words for a source: "agreed 2024-10-25".
fn status_label(i: &FundingInstrument, as_of: Date) -> (Option<InstrumentStatus>, String) {
    match i.status_as_of(as_of) {
        Some((status, m)) => {
            let word = match status {
                InstrumentStatus::Proposed => "proposed",
                InstrumentStatus::Agreed => "agreed",
                InstrumentStatus::Adopted => "adopted",
                InstrumentStatus::Disbursing => "disbursing since",
                InstrumentStatus::Completed => "completed",
                InstrumentStatus::Abandoned => "abandoned",
            };
            (Some(status), format!("{word} {}", m.date))
        }
        None => (None, format!("no status on or before {as_of}")),
    }
}

/// The G7 ERA loans in force as of `as_of`: once the instrument is agreed, the lenders' loans
/// (allocations of [`ERA_INSTRUMENT`]) dated on or before the date; nothing before.
pub fn era_in_force(snap: &Snapshot, as_of: Date) -> Result<Traced, DomainError> {
    let era = instrument(snap, ERA_INSTRUMENT)?;
    let (status, status_text) = status_label(era, as_of);
    if !agreed_or_later(status) {
        return Ok(Traced {
            eur_bn: 0.0,
            source: format!("instrument {ERA_INSTRUMENT} not in force ({status_text})"),
        });
    }
    let mut total = 0.0;
    let mut labels = Vec::new();
    for a in &era.allocations {
        if a.as_of <= as_of {
            let (eur_bn, rates) = to_eur_bn(snap, a.amount(), a.currency, as_of)?;
            total += eur_bn;
            labels.push(format!("{} ({}){rates}", a.id, a.as_of));
        }
    }
    Ok(Traced {
        eur_bn: total,
        source: format!(
            "loans {} of instrument {ERA_INSTRUMENT} ({status_text})",
            list(&labels)
        ),
    })
}

/// The EU-borrowed loan to Ukraine in force as of `as_of`: its size once the Council adopted
/// it ([`EU_LOAN_INSTRUMENT`] adopted, disbursing or completed); nothing while it is only
/// proposed or agreed (the EUR 90 bn was agreed in December 2025 and blocked until April 2026,
/// so an agreement alone lends nothing).
pub fn eu_loan_in_force(snap: &Snapshot, as_of: Date) -> Result<Traced, DomainError> {
    let loan = instrument(snap, EU_LOAN_INSTRUMENT)?;
    let (status, status_text) = status_label(loan, as_of);
    let adopted = matches!(
        status,
        Some(
            InstrumentStatus::Adopted | InstrumentStatus::Disbursing | InstrumentStatus::Completed
        )
    );
    if !adopted {
        return Ok(Traced {
            eur_bn: 0.0,
            source: format!("instrument {EU_LOAN_INSTRUMENT} not adopted ({status_text})"),
        });
    }
    let size = loan.size.as_ref().ok_or_else(|| {
        DomainError::FailedPrecondition(format!(
            "the dataset lacks the size of {EU_LOAN_INSTRUMENT}"
        ))
    })?;
    let (eur_bn, rates) = to_eur_bn(snap, size.amount(), size.currency, as_of)?;
    Ok(Traced {
        eur_bn,
        source: format!(
            "size {} ({}){rates} of instrument {EU_LOAN_INSTRUMENT} ({status_text})",
            size.id, size.as_of
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn snap() -> Snapshot {
        Snapshot::new(Dataset::embedded().unwrap())
    }

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn the_reserves_are_the_latest_figure_of_the_series_on_or_before_the_date() {
        let s = snap();
        let at = |d: &str| reserves_latest(&s, day(d)).unwrap();
        assert!(
            at("2022-03-01")
                .source
                .starts_with("figure SOV-022 (2022-02-18)")
        );
        assert!(
            at("2025-12-31")
                .source
                .starts_with("figure SOV-020 (2025-12-26)")
        );
        assert!(
            at("2026-06-30")
                .source
                .starts_with("figure SOV-025 (2026-03-01)")
        );
        // USD 643.2 bn before the war, USD 809.3 bn in March 2026, each at its date's rate.
        assert!((500.0..650.0).contains(&at("2022-03-01").eur_bn));
        assert!(at("2026-06-30").eur_bn > at("2022-03-01").eur_bn);
    }

    #[test]
    fn before_the_series_starts_the_earliest_reserves_figure_is_used_and_said_to_be() {
        let early = reserves_latest(&snap(), day("2021-01-01")).unwrap();
        assert!(
            early.source.starts_with("figure SOV-022"),
            "{}",
            early.source
        );
        assert!(
            early
                .source
                .contains("none is dated on or before 2021-01-01")
        );
    }

    #[test]
    fn the_windfall_received_counts_the_tranches_of_the_twelve_months_to_the_date() {
        let s = snap();
        let june = windfall_received_12m(&s, day("2026-06-30")).unwrap();
        assert!((june.eur_bn - 3.0).abs() < 1e-12, "{june:?}");
        assert!(
            june.source.contains("WF-012 (2025-08-08)"),
            "{}",
            june.source
        );
        assert!(
            june.source.contains("WF-013 (2026-03-31)"),
            "{}",
            june.source
        );
        // The day before the fourth tranche it is not counted; a year after the third, the third
        // no longer is.
        let march = windfall_received_12m(&s, day("2026-03-30")).unwrap();
        assert!((march.eur_bn - 3.6).abs() < 1e-12, "{march:?}");
        let august = windfall_received_12m(&s, day("2026-08-08")).unwrap();
        assert!((august.eur_bn - 1.4).abs() < 1e-12, "{august:?}");
        assert!(!august.source.contains("WF-012"), "{}", august.source);
    }

    #[test]
    fn the_era_loans_count_once_agreed_and_the_eu_loan_once_adopted() {
        let s = snap();
        assert_eq!(era_in_force(&s, day("2024-10-24")).unwrap().eur_bn, 0.0);
        let era = era_in_force(&s, day("2026-06-30")).unwrap();
        assert!((40.0..50.0).contains(&era.eur_bn), "{era:?}");
        for id in ["ERA-002", "ERA-003", "ERA-004", "ERA-005", "ERA-006"] {
            assert!(era.source.contains(id), "{id} in {}", era.source);
        }
        let agreed = eu_loan_in_force(&s, day("2026-04-22")).unwrap();
        assert_eq!(agreed.eur_bn, 0.0);
        assert!(
            agreed.source.contains("agreed 2026-02-04"),
            "{}",
            agreed.source
        );
        let adopted = eu_loan_in_force(&s, day("2026-04-23")).unwrap();
        assert_eq!(adopted.eur_bn, 90.0);
        assert!(
            adopted.source.contains("RL-006-SIZE") && adopted.source.contains("adopted 2026-04-23"),
            "{}",
            adopted.source
        );
    }
}
