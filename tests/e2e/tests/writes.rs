//! Writes over real gRPC: authorised, validated field by field, transactional, durable.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TOKEN, TestServer, amount, authorized, date, violated_fields};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use tonic::Code;

fn money(currency: &str, units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: currency.into(),
        units,
        nanos: 0,
    })
}

fn observation(currency: &str, units: i64) -> pb::Observation {
    pb::Observation {
        amount: money(currency, units),
        as_of: date(2026, 1, 31),
        source: Some(pb::Source {
            publisher: "Test desk (synthetic observation for a test)".into(),
            ..Default::default()
        }),
        confidence: pb::Confidence::Medium as i32,
        verified: false,
        ..Default::default()
    }
}

fn new_observation(parent: &str, id: &str, obs: pb::Observation) -> pb::CreateObservationRequest {
    pb::CreateObservationRequest {
        parent: parent.into(),
        observation_id: id.into(),
        observation: Some(obs),
    }
}

const SWISS: &str = "holdings/switzerland-central-bank";

#[tokio::test]
async fn a_write_is_visible_at_once_and_after_a_restart_with_its_author() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let created = c
        .create_observation(authorized(new_observation(
            SWISS,
            "test-2026-01",
            observation("CHF", 7_500_000_000),
        )))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.name, format!("{SWISS}/observations/test-2026-01"));
    assert_eq!(created.created_by, "tester");
    let read = |c: &mut AssetServiceClient<_>| {
        let mut c = c.clone();
        async move {
            c.get_holding(pb::GetHoldingRequest {
                name: SWISS.into(),
                as_of: date(2026, 2, 1),
            })
            .await
            .unwrap()
            .into_inner()
        }
    };
    let h = read(&mut c).await;
    let current = h.current.unwrap();
    assert_eq!(current.id, "test-2026-01");
    assert_eq!(amount(&current.amount), 7.5e9);
    assert_eq!(h.updated_by, "tester");
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let h = read(&mut c).await;
    assert_eq!(
        h.current.unwrap().id,
        "test-2026-01",
        "the write survived the restart"
    );
}

#[tokio::test]
async fn writes_without_a_valid_token_are_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let err = c
        .create_observation(new_observation(SWISS, "no-token", observation("CHF", 1)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut wrong = tonic::Request::new(pb::DeleteHoldingRequest {
        name: SWISS.into(),
        ..Default::default()
    });
    wrong
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}x").parse().unwrap());
    assert_eq!(
        c.delete_holding(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let h = c
        .get_holding(pb::GetHoldingRequest {
            name: SWISS.into(),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(h.observations.iter().all(|o| o.id != "no-token"));
}

#[tokio::test]
async fn every_bad_field_is_named_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let mut bad = observation("EUX", -5);
    bad.as_of = date(2025, 2, 30);
    let err = c
        .create_observation(authorized(new_observation(SWISS, "bad-1", bad)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    for f in [
        "observation.amount.currency_code",
        "observation.amount.units",
        "observation.as_of",
    ] {
        assert!(
            fields.contains(&f.to_owned()),
            "{f} missing from {fields:?}"
        );
    }

    // A new holding with a bad jurisdiction and one bad observation among good ones.
    let holding = pb::Holding {
        kind: pb::HoldingKind::Located as i32,
        scope: "Central-bank assets at a test custodian".into(),
        owner_kind: pb::OwnerKind::CentralBank as i32,
        jurisdiction: "XK1".into(),
        instrument: pb::AssetInstrument::Cash as i32,
        observations: vec![observation("EUR", 1_000), observation("EUR", -1)],
        ..Default::default()
    };
    let err = c
        .create_holding(authorized(pb::CreateHoldingRequest {
            holding_id: "test-custodian".into(),
            holding: Some(holding.clone()),
        }))
        .await
        .unwrap_err();
    let fields = violated_fields(&err);
    assert!(
        fields.contains(&"holding.jurisdiction".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"holding.observations[1].amount.units".to_owned()),
        "{fields:?}"
    );
    let err = c
        .get_holding(pb::GetHoldingRequest {
            name: "holdings/test-custodian".into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "nothing partial was stored");

    // Fixed, the same holding is created whole.
    let mut good = holding;
    good.jurisdiction = "LU".into();
    good.observations.pop();
    let created = c
        .create_holding(authorized(pb::CreateHoldingRequest {
            holding_id: "test-custodian".into(),
            holding: Some(good),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.observations.len(), 1);
    let again = c
        .create_holding(authorized(pb::CreateHoldingRequest {
            holding_id: "test-custodian".into(),
            holding: created.clone().into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn update_and_delete_follow_the_mask_and_keep_the_author() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let mut h = c
        .get_holding(pb::GetHoldingRequest {
            name: SWISS.into(),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    let old_scope = h.scope.clone();
    h.custodian = "Swiss National Bank (test)".into();
    h.scope = "changed but not in the mask".into();
    let updated = c
        .update_holding(authorized(pb::UpdateHoldingRequest {
            holding: Some(h.clone()),
            update_mask: Some(prost_types_mask(&["custodian"])),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.custodian, "Swiss National Bank (test)");
    assert_eq!(updated.scope, old_scope);
    assert_eq!(updated.updated_by, "tester");
    let err = c
        .update_holding(authorized(pb::UpdateHoldingRequest {
            holding: Some(h),
            update_mask: Some(prost_types_mask(&["kind"])),
        }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["update_mask"]);

    c.delete_holding(authorized(pb::DeleteHoldingRequest {
        name: SWISS.into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    let err = c
        .get_holding(pb::GetHoldingRequest {
            name: SWISS.into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .delete_holding(authorized(pb::DeleteHoldingRequest {
            name: SWISS.into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

fn prost_types_mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}
