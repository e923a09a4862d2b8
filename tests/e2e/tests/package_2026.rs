//! The 2026 package (ASSET_ACTION_PACKAGE_2026) scored by the real 2.0 plugins over real gRPC:
//! its amounts come from the dataset as of the scenario's date, every input derived from the
//! dataset names the records it came from, and a write to those records moves the score with
//! the new record named.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, authorized, date, plugin_dir};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use prost_types::FieldMask;
use tonic::transport::Channel;

const PLUGINS: [&str; 2] = ["pressure-index", "prudent-pressure"];

async fn server() -> (TestServer, [tempfile::TempDir; 2]) {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
        (
            "libleverage_plugin_prudent_pressure.so",
            "libleverage_plugin_prudent_pressure.so",
        ),
    ]);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    (server, [data, plugins])
}

/// The 2026 package on `(year, month, day)`, every other lever at its default.
async fn score_package(channel: Channel, plugin: &str, day: (i32, i32, i32)) -> pb::ScoreResult {
    ScoringServiceClient::new(channel)
        .score_scenario(pb::ScoreScenarioRequest {
            plugin: format!("plugins/{plugin}"),
            scenario: Some(pb::Scenario {
                use_mode: pb::AssetAction::Package2026 as i32,
                as_of: date(day.0, day.1, day.2),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
}

fn input<'a>(r: &'a pb::ScoreResult, name: &str) -> &'a pb::NamedValue {
    r.inputs
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{} reads no {name}", r.plugin))
}

fn eur(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "EUR".into(),
        units,
        nanos: 0,
    })
}

const MID_2026: (i32, i32, i32) = (2026, 6, 30);
const WINDFALL: &str = "windfall.received_12m_eur_bn";
const WF_013: &str = "instruments/windfall-contribution/allocations/WF-013";

#[tokio::test]
async fn the_package_scores_from_the_windfall_received_and_a_write_to_it_moves_the_score_naming_the_record()
 {
    let (server, _dirs) = server().await;
    let mut before = Vec::new();
    for plugin in PLUGINS {
        let r = score_package(server.channel().await, plugin, MID_2026).await;
        assert_eq!(r.plugin_version, "2.0.0");
        // The tranches of the twelve months to 2026-06-30: EUR 1.6 bn (2025-08-08) and 1.4 bn
        // (2026-03-31); the EU loan adopted on 2026-04-23; the reserves of 2026-03-01.
        let windfall = input(&r, WINDFALL);
        assert!((windfall.value - 3.0).abs() < 1e-9, "{windfall:?}");
        assert!(
            windfall.source.contains("WF-012 (2025-08-08)")
                && windfall.source.contains("WF-013 (2026-03-31)"),
            "{windfall:?}"
        );
        let loan = input(&r, "funding.eu_loan_in_force_eur_bn");
        assert_eq!(loan.value, 90.0);
        assert!(
            loan.source.contains("RL-006-SIZE")
                && loan.source.contains("disbursing since 2026-06-25"),
            "{loan:?}"
        );
        let reserves = input(&r, "russia.reserves_latest_eur_bn");
        assert!(
            reserves.source.starts_with("figure SOV-025 (2026-03-01)"),
            "{reserves:?}"
        );
        assert_eq!(
            input(&r, "lever.use_mode").source,
            "",
            "a lever has no source"
        );
        before.push(r);
    }

    // A correction: the fourth tranche was EUR 0.4 bn, not 1.4 bn.
    DefenceFundingServiceClient::new(server.channel().await)
        .update_allocation(authorized(pb::UpdateAllocationRequest {
            allocation: Some(pb::Allocation {
                name: WF_013.into(),
                amount: eur(400_000_000),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["amount".into()],
            }),
        }))
        .await
        .unwrap();
    let mut corrected = Vec::new();
    for (plugin, old) in PLUGINS.iter().zip(&before) {
        let r = score_package(server.channel().await, plugin, MID_2026).await;
        let windfall = input(&r, WINDFALL);
        assert!((windfall.value - 2.0).abs() < 1e-9, "{windfall:?}");
        assert!(
            windfall.source.contains("WF-013 (2026-03-31)"),
            "{windfall:?}"
        );
        assert_ne!(r.dataset_version, old.dataset_version);
        // Less windfall backs less of the ERA loans: less money to Ukraine, a lower score.
        assert!(
            r.score < old.score,
            "{plugin}: {} vs {}",
            r.score,
            old.score
        );
        corrected.push(r);
    }

    // A new tranche received in June 2026 (test data): counted, and named.
    DefenceFundingServiceClient::new(server.channel().await)
        .create_allocation(authorized(pb::CreateAllocationRequest {
            parent: "instruments/windfall-contribution".into(),
            allocation_id: "WF-TEST-5".into(),
            allocation: Some(pb::Allocation {
                jurisdiction: "BE".into(),
                label: "Tranche 5 (test)".into(),
                amount: eur(2_500_000_000),
                bound: pb::Bound::Exact as i32,
                as_of: date(2026, 6, 15),
                source: Some(pb::Source {
                    publisher: "Test desk (synthetic tranche)".into(),
                    url: "https://example.org/test".into(),
                    ..Default::default()
                }),
                confidence: pb::Confidence::High as i32,
                verified: true,
                ..Default::default()
            }),
        }))
        .await
        .unwrap();
    for (plugin, old) in PLUGINS.iter().zip(&corrected) {
        let r = score_package(server.channel().await, plugin, MID_2026).await;
        let windfall = input(&r, WINDFALL);
        assert!((windfall.value - 4.5).abs() < 1e-9, "{windfall:?}");
        assert!(
            windfall.source.contains("WF-TEST-5 (2026-06-15)"),
            "{windfall:?}"
        );
        assert!(
            r.score > old.score,
            "{plugin}: {} vs {}",
            r.score,
            old.score
        );
        // Scored before the new tranche, the package does not see it.
        let earlier = score_package(server.channel().await, plugin, (2026, 6, 14)).await;
        assert!(!input(&earlier, WINDFALL).source.contains("WF-TEST-5"));
    }
}

