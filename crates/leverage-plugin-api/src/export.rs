//! The `extern "C"` shims behind [`export_scoring_plugin!`](crate::export_scoring_plugin).
//! Public only so that the macro, [`testing`](crate::testing) and hand-written fixture headers can
//! name them; not a stable API.

use core::any::Any;
use core::sync::atomic::AtomicU8;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::{
    ABI_MAJOR, ABI_MINOR, API_VERSION, ErrorBuffer, HeaderPrefix, LAYOUT_FINGERPRINT, MAGIC,
    PANIC_ABORT, PANIC_UNKNOWN, PANIC_UNWIND, PluginHeader, PluginInstance, PluginVTable,
    RUSTC_VERSION, RawMetadata, StrView, status,
};
use crate::sdk::{Batch, Cancelled, Config, ScoringPlugin};

/// Exports a [`ScoringPlugin`] from a `cdylib`: generates the entry symbol
/// ([`ENTRY_SYMBOL`](crate::abi::ENTRY_SYMBOL)), the header and the function table, every
/// function a shim that catches panics.
///
/// Use it once per library:
///
/// ```ignore
/// leverage_plugin_api::export_scoring_plugin!(MyModel);
/// ```
///
/// The panic strategy in the header is read here, in the plugin crate, so a plugin built with
/// `panic = "abort"` says so and the host refuses it.
#[macro_export]
macro_rules! export_scoring_plugin {
    ($plugin:ty) => {
        const _: () = {
            static LEVERAGE_PLUGIN_VTABLE: $crate::abi::PluginVTable =
                $crate::__private::vtable::<$plugin>();
            static LEVERAGE_PLUGIN_HEADER: $crate::abi::PluginHeader = $crate::__private::header(
                &LEVERAGE_PLUGIN_VTABLE,
                $crate::__private::panic_strategy(cfg!(panic = "unwind"), cfg!(panic = "abort")),
            );

            /// The plugin's entry point: a pointer to its static header.
            #[unsafe(no_mangle)]
            pub extern "C" fn leverage_plugin_entry() -> *const $crate::abi::PluginHeader {
                &LEVERAGE_PLUGIN_HEADER
            }
        };
    };
}

/// The header value for the panic strategy the calling crate was compiled with.
pub const fn panic_strategy(unwind: bool, abort: bool) -> u32 {
    match (unwind, abort) {
        (true, false) => PANIC_UNWIND,
        (false, true) => PANIC_ABORT,
        _ => PANIC_UNKNOWN,
    }
}

/// The function table for `P`: the four shims, monomorphised for `P`.
pub const fn vtable<P: ScoringPlugin>() -> PluginVTable {
    PluginVTable {
        metadata: Some(metadata_shim::<P>),
        create: Some(create_shim::<P>),
        destroy: Some(destroy_shim::<P>),
        score_batch: Some(score_batch_shim::<P>),
    }
}

/// A header for this build of the API pointing at `vtable`.
pub const fn header(vtable: *const PluginVTable, panic_strategy: u32) -> PluginHeader {
    PluginHeader {
        prefix: HeaderPrefix {
            magic: MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            panic_strategy,
            api_version: StrView::from_static(API_VERSION),
            rustc_version: StrView::from_static(RUSTC_VERSION),
        },
        layout_fingerprint: LAYOUT_FINGERPRINT,
        vtable,
    }
}

/// What an instance handle points to.
struct InstanceBox<P> {
    plugin: P,
    n_inputs: usize,
    out_cols: usize,
}

/// Runs `body`, turning a panic into [`status::PANIC`] with its message in `error`.
fn guard(error: *mut ErrorBuffer, body: impl FnOnce() -> i32) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            write_error(error, &format!("plugin panicked: {message}"));
            drop_payload(payload);
            status::PANIC
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(panic payload is not a string)"
    }
}

/// Drops a panic payload without letting a panicking destructor unwind into the host.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        core::mem::forget(second);
    }
}

/// Copies as much of `message` as fits into the host's buffer, cut at a character boundary.
fn write_error(error: *mut ErrorBuffer, message: &str) {
    if error.is_null() || !error.is_aligned() {
        return;
    }
    // SAFETY: the host passes either null (handled above) or a pointer to an `ErrorBuffer` it
    // owns for the duration of this call and does not touch meanwhile.
    let buffer = unsafe { &mut *error };
    if buffer.ptr.is_null() {
        buffer.len = 0;
        return;
    }
    let mut len = message.len().min(buffer.capacity);
    while !message.is_char_boundary(len) {
        len -= 1;
    }
    // SAFETY: `buffer.ptr` is writable for `capacity >= len` bytes (host contract) and cannot
    // overlap `message`, which lives in plugin memory.
    unsafe { core::ptr::copy_nonoverlapping(message.as_ptr(), buffer.ptr, len) };
    buffer.len = len;
}

fn invalid(error: *mut ErrorBuffer, message: &str) -> i32 {
    write_error(error, message);
    status::INVALID_ARGUMENT
}

/// # Safety
///
/// The caller honours the contract of [`MetadataFn`](crate::abi::MetadataFn).
unsafe extern "C" fn metadata_shim<P: ScoringPlugin>(out: *mut RawMetadata) -> i32 {
    guard(core::ptr::null_mut(), || {
        if out.is_null() || !out.is_aligned() {
            return status::INVALID_ARGUMENT;
        }
        let raw = RawMetadata {
            model_card: StrView::from_static(P::model_card()),
            ..P::metadata().to_raw_with(P::own_inputs())
        };
        // SAFETY: `out` is non-null and aligned; the host provides a `RawMetadata` slot.
        unsafe { out.write(raw) };
        status::OK
    })
}

