//! A living, versioned dataset over real gRPC: corrections that keep history, reads and scores
//! at an earlier dataset version, imports and exports, and upgrades of the shipped dataset.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_core::Dataset;
use leverage_e2e::{
    Options, TestServer, authorized, date, error_reason, plugin_dir, violated_fields,
};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

const EUROCLEAR: &str = "holdings/euroclear-sanctioned-russian";
const EC_2025_12_31: &str = "holdings/euroclear-sanctioned-russian/observations/EC-008";
const HEADER: &str = "leverage-dataset-version";

/// A request pinned to a dataset version.
fn at<T>(version: i64, message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert(HEADER, version.to_string().parse().unwrap());
    r
}

fn served_version<T>(response: &tonic::Response<T>) -> i64 {
    response
        .metadata()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

async fn euroclear_at(
    c: &mut AssetServiceClient<Channel>,
    version: Option<i64>,
) -> pb::Observation {
    let req = pb::GetHoldingRequest {
        name: EUROCLEAR.into(),
        as_of: date(2025, 12, 31),
    };
    let r = match version {
        Some(v) => c.get_holding(at(v, req)).await,
        None => c.get_holding(req).await,
    };
    r.unwrap().into_inner().current.unwrap()
}

async fn history_of(
    data: &mut DatasetServiceClient<Channel>,
    name: &str,
) -> Vec<pb::RecordVersion> {
    data.list_record_versions(pb::ListRecordVersionsRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .record_versions
}

fn correction(units: i64, reason: &str) -> pb::UpdateObservationRequest {
    pb::UpdateObservationRequest {
        observation: Some(pb::Observation {
            name: EC_2025_12_31.into(),
            amount: Some(pb::Money {
                currency_code: "EUR".into(),
                units,
                nanos: 0,
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["amount".into()],
        }),
        reason: reason.into(),
    }
}

#[tokio::test]
async fn a_correction_shows_at_once_the_old_value_stays_readable_at_the_earlier_version_and_the_history_names_who_and_why()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut data = DatasetServiceClient::new(server.channel().await);
    let before = served_version(
        &data
            .get_dataset_info(pb::GetDatasetInfoRequest {})
            .await
            .unwrap(),
    );
    let old = euroclear_at(&mut assets, None).await;
    assert_eq!(old.amount.as_ref().unwrap().units, 195_000_000_000);

    let corrected = assets
        .update_observation(authorized(correction(
            194_500_000_000,
            "restated in the FY2025 annual report",
        )))
        .await
        .unwrap();
    let after = served_version(&corrected);
    assert_eq!(after, before + 1);
    assert_eq!(
        euroclear_at(&mut assets, None).await.amount.unwrap().units,
        194_500_000_000
    );
    assert_eq!(
        euroclear_at(&mut assets, Some(before))
            .await
            .amount
            .unwrap()
            .units,
        195_000_000_000,
        "the dataset as it was before the correction"
    );

    let history = history_of(&mut data, EC_2025_12_31).await;
    assert_eq!(history.len(), 2);
    let (first, second) = (&history[0], &history[1]);
    assert_eq!(first.superseded_in_version, after);
    assert_eq!(first.superseded_by, "tester");
    assert!(!first.deleted);
    assert_eq!(
        first
            .observation
            .as_ref()
            .unwrap()
            .amount
            .as_ref()
            .unwrap()
            .units,
        195_000_000_000
    );
    assert_eq!(
        (second.dataset_version, second.author.as_str()),
        (after, "tester")
    );
    assert_eq!(second.reason, "restated in the FY2025 annual report");
    assert_eq!(second.origin, pb::DatasetVersionOrigin::Edit as i32);
    // The version list says the same.
    let versions = data
        .list_dataset_versions(pb::ListDatasetVersionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .dataset_versions;
    assert_eq!(versions[0].dataset_version, after);
    assert_eq!(versions[0].reason, "restated in the FY2025 annual report");
    assert_eq!(versions[0].changes[0].name, EC_2025_12_31);
    assert_eq!(
        versions[0].changes[0].r#type,
        pb::RecordChangeType::Updated as i32
    );
}

#[tokio::test]
async fn a_correction_without_a_reason_or_with_a_bad_value_is_refused_naming_every_field_and_stores_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut bad = correction(-5, " ");
    bad.update_mask.as_mut().unwrap().paths.push("id".into());
    let status = assets
        .update_observation(authorized(bad))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["reason", "update_mask"]);
    let negative = assets
        .update_observation(authorized(correction(-5, "typo")))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&negative), ["observation.amount.units"]);
    assert_eq!(
        euroclear_at(&mut assets, None).await.amount.unwrap().units,
        195_000_000_000
    );
    let missing = assets
        .delete_observation(authorized(pb::DeleteObservationRequest {
            name: format!("{EUROCLEAR}/observations/NO-SUCH"),
            reason: "duplicate".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn a_withdrawn_observation_leaves_later_reads_and_stays_in_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut data = DatasetServiceClient::new(server.channel().await);
    let deleted = assets
        .delete_observation(authorized(pb::DeleteObservationRequest {
            name: EC_2025_12_31.into(),
            reason: "test of a withdrawal".into(),
        }))
        .await
        .unwrap();
    let version = served_version(&deleted);
    assert_ne!(euroclear_at(&mut assets, None).await.id, "EC-008");
    assert_eq!(
        euroclear_at(&mut assets, Some(version - 1)).await.id,
        "EC-008"
    );
    let history = history_of(&mut data, EC_2025_12_31).await;
    assert_eq!(history.len(), 1);
    assert!(history[0].deleted);
    assert_eq!(history[0].superseded_reason, "test of a withdrawal");
}

#[tokio::test]
async fn a_score_made_before_an_edit_is_reproduced_bit_for_bit_at_its_dataset_version() {
    let data_dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[(
        "libleverage_plugin_pressure_index.so",
        "libleverage_plugin_pressure_index.so",
    )]);
    let server =
        TestServer::start_with_plugins(data_dir.path(), plugins.path(), HostOptions::default())
            .await;
    let mut scoring = ScoringServiceClient::new(server.channel().await);
    let mut assets = AssetServiceClient::new(server.channel().await);
    let request = pb::ScoreScenarioRequest {
        plugin: "plugins/pressure-index".into(),
        scenario: Some(pb::Scenario {
            use_mode: pb::AssetAction::ReparationsLoan as i32,
            as_of: date(2025, 12, 31),
            ..Default::default()
        }),
        ..Default::default()
    };
    let first = scoring
        .score_scenario(request.clone())
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let version: i64 = first.dataset_version.parse().unwrap();
    // The pool the scenario draws on shrinks by a quarter.
    assets
        .update_observation(authorized(correction(
            146_000_000_000,
            "test: what if the balance were smaller",
        )))
        .await
        .unwrap();
    let now = scoring
        .score_scenario(request.clone())
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_ne!(
        now.score.to_bits(),
        first.score.to_bits(),
        "the edit moves the score"
    );
    assert_eq!(now.dataset_version, (version + 1).to_string());
    let again = scoring
        .score_scenario(at(version, request))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(again.score.to_bits(), first.score.to_bits());
    assert_eq!(again.dataset_version, first.dataset_version);
    let bits = |r: &pb::ScoreResult| {
        r.components
            .iter()
            .map(|c| c.value.to_bits())
            .chain(r.inputs.iter().map(|i| i.value.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&again), bits(&first));
}

#[tokio::test]
async fn a_version_that_does_not_exist_or_was_compacted_is_refused_not_answered_from_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut data = DatasetServiceClient::new(server.channel().await);
    for (i, units) in [1, 2].into_iter().enumerate() {
        assets
            .update_observation(authorized(correction(
                194_000_000_000 + units,
                &format!("step {i}"),
            )))
            .await
            .unwrap();
    }
    let future = assets
        .get_holding(at(
            99,
            pb::GetHoldingRequest {
                name: EUROCLEAR.into(),
                as_of: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(future.code(), Code::OutOfRange);
    assert_eq!(
        error_reason(&future).as_deref(),
        Some("DATASET_VERSION_NOT_YET")
    );
    let mut malformed = tonic::Request::new(pb::GetDatasetInfoRequest {});
    malformed
        .metadata_mut()
        .insert(HEADER, "yesterday".parse().unwrap());
    let malformed = data.get_dataset_info(malformed).await.unwrap_err();
    assert_eq!(violated_fields(&malformed), [HEADER]);

    let compacted = data
        .compact_dataset_versions(authorized(pb::CompactDatasetVersionsRequest {
            keep_latest: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(compacted.oldest_dataset_version, 3);
    assert_eq!(
        compacted.removed_values, 2,
        "two superseded values of EC-008"
    );
    let gone = euroclear_at_status(&mut assets, 1).await;
    assert_eq!(gone.code(), Code::FailedPrecondition);
    assert_eq!(
        error_reason(&gone).as_deref(),
        Some("DATASET_VERSION_COMPACTED")
    );
    assert_eq!(
        euroclear_at(&mut assets, Some(3))
            .await
            .amount
            .unwrap()
            .units,
        194_000_000_002
    );
    let info = data
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((info.dataset_version, info.oldest_dataset_version), (3, 3));
}

async fn euroclear_at_status(c: &mut AssetServiceClient<Channel>, version: i64) -> tonic::Status {
    c.get_holding(at(
        version,
        pb::GetHoldingRequest {
            name: EUROCLEAR.into(),
            as_of: None,
        },
    ))
    .await
    .unwrap_err()
}

fn import(
    file_name: &str,
    content: &str,
    dry_run: bool,
) -> tonic::Request<pb::ImportDatasetRequest> {
    authorized(pb::ImportDatasetRequest {
        file_name: file_name.into(),
        content: content.as_bytes().to_vec(),
        dry_run,
    })
}

const OBSERVATIONS_CSV: &str = "\
holding,id,as_of,value,scale,currency,publisher,title,url,published,confidence,verified,note
euroclear-sanctioned-russian,TEST-EC-2026Q1,2026-03-31,193.5,billion,EUR,Test desk,Synthetic test row,,2026-04-30,low,false,SYNTHETIC test data
euroclear-sanctioned-russian,TEST-EC-2026Q2,2026-06-30,191.0,billion,EUR,Test desk,Synthetic test row,,,low,false,SYNTHETIC test data
";

#[tokio::test]
async fn an_import_with_one_bad_row_stores_nothing_and_names_its_line_then_the_fixed_file_imports_once()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut data = DatasetServiceClient::new(server.channel().await);
    let mut assets = AssetServiceClient::new(server.channel().await);
    let bad = OBSERVATIONS_CSV.replace("191.0,billion", "191.0,gazillion");
    let status = data
        .import_dataset(import("q.csv", &bad, false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    use tonic_types::StatusExt;
    let violations = status.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "content");
    assert!(
        violations[0]
            .description
            .starts_with("q.csv line 3, field scale"),
        "{}",
        violations[0].description
    );
    let info = data
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.dataset_version, 1, "nothing stored");

    let dry = data
        .import_dataset(import("q.csv", OBSERVATIONS_CSV, true))
        .await
        .unwrap()
        .into_inner();
    assert!(!dry.applied);
    assert_eq!(dry.added.len(), 2);
    assert_eq!(dry.dataset_version, 1);

    let done = data
        .import_dataset(import("q.csv", OBSERVATIONS_CSV, false))
        .await
        .unwrap()
        .into_inner();
    assert!(done.applied);
    assert_eq!(done.dataset_version, 2);
    assert_eq!(
        done.added,
        [
            format!("{EUROCLEAR}/observations/TEST-EC-2026Q1"),
            format!("{EUROCLEAR}/observations/TEST-EC-2026Q2")
        ]
    );
    let h = assets
        .get_holding(pb::GetHoldingRequest {
            name: EUROCLEAR.into(),
            as_of: date(2026, 7, 1),
        })
        .await
        .unwrap()
        .into_inner();
    let current = h.current.unwrap();
    assert_eq!(current.id, "TEST-EC-2026Q2");
    assert_eq!(current.source.unwrap().import_id, done.import_id);

    let again = data
        .import_dataset(import("q.csv", OBSERVATIONS_CSV, false))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.applied);
    assert_eq!(again.dataset_version, 2, "no new version");
    assert_eq!(again.unchanged_count, 2);
    let versions = data
        .list_dataset_versions(pb::ListDatasetVersionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .dataset_versions;
    assert_eq!(versions[0].origin, pb::DatasetVersionOrigin::Import as i32);
    assert_eq!(versions[0].import_id, done.import_id);
}

#[tokio::test]
async fn an_import_leaves_a_local_edit_alone_and_reports_the_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut data = DatasetServiceClient::new(server.channel().await);
    let mut assets = AssetServiceClient::new(server.channel().await);
    data.import_dataset(import("q.csv", OBSERVATIONS_CSV, false))
        .await
        .unwrap();
    let name = format!("{EUROCLEAR}/observations/TEST-EC-2026Q2");
    let mut edit = correction(190_000_000_000, "checked by hand");
    edit.observation.as_mut().unwrap().name = name.clone();
    assets.update_observation(authorized(edit)).await.unwrap();
    let revised = OBSERVATIONS_CSV.replace("191.0,billion", "191.5,billion");
    let report = data
        .import_dataset(import("q-revised.csv", &revised, false))
        .await
        .unwrap()
        .into_inner();
    assert!(!report.applied);
    assert_eq!(report.conflicts.len(), 1);
    assert_eq!(report.conflicts[0].name, name);
    assert!(
        report.conflicts[0].detail.contains("value"),
        "{}",
        report.conflicts[0].detail
    );
}

async fn export(data: &mut DatasetServiceClient<Channel>, version: Option<i64>) -> (i64, String) {
    let req = pb::ExportDatasetRequest {};
    let mut stream = match version {
        Some(v) => data.export_dataset(at(v, req)).await,
        None => data.export_dataset(req).await,
    }
    .unwrap()
    .into_inner();
    let (mut bytes, mut served) = (Vec::new(), 0);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        served = chunk.dataset_version;
        bytes.extend(chunk.content);
    }
    (served, String::from_utf8(bytes).unwrap())
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_server_gives_the_same_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut data = DatasetServiceClient::new(server.channel().await);
    let mut assets = AssetServiceClient::new(server.channel().await);
    data.import_dataset(import("q.csv", OBSERVATIONS_CSV, false))
        .await
        .unwrap();
    assets
        .update_observation(authorized(correction(194_000_000_000, "test edit")))
        .await
        .unwrap();
    let (version, exported) = export(&mut data, None).await;
    assert_eq!(version, 3);
    let (v1, shipped) = export(&mut data, Some(1)).await;
    assert_eq!(v1, 1);
    assert_ne!(shipped, exported, "an earlier version exports as it was");

    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = TestServer::start(fresh_dir.path()).await;
    let mut other = DatasetServiceClient::new(fresh.channel().await);
    let report = other
        .import_dataset(import("export.toml", &exported, false))
        .await
        .unwrap()
        .into_inner();
    assert!(report.applied && report.conflicts.is_empty());
    assert_eq!(report.added.len(), 2);
    assert_eq!(report.changed, [EC_2025_12_31]);
    let (_, round_trip) = export(&mut other, None).await;
    assert_eq!(round_trip, exported);
    let again = other
        .import_dataset(import("export.toml", &exported, false))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.applied);
}

#[tokio::test]
async fn a_newer_shipped_dataset_merges_into_an_edited_database_keeping_the_edit_and_reporting_the_conflict()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    assets
        .update_observation(authorized(correction(195_100_000_000, "local reading")))
        .await
        .unwrap();
    server.stop().await;

    // The next build ships a dataset that corrects EC-008 too and adds an observation.
    let mut next = Dataset::embedded().unwrap();
    next.meta.version = "2099.01.1".into();
    let ec = next
        .holdings
        .iter_mut()
        .find(|h| format!("holdings/{}", h.id) == EUROCLEAR)
        .unwrap();
    let ec = std::sync::Arc::make_mut(ec);
    let mut newer = (*ec.observations.last().unwrap().clone()).clone();
    std::sync::Arc::make_mut(ec.observations.last_mut().unwrap()).value = 196.0;
    newer.id = "EC-TEST-NEXT".into();
    newer.as_of = "2026-03-31".parse().unwrap();
    ec.observations.push(std::sync::Arc::new(newer));
    let options = Options {
        shipped: Some(next),
        ..Options::default()
    };
    let server = TestServer::start_with(dir.path(), options).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut data = DatasetServiceClient::new(server.channel().await);
    assert_eq!(
        euroclear_at(&mut assets, None).await.amount.unwrap().units,
        195_100_000_000,
        "the local edit survives"
    );
    let h = assets
        .get_holding(pb::GetHoldingRequest {
            name: EUROCLEAR.into(),
            as_of: date(2026, 4, 1),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(h.current.unwrap().id, "EC-TEST-NEXT", "the new row appears");
    let info = data
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.version, "2099.01.1");
    let upgrade = &data
        .list_dataset_versions(pb::ListDatasetVersionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .dataset_versions[0];
    assert_eq!(upgrade.origin, pb::DatasetVersionOrigin::Shipped as i32);
    assert_eq!(upgrade.conflicts.len(), 1);
    assert_eq!(upgrade.conflicts[0].name, EC_2025_12_31);
}

#[tokio::test]
async fn a_malformed_version_header_is_refused_naming_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut data = DatasetServiceClient::new(server.channel().await);
    for header in [HEADER, "leverage-min-dataset-version"] {
        for value in ["0", "-3", "seven", "1.5"] {
            let mut request = tonic::Request::new(pb::GetDatasetInfoRequest {});
            request
                .metadata_mut()
                .insert(header, value.parse().unwrap());
            let status = data.get_dataset_info(request).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{header}: {value}");
            assert_eq!(violated_fields(&status), [header], "{header}: {value}");
        }
    }
    // The server goes on.
    data.get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap();
}
