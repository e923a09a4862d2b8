"""The generated stubs, with a clear message when they were never generated."""

try:
    from .v1 import (  # noqa: F401
        assets_pb2,
        assets_pb2_grpc,
        common_pb2,
        dataset_pb2,
        dataset_pb2_grpc,
        funding_pb2,
        funding_pb2_grpc,
        legal_pb2,
        legal_pb2_grpc,
        scoring_pb2,
        scoring_pb2_grpc,
    )
except ImportError as e:  # pragma: no cover - depends on how the package was obtained
    raise ImportError(
        "the gRPC stubs of leverage_client are missing: install the package with "
        "`pip install ./clients/python` (which generates them), or run "
        "`python clients/python/generate.py` in a checkout "
        f"(cause: {e})"
    ) from e
