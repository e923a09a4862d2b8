/*
 * leverage_plugin.h: the C ABI of leverage scoring plugins, ABI 1.2 (leverage-plugin-api
 * 0.1.0).
 *
 * GENERATED from crates/leverage-plugin-api/src/abi.rs; do not edit. After a change to the ABI,
 * regenerate it with
 *
 * LEVERAGE_UPDATE_HEADER=1 cargo test -p leverage-plugin-api --lib c_header
 *
 * A plugin is a shared library that exports one function, leverage_plugin_entry (declared at
 * the end), returning a pointer to a LeveragePluginHeader in static storage, which must say:
 * magic = LEVERAGE_MAGIC, abi_major = LEVERAGE_ABI_MAJOR (1), abi_minor = LEVERAGE_ABI_MINOR
 * (2), panic_strategy = LEVERAGE_PANIC_UNWIND, layout_fingerprint = LEVERAGE_LAYOUT_FINGERPRINT
 * (0x71828eb42693ccf8). The server refuses a plugin whose header says otherwise, with the
 * reason.
 *
 * Rules: no C++ exception, longjmp or other unwinding crosses the boundary; everything the
 * header and the metadata point to is static; any thread may call, one instance is never used
 * by two threads at once; score_batch reads the cancel flag with atomic loads and stops when it
 * is set; errors go to the host's error buffer. See docs/writing-a-plugin.md, "Writing a plugin
 * in C or C++", and tests/fixtures/c/escrow.c for a complete plugin.
 *
 * Written for C99 or later and C++11 or later, on 64-bit little-endian targets (the layout
 * checks at the end stop the compiler elsewhere).
 */

#ifndef LEVERAGE_PLUGIN_H
#define LEVERAGE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the one function a plugin exports. */
#define LEVERAGE_ENTRY_SYMBOL "leverage_plugin_entry"

/* First eight bytes of every header: "LVRGPLUG" read as a little-endian uint64_t. */
#define LEVERAGE_MAGIC UINT64_C(0x47554c504752564c)

/* Major ABI version: a server loads only plugins of its own major. */
#define LEVERAGE_ABI_MAJOR 1

/*
 * Minor ABI version of this header: a server loads a plugin whose minor is not above its own.
 */
#define LEVERAGE_ABI_MINOR 2

/* Version of leverage-plugin-api this header was generated from. */
#define LEVERAGE_API_VERSION "0.1.0"

/*
 * The layout fingerprint of ABI 1.2 (64-bit little-endian targets), which the header of a
 * plugin of this minor carries. The server computes it from its own definitions; in C nothing
 * computes it, so the layout checks at the end of this file guard the layout instead.
 */
#define LEVERAGE_LAYOUT_FINGERPRINT UINT64_C(0x71828eb42693ccf8)

/* Panic strategy not stated: refused. */
#define LEVERAGE_PANIC_UNKNOWN 0

/* The panic strategy every loadable plugin states (see LeverageHeaderPrefix.panic_strategy). */
#define LEVERAGE_PANIC_UNWIND 1

/* A Rust plugin built with panic = "abort": refused, as one panic would end the server. */
#define LEVERAGE_PANIC_ABORT 2

/* The fingerprint a plugin stating minor 0 carries (the server's abi::LAYOUTS). */
#define LEVERAGE_LAYOUT_FINGERPRINT_1_0 UINT64_C(0xcbe52f3c1d1f888f)

/* The fingerprint a plugin stating minor 1 carries (the server's abi::LAYOUTS). */
#define LEVERAGE_LAYOUT_FINGERPRINT_1_1 UINT64_C(0x5bb6b23fef7e9662)

/* The fingerprint a plugin stating minor 2 carries (the server's abi::LAYOUTS). */
#define LEVERAGE_LAYOUT_FINGERPRINT_1_2 UINT64_C(0x71828eb42693ccf8)

/* Success. As a row status: the row's outputs are written. */
#define LEVERAGE_STATUS_OK 0

/*
 * The plugin reported an error, with a message in the error buffer. As a row status: this row
 * could not be scored.
 */
#define LEVERAGE_STATUS_ERROR 1

/*
 * The plugin failed in a way that leaves the instance unusable: the host destroys it and counts
 * the failure against the plugin.
 */
#define LEVERAGE_STATUS_PANIC 2

/* The cancel flag was seen; rows not reached have LEVERAGE_STATUS_NOT_RUN. */
#define LEVERAGE_STATUS_CANCELLED 3

/* The host passed a NULL pointer or sizes that do not match the metadata. */
#define LEVERAGE_STATUS_INVALID_ARGUMENT 4

