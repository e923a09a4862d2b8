//! The legal-risk model `legal-risk/2`: three channels scored apart, each with its drivers,
//! and an overall that names the channel that binds. Documented in `docs/legal-risk-model.md`;
//! `METHOD` and `COMBINATION` say it in words in every answer.
//!
//! * **Annulment**: can a court (EU courts, national courts) undo the measure? The grounds are
//!   the doctrines of that channel (immunity, countermeasures' conditions, the EU legal basis,
//!   property rights), each as applicable to a central bank's assets in the jurisdiction, and
//!   the positions of those who speak for the jurisdiction, weighed by authority and recency.
//! * **Damages**: does a forum (treaty tribunals, Russian courts, the custodian's creditors)
//!   award damages, whatever becomes of the measure? Doctrines of that channel (the BLEU–USSR
//!   treaty, the custodian's liability) and the claims and awards in the dataset's figures,
//!   with amounts, forum and where they can be enforced.
//! * **Retaliation**: Russia's counter-measures against EU assets in Russia and in
//!   jurisdictions friendly to it.
//!
//! Every coefficient is a figure of category `model_coefficient` (sourced, or labelled as the
//! project's judgment), and each one used is a driver of the answer with its id and value.

use std::collections::HashMap;

use crate::codes::{Currency, Jurisdiction};
use crate::date::Date;
use crate::error::DomainError;
use crate::fx;
use crate::legal::{self, Driver, DriverRef};
use crate::model::{
    Action, ActorKind, ClaimStage, Doctrine, ENFORCEABLE_EXPOSURE, Figure, LegalChannel,
    MODEL_COEFFICIENT, Position, RiskLevel, Stance,
};
use crate::snapshot::Snapshot;

pub const MODEL_VERSION: &str = "legal-risk/2";

/// The models `AssessLegalRisk` answers with, oldest first; the last is the default.
pub const MODELS: [&str; 2] = [legal::MODEL_VERSION, MODEL_VERSION];

pub const METHOD: &str = "Three channels, each in [0, 1]. Annulment (can a court undo the \
measure): 1 - prod(1 - LR2-ANNULMENT-PREVAIL * weight_d * exposure_d(action) * applicability_d) \
over the annulment grounds that apply in the jurisdiction, applicability being the standing of a \
central bank's assets (LR2-STANDING-*) and statutes that authorise the action there \
(LR2-STATUTE-*); then scaled by (1 + effect), effect being the sum over the actors who speak for \
the jurisdiction (EU institutions for every member state) of the stance coefficient \
(LR2-STANCE-*) x authority (LR2-AUTHORITY-*) x recency (halved every LR2-RECENCY-HALF-LIFE-DAYS) \
of each actor's latest position on the action, bounded to [LR2-STANCE-FLOOR, \
LR2-STANCE-CEILING]. Damages (a forum awards damages, the measure stands): 1 - prod(1 - term) \
over the damages grounds (LR2-DAMAGES-PREVAIL * weight * exposure) and the claims against the \
custodians there in force on the date (LR2-DAMAGES-CLAIMED or LR2-DAMAGES-AWARDED; an award \
replaces the claim it decides), with the amounts claimed and awarded. Retaliation: 1 - prod(1 - \
LR2-RETALIATION-SCALE * weight * exposure) over the consequences Russia can inflict. Every \
coefficient is a figure of category model_coefficient and a driver of the answer.";

pub const COMBINATION: &str = "A jurisdiction's risk is the largest of its three channel risks \
(named in binding_channel): the channels are different outcomes (the measure undone, damages \
paid while it stands, counter-measures suffered), not independent chances of one outcome, so \
they are neither added nor multiplied, and no channel is counted twice. The overall risk is the \
mean of the jurisdictions' risks weighted by the located central-bank assets at stake, as in \
legal-risk/1.";

/// A coefficient read from the dataset: its figure, so that a driver can show its source.
#[derive(Debug)]
pub struct Coefficients<'a> {
    by_id: HashMap<&'a str, &'a Figure>,
}

