//! AssetService over real gRPC: lists, as-of series, summaries that never double count.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, amount, date, error_reason, violated_fields};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use tonic::Code;

async fn client() -> (
    TestServer,
    AssetServiceClient<tonic::transport::Channel>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let client = AssetServiceClient::new(server.channel().await);
    (server, client, dir)
}

#[tokio::test]
async fn pages_of_two_concatenate_to_the_full_list_in_a_stable_order() {
    let (_server, mut c, _dir) = client().await;
    let full = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: 1000,
            order_by: "amount desc".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(full.holdings.len() > 10);
    assert_eq!(full.total_size as usize, full.holdings.len());
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_holdings(pb::ListHoldingsRequest {
                page_size: 2,
                page_token: token.clone(),
                order_by: "amount desc".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.holdings.len() <= 2);
        paged.extend(page.holdings.into_iter().map(|h| h.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let names: Vec<String> = full.holdings.into_iter().map(|h| h.name).collect();
    assert_eq!(
        paged, names,
        "pages concatenate to the full list, in the same order"
    );
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "no duplicates");
}

#[tokio::test]
async fn negative_page_size_and_forged_tokens_name_the_field() {
    let (_server, mut c, _dir) = client().await;
    let err = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["page_size"]);
    assert_eq!(error_reason(&err).as_deref(), Some("INVALID_ARGUMENT"));

    let first = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut forged = first.next_page_token.clone();
    forged.replace_range(0..1, "f");
    for token in [forged, "not-a-token".to_owned()] {
        let err = c
            .list_holdings(pb::ListHoldingsRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&err), ["page_token"]);
    }
    // A genuine token replayed with another filter is refused too.
    let err = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: 2,
            page_token: first.next_page_token,
            filter: "kind = LOCATED".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
}

#[tokio::test]
async fn filters_select_by_owner_jurisdiction_custodian_and_instrument() {
    let (_server, mut c, _dir) = client().await;
    let list = |filter: &str| pb::ListHoldingsRequest {
        filter: filter.into(),
        page_size: 1000,
        ..Default::default()
    };
    let be = c
        .list_holdings(list("jurisdiction = BE AND owner_kind = CENTRAL_BANK"))
        .await
        .unwrap()
        .into_inner();
    assert!(!be.holdings.is_empty());
    assert!(
        be.holdings
            .iter()
            .all(|h| h.jurisdiction == "BE" && h.owner_kind == pb::OwnerKind::CentralBank as i32)
    );
    let euroclear = c
        .list_holdings(list(r#"custodian = "euroclear bank""#))
        .await
        .unwrap()
        .into_inner();
    assert!(
        euroclear
            .holdings
            .iter()
            .any(|h| h.name == "holdings/euroclear-sanctioned-russian")
    );
    let err = c.list_holdings(list("colour = red")).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["filter"]);
    let err = c
        .list_holdings(list("instrument = GOLD"))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["filter"]);
}

#[tokio::test]
async fn euroclear_answers_183_bn_at_end_2024_and_195_bn_at_end_2025_with_sources() {
    let (_server, mut c, _dir) = client().await;
    for (year, expected) in [(2024, 183e9), (2025, 195e9)] {
        let h = c
            .get_holding(pb::GetHoldingRequest {
                name: "holdings/euroclear-sanctioned-russian".into(),
                as_of: date(year, 12, 31),
            })
            .await
            .unwrap()
            .into_inner();
        let current = h.current.expect("an observation in force");
        assert_eq!(amount(&current.amount), expected);
        assert_eq!(current.amount.as_ref().unwrap().currency_code, "EUR");
        assert_eq!(current.as_of, date(year, 12, 31));
        let source = current.source.expect("a source");
        assert!(!source.publisher.is_empty() && source.url.starts_with("https://"));
        assert!(
            h.observations.len() >= 8,
            "GetHolding returns the whole series"
        );
    }
    // Between two observations the earlier one is in force.
    let h = c
        .get_holding(pb::GetHoldingRequest {
            name: "holdings/euroclear-sanctioned-russian".into(),
            as_of: date(2025, 2, 1),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&h.current.unwrap().amount), 183e9);
}

