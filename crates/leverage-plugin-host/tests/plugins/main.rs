//! Integration tests over real `.so` files: the fixture plugins under `tests/fixtures/plugins`
//! and the two real models, built by a nested cargo into `target/plugin-tests*`.

mod calls;
mod check;
mod refusals;
mod reload;
mod sandbox;
mod support;
mod toolchains;
