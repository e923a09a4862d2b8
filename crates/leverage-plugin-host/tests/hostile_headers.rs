//! Hostile plugin files through `check_plugin`, the loader the server and `leverage plugin check`
//! share: copies of a real plugin with its header fields corrupted, truncated copies, and garbage.
//! Each must be refused with the reason that names the corrupted field, or (when only a build
//! string's length is corrupted, which is read for messages only) load as before, and the test
//! process must survive.
//!
//! The header of a real plugin is found in its file by its magic number followed, 48 bytes on,
//! by the layout fingerprint; the integer fields of the frozen prefix sit at fixed offsets
//! (`abi::tests::header_prefix_is_frozen_at_these_offsets`). Pointer fields are left alone: the
//! dynamic loader relocates them.
//!
//! Cases run from a fixed-seed generator, a few hundred in all (each successful `dlopen` maps
//! the library for good: the host never unloads one). Files that crashed the loader — cut inside
//! their loadable segments (finding F4 of docs/fuzzing.md), with a dynamic section outside them
//! or a damaged relocation table (finding F6) — are checked in child processes, so that a
//! regression shows as a failed test rather than a dead test binary.

#[allow(dead_code)]
#[path = "plugins/damage.rs"]
mod damage;
#[allow(dead_code)]
#[path = "plugins/support.rs"]
mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use leverage_plugin_api::abi::{ABI_MAJOR, LAYOUT_FINGERPRINT, MAGIC, PANIC_UNWIND};
use leverage_plugin_host::{CheckOptions, CheckReport, RefuseReason, WorkerCommand, check_plugin};

use damage::{PT_LOAD, crashes_the_loader, f6_input, program_headers};
use support::{CATALOG, empty_dir, fixture, real};

/// SplitMix64, fixed seeds: every run checks the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn check(path: &Path) -> CheckReport {
    check_plugin(path, CATALOG, &CheckOptions::default())
}

/// Writes `bytes` to a fresh file and checks it.
fn check_bytes(dir: &Path, name: &str, bytes: &[u8]) -> CheckReport {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    let report = check(&path);
    let _ = std::fs::remove_file(&path);
    report
}

/// Where the header is in a plugin file: the one place where the magic is followed, 48 bytes
/// on, by the layout fingerprint.
fn header_offset(file: &[u8]) -> usize {
    let magic = MAGIC.to_le_bytes();
    let fingerprint = LAYOUT_FINGERPRINT.to_le_bytes();
    let found: Vec<usize> = file
        .windows(56)
        .enumerate()
        .filter(|(_, w)| w[..8] == magic && w[48..56] == fingerprint)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(found.len(), 1, "header occurrences: {found:?}");
    found[0]
}

// Offsets in the header (see `abi::HeaderPrefix` and `abi::PluginHeader`).
const MAGIC_AT: usize = 0;
const MAJOR_AT: usize = 8;
const MINOR_AT: usize = 10;
const PANIC_AT: usize = 12;
const API_LEN_AT: usize = 24;
const RUSTC_LEN_AT: usize = 40;
const FINGERPRINT_AT: usize = 48;

fn put(file: &mut [u8], at: usize, bytes: &[u8]) {
    file[at..at + bytes.len()].copy_from_slice(bytes);
}

/// The end of the program header table and the end of the last loadable segment in the file,
/// for a 64-bit little-endian ELF file.
fn elf_extents(file: &[u8]) -> (usize, usize) {
    let (headers, table_end) = program_headers(file);
    let load_end = headers
        .iter()
        .filter(|header| header.kind == PT_LOAD)
        .map(|header| header.offset + header.filesz)
        .max()
        .expect("a loadable segment");
    (table_end, load_end)
}

