//! The safe Rust face of the ABI: describe a model with [`Metadata`], implement
//! [`ScoringPlugin`], export it with [`export_scoring_plugin!`](crate::export_scoring_plugin).

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::abi::{RawComponent, RawInput, RawMetadata, RawOwnInput, RawParameter, StrView, status};

/// How many rows the default [`ScoringPlugin::score_batch`] scores between two looks at the cancel
/// flag.
pub const CANCEL_CHECK_INTERVAL: usize = 64;

/// Reads a view built by one of this module's `const fn` constructors.
///
/// Only called on views made by [`StrView::from_static`] from a `&'static str` inside the types
/// below, whose fields are private, so the bytes are valid UTF-8 for `'static`.
fn static_str(view: StrView) -> &'static str {
    if view.len == 0 {
        return "";
    }
    // SAFETY: see above: the view was made from a `&'static str` (non-null, `len` bytes, UTF-8,
    // immutable for the life of the program) and the private fields cannot be changed since.
    unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(view.ptr, view.len)) }
}

/// A named input the model reads from each scenario row.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct Input(RawInput);

impl Input {
    /// `name` is a catalog name (`pool.eur_bn`); `unit` is for people (`EUR bn`).
    pub const fn new(name: &'static str, unit: &'static str) -> Input {
        Input(RawInput {
            name: StrView::from_static(name),
            unit: StrView::from_static(unit),
        })
    }

    /// Catalog name.
    pub fn name(&self) -> &'static str {
        static_str(self.0.name)
    }

    /// Unit.
    pub fn unit(&self) -> &'static str {
        static_str(self.0.unit)
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name())
            .field("unit", &self.unit())
            .finish()
    }
}

/// An input the model declares itself, beside the catalog's: a lever the server does not know
/// (an oil-price cap, a share moved to escrow), set by name in each scenario and checked by the
/// server against this declaration before the plugin sees it. Returned by
/// [`ScoringPlugin::own_inputs`]; each row passes these after the catalog inputs, in order.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct OwnInput(RawOwnInput);

impl OwnInput {
    /// An input every scenario must set, within `[min, max]`.
    pub const fn required(
        name: &'static str,
        unit: &'static str,
        min: f64,
        max: f64,
        description: &'static str,
    ) -> OwnInput {
        OwnInput(RawOwnInput {
            name: StrView::from_static(name),
            unit: StrView::from_static(unit),
            description: StrView::from_static(description),
            min,
            max,
            default: f64::NAN,
            required: 1,
        })
    }

    /// An input that takes `default` when a scenario leaves it unset.
    pub const fn optional(
        name: &'static str,
        unit: &'static str,
        min: f64,
        max: f64,
        default: f64,
        description: &'static str,
    ) -> OwnInput {
        OwnInput(RawOwnInput {
            name: StrView::from_static(name),
            unit: StrView::from_static(unit),
            description: StrView::from_static(description),
            min,
            max,
            default,
            required: 0,
        })
    }

    /// Name.
    pub fn name(&self) -> &'static str {
        static_str(self.0.name)
    }

    /// Unit.
    pub fn unit(&self) -> &'static str {
        static_str(self.0.unit)
    }

    /// Whether a scenario must set it.
    pub fn is_required(&self) -> bool {
        self.0.required != 0
    }
}

impl fmt::Debug for OwnInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnInput")
            .field("name", &self.name())
            .field("unit", &self.unit())
            .field("min", &self.0.min)
            .field("max", &self.0.max)
            .field("default", &self.0.default)
            .field("required", &self.is_required())
            .finish()
    }
}

/// A named output value with its unit and the range the model promises to stay in. Used for the
/// score and for each component; the host rejects any value outside `[min, max]`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct Component(RawComponent);

impl Component {
    /// A component named `name`, in `unit`, within `[min, max]`.
    pub const fn new(
        name: &'static str,
        unit: &'static str,
        min: f64,
        max: f64,
        description: &'static str,
    ) -> Component {
        Component(RawComponent {
            name: StrView::from_static(name),
            unit: StrView::from_static(unit),
            description: StrView::from_static(description),
            min,
            max,
        })
    }

