//! Part 6: the cost of keeping every version (issue 11). On the shipped dataset and on labelled
//! synthetic data of 10 thousand and 1 million observations: the server's time to SERVING and
//! its resident memory, the latency of a correction (UpdateObservation) and of a new
//! observation (CreateObservation), one call in flight, each a committed, fsynced version; and a
//! read pinned to an old version, first built from the store, then served from memory.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use leverage_proto::leverage::v1 as api;
use serde::Serialize;
use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::load::asset_client;
use crate::scale::{self, ScaleConfig};
use crate::server::{ServerOptions, connect, spawn_leverage_with, wait_serving};
use crate::stats::Latency;
use crate::sys::memory_mb;

const TOKEN: &str = "bench-versions-editor-token";

#[derive(Clone, Debug, Serialize)]
pub struct VersionsResult {
    pub observations: usize,
    pub what: String,
    pub server_start_s: f64,
    pub server_rss_mb: f64,
    pub correction: Latency,
    pub creation: Latency,
    /// A read at a version 100 below the newest: the first (built from the store) and the
    /// median of the next ones (kept in memory).
    pub pinned_first_ms: f64,
    /// The first read at another version, 150 below the newest (built from the store too,
    /// after the first one paid what a process pays once).
    pub pinned_other_ms: f64,
    pub pinned_again: Latency,
    pub rss_after_mb: f64,
}

fn authorized<T>(message: T, version: Option<u64>) -> anyhow::Result<Request<T>> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse()?);
    if let Some(v) = version {
        r.metadata_mut().insert(
            "leverage-dataset-version",
            MetadataValue::try_from(v.to_string())?,
        );
    }
    Ok(r)
}

fn served(metadata: &tonic::metadata::MetadataMap) -> anyhow::Result<u64> {
    Ok(metadata
        .get("leverage-dataset-version")
        .context("no dataset version on the reply")?
        .to_str()?
        .parse()?)
}

/// Copies a data directory so that the writes measured here do not change the scale part's
/// cached data (whose summaries are checked against SQLite).
fn copy_data(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for name in ["leverage.db", "leverage.db-wal", "leverage.db-shm"] {
        let source = from.join(name);
        if source.exists() {
            std::fs::copy(&source, to.join(name))
                .with_context(|| format!("copying {}", source.display()))?;
            // On disk before the server starts: a gigabyte of dirty pages written back while
            // it reads would be timed as its start-up.
            std::fs::File::open(to.join(name))?.sync_all()?;
        }
    }
    Ok(())
}

/// One size: `config` of synthetic data, or the shipped dataset alone when `None`.
pub async fn run_one(
    server_bin: &Path,
    work: &Path,
    scale_dir: Option<&Path>,
    options: &ServerOptions,
    config: Option<&ScaleConfig>,
    writes: usize,
    logs: &Path,
) -> anyhow::Result<VersionsResult> {
    let data = work.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let (observations, what) = match (config, scale_dir) {
        (Some(c), Some(dir)) => {
            scale::ensure_data(dir, c)?;
            copy_data(dir, &data)?;
            (
                c.holdings * c.observations_per_holding,
                format!(
                    "{} synthetic holdings × {} observations (+ the shipped dataset)",
                    c.holdings, c.observations_per_holding
                ),
            )
        }
        _ => (0, "the shipped dataset alone".to_owned()),
    };
    let tokens = format!("bench:editor={TOKEN}");
    let mut server = spawn_leverage_with(
        server_bin,
        &data,
        options,
        &logs.join("versions-server.log"),
        &["--tokens".as_ref(), tokens.as_ref()],
    )?;
    let started = wait_serving(&mut server, Duration::from_secs(1800), false).await?;
    let server_rss_mb = memory_mb(server.pid(), "VmRSS").unwrap_or(f64::NAN);
    let mut client = asset_client(connect(server.addr).await?);

    // The target: the newest observation of the first holding in name order.
    let page = client
        .list_holdings(Request::new(api::ListHoldingsRequest {
            page_size: 1,
            view: api::HoldingView::Full as i32,
            ..Default::default()
        }))
        .await?
        .into_inner();
    let holding = page.holdings.first().context("no holding")?;
    let target = holding
        .observations
        .last()
        .context("the first holding has no observation")?
        .clone();
    let total_observations = observations
        + leverage_core::Dataset::embedded()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .holdings
            .iter()
            .map(|h| h.observations.len())
            .sum::<usize>();
    eprintln!(
        "[versions] {total_observations} observations: SERVING after {:.2} s, RSS {server_rss_mb:.0} MB; writing to {}",
        started.as_secs_f64(),
        target.name
    );

    let mut correction = Vec::with_capacity(writes);
    for i in 0..writes + 2 {
        let mut o = target.clone();
        if let Some(a) = o.amount.as_mut() {
            a.units += i as i64 + 1;
        }
        let req = api::UpdateObservationRequest {
            observation: Some(o),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["amount".into()],
            }),
            reason: format!("bench correction {i}"),
        };
        let t = Instant::now();
        client.update_observation(authorized(req, None)?).await?;
        if i >= 2 {
            correction.push(t.elapsed().as_nanos() as u64);
        }
    }
    let mut creation = Vec::with_capacity(writes);
    let mut newest = 0;
    for i in 0..writes + 2 {
        let mut o = target.clone();
        o.name = String::new();
        let req = api::CreateObservationRequest {
            parent: holding.name.clone(),
            observation_id: format!("bench-versions-{i}"),
            observation: Some(o),
        };
        let t = Instant::now();
        let reply = client.create_observation(authorized(req, None)?).await?;
        if i >= 2 {
            creation.push(t.elapsed().as_nanos() as u64);
        }
        newest = served(reply.metadata())?;
    }
    let old = newest.saturating_sub(100).max(1);
    let pinned = || api::GetHoldingRequest {
        name: holding.name.clone(),
        as_of: None,
    };
    let t = Instant::now();
    client.get_holding(authorized(pinned(), Some(old))?).await?;
    let pinned_first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut again = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let reply = client.get_holding(authorized(pinned(), Some(old))?).await?;
        anyhow::ensure!(
            served(reply.metadata())? == old,
            "answered from another version"
        );
        again.push(t.elapsed().as_nanos() as u64);
    }
    let other = newest.saturating_sub(150).max(1);
    let t = Instant::now();
    client
        .get_holding(authorized(pinned(), Some(other))?)
        .await?;
    let pinned_other_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss_after_mb = memory_mb(server.pid(), "VmRSS").unwrap_or(f64::NAN);
    drop(client);
    server.stop(Duration::from_secs(10)).await?;
    let result = VersionsResult {
        observations: total_observations,
        what,
        server_start_s: started.as_secs_f64(),
        server_rss_mb,
        correction: Latency::from_nanos(&mut correction),
        creation: Latency::from_nanos(&mut creation),
        pinned_first_ms,
        pinned_other_ms,
        pinned_again: Latency::from_nanos(&mut again),
        rss_after_mb,
    };
    eprintln!(
        "[versions] {total_observations} observations: correction median {:.2} ms p99 {:.2} ms; \
         creation median {:.2} ms; pinned read first {:.1} ms, then {:.2} ms, another version {:.1} ms; RSS after {:.0} MB",
        result.correction.p50_us / 1e3,
        result.correction.p99_us / 1e3,
        result.creation.p50_us / 1e3,
        result.pinned_first_ms,
        result.pinned_again.p50_us / 1e3,
        result.pinned_other_ms,
        result.rss_after_mb
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(result)
}
