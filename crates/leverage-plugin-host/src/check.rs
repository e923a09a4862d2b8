//! `leverage plugin check PATH`: load one plugin exactly as the server would, describe it, score
//! sample rows, and collect every problem.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use leverage_plugin_api::PluginMetadata;

use crate::error::{BuildInfo, RefuseReason, RowError};
use crate::hash::FileHash;
use crate::inprocess::{self, InProcess};
use crate::load::{LoadRequest, default_copy_dir, owned_catalog};
use crate::plugin::{Limits, Plugin};
use crate::sandbox::{SandboxOptions, WorkerCommand};
use crate::scored::{RowView, Scored};

/// What to check a plugin with.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Configuration text for the instance.
    pub config: String,
    /// Sample scenarios, row-major, as wide as the catalog.
    pub sample_rows: Vec<f64>,
    /// How long one scoring call may take.
    pub deadline: Duration,
    /// The sandbox worker command, for the pre-load check the server makes
    /// ([`SandboxOptions::preload_check`]): the file is loaded first in a worker process, and a
    /// file that crashes the loader is reported ("crashed the loader (signal 11)") instead of
    /// killing this process. `leverage plugin check` passes its own binary
    /// (`leverage plugin-worker`). Default `None`: the file is loaded directly, after the checks
    /// of its structure only (for callers without a worker binary).
    pub worker_command: Option<WorkerCommand>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            config: String::new(),
            sample_rows: Vec::new(),
            deadline: Duration::from_secs(5),
            worker_command: None,
        }
    }
}

