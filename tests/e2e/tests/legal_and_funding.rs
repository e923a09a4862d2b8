//! LegalRiskService and DefenceFundingService over real gRPC.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, date, violated_fields};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use tonic::Code;

fn assess(action: pb::AssetAction, jurisdictions: &[&str]) -> pb::AssessLegalRiskRequest {
    pb::AssessLegalRiskRequest {
        action: action as i32,
        jurisdictions: jurisdictions.iter().map(|j| (*j).to_owned()).collect(),
        as_of: date(2026, 3, 1),
        currency_code: String::new(),
        // These tests hold legal-risk/1 to its properties; legal-risk/2 has tests of its own.
        model: "legal-risk/1".into(),
    }
}

#[tokio::test]
async fn confiscation_is_riskier_than_windfall_use_everywhere_and_drivers_carry_sources() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    // Every jurisdiction that holds assets, plus some that hold positions only.
    let all = [
        "BE", "FR", "DE", "IT", "LU", "CH", "GB", "US", "JP", "CA", "NO", "HU", "RU",
    ];
    let conf = c
        .assess_legal_risk(assess(pb::AssetAction::Confiscation, &all))
        .await
        .unwrap()
        .into_inner();
    let wind = c
        .assess_legal_risk(assess(pb::AssetAction::WindfallProfits, &all))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(conf.jurisdictions.len(), all.len());
    for (c, w) in conf.jurisdictions.iter().zip(&wind.jurisdictions) {
        assert_eq!(c.jurisdiction, w.jurisdiction);
        assert!(
            c.risk > w.risk,
            "{}: confiscation {} vs windfall {}",
            c.jurisdiction,
            c.risk,
            w.risk
        );
        assert!((0.0..=1.0).contains(&c.risk));
        assert!(!c.drivers.is_empty());
        for d in &c.drivers {
            assert!(
                !d.sources.is_empty() && d.sources.iter().all(|s| !s.publisher.is_empty()),
                "{} has no source",
                d.ref_id
            );
        }
    }
    assert!(conf.overall_risk > wind.overall_risk);
    assert!(!conf.method.is_empty() && !conf.model_version.is_empty());
    // Belgium, home of Euroclear and of the BIT exposure, carries assets and a position driver.
    let be = conf
        .jurisdictions
        .iter()
        .find(|j| j.jurisdiction == "BE")
        .unwrap();
    assert!(be.assets_at_stake.as_ref().unwrap().units > 100_000_000_000);
    assert!(
        be.drivers
            .iter()
            .any(|d| d.kind == pb::DriverKind::Position as i32 && d.date.is_some())
    );
    assert!(be.drivers.iter().any(|d| d.ref_id == "DOC-BIT"));
}

#[tokio::test]
async fn the_same_assessment_twice_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let a = c
        .assess_legal_risk(assess(pb::AssetAction::ReparationsLoan, &[]))
        .await
        .unwrap()
        .into_inner();
    let b = c
        .assess_legal_risk(assess(pb::AssetAction::ReparationsLoan, &[]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a, b);
    assert!(
        a.jurisdictions.len() >= 5,
        "defaults to every jurisdiction holding assets"
    );
}

