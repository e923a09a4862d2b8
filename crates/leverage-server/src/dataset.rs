//! DatasetService: what the dataset is, and every sourced figure and exchange rate in it.

use std::sync::Arc;

use leverage_core::model::{Claim, ClaimStage, ExchangeRate, Figure, Forum};
use leverage_core::paging::{paginate, parse_filter};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_server::DatasetService;
use leverage_store::Repository;
use tonic::{Request, Response, Status};

use crate::convert::{self, date_out};
use crate::error;
use crate::versions;
use crate::{auth, dataset_versions, edit};

#[derive(Debug)]
pub struct DatasetApi {
    pub repo: Arc<Repository>,
}

/// A figure as the API shows it.
pub fn figure(f: &Figure) -> pb::Figure {
    pb::Figure {
        id: f.id.clone(),
        category: f.category.clone(),
        metric: f.metric.clone(),
        area: f.area.clone(),
        value: f.value,
        value_high: f.value_high,
        unit: f.unit.clone(),
        currency_code: f.currency.map(|c| c.to_string()).unwrap_or_default(),
        bound: convert::bound(f.bound),
        as_of: f.as_of.map(date_out),
        as_of_label: f.as_of_label.clone().unwrap_or_default(),
        source: Some(convert::source(&f.source)),
        confidence: convert::confidence(f.confidence),
        verified: f.verified,
        note: f.note.clone().unwrap_or_default(),
        custodian_jurisdictions: f
            .custodian_jurisdictions
            .iter()
            .map(|j| j.to_string())
            .collect(),
        claim: f.claim.as_ref().map(claim),
    }
}

/// A figure's claim or award of damages as the API shows it.
pub fn claim(c: &Claim) -> pb::Claim {
    pb::Claim {
        forum: forum(c.forum),
        forum_name: c.forum_name.clone(),
        stage: claim_stage(c.stage),
        enforceable_in: c.enforceable_in.iter().map(|j| j.to_string()).collect(),
        decides: c.decides.clone().unwrap_or_default(),
    }
}

pub fn forum(f: Forum) -> i32 {
    (match f {
        Forum::RussianCourt => pb::Forum::RussianCourt,
        Forum::TreatyTribunal => pb::Forum::TreatyTribunal,
        Forum::EuCourt => pb::Forum::EuCourt,
        Forum::NationalCourt => pb::Forum::NationalCourt,
    }) as i32
}

pub fn claim_stage(s: ClaimStage) -> i32 {
    (match s {
        ClaimStage::Claimed => pb::ClaimStage::Claimed,
        ClaimStage::Awarded => pb::ClaimStage::Awarded,
    }) as i32
}

