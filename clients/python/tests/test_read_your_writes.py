"""Read-your-writes: after a write, every call of the client asks for at least the version the
write created (`leverage-min-dataset-version`), and the server honours it.

Each test makes clients of its own: the session's `writer` must not carry a version set here."""

import uuid

import grpc
import pytest
from google.protobuf import message_factory

from conftest import WRITER_TOKEN, synthetic_holding
from leverage_client import Client, LeverageError
from leverage_client.consistency import (
    DATASET_VERSION_HEADER,
    MIN_DATASET_VERSION_HEADER,
    is_write,
)
from leverage_client.v1 import (
    assets_pb2,
    dataset_pb2,
    funding_pb2,
    legal_pb2,
    scoring_pb2,
)

API_MODULES = (assets_pb2, dataset_pb2, funding_pb2, legal_pb2, scoring_pb2)


class Recorder(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Sits under the client's own interceptor, next to the wire: sees each call's request
    metadata as sent and each unary reply's headers."""

    def __init__(self):
        self.sent = []  # (method, {header: value})
        self.replies = []  # (method, {header: value})

    def intercept_unary_unary(self, continuation, details, request):
        self.sent.append((details.method, dict(details.metadata or ())))
        outcome = continuation(details, request)
        self.replies.append((details.method, dict(outcome.initial_metadata() or ())))
        return outcome

    def intercept_unary_stream(self, continuation, details, request):
        self.sent.append((details.method, dict(details.metadata or ())))
        return continuation(details, request)


def _recorded_client(server, **kwargs):
    recorder = Recorder()
    channel = grpc.intercept_channel(grpc.insecure_channel(server.target), recorder)
    return Client(channel=channel, token=WRITER_TOKEN, **kwargs), recorder


def _holding():
    return synthetic_holding(
        "Synthetic holding created by the Python client's read-your-writes tests"
    )


def _server_version(server):
    with Client(server.target, read_your_writes=False) as plain:
        return plain.dataset_info().dataset_version


def test_after_a_write_every_call_asks_for_the_version_the_write_created(server):
    client, recorder = _recorded_client(server)
    with client:
        client.dataset_info()
        assert MIN_DATASET_VERSION_HEADER not in recorder.sent[-1][1], "nothing written yet"
        assert client.last_written_version is None

        holding_id = f"pytest-ryw-{uuid.uuid4().hex[:10]}"
        client.create_holding(holding_id, _holding())
        method, reply = recorder.replies[-1]
        assert method.endswith("/CreateHolding")
        written = int(reply[DATASET_VERSION_HEADER])
        assert client.last_written_version == written

        client.get_holding(holding_id)
        list(client.dataset.ExportDataset(dataset_pb2.ExportDatasetRequest()))
        for method, headers in recorder.sent[-2:]:
            assert headers.get(MIN_DATASET_VERSION_HEADER) == str(written), method


def test_a_write_through_a_raw_stub_is_remembered_too(server):
    client, recorder = _recorded_client(server)
    with client:
        holding_id = f"pytest-ryw-{uuid.uuid4().hex[:10]}"
        client.create_holding(holding_id, _holding())
        first = client.last_written_version
        client.assets.DeleteHolding(
            assets_pb2.DeleteHoldingRequest(name=f"holdings/{holding_id}"),
            metadata=[("authorization", f"Bearer {WRITER_TOKEN}")],
        )
        deleted = int(recorder.replies[-1][1][DATASET_VERSION_HEADER])
        assert deleted > first
        assert client.last_written_version == deleted


def test_a_version_the_servers_data_never_had_is_refused_never_answered_older(server):
    """Proves that the header is sent and honoured: a read asking for a version beyond the
    newest the server's database holds is refused at once (such a version comes from other
    data), never answered from an older version."""
    with Client(server.target) as client:
        client.last_written_version = _server_version(server) + 1000
        with pytest.raises(LeverageError) as refused:
            client.dataset_info()
    assert refused.value.reason == "DATASET_VERSION_NOT_YET"
    assert refused.value.code == grpc.StatusCode.OUT_OF_RANGE


def test_a_pinned_version_or_read_your_writes_off_asks_for_no_minimum(server):
    beyond = _server_version(server) + 1000
    client, recorder = _recorded_client(server, read_your_writes=False)
    with client:
        client.last_written_version = beyond
        client.dataset_info()
        assert MIN_DATASET_VERSION_HEADER not in recorder.sent[-1][1]

        client.read_your_writes = True
        pinned = client.at_version(1)
        assert pinned.dataset_info().dataset_version == 1
        assert MIN_DATASET_VERSION_HEADER not in recorder.sent[-1][1]
        assert recorder.sent[-1][1][DATASET_VERSION_HEADER] == "1"


def _unary_methods():
    for module in API_MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if not (method.client_streaming or method.server_streaming):
                    yield f"/{service.full_name}/{method.name}", method


def test_the_client_counts_as_writes_exactly_the_methods_that_need_a_token(server):
    """The server's list of writes is the one its auth layer keeps: with reads open, a call
    without a token is refused as UNAUTHENTICATED exactly when it writes (an empty request,
    so nothing is written even where the check were missing)."""
    channel = grpc.insecure_channel(server.target)
    try:
        needs_token, mistaken = [], []
        for path, method in _unary_methods():
            request = message_factory.GetMessageClass(method.input_type)()
            call = channel.unary_unary(
                path, request_serializer=lambda m: m.SerializeToString()
            )
            try:
                call(request, timeout=30)
                refused = False
            except grpc.RpcError as e:
                refused = e.code() == grpc.StatusCode.UNAUTHENTICATED
            if refused:
                needs_token.append(path)
            if refused != is_write(path):
                mistaken.append(path)
    finally:
        channel.close()
    assert len(needs_token) > 10, needs_token
    assert mistaken == [], f"is_write disagrees with the server on {mistaken}"
