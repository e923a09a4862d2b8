#!/usr/bin/env bash
# CI recipe for a plugin repository made from this template. It builds the plugin as the
# server loads it (release, unwind), runs its tests, and checks it with the server's own
# loader: `leverage plugin check` loads it exactly as the server would, scores sample
# scenarios, and exits non-zero if the server would refuse it.
#
# Needs the `leverage` binary of the server version you target: set LEVERAGE to its path, or
# have it on PATH (e.g. `cargo install --git <leverage repository> leverage`, or a release
# artefact your CI downloads).
set -euo pipefail
cd "$(dirname "$0")"

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
cargo build --release

lib=$(find target/release -maxdepth 1 -name 'lib*.so' | head -n 1)
[ -n "$lib" ] || { echo "no plugin library was built" >&2; exit 1; }
"${LEVERAGE:-leverage}" plugin check "$lib"
