//! `leverage sweep`: one lever of a scenario swept over a range, with progress, printed as a
//! table or JSON, with an optional SVG chart.

mod chart;

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use serde_json::json;
use tokio_stream::StreamExt;

use crate::client::{Connection, ScenarioFile, channel, explain, table};
use chart::svg_chart;

/// What a sweep varies.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Plugin id.
    #[arg(long)]
    plugin: String,
    /// Base scenario file (TOML).
    #[arg(long)]
    scenario: PathBuf,
    /// interest_rate_pct, sanctions_tightening, safe_takeup, defence_spending_gdp_pct,
    /// guarantee_sharing, horizon_years or participation.
    #[arg(long)]
    lever: String,
    #[arg(long)]
    from: f64,
    #[arg(long)]
    to: f64,
    #[arg(long, default_value_t = 51)]
    steps: i32,
    /// Write an SVG chart of the score against the lever.
    #[arg(long)]
    plot: Option<PathBuf>,
}

pub async fn sweep(c: &Connection, args: SweepArgs) -> anyhow::Result<()> {
    let lever = pb::Lever::from_str_name(&format!("LEVER_{}", args.lever.to_ascii_uppercase()))
        .filter(|l| *l != pb::Lever::Unspecified)
        .with_context(|| format!("--lever {}", args.lever))?;
    let base = ScenarioFile::read(&args.scenario)?.to_proto()?;
    let mut client = ScoringServiceClient::new(channel(c).await?);
    let mut stream = client
        .sweep_scenario(pb::SweepScenarioRequest {
            plugin: format!("plugins/{}", args.plugin),
            base: Some(base),
            axes: vec![pb::SweepAxis {
                lever: lever as i32,
                start: args.from,
                stop: args.to,
                steps: args.steps,
            }],
            chunk_size: 0,
            ..Default::default()
        })
        .await
        .map_err(explain)?
        .into_inner();
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut stderr = std::io::stderr();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(explain)?;
        for p in chunk.points {
            if let Some(e) = p.error {
                bail!("point {} failed: {}", p.index, e.message);
            }
            points.push((p.lever_values.first().copied().unwrap_or(f64::NAN), p.score));
        }
        if let Some(progress) = chunk.progress {
            let _ = write!(
                stderr,
                "\rswept {} of {} ({:.0}%)",
                progress.done,
                progress.total,
                100.0 * progress.done as f64 / progress.total.max(1) as f64
            );
            let _ = stderr.flush();
        }
    }
    let _ = writeln!(stderr);
    if let Some(path) = &args.plot {
        std::fs::write(path, svg_chart(&points, &args.lever, &args.plugin))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    if c.json {
        let list: Vec<_> = points
            .iter()
            .map(|(x, y)| json!({"lever": x, "score": y}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        let body: Vec<Vec<String>> = points
            .iter()
            .map(|(x, y)| vec![format!("{x:.4}"), format!("{y:.3}")])
            .collect();
        table(&[&args.lever, "score"], &body);
    }
    Ok(())
}
