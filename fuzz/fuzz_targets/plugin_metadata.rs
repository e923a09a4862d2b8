//! The loader's metadata checks on hostile metadata: `PluginMetadata::from_raw` (what the host
//! runs on the `RawMetadata` a plugin's `metadata` function writes) with views and arrays built
//! from the fuzz input, including non-UTF-8 text, null pointers, misaligned arrays and lengths
//! that lie. Every view handed over is readable for the length it claims, except views whose
//! length is above the documented limits, which the checks must refuse before reading (an
//! over-read there is caught by AddressSanitizer). Accepted metadata is exactly what was given
//! and has no structural problem; refused metadata lists at least one problem.
#![no_main]

use arbitrary::Arbitrary;
use leverage_fuzz::Float;
use leverage_plugin_api::PluginMetadata;
use leverage_plugin_api::abi::{RawComponent, RawInput, RawMetadata, RawParameter, StrView};
use leverage_plugin_api::info::{MAX_ITEMS, MAX_STRING_LEN};
use libfuzzer_sys::fuzz_target;

/// How a view or an array is presented.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum Shape {
    Honest,
    Null,
    /// Claims more than the limit; must be refused unread.
    Huge(u32),
    /// For arrays: one byte off alignment (the buffer has room for the claimed length).
    Misaligned,
}

#[derive(Arbitrary, Debug)]
struct Text {
    bytes: Vec<u8>,
    shape: Shape,
}

#[derive(Arbitrary, Debug)]
struct Comp {
    name: Text,
    unit: Text,
    description: Text,
    min: Float,
    max: Float,
}

#[derive(Arbitrary, Debug)]
struct Param {
    name: Text,
    unit: Text,
    description: Text,
    default: Float,
    min: Float,
    max: Float,
}

#[derive(Arbitrary, Debug)]
struct Input {
    id: Text,
    name: Text,
    version: Text,
    description: Text,
    build_id: Text,
    inputs: Vec<(Text, Text)>,
    inputs_shape: Shape,
    components: Vec<Comp>,
    components_shape: Shape,
    score: Comp,
    parameters: Vec<Param>,
    parameters_shape: Shape,
}

/// A view of `t`, and whether it is honest and valid UTF-8 (then the text it must read as).
fn view(t: &Text) -> (StrView, Option<String>) {
    match t.shape {
        Shape::Honest | Shape::Misaligned => (
            StrView {
                ptr: if t.bytes.is_empty() {
                    core::ptr::null()
                } else {
                    t.bytes.as_ptr()
                },
                len: t.bytes.len(),
            },
            String::from_utf8(t.bytes.clone()).ok(),
        ),
        Shape::Null => (
            StrView {
                ptr: core::ptr::null(),
                len: t.bytes.len().max(1),
            },
            None,
        ),
        Shape::Huge(extra) => (
            StrView {
                ptr: t.bytes.as_ptr(),
                len: MAX_STRING_LEN + 1 + extra as usize,
            },
            None,
        ),
    }
}

/// Storage for an array of `T` presented with `shape`: (pointer, claimed length, honest).
struct Array<T> {
    _storage: Vec<u8>,
    _t: core::marker::PhantomData<T>,
}

impl<T: Copy> Array<T> {
    fn new(items: &[T], shape: Shape) -> (Self, *const T, usize, bool) {
        let size = core::mem::size_of::<T>();
        let align = core::mem::align_of::<T>();
        let mut storage = vec![0u8; items.len() * size + 2 * align];
        let base = storage.as_mut_ptr();
        let aligned = base.wrapping_add(base.align_offset(align));
        let offset = match shape {
            Shape::Misaligned => 1,
            _ => 0,
        };
        let start = aligned.wrapping_add(offset);
        for (i, item) in items.iter().enumerate() {
            // SAFETY: `storage` has room for every item after `start` (at most `align` in).
            unsafe { start.add(i * size).cast::<T>().write_unaligned(*item) };
        }
        let (ptr, len, honest) = match shape {
            Shape::Honest => (start.cast::<T>().cast_const(), items.len(), true),
            Shape::Misaligned => (
                start.cast::<T>().cast_const(),
                items.len(),
                items.is_empty(),
            ),
            Shape::Null => (core::ptr::null(), items.len(), items.is_empty()),
            Shape::Huge(extra) => (
                start.cast::<T>().cast_const(),
                MAX_ITEMS + 1 + extra as usize,
                false,
            ),
        };
        (
            Array {
                _storage: storage,
                _t: core::marker::PhantomData,
            },
            ptr,
            len,
            honest,
        )
    }
}

