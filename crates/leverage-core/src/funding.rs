//! Defence-funding instruments: status as of a date and eligibility of a country.

use crate::codes::Jurisdiction;
use crate::date::Date;
use crate::error::DomainError;
use crate::model::{AccessEvent, FundingInstrument, InstrumentStatus, Role, Source};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eligibility {
    Eligible,
    /// May take part only while components from outside stay within the cap.
    EligibleWithinCap,
    NotEligible,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    pub text: String,
    pub date: Option<Date>,
    pub source: Option<Source>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EligibilityAnswer {
    pub eligibility: Eligibility,
    pub role: Option<Role>,
    pub cap_pct: Option<f64>,
    pub conditions: Vec<String>,
    pub reasons: Vec<Reason>,
}

impl EligibilityAnswer {
    pub fn eligible(&self) -> bool {
        self.eligibility != Eligibility::NotEligible
    }
}

fn reason(text: impl Into<String>, date: Option<Date>, source: Option<&Source>) -> Reason {
    Reason {
        text: text.into(),
        date,
        source: source.cloned(),
    }
}

/// Whether `country` can take part in `instrument` as of a date. With eligibility rules
/// (SAFE), members and associated states take part fully, a third country fully only under a
/// concluded agreement and otherwise within the cap on outside components; `outside_share_pct`,
/// when given, is checked against the cap. Without rules, the participant list decides.
pub fn check_eligibility(
    instrument: &FundingInstrument,
    country: Jurisdiction,
    as_of: Date,
    outside_share_pct: Option<f64>,
) -> Result<EligibilityAnswer, DomainError> {
    if let Some(share) = outside_share_pct
        && (!(0.0..=100.0).contains(&share) || !share.is_finite())
    {
        return Err(DomainError::invalid(
            "outside_component_share_pct",
            "must be between 0 and 100",
        ));
    }
    let mut reasons = Vec::new();
    let status = instrument.status_as_of(as_of);
    let in_force = matches!(
        status,
        Some((
            InstrumentStatus::Adopted | InstrumentStatus::Disbursing | InstrumentStatus::Agreed,
            _
        ))
    );
    if !in_force {
        let text = match status {
            Some((s, m)) => format!(
                "{} is {:?} as of {as_of} (since {}): not open to anyone",
                instrument.name, s, m.date
            )
            .to_lowercase(),
            None => format!("{} did not exist yet on {as_of}", instrument.name),
        };
        return Ok(EligibilityAnswer {
            eligibility: Eligibility::NotEligible,
            role: None,
            cap_pct: None,
            conditions: Vec::new(),
            reasons: vec![reason(
                text,
                status.map(|(_, m)| m.date),
                status.map(|(_, m)| &m.source),
            )],
        });
    }
    let participant = instrument
        .participants
        .iter()
        .find(|p| p.jurisdiction == country);
    let Some(rules) = &instrument.eligibility else {
        return Ok(match participant {
            Some(p) if p.role != Role::OptedOut => EligibilityAnswer {
                eligibility: Eligibility::Eligible,
                role: Some(p.role),
                cap_pct: None,
                conditions: Vec::new(),
                reasons: vec![reason(
                    format!(
                        "{country} takes part as {:?}{}",
                        p.role,
                        p.note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    )
                    .to_lowercase(),
                    None,
                    None,
                )],
            },
            Some(p) => EligibilityAnswer {
                eligibility: Eligibility::NotEligible,
                role: Some(p.role),
                cap_pct: None,
                conditions: Vec::new(),
                reasons: vec![reason(
                    format!(
                        "{country} opted out{}",
                        p.note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    ),
                    None,
                    None,
                )],
            },
            None => EligibilityAnswer {
                eligibility: Eligibility::NotEligible,
                role: None,
                cap_pct: None,
                conditions: Vec::new(),
                reasons: vec![reason(
                    format!("{country} is not a participant of {}", instrument.name),
                    None,
                    None,
                )],
            },
        });
    };
    let cap = rules.outside_component_cap_pct;
    let cap_condition = format!(
        "components from outside the EU, the associated states and third countries with an agreement must stay within {cap}% of component cost"
    );
    let (mut eligibility, role) = if country.is_eu_member() {
        reasons.push(reason(
            format!("{country} is an EU member state"),
            None,
            Some(&rules.source),
        ));
        (
            Eligibility::Eligible,
            participant.map(|p| p.role).or(Some(Role::Borrower)),
        )
    } else if rules.associated.contains(&country) {
        reasons.push(reason(
            format!("{country} is treated like a member state (EEA-EFTA or Ukraine): its components count as inside"),
            None,
            Some(&rules.source),
        ));
        (Eligibility::Eligible, Some(Role::Associated))
    } else {
        let mut steps: Vec<_> = rules
            .third_countries
            .iter()
            .filter(|s| s.jurisdiction == country && s.date <= as_of)
            .collect();
        steps.sort_by_key(|s| s.date);
        for s in &steps {
            reasons.push(reason(s.text.clone(), Some(s.date), Some(&s.source)));
        }
        let concluded = steps
            .last()
            .is_some_and(|s| s.event == AccessEvent::AgreementConcluded);
        if concluded {
            (Eligibility::Eligible, Some(Role::ThirdCountry))
        } else {
            reasons.push(reason(
                format!(
                    "{country} has no participation agreement in force on {as_of}: as a third country its components count as outside, within the {cap}% cap"
                ),
                steps.last().map(|s| s.date),
                Some(&rules.source),
            ));
            (Eligibility::EligibleWithinCap, Some(Role::ThirdCountry))
        }
    };
    if let Some(share) = outside_share_pct
        && share > cap
    {
        let who = if eligibility == Eligibility::EligibleWithinCap {
            format!("{country}'s components count as outside, and ")
        } else {
            String::new()
        };
        reasons.push(reason(
            format!("{who}{share}% of component cost from outside exceeds the {cap}% cap"),
            None,
            Some(&rules.source),
        ));
        eligibility = Eligibility::NotEligible;
    }
    Ok(EligibilityAnswer {
        eligibility,
        role,
        cap_pct: Some(cap),
        conditions: vec![cap_condition],
        reasons,
    })
}
