//! The raw C ABI between the leverage server (the host) and a scoring plugin.
//!
//! Everything in this module is plain `#[repr(C)]` data, integer codes and `extern "C"` function
//! pointers, so that a plugin built by another rustc (or written in C or Zig) and the host agree
//! on every byte. The same definitions in C are this crate's `include/leverage_plugin.h`,
//! generated from this module; its tests fail when the committed header is out of date or a C
//! compiler lays it out otherwise. Nothing here owns memory across the boundary:
//!
//! * strings and arrays are borrowed views ([`StrView`], pointer + length pairs);
//! * the plugin's static description ([`RawMetadata`]) points into the plugin's own image, which
//!   stays mapped for the life of the process because the host never unloads a library;
//! * output buffers (scores, row statuses, error messages) are allocated by the host and filled
//!   by the plugin;
//! * an instance is an opaque handle ([`PluginInstance`]) that only the plugin dereferences and
//!   that the host hands back to `destroy` exactly once.
//!
//! # Loading
//!
//! A plugin is a shared library exporting one symbol, [`ENTRY_SYMBOL`], of type [`EntryFn`]. It
//! returns a pointer to a [`PluginHeader`] in static memory. The host reads the frozen
//! [`HeaderPrefix`] first (magic, ABI version, build info), so that it can explain a refusal for
//! any plugin, past or future; only when the major version matches, the minor is not newer than
//! the host's and the [layout fingerprint](LAYOUT_FINGERPRINT) matches does it read the rest.
//!
//! # Versioning rules
//!
//! * [`HeaderPrefix`] never changes, in any version.
//! * Changing an existing type, field, constant or function signature is a breaking change: bump
//!   [`ABI_MAJOR`] (and the major version of this crate), reset [`ABI_MINOR`] to 0.
//! * Appending a function pointer to the end of [`PluginVTable`], or appending a field to the end
//!   of a struct that the *plugin* fills and the host reads by a pointer it sizes by the minor,
//!   bumps [`ABI_MINOR`]. Record the new layout's fingerprint in [`LAYOUTS`], keeping the old
//!   entries: the host reads only the fields that exist in the plugin's minor.
//! * A host accepts a plugin with the same major and a minor not above its own. A plugin built
//!   against a newer minor is refused (it may rely on functions the host does not call).
//!
//! ## History
//!
//! * 1.0: the first ABI.
//! * 1.1: plugins may declare inputs of their own ([`RawOwnInput`]), appended to
//!   [`RawMetadata`] as `own_inputs` and `n_own_inputs`. A 1.0 plugin loads unchanged: it never
//!   writes those fields and the host does not read them from it.
//! * 1.2: a plugin may carry its model card (UTF-8 markdown: intended use, inputs and their
//!   sources, what it ignores, known limits, version history), appended to [`RawMetadata`] as
//!   `model_card`. The card is part of the build, so a retained build serves its own. A 1.0 or
//!   1.1 plugin loads unchanged, with an empty card: the host does not read the field from it.
//!
//! # Threads
//!
//! The host may call `create`, `score_batch` and `destroy` from any thread, but never uses one
//! instance from two threads at once; different instances may run concurrently. `metadata` may be
//! called at any time from any thread. A plugin must therefore be `Send` per instance and must
//! not rely on thread-local state surviving between calls.
//!
//! # Panics and unwinding
//!
//! No unwind may cross the boundary. The SDK's shims catch every panic and turn it into
//! [`status::PANIC`]. A plugin built with `panic = "abort"` would take the whole server down on a
//! panic, so its header says so ([`PANIC_ABORT`]) and the host refuses it.

#[cfg(test)]
mod c_header;

use core::marker::{PhantomData, PhantomPinned};
use core::mem::{align_of, offset_of, size_of};
use core::sync::atomic::AtomicU8;

/// Name of the one exported symbol, without the trailing NUL.
pub const ENTRY_SYMBOL: &str = "leverage_plugin_entry";

/// First eight bytes of every header: `LVRGPLUG` read as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"LVRGPLUG");

/// Major ABI version: bumped by any change to an existing type or signature.
pub const ABI_MAJOR: u16 = 1;

/// Minor ABI version: bumped when a function or a reserved field is appended.
pub const ABI_MINOR: u16 = 2;

/// Version of this crate, recorded in every plugin header.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `rustc --version` of the compiler that built this crate, and therefore the plugin that links
/// it. Recorded by this crate's build script.
pub const RUSTC_VERSION: &str = env!("LEVERAGE_PLUGIN_API_RUSTC_VERSION");