/* Row status only: the row was not scored (the batch stopped before it). */
#define LEVERAGE_STATUS_NOT_RUN 5

/*
 * The structs of the ABI, declared first so that any of them may be named before its
 * definition.
 */
typedef struct LeverageStrView LeverageStrView;
typedef struct LeverageRawInput LeverageRawInput;
typedef struct LeverageRawOwnInput LeverageRawOwnInput;
typedef struct LeverageRawComponent LeverageRawComponent;
typedef struct LeverageRawParameter LeverageRawParameter;
typedef struct LeverageRawMetadata LeverageRawMetadata;
typedef struct LeverageErrorBuffer LeverageErrorBuffer;
typedef struct LeveragePluginVTable LeveragePluginVTable;
typedef struct LeverageHeaderPrefix LeverageHeaderPrefix;
typedef struct LeveragePluginHeader LeveragePluginHeader;

/*
 * A borrowed UTF-8 string: `len` bytes at `ptr`, not NUL-terminated. Every view in the header
 * and the metadata must stay valid while the library is loaded, which is for the life of the
 * server (it never unloads a plugin): point them at string literals or other static storage.
 * LEVERAGE_STR("...") makes one of a literal.
 */
struct LeverageStrView {
    /* First byte, or NULL when `len` is 0. */
    const char *ptr;
    /* Length in bytes, without a terminating NUL. */
    size_t len;
};

/* One input of the server's catalog that the plugin reads, e.g. "pool.eur_bn" in "EUR bn". */
struct LeverageRawInput {
    /* Catalog name. */
    LeverageStrView name;
    /* Unit, for people. */
    LeverageStrView unit;
};

/*
 * One input the plugin declares itself (ABI 1.1): not in the catalog, set by name in each
 * scenario and checked by the server against this declaration before the plugin sees it.
 */
struct LeverageRawOwnInput {
    /*
     * Name, e.g. "escrow.share": unique among the plugin's inputs and outside the catalog's
     * namespaces ("lever.", "pool.", ...).
     */
    LeverageStrView name;
    /* Unit, for people. */
    LeverageStrView unit;
    /* What it is, for people. */
    LeverageStrView description;
    /* Smallest accepted value (inclusive, finite). */
    double min;
    /* Largest accepted value (inclusive, finite). */
    double max;
    /*
     * Value when a scenario leaves the input unset; ignored (NAN by convention) when `required`
     * is not 0.
     */
    double default_;
    /* Not 0 when every scenario must set the input. */
    uint32_t required;
};

/*
 * One output, a component or the score itself, with the range the plugin promises to stay in:
 * the server fails a row whose value is outside [min, max], NaN or infinite.
 */
struct LeverageRawComponent {
    /* Name, unique among the plugin's components. */
    LeverageStrView name;
    /* Unit, for people. */
    LeverageStrView unit;
    /* What the value means. */
    LeverageStrView description;
    /* Smallest value the plugin may return (inclusive, finite). */
    double min;
    /* Largest value the plugin may return (inclusive, finite). */
    double max;
};

/* One number the configuration text may set, as a `name = value` line. */
struct LeverageRawParameter {
    /* Key in the configuration text. */
    LeverageStrView name;
    /* Unit, for people. */
    LeverageStrView unit;
    /* What it changes. */
    LeverageStrView description;
    /* Value when the configuration does not set it, within [min, max]. */
    double default_;
    /* Smallest accepted value (inclusive). */
    double min;
    /* Largest accepted value (inclusive). */
    double max;
};

/*
 * The plugin's self-description, written by its metadata function into a struct the host
 * provides. Every view and array points to static storage; an array may be NULL when its count
 * is 0.
 */
