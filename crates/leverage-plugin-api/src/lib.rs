//! The plugin contract of leverage: the raw C ABI and the safe Rust SDK for scoring plugins.
//!
//! This crate has no dependencies, so that a plugin pulls in nothing else.
//!
//! * [`abi`]: the `#[repr(C)]` types, status codes and `extern "C"` signatures that cross the
//!   boundary, the header, the layout fingerprint and the **versioning rules**.
//! * [`ScoringPlugin`], [`Metadata`], [`Config`], [`Output`], [`Batch`]: the safe face a model
//!   implements.
//! * [`export_scoring_plugin!`]: generates the entry symbol, the header and a panic-catching shim
//!   for every function.
//! * [`testing::Harness`]: runs a plugin type through the real shims without building a `.so`.
//! * [`info::PluginMetadata`]: the checked, owned copy of a plugin's metadata that hosts use.
//!
//! A minimal plugin:
//!
//! ```
//! use leverage_plugin_api::{Component, Config, Input, Metadata, Output, ScoringPlugin};
//!
//! struct Share;
//!
//! impl ScoringPlugin for Share {
//!     fn metadata() -> Metadata {
//!         // A `const` so that the slices below are `'static`.
//!         const METADATA: Metadata = Metadata {
//!             id: "reserve-share",
//!             name: "Share of reserves denied",
//!             version: "1.0.0",
//!             description: "Immobilised assets as a share of Russia's reserves.",
//!             build_id: concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")),
//!             inputs: &[
//!                 Input::new("pool.immobilised_eur_bn", "EUR bn"),
//!                 Input::new("russia.reserves_eur_bn", "EUR bn"),
//!             ],
//!             components: &[],
//!             score: Component::new("share", "%", 0.0, 100.0, "share of reserves denied"),
//!             parameters: &[],
//!         };
//!         METADATA
//!     }
//!
//!     fn new(_config: &Config) -> Result<Self, String> {
//!         Ok(Share)
//!     }
//!
//!     fn score(&mut self, inputs: &[f64], out: &mut Output<'_>) -> Result<(), String> {
//!         let (frozen, reserves) = (inputs[0], inputs[1]);
//!         if !(reserves > 0.0) {
//!             return Err(format!("russia.reserves_eur_bn must be positive, got {reserves}"));
//!         }
//!         out.set_score((100.0 * frozen / reserves).clamp(0.0, 100.0));
//!         Ok(())
//!     }
//! }
//!
//! leverage_plugin_api::export_scoring_plugin!(Share);
//!
//! let mut harness = leverage_plugin_api::testing::Harness::new::<Share>("").unwrap();
//! assert_eq!(harness.score(&[300.0, 600.0]).unwrap(), vec![50.0]);
//! ```

pub mod abi;
pub mod info;
pub mod sdk;
pub mod testing;

#[doc(hidden)]
#[path = "export.rs"]
pub mod __private;

pub use info::PluginMetadata;
pub use sdk::{
    Batch, CANCEL_CHECK_INTERVAL, Cancelled, Component, Config, Input, Metadata, Output, OwnInput,
    Parameter, ScoringPlugin,
};
