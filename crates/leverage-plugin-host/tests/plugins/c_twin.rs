//! The C twin of `fixture-escrow`, `tests/fixtures/c/escrow.c` (id `fixture-escrow-c`), built
//! here with the system C compiler against the generated header and loaded next to the Rust
//! fixture: the same declarations, the same bits for 10,000 random scenarios under the default,
//! a configured and per-call parameters, the same refusal of bad configurations (by the host and
//! by `check_plugin`), and, through the raw ABI, the same answer to 10,000 random configuration
//! texts and to bad calls.
//!
//! Without a C compiler these tests print why and pass without checking, except under CI.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use leverage_plugin_api::abi::{
    self, ErrorBuffer, PluginHeader, PluginInstance, PluginVTable, RawMetadata, StrView, status,
};
use leverage_plugin_host::{
    CallOptions, CheckOptions, PluginHost, PluginState, RefuseReason, Scored, check_plugin,
};

use crate::support::{
    CATALOG, empty_dir, fixture, host, options, sample_rows, scenario, workspace_root,
};

#[path = "../../../../tests/fixtures/c/twin.rs"]
mod twin;

use twin::Rng;

const RUST_ID: &str = "fixture-escrow";
const C_ID: &str = "fixture-escrow-c";
const SCENARIOS: usize = 10_000;

/// The C twin, compiled once per test binary; `None` without a C compiler, after printing why
/// the calling test checks nothing.
fn c_library() -> Option<&'static Path> {
    static LIBRARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let library = LIBRARY.get_or_init(|| {
        twin::c_compiler().map(|cc| {
            twin::compile_c_fixture(
                &cc,
                &workspace_root(),
                "escrow",
                &empty_dir("c-fixtures"),
                "libfixture_escrow_c.so",
            )
        })
    });
    match library {
        Ok(path) => Some(path),
        Err(why) => {
            eprintln!("SKIPPED (the C twin of fixture-escrow is not built): {why}");
            None
        }
    }
}

/// A host with both twins, each configured with `config`.
fn twins(label: &str, config: &str) -> Option<PluginHost> {
    let c = c_library()?;
    let configs = [(RUST_ID, config), (C_ID, config)];
    Some(host(
        label,
        &[fixture("escrow"), c.to_owned()],
        options(&configs),
    ))
}

/// `n` request rows: the reference catalog row with the three inputs escrow reads drawn across
/// their documented ranges, then its own two inputs across their declared ones.
fn random_rows(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mut rows = Vec::with_capacity(n * (CATALOG.len() + 2));
    for _ in 0..n {
        rows.extend(scenario(&[
            ("pool.eur_bn", rng.in_range(0.0, 300.0)),
            ("legal.risk.selected", rng.in_range(0.0, 1.0)),
            ("lever.horizon_years", rng.in_range(1.0, 30.0)),
        ]));
        rows.push(rng.in_range(0.0, 1.0));
        rows.push(rng.in_range(0.0, 1.0));
    }
    rows
}

/// Every row's score and components, as bits.
fn bits(scored: &Scored) -> Vec<Vec<u64>> {
    scored
        .iter()
        .enumerate()
        .map(|(row, result)| {
            let row = result.unwrap_or_else(|error| panic!("row {row} failed: {error}"));
            std::iter::once(row.score)
                .chain(row.components().iter().copied())
                .map(f64::to_bits)
                .collect()
        })
        .collect()
}

fn score(host: &PluginHost, id: &str, rows: &[f64]) -> Vec<Vec<u64>> {
    let n = rows.len() / (CATALOG.len() + 2);
    let scored = host
        .score_blocking(id, rows, n, &AtomicBool::new(false))
        .unwrap_or_else(|error| panic!("{id}: {error}"));
    bits(&scored)
}

