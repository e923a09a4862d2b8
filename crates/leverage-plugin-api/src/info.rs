//! Owned, checked copies of what a plugin says about itself, read from the raw ABI. Used by the
//! host and by [`testing`](crate::testing), so that a plugin's own tests apply the same checks as
//! the server.

use crate::abi::{RawComponent, RawInput, RawMetadata, RawOwnInput, RawParameter, StrView};

/// Longest string accepted in metadata, in bytes: anything longer is taken as a broken pointer.
pub const MAX_STRING_LEN: usize = 64 * 1024;
/// Most entries accepted in one metadata array.
pub const MAX_ITEMS: usize = 4096;
/// Longest plugin id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// A named input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputInfo {
    /// Catalog name.
    pub name: String,
    /// Unit.
    pub unit: String,
}

/// An input the plugin declares itself, with its range and default.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnInputInfo {
    /// Name, unique among all the plugin's inputs.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Meaning.
    pub description: String,
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
    /// Value used when a scenario leaves it unset; `None` when a scenario must set it.
    pub default: Option<f64>,
}

impl OwnInputInfo {
    /// Whether `value` is finite and within the declared range.
    pub fn accepts(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min && value <= self.max
    }
}

/// A named output (component or score) with its declared range.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentInfo {
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Meaning.
    pub description: String,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
}

/// A configurable parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterInfo {
    /// Key.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Meaning.
    pub description: String,
    /// Default value.
    pub default: f64,
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
}

/// What a plugin declares about itself, copied out of its memory and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginMetadata {
    /// Identifier calls are routed by.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Build identifier.
    pub build_id: String,
    /// Catalog inputs in the order the plugin reads them.
    pub inputs: Vec<InputInfo>,
    /// The plugin's own inputs (ABI 1.1), read after `inputs` in each row, in this order.
    pub own_inputs: Vec<OwnInputInfo>,
    /// Components in output order (after the score).
    pub components: Vec<ComponentInfo>,
    /// The score.
    pub score: ComponentInfo,
    /// Parameters.
    pub parameters: Vec<ParameterInfo>,
    /// The model card (ABI 1.2), markdown; empty when the plugin carries none (every plugin of
    /// ABI 1.0 or 1.1).
    pub model_card: String,
}

impl PluginMetadata {
    /// Number of `f64` per output row: the score and each component.
    pub fn output_width(&self) -> usize {
        1 + self.components.len()
    }

    /// Number of `f64` per input row: the catalog inputs, then the plugin's own.
    pub fn input_width(&self) -> usize {
        self.inputs.len() + self.own_inputs.len()
    }

    /// The plugin's own input called `name`, with its position among the own inputs.
    pub fn own_input(&self, name: &str) -> Option<(usize, &OwnInputInfo)> {
        self.own_inputs
            .iter()
            .enumerate()
            .find(|(_, input)| input.name == name)
    }

