//! LegalRiskService: doctrines, positions, published assessments, and the risk model.

use std::sync::Arc;

use leverage_core::legal::{self, Driver, DriverRef, RiskLevel};
use leverage_core::legal2;
use leverage_core::model::{
    Action, ActorKind, Doctrine, LegalChannel, Position, PublishedAssessment, Stance,
};
use leverage_core::paging::paginate;
use leverage_core::{Currency, Date, Violations};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::legal_risk_service_server::LegalRiskService;
use leverage_store::Repository;
use tonic::{Request, Response, Status};

use crate::convert::{self, date_in, date_out, money};
use crate::error;
use crate::versions;
use crate::{auth, edit};

#[derive(Debug)]
pub struct LegalApi {
    pub repo: Arc<Repository>,
}

pub fn action(a: Action) -> i32 {
    (match a {
        Action::Immobilisation => pb::AssetAction::Immobilisation,
        Action::WindfallProfits => pb::AssetAction::WindfallProfits,
        Action::ProfitsBackedLoan => pb::AssetAction::ProfitsBackedLoan,
        Action::ReparationsLoan => pb::AssetAction::ReparationsLoan,
        Action::Confiscation => pb::AssetAction::Confiscation,
        Action::Package2026 => pb::AssetAction::Package2026,
    }) as i32
}

/// The action of a request; UNSPECIFIED or unknown values are named as bad fields.
pub fn action_in(field: &str, value: i32, v: &mut Violations) -> Option<Action> {
    Some(match pb::AssetAction::try_from(value) {
        Ok(pb::AssetAction::Immobilisation) => Action::Immobilisation,
        Ok(pb::AssetAction::WindfallProfits) => Action::WindfallProfits,
        Ok(pb::AssetAction::ProfitsBackedLoan) => Action::ProfitsBackedLoan,
        Ok(pb::AssetAction::ReparationsLoan) => Action::ReparationsLoan,
        Ok(pb::AssetAction::Confiscation) => Action::Confiscation,
        Ok(pb::AssetAction::Package2026) => Action::Package2026,
        _ => {
            v.add(field, "must be set to an AssetAction value");
            return None;
        }
    })
}

fn stance(s: Stance) -> i32 {
    (match s {
        Stance::Supports => pb::Stance::Supports,
        Stance::Conditional => pb::Stance::Conditional,
        Stance::Opposes => pb::Stance::Opposes,
        Stance::Unresolved => pb::Stance::Unresolved,
    }) as i32
}

pub fn level(l: RiskLevel) -> i32 {
    (match l {
        RiskLevel::Low => pb::RiskLevel::Low,
        RiskLevel::Moderate => pb::RiskLevel::Moderate,
        RiskLevel::High => pb::RiskLevel::High,
        RiskLevel::Severe => pb::RiskLevel::Severe,
    }) as i32
}

/// A doctrine as the API shows it.
pub fn doctrine(d: &Doctrine) -> pb::Doctrine {
    pb::Doctrine {
        name: format!("doctrines/{}", d.id.to_ascii_lowercase()),
        id: d.id.clone(),
        display_name: d.name.clone(),
        summary: d.summary.clone(),
        open_question: d.open_question.clone().unwrap_or_default(),
        jurisdictions: d.jurisdictions.iter().map(|j| j.to_string()).collect(),
        exposure: Some(pb::ActionExposure {
            immobilisation: d.exposure.immobilisation,
            windfall_profits: d.exposure.windfall_profits,
            profits_backed_loan: d.exposure.profits_backed_loan,
            reparations_loan: d.exposure.reparations_loan,
            confiscation: d.exposure.confiscation,
        }),
        weight: d.weight,
        sources: d.sources.iter().map(convert::source).collect(),
        confidence: convert::confidence(d.confidence),
        channel: d
            .channel
            .map_or(pb::LegalChannel::Unspecified as i32, channel),
    }
}

