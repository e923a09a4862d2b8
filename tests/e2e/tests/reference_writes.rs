//! Writes of the reference records over real gRPC: figures, exchange rates, doctrines,
//! positions, published assessments, instruments and allocations. Each is created, updated
//! through a field mask and deleted as one new dataset version; a refused write names every
//! bad field and stores nothing; a read pinned to an earlier version still sees the old value.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, authorized, date, error_reason, violated_fields};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use leverage_server::versions::DATASET_VERSION_HEADER;
use prost_types::FieldMask;
use tonic::transport::Channel;
use tonic::{Code, Request};

// --- Helpers -----------------------------------------------------------------------------------

/// The dataset version a reply names.
fn version_of<T>(reply: &tonic::Response<T>) -> u64 {
    reply
        .metadata()
        .get(DATASET_VERSION_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The version of the dataset in force.
async fn current_version(channel: Channel) -> u64 {
    let reply = DatasetServiceClient::new(channel)
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap();
    version_of(&reply)
}

/// A read of the dataset as it was at `version`.
fn at<T>(message: T, version: u64) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert(DATASET_VERSION_HEADER, version.to_string().parse().unwrap());
    r
}

fn read_at<T>(message: T, version: Option<u64>) -> Request<T> {
    match version {
        Some(v) => at(message, v),
        None => Request::new(message),
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

fn source(publisher: &str) -> Option<pb::Source> {
    Some(pb::Source {
        publisher: publisher.into(),
        url: "https://example.org/test".into(),
        ..Default::default()
    })
}

fn eur(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "EUR".into(),
        units,
        nanos: 0,
    })
}

// --- Figures -----------------------------------------------------------------------------------

fn figure() -> pb::Figure {
    pb::Figure {
        category: "windfall_interest".into(),
        metric: "Windfall interest earned by Euroclear in a test quarter".into(),
        area: "Belgium (Euroclear Bank)".into(),
        value: Some(1.2),
        unit: "billion".into(),
        currency_code: "EUR".into(),
        bound: pb::Bound::Exact as i32,
        as_of: date(2025, 12, 31),
        as_of_label: "Q4 2025".into(),
        source: source("Test desk (synthetic figure)"),
        confidence: pb::Confidence::Medium as i32,
        verified: true,
        note: "First note.".into(),
        ..Default::default()
    }
}

async fn figures(channel: Channel, version: Option<u64>) -> Vec<pb::Figure> {
    DatasetServiceClient::new(channel)
        .list_figures(read_at(
            pb::ListFiguresRequest {
                page_size: 1000,
                ..Default::default()
            },
            version,
        ))
        .await
        .unwrap()
        .into_inner()
        .figures
}

async fn create_figure(channel: Channel, id: &str) -> pb::Figure {
    DatasetServiceClient::new(channel)
        .create_figure(authorized(pb::CreateFigureRequest {
            figure_id: id.into(),
            figure: Some(figure()),
        }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_created_figure_is_listed_as_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = create_figure(server.channel().await, "WF-900").await;
    let expected = pb::Figure {
        id: "WF-900".into(),
        ..figure()
    };
    assert_eq!(created, expected);
    let listed = figures(server.channel().await, None).await;
    assert_eq!(listed.iter().find(|f| f.id == "WF-900"), Some(&expected));
}

#[tokio::test]
async fn a_figure_update_changes_only_the_fields_its_mask_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let before = figures(server.channel().await, None).await;
    let old = before
        .iter()
        .find(|f| f.id == "EC-007-TOTAL")
        .unwrap()
        .clone();
    let updated = DatasetServiceClient::new(server.channel().await)
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "EC-007-TOTAL".into(),
                metric: "not in the mask".into(),
                value: Some(1.0),
                note: "Corrected note.".into(),
                confidence: pb::Confidence::Low as i32,
                ..Default::default()
            }),
            update_mask: mask(&["note", "confidence"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Figure {
        note: "Corrected note.".into(),
        confidence: pb::Confidence::Low as i32,
        ..old
    };
    assert_eq!(updated, expected);
    let after = figures(server.channel().await, None).await;
    assert_eq!(
        after.iter().find(|f| f.id == "EC-007-TOTAL"),
        Some(&expected)
    );
    assert_eq!(after.len(), before.len());
}

#[tokio::test]
async fn a_deleted_figure_is_no_longer_listed_and_its_id_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    c.delete_figure(authorized(pb::DeleteFigureRequest {
        name: "figures/WF-001".into(),
    }))
    .await
    .unwrap();
    let listed = figures(server.channel().await, None).await;
    assert!(listed.iter().all(|f| f.id != "WF-001"));
    let again = c
        .delete_figure(authorized(pb::DeleteFigureRequest {
            name: "figures/WF-001".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    let reuse = c
        .create_figure(authorized(pb::CreateFigureRequest {
            figure_id: "WF-001".into(),
            figure: Some(figure()),
        }))
        .await
        .unwrap_err();
    assert_eq!(reuse.code(), Code::AlreadyExists);
}

fn bad_figure() -> pb::CreateFigureRequest {
    pb::CreateFigureRequest {
        figure_id: "WF 901".into(),
        figure: Some(pb::Figure {
            category: "Windfall Interest".into(),
            metric: String::new(),
            value: Some(2.0),
            value_high: Some(1.0),
            currency_code: "EURO".into(),
            as_of: date(2025, 2, 30),
            source: source(""),
            confidence: pb::Confidence::Unspecified as i32,
            ..figure()
        }),
    }
}

#[tokio::test]
async fn a_figure_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = DatasetServiceClient::new(server.channel().await)
        .create_figure(authorized(bad_figure()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "figure_id",
            "figure.category",
            "figure.metric",
            "figure.value_high",
            "figure.currency_code",
            "figure.as_of",
            "figure.source.publisher",
            "figure.confidence",
        ]
    );
}

#[tokio::test]
async fn a_refused_figure_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = figures(server.channel().await, None).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    let mut bad = bad_figure();
    bad.figure_id = "WF-901".into();
    assert!(c.create_figure(authorized(bad)).await.is_err());
    let refused_update = c
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "EC-007-TOTAL".into(),
                currency_code: "EURO".into(),
                note: "not stored".into(),
                ..Default::default()
            }),
            update_mask: mask(&["note", "currency_code"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused_update), ["figure.currency_code"]);
    assert_eq!(figures(server.channel().await, None).await, before);
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_figure_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    let created = c
        .create_figure(authorized(pb::CreateFigureRequest {
            figure_id: "WF-902".into(),
            figure: Some(figure()),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&created), version + 1);
    let updated = c
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "WF-902".into(),
                note: "Second note.".into(),
                ..Default::default()
            }),
            update_mask: mask(&["note"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_figure(authorized(pb::DeleteFigureRequest {
            name: "figures/WF-902".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn figures_read_at_the_version_before_an_update_show_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    DatasetServiceClient::new(server.channel().await)
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "EC-007-TOTAL".into(),
                value: Some(230.0),
                ..Default::default()
            }),
            update_mask: mask(&["value"]),
        }))
        .await
        .unwrap();
    let value = |fs: Vec<pb::Figure>| {
        fs.into_iter()
            .find(|f| f.id == "EC-007-TOTAL")
            .unwrap()
            .value
    };
    assert_eq!(
        value(figures(server.channel().await, None).await),
        Some(230.0)
    );
    assert_eq!(
        value(figures(server.channel().await, Some(version)).await),
        Some(227.0)
    );
}

