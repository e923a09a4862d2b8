"""Reading your own writes when the server runs as several replicas.

Replicas follow one database, each a little behind the others at times, so a read sent right
after a write may reach a replica that has not seen the write yet. Every reply names the dataset
version that served it (`leverage-dataset-version`); a write's reply names a version that holds
the write. A request that carries `leverage-min-dataset-version: V` is answered only from version
V or newer: a replica behind catches up first. While it cannot reach the database it waits a
little, then refuses the call with UNAVAILABLE (reason REPLICA_BEHIND), which a retry, here or on
another replica, gets past. A version the database never had (the client wrote to other data: a
database since replaced, or restored from an older backup) is refused at once with OUT_OF_RANGE
(reason DATASET_VERSION_NOT_YET); set `Client.last_written_version = None` to go on.

`ReadYourWrites` is the channel interceptor that does this for a `Client`: it remembers the
highest version named by the reply of any write made through the channel (through the `Client`'s
methods or its raw stubs alike) and asks every later call for at least that version.
"""

from __future__ import annotations

import collections
import threading
from typing import Optional

import grpc

# The response header naming the version a reply was served from; as a request header, it pins
# a call to exactly that version.
DATASET_VERSION_HEADER = "leverage-dataset-version"

# The request header asking for a dataset version at least this new.
MIN_DATASET_VERSION_HEADER = "leverage-min-dataset-version"

# The server's writes follow the API's verbs (AIP-131 to 136): a method named for one of these
# changes the dataset, any other reads it. tests/test_read_your_writes.py checks this against the
# server's own list (the methods that need a token while reads are open).
_WRITE_VERBS = ("Create", "Update", "Delete", "Import", "Compact", "Reload")

# Only the API's own services resolve dataset versions; health and reflection ignore the header.
_API_PREFIX = "/leverage."


def _method_name(method) -> str:
    return method.decode("ascii") if isinstance(method, bytes) else str(method)


def is_write(method) -> bool:
    """Whether a method path ("/leverage.v1.AssetService/CreateHolding") writes."""
    path = _method_name(method)
    return path.startswith(_API_PREFIX) and path.rsplit("/", 1)[-1].startswith(_WRITE_VERBS)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """Call details with other metadata (grpc's own type is private)."""


class ReadYourWrites(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Remembers the newest version written through a channel and asks later calls for it.

    Thread-safe: one client may be used from several threads, and a write finishing on one
    thread raises the version every thread asks for from then on. A call that already names a
    version (pinned with `leverage-dataset-version`, or its own minimum) is left as it is.
    """

    def __init__(self, enabled: bool = True) -> None:
        self._lock = threading.Lock()
        self._version: Optional[int] = None
        #: Whether later calls ask for the remembered version (it is remembered either way).
        self.enabled = enabled

    @property
    def version(self) -> Optional[int]:
        with self._lock:
            return self._version

    @version.setter
    def version(self, value: Optional[int]) -> None:
        with self._lock:
            self._version = None if value is None else int(value)

    def _raise_to(self, value: int) -> None:
        with self._lock:
            if self._version is None or value > self._version:
                self._version = value

    def _asking(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        version = self.version
        if not self.enabled or version is None:
            return details
        if not _method_name(details.method).startswith(_API_PREFIX):
            return details
        metadata = list(details.metadata or ())
        if any(key in (DATASET_VERSION_HEADER, MIN_DATASET_VERSION_HEADER) for key, _ in metadata):
            return details
        metadata.append((MIN_DATASET_VERSION_HEADER, str(version)))
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def _remember(self, call) -> None:
        # A failed write created nothing to read back.
        if call.code() != grpc.StatusCode.OK:
            return
        for key, value in call.initial_metadata() or ():
            if key == DATASET_VERSION_HEADER:
                try:
                    self._raise_to(int(value))
                except ValueError:
                    pass

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(self._asking(client_call_details), request)
        if is_write(client_call_details.method):
            # Runs at once for a blocking call (done by now), before the caller sees the reply,
            # so that the caller's next call asks for the write; for a future, when it is done.
            outcome.add_done_callback(self._remember)
        return outcome

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._asking(client_call_details), request)
