//! `leverage sweep`: one lever of a scenario, or one input the plugin declares itself, swept
//! over a range, on one server or split over several (`--servers`), printed as a table, JSON or
//! CSV, with progress and an optional SVG chart. Split or not, the output is the same.

mod chart;
mod points;

use std::io::{BufWriter, Stdout, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use serde_json::json;

use crate::client::scoring::{
    CallValues, axis_problems, get_plugin, input_values, named_values, plugin_name, problems,
    refuse,
};
use crate::client::{self, Compressed, Conn, Connection, ScenarioFile, table};
use chart::svg_chart;
use points::Points;

/// The levers `--lever` names.
pub const LEVERS: &str = "interest_rate_pct, sanctions_tightening, safe_takeup, \
                          defence_spending_gdp_pct, guarantee_sharing, horizon_years, participation";

/// What a sweep varies.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Plugin id, e.g. `pressure-index` (or `plugins/ID`, or a retained build `plugins/ID@BUILD`).
    #[arg(long)]
    plugin: String,
    /// Base scenario file (TOML).
    #[arg(long)]
    scenario: PathBuf,
    /// The lever to vary: interest_rate_pct, sanctions_tightening, safe_takeup,
    /// defence_spending_gdp_pct, guarantee_sharing, horizon_years or participation; or an input
    /// the plugin declares itself, by name (e.g. `escrow.share`).
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
    /// Split the sweep over these servers (comma-separated addresses, as --server takes one;
    /// replaces --server): server i scores the i-th of as many contiguous parts, all at one
    /// dataset version (--dataset-version, or the one the first server serves now), and the
    /// points are printed in order, exactly as one server would print them.
    #[arg(long, value_delimiter = ',')]
    servers: Vec<String>,
    /// Points per streamed message; 0 lets the server choose (1000).
    #[arg(long, default_value_t = 0)]
    chunk_size: i32,
    /// Print every point as CSV as it arrives: index, lever value, score, then each component,
    /// each number in the shortest form that reads back as the same value.
    #[arg(long)]
    csv: bool,
    #[command(flatten)]
    values: CallValues,
}