struct LeverageRawMetadata {
    /*
     * Stable identifier the server routes calls by: 1 to 64 characters of A-Z a-z 0-9 - _ and
     * `.`.
     */
    LeverageStrView id;
    /* Human name. */
    LeverageStrView name;
    /* Version of the model (semver recommended). */
    LeverageStrView version;
    /* What the model measures. */
    LeverageStrView description;
    /* Free-form build identifier (version, commit). */
    LeverageStrView build_id;
    /* The catalog inputs the plugin reads, in the order each row passes them. */
    const LeverageRawInput *inputs;
    /* Number of entries at `inputs`. */
    size_t n_inputs;
    /* The components each output row holds after the score, in this order. */
    const LeverageRawComponent *components;
    /* Number of entries at `components`. */
    size_t n_components;
    /* The score itself: name, unit, declared range. */
    LeverageRawComponent score;
    /* The parameters the configuration text may set. */
    const LeverageRawParameter *parameters;
    /* Number of entries at `parameters`. */
    size_t n_parameters;
    /*
     * ABI 1.1: the inputs the plugin declares itself, which follow the catalog inputs in each
     * row. The host reads these two fields only from a plugin whose header says minor 1 or
     * later.
     */
    const LeverageRawOwnInput *own_inputs;
    /* Number of entries at `own_inputs`. */
    size_t n_own_inputs;
    /*
     * ABI 1.2: the model card, UTF-8 markdown (an empty view for none): what the model is for,
     * the inputs it reads and their sources, what it ignores, its known limits, its version
     * history. The server serves it with the plugin's description. The host reads it only from
     * a plugin whose header says minor 2 or later.
     */
    LeverageStrView model_card;
};

/*
 * A host-owned buffer for one error message: write at most `capacity` bytes of UTF-8 at `ptr`
 * (cut at a character boundary; no NUL needed) and store how many in `len`. When `ptr` is NULL
 * write nothing.
 */
struct LeverageErrorBuffer {
    /* Start of the host's buffer. */
    char *ptr;
    /* Size of the host's buffer in bytes. */
    size_t capacity;
    /* Bytes written by the plugin; the host sets it to 0 before each call. */
    size_t len;
};

/*
 * An instance, opaque to the host: made by `create`, passed to `score_batch`, handed back to
 * `destroy` exactly once. A plugin may complete `struct LeveragePluginInstance` with its
 * instance's fields, or cast.
 */
typedef struct LeveragePluginInstance LeveragePluginInstance;

/*
 * The one function a plugin exports, as LEVERAGE_ENTRY_SYMBOL (declared at the end of this
 * file): returns the plugin's header, in static storage. It may be called more than once, from
 * any thread.
 */
typedef const LeveragePluginHeader *(*LeverageEntryFn)(void);

/*
 * Writes the plugin's metadata to `*out`. Returns LEVERAGE_STATUS_OK, or
 * LEVERAGE_STATUS_INVALID_ARGUMENT when `out` is NULL. May be called at any time, from any
 * thread.
 */
typedef int32_t (*LeverageMetadataFn)(LeverageRawMetadata *out);

/*
 * Creates an instance from the configuration text (UTF-8 `key = value` lines, not
 * NUL-terminated). On success stores the handle in `*instance_out` and returns
 * LEVERAGE_STATUS_OK; otherwise writes why to `*error` (unknown keys with the known ones,
 * values out of range, ...) and returns LEVERAGE_STATUS_ERROR.
 */
typedef int32_t (*LeverageCreateFn)(
    LeverageStrView config,
    LeveragePluginInstance **instance_out,
    LeverageErrorBuffer *error);

/* Destroys an instance made by `create`. Called exactly once per instance. */
typedef void (*LeverageDestroyFn)(LeveragePluginInstance *instance);

/*
 * Scores `rows` scenarios. `inputs` holds rows x cols doubles, row-major, each row the catalog
 * inputs then the own inputs in declared order (cols = n_inputs + n_own_inputs); `outputs`
 * holds rows x out_cols doubles (out_cols = 1 + n_components), the score then each component.
 * Write each row's status to `row_status` (LEVERAGE_STATUS_OK, _ERROR or _NOT_RUN) and the
 * message of the lowest failing row to `*error`. `cancel` is a byte the host may set at any
 * time, or NULL: read it with leverage_cancel_requested() and, once it is set, stop and return
 * LEVERAGE_STATUS_CANCELLED. Returns LEVERAGE_STATUS_OK when every row has its status,
 * LEVERAGE_STATUS_INVALID_ARGUMENT for NULL buffers or sizes that do not match the metadata.
 */
typedef int32_t (*LeverageScoreBatchFn)(
    LeveragePluginInstance *instance,
    const double *inputs,
    size_t rows,
    size_t cols,
    double *outputs,
    size_t out_cols,
    int32_t *row_status,
    const uint8_t *cancel,
    LeverageErrorBuffer *error);

/* The function table, in static storage. A NULL entry refuses the plugin. */
struct LeveragePluginVTable {
    /* See LeverageMetadataFn. */
    LeverageMetadataFn metadata;
    /* See LeverageCreateFn. */
    LeverageCreateFn create;
    /* See LeverageDestroyFn. */
    LeverageDestroyFn destroy;
    /* See LeverageScoreBatchFn. */
    LeverageScoreBatchFn score_batch;
};