/// Everything found about one plugin file.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The file checked.
    pub path: PathBuf,
    /// How it was built, if its header could be read.
    pub build: Option<BuildInfo>,
    /// Its metadata, if it could be read and is valid.
    pub metadata: Option<Arc<PluginMetadata>>,
    /// Why the server would refuse it, if it would.
    pub refusal: Option<RefuseReason>,
    /// The result of each sample row.
    pub samples: Scored,
    /// Every problem, one sentence each.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether the server would load the plugin and every sample scored cleanly,
    /// deterministically and the same in a batch as alone.
    pub fn is_acceptable(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Loads `path` like the server (checks of the file's structure, private copy, the pre-load
/// check in a worker process when `options.worker_command` is set, header, layout, panic
/// strategy, metadata, inputs against `catalog`, configuration), then scores the sample rows twice as a batch and once row
/// by row, each call bounded by the deadline.
pub fn check_plugin(path: &Path, catalog: &[&str], options: &CheckOptions) -> CheckReport {
    let mut report = CheckReport {
        path: path.to_path_buf(),
        build: None,
        metadata: None,
        refusal: None,
        samples: Scored::default(),
        problems: Vec::new(),
    };
    let catalog = match owned_catalog(catalog) {
        Ok(catalog) => catalog,
        Err(error) => {
            report.problems.push(error.to_string());
            return report;
        }
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            report
                .problems
                .push(format!("cannot read {}: {error}", path.display()));
            return report;
        }
    };
    let limits = Limits {
        max_panics: u32::MAX,
        max_stuck_calls: u32::MAX,
    };
    let config_for = |_: &str| options.config.clone();
    let sandbox = SandboxOptions {
        worker_command: options.worker_command.clone(),
        ..SandboxOptions::default()
    };
    let request = LoadRequest {
        path,
        bytes: &bytes,
        hash: FileHash::of(&bytes),
        catalog: &catalog,
        config_for: &config_for,
        limits,
        copy_dir: &default_copy_dir(),
    };
    let plugin = match inprocess::load(&request, &sandbox) {
        Ok((plugin, backend)) => (Arc::new(plugin), Arc::new(backend)),
        Err(failure) => {
            report.build = failure.build;
            report.metadata = failure.metadata.map(Arc::new);
            match &failure.reason {
                RefuseReason::BadMetadata { problems } => {
                    report
                        .problems
                        .extend(problems.iter().map(|p| format!("metadata: {p}")));
                }
                reason => report.problems.push(reason.to_string()),
            }
            report.refusal = Some(failure.reason);
            return report;
        }
    };
    report.build = Some(plugin.0.build.clone());
    report.metadata = Some(Arc::clone(&plugin.0.metadata));

    let catalog_width = catalog.len();
    if options.sample_rows.is_empty() || !options.sample_rows.len().is_multiple_of(catalog_width) {
        report.problems.push(format!(
            "no scoring was checked: {} sample values is not a positive multiple of the {catalog_width} catalog inputs",
            options.sample_rows.len()
        ));
        return report;
    }
    let n_rows = options.sample_rows.len() / catalog_width;
    let rows = Arc::new(with_own_inputs(
        &options.sample_rows,
        catalog_width,
        &plugin.0.metadata,
    ));
    let width = catalog_width + plugin.0.metadata.own_inputs.len();

    let Some(first) = run(
        &plugin,
        &rows,
        width,
        0,
        n_rows,
        options.deadline,
        &mut report,
    ) else {
        return report;
    };
    for (row, result) in first.iter().enumerate() {
        if let Err(error) = result {
            report.problems.push(format!("sample row {row}: {error}"));
        }
    }
    if let Some(second) = run(
        &plugin,
        &rows,
        width,
        0,
        n_rows,
        options.deadline,
        &mut report,
    ) {
        for row in differing_rows(first.iter(), second.iter()) {
            report.problems.push(format!(
                "sample row {row}: two identical calls gave different results (not deterministic)"
            ));
        }
    }
    for row in 0..n_rows {
        let Some(alone) = run(&plugin, &rows, width, row, 1, options.deadline, &mut report) else {
            break;
        };
        if !differing_rows(first.iter().skip(row).take(1), alone.iter()).is_empty() {
            report.problems.push(format!(
                "sample row {row}: scored alone it differs from the same row in a batch"
            ));
        }
    }
    report.samples = first;
    report
}

/// The sample rows widened with values for the plugin's own inputs: from each input's minimum
/// in the first row to its maximum in the last, so that the samples cover the declared range.
fn with_own_inputs(rows: &[f64], catalog_width: usize, metadata: &PluginMetadata) -> Vec<f64> {
    let n_rows = rows.len() / catalog_width;
    let own = &metadata.own_inputs;
    let mut out = Vec::with_capacity(n_rows * (catalog_width + own.len()));
    for (k, row) in rows.chunks_exact(catalog_width).enumerate() {
        out.extend_from_slice(row);
        let t = if n_rows > 1 {
            k as f64 / (n_rows - 1) as f64
        } else {
            0.5
        };
        out.extend(own.iter().map(|i| i.min + (i.max - i.min) * t));
    }
    out
}

/// Scores rows `start..start + n` on a thread of its own, bounded by `deadline`.
fn run(
    (plugin, backend): &(Arc<Plugin>, Arc<InProcess>),
    rows: &Arc<Vec<f64>>,
    width: usize,
    start: usize,
    n: usize,
    deadline: Duration,
    report: &mut CheckReport,
) -> Option<Scored> {
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let spawned = {
        let (plugin, backend) = (Arc::clone(plugin), Arc::clone(backend));
        let (rows, cancel) = (Arc::clone(rows), Arc::clone(&cancel));
        std::thread::Builder::new()
            .name("leverage-plugin-check".to_owned())
            .spawn(move || {
                let slice = &rows[start * width..(start + n) * width];
                let (result, _instance) = backend.execute(&plugin, None, slice, n, &cancel);
                let _ = tx.send(result);
            })
    };
    if let Err(error) = spawned {
        report
            .problems
            .push(format!("cannot start a thread: {error}"));
        return None;
    }
    match rx.recv_timeout(deadline) {
        Ok(Ok(results)) => Some(results),
        Ok(Err(error)) => {
            report
                .problems
                .push(format!("scoring {n} sample row(s) failed: {error}"));
            None
        }
        Err(_) => {
            cancel.store(true, Ordering::Release);
            report.problems.push(format!(
                "scoring {n} sample row(s) did not finish within {deadline:?} (the cancel flag is now set)"
            ));
            None
        }
    }
}

/// Rows whose score or components differ bit for bit (or whose outcome differs).
fn differing_rows<'a>(
    a: impl Iterator<Item = Result<RowView<'a>, &'a RowError>>,
    b: impl Iterator<Item = Result<RowView<'a>, &'a RowError>>,
) -> Vec<usize> {
    a.zip(b)
        .enumerate()
        .filter(|(_, (x, y))| match (x, y) {
            (Ok(x), Ok(y)) => {
                x.score.to_bits() != y.score.to_bits()
                    || x.components().len() != y.components().len()
                    || x.components()
                        .iter()
                        .zip(y.components().iter())
                        .any(|(p, q)| p.to_bits() != q.to_bits())
            }
            (Err(x), Err(y)) => x != y,
            _ => true,
        })
        .map(|(row, _)| row)
        .collect()
}

