//! DefenceFundingService: instruments, allocations and eligibility.

use std::sync::Arc;

use leverage_core::funding::{self, Eligibility};
use leverage_core::model::{AccessEvent, Allocation, FundingInstrument, InstrumentStatus, Role};
use leverage_core::names::parse_name;
use leverage_core::paging::{paginate, parse_filter};
use leverage_core::{Date, Jurisdiction, Violations};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::defence_funding_service_server::DefenceFundingService;
use leverage_store::Repository;
use tonic::{Request, Response, Status};

use crate::convert::{self, date_in, date_out, money};
use crate::error;
use crate::versions;
use crate::{auth, edit};

#[derive(Debug)]
pub struct FundingApi {
    pub repo: Arc<Repository>,
}

fn status(s: InstrumentStatus) -> i32 {
    (match s {
        InstrumentStatus::Proposed => pb::InstrumentStatus::Proposed,
        InstrumentStatus::Agreed => pb::InstrumentStatus::Agreed,
        InstrumentStatus::Adopted => pb::InstrumentStatus::Adopted,
        InstrumentStatus::Disbursing => pb::InstrumentStatus::Disbursing,
        InstrumentStatus::Completed => pb::InstrumentStatus::Completed,
        InstrumentStatus::Abandoned => pb::InstrumentStatus::Abandoned,
    }) as i32
}

fn role(r: Role) -> i32 {
    (match r {
        Role::Borrower => pb::ParticipantRole::Borrower,
        Role::Lender => pb::ParticipantRole::Lender,
        Role::Guarantor => pb::ParticipantRole::Guarantor,
        Role::Recipient => pb::ParticipantRole::Recipient,
        Role::OptedOut => pb::ParticipantRole::OptedOut,
        Role::Associated => pb::ParticipantRole::Associated,
        Role::ThirdCountry => pb::ParticipantRole::ThirdCountry,
        Role::Contributor => pb::ParticipantRole::Contributor,
    }) as i32
}

fn event(e: AccessEvent) -> i32 {
    (match e {
        AccessEvent::PartnershipTalks => pb::AccessEvent::PartnershipTalks,
        AccessEvent::PartnershipSigned => pb::AccessEvent::PartnershipSigned,
        AccessEvent::TalksFailed => pb::AccessEvent::TalksFailed,
        AccessEvent::AgreementConcluded => pb::AccessEvent::AgreementConcluded,
    }) as i32
}

/// An instrument as the API shows it, with its status as of `as_of`.
pub fn instrument(i: &FundingInstrument, as_of: Date) -> pb::Instrument {
    let current = i.status_as_of(as_of);
    pb::Instrument {
        name: format!("instruments/{}", i.id),
        id: i.id.clone(),
        display_name: i.name.clone(),
        summary: i.summary.clone(),
        legal_basis: i.legal_basis.clone().unwrap_or_default(),
        status: current.map_or(0, |(s, _)| status(s)),
        status_date: current.map(|(_, m)| date_out(m.date)),
        size: i.size.as_ref().map(|s| money(s.amount(), s.currency)),
        size_bound: i.size.as_ref().map_or(0, |s| convert::bound(s.bound)),
        milestones: i
            .milestones
            .iter()
            .map(|m| pb::Milestone {
                date: Some(date_out(m.date)),
                date_label: m.date_label.clone().unwrap_or_default(),
                status: m.status.map_or(0, status),
                text: m.text.clone(),
                source: Some(convert::source(&m.source)),
            })
            .collect(),
        terms: i
            .terms
            .iter()
            .map(|t| pb::Term {
                name: t.name.clone(),
                value: t.value.clone(),
                source: Some(convert::source(&t.source)),
            })
            .collect(),
        participants: i
            .participants
            .iter()
            .map(|p| pb::Participant {
                jurisdiction: p.jurisdiction.to_string(),
                role: role(p.role),
                note: p.note.clone().unwrap_or_default(),
            })
            .collect(),
        eligibility: i.eligibility.as_ref().map(|e| pb::EligibilityRules {
            associated: e.associated.iter().map(|j| j.to_string()).collect(),
            outside_component_cap_pct: e.outside_component_cap_pct,
            summary: e.summary.clone(),
            source: Some(convert::source(&e.source)),
            third_countries: e
                .third_countries
                .iter()
                .map(|s| pb::ThirdCountryStep {
                    jurisdiction: s.jurisdiction.to_string(),
                    date: Some(date_out(s.date)),
                    event: event(s.event),
                    text: s.text.clone(),
                    source: Some(convert::source(&s.source)),
                })
                .collect(),
        }),
        size_detail: i.size.as_ref().map(|s| pb::Allocation {
            // The size is not an allocation resource, so it has no name.
            name: String::new(),
            ..allocation(&i.id, s)
        }),
    }
}

