//! The C header of the ABI, `include/leverage_plugin.h`, generated from the definitions in
//! [`super`], and the tests that keep it true.
//!
//! cbindgen was tried first and does not fit: without a nightly compiler it does not expand
//! macros, so the function types declared by `abi_functions!` (and so the whole function table)
//! come out as incomplete types; it cannot evaluate `MAGIC` or `LAYOUT_FINGERPRINT` (a `const fn`
//! call), emits the status codes without their module (a bare `OK`, `ERROR`) and the opaque
//! instance as a zero-length array; and it would bring some thirty crates into the tests of a
//! crate that has no dependencies. Generating the header here takes less code than configuring
//! around all that.
//!
//! What comes from where:
//!
//! * every struct's fields, in order, with their C types: from the Rust types of the fields
//!   (`type_name`) and their offsets (`offset_of!`), through the table in [`items`]. Its macro
//!   destructures each struct without `..`, so a field added in Rust and not listed here does
//!   not compile;
//! * the function types, with parameter names: from the tokens of `abi_functions!`
//!   ([`super::FUNCTION_DECLS`]);
//! * the constants: from their Rust values. The tests read `abi.rs` and fail on a `pub const` or
//!   a `pub struct` that the header neither has nor leaves out with a reason;
//! * the prose: written here, for C authors.
//!
//! Two tests keep the committed file true: one regenerates the header and fails when the file
//! differs (`LEVERAGE_UPDATE_HEADER=1` rewrites it instead), one compiles a C and a C++ program
//! against it that prints the size and alignment of every struct, the offset and size of every
//! field and the value of every constant, and compares them with Rust's.

use core::any::type_name;
use core::mem::{align_of, offset_of, size_of};
use std::fmt::Write as _;

use super::{
    ABI_MAJOR, ABI_MINOR, API_VERSION, ENTRY_SYMBOL, ErrorBuffer, FUNCTION_DECLS, HeaderPrefix,
    LAYOUT_FINGERPRINT, LAYOUTS, MAGIC, PANIC_ABORT, PANIC_UNKNOWN, PANIC_UNWIND, PluginHeader,
    PluginVTable, RawComponent, RawInput, RawMetadata, RawOwnInput, RawParameter, StrView, status,
};

/// Where the header is committed, relative to the crate.
const HEADER_FILE: &str = "include/leverage_plugin.h";

/// Prefix of every C type name (`LeverageStrView`).
const TYPE_PREFIX: &str = "Leverage";

/// Longest line the header's comments are wrapped to.
const WIDTH: usize = 96;

/// One function type of the ABI, from the tokens of its declaration in `abi_functions!`.
pub(super) struct FunctionDecl {
    /// The Rust alias, e.g. `ScoreBatchFn`.
    pub(super) alias: &'static str,
    /// Each parameter's name and type, as written.
    pub(super) params: &'static [(&'static str, &'static str)],
    /// The return type as written, if any.
    pub(super) ret: &'static [&'static str],
    /// `type_name` of `Option<alias>`: how a table entry of this type is recognised.
    pub(super) option_type_name: fn() -> &'static str,
}

/// A field of an ABI struct: what Rust says of it, and its documentation.
struct Field {
    rust: &'static str,
    /// The field's Rust type, as `type_name` spells it.
    ty: &'static str,
    offset: usize,
    size: usize,
    doc: &'static str,
}

impl Field {
    /// `_field` only names the field's type (a closure `|v: &S| &v.field`).
    fn new<S, F>(
        rust: &'static str,
        offset: usize,
        _field: fn(&S) -> &F,
        doc: &'static str,
    ) -> Field {
        Field {
            rust,
            ty: type_name::<F>(),
            offset,
            size: size_of::<F>(),
            doc,
        }
    }

    /// The C name: the Rust name, with `_` appended where that is a C or C++ keyword.
    fn c_name(&self) -> String {
        const KEYWORDS: &[&str] = &["default", "register", "class", "new", "delete", "template"];
        if KEYWORDS.contains(&self.rust) {
            format!("{}_", self.rust)
        } else {
            self.rust.to_owned()
        }
    }
}

/// A `#[repr(C)]` struct of the ABI.
struct Struct {
    rust: &'static str,
    size: usize,
    align: usize,
    doc: &'static str,
    fields: Vec<Field>,
}

