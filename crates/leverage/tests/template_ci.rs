//! The plugin template's CI recipe works for a team outside this repository: a copy of the
//! template, elsewhere, passes `ci.sh` (fmt, clippy, tests, release build, `plugin check`).

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_copy_of_the_template_passes_its_ci_recipe() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("our-model");
    copy_dir(&root.join("plugins/template"), &plugin);
    // Outside the repository the API comes from elsewhere (git or a registry); here, by an
    // absolute path, which is what such a dependency resolves to.
    let manifest = plugin.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "path = \"../../crates/leverage-plugin-api\"",
        &format!(
            "path = \"{}\"",
            root.join("crates/leverage-plugin-api").display()
        ),
    );
    std::fs::write(&manifest, text).unwrap();
    let out = Command::new("bash")
        .arg(plugin.join("ci.sh"))
        .env("LEVERAGE", env!("CARGO_BIN_EXE_leverage"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok: the server would load this plugin"),
        "{stdout}"
    );
    // The template teaches the model card by carrying one.
    assert!(
        stdout.contains("model card: present, ")
            && stdout.contains("\"Share of reserves denied (template) — model card\""),
        "{stdout}"
    );
}
