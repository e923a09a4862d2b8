//! AssetService: thin handlers over `leverage_core::assets` and the repository.

use std::sync::Arc;

use leverage_core::assets::{self, GroupBy, SummaryDetail};
use leverage_core::model::{Audit, Holding, HoldingKind, Instrument, Observation, OwnerKind};
use leverage_core::names::{is_valid_id, parse_name};
use leverage_core::paging::paginate;
use leverage_core::record::{Record, RecordKey, RecordKind};
use leverage_core::{Currency, Date, Violations};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_server::AssetService;
use leverage_store::{Change, Commit, Origin, Repository, StoreError};
use tonic::{Request, Response, Status};

use crate::auth;
use crate::convert::{self, date_in, date_out, money};
use crate::error;
use crate::versions;

#[derive(Debug)]
pub struct Assets {
    pub repo: Arc<Repository>,
}

impl Assets {
    /// Runs a write off the async workers (it waits for SQLite to reach the disk).
    async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Repository) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        let repo = Arc::clone(&self.repo);
        crate::off_the_workers(move || op(&repo).map_err(error::store)).await
    }
}

impl Assets {
    /// Commits one edit that says why it was made (a correction or a withdrawal).
    async fn edit(
        &self,
        actor: &str,
        summary: String,
        reason: String,
        change: Change,
    ) -> Result<u64, Status> {
        let actor = actor.to_owned();
        self.write(move |repo| {
            repo.commit(&Commit {
                actor,
                origin: Origin::Edit,
                summary,
                reason: Some(reason),
                changes: vec![change],
                base: None,
                conflicts: Vec::new(),
            })
            .map(|c| c.revision)
        })
        .await
    }
}

pub fn kind(k: HoldingKind) -> i32 {
    (match k {
        HoldingKind::Located => pb::HoldingKind::Located,
        HoldingKind::Aggregate => pb::HoldingKind::Aggregate,
        HoldingKind::Breakdown => pb::HoldingKind::Breakdown,
    }) as i32
}

fn owner(k: OwnerKind) -> i32 {
    (match k {
        OwnerKind::CentralBank => pb::OwnerKind::CentralBank,
        OwnerKind::SanctionedIndividuals => pb::OwnerKind::SanctionedIndividuals,
        OwnerKind::SanctionedEntities => pb::OwnerKind::SanctionedEntities,
        OwnerKind::SanctionedMixed => pb::OwnerKind::SanctionedMixed,
    }) as i32
}

fn owner_in(field: &str, value: i32, v: &mut Violations) -> Option<OwnerKind> {
    match pb::OwnerKind::try_from(value) {
        Ok(pb::OwnerKind::CentralBank) => Some(OwnerKind::CentralBank),
        Ok(pb::OwnerKind::SanctionedIndividuals) => Some(OwnerKind::SanctionedIndividuals),
        Ok(pb::OwnerKind::SanctionedEntities) => Some(OwnerKind::SanctionedEntities),
        Ok(pb::OwnerKind::SanctionedMixed) => Some(OwnerKind::SanctionedMixed),
        _ => {
            v.add(field, "must be set to an OwnerKind value");
            None
        }
    }
}

fn instrument(i: Instrument) -> i32 {
    (match i {
        Instrument::Cash => pb::AssetInstrument::Cash,
        Instrument::Securities => pb::AssetInstrument::Securities,
        Instrument::CashAndSecurities => pb::AssetInstrument::CashAndSecurities,
        Instrument::RealEstate => pb::AssetInstrument::RealEstate,
        Instrument::Vessels => pb::AssetInstrument::Vessels,
        Instrument::Aircraft => pb::AssetInstrument::Aircraft,
        Instrument::Other => pb::AssetInstrument::Other,
    }) as i32
}