/*
 * The part of the header that no ABI version changes, so that any server can read it from any
 * plugin and say why it refuses one.
 */
struct LeverageHeaderPrefix {
    /* LEVERAGE_MAGIC. */
    uint64_t magic;
    /* LEVERAGE_ABI_MAJOR. */
    uint16_t abi_major;
    /* LEVERAGE_ABI_MINOR, or an older minor whose layout the plugin follows. */
    uint16_t abi_minor;
    /*
     * LEVERAGE_PANIC_UNWIND, the only value the server accepts. For a C or C++ plugin it states
     * that no error of the plugin ends the process: the plugin has no panics, returns every
     * error as a status, and lets no C++ exception or longjmp cross the boundary.
     */
    uint32_t panic_strategy;
    /* The leverage-plugin-api version the header was made from: LEVERAGE_API_VERSION. */
    LeverageStrView api_version;
    /*
     * The compiler that built the plugin, for messages: rustc for a Rust plugin, e.g. "gcc "
     * __VERSION__ for a C one.
     */
    LeverageStrView rustc_version;
};

/* What the entry function returns a pointer to, in static storage. */
struct LeveragePluginHeader {
    /* Frozen across all versions. */
    LeverageHeaderPrefix prefix;
    /*
     * LEVERAGE_LAYOUT_FINGERPRINT: the server compares it with its own for the plugin's minor
     * and refuses a mismatch.
     */
    uint64_t layout_fingerprint;
    /* The function table, in static storage. */
    const LeveragePluginVTable *vtable;
};

/*
 * Marks the entry function as exported even when the plugin is compiled with
 * -fvisibility=hidden.
 */
#if defined(__GNUC__) || defined(__clang__)
#define LEVERAGE_EXPORT __attribute__((visibility("default")))
#else
#define LEVERAGE_EXPORT
#endif

/*
 * The entry function: every plugin defines it, in exactly one of its files. Inside this
 * header's extern "C" block, so a C++ plugin's definition has C linkage. Its type is
 * LeverageEntryFn.
 */
LEVERAGE_EXPORT const LeveragePluginHeader *leverage_plugin_entry(void);

/* A view of a string literal, for static initialisers: LEVERAGE_STR("pool.eur_bn"). */
#define LEVERAGE_STR(literal) { (literal), sizeof(literal) - 1 }

/*
 * Whether the host asked score_batch to stop: a relaxed atomic load of the cancel byte (NULL:
 * never). Look at it every few rows, at least every few milliseconds of work.
 */
static inline int leverage_cancel_requested(const uint8_t *cancel)
{
#if defined(__GNUC__) || defined(__clang__)
    return cancel != NULL && __atomic_load_n(cancel, __ATOMIC_RELAXED) != 0;
#else
    return cancel != NULL && *(const volatile uint8_t *)cancel != 0;
#endif
}

/*
 * Layout checks: the sizes, alignments and offsets Rust gives these types. A compiler that lays
 * them out otherwise (another target, a #pragma pack in force) stops here instead of building a
 * plugin the server would misread.
 */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define LEVERAGE_STATIC_ASSERT(condition, what) static_assert(condition, what)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define LEVERAGE_STATIC_ASSERT(condition, what) _Static_assert(condition, what)
#else
#define LEVERAGE_STATIC_ASSERT_NAME2(line) leverage_static_assert_##line
#define LEVERAGE_STATIC_ASSERT_NAME(line) LEVERAGE_STATIC_ASSERT_NAME2(line)
#define LEVERAGE_STATIC_ASSERT(condition, what) \
    typedef char LEVERAGE_STATIC_ASSERT_NAME(__LINE__)[(condition) ? 1 : -1]
#endif

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "leverage plugins are little-endian"
#endif

