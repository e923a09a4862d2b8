//! The legal-risk model: a transparent, deterministic score in [0, 1] for an action in a
//! jurisdiction, explained by the doctrines and dated positions that drive it.
//! The method is documented in `docs/legal-risk-model.md`; `METHOD` says it in one paragraph.

use crate::codes::{Currency, Jurisdiction};
use crate::date::Date;
use crate::error::DomainError;
use crate::fx;
pub use crate::model::RiskLevel;
use crate::model::{Action, Doctrine, HoldingKind, OwnerKind, Position, Source, Stance};
use crate::snapshot::Snapshot;

pub const MODEL_VERSION: &str = "legal-risk/1";

pub const METHOD: &str = "Doctrinal risk is 1 - prod(1 - 0.35 * weight_d * exposure_d(action)) over \
the doctrines that apply in the jurisdiction (0.35: the chance that a fully weighted, fully \
exposed objection defeats the action). Each dated position of that jurisdiction on the action, \
up to the as-of date, then scales it: opposes +15%, conditional +8%, unresolved +4%, supports -8% \
(net effect bounded to [-15%, +30%]), and the result is clipped to [0, 1]. The overall figure \
weights each jurisdiction by the located central-bank assets at stake there as of the date.";

/// The chance that an objection of full weight and full exposure defeats an action. Without it
/// the combination saturates: seven doctrines argue against confiscation, and their product
/// would put every jurisdiction at 1.0, telling an analyst nothing. At 0.35 the most exposed
/// case (confiscating Euroclear's holdings in Belgium) sits near 0.8 and the published
/// assessments' spread (from "minimal" to "could exceed the assets") stays representable.
pub const BITE: f64 = 0.35;

/// How a stance moves the doctrinal risk of the jurisdiction that holds it.
fn stance_effect(stance: Stance) -> f64 {
    match stance {
        Stance::Opposes => 0.15,
        Stance::Conditional => 0.08,
        Stance::Unresolved => 0.04,
        Stance::Supports => -0.08,
    }
}
const STANCE_FLOOR: f64 = -0.15;
const STANCE_CEILING: f64 = 0.30;

#[derive(Clone, Debug, PartialEq)]
pub enum DriverRef {
    Doctrine(String),
    Position(String),
    /// A coefficient of `legal-risk/2` (a figure of category `model_coefficient`).
    Coefficient(String),
    /// A claim or award of damages (a figure), with its forum and where it can be enforced.
    Claim {
        id: String,
        forum: String,
        enforceable_in: Vec<Jurisdiction>,
    },
}