#[tokio::test]
async fn an_update_without_a_mask_or_of_an_immutable_field_is_refused_naming_the_mask() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    for paths in [&[][..], &["id"][..], &["note", "colour"][..]] {
        let err = c
            .update_figure(authorized(pb::UpdateFigureRequest {
                figure: Some(pb::Figure {
                    id: "EC-007-TOTAL".into(),
                    ..Default::default()
                }),
                update_mask: mask(paths),
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{paths:?}");
        assert_eq!(violated_fields(&err), ["update_mask"], "{paths:?}");
        assert!(
            err.message().contains("mutable: category"),
            "{}",
            err.message()
        );
    }
}

#[tokio::test]
async fn an_update_of_a_figure_that_does_not_exist_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = DatasetServiceClient::new(server.channel().await)
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "WF-999".into(),
                note: "x".into(),
                ..Default::default()
            }),
            update_mask: mask(&["note"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(error_reason(&err).as_deref(), Some("RESOURCE_NOT_FOUND"));
}

#[tokio::test]
async fn a_reference_write_is_recorded_with_its_author() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    create_figure(server.channel().await, "WF-903").await;
    server.stop().await;
    use leverage_store::Datastore;
    let store = leverage_store::SqliteStore::open(dir.path()).unwrap();
    let newest = store.versions(None, 1).unwrap();
    assert_eq!(newest[0].actor, "tester");
    assert_eq!(newest[0].origin, "edit");
    assert_eq!(newest[0].summary, "create figures/WF-903");
}

// --- Figures: claims against the custodians (read by legal-risk/2) ----------------------------