/// [`HeaderPrefix::panic_strategy`]: not stated (a hand-written header); the host refuses it.
pub const PANIC_UNKNOWN: u32 = 0;
/// [`HeaderPrefix::panic_strategy`]: the plugin was built with `panic = "unwind"`.
pub const PANIC_UNWIND: u32 = 1;
/// [`HeaderPrefix::panic_strategy`]: the plugin was built with `panic = "abort"`; refused.
pub const PANIC_ABORT: u32 = 2;

/// Status codes returned by the vtable functions and written per row. Plain `i32`s, never a Rust
/// enum: an unknown value from a newer or broken plugin must be representable.
pub mod status {
    /// Success. As a row status: the row's outputs are written.
    pub const OK: i32 = 0;
    /// The plugin reported an error; a message is in the error buffer. As a row status: this row
    /// could not be scored (the message of the lowest such row is in the error buffer).
    pub const ERROR: i32 = 1;
    /// The plugin panicked. The instance must be destroyed and not used again.
    pub const PANIC: i32 = 2;
    /// The cancel flag was seen; rows not reached have [`NOT_RUN`].
    pub const CANCELLED: i32 = 3;
    /// The host passed a null pointer or sizes that do not match the metadata.
    pub const INVALID_ARGUMENT: i32 = 4;
    /// Row status only: the row was not scored (the batch was cancelled before reaching it).
    pub const NOT_RUN: i32 = 5;
}

/// A borrowed UTF-8 string or byte view: `len` bytes at `ptr`. `ptr` may be null only if `len`
/// is 0. Views in metadata and headers point to memory that lives as long as the library.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StrView {
    /// First byte, or null for an empty view.
    pub ptr: *const u8,
    /// Length in bytes (not characters).
    pub len: usize,
}

