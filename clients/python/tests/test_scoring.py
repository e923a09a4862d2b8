"""Scoring through the bundled plugins: list, score, and a streamed sweep with progress."""

from leverage_client import values
from leverage_client.v1 import scoring_pb2


def test_both_bundled_plugins_are_listed_and_ready(client):
    plugins = {p.name: p for p in client.plugins()}
    assert {"plugins/pressure-index", "plugins/prudent-pressure"} <= set(plugins)
    for p in plugins.values():
        assert p.state == scoring_pb2.PLUGIN_STATE_READY, p.state_reason
        assert p.components and p.version


def test_score_a_scenario(client):
    result = client.score(
        "prudent-pressure", use_mode="reparations_loan", interest_rate_pct=2.0,
        as_of="2025-12-31",
    )
    assert result.plugin == "plugins/prudent-pressure"
    assert result.score_unit
    assert result.components
    assert {c.name for c in result.components} >= {"base_pressure", "legal_discount"}
    # Same scenario, same answer: the plugin is deterministic.
    again = client.score(
        "plugins/prudent-pressure",
        values.scenario("REPARATIONS_LOAN", interest_rate_pct=2.0, as_of="2025-12-31"),
    )
    assert again.score == result.score


def test_sweep_of_1000_points_streams_in_order_with_progress(client):
    progress = []
    points = list(
        client.sweep(
            "pressure-index",
            [values.axis("sanctions_tightening", 0.0, 1.0, 1000)],
            base=values.scenario("reparations_loan"),
            chunk_size=100,
            on_progress=lambda done, total: progress.append((done, total)),
            timeout=60,
        )
    )
    assert [p.index for p in points] == list(range(1000))
    levers = [p.lever_values[0] for p in points]
    assert levers[0] == 0.0 and abs(levers[-1] - 1.0) < 1e-9
    assert levers == sorted(levers)
    assert all(not p.HasField("error") for p in points)
    assert progress == [(done, 1000) for done in range(100, 1001, 100)]

    chunks = client.sweep_chunks(
        "pressure-index",
        [values.axis("sanctions_tightening", 0.0, 1.0, 1000)],
        base=values.scenario("reparations_loan"),
        chunk_size=100,
        timeout=60,
    )
    first = next(chunks)
    chunks.close()  # stop early: the call is cancelled
    assert first.component_names
    assert len(first.points[0].components) == len(first.component_names)