#[tokio::test]
async fn a_reserves_figure_written_through_the_dataset_service_becomes_the_denominator_from_its_date()
 {
    let (server, _dirs) = server().await;
    let before = score_package(server.channel().await, "pressure-index", MID_2026).await;
    DatasetServiceClient::new(server.channel().await)
        .create_figure(authorized(pb::CreateFigureRequest {
            figure_id: "SOV-TEST-1".into(),
            figure: Some(pb::Figure {
                category: "sovereign_reserves".into(),
                metric: "Russia's international reserves (test figure)".into(),
                area: "Russia".into(),
                value: Some(1200.0),
                unit: "billion".into(),
                currency_code: "USD".into(),
                bound: pb::Bound::Exact as i32,
                as_of: date(2026, 6, 1),
                source: Some(pb::Source {
                    publisher: "Test desk (synthetic figure)".into(),
                    url: "https://example.org/test".into(),
                    ..Default::default()
                }),
                confidence: pb::Confidence::Medium as i32,
                verified: true,
                ..Default::default()
            }),
        }))
        .await
        .unwrap();
    let after = score_package(server.channel().await, "pressure-index", MID_2026).await;
    let reserves = input(&after, "russia.reserves_latest_eur_bn");
    assert!(
        reserves
            .source
            .starts_with("figure SOV-TEST-1 (2026-06-01)"),
        "{reserves:?}"
    );
    assert!(reserves.value > input(&before, "russia.reserves_latest_eur_bn").value);
    let denied = |r: &pb::ScoreResult| {
        r.components
            .iter()
            .find(|c| c.name == "money_denied")
            .unwrap()
            .value
    };
    // Larger reserves: a smaller share of them denied, a lower index.
    assert!(denied(&after) < denied(&before));
    assert!(after.score < before.score);
    // The day before the new figure, the March figure is still the latest.
    let may = score_package(server.channel().await, "pressure-index", (2026, 5, 31)).await;
    assert!(
        input(&may, "russia.reserves_latest_eur_bn")
            .source
            .starts_with("figure SOV-025")
    );
}

#[tokio::test]
async fn before_its_adoption_the_eu_loan_adds_nothing_and_the_source_says_why() {
    let (server, _dirs) = server().await;
    let agreed = score_package(server.channel().await, "pressure-index", (2026, 4, 22)).await;
    let adopted = score_package(server.channel().await, "pressure-index", (2026, 4, 23)).await;
    let loan = |r: &pb::ScoreResult| input(r, "funding.eu_loan_in_force_eur_bn").clone();
    assert_eq!(loan(&agreed).value, 0.0);
    assert!(
        loan(&agreed)
            .source
            .contains("not adopted (agreed 2026-02-04)"),
        "{:?}",
        loan(&agreed)
    );
    assert_eq!(loan(&adopted).value, 90.0);
    assert!(adopted.score > agreed.score);
}

/// prudent-pressure 2.0 counts each risk once: deleting the only record of what a Russian
/// judgment can reach (EC-015, written through the DatasetService) zeroes the retaliation
/// discount and leaves every other component exactly where it was.
#[tokio::test]
async fn without_the_enforceable_exposure_only_the_retaliation_discount_of_prudent_pressure_moves()
{
    let (server, _dirs) = server().await;
    let before = score_package(server.channel().await, "prudent-pressure", MID_2026).await;
    assert!(input(&before, "exposure.enforceable_eur_bn").value > 0.0);
    assert!(
        input(&before, "exposure.enforceable_eur_bn")
            .source
            .contains("EC-015")
    );
    DatasetServiceClient::new(server.channel().await)
        .delete_figure(authorized(pb::DeleteFigureRequest {
            name: "figures/EC-015".into(),
        }))
        .await
        .unwrap();
    let after = score_package(server.channel().await, "prudent-pressure", MID_2026).await;
    assert_eq!(input(&after, "exposure.enforceable_eur_bn").value, 0.0);
    let component = |r: &pb::ScoreResult, name: &str| {
        r.components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no component {name}"))
            .value
    };
    assert!(component(&before, "retaliation_discount") > 0.0);
    assert_eq!(component(&after, "retaliation_discount"), 0.0);
    for name in [
        "base_pressure",
        "legal_discount",
        "euro_risk_discount",
        "ceasefire_discount",
    ] {
        assert_eq!(
            component(&before, name).to_bits(),
            component(&after, name).to_bits(),
            "{name} moved"
        );
    }
    assert!(after.score > before.score);
}
