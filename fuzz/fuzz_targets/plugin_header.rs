//! Hostile plugin files: arbitrary bytes written to a file and checked exactly as
//! `leverage plugin check` and the server's loader do (`leverage_plugin_host::check_plugin`:
//! private copy, `dlopen`, entry symbol, header, layout, metadata). Every such file must be
//! refused with a reason, and the process must survive.
//!
//! The loader's header and metadata checks run only on a library that `dlopen` accepted; they
//! cannot be reached in memory through a public function today (see docs/fuzzing.md,
//! "Functions to expose"), so this target mostly exercises the dynamic loader on damaged ELF
//! files, which is where the crash it found lives.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use leverage_core::scenario::catalog_names;
use leverage_fuzz::{elf_dynamic_outside_load, elf_segment_past_end, skip_known};
use leverage_plugin_host::{CheckOptions, check_plugin};
use libfuzzer_sys::fuzz_target;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("leverage-fuzz-plugin-{}.so", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    if skip_known("F4") && elf_segment_past_end(data) {
        return;
    }
    if skip_known("F6") && elf_dynamic_outside_load(data) {
        return;
    }
    std::fs::write(path(), data).expect("temp file");
    let catalog = catalog_names();
    let report = check_plugin(path(), &catalog, &CheckOptions::default());
    assert!(
        report.refusal.is_some() && !report.problems.is_empty(),
        "hostile bytes were not refused: {report}"
    );
});
