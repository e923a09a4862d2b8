//! One instance of an in-process plugin: its handle, the buffers lent to it, and the calls of
//! its function table (`create`, `score_batch`, `destroy`).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8};

use leverage_plugin_api::abi::{ErrorBuffer, PluginInstance, StrView, status};

use crate::library::VTable;
use crate::plugin::ERROR_CAPACITY;

/// An instance handle; destroyed on drop.
#[derive(Debug)]
pub(crate) struct Instance {
    handle: NonNull<PluginInstance>,
    destroy: leverage_plugin_api::abi::DestroyFn,
    score_batch: leverage_plugin_api::abi::ScoreBatchFn,
    /// The buffer lent for error messages, allocated once per instance rather than per call.
    message: Box<[u8]>,
    /// Scratch buffers for the call's inputs, outputs and row statuses, reused across calls.
    inputs: Vec<f64>,
    outputs: Vec<f64>,
    row_status: Vec<i32>,
}

// SAFETY: the ABI requires instances to be usable from any thread, one thread at a time (the SDK
// enforces `ScoringPlugin: Send`); `Instance` is only ever used through `&mut`/by value, so no two
// threads touch one handle at once.
unsafe impl Send for Instance {}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: the handle came from this plugin's `create` and is destroyed exactly once,
        // here; the shim catches any panic in the plugin's destructor.
        unsafe { (self.destroy)(self.handle.as_ptr()) };
    }
}

impl Instance {
    /// Creates an instance with `vtable`'s `create` and the configuration text `config`;
    /// `create`'s status and message if that fails.
    pub(crate) fn create(vtable: &VTable, config: &str) -> Result<Instance, (i32, String)> {
        let mut message = [0u8; ERROR_CAPACITY];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        let mut handle = std::ptr::null_mut();
        // SAFETY: the configuration view, the output slot and the error buffer all outlive the
        // call, as `CreateFn` requires.
        let code = unsafe { (vtable.create)(StrView::borrowed(config), &mut handle, &mut error) };
        match (code, NonNull::new(handle)) {
            (status::OK, Some(handle)) => Ok(Instance {
                handle,
                destroy: vtable.destroy,
                score_batch: vtable.score_batch,
                message: vec![0; ERROR_CAPACITY].into_boxed_slice(),
                inputs: Vec::new(),
                outputs: Vec::new(),
                row_status: Vec::new(),
            }),
            (status::OK, None) => Err((code, "create returned OK without an instance".to_owned())),
            (code, _) => Err((code, read_message(&message, &error))),
        }
    }

    /// The input buffer: fill it with `n_rows × n_inputs` values before [`Instance::call`].
    pub(crate) fn inputs_mut(&mut self) -> &mut Vec<f64> {
        &mut self.inputs
    }

    /// The outputs of the last call: `n_rows × width`.
    pub(crate) fn outputs(&self) -> &[f64] {
        &self.outputs
    }

    /// The outputs of the last call (`n_rows × width`), taken: they become the call's result,
    /// and the next call fills a buffer of its own.
    pub(crate) fn take_outputs(&mut self) -> Vec<f64> {
        std::mem::take(&mut self.outputs)
    }

    /// The row statuses of the last call.
    pub(crate) fn row_status(&self) -> &[i32] {
        &self.row_status
    }

    /// Calls `score_batch` on the inputs in the buffer; returns its status and message.
    pub(crate) fn call(
        &mut self,
        n_rows: usize,
        n_inputs: usize,
        width: usize,
        cancel: &AtomicBool,
    ) -> (i32, String) {
        self.outputs.clear();
        self.row_status.clear();
        if n_rows.checked_mul(n_inputs) != Some(self.inputs.len()) {
            return (
                status::INVALID_ARGUMENT,
                format!(
                    "{} inputs for {n_rows} rows of {n_inputs}",
                    self.inputs.len()
                ),
            );
        }
        self.outputs.resize(n_rows * width, f64::NAN);
        self.row_status.resize(n_rows, status::NOT_RUN);
        let mut error = ErrorBuffer {
            ptr: self.message.as_mut_ptr(),
            capacity: self.message.len(),
            len: 0,
        };
        // SAFETY: buffers are sized as `ScoreBatchFn` requires (`n_rows × n_inputs` inputs,
        // checked above, `n_rows × width` outputs, `n_rows` statuses) and live across the call;
        // the instance is ours alone (`&mut self`); `AtomicBool` has the size, alignment and
        // representation of `AtomicU8`.
        let code = unsafe {
            (self.score_batch)(
                self.handle.as_ptr(),
                self.inputs.as_ptr(),
                n_rows,
                n_inputs,
                self.outputs.as_mut_ptr(),
                width,
                self.row_status.as_mut_ptr(),
                std::ptr::from_ref(cancel).cast::<AtomicU8>(),
                &mut error,
            )
        };
        (code, read_message(&self.message, &error))
    }
}

