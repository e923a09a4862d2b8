//! The facts of the December 2026 data update (docs/data-updates-2026.md), read back over real
//! gRPC: 2026 events are in force from their date and not before, the corrections hold, and
//! events known only to the month are found all month long.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, amount, date};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;

const MOSCOW_JUDGMENT: &str = "pos-ru-moscow-arbitration-court-2026-05-15";

async fn positions(
    c: &mut LegalRiskServiceClient<tonic::transport::Channel>,
    jurisdiction: &str,
    as_of: Option<pb::Date>,
) -> Vec<pb::Position> {
    c.list_positions(pb::ListPositionsRequest {
        jurisdiction: jurisdiction.into(),
        as_of,
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .positions
}

async fn allocations(
    c: &mut DefenceFundingServiceClient<tonic::transport::Channel>,
    parent: &str,
    filter: &str,
) -> Vec<pb::Allocation> {
    c.list_allocations(pb::ListAllocationsRequest {
        parent: parent.into(),
        filter: filter.into(),
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .allocations
}

#[tokio::test]
async fn the_moscow_judgment_against_euroclear_is_a_russian_position_from_may_2026_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);

    let end_of_may = positions(&mut c, "RU", date(2026, 5, 31)).await;
    let judgment = end_of_may
        .iter()
        .find(|p| p.id == MOSCOW_JUDGMENT)
        .unwrap_or_else(|| panic!("no Moscow judgment as of 2026-05-31: {end_of_may:?}"));
    assert_eq!(judgment.date, date(2026, 5, 15));
    assert_eq!(judgment.stance, pb::Stance::Opposes as i32);
    assert!(judgment.actor.contains("Moscow Arbitration Court"));
    assert!(judgment.doctrine_ids.iter().any(|d| d == "DOC-RU-COUNTER"));
    assert!(!judgment.source.as_ref().unwrap().url.is_empty());

    let start_of_may = positions(&mut c, "RU", date(2026, 5, 1)).await;
    assert!(
        start_of_may.iter().all(|p| p.id != MOSCOW_JUDGMENT),
        "the judgment of 2026-05-15 is listed as of 2026-05-01"
    );
}

#[tokio::test]
async fn the_eur_90_bn_loan_is_agreed_until_2026_04_22_and_adopted_from_2026_04_23() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let status_on = |as_of| pb::GetInstrumentRequest {
        name: "instruments/eu-ukraine-loan-2026-27".into(),
        as_of,
    };

    // No adoption in February 2026: the Council only agreed its position on 2026-02-04.
    for day in [date(2026, 3, 1), date(2026, 4, 22)] {
        let loan = c.get_instrument(status_on(day)).await.unwrap().into_inner();
        assert_eq!(loan.status, pb::InstrumentStatus::Agreed as i32, "{day:?}");
        assert_eq!(loan.status_date, date(2026, 2, 4), "{day:?}");
    }
    let adopted = c
        .get_instrument(status_on(date(2026, 4, 23)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(adopted.status, pb::InstrumentStatus::Adopted as i32);
    assert_eq!(adopted.status_date, date(2026, 4, 23));
}

fn safe_eligibility(
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
async fn canada_is_held_to_the_safe_cap_before_its_accession_and_eligible_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);

    // Before the agreement was signed (by 2026-02-14), Canadian components count as outside:
    // eligible only within the 35% cap, so a procurement half Canadian is refused.
    let before = c
        .check_eligibility(safe_eligibility("CA", date(2026, 2, 10), None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        before.eligibility,
        pb::Eligibility::EligibleWithinCap as i32
    );
    assert_eq!(before.cap_pct, Some(35.0));
    let half_canadian = c
        .check_eligibility(safe_eligibility("CA", date(2026, 2, 10), Some(50.0)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        half_canadian.eligibility,
        pb::Eligibility::NotEligible as i32
    );

    // After the accession Canadian components count as inside: fully eligible, the cap no
    // longer binds on them. (A share given is what comes from outside the EU, the associated
    // states and Canada, so a procurement half Canadian and half European has none; the cap
    // still applies to components from elsewhere.)
    let after = c
        .check_eligibility(safe_eligibility("CA", date(2026, 2, 18), None))
        .await
        .unwrap()
        .into_inner();
    assert!(after.eligible);
    assert_eq!(after.eligibility, pb::Eligibility::Eligible as i32);
    assert_eq!(after.role, pb::ParticipantRole::ThirdCountry as i32);
    assert!(
        after.reasons.iter().any(|r| r.date == date(2026, 2, 14)),
        "the accession is a dated reason: {:?}",
        after.reasons
    );
    let half_canadian_half_european = c
        .check_eligibility(safe_eligibility("CA", date(2026, 2, 18), Some(0.0)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        half_canadian_half_european.eligibility,
        pb::Eligibility::Eligible as i32
    );
}

#[tokio::test]
async fn estonias_safe_allocation_is_the_maximum_loan_of_the_council_decision() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let ee = allocations(&mut c, "instruments/safe", "jurisdiction = EE").await;
    assert_eq!(ee.len(), 1, "{ee:?}");
    let money = ee[0].amount.as_ref().unwrap();
    assert_eq!(money.currency_code, "EUR");
    assert_eq!(money.units, 2_343_897_000);
    assert_eq!(money.nanos, 0);
    assert_eq!(ee[0].as_of, date(2026, 2, 17));
}

#[tokio::test]
async fn the_third_windfall_tranche_is_dated_on_its_receipt_of_2025_08_08() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = DefenceFundingServiceClient::new(server.channel().await);
    let tranches = allocations(&mut c, "instruments/windfall-contribution", "").await;
    let third = tranches.iter().find(|a| a.id == "WF-012").unwrap();
    assert_eq!(third.as_of, date(2025, 8, 8));
    assert!(third.as_of_label.is_empty(), "{:?}", third.as_of_label);
    assert!((amount(&third.amount) - 1.6e9).abs() < 1.0);
}

#[tokio::test]
async fn ofsi_totals_carry_their_review_years_and_data_dates_not_publication_dates() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let series = c
        .list_observations(pb::ListObservationsRequest {
            parent: "holdings/uk-ofsi-frozen-funds".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .observations;
    let by_amount = |bn: f64| {
        series
            .iter()
            .find(|o| (amount(&o.amount) - bn * 1e9).abs() < 1e3)
            .unwrap_or_else(|| panic!("no GBP {bn} bn in {series:?}"))
    };
    let review_2022_23 = by_amount(22.7);
    assert_eq!(review_2022_23.as_of, date(2023, 10, 31));
    assert!(review_2022_23.as_of_label.contains("2022-23"));
    let review_2023_24 = by_amount(25.03);
    assert_eq!(review_2023_24.as_of, date(2024, 3, 31));
    assert!(review_2023_24.as_of_label.contains("2023-24"));
    assert!(
        series.iter().all(|o| o.as_of != date(2025, 3, 21)),
        "2025-03-21 is the day the 2023-24 review was published, not a data date"
    );
}

#[tokio::test]
async fn a_position_known_only_to_the_month_is_found_on_the_tenth_of_that_month() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    // Lagarde's latest statement is dated "2025-12" only: it is dated on 2025-12-01.
    let tenth = positions(&mut c, "EU", date(2025, 12, 10)).await;
    let lagarde = tenth
        .iter()
        .find(|p| p.id == "pos-ecb-lagarde")
        .unwrap_or_else(|| panic!("not found as of 2025-12-10: {tenth:?}"));
    assert_eq!(lagarde.date, date(2025, 12, 1));
    assert!(
        lagarde.date_label.ends_with("2025-12"),
        "{}",
        lagarde.date_label
    );
    let before_the_month = positions(&mut c, "EU", date(2025, 11, 30)).await;
    assert!(before_the_month.iter().all(|p| p.id != "pos-ecb-lagarde"));
}

#[tokio::test]
async fn usd_sums_early_in_2026_convert_at_the_ecb_rate_of_2025_12_31() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let s = c
        .summarize_holdings(pb::SummarizeHoldingsRequest {
            filter: "owner_kind = CENTRAL_BANK".into(),
            currency_code: "USD".into(),
            as_of: date(2026, 1, 15),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let eurusd = s
        .rates_used
        .iter()
        .find(|r| r.base_currency == "EUR" && r.quote_currency == "USD")
        .expect("the EUR/USD rate is listed");
    assert_eq!(eurusd.rate_id, "ecb-2025-12-31-usd");
    assert_eq!(eurusd.as_of, date(2025, 12, 31));
    assert!((eurusd.rate - 1.175).abs() < 1e-9);
}
