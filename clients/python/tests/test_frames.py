"""pandas frames of the real server's replies carry the same numbers as the messages.

Each test takes a reply from the server, makes its frame, and compares every row and every
column with the message, walking the message by the column's name (`current.amount` is
`holding.current.amount`) independently of how `frames` flattens it.
"""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from leverage_client import frames, to_frame, values
from leverage_client.v1 import (
    assets_pb2,
    common_pb2,
    dataset_pb2,
    funding_pb2,
    legal_pb2,
    scoring_pb2,
)
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

_MISSING = object()


def _walk(message, column):
    """The value the column names in the message, or _MISSING when a message on the way (or
    an optional scalar) is unset."""
    value = message
    parts = column.split(".")
    for i, part in enumerate(parts):
        if isinstance(value, common_pb2.Money) and part == "currency_code":
            return value.currency_code
        field = value.DESCRIPTOR.fields_by_name[part]
        if field.has_presence and not value.HasField(part):
            return _MISSING
        value = getattr(value, part)
        if field.type == FieldDescriptor.TYPE_ENUM and not isinstance(value, int):
            return value  # repeated enums: compared as a list below
        if field.type == FieldDescriptor.TYPE_ENUM:
            return field.enum_type.values_by_number[value].name
    return value


def _is_missing(cell):
    if isinstance(cell, (list, dict)):
        return False
    return cell is None or cell is pd.NaT or (not isinstance(cell, str) and pd.isna(cell))


def assert_frame_matches(frame, messages):
    """Every row of `frame` is the message at its position; every scalar column equals the
    message's field (dates, money, enums and timestamps as the frames convert them)."""
    messages = list(messages)
    assert len(frame) == len(messages)
    compared = 0
    for i, message in enumerate(messages):
        for column in frame.columns:
            cell = frame[column].iloc[i]
            expected = _walk(message, column)
            if expected is _MISSING:
                assert _is_missing(cell), (i, column, cell)
            elif isinstance(expected, common_pb2.Date):
                assert frame[column].dtype == "datetime64[ns]", column
                assert cell == pd.Timestamp(values.to_date(expected)), (i, column)
            elif isinstance(expected, common_pb2.Money):
                assert frame[column].dtype == "float64", column
                assert cell == float(values.money_value(expected)), (i, column)
            elif isinstance(expected, Timestamp):
                assert frame[column].dtype == "datetime64[ns, UTC]", column
                assert cell.value == expected.ToNanoseconds(), (i, column)
            elif isinstance(expected, Message):
                raise AssertionError(f"column {column} is a whole message")
            elif isinstance(expected, float):
                assert frame[column].dtype == "float64", column
                assert cell == expected, (i, column, cell, expected)
            elif isinstance(expected, (str, bytes, bool, int)):
                assert cell == expected, (i, column, cell, expected)
            else:  # a repeated field: as many items as the message has
                assert len(cell) == len(expected), (i, column)
            compared += 1
    return compared


def test_holdings_frame_has_every_holding_and_its_numbers(client):
    holdings = list(client.holdings(as_of="2024-12-31"))
    frame = to_frame(client.holdings(as_of="2024-12-31"))
    assert assert_frame_matches(frame, holdings) > 20 * len(holdings)
    # Typed: dates, money as float beside its currency, enums by name.
    assert frame["current.as_of"].dtype == "datetime64[ns]"
    assert frame["current.amount"].dtype == "float64"
    assert frame["create_time"].dtype == "datetime64[ns, UTC]"
    assert set(frame["owner_kind"]) <= set(assets_pb2.OwnerKind.keys())
    euroclear = frame.set_index("name").loc["holdings/euroclear-sanctioned-russian"]
    assert euroclear["current.amount"] == 183e9
    assert euroclear["current.amount.currency_code"] == "EUR"
    assert euroclear["current.as_of"] == pd.Timestamp("2024-12-31")
    # A list reply gives the same frame as the iterator over its pages.
    page = client.list_holdings(page_size=1000, as_of="2024-12-31")
    pd.testing.assert_frame_equal(to_frame(page), frame)


def test_observation_series_frame(client):
    holding = client.get_holding("euroclear-sanctioned-russian")
    frame = to_frame(holding.observations)
    assert assert_frame_matches(frame, holding.observations)
    assert list(frame["as_of"]) == sorted(frame["as_of"])
    assert frame["amount"].notna().all()