#[test]
fn corrupted_header_fields_are_refused_naming_the_field() {
    let original = std::fs::read(real("pressure_index")).expect("plugin file");
    let at = header_offset(&original);
    let dir = empty_dir("hostile-headers");
    let baseline = check_bytes(&dir, "baseline.so", &original);
    assert!(baseline.refusal.is_none(), "{baseline}");

    let mut rng = Rng(0x1eaf);
    let mut counts = [0usize; 6];
    for case in 0..240 {
        let mut file = original.clone();
        // Each field is corrupted in about a third of the cases, so that the order of the checks
        // is exercised too; a case that changed nothing is skipped.
        let mut pick = || rng.below(3) == 0;
        let (magic, major, minor, panic, fingerprint, api_len, rustc_len) =
            (pick(), pick(), pick(), pick(), pick(), pick(), pick());
        let mut rng = Rng(case);
        let new_magic = loop {
            let m = if rng.below(2) == 0 {
                // One byte off.
                let mut b = MAGIC.to_le_bytes();
                b[rng.below(8) as usize] ^= 1 << rng.below(8);
                u64::from_le_bytes(b)
            } else {
                rng.next()
            };
            if m != MAGIC {
                break m;
            }
        };
        let new_major = ABI_MAJOR.wrapping_add(1 + rng.below(u64::from(u16::MAX) - 1) as u16);
        let new_minor = 1 + rng.below(u64::from(u16::MAX)) as u16;
        let new_panic = loop {
            let p = *[0u32, 2, 3, u32::MAX, rng.next() as u32]
                .get(rng.below(5) as usize)
                .expect("in range");
            if p != PANIC_UNWIND {
                break p;
            }
        };
        let new_fingerprint = LAYOUT_FINGERPRINT ^ (1 + rng.below(u64::MAX - 1));
        let new_api_len = 257 + rng.below(1 << 40);
        let new_rustc_len = 257 + rng.below(1 << 40);
        if magic {
            put(&mut file, at + MAGIC_AT, &new_magic.to_le_bytes());
        }
        if major {
            put(&mut file, at + MAJOR_AT, &new_major.to_le_bytes());
        }
        if minor {
            put(&mut file, at + MINOR_AT, &new_minor.to_le_bytes());
        }
        if panic {
            put(&mut file, at + PANIC_AT, &new_panic.to_le_bytes());
        }
        if fingerprint {
            put(
                &mut file,
                at + FINGERPRINT_AT,
                &new_fingerprint.to_le_bytes(),
            );
        }
        if api_len {
            put(&mut file, at + API_LEN_AT, &new_api_len.to_le_bytes());
        }
        if rustc_len {
            put(&mut file, at + RUSTC_LEN_AT, &new_rustc_len.to_le_bytes());
        }
        if file == original {
            continue;
        }
        let report = check_bytes(&dir, &format!("case-{case}.so"), &file);
        let what = format!(
            "case {case}: magic {magic} major {major} minor {minor} panic {panic} \
             fingerprint {fingerprint} lengths {api_len}/{rustc_len}: {report}"
        );
        // The loader's order of checks: magic, major, minor, fingerprint, panic strategy.
        match &report.refusal {
            Some(RefuseReason::WrongMagic { found }) => {
                assert!(magic, "{what}");
                assert_eq!(*found, new_magic, "{what}");
                assert!(report.build.is_none(), "{what}");
                counts[0] += 1;
            }
            Some(RefuseReason::AbiMajor { build, .. }) => {
                assert!(!magic && major, "{what}");
                assert_eq!(build.abi_major, new_major, "{what}");
                counts[1] += 1;
            }
            Some(RefuseReason::AbiMinorTooNew { build, .. }) => {
                assert!(!magic && !major && minor, "{what}");
                assert_eq!(build.abi_minor, new_minor, "{what}");
                counts[2] += 1;
            }
            Some(RefuseReason::LayoutMismatch {
                found, expected, ..
            }) => {
                assert!(!magic && !major && !minor && fingerprint, "{what}");
                assert_eq!((*found, *expected), (new_fingerprint, LAYOUT_FINGERPRINT));
                counts[3] += 1;
            }
            Some(RefuseReason::PanicStrategy { build }) => {
                assert!(
                    !magic && !major && !minor && !fingerprint && panic,
                    "{what}"
                );
                assert_eq!(build.panic_strategy, new_panic, "{what}");
                counts[4] += 1;
            }
            None => {
                assert!(
                    !magic && !major && !minor && !fingerprint && !panic,
                    "{what}"
                );
                counts[5] += 1;
            }
            Some(other) => panic!("unexpected refusal {other:?}: {what}"),
        }
        // Lengths past the limit are reported, never followed.
        if !magic {
            let build = report.build.as_ref().expect("the prefix was read");
            if api_len {
                assert_eq!(
                    build.api_version,
                    format!("(unreadable: {new_api_len} bytes)"),
                    "{what}"
                );
            }
            if rustc_len {
                assert_eq!(
                    build.rustc_version,
                    format!("(unreadable: {new_rustc_len} bytes)"),
                    "{what}"
                );
            }
        }
        assert!(!report.problems.is_empty(), "{what}");
    }
    // Every outcome was reached.
    assert!(
        counts.iter().all(|&n| n > 0),
        "outcomes reached: {counts:?}"
    );
}