LEVERAGE_STATIC_ASSERT(sizeof(void *) == 8 && sizeof(size_t) == 8, "a 64-bit target");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageStrView) == 16, "size of LeverageStrView");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageStrView, ptr) == 0, "offset of LeverageStrView.ptr");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageStrView, len) == 8, "offset of LeverageStrView.len");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageRawInput) == 32, "size of LeverageRawInput");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawInput, name) == 0, "offset of LeverageRawInput.name");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawInput, unit) == 16, "offset of LeverageRawInput.unit");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageRawOwnInput) == 80, "size of LeverageRawOwnInput");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, name) == 0, "offset of LeverageRawOwnInput.name");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, unit) == 16, "offset of LeverageRawOwnInput.unit");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, description) == 32, "offset of LeverageRawOwnInput.description");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, min) == 48, "offset of LeverageRawOwnInput.min");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, max) == 56, "offset of LeverageRawOwnInput.max");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, default_) == 64, "offset of LeverageRawOwnInput.default_");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawOwnInput, required) == 72, "offset of LeverageRawOwnInput.required");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageRawComponent) == 64, "size of LeverageRawComponent");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawComponent, name) == 0, "offset of LeverageRawComponent.name");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawComponent, unit) == 16, "offset of LeverageRawComponent.unit");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawComponent, description) == 32, "offset of LeverageRawComponent.description");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawComponent, min) == 48, "offset of LeverageRawComponent.min");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawComponent, max) == 56, "offset of LeverageRawComponent.max");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageRawParameter) == 72, "size of LeverageRawParameter");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawParameter, name) == 0, "offset of LeverageRawParameter.name");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawParameter, unit) == 16, "offset of LeverageRawParameter.unit");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawParameter, description) == 32, "offset of LeverageRawParameter.description");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawParameter, default_) == 48, "offset of LeverageRawParameter.default_");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawParameter, min) == 56, "offset of LeverageRawParameter.min");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawParameter, max) == 64, "offset of LeverageRawParameter.max");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageRawMetadata) == 224, "size of LeverageRawMetadata");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, id) == 0, "offset of LeverageRawMetadata.id");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, name) == 16, "offset of LeverageRawMetadata.name");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, version) == 32, "offset of LeverageRawMetadata.version");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, description) == 48, "offset of LeverageRawMetadata.description");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, build_id) == 64, "offset of LeverageRawMetadata.build_id");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, inputs) == 80, "offset of LeverageRawMetadata.inputs");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, n_inputs) == 88, "offset of LeverageRawMetadata.n_inputs");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, components) == 96, "offset of LeverageRawMetadata.components");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, n_components) == 104, "offset of LeverageRawMetadata.n_components");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, score) == 112, "offset of LeverageRawMetadata.score");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, parameters) == 176, "offset of LeverageRawMetadata.parameters");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, n_parameters) == 184, "offset of LeverageRawMetadata.n_parameters");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, own_inputs) == 192, "offset of LeverageRawMetadata.own_inputs");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, n_own_inputs) == 200, "offset of LeverageRawMetadata.n_own_inputs");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageRawMetadata, model_card) == 208, "offset of LeverageRawMetadata.model_card");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageErrorBuffer) == 24, "size of LeverageErrorBuffer");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageErrorBuffer, ptr) == 0, "offset of LeverageErrorBuffer.ptr");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageErrorBuffer, capacity) == 8, "offset of LeverageErrorBuffer.capacity");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageErrorBuffer, len) == 16, "offset of LeverageErrorBuffer.len");
LEVERAGE_STATIC_ASSERT(sizeof(LeveragePluginVTable) == 32, "size of LeveragePluginVTable");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginVTable, metadata) == 0, "offset of LeveragePluginVTable.metadata");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginVTable, create) == 8, "offset of LeveragePluginVTable.create");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginVTable, destroy) == 16, "offset of LeveragePluginVTable.destroy");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginVTable, score_batch) == 24, "offset of LeveragePluginVTable.score_batch");
LEVERAGE_STATIC_ASSERT(sizeof(LeverageHeaderPrefix) == 48, "size of LeverageHeaderPrefix");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageHeaderPrefix, magic) == 0, "offset of LeverageHeaderPrefix.magic");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageHeaderPrefix, abi_major) == 8, "offset of LeverageHeaderPrefix.abi_major");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageHeaderPrefix, abi_minor) == 10, "offset of LeverageHeaderPrefix.abi_minor");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageHeaderPrefix, panic_strategy) == 12, "offset of LeverageHeaderPrefix.panic_strategy");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageHeaderPrefix, api_version) == 16, "offset of LeverageHeaderPrefix.api_version");
LEVERAGE_STATIC_ASSERT(offsetof(LeverageHeaderPrefix, rustc_version) == 32, "offset of LeverageHeaderPrefix.rustc_version");
LEVERAGE_STATIC_ASSERT(sizeof(LeveragePluginHeader) == 64, "size of LeveragePluginHeader");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginHeader, prefix) == 0, "offset of LeveragePluginHeader.prefix");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginHeader, layout_fingerprint) == 48, "offset of LeveragePluginHeader.layout_fingerprint");
LEVERAGE_STATIC_ASSERT(offsetof(LeveragePluginHeader, vtable) == 56, "offset of LeveragePluginHeader.vtable");

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LEVERAGE_PLUGIN_H */