/// Scores `rows` with both twins and asserts they agree bit for bit; returns the bits.
fn assert_twins_agree(host: &PluginHost, rows: &[f64], what: &str) -> Vec<Vec<u64>> {
    let rust = score(host, RUST_ID, rows);
    let c = score(host, C_ID, rows);
    assert_eq!(rust.len(), c.len());
    for (row, (r, c)) in rust.iter().zip(&c).enumerate() {
        assert_eq!(
            r,
            c,
            "{what}, row {row}: Rust {:?}, C {:?}, inputs {:?}",
            r.iter().map(|b| f64::from_bits(*b)).collect::<Vec<_>>(),
            c.iter().map(|b| f64::from_bits(*b)).collect::<Vec<_>>(),
            &rows[row * (CATALOG.len() + 2)..(row + 1) * (CATALOG.len() + 2)]
        );
    }
    rust
}

#[test]
fn the_c_twin_loads_with_the_declarations_of_the_rust_fixture() {
    let Some(host) = twins("c-twin-load", "") else {
        return;
    };
    let plugins = host.plugins();
    let status = |id: &str| {
        plugins
            .iter()
            .find(|p| p.id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{id} not loaded: {plugins:?}"))
    };
    let (rust, c) = (status(RUST_ID), status(C_ID));
    assert_eq!(c.state, PluginState::Ready, "{c:?}");
    let build = c.build.as_ref().expect("build info");
    assert_eq!(
        (build.abi_major, build.abi_minor),
        (abi::ABI_MAJOR, abi::ABI_MINOR)
    );
    assert_eq!(build.panic_strategy, abi::PANIC_UNWIND);
    assert_eq!(build.api_version, abi::API_VERSION);
    assert!(build.rustc_version.starts_with("cc "), "{build}");
    let (rust, c) = (
        rust.metadata.as_ref().expect("metadata"),
        c.metadata.as_ref().expect("metadata"),
    );
    assert_eq!(rust.inputs, c.inputs);
    assert_eq!(rust.own_inputs, c.own_inputs);
    assert_eq!(rust.components, c.components);
    assert_eq!(rust.score, c.score);
    assert_eq!(rust.parameters, c.parameters);
    // Each carries a card of its own (ABI 1.2), read from the C literal as from Rust's str.
    assert!(
        c.model_card
            .starts_with("# Fixture: escrow pressure (C) - model card\n\nThe C twin of"),
        "{:?}",
        c.model_card
    );
    assert!(c.model_card.ends_with("twin of fixture-escrow 1.0.0.\n"));
    assert!(rust.model_card.starts_with("# Fixture: escrow pressure"));
    assert_eq!(
        (rust.version.as_str(), c.version.as_str()),
        ("1.0.0", "1.0.0")
    );
}

#[test]
fn ten_thousand_random_scenarios_score_the_same_bits_in_c_and_rust() {
    let Some(host) = twins("c-twin-random", "") else {
        return;
    };
    let started = Instant::now();
    let rows = random_rows(&mut Rng::new(0x00c0_ffee), SCENARIOS);
    let all = assert_twins_agree(&host, &rows, "default parameters");
    // The same rows in batches of every size from 1 to 200: a row scores alike in any batch.
    let width = CATALOG.len() + 2;
    let (mut start, mut size) = (0, 1);
    while start < SCENARIOS {
        let end = (start + size).min(SCENARIOS);
        let part = score(&host, C_ID, &rows[start * width..end * width]);
        assert_eq!(part, all[start..end], "rows {start}..{end} as one batch");
        (start, size) = (end, size % 200 + 1);
    }
    eprintln!("{SCENARIOS} scenarios compared in {:?}", started.elapsed());
}

#[test]
fn configured_parameters_change_both_twins_alike() {
    let config = "# escrow, configured\n\nweight = 0.25   # less weight\r\n\t yield_pct=7.5\n";
    let (Some(configured), Some(defaults)) = (
        twins("c-twin-configured", config),
        twins("c-twin-defaults", ""),
    ) else {
        return;
    };
    let rows = random_rows(&mut Rng::new(7), SCENARIOS);
    let with_config = assert_twins_agree(&configured, &rows, "configured parameters");
    let without = score(&defaults, C_ID, &rows);
    let changed = with_config
        .iter()
        .zip(&without)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        changed > SCENARIOS / 2,
        "the configuration changed {changed} rows"
    );
}