#[test]
fn the_hand_written_fixture_headers_are_refused_by_the_check() {
    let report = check(&fixture("wrong_abi"));
    assert!(
        matches!(report.refusal, Some(RefuseReason::AbiMajor { .. })),
        "{report}"
    );
    let report = check(&fixture("bad_layout"));
    assert!(
        matches!(report.refusal, Some(RefuseReason::LayoutMismatch { .. })),
        "{report}"
    );
}

#[test]
fn garbage_and_missing_files_are_refused() {
    let dir = empty_dir("hostile-garbage");
    let original = std::fs::read(real("pressure_index")).expect("plugin file");
    let mut rng = Rng(0x6a7b);
    let mut cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\x7fELF".to_vec(),
        b"LVRGPLUG".repeat(64),
        original[..64].to_vec(),
    ];
    for _ in 0..60 {
        let n = rng.below(9000) as usize;
        cases.push(rng.bytes(n));
    }
    for _ in 0..60 {
        // A real ELF identification, random after it.
        let n = 16 + rng.below(9000) as usize;
        let mut bytes = rng.bytes(n);
        bytes[..16].copy_from_slice(&original[..16]);
        cases.push(bytes);
    }
    for (i, bytes) in cases.iter().enumerate() {
        let report = check_bytes(&dir, &format!("garbage-{i}.so"), bytes);
        // Refused by the loader, or before it by the check of the file's structure.
        let refused = matches!(
            &report.refusal,
            Some(RefuseReason::NotALibrary { .. } | RefuseReason::Damaged { .. })
        );
        assert!(refused, "case {i} ({} bytes): {report}", bytes.len());
    }
    for path in [dir.join("does-not-exist.so"), dir.clone()] {
        let report = check(&path);
        assert!(
            !report.problems.is_empty() && report.metadata.is_none(),
            "{report}"
        );
    }
}

#[test]
fn truncated_copies_are_refused_or_load_whole() {
    // Cut before the program headers are whole (the loader refuses: it cannot read them), or
    // after the last loadable segment (only section headers and debug information are lost,
    // which the loader never reads: the plugin loads as before). Cuts in between: see below.
    let original = std::fs::read(real("pressure_index")).expect("plugin file");
    let (headers_end, load_end) = elf_extents(&original);
    let dir = empty_dir("hostile-truncated");
    let mut rng = Rng(0x7a11);
    let mut cuts: Vec<usize> = vec![0, 1, 4, 16, 63, 64, headers_end - 1];
    cuts.extend((0..10).map(|_| rng.below(headers_end as u64) as usize));
    cuts.extend([load_end, load_end + 1, original.len() - 1]);
    cuts.extend((0..10).map(|_| load_end + rng.below((original.len() - load_end) as u64) as usize));
    for cut in cuts {
        let report = check_bytes(&dir, &format!("cut-{cut}.so"), &original[..cut]);
        if cut < headers_end {
            assert!(
                matches!(&report.refusal, Some(RefuseReason::NotALibrary { .. }))
                    || matches!(&report.refusal, Some(RefuseReason::Damaged { problem }) if problem.contains("truncated")),
                "cut at {cut}: {report}"
            );
        } else {
            assert!(report.refusal.is_none(), "cut at {cut}: {report}");
        }
    }
}

/// Child side of the tests below: checks the file named by the environment, if any (with the
/// pre-load check in a worker process when the environment asks for it), prints the refusal and
/// the report, and fails unless the file was refused.
#[test]
fn child_checks_one_file() {
    let Some(path) = std::env::var_os("LEVERAGE_HOSTILE_CHILD_FILE") else {
        return;
    };
    let options = CheckOptions {
        worker_command: std::env::var_os("LEVERAGE_HOSTILE_CHILD_WORKER")
            .map(|_| WorkerCommand::new(env!("CARGO_BIN_EXE_leverage-plugin-worker"))),
        ..CheckOptions::default()
    };
    let report = check_plugin(Path::new(&path), CATALOG, &options);
    println!("refusal: {:?}\n{report}", report.refusal);
    assert!(report.refusal.is_some(), "{report}");
}