    /// Name.
    pub fn name(&self) -> &'static str {
        static_str(self.0.name)
    }

    /// Unit.
    pub fn unit(&self) -> &'static str {
        static_str(self.0.unit)
    }

    /// What the value means.
    pub fn description(&self) -> &'static str {
        static_str(self.0.description)
    }

    /// Smallest allowed value.
    pub fn min(&self) -> f64 {
        self.0.min
    }

    /// Largest allowed value.
    pub fn max(&self) -> f64 {
        self.0.max
    }
}

impl fmt::Debug for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Component")
            .field("name", &self.name())
            .field("unit", &self.unit())
            .field("min", &self.min())
            .field("max", &self.max())
            .finish()
    }
}

/// A numeric parameter of the model that configuration text may override.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct Parameter(RawParameter);

impl Parameter {
    /// A parameter `name` in `unit` with a `default` and an accepted range `[min, max]`.
    pub const fn new(
        name: &'static str,
        unit: &'static str,
        default: f64,
        min: f64,
        max: f64,
        description: &'static str,
    ) -> Parameter {
        Parameter(RawParameter {
            name: StrView::from_static(name),
            unit: StrView::from_static(unit),
            description: StrView::from_static(description),
            default,
            min,
            max,
        })
    }

    /// Key in the configuration text.
    pub fn name(&self) -> &'static str {
        static_str(self.0.name)
    }

    /// Unit.
    pub fn unit(&self) -> &'static str {
        static_str(self.0.unit)
    }

    /// What it changes.
    pub fn description(&self) -> &'static str {
        static_str(self.0.description)
    }

    /// Value when not configured.
    pub fn default_value(&self) -> f64 {
        self.0.default
    }

    /// Smallest accepted value.
    pub fn min(&self) -> f64 {
        self.0.min
    }

    /// Largest accepted value.
    pub fn max(&self) -> f64 {
        self.0.max
    }
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parameter")
            .field("name", &self.name())
            .field("default", &self.default_value())
            .field("min", &self.min())
            .field("max", &self.max())
            .finish()
    }
}

/// The static description of a model. All of it must live for the whole program (`'static`):
/// the host reads it directly from the plugin's memory.
#[derive(Clone, Copy, Debug)]
pub struct Metadata {
    /// Stable identifier calls are routed by, e.g. `pressure-index`.
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Version of the model (semver recommended).
    pub version: &'static str,
    /// What the model measures, in a sentence or two.
    pub description: &'static str,
    /// Free-form build identifier, e.g. `concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"))`.
    pub build_id: &'static str,
    /// The inputs, in the order each row passes them to [`ScoringPlugin::score`].
    pub inputs: &'static [Input],
    /// The components, in the order [`Output::set_component`] indexes them.
    pub components: &'static [Component],
    /// The score: name, unit and range.
    pub score: Component,
    /// Parameters that configuration text may set.
    pub parameters: &'static [Parameter],
}

impl Metadata {
    /// The ABI form: views into the same static memory, with `own_inputs` (see
    /// [`ScoringPlugin::own_inputs`]).
    pub fn to_raw_with(&self, own_inputs: &'static [OwnInput]) -> RawMetadata {
        RawMetadata {
            // `OwnInput` is `repr(transparent)` over `RawOwnInput`.
            own_inputs: own_inputs.as_ptr().cast::<RawOwnInput>(),
            n_own_inputs: own_inputs.len(),
            ..self.to_raw()
        }
    }

    /// The ABI form: views into the same static memory, without inputs of the plugin's own and
    /// without a model card.
    pub fn to_raw(&self) -> RawMetadata {
        RawMetadata {
            id: StrView::from_static(self.id),
            name: StrView::from_static(self.name),
            version: StrView::from_static(self.version),
            description: StrView::from_static(self.description),
            build_id: StrView::from_static(self.build_id),
            // `Input`, `Component` and `Parameter` are `repr(transparent)` over the raw types.
            inputs: self.inputs.as_ptr().cast::<RawInput>(),
            n_inputs: self.inputs.len(),
            components: self.components.as_ptr().cast::<RawComponent>(),
            n_components: self.components.len(),
            score: self.score.0,
            parameters: self.parameters.as_ptr().cast::<RawParameter>(),
            n_parameters: self.parameters.len(),
            own_inputs: core::ptr::null(),
            n_own_inputs: 0,
            model_card: StrView::EMPTY,
        }
    }
}