/// Whether a plugin carries a model card, in a line: its size and title, or a warning. No card
/// is not a problem (plugins of ABI 1.0 and 1.1 cannot carry one), but analysts read the card
/// to know what a score means, so its absence is said.
pub fn model_card_summary(card: &str) -> String {
    if card.trim().is_empty() {
        return "none (warning: analysts see no model card; implement ScoringPlugin::model_card, \
                see docs/writing-a-plugin.md)"
            .to_owned();
    }
    let title = card
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .trim_start_matches('#')
        .trim();
    format!(
        "present, {} lines, {} bytes: \"{title}\"",
        card.lines().count(),
        card.len()
    )
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plugin file: {}", self.path.display())?;
        if let Some(build) = &self.build {
            writeln!(f, "built with:  {build}")?;
        }
        if let Some(m) = &self.metadata {
            writeln!(f, "id:          {} ({} {})", m.id, m.name, m.version)?;
            writeln!(f, "build id:    {}", m.build_id)?;
            writeln!(f, "about:       {}", m.description)?;
            writeln!(f, "model card:  {}", model_card_summary(&m.model_card))?;
            writeln!(f, "inputs:")?;
            for input in &m.inputs {
                writeln!(f, "  {} [{}]", input.name, input.unit)?;
            }
            if !m.own_inputs.is_empty() {
                writeln!(f, "own inputs (set by name in each scenario):")?;
                for i in &m.own_inputs {
                    let default = match i.default {
                        Some(value) => format!("default {value}"),
                        None => "required".to_owned(),
                    };
                    writeln!(
                        f,
                        "  {} [{}] in [{}, {}], {default}: {}",
                        i.name, i.unit, i.min, i.max, i.description
                    )?;
                }
            }
            writeln!(
                f,
                "score:       {} [{}] in [{}, {}]",
                m.score.name, m.score.unit, m.score.min, m.score.max
            )?;
            writeln!(f, "components:")?;
            for c in &m.components {
                writeln!(
                    f,
                    "  {} [{}] in [{}, {}]: {}",
                    c.name, c.unit, c.min, c.max, c.description
                )?;
            }
            writeln!(f, "parameters:")?;
            for p in &m.parameters {
                writeln!(
                    f,
                    "  {} = {} [{}] in [{}, {}]: {}",
                    p.name, p.default, p.unit, p.min, p.max, p.description
                )?;
            }
        }
        if !self.samples.is_empty() {
            writeln!(f, "samples:")?;
            for (row, result) in self.samples.iter().enumerate() {
                match result {
                    Ok(score) => {
                        writeln!(f, "  row {row}: {} {:?}", score.score, score.components())?
                    }
                    Err(error) => writeln!(f, "  row {row}: error: {error}")?,
                }
            }
        }
        if self.is_acceptable() {
            writeln!(f, "result:      acceptable")
        } else {
            writeln!(
                f,
                "result:      NOT acceptable, {} problem(s):",
                self.problems.len()
            )?;
            for problem in &self.problems {
                writeln!(f, "  - {problem}")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model_card_summary;

    #[test]
    fn a_card_is_summed_up_by_its_title_and_its_absence_is_a_warning() {
        assert_eq!(
            model_card_summary("\n# Model A — model card\n\nText.\n"),
            "present, 4 lines, 33 bytes: \"Model A — model card\""
        );
        assert!(model_card_summary(" \n").starts_with("none (warning: "));
    }
}