/// What the header declares, in order.
enum Item {
    Struct(Struct),
    /// A type only the plugin sees inside, declared and never defined.
    Opaque {
        rust: &'static str,
        doc: &'static str,
    },
    /// The function types, with their documentation by Rust alias.
    Functions(&'static [(&'static str, &'static str)]),
}

/// Describes struct `$ty` with its documentation and every field's. The pattern in
/// `_every_field` has no `..`: a field missing here does not compile.
macro_rules! abi_struct {
    ($ty:ident, $doc:expr, [$(($field:ident, $field_doc:expr)),* $(,)?]) => {{
        fn _every_field(value: &$ty) {
            let $ty { $($field: _),* } = value;
        }
        Struct {
            rust: stringify!($ty),
            size: size_of::<$ty>(),
            align: align_of::<$ty>(),
            doc: $doc,
            fields: vec![$(Field::new(
                stringify!($field),
                offset_of!($ty, $field),
                |v: &$ty| &v.$field,
                $field_doc,
            )),*],
        }
    }};
}

/// The header's types, in the order they are defined.
fn items() -> Vec<Item> {
    vec![
        Item::Struct(abi_struct!(
            StrView,
            "A borrowed UTF-8 string: `len` bytes at `ptr`, not NUL-terminated. Every view in \
             the header and the metadata must stay valid while the library is loaded, which is \
             for the life of the server (it never unloads a plugin): point them at string \
             literals or other static storage. LEVERAGE_STR(\"...\") makes one of a literal.",
            [
                (ptr, "First byte, or NULL when `len` is 0."),
                (len, "Length in bytes, without a terminating NUL.")
            ]
        )),
        Item::Struct(abi_struct!(
            RawInput,
            "One input of the server's catalog that the plugin reads, e.g. \"pool.eur_bn\" in \
             \"EUR bn\".",
            [(name, "Catalog name."), (unit, "Unit, for people.")]
        )),
        Item::Struct(abi_struct!(
            RawOwnInput,
            "One input the plugin declares itself (ABI 1.1): not in the catalog, set by name in \
             each scenario and checked by the server against this declaration before the plugin \
             sees it.",
            [
                (
                    name,
                    "Name, e.g. \"escrow.share\": unique among the plugin's inputs and outside \
                     the catalog's namespaces (\"lever.\", \"pool.\", ...)."
                ),
                (unit, "Unit, for people."),
                (description, "What it is, for people."),
                (min, "Smallest accepted value (inclusive, finite)."),
                (max, "Largest accepted value (inclusive, finite)."),
                (
                    default,
                    "Value when a scenario leaves the input unset; ignored (NAN by convention) \
                     when `required` is not 0."
                ),
                (required, "Not 0 when every scenario must set the input.")
            ]
        )),
        Item::Struct(abi_struct!(
            RawComponent,
            "One output, a component or the score itself, with the range the plugin promises to \
             stay in: the server fails a row whose value is outside [min, max], NaN or infinite.",
            [
                (name, "Name, unique among the plugin's components."),
                (unit, "Unit, for people."),
                (description, "What the value means."),
                (
                    min,
                    "Smallest value the plugin may return (inclusive, finite)."
                ),
                (
                    max,
                    "Largest value the plugin may return (inclusive, finite)."
                )
            ]
        )),
        Item::Struct(abi_struct!(
            RawParameter,
            "One number the configuration text may set, as a `name = value` line.",
            [
                (name, "Key in the configuration text."),
                (unit, "Unit, for people."),
                (description, "What it changes."),
                (
                    default,
                    "Value when the configuration does not set it, within [min, max]."
                ),
                (min, "Smallest accepted value (inclusive)."),
                (max, "Largest accepted value (inclusive).")
            ]
        )),
        Item::Struct(abi_struct!(
            RawMetadata,
            "The plugin's self-description, written by its metadata function into a struct the \
             host provides. Every view and array points to static storage; an array may be NULL \
             when its count is 0.",
            [
                (
                    id,
                    "Stable identifier the server routes calls by: 1 to 64 characters of A-Z a-z \
                     0-9 - _ and `.`."
                ),
                (name, "Human name."),
                (version, "Version of the model (semver recommended)."),
                (description, "What the model measures."),
                (build_id, "Free-form build identifier (version, commit)."),
                (
                    inputs,
                    "The catalog inputs the plugin reads, in the order each row passes them."
                ),
                (n_inputs, "Number of entries at `inputs`."),
                (
                    components,
                    "The components each output row holds after the score, in this order."
                ),
                (n_components, "Number of entries at `components`."),
                (score, "The score itself: name, unit, declared range."),
                (parameters, "The parameters the configuration text may set."),
                (n_parameters, "Number of entries at `parameters`."),
                (
                    own_inputs,
                    "ABI 1.1: the inputs the plugin declares itself, which follow the catalog \
                     inputs in each row. The host reads these two fields only from a plugin \
                     whose header says minor 1 or later."
                ),
                (n_own_inputs, "Number of entries at `own_inputs`."),
                (
                    model_card,
                    "ABI 1.2: the model card, UTF-8 markdown (an empty view for none): what the \
                     model is for, the inputs it reads and their sources, what it ignores, its \
                     known limits, its version history. The server serves it with the plugin's \
                     description. The host reads it only from a plugin whose header says minor \
                     2 or later."
                )
            ]
        )),
        Item::Struct(abi_struct!(
            ErrorBuffer,
            "A host-owned buffer for one error message: write at most `capacity` bytes of UTF-8 \
             at `ptr` (cut at a character boundary; no NUL needed) and store how many in `len`. \
             When `ptr` is NULL write nothing.",
            [
                (ptr, "Start of the host's buffer."),
                (capacity, "Size of the host's buffer in bytes."),
                (
                    len,
                    "Bytes written by the plugin; the host sets it to 0 before each call."
                )
            ]
        )),
        Item::Opaque {
            rust: "PluginInstance",
            doc: "An instance, opaque to the host: made by `create`, passed to `score_batch`, \
                  handed back to `destroy` exactly once. A plugin may complete \
                  `struct LeveragePluginInstance` with its instance's fields, or cast.",
        },
        Item::Functions(&[
            (
                "EntryFn",
                "The one function a plugin exports, as LEVERAGE_ENTRY_SYMBOL (declared at the \
                 end of this file): returns the plugin's header, in static storage. It may be \
                 called more than once, from any thread.",
            ),
            (
                "MetadataFn",
                "Writes the plugin's metadata to `*out`. Returns LEVERAGE_STATUS_OK, or \
                 LEVERAGE_STATUS_INVALID_ARGUMENT when `out` is NULL. May be called at any time, \
                 from any thread.",
            ),
            (
                "CreateFn",
                "Creates an instance from the configuration text (UTF-8 `key = value` lines, \
                 not NUL-terminated). On success stores the handle in `*instance_out` and returns \
                 LEVERAGE_STATUS_OK; otherwise writes why to `*error` (unknown keys with the \
                 known ones, values out of range, ...) and returns LEVERAGE_STATUS_ERROR.",
            ),
            (
                "DestroyFn",
                "Destroys an instance made by `create`. Called exactly once per instance.",
            ),
            (
                "ScoreBatchFn",
                "Scores `rows` scenarios. `inputs` holds rows x cols doubles, row-major, each \
                 row the catalog inputs then the own inputs in declared order (cols = n_inputs + \
                 n_own_inputs); `outputs` holds rows x out_cols doubles (out_cols = 1 + \
                 n_components), the score then each component. Write each row's status to \
                 `row_status` (LEVERAGE_STATUS_OK, _ERROR or _NOT_RUN) and the message of the \
                 lowest failing row to `*error`. `cancel` is a byte the host may set at any \
                 time, or NULL: read it with leverage_cancel_requested() and, once it is set, \
                 stop and return LEVERAGE_STATUS_CANCELLED. Returns LEVERAGE_STATUS_OK when \
                 every row has its status, LEVERAGE_STATUS_INVALID_ARGUMENT for NULL buffers or \
                 sizes that do not match the metadata.",
            ),
        ]),
        Item::Struct(abi_struct!(
            PluginVTable,
            "The function table, in static storage. A NULL entry refuses the plugin.",
            [
                (metadata, "See LeverageMetadataFn."),
                (create, "See LeverageCreateFn."),
                (destroy, "See LeverageDestroyFn."),
                (score_batch, "See LeverageScoreBatchFn.")
            ]
        )),
        Item::Struct(abi_struct!(
            HeaderPrefix,
            "The part of the header that no ABI version changes, so that any server can read it \
             from any plugin and say why it refuses one.",
            [
                (magic, "LEVERAGE_MAGIC."),
                (abi_major, "LEVERAGE_ABI_MAJOR."),
                (
                    abi_minor,
                    "LEVERAGE_ABI_MINOR, or an older minor whose layout the plugin follows."
                ),
                (
                    panic_strategy,
                    "LEVERAGE_PANIC_UNWIND, the only value the server accepts. For a C or C++ \
                     plugin it states that no error of the plugin ends the process: the plugin \
                     has no panics, returns every error as a status, and lets no C++ exception \
                     or longjmp cross the boundary."
                ),
                (
                    api_version,
                    "The leverage-plugin-api version the header was made from: \
                     LEVERAGE_API_VERSION."
                ),
                (
                    rustc_version,
                    "The compiler that built the plugin, for messages: rustc for a Rust plugin, \
                     e.g. \"gcc \" __VERSION__ for a C one."
                )
            ]
        )),
        Item::Struct(abi_struct!(
            PluginHeader,
            "What the entry function returns a pointer to, in static storage.",
            [
                (prefix, "Frozen across all versions."),
                (
                    layout_fingerprint,
                    "LEVERAGE_LAYOUT_FINGERPRINT: the server compares it with its own for the \
                     plugin's minor and refuses a mismatch."
                ),
                (vtable, "The function table, in static storage.")
            ]
        )),
    ]
}

/// A constant's value.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    /// An unsigned 64-bit value, written in hex with `UINT64_C`.
    U64(u64),
    /// A small integer, written in decimal.
    Int(i64),
    /// A string literal.
    Str(&'static str),
}

/// A `#define` of the header.
struct Constant {
    /// The Rust constant it comes from (for the check that none is forgotten).
    rust: &'static str,
    /// The C name.
    name: String,
    value: Value,
    doc: String,
}

impl Constant {
    /// `LEVERAGE_` followed by `name`.
    fn new(rust: &'static str, name: &str, value: Value, doc: &str) -> Constant {
        Constant {
            rust,
            name: format!("LEVERAGE_{name}"),
            value,
            doc: doc.to_owned(),
        }
    }
}

/// The Rust constants of `abi.rs` the header leaves out, and why.
const LEFT_OUT: &[(&str, &str)] = &[
    (
        "RUSTC_VERSION",
        "the rustc that built this crate; a C plugin names its own compiler",
    ),
    (
        "EMPTY",
        "Rust conveniences (`StrView::EMPTY`, `RawMetadata::EMPTY`)",
    ),
];

/// Every constant of the header.
fn constants() -> Vec<Constant> {
    let fingerprint = format!(
        "The layout fingerprint of ABI {ABI_MAJOR}.{ABI_MINOR} (64-bit little-endian targets), \
         which the header of a plugin of this minor carries. The server computes it from its \
         own definitions; in C nothing computes it, so the layout checks at the end of this file \
         guard the layout instead."
    );
    let named = [
        (
            "ENTRY_SYMBOL",
            Value::Str(ENTRY_SYMBOL),
            "Name of the one function a plugin exports.",
        ),
        (
            "MAGIC",
            Value::U64(MAGIC),
            "First eight bytes of every header: \"LVRGPLUG\" read as a little-endian uint64_t.",
        ),
        (
            "ABI_MAJOR",
            Value::Int(ABI_MAJOR.into()),
            "Major ABI version: a server loads only plugins of its own major.",
        ),
        (
            "ABI_MINOR",
            Value::Int(ABI_MINOR.into()),
            "Minor ABI version of this header: a server loads a plugin whose minor is not above \
             its own.",
        ),
        (
            "API_VERSION",
            Value::Str(API_VERSION),
            "Version of leverage-plugin-api this header was generated from.",
        ),
        (
            "LAYOUT_FINGERPRINT",
            Value::U64(LAYOUT_FINGERPRINT),
            fingerprint.as_str(),
        ),
        (
            "PANIC_UNKNOWN",
            Value::Int(PANIC_UNKNOWN.into()),
            "Panic strategy not stated: refused.",
        ),
        (
            "PANIC_UNWIND",
            Value::Int(PANIC_UNWIND.into()),
            "The panic strategy every loadable plugin states (see \
             LeverageHeaderPrefix.panic_strategy).",
        ),
        (
            "PANIC_ABORT",
            Value::Int(PANIC_ABORT.into()),
            "A Rust plugin built with panic = \"abort\": refused, as one panic would end the \
             server.",
        ),
    ];
    let statuses = [
        (
            "OK",
            status::OK,
            "Success. As a row status: the row's outputs are written.",
        ),
        (
            "ERROR",
            status::ERROR,
            "The plugin reported an error, with a message in the error buffer. As a row \
             status: this row could not be scored.",
        ),
        (
            "PANIC",
            status::PANIC,
            "The plugin failed in a way that leaves the instance unusable: the host destroys \
             it and counts the failure against the plugin.",
        ),
        (
            "CANCELLED",
            status::CANCELLED,
            "The cancel flag was seen; rows not reached have LEVERAGE_STATUS_NOT_RUN.",
        ),
        (
            "INVALID_ARGUMENT",
            status::INVALID_ARGUMENT,
            "The host passed a NULL pointer or sizes that do not match the metadata.",
        ),
        (
            "NOT_RUN",
            status::NOT_RUN,
            "Row status only: the row was not scored (the batch stopped before it).",
        ),
    ];
    let mut list: Vec<Constant> = named
        .into_iter()
        .map(|(rust, value, doc)| Constant::new(rust, rust, value, doc))
        .collect();
    for &(minor, fingerprint) in LAYOUTS {
        list.push(Constant::new(
            "LAYOUTS",
            &format!("LAYOUT_FINGERPRINT_{ABI_MAJOR}_{minor}"),
            Value::U64(fingerprint),
            &format!(
                "The fingerprint a plugin stating minor {minor} carries (the server's \
                 abi::LAYOUTS)."
            ),
        ));
    }
    for (rust, value, doc) in statuses {
        let name = format!("STATUS_{rust}");
        list.push(Constant::new(rust, &name, Value::Int(value.into()), doc));
    }
    list
}

/// The C name of an ABI type.
fn c_type_name(rust: &str) -> String {
    format!("{TYPE_PREFIX}{rust}")
}

/// The C type for a Rust type, as `type_name` or `stringify!` spells it: primitives, pointers,
/// the ABI's own types and nullable entries of the function table. Panics on anything else: a
/// type the header cannot express is a change to make here first.
fn c_type(rust: &str, functions: &[FunctionDecl]) -> String {
    if let Some(decl) = functions
        .iter()
        .find(|decl| (decl.option_type_name)() == rust)
    {
        return c_type_name(decl.alias);
    }
    // Pointers: `*const T` / `*mut T`, outermost first.
    let mut levels = Vec::new();
    let mut base = rust.trim();
    loop {
        if let Some(rest) = base.strip_prefix("*const ") {
            levels.push(true);
            base = rest.trim_start();
        } else if let Some(rest) = base.strip_prefix("*mut ") {
            levels.push(false);
            base = rest.trim_start();
        } else {
            break;
        }
    }
    let name = base.rsplit("::").next().unwrap_or(base);
    let mut text = match name {
        // Bytes behind a pointer are UTF-8 text (views, the error buffer).
        "u8" if !levels.is_empty() => "char".to_owned(),
        "u8" => "uint8_t".to_owned(),
        // The cancel flag: a byte read with atomic loads (`leverage_cancel_requested`).
        "AtomicU8" => "uint8_t".to_owned(),
        "u16" => "uint16_t".to_owned(),
        "u32" => "uint32_t".to_owned(),
        "u64" => "uint64_t".to_owned(),
        "i32" => "int32_t".to_owned(),
        "f64" => "double".to_owned(),
        "usize" => "size_t".to_owned(),
        "StrView" | "RawInput" | "RawOwnInput" | "RawComponent" | "RawParameter"
        | "RawMetadata" | "ErrorBuffer" | "PluginInstance" | "PluginVTable" | "HeaderPrefix"
        | "PluginHeader" => c_type_name(name),
        other => panic!("the C header has no type for `{other}` (in `{rust}`)"),
    };
    // Innermost pointer first: `const T *`, then `T *const *` for a const pointer to a pointer.
    for (depth, is_const) in levels.iter().rev().enumerate() {
        if *is_const {
            text = if depth == 0 {
                format!("const {text}")
            } else if text.ends_with('*') {
                format!("{text}const")
            } else {
                format!("{text} const")
            };
        }
        text = if text.ends_with('*') {
            format!("{text}*")
        } else {
            format!("{text} *")
        };
    }
    text
}

/// `type name`, or `type *name` when the type ends in a pointer.
fn declaration(c_type: &str, name: &str) -> String {
    if c_type.ends_with('*') {
        format!("{c_type}{name}")
    } else {
        format!("{c_type} {name}")
    }
}

/// `text` as a C comment at `indent`, wrapped to [`WIDTH`]: one line `/* ... */` when it fits,
/// else a block.
fn comment(out: &mut String, indent: &str, text: &str) {
    let one_line = format!("{indent}/* {text} */");
    if one_line.chars().count() <= WIDTH {
        out.push_str(&one_line);
        out.push('\n');
        return;
    }
    let margin = format!("{indent} *");
    out.push_str(indent);
    out.push_str("/*\n");
    for (index, paragraph) in text.split("\n\n").enumerate() {
        if index > 0 {
            out.push_str(&margin);
            out.push('\n');
        }
        let mut line = margin.clone();
        for word in paragraph.split_whitespace() {
            if line.len() > margin.len() && line.chars().count() + 1 + word.chars().count() > WIDTH
            {
                out.push_str(&line);
                out.push('\n');
                line = margin.clone();
            }
            line.push(' ');
            line.push_str(word);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(indent);
    out.push_str(" */\n");
}

fn c_value(value: &Value) -> String {
    match value {
        Value::U64(v) => format!("UINT64_C(0x{v:016x})"),
        Value::Int(v) => v.to_string(),
        Value::Str(text) => {
            assert!(
                text.chars().all(|c| c.is_ascii_graphic() || c == ' ')
                    && !text.contains(['"', '\\']),
                "a string constant the header would have to escape: {text:?}"
            );
            format!("\"{text}\"")
        }
    }
}

/// The whole header text.
pub(super) fn header() -> String {
    let items = items();
    let mut out = String::new();
    let fingerprint = format!("0x{LAYOUT_FINGERPRINT:016x}");
    comment(
        &mut out,
        "",
        &format!(
            "leverage_plugin.h: the C ABI of leverage scoring plugins, ABI {ABI_MAJOR}.{ABI_MINOR} \
             (leverage-plugin-api {API_VERSION}).\n\n\
             GENERATED from crates/leverage-plugin-api/src/abi.rs; do not edit. After a change \
             to the ABI, regenerate it with\n\n\
             LEVERAGE_UPDATE_HEADER=1 cargo test -p leverage-plugin-api --lib c_header\n\n\
             A plugin is a shared library that exports one function, {ENTRY_SYMBOL} (declared at \
             the end), returning a pointer to a LeveragePluginHeader in static storage, which \
             must say: magic = LEVERAGE_MAGIC, abi_major = LEVERAGE_ABI_MAJOR ({ABI_MAJOR}), \
             abi_minor = LEVERAGE_ABI_MINOR ({ABI_MINOR}), panic_strategy = \
             LEVERAGE_PANIC_UNWIND, layout_fingerprint = LEVERAGE_LAYOUT_FINGERPRINT \
             ({fingerprint}). The server refuses a plugin whose header says otherwise, with the \
             reason.\n\n\
             Rules: no C++ exception, longjmp or other unwinding crosses the boundary; \
             everything the header and the metadata point to is static; any thread may call, \
             one instance is never used by two threads at once; score_batch reads the cancel \
             flag with atomic loads and stops when it is set; errors go to the host's error \
             buffer. See docs/writing-a-plugin.md, \"Writing a plugin in C or C++\", and \
             tests/fixtures/c/escrow.c for a complete plugin.\n\n\
             Written for C99 or later and C++11 or later, on 64-bit little-endian targets (the \
             layout checks at the end stop the compiler elsewhere)."
        ),
    );
    out.push_str(
        "\n#ifndef LEVERAGE_PLUGIN_H\n#define LEVERAGE_PLUGIN_H\n\n\
         #include <stddef.h>\n#include <stdint.h>\n\n\
         #ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
    );

    for c in constants() {
        comment(&mut out, "", &c.doc);
        writeln!(out, "#define {} {}\n", c.name, c_value(&c.value)).ok();
    }

    comment(
        &mut out,
        "",
        "The structs of the ABI, declared first so that any of them may be named before its \
         definition.",
    );
    for item in &items {
        if let Item::Struct(s) = item {
            writeln!(out, "typedef struct {0} {0};", c_type_name(s.rust)).ok();
        }
    }
    out.push('\n');

    for item in &items {
        match item {
            Item::Struct(s) => {
                comment(&mut out, "", s.doc);
                writeln!(out, "struct {} {{", c_type_name(s.rust)).ok();
                for field in &s.fields {
                    comment(&mut out, "    ", field.doc);
                    let ty = c_type(field.ty, FUNCTION_DECLS);
                    writeln!(out, "    {};", declaration(&ty, &field.c_name())).ok();
                }
                out.push_str("};\n\n");
            }
            Item::Opaque { rust, doc } => {
                comment(&mut out, "", doc);
                writeln!(out, "typedef struct {0} {0};\n", c_type_name(rust)).ok();
            }
            Item::Functions(docs) => {
                for decl in FUNCTION_DECLS {
                    let doc = docs
                        .iter()
                        .find(|(alias, _)| *alias == decl.alias)
                        .map(|(_, doc)| *doc)
                        .unwrap_or_else(|| panic!("no documentation for `{}`", decl.alias));
                    comment(&mut out, "", doc);
                    let ret = decl
                        .ret
                        .first()
                        .map_or_else(|| "void".to_owned(), |ty| c_type(ty, FUNCTION_DECLS));
                    let params: Vec<String> = decl
                        .params
                        .iter()
                        .map(|(name, ty)| declaration(&c_type(ty, FUNCTION_DECLS), name))
                        .collect();
                    let pointer = format!("(*{})", c_type_name(decl.alias));
                    let start = format!("typedef {}(", declaration(&ret, &pointer));
                    let one_line = format!("{start}{});", params.join(", "));
                    if params.is_empty() {
                        writeln!(out, "{start}void);\n").ok();
                    } else if one_line.len() <= WIDTH {
                        writeln!(out, "{one_line}\n").ok();
                    } else {
                        writeln!(out, "{start}\n    {});\n", params.join(",\n    ")).ok();
                    }
                }
                assert_eq!(
                    docs.len(),
                    FUNCTION_DECLS.len(),
                    "documentation for a function type the ABI does not declare"
                );
            }
        }
    }

    comment(
        &mut out,
        "",
        "Marks the entry function as exported even when the plugin is compiled with \
         -fvisibility=hidden.",
    );
    out.push_str(
        "#if defined(__GNUC__) || defined(__clang__)\n\
         #define LEVERAGE_EXPORT __attribute__((visibility(\"default\")))\n\
         #else\n\
         #define LEVERAGE_EXPORT\n\
         #endif\n\n",
    );
    let entry = FUNCTION_DECLS
        .iter()
        .find(|decl| decl.alias == "EntryFn")
        .expect("the ABI declares EntryFn");
    comment(
        &mut out,
        "",
        &format!(
            "The entry function: every plugin defines it, in exactly one of its files. Inside \
             this header's extern \"C\" block, so a C++ plugin's definition has C linkage. Its \
             type is Leverage{}.",
            entry.alias
        ),
    );
    let entry_ret = c_type(entry.ret.first().copied().unwrap_or("()"), FUNCTION_DECLS);
    writeln!(
        out,
        "LEVERAGE_EXPORT {}(void);\n",
        declaration(&entry_ret, ENTRY_SYMBOL)
    )
    .ok();

    comment(
        &mut out,
        "",
        "A view of a string literal, for static initialisers: LEVERAGE_STR(\"pool.eur_bn\").",
    );
    out.push_str("#define LEVERAGE_STR(literal) { (literal), sizeof(literal) - 1 }\n\n");
    comment(
        &mut out,
        "",
        "Whether the host asked score_batch to stop: a relaxed atomic load of the cancel byte \
         (NULL: never). Look at it every few rows, at least every few milliseconds of work.",
    );
    out.push_str(
        "static inline int leverage_cancel_requested(const uint8_t *cancel)\n{\n\
         #if defined(__GNUC__) || defined(__clang__)\n\
         \x20   return cancel != NULL && __atomic_load_n(cancel, __ATOMIC_RELAXED) != 0;\n\
         #else\n\
         \x20   return cancel != NULL && *(const volatile uint8_t *)cancel != 0;\n\
         #endif\n}\n\n",
    );

    comment(
        &mut out,
        "",
        "Layout checks: the sizes, alignments and offsets Rust gives these types. A compiler \
         that lays them out otherwise (another target, a #pragma pack in force) stops here \
         instead of building a plugin the server would misread.",
    );
    out.push_str(
        "#if defined(__cplusplus) && __cplusplus >= 201103L\n\
         #define LEVERAGE_STATIC_ASSERT(condition, what) static_assert(condition, what)\n\
         #elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n\
         #define LEVERAGE_STATIC_ASSERT(condition, what) _Static_assert(condition, what)\n\
         #else\n\
         #define LEVERAGE_STATIC_ASSERT_NAME2(line) leverage_static_assert_##line\n\
         #define LEVERAGE_STATIC_ASSERT_NAME(line) LEVERAGE_STATIC_ASSERT_NAME2(line)\n\
         #define LEVERAGE_STATIC_ASSERT(condition, what) \\\n\
         \x20   typedef char LEVERAGE_STATIC_ASSERT_NAME(__LINE__)[(condition) ? 1 : -1]\n\
         #endif\n\n",
    );
    out.push_str(
        "#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \\\n\
         \x20   __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n\
         #error \"leverage plugins are little-endian\"\n\
         #endif\n\n",
    );
    let pointer = size_of::<*const u8>();
    writeln!(
        out,
        "LEVERAGE_STATIC_ASSERT(sizeof(void *) == {pointer} && sizeof(size_t) == {}, \
         \"a {}-bit target\");",
        size_of::<usize>(),
        pointer * 8
    )
    .ok();
    for item in &items {
        let Item::Struct(s) = item else { continue };
        let c = c_type_name(s.rust);
        writeln!(
            out,
            "LEVERAGE_STATIC_ASSERT(sizeof({c}) == {}, \"size of {c}\");",
            s.size
        )
        .ok();
        for field in &s.fields {
            let name = field.c_name();
            writeln!(
                out,
                "LEVERAGE_STATIC_ASSERT(offsetof({c}, {name}) == {}, \"offset of {c}.{name}\");",
                field.offset
            )
            .ok();
        }
    }
    out.push_str(
        "\n#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* LEVERAGE_PLUGIN_H */\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn header_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(HEADER_FILE)
    }

    #[test]
    fn committed_header_is_up_to_date() {
        let path = header_path();
        let generated = header();
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if generated == committed {
            return;
        }
        if std::env::var("LEVERAGE_UPDATE_HEADER").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &generated).expect("write the header");
            eprintln!("updated {}", path.display());
            return;
        }
        let (line, (old, new)) = committed
            .lines()
            .chain(std::iter::repeat(""))
            .zip(generated.lines().chain(std::iter::repeat("")))
            .enumerate()
            .find(|(_, (old, new))| old != new)
            .unwrap_or((0, ("", "")));
        panic!(
            "{} is not what the ABI in src/abi.rs generates (first difference at line {}:\n  \
             committed: {old}\n  generated: {new}\n). Regenerate it and commit the result:\n  \
             LEVERAGE_UPDATE_HEADER=1 cargo test -p leverage-plugin-api --lib c_header",
            path.display(),
            line + 1
        );
    }

    /// `pub const` and `pub struct` names of `abi.rs`: a new one must reach the header (or be
    /// left out with a reason).
    #[test]
    fn every_constant_and_struct_of_the_abi_is_in_the_header_or_left_out_with_a_reason() {
        let source = include_str!("../abi.rs");
        let constants = constants();
        let items = items();
        for line in source.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("pub const ") {
                if rest.starts_with("fn ") {
                    continue;
                }
                let name = rest.split(':').next().unwrap_or(rest).trim();
                assert!(
                    constants.iter().any(|c| c.rust == name)
                        || LEFT_OUT.iter().any(|(rust, _)| *rust == name),
                    "abi.rs has `pub const {name}`, which the C header neither has nor leaves out"
                );
            }
            if let Some(rest) = line.strip_prefix("pub struct ") {
                let name = rest.split([' ', '{', '(']).next().unwrap_or(rest);
                assert!(
                    items.iter().any(|item| match item {
                        Item::Struct(s) => s.rust == name,
                        Item::Opaque { rust, .. } => *rust == name,
                        Item::Functions(_) => false,
                    }),
                    "abi.rs has `pub struct {name}`, which the C header does not declare"
                );
            }
        }
    }