#[tokio::test]
async fn unknown_or_malformed_names_get_not_found_or_invalid_argument() {
    let (_server, mut c, _dir) = client().await;
    let err = c
        .get_holding(pb::GetHoldingRequest {
            name: "holdings/no-such-holding".into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .get_holding(pb::GetHoldingRequest {
            name: "euroclear".into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["name"]);
    let err = c
        .get_holding(pb::GetHoldingRequest {
            name: "holdings/euroclear-sanctioned-russian".into(),
            as_of: date(2025, 2, 30),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["as_of"]);
}

#[tokio::test]
async fn central_bank_summary_in_usd_shows_the_280_bn_estimate_beside_the_located_sum() {
    let (_server, mut c, _dir) = client().await;
    let s = c
        .summarize_holdings(pb::SummarizeHoldingsRequest {
            filter: "owner_kind = CENTRAL_BANK".into(),
            group_by: pb::GroupBy::Jurisdiction as i32,
            currency_code: "USD".into(),
            as_of: date(2025, 3, 18),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.currency_code, "USD");
    let located = amount(&s.located_total);
    let groups: f64 = s.groups.iter().map(|g| amount(&g.total)).sum();
    assert!(
        (located - groups).abs() < 1.0,
        "the located total is the sum of its groups"
    );
    let be = s.groups.iter().find(|g| g.key == "BE").expect("Belgium");
    assert!(
        be.observations
            .iter()
            .any(|o| o.holding == "holdings/euroclear-sanctioned-russian")
    );
    // The EUR 183 bn at Euroclear was converted at the ECB rate of 2025-03-14 (1.0889).
    let ec = be
        .observations
        .iter()
        .find(|o| o.holding == "holdings/euroclear-sanctioned-russian")
        .unwrap();
    assert!((amount(&ec.converted) - 183e9 * 1.0889).abs() < 1e6);
    assert!(!s.rates_used.is_empty());
    let eurusd = s
        .rates_used
        .iter()
        .find(|r| r.base_currency == "EUR" && r.quote_currency == "USD")
        .expect("the EUR/USD rate is listed");
    assert_eq!(eurusd.as_of, date(2025, 3, 14));
    assert!(ec.rate_ids.contains(&eurusd.rate_id));
    // The REPO estimate stands beside the sum and is not inside it.
    let repo = s
        .estimates
        .iter()
        .find(|e| amount(&e.observation.as_ref().unwrap().amount) == 280e9)
        .expect("the USD 280 bn aggregate estimate");
    assert_eq!(
        repo.observation
            .as_ref()
            .unwrap()
            .amount
            .as_ref()
            .unwrap()
            .currency_code,
        "USD"
    );
    assert!(
        located < 280e9,
        "located holdings found in sources fall short of the estimate"
    );
    let breakdown_ids = [
        "holdings/euroclear-central-bank",
        "holdings/euroclear-central-bank-cash",
    ];
    for g in &s.groups {
        for o in &g.observations {
            assert!(
                !breakdown_ids.contains(&o.holding.as_str()),
                "breakdowns are never added"
            );
            assert!(
                !s.estimates.iter().any(|e| e.holding == o.holding),
                "estimates are never added"
            );
        }
    }
}

#[tokio::test]
async fn the_basic_summary_view_has_the_full_views_totals_without_the_lines() {
    let (_server, mut c, _dir) = client().await;
    let request = |view: pb::SummaryView| pb::SummarizeHoldingsRequest {
        group_by: pb::GroupBy::Custodian as i32,
        currency_code: "USD".into(),
        as_of: date(2025, 12, 31),
        view: view as i32,
        ..Default::default()
    };
    let full = c
        .summarize_holdings(request(pb::SummaryView::Full))
        .await
        .unwrap()
        .into_inner();
    let unset = c
        .summarize_holdings(request(pb::SummaryView::Unspecified))
        .await
        .unwrap()
        .into_inner();
    let basic = c
        .summarize_holdings(request(pb::SummaryView::Basic))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unset, full, "unset means the full view");
    assert!(full.groups.len() > 1, "{full:?}");
    assert!(full.groups.iter().all(|g| !g.observations.is_empty()));
    assert!(basic.groups.iter().all(|g| g.observations.is_empty()));
    let totals = |s: &pb::SummarizeHoldingsResponse| {
        s.groups
            .iter()
            .map(|g| (g.key.clone(), g.total.clone(), g.holding_count))
            .collect::<Vec<_>>()
    };
    assert_eq!(totals(&basic), totals(&full));
    for g in &full.groups {
        assert_eq!(g.holding_count as usize, g.observations.len(), "{g:?}");
    }
    assert_eq!(basic.located_total, full.located_total);
    assert_eq!(basic.rates_used, full.rates_used);
    assert_eq!(basic.estimates, full.estimates);

    let err = c
        .summarize_holdings(pb::SummarizeHoldingsRequest {
            view: 7,
            currency_code: "XYZ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["currency_code", "view"]);
}

#[tokio::test]
async fn summaries_refuse_unknown_currencies_and_aggregate_only_filters() {
    let (_server, mut c, _dir) = client().await;
    let err = c
        .summarize_holdings(pb::SummarizeHoldingsRequest {
            currency_code: "XYZ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["currency_code"]);
    let err = c
        .summarize_holdings(pb::SummarizeHoldingsRequest {
            filter: "kind = AGGREGATE".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["filter"]);
}

/// Every page of one holding's observations, one per page: their names, and each page's
/// `total_size`.
async fn observation_pages(
    c: &mut AssetServiceClient<tonic::transport::Channel>,
    parent: &str,
    order_by: &str,
) -> (Vec<String>, Vec<i32>) {
    let (mut names, mut totals, mut token) = (Vec::new(), Vec::new(), String::new());
    loop {
        let page = c
            .list_observations(pb::ListObservationsRequest {
                parent: parent.into(),
                page_size: 1,
                page_token: token,
                order_by: order_by.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.observations.len(), 1);
        names.extend(page.observations.into_iter().map(|o| o.name));
        totals.push(page.total_size);
        if page.next_page_token.is_empty() {
            return (names, totals);
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn a_holdings_observations_come_in_pages_in_series_order_either_way() {
    let (_server, mut c, _dir) = client().await;
    let all = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: 1000,
            view: pb::HoldingView::Full as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let longest = all
        .holdings
        .into_iter()
        .max_by_key(|h| h.observations.len())
        .unwrap();
    let series: Vec<String> = longest.observations.into_iter().map(|o| o.name).collect();
    assert!(series.len() >= 3, "{}: {series:?}", longest.name);

    let (oldest_first, totals) = observation_pages(&mut c, &longest.name, "").await;
    assert_eq!(oldest_first, series, "GetHolding's series, in pages");
    assert!(totals.iter().all(|t| *t as usize == series.len()));
    let (newest_first, _) = observation_pages(&mut c, &longest.name, "as_of desc").await;
    assert_eq!(
        newest_first,
        series.iter().rev().cloned().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn listing_observations_names_each_bad_field_and_an_unknown_holding() {
    let (_server, mut c, _dir) = client().await;
    let request = |parent: &str, page_size: i32, page_token: &str, order_by: &str| {
        pb::ListObservationsRequest {
            parent: parent.into(),
            page_size,
            page_token: page_token.into(),
            order_by: order_by.into(),
        }
    };
    let euroclear = "holdings/euroclear-sanctioned-russian";
    let first = c
        .list_observations(request(euroclear, 1, "", ""))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let refused = [
        (request("euroclear-sanctioned-russian", 1, "", ""), "parent"),
        (request(euroclear, -1, "", ""), "page_size"),
        (request(euroclear, 1, "", "value desc"), "order_by"),
        // A genuine token, replayed with the other order.
        (
            request(euroclear, 1, &first.next_page_token, "as_of desc"),
            "page_token",
        ),
    ];
    for (bad, field) in refused {
        let err = c.list_observations(bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert_eq!(violated_fields(&err), [field]);
    }
    let err = c
        .list_observations(request("holdings/no-such-holding", 1, "", ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
