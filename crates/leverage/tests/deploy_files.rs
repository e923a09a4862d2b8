//! The deployment files under `deploy/` name only settings the server has: every
//! `LEVERAGE_*` variable and every `--flag` in them (settings, comments and commands alike) is
//! one that `leverage serve --help` lists.
//!
//! A container ignores an environment variable nobody reads, so a misspelt or renamed setting
//! in a Dockerfile, a compose file or a manifest would otherwise be lost without a word. Flags
//! of other programs (cargo, useradd …) are listed below with their program, and a test checks
//! that the list hides no flag of `leverage serve`.
//!
//! Out of scope: whether the files are valid for Docker, Compose, Envoy or Kubernetes (none of
//! them runs here; docs/deploying.md says what was checked by hand).

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Flags in `deploy/` that belong to other programs, with the program they are given to.
const OTHER_PROGRAMS_FLAGS: &[(&str, &str)] = &[
    ("--mount", "Dockerfile RUN"),
    ("--from", "Dockerfile COPY"),
    ("--release", "cargo build"),
    ("--locked", "cargo build"),
    ("--no-install-recommends", "apt-get install"),
    ("--gid", "groupadd, useradd"),
    ("--uid", "useradd"),
    ("--no-create-home", "useradd"),
    ("--home-dir", "useradd"),
    ("--shell", "useradd"),
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// Every file under `dir`, depth first, in name order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for path in entries {
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `LEVERAGE_[A-Z0-9_]+` names that do not continue another word.
fn env_names(text: &str) -> BTreeSet<String> {
    const PREFIX: &str = "LEVERAGE_";
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices(PREFIX) {
        if start > 0 && is_word_byte(bytes[start - 1]) {
            continue;
        }
        let rest = &bytes[start + PREFIX.len()..];
        let len = rest
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        if len > 0 {
            names.insert(text[start..start + PREFIX.len() + len].to_owned());
        }
    }
    names
}

/// `--[a-z][a-z0-9-]*` flags that start a word: after a space, a quote, a bracket or a line's
/// start, never inside another token, and never a YAML separator (`---`).
fn flags(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut found = BTreeSet::new();
    for (start, _) in text.match_indices("--") {
        let starts_a_word = start == 0
            || matches!(
                bytes[start - 1],
                b' ' | b'\t' | b'\n' | b'"' | b'\'' | b'`' | b'[' | b'(' | b','
            );
        if !starts_a_word || !bytes.get(start + 2).is_some_and(u8::is_ascii_lowercase) {
            continue;
        }
        let len = bytes[start + 2..]
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'-')
            .count();
        found.insert(text[start..start + 2 + len].to_owned());
    }
    found
}

/// `leverage serve --help`, run without any `LEVERAGE_*` variable of the test's environment.
fn serve_help() -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leverage"));
    command.args(["serve", "--help"]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LEVERAGE_") {
            command.env_remove(name);
        }
    }
    let out = command.output().expect("run leverage serve --help");
    assert!(
        out.status.success(),
        "leverage serve --help failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// clap shows `[env: NAME=value]`, or `[env: NAME]` for a setting whose value it hides.
fn help_lists_variable(help: &str, name: &str) -> bool {
    help.contains(&format!("[env: {name}=")) || help.contains(&format!("[env: {name}]"))
}

fn help_lists_flag(help: &str, flag: &str) -> bool {
    flags(help).contains(flag)
}

#[test]
fn every_setting_named_in_the_deploy_files_is_one_leverage_serve_lists() {
    let help = serve_help();
    let other_programs: BTreeSet<&str> = OTHER_PROGRAMS_FLAGS.iter().map(|(f, _)| *f).collect();
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    for path in files_under(&deploy_dir()) {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let file = path.strip_prefix(deploy_dir()).unwrap_or(&path).display();
        for name in env_names(&text) {
            if !help_lists_variable(&help, &name) {
                unknown.push(format!("{file}: {name}"));
            }
            seen.insert(name);
        }
        for flag in flags(&text) {
            if !other_programs.contains(flag.as_str()) && !help_lists_flag(&help, &flag) {
                unknown.push(format!("{file}: {flag}"));
            }
        }
    }
    // The scan found the files and reads them: the fleet's one required setting is there.
    assert!(
        seen.contains("LEVERAGE_STORE"),
        "no LEVERAGE_STORE under {}: {seen:?}",
        deploy_dir().display()
    );
    assert!(
        unknown.is_empty(),
        "named in deploy/ but not listed by `leverage serve --help` (a flag of another \
         program belongs in OTHER_PROGRAMS_FLAGS):\n  {}",
        unknown.join("\n  ")
    );
}

#[test]
fn flags_listed_as_other_programs_are_not_flags_of_leverage_serve() {
    let help = serve_help();
    let hidden: Vec<&str> = OTHER_PROGRAMS_FLAGS
        .iter()
        .map(|(flag, _)| *flag)
        .filter(|flag| help_lists_flag(&help, flag))
        .collect();
    assert!(
        hidden.is_empty(),
        "these are leverage serve flags, so listing them as another program's would hide \
         their misuse: {hidden:?}"
    );
}

#[test]
fn the_scan_finds_variables_and_flags_as_words_only() {
    let text = "ENV LEVERAGE_LISTEN=0.0.0.0:50051\n\
                X_LEVERAGE_NOT: ${LEVERAGE_TOKENS:-}\n\
                ---\n\
                # ------------\n\
                args: [\"--drain-ms\", \"5000\"] a--b --store=postgres:// `--web`\n";
    assert_eq!(
        env_names(text).into_iter().collect::<Vec<_>>(),
        ["LEVERAGE_LISTEN", "LEVERAGE_TOKENS"]
    );
    assert_eq!(
        flags(text).into_iter().collect::<Vec<_>>(),
        ["--drain-ms", "--store", "--web"]
    );
    let help = "      --listen <LISTEN>\n          Address [env: LEVERAGE_LISTEN=] \
                [default: 127.0.0.1:50051]\n      --tokens <TOKENS>\n          Bearer \
                [env: LEVERAGE_TOKENS]\n      --web\n";
    assert!(help_lists_variable(help, "LEVERAGE_LISTEN"));
    assert!(help_lists_variable(help, "LEVERAGE_TOKENS"));
    assert!(!help_lists_variable(help, "LEVERAGE_LIST"));
    assert!(help_lists_flag(help, "--web"));
    assert!(!help_lists_flag(help, "--we"));
}