/// Parameter values for one instance: the configuration text applied over the defaults of the
/// parameter schema in [`Metadata::parameters`].
///
/// The text is UTF-8, one `key = value` per line; blank lines and `#` comments are ignored;
/// values are decimal numbers within the parameter's `[min, max]`. Unknown keys are an error that
/// lists the known ones.
#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<(&'static str, f64, bool)>,
}

impl Config {
    /// Every parameter at its default.
    pub fn defaults(schema: &[Parameter]) -> Config {
        Config {
            values: schema
                .iter()
                .map(|p| (p.name(), p.default_value(), false))
                .collect(),
        }
    }

    /// Parses `text` against `schema`, collecting every problem into one message.
    pub fn parse(text: &str, schema: &[Parameter]) -> Result<Config, String> {
        let declared: Vec<(&str, f64, f64, f64)> = schema
            .iter()
            .map(|p| (p.name(), p.default_value(), p.min(), p.max()))
            .collect();
        let values = parse_config(text, &declared)?;
        Ok(Config {
            values: schema
                .iter()
                .zip(values)
                .map(|(p, (value, set))| (p.name(), value, set))
                .collect(),
        })
    }

    /// The value of parameter `name` (configured or default); an error if the schema has no such
    /// parameter.
    pub fn get(&self, name: &str) -> Result<f64, String> {
        self.values
            .iter()
            .find(|(key, _, _)| *key == name)
            .map(|(_, value, _)| *value)
            .ok_or_else(|| format!("parameter `{name}` is not declared in the metadata"))
    }

    /// Whether the configuration text set `name` explicitly.
    pub fn is_set(&self, name: &str) -> bool {
        self.values.iter().any(|(key, _, set)| *key == name && *set)
    }

    /// Every parameter with its value, in schema order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.values.iter().map(|(key, value, _)| (*key, *value))
    }
}

/// Reads configuration text (one `key = value` per line; blank lines and `#` comments ignored)
/// against `declared` parameters, each `(name, default, min, max)`: every parameter's value and
/// whether the text set it, in declared order. Every problem is collected into one message:
/// unknown keys (listed with the known ones), keys set twice, values that are not finite
/// numbers within their range, lines that are not `key = value`. The one reading of the format,
/// shared by plugins ([`Config::parse`]) and hosts ([`PluginMetadata::parameter_values`]).
///
/// [`PluginMetadata::parameter_values`]: crate::PluginMetadata::parameter_values
pub fn parse_config(
    text: &str,
    declared: &[(&str, f64, f64, f64)],
) -> Result<Vec<(f64, bool)>, String> {
    let mut values: Vec<(f64, bool)> = declared.iter().map(|d| (d.1, false)).collect();
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            problems.push(format!(
                "line {line_no}: expected `key = value`, found `{line}`"
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let Some(position) = declared.iter().position(|d| d.0 == key) else {
            unknown.push(format!("`{key}`"));
            continue;
        };
        let (_, _, min, max) = declared[position];
        let slot = &mut values[position];
        if slot.1 {
            problems.push(format!("line {line_no}: `{key}` is set twice"));
            continue;
        }
        slot.1 = true;
        match value.parse::<f64>() {
            Ok(number) if !number.is_finite() => {
                problems.push(format!(
                    "line {line_no}: `{key}` must be finite, got {value}"
                ));
            }
            Ok(number) if number < min || number > max => {
                problems.push(format!(
                    "line {line_no}: `{key}` = {number} is outside [{min}, {max}]"
                ));
            }
            Ok(number) => slot.0 = number,
            Err(_) => {
                problems.push(format!(
                    "line {line_no}: `{key}` = `{value}` is not a number"
                ));
            }
        }
    }
    if !unknown.is_empty() {
        let known: Vec<&str> = declared.iter().map(|d| d.0).collect();
        let known = if known.is_empty() {
            "(this plugin has no parameters)".to_owned()
        } else {
            known.join(", ")
        };
        problems.insert(
            0,
            format!(
                "unknown parameter(s) {}; known: {known}",
                unknown.join(", ")
            ),
        );
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems.join("; "))
    }
}