    #[test]
    fn rust_types_map_to_c_types() {
        let f = FUNCTION_DECLS;
        assert_eq!(c_type("*const u8", f), "const char *");
        assert_eq!(c_type("*mut u8", f), "char *");
        assert_eq!(c_type("usize", f), "size_t");
        assert_eq!(
            c_type("*mut *mut PluginInstance", f),
            "LeveragePluginInstance **"
        );
        assert_eq!(c_type("*const *mut f64", f), "double *const *");
        assert_eq!(
            c_type("*const leverage_plugin_api::abi::RawInput", f),
            "const LeverageRawInput *"
        );
        assert_eq!(c_type("*const AtomicU8", f), "const uint8_t *");
        assert_eq!(
            c_type(type_name::<Option<super::super::ScoreBatchFn>>(), f),
            "LeverageScoreBatchFn"
        );
        assert_eq!(
            declaration(&c_type("*const PluginHeader", f), "(*LeverageEntryFn)"),
            "const LeveragePluginHeader *(*LeverageEntryFn)"
        );
    }

    #[test]
    #[should_panic(expected = "no type for `String`")]
    fn a_type_the_header_cannot_express_stops_the_generator() {
        c_type("alloc::string::String", FUNCTION_DECLS);
    }

    #[test]
    fn the_opaque_instance_has_no_size() {
        assert_eq!(size_of::<super::super::PluginInstance>(), 0);
    }

