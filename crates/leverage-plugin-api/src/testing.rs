//! Runs a plugin type through the real ABI without building a shared library.
//!
//! [`Harness::new`] builds the same function table and header that
//! [`export_scoring_plugin!`](crate::export_scoring_plugin) puts into a `cdylib`, then makes every
//! call through the header's `extern "C"` function pointers, with host-allocated buffers, and
//! applies the host's metadata and output checks. A plugin's unit tests therefore exercise the
//! shims, the configuration parser and the panic guard exactly as the server will.
//!
//! ```ignore
//! let mut harness = Harness::new::<MyModel>("weight = 0.5")?;
//! let outputs = harness.score(&[1.0, 2.0])?; // [score, component 0, component 1, ...]
//! ```

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU8};

use crate::__private as export;
use crate::abi::{
    ABI_MAJOR, ErrorBuffer, LAYOUT_FINGERPRINT, MAGIC, PANIC_UNWIND, PluginHeader, PluginInstance,
    PluginVTable, RawMetadata, StrView, status,
};
use crate::info::PluginMetadata;
use crate::sdk::ScoringPlugin;

const ERROR_CAPACITY: usize = 1024;

/// The outcome of one `score_batch` call through the shims.
#[derive(Clone, Debug)]
pub struct BatchResult {
    /// The call's status ([`status`]).
    pub status: i32,
    /// One status per row.
    pub row_status: Vec<i32>,
    /// `rows × width` values: per row the score then each component.
    pub outputs: Vec<f64>,
    /// `1 + number of components`.
    pub width: usize,
    /// The message the plugin wrote, if any.
    pub error: Option<String>,
    /// Values of rows with status OK that are not finite or outside their declared range, as the
    /// host would report them.
    pub violations: Vec<String>,
}

impl BatchResult {
    /// The outputs of `row`: score, then components.
    pub fn row(&self, row: usize) -> &[f64] {
        &self.outputs[row * self.width..(row + 1) * self.width]
    }
}

/// A plugin instance driven through its `extern "C"` shims.
#[derive(Debug)]
pub struct Harness {
    header: Box<PluginHeader>,
    vtable: PluginVTable,
    metadata: PluginMetadata,
    config: String,
    instance: Option<NonNull<PluginInstance>>,
    // Owns the table the header points to.
    _table: Box<PluginVTable>,
}

impl Harness {
    /// Builds `P`'s header and table as the export macro does, reads and checks its metadata
    /// through the table, and creates an instance from `config`.
    pub fn new<P: ScoringPlugin>(config: &str) -> Result<Harness, String> {
        let table = Box::new(export::vtable::<P>());
        let header = Box::new(export::header(
            &*table,
            export::panic_strategy(cfg!(panic = "unwind"), cfg!(panic = "abort")),
        ));
        if header.prefix.magic != MAGIC
            || header.prefix.abi_major != ABI_MAJOR
            || header.layout_fingerprint != LAYOUT_FINGERPRINT
        {
            return Err("header does not match this build of the API".to_owned());
        }
        if header.prefix.panic_strategy != PANIC_UNWIND {
            return Err("tests run with panic = \"abort\"; the host would refuse this".to_owned());
        }
        // SAFETY: the header points at `table`, which we own and keep alive.
        let vtable = unsafe { *header.vtable };
        let Some(metadata_fn) = vtable.metadata else {
            return Err("metadata function is null".to_owned());
        };
        let mut raw = RawMetadata::EMPTY;
        // SAFETY: a valid output slot; the shim writes views into `P`'s static metadata.
        let code = unsafe { metadata_fn(&mut raw) };
        if code != status::OK {
            return Err(format!("metadata returned status {code}"));
        }
        // SAFETY: the views point into `P::metadata()`'s `'static` data.
        let metadata = unsafe { PluginMetadata::from_raw(&raw) }
            .map_err(|problems| format!("invalid metadata: {}", problems.join("; ")))?;
        let mut harness = Harness {
            header,
            vtable,
            metadata,
            config: config.to_owned(),
            instance: None,
            _table: table,
        };
        harness.instance = Some(harness.create()?);
        Ok(harness)
    }

    /// The header a `cdylib` of this plugin would export.
    pub fn header(&self) -> &PluginHeader {
        &self.header
    }

    /// The checked metadata, as the host reads it.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// Scores one row; returns the score followed by each component. A row error, a panic or an
    /// output outside its declared range is an `Err`.
    pub fn score(&mut self, inputs: &[f64]) -> Result<Vec<f64>, String> {
        let result = self.score_batch(inputs, 1)?;
        if let Some(violation) = result.violations.first() {
            return Err(violation.clone());
        }
        match result.row_status.first() {
            Some(&status::OK) => Ok(result.row(0).to_vec()),
            other => Err(format!(
                "row status {other:?}: {}",
                result.error.unwrap_or_default()
            )),
        }
    }

    /// Scores `rows` rows of `inputs` (row-major, declared input order: the catalog inputs, then
    /// the plugin's own).
    pub fn score_batch(&mut self, inputs: &[f64], rows: usize) -> Result<BatchResult, String> {
        self.score_batch_cancellable(inputs, rows, &AtomicBool::new(false))
    }