/// Why a risk is what it is: one doctrine or one position, with its share of the risk.
#[derive(Clone, Debug, PartialEq)]
pub struct Driver {
    pub reference: DriverRef,
    pub title: String,
    /// Share of the final risk this driver explains (negative for a supporting position).
    pub contribution: f64,
    pub explanation: String,
    pub sources: Vec<Source>,
    pub date: Option<Date>,
    /// `legal-risk/2`: a coefficient's value, a position's weight (authority x recency), a
    /// claim's amount in the assessment's currency. None in `legal-risk/1`.
    pub value: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JurisdictionRisk {
    pub jurisdiction: Jurisdiction,
    pub risk: f64,
    pub level: RiskLevel,
    /// Located central-bank assets there, in the assessment's currency.
    pub at_stake: f64,
    pub drivers: Vec<Driver>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub action: Action,
    pub as_of: Date,
    pub currency: Currency,
    pub jurisdictions: Vec<JurisdictionRisk>,
    pub overall_risk: f64,
    pub overall_level: RiskLevel,
    pub total_at_stake: f64,
}

/// Located central-bank assets per jurisdiction as of a date, in `currency`.
pub fn assets_at_stake(
    snap: &Snapshot,
    as_of: Date,
    currency: Currency,
) -> Result<Vec<(Jurisdiction, f64)>, DomainError> {
    let mut out: Vec<(Jurisdiction, f64)> = Vec::new();
    // Rates chosen once per currency, not once per holding.
    let mut converter = fx::Converter::new(&snap.dataset().rates, currency, as_of);
    for (h, o) in snap.holdings_as_of(as_of, |h| {
        h.kind == HoldingKind::Located && h.owner_kind == OwnerKind::CentralBank
    }) {
        let (Some(j), Some(o)) = (h.jurisdiction, o) else {
            continue;
        };
        let (v, _) = converter.convert(o.amount(), o.currency)?;
        match out.iter_mut().find(|(k, _)| *k == j) {
            Some((_, total)) => *total += v,
            None => out.push((j, v)),
        }
    }
    out.sort_by_key(|(j, _)| *j);
    Ok(out)
}

/// The risk of `action` in one jurisdiction as of a date, without its drivers: what scoring
/// needs, many times per snapshot, without the drivers' text.
pub fn risk_of(snap: &Snapshot, action: Action, j: Jurisdiction, as_of: Date) -> f64 {
    risk_parts(snap, action, j, as_of, |_, _| {}, |_| {}).1
}

/// The doctrinal risk and the risk after positions, handing each doctrine that bites (with its
/// term) and each position in force to the callbacks, so that one formula serves both
/// [`risk_of`] and [`jurisdiction_risk`].
fn risk_parts<'a>(
    snap: &'a Snapshot,
    action: Action,
    j: Jurisdiction,
    as_of: Date,
    mut on_doctrine: impl FnMut(&'a Doctrine, f64),
    mut on_position: impl FnMut(&'a Position),
) -> (f64, f64) {
    let data = snap.dataset();
    let mut survive = 1.0;
    for d in data.doctrines.iter() {
        if !(d.jurisdictions.is_empty() || d.jurisdictions.contains(&j)) {
            continue;
        }
        let term = BITE * d.weight * d.exposure.get(action);
        if term <= 0.0 {
            continue;
        }
        survive *= 1.0 - term;
        on_doctrine(d, term);
    }
    let doctrinal = 1.0 - survive;
    let mut effect = 0.0;
    for p in data.positions.iter() {
        if p.date <= as_of && p.jurisdictions.contains(&j) && p.actions.contains(&action) {
            effect += stance_effect(p.stance);
            on_position(p);
        }
    }
    let effect = effect.clamp(STANCE_FLOOR, STANCE_CEILING);
    (doctrinal, (doctrinal * (1.0 + effect)).clamp(0.0, 1.0))
}

/// The risk of `action` in one jurisdiction as of a date, with its drivers.
pub fn jurisdiction_risk(
    snap: &Snapshot,
    action: Action,
    j: Jurisdiction,
    as_of: Date,
) -> (f64, Vec<Driver>) {
    let (mut terms, mut positions) = (Vec::new(), Vec::new());
    let (doctrinal, risk) = risk_parts(
        snap,
        action,
        j,
        as_of,
        |d, term| terms.push((d, term)),
        |p| positions.push(p),
    );
    let term_sum: f64 = terms.iter().map(|(_, t)| t).sum();
    let mut drivers = Vec::new();
    if risk > 0.0 {
        for (d, term) in terms {
            drivers.push(Driver {
                reference: DriverRef::Doctrine(d.id.clone()),
                title: d.name.clone(),
                contribution: (doctrinal / risk) * term / term_sum,
                explanation: format!(
                    "{BITE} x weight {:.2} x exposure {:.2} of {} to this doctrine",
                    d.weight,
                    d.exposure.get(action),
                    action.as_str()
                ),
                sources: d.sources.clone(),
                date: None,
                value: None,
            });
        }
        let raw: f64 = positions.iter().map(|p| stance_effect(p.stance)).sum();
        for p in &positions {
            let share = if raw == 0.0 {
                0.0
            } else {
                stance_effect(p.stance) / raw
            };
            drivers.push(Driver {
                reference: DriverRef::Position(p.id.clone()),
                title: format!("{} ({:?})", p.actor, p.stance).to_lowercase(),
                contribution: (risk - doctrinal.min(1.0)) / risk * share,
                explanation: p.summary.clone(),
                sources: vec![p.source.clone()],
                date: Some(p.date),
                value: None,
            });
        }
    }
    drivers.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    (risk, drivers)
}

/// Assesses `action` in `jurisdictions` (all that hold located central-bank assets when empty).
pub fn assess(
    snap: &Snapshot,
    action: Action,
    jurisdictions: &[Jurisdiction],
    as_of: Date,
    currency: Currency,
) -> Result<Assessment, DomainError> {
    let stakes = assets_at_stake(snap, as_of, currency)?;
    let chosen: Vec<Jurisdiction> = if jurisdictions.is_empty() {
        stakes.iter().map(|(j, _)| *j).collect()
    } else {
        jurisdictions.to_vec()
    };
    let mut rows = Vec::new();
    for j in chosen {
        let at_stake = stakes
            .iter()
            .find(|(k, _)| *k == j)
            .map_or(0.0, |(_, v)| *v);
        let (risk, drivers) = jurisdiction_risk(snap, action, j, as_of);
        rows.push(JurisdictionRisk {
            jurisdiction: j,
            risk,
            level: RiskLevel::of(risk),
            at_stake,
            drivers,
        });
    }
    let total_at_stake: f64 = rows.iter().map(|r| r.at_stake).sum();
    let overall_risk = if rows.is_empty() {
        0.0
    } else if total_at_stake > 0.0 {
        rows.iter().map(|r| r.risk * r.at_stake).sum::<f64>() / total_at_stake
    } else {
        rows.iter().map(|r| r.risk).sum::<f64>() / rows.len() as f64
    };
    Ok(Assessment {
        action,
        as_of,
        currency,
        jurisdictions: rows,
        overall_risk,
        overall_level: RiskLevel::of(overall_risk),
        total_at_stake,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn snap() -> Snapshot {
        Snapshot::new(Dataset::embedded().unwrap())
    }

    fn j(code: &str) -> Jurisdiction {
        Jurisdiction::parse(code).unwrap()
    }

    #[test]
    fn the_risk_without_drivers_is_the_risk_with_them() {
        let s = snap();
        for day in ["2022-03-01", "2025-12-31", "2026-03-01"] {
            let as_of: Date = day.parse().unwrap();
            for code in [
                "BE", "FR", "LU", "CH", "GB", "US", "JP", "CA", "DE", "EU", "UA",
            ] {
                for a in Action::ALL {
                    let (with, _) = jurisdiction_risk(&s, a, j(code), as_of);
                    let without = risk_of(&s, a, j(code), as_of);
                    assert_eq!(with.to_bits(), without.to_bits(), "{code} {a:?} {day}");
                }
            }
        }
    }

    #[test]
    fn risk_rises_with_legal_intensity_in_every_jurisdiction() {
        let s = snap();
        let as_of: Date = "2026-03-01".parse().unwrap();
        for code in ["BE", "FR", "LU", "CH", "GB", "US", "JP", "CA", "DE"] {
            let risk = |a| jurisdiction_risk(&s, a, j(code), as_of).0;
            assert!(
                risk(Action::Confiscation) > risk(Action::ReparationsLoan),
                "{code}"
            );
            assert!(
                risk(Action::ReparationsLoan) > risk(Action::WindfallProfits),
                "{code}"
            );
        }
    }

    #[test]
    fn the_scale_does_not_saturate() {
        let s = snap();
        let as_of: Date = "2026-03-01".parse().unwrap();
        let be = jurisdiction_risk(&s, Action::Confiscation, j("BE"), as_of).0;
        let us = jurisdiction_risk(&s, Action::Confiscation, j("US"), as_of).0;
        assert!(be < 1.0, "Belgium's confiscation risk is {be}");
        assert!(
            be > us,
            "Belgium adds the BIT and the custodian's liability: {be} vs {us}"
        );
    }

    #[test]
    fn positions_dated_after_the_as_of_date_do_not_count() {
        let s = snap();
        let before = jurisdiction_risk(
            &s,
            Action::ReparationsLoan,
            j("BE"),
            "2024-01-01".parse().unwrap(),
        );
        let after = jurisdiction_risk(
            &s,
            Action::ReparationsLoan,
            j("BE"),
            "2026-03-01".parse().unwrap(),
        );
        assert!(
            before
                .1
                .iter()
                .all(|d| matches!(d.reference, DriverRef::Doctrine(_)))
        );
        assert!(
            after
                .1
                .iter()
                .any(|d| matches!(d.reference, DriverRef::Position(_)))
        );
        assert!(after.0 > before.0, "Belgium's conditions raise the risk");
    }

    #[test]
    fn contributions_add_up_to_the_whole() {
        let s = snap();
        let (risk, drivers) = jurisdiction_risk(
            &s,
            Action::ReparationsLoan,
            j("BE"),
            "2026-03-01".parse().unwrap(),
        );
        assert!(risk < 1.0);
        let total: f64 = drivers.iter().map(|d| d.contribution).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }
}
