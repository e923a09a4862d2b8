"""A plugin's own inputs and per-call parameters from Python, against `fixture-escrow` (own
inputs `escrow.share`, required, 0..1, and `escrow.enforcement`, default 0.5; parameters
`weight` 0.6 and `yield_pct` 3): the scenario builder checks against GetPlugin and refuses,
before any call, exactly what the server refuses, in the server's words; per-call parameters
on score, score_many and sweep; results carry the parameters used and the build."""

import pytest

from leverage_client import (
    Client,
    InvalidArgument,
    NotFound,
    ScenarioBuilder,
    SchemaViolation,
    values,
)
from leverage_client.scenarios import number_text
from leverage_client.v1 import scoring_pb2

ESCROW = "plugins/fixture-escrow"
AS_OF = "2025-12-31"


@pytest.fixture
def s(client, escrow_plugin) -> ScenarioBuilder:
    """A fresh builder: the reparations loan as of the end of 2025."""
    return client.scenario_for(escrow_plugin, use_mode="reparations_loan", as_of=AS_OF)


def raw(**inputs) -> scoring_pb2.Scenario:
    """The same scenario as a plain message, which the client sends unchecked."""
    message = values.scenario("reparations_loan", as_of=AS_OF)
    for name, value in inputs.items():
        message.inputs.add(name=name.replace("_", "."), value=value)
    return message


def said(error: InvalidArgument):
    return [(v.field, v.description) for v in error.field_violations]


def assert_same_error(ours: SchemaViolation, server: InvalidArgument):
    """The client's refusal is the server's: code, reason, domain, message and every field."""
    assert type(server) is InvalidArgument
    assert isinstance(ours, InvalidArgument)
    assert (ours.code, ours.reason, ours.domain) == (server.code, server.reason, server.domain)
    assert said(ours) == said(server)
    assert ours.message == server.message


def test_numbers_are_written_as_the_server_writes_them():
    cases = {0.4: "0.4", 1.0: "1", 1e-7: "0.0000001", 1e22: "1" + "0" * 22, -0.0: "-0",
             2.5: "2.5", 0.1 + 0.2: "0.30000000000000004", float("nan"): "NaN"}
    for value, text in cases.items():
        assert number_text(value) == text


def test_the_builder_reads_the_schema_and_sets_inputs_by_name_or_keyword(client, s):
    assert s.name == ESCROW and s.plugin.abi_version == "1.2"
    assert s.parameters["weight"].default_value == 0.6
    by_keyword = s.copy(escrow_share=0.4, escrow_enforcement=0.25)
    by_name = s.copy(**{"escrow.share": 0.4}).input("escrow.enforcement", 0.25)
    assert by_keyword.inputs == by_name.inputs == {"escrow.share": 0.4, "escrow.enforcement": 0.25}
    assert by_keyword.build() == by_name.build()
    message = by_keyword.build()
    assert [(i.name, i.value) for i in message.inputs] == [
        ("escrow.share", 0.4), ("escrow.enforcement", 0.25)]
    assert message.use_mode == values.action("reparations_loan")
    assert "escrow.share=0.4" in repr(by_keyword)
    # Setting again replaces; unset goes back to the default.
    assert by_keyword.set(escrow_share=0.5).unset("escrow_enforcement").inputs == {
        "escrow.share": 0.5}
    # A scenario field keeps being checked as values.scenario checks it.
    with pytest.raises(ValueError):
        s.set(use_mode="seize")


def test_a_score_uses_the_parameters_given_and_says_so_with_its_build(client, s):
    s.set(escrow_share=0.4, escrow_enforcement=0.25)
    configured = client.score(s)
    assert values.named_values(configured.parameters) == {"weight": 0.6, "yield_pct": 3.0}
    result = client.score(s, parameters={"weight": 0.3})
    assert values.named_values(result.parameters) == {"weight": 0.3, "yield_pct": 3.0}
    assert result.score != configured.score
    assert result.plugin_build == client.get_plugin(ESCROW).build
    inputs = values.named_values(result.inputs)
    assert (inputs["escrow.share"], inputs["escrow.enforcement"]) == (0.4, 0.25)
    # The same call without the builder: the same score, to the bit.
    plain = client.score(ESCROW, s.build(), parameters={"weight": 0.3})
    assert plain.score == result.score

    outcomes = client.score_many(
        s, [s.copy(escrow_share=x) for x in (0.0, 0.5, 1.0)], parameters={"yield_pct": 5}
    )
    assert [o.index for o in outcomes] == [0, 1, 2]
    for x, outcome in zip((0.0, 0.5, 1.0), outcomes):
        assert outcome.WhichOneof("outcome") == "result", outcome
        assert values.named_values(outcome.result.parameters)["yield_pct"] == 5.0
        single = client.score(s.copy(escrow_share=x), parameters={"yield_pct": 5})
        assert outcome.result.score == single.score


def _server_refusal(call):
    with pytest.raises(InvalidArgument) as refused:
        result = call()
        if hasattr(result, "__next__"):
            list(result)
    return refused.value