    /// As [`Harness::score_batch`], with a cancel flag the test may set.
    pub fn score_batch_cancellable(
        &mut self,
        inputs: &[f64],
        rows: usize,
        cancel: &AtomicBool,
    ) -> Result<BatchResult, String> {
        let cols = self.metadata.input_width();
        let width = self.metadata.output_width();
        if rows.checked_mul(cols) != Some(inputs.len()) {
            return Err(format!(
                "{} input values for {rows} rows of {cols} inputs",
                inputs.len()
            ));
        }
        let instance = match self.instance {
            Some(instance) => instance,
            None => {
                let instance = self.create()?;
                self.instance = Some(instance);
                instance
            }
        };
        let Some(score_batch) = self.vtable.score_batch else {
            return Err("score_batch function is null".to_owned());
        };
        let mut outputs = vec![f64::NAN; rows * width];
        let mut row_status = vec![status::NOT_RUN; rows];
        let mut message = vec![0u8; ERROR_CAPACITY];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        // SAFETY: every buffer is sized as the ABI requires and lives across the call; the
        // instance came from this table's `create`; `AtomicBool` and `AtomicU8` share their
        // size, alignment and representation.
        let code = unsafe {
            score_batch(
                instance.as_ptr(),
                inputs.as_ptr(),
                rows,
                cols,
                outputs.as_mut_ptr(),
                width,
                row_status.as_mut_ptr(),
                core::ptr::from_ref(cancel).cast::<AtomicU8>(),
                &mut error,
            )
        };
        let error = read_message(&message, &error);
        if code == status::PANIC {
            self.destroy();
            return Err(error.unwrap_or_else(|| "plugin panicked".to_owned()));
        }
        let violations = self.violations(&outputs, &row_status, width);
        Ok(BatchResult {
            status: code,
            row_status,
            outputs,
            width,
            error,
            violations,
        })
    }

    fn violations(&self, outputs: &[f64], row_status: &[i32], width: usize) -> Vec<String> {
        let mut violations = Vec::new();
        for (row, _) in row_status
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == status::OK)
        {
            let values = &outputs[row * width..(row + 1) * width];
            let specs = core::iter::once(&self.metadata.score).chain(&self.metadata.components);
            for (value, spec) in values.iter().zip(specs) {
                if !value.is_finite() || *value < spec.min || *value > spec.max {
                    violations.push(format!(
                        "row {row}: `{}` = {value} is not within [{}, {}]",
                        spec.name, spec.min, spec.max
                    ));
                }
            }
        }
        violations
    }

    fn create(&self) -> Result<NonNull<PluginInstance>, String> {
        let Some(create) = self.vtable.create else {
            return Err("create function is null".to_owned());
        };
        let mut message = vec![0u8; ERROR_CAPACITY];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        let mut instance = core::ptr::null_mut();
        // SAFETY: the configuration view and both output slots live across the call.
        let code = unsafe { create(StrView::borrowed(&self.config), &mut instance, &mut error) };
        let message = read_message(&message, &error).unwrap_or_default();
        match (code, NonNull::new(instance)) {
            (status::OK, Some(instance)) => Ok(instance),
            (status::OK, None) => Err("create returned OK but no instance".to_owned()),
            (code, _) => Err(format!("create failed with status {code}: {message}")),
        }
    }

    fn destroy(&mut self) {
        if let (Some(instance), Some(destroy)) = (self.instance.take(), self.vtable.destroy) {
            // SAFETY: the instance came from this table's `create` and is destroyed once.
            unsafe { destroy(instance.as_ptr()) };
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.destroy();
    }
}