    /// Every parameter's value, in declared order, under configuration `text` (read as the SDK
    /// reads it) with `overrides` applied on top. An override must name a declared parameter,
    /// once, with a finite value within its range; every problem is collected into one message.
    pub fn parameter_values(
        &self,
        text: &str,
        overrides: &[(String, f64)],
    ) -> Result<Vec<f64>, String> {
        let declared: Vec<(&str, f64, f64, f64)> = self
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.default, p.min, p.max))
            .collect();
        let mut values: Vec<f64> = crate::sdk::parse_config(text, &declared)?
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        let mut problems = Vec::new();
        for (i, (name, value)) in overrides.iter().enumerate() {
            match self.parameters.iter().position(|p| p.name == *name) {
                None => problems.push(format!("`{name}` is not a parameter of `{}`", self.id)),
                Some(_) if overrides[..i].iter().any(|(n, _)| n == name) => {
                    problems.push(format!("`{name}` is set twice"));
                }
                Some(at) => {
                    let p = &self.parameters[at];
                    if value.is_finite() && *value >= p.min && *value <= p.max {
                        values[at] = *value;
                    } else {
                        problems.push(format!(
                            "`{name}` = {value} is outside [{}, {}]",
                            p.min, p.max
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(problems.join("; "))
        }
    }

    /// Configuration text that sets every parameter to `values` (declared order). `f64`'s
    /// `Display` is exact, so the plugin reads back the very same numbers.
    pub fn config_text(&self, values: &[f64]) -> String {
        self.parameters
            .iter()
            .zip(values)
            .map(|(p, value)| format!("{} = {value}\n", p.name))
            .collect()
    }

    /// Copies `raw` out of the plugin's memory and checks it, collecting every problem.
    ///
    /// # Safety
    ///
    /// Every non-null view and array in `raw` must point to readable memory of the stated length
    /// that stays valid during the call (for a plugin: its static data, which the host never
    /// unloads). Null pointers, lengths that are implausibly large and bytes that are not UTF-8
    /// are detected and reported.
    pub unsafe fn from_raw(raw: &RawMetadata) -> Result<PluginMetadata, Vec<String>> {
        let mut problems = Vec::new();
        let mut reader = Reader {
            problems: &mut problems,
        };
        // SAFETY (all calls below): forwarded from this function's contract.
        let metadata = unsafe {
            PluginMetadata {
                id: reader.string("id", raw.id),
                name: reader.string("name", raw.name),
                version: reader.string("version", raw.version),
                description: reader.string("description", raw.description),
                build_id: reader.string("build_id", raw.build_id),
                inputs: reader
                    .array("inputs", raw.inputs, raw.n_inputs)
                    .iter()
                    .enumerate()
                    .map(|(i, input)| reader.input(i, input))
                    .collect(),
                components: reader
                    .array("components", raw.components, raw.n_components)
                    .iter()
                    .enumerate()
                    .map(|(i, component)| reader.component(&format!("components[{i}]"), component))
                    .collect(),
                own_inputs: reader
                    .array("own_inputs", raw.own_inputs, raw.n_own_inputs)
                    .iter()
                    .enumerate()
                    .map(|(i, input)| reader.own_input(i, input))
                    .collect(),
                score: reader.component("score", &raw.score),
                parameters: reader
                    .array("parameters", raw.parameters, raw.n_parameters)
                    .iter()
                    .enumerate()
                    .map(|(i, parameter)| reader.parameter(i, parameter))
                    .collect(),
                model_card: reader.string("model_card", raw.model_card),
            }
        };
        problems.extend(metadata.problems());
        if problems.is_empty() {
            Ok(metadata)
        } else {
            Err(problems)
        }
    }

    /// Structural problems: empty or malformed id, duplicate names, empty or inverted ranges,
    /// defaults outside their range.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.id.is_empty() {
            problems.push("id is empty".to_owned());
        } else if self.id.len() > MAX_ID_LEN
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            problems.push(format!(
                "id `{}` must be 1 to {MAX_ID_LEN} characters of a-z, A-Z, 0-9, `-`, `_`, `.`",
                self.id
            ));
        }
        if self.name.trim().is_empty() {
            problems.push("name is empty".to_owned());
        }
        if self.version.trim().is_empty() {
            problems.push("version is empty".to_owned());
        }
        let input_names: Vec<&str> = self
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .chain(self.own_inputs.iter().map(|i| i.name.as_str()))
            .collect();
        check_names("input", &input_names, &mut problems);
        for input in &self.own_inputs {
            let what = format!("own input `{}`", input.name);
            check_range(&what, input.min, input.max, &mut problems);
            if let Some(default) = input.default
                && !input.accepts(default)
                && input.min <= input.max
            {
                problems.push(format!(
                    "{what}: default {default} is outside [{}, {}]",
                    input.min, input.max
                ));
            }
            if !input
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                problems.push(format!(
                    "{what}: a name is made of a-z, A-Z, 0-9, `-`, `_` and `.`"
                ));
            }
        }
        let output_names: Vec<&str> = self.components.iter().map(|c| c.name.as_str()).collect();
        check_names("component", &output_names, &mut problems);
        if output_names.contains(&self.score.name.as_str()) {
            problems.push(format!(
                "component name `{}` is also the score's name",
                self.score.name
            ));
        }
        for component in self.components.iter().chain([&self.score]) {
            check_range(
                &format!("range of `{}`", component.name),
                component.min,
                component.max,
                &mut problems,
            );
        }
        let parameter_names: Vec<&str> = self.parameters.iter().map(|p| p.name.as_str()).collect();
        check_names("parameter", &parameter_names, &mut problems);
        for parameter in &self.parameters {
            let what = format!("parameter `{}`", parameter.name);
            check_range(&what, parameter.min, parameter.max, &mut problems);
            if !(parameter.min..=parameter.max).contains(&parameter.default) {
                problems.push(format!(
                    "{what}: default {} is outside [{}, {}]",
                    parameter.default, parameter.min, parameter.max
                ));
            }
        }
        problems
    }
}

