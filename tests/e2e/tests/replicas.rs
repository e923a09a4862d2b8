//! Replicas on one PostgreSQL, over real gRPC: a client reads its own write on any replica with
//! the version its write's reply named, replicas converge by themselves without it, two
//! replicas cannot both apply an update made from the same etag, and a database outage leaves
//! reads answering while writes are refused, until it comes back.
//!
//! Each test starts servers in this process on a real throwaway PostgreSQL cluster (Debian's
//! package; `.ci/run` installs it). Outside CI, without it, the tests say they skip.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::{Duration, Instant};

use leverage_e2e::{Options, TestServer, authorized, date, error_reason};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_test_postgres::Cluster;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const VERSION: &str = "leverage-dataset-version";
const AT_LEAST: &str = "leverage-min-dataset-version";

async fn replicas(url: &str, n: usize) -> (Vec<TestServer>, Vec<tempfile::TempDir>) {
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..n {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            store: Some(url.to_owned()),
            ..Options::default()
        };
        servers.push(TestServer::start_with(dir.path(), options).await);
        dirs.push(dir);
    }
    (servers, dirs)
}

fn observation(id: &str) -> pb::CreateObservationRequest {
    pb::CreateObservationRequest {
        parent: String::new(),
        observation_id: id.into(),
        observation: Some(pb::Observation {
            amount: Some(pb::Money {
                currency_code: "EUR".into(),
                units: 1_000_000,
                nanos: 0,
            }),
            as_of: date(2026, 11, 30),
            source: Some(pb::Source {
                publisher: "Replica test (synthetic observation)".into(),
                ..Default::default()
            }),
            confidence: pb::Confidence::Low as i32,
            ..Default::default()
        }),
    }
}