    /// What the probe program must print: Rust's view of every struct, field and constant.
    fn expected_probe_output() -> String {
        let mut out = String::new();
        for item in items() {
            let Item::Struct(s) = item else { continue };
            let c = c_type_name(s.rust);
            writeln!(out, "struct {c} size {} align {}", s.size, s.align).ok();
            for field in &s.fields {
                writeln!(
                    out,
                    "field {c}.{} offset {} size {}",
                    field.c_name(),
                    field.offset,
                    field.size
                )
                .ok();
            }
        }
        for c in constants() {
            let value = match c.value {
                Value::U64(v) => v.to_string(),
                Value::Int(v) => v.to_string(),
                Value::Str(text) => text.to_owned(),
            };
            writeln!(out, "const {} {value}", c.name).ok();
        }
        out
    }

    /// A C (and C++) program that prints what [`expected_probe_output`] expects, as the
    /// compiler sees it through the header.
    fn probe_source() -> String {
        let mut out = String::from(
            "#include <stdio.h>\n#include \"leverage_plugin.h\"\n\n\
             #ifdef __cplusplus\n#define ALIGN_OF(T) alignof(T)\n\
             #else\n#define ALIGN_OF(T) _Alignof(T)\n#endif\n\n\
             int main(void)\n{\n",
        );
        for item in items() {
            let Item::Struct(s) = item else { continue };
            let c = c_type_name(s.rust);
            writeln!(
                out,
                "    printf(\"struct {c} size %zu align %zu\\n\", sizeof({c}), \
                 (size_t)ALIGN_OF({c}));"
            )
            .ok();
            for field in &s.fields {
                let name = field.c_name();
                writeln!(
                    out,
                    "    printf(\"field {c}.{name} offset %zu size %zu\\n\", \
                     offsetof({c}, {name}), sizeof((({c} *)0)->{name}));"
                )
                .ok();
            }
        }
        for c in constants() {
            let name = &c.name;
            let line = match c.value {
                Value::U64(_) => {
                    format!("printf(\"const {name} %llu\\n\", (unsigned long long){name});")
                }
                Value::Int(_) => format!("printf(\"const {name} %lld\\n\", (long long){name});"),
                Value::Str(_) => format!("printf(\"const {name} %s\\n\", {name});"),
            };
            writeln!(out, "    {line}").ok();
        }
        out.push_str("    return 0;\n}\n");
        out
    }

