//! Legally prudent pressure: a real scoring model.