impl<'a> Coefficients<'a> {
    pub fn of(snap: &'a Snapshot) -> Self {
        let by_id = snap
            .dataset()
            .figures
            .iter()
            .filter(|f| f.category == MODEL_COEFFICIENT)
            .map(|f| (f.id.as_str(), f))
            .collect();
        Self { by_id }
    }

    /// A coefficient the model cannot do without.
    pub fn required(&self, id: &str) -> Result<(f64, &'a Figure), DomainError> {
        self.optional(id).ok_or_else(|| {
            DomainError::FailedPrecondition(format!(
                "the dataset lacks the legal-risk/2 coefficient {id} (a figure of category \
                 {MODEL_COEFFICIENT} with a value)"
            ))
        })
    }

    /// A coefficient that applies only where the dataset has one (an applicability).
    pub fn optional(&self, id: &str) -> Option<(f64, &'a Figure)> {
        let f = self.by_id.get(id)?;
        Some((f.value?, *f))
    }
}

/// The id part of an action in coefficient ids: `REPARATIONS-LOAN`.
fn action_tag(action: Action) -> String {
    action.as_str().to_ascii_uppercase().replace('_', "-")
}

fn stance_tag(stance: Stance) -> &'static str {
    match stance {
        Stance::Supports => "SUPPORTS",
        Stance::Conditional => "CONDITIONAL",
        Stance::Opposes => "OPPOSES",
        Stance::Unresolved => "UNRESOLVED",
    }
}

fn authority_id(kind: Option<ActorKind>) -> String {
    let tag = kind.map_or("UNCLASSIFIED", |k| match k {
        ActorKind::Government => "GOVERNMENT",
        ActorKind::Parliament => "PARLIAMENT",
        ActorKind::Court => "COURT",
        ActorKind::CentralBank => "CENTRAL-BANK",
        ActorKind::EuInstitution => "EU-INSTITUTION",
        ActorKind::Company => "COMPANY",
        ActorKind::Intergovernmental => "INTERGOVERNMENTAL",
    });
    format!("LR2-AUTHORITY-{tag}")
}