fn instrument_in(field: &str, value: i32, v: &mut Violations) -> Option<Instrument> {
    Some(match pb::AssetInstrument::try_from(value) {
        Ok(pb::AssetInstrument::Cash) => Instrument::Cash,
        Ok(pb::AssetInstrument::Securities) => Instrument::Securities,
        Ok(pb::AssetInstrument::CashAndSecurities) => Instrument::CashAndSecurities,
        Ok(pb::AssetInstrument::RealEstate) => Instrument::RealEstate,
        Ok(pb::AssetInstrument::Vessels) => Instrument::Vessels,
        Ok(pb::AssetInstrument::Aircraft) => Instrument::Aircraft,
        Ok(pb::AssetInstrument::Other) => Instrument::Other,
        _ => {
            v.add(field, "must be set to an AssetInstrument value");
            return None;
        }
    })
}

pub fn observation(holding_id: &str, o: &Observation) -> pb::Observation {
    pb::Observation {
        name: format!("holdings/{holding_id}/observations/{}", o.id),
        id: o.id.clone(),
        amount: Some(money(o.amount(), o.currency)),
        amount_high: o
            .value_high
            .map(|h| money(convert::scaled(h, o.scale), o.currency)),
        bound: convert::bound(o.bound),
        as_of: Some(date_out(o.as_of)),
        as_of_label: o.as_of_label.as_deref().unwrap_or_default().to_owned(),
        source: Some(convert::source(&o.source)),
        confidence: convert::confidence(o.confidence),
        verified: o.verified,
        note: o.note.as_deref().unwrap_or_default().to_owned(),
        created_by: o.audit.created_by.to_string(),
        create_time: convert::timestamp(o.audit.create_time),
    }
}

pub fn holding(h: &Holding, current: Option<&Observation>, full: bool) -> pb::Holding {
    pb::Holding {
        name: format!("holdings/{}", h.id),
        kind: kind(h.kind),
        part_of: h
            .part_of
            .as_ref()
            .map(|p| format!("holdings/{p}"))
            .unwrap_or_default(),
        scope: h.scope.clone(),
        owner_kind: owner(h.owner_kind),
        jurisdiction: h.jurisdiction.map(|j| j.to_string()).unwrap_or_default(),
        coverage: h.coverage.clone().unwrap_or_default(),
        custodian: h.custodian.clone().unwrap_or_default(),
        instrument: instrument(h.instrument),
        current: current.map(|o| observation(&h.id, o)),
        observations: if full {
            let mut series: Vec<_> = h.observations.iter().collect();
            series.sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
            series.into_iter().map(|o| observation(&h.id, o)).collect()
        } else {
            Vec::new()
        },
        created_by: h.audit.created_by.to_string(),
        create_time: convert::timestamp(h.audit.create_time),
        updated_by: h.last_change().0.to_owned(),
        update_time: convert::timestamp(h.last_change().1),
        etag: leverage_store::holding_etag(h).to_string(),
    }
}

/// Refuses a change to `h` when the client sent an etag that is no longer its own (AIP-154);
/// an empty etag asks for no check.
fn check_etag(h: &Holding, given: &str) -> Result<(), StoreError> {
    let current = leverage_store::holding_etag(h);
    if given.is_empty() || *current == *given {
        return Ok(());
    }
    Err(StoreError::EtagMismatch {
        name: format!("holdings/{}", h.id),
        given: given.to_owned(),
        current: current.to_string(),
    })
}

fn holding_id<'a>(field: &str, name: &'a str) -> Result<&'a str, Status> {
    parse_name("holdings", name).ok_or_else(|| {
        error::invalid(
            field,
            format!("{name:?} is not a holding name (holdings/{{id}})"),
        )
    })
}

