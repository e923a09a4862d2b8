//! Integration tests over real `.so` files: the fixture plugins under `tests/fixtures/plugins`
//! and the two real models, built by a nested cargo into `target/plugin-tests*`, and damaged
//! copies of them (`damage`).

mod builds;
mod c_twin;
mod calls;
mod check;
#[allow(dead_code)] // Shared with other test binaries, which use other parts.
mod damage;
mod preload;
mod refusals;
mod reload;
mod sandbox;
mod support;
mod toolchains;