#[tokio::test]
async fn assessments_and_position_lists_validate_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let mut bad = assess(pb::AssetAction::Unspecified, &["BE", "ZZ"]);
    bad.currency_code = "EURO".into();
    let err = c.assess_legal_risk(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        ["action", "jurisdictions[1]", "currency_code"]
    );
    let early = c
        .list_positions(pb::ListPositionsRequest {
            jurisdiction: "BE".into(),
            as_of: date(2024, 12, 31),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let late = c
        .list_positions(pb::ListPositionsRequest {
            jurisdiction: "BE".into(),
            as_of: date(2026, 3, 1),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        late.positions.len() > early.positions.len(),
        "positions dated later are not yet in force"
    );
    let doctrines = c
        .list_doctrines(pb::ListDoctrinesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(doctrines.doctrines.len(), 7);
}

fn eligibility(
    country: &str,
    as_of: Option<pb::Date>,
    share: Option<f64>,
) -> pb::CheckEligibilityRequest {
    pb::CheckEligibilityRequest {
        instrument: "instruments/safe".into(),
        country: country.into(),
        as_of,
        outside_component_share_pct: share,
    }
}

#[tokio::test]
async fn safe_eligibility_follows_membership_agreements_and_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    for country in ["PL", "NO"] {
        let r = c
            .check_eligibility(eligibility(country, date(2025, 12, 1), None))
            .await
            .unwrap()
            .into_inner();
        assert!(r.eligible, "{country}");
        assert_eq!(r.eligibility, pb::Eligibility::Eligible as i32, "{country}");
    }
    // The UK's talks failed on 2025-11-28: within the cap only, and not beyond it.
    let uk = c
        .check_eligibility(eligibility("GB", date(2025, 12, 1), None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(uk.eligibility, pb::Eligibility::EligibleWithinCap as i32);
    assert_eq!(uk.cap_pct, Some(35.0));
    let uk = c
        .check_eligibility(eligibility("GB", date(2025, 12, 1), Some(50.0)))
        .await
        .unwrap()
        .into_inner();
    assert!(!uk.eligible);
    assert_eq!(uk.eligibility, pb::Eligibility::NotEligible as i32);
    assert!(
        uk.reasons.iter().any(|r| r.date == date(2025, 11, 28)),
        "the failed talks are a reason: {:?}",
        uk.reasons
    );
    assert!(
        uk.reasons.iter().any(|r| r.text.contains("35")),
        "the cap is a reason"
    );
    // Canada's agreement, signed by 2026-02-14, lifts the cap from then on, not before (the
    // end of negotiations on 2025-12-01 did not).
    let ca = c
        .check_eligibility(eligibility("CA", date(2026, 2, 15), None))
        .await
        .unwrap()
        .into_inner();
    assert!(ca.eligible);
    assert_eq!(
        ca.eligibility,
        pb::Eligibility::Eligible as i32,
        "Canadian components count as inside"
    );
    assert_eq!(ca.role, pb::ParticipantRole::ThirdCountry as i32);
    let before = c
        .check_eligibility(eligibility("CA", date(2026, 2, 13), None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        before.eligibility,
        pb::Eligibility::EligibleWithinCap as i32
    );
    // Before SAFE existed, nobody was eligible.
    let early = c
        .check_eligibility(eligibility("PL", date(2024, 1, 1), None))
        .await
        .unwrap()
        .into_inner();
    assert!(!early.eligible);
}

#[tokio::test]
async fn funding_requests_validate_and_instruments_carry_their_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let err = c
        .check_eligibility(eligibility("UK", None, Some(120.0)))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&err),
        ["country", "outside_component_share_pct"]
    );
    let err = c
        .check_eligibility(pb::CheckEligibilityRequest {
            instrument: "instruments/nope".into(),
            country: "PL".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let safe = c
        .get_instrument(pb::GetInstrumentRequest {
            name: "instruments/safe".into(),
            as_of: date(2026, 3, 1),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(safe.size.as_ref().unwrap().units, 150_000_000_000);
    assert!(safe.eligibility.is_some());
    let allocations = c
        .list_allocations(pb::ListAllocationsRequest {
            parent: "instruments/safe".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allocations.allocations.len(), 19);
    let total: i64 = allocations
        .allocations
        .iter()
        .map(|a| a.amount.as_ref().unwrap().units)
        .sum();
    // The 19 maximum loans of the Council's implementing decisions (Feb 2026), Estonia's
    // among them at EUR 2,343,897,000: a little under the EUR 150 bn envelope.
    assert_eq!(total, 149_682_964_829);
    let pl = c
        .list_allocations(pb::ListAllocationsRequest {
            parent: "instruments/-".into(),
            filter: "jurisdiction = PL".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        pl.allocations
            .iter()
            .any(|a| a.name.starts_with("instruments/safe/allocations/"))
    );
}