#[test]
fn per_call_parameters_reach_both_twins_alike() {
    let Some(host) = twins("c-twin-per-call", "weight = 0.9") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = Rng::new(99);
    for call in 0..100 {
        // Any value in range: the host writes it with `{}` and each twin reads it back.
        let mut parameters = Vec::new();
        if call % 3 != 0 {
            parameters.push(("weight".to_owned(), rng.in_range(0.0, 1.0)));
        }
        if call % 3 != 1 {
            parameters.push(("yield_pct".to_owned(), rng.in_range(0.0, 10.0)));
        }
        let options = CallOptions {
            parameters,
            ..CallOptions::default()
        };
        let rows = random_rows(&mut rng, 100);
        let results = [RUST_ID, C_ID].map(|id| {
            let scored = runtime
                .block_on(host.score_with(
                    id,
                    &options,
                    rows.clone(),
                    100,
                    Duration::from_secs(30),
                    Arc::new(AtomicBool::new(false)),
                ))
                .unwrap_or_else(|error| panic!("{id}: {error}"));
            bits(&scored)
        });
        assert_eq!(results[0], results[1], "call {call} with {options:?}");
    }
}

/// The refusal of the plugin `id` in `host`.
fn refusal(host: &PluginHost, id: &str) -> RefuseReason {
    let file = if id == C_ID {
        "libfixture_escrow_c.so"
    } else {
        "libfixture_escrow.so"
    };
    host.plugins()
        .into_iter()
        .find(|p| p.path.file_name().is_some_and(|name| name == file))
        .and_then(|p| match p.state {
            PluginState::Refused { reason } => Some(reason),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{id} was not refused"))
}

#[test]
fn a_bad_configuration_is_refused_by_both_twins_with_the_same_reason() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            "wieght = 1\nyield_pct = 11\nweight = x\nyield_pct = 2\nnonsense\nspeed = 3",
            Some(
                "unknown parameter(s) `wieght`, `speed`; known: weight, yield_pct; line 2: \
                 `yield_pct` = 11 is outside [0, 10]; line 3: `weight` = `x` is not a number; \
                 line 4: `yield_pct` is set twice; line 5: expected `key = value`, found \
                 `nonsense`",
            ),
        ),
        (
            "weight = -0.000001\nyield_pct = 1e3",
            Some(
                "line 1: `weight` = -0.000001 is outside [0, 1]; line 2: `yield_pct` = 1000 is \
                 outside [0, 10]",
            ),
        ),
        (
            "weight = inf # infinite\nyield_pct = -NaN",
            Some(
                "line 1: `weight` must be finite, got inf; line 2: `yield_pct` must be finite, \
                 got -NaN",
            ),
        ),
        // Unicode white space around a key is trimmed, as Rust's `str::trim` does.
        ("\u{a0}weight\u{3000}= 1.5", None),
        ("weight = 0x1\nyield_pct = 1_0\n= 3\nweight=", None),
        ("yield_pct = 10.000000000000002\nweight = 1e-400e", None),
    ];
    for (index, (config, expected)) in cases.iter().enumerate() {
        let Some(host) = twins(&format!("c-twin-bad-{index}"), config) else {
            return;
        };
        let (rust, c) = (refusal(&host, RUST_ID), refusal(&host, C_ID));
        assert_eq!(rust, c, "configuration {config:?}");
        let RefuseReason::ConfigRejected { status, message } = c else {
            panic!("refused for another reason: {c}");
        };
        assert_eq!(status, status::ERROR);
        if let Some(expected) = expected {
            assert_eq!(message, *expected);
        }
    }
}

/// What `score_batch` answered: its status, its message, the row statuses and the outputs (as
/// bits).
type Answer = (i32, String, Vec<i32>, Vec<u64>);

/// A plugin opened through the raw ABI, as the host opens it, to call `create` and
/// `score_batch` with what the host never passes.
struct Raw {
    vtable: PluginVTable,
}

