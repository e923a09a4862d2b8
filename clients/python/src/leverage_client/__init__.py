"""A Python client for the leverage gRPC API.

`Client` makes the common calls from plain Python values and raises `LeverageError` subclasses
with the server's rich error details decoded; `values` converts dates, money, enums and
scenarios; `scenarios` builds scenarios checked against a plugin's schema (`ScenarioBuilder`,
from `Client.scenario_for`) and refuses, before any call, what the server would refuse;
`consistency` makes reads see the client's own writes on any replica of the server;
`frames` turns replies, lists and sweeps into pandas DataFrames (`to_frame`, with the optional
pandas extra);
`leverage_client.v1` holds the protobuf messages and gRPC stubs generated from the
repository's proto/ (by generate.py, at install time).
"""

from . import consistency, frames, scenarios, values
from .client import DEFAULT_TARGET, Client, SweepPoints
from .errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    LeverageError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    from_rpc_error,
)
from .frames import to_frame
from .scenarios import ScenarioBuilder, SchemaViolation

__all__ = [
    "AlreadyExists",
    "Client",
    "DEFAULT_TARGET",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "LeverageError",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "ScenarioBuilder",
    "SchemaViolation",
    "SweepPoints",
    "Unauthenticated",
    "Unavailable",
    "consistency",
    "frames",
    "scenarios",
    "from_rpc_error",
    "to_frame",
    "values",
]
