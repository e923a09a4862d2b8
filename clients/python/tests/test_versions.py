"""Dataset versions from Python: every write names its version, a pinned client reads the
dataset as it was, corrections keep history, imports are shown then applied once.

Only synthetic records made here are edited: the session's other tests read the shipped data."""

import uuid

import pytest

from leverage_client import InvalidArgument, values
from leverage_client.v1 import assets_pb2, common_pb2


def _holding():
    return assets_pb2.Holding(
        kind=assets_pb2.HOLDING_KIND_LOCATED,
        scope="Synthetic holding created by the Python client's version tests",
        owner_kind=assets_pb2.OWNER_KIND_CENTRAL_BANK,
        jurisdiction="LU",
        instrument=assets_pb2.ASSET_INSTRUMENT_CASH,
    )


def _observation(units):
    return assets_pb2.Observation(
        amount=common_pb2.Money(currency_code="EUR", units=units),
        as_of=values.date("2025-06-30"),
        source=common_pb2.Source(publisher="pytest (synthetic)"),
        confidence=common_pb2.CONFIDENCE_LOW,
    )


def test_a_correction_keeps_the_old_value_readable_at_the_version_before(writer, client):
    holding_id = f"pytest-v-{uuid.uuid4().hex[:10]}"
    writer.create_holding(holding_id, _holding())
    added = writer.create_observation(holding_id, _observation(5_000_000_000), observation_id=f"{holding_id}-1")
    before = writer.last_dataset_version
    assert before is not None and before >= 2

    fixed = _observation(5_500_000_000)
    fixed.name = added.name
    writer.correct_observation(fixed, ["amount"], reason="pytest: a restated figure")
    assert writer.last_dataset_version == before + 1

    now = client.get_holding(holding_id, as_of="2025-07-01")
    assert now.current.amount.units == 5_500_000_000
    then = client.at_version(before).get_holding(holding_id, as_of="2025-07-01")
    assert then.current.amount.units == 5_000_000_000

    history = client.record_versions(added.name)
    assert [h.observation.amount.units for h in history] == [5_000_000_000, 5_500_000_000]
    assert history[1].reason == "pytest: a restated figure"
    assert history[1].author == "pytest"
    newest = next(client.dataset_versions())
    assert newest.dataset_version == before + 1
    assert newest.reason == "pytest: a restated figure"


def test_a_correction_without_a_reason_names_the_field(writer):
    with pytest.raises(InvalidArgument) as e:
        writer.correct_observation(
            assets_pb2.Observation(name="holdings/x/observations/y"), ["note"], reason=""
        )
    assert [v.field for v in e.value.field_violations] == ["reason"]


def test_an_import_is_shown_then_applied_once_and_its_rows_name_it(writer, client, tmp_path):
    holding_id = f"pytest-i-{uuid.uuid4().hex[:10]}"
    writer.create_holding(holding_id, _holding())
    csv = tmp_path / "series.csv"
    csv.write_text(
        "holding,id,as_of,value,scale,currency,publisher,confidence,verified,note\n"
        f"{holding_id},{holding_id}-q1,2026-03-31,1.5,billion,EUR,pytest,low,false,SYNTHETIC\n"
    )
    dry = writer.import_file(csv, dry_run=True)
    assert not dry.applied and list(dry.added) == [f"holdings/{holding_id}/observations/{holding_id}-q1"]
    done = writer.import_file(csv)
    assert done.applied and done.dataset_version == writer.last_dataset_version
    again = writer.import_file(csv)
    assert not again.applied and again.unchanged_count == 1
    h = client.get_holding(holding_id, as_of="2026-04-01")
    assert h.current.source.import_id == done.import_id
    assert f"{holding_id}-q1" in client.export_dataset()
    assert f"{holding_id}-q1" not in client.at_version(done.dataset_version - 1).export_dataset()