fuzz_target!(|input: Input| {
    let mut honest = true;
    let mut text = |t: &Text| {
        let (v, s) = view(t);
        honest &= s.is_some();
        (v, s.unwrap_or_default())
    };
    let (id, id_s) = text(&input.id);
    let (name, name_s) = text(&input.name);
    let (version, version_s) = text(&input.version);
    let (description, description_s) = text(&input.description);
    let (build_id, build_id_s) = text(&input.build_id);
    let mut raw_inputs = Vec::new();
    let mut input_names = Vec::new();
    for (n, u) in input.inputs.iter().take(64) {
        let (nv, ns) = text(n);
        let (uv, _) = text(u);
        raw_inputs.push(RawInput { name: nv, unit: uv });
        input_names.push(ns);
    }
    let mut comp = |c: &Comp| {
        let (n, ns) = text(&c.name);
        let (u, _) = text(&c.unit);
        let (d, _) = text(&c.description);
        (
            RawComponent {
                name: n,
                unit: u,
                description: d,
                min: c.min.value(-10.0, 10.0),
                max: c.max.value(-10.0, 10.0),
            },
            ns,
        )
    };
    let comps: Vec<_> = input.components.iter().take(64).map(&mut comp).collect();
    let (score, score_name) = comp(&input.score);
    let mut raw_params = Vec::new();
    for p in input.parameters.iter().take(64) {
        let (n, _) = text(&p.name);
        let (u, _) = text(&p.unit);
        let (d, _) = text(&p.description);
        raw_params.push(RawParameter {
            name: n,
            unit: u,
            description: d,
            default: p.default.value(-10.0, 10.0),
            min: p.min.value(-10.0, 10.0),
            max: p.max.value(-10.0, 10.0),
        });
    }
    let raw_comps: Vec<RawComponent> = comps.iter().map(|(c, _)| *c).collect();
    let (_keep_inputs, inputs_ptr, n_inputs, inputs_honest) =
        Array::new(&raw_inputs, input.inputs_shape);
    let (_keep_comps, comps_ptr, n_comps, comps_honest) =
        Array::new(&raw_comps, input.components_shape);
    let (_keep_params, params_ptr, n_params, params_honest) =
        Array::new(&raw_params, input.parameters_shape);
    let raw = RawMetadata {
        id,
        name,
        version,
        description,
        build_id,
        inputs: inputs_ptr,
        n_inputs,
        components: comps_ptr,
        n_components: n_comps,
        score,
        parameters: params_ptr,
        n_parameters: n_params,
        // What ABI 1.1 and 1.2 appended (own inputs, the model card): empty here.
        ..RawMetadata::EMPTY
    };
    // Views and arrays that are not honest are only those the checks must refuse unread.
    // SAFETY: every honest view and array points into live buffers of the claimed length; the
    // others are null, misaligned or claim more than the limits (refused before any read).
    let result = unsafe { PluginMetadata::from_raw(&raw) };
    let _ = honest;
    match result {
        Ok(m) => {
            assert!(m.problems().is_empty(), "{:?}", m.problems());
            assert_eq!(m.id, id_s);
            assert_eq!(m.name, name_s);
            assert_eq!(m.version, version_s);
            assert_eq!(m.description, description_s);
            assert_eq!(m.build_id, build_id_s);
            assert_eq!(m.score.name, score_name);
            assert!(inputs_honest, "a dishonest inputs array was accepted");
            assert!(comps_honest, "a dishonest components array was accepted");
            assert!(params_honest, "a dishonest parameters array was accepted");
            let names: Vec<&str> = m.inputs.iter().map(|i| i.name.as_str()).collect();
            assert_eq!(
                names,
                input_names.iter().map(String::as_str).collect::<Vec<_>>()
            );
            assert_eq!(m.components.len(), raw_comps.len());
            assert_eq!(m.parameters.len(), raw_params.len());
            assert_eq!(m.output_width(), 1 + raw_comps.len());
            for c in m.components.iter().chain([&m.score]) {
                assert!(c.min.is_finite() && c.max.is_finite() && c.min <= c.max);
            }
            for p in &m.parameters {
                assert!(p.min <= p.default && p.default <= p.max);
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty());
        }
    }
});