impl Raw {
    fn open(path: &Path) -> Raw {
        // SAFETY: a fixture plugin of this repository; loading it runs no code of note.
        let library = unsafe { libloading::Library::new(path) }.expect("dlopen");
        // Never unloaded, as the host never unloads a plugin.
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        // SAFETY: the ABI's entry symbol has the type `EntryFn`.
        let entry = unsafe { library.get::<abi::EntryFn>(abi::ENTRY_SYMBOL) }.expect("entry");
        // SAFETY: the entry returns a pointer to the plugin's static header.
        let header: &PluginHeader = unsafe { &*entry() };
        assert_eq!(header.layout_fingerprint, abi::LAYOUT_FINGERPRINT);
        // SAFETY: the fingerprint matched: the table has this layout, in static memory.
        Raw {
            vtable: unsafe { *header.vtable },
        }
    }

    /// `create` with `config` and an error buffer of `capacity` bytes: the status, the
    /// message, and the instance if there is one.
    fn create(&self, config: &[u8], capacity: usize) -> (i32, String, Option<*mut PluginInstance>) {
        let create = self.vtable.create.expect("create");
        let mut message = vec![0u8; capacity];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity,
            len: 0,
        };
        let mut instance = std::ptr::null_mut();
        let view = StrView {
            ptr: config.as_ptr(),
            len: config.len(),
        };
        // SAFETY: the view, the slot and the buffer outlive the call.
        let code = unsafe { create(view, &mut instance, &mut error) };
        let text = String::from_utf8(message[..error.len].to_vec()).expect("UTF-8 message");
        (code, text, (!instance.is_null()).then_some(instance))
    }

    fn destroy(&self, instance: *mut PluginInstance) {
        // SAFETY: made by this table's `create`, destroyed once.
        unsafe { self.vtable.destroy.expect("destroy")(instance) };
    }

    /// `score_batch` over `inputs` with the given column counts and cancel byte: status,
    /// message, row statuses and outputs (as bits).
    fn score(
        &self,
        instance: *mut PluginInstance,
        inputs: &[f64],
        (rows, cols, out_cols): (usize, usize, usize),
        cancel: u8,
    ) -> Answer {
        let score_batch = self.vtable.score_batch.expect("score_batch");
        let mut outputs = vec![f64::NAN; rows.min(1 << 16) * out_cols];
        let mut row_status = vec![-1; rows.min(1 << 16)];
        let mut message = vec![0u8; 1024];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        let cancel = AtomicU8::new(cancel);
        // SAFETY: the buffers hold what the sizes say, except in the calls that test the
        // plugin's refusal of sizes that overflow, which it must refuse before reading.
        let code = unsafe {
            score_batch(
                instance,
                inputs.as_ptr(),
                rows,
                cols,
                outputs.as_mut_ptr(),
                out_cols,
                row_status.as_mut_ptr(),
                &cancel,
                &mut error,
            )
        };
        (
            code,
            String::from_utf8_lossy(&message[..error.len]).into_owned(),
            row_status,
            outputs.into_iter().map(f64::to_bits).collect(),
        )
    }
}

fn raw_twins() -> Option<(Raw, Raw)> {
    let c = c_library()?;
    Some((Raw::open(&fixture("escrow")), Raw::open(c)))
}

/// Rows of the five columns escrow reads, for scoring instances directly.
fn plugin_rows(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .flat_map(|_| {
            [
                rng.in_range(0.0, 300.0),
                rng.in_range(0.0, 1.0),
                rng.in_range(1.0, 30.0),
                rng.in_range(0.0, 1.0),
                rng.in_range(0.0, 1.0),
            ]
        })
        .collect()
}