fn version_of<T>(reply: &tonic::Response<T>) -> u64 {
    reply
        .metadata()
        .get(VERSION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("every reply names its dataset version")
}

async fn holding_names(c: &mut AssetServiceClient<Channel>) -> Vec<String> {
    let list = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    list.holdings.into_iter().map(|h| h.name).collect()
}

/// The observations' ids of `holding` as `c` sees it, asking for at least `version` if given.
async fn observation_ids(
    c: &mut AssetServiceClient<Channel>,
    holding: &str,
    version: Option<u64>,
) -> Result<Vec<String>, tonic::Status> {
    let mut request = tonic::Request::new(pb::GetHoldingRequest {
        name: holding.into(),
        as_of: None,
    });
    if let Some(v) = version {
        request
            .metadata_mut()
            .insert(AT_LEAST, v.to_string().parse().unwrap());
    }
    let h = c.get_holding(request).await?.into_inner();
    Ok(h.observations
        .into_iter()
        .map(|o| o.name.rsplit('/').next().unwrap_or_default().to_owned())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_one_replica_is_read_on_the_others_with_the_version_token_every_time() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.create_database();
    let (servers, _dirs) = replicas(&url, 3).await;
    let mut clients = Vec::new();
    for s in &servers {
        clients.push(AssetServiceClient::new(s.channel().await));
    }
    let holdings = holding_names(&mut clients[0]).await;
    const ROUNDS: usize = 1000;
    for i in 0..ROUNDS {
        let holding = &holdings[i % holdings.len()];
        let id = format!("ryw-{i:04}");
        let mut request = observation(&id);
        request.parent = holding.clone();
        let written = clients[i % 3]
            .create_observation(authorized(request))
            .await
            .unwrap();
        let version = version_of(&written);
        // Read on another replica, with the token: never a miss.
        let reader = &mut clients[(i + 1) % 3];
        let ids = observation_ids(reader, holding, Some(version))
            .await
            .unwrap();
        assert!(
            ids.contains(&id),
            "round {i}: replica {} did not show the write of version {version}",
            (i + 1) % 3
        );
    }

    // Without the token, each replica converges by itself: measured here (the benchmark
    // reports the distribution), bounded only by a generous liveness limit.
    let mut lags = Vec::new();
    for i in 0..30 {
        let holding = &holdings[i % holdings.len()];
        let id = format!("converge-{i:02}");
        let mut request = observation(&id);
        request.parent = holding.clone();
        clients[0]
            .create_observation(authorized(request))
            .await
            .unwrap();
        let written = Instant::now();
        for reader in clients.iter_mut().skip(1) {
            loop {
                if observation_ids(reader, holding, None)
                    .await
                    .unwrap()
                    .contains(&id)
                {
                    break;
                }
                assert!(
                    written.elapsed() < Duration::from_secs(10),
                    "a replica did not converge"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            lags.push(written.elapsed());
        }
    }
    lags.sort();
    println!(
        "convergence without the token over {} reads: median {:?}, max {:?}",
        lags.len(),
        lags[lags.len() / 2],
        lags[lags.len() - 1]
    );
    for s in servers {
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_replicas_updating_a_holding_with_the_same_etag_exactly_one_succeeds() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.create_database();
    let (servers, _dirs) = replicas(&url, 2).await;
    let mut a = AssetServiceClient::new(servers[0].channel().await);
    let mut b = AssetServiceClient::new(servers[1].channel().await);
    let name = holding_names(&mut a).await.remove(0);
    let get = |c: &mut AssetServiceClient<Channel>| {
        let mut c = c.clone();
        let name = name.clone();
        async move {
            c.get_holding(pb::GetHoldingRequest { name, as_of: None })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let (read_a, read_b) = (get(&mut a).await, get(&mut b).await);
    assert!(!read_a.etag.is_empty());
    assert_eq!(
        read_a.etag, read_b.etag,
        "every replica gives the same etag"
    );

    for round in 0..10 {
        let etag = get(&mut a).await.etag;
        let update = |scope: String| {
            authorized(pb::UpdateHoldingRequest {
                holding: Some(pb::Holding {
                    name: name.clone(),
                    scope,
                    etag: etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["scope".into()],
                }),
            })
        };
        let (ra, rb) = tokio::join!(
            a.update_holding(update(format!("round {round}: by replica a"))),
            b.update_holding(update(format!("round {round}: by replica b"))),
        );
        let (won, lost) = match (ra, rb) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w.into_inner(), l),
            (ra, rb) => panic!("round {round}: exactly one must succeed: {ra:?} / {rb:?}"),
        };
        assert_eq!(lost.code(), Code::Aborted, "{lost:?}");
        assert_eq!(error_reason(&lost).as_deref(), Some("ETAG_MISMATCH"));
        assert_ne!(won.etag, etag, "a change gives a new etag");
        // Nothing acknowledged is lost: both replicas read the winner's value.
        let version = version_of(
            &a.get_holding(pb::GetHoldingRequest {
                name: name.clone(),
                as_of: None,
            })
            .await
            .unwrap(),
        );
        let mut request = tonic::Request::new(pb::GetHoldingRequest {
            name: name.clone(),
            as_of: None,
        });
        request
            .metadata_mut()
            .insert(AT_LEAST, version.to_string().parse().unwrap());
        let on_b = b.get_holding(request).await.unwrap().into_inner();
        assert_eq!(on_b.scope, won.scope);
    }
    // A stale etag on a deletion changes nothing; the current one deletes.
    let mut stale = authorized(pb::DeleteHoldingRequest {
        name: name.clone(),
        etag: read_a.etag.clone(),
    });
    stale.set_timeout(Duration::from_secs(10));
    let refused = b.delete_holding(stale).await.unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);
    let current = get(&mut a).await.etag;
    b.delete_holding(authorized(pb::DeleteHoldingRequest {
        name: name.clone(),
        etag: current,
    }))
    .await
    .unwrap();
    for s in servers {
        s.stop().await;
    }
}

async fn health(channel: Channel, service: &str) -> ServingStatus {
    let reply = HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner();
    ServingStatus::try_from(reply.status).unwrap()
}

async fn until_health(channel: &Channel, service: &str, want: ServingStatus) {
    let start = Instant::now();
    while health(channel.clone(), service).await != want {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{service} never became {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_database_stopped_reads_answer_writes_are_unavailable_and_all_recover() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.create_database();
    let (servers, _dirs) = replicas(&url, 2).await;
    let channels = [servers[0].channel().await, servers[1].channel().await];
    let mut a = AssetServiceClient::new(channels[0].clone());
    let mut b = AssetServiceClient::new(channels[1].clone());
    let holding = holding_names(&mut a).await.remove(0);
    let before = observation_ids(&mut b, &holding, None).await.unwrap();
    const WRITES: &str = "writes/leverage.v1.AssetService";
    assert_eq!(
        health(channels[0].clone(), WRITES).await,
        ServingStatus::Serving
    );

    cluster.stop();
    // Reads: answered from the snapshot, as before.
    for c in [&mut a, &mut b] {
        assert_eq!(
            observation_ids(c, &holding, None).await.unwrap(),
            before,
            "reads answer from the last snapshot"
        );
    }
    // Writes: UNAVAILABLE at once (well inside the client's deadline), nothing written.
    let mut request = observation("during-outage");
    request.parent = holding.clone();
    let mut request = authorized(request);
    request.set_timeout(Duration::from_secs(10));
    let refused = a.create_observation(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert_eq!(error_reason(&refused).as_deref(), Some("STORE_UNAVAILABLE"));
    // A version this replica lacks cannot be looked for while the store is away: after
    // --min-version-wait-ms, UNAVAILABLE with a hint to retry, never an older answer.
    let behind = observation_ids(&mut b, &holding, Some(u64::MAX / 2))
        .await
        .unwrap_err();
    assert_eq!(behind.code(), Code::Unavailable, "{behind:?}");
    assert_eq!(error_reason(&behind).as_deref(), Some("REPLICA_BEHIND"));
    use tonic_types::StatusExt;
    assert!(
        behind.get_details_retry_info().is_some(),
        "the refusal says when to retry"
    );
    // Health: degraded, the service itself still serving its reads.
    for ch in &channels {
        until_health(ch, WRITES, ServingStatus::NotServing).await;
        assert_eq!(
            health(ch.clone(), "leverage.v1.AssetService").await,
            ServingStatus::Serving
        );
        assert_eq!(health(ch.clone(), "").await, ServingStatus::Serving);
    }

    cluster.restart();
    for ch in &channels {
        until_health(ch, WRITES, ServingStatus::Serving).await;
    }
    let mut request = observation("after-outage");
    request.parent = holding.clone();
    let written = a.create_observation(authorized(request)).await.unwrap();
    let version = version_of(&written);
    // The other replica converges by itself (no token): it follows the write.
    let start = Instant::now();
    loop {
        let ids = observation_ids(&mut b, &holding, None).await.unwrap();
        if ids.iter().any(|i| i == "after-outage") {
            assert!(!ids.iter().any(|i| i == "during-outage"));
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "replica b never caught up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ids = observation_ids(&mut b, &holding, Some(version))
        .await
        .unwrap();
    assert!(ids.iter().any(|i| i == "after-outage"));
    for s in servers {
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_the_store_never_had_is_refused_at_once_never_answered_older() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.create_database();
    let (servers, _dirs) = replicas(&url, 1).await;
    let mut a = AssetServiceClient::new(servers[0].channel().await);
    let holding = holding_names(&mut a).await.remove(0);
    let now = version_of(
        &a.get_holding(pb::GetHoldingRequest {
            name: holding.clone(),
            as_of: None,
        })
        .await
        .unwrap(),
    );
    // Every version a client is given is in the store first: one beyond its newest comes from
    // another history, and waiting would not bring it.
    let refused = observation_ids(&mut a, &holding, Some(now + 50))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert_eq!(
        error_reason(&refused).as_deref(),
        Some("DATASET_VERSION_NOT_YET")
    );
    for s in servers {
        s.stop().await;
    }
}
