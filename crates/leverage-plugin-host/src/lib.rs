//! Loads, checks, calls and reloads scoring plugins.