/// An exchange rate as the API shows it.
pub fn exchange_rate(x: &ExchangeRate) -> pb::ExchangeRate {
    pb::ExchangeRate {
        id: x.id.clone(),
        base_currency: x.base.to_string(),
        quote_currency: x.quote.to_string(),
        rate: x.rate,
        as_of: Some(date_out(x.as_of)),
        as_of_label: x.as_of_label.clone().unwrap_or_default(),
        kind: x.kind.clone(),
        source: Some(convert::source(&x.source)),
        confidence: convert::confidence(x.confidence),
        verified: x.verified,
        note: x.note.clone().unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl DatasetService for DatasetApi {
    async fn get_dataset_info(
        &self,
        request: Request<pb::GetDatasetInfoRequest>,
    ) -> Result<Response<pb::DatasetInfo>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let d = snap.dataset();
        let count = |n: usize| n as i32;
        Ok(Response::new(pb::DatasetInfo {
            version: d.meta.version.clone(),
            description: d.meta.description.clone(),
            compiled: d.meta.compiled.clone(),
            counts: Some(pb::RecordCounts {
                holdings: count(d.holdings.len()),
                observations: count(d.holdings.iter().map(|h| h.observations.len()).sum()),
                exchange_rates: count(d.rates.len()),
                figures: count(d.figures.len()),
                doctrines: count(d.doctrines.len()),
                positions: count(d.positions.len()),
                published_assessments: count(d.assessments.len()),
                instruments: count(d.instruments.len()),
                allocations: count(d.instruments.iter().map(|i| i.allocations.len()).sum()),
            }),
            dataset_version: snap.revision() as i64,
            oldest_dataset_version: self.repo.oldest() as i64,
        }))
    }

    async fn list_figures(
        &self,
        request: Request<pb::ListFiguresRequest>,
    ) -> Result<Response<pb::ListFiguresResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let terms = parse_filter(&r.filter, &["category"]).map_err(error::domain)?;
        let category = terms.first().map(|t| t.value.clone());
        let items: Vec<_> = snap
            .dataset()
            .figures
            .iter()
            .filter(|f| category.as_deref().is_none_or(|c| f.category == c))
            .collect();
        let (page, next_page_token, total) =
            paginate(items, r.page_size, &r.page_token, &["figures", &r.filter])
                .map_err(error::domain)?;
        Ok(Response::new(pb::ListFiguresResponse {
            figures: page.into_iter().map(figure).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn list_exchange_rates(
        &self,
        request: Request<pb::ListExchangeRatesRequest>,
    ) -> Result<Response<pb::ListExchangeRatesResponse>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let r = request.into_inner();
        let terms = parse_filter(&r.filter, &["base", "quote"]).map_err(error::domain)?;
        let wanted = |field: &str| {
            terms
                .iter()
                .find(|t| t.field == field)
                .map(|t| t.value.clone())
        };
        let (base, quote) = (wanted("base"), wanted("quote"));
        let mut items: Vec<_> = snap
            .dataset()
            .rates
            .iter()
            .filter(|x| base.as_deref().is_none_or(|b| x.base.as_str() == b))
            .filter(|x| quote.as_deref().is_none_or(|q| x.quote.as_str() == q))
            .collect();
        items.sort_by(|a, b| {
            (a.base, a.quote, a.as_of, &a.id).cmp(&(b.base, b.quote, b.as_of, &b.id))
        });
        let (page, next_page_token, total) =
            paginate(items, r.page_size, &r.page_token, &["rates", &r.filter])
                .map_err(error::domain)?;
        Ok(Response::new(pb::ListExchangeRatesResponse {
            exchange_rates: page.into_iter().map(exchange_rate).collect(),
            next_page_token,
            total_size: total as i32,
        }))
    }

    async fn list_dataset_versions(
        &self,
        request: Request<pb::ListDatasetVersionsRequest>,
    ) -> Result<Response<pb::ListDatasetVersionsResponse>, Status> {
        let r = request.into_inner();
        let repo = Arc::clone(&self.repo);
        blocking(move || dataset_versions::list_versions(&repo, &r)).await
    }

    async fn list_record_versions(
        &self,
        request: Request<pb::ListRecordVersionsRequest>,
    ) -> Result<Response<pb::ListRecordVersionsResponse>, Status> {
        let r = request.into_inner();
        let repo = Arc::clone(&self.repo);
        blocking(move || dataset_versions::record_versions(&repo, &r.name)).await
    }

    async fn import_dataset(
        &self,
        request: Request<pb::ImportDatasetRequest>,
    ) -> Result<Response<pb::ImportDatasetResponse>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        let repo = Arc::clone(&self.repo);
        blocking(move || dataset_versions::import(&repo, &actor, &r)).await
    }

    type ExportDatasetStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<pb::ExportDatasetResponse, Status>>>;

    async fn export_dataset(
        &self,
        request: Request<pb::ExportDatasetRequest>,
    ) -> Result<Response<Self::ExportDatasetStream>, Status> {
        let snap = versions::snapshot_of(&request, &self.repo);
        let chunks = blocking(move || dataset_versions::export(&snap))
            .await?
            .into_inner();
        Ok(Response::new(tokio_stream::iter(
            chunks.into_iter().map(Ok).collect::<Vec<_>>(),
        )))
    }

    async fn compact_dataset_versions(
        &self,
        request: Request<pb::CompactDatasetVersionsRequest>,
    ) -> Result<Response<pb::CompactDatasetVersionsResponse>, Status> {
        let r = request.into_inner();
        let repo = Arc::clone(&self.repo);
        blocking(move || dataset_versions::compact(&repo, &r)).await
    }

    async fn create_figure(
        &self,
        request: Request<pb::CreateFigureRequest>,
    ) -> Result<Response<pb::Figure>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create::<Figure>(&self.repo, actor, r.figure_id, "figure_id", r.figure)
            .await
            .map(Response::new)
    }

    async fn update_figure(
        &self,
        request: Request<pb::UpdateFigureRequest>,
    ) -> Result<Response<pb::Figure>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update::<Figure>(&self.repo, actor, r.figure, r.update_mask)
            .await
            .map(Response::new)
    }

    async fn delete_figure(
        &self,
        request: Request<pb::DeleteFigureRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete::<Figure>(&self.repo, actor, name)
            .await
            .map(Response::new)
    }

    async fn create_exchange_rate(
        &self,
        request: Request<pb::CreateExchangeRateRequest>,
    ) -> Result<Response<pb::ExchangeRate>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::create::<ExchangeRate>(
            &self.repo,
            actor,
            r.exchange_rate_id,
            "exchange_rate_id",
            r.exchange_rate,
        )
        .await
        .map(Response::new)
    }

    async fn update_exchange_rate(
        &self,
        request: Request<pb::UpdateExchangeRateRequest>,
    ) -> Result<Response<pb::ExchangeRate>, Status> {
        let actor = auth::principal(&request)?.name;
        let r = request.into_inner();
        edit::update::<ExchangeRate>(&self.repo, actor, r.exchange_rate, r.update_mask)
            .await
            .map(Response::new)
    }

    async fn delete_exchange_rate(
        &self,
        request: Request<pb::DeleteExchangeRateRequest>,
    ) -> Result<Response<()>, Status> {
        let actor = auth::principal(&request)?.name;
        let name = request.into_inner().name;
        edit::delete::<ExchangeRate>(&self.repo, actor, name)
            .await
            .map(Response::new)
    }
}

/// Store work off the async workers, its result as the reply.
async fn blocking<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<Response<T>, Status> {
    crate::off_the_workers(op).await.map(Response::new)
}