/// A random configuration text: lines of keys known and unknown, values well and badly
/// written, Unicode white space, comments, `\r\n` and bare `\r`, now and then invalid UTF-8.
fn random_config(rng: &mut Rng) -> Vec<u8> {
    const SPACE: &[&str] = &[
        "", " ", "  ", "\t", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}", "\u{b}", "\u{200b}",
    ];
    const KEYS: &[&str] = &[
        "weight",
        "yield_pct",
        "Weight",
        "wieght",
        "yield",
        "",
        "weight yield_pct",
        "é",
    ];
    const WORDS: &[&str] = &[
        "inf",
        "-inf",
        "+Infinity",
        "NaN",
        "-nan",
        "infinit",
        ".5",
        "5.",
        ".",
        "-.5e-3",
        "1e",
        "1e+",
        "+1E+2",
        "0x10",
        "1_000",
        "1 2",
        "",
        "abc",
        "×",
        "-0",
        "+0.0",
        "00000.1000",
        "1e400",
        "-1e-400",
        "4.9e-324",
        "1.7976931348623157e308",
        "0.1e1",
        "10",
        "10.000000000000002",
        "9.999999999999998",
        "=",
        "1=2",
    ];
    let mut text = String::new();
    for _ in 0..rng.below(6) {
        let space = |rng: &mut Rng| SPACE[rng.below(SPACE.len())];
        if rng.below(8) == 0 {
            text.push_str(space(rng));
        } else {
            let key = KEYS[rng.below(KEYS.len())];
            let value = match rng.below(4) {
                0 => WORDS[rng.below(WORDS.len())].to_owned(),
                1 => format!("{}", rng.in_range(-1.0, 11.0)),
                2 => format!(
                    "{:e}",
                    rng.in_range(-20.0, 20.0) * 10f64.powi(rng.below(40) as i32 - 20)
                ),
                _ => format!("{}", f64::from_bits(rng.next_u64())),
            };
            let equals = ["=", " = ", "", "=="][rng.below(4)];
            text.push_str(&format!(
                "{}{key}{}{equals}{}{value}{}",
                space(rng),
                space(rng),
                space(rng),
                space(rng)
            ));
        }
        if rng.below(4) == 0 {
            text.push_str(&format!("# {}", KEYS[rng.below(KEYS.len())]));
        }
        text.push_str(["\n", "\r\n", "\r", "\n\n"][rng.below(4)]);
    }
    let mut bytes = text.into_bytes();
    if rng.below(50) == 0 && !bytes.is_empty() {
        let at = rng.below(bytes.len());
        bytes[at] = [0xff, 0xc0, 0xed, 0x80][rng.below(4)];
    }
    bytes
}