/// One channel in one jurisdiction.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelRisk {
    pub channel: LegalChannel,
    pub risk: f64,
    pub level: RiskLevel,
    pub drivers: Vec<Driver>,
    /// Damages only, in the assessment's currency.
    pub claimed: f64,
    pub awarded: f64,
    pub enforceable_in: Vec<Jurisdiction>,
    /// Damages only: the figures of the claims counted (an award replaces the claim it
    /// decides), with their amounts, so that an overall sums each claim once.
    pub claims: Vec<(String, ClaimStage, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JurisdictionRisk {
    pub jurisdiction: Jurisdiction,
    /// The largest channel risk.
    pub risk: f64,
    pub level: RiskLevel,
    pub binding: LegalChannel,
    pub at_stake: f64,
    /// Annulment, damages, retaliation, in that order.
    pub channels: Vec<ChannelRisk>,
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
    /// Each channel over the jurisdictions (drivers empty).
    pub channels: Vec<ChannelRisk>,
}

/// Collects drivers only when an answer needs them: scoring asks for the numbers alone.
struct Sink {
    drivers: Option<Vec<Driver>>,
}

impl Sink {
    fn push(&mut self, make: impl FnOnce() -> Driver) {
        if let Some(d) = &mut self.drivers {
            d.push(make());
        }
    }

    fn coefficient(&mut self, id: &str, value: f64, figure: &Figure) {
        self.push(|| Driver {
            reference: DriverRef::Coefficient(id.to_owned()),
            title: figure.metric.clone(),
            contribution: 0.0,
            explanation: figure.note.clone().unwrap_or_default(),
            sources: vec![figure.source.clone()],
            date: None,
            value: Some(value),
        });
    }

    /// Reads a coefficient the model cannot do without and shows it among the drivers.
    fn required(&mut self, coefficients: &Coefficients, id: &str) -> Result<f64, DomainError> {
        let (value, figure) = coefficients.required(id)?;
        self.coefficient(id, value, figure);
        Ok(value)
    }

    fn take(self) -> Vec<Driver> {
        let mut drivers = self.drivers.unwrap_or_default();
        drivers.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        drivers
    }
}

fn channel_of(d: &Doctrine) -> LegalChannel {
    d.channel.unwrap_or(LegalChannel::Annulment)
}

fn applies_in(d: &Doctrine, j: Jurisdiction) -> bool {
    d.jurisdictions.is_empty() || d.jurisdictions.contains(&j)
}

/// The doctrinal part of a channel: `1 - prod(1 - scale * weight * exposure * applicability)`
/// over the doctrines of `channel` that apply in `j`, each term handed to `on_term`.
fn doctrinal<'a>(
    snap: &'a Snapshot,
    coefficients: &Coefficients<'a>,
    channel: LegalChannel,
    scale: f64,
    action: Action,
    j: Jurisdiction,
    sink: &mut Sink,
) -> (f64, Vec<(&'a Doctrine, f64, f64)>) {
    let mut terms = Vec::new();
    let mut survive = 1.0;
    for d in snap.dataset().doctrines.iter() {
        if channel_of(d) != channel || !applies_in(d, j) {
            continue;
        }
        // Standing: the sovereign owner of central-bank assets may not invoke every ground
        // (ECHR Art. 34). Statute: where a law authorises the action, a court there applies it.
        let mut applicability = 1.0;
        for id in [
            format!("LR2-STANDING-{}-CENTRAL-BANK", d.id),
            format!("LR2-STATUTE-{}-{j}-{}", d.id, action_tag(action)),
        ] {
            if let Some((value, figure)) = coefficients.optional(&id) {
                applicability *= value;
                sink.coefficient(&id, value, figure);
            }
        }
        let term = scale * d.weight * d.exposure.get(action) * applicability;
        if term <= 0.0 {
            continue;
        }
        survive *= 1.0 - term;
        terms.push((d, term, applicability));
    }
    (1.0 - survive, terms)
}

/// Hands each doctrine's term to the drivers, as a share of `share` of the channel.
fn doctrine_drivers(
    sink: &mut Sink,
    terms: &[(&Doctrine, f64, f64)],
    scale_id: &str,
    scale: f64,
    share: f64,
    action: Action,
) {
    let sum: f64 = terms.iter().map(|(_, t, _)| t).sum();
    for (d, term, applicability) in terms {
        sink.push(|| Driver {
            reference: DriverRef::Doctrine(d.id.clone()),
            title: d.name.clone(),
            contribution: if sum > 0.0 { share * term / sum } else { 0.0 },
            explanation: format!(
                "{scale_id} {scale} x weight {:.2} x exposure {:.2} of {} x applicability {:.2}",
                d.weight,
                d.exposure.get(action),
                action.as_str(),
                applicability
            ),
            sources: d.sources.clone(),
            date: None,
            value: None,
        });
    }
}

/// Whether a position speaks for `j`: it names `j`, or it is an EU institution's position
/// for the Union and `j` is a member state (the immobilisation and every use of the assets
/// immobilised in the Union rest on Union acts, so the Union acts for its members).
fn speaks_for(p: &Position, j: Jurisdiction) -> bool {
    p.jurisdictions.contains(&j)
        || (j.is_eu_member()
            && p.actor_kind == Some(ActorKind::EuInstitution)
            && p.jurisdictions.iter().any(|k| k.as_str() == "EU"))
}

/// Each actor's latest position on `action` that speaks for `j`, on or before `as_of` (same
/// day: the larger id), in a stable order.
pub fn counted_positions(
    snap: &Snapshot,
    action: Action,
    j: Jurisdiction,
    as_of: Date,
) -> Vec<&Position> {
    let mut latest: HashMap<String, &Position> = HashMap::new();
    for p in snap.dataset().positions.iter() {
        if p.date > as_of || !p.actions.contains(&action) || !speaks_for(p, j) {
            continue;
        }
        latest
            .entry(p.actor_key())
            .and_modify(|q| {
                if (p.date, &p.id) > (q.date, &q.id) {
                    *q = p;
                }
            })
            .or_insert(p);
    }
    let mut out: Vec<&Position> = latest.into_values().collect();
    out.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    out
}

fn annulment(
    snap: &Snapshot,
    coefficients: &Coefficients,
    action: Action,
    j: Jurisdiction,
    as_of: Date,
    explain: bool,
) -> Result<ChannelRisk, DomainError> {
    let mut sink = Sink {
        drivers: explain.then(Vec::new),
    };
    let scale = sink.required(coefficients, "LR2-ANNULMENT-PREVAIL")?;
    let (grounds, terms) = doctrinal(
        snap,
        coefficients,
        LegalChannel::Annulment,
        scale,
        action,
        j,
        &mut sink,
    );
    let positions = counted_positions(snap, action, j, as_of);
    let mut weighed = Vec::with_capacity(positions.len());
    let mut effect = 0.0;
    if !positions.is_empty() {
        let half_life = sink.required(coefficients, "LR2-RECENCY-HALF-LIFE-DAYS")?;
        for p in &positions {
            let stance_id = format!("LR2-STANCE-{}", stance_tag(p.stance));
            let stance = sink.required(coefficients, &stance_id)?;
            let authority = sink.required(coefficients, &authority_id(p.actor_kind))?;
            let age = (as_of.days_since_epoch() - p.date.days_since_epoch()) as f64;
            let recency = if half_life > 0.0 {
                0.5f64.powf(age / half_life)
            } else {
                1.0
            };
            let term = stance * authority * recency;
            effect += term;
            weighed.push((*p, term, authority * recency));
        }
    }
    let (floor, floor_figure) = coefficients.required("LR2-STANCE-FLOOR")?;
    let (ceiling, ceiling_figure) = coefficients.required("LR2-STANCE-CEILING")?;
    if !positions.is_empty() {
        sink.coefficient("LR2-STANCE-FLOOR", floor, floor_figure);
        sink.coefficient("LR2-STANCE-CEILING", ceiling, ceiling_figure);
    }
    let effect = effect.clamp(floor, ceiling);
    let risk = (grounds * (1.0 + effect)).clamp(0.0, 1.0);
    if risk > 0.0 {
        doctrine_drivers(
            &mut sink,
            &terms,
            "LR2-ANNULMENT-PREVAIL",
            scale,
            grounds.min(1.0) / risk,
            action,
        );
        let raw: f64 = weighed.iter().map(|(_, t, _)| t).sum();
        for (p, term, weight) in &weighed {
            let share = if raw == 0.0 { 0.0 } else { term / raw };
            sink.push(|| Driver {
                reference: DriverRef::Position(p.id.clone()),
                title: format!("{} ({:?})", p.actor, p.stance).to_lowercase(),
                contribution: (risk - grounds.min(1.0)) / risk * share,
                explanation: p.summary.clone(),
                sources: vec![p.source.clone()],
                date: Some(p.date),
                value: Some(*weight),
            });
        }
    }
    Ok(ChannelRisk {
        channel: LegalChannel::Annulment,
        risk,
        level: RiskLevel::of(risk),
        drivers: sink.take(),
        claimed: 0.0,
        awarded: 0.0,
        enforceable_in: Vec::new(),
        claims: Vec::new(),
    })
}

/// The claims and awards against the custodians in `j` in force on `as_of`, an award
/// replacing the claim it decides.
pub fn claims_against(snap: &Snapshot, j: Jurisdiction, as_of: Date) -> Vec<&Figure> {
    let in_force: Vec<&Figure> = snap
        .dataset()
        .figures
        .iter()
        .filter(|f| f.claim.is_some() && f.custodian_jurisdictions.contains(&j))
        .filter(|f| f.as_of.is_some_and(|d| d <= as_of))
        .collect();
    in_force
        .iter()
        .copied()
        .filter(|f| {
            !in_force
                .iter()
                .any(|g| g.claim.as_ref().and_then(|c| c.decides.as_deref()) == Some(&f.id))
        })
        .collect()
}

/// A figure's amount in `currency`, in whole units (a figure's unit starting with "billion"
/// is in billions, "million" in millions).
pub fn figure_amount(
    snap: &Snapshot,
    f: &Figure,
    currency: Currency,
    as_of: Date,
) -> Result<f64, DomainError> {
    let (Some(value), Some(from)) = (f.value, f.currency) else {
        return Err(DomainError::FailedPrecondition(format!(
            "figure {} has no amount",
            f.id
        )));
    };
    let scale = if f.unit.starts_with("billion") {
        1e9
    } else if f.unit.starts_with("million") {
        1e6
    } else {
        1.0
    };
    Ok(fx::convert(&snap.dataset().rates, value * scale, from, currency, as_of)?.0)
}

fn damages(
    snap: &Snapshot,
    coefficients: &Coefficients,
    action: Action,
    j: Jurisdiction,
    as_of: Date,
    currency: Currency,
    explain: bool,
) -> Result<ChannelRisk, DomainError> {
    let mut sink = Sink {
        drivers: explain.then(Vec::new),
    };
    let scale = sink.required(coefficients, "LR2-DAMAGES-PREVAIL")?;
    let (grounds, terms) = doctrinal(
        snap,
        coefficients,
        LegalChannel::Damages,
        scale,
        action,
        j,
        &mut sink,
    );
    let mut survive = 1.0 - grounds;
    let (mut claimed, mut awarded) = (0.0, 0.0);
    let mut enforceable_in: Vec<Jurisdiction> = Vec::new();
    let mut claims = Vec::new();
    let mut claim_terms = Vec::new();
    for f in claims_against(snap, j, as_of) {
        let Some(claim) = &f.claim else { continue };
        let amount = figure_amount(snap, f, currency, as_of)?;
        let id = match claim.stage {
            ClaimStage::Claimed => "LR2-DAMAGES-CLAIMED",
            ClaimStage::Awarded => "LR2-DAMAGES-AWARDED",
        };
        let term = sink.required(coefficients, id)?;
        match claim.stage {
            ClaimStage::Claimed => claimed += amount,
            ClaimStage::Awarded => awarded += amount,
        }
        for k in &claim.enforceable_in {
            if !enforceable_in.contains(k) {
                enforceable_in.push(*k);
            }
        }
        survive *= 1.0 - term;
        claims.push((f.id.clone(), claim.stage, amount));
        claim_terms.push((f, term, amount));
    }
    let risk = 1.0 - survive;
    if risk > 0.0 {
        // Shares of the terms, the doctrines' together and each claim's on its own.
        let doctrine_terms: f64 = terms.iter().map(|(_, t, _)| t).sum();
        let total = doctrine_terms + claim_terms.iter().map(|(_, t, _)| t).sum::<f64>();
        doctrine_drivers(
            &mut sink,
            &terms,
            "LR2-DAMAGES-PREVAIL",
            scale,
            doctrine_terms / total,
            action,
        );
        for (f, term, amount) in &claim_terms {
            let Some(claim) = &f.claim else { continue };
            sink.push(|| Driver {
                reference: DriverRef::Claim {
                    id: f.id.clone(),
                    forum: claim.forum_name.clone(),
                    enforceable_in: claim.enforceable_in.clone(),
                },
                title: f.metric.clone(),
                contribution: term / total,
                explanation: format!(
                    "{} before the {} ({:?}), enforceable in {}: {}",
                    match claim.stage {
                        ClaimStage::Claimed => "claimed",
                        ClaimStage::Awarded => "awarded",
                    },
                    claim.forum_name,
                    claim.forum,
                    claim
                        .enforceable_in
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    f.note.as_deref().unwrap_or_default()
                ),
                sources: vec![f.source.clone()],
                date: f.as_of,
                value: Some(*amount),
            });
        }
    }
    enforceable_in.sort();
    Ok(ChannelRisk {
        channel: LegalChannel::Damages,
        risk,
        level: RiskLevel::of(risk),
        drivers: sink.take(),
        claimed,
        awarded,
        enforceable_in,
        claims,
    })
}

fn retaliation(
    snap: &Snapshot,
    coefficients: &Coefficients,
    action: Action,
    j: Jurisdiction,
    explain: bool,
) -> Result<ChannelRisk, DomainError> {
    let mut sink = Sink {
        drivers: explain.then(Vec::new),
    };
    let scale = sink.required(coefficients, "LR2-RETALIATION-SCALE")?;
    let (risk, terms) = doctrinal(
        snap,
        coefficients,
        LegalChannel::Retaliation,
        scale,
        action,
        j,
        &mut sink,
    );
    if risk > 0.0 {
        doctrine_drivers(
            &mut sink,
            &terms,
            "LR2-RETALIATION-SCALE",
            scale,
            1.0,
            action,
        );
    }
    Ok(ChannelRisk {
        channel: LegalChannel::Retaliation,
        risk,
        level: RiskLevel::of(risk),
        drivers: sink.take(),
        claimed: 0.0,
        awarded: 0.0,
        enforceable_in: Vec::new(),
        claims: Vec::new(),
    })
}

/// The three channels of `action` in one jurisdiction as of a date; drivers only when
/// `explain`.
pub fn jurisdiction_risk(
    snap: &Snapshot,
    coefficients: &Coefficients,
    action: Action,
    j: Jurisdiction,
    as_of: Date,
    currency: Currency,
    explain: bool,
) -> Result<JurisdictionRisk, DomainError> {
    let channels = vec![
        annulment(snap, coefficients, action, j, as_of, explain)?,
        damages(snap, coefficients, action, j, as_of, currency, explain)?,
        retaliation(snap, coefficients, action, j, explain)?,
    ];
    // The first of the largest: annulment before damages before retaliation on a tie.
    let binding = channels.iter().fold(
        &channels[0],
        |best, c| if c.risk > best.risk { c } else { best },
    );
    Ok(JurisdictionRisk {
        jurisdiction: j,
        risk: binding.risk,
        level: RiskLevel::of(binding.risk),
        binding: binding.channel,
        at_stake: 0.0,
        channels,
    })
}

/// The custodians' assets in jurisdictions that would enforce a Russian judgment, for the
/// custodians in `j`, in `currency`: the latest figure of category `enforceable_exposure`
/// attached to `j` on or before `as_of` (a later figure replaces an earlier one).
pub fn enforceable_exposure(
    snap: &Snapshot,
    j: Jurisdiction,
    as_of: Date,
    currency: Currency,
) -> Result<f64, DomainError> {
    let latest = snap
        .dataset()
        .figures
        .iter()
        .filter(|f| f.category == ENFORCEABLE_EXPOSURE && f.custodian_jurisdictions.contains(&j))
        .filter(|f| f.as_of.is_some_and(|d| d <= as_of))
        .max_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
    match latest {
        Some(f) => figure_amount(snap, f, currency, as_of),
        None => Ok(0.0),
    }
}

/// Assesses `action` in `jurisdictions` (all that hold located central-bank assets when
/// empty) with `legal-risk/2`.
pub fn assess(
    snap: &Snapshot,
    action: Action,
    jurisdictions: &[Jurisdiction],
    as_of: Date,
    currency: Currency,
) -> Result<Assessment, DomainError> {
    let coefficients = Coefficients::of(snap);
    let stakes = legal::assets_at_stake(snap, as_of, currency)?;
    let chosen: Vec<Jurisdiction> = if jurisdictions.is_empty() {
        stakes.iter().map(|(j, _)| *j).collect()
    } else {
        jurisdictions.to_vec()
    };
    let mut rows = Vec::with_capacity(chosen.len());
    for j in chosen {
        let mut row = jurisdiction_risk(snap, &coefficients, action, j, as_of, currency, true)?;
        row.at_stake = stakes
            .iter()
            .find(|(k, _)| *k == j)
            .map_or(0.0, |(_, v)| *v);
        rows.push(row);
    }
    let total_at_stake: f64 = rows.iter().map(|r| r.at_stake).sum();
    let weighted = |value: &dyn Fn(&JurisdictionRisk) -> f64| {
        if rows.is_empty() {
            0.0
        } else if total_at_stake > 0.0 {
            rows.iter().map(|r| value(r) * r.at_stake).sum::<f64>() / total_at_stake
        } else {
            rows.iter().map(value).sum::<f64>() / rows.len() as f64
        }
    };
    let overall_risk = weighted(&|r| r.risk);
    let channels = LegalChannel::ALL
        .iter()
        .enumerate()
        .map(|(i, channel)| {
            let risk = weighted(&|r| r.channels[i].risk);
            // A claim against custodians in several jurisdictions counts once.
            let mut claims: Vec<(String, ClaimStage, f64)> = Vec::new();
            let mut enforceable_in: Vec<Jurisdiction> = Vec::new();
            for r in &rows {
                for c in &r.channels[i].claims {
                    if !claims.iter().any(|k| k.0 == c.0) {
                        claims.push(c.clone());
                    }
                }
                for k in &r.channels[i].enforceable_in {
                    if !enforceable_in.contains(k) {
                        enforceable_in.push(*k);
                    }
                }
            }
            enforceable_in.sort();
            let sum = |stage| {
                claims
                    .iter()
                    .filter(|c| c.1 == stage)
                    .map(|c| c.2)
                    .sum::<f64>()
            };
            ChannelRisk {
                channel: *channel,
                risk,
                level: RiskLevel::of(risk),
                drivers: Vec::new(),
                claimed: sum(ClaimStage::Claimed),
                awarded: sum(ClaimStage::Awarded),
                enforceable_in,
                claims,
            }
        })
        .collect();
    Ok(Assessment {
        action,
        as_of,
        currency,
        jurisdictions: rows,
        overall_risk,
        overall_level: RiskLevel::of(overall_risk),
        total_at_stake,
        channels,
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

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn channel(r: &JurisdictionRisk, c: LegalChannel) -> &ChannelRisk {
        r.channels.iter().find(|x| x.channel == c).unwrap()
    }

    fn belgium(as_of: &str, action: Action) -> JurisdictionRisk {
        let s = snap();
        let c = Coefficients::of(&s);
        jurisdiction_risk(&s, &c, action, j("BE"), day(as_of), eur(), true).unwrap()
    }

    fn claim_ids(c: &ChannelRisk) -> Vec<&str> {
        c.drivers
            .iter()
            .filter_map(|d| match &d.reference {
                DriverRef::Claim { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_moscow_award_reaches_belgium_from_the_day_of_its_enforcement() {
        let after = belgium("2026-05-26", Action::Immobilisation);
        let damages = channel(&after, LegalChannel::Damages);
        assert_eq!(
            claim_ids(damages),
            ["EC-014"],
            "the award replaces the claim"
        );
        assert!(
            damages.awarded > 150e9,
            "about USD 252 bn: {}",
            damages.awarded
        );
        assert_eq!(damages.claimed, 0.0);
        let award = damages
            .drivers
            .iter()
            .find(|d| matches!(&d.reference, DriverRef::Claim { forum, .. } if forum == "Moscow Arbitration Court"))
            .unwrap();
        assert!(!award.sources.is_empty() && award.value == Some(damages.awarded));

        let before = belgium("2026-05-25", Action::Immobilisation);
        let damages_before = channel(&before, LegalChannel::Damages);
        assert_eq!(claim_ids(damages_before), ["EC-012"], "only the claim");
        assert_eq!(damages_before.awarded, 0.0);
        assert!(damages_before.claimed > 150e9);
        assert!(damages.risk > damages_before.risk);

        let long_before = belgium("2025-06-30", Action::Immobilisation);
        assert!(claim_ids(channel(&long_before, LegalChannel::Damages)).is_empty());
    }

    #[test]
    fn consequences_feed_damages_and_retaliation_not_annulment() {
        let r = belgium("2026-06-01", Action::ReparationsLoan);
        let doctrines = |c: LegalChannel| -> Vec<String> {
            channel(&r, c)
                .drivers
                .iter()
                .filter_map(|d| match &d.reference {
                    DriverRef::Doctrine(id) => Some(id.clone()),
                    _ => None,
                })
                .collect()
        };
        let annulment = doctrines(LegalChannel::Annulment);
        assert!(annulment.contains(&"DOC-IMM-EXEC".to_owned()));
        for consequence in ["DOC-RU-COUNTER", "DOC-CSD-LIABILITY", "DOC-BIT"] {
            assert!(
                !annulment.contains(&consequence.to_owned()),
                "{consequence}"
            );
        }
        assert!(doctrines(LegalChannel::Damages).contains(&"DOC-CSD-LIABILITY".to_owned()));
        assert!(doctrines(LegalChannel::Damages).contains(&"DOC-BIT".to_owned()));
        assert_eq!(doctrines(LegalChannel::Retaliation), ["DOC-RU-COUNTER"]);
    }

    #[test]
    fn every_coefficient_used_is_a_driver_with_the_value_the_dataset_gives() {
        let s = snap();
        let r = belgium("2026-06-01", Action::Confiscation);
        let mut seen = 0;
        for c in &r.channels {
            for d in &c.drivers {
                if let DriverRef::Coefficient(id) = &d.reference {
                    let f = s.dataset().figures.iter().find(|f| &f.id == id).unwrap();
                    assert_eq!(f.category, MODEL_COEFFICIENT);
                    assert_eq!(d.value, f.value, "{id}");
                    seen += 1;
                }
            }
        }
        // Scales of three channels, the property standing, the recency half-life, floor and
        // ceiling, a stance and an authority, the award's chance.
        assert!(seen >= 9, "{seen}");
    }

    #[test]
    fn the_property_ground_is_weaker_for_a_central_bank_and_the_repo_act_lowers_us_confiscation() {
        let s = snap();
        let c = Coefficients::of(&s);
        let as_of = day("2026-06-01");
        let drivers_of = |code: &str| {
            let r = jurisdiction_risk(&s, &c, Action::Confiscation, j(code), as_of, eur(), true)
                .unwrap();
            channel(&r, LegalChannel::Annulment).drivers.clone()
        };
        let coefficient = |drivers: &[Driver], id: &str| {
            drivers
                .iter()
                .any(|d| d.reference == DriverRef::Coefficient(id.to_owned()))
        };
        let fr = drivers_of("FR");
        assert!(coefficient(&fr, "LR2-STANDING-DOC-PROPERTY-CENTRAL-BANK"));
        assert!(!coefficient(
            &fr,
            "LR2-STATUTE-DOC-IMM-EXEC-US-CONFISCATION"
        ));
        let us = drivers_of("US");
        assert!(coefficient(&us, "LR2-STATUTE-DOC-IMM-EXEC-US-CONFISCATION"));
        // Without the statute's coefficients, the United States would score higher.
        let mut data = s.dataset().clone();
        data.figures = data
            .figures
            .iter()
            .filter(|f| !f.id.starts_with("LR2-STATUTE-"))
            .cloned()
            .collect();
        let without = Snapshot::new(data);
        let cw = Coefficients::of(&without);
        let risk = |snap: &Snapshot, c: &Coefficients| {
            channel(
                &jurisdiction_risk(snap, c, Action::Confiscation, j("US"), as_of, eur(), false)
                    .unwrap(),
                LegalChannel::Annulment,
            )
            .risk
        };
        assert!(risk(&s, &c) < risk(&without, &cw));
    }

    #[test]
    fn an_ecb_position_reaches_member_states_and_not_others() {
        let s = snap();
        let as_of = day("2026-06-01");
        let ids = |code: &str| -> Vec<String> {
            counted_positions(&s, Action::Confiscation, j(code), as_of)
                .iter()
                .map(|p| p.id.clone())
                .collect()
        };
        assert!(ids("ES").contains(&"pos-ecb-lagarde".to_owned()));
        assert!(!ids("GB").contains(&"pos-ecb-lagarde".to_owned()));
        // The UK's two statements on the loan count as one actor's latest.
        let gb = counted_positions(&s, Action::ReparationsLoan, j("GB"), as_of);
        let uk: Vec<&str> = gb
            .iter()
            .filter(|p| p.actor_key() == "gb-government")
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(uk, ["pos-uk-no-unilateral-use-2025-12-19"]);
    }

    #[test]
    fn contributions_of_a_channel_add_up_to_the_whole() {
        let r = belgium("2026-06-01", Action::ReparationsLoan);
        for c in &r.channels {
            if c.risk > 0.0 && c.risk < 1.0 {
                let total: f64 = c.drivers.iter().map(|d| d.contribution).sum();
                assert!((total - 1.0).abs() < 1e-9, "{:?}: {total}", c.channel);
            }
        }
        assert_eq!(
            r.risk,
            r.channels.iter().map(|c| c.risk).fold(0.0, f64::max)
        );
    }
}
