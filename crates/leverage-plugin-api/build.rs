//! Records which compiler builds this crate, so that every plugin header can say which rustc
//! built the plugin (a crate and the plugin that links it are always built by the same rustc).

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");

    // Cargo always sets RUSTC for build scripts; fall back to the PATH's rustc otherwise.
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown rustc".to_owned());
    println!("cargo:rustc-env=LEVERAGE_PLUGIN_API_RUSTC_VERSION={version}");
}
