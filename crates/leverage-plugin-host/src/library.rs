//! Opening a plugin library and reading its header, function table and metadata.
//!
//! Libraries are never unloaded: once `dlopen` succeeds the handle is leaked on purpose. Rust
//! code in a plugin may register thread-local destructors (any `thread_local!` with a `Drop`
//! value, including inside std) that run when a thread exits; after a `dlclose` those destructors
//! would jump into unmapped code. The static metadata the host read stays valid for the same
//! reason. The cost is the mapping of each loaded version, which reload keeps small by loading
//! only files whose content changed.

use std::path::Path;

use leverage_plugin_api::PluginMetadata;
use leverage_plugin_api::abi::{
    self, CreateFn, DestroyFn, EntryFn, HeaderPrefix, MetadataFn, PluginHeader, RawMetadata,
    ScoreBatchFn, StrView, status,
};
use libloading::Library;

use crate::error::{BuildInfo, RefuseReason};

/// Longest build-info string read from a header.
const MAX_BUILD_STRING: usize = 256;

/// The function table, with every entry checked non-null.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VTable {
    pub(crate) create: CreateFn,
    pub(crate) destroy: DestroyFn,
    pub(crate) score_batch: ScoreBatchFn,
}

/// A library that passed every header check, with its metadata.
#[derive(Debug)]
pub(crate) struct OpenedPlugin {
    pub(crate) build: BuildInfo,
    pub(crate) vtable: VTable,
    pub(crate) metadata: PluginMetadata,
}

/// Why opening failed, with whatever was learned before the failure (for reports).
#[derive(Debug)]
pub(crate) struct OpenFailure {
    pub(crate) reason: RefuseReason,
    pub(crate) build: Option<BuildInfo>,
}

impl From<RefuseReason> for Box<OpenFailure> {
    fn from(reason: RefuseReason) -> Self {
        Box::new(OpenFailure {
            reason,
            build: None,
        })
    }
}

fn dlopen(path: &Path) -> Result<Library, libloading::Error> {
    #[cfg(unix)]
    {
        use libloading::os::unix::{Library as UnixLibrary, RTLD_LOCAL, RTLD_NOW};
        // RTLD_NOW: resolve every symbol now, so a missing one refuses the plugin instead of
        // aborting the process at its first call. RTLD_LOCAL: plugins all export the same entry
        // symbol; keep each one's symbols to itself.
        // SAFETY: loading runs the library's initialisers. That is the trust the server places in
        // the plugin directory; the header checks below guard everything after it.
        unsafe { UnixLibrary::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Library::from)
    }
    #[cfg(not(unix))]
    {
        // SAFETY: as above.
        unsafe { Library::new(path) }
    }
}