/// Reads an observation from a request; every bad field is named under `prefix`.
fn observation_in(
    prefix: &str,
    id: String,
    o: Option<&pb::Observation>,
    actor: &str,
    v: &mut Violations,
) -> Option<Observation> {
    let Some(o) = o else {
        v.add(prefix, "is required");
        return None;
    };
    let f = |name: &str| format!("{prefix}.{name}");
    let amount = convert::money_in(&f("amount"), o.amount.as_ref(), v);
    let high = o
        .amount_high
        .as_ref()
        .and_then(|h| convert::money_in(&f("amount_high"), Some(h), v));
    if let (Some((low, c)), Some((high, hc))) = (amount, high) {
        if hc != c {
            v.add(
                f("amount_high.currency_code"),
                "must be the currency of amount",
            );
        } else if high < low {
            v.add(f("amount_high"), "must not be below amount");
        }
    }
    if o.as_of.is_none() {
        v.add(f("as_of"), "is required: the day the figure describes");
    }
    let as_of = date_in(&f("as_of"), o.as_of.as_ref(), Date::today(), v);
    if as_of > Date::today() {
        v.add(f("as_of"), "must not be in the future");
    }
    let source = o.source.as_ref();
    if source.is_none_or(|s| s.publisher.trim().is_empty()) {
        v.add(
            f("source.publisher"),
            "is required: every figure carries its source",
        );
    }
    let confidence = convert::confidence_in(&f("confidence"), o.confidence, v);
    let bound = convert::bound_in(&f("bound"), o.bound, v);
    let (value, currency) = amount?;
    Some(Observation {
        id,
        value,
        value_high: high.map(|(h, _)| h),
        scale: Default::default(),
        currency,
        bound,
        as_of,
        as_of_label: Some(o.as_of_label.as_str())
            .filter(|l| !l.is_empty())
            .map(Into::into),
        source: convert::source_in(&f("source"), source, v),
        confidence,
        verified: o.verified,
        note: Some(o.note.as_str())
            .filter(|n| !n.is_empty())
            .map(Into::into),
        audit: Audit {
            created_by: actor.into(),
            create_time: convert::now_seconds(),
            ..Audit::default()
        },
    })
}

/// Observation ids: letters, digits, `-`, `_` and `.`, 1 to 63 characters.
fn valid_observation_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The descriptive fields of a holding from a request, for creation or update.
struct HoldingFields {
    kind: Option<HoldingKind>,
    part_of: Option<String>,
    scope: String,
    owner_kind: Option<OwnerKind>,
    jurisdiction: Option<leverage_core::Jurisdiction>,
    coverage: Option<String>,
    custodian: Option<String>,
    instrument: Option<Instrument>,
}

fn fields_in(h: &pb::Holding, paths: &[&str], v: &mut Violations) -> HoldingFields {
    let wants = |p: &str| paths.contains(&p);
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let kind = match pb::HoldingKind::try_from(h.kind) {
        Ok(pb::HoldingKind::Located) => Some(HoldingKind::Located),
        Ok(pb::HoldingKind::Aggregate) => Some(HoldingKind::Aggregate),
        Ok(pb::HoldingKind::Breakdown) => Some(HoldingKind::Breakdown),
        _ if wants("kind") => {
            v.add("holding.kind", "must be set to a HoldingKind value");
            None
        }
        _ => None,
    };
    let jurisdiction = if wants("jurisdiction") && !h.jurisdiction.is_empty() {
        convert::jurisdiction_in("holding.jurisdiction", &h.jurisdiction, v)
    } else {
        None
    };
    if wants("scope") && h.scope.trim().is_empty() {
        v.add(
            "holding.scope",
            "is required: say exactly what the figures measure",
        );
    }
    let part_of = if wants("part_of") && !h.part_of.is_empty() {
        match parse_name("holdings", &h.part_of) {
            Some(id) => Some(id.to_owned()),
            None => {
                v.add("holding.part_of", "must be a holding name (holdings/{id})");
                None
            }
        }
    } else {
        None
    };
    HoldingFields {
        kind,
        part_of,
        scope: h.scope.trim().to_owned(),
        owner_kind: if wants("owner_kind") {
            owner_in("holding.owner_kind", h.owner_kind, v)
        } else {
            None
        },
        jurisdiction,
        coverage: non_empty(&h.coverage),
        custodian: non_empty(&h.custodian),
        instrument: if wants("instrument") {
            instrument_in("holding.instrument", h.instrument, v)
        } else {
            None
        },
    }
}

const MUTABLE_FIELDS: [&str; 6] = [
    "scope",
    "owner_kind",
    "jurisdiction",
    "coverage",
    "custodian",
    "instrument",
];

