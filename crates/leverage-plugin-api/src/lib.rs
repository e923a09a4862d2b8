//! The plugin contract: the raw C ABI and the safe Rust SDK for scoring plugins. No dependencies.
