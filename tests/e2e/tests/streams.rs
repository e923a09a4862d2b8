//! Streams under control: a sweep counts against the call limit and its own limit until its
//! last message, ends at the client's deadline or the server's stream cap with
//! DEADLINE_EXCEEDED and a reason, and a reader that stops reading stops the work.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use leverage_e2e::{Options, TestServer, error_reason, plugin_dir, rate_by_sharing_sweep};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use leverage_server::Limits;
use tonic::Code;
use tonic::transport::Channel;

const PRESSURE_INDEX: (&str, &str) = (
    "libleverage_plugin_pressure_index.so",
    "libleverage_plugin_pressure_index.so",
);

/// A sweep of a million points in chunks of 1,000: far longer than any test reads.
fn long_sweep() -> pb::SweepScenarioRequest {
    rate_by_sharing_sweep(1000, 1000, 1000)
}

async fn server(limits: Limits) -> (TestServer, [tempfile::TempDir; 2]) {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[PRESSURE_INDEX]);
    let options = Options {
        plugin_dir: Some(plugins.path().to_owned()),
        limits,
        ..Options::default()
    };
    let server = TestServer::start_with(data.path(), options).await;
    (server, [data, plugins])
}

/// Opens a sweep and reads its first message: the stream is then in progress.
async fn open_sweep(
    channel: Channel,
) -> Result<tonic::Streaming<pb::SweepScenarioResponse>, tonic::Status> {
    let mut c = ScoringServiceClient::new(channel);
    let mut stream = c.sweep_scenario(long_sweep()).await?.into_inner();
    match stream.message().await? {
        Some(first) => {
            assert_eq!(first.points.len(), 1000);
            Ok(stream)
        }
        None => panic!("the sweep ended before its first message"),
    }
}

async fn scored(channel: Channel) -> i64 {
    ScoringServiceClient::new(channel)
        .get_plugin(pb::GetPluginRequest {
            name: "plugins/pressure-index".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .call_count
}

#[tokio::test]
async fn six_slow_sweep_readers_against_a_limit_of_two_see_two_streams_and_four_refusals() {
    let (server, _dirs) = server(Limits {
        max_concurrent_sweeps: 2,
        ..Limits::default()
    })
    .await;
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..6 {
        match open_sweep(server.channel().await).await {
            Ok(stream) => open.push(stream),
            Err(status) => refused.push(status),
        }
    }
    assert_eq!(open.len(), 2, "{refused:?}");
    assert_eq!(refused.len(), 4);
    for status in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(error_reason(status).as_deref(), Some("TOO_MANY_STREAMS"));
        assert!(status.message().contains("2 sweeps"), "{status:?}");
    }
    // Other calls are not sweeps and go on meanwhile.
    DatasetServiceClient::new(server.channel().await)
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap();
    // A sweep's permit returns when its stream ends.
    drop(open.pop());
    let mut again = None;
    for _ in 0..100 {
        match open_sweep(server.channel().await).await {
            Ok(stream) => {
                again = Some(stream);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(again.is_some(), "a sweep was admitted once one ended");
}

#[tokio::test]
async fn a_sweep_holds_its_call_permit_until_its_last_message() {
    let (server, _dirs) = server(Limits {
        max_concurrent_calls: 2,
        ..Limits::default()
    })
    .await;
    let a = open_sweep(server.channel().await).await.unwrap();
    let b = open_sweep(server.channel().await).await.unwrap();
    let mut datasets = DatasetServiceClient::new(server.channel().await);
    let err = datasets
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(error_reason(&err).as_deref(), Some("SERVER_OVERLOADED"));
    drop((a, b));
    let mut answered = false;
    for _ in 0..100 {
        if datasets
            .get_dataset_info(pb::GetDatasetInfoRequest {})
            .await
            .is_ok()
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "the permits came back when the streams ended");
}

/// Reads a stream slowly until it ends; returns how many messages came and how it ended.
async fn read_slowly(
    mut stream: tonic::Streaming<pb::SweepScenarioResponse>,
) -> (usize, Option<tonic::Status>) {
    let mut messages = 1;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match stream.message().await {
            Ok(Some(_)) => messages += 1,
            Ok(None) => return (messages, None),
            Err(status) => return (messages, Some(status)),
        }
    }
}

#[tokio::test]
async fn a_stream_past_the_servers_cap_ends_with_deadline_exceeded_and_a_reason() {
    let (server, _dirs) = server(Limits {
        max_stream_duration: Duration::from_millis(600),
        ..Limits::default()
    })
    .await;
    let stream = open_sweep(server.channel().await).await.unwrap();
    let (messages, end) = read_slowly(stream).await;
    let status = end.expect("the stream ended with an error, not as complete");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(error_reason(&status).as_deref(), Some("CALL_TIME_LIMIT"));
    assert!(status.message().contains("--max-stream-ms"), "{status:?}");
    assert!(messages < 1000, "it did not run to its end ({messages})");
    // The server goes on, and the sweep's permit is back.
    open_sweep(server.channel().await).await.unwrap();
}

#[tokio::test]
async fn a_stream_past_the_clients_deadline_ends_with_deadline_exceeded_and_a_reason() {
    let (server, _dirs) = server(Limits::default()).await;
    let mut c = ScoringServiceClient::new(server.channel().await);
    let mut request = tonic::Request::new(long_sweep());
    // Only the header: the channel sets no timer of its own, so what ends the call is the
    // server.
    request.set_timeout(Duration::from_millis(600));
    let stream = c.sweep_scenario(request).await.unwrap().into_inner();
    let (_, end) = read_slowly(stream).await;
    let status = end.expect("the stream ended with an error");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(error_reason(&status).as_deref(), Some("DEADLINE_EXCEEDED"));
    assert!(status.message().contains("client's deadline"), "{status:?}");
}

#[tokio::test]
async fn a_reader_that_stops_reading_stops_the_work_after_a_bounded_amount() {
    let (server, _dirs) = server(Limits::default()).await;
    let stream = open_sweep(server.channel().await).await.unwrap();
    // The sweep scores ahead of the reader only as far as the channel and HTTP/2 flow control
    // let it; then it waits. Poll until the count stops moving.
    let mut last = scored(server.channel().await).await;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = scored(server.channel().await).await;
        if now == last {
            break;
        }
        last = now;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = scored(server.channel().await).await;
    assert_eq!(settled, last, "the sweep waits for its reader");
    // One message of 1,000 points is about 60 KB: the client's stream window (2 MiB in
    // hyper's client), the server's send buffer and the four-message channel hold well under
    // 100 of them. Unbounded, the sweep would have run through its million points.
    assert!(
        settled <= 100_000,
        "{settled} of 1,000,000 points scored for a reader that read 1,000"
    );
    drop(stream);
}