/// Where [`ScoringPlugin::score`] writes one row: the score, then each component in the order of
/// [`Metadata::components`]. Values start as NaN; anything left unset is reported by the host as
/// not finite.
#[derive(Debug)]
pub struct Output<'a> {
    values: &'a mut [f64],
}

impl<'a> Output<'a> {
    /// An output over `values`, which must hold 1 + the number of components.
    #[inline]
    pub fn new(values: &'a mut [f64]) -> Output<'a> {
        Output { values }
    }

    /// Sets the score.
    ///
    /// # Panics
    ///
    /// If the buffer is empty (a bug in the caller; the shims never do this).
    #[inline]
    pub fn set_score(&mut self, value: f64) {
        match self.values.first_mut() {
            Some(slot) => *slot = value,
            None => panic!("output buffer has no room for the score"),
        }
    }

    /// Sets component `index` (in the order of [`Metadata::components`]).
    ///
    /// # Panics
    ///
    /// If `index` is not a declared component: a bug in the plugin, reported as a panic.
    #[inline]
    pub fn set_component(&mut self, index: usize, value: f64) {
        let declared = self.values.len().saturating_sub(1);
        match self.values.get_mut(index + 1) {
            Some(slot) => *slot = value,
            None => panic!("component index {index} out of range: {declared} declared"),
        }
    }

    /// The components as a slice, to fill in one go.
    #[inline]
    pub fn components_mut(&mut self) -> &mut [f64] {
        match self.values.split_first_mut() {
            Some((_, rest)) => rest,
            None => &mut [],
        }
    }

    /// The score written so far.
    #[inline]
    pub fn score(&self) -> f64 {
        self.values.first().copied().unwrap_or(f64::NAN)
    }

    /// The components written so far.
    #[inline]
    pub fn components(&self) -> &[f64] {
        self.values.get(1..).unwrap_or(&[])
    }
}

/// Returned by [`ScoringPlugin::score_batch`] when it stopped because the cancel flag was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

/// A batch of rows to score, as seen by [`ScoringPlugin::score_batch`].
#[derive(Debug)]
pub struct Batch<'a> {
    inputs: &'a [f64],
    cols: usize,
    outputs: &'a mut [f64],
    out_cols: usize,
    status: &'a mut [i32],
    cancel: Option<&'a AtomicU8>,
    first_error: Option<(usize, String)>,
}