/// An allocation of instrument `instrument_id` as the API shows it.
pub fn allocation(instrument_id: &str, a: &Allocation) -> pb::Allocation {
    pb::Allocation {
        name: format!("instruments/{instrument_id}/allocations/{}", a.id),
        id: a.id.clone(),
        jurisdiction: a.jurisdiction.map(|j| j.to_string()).unwrap_or_default(),
        label: a.label.clone(),
        amount: Some(money(a.amount(), a.currency)),
        bound: convert::bound(a.bound),
        as_of: Some(date_out(a.as_of)),
        as_of_label: a.as_of_label.clone().unwrap_or_default(),
        source: Some(convert::source(&a.source)),
        confidence: convert::confidence(a.confidence),
        verified: a.verified,
        note: a.note.clone().unwrap_or_default(),
    }
}

fn instrument_id<'a>(field: &str, name: &'a str) -> Result<&'a str, Status> {
    parse_name("instruments", name).ok_or_else(|| {
        error::invalid(
            field,
            format!("{name:?} is not an instrument name (instruments/{{id}})"),
        )
    })
}

#[tonic::async_trait]
impl DefenceFundingService for FundingApi {
    async fn list_instruments(
        &self,
        request: Request<pb::ListInstrumentsRequest>,
    ) -> Result<Response<pb::ListInstrumentsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let mut v = Violations::new();
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        v.into_result().map_err(error::domain)?;
        let items: Vec<_> = snap.dataset().instruments.iter().collect();
        let (page, next_page_token, total) = paginate(
            items,
            r.page_size,
            &r.page_token,
            &["instruments", &as_of.to_string()],
        )
        .map_err(error::domain)?;
        Ok(Response::new(pb::ListInstrumentsResponse {
            instruments: page.into_iter().map(|i| instrument(i, as_of)).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn get_instrument(
        &self,
        request: Request<pb::GetInstrumentRequest>,
    ) -> Result<Response<pb::Instrument>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let id = instrument_id("name", &r.name)?;
        let mut v = Violations::new();
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        v.into_result().map_err(error::domain)?;
        let i = snap
            .instrument(id)
            .ok_or_else(|| error::not_found(&r.name))?;
        Ok(Response::new(instrument(i, as_of)))
    }

    async fn list_allocations(
        &self,
        request: Request<pb::ListAllocationsRequest>,
    ) -> Result<Response<pb::ListAllocationsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let all = r.parent == "instruments/-";
        let parent = if all {
            None
        } else {
            Some(instrument_id("parent", &r.parent)?)
        };
        let terms = parse_filter(&r.filter, &["jurisdiction"]).map_err(error::domain)?;
        let jurisdiction = match terms.first() {
            Some(t) => Some(
                Jurisdiction::parse(&t.value)
                    .map_err(|e| error::invalid("filter", e.to_string()))?,
            ),
            None => None,
        };
        if let Some(id) = parent
            && snap.instrument(id).is_none()
        {
            return Err(error::not_found(&r.parent));
        }
        let items: Vec<_> = snap
            .dataset()
            .instruments
            .iter()
            .filter(|i| parent.is_none_or(|p| i.id == p))
            .flat_map(|i| i.allocations.iter().map(move |a| (i.id.as_str(), a)))
            .filter(|(_, a)| jurisdiction.is_none_or(|j| a.jurisdiction == Some(j)))
            .collect();
        let (page, next_page_token, total) = paginate(
            items,
            r.page_size,
            &r.page_token,
            &["allocations", &r.parent, &r.filter],
        )
        .map_err(error::domain)?;
        Ok(Response::new(pb::ListAllocationsResponse {
            allocations: page.into_iter().map(|(id, a)| allocation(id, a)).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn check_eligibility(
        &self,
        request: Request<pb::CheckEligibilityRequest>,
    ) -> Result<Response<pb::CheckEligibilityResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let mut v = Violations::new();
        let id = parse_name("instruments", &r.instrument);
        if id.is_none() {
            v.add(
                "instrument",
                format!(
                    "{:?} is not an instrument name (instruments/{{id}})",
                    r.instrument
                ),
            );
        }
        let country = convert::jurisdiction_in("country", &r.country, &mut v);
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        if let Some(share) = r.outside_component_share_pct
            && !(0.0..=100.0).contains(&share)
        {
            v.add("outside_component_share_pct", "must be between 0 and 100");
        }
        v.into_result().map_err(error::domain)?;
        let (Some(id), Some(country)) = (id, country) else {
            return Err(error::invalid("instrument", "is required"));
        };
        let i = snap
            .instrument(id)
            .ok_or_else(|| error::not_found(&r.instrument))?;
        let answer = funding::check_eligibility(i, country, as_of, r.outside_component_share_pct)
            .map_err(error::domain)?;
        Ok(Response::new(pb::CheckEligibilityResponse {
            eligibility: (match answer.eligibility {
                Eligibility::Eligible => pb::Eligibility::Eligible,
                Eligibility::EligibleWithinCap => pb::Eligibility::EligibleWithinCap,
                Eligibility::NotEligible => pb::Eligibility::NotEligible,
            }) as i32,
            eligible: answer.eligible(),
            role: answer.role.map_or(0, role),
            cap_pct: answer.cap_pct,
            conditions: answer.conditions.clone(),
            reasons: answer
                .reasons
                .iter()
                .map(|x| pb::EligibilityReason {
                    text: x.text.clone(),
                    date: x.date.map(date_out),
                    source: x.source.as_ref().map(convert::source),
                })
                .collect(),
        }))
    }

    async fn create_instrument(
        &self,
        request: Request<pb::CreateInstrumentRequest>,
    ) -> Result<Response<pb::Instrument>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create::<FundingInstrument>(
            &self.repo,
            actor,
            r.instrument_id,
            "instrument_id",
            r.instrument,
        )
        .await
        .map(Response::new)
    }

    async fn update_instrument(
        &self,
        request: Request<pb::UpdateInstrumentRequest>,
    ) -> Result<Response<pb::Instrument>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update::<FundingInstrument>(&self.repo, actor, r.instrument, r.update_mask)
            .await
            .map(Response::new)
    }

    async fn delete_instrument(
        &self,
        request: Request<pb::DeleteInstrumentRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete::<FundingInstrument>(&self.repo, actor, name)
            .await
            .map(Response::new)
    }

    async fn create_allocation(
        &self,
        request: Request<pb::CreateAllocationRequest>,
    ) -> Result<Response<pb::Allocation>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create_allocation(&self.repo, actor, r.parent, r.allocation_id, r.allocation)
            .await
            .map(Response::new)
    }

    async fn update_allocation(
        &self,
        request: Request<pb::UpdateAllocationRequest>,
    ) -> Result<Response<pb::Allocation>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update_allocation(&self.repo, actor, r.allocation, r.update_mask)
            .await
            .map(Response::new)
    }

    async fn delete_allocation(
        &self,
        request: Request<pb::DeleteAllocationRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete_allocation(&self.repo, actor, name)
            .await
            .map(Response::new)
    }
}