fn check_names(kind: &str, names: &[&str], problems: &mut Vec<String>) {
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            problems.push(format!("{kind} {i} has an empty name"));
        } else if names[..i].contains(name) {
            problems.push(format!("duplicate {kind} name `{name}`"));
        }
    }
}

fn check_range(what: &str, min: f64, max: f64, problems: &mut Vec<String>) {
    if !min.is_finite() || !max.is_finite() {
        problems.push(format!("{what}: [{min}, {max}] must be finite"));
    } else if min > max {
        problems.push(format!("{what}: min {min} > max {max}"));
    }
}

struct Reader<'p> {
    problems: &'p mut Vec<String>,
}

impl Reader<'_> {
    /// # Safety
    /// A non-null `view` must point to `view.len` readable bytes.
    unsafe fn string(&mut self, field: &str, view: StrView) -> String {
        if view.len > MAX_STRING_LEN {
            self.problems.push(format!(
                "`{field}` claims {} bytes (more than {MAX_STRING_LEN}): a broken pointer?",
                view.len
            ));
            return String::new();
        }
        // SAFETY: forwarded from this function's contract.
        let Some(bytes) = (unsafe { view.bytes() }) else {
            self.problems.push(format!(
                "`{field}` is a null pointer with length {}",
                view.len
            ));
            return String::new();
        };
        match core::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(err) => {
                self.problems
                    .push(format!("`{field}` is not UTF-8 ({err})"));
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    /// # Safety
    /// A non-null `ptr` must point to `len` readable, initialised `T`.
    unsafe fn array<'a, T>(&mut self, field: &str, ptr: *const T, len: usize) -> &'a [T] {
        if len == 0 {
            return &[];
        }
        if len > MAX_ITEMS {
            self.problems.push(format!(
                "`{field}` claims {len} entries (more than {MAX_ITEMS}): a broken pointer?"
            ));
            return &[];
        }
        if ptr.is_null() || !ptr.is_aligned() {
            self.problems.push(format!(
                "`{field}` is a null or misaligned pointer with {len} entries"
            ));
            return &[];
        }
        // SAFETY: non-null, aligned, and by this function's contract readable for `len` `T`s.
        // `T` is one of the raw ABI structs, for which any bit pattern is a valid value.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }

    /// # Safety
    /// As [`Reader::string`] for each view.
    unsafe fn input(&mut self, index: usize, raw: &RawInput) -> InputInfo {
        // SAFETY: forwarded.
        unsafe {
            InputInfo {
                name: self.string(&format!("inputs[{index}].name"), raw.name),
                unit: self.string(&format!("inputs[{index}].unit"), raw.unit),
            }
        }
    }

    /// # Safety
    /// As [`Reader::string`] for each view.
    unsafe fn own_input(&mut self, index: usize, raw: &RawOwnInput) -> OwnInputInfo {
        // SAFETY: forwarded.
        unsafe {
            OwnInputInfo {
                name: self.string(&format!("own_inputs[{index}].name"), raw.name),
                unit: self.string(&format!("own_inputs[{index}].unit"), raw.unit),
                description: self
                    .string(&format!("own_inputs[{index}].description"), raw.description),
                min: raw.min,
                max: raw.max,
                default: (raw.required == 0).then_some(raw.default),
            }
        }
    }

    /// # Safety
    /// As [`Reader::string`] for each view.
    unsafe fn component(&mut self, field: &str, raw: &RawComponent) -> ComponentInfo {
        // SAFETY: forwarded.
        unsafe {
            ComponentInfo {
                name: self.string(&format!("{field}.name"), raw.name),
                unit: self.string(&format!("{field}.unit"), raw.unit),
                description: self.string(&format!("{field}.description"), raw.description),
                min: raw.min,
                max: raw.max,
            }
        }
    }

    /// # Safety
    /// As [`Reader::string`] for each view.
    unsafe fn parameter(&mut self, index: usize, raw: &RawParameter) -> ParameterInfo {
        // SAFETY: forwarded.
        unsafe {
            ParameterInfo {
                name: self.string(&format!("parameters[{index}].name"), raw.name),
                unit: self.string(&format!("parameters[{index}].unit"), raw.unit),
                description: self
                    .string(&format!("parameters[{index}].description"), raw.description),
                default: raw.default,
                min: raw.min,
                max: raw.max,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{Component, Input, Metadata, Parameter};

    fn read(metadata: &Metadata) -> Result<PluginMetadata, Vec<String>> {
        // SAFETY: every view points to static strings and arrays.
        unsafe { PluginMetadata::from_raw(&metadata.to_raw()) }
    }

    fn base() -> Metadata {
        const BASE: Metadata = Metadata {
            id: "model-a",
            name: "Model A",
            version: "1.0.0",
            description: "test",
            build_id: "test",
            inputs: &[Input::new("pool.eur_bn", "EUR bn")],
            components: &[Component::new("part", "points", 0.0, 10.0, "")],
            score: Component::new("score", "points", 0.0, 100.0, ""),
            parameters: &[Parameter::new("w", "", 1.0, 0.0, 2.0, "")],
        };
        BASE
    }

    #[test]
    fn well_formed_metadata_is_copied() {
        let info = read(&base()).expect("valid");
        assert_eq!(info.id, "model-a");
        assert_eq!(info.inputs[0].unit, "EUR bn");
        assert_eq!(info.output_width(), 2);
    }

    #[test]
    fn the_model_card_is_copied_and_checked_like_any_string() {
        assert_eq!(read(&base()).expect("valid").model_card, "");
        let mut raw = base().to_raw();
        raw.model_card = StrView::from_static("# Model A\n\nWhat it is for.");
        // SAFETY: every view points to static strings and arrays.
        let info = unsafe { PluginMetadata::from_raw(&raw) }.expect("valid");
        assert_eq!(info.model_card, "# Model A\n\nWhat it is for.");
        static BYTES: [u8; 2] = [0xff, 0xfe];
        raw.model_card = StrView {
            ptr: BYTES.as_ptr(),
            len: BYTES.len(),
        };
        // SAFETY: as above.
        let problems = unsafe { PluginMetadata::from_raw(&raw) }.expect_err("not UTF-8");
        assert!(
            problems.join("\n").contains("`model_card` is not UTF-8"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut bad = base();
        bad.id = "";
        bad.components = &const {
            [
                Component::new("dup", "", 0.0, 1.0, ""),
                Component::new("dup", "", 2.0, 1.0, ""),
            ]
        };
        bad.parameters = &const { [Parameter::new("w", "", 5.0, 0.0, 2.0, "")] };
        let problems = read(&bad).expect_err("invalid");
        let all = problems.join("\n");
        assert!(all.contains("id is empty"), "{all}");
        assert!(all.contains("duplicate component name `dup`"), "{all}");
        assert!(all.contains("min 2 > max 1"), "{all}");
        assert!(all.contains("default 5 is outside [0, 2]"), "{all}");
    }

    #[test]
    fn non_utf8_and_null_views_are_reported_not_trusted() {
        static BYTES: [u8; 2] = [0xff, 0xfe];
        let mut raw = base().to_raw();
        raw.name = StrView {
            ptr: BYTES.as_ptr(),
            len: BYTES.len(),
        };
        raw.description = StrView {
            ptr: core::ptr::null(),
            len: 3,
        };
        raw.n_components = MAX_ITEMS + 1;
        // SAFETY: the views that are not null point to static data of the stated length; the
        // oversized array is rejected before it is read.
        let problems = unsafe { PluginMetadata::from_raw(&raw) }.expect_err("invalid");
        let all = problems.join("\n");
        assert!(all.contains("`name` is not UTF-8"), "{all}");
        assert!(all.contains("`description` is a null pointer"), "{all}");
        assert!(all.contains("`components` claims"), "{all}");
    }
}