impl<'a> Batch<'a> {
    /// A batch over caller-owned buffers: `inputs` is `rows × cols`, `outputs` is
    /// `rows × out_cols`, `status` has one entry per row. Statuses start at
    /// [`status::NOT_RUN`]; a row's outputs are set to NaN when [`Batch::row`] lends them (one
    /// pass over the row while it is in cache, rather than a pass over the whole buffer first).
    /// Fails if the sizes disagree.
    #[inline]
    pub fn new(
        inputs: &'a [f64],
        cols: usize,
        outputs: &'a mut [f64],
        out_cols: usize,
        status: &'a mut [i32],
        cancel: Option<&'a AtomicU8>,
    ) -> Result<Batch<'a>, String> {
        let rows = status.len();
        if rows.checked_mul(cols) != Some(inputs.len()) {
            return Err(format!(
                "inputs hold {} values, expected {rows} rows × {cols} columns",
                inputs.len()
            ));
        }
        if out_cols == 0 || rows.checked_mul(out_cols) != Some(outputs.len()) {
            return Err(format!(
                "outputs hold {} values, expected {rows} rows × {out_cols} columns",
                outputs.len()
            ));
        }
        status.fill(status::NOT_RUN);
        Ok(Batch {
            inputs,
            cols,
            outputs,
            out_cols,
            status,
            cancel,
            first_error: None,
        })
    }

    /// Number of rows.
    #[inline]
    pub fn rows(&self) -> usize {
        self.status.len()
    }

    /// The inputs of `row`, in declared order.
    ///
    /// # Panics
    ///
    /// If `row >= self.rows()`.
    #[inline]
    pub fn inputs(&self, row: usize) -> &[f64] {
        &self.inputs[row * self.cols..(row + 1) * self.cols]
    }

    /// The inputs of `row` and where to write its outputs.
    ///
    /// # Panics
    ///
    /// If `row >= self.rows()`.
    #[inline]
    pub fn row(&mut self, row: usize) -> (&[f64], Output<'_>) {
        let inputs = &self.inputs[row * self.cols..(row + 1) * self.cols];
        let outputs = &mut self.outputs[row * self.out_cols..(row + 1) * self.out_cols];
        outputs.fill(f64::NAN);
        (inputs, Output::new(outputs))
    }

    /// Records the outcome of `row`: [`status::OK`], or [`status::ERROR`] with a message.
    #[inline]
    pub fn finish_row(&mut self, row: usize, result: Result<(), String>) {
        match result {
            Ok(()) => self.status[row] = status::OK,
            Err(message) => self.set_error(row, message),
        }
    }

    /// Marks `row` as failed. The message of the lowest failed row reaches the host.
    pub fn set_error(&mut self, row: usize, message: String) {
        self.status[row] = status::ERROR;
        if self
            .first_error
            .as_ref()
            .is_none_or(|(first, _)| row < *first)
        {
            self.first_error = Some((row, message));
        }
    }

    /// Whether the host asked to stop. Cheap (one relaxed atomic load).
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .is_some_and(|flag| flag.load(Ordering::Relaxed) != 0)
    }

    /// The status of each row so far.
    pub fn statuses(&self) -> &[i32] {
        self.status
    }

    /// The lowest failed row and its message.
    #[inline]
    pub fn first_error(&self) -> Option<(usize, &str)> {
        self.first_error
            .as_ref()
            .map(|(row, message)| (*row, message.as_str()))
    }
}

