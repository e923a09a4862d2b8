//! One loaded version of a plugin, whichever way it runs: its metadata and resolved inputs, its
//! health (panics, crashes, stuck calls, disabled), and the checks of every call's request and
//! outputs. The backends (`inprocess`, `sandbox`) build on this; it knows nothing of them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use leverage_plugin_api::PluginMetadata;
use leverage_plugin_api::abi::status;
use leverage_plugin_api::info::ComponentInfo;

use crate::error::{BuildInfo, HostError, RefuseReason, RowError};
use crate::hash::FileHash;
use crate::scored::Scored;
use crate::sync::lock;

/// Bytes the host lends a plugin for one error message.
pub(crate) const ERROR_CAPACITY: usize = 1024;

/// Is the plugin usable?
#[derive(Clone, Debug, PartialEq)]
pub enum PluginState {
    /// Loaded and accepting calls.
    Ready,
    /// Loaded but refusing calls until it is replaced by a reload.
    Disabled {
        /// Why (panics, stuck calls).
        reason: String,
    },
    /// Not loaded.
    Refused {
        /// Why.
        reason: RefuseReason,
    },
}

/// Limits that disable a misbehaving plugin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_panics: u32,
    pub(crate) max_stuck_calls: u32,
}

#[derive(Debug, Default)]
struct Health {
    disabled: Option<String>,
    panics: u32,
    crashes: u32,
}

/// One loaded version of a plugin.
#[derive(Debug)]
pub(crate) struct Plugin {
    pub(crate) path: PathBuf,
    /// The file's hash, which names the build.
    pub(crate) hash: FileHash,
    pub(crate) build: BuildInfo,
    pub(crate) metadata: Arc<PluginMetadata>,
    /// For each declared input, its column in a request row: the catalog inputs' columns in the
    /// catalog, then the plugin's own inputs, which follow the catalog in each row.
    input_columns: Vec<usize>,
    /// The declared bounds of the score, then of each component, repeated for
    /// `CHECKED_TOGETHER` rows: a batch is checked a block of rows at a time, as one plain loop
    /// over three slices of the same length, which the compiler turns into vector code.
    output_min: Vec<f64>,
    output_max: Vec<f64>,
    /// Values per request row: the catalog, then the plugin's own inputs.
    row_width: usize,
    limits: Limits,
    health: Mutex<Health>,
    /// Mirrors `health.disabled.is_some()`, so that calls need no lock to know.
    disabled: AtomicBool,
    stuck_calls: StuckCalls,
}

/// Calls abandoned while running that have not returned yet. The two sides race: the worker
/// may see its call abandoned and report it ended before the abandoning side counts it as
/// stuck, so the count can dip below zero for a moment (a CI run caught an unsigned counter
/// overflowing there). Signed, the two orders give the same total.
#[derive(Debug, Default)]
struct StuckCalls(AtomicI64);

