//! A sweep asked for one part of its grid (an index range, or shard i of n) streams exactly the
//! points the whole sweep gives at those indices, under the same indices, with progress over
//! the part; a part that is not one of the grid is INVALID_ARGUMENT naming its fields.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, plugin_dir, rate_by_sharing_sweep, violated_fields};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tonic::Code;
use tonic::transport::Channel;

const PRESSURE_INDEX: (&str, &str) = (
    "libleverage_plugin_pressure_index.so",
    "libleverage_plugin_pressure_index.so",
);

async fn server() -> (
    TestServer,
    ScoringServiceClient<Channel>,
    [tempfile::TempDir; 2],
) {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[PRESSURE_INDEX]);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    let client = ScoringServiceClient::new(server.channel().await);
    (server, client, [data, plugins])
}

/// A grid of 37 × 29 = 1073 points (a prime times a prime, so that no split is even), in
/// chunks of 100, of a use of the assets whose score moves with the interest rate.
fn sweep() -> pb::SweepScenarioRequest {
    let mut r = rate_by_sharing_sweep(37, 29, 100);
    if let Some(base) = &mut r.base {
        base.use_mode = pb::AssetAction::WindfallProfits as i32;
    }
    r
}

const GRID: usize = 37 * 29;

/// What a sweep streamed: its points, the component names of its first message, and the
/// progress of each message.
struct Streamed {
    points: Vec<pb::SweepPoint>,
    component_names: Vec<String>,
    progress: Vec<(i64, i64)>,
}

async fn run(c: &mut ScoringServiceClient<Channel>, r: pb::SweepScenarioRequest) -> Streamed {
    let mut stream = c.sweep_scenario(r).await.unwrap().into_inner();
    let mut out = Streamed {
        points: Vec::new(),
        component_names: Vec::new(),
        progress: Vec::new(),
    };
    let mut first = true;
    while let Some(chunk) = stream.message().await.unwrap() {
        if std::mem::take(&mut first) {
            out.component_names = chunk.component_names;
        } else {
            assert!(chunk.component_names.is_empty(), "names in the first only");
        }
        out.points.extend(chunk.points);
        let p = chunk.progress.unwrap();
        out.progress.push((p.done, p.total));
    }
    out
}

/// A point as bits, so that equal means the same to the last bit (and -0 differs from 0).
fn bits(p: &pb::SweepPoint) -> (i64, Vec<u64>, u64, Vec<u64>, bool) {
    (
        p.index,
        p.lever_values.iter().map(|v| v.to_bits()).collect(),
        p.score.to_bits(),
        p.components.iter().map(|v| v.to_bits()).collect(),
        p.error.is_some(),
    )
}

fn assert_same_points(part: &[pb::SweepPoint], whole: &[pb::SweepPoint]) {
    assert_eq!(part.len(), whole.len());
    for (p, w) in part.iter().zip(whole) {
        assert_eq!(bits(p), bits(w), "point {}", w.index);
    }
}

/// The progress a part of `len` points in chunks of 100 reports: done after each chunk, of
/// `len`.
fn progress_of(len: usize) -> Vec<(i64, i64)> {
    let chunks = len.div_ceil(100) as i64;
    let len = len as i64;
    (1..=chunks).map(|k| ((k * 100).min(len), len)).collect()
}

#[tokio::test]
async fn a_range_streams_the_whole_sweeps_points_at_those_indices_with_progress_over_the_range() {
    let (_s, mut c, _d) = server().await;
    let whole = run(&mut c, sweep()).await;
    assert_eq!(whole.points.len(), GRID);
    assert!(whole.points.iter().all(|p| p.error.is_none()));
    let first = whole.points[0].score;
    assert!(
        whole.points.iter().any(|p| p.score != first),
        "scores vary, so that a point out of place shows"
    );
    for (start, end) in [(0, 1), (100, 700), (250, 251), (1000, 1073), (5, 0)] {
        let part = run(
            &mut c,
            pb::SweepScenarioRequest {
                start_index: start,
                end_index: end,
                ..sweep()
            },
        )
        .await;
        let end = if end == 0 { GRID } else { end as usize };
        assert_same_points(&part.points, &whole.points[start as usize..end]);
        assert_eq!(part.component_names, whole.component_names);
        assert_eq!(part.progress, progress_of(end - start as usize));
    }
}

#[tokio::test]
async fn the_shards_of_a_sweep_are_its_points_in_order_each_once() {
    let (_s, mut c, _d) = server().await;
    let whole = run(&mut c, sweep()).await;
    for count in [1, 2, 3, 7] {
        let mut joined = Vec::new();
        for index in 0..count {
            let shard = run(
                &mut c,
                pb::SweepScenarioRequest {
                    shard_index: index,
                    shard_count: count,
                    ..sweep()
                },
            )
            .await;
            // Shard i of n is [floor(i·N/n), floor((i+1)·N/n)).
            let (i, n) = (index as usize, count as usize);
            let expected = &whole.points[i * GRID / n..(i + 1) * GRID / n];
            assert_same_points(&shard.points, expected);
            assert_eq!(shard.component_names, whole.component_names);
            assert_eq!(shard.progress, progress_of(expected.len()));
            joined.extend(shard.points);
        }
        assert_same_points(&joined, &whole.points);
    }
}

#[tokio::test]
async fn an_empty_shard_sends_one_message_naming_the_components() {
    let (_s, mut c, _d) = server().await;
    let mut tiny = sweep();
    tiny.axes.truncate(1);
    tiny.axes[0].steps = 2;
    // Shard 0 of 3 of 2 points is [0, 0).
    let empty = run(
        &mut c,
        pb::SweepScenarioRequest {
            shard_index: 0,
            shard_count: 3,
            ..tiny.clone()
        },
    )
    .await;
    assert!(empty.points.is_empty());
    assert!(!empty.component_names.is_empty());
    assert_eq!(empty.progress, [(0, 0)]);
}

#[tokio::test]
async fn a_part_that_is_not_one_of_the_grid_is_invalid_naming_its_fields() {
    let (_s, mut c, _d) = server().await;
    let cases: [(pb::SweepScenarioRequest, &[&str]); 5] = [
        (
            pb::SweepScenarioRequest {
                start_index: 10,
                end_index: 20,
                shard_index: 1,
                shard_count: 3,
                ..sweep()
            },
            &["shard_index", "shard_count"],
        ),
        (
            pb::SweepScenarioRequest {
                shard_index: 3,
                shard_count: 3,
                ..sweep()
            },
            &["shard_index"],
        ),
        (
            pb::SweepScenarioRequest {
                shard_index: 1,
                ..sweep()
            },
            &["shard_index"],
        ),
        (
            pb::SweepScenarioRequest {
                start_index: 20,
                end_index: 10,
                ..sweep()
            },
            &["end_index"],
        ),
        (
            pb::SweepScenarioRequest {
                start_index: GRID as i64 + 1,
                end_index: GRID as i64 + 2,
                ..sweep()
            },
            &["start_index", "end_index"],
        ),
    ];
    for (request, fields) in cases {
        let err = c.sweep_scenario(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(violated_fields(&err), fields, "{err:?}");
    }
}
