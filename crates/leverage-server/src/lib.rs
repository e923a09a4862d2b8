//! Thin tonic handlers, one error mapping, layers, and serve().
