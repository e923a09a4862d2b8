//! Pressure index: a real scoring model.