    /// The compiler named by `variable` (`CC`, `CXX`), else `fallback`, if it runs. Without one
    /// the test is skipped with the reason, except under CI, where it fails.
    fn compiler(variable: &str, fallback: &str) -> Option<String> {
        let program = std::env::var(variable).unwrap_or_else(|_| fallback.to_owned());
        match Command::new(&program).arg("--version").output() {
            Ok(output) if output.status.success() => Some(program),
            outcome => {
                let why = format!("no working C compiler `{program}` (${variable}): {outcome:?}");
                assert!(std::env::var_os("CI").is_none(), "{why}; CI must have one");
                eprintln!("SKIPPED: {why}");
                None
            }
        }
    }

    fn scratch_dir(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("leverage-c-header-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    /// Compiles the probe with `compiler` and `flags`, runs it, and returns what it printed.
    fn run_probe(compiler: &str, flags: &[&str], label: &str) -> String {
        let dir = scratch_dir(label);
        let source = dir.join("probe.c");
        std::fs::write(&source, probe_source()).expect("write the probe");
        let binary = dir.join("probe");
        let include = header_path();
        let include = include.parent().expect("include directory");
        let output = Command::new(compiler)
            .args(flags)
            .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
            .arg(include)
            .arg(&source)
            .arg("-o")
            .arg(&binary)
            .output()
            .expect("run the compiler");
        assert!(
            output.status.success(),
            "{compiler} {flags:?} could not compile the probe against {}:\n{}",
            HEADER_FILE,
            String::from_utf8_lossy(&output.stderr)
        );
        let run = Command::new(&binary).output().expect("run the probe");
        assert!(run.status.success(), "the probe failed: {run:?}");
        let _ = std::fs::remove_dir_all(&dir);
        String::from_utf8(run.stdout).expect("UTF-8")
    }

    fn assert_same_layout(seen: &str, how: &str) {
        let expected = expected_probe_output();
        let differences: Vec<String> = expected
            .lines()
            .zip(seen.lines())
            .filter(|(rust, c)| rust != c)
            .map(|(rust, c)| format!("  Rust: {rust}\n  {how}: {c}"))
            .collect();
        assert!(
            differences.is_empty() && expected.lines().count() == seen.lines().count(),
            "the committed header disagrees with Rust ({how}):\n{}",
            differences.join("\n")
        );
    }

    /// The committed header, compiled as C11, agrees with Rust on the size and alignment of
    /// every struct, the offset and size of every field and the value of every constant.
    #[test]
    fn the_header_compiled_as_c_agrees_with_rust_on_every_size_offset_and_constant() {
        let Some(cc) = compiler("CC", "cc") else {
            return;
        };
        let seen = run_probe(&cc, &["-std=c11", "-x", "c"], "c11");
        assert_same_layout(&seen, "C11");
        // C99 has no _Static_assert: the header's fallback for its layout checks compiles too.
        let seen = run_probe(
            &cc,
            &["-std=c99", "-x", "c", "-D_Alignof=__alignof__"],
            "c99",
        );
        assert_same_layout(&seen, "C99");
    }

    /// The same, compiled as C++11: the header is usable from C++ (extern "C", no C-only
    /// constructs).
    #[test]
    fn the_header_compiled_as_cpp_agrees_with_rust_on_every_size_offset_and_constant() {
        let Some(cxx) = compiler("CXX", "c++") else {
            return;
        };
        let seen = run_probe(&cxx, &["-std=c++11", "-x", "c++"], "cpp11");
        assert_same_layout(&seen, "C++11");
    }
}