@pytest.mark.parametrize(
    "stub, method, request_message, field",
    [
        ("dataset", "ListFigures", dataset_pb2.ListFiguresRequest(page_size=1000), "figures"),
        ("dataset", "ListExchangeRates", dataset_pb2.ListExchangeRatesRequest(page_size=1000),
         "exchange_rates"),
        ("legal", "ListDoctrines", legal_pb2.ListDoctrinesRequest(page_size=1000), "doctrines"),
        ("legal", "ListPositions", legal_pb2.ListPositionsRequest(page_size=1000), "positions"),
        ("legal", "ListPublishedAssessments",
         legal_pb2.ListPublishedAssessmentsRequest(page_size=1000), "published_assessments"),
        ("funding", "ListInstruments", funding_pb2.ListInstrumentsRequest(page_size=1000),
         "instruments"),
        ("funding", "ListAllocations",
         funding_pb2.ListAllocationsRequest(parent="instruments/safe", page_size=1000),
         "allocations"),
    ],
)
def test_every_list_reply_is_a_frame_with_the_same_values(client, stub, method, request_message,
                                                           field):
    reply = getattr(getattr(client, stub), method)(request_message)
    items = getattr(reply, field)
    assert len(items) > 0, f"the embedded dataset has {field}"
    assert not reply.next_page_token, "one page holds them all"
    frame = to_frame(reply)
    assert assert_frame_matches(frame, items) >= len(items) * 5


def test_summary_frames_carry_totals_currency_and_rates(client):
    summary = client.summarize_holdings(currency="USD", as_of="2025-03-18", group_by="custodian")
    frame = to_frame(summary)
    assert list(frame.columns) == ["key", "total", "total.currency_code", "holding_count"]
    assert list(frame["key"]) == [g.key for g in summary.groups]
    assert list(frame["total"]) == [float(values.money_value(g.total)) for g in summary.groups]
    assert list(frame["holding_count"]) == [g.holding_count for g in summary.groups]
    assert set(frame["total.currency_code"]) == {"USD"}
    assert frame.attrs["currency_code"] == "USD"
    assert frame.attrs["as_of"] == dt.date(2025, 3, 18)
    assert frame.attrs["located_total"] == float(values.money_value(summary.located_total))
    assert frame.attrs["rates_used"] == [r.rate_id for r in summary.rates_used]

    parts = frames.summary_frames(summary)
    assert_frame_matches(parts.rates_used, summary.rates_used)
    assert len(parts.rates_used) > 0, "EUR holdings were converted to USD"
    assert_frame_matches(parts.estimates, summary.estimates)
    uses = [(g.key, u) for g in summary.groups for u in g.observations]
    assert len(parts.observations) == len(uses) > 0
    assert list(parts.observations["key"]) == [key for key, _ in uses]
    assert_frame_matches(parts.observations.drop(columns="key"), [u for _, u in uses])
    # The groups add up to the located total; the estimates are beside it, not in it.
    assert abs(Decimal(parts.observations["converted"].sum())
               - values.money_value(summary.located_total)) < 1

    by_jurisdiction = client.summarize_holdings(currency="EUR", group_by="jurisdiction")
    assert list(to_frame(by_jurisdiction)["key"]) == [g.key for g in by_jurisdiction.groups]


def test_legal_risk_frame_has_one_row_per_jurisdiction_with_channels(client):
    assessment = client.assess_legal_risk("confiscation", ["BE", "FR", "LU"], as_of="2025-12-31")
    frame = to_frame(assessment)
    assert list(frame["jurisdiction"]) == [j.jurisdiction for j in assessment.jurisdictions]
    channel_columns = 0
    for i, j in enumerate(assessment.jurisdictions):
        row = frame.iloc[i]
        assert row["risk"] == j.risk
        assert row["level"] == legal_pb2.RiskLevel.Name(j.level)
        assert row["assets_at_stake"] == float(values.money_value(j.assets_at_stake))
        assert row["assets_at_stake.currency_code"] == j.assets_at_stake.currency_code
        assert row["binding_channel"] == legal_pb2.LegalChannel.Name(j.binding_channel)
        assert [d["title"] for d in row["drivers"]] == [d.title for d in j.drivers]
        assert [d["contribution"] for d in row["drivers"]] == [d.contribution for d in j.drivers]
        for channel in j.channels:
            name = legal_pb2.LegalChannel.Name(channel.channel)[len("LEGAL_CHANNEL_"):].lower()
            assert row[f"channels.{name}.risk"] == channel.risk
            assert row[f"channels.{name}.level"] == legal_pb2.RiskLevel.Name(channel.level)
            channel_columns += 1
    assert channel_columns >= 2 * len(assessment.jurisdictions), "legal-risk/2 scores channels"
    assert frame["risk"].dtype == "float64"
    assert frame.attrs["action"] == "ASSET_ACTION_CONFISCATION"
    assert frame.attrs["overall_risk"] == assessment.overall_risk


def _component_values(result):
    return {c.name: c.value for c in result.components}