pub fn channel(c: LegalChannel) -> i32 {
    (match c {
        LegalChannel::Annulment => pb::LegalChannel::Annulment,
        LegalChannel::Damages => pb::LegalChannel::Damages,
        LegalChannel::Retaliation => pb::LegalChannel::Retaliation,
    }) as i32
}

/// The channel of a request; UNSPECIFIED means none, unknown values are named.
pub fn channel_in(field: &str, value: i32, v: &mut Violations) -> Option<LegalChannel> {
    match pb::LegalChannel::try_from(value) {
        Ok(pb::LegalChannel::Unspecified) => None,
        Ok(pb::LegalChannel::Annulment) => Some(LegalChannel::Annulment),
        Ok(pb::LegalChannel::Damages) => Some(LegalChannel::Damages),
        Ok(pb::LegalChannel::Retaliation) => Some(LegalChannel::Retaliation),
        Err(_) => {
            v.add(field, "must be a LegalChannel value");
            None
        }
    }
}

pub fn actor_kind(k: ActorKind) -> i32 {
    (match k {
        ActorKind::Government => pb::ActorKind::Government,
        ActorKind::Parliament => pb::ActorKind::Parliament,
        ActorKind::Court => pb::ActorKind::Court,
        ActorKind::CentralBank => pb::ActorKind::CentralBank,
        ActorKind::EuInstitution => pb::ActorKind::EuInstitution,
        ActorKind::Company => pb::ActorKind::Company,
        ActorKind::Intergovernmental => pb::ActorKind::Intergovernmental,
    }) as i32
}

/// The actor kind of a request; UNSPECIFIED means not classified, unknown values are named.
pub fn actor_kind_in(field: &str, value: i32, v: &mut Violations) -> Option<ActorKind> {
    Some(match pb::ActorKind::try_from(value) {
        Ok(pb::ActorKind::Unspecified) => return None,
        Ok(pb::ActorKind::Government) => ActorKind::Government,
        Ok(pb::ActorKind::Parliament) => ActorKind::Parliament,
        Ok(pb::ActorKind::Court) => ActorKind::Court,
        Ok(pb::ActorKind::CentralBank) => ActorKind::CentralBank,
        Ok(pb::ActorKind::EuInstitution) => ActorKind::EuInstitution,
        Ok(pb::ActorKind::Company) => ActorKind::Company,
        Ok(pb::ActorKind::Intergovernmental) => ActorKind::Intergovernmental,
        Err(_) => {
            v.add(field, "must be an ActorKind value");
            return None;
        }
    })
}

/// A position as the API shows it.
pub fn position(p: &Position) -> pb::Position {
    pb::Position {
        name: format!("positions/{}", p.id),
        id: p.id.clone(),
        jurisdictions: p.jurisdictions.iter().map(|j| j.to_string()).collect(),
        actor: p.actor.clone(),
        actions: p.actions.iter().map(|a| action(*a)).collect(),
        stance: stance(p.stance),
        doctrine_ids: p.doctrines.clone(),
        summary: p.summary.clone(),
        date: Some(date_out(p.date)),
        date_label: p.date_label.clone().unwrap_or_default(),
        source: Some(convert::source(&p.source)),
        confidence: convert::confidence(p.confidence),
        verified: p.verified,
        actor_kind: p
            .actor_kind
            .map_or(pb::ActorKind::Unspecified as i32, actor_kind),
        actor_id: p.actor_id.clone().unwrap_or_default(),
    }
}

/// A published assessment as the API shows it.
pub fn assessment(a: &PublishedAssessment) -> pb::PublishedAssessment {
    pb::PublishedAssessment {
        id: a.id.clone(),
        author: a.author.clone(),
        date: Some(date_out(a.date)),
        date_label: a.date_label.clone().unwrap_or_default(),
        subject: a.subject.clone(),
        conclusion: a.conclusion.clone(),
        source: Some(convert::source(&a.source)),
        confidence: convert::confidence(a.confidence),
        verified: a.verified,
        actions: a.actions.iter().map(|x| action(*x)).collect(),
        risk_level: a
            .risk_level
            .map_or(pb::RiskLevel::Unspecified as i32, level),
    }
}