/// Checks `path` in a child process (`child_checks_one_file`), with the pre-load check when
/// `preload`: how the child ended, and what it printed.
fn check_in_child(path: &Path, preload: bool) -> (ExitStatus, String) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"));
    child
        .args(["--exact", "child_checks_one_file", "--nocapture"])
        .env("LEVERAGE_HOSTILE_CHILD_FILE", path);
    if preload {
        child.env("LEVERAGE_HOSTILE_CHILD_WORKER", "1");
    }
    let output = child.output().expect("child runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// F4 (docs/fuzzing.md, fixed): a file cut inside its loadable segments passes `dlopen`'s own
/// checks; the loader mapped the segments anyway and the first touch of a page past the end of
/// the file raised SIGBUS, which killed the server (or `leverage plugin check`). Each cut is
/// checked in a child process, which must exit normally with the file refused.
#[test]
fn files_cut_inside_their_segments_are_refused_without_killing_the_process() {
    let original = std::fs::read(real("pressure_index")).expect("plugin file");
    let (headers_end, load_end) = elf_extents(&original);
    let dir = empty_dir("hostile-cut-segments");
    let mut rng = Rng(0xb05);
    let mut cuts = vec![headers_end, 4096, load_end - 1];
    cuts.extend((0..5).map(|_| headers_end + rng.below((load_end - headers_end) as u64) as usize));
    let mut failures = Vec::new();
    for cut in cuts {
        let path: PathBuf = dir.join(format!("cut-{cut}.so"));
        std::fs::write(&path, &original[..cut]).expect("write");
        let (status, _) = check_in_child(&path, false);
        if !status.success() {
            failures.push(format!(
                "cut at {cut} of {}: child {status}",
                original.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// F6 (docs/fuzzing.md, fixed): the minimized input, whose dynamic section lies outside every
/// loadable segment, crashed the loader (SIGSEGV inside `dlopen`). The check of the file's
/// structure refuses it, naming the dynamic section, with and without the pre-load check (each
/// in a child process).
#[test]
fn f6_a_dynamic_section_outside_the_loadable_segments_is_refused_naming_it() {
    for preload in [false, true] {
        let (status, out) = check_in_child(&f6_input(), preload);
        assert!(
            status.success(),
            "pre-load check {preload}: child {status}\n{out}"
        );
        assert!(out.contains("refusal: Some(Damaged"), "{out}");
        assert!(
            out.contains("damaged library file, not loaded: the dynamic section (program header 6"),
            "{out}"
        );
    }
}

/// F6, what no check of the file can rule out: a file whose structure is intact but whose
/// relocation table is damaged crashes the loader. Loaded first in a worker process, it kills
/// that worker instead of the process, and is refused naming the signal; without the pre-load
/// check it kills the process (the damage is real); the whole plugin still passes.
#[test]
fn a_file_that_crashes_the_loader_is_refused_by_the_worker_that_loads_it_first() {
    let original = std::fs::read(real("pressure_index")).expect("plugin file");
    let dir = empty_dir("hostile-loader-crash");
    let path = dir.join("libcrashes_loader.so");
    std::fs::write(&path, crashes_the_loader(&original)).expect("write");

    let (status, out) = check_in_child(&path, true);
    assert!(status.success(), "child {status}\n{out}");
    assert!(
        out.contains("refusal: Some(LoaderCrashed { signal: 11"),
        "{out}"
    );
    assert!(out.contains("crashed the loader (signal 11)"), "{out}");

    let (status, out) = check_in_child(&path, false);
    assert_eq!(status.signal(), Some(11), "child {status}\n{out}");

    let options = CheckOptions {
        worker_command: Some(WorkerCommand::new(env!(
            "CARGO_BIN_EXE_leverage-plugin-worker"
        ))),
        ..CheckOptions::default()
    };
    let report = check_plugin(&real("pressure_index"), CATALOG, &options);
    assert!(report.refusal.is_none(), "{report}");
}
