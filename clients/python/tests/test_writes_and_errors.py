"""Writes need a token; invalid requests come back with every bad field, decoded by
grpcio-status from the `grpc-status-details-bin` trailer."""

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from leverage_client import InvalidArgument, PermissionDenied, Unauthenticated, values
from leverage_client.v1 import assets_pb2, common_pb2


def _observation(units=12_000_000_000):
    return assets_pb2.Observation(
        amount=common_pb2.Money(currency_code="EUR", units=units),
        as_of=values.date("2025-06-30"),
        source=common_pb2.Source(publisher="pytest (synthetic)"),
        confidence=common_pb2.CONFIDENCE_LOW,
    )


def _holding():
    return assets_pb2.Holding(
        kind=assets_pb2.HOLDING_KIND_LOCATED,
        scope="Synthetic holding created by the Python client's tests",
        owner_kind=assets_pb2.OWNER_KIND_CENTRAL_BANK,
        jurisdiction="LU",
        instrument=assets_pb2.ASSET_INSTRUMENT_CASH,
        observations=[_observation()],
    )


def test_write_with_a_token_is_recorded_with_its_author(writer, client):
    holding_id = f"pytest-{uuid.uuid4().hex[:12]}"
    created = writer.create_holding(holding_id, _holding())
    assert created.name == f"holdings/{holding_id}"
    assert created.created_by == "pytest"
    added = writer.create_observation(holding_id, _observation(13_000_000_000))
    assert added.created_by == "pytest"
    # Reads see the writes at once, without a token.
    read = client.get_holding(holding_id, as_of="2025-07-01")
    assert len(read.observations) == 2
    writer.delete_holding(holding_id)


def test_write_without_a_token_is_unauthenticated(client):
    with pytest.raises(Unauthenticated) as e:
        client.create_holding(f"pytest-{uuid.uuid4().hex[:12]}", _holding())
    assert e.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert e.value.reason == "TOKEN_MISSING_OR_INVALID"
    assert e.value.domain == "leverage.v1"


def test_write_with_a_readers_token_is_denied(reader):
    with pytest.raises(PermissionDenied):
        reader.create_holding(f"pytest-{uuid.uuid4().hex[:12]}", _holding())


def test_invalid_argument_lists_every_bad_field(writer):
    bad = assets_pb2.Observation(
        amount=common_pb2.Money(currency_code="XXQ", units=-5),
        as_of=common_pb2.Date(year=2024, month=2, day=30),
    )
    with pytest.raises(InvalidArgument) as e:
        writer.create_observation("euroclear-sanctioned-russian", bad, observation_id="bad id!")
    err = e.value
    assert err.reason == "INVALID_ARGUMENT"
    assert set(err.fields) >= {
        "observation_id",
        "observation.amount.currency_code",
        "observation.amount.units",
        "observation.as_of",
        "observation.source.publisher",
        "observation.confidence",
    }
    assert all(v.description for v in err.field_violations)
    # The exception's text lists them, for people.
    assert "observation.amount.currency_code" in str(err)


def test_rich_error_details_decode_with_grpcio_status(client):
    """The same decoding, by hand on a raw stub: what any Python caller can do."""
    with pytest.raises(grpc.RpcError) as e:
        client.assets.ListHoldings(assets_pb2.ListHoldingsRequest(page_size=-1), timeout=10)
    status = rpc_status.from_call(e.value)
    assert status is not None and status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    kinds = {d.type_url.rsplit("/", 1)[-1] for d in status.details}
    assert kinds == {"google.rpc.ErrorInfo", "google.rpc.BadRequest"}
    bad = error_details_pb2.BadRequest()
    next(d for d in status.details if d.Is(bad.DESCRIPTOR)).Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["page_size"]