/// Loads `path` (a private copy of the plugin file) and checks it.
pub(crate) fn open(path: &Path) -> Result<OpenedPlugin, Box<OpenFailure>> {
    let library = dlopen(path).map_err(|error| RefuseReason::NotALibrary {
        error: error.to_string(),
    })?;
    // Never unloaded: see the module documentation.
    let library: &'static Library = Box::leak(Box::new(library));

    // SAFETY: the symbol is declared by the ABI as `EntryFn`; a library that exports the name
    // with another type breaks the contract of the plugin directory (we cannot check a type).
    let entry: EntryFn = match unsafe { library.get::<EntryFn>(abi::ENTRY_SYMBOL) } {
        Ok(symbol) => *symbol,
        Err(error) => {
            return Err(RefuseReason::MissingEntry {
                error: error.to_string(),
            }
            .into());
        }
    };
    // SAFETY: `EntryFn` takes nothing and returns a pointer; the library stays loaded forever.
    let header_ptr = unsafe { entry() };
    if header_ptr.is_null() || !header_ptr.is_aligned() {
        return Err(RefuseReason::BadHeaderPointer.into());
    }

    // SAFETY: non-null and aligned; every ABI version starts with `HeaderPrefix`, a plain struct
    // of integers and pointers for which any bit pattern is valid. Only the prefix is read until
    // the version is known to match.
    let prefix: HeaderPrefix = unsafe { header_ptr.cast::<HeaderPrefix>().read() };
    if prefix.magic != abi::MAGIC {
        return Err(RefuseReason::WrongMagic {
            found: prefix.magic,
        }
        .into());
    }
    let build = BuildInfo {
        abi_major: prefix.abi_major,
        abi_minor: prefix.abi_minor,
        // SAFETY: the magic matched, so these are the plugin's build strings in static memory.
        api_version: unsafe { build_string(prefix.api_version) },
        // SAFETY: as above.
        rustc_version: unsafe { build_string(prefix.rustc_version) },
        panic_strategy: prefix.panic_strategy,
    };
    let with_build = |reason: RefuseReason| {
        Box::new(OpenFailure {
            reason,
            build: Some(build.clone()),
        })
    };

    if build.abi_major != abi::ABI_MAJOR {
        return Err(with_build(RefuseReason::AbiMajor {
            build: build.clone(),
            host_major: abi::ABI_MAJOR,
            host_minor: abi::ABI_MINOR,
            host_api: abi::API_VERSION.to_owned(),
        }));
    }
    let Some(expected) = abi::layout_fingerprint_for_minor(build.abi_minor) else {
        return Err(with_build(RefuseReason::AbiMinorTooNew {
            build: build.clone(),
            host_major: abi::ABI_MAJOR,
            host_minor: abi::ABI_MINOR,
        }));
    };
    // SAFETY: same major version, so the header has the `PluginHeader` layout of this major.
    let header: PluginHeader = unsafe { header_ptr.read() };
    if header.layout_fingerprint != expected {
        return Err(with_build(RefuseReason::LayoutMismatch {
            build: build.clone(),
            found: header.layout_fingerprint,
            expected,
        }));
    }
    if build.panic_strategy != abi::PANIC_UNWIND {
        return Err(with_build(RefuseReason::PanicStrategy {
            build: build.clone(),
        }));
    }

    if header.vtable.is_null() || !header.vtable.is_aligned() {
        return Err(with_build(RefuseReason::NullFunction { name: "vtable" }));
    }
    // No minor has appended to the table so far (1.1 appended to the metadata only). When one
    // does, read a plugin of an older minor entry by entry (`addr_of!`) up to what its minor
    // has, never the whole current table.
    // SAFETY: non-null, aligned, and the fingerprint matched this minor's layout, in which the
    // table is a `PluginVTable` of nullable function pointers (any value is valid).
    let table = unsafe { header.vtable.read() };
    let metadata_fn: MetadataFn = table
        .metadata
        .ok_or_else(|| with_build(RefuseReason::NullFunction { name: "metadata" }))?;
    let vtable = VTable {
        create: table
            .create
            .ok_or_else(|| with_build(RefuseReason::NullFunction { name: "create" }))?,
        destroy: table
            .destroy
            .ok_or_else(|| with_build(RefuseReason::NullFunction { name: "destroy" }))?,
        score_batch: table.score_batch.ok_or_else(|| {
            with_build(RefuseReason::NullFunction {
                name: "score_batch",
            })
        })?,
    };

    let mut raw = RawMetadata::EMPTY;
    // SAFETY: `metadata` is called with a valid output slot, as the ABI specifies.
    let code = unsafe { metadata_fn(&mut raw) };
    if code != status::OK {
        return Err(with_build(RefuseReason::MetadataFailed { status: code }));
    }
    forget_fields_after_minor(&mut raw, header.prefix.abi_minor);
    // SAFETY: the views point into the plugin's static memory, which is never unmapped; lengths,
    // null pointers and UTF-8 are checked by `from_raw`.
    let metadata = unsafe { PluginMetadata::from_raw(&raw) }
        .map_err(|problems| with_build(RefuseReason::BadMetadata { problems }))?;

    Ok(OpenedPlugin {
        build,
        vtable,
        metadata,
    })
}

/// Empties the metadata fields that came after the plugin's minor: its metadata ends before
/// them, so whatever the slot holds there was not written by the plugin.
fn forget_fields_after_minor(raw: &mut RawMetadata, minor: u16) {
    if minor < 1 {
        raw.own_inputs = core::ptr::null();
        raw.n_own_inputs = 0;
    }
    if minor < 2 {
        raw.model_card = StrView::EMPTY;
    }
}

/// Reads a build-info string, lossily and bounded: it is for messages only.
///
/// # Safety
///
/// A non-null view with a length up to [`MAX_BUILD_STRING`] must point to that many readable
/// bytes.
unsafe fn build_string(view: StrView) -> String {
    if view.len > MAX_BUILD_STRING {
        return format!("(unreadable: {} bytes)", view.len);
    }
    // SAFETY: forwarded from this function's contract.
    match unsafe { view.bytes() } {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => "(missing)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leverage_plugin_api::abi::RawOwnInput;

    /// A slot as a plugin of the current minor fills it, with every appended field set.
    fn filled() -> RawMetadata {
        static OWN: [u8; 0] = [];
        RawMetadata {
            own_inputs: OWN.as_ptr().cast::<RawOwnInput>(),
            n_own_inputs: 3,
            model_card: StrView::from_static("# card"),
            ..RawMetadata::EMPTY
        }
    }

    #[test]
    fn fields_a_plugin_of_an_older_minor_never_wrote_are_not_read() {
        let mut raw = filled();
        forget_fields_after_minor(&mut raw, 0);
        assert!(raw.own_inputs.is_null());
        assert_eq!((raw.n_own_inputs, raw.model_card.len), (0, 0));

        let mut raw = filled();
        forget_fields_after_minor(&mut raw, 1);
        assert_eq!(raw.n_own_inputs, 3, "1.1 has own inputs");
        assert_eq!(raw.model_card.len, 0, "1.1 has no card");
        assert!(raw.model_card.ptr.is_null());

        let mut raw = filled();
        forget_fields_after_minor(&mut raw, 2);
        assert_eq!(
            (raw.n_own_inputs, raw.model_card.len),
            (3, 6),
            "1.2 has both"
        );
    }
}