/// The risk level of a request; UNSPECIFIED means none, unknown values are named.
pub fn level_in(field: &str, value: i32, v: &mut Violations) -> Option<RiskLevel> {
    match pb::RiskLevel::try_from(value) {
        Ok(pb::RiskLevel::Unspecified) => None,
        Ok(pb::RiskLevel::Low) => Some(RiskLevel::Low),
        Ok(pb::RiskLevel::Moderate) => Some(RiskLevel::Moderate),
        Ok(pb::RiskLevel::High) => Some(RiskLevel::High),
        Ok(pb::RiskLevel::Severe) => Some(RiskLevel::Severe),
        Err(_) => {
            v.add(field, "must be a RiskLevel value");
            None
        }
    }
}

/// A driver as the API shows it; money in `currency`.
fn driver(d: Driver, currency: Currency) -> pb::RiskDriver {
    let mut out = pb::RiskDriver {
        title: d.title,
        contribution: d.contribution,
        explanation: d.explanation,
        sources: d.sources.iter().map(convert::source).collect(),
        date: d.date.map(date_out),
        value: d.value.unwrap_or_default(),
        ..Default::default()
    };
    let kind = match d.reference {
        DriverRef::Doctrine(id) => {
            out.ref_id = id;
            pb::DriverKind::Doctrine
        }
        DriverRef::Position(id) => {
            out.ref_id = id;
            pb::DriverKind::Position
        }
        DriverRef::Coefficient(id) => {
            out.ref_id = id;
            pb::DriverKind::Coefficient
        }
        DriverRef::Claim {
            id,
            forum,
            enforceable_in,
        } => {
            out.ref_id = id;
            out.amount = d.value.map(|v| money(v, currency));
            out.forum = forum;
            out.enforceable_in = enforceable_in.iter().map(|j| j.to_string()).collect();
            pb::DriverKind::Claim
        }
    };
    out.kind = kind as i32;
    out
}

fn channel_risk(c: legal2::ChannelRisk, currency: Currency) -> pb::ChannelRisk {
    let damages = c.channel == LegalChannel::Damages;
    pb::ChannelRisk {
        channel: channel(c.channel),
        risk: c.risk,
        level: level(c.level),
        drivers: c.drivers.into_iter().map(|d| driver(d, currency)).collect(),
        claimed: damages.then(|| money(c.claimed, currency)),
        awarded: damages.then(|| money(c.awarded, currency)),
        enforceable_in: c.enforceable_in.iter().map(|j| j.to_string()).collect(),
    }
}

/// A `legal-risk/2` answer as the API shows it.
fn assessment_v2(a: legal2::Assessment) -> pb::AssessLegalRiskResponse {
    let currency = a.currency;
    pb::AssessLegalRiskResponse {
        action: action(a.action),
        as_of: Some(date_out(a.as_of)),
        jurisdictions: a
            .jurisdictions
            .into_iter()
            .map(|j| {
                let binding = j.binding;
                let drivers = j
                    .channels
                    .iter()
                    .find(|c| c.channel == binding)
                    .map(|c| c.drivers.clone())
                    .unwrap_or_default();
                pb::JurisdictionRisk {
                    jurisdiction: j.jurisdiction.to_string(),
                    risk: j.risk,
                    level: level(j.level),
                    assets_at_stake: Some(money(j.at_stake, currency)),
                    drivers: drivers.into_iter().map(|d| driver(d, currency)).collect(),
                    channels: j
                        .channels
                        .into_iter()
                        .map(|c| channel_risk(c, currency))
                        .collect(),
                    binding_channel: channel(binding),
                }
            })
            .collect(),
        overall_risk: a.overall_risk,
        overall_level: level(a.overall_level),
        total_at_stake: Some(money(a.total_at_stake, currency)),
        model_version: legal2::MODEL_VERSION.to_owned(),
        method: legal2::METHOD.to_owned(),
        channels: a
            .channels
            .into_iter()
            .map(|c| channel_risk(c, currency))
            .collect(),
        combination: legal2::COMBINATION.to_owned(),
    }
}

