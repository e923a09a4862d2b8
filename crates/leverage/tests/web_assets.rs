//! The page's Assets view (`?view=assets`) in headless Chromium, against the REAL `leverage`
//! binary started with `--web`: `web/test/assets.test.mjs` opens the view on two states and
//! compares every number it shows with what this test asked over plain gRPC (tonic and prost,
//! not the page's generated client) for the same requests: each holding's amount in force on
//! the date (ListHoldings, every page), the summary's groups, located total, observations added,
//! aggregate estimates and exchange rates (SummarizeHoldings), and every observation of the
//! picked holding (ListObservations). It reaches the second state through the form and the
//! keyboard, checks the URL says it, and that the URL opened afresh restores it; and it checks
//! that a date the server refuses shows the server's own words.
//!
//! How the page tests run, and what they need: `common/page.rs`.

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use serde_json::{Map, Value, json};
use tonic::transport::Channel;

mod common;
use common::page::{self, browser, run_script, start_server};

/// One state of the view: its query string, and the requests the view must make for it, written
/// here from the API's documentation rather than from the page's code.
struct ViewState {
    params: &'static [(&'static str, &'static str)],
    filter: &'static str,
    /// The summary's filter: the same terms without `kind` (only located holdings add up).
    summary_filter: &'static str,
    order_by: &'static str,
    as_of: pb::Date,
    group_by: pb::GroupBy,
    currency: &'static str,
    holding: &'static str,
}

/// Everything in the dataset as of mid-2025, summed by custodian in euros; the picked holding is
/// Canada's, whose observations are in two currencies (a line each).
const STATE_A: ViewState = ViewState {
    params: &[
        ("as_of", "2025-06-30"),
        ("group_by", "custodian"),
        ("currency", "EUR"),
        ("holding", "canada-sema-forfeiture"),
    ],
    filter: "",
    summary_filter: "",
    order_by: "",
    as_of: pb::Date {
        year: 2025,
        month: 6,
        day: 30,
    },
    group_by: pb::GroupBy::Custodian,
    currency: "EUR",
    holding: "canada-sema-forfeiture",
};

/// The Bank of Russia's assets in January 2026, largest first, summed by jurisdiction in US
/// dollars (cross rates through the euro); Euroclear's series picked, and its 2025 year-end point.
const STATE_B: ViewState = ViewState {
    params: &[
        ("as_of", "2026-01-15"),
        ("owner_kind", "CENTRAL_BANK"),
        ("order", "amount desc"),
        ("group_by", "jurisdiction"),
        ("currency", "USD"),
        ("holding", "euroclear-sanctioned-russian"),
        ("observation", "EC-008"),
    ],
    filter: "owner_kind = CENTRAL_BANK",
    summary_filter: "owner_kind = CENTRAL_BANK",
    order_by: "amount desc",
    as_of: pb::Date {
        year: 2026,
        month: 1,
        day: 15,
    },
    group_by: pb::GroupBy::Jurisdiction,
    currency: "USD",
    holding: "euroclear-sanctioned-russian",
};

fn date(d: Option<&pb::Date>) -> Value {
    d.map_or(
        Value::Null,
        |d| json!({ "year": d.year, "month": d.month, "day": d.day }),
    )
}

fn money(m: Option<&pb::Money>) -> Value {
    m.map_or(
        Value::Null,
        |m| json!({ "currency_code": m.currency_code, "units": m.units, "nanos": m.nanos }),
    )
}

fn observation(o: Option<&pb::Observation>) -> Value {
    o.map_or(Value::Null, |o| {
        let source = o.source.clone().unwrap_or_default();
        json!({
            "id": o.id,
            "amount": money(o.amount.as_ref()),
            "amount_high": money(o.amount_high.as_ref()),
            "as_of": date(o.as_of.as_ref()),
            "source": { "publisher": source.publisher, "url": source.url },
        })
    })
}

fn params(state: &ViewState) -> Value {
    let map: Map<String, Value> = state
        .params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    Value::Object(map)
}