impl StrView {
    /// The empty view.
    pub const EMPTY: StrView = StrView {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// A view of a static string.
    pub const fn from_static(text: &'static str) -> StrView {
        StrView {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// A view of a string that the caller keeps alive while the view is used.
    pub const fn borrowed(text: &str) -> StrView {
        StrView {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// The bytes of the view, or `None` if the pointer is null while the length is not 0.
    ///
    /// # Safety
    ///
    /// Unless null, `ptr` must point to `len` readable bytes that stay valid and unchanged for
    /// `'a`.
    pub unsafe fn bytes<'a>(&self) -> Option<&'a [u8]> {
        if self.len == 0 {
            return Some(&[]);
        }
        if self.ptr.is_null() {
            return None;
        }
        // SAFETY: non-null and, by this function's contract, valid for `len` bytes for `'a`.
        Some(unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
    }
}

// SAFETY: a view is a pointer and a length; sharing or sending the view itself reads nothing.
// Dereferencing it is `unsafe` and carries its own contract.
unsafe impl Send for StrView {}
// SAFETY: as above.
unsafe impl Sync for StrView {}

/// One named input the plugin reads, e.g. `pool.eur_bn` in `EUR bn`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawInput {
    /// Catalog name of the input.
    pub name: StrView,
    /// Unit, for people.
    pub unit: StrView,
}

/// One input the plugin declares itself (ABI 1.1): not in the server's catalog, set by name in
/// each scenario (`Scenario.inputs`) and checked by the server against this declaration. In
/// each row the plugin's own inputs follow its catalog inputs, in declared order.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawOwnInput {
    /// Name, e.g. `escrow.share`: unique among the plugin's inputs and not a catalog name.
    pub name: StrView,
    /// Unit, for people.
    pub unit: StrView,
    /// What it is, for people.
    pub description: StrView,
    /// Smallest accepted value (inclusive, finite).
    pub min: f64,
    /// Largest accepted value (inclusive, finite).
    pub max: f64,
    /// Value used when a scenario leaves the input unset; ignored when `required` is not 0.
    pub default: f64,
    /// Not 0 when a scenario must set the input.
    pub required: u32,
}

/// One named output: a component, or the score itself.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawComponent {
    /// Name, unique among the plugin's components.
    pub name: StrView,
    /// Unit, for people.
    pub unit: StrView,
    /// What the value means.
    pub description: StrView,
    /// Smallest value the plugin may return (inclusive, finite).
    pub min: f64,
    /// Largest value the plugin may return (inclusive, finite).
    pub max: f64,
}

/// One numeric parameter the configuration may set.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawParameter {
    /// Key in the configuration text.
    pub name: StrView,
    /// Unit, for people.
    pub unit: StrView,
    /// What it changes.
    pub description: StrView,
    /// Value used when the configuration does not set it.
    pub default: f64,
    /// Smallest accepted value (inclusive).
    pub min: f64,
    /// Largest accepted value (inclusive).
    pub max: f64,
}

/// The plugin's static self-description, written by [`PluginVTable::metadata`] into a struct the
/// host provides. Every view and array points into the plugin's static memory.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawMetadata {
    /// Stable identifier the server routes calls by (`pressure-index`).
    pub id: StrView,
    /// Human name.
    pub name: StrView,
    /// Version of the model (semver recommended).
    pub version: StrView,
    /// What the model measures.
    pub description: StrView,
    /// Free-form build identifier (crate version, commit).
    pub build_id: StrView,
    /// The inputs the plugin reads, in the order the host passes them in each row.
    pub inputs: *const RawInput,
    /// Number of entries at `inputs`.
    pub n_inputs: usize,
    /// The components written after the score in each output row, in this order.
    pub components: *const RawComponent,
    /// Number of entries at `components`.
    pub n_components: usize,
    /// The score itself: name, unit, declared range.
    pub score: RawComponent,
    /// The parameters the configuration text may set.
    pub parameters: *const RawParameter,
    /// Number of entries at `parameters`.
    pub n_parameters: usize,
    /// ABI 1.1: the inputs the plugin declares itself, read after the catalog `inputs` in each
    /// row. A 1.0 plugin never writes these two fields; the host reads them only from plugins
    /// of minor 1 or later.
    pub own_inputs: *const RawOwnInput,
    /// Number of entries at `own_inputs`.
    pub n_own_inputs: usize,
    /// ABI 1.2: the model card, UTF-8 markdown (empty for none): what the model is for, what it
    /// reads and from where, what it ignores, its known limits and its version history. The
    /// host reads it only from plugins of minor 2 or later.
    pub model_card: StrView,
}

impl RawMetadata {
    /// All-empty metadata, for the host to pass as the output slot.
    pub const EMPTY: RawMetadata = RawMetadata {
        id: StrView::EMPTY,
        name: StrView::EMPTY,
        version: StrView::EMPTY,
        description: StrView::EMPTY,
        build_id: StrView::EMPTY,
        inputs: core::ptr::null(),
        n_inputs: 0,
        components: core::ptr::null(),
        n_components: 0,
        score: RawComponent {
            name: StrView::EMPTY,
            unit: StrView::EMPTY,
            description: StrView::EMPTY,
            min: 0.0,
            max: 0.0,
        },
        parameters: core::ptr::null(),
        n_parameters: 0,
        own_inputs: core::ptr::null(),
        n_own_inputs: 0,
        model_card: StrView::EMPTY,
    };
}

/// A host-allocated buffer for an error message. The plugin writes at most `capacity` bytes of
/// UTF-8 at `ptr` (cut at a character boundary) and stores the number written in `len`.
#[repr(C)]
#[derive(Debug)]
pub struct ErrorBuffer {
    /// Start of the host's buffer.
    pub ptr: *mut u8,
    /// Size of the host's buffer in bytes.
    pub capacity: usize,
    /// Bytes written by the plugin; the host sets it to 0 before the call.
    pub len: usize,
}

/// Opaque instance handle: only the plugin knows what it points to.
#[repr(C)]
#[derive(Debug)]
pub struct PluginInstance {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Declares the function types of the ABI and, from the very same tokens, [`SIGNATURES`]: what
/// the [layout fingerprint](LAYOUT_FINGERPRINT) hashes of them. A signature cannot change
/// without its fingerprint input changing with it. Each entry: the alias, the name hashed, and
/// the signature (parameter names are documentation, not part of the type, and not hashed).
macro_rules! abi_functions {
    ($(
        $(#[$attr:meta])*
        $alias:ident = $key:literal fn(
            $($arg0:ident: $ty0:ty $(, $arg:ident: $ty:ty)* $(,)?)?
        ) $(-> $ret:ty)?;
    )*) => {
        $(
            $(#[$attr])*
            pub type $alias = unsafe extern "C" fn($($arg0: $ty0 $(, $arg: $ty)*)?) $(-> $ret)?;
        )*

        /// Each function type as the pieces of `name(type,type,…)->type`, from the tokens that
        /// declare it.
        const SIGNATURES: &[&[&str]] = &[$(
            &[
                $key,
                "(",
                $(stringify!($ty0), $(",", stringify!($ty),)*)?
                ")",
                $("->", stringify!($ret),)?
            ],
        )*];

        /// The same declarations, with their parameter names, for the C header ([`c_header`]).
        #[cfg(test)]
        const FUNCTION_DECLS: &[c_header::FunctionDecl] = &[$(
            c_header::FunctionDecl {
                alias: stringify!($alias),
                params: &[$(
                    (stringify!($arg0), stringify!($ty0)),
                    $((stringify!($arg), stringify!($ty)),)*
                )?],
                ret: &[$(stringify!($ret))?],
                option_type_name: || core::any::type_name::<Option<$alias>>(),
            },
        )*];
    };
}

abi_functions! {
    /// The entry function every plugin exports as [`ENTRY_SYMBOL`].
    EntryFn = "entry" fn() -> *const PluginHeader;

    /// Writes the plugin's [`RawMetadata`] into `out`. Returns [`status::OK`] or
    /// [`status::PANIC`]/[`status::INVALID_ARGUMENT`].
    MetadataFn = "metadata" fn(out: *mut RawMetadata) -> i32;

    /// Creates an instance from UTF-8 configuration text (`key = value` lines). On success writes
    /// the handle to `*instance_out` and returns [`status::OK`]; otherwise writes a message (e.g.
    /// the unknown keys) to `error` and returns [`status::ERROR`] or [`status::PANIC`].
    CreateFn = "create" fn(
        config: StrView,
        instance_out: *mut *mut PluginInstance,
        error: *mut ErrorBuffer,
    ) -> i32;

    /// Destroys an instance created by [`CreateFn`]. Called exactly once per instance, also after a
    /// panic.
    DestroyFn = "destroy" fn(instance: *mut PluginInstance);

    /// Scores `rows` scenarios.
    ///
    /// * `inputs`: `rows × cols` `f64`, row-major, `cols` = number of declared inputs, in declared
    ///   order.
    /// * `outputs`: `rows × out_cols` `f64`, row-major, `out_cols` = 1 + number of components: the
    ///   score, then each component in declared order.
    /// * `row_status`: `rows` `i32`, one [`status`] per row ([`status::OK`], [`status::ERROR`] or
    ///   [`status::NOT_RUN`]).
    /// * `cancel`: a byte the host may set to non-zero at any time; the plugin reads it with atomic
    ///   loads and stops early when it is set. May be null (never cancelled).
    /// * `error`: receives the message of the lowest failing row, or of a batch failure.
    ///
    /// Returns [`status::OK`] (every row has a status), [`status::CANCELLED`], [`status::PANIC`] or
    /// [`status::INVALID_ARGUMENT`].
    ScoreBatchFn = "score_batch" fn(
        instance: *mut PluginInstance,
        inputs: *const f64,
        rows: usize,
        cols: usize,
        outputs: *mut f64,
        out_cols: usize,
        row_status: *mut i32,
        cancel: *const AtomicU8,
        error: *mut ErrorBuffer,
    ) -> i32;
}

/// The table of functions. Entries are `Option` so that a null pointer from a foreign plugin is
/// representable (and refused) rather than undefined behaviour.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginVTable {
    /// See [`MetadataFn`].
    pub metadata: Option<MetadataFn>,
    /// See [`CreateFn`].
    pub create: Option<CreateFn>,
    /// See [`DestroyFn`].
    pub destroy: Option<DestroyFn>,
    /// See [`ScoreBatchFn`].
    pub score_batch: Option<ScoreBatchFn>,
}

/// The part of the header that never changes, in any ABI version, so that any host can read it
/// from any plugin and explain a refusal.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HeaderPrefix {
    /// Always [`MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] of the API the plugin was built against.
    pub abi_major: u16,
    /// [`ABI_MINOR`] of the API the plugin was built against.
    pub abi_minor: u16,
    /// [`PANIC_UNWIND`], [`PANIC_ABORT`] or [`PANIC_UNKNOWN`], as the plugin crate was compiled.
    pub panic_strategy: u32,
    /// [`API_VERSION`] the plugin was built against.
    pub api_version: StrView,
    /// [`RUSTC_VERSION`] that built the plugin.
    pub rustc_version: StrView,
}

/// What [`ENTRY_SYMBOL`] returns a pointer to.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginHeader {
    /// Frozen across all versions.
    pub prefix: HeaderPrefix,
    /// The plugin's [`LAYOUT_FINGERPRINT`]: must equal the host's entry in [`LAYOUTS`] for the
    /// plugin's minor version.
    pub layout_fingerprint: u64,
    /// The function table, in static memory.
    pub vtable: *const PluginVTable,
}

// SAFETY: the header only holds pointers to immutable static data (strings, the vtable); sharing
// it between threads reads nothing through them.
unsafe impl Sync for PluginHeader {}
// SAFETY: as above.
unsafe impl Send for PluginHeader {}

/// The fingerprint of the ABI layout of each minor version of the current major:
/// `(minor, fingerprint)`. When a minor is added, its predecessor's fingerprint is frozen here as
/// a literal and the new entry uses [`LAYOUT_FINGERPRINT`].
pub const LAYOUTS: &[(u16, u64)] = &[
    // 1.0: before plugins could declare inputs of their own.
    (0, 0xcbe5_2f3c_1d1f_888f),
    // 1.1: before plugins could carry a model card.
    (1, 0x5bb6_b23f_ef7e_9662),
    (ABI_MINOR, LAYOUT_FINGERPRINT),
];

/// The fingerprint a plugin built against `minor` of [`ABI_MAJOR`] must carry, if this host
/// knows that minor.
pub const fn layout_fingerprint_for_minor(minor: u16) -> Option<u64> {
    let mut i = 0;
    while i < LAYOUTS.len() {
        if LAYOUTS[i].0 == minor {
            return Some(LAYOUTS[i].1);
        }
        i += 1;
    }
    None
}

/// A hash of the sizes, alignments and field offsets of every ABI type, of the constants and of
/// the function signatures, computed at compile time. A plugin built from different ABI source
/// (a field inserted without a major bump, another target's pointer width) carries a different
/// value and is refused instead of misread.
pub const LAYOUT_FINGERPRINT: u64 = layout_fingerprint();

// The fingerprint of this ABI version, recorded. A change to a function type (or a field, size
// or constant the fingerprint covers) stops the build here: such a change is a new ABI version
// (see the versioning rules at the top), and only once it is one may this value be updated.
// Recorded for 64-bit little-endian targets, the ones plugins are built for.
#[cfg(all(target_pointer_width = "64", target_endian = "little"))]
const _: () = assert!(
    LAYOUT_FINGERPRINT == 0x7182_8eb4_2693_ccf8,
    "the ABI layout changed: bump ABI_MAJOR, or ABI_MINOR with LAYOUTS, then record the value"
);

/// FNV-1a, 64 bit, usable in const context.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    const fn bytes(self, bytes: &[u8]) -> Fnv {
        let mut hash = self.0;
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        Fnv(hash)
    }

    const fn word(self, value: u64) -> Fnv {
        self.bytes(&value.to_le_bytes())
    }

    const fn str(self, text: &str) -> Fnv {
        self.bytes(text.as_bytes()).word(text.len() as u64)
    }

    /// Hashes `signatures` as one string, the signatures joined by `;` (what fingerprints of
    /// ABI 1.0 hashed, spelled out by hand then).
    const fn signatures(self, signatures: &[&[&str]]) -> Fnv {
        let (mut h, mut len) = (self, 0);
        let mut i = 0;
        while i < signatures.len() {
            if i > 0 {
                h = h.bytes(b";");
                len += 1;
            }
            let mut j = 0;
            while j < signatures[i].len() {
                h = h.bytes(signatures[i][j].as_bytes());
                len += signatures[i][j].len();
                j += 1;
            }
            i += 1;
        }
        h.word(len as u64)
    }
}

