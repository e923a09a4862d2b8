//! Part 2: the plugin boundary. The pressure-index model three ways, on the same scenarios:
//!
//! * natively: the rlib linked into this binary, `ScoringPlugin::score` in a loop;
//! * the raw C-ABI crossing: the `.so` opened with libloading here, its entry symbol looked
//!   up, `score_batch` of its vtable called directly with the model's own columns already
//!   gathered (DESIGN §4's "boundary");
//! * the host path: the same `.so` through `leverage-plugin-host`'s `score_blocking` (plugin
//!   lookup, instance pool, gathering the declared columns out of the catalog row, output
//!   checks) — what the CLI and the sweeps' batches pay;
//! * the async host path the server awaits, `PluginHost::score(..).await`: the above plus the
//!   owned copy of the rows, the hop to the host's thread pool and back, and the deadline timer
//!   — what a `ScoreScenario` pays.
//!
//! One scenario per call, and batches of 10 and 1000; ns per scenario, median of several runs.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use leverage_plugin_api::abi::{
    ABI_MAJOR, ENTRY_SYMBOL, EntryFn, ErrorBuffer, LAYOUT_FINGERPRINT, MAGIC, PluginInstance,
    RawMetadata, ScoreBatchFn, StrView, status,
};
use leverage_plugin_api::{Config, Output, ScoringPlugin};
use leverage_plugin_host::PluginHost;
use leverage_plugin_pressure_index::PressureIndex;
use leverage_pressure_model::v2::{INPUTS, PARAMETERS, REFERENCE_ROW, UseMode};
use serde::Serialize;

use crate::stats::{calibrate, median_ns_per_unit};

const PLUGIN_ID: &str = "pressure-index";

#[derive(Clone, Debug, Serialize)]
pub struct BoundaryConfig {
    /// Distinct scenarios scored in each pass.
    pub scenarios: usize,
    /// Timed runs per figure (the median is reported).
    pub runs: usize,
    /// Length of one timed run, in milliseconds.
    pub run_ms: u64,
}

/// One way of calling the model at one batch size.
#[derive(Clone, Debug, Serialize)]
pub struct BoundaryRow {
    /// "native", "raw C ABI", "host (score_blocking)" or "host (score, async)".
    pub path: &'static str,
    pub batch: usize,
    pub ns_per_scenario: f64,
    /// ns_per_scenario ÷ native.
    pub ratio_to_native: f64,
    /// ns_per_scenario − native, in ns.
    pub extra_ns: f64,
    /// Every run's figure.
    pub runs_ns: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BoundaryResult {
    pub config: BoundaryConfig,
    pub plugin_file: String,
    pub model_inputs: usize,
    pub catalog_width: usize,
    /// The three paths return the same scores for every scenario.
    pub outputs_agree: bool,
    pub rows: Vec<BoundaryRow>,
}

/// The scenarios: the model's reference row with the use mode, sanctions and horizon varied.
/// Returns (model rows, catalog rows) with the same model inputs.
fn scenarios(n: usize, catalog: &[&str]) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let columns: Vec<usize> = INPUTS
        .iter()
        .map(|input| {
            catalog
                .iter()
                .position(|c| *c == input.name())
                .with_context(|| format!("model input {} is not in the catalog", input.name()))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut model = Vec::with_capacity(n * INPUTS.len());
    let mut wide = Vec::with_capacity(n * catalog.len());
    for i in 0..n {
        let mut row = REFERENCE_ROW;
        row[0] = (i % UseMode::ALL.len()) as f64;
        row[1] = (i % 11) as f64 / 10.0;
        row[4] = 1.0 + (i % 30) as f64;
        model.extend_from_slice(&row);
        let mut w = vec![0.0; catalog.len()];
        for (k, &c) in columns.iter().enumerate() {
            w[c] = row[k];
        }
        wide.extend(w);
    }
    Ok((model, wide))
}

/// A host answer as native rows: each scenario's score, then its components.
fn flatten(scored: &leverage_plugin_host::Scored, out_cols: usize) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(scored.len() * out_cols);
    for r in scored {
        let r = r.map_err(|e| anyhow::anyhow!("host row failed: {e}"))?;
        out.push(r.score);
        out.extend_from_slice(r.components());
    }
    Ok(out)
}

/// The plugin's vtable and one instance, reached without the host.
struct RawPlugin {
    score_batch: ScoreBatchFn,
    destroy: unsafe extern "C" fn(*mut PluginInstance),
    instance: *mut PluginInstance,
    n_inputs: usize,
    out_cols: usize,
}

impl RawPlugin {
    fn open(path: &Path) -> anyhow::Result<RawPlugin> {
        // SAFETY: loading a plugin runs its initialisers; ours are plain Rust statics. The
        // library is never unloaded (DESIGN §4: no dlclose), hence the `forget` below.
        let library = unsafe { libloading::Library::new(path) }
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: the symbol has the type the ABI defines for it.
        let entry: EntryFn = unsafe {
            *library
                .get::<EntryFn>(ENTRY_SYMBOL.as_bytes())
                .with_context(|| format!("looking up {ENTRY_SYMBOL}"))?
        };
        std::mem::forget(library);
        // SAFETY: the entry returns a pointer to a static header in the library, which stays
        // mapped for the life of the process.
        let header = unsafe { entry().as_ref() }.context("null header")?;
        ensure!(header.prefix.magic == MAGIC, "bad magic");
        ensure!(header.prefix.abi_major == ABI_MAJOR, "ABI major differs");
        ensure!(
            header.layout_fingerprint == LAYOUT_FINGERPRINT,
            "layout fingerprint differs"
        );
        // SAFETY: the vtable is static data in the library.
        let vtable = unsafe { header.vtable.as_ref() }.context("null vtable")?;
        let (Some(metadata), Some(create), Some(destroy), Some(score_batch)) = (
            vtable.metadata,
            vtable.create,
            vtable.destroy,
            vtable.score_batch,
        ) else {
            bail!("a vtable entry is null");
        };
        let mut raw = RawMetadata::EMPTY;
        // SAFETY: `raw` is a valid slot for the call.
        ensure!(
            unsafe { metadata(&mut raw) } == status::OK,
            "metadata failed"
        );
        // SAFETY: the metadata views point into the library's static memory.
        let inputs = unsafe { std::slice::from_raw_parts(raw.inputs, raw.n_inputs) };
        for (declared, expected) in inputs.iter().zip(INPUTS.iter()) {
            // SAFETY: as above.
            let name = unsafe { declared.name.bytes() }.unwrap_or_default();
            ensure!(
                name == expected.name().as_bytes(),
                "the library declares its inputs in another order than the rlib"
            );
        }
        let mut message = [0u8; 256];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        let mut instance = std::ptr::null_mut();
        // SAFETY: an empty configuration view, a valid slot and error buffer.
        let code = unsafe { create(StrView::EMPTY, &mut instance, &mut error) };
        ensure!(
            code == status::OK && !instance.is_null(),
            "create failed ({code})"
        );
        Ok(RawPlugin {
            score_batch,
            destroy,
            instance,
            n_inputs: raw.n_inputs,
            out_cols: 1 + raw.n_components,
        })
    }

