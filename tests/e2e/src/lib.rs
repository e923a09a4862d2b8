//! End-to-end tests over real gRPC with real plugins.