impl StuckCalls {
    /// Counts one more stuck call; returns how many are stuck now.
    fn stuck(&self) -> i64 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }

    fn ended(&self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Rows whose outputs are checked in one loop (see `Plugin::output_min`).
const CHECKED_TOGETHER: usize = 8;

/// One bound of the score and of each component, for `CHECKED_TOGETHER` rows.
fn repeated_bounds(metadata: &PluginMetadata, bound: impl Fn(&ComponentInfo) -> f64) -> Vec<f64> {
    let row: Vec<f64> = std::iter::once(&metadata.score)
        .chain(&metadata.components)
        .map(bound)
        .collect();
    row.repeat(CHECKED_TOGETHER)
}

/// The namespace of an input name: what comes before its first `.`, or the whole name.
fn namespace(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Resolves each declared input to its column in a request row: catalog inputs to their
/// column in the catalog, the plugin's own inputs to the columns after it. Own inputs must keep
/// out of the catalog's namespaces, so that the catalog can grow without meeting a plugin's name.
pub(crate) fn resolve_inputs(
    metadata: &PluginMetadata,
    catalog: &[String],
) -> Result<Vec<usize>, RefuseReason> {
    let mut reserved: Vec<String> = Vec::new();
    for name in catalog {
        let space = namespace(name);
        if !reserved.iter().any(|r| r == space) {
            reserved.push(space.to_owned());
        }
    }
    let trespassing: Vec<String> = metadata
        .own_inputs
        .iter()
        .filter(|input| reserved.iter().any(|r| r == namespace(&input.name)))
        .map(|input| input.name.clone())
        .collect();
    if !trespassing.is_empty() {
        return Err(RefuseReason::OwnInputInCatalogNamespace {
            names: trespassing,
            reserved,
        });
    }
    let mut columns = Vec::with_capacity(metadata.input_width());
    let mut unknown = Vec::new();
    for input in &metadata.inputs {
        match catalog.iter().position(|name| *name == input.name) {
            Some(column) => columns.push(column),
            None => unknown.push(input.name.clone()),
        }
    }
    if unknown.is_empty() {
        columns.extend(catalog.len()..catalog.len() + metadata.own_inputs.len());
        Ok(columns)
    } else {
        Err(RefuseReason::UnknownInputs {
            unknown,
            known: catalog.to_vec(),
        })
    }
}

impl Plugin {
    /// A plugin whose file at `path` has `hash`, built as `build` and described by
    /// `metadata`, with its inputs resolved against `catalog`.
    pub(crate) fn new(
        path: PathBuf,
        hash: FileHash,
        build: BuildInfo,
        metadata: Arc<PluginMetadata>,
        catalog: &[String],
        limits: Limits,
    ) -> Result<Plugin, RefuseReason> {
        Ok(Plugin {
            path,
            hash,
            build,
            input_columns: resolve_inputs(&metadata, catalog)?,
            output_min: repeated_bounds(&metadata, |spec| spec.min),
            output_max: repeated_bounds(&metadata, |spec| spec.max),
            row_width: catalog.len() + metadata.own_inputs.len(),
            metadata,
            limits,
            health: Mutex::new(Health::default()),
            disabled: AtomicBool::new(false),
            stuck_calls: StuckCalls::default(),
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.metadata.id
    }

    pub(crate) fn state(&self) -> PluginState {
        match &lock(&self.health).disabled {
            Some(reason) => PluginState::Disabled {
                reason: reason.clone(),
            },
            None => PluginState::Ready,
        }
    }

    pub(crate) fn panics(&self) -> u32 {
        lock(&self.health).panics
    }

    pub(crate) fn crashes(&self) -> u32 {
        lock(&self.health).crashes
    }

    /// Number of inputs the plugin reads per row.
    pub(crate) fn n_inputs(&self) -> usize {
        self.input_columns.len()
    }

    /// Appends the declared columns of `n_rows` request rows to `out`, row by row.
    pub(crate) fn gather(&self, rows: &[f64], n_rows: usize, out: &mut Vec<f64>) {
        out.reserve(n_rows * self.input_columns.len());
        for row in rows.chunks_exact(self.row_width.max(1)).take(n_rows) {
            out.extend(self.input_columns.iter().map(|&column| row[column]));
        }
    }

    /// Whether the plugin was disabled (its backend then releases what it keeps for calls).
    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Acquire)
    }

    /// Fails if the plugin is disabled.
    pub(crate) fn ensure_ready(&self) -> Result<(), HostError> {
        if !self.disabled.load(Ordering::Acquire) {
            return Ok(());
        }
        match &lock(&self.health).disabled {
            Some(reason) => Err(HostError::Disabled {
                id: self.id().to_owned(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Checks that `rows` holds `n_rows` request rows (the catalog, then the own inputs).
    pub(crate) fn check_request(&self, rows: &[f64], n_rows: usize) -> Result<(), HostError> {
        if n_rows.checked_mul(self.row_width) != Some(rows.len()) {
            return Err(HostError::InvalidRequest(format!(
                "{} values for {n_rows} rows of {} catalog inputs and {} of the plugin's own",
                rows.len(),
                self.row_width - self.metadata.own_inputs.len(),
                self.metadata.own_inputs.len()
            )));
        }
        Ok(())
    }

    /// The error of a call for which no instance could be created.
    pub(crate) fn create_failed(&self, status: i32, message: String) -> HostError {
        HostError::PluginFailed {
            id: self.id().to_owned(),
            status,
            message: format!("could not create an instance: {message}"),
        }
    }

    /// What a call that returned `code` means: checked rows, or the error (a panic is recorded).
    /// `outputs` becomes the rows' buffer, so it is taken rather than copied.
    pub(crate) fn outcome(
        &self,
        code: i32,
        message: String,
        outputs: Vec<f64>,
        row_status: &[i32],
    ) -> Result<Scored, HostError> {
        match code {
            status::OK => Ok(self.collect(outputs, row_status, message)),
            status::CANCELLED => Err(HostError::Cancelled {
                id: self.id().to_owned(),
            }),
            status::PANIC => Err(self.record_panic(message)),
            other => Err(HostError::PluginFailed {
                id: self.id().to_owned(),
                status: other,
                message,
            }),
        }
    }

    /// Turns statuses and outputs into rows, checking every value.
    fn collect(&self, outputs: Vec<f64>, row_status: &[i32], message: String) -> Scored {
        let width = self.metadata.output_width();
        let rows = row_status.len().min(outputs.len() / width);
        if self.all_clean(&outputs[..rows * width], &row_status[..rows]) {
            return Scored::new(outputs, width, rows, Vec::new());
        }
        let mut errors = Vec::new();
        let mut message = Some(message);
        let mut first_failed = None;
        for (row, (&code, row_values)) in row_status
            .iter()
            .zip(outputs.chunks_exact(width))
            .enumerate()
        {
            let error = match code {
                status::OK => match self.check_outputs(row_values) {
                    Ok(()) => continue,
                    Err(error) => error,
                },
                // Rows are visited in order, so the first failing row seen is the lowest, the
                // one the plugin's message is about.
                status::ERROR => RowError::Plugin {
                    message: match message.take() {
                        Some(message) => {
                            first_failed = Some(row);
                            message
                        }
                        None => format!(
                            "(no message: the plugin reports the message of the lowest failing \
                             row only, row {})",
                            first_failed.unwrap_or(row)
                        ),
                    },
                },
                status::NOT_RUN => RowError::NotRun,
                other => RowError::UnknownStatus { status: other },
            };
            errors.push((row, error));
        }
        Scored::new(outputs, width, rows, errors)
    }

    /// Whether every row succeeded with every value finite and within its declared range: the
    /// usual case, decided without a branch per value; only a batch with a failing row is walked
    /// row by row to say which failed and why.
    fn all_clean(&self, outputs: &[f64], row_status: &[i32]) -> bool {
        let statuses_ok = row_status
            .iter()
            .fold(true, |ok, &code| ok & (code == status::OK));
        if !statuses_ok {
            return false;
        }
        let (min, max) = (&self.output_min[..], &self.output_max[..]);
        let mut blocks = outputs.chunks_exact(min.len());
        let mut ok = true;
        for block in &mut blocks {
            ok &= within(block, min, max);
        }
        // Blocks start at a row, so the last, shorter one lines up with the bounds' start.
        let rest = blocks.remainder();
        ok & within(rest, &min[..rest.len()], &max[..rest.len()])
    }

    /// The bounds of one row, for the per-row check of a failing batch.
    fn row_bounds(&self) -> impl Iterator<Item = (&f64, &f64)> {
        let width = self.metadata.output_width();
        self.output_min[..width]
            .iter()
            .zip(&self.output_max[..width])
    }

    /// Checks one row's score and components: finite, within the declared ranges.
    fn check_outputs(&self, row_values: &[f64]) -> Result<(), RowError> {
        for (i, (&value, (&min, &max))) in row_values.iter().zip(self.row_bounds()).enumerate() {
            // The declared bounds are finite, so this also rules out NaN and the infinities.
            if value >= min && value <= max {
                continue;
            }
            let spec = match i {
                0 => &self.metadata.score,
                _ => &self.metadata.components[i - 1],
            };
            let name = spec.name.clone();
            return Err(if value.is_finite() {
                RowError::OutOfRange {
                    name,
                    value,
                    min,
                    max,
                }
            } else {
                RowError::NotFinite { name, value }
            });
        }
        Ok(())
    }

    /// Counts a panic or a worker crash; returns (failures so far, whether this one disabled
    /// the plugin).
    fn record_failure(&self, crash: bool, message: &str) -> (u32, bool) {
        let mut health = lock(&self.health);
        if crash {
            health.crashes += 1;
        } else {
            health.panics += 1;
        }
        let (panics, crashes) = (health.panics, health.crashes);
        let failures = panics + crashes;
        let max = self.limits.max_panics;
        let disabled = failures >= max && health.disabled.is_none();
        if disabled {
            let what = match (panics, crashes) {
                (panics, 0) => format!("panicked {panics} times"),
                (0, crashes) => format!("crashed its sandbox worker {crashes} times"),
                (panics, crashes) => {
                    format!(
                        "panicked {panics} times and crashed its sandbox worker {crashes} times"
                    )
                }
            };
            health.disabled = Some(format!("{what} (limit {max}); last: {message}"));
            self.disabled.store(true, Ordering::Release);
        }
        drop(health);
        if disabled {
            tracing::error!(plugin = self.id(), "plugin disabled");
        }
        (failures, disabled)
    }

    fn record_panic(&self, message: String) -> HostError {
        let (panics, disabled) = self.record_failure(false, &message);
        let max_panics = self.limits.max_panics;
        tracing::warn!(plugin = self.id(), panics, max_panics, %message, "plugin panicked; instance dropped");
        HostError::Panicked {
            id: self.id().to_owned(),
            message,
            panics,
            max_panics,
            disabled,
        }
    }

    /// A sandbox worker died during a call (or broke the protocol and was killed).
    pub(crate) fn record_crash(&self, detail: String) -> HostError {
        let (failures, disabled) = self.record_failure(true, &detail);
        let max_failures = self.limits.max_panics;
        tracing::warn!(plugin = self.id(), failures, max_failures, %detail, "sandboxed plugin crashed its worker");
        HostError::WorkerCrashed {
            id: self.id().to_owned(),
            detail,
            failures,
            max_failures,
            disabled,
        }
    }

    /// A call was abandoned while running: its instance may be stuck (it will be destroyed, not
    /// reused, when the call returns). Too many at once disables the plugin; returns whether this
    /// one did.
    pub(crate) fn note_stuck_call(&self) -> bool {
        let stuck = self.stuck_calls.stuck();
        let limit = self.limits.max_stuck_calls;
        tracing::warn!(
            plugin = self.id(),
            stuck,
            limit,
            "plugin call abandoned while running"
        );
        if stuck >= i64::from(limit) {
            let mut health = lock(&self.health);
            if health.disabled.is_none() {
                health.disabled = Some(format!(
                    "{stuck} calls are still running after being abandoned (limit {limit}): the \
                     plugin does not honour the cancel flag"
                ));
                self.disabled.store(true, Ordering::Release);
                drop(health);
                tracing::error!(plugin = self.id(), "plugin disabled");
                return true;
            }
        }
        false
    }

    /// An abandoned call finally returned.
    pub(crate) fn stuck_call_ended(&self) {
        self.stuck_calls.ended();
    }
}

/// Whether every value lies within its bounds. The declared bounds are finite, so NaN and the
/// infinities fail too. No early exit: a branch per value would cost more than it saves.
fn within(values: &[f64], min: &[f64], max: &[f64]) -> bool {
    values
        .iter()
        .zip(min)
        .zip(max)
        .fold(true, |ok, ((&value, &min), &max)| {
            ok & (value >= min) & (value <= max)
        })
}

/// A plugin with no inputs and `n` components, each in [0, 1], disabled at its first panic or
/// stuck call.
#[cfg(test)]
pub(crate) fn for_tests(n: usize) -> Plugin {
    let score = leverage_plugin_api::info::ComponentInfo {
        name: "score".to_owned(),
        unit: String::new(),
        description: String::new(),
        min: 0.0,
        max: 1.0,
    };
    let metadata = PluginMetadata {
        id: "m".to_owned(),
        name: "m".to_owned(),
        version: "1".to_owned(),
        description: String::new(),
        build_id: String::new(),
        inputs: Vec::new(),
        own_inputs: Vec::new(),
        components: (0..n)
            .map(|i| leverage_plugin_api::info::ComponentInfo {
                name: format!("c{i}"),
                ..score.clone()
            })
            .collect(),
        score,
        parameters: Vec::new(),
        model_card: String::new(),
    };
    let build = BuildInfo {
        abi_major: 1,
        abi_minor: 0,
        api_version: String::new(),
        rustc_version: String::new(),
        panic_strategy: leverage_plugin_api::abi::PANIC_UNWIND,
    };
    let limits = Limits {
        max_panics: 1,
        max_stuck_calls: 1,
    };
    Plugin::new(
        "m.so".into(),
        FileHash::of(b""),
        build,
        Arc::new(metadata),
        &[],
        limits,
    )
    .expect("no inputs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_plugin_api::info::{ComponentInfo, InputInfo};

    fn metadata(inputs: &[&str]) -> PluginMetadata {
        let component = ComponentInfo {
            name: "score".to_owned(),
            unit: String::new(),
            description: String::new(),
            min: 0.0,
            max: 1.0,
        };
        PluginMetadata {
            id: "m".to_owned(),
            name: "m".to_owned(),
            version: "1".to_owned(),
            description: String::new(),
            build_id: String::new(),
            inputs: inputs
                .iter()
                .map(|name| InputInfo {
                    name: (*name).to_owned(),
                    unit: String::new(),
                })
                .collect(),
            own_inputs: Vec::new(),
            components: Vec::new(),
            score: component,
            parameters: Vec::new(),
            model_card: String::new(),
        }
    }

    #[test]
    fn a_stuck_call_that_ends_before_it_is_counted_leaves_the_count_right() {
        let calls = StuckCalls::default();
        // The worker's report comes first, then the abandoning side's count.
        calls.ended();
        assert_eq!(calls.stuck(), 0, "nothing is stuck");
        // The usual order.
        assert_eq!(calls.stuck(), 1);
        calls.ended();
        assert_eq!(calls.stuck(), 1);
    }

    #[test]
    fn rows_keep_their_components_however_many_there_are() {
        for n in [0, 2, 9] {
            let plugin = crate::plugin::for_tests(n);
            let width = n + 1;
            let outputs: Vec<f64> = (0..2 * width).map(|i| i as f64 / 100.0).collect();
            let rows = plugin
                .outcome(status::OK, String::new(), outputs.clone(), &[status::OK; 2])
                .expect("scored");
            assert_eq!(rows.len(), 2);
            for (row, result) in rows.iter().enumerate() {
                let score = result.expect("in range");
                assert_eq!(score.score, outputs[row * width]);
                assert_eq!(
                    score.components(),
                    &outputs[row * width + 1..(row + 1) * width]
                );
            }
        }
    }

    #[test]
    fn every_output_is_checked_against_its_own_range() {
        let plugin = crate::plugin::for_tests(7);
        let width = 8;
        let mut outputs = vec![0.5; 4 * width];
        outputs[width + 3] = 1.5;
        outputs[2 * width] = f64::NAN;
        outputs[4 * width - 1] = f64::NEG_INFINITY;
        let scored = plugin
            .outcome(status::OK, String::new(), outputs, &[status::OK; 4])
            .expect("called");
        let rows: Vec<_> = scored.iter().collect();
        assert!(rows[0].is_ok());
        assert_eq!(
            rows[1],
            Err(&RowError::OutOfRange {
                name: "c2".to_owned(),
                value: 1.5,
                min: 0.0,
                max: 1.0
            })
        );
        assert!(matches!(rows[2], Err(RowError::NotFinite { name, .. }) if name == "score"));
        assert!(matches!(rows[3], Err(RowError::NotFinite { name, .. }) if name == "c6"));
    }

    #[test]
    fn a_bad_value_is_found_wherever_it_falls_among_the_blocks_checked_together() {
        let plugin = crate::plugin::for_tests(2);
        let width = 3;
        for rows in [
            1,
            CHECKED_TOGETHER - 1,
            CHECKED_TOGETHER,
            2 * CHECKED_TOGETHER + 3,
        ] {
            for bad in 0..rows * width {
                let mut outputs = vec![0.5; rows * width];
                outputs[bad] = if bad % 2 == 0 { -0.5 } else { f64::NAN };
                let scored = plugin
                    .outcome(status::OK, String::new(), outputs, &vec![status::OK; rows])
                    .expect("called");
                let failed: Vec<usize> = scored.errors().iter().map(|(row, _)| *row).collect();
                assert_eq!(failed, [bad / width], "{rows} rows, value {bad} bad");
            }
        }
    }

    #[test]
    fn only_the_lowest_failing_row_carries_the_plugins_message() {
        let plugin = crate::plugin::for_tests(1);
        let outputs = vec![0.5; 10];
        let statuses = [
            status::OK,
            status::ERROR,
            status::NOT_RUN,
            status::ERROR,
            77,
        ];
        let scored = plugin
            .outcome(status::OK, "row 1 is bad".to_owned(), outputs, &statuses)
            .expect("called");
        let rows: Vec<_> = scored.iter().collect();
        assert_eq!(rows.len(), 5);
        assert!(rows[0].is_ok());
        assert_eq!(
            rows[1],
            Err(&RowError::Plugin {
                message: "row 1 is bad".to_owned()
            })
        );
        assert_eq!(rows[2], Err(&RowError::NotRun));
        assert!(matches!(rows[3], Err(RowError::Plugin { message }) if message.contains("row 1")));
        assert_eq!(rows[4], Err(&RowError::UnknownStatus { status: 77 }));
        assert_eq!(scored.errors().len(), 4);
    }

    #[test]
    fn inputs_resolve_to_catalog_columns_in_declared_order() {
        let catalog = ["x".to_owned(), "y".to_owned(), "z".to_owned()];
        assert_eq!(
            resolve_inputs(&metadata(&["z", "x"]), &catalog),
            Ok(vec![2, 0])
        );
    }

    #[test]
    fn unknown_inputs_are_listed_with_the_whole_catalog() {
        let catalog = ["x".to_owned()];
        assert_eq!(
            resolve_inputs(&metadata(&["x", "q", "r"]), &catalog),
            Err(RefuseReason::UnknownInputs {
                unknown: vec!["q".to_owned(), "r".to_owned()],
                known: vec!["x".to_owned()],
            })
        );
    }

    fn own(name: &str) -> leverage_plugin_api::info::OwnInputInfo {
        leverage_plugin_api::info::OwnInputInfo {
            name: name.to_owned(),
            unit: String::new(),
            description: String::new(),
            min: 0.0,
            max: 1.0,
            default: None,
        }
    }

    #[test]
    fn own_inputs_take_the_columns_after_the_catalog_in_declared_order() {
        let catalog = ["lever.a".to_owned(), "pool.b".to_owned()];
        let mut m = metadata(&["pool.b"]);
        m.own_inputs = vec![own("escrow.share"), own("cap")];
        assert_eq!(resolve_inputs(&m, &catalog), Ok(vec![1, 2, 3]));
    }

    #[test]
    fn own_inputs_in_a_catalog_namespace_are_refused_with_the_namespaces() {
        let catalog = [
            "lever.a".to_owned(),
            "pool.b".to_owned(),
            "plain".to_owned(),
        ];
        let mut m = metadata(&[]);
        m.own_inputs = vec![own("lever.oil_cap"), own("escrow.share"), own("plain.x")];
        let refused = resolve_inputs(&m, &catalog);
        assert_eq!(
            refused,
            Err(RefuseReason::OwnInputInCatalogNamespace {
                names: vec!["lever.oil_cap".to_owned(), "plain.x".to_owned()],
                reserved: vec!["lever".to_owned(), "pool".to_owned(), "plain".to_owned()],
            })
        );
        let said = refused.unwrap_err().to_string();
        assert!(
            said.contains("`lever.oil_cap`, `plain.x`") && said.contains("lever, pool, plain"),
            "{said}"
        );
    }
}