pub async fn sweep(c: &Connection, args: SweepArgs) -> anyhow::Result<()> {
    if args.csv && c.json {
        bail!("--csv and --json each choose how to print: give one");
    }
    // A lever's name has no `.`; any other name is an input the plugin declares.
    let lever = pb::Lever::from_str_name(&format!("LEVER_{}", args.lever.to_ascii_uppercase()))
        .filter(|l| *l != pb::Lever::Unspecified && !args.lever.contains('.'));
    let file = ScenarioFile::read(&args.scenario)?;
    let mut base = file.to_proto()?;
    let given = args.values.own_inputs(&file, &args.scenario)?;
    let name = plugin_name(&args.plugin);
    // The plugin's schema, from the server that scores (the first one, when split: the others
    // must run the same build, which opening their shards checks).
    let schema = match args.servers.first() {
        Some(server) => {
            let mut scoring = ScoringServiceClient::new(schema_connection(c, server).await?)
                .compressed(c.compression);
            get_plugin(&mut scoring, &name)
                .await
                .with_context(|| format!("{} (the first of --servers)", server.trim()))?
        }
        None => {
            get_plugin(
                &mut ScoringServiceClient::new(client::channel(c).await?).compressed(c.compression),
                &name,
            )
            .await?
        }
    };
    let swept = lever.is_none().then_some(args.lever.as_str());
    let mut found = problems(&schema, &given, &args.values.params, swept);
    if lever.is_none() {
        found.extend(axis_problems(&schema, &args.lever, args.from, args.to));
    }
    refuse(&schema, found)?;
    base.inputs = input_values(&given);
    let request = pb::SweepScenarioRequest {
        plugin: name,
        base: Some(base),
        axes: vec![pb::SweepAxis {
            lever: lever.map_or(0, |l| l as i32),
            input: if lever.is_some() {
                String::new()
            } else {
                args.lever.clone()
            },
            start: args.from,
            stop: args.to,
            steps: args.steps,
        }],
        chunk_size: args.chunk_size,
        parameters: args.values.parameters(),
        ..Default::default()
    };
    let mut points = if args.servers.is_empty() {
        Points::from_one_server(c, request).await?
    } else {
        Points::from_shards(c, &args.servers, request).await?
    };
    let grid = u64::try_from(args.steps).unwrap_or_default();
    let mut csv = args.csv.then(|| Csv::new(&args.lever));
    // The table, the JSON and the chart need every point before they start; CSV does not.
    let keep_pairs = !args.csv || args.plot.is_some();
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    let mut done: u64 = 0;
    let mut stderr = std::io::stderr();
    while let Some(chunk) = points.next().await? {
        if let Some(failed) = chunk.iter().find(|p| p.error.is_some()) {
            let why = failed.error.as_ref().map_or("", |e| e.message.as_str());
            bail!("point {} failed: {why}", failed.index);
        }
        if let Some(csv) = &mut csv {
            csv.write(points.component_names(), &chunk)
                .context("writing CSV")?;
        }
        if keep_pairs {
            pairs.extend(chunk.iter().map(|p| {
                let x = p.lever_values.first().copied().unwrap_or(f64::NAN);
                (x, p.score)
            }));
        }
        done += chunk.len() as u64;
        let _ = write!(
            stderr,
            "\rswept {done} of {grid} ({:.0}%)",
            100.0 * done as f64 / grid.max(1) as f64
        );
        let _ = stderr.flush();
    }
    let _ = writeln!(stderr);
    if let Some(used) = points.used() {
        let build = if used.plugin_build.is_empty() {
            String::new()
        } else {
            format!(" build {}", used.plugin_build)
        };
        let _ = writeln!(
            stderr,
            "scored by {}{build} with parameters {}",
            schema.name,
            if used.parameters.is_empty() {
                "(none)".to_owned()
            } else {
                named_values(&used.parameters)
            }
        );
    }
    if done != grid {
        bail!("the sweep ended after {done} of its {grid} points");
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, svg_chart(&pairs, &args.lever, &args.plugin))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    if let Some(csv) = csv {
        csv.finish().context("writing CSV")?;
    } else if c.json {
        let list: Vec<_> = pairs
            .iter()
            .map(|(x, y)| json!({"lever": x, "score": y}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        let body: Vec<Vec<String>> = pairs
            .iter()
            .map(|(x, y)| vec![format!("{x:.4}"), format!("{y:.3}")])
            .collect();
        table(&[&args.lever, "score"], &body);
    }
    Ok(())
}

/// A connection to `server`, one of `--servers`, with the caller's headers.
async fn schema_connection(c: &Connection, server: &str) -> anyhow::Result<Conn> {
    let endpoint = client::endpoint(server.trim()).context("--servers")?;
    client::connect(
        endpoint,
        server.trim(),
        c.headers(c.dataset_version)?,
        c.read_your_writes,
    )
    .await
}

/// Points as CSV rows on stdout, written as they arrive. Numbers are written with `Display`,
/// Rust's shortest decimal form that parses back to the same `f64`, so that two sweeps are
/// the same to the bit exactly when their CSV is the same.
struct Csv {
    out: BufWriter<Stdout>,
    lever: String,
    header_written: bool,
}

impl Csv {
    fn new(lever: &str) -> Self {
        Self {
            out: BufWriter::new(std::io::stdout()),
            lever: lever.to_owned(),
            header_written: false,
        }
    }

    fn write(
        &mut self,
        component_names: &[String],
        points: &[pb::SweepPoint],
    ) -> std::io::Result<()> {
        let out = &mut self.out;
        if !std::mem::replace(&mut self.header_written, true) {
            write!(out, "index,{},score", csv_cell(&self.lever))?;
            for name in component_names {
                write!(out, ",{}", csv_cell(name))?;
            }
            writeln!(out)?;
        }
        for p in points {
            write!(out, "{}", p.index)?;
            for value in &p.lever_values {
                write!(out, ",{value}")?;
            }
            write!(out, ",{}", p.score)?;
            for value in &p.components {
                write!(out, ",{value}")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A header cell, quoted (RFC 4180) when a plugin's component name needs it.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_cells_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_cell("fiscal_gain"), "fiscal_gain");
        assert_eq!(csv_cell("gain, net"), "\"gain, net\"");
        assert_eq!(csv_cell("the \"gain\""), "\"the \"\"gain\"\"\"");
    }
}