    /// Scores `rows` gathered rows into `out`; returns the call's status. The caller passes the
    /// row count, as the host does, rather than a division per call (tens of cycles).
    #[inline]
    fn score(
        &mut self,
        inputs: &[f64],
        rows: usize,
        out: &mut [f64],
        statuses: &mut [i32],
        error: &mut ErrorBuffer,
    ) -> i32 {
        assert!(
            inputs.len() == rows * self.n_inputs
                && out.len() >= rows * self.out_cols
                && statuses.len() >= rows
        );
        // SAFETY: the buffers hold `rows` rows of the sizes the metadata declares and live
        // through the call; the instance is used from this thread only; no cancel flag.
        unsafe {
            (self.score_batch)(
                self.instance,
                inputs.as_ptr(),
                rows,
                self.n_inputs,
                out.as_mut_ptr(),
                self.out_cols,
                statuses.as_mut_ptr(),
                std::ptr::null(),
                error,
            )
        }
    }
}

impl Drop for RawPlugin {
    fn drop(&mut self) {
        // SAFETY: the instance came from this vtable's `create` and is destroyed once.
        unsafe { (self.destroy)(self.instance) };
    }
}

pub fn run(plugin_dir: &Path, config: &BoundaryConfig) -> anyhow::Result<BoundaryResult> {
    let catalog = leverage_core::scenario::catalog_names();
    let width = catalog.len();
    // A whole number of 1000-row batches.
    let n = config.scenarios.max(1000) / 1000 * 1000;
    let (model_rows, wide_rows) = scenarios(n, &catalog)?;
    let cols = INPUTS.len();
    let out_cols = 6;
    let run_for = Duration::from_millis(config.run_ms);

    // Native.
    let mut native =
        PressureIndex::new(&Config::defaults(&PARAMETERS)).map_err(anyhow::Error::msg)?;
    let mut native_out = vec![0.0; n * out_cols];
    for (row, out) in model_rows
        .chunks_exact(cols)
        .zip(native_out.chunks_exact_mut(out_cols))
    {
        native
            .score(row, &mut Output::new(out))
            .map_err(anyhow::Error::msg)?;
    }

    // Raw C ABI.
    let so = plugin_dir.join(crate::prepare::PLUGIN_FILE);
    let mut raw = RawPlugin::open(&so)?;
    ensure!(
        raw.n_inputs == cols && raw.out_cols == out_cols,
        "unexpected plugin shape"
    );
    let mut message = vec![0u8; 1024];
    let mut error = ErrorBuffer {
        ptr: message.as_mut_ptr(),
        capacity: message.len(),
        len: 0,
    };
    let mut raw_out = vec![0.0; n * out_cols];
    let mut statuses = vec![0i32; n];
    let code = raw.score(&model_rows, n, &mut raw_out, &mut statuses, &mut error);
    ensure!(
        code == status::OK && statuses.iter().all(|&s| s == status::OK),
        "raw call failed"
    );

    // Host.
    let host = PluginHost::load_dir(plugin_dir, &catalog)
        .with_context(|| format!("loading {}", plugin_dir.display()))?;
    let cancel = AtomicBool::new(false);
    let host_out = flatten(
        &host.score_blocking(PLUGIN_ID, &wide_rows, n, &cancel)?,
        out_cols,
    )?;
    // A single-threaded runtime, as the pinned server's one worker: the call hops to the
    // host's pool and back, the deadline (far off here) armed as the server arms it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let deadline = Duration::from_secs(60);
    let score_async = |rows: &[f64], batch: usize| {
        let rows = rows.to_vec();
        let cancel = Arc::new(AtomicBool::new(false));
        runtime.block_on(host.score(PLUGIN_ID, rows, batch, deadline, cancel))
    };
    let async_out = flatten(&score_async(&wide_rows, n)?, out_cols)?;
    let outputs_agree = native_out == raw_out && native_out == host_out && native_out == async_out;
    ensure!(outputs_agree, "native, raw and host scores differ");

    let mut rows = Vec::new();
    let mut measure = |path: &'static str, batch: usize, pass: &mut dyn FnMut()| {
        let reps = calibrate(run_for, &mut *pass);
        let (ns, runs_ns) = median_ns_per_unit(config.runs, reps * n, || {
            for _ in 0..reps {
                pass();
            }
        });
        eprintln!("[boundary] {path:<22} batch {batch:>4}: {ns:8.2} ns per scenario");
        rows.push(BoundaryRow {
            path,
            batch,
            ns_per_scenario: ns,
            ratio_to_native: f64::NAN,
            extra_ns: f64::NAN,
            runs_ns,
        });
    };