#[test]
fn ten_thousand_random_configuration_texts_get_the_same_answer_from_both_twins() {
    let Some((rust, c)) = raw_twins() else {
        return;
    };
    let mut rng = Rng::new(2026);
    let rows = plugin_rows(&mut rng, 8);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..10_000 {
        let config = random_config(&mut rng);
        // Now and then a small buffer: a long message is cut at a character boundary.
        let capacity = if rng.below(10) == 0 {
            rng.below(80)
        } else {
            1024
        };
        let (r, c_) = (rust.create(&config, capacity), c.create(&config, capacity));
        let shown = String::from_utf8_lossy(&config);
        assert_eq!(
            (r.0, &r.1),
            (c_.0, &c_.1),
            "case {case}: configuration {shown:?}"
        );
        match (r.2, c_.2) {
            (Some(r_instance), Some(c_instance)) => {
                accepted += 1;
                // Read alike means the same numbers: the same bits out.
                let a = rust.score(r_instance, &rows, (8, 5, 3), 0);
                let b = c.score(c_instance, &rows, (8, 5, 3), 0);
                assert_eq!(a, b, "case {case}: configuration {shown:?}");
                rust.destroy(r_instance);
                c.destroy(c_instance);
            }
            (None, None) => refused += 1,
            other => panic!("case {case}: one twin made an instance: {other:?}"),
        }
    }
    eprintln!("10,000 configuration texts: {accepted} accepted, {refused} refused, alike");
    assert!(
        accepted > 500 && refused > 500,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn bad_calls_get_the_same_answers_from_both_twins() {
    let Some((rust, c)) = raw_twins() else {
        return;
    };
    let mut rng = Rng::new(5);
    let rows = plugin_rows(&mut rng, 200);
    let twins = [&rust, &c];
    let instances = twins.map(|twin| twin.create(b"", 1024).2.expect("instance"));
    let both = |f: &dyn Fn(&Raw, *mut PluginInstance) -> Answer| {
        let a = f(twins[0], instances[0]);
        let b = f(twins[1], instances[1]);
        assert_eq!(a, b);
        a
    };
    // Wrong widths, nothing to do, sizes that overflow, a set cancel flag.
    let (code, message, _, _) = both(&|t, i| t.score(i, &rows, (200, 4, 3), 0));
    assert_eq!(
        (code, message.as_str()),
        (
            status::INVALID_ARGUMENT,
            "4 input columns passed, 5 declared"
        )
    );
    let (code, ..) = both(&|t, i| t.score(i, &rows, (200, 5, 2), 0));
    assert_eq!(code, status::INVALID_ARGUMENT);
    let (code, ..) = both(&|t, i| t.score(i, &rows, (0, 5, 3), 0));
    assert_eq!(code, status::OK);
    let (code, message, ..) = both(&|t, i| t.score(i, &rows, (usize::MAX / 4, 5, 3), 0));
    assert_eq!(
        (code, message.as_str()),
        (status::INVALID_ARGUMENT, "rows × columns overflows")
    );
    let (code, _, statuses, _) = both(&|t, i| t.score(i, &rows, (200, 5, 3), 1));
    assert_eq!(code, status::CANCELLED);
    assert!(
        statuses.iter().all(|s| *s == status::NOT_RUN),
        "{statuses:?}"
    );
    let (code, _, statuses, _) = both(&|t, i| t.score(i, &rows, (200, 5, 3), 0));
    assert_eq!(code, status::OK);
    assert!(statuses.iter().all(|s| *s == status::OK));
    // No instance, no output slot, a null configuration with a length, no metadata slot.
    let (code, message, ..) = both(&|t, _| t.score(std::ptr::null_mut(), &rows, (200, 5, 3), 0));
    assert_eq!(
        (code, message.as_str()),
        (status::INVALID_ARGUMENT, "instance is null or misaligned")
    );
    for twin in twins {
        let create = twin.vtable.create.expect("create");
        let mut message = [0u8; 128];
        let mut error = ErrorBuffer {
            ptr: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        let config = StrView {
            ptr: std::ptr::null(),
            len: 3,
        };
        let mut instance = std::ptr::null_mut();
        // SAFETY: the plugin must refuse a null view with a length before reading it.
        let code = unsafe { create(config, &mut instance, &mut error) };
        assert_eq!(code, status::INVALID_ARGUMENT);
        assert_eq!(
            &message[..error.len],
            b"configuration is a null pointer with a non-zero length"
        );
        // SAFETY: as above, a null output slot.
        let code = unsafe { create(StrView::EMPTY, std::ptr::null_mut(), &mut error) };
        assert_eq!(code, status::INVALID_ARGUMENT);
        let metadata = twin.vtable.metadata.expect("metadata");
        // SAFETY: a null output slot is refused.
        assert_eq!(
            unsafe { metadata(std::ptr::null_mut::<RawMetadata>()) },
            status::INVALID_ARGUMENT
        );
        // SAFETY: destroying nothing does nothing.
        unsafe { twin.vtable.destroy.expect("destroy")(std::ptr::null_mut()) };
    }
    for (twin, instance) in twins.into_iter().zip(instances) {
        twin.destroy(instance);
    }
}

/// `leverage plugin check` (`check_plugin`) reads the C twin as the server does: it accepts it
/// and scores its samples as it scores the Rust twin's, to the bit; it refuses a bad
/// configuration with the Rust twin's reason.
#[test]
fn plugin_check_accepts_the_c_twin_and_scores_it_as_the_rust_one() {
    let Some(c) = c_library() else {
        return;
    };
    let check = |path: &Path, config: &str| {
        let options = CheckOptions {
            config: config.to_owned(),
            sample_rows: sample_rows().0,
            ..CheckOptions::default()
        };
        check_plugin(path, CATALOG, &options)
    };
    let (rust, c_report) = (check(&fixture("escrow"), ""), check(c, ""));
    assert!(c_report.is_acceptable(), "{c_report}");
    assert!(rust.is_acceptable(), "{rust}");
    assert_eq!(
        c_report.build.as_ref().map(|b| b.panic_strategy_name()),
        Some("unwind".to_owned())
    );
    assert_eq!(bits(&rust.samples), bits(&c_report.samples));
    let config = "weight = 2\nspeed = 1";
    let (rust, c_report) = (check(&fixture("escrow"), config), check(c, config));
    assert!(
        matches!(c_report.refusal, Some(RefuseReason::ConfigRejected { .. })),
        "{c_report}"
    );
    assert_eq!(rust.refusal, c_report.refusal);
}
