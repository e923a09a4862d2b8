//! Generated gRPC code and the descriptor set of leverage.v1.