    // The native baseline does the work the other paths do: every scenario's score and
    // components kept, in a results array, and the outcome of each looked at.
    let mut failures = 0usize;
    measure("native", 1, &mut || {
        for (row, out) in model_rows
            .chunks_exact(cols)
            .zip(native_out.chunks_exact_mut(out_cols))
        {
            let r = native.score(black_box(row), &mut Output::new(out));
            failures += usize::from(r.is_err());
        }
        black_box(&native_out);
    });
    for batch in [1usize, 10, 1000] {
        measure("raw C ABI", batch, &mut || {
            for rows in model_rows.chunks_exact(cols * batch) {
                error.len = 0;
                let code = raw.score(
                    black_box(rows),
                    batch,
                    &mut raw_out,
                    &mut statuses,
                    &mut error,
                );
                failures += usize::from(code != status::OK);
                black_box(&raw_out);
            }
        });
    }
    for batch in [1usize, 10, 1000] {
        measure("host (score_blocking)", batch, &mut || {
            for rows in wide_rows.chunks_exact(width * batch) {
                match host.score_blocking(PLUGIN_ID, black_box(rows), batch, &cancel) {
                    Ok(r) => {
                        black_box(r);
                    }
                    Err(_) => failures += 1,
                }
            }
        });
    }
    // Each call copies its rows into an owned vector, as the server builds one per request,
    // and is awaited on its own, as a request's is. The pool's threads share this process's
    // core, as the pinned server's do.
    for batch in [1usize, 10, 1000] {
        measure("host (score, async)", batch, &mut || {
            for rows in wide_rows.chunks_exact(width * batch) {
                match score_async(black_box(rows), batch) {
                    Ok(r) => {
                        black_box(r);
                    }
                    Err(_) => failures += 1,
                }
            }
        });
    }
    ensure!(failures == 0, "{failures} plugin calls failed while timed");
    let native_ns = rows[0].ns_per_scenario;
    for r in &mut rows {
        r.ratio_to_native = r.ns_per_scenario / native_ns;
        r.extra_ns = r.ns_per_scenario - native_ns;
    }
    drop(raw);
    Ok(BoundaryResult {
        config: BoundaryConfig {
            scenarios: n,
            ..config.clone()
        },
        plugin_file: so.display().to_string(),
        model_inputs: cols,
        catalog_width: width,
        outputs_agree,
        rows,
    })
}