/// A scoring model.
///
/// Implement it, then export it with
/// [`export_scoring_plugin!`](crate::export_scoring_plugin). Scoring must be a pure function of
/// the inputs and the configuration (no clock, no randomness, no I/O), synchronous (no async
/// runtime inside a plugin) and cheap enough to be called per scenario.
pub trait ScoringPlugin: Send + Sized + 'static {
    /// The static description: inputs, components, score, parameters.
    fn metadata() -> Metadata;

    /// Inputs the model declares itself (ABI 1.1), read after [`Metadata::inputs`] in each row,
    /// in this order. None by default. Return a `static` or `const` slice.
    fn own_inputs() -> &'static [OwnInput] {
        &[]
    }

    /// The model card (ABI 1.2): UTF-8 markdown that tells an analyst what the model is for,
    /// which inputs it reads and where they come from, what it ignores, its known limits and its
    /// version history. The server serves it with the plugin's description (`GetPlugin`), for
    /// this build: a retained build serves the card it was built with. Empty by default (no
    /// card); keep the text in a file beside the code and compile it in with
    /// `include_str!("../card.md")`. At most [`MAX_STRING_LEN`](crate::info::MAX_STRING_LEN)
    /// bytes.
    fn model_card() -> &'static str {
        ""
    }

    /// Builds an instance; `config` has already been checked against the parameter schema.
    fn new(config: &Config) -> Result<Self, String>;

    /// Scores one scenario: `inputs` in the order of [`Metadata::inputs`], then of
    /// [`ScoringPlugin::own_inputs`]; writes the score and every component to `out`. An `Err`
    /// fails this row only.
    fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String>;

    /// Scores a batch. The default scores row by row and looks at the cancel flag every
    /// [`CANCEL_CHECK_INTERVAL`] rows. Override it to vectorise, or to look at the flag more
    /// often in a slow model.
    fn score_batch(&mut self, batch: &mut Batch<'_>) -> Result<(), Cancelled> {
        for row in 0..batch.rows() {
            if row % CANCEL_CHECK_INTERVAL == 0 && batch.is_cancelled() {
                return Err(Cancelled);
            }
            let (inputs, mut out) = batch.row(row);
            let result = self.score(inputs, &mut out);
            batch.finish_row(row, result);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[Parameter] = &[
        Parameter::new("weight", "", 0.5, 0.0, 1.0, "a weight"),
        Parameter::new("months", "months", 6.0, 0.0, 60.0, "a delay"),
    ];

    #[test]
    fn config_applies_values_over_defaults() {
        let config = Config::parse("# comment\n\nweight = 0.25  # trailing\n", SCHEMA)
            .expect("valid config");
        assert_eq!(config.get("weight"), Ok(0.25));
        assert_eq!(config.get("months"), Ok(6.0));
        assert!(config.is_set("weight"));
        assert!(!config.is_set("months"));
    }

    #[test]
    fn config_unknown_keys_are_listed_with_the_known_ones() {
        let err = Config::parse("wieght = 1\nspeed=2", SCHEMA).expect_err("unknown keys");
        assert!(err.contains("`wieght`") && err.contains("`speed`"), "{err}");
        assert!(err.contains("known: weight, months"), "{err}");
    }

    #[test]
    fn config_rejects_out_of_range_non_numbers_duplicates_and_garbage() {
        let err = Config::parse("weight = 2\nmonths = soon\nweight=1\nnonsense", SCHEMA)
            .expect_err("bad config");
        assert!(err.contains("outside [0, 1]"), "{err}");
        assert!(err.contains("`soon` is not a number"), "{err}");
        assert!(err.contains("set twice"), "{err}");
        assert!(err.contains("expected `key = value`"), "{err}");
        assert!(Config::parse("weight = NaN", SCHEMA).is_err());
        assert!(Config::parse("weight = inf", SCHEMA).is_err());
    }

    #[test]
    fn config_get_of_an_undeclared_parameter_is_an_error() {
        assert!(Config::defaults(SCHEMA).get("other").is_err());
    }

    #[test]
    fn batch_rejects_mismatched_sizes() {
        let inputs = [0.0; 6];
        let mut outputs = [0.0; 4];
        let mut status = [0; 2];
        assert!(Batch::new(&inputs, 3, &mut outputs, 2, &mut status, None).is_ok());
        assert!(Batch::new(&inputs, 2, &mut outputs, 2, &mut status, None).is_err());
        assert!(Batch::new(&inputs, 3, &mut outputs, 3, &mut status, None).is_err());
    }

    #[test]
    fn batch_keeps_the_message_of_the_lowest_failed_row() {
        let inputs = [0.0; 3];
        let mut outputs = [0.0; 3];
        let mut status = [0; 3];
        let mut batch =
            Batch::new(&inputs, 1, &mut outputs, 1, &mut status, None).expect("sizes agree");
        batch.set_error(2, "two".into());
        batch.set_error(1, "one".into());
        batch.set_error(2, "two again".into());
        assert_eq!(batch.first_error(), Some((1, "one")));
        assert_eq!(
            batch.statuses(),
            &[status::NOT_RUN, status::ERROR, status::ERROR]
        );
    }

    #[test]
    fn metadata_views_point_at_the_same_static_strings() {
        const INPUTS: &[Input] = &[Input::new("pool.eur_bn", "EUR bn")];
        const METADATA: Metadata = Metadata {
            id: "x",
            name: "X",
            version: "1",
            description: "",
            build_id: "",
            inputs: INPUTS,
            components: &[],
            score: Component::new("score", "points", 0.0, 1.0, ""),
            parameters: SCHEMA,
        };
        let raw = METADATA.to_raw();
        assert_eq!(raw.n_inputs, 1);
        assert_eq!(raw.inputs.cast::<Input>(), INPUTS.as_ptr());
        assert_eq!(INPUTS[0].name(), "pool.eur_bn");
        assert_eq!(SCHEMA[1].unit(), "months");
    }
}