/// Whether an instance may be used again after its call returned `code`: not after a panic, nor
/// after an unknown status, which may hide a broken instance.
pub(crate) fn keeps_instance(code: i32) -> bool {
    matches!(
        code,
        status::OK | status::CANCELLED | status::INVALID_ARGUMENT | status::ERROR
    )
}

fn read_message(buffer: &[u8], error: &ErrorBuffer) -> String {
    if error.len == 0 {
        return String::new();
    }
    let written = buffer.get(..error.len).unwrap_or(buffer);
    String::from_utf8_lossy(written).into_owned()
}

/// The parts of a fake plugin that tests of the in-process backend share.
#[cfg(test)]
pub(crate) mod fake {
    use leverage_plugin_api::abi::{ErrorBuffer, PluginInstance, StrView, status};

    /// Creates an instance that is a boxed byte.
    pub(crate) unsafe extern "C" fn create(
        _config: StrView,
        instance_out: *mut *mut PluginInstance,
        _error: *mut ErrorBuffer,
    ) -> i32 {
        // SAFETY: the host passes a valid output slot.
        unsafe { *instance_out = Box::into_raw(Box::new(0u8)).cast() };
        status::OK
    }

    /// Destroys an instance of [`create`].
    pub(crate) unsafe extern "C" fn destroy(instance: *mut PluginInstance) {
        // SAFETY: `create` made it from a box.
        drop(unsafe { Box::from_raw(instance.cast::<u8>()) });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use leverage_plugin_api::abi::{ErrorBuffer, PluginInstance, status};

    use super::*;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    /// The first call fails its row with a message and writes its outputs; every later call
    /// fails its row without a word and writes nothing, so whatever it returns came from the
    /// host's buffers.
    unsafe extern "C" fn score_batch(
        _instance: *mut PluginInstance,
        _inputs: *const f64,
        rows: usize,
        _cols: usize,
        outputs: *mut f64,
        out_cols: usize,
        row_status: *mut i32,
        _cancel: *const AtomicU8,
        error: *mut ErrorBuffer,
    ) -> i32 {
        // SAFETY: the host lends buffers of the sizes the ABI promises.
        unsafe {
            if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                let secret = b"secret of the first call";
                std::ptr::copy_nonoverlapping(secret.as_ptr(), (*error).ptr, secret.len());
                (*error).len = secret.len();
                for i in 0..rows * out_cols {
                    *outputs.add(i) = 0.25;
                }
            }
            for row in 0..rows {
                *row_status.add(row) = status::ERROR;
            }
        }
        status::OK
    }

    #[test]
    fn nothing_of_one_call_reaches_the_next() {
        let vtable = VTable {
            create: fake::create,
            destroy: fake::destroy,
            score_batch,
        };
        let mut instance = Instance::create(&vtable, "").expect("created");
        let cancel = AtomicBool::new(false);
        let (code, message) = instance.call(2, 0, 2, &cancel);
        assert_eq!(
            (code, message.as_str()),
            (status::OK, "secret of the first call")
        );
        assert_eq!(instance.outputs(), [0.25; 4]);
        // The buffers are kept, not taken, so the next call reuses them.
        let (code, message) = instance.call(2, 0, 2, &cancel);
        assert_eq!((code, message.as_str()), (status::OK, ""));
        assert!(instance.outputs().iter().all(|v| v.is_nan()));
        assert_eq!(instance.row_status(), [status::ERROR; 2]);
    }
}