def test_each_mistake_is_refused_before_any_call_in_the_servers_words(client, s):
    described = dict(
        said(_server_refusal(lambda: client.score(ESCROW, raw(escrow_shares=0.1))))
    )
    with pytest.raises(SchemaViolation) as ours:
        s.input("escrow.shares", 0.1)
    assert said(ours.value) == [("inputs[0].name", described["scenario.inputs[0].name"])]
    assert "its own inputs are escrow.share, escrow.enforcement" in ours.value.field_violations[
        0].description
    # By keyword, the same words, then the keywords and the fields of Scenario.
    with pytest.raises(SchemaViolation) as ours:
        s.set(escrw_share=0.1)
    text = ours.value.field_violations[0].description
    assert text.startswith("`escrw_share` is not an input of plugins/fixture-escrow: its own")
    assert "escrow_share, escrow_enforcement" in text and "use_mode" in text

    described = dict(said(_server_refusal(lambda: client.score(ESCROW, raw(escrow_share=1.5)))))
    with pytest.raises(SchemaViolation) as ours:
        s.set(escrow_share=1.5)
    assert said(ours.value) == [("inputs[0].value", described["scenario.inputs[0].value"])]
    assert said(ours.value)[0][1] == "`escrow.share` must be between 0 and 1, got 1.5"
    with pytest.raises(TypeError):
        s.set(escrow_share="high")

    # A required input left unset, and parameters out of range or unknown: the whole error is
    # the server's.
    assert_same_error(
        _refused(lambda: client.score(s)),
        _server_refusal(lambda: client.score(ESCROW, raw())),
    )
    s.set(escrow_share=0.5)
    bad = {"weight": 1.2, "wieght": 0.1}
    assert_same_error(
        _refused(lambda: client.score(s, parameters=bad)),
        _server_refusal(lambda: client.score(ESCROW, raw(escrow_share=0.5), parameters=bad)),
    )
    # In a batch, each scenario named by its place.
    ours = _refused(lambda: client.score_many(s, [s.copy(), s.copy().unset("escrow_share")]))
    outcome = client.score_many(ESCROW, [raw(escrow_share=0.5), raw()])[1]
    assert said(ours) == [(v.field, v.description) for v in outcome.error.field_violations]
    # A sweep: an axis over an input the plugin does not declare, one out of range, and the
    # required input left to no axis.
    axes = [values.axis("escrow.sharez", 0, 1, 3), values.axis("escrow.enforcement", 0, 2, 3)]
    assert_same_error(
        _refused(lambda: client.sweep(s.copy().unset("escrow_share"), axes)),
        _server_refusal(lambda: client.sweep(ESCROW, axes, base=raw())),
    )

    # Before any call: a client with no server behind it refuses the same way.
    with Client("127.0.0.1:1", timeout=2) as nowhere:
        with pytest.raises(SchemaViolation):
            nowhere.score(s, parameters={"weight": 2})
        with pytest.raises(SchemaViolation):
            nowhere.sweep(s, [values.axis("escrow.share", 0, 3, 2)])

    # What the server accepts, the builder accepts: the ends of the ranges.
    for share, weight in ((0, 1), (1, 0)):
        client.score(s.copy(escrow_share=share), parameters={"weight": weight})


def _refused(call) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as refused:
        call()
    return refused.value


def test_a_sweep_over_an_own_input_streams_in_order_with_the_parameters_used(client, s):
    # The required input is left to the axis.
    s.set(escrow_enforcement=0.75)
    progress = []
    points = client.sweep(
        s, [values.axis("escrow.share", 0.0, 1.0, 11)], parameters={"weight": 0.3},
        chunk_size=4, on_progress=lambda done, total: progress.append((done, total)),
    )
    found = list(points)
    assert [p.index for p in found] == list(range(11))
    assert points.parameters == {"weight": 0.3, "yield_pct": 3.0}
    assert points.plugin_build == client.get_plugin(ESCROW).build
    assert points.component_names == ["escrowed_eur_bn", "returns_eur_bn"]
    assert progress == [(4, 11), (8, 11), (11, 11)]
    for p in found:
        share = p.lever_values[0]
        assert share == p.index / 10
        single = client.score(s.copy(escrow_share=share), parameters={"weight": 0.3})
        assert p.score == single.score


def test_a_build_named_by_its_hash_scores_the_same(client, escrow_plugin):
    build = escrow_plugin.build
    pinned = client.scenario_for(f"fixture-escrow@{build}", use_mode="reparations_loan",
                                 as_of=AS_OF, escrow_share=0.4)
    assert pinned.name == f"plugins/fixture-escrow@{build}"
    assert pinned.plugin.id == "fixture-escrow"
    current = client.scenario_for(escrow_plugin, use_mode="reparations_loan", as_of=AS_OF,
                                  escrow_share=0.4)
    by_build = client.score(pinned, parameters={"weight": 0.3})
    assert by_build.plugin_build == build
    assert by_build.score == client.score(current, parameters={"weight": 0.3}).score
    # A builder is for the name it was made for.
    with pytest.raises(ValueError):
        client.score(ESCROW, pinned)
    with pytest.raises(NotFound) as missing:
        client.scenario_for("fixture-escrow@0000000000000000")
    assert "fixture-escrow@0000000000000000" in str(missing.value)