fn read_message(buffer: &[u8], error: &ErrorBuffer) -> Option<String> {
    let written = buffer.get(..error.len)?;
    (!written.is_empty()).then(|| String::from_utf8_lossy(written).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{
        Batch, Cancelled, Component, Config, Input, Metadata, Output, OwnInput, Parameter,
    };

    struct Doubler {
        factor: f64,
    }

    impl ScoringPlugin for Doubler {
        fn metadata() -> Metadata {
            const METADATA: Metadata = Metadata {
                id: "doubler",
                name: "Doubler",
                version: "1.0.0",
                description: "twice the input, and a panic on request",
                build_id: "test",
                inputs: &[Input::new("x", "units")],
                components: &[Component::new("half", "units", -1e6, 1e6, "x / 2")],
                score: Component::new("double", "units", -1e6, 1e6, "factor × x"),
                parameters: &[Parameter::new("factor", "", 2.0, 0.0, 10.0, "multiplier")],
            };
            METADATA
        }

        fn new(config: &Config) -> Result<Self, String> {
            Ok(Doubler {
                factor: config.get("factor")?,
            })
        }

        fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
            let x = inputs[0];
            if x == 13.0 {
                return Err("13 is unlucky".into());
            }
            if x == 666.0 {
                panic!("deliberate panic at {x}");
            }
            if x == 7.0 {
                // Leaves the component unset: the host must notice.
                out.set_score(x);
                return Ok(());
            }
            out.set_score(self.factor * x);
            out.set_component(0, x / 2.0);
            Ok(())
        }
    }

    struct Patient;

    impl ScoringPlugin for Patient {
        fn metadata() -> Metadata {
            Metadata {
                id: "patient",
                inputs: &[],
                components: &[],
                parameters: &[],
                ..Doubler::metadata()
            }
        }

        fn new(_: &Config) -> Result<Self, String> {
            Ok(Patient)
        }

        fn score(&mut self, _: &[f64], out: &mut Output<'_>) -> Result<(), String> {
            out.set_score(1.0);
            Ok(())
        }

        fn score_batch(&mut self, batch: &mut Batch<'_>) -> Result<(), Cancelled> {
            if batch.is_cancelled() {
                return Err(Cancelled);
            }
            for row in 0..batch.rows() {
                let (_, mut out) = batch.row(row);
                out.set_score(1.0);
                batch.finish_row(row, Ok(()));
            }
            Ok(())
        }
    }

    /// Reads one catalog input and one of its own: each row is two values wide.
    struct Lever;

    impl ScoringPlugin for Lever {
        fn metadata() -> Metadata {
            Metadata {
                id: "lever",
                components: &[],
                parameters: &[],
                ..Doubler::metadata()
            }
        }

        fn own_inputs() -> &'static [OwnInput] {
            const OWN: &[OwnInput] = &[OwnInput::required("lever.share", "", 0.0, 1.0, "a share")];
            OWN
        }

        fn new(_: &Config) -> Result<Self, String> {
            Ok(Lever)
        }

        fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
            let [x, share] = inputs else {
                return Err(format!("expected 2 inputs, got {}", inputs.len()));
            };
            out.set_score(x * share);
            Ok(())
        }
    }

    #[test]
    fn rows_hold_the_catalog_inputs_then_the_plugins_own() {
        let mut harness = Harness::new::<Lever>("").expect("loads");
        assert_eq!(harness.metadata().input_width(), 2);
        let result = harness
            .score_batch(&[4.0, 0.5, 6.0, 0.25], 2)
            .expect("call");
        assert_eq!(result.status, status::OK, "{:?}", result.error);
        assert_eq!((result.row(0), result.row(1)), (&[2.0][..], &[1.5][..]));
    }

    #[test]
    fn scores_through_the_extern_c_table() {
        let mut harness = Harness::new::<Doubler>("factor = 3").expect("loads");
        assert_eq!(harness.metadata().id, "doubler");
        assert_eq!(harness.score(&[4.0]), Ok(vec![12.0, 2.0]));
    }

    #[test]
    fn unknown_configuration_keys_fail_creation_with_the_known_ones() {
        let err = Harness::new::<Doubler>("factr = 3").expect_err("unknown key");
        assert!(
            err.contains("`factr`") && err.contains("known: factor"),
            "{err}"
        );
    }

    #[test]
    fn one_bad_row_does_not_fail_the_batch() {
        let mut harness = Harness::new::<Doubler>("").expect("loads");
        let result = harness.score_batch(&[1.0, 13.0, 2.0], 3).expect("call");
        assert_eq!(result.status, status::OK);
        assert_eq!(
            result.row_status,
            vec![status::OK, status::ERROR, status::OK]
        );
        assert_eq!(result.error.as_deref(), Some("13 is unlucky"));
        assert_eq!(result.row(2), &[4.0, 1.0]);
    }

    #[test]
    fn a_panic_becomes_a_status_with_its_message_and_the_instance_is_replaced() {
        let mut harness = Harness::new::<Doubler>("").expect("loads");
        let err = harness.score(&[666.0]).expect_err("panics");
        assert!(err.contains("deliberate panic at 666"), "{err}");
        assert_eq!(harness.score(&[1.0]), Ok(vec![2.0, 0.5]));
    }

    #[test]
    fn an_unset_component_is_a_violation() {
        let mut harness = Harness::new::<Doubler>("").expect("loads");
        let err = harness.score(&[7.0]).expect_err("component left NaN");
        assert!(err.contains("`half` = NaN"), "{err}");
    }

    #[test]
    fn a_set_cancel_flag_stops_the_batch() {
        let mut harness = Harness::new::<Patient>("").expect("loads");
        let cancel = AtomicBool::new(true);
        let result = harness
            .score_batch_cancellable(&[], 3, &cancel)
            .expect("call");
        assert_eq!(result.status, status::CANCELLED);
        assert_eq!(result.row_status, vec![status::NOT_RUN; 3]);
    }

    #[test]
    fn the_default_batch_loop_checks_the_cancel_flag() {
        let mut harness = Harness::new::<Doubler>("").expect("loads");
        let cancel = AtomicBool::new(true);
        let result = harness
            .score_batch_cancellable(&[1.0; 4], 4, &cancel)
            .expect("call");
        assert_eq!(result.status, status::CANCELLED);
    }

    #[test]
    fn wrong_input_width_is_refused_before_the_call() {
        let mut harness = Harness::new::<Doubler>("").expect("loads");
        assert!(harness.score_batch(&[1.0, 2.0], 1).is_err());
    }
}