/// Hashes a struct's name, size and alignment, then each listed field's name and offset.
macro_rules! hash_layout {
    ($h:expr, $ty:ident { $($field:ident),* $(,)? }) => {{
        let mut h = $h
            .str(stringify!($ty))
            .word(size_of::<$ty>() as u64)
            .word(align_of::<$ty>() as u64);
        $( h = h.str(stringify!($field)).word(offset_of!($ty, $field) as u64); )*
        h
    }};
}

const fn layout_fingerprint() -> u64 {
    let mut h = Fnv::new()
        .word(ABI_MAJOR as u64)
        .word(size_of::<usize>() as u64)
        .word(size_of::<*const u8>() as u64)
        .word(size_of::<f64>() as u64)
        .word(align_of::<f64>() as u64)
        .word(size_of::<AtomicU8>() as u64)
        .word(size_of::<Option<ScoreBatchFn>>() as u64)
        .word(u32::from_ne_bytes([1, 2, 3, 4]) as u64)
        .word(PANIC_UNKNOWN as u64)
        .word(PANIC_UNWIND as u64)
        .word(PANIC_ABORT as u64)
        .word(status::OK as u64)
        .word(status::ERROR as u64)
        .word(status::PANIC as u64)
        .word(status::CANCELLED as u64)
        .word(status::INVALID_ARGUMENT as u64)
        .word(status::NOT_RUN as u64)
        .signatures(SIGNATURES);
    h = hash_layout!(h, StrView { ptr, len });
    h = hash_layout!(h, RawInput { name, unit });
    h = hash_layout!(
        h,
        RawOwnInput {
            name,
            unit,
            description,
            min,
            max,
            default,
            required
        }
    );
    h = hash_layout!(
        h,
        RawComponent {
            name,
            unit,
            description,
            min,
            max
        }
    );
    h = hash_layout!(
        h,
        RawParameter {
            name,
            unit,
            description,
            default,
            min,
            max
        }
    );
    h = hash_layout!(
        h,
        RawMetadata {
            id,
            name,
            version,
            description,
            build_id,
            inputs,
            n_inputs,
            components,
            n_components,
            score,
            parameters,
            n_parameters,
            own_inputs,
            n_own_inputs,
            model_card,
        }
    );
    h = hash_layout!(h, ErrorBuffer { ptr, capacity, len });
    h = hash_layout!(
        h,
        PluginVTable {
            metadata,
            create,
            destroy,
            score_batch
        }
    );
    h = hash_layout!(
        h,
        HeaderPrefix {
            magic,
            abi_major,
            abi_minor,
            panic_strategy,
            api_version,
            rustc_version
        }
    );
    h = hash_layout!(
        h,
        PluginHeader {
            prefix,
            layout_fingerprint,
            vtable
        }
    );
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_prefix_is_frozen_at_these_offsets() {
        // These numbers may never change: any host reads them from any plugin.
        assert_eq!(offset_of!(HeaderPrefix, magic), 0);
        assert_eq!(offset_of!(HeaderPrefix, abi_major), 8);
        assert_eq!(offset_of!(HeaderPrefix, abi_minor), 10);
        assert_eq!(offset_of!(HeaderPrefix, panic_strategy), 12);
        assert_eq!(offset_of!(HeaderPrefix, api_version), 16);
        assert_eq!(
            offset_of!(HeaderPrefix, rustc_version),
            16 + size_of::<StrView>()
        );
        assert_eq!(offset_of!(PluginHeader, prefix), 0);
    }

    #[test]
    fn magic_spells_the_project_name() {
        assert_eq!(&MAGIC.to_le_bytes(), b"LVRGPLUG");
    }

    #[test]
    fn current_minor_has_a_known_fingerprint() {
        assert_eq!(
            layout_fingerprint_for_minor(ABI_MINOR),
            Some(LAYOUT_FINGERPRINT)
        );
        assert_eq!(layout_fingerprint_for_minor(ABI_MINOR + 1), None);
        // 1.0 and 1.1, frozen: plugins built before own inputs, or before model cards, existed
        // keep loading.
        assert_eq!(layout_fingerprint_for_minor(0), Some(0xcbe5_2f3c_1d1f_888f));
        assert_eq!(layout_fingerprint_for_minor(1), Some(0x5bb6_b23f_ef7e_9662));
    }

    #[test]
    fn rustc_version_was_recorded_by_the_build_script() {
        assert!(RUSTC_VERSION.starts_with("rustc "), "{RUSTC_VERSION}");
    }

    #[test]
    fn signatures_are_read_from_the_declarations() {
        let joined: Vec<String> = SIGNATURES.iter().map(|pieces| pieces.concat()).collect();
        // What ABI 1.0's fingerprint hashed, when it was a hand-kept string: the declarations
        // give it back piece for piece, so plugins already built keep loading.
        assert_eq!(
            joined.join(";"),
            "entry()->*const PluginHeader;\
             metadata(*mut RawMetadata)->i32;\
             create(StrView,*mut *mut PluginInstance,*mut ErrorBuffer)->i32;\
             destroy(*mut PluginInstance);\
             score_batch(*mut PluginInstance,*const f64,usize,usize,*mut f64,usize,*mut i32,\
             *const AtomicU8,*mut ErrorBuffer)->i32"
        );
    }

    #[test]
    fn function_pointers_in_the_table_are_nullable_without_extra_space() {
        assert_eq!(size_of::<Option<ScoreBatchFn>>(), size_of::<*const u8>());
    }
}