#[tonic::async_trait]
impl LegalRiskService for LegalApi {
    async fn list_doctrines(
        &self,
        request: Request<pb::ListDoctrinesRequest>,
    ) -> Result<Response<pb::ListDoctrinesResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let items: Vec<_> = snap.dataset().doctrines.iter().collect();
        let (page, next_page_token, total) =
            paginate(items, r.page_size, &r.page_token, &["doctrines"]).map_err(error::domain)?;
        Ok(Response::new(pb::ListDoctrinesResponse {
            doctrines: page.into_iter().map(doctrine).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn list_positions(
        &self,
        request: Request<pb::ListPositionsRequest>,
    ) -> Result<Response<pb::ListPositionsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let mut v = Violations::new();
        let jurisdiction = if r.jurisdiction.is_empty() {
            None
        } else {
            convert::jurisdiction_in("jurisdiction", &r.jurisdiction, &mut v)
        };
        let wanted_action = if r.action == 0 {
            None
        } else {
            action_in("action", r.action, &mut v)
        };
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        v.into_result().map_err(error::domain)?;
        let mut items: Vec<_> = snap
            .dataset()
            .positions
            .iter()
            .filter(|p| p.date <= as_of)
            .filter(|p| jurisdiction.is_none_or(|j| p.jurisdictions.contains(&j)))
            .filter(|p| wanted_action.is_none_or(|a| p.actions.contains(&a)))
            .collect();
        items.sort_by(|a, b| (b.date, &a.id).cmp(&(a.date, &b.id)));
        let query = [
            "positions",
            &r.jurisdiction,
            &r.action.to_string(),
            &as_of.to_string(),
        ];
        let (page, next_page_token, total) =
            paginate(items, r.page_size, &r.page_token, &query).map_err(error::domain)?;
        Ok(Response::new(pb::ListPositionsResponse {
            positions: page.into_iter().map(position).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn list_published_assessments(
        &self,
        request: Request<pb::ListPublishedAssessmentsRequest>,
    ) -> Result<Response<pb::ListPublishedAssessmentsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let items: Vec<_> = snap.dataset().assessments.iter().collect();
        let (page, next_page_token, total) =
            paginate(items, r.page_size, &r.page_token, &["assessments"]).map_err(error::domain)?;
        Ok(Response::new(pb::ListPublishedAssessmentsResponse {
            published_assessments: page.into_iter().map(assessment).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn assess_legal_risk(
        &self,
        request: Request<pb::AssessLegalRiskRequest>,
    ) -> Result<Response<pb::AssessLegalRiskResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let mut v = Violations::new();
        let act = action_in("action", r.action, &mut v);
        let mut jurisdictions = Vec::new();
        for (i, code) in r.jurisdictions.iter().enumerate() {
            if let Some(j) = convert::jurisdiction_in(&format!("jurisdictions[{i}]"), code, &mut v)
            {
                if jurisdictions.contains(&j) {
                    v.add(
                        format!("jurisdictions[{i}]"),
                        format!("{j} is listed twice"),
                    );
                }
                jurisdictions.push(j);
            }
        }
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        let code = if r.currency_code.is_empty() {
            "EUR"
        } else {
            r.currency_code.as_str()
        };
        let currency = v.check("currency_code", Currency::parse(code));
        let model = if r.model.is_empty() {
            legal2::MODEL_VERSION
        } else if let Some(known) = legal2::MODELS.iter().find(|m| **m == r.model) {
            known
        } else {
            v.add(
                "model",
                format!(
                    "{:?} is not a known model; known: {}",
                    r.model,
                    legal2::MODELS.join(", ")
                ),
            );
            ""
        };
        v.into_result().map_err(error::domain)?;
        let (Some(act), Some(currency)) = (act, currency) else {
            return Err(error::invalid("action", "is required"));
        };
        if model == legal2::MODEL_VERSION {
            let a = legal2::assess(&snap, act, &jurisdictions, as_of, currency)
                .map_err(error::domain)?;
            return Ok(Response::new(assessment_v2(a)));
        }
        let a =
            legal::assess(&snap, act, &jurisdictions, as_of, currency).map_err(error::domain)?;
        Ok(Response::new(pb::AssessLegalRiskResponse {
            action: action(a.action),
            as_of: Some(date_out(a.as_of)),
            jurisdictions: a
                .jurisdictions
                .into_iter()
                .map(|j| pb::JurisdictionRisk {
                    jurisdiction: j.jurisdiction.to_string(),
                    risk: j.risk,
                    level: level(j.level),
                    assets_at_stake: Some(money(j.at_stake, currency)),
                    // Moved, not cloned: the assessment is built for this reply alone.
                    drivers: j.drivers.into_iter().map(|d| driver(d, currency)).collect(),
                    channels: Vec::new(),
                    binding_channel: pb::LegalChannel::Unspecified as i32,
                })
                .collect(),
            overall_risk: a.overall_risk,
            overall_level: level(a.overall_level),
            total_at_stake: Some(money(a.total_at_stake, currency)),
            model_version: legal::MODEL_VERSION.to_owned(),
            method: legal::METHOD.to_owned(),
            channels: Vec::new(),
            combination: String::new(),
        }))
    }

    async fn create_doctrine(
        &self,
        request: Request<pb::CreateDoctrineRequest>,
    ) -> Result<Response<pb::Doctrine>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create::<Doctrine>(&self.repo, actor, r.doctrine_id, "doctrine_id", r.doctrine)
            .await
            .map(Response::new)
    }

    async fn update_doctrine(
        &self,
        request: Request<pb::UpdateDoctrineRequest>,
    ) -> Result<Response<pb::Doctrine>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update::<Doctrine>(&self.repo, actor, r.doctrine, r.update_mask)
            .await
            .map(Response::new)
    }

    async fn delete_doctrine(
        &self,
        request: Request<pb::DeleteDoctrineRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete::<Doctrine>(&self.repo, actor, name)
            .await
            .map(Response::new)
    }

    async fn create_position(
        &self,
        request: Request<pb::CreatePositionRequest>,
    ) -> Result<Response<pb::Position>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create::<Position>(&self.repo, actor, r.position_id, "position_id", r.position)
            .await
            .map(Response::new)
    }

    async fn update_position(
        &self,
        request: Request<pb::UpdatePositionRequest>,
    ) -> Result<Response<pb::Position>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update::<Position>(&self.repo, actor, r.position, r.update_mask)
            .await
            .map(Response::new)
    }

    async fn delete_position(
        &self,
        request: Request<pb::DeletePositionRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete::<Position>(&self.repo, actor, name)
            .await
            .map(Response::new)
    }

    async fn create_published_assessment(
        &self,
        request: Request<pb::CreatePublishedAssessmentRequest>,
    ) -> Result<Response<pb::PublishedAssessment>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create::<PublishedAssessment>(
            &self.repo,
            actor,
            r.published_assessment_id,
            "published_assessment_id",
            r.published_assessment,
        )
        .await
        .map(Response::new)
    }

    async fn update_published_assessment(
        &self,
        request: Request<pb::UpdatePublishedAssessmentRequest>,
    ) -> Result<Response<pb::PublishedAssessment>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update::<PublishedAssessment>(
            &self.repo,
            actor,
            r.published_assessment,
            r.update_mask,
        )
        .await
        .map(Response::new)
    }

    async fn delete_published_assessment(
        &self,
        request: Request<pb::DeletePublishedAssessmentRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete::<PublishedAssessment>(&self.repo, actor, name)
            .await
            .map(Response::new)
    }
}