/// # Safety
///
/// The caller honours the contract of [`CreateFn`](crate::abi::CreateFn).
unsafe extern "C" fn create_shim<P: ScoringPlugin>(
    config: StrView,
    instance_out: *mut *mut PluginInstance,
    error: *mut ErrorBuffer,
) -> i32 {
    guard(error, || {
        if instance_out.is_null() || !instance_out.is_aligned() {
            return invalid(error, "instance_out is null or misaligned");
        }
        // SAFETY: the host's configuration view is valid for the duration of the call.
        let Some(bytes) = (unsafe { config.bytes() }) else {
            return invalid(
                error,
                "configuration is a null pointer with a non-zero length",
            );
        };
        let Ok(text) = core::str::from_utf8(bytes) else {
            write_error(error, "configuration is not UTF-8");
            return status::ERROR;
        };
        let metadata = P::metadata();
        let config = match Config::parse(text, metadata.parameters) {
            Ok(config) => config,
            Err(message) => {
                write_error(error, &message);
                return status::ERROR;
            }
        };
        match P::new(&config) {
            Ok(plugin) => {
                let instance = Box::new(InstanceBox {
                    plugin,
                    n_inputs: metadata.inputs.len() + P::own_inputs().len(),
                    out_cols: 1 + metadata.components.len(),
                });
                let handle = Box::into_raw(instance).cast::<PluginInstance>();
                // SAFETY: `instance_out` is non-null and aligned; the host provides the slot.
                unsafe { instance_out.write(handle) };
                status::OK
            }
            Err(message) => {
                write_error(error, &message);
                status::ERROR
            }
        }
    })
}

/// # Safety
///
/// The caller honours the contract of [`DestroyFn`](crate::abi::DestroyFn).
unsafe extern "C" fn destroy_shim<P: ScoringPlugin>(instance: *mut PluginInstance) {
    if instance.is_null() {
        return;
    }
    guard(core::ptr::null_mut(), || {
        // SAFETY: the host passes a handle made by `create_shim::<P>` (the same table), exactly
        // once, and never uses it again.
        drop(unsafe { Box::from_raw(instance.cast::<InstanceBox<P>>()) });
        status::OK
    });
}

/// # Safety
///
/// The caller honours the contract of [`ScoreBatchFn`](crate::abi::ScoreBatchFn).
#[allow(clippy::too_many_arguments)] // the ABI signature, see `ScoreBatchFn`
unsafe extern "C" fn score_batch_shim<P: ScoringPlugin>(
    instance: *mut PluginInstance,
    inputs: *const f64,
    rows: usize,
    cols: usize,
    outputs: *mut f64,
    out_cols: usize,
    row_status: *mut i32,
    cancel: *const AtomicU8,
    error: *mut ErrorBuffer,
) -> i32 {
    guard(error, || {
        if instance.is_null() || !instance.cast::<InstanceBox<P>>().is_aligned() {
            return invalid(error, "instance is null or misaligned");
        }
        // SAFETY: the handle was made by `create_shim::<P>` of this table and the host uses an
        // instance from one thread at a time, so this is the only reference.
        let instance = unsafe { &mut *instance.cast::<InstanceBox<P>>() };
        if cols != instance.n_inputs {
            return invalid(
                error,
                &format!(
                    "{cols} input columns passed, {} declared",
                    instance.n_inputs
                ),
            );
        }
        if out_cols != instance.out_cols {
            return invalid(
                error,
                &format!(
                    "{out_cols} output columns passed, {} expected",
                    instance.out_cols
                ),
            );
        }
        if rows == 0 {
            return status::OK;
        }
        let (Some(n_inputs), Some(n_outputs)) =
            (rows.checked_mul(cols), rows.checked_mul(out_cols))
        else {
            return invalid(error, "rows × columns overflows");
        };
        if (n_inputs > 0 && (inputs.is_null() || !inputs.is_aligned()))
            || outputs.is_null()
            || !outputs.is_aligned()
            || row_status.is_null()
            || !row_status.is_aligned()
        {
            return invalid(error, "a buffer pointer is null or misaligned");
        }
        let inputs: &[f64] = if n_inputs == 0 {
            &[]
        } else {
            // SAFETY: non-null, aligned, and the host guarantees `rows × cols` readable values
            // that it does not write during the call.
            unsafe { core::slice::from_raw_parts(inputs, n_inputs) }
        };
        // SAFETY: non-null, aligned; the host owns `rows × out_cols` writable values and does not
        // touch them during the call; they do not overlap the inputs or the statuses.
        let outputs = unsafe { core::slice::from_raw_parts_mut(outputs, n_outputs) };
        // SAFETY: as above, `rows` writable `i32`.
        let row_status = unsafe { core::slice::from_raw_parts_mut(row_status, rows) };
        // SAFETY: a non-null cancel pointer refers to one byte the host keeps alive during the
        // call and only accesses atomically.
        let cancel = unsafe { cancel.as_ref() };
        let mut batch = match Batch::new(inputs, cols, outputs, out_cols, row_status, cancel) {
            Ok(batch) => batch,
            Err(message) => return invalid(error, &message),
        };
        let outcome = instance.plugin.score_batch(&mut batch);
        if let Some((_, message)) = batch.first_error() {
            write_error(error, message);
        }
        match outcome {
            Ok(()) => status::OK,
            Err(Cancelled) => status::CANCELLED,
        }
    })
}