/// What the API answers over gRPC for `state`: every holding (in pages of 7, another size than
/// the page's, which must not matter), the full summary and every observation of the holding.
async fn state_expectations(channel: Channel, state: &ViewState) -> Value {
    let mut assets = AssetServiceClient::new(channel);
    let mut holdings = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = assets
            .list_holdings(pb::ListHoldingsRequest {
                page_size: 7,
                page_token: page_token.clone(),
                filter: state.filter.into(),
                order_by: state.order_by.into(),
                as_of: Some(state.as_of),
                ..Default::default()
            })
            .await
            .expect("ListHoldings")
            .into_inner();
        holdings.extend(
            page.holdings
                .iter()
                .map(|h| json!({ "name": h.name, "current": observation(h.current.as_ref()) })),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert!(holdings.len() > 7, "the state spans several pages");

    let summary = assets
        .summarize_holdings(pb::SummarizeHoldingsRequest {
            filter: state.summary_filter.into(),
            group_by: state.group_by as i32,
            currency_code: state.currency.into(),
            as_of: Some(state.as_of),
            view: pb::SummaryView::Full as i32,
        })
        .await
        .expect("SummarizeHoldings")
        .into_inner();
    assert!(
        !summary.groups.is_empty()
            && !summary.estimates.is_empty()
            && !summary.rates_used.is_empty(),
        "the state's summary has groups, estimates and conversions to compare"
    );
    let groups: Vec<Value> = summary
        .groups
        .iter()
        .map(|g| {
            json!({
                "key": g.key,
                "total": money(g.total.as_ref()),
                "holding_count": g.holding_count,
                "observations": g.observations.iter().map(|u| json!({
                    "holding": u.holding,
                    "observation_id": u.observation_id,
                    "original": money(u.original.as_ref()),
                    "converted": money(u.converted.as_ref()),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let estimates: Vec<Value> = summary
        .estimates
        .iter()
        .map(|e| {
            json!({
                "holding": e.holding,
                "observation": observation(e.observation.as_ref()),
                "converted": money(e.converted.as_ref()),
            })
        })
        .collect();
    let rates: Vec<Value> = summary
        .rates_used
        .iter()
        .map(|r| json!({ "rate_id": r.rate_id, "rate": r.rate, "factor": r.factor }))
        .collect();

    let mut observations = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = assets
            .list_observations(pb::ListObservationsRequest {
                parent: format!("holdings/{}", state.holding),
                page_size: 3,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .expect("ListObservations")
            .into_inner();
        observations.extend(page.observations.iter().map(|o| observation(Some(o))));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }

    json!({
        "params": params(state),
        "holdings": holdings,
        "summary": {
            "as_of": date(summary.as_of.as_ref()),
            "currency_code": summary.currency_code,
            "located_total": money(summary.located_total.as_ref()),
            "groups": groups,
            "estimates": estimates,
            "rates_used": rates,
        },
        "observations": observations,
    })
}

/// The two states, and the server's refusal of a day that does not exist (2024-02-30).
fn expectations(server: &page::Server) -> Value {
    page::over_grpc(server, |channel| async move {
        let refused = AssetServiceClient::new(channel.clone())
            .list_holdings(pb::ListHoldingsRequest {
                as_of: Some(pb::Date {
                    year: 2024,
                    month: 2,
                    day: 30,
                }),
                page_size: 25,
                ..Default::default()
            })
            .await
            .expect_err("2024-02-30 is refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        let violations = page::field_violations(&refused);
        assert!(!violations.is_empty(), "{refused:?}");
        json!({
            "invalid": {
                "params": { "as_of": "2024-02-30" },
                "message": refused.message(),
                "violations": violations,
            },
            "a": state_expectations(channel.clone(), &STATE_A).await,
            "b": state_expectations(channel, &STATE_B).await,
        })
    })
}

#[test]
fn the_assets_view_shows_the_apis_numbers_and_restores_them_from_its_url() {
    let Some(browser) =
        browser("the_assets_view_shows_the_apis_numbers_and_restores_them_from_its_url")
    else {
        return;
    };
    let server = start_server(true, &[]);
    let expected = expectations(&server);
    run_script(
        &browser,
        "assets.test.mjs",
        &server,
        &expected,
        "assets.png",
    );
}