def test_score_and_batch_frames(client):
    result = client.score("prudent-pressure", use_mode="reparations_loan",
                          interest_rate_pct=2.0, as_of="2025-12-31")
    frame = to_frame(result)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["score"] == result.score and row["plugin"] == result.plugin
    assert row["as_of"] == pd.Timestamp("2025-12-31")
    for name, value in _component_values(result).items():
        assert row[name] == value

    scenarios = [values.scenario("reparations_loan", interest_rate_pct=r, as_of="2025-12-31")
                 for r in (0.0, 2.0, 4.0)]
    # A participation fraction outside [0, 1] fails for that scenario alone.
    bad = values.scenario("reparations_loan", participation={"BE": 7.0})
    outcomes = client.score_many("prudent-pressure", scenarios + [bad])
    batch = to_frame(outcomes)
    assert list(batch["index"]) == [o.index for o in outcomes] == [0, 1, 2, 3]
    for i, outcome in enumerate(outcomes):
        row = batch.iloc[i]
        if outcome.HasField("result"):
            assert row["score"] == outcome.result.score
            for name, value in _component_values(outcome.result).items():
                assert row[name] == value
            assert pd.isna(row["error.reason"])
        else:
            assert pd.isna(row["score"])
            assert row["error.reason"] == outcome.error.reason
            assert row["error.code"] == outcome.error.code
    assert batch["score"].notna().sum() == 3 and batch["error.reason"].notna().sum() == 1


def test_comparison_frame_is_plugins_by_scenarios(client):
    scenarios = [values.scenario(mode, as_of="2025-12-31")
                 for mode in ("reparations_loan", "windfall_profits")]
    reply = client.scoring.CompareScenarios(scoring_pb2.CompareScenariosRequest(
        plugins=["plugins/pressure-index", "plugins/prudent-pressure"], scenarios=scenarios))
    frame = to_frame(reply)
    expected = [(row.plugin, o) for row in reply.rows for o in row.outcomes]
    assert len(frame) == len(expected) == 4
    for i, (plugin, outcome) in enumerate(expected):
        row = frame.iloc[i]
        assert row["plugin"] == plugin
        assert row["index"] == outcome.index
        assert row["score"] == outcome.result.score
        for name, value in _component_values(outcome.result).items():
            assert row[name] == value
    # The same comparison as a table of scores: plugins down, scenarios across.
    table = frame.pivot(index="plugin", columns="index", values="score")
    assert table.shape == (2, 2)


def test_sweep_frame_has_one_row_per_point_in_order(client):
    axes = [values.axis("sanctions_tightening", 0.0, 1.0, 7),
            values.axis("interest_rate_pct", 0.0, 5.0, 5)]
    base = values.scenario("reparations_loan", as_of="2025-12-31")
    points = list(client.sweep("pressure-index", axes, base=base, chunk_size=4))
    sweep = client.sweep("pressure-index", axes, base=base, chunk_size=4)
    frame = sweep.to_frame()
    assert len(frame) == len(points) == 35
    assert list(frame["index"]) == list(range(35))
    assert list(frame.columns[:3]) == ["index", "sanctions_tightening", "interest_rate_pct"]
    assert frame.columns[3] == "score"
    components = sweep.component_names
    assert components and list(frame.columns[4:4 + len(components)]) == components
    for i, point in enumerate(points):
        row = frame.iloc[i]
        assert row["index"] == point.index
        assert [row["sanctions_tightening"], row["interest_rate_pct"]] == list(point.lever_values)
        assert row["score"] == point.score
        assert [row[c] for c in components] == list(point.components)
    # to_frame on a plain list of points, naming the axes, gives the same frame.
    pd.testing.assert_frame_equal(
        to_frame(points, axis_names=sweep.axis_names, component_names=components), frame)


def test_sweep_over_a_plugins_own_input_names_the_column_after_it(client, escrow_plugin):
    builder = client.scenario_for(escrow_plugin, use_mode="reparations_loan")
    frame = to_frame(client.sweep(builder, [values.axis("escrow.share", 0.0, 1.0, 3)]))
    assert list(frame["escrow.share"]) == [0.0, 0.5, 1.0]
    assert list(frame["index"]) == [0, 1, 2]


def test_to_frame_after_reading_points_is_refused(client):
    sweep = client.sweep("pressure-index", [values.axis("sanctions_tightening", 0, 1, 10)],
                         base=values.scenario("reparations_loan"), chunk_size=2)
    next(sweep)
    with pytest.raises(RuntimeError, match="1 points were read"):
        sweep.to_frame()
    sweep.close()


def test_without_pandas_the_error_says_how_to_install_it():
    # A fresh interpreter in which `import pandas` fails, as it does when it is not installed.
    src = Path(__file__).resolve().parent.parent / "src"
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "from leverage_client import to_frame\n"
        "from leverage_client.v1 import assets_pb2\n"
        "try:\n"
        "    to_frame([assets_pb2.Holding()])\n"
        "except ImportError as e:\n"
        "    print(e)\n"
        "else:\n"
        "    print('no error')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert "pip install 'leverage-client[pandas]'" in out.stdout, out.stdout + out.stderr