#[tonic::async_trait]
impl AssetService for Assets {
    async fn list_holdings(
        &self,
        request: Request<pb::ListHoldingsRequest>,
    ) -> Result<Response<pb::ListHoldingsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let mut v = Violations::new();
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        v.into_result().map_err(error::domain)?;
        let page = assets::list_holdings(
            &snap,
            &r.filter,
            &r.order_by,
            as_of,
            r.page_size,
            &r.page_token,
        )
        .map_err(error::domain)?;
        let full = r.view == pb::HoldingView::Full as i32;
        Ok(Response::new(pb::ListHoldingsResponse {
            holdings: page
                .holdings
                .iter()
                .map(|(h, o)| holding(h, *o, full))
                .collect(),
            next_page_token: page.next_page_token,
            total_size: page.total_size as i32,
            as_of: Some(date_out(as_of)),
        }))
    }

    async fn get_holding(
        &self,
        request: Request<pb::GetHoldingRequest>,
    ) -> Result<Response<pb::Holding>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let id = holding_id("name", &r.name)?;
        let mut v = Violations::new();
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
        v.into_result().map_err(error::domain)?;
        let h = snap.holding(id).ok_or_else(|| error::not_found(&r.name))?;
        Ok(Response::new(holding(h, h.observation_as_of(as_of), true)))
    }

    async fn list_observations(
        &self,
        request: Request<pb::ListObservationsRequest>,
    ) -> Result<Response<pb::ListObservationsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let id = holding_id("parent", &r.parent)?;
        let newest_first = match r.order_by.trim() {
            "" | "as_of" => false,
            "as_of desc" => true,
            other => {
                return Err(error::invalid(
                    "order_by",
                    format!("{other:?} is not an order: use \"as_of\" or \"as_of desc\""),
                ));
            }
        };
        let h = snap
            .holding(id)
            .ok_or_else(|| error::not_found(&r.parent))?;
        let mut series: Vec<&Observation> = h.observations.iter().map(|o| &**o).collect();
        if newest_first {
            series.reverse();
        }
        let query = [
            "observations",
            id,
            if newest_first { "desc" } else { "asc" },
        ];
        let (page, next_page_token, total) =
            paginate(series, r.page_size, &r.page_token, &query).map_err(error::domain)?;
        Ok(Response::new(pb::ListObservationsResponse {
            observations: page.into_iter().map(|o| observation(id, o)).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn summarize_holdings(
        &self,
        request: Request<pb::SummarizeHoldingsRequest>,
    ) -> Result<Response<pb::SummarizeHoldingsResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let mut v = Violations::new();
        let as_of = date_in("as_of", r.as_of.as_ref(), Date::today(), &mut v);
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
            Err(_) => {
                v.add("group_by", format!("{} is not a GroupBy value", r.group_by));
                GroupBy::Jurisdiction
            }
        };
        let detail = match pb::SummaryView::try_from(r.view) {
            Ok(pb::SummaryView::Basic) => SummaryDetail::Totals,
            Ok(pb::SummaryView::Unspecified | pb::SummaryView::Full) => SummaryDetail::Observations,
            Err(_) => {
                v.add("view", format!("{} is not a SummaryView value", r.view));
                SummaryDetail::Observations
            }
        };
        let currency = v
            .finish(|| currency)
            .map_err(error::domain)?
            .ok_or_else(|| error::invalid("currency_code", "unknown"))?;
        let s = assets::summarize(&snap, &r.filter, group_by, currency, as_of, detail)
            .map_err(error::domain)?;
        let rates = &snap.dataset().rates;
        Ok(Response::new(pb::SummarizeHoldingsResponse {
            as_of: Some(date_out(s.as_of)),
            currency_code: s.currency.to_string(),
            groups: s
                .groups
                .iter()
                .map(|g| pb::SummaryGroup {
                    key: g.key.clone(),
                    total: Some(money(g.total, currency)),
                    holding_count: i32::try_from(g.holding_count).unwrap_or(i32::MAX),
                    observations: g
                        .uses
                        .iter()
                        .map(|u| pb::ObservationUse {
                            holding: format!("holdings/{}", u.holding_id),
                            observation_id: u.observation.id.clone(),
                            original: Some(money(u.observation.amount(), u.observation.currency)),
                            converted: Some(money(u.converted, currency)),
                            rate_ids: u.rate_ids.clone(),
                        })
                        .collect(),
                })
                .collect(),
            located_total: Some(money(s.located_total, currency)),
            rates_used: s
                .rates_used
                .iter()
                .filter_map(|u| {
                    let r = rates.iter().find(|r| r.id == u.rate_id)?;
                    Some(pb::RateUse {
                        rate_id: r.id.clone(),
                        base_currency: r.base.to_string(),
                        quote_currency: r.quote.to_string(),
                        rate: r.rate,
                        factor: u.factor,
                        as_of: Some(date_out(r.as_of)),
                        source: Some(convert::source(&r.source)),
                        confidence: convert::confidence(r.confidence),
                        note: u.note.clone().unwrap_or_default(),
                    })
                })
                .collect(),
            estimates: s
                .estimates
                .iter()
                .map(|e| pb::EstimateUse {
                    holding: format!("holdings/{}", e.holding.id),
                    scope: e.holding.scope.clone(),
                    coverage: e.holding.coverage.clone().unwrap_or_default(),
                    observation: Some(observation(&e.holding.id, e.observation)),
                    converted: e.converted.map(|c| money(c, currency)),
                })
                .collect(),
            holdings_without_data: s
                .holdings_without_data
                .iter()
                .map(|id| format!("holdings/{id}"))
                .collect(),
        }))
    }

    async fn create_holding(
        &self,
        request: Request<pb::CreateHoldingRequest>,
    ) -> Result<Response<pb::Holding>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let mut v = Violations::new();
        if !is_valid_id(&r.holding_id) {
            v.add(
                "holding_id",
                "must be 1-63 lower-case letters, digits or hyphens, starting with a letter",
            );
        }
        let Some(h) = r.holding.as_ref() else {
            return Err(error::invalid("holding", "is required"));
        };
        let mut paths = vec!["kind", "part_of"];
        paths.extend(MUTABLE_FIELDS);
        let f = fields_in(h, &paths, &mut v);
        if f.kind == Some(HoldingKind::Located)
            && f.jurisdiction.is_none()
            && !h.jurisdiction.is_empty()
        {
            // already reported as an unknown code
        } else if f.kind == Some(HoldingKind::Located) && f.jurisdiction.is_none() {
            v.add("holding.jurisdiction", "is required for a located holding");
        }
        if f.kind == Some(HoldingKind::Breakdown) && f.part_of.is_none() {
            v.add("holding.part_of", "is required for a breakdown");
        }
        let snap = self.repo.snapshot();
        if let Some(p) = &f.part_of
            && snap.holding(p).is_none()
        {
            v.add("holding.part_of", format!("holdings/{p} does not exist"));
        }
        let mut observations = Vec::new();
        for (i, o) in h.observations.iter().enumerate() {
            let prefix = format!("holding.observations[{i}]");
            let id = if o.id.is_empty() {
                format!("{}-{}", r.holding_id, i + 1)
            } else {
                o.id.clone()
            };
            if !valid_observation_id(&id) {
                v.add(
                    format!("{prefix}.id"),
                    "must be 1-63 letters, digits, '-', '_' or '.'",
                );
            }
            if let Some(obs) = observation_in(&prefix, id, Some(o), &actor, &mut v) {
                observations.push(Arc::new(obs));
            }
        }
        v.into_result().map_err(error::domain)?;
        let (Some(kind), Some(owner_kind), Some(instrument)) = (f.kind, f.owner_kind, f.instrument)
        else {
            return Err(error::invalid(
                "holding",
                "kind, owner_kind and instrument are required",
            ));
        };
        let now = convert::now_seconds();
        let new = Holding {
            id: r.holding_id.clone(),
            kind,
            part_of: f.part_of,
            scope: f.scope,
            owner_kind,
            jurisdiction: f.jurisdiction,
            coverage: f.coverage,
            custodian: f.custodian,
            instrument,
            observations,
            audit: Audit {
                created_by: actor.as_str().into(),
                create_time: now,
                updated_by: Default::default(),
                update_time: 0,
            },
            series_changed: None,
            etag: Default::default(),
        };
        let new = self
            .write(move |repo| repo.create_holding(&new).map(|_| new))
            .await?;
        tracing::info!(holding = %new.id, actor = %actor, "holding created");
        let snap = self.repo.snapshot();
        let stored = snap
            .holding(&new.id)
            .ok_or_else(|| error::not_found(&format!("holdings/{}", new.id)))?;
        Ok(Response::new(holding(
            stored,
            stored.observation_as_of(Date::today()),
            true,
        )))
    }

    async fn create_observation(
        &self,
        request: Request<pb::CreateObservationRequest>,
    ) -> Result<Response<pb::Observation>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let mut v = Violations::new();
        let parent = parse_name("holdings", &r.parent);
        if parent.is_none() {
            v.add(
                "parent",
                format!("{:?} is not a holding name (holdings/{{id}})", r.parent),
            );
        }
        let id = if r.observation_id.is_empty() {
            // Nanoseconds since the epoch: unique, since the repository orders writes.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("obs-{nanos:x}")
        } else {
            r.observation_id.clone()
        };
        if !valid_observation_id(&id) {
            v.add(
                "observation_id",
                "must be 1-63 letters, digits, '-', '_' or '.'",
            );
        }
        let obs = observation_in("observation", id, r.observation.as_ref(), &actor, &mut v);
        v.into_result().map_err(error::domain)?;
        let (Some(parent), Some(obs)) = (parent, obs) else {
            return Err(error::invalid("observation", "is required"));
        };
        if self.repo.snapshot().holding(parent).is_none() {
            return Err(error::not_found(&r.parent));
        }
        let (holding_id, obs) = (parent.to_owned(), obs);
        let obs = self
            .write(move |repo| repo.create_observation(&holding_id, &obs).map(|_| obs))
            .await?;
        tracing::info!(holding = %parent, observation = %obs.id, actor = %actor, "observation created");
        Ok(Response::new(observation(parent, &obs)))
    }

    async fn update_holding(
        &self,
        request: Request<pb::UpdateHoldingRequest>,
    ) -> Result<Response<pb::Holding>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let Some(h) = r.holding.as_ref() else {
            return Err(error::invalid("holding", "is required"));
        };
        let id = holding_id("holding.name", &h.name)?;
        let paths: Vec<&str> = match &r.update_mask {
            Some(mask) if !mask.paths.is_empty() => mask.paths.iter().map(String::as_str).collect(),
            // AIP-134: without a mask, update the fields the request sets.
            _ => MUTABLE_FIELDS
                .into_iter()
                .filter(|f| match *f {
                    "scope" => !h.scope.is_empty(),
                    "owner_kind" => h.owner_kind != 0,
                    "jurisdiction" => !h.jurisdiction.is_empty(),
                    "coverage" => !h.coverage.is_empty(),
                    "custodian" => !h.custodian.is_empty(),
                    _ => h.instrument != 0,
                })
                .collect(),
        };
        let mut v = Violations::new();
        for p in &paths {
            if !MUTABLE_FIELDS.contains(p) {
                v.add(
                    "update_mask",
                    format!(
                        "{p:?} cannot be updated; mutable fields: {}",
                        MUTABLE_FIELDS.join(", ")
                    ),
                );
            }
        }
        let f = fields_in(h, &paths, &mut v);
        v.into_result().map_err(error::domain)?;
        // Built under the repository's write lock from its newest snapshot, and built again
        // should another replica change the holding first: the etag and the untouched fields
        // are checked against the holding as it is when the change is written.
        let (holding_id, given, by) = (id.to_owned(), h.etag.clone(), actor.clone());
        let paths_owned: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let name = h.name.clone();
        let repo = Arc::clone(&self.repo);
        crate::off_the_workers(move || {
            repo.commit_from(|snap| {
                let mut updated = snap
                    .holding(&holding_id)
                    .ok_or_else(|| error::not_found(&name))?
                    .clone();
                check_etag(&updated, &given).map_err(error::store)?;
                for p in &paths_owned {
                    match p.as_str() {
                        "scope" => updated.scope = f.scope.clone(),
                        "owner_kind" => {
                            updated.owner_kind = f.owner_kind.unwrap_or(updated.owner_kind)
                        }
                        "jurisdiction" => updated.jurisdiction = f.jurisdiction,
                        "coverage" => updated.coverage = f.coverage.clone(),
                        "custodian" => updated.custodian = f.custodian.clone(),
                        _ => updated.instrument = f.instrument.unwrap_or(updated.instrument),
                    }
                }
                if updated.kind == HoldingKind::Located && updated.jurisdiction.is_none() {
                    return Err(error::invalid(
                        "holding.jurisdiction",
                        "a located holding needs a jurisdiction",
                    ));
                }
                updated.audit.updated_by = by.as_str().into();
                updated.audit.update_time = convert::now_seconds();
                updated.observations = Vec::new();
                let commit = Commit::edit(
                    by.as_str(),
                    format!("update holdings/{holding_id}"),
                    vec![Change::Update(Record::Holding(updated))],
                );
                Ok::<_, Status>((commit, ()))
            })?
            .map(|(c, ())| c.revision)
            .map_err(error::store)
        })
        .await?;
        tracing::info!(holding = %id, actor = %actor, fields = ?paths, "holding updated");
        let snap = self.repo.snapshot();
        let stored = snap.holding(id).ok_or_else(|| error::not_found(&h.name))?;
        Ok(Response::new(holding(
            stored,
            stored.observation_as_of(Date::today()),
            true,
        )))
    }

    async fn delete_holding(
        &self,
        request: Request<pb::DeleteHoldingRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let id = holding_id("name", &r.name)?;
        let (holding_id, by, given) = (id.to_owned(), actor.clone(), r.etag.clone());
        let name = r.name.clone();
        let repo = Arc::clone(&self.repo);
        crate::off_the_workers(move || {
            repo.commit_from(|snap| {
                let current = snap
                    .holding(&holding_id)
                    .ok_or_else(|| error::not_found(&name))?;
                check_etag(current, &given).map_err(error::store)?;
                let key = RecordKey::new(RecordKind::Holding, holding_id.clone());
                let commit = Commit::edit(
                    by.as_str(),
                    format!("delete holdings/{holding_id}"),
                    vec![Change::Delete(key)],
                );
                Ok::<_, Status>((commit, ()))
            })?
            .map(|(c, ())| c.revision)
            .map_err(error::store)
        })
        .await?;
        tracing::info!(holding = %id, actor = %actor, "holding deleted");
        Ok(Response::new(()))
    }

    async fn update_observation(
        &self,
        request: Request<pb::UpdateObservationRequest>,
    ) -> Result<Response<pb::Observation>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let Some(o) = r.observation.as_ref() else {
            return Err(error::invalid("observation", "is required"));
        };
        let (holding_id, id) = observation_name("observation.name", &o.name)?;
        let mut v = Violations::new();
        let reason = required_reason(&r.reason, &mut v);
        let paths: Vec<&str> = r
            .update_mask
            .as_ref()
            .map(|m| m.paths.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if paths.is_empty() {
            v.add(
                "update_mask",
                format!(
                    "is required: name the fields to correct ({})",
                    OBSERVATION_FIELDS.join(", ")
                ),
            );
        }
        for p in &paths {
            if !OBSERVATION_FIELDS.contains(p) {
                v.add(
                    "update_mask",
                    format!(
                        "{p:?} cannot be corrected; mutable fields: {}",
                        OBSERVATION_FIELDS.join(", ")
                    ),
                );
            }
        }
        v.into_result().map_err(error::domain)?;
        let snap = self.repo.snapshot();
        let current = snap
            .holding(holding_id)
            .and_then(|h| h.observations.iter().find(|x| x.id == id))
            .ok_or_else(|| error::not_found(&o.name))?;
        // The stored value as the API shows it, with the masked fields replaced, checked as a
        // whole: a correction may not leave an observation that could not be created.
        let mut merged = observation(holding_id, current);
        for p in &paths {
            match *p {
                "amount" => merged.amount = o.amount.clone(),
                "amount_high" => merged.amount_high = o.amount_high.clone(),
                "bound" => merged.bound = o.bound,
                "as_of" => merged.as_of = o.as_of,
                "as_of_label" => merged.as_of_label = o.as_of_label.clone(),
                "source" => merged.source = o.source.clone(),
                "confidence" => merged.confidence = o.confidence,
                "verified" => merged.verified = o.verified,
                _ => merged.note = o.note.clone(),
            }
        }
        let mut v = Violations::new();
        let corrected = observation_in("observation", id.to_owned(), Some(&merged), &actor, &mut v);
        v.into_result().map_err(error::domain)?;
        let mut corrected =
            corrected.ok_or_else(|| error::invalid("observation", "is required"))?;
        if !paths.iter().any(|p| p.starts_with("amount")) {
            // Keep the number as it was published (e.g. 195 in billions), not re-scaled.
            corrected.value = current.value;
            corrected.value_high = current.value_high;
            corrected.scale = current.scale;
        }
        corrected.audit = Audit {
            created_by: current.audit.created_by.clone(),
            create_time: current.audit.create_time,
            updated_by: actor.as_str().into(),
            update_time: convert::now_seconds(),
        };
        let record = Record::Observation {
            holding: holding_id.to_owned(),
            observation: corrected.clone(),
        };
        let summary = format!("correct {} ({})", o.name, paths.join(", "));
        self.edit(&actor, summary, reason, Change::Update(record))
            .await?;
        tracing::info!(observation = %o.name, actor = %actor, fields = ?paths, "observation corrected");
        Ok(Response::new(observation(holding_id, &corrected)))
    }

    async fn delete_observation(
        &self,
        request: Request<pb::DeleteObservationRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let (holding_id, id) = observation_name("name", &r.name)?;
        let mut v = Violations::new();
        let reason = required_reason(&r.reason, &mut v);
        v.into_result().map_err(error::domain)?;
        let live = self
            .repo
            .snapshot()
            .holding(holding_id)
            .is_some_and(|h| h.observations.iter().any(|o| o.id == id));
        if !live {
            return Err(error::not_found(&r.name));
        }
        let key = RecordKey::new(RecordKind::Observation, id);
        let summary = format!("withdraw {}", r.name);
        self.edit(&actor, summary, reason, Change::Delete(key))
            .await?;
        tracing::info!(observation = %r.name, actor = %actor, "observation withdrawn");
        Ok(Response::new(()))
    }
}

/// The fields of an observation a correction may change.
const OBSERVATION_FIELDS: [&str; 9] = [
    "amount",
    "amount_high",
    "bound",
    "as_of",
    "as_of_label",
    "source",
    "confidence",
    "verified",
    "note",
];

/// The holding and observation ids of `holdings/{h}/observations/{o}`.
fn observation_name<'a>(field: &str, name: &'a str) -> Result<(&'a str, &'a str), Status> {
    let bad = || {
        error::invalid(
            field,
            format!(
                "{name:?} is not an observation name (holdings/{{holding}}/observations/{{id}})"
            ),
        )
    };
    let rest = name.strip_prefix("holdings/").ok_or_else(bad)?;
    let (holding, id) = rest.split_once("/observations/").ok_or_else(bad)?;
    if !is_valid_id(holding) || !valid_observation_id(id) {
        return Err(bad());
    }
    Ok((holding, id))
}

/// A correction's reason: required, since a superseded value is kept with why it was.
fn required_reason(reason: &str, v: &mut Violations) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        v.add(
            "reason",
            "is required: say why, for the record's history (e.g. \"restated in the FY report\")",
        );
    }
    reason.to_owned()
}
