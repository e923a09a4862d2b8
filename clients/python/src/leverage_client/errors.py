"""Python exceptions for the server's rich errors (AIP-193).

Every error the server returns carries a `google.rpc.Status` in the `grpc-status-details-bin`
trailer, with a `google.rpc.ErrorInfo` (domain "leverage.v1", an UPPER_SNAKE reason) and, for
INVALID_ARGUMENT, a `google.rpc.BadRequest` naming each bad field by its path in the request.
`from_rpc_error` decodes that with grpcio-status into one of the exceptions below.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class FieldViolation(NamedTuple):
    """One bad field of a request: its path (e.g. `observation.amount.currency_code`) and why."""

    field: str
    description: str


class LeverageError(Exception):
    """A call failed. Subclasses name the common status codes; all carry the same fields."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        domain: str = "",
        metadata: Optional[Dict[str, str]] = None,
        field_violations: Tuple[FieldViolation, ...] = (),
        details: Tuple[any_pb2.Any, ...] = (),
    ) -> None:
        self.code = code
        self.message = message
        #: `ErrorInfo.reason`, e.g. "INVALID_ARGUMENT" or "TOKEN_MISSING_OR_INVALID"; "" if none.
        self.reason = reason
        #: `ErrorInfo.domain`, "leverage.v1" for errors of this API.
        self.domain = domain
        self.metadata = dict(metadata or {})
        #: Every bad field named by the error's `BadRequest`, in the server's order.
        self.field_violations = list(field_violations)
        #: Every detail of the status, decoded or not (`google.protobuf.Any`).
        self.details = list(details)
        super().__init__(str(self))

    @property
    def fields(self) -> List[str]:
        """The paths of the bad fields."""
        return [v.field for v in self.field_violations]

    def __str__(self) -> str:
        head = f"{self.code.name}: {self.message}"
        if self.reason:
            head += f" [{self.reason}]"
        lines = [head]
        lines.extend(f"  - {v.field}: {v.description}" for v in self.field_violations)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, "
            f"fields={self.fields!r})"
        )


class InvalidArgument(LeverageError):
    """INVALID_ARGUMENT: `field_violations` lists every bad field."""


class NotFound(LeverageError):
    """NOT_FOUND: the named resource does not exist (or was deleted)."""


class AlreadyExists(LeverageError):
    """ALREADY_EXISTS: the id is in use, or was used by a deleted resource."""


class Unauthenticated(LeverageError):
    """UNAUTHENTICATED: the call needs `authorization: Bearer <token>` (Client(token=...))."""


class PermissionDenied(LeverageError):
    """PERMISSION_DENIED: the token's role does not allow this call."""


class FailedPrecondition(LeverageError):
    """FAILED_PRECONDITION, e.g. DATA_INSUFFICIENT when no exchange rate connects two currencies."""


class ResourceExhausted(LeverageError):
    """RESOURCE_EXHAUSTED: the server is overloaded or a limit was hit; retry later."""


class Unavailable(LeverageError):
    """UNAVAILABLE: the server cannot be reached or is shutting down; with reason REPLICA_BEHIND,
    the replica had not reached the dataset version the call asked for (see `consistency`).
    Retrying later, or on another replica, may succeed."""


class DeadlineExceeded(LeverageError):
    """DEADLINE_EXCEEDED: the call took longer than its timeout."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def from_rpc_error(error: grpc.RpcError) -> LeverageError:
    """The exception for a failed call, with its rich details decoded by grpcio-status."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = (error.details() if hasattr(error, "details") else None) or ""
    reason, domain, metadata = "", "", {}
    violations: List[FieldViolation] = []
    details: Tuple[any_pb2.Any, ...] = ()
    try:
        status = rpc_status.from_call(error)
    except ValueError:
        # The trailer disagrees with the call's code or message: not a status we can trust.
        status = None
    if status is not None:
        details = tuple(status.details)
        for detail in details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                )
    cls = _BY_CODE.get(code, LeverageError)
    return cls(
        code,
        message,
        reason=reason,
        domain=domain,
        metadata=metadata,
        field_violations=tuple(violations),
        details=details,
    )