/// A synthetic pending claim against the custodians in Luxembourg, for the tests only.
fn claim_figure() -> pb::Figure {
    pb::Figure {
        category: "counter_exposure".into(),
        metric: "Damages claimed from a Luxembourg custodian before a treaty tribunal (test)"
            .into(),
        area: "Luxembourg".into(),
        value: Some(10.0),
        unit: "billion".into(),
        currency_code: "EUR".into(),
        bound: pb::Bound::Exact as i32,
        as_of: date(2025, 12, 31),
        source: source("Test desk (synthetic claim)"),
        confidence: pb::Confidence::Low as i32,
        custodian_jurisdictions: vec!["LU".into()],
        claim: Some(pb::Claim {
            forum: pb::Forum::TreatyTribunal as i32,
            forum_name: "Arbitration Institute of the Stockholm Chamber of Commerce".into(),
            stage: pb::ClaimStage::Claimed as i32,
            enforceable_in: vec!["RU".into(), "KZ".into()],
            decides: String::new(),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_figure_with_a_claim_and_custodian_jurisdictions_reads_back_as_given_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = DatasetServiceClient::new(server.channel().await)
        .create_figure(authorized(pb::CreateFigureRequest {
            figure_id: "EC-900".into(),
            figure: Some(claim_figure()),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Figure {
        id: "EC-900".into(),
        ..claim_figure()
    };
    assert_eq!(created, expected);
    let listed = figures(server.channel().await, None).await;
    assert_eq!(listed.iter().find(|f| f.id == "EC-900"), Some(&expected));

    // legal-risk/2 reads what the API wrote: the claim is a driver of Luxembourg's damages.
    let reply = LegalRiskServiceClient::new(server.channel().await)
        .assess_legal_risk(pb::AssessLegalRiskRequest {
            action: pb::AssetAction::Immobilisation as i32,
            jurisdictions: vec!["LU".into()],
            as_of: date(2026, 1, 31),
            currency_code: "EUR".into(),
            model: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let damages = reply.jurisdictions[0]
        .channels
        .iter()
        .find(|c| c.channel == pb::LegalChannel::Damages as i32)
        .unwrap();
    let driver = damages
        .drivers
        .iter()
        .find(|d| d.ref_id == "EC-900")
        .expect("the created claim is a driver");
    assert_eq!(driver.kind, pb::DriverKind::Claim as i32);
    assert_eq!(
        driver.forum,
        "Arbitration Institute of the Stockholm Chamber of Commerce"
    );
    assert_eq!(driver.enforceable_in, ["RU", "KZ"]);
}

#[tokio::test]
async fn a_claim_and_custodian_jurisdictions_are_updated_through_the_mask_and_kept_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let before = figures(server.channel().await, None).await;
    let award = before.iter().find(|f| f.id == "EC-014").unwrap().clone();
    assert_eq!(award.custodian_jurisdictions, ["BE"]);
    assert!(award.claim.is_some(), "the shipped award carries its claim");
    let mut c = DatasetServiceClient::new(server.channel().await);
    // A mask that does not name them keeps them.
    let noted = c
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "EC-014".into(),
                note: "Corrected note.".into(),
                ..Default::default()
            }),
            update_mask: mask(&["note"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        noted,
        pb::Figure {
            note: "Corrected note.".into(),
            ..award.clone()
        }
    );
    // A mask that names them replaces them whole.
    let narrower = pb::Claim {
        enforceable_in: vec!["RU".into()],
        ..award.claim.clone().unwrap()
    };
    let updated = c
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "EC-014".into(),
                custodian_jurisdictions: vec!["BE".into(), "LU".into()],
                claim: Some(narrower.clone()),
                ..Default::default()
            }),
            update_mask: mask(&["custodian_jurisdictions", "claim"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Figure {
        custodian_jurisdictions: vec!["BE".into(), "LU".into()],
        claim: Some(narrower),
        ..noted
    };
    assert_eq!(updated, expected);
    let after = figures(server.channel().await, None).await;
    assert_eq!(after.iter().find(|f| f.id == "EC-014"), Some(&expected));
}

#[tokio::test]
async fn a_figure_with_a_bad_claim_is_refused_naming_each_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = figures(server.channel().await, None).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    let err = c
        .create_figure(authorized(pb::CreateFigureRequest {
            figure_id: "EC-901".into(),
            figure: Some(pb::Figure {
                value: None,
                custodian_jurisdictions: vec!["LU".into(), "UK".into()],
                claim: Some(pb::Claim {
                    forum: pb::Forum::Unspecified as i32,
                    forum_name: String::new(),
                    stage: pb::ClaimStage::Unspecified as i32,
                    enforceable_in: vec!["RU".into(), "RU".into()],
                    decides: "EC-999".into(),
                }),
                ..claim_figure()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "figure.custodian_jurisdictions[1]",
            "figure.claim.forum",
            "figure.claim.forum_name",
            "figure.claim.stage",
            "figure.claim.enforceable_in[1]",
            "figure.value",
            "figure.claim.decides",
        ]
    );
    // On update, a pending claim that claims to decide another is named too.
    let award = before.iter().find(|f| f.id == "EC-014").unwrap();
    let err = c
        .update_figure(authorized(pb::UpdateFigureRequest {
            figure: Some(pb::Figure {
                id: "EC-014".into(),
                claim: Some(pb::Claim {
                    stage: pb::ClaimStage::Claimed as i32,
                    ..award.claim.clone().unwrap()
                }),
                ..Default::default()
            }),
            update_mask: mask(&["claim"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["figure.claim.decides"]);
    assert_eq!(figures(server.channel().await, None).await, before);
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn the_claim_an_award_decides_is_deleted_only_after_the_award() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    let delete = |name: &str| {
        authorized(pb::DeleteFigureRequest {
            name: name.to_owned(),
        })
    };
    let refused = c.delete_figure(delete("figures/EC-012")).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&refused), ["name"]);
    assert!(
        refused.message().contains("EC-014"),
        "{}",
        refused.message()
    );
    c.delete_figure(delete("figures/EC-014")).await.unwrap();
    c.delete_figure(delete("figures/EC-012")).await.unwrap();
    let listed = figures(server.channel().await, None).await;
    assert!(listed.iter().all(|f| f.id != "EC-012" && f.id != "EC-014"));
}

// --- Exchange rates ----------------------------------------------------------------------------

fn rate() -> pb::ExchangeRate {
    pb::ExchangeRate {
        base_currency: "EUR".into(),
        quote_currency: "USD".into(),
        rate: 1.0512,
        as_of: date(2025, 11, 28),
        kind: "ECB euro reference rate".into(),
        source: source("European Central Bank (test)"),
        confidence: pb::Confidence::High as i32,
        verified: true,
        ..Default::default()
    }
}

async fn rates(channel: Channel, version: Option<u64>) -> Vec<pb::ExchangeRate> {
    DatasetServiceClient::new(channel)
        .list_exchange_rates(read_at(
            pb::ListExchangeRatesRequest {
                page_size: 1000,
                ..Default::default()
            },
            version,
        ))
        .await
        .unwrap()
        .into_inner()
        .exchange_rates
}

async fn create_rate(channel: Channel, id: &str) -> tonic::Response<pb::ExchangeRate> {
    DatasetServiceClient::new(channel)
        .create_exchange_rate(authorized(pb::CreateExchangeRateRequest {
            exchange_rate_id: id.into(),
            exchange_rate: Some(rate()),
        }))
        .await
        .unwrap()
}

const RATE: &str = "ecb-2025-02-28-usd";

#[tokio::test]
async fn a_created_exchange_rate_is_listed_as_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = create_rate(server.channel().await, "ecb-2025-11-28-usd")
        .await
        .into_inner();
    let expected = pb::ExchangeRate {
        id: "ecb-2025-11-28-usd".into(),
        ..rate()
    };
    assert_eq!(created, expected);
    let listed = rates(server.channel().await, None).await;
    assert_eq!(
        listed.iter().find(|r| r.id == "ecb-2025-11-28-usd"),
        Some(&expected)
    );
}

#[tokio::test]
async fn an_exchange_rate_update_changes_only_the_fields_its_mask_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let old = rates(server.channel().await, None)
        .await
        .into_iter()
        .find(|r| r.id == RATE)
        .unwrap();
    let updated = DatasetServiceClient::new(server.channel().await)
        .update_exchange_rate(authorized(pb::UpdateExchangeRateRequest {
            exchange_rate: Some(pb::ExchangeRate {
                id: RATE.into(),
                rate: 1.04,
                kind: "not in the mask".into(),
                ..Default::default()
            }),
            update_mask: mask(&["rate"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::ExchangeRate { rate: 1.04, ..old };
    assert_eq!(updated, expected);
    let listed = rates(server.channel().await, None).await;
    assert_eq!(listed.iter().find(|r| r.id == RATE), Some(&expected));
}

#[tokio::test]
async fn a_deleted_exchange_rate_is_no_longer_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    DatasetServiceClient::new(server.channel().await)
        .delete_exchange_rate(authorized(pb::DeleteExchangeRateRequest {
            name: format!("exchangeRates/{RATE}"),
        }))
        .await
        .unwrap();
    let listed = rates(server.channel().await, None).await;
    assert!(listed.iter().all(|r| r.id != RATE));
}

fn bad_rate() -> pb::CreateExchangeRateRequest {
    pb::CreateExchangeRateRequest {
        exchange_rate_id: "ecb-2025-11-28-eur".into(),
        exchange_rate: Some(pb::ExchangeRate {
            quote_currency: "EUR".into(),
            rate: -1.0,
            as_of: date(2025, 13, 1),
            kind: " ".into(),
            ..rate()
        }),
    }
}

#[tokio::test]
async fn an_exchange_rate_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = DatasetServiceClient::new(server.channel().await)
        .create_exchange_rate(authorized(bad_rate()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "exchange_rate.quote_currency",
            "exchange_rate.rate",
            "exchange_rate.as_of",
            "exchange_rate.kind",
        ]
    );
}

#[tokio::test]
async fn a_refused_exchange_rate_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = rates(server.channel().await, None).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    assert!(
        c.create_exchange_rate(authorized(bad_rate()))
            .await
            .is_err()
    );
    let refused_update = c
        .update_exchange_rate(authorized(pb::UpdateExchangeRateRequest {
            exchange_rate: Some(pb::ExchangeRate {
                id: RATE.into(),
                rate: 0.0,
                ..Default::default()
            }),
            update_mask: mask(&["rate"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused_update), ["exchange_rate.rate"]);
    assert_eq!(rates(server.channel().await, None).await, before);
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_exchange_rate_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let created = create_rate(server.channel().await, "ecb-2025-11-28-usd").await;
    assert_eq!(version_of(&created), version + 1);
    let mut c = DatasetServiceClient::new(server.channel().await);
    let updated = c
        .update_exchange_rate(authorized(pb::UpdateExchangeRateRequest {
            exchange_rate: Some(pb::ExchangeRate {
                id: "ecb-2025-11-28-usd".into(),
                note: "Checked.".into(),
                ..Default::default()
            }),
            update_mask: mask(&["note"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_exchange_rate(authorized(pb::DeleteExchangeRateRequest {
            name: "exchangeRates/ecb-2025-11-28-usd".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn exchange_rates_read_at_the_version_before_a_delete_still_list_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    DatasetServiceClient::new(server.channel().await)
        .delete_exchange_rate(authorized(pb::DeleteExchangeRateRequest {
            name: format!("exchangeRates/{RATE}"),
        }))
        .await
        .unwrap();
    let then = rates(server.channel().await, Some(version)).await;
    assert!(then.iter().any(|r| r.id == RATE));
}

// --- Doctrines ---------------------------------------------------------------------------------

fn doctrine() -> pb::Doctrine {
    pb::Doctrine {
        display_name: "Estoppel (test doctrine)".into(),
        summary: "A state may not go back on a position others relied on.".into(),
        open_question: "Does it bind the custodian?".into(),
        jurisdictions: vec!["BE".into(), "FR".into()],
        exposure: Some(pb::ActionExposure {
            immobilisation: 0.0,
            windfall_profits: 0.1,
            profits_backed_loan: 0.2,
            reparations_loan: 0.4,
            confiscation: 0.8,
        }),
        weight: 0.3,
        sources: vec![source("Test desk (synthetic doctrine)").unwrap()],
        confidence: pb::Confidence::Low as i32,
        ..Default::default()
    }
}

async fn doctrines(channel: Channel, version: Option<u64>) -> Vec<pb::Doctrine> {
    LegalRiskServiceClient::new(channel)
        .list_doctrines(read_at(
            pb::ListDoctrinesRequest {
                page_size: 1000,
                ..Default::default()
            },
            version,
        ))
        .await
        .unwrap()
        .into_inner()
        .doctrines
}

async fn create_doctrine(channel: Channel, id: &str) -> tonic::Response<pb::Doctrine> {
    LegalRiskServiceClient::new(channel)
        .create_doctrine(authorized(pb::CreateDoctrineRequest {
            doctrine_id: id.into(),
            doctrine: Some(doctrine()),
        }))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_created_doctrine_is_listed_under_its_lower_case_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = create_doctrine(server.channel().await, "DOC-ESTOPPEL")
        .await
        .into_inner();
    let expected = pb::Doctrine {
        name: "doctrines/doc-estoppel".into(),
        id: "DOC-ESTOPPEL".into(),
        ..doctrine()
    };
    assert_eq!(created, expected);
    let listed = doctrines(server.channel().await, None).await;
    assert_eq!(
        listed.iter().find(|d| d.id == "DOC-ESTOPPEL"),
        Some(&expected)
    );
}

#[tokio::test]
async fn a_doctrine_update_changes_only_the_fields_its_mask_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let old = doctrines(server.channel().await, None)
        .await
        .into_iter()
        .find(|d| d.id == "DOC-CM")
        .unwrap();
    let exposure = pb::ActionExposure {
        confiscation: 1.0,
        ..old.exposure.unwrap()
    };
    let updated = LegalRiskServiceClient::new(server.channel().await)
        .update_doctrine(authorized(pb::UpdateDoctrineRequest {
            doctrine: Some(pb::Doctrine {
                name: "doctrines/doc-cm".into(),
                exposure: Some(exposure),
                weight: 0.99,
                ..Default::default()
            }),
            update_mask: mask(&["exposure"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Doctrine {
        exposure: Some(exposure),
        ..old
    };
    assert_eq!(updated, expected);
    let listed = doctrines(server.channel().await, None).await;
    assert_eq!(listed.iter().find(|d| d.id == "DOC-CM"), Some(&expected));
}

#[tokio::test]
async fn a_deleted_doctrine_is_no_longer_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    create_doctrine(server.channel().await, "DOC-ESTOPPEL").await;
    LegalRiskServiceClient::new(server.channel().await)
        .delete_doctrine(authorized(pb::DeleteDoctrineRequest {
            name: "doctrines/doc-estoppel".into(),
        }))
        .await
        .unwrap();
    let listed = doctrines(server.channel().await, None).await;
    assert!(listed.iter().all(|d| d.id != "DOC-ESTOPPEL"));
}

#[tokio::test]
async fn a_doctrine_that_positions_invoke_cannot_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = LegalRiskServiceClient::new(server.channel().await)
        .delete_doctrine(authorized(pb::DeleteDoctrineRequest {
            name: "doctrines/doc-cm".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["name"]);
    assert!(
        err.message().contains("pos-germany-merz"),
        "{}",
        err.message()
    );
    let listed = doctrines(server.channel().await, None).await;
    assert!(listed.iter().any(|d| d.id == "DOC-CM"));
}

fn bad_doctrine() -> pb::CreateDoctrineRequest {
    let mut d = doctrine();
    d.jurisdictions = vec!["BE".into(), "XX".into()];
    d.exposure = Some(pb::ActionExposure {
        confiscation: 1.5,
        ..d.exposure.unwrap()
    });
    d.weight = -0.1;
    d.sources.push(pb::Source::default());
    pb::CreateDoctrineRequest {
        doctrine_id: "doc-lower-case".into(),
        doctrine: Some(d),
    }
}

#[tokio::test]
async fn a_doctrine_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = LegalRiskServiceClient::new(server.channel().await)
        .create_doctrine(authorized(bad_doctrine()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "doctrine_id",
            "doctrine.jurisdictions[1]",
            "doctrine.exposure.confiscation",
            "doctrine.weight",
            "doctrine.sources[1].publisher",
        ]
    );
}

#[tokio::test]
async fn a_refused_doctrine_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = doctrines(server.channel().await, None).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    assert!(c.create_doctrine(authorized(bad_doctrine())).await.is_err());
    let refused_update = c
        .update_doctrine(authorized(pb::UpdateDoctrineRequest {
            doctrine: Some(pb::Doctrine {
                name: "doctrines/doc-cm".into(),
                weight: 2.0,
                ..Default::default()
            }),
            update_mask: mask(&["weight"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused_update), ["doctrine.weight"]);
    assert_eq!(doctrines(server.channel().await, None).await, before);
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_doctrine_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let created = create_doctrine(server.channel().await, "DOC-ESTOPPEL").await;
    assert_eq!(version_of(&created), version + 1);
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let updated = c
        .update_doctrine(authorized(pb::UpdateDoctrineRequest {
            doctrine: Some(pb::Doctrine {
                name: "doctrines/doc-estoppel".into(),
                weight: 0.5,
                ..Default::default()
            }),
            update_mask: mask(&["weight"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_doctrine(authorized(pb::DeleteDoctrineRequest {
            name: "doctrines/doc-estoppel".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn doctrines_read_at_the_version_before_an_update_show_the_old_weight() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let weight = |ds: Vec<pb::Doctrine>| ds.into_iter().find(|d| d.id == "DOC-CM").unwrap().weight;
    let old = weight(doctrines(server.channel().await, None).await);
    LegalRiskServiceClient::new(server.channel().await)
        .update_doctrine(authorized(pb::UpdateDoctrineRequest {
            doctrine: Some(pb::Doctrine {
                name: "doctrines/doc-cm".into(),
                weight: 0.01,
                ..Default::default()
            }),
            update_mask: mask(&["weight"]),
        }))
        .await
        .unwrap();
    assert_eq!(weight(doctrines(server.channel().await, None).await), 0.01);
    assert_eq!(
        weight(doctrines(server.channel().await, Some(version)).await),
        old
    );
}

// --- Positions ---------------------------------------------------------------------------------

fn position() -> pb::Position {
    pb::Position {
        jurisdictions: vec!["ES".into()],
        actor: "Spanish government (test)".into(),
        actions: vec![pb::AssetAction::ReparationsLoan as i32],
        stance: pb::Stance::Conditional as i32,
        doctrine_ids: vec!["DOC-CM".into()],
        summary: "Supports the loan if the risk is shared.".into(),
        date: date(2025, 12, 10),
        source: source("Test desk (synthetic position)"),
        confidence: pb::Confidence::Medium as i32,
        verified: false,
        ..Default::default()
    }
}

async fn positions(channel: Channel, version: Option<u64>) -> Vec<pb::Position> {
    LegalRiskServiceClient::new(channel)
        .list_positions(read_at(
            pb::ListPositionsRequest {
                page_size: 1000,
                ..Default::default()
            },
            version,
        ))
        .await
        .unwrap()
        .into_inner()
        .positions
}

async fn create_position(channel: Channel, id: &str) -> tonic::Response<pb::Position> {
    LegalRiskServiceClient::new(channel)
        .create_position(authorized(pb::CreatePositionRequest {
            position_id: id.into(),
            position: Some(position()),
        }))
        .await
        .unwrap()
}

const MERZ: &str = "positions/pos-germany-merz";

#[tokio::test]
async fn a_created_position_is_listed_as_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = create_position(server.channel().await, "pos-spain-test")
        .await
        .into_inner();
    let expected = pb::Position {
        name: "positions/pos-spain-test".into(),
        id: "pos-spain-test".into(),
        ..position()
    };
    assert_eq!(created, expected);
    let listed = positions(server.channel().await, None).await;
    assert_eq!(
        listed.iter().find(|p| p.id == "pos-spain-test"),
        Some(&expected)
    );
}

#[tokio::test]
async fn a_position_update_changes_only_the_fields_its_mask_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let old = positions(server.channel().await, None)
        .await
        .into_iter()
        .find(|p| p.name == MERZ)
        .unwrap();
    let updated = LegalRiskServiceClient::new(server.channel().await)
        .update_position(authorized(pb::UpdatePositionRequest {
            position: Some(pb::Position {
                name: MERZ.into(),
                stance: pb::Stance::Opposes as i32,
                doctrine_ids: vec!["DOC-BIT".into()],
                actor: "not in the mask".into(),
                ..Default::default()
            }),
            update_mask: mask(&["stance", "doctrine_ids"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Position {
        stance: pb::Stance::Opposes as i32,
        doctrine_ids: vec!["DOC-BIT".into()],
        ..old
    };
    assert_eq!(updated, expected);
    let listed = positions(server.channel().await, None).await;
    assert_eq!(listed.iter().find(|p| p.name == MERZ), Some(&expected));
}

#[tokio::test]
async fn a_deleted_position_is_no_longer_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    LegalRiskServiceClient::new(server.channel().await)
        .delete_position(authorized(pb::DeletePositionRequest { name: MERZ.into() }))
        .await
        .unwrap();
    let listed = positions(server.channel().await, None).await;
    assert!(listed.iter().all(|p| p.name != MERZ));
}

fn bad_position() -> pb::CreatePositionRequest {
    pb::CreatePositionRequest {
        position_id: "pos-bad".into(),
        position: Some(pb::Position {
            actions: vec![pb::AssetAction::Confiscation as i32, 0],
            stance: pb::Stance::Unspecified as i32,
            date: date(2999, 1, 1),
            doctrine_ids: vec!["DOC-CM".into(), "DOC-NOT-THERE".into()],
            ..position()
        }),
    }
}

#[tokio::test]
async fn a_position_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = LegalRiskServiceClient::new(server.channel().await)
        .create_position(authorized(bad_position()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "position.actions[1]",
            "position.stance",
            "position.date",
            "position.doctrine_ids[1]",
        ]
    );
}

#[tokio::test]
async fn a_refused_position_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = positions(server.channel().await, None).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    assert!(c.create_position(authorized(bad_position())).await.is_err());
    let refused_update = c
        .update_position(authorized(pb::UpdatePositionRequest {
            position: Some(pb::Position {
                name: MERZ.into(),
                doctrine_ids: vec!["DOC-GONE".into()],
                ..Default::default()
            }),
            update_mask: mask(&["doctrine_ids"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused_update),
        ["position.doctrine_ids[0]"]
    );
    assert_eq!(positions(server.channel().await, None).await, before);
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_position_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let created = create_position(server.channel().await, "pos-spain-test").await;
    assert_eq!(version_of(&created), version + 1);
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let updated = c
        .update_position(authorized(pb::UpdatePositionRequest {
            position: Some(pb::Position {
                name: "positions/pos-spain-test".into(),
                verified: true,
                ..Default::default()
            }),
            update_mask: mask(&["verified"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_position(authorized(pb::DeletePositionRequest {
            name: "positions/pos-spain-test".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn positions_read_at_the_version_before_an_update_show_the_old_stance() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let stance = |ps: Vec<pb::Position>| ps.into_iter().find(|p| p.name == MERZ).unwrap().stance;
    let old = stance(positions(server.channel().await, None).await);
    LegalRiskServiceClient::new(server.channel().await)
        .update_position(authorized(pb::UpdatePositionRequest {
            position: Some(pb::Position {
                name: MERZ.into(),
                stance: pb::Stance::Unresolved as i32,
                ..Default::default()
            }),
            update_mask: mask(&["stance"]),
        }))
        .await
        .unwrap();
    assert_eq!(
        stance(positions(server.channel().await, None).await),
        pb::Stance::Unresolved as i32
    );
    assert_eq!(
        stance(positions(server.channel().await, Some(version)).await),
        old
    );
}

// --- Published assessments ---------------------------------------------------------------------

fn assessment() -> pb::PublishedAssessment {
    pb::PublishedAssessment {
        author: "Test & Partners LLP".into(),
        date: date(2026, 1, 15),
        date_label: "2026-01".into(),
        subject: "Litigation risk of the reparations loan (test)".into(),
        conclusion: "Moderate.".into(),
        source: source("Test desk (synthetic assessment)"),
        confidence: pb::Confidence::Low as i32,
        verified: false,
        ..Default::default()
    }
}

async fn assessments(channel: Channel, version: Option<u64>) -> Vec<pb::PublishedAssessment> {
    LegalRiskServiceClient::new(channel)
        .list_published_assessments(read_at(
            pb::ListPublishedAssessmentsRequest {
                page_size: 1000,
                ..Default::default()
            },
            version,
        ))
        .await
        .unwrap()
        .into_inner()
        .published_assessments
}

async fn create_assessment(channel: Channel, id: &str) -> tonic::Response<pb::PublishedAssessment> {
    LegalRiskServiceClient::new(channel)
        .create_published_assessment(authorized(pb::CreatePublishedAssessmentRequest {
            published_assessment_id: id.into(),
            published_assessment: Some(assessment()),
        }))
        .await
        .unwrap()
}

const COVINGTON: &str = "assess-covington-2025-12";

#[tokio::test]
async fn a_created_published_assessment_is_listed_as_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = create_assessment(server.channel().await, "assess-test-2026-01")
        .await
        .into_inner();
    let expected = pb::PublishedAssessment {
        id: "assess-test-2026-01".into(),
        ..assessment()
    };
    assert_eq!(created, expected);
    let listed = assessments(server.channel().await, None).await;
    assert_eq!(
        listed.iter().find(|a| a.id == "assess-test-2026-01"),
        Some(&expected)
    );
}

#[tokio::test]
async fn a_published_assessment_update_changes_only_the_fields_its_mask_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let old = assessments(server.channel().await, None)
        .await
        .into_iter()
        .find(|a| a.id == COVINGTON)
        .unwrap();
    let updated = LegalRiskServiceClient::new(server.channel().await)
        .update_published_assessment(authorized(pb::UpdatePublishedAssessmentRequest {
            published_assessment: Some(pb::PublishedAssessment {
                id: COVINGTON.into(),
                conclusion: "Small, per the full memo.".into(),
                author: "not in the mask".into(),
                ..Default::default()
            }),
            update_mask: mask(&["conclusion"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::PublishedAssessment {
        conclusion: "Small, per the full memo.".into(),
        ..old
    };
    assert_eq!(updated, expected);
    let listed = assessments(server.channel().await, None).await;
    assert_eq!(listed.iter().find(|a| a.id == COVINGTON), Some(&expected));
}

#[tokio::test]
async fn a_deleted_published_assessment_is_no_longer_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    LegalRiskServiceClient::new(server.channel().await)
        .delete_published_assessment(authorized(pb::DeletePublishedAssessmentRequest {
            name: format!("publishedAssessments/{COVINGTON}"),
        }))
        .await
        .unwrap();
    let listed = assessments(server.channel().await, None).await;
    assert!(listed.iter().all(|a| a.id != COVINGTON));
}

fn bad_assessment() -> pb::CreatePublishedAssessmentRequest {
    pb::CreatePublishedAssessmentRequest {
        published_assessment_id: String::new(),
        published_assessment: Some(pb::PublishedAssessment {
            author: String::new(),
            date: None,
            conclusion: String::new(),
            confidence: 9,
            ..assessment()
        }),
    }
}

#[tokio::test]
async fn a_published_assessment_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = LegalRiskServiceClient::new(server.channel().await)
        .create_published_assessment(authorized(bad_assessment()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "published_assessment_id",
            "published_assessment.author",
            "published_assessment.date",
            "published_assessment.conclusion",
            "published_assessment.confidence",
        ]
    );
}

#[tokio::test]
async fn a_refused_published_assessment_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = assessments(server.channel().await, None).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    assert!(
        c.create_published_assessment(authorized(bad_assessment()))
            .await
            .is_err()
    );
    let refused_update = c
        .update_published_assessment(authorized(pb::UpdatePublishedAssessmentRequest {
            published_assessment: Some(pb::PublishedAssessment {
                id: COVINGTON.into(),
                date: date(2999, 1, 1),
                ..Default::default()
            }),
            update_mask: mask(&["date"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused_update),
        ["published_assessment.date"]
    );
    assert_eq!(assessments(server.channel().await, None).await, before);
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_published_assessment_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let created = create_assessment(server.channel().await, "assess-test-2026-01").await;
    assert_eq!(version_of(&created), version + 1);
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let updated = c
        .update_published_assessment(authorized(pb::UpdatePublishedAssessmentRequest {
            published_assessment: Some(pb::PublishedAssessment {
                id: "assess-test-2026-01".into(),
                verified: true,
                ..Default::default()
            }),
            update_mask: mask(&["verified"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_published_assessment(authorized(pb::DeletePublishedAssessmentRequest {
            name: "publishedAssessments/assess-test-2026-01".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn published_assessments_read_at_the_version_before_an_update_show_the_old_conclusion() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let conclusion = |all: Vec<pb::PublishedAssessment>| {
        all.into_iter()
            .find(|a| a.id == COVINGTON)
            .unwrap()
            .conclusion
    };
    let old = conclusion(assessments(server.channel().await, None).await);
    LegalRiskServiceClient::new(server.channel().await)
        .update_published_assessment(authorized(pb::UpdatePublishedAssessmentRequest {
            published_assessment: Some(pb::PublishedAssessment {
                id: COVINGTON.into(),
                conclusion: "Revised.".into(),
                ..Default::default()
            }),
            update_mask: mask(&["conclusion"]),
        }))
        .await
        .unwrap();
    assert_eq!(
        conclusion(assessments(server.channel().await, None).await),
        "Revised."
    );
    assert_eq!(
        conclusion(assessments(server.channel().await, Some(version)).await),
        old
    );
}

// --- Instruments -------------------------------------------------------------------------------

fn instrument() -> pb::Instrument {
    pb::Instrument {
        display_name: "EDIP (European Defence Industry Programme, test)".into(),
        summary: "Grants for joint defence-industrial projects.".into(),
        legal_basis: "Regulation (EU) 2025/0000 (test)".into(),
        size_detail: Some(pb::Allocation {
            jurisdiction: "EU".into(),
            label: "Programme envelope".into(),
            amount: eur(1_500_000_000),
            bound: pb::Bound::Exact as i32,
            as_of: date(2025, 11, 25),
            source: source("Test desk (synthetic instrument)"),
            confidence: pb::Confidence::High as i32,
            verified: true,
            ..Default::default()
        }),
        milestones: vec![
            pb::Milestone {
                date: date(2024, 3, 5),
                status: pb::InstrumentStatus::Proposed as i32,
                text: "The Commission proposes it.".into(),
                source: source("Test desk"),
                ..Default::default()
            },
            pb::Milestone {
                date: date(2025, 11, 25),
                status: pb::InstrumentStatus::Adopted as i32,
                text: "Adopted.".into(),
                source: source("Test desk"),
                ..Default::default()
            },
        ],
        terms: vec![pb::Term {
            name: "duration".into(),
            value: "2025-2027".into(),
            source: source("Test desk"),
        }],
        participants: vec![pb::Participant {
            jurisdiction: "UA".into(),
            role: pb::ParticipantRole::Associated as i32,
            note: String::new(),
        }],
        eligibility: None,
        ..Default::default()
    }
}

/// What the server answers for [`instrument`] created as `id`, as of today.
fn instrument_as_created(id: &str) -> pb::Instrument {
    let mut i = instrument();
    i.name = format!("instruments/{id}");
    i.id = id.into();
    i.status = pb::InstrumentStatus::Adopted as i32;
    i.status_date = date(2025, 11, 25);
    i.size = eur(1_500_000_000);
    i.size_bound = pb::Bound::Exact as i32;
    if let Some(s) = &mut i.size_detail {
        s.id = format!("{id}-size");
    }
    i
}

async fn get_instrument(
    channel: Channel,
    name: &str,
    version: Option<u64>,
) -> Result<pb::Instrument, tonic::Status> {
    DefenceFundingServiceClient::new(channel)
        .get_instrument(read_at(
            pb::GetInstrumentRequest {
                name: name.into(),
                as_of: None,
            },
            version,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn create_instrument(channel: Channel, id: &str) -> tonic::Response<pb::Instrument> {
    DefenceFundingServiceClient::new(channel)
        .create_instrument(authorized(pb::CreateInstrumentRequest {
            instrument_id: id.into(),
            instrument: Some(instrument()),
        }))
        .await
        .unwrap()
}

async fn allocations(channel: Channel, parent: &str, version: Option<u64>) -> Vec<pb::Allocation> {
    DefenceFundingServiceClient::new(channel)
        .list_allocations(read_at(
            pb::ListAllocationsRequest {
                parent: parent.into(),
                page_size: 1000,
                ..Default::default()
            },
            version,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocations
}

#[tokio::test]
async fn a_created_instrument_is_read_back_with_its_size_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let created = create_instrument(server.channel().await, "edip")
        .await
        .into_inner();
    assert_eq!(created, instrument_as_created("edip"));
    let read = get_instrument(server.channel().await, "instruments/edip", None)
        .await
        .unwrap();
    assert_eq!(read, instrument_as_created("edip"));
}

#[tokio::test]
async fn an_instrument_update_changes_only_the_fields_its_mask_names_and_keeps_its_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let old = get_instrument(server.channel().await, "instruments/safe", None)
        .await
        .unwrap();
    let old_allocations = allocations(server.channel().await, "instruments/safe", None).await;
    let terms = vec![pb::Term {
        name: "maturity".into(),
        value: "up to 45 years".into(),
        source: source("Test desk"),
    }];
    let updated = DefenceFundingServiceClient::new(server.channel().await)
        .update_instrument(authorized(pb::UpdateInstrumentRequest {
            instrument: Some(pb::Instrument {
                name: "instruments/safe".into(),
                display_name: "not in the mask".into(),
                terms: terms.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["terms"]),
        }))
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Instrument { terms, ..old };
    assert_eq!(updated, expected);
    let read = get_instrument(server.channel().await, "instruments/safe", None)
        .await
        .unwrap();
    assert_eq!(read, expected);
    assert_eq!(
        allocations(server.channel().await, "instruments/safe", None).await,
        old_allocations
    );
}

#[tokio::test]
async fn a_deleted_instrument_is_gone_with_its_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    DefenceFundingServiceClient::new(server.channel().await)
        .delete_instrument(authorized(pb::DeleteInstrumentRequest {
            name: "instruments/era-loans".into(),
        }))
        .await
        .unwrap();
    let err = get_instrument(server.channel().await, "instruments/era-loans", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let all = allocations(server.channel().await, "instruments/-", None).await;
    assert!(
        all.iter()
            .all(|a| !a.name.starts_with("instruments/era-loans/"))
    );
}

fn bad_instrument() -> pb::CreateInstrumentRequest {
    let mut i = instrument();
    i.size = eur(1);
    i.size_detail = None;
    i.milestones[1].date = date(2025, 13, 1);
    i.participants[0].role = pb::ParticipantRole::Unspecified as i32;
    i.eligibility = Some(pb::EligibilityRules {
        outside_component_cap_pct: 120.0,
        summary: "Origin rule.".into(),
        source: source("Test desk"),
        ..Default::default()
    });
    pb::CreateInstrumentRequest {
        instrument_id: "EDIP 2".into(),
        instrument: Some(i),
    }
}

#[tokio::test]
async fn an_instrument_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = DefenceFundingServiceClient::new(server.channel().await)
        .create_instrument(authorized(bad_instrument()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "instrument_id",
            "instrument.size",
            "instrument.milestones[1].date",
            "instrument.participants[0].role",
            "instrument.eligibility.outside_component_cap_pct",
        ]
    );
}

#[tokio::test]
async fn a_refused_instrument_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = get_instrument(server.channel().await, "instruments/safe", None)
        .await
        .unwrap();
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let mut bad = bad_instrument();
    bad.instrument_id = "edip".into();
    assert!(c.create_instrument(authorized(bad)).await.is_err());
    let refused_update = c
        .update_instrument(authorized(pb::UpdateInstrumentRequest {
            instrument: Some(pb::Instrument {
                name: "instruments/safe".into(),
                summary: "A new summary.".into(),
                terms: vec![pb::Term::default()],
                ..Default::default()
            }),
            update_mask: mask(&["summary", "terms"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused_update),
        [
            "instrument.terms[0].name",
            "instrument.terms[0].value",
            "instrument.terms[0].source.publisher",
        ]
    );
    let err = get_instrument(server.channel().await, "instruments/edip", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        get_instrument(server.channel().await, "instruments/safe", None)
            .await
            .unwrap(),
        before
    );
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_instrument_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let created = create_instrument(server.channel().await, "edip").await;
    assert_eq!(version_of(&created), version + 1);
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let updated = c
        .update_instrument(authorized(pb::UpdateInstrumentRequest {
            instrument: Some(pb::Instrument {
                name: "instruments/edip".into(),
                legal_basis: String::new(),
                ..Default::default()
            }),
            update_mask: mask(&["legal_basis"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_instrument(authorized(pb::DeleteInstrumentRequest {
            name: "instruments/edip".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn an_instrument_read_at_the_version_before_an_update_shows_the_old_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let old = get_instrument(server.channel().await, "instruments/safe", None)
        .await
        .unwrap();
    let mut size = old.size_detail.clone().unwrap();
    size.amount = eur(160_000_000_000);
    DefenceFundingServiceClient::new(server.channel().await)
        .update_instrument(authorized(pb::UpdateInstrumentRequest {
            instrument: Some(pb::Instrument {
                name: "instruments/safe".into(),
                size_detail: Some(size),
                ..Default::default()
            }),
            update_mask: mask(&["size_detail"]),
        }))
        .await
        .unwrap();
    let now = get_instrument(server.channel().await, "instruments/safe", None)
        .await
        .unwrap();
    assert_eq!(now.size, eur(160_000_000_000));
    let then = get_instrument(server.channel().await, "instruments/safe", Some(version))
        .await
        .unwrap();
    assert_eq!(then.size, old.size);
    assert_eq!(then.size, eur(150_000_000_000));
}

// --- Allocations -------------------------------------------------------------------------------

fn allocation() -> pb::Allocation {
    pb::Allocation {
        jurisdiction: "LT".into(),
        label: "Lithuania, tentative allocation (test)".into(),
        amount: eur(6_375_000_000),
        bound: pb::Bound::Exact as i32,
        as_of: date(2025, 9, 9),
        source: source("Test desk (synthetic allocation)"),
        confidence: pb::Confidence::High as i32,
        verified: true,
        ..Default::default()
    }
}

async fn create_allocation(
    channel: Channel,
    parent: &str,
    id: &str,
) -> Result<tonic::Response<pb::Allocation>, tonic::Status> {
    DefenceFundingServiceClient::new(channel)
        .create_allocation(authorized(pb::CreateAllocationRequest {
            parent: parent.into(),
            allocation_id: id.into(),
            allocation: Some(allocation()),
        }))
        .await
}

const ERA_003: &str = "instruments/era-loans/allocations/ERA-003";

#[tokio::test]
async fn a_created_allocation_is_listed_under_its_instrument() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let before = allocations(server.channel().await, "instruments/safe", None).await;
    let created = create_allocation(server.channel().await, "instruments/safe", "DEF-006-TEST")
        .await
        .unwrap()
        .into_inner();
    let expected = pb::Allocation {
        name: "instruments/safe/allocations/DEF-006-TEST".into(),
        id: "DEF-006-TEST".into(),
        ..allocation()
    };
    assert_eq!(created, expected);
    let listed = allocations(server.channel().await, "instruments/safe", None).await;
    assert_eq!(listed.len(), before.len() + 1);
    assert_eq!(listed.last(), Some(&expected));
}

#[tokio::test]
async fn an_allocation_update_changes_only_the_fields_its_mask_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let before = allocations(server.channel().await, "instruments/era-loans", None).await;
    let old = before.iter().find(|a| a.name == ERA_003).unwrap().clone();
    let updated = DefenceFundingServiceClient::new(server.channel().await)
        .update_allocation(authorized(pb::UpdateAllocationRequest {
            allocation: Some(pb::Allocation {
                name: ERA_003.into(),
                note: "Completed in December 2025.".into(),
                amount: eur(1),
                ..Default::default()
            }),
            update_mask: mask(&["note"]),
        }))
        .await
        .unwrap()
        .into_inner();
    // The amount stays exactly as published (EUR 18.1 bn), not only close to it.
    let expected = pb::Allocation {
        note: "Completed in December 2025.".into(),
        ..old
    };
    assert_eq!(updated, expected);
    let after = allocations(server.channel().await, "instruments/era-loans", None).await;
    let expected_list: Vec<_> = before
        .into_iter()
        .map(|a| {
            if a.name == ERA_003 {
                expected.clone()
            } else {
                a
            }
        })
        .collect();
    assert_eq!(after, expected_list);
}

#[tokio::test]
async fn a_deleted_allocation_is_no_longer_listed_and_the_others_stay() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let before = allocations(server.channel().await, "instruments/era-loans", None).await;
    DefenceFundingServiceClient::new(server.channel().await)
        .delete_allocation(authorized(pb::DeleteAllocationRequest {
            name: ERA_003.into(),
        }))
        .await
        .unwrap();
    let after = allocations(server.channel().await, "instruments/era-loans", None).await;
    let expected: Vec<_> = before.into_iter().filter(|a| a.name != ERA_003).collect();
    assert_eq!(after, expected);
}

#[tokio::test]
async fn an_allocation_id_in_use_under_any_instrument_or_removed_from_this_one_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let elsewhere = create_allocation(server.channel().await, "instruments/safe", "ERA-003")
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::AlreadyExists);
    DefenceFundingServiceClient::new(server.channel().await)
        .delete_allocation(authorized(pb::DeleteAllocationRequest {
            name: ERA_003.into(),
        }))
        .await
        .unwrap();
    let removed = create_allocation(server.channel().await, "instruments/era-loans", "ERA-003")
        .await
        .unwrap_err();
    assert_eq!(removed.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn allocations_added_to_one_instrument_at_the_same_time_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let before = allocations(server.channel().await, "instruments/safe", None).await;
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..8 {
        let channel = server.channel().await;
        writes.spawn(async move {
            create_allocation(channel, "instruments/safe", &format!("DEF-006-T{i}")).await
        });
    }
    while let Some(done) = writes.join_next().await {
        done.unwrap().unwrap();
    }
    let after = allocations(server.channel().await, "instruments/safe", None).await;
    assert_eq!(after.len(), before.len() + 8, "no write undid another");
}

fn bad_allocation() -> pb::CreateAllocationRequest {
    pb::CreateAllocationRequest {
        parent: "instruments/safe".into(),
        allocation_id: String::new(),
        allocation: Some(pb::Allocation {
            label: String::new(),
            amount: Some(pb::Money {
                currency_code: "XYZ".into(),
                units: 5,
                nanos: 0,
            }),
            as_of: None,
            ..allocation()
        }),
    }
}

#[tokio::test]
async fn an_allocation_with_several_bad_fields_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let err = DefenceFundingServiceClient::new(server.channel().await)
        .create_allocation(authorized(bad_allocation()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "allocation_id",
            "allocation.label",
            "allocation.amount.currency_code",
            "allocation.as_of",
        ]
    );
}

#[tokio::test]
async fn a_refused_allocation_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let before = allocations(server.channel().await, "instruments/-", None).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    assert!(
        c.create_allocation(authorized(bad_allocation()))
            .await
            .is_err()
    );
    let refused_update = c
        .update_allocation(authorized(pb::UpdateAllocationRequest {
            allocation: Some(pb::Allocation {
                name: ERA_003.into(),
                amount: Some(pb::Money {
                    currency_code: "EUR".into(),
                    units: -5,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            update_mask: mask(&["amount"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused_update),
        ["allocation.amount.units"]
    );
    assert_eq!(
        allocations(server.channel().await, "instruments/-", None).await,
        before
    );
    assert_eq!(current_version(server.channel().await).await, version);
}

#[tokio::test]
async fn each_allocation_write_adds_one_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let created = create_allocation(server.channel().await, "instruments/safe", "DEF-006-TEST")
        .await
        .unwrap();
    assert_eq!(version_of(&created), version + 1);
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let updated = c
        .update_allocation(authorized(pb::UpdateAllocationRequest {
            allocation: Some(pb::Allocation {
                name: "instruments/safe/allocations/DEF-006-TEST".into(),
                amount: eur(6_400_000_000),
                ..Default::default()
            }),
            update_mask: mask(&["amount"]),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&updated), version + 2);
    let deleted = c
        .delete_allocation(authorized(pb::DeleteAllocationRequest {
            name: "instruments/safe/allocations/DEF-006-TEST".into(),
        }))
        .await
        .unwrap();
    assert_eq!(version_of(&deleted), version + 3);
}

#[tokio::test]
async fn allocations_read_at_the_version_before_an_update_show_the_old_amount() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let version = current_version(server.channel().await).await;
    let amount =
        |all: Vec<pb::Allocation>| all.into_iter().find(|a| a.name == ERA_003).unwrap().amount;
    let old = amount(allocations(server.channel().await, "instruments/era-loans", None).await);
    DefenceFundingServiceClient::new(server.channel().await)
        .update_allocation(authorized(pb::UpdateAllocationRequest {
            allocation: Some(pb::Allocation {
                name: ERA_003.into(),
                amount: eur(35_000_000_000),
                ..Default::default()
            }),
            update_mask: mask(&["amount"]),
        }))
        .await
        .unwrap();
    assert_eq!(
        amount(allocations(server.channel().await, "instruments/era-loans", None).await),
        eur(35_000_000_000)
    );
    assert_eq!(
        amount(
            allocations(
                server.channel().await,
                "instruments/era-loans",
                Some(version)
            )
            .await
        ),
        old
    );
}
