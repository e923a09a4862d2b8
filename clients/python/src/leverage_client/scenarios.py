"""Scenarios checked against a plugin's schema before any call.

A plugin declares what it reads (`GetPlugin`): inputs of the server's catalog (the scenario's
levers and figures of the dataset) and inputs of its own, each with a unit, a range and a
default or "required", and parameters a call may set within their ranges. `ScenarioBuilder`
holds a scenario for one plugin and refuses, at once, what the server would refuse: a name the
plugin does not declare (listing those it does), a value out of range, and, when the scenario
is used, a required input left unset. It raises `SchemaViolation`, an `InvalidArgument` whose
message, reason and field descriptions are the server's (crates/leverage-server/src/scoring/
inputs.rs), so code that handles the server's refusal handles this one too.

    >>> s = client.scenario_for("fixture-escrow", use_mode="reparations_loan")
    >>> s.set(escrow_share=0.4)            # or s.input("escrow.share", 0.4)
    >>> client.score(s, parameters={"weight": 0.3}).parameters
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import grpc

from . import values
from ._stubs import scoring_pb2
from .errors import FieldViolation, InvalidArgument

#: Fields of `Scenario` that `ScenarioBuilder.set` takes by keyword, as `values.scenario` does.
SCENARIO_FIELDS = tuple(
    name for name in scoring_pb2.Scenario.DESCRIPTOR.fields_by_name if name != "inputs"
)


class SchemaViolation(InvalidArgument):
    """Values the server would refuse with INVALID_ARGUMENT, found by the client before any
    call: `field_violations` names each bad field with the server's description. Fields are
    paths in the request the values were for (`scenario.inputs[0].value`,
    `scenarios[2].inputs`, `parameters[1].name`, `axes[0].input`), or in the scenario itself
    when a builder refuses a value as it is set (`inputs[0].name`)."""

    def __init__(self, violations: Sequence[Tuple[str, str]]) -> None:
        found = tuple(FieldViolation(field, description) for field, description in violations)
        message = "invalid argument: " + "; ".join(f"{v.field}: {v.description}" for v in found)
        super().__init__(
            grpc.StatusCode.INVALID_ARGUMENT,
            message,
            reason="INVALID_ARGUMENT",
            domain="leverage.v1",
            field_violations=found,
        )


def number_text(value: float) -> str:
    """A float as the server writes it in messages (Rust's `Display`): the shortest digits
    that read back as the same float, never an exponent ("0.4", "1", "0.0000001", "NaN")."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"`{name}` takes a number, not {value!r}")
    return float(value)


def _within(value: float, low: float, high: float) -> bool:
    return math.isfinite(value) and low <= value <= high


def _range_text(name: str, low: float, high: float, value: float) -> str:
    return (
        f"`{name}` must be between {number_text(low)} and {number_text(high)}, "
        f"got {number_text(value)}"
    )


def _at(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def own_inputs(plugin: scoring_pb2.Plugin) -> List[scoring_pb2.PluginInput]:
    """The inputs a plugin declares itself, in its order."""
    return [i for i in plugin.inputs if i.plugin_declared]


def _declared_text(plugin: scoring_pb2.Plugin) -> str:
    names = [i.name for i in own_inputs(plugin)]
    if not names:
        return "it declares no inputs of its own"
    return "its own inputs are " + ", ".join(names)


def _unknown_input(plugin: scoring_pb2.Plugin, name: str) -> str:
    return f"`{name}` is not an input of plugins/{plugin.id}: {_declared_text(plugin)}"


def _required_text(plugin: scoring_pb2.Plugin, d: scoring_pb2.PluginInput) -> str:
    return (
        f"`{d.name}` ({d.unit}, {number_text(d.min)} to {number_text(d.max)}) "
        f"is required by plugins/{plugin.id} and not set"
    )


def input_violations(
    plugin: scoring_pb2.Plugin, given: Sequence[Tuple[str, float]], prefix: str
) -> List[Tuple[str, str]]:
    """What the server says of the values `given` for a plugin's own inputs of one scenario
    (named under `prefix`): every name it does not declare, given twice or out of range, and
    every required input not given (one given out of range is named once, for its value)."""
    declared = {d.name: d for d in own_inputs(plugin)}
    seen, out = set(), []
    for i, (name, value) in enumerate(given):
        d = declared.get(name)
        if d is None:
            out.append((_at(prefix, f"inputs[{i}].name"), _unknown_input(plugin, name)))
        elif name in seen:
            out.append((_at(prefix, f"inputs[{i}].name"), f"`{name}` is given twice"))
        else:
            seen.add(name)
            if not _within(value, d.min, d.max):
                out.append(
                    (_at(prefix, f"inputs[{i}].value"), _range_text(name, d.min, d.max, value))
                )
    for d in declared.values():
        if d.required and d.name not in seen:
            out.append((_at(prefix, "inputs"), _required_text(plugin, d)))
    return out


def parameter_violations(
    plugin: scoring_pb2.Plugin, parameters: Sequence[Tuple[str, float]]
) -> List[Tuple[str, str]]:
    """What the server says of per-call parameter values: every name the plugin does not
    declare, given twice or out of range."""
    declared = {p.name: p for p in plugin.parameters}
    seen, out = set(), []
    for i, (name, value) in enumerate(parameters):
        d = declared.get(name)
        if d is None:
            if declared:
                said = (
                    f"`{name}` is not a parameter of plugins/{plugin.id}; its parameters are "
                    + ", ".join(declared)
                )
            else:
                said = f"`{name}`: plugins/{plugin.id} has no parameters"
            out.append((f"parameters[{i}].name", said))
        elif name in seen:
            out.append((f"parameters[{i}].name", f"`{name}` is given twice"))
        else:
            seen.add(name)
            if not _within(value, d.min, d.max):
                out.append((f"parameters[{i}].value", _range_text(name, d.min, d.max, value)))
    return out


def axis_violations(
    plugin: scoring_pb2.Plugin, axes: Sequence[scoring_pb2.SweepAxis]
) -> List[Tuple[str, str]]:
    """What the server says of a sweep's axes over the plugin's own inputs: a name it does not
    declare, a start or stop out of range."""
    declared = {d.name: d for d in own_inputs(plugin)}
    out = []
    for i, a in enumerate(axes):
        if not a.input or a.lever:
            continue
        d = declared.get(a.input)
        if d is None:
            if declared:
                said = (
                    f"`{a.input}` is not an input of plugins/{plugin.id}; its own inputs are "
                    + ", ".join(declared)
                )
            else:
                said = (
                    f"`{a.input}`: plugins/{plugin.id} declares no inputs of its own "
                    "(sweep a lever)"
                )
            out.append((f"axes[{i}].input", said))
            continue
        for field in ("start", "stop"):
            value = getattr(a, field)
            if not _within(value, d.min, d.max):
                out.append((f"axes[{i}].{field}", _range_text(d.name, d.min, d.max, value)))
    return out


def parameter_values(parameters: Optional[Mapping[str, float]]) -> List[Tuple[str, float]]:
    """`{name: value}` as the (name, value) pairs of a request, in order."""
    return [(name, _number(name, value)) for name, value in (parameters or {}).items()]


def _keyword(name: str) -> str:
    """The Python keyword an input name is also set by: `escrow.share` -> `escrow_share`."""
    return re.sub(r"\W", "_", name)


class ScenarioBuilder:
    """A scenario for one plugin, checked against its schema (`plugin`, from GetPlugin) as it
    is built. Get one from `Client.scenario_for`; `Client.score`, `score_many` and `sweep`
    take it in place of a plugin name and a scenario.

    `set(**values)` takes the fields of `Scenario` by keyword as `values.scenario` does
    (`use_mode="reparations_loan"`, `interest_rate_pct=2.0`, `participation={"BE": 1.0}`,
    `as_of="2025-12-31"`, ...) and the plugin's own inputs by name (`**{"escrow.share": 0.4}`)
    or by their name as a keyword (`escrow_share=0.4`); `input(name, value)` sets one own input.
    Each returns the builder, so calls chain. A name the plugin does not declare, or a value
    out of its range, raises `SchemaViolation` at once; a required input left unset raises it
    when the scenario is used (`build()`, or a call). Setting a value again replaces it.
    """

    def __init__(self, plugin: scoring_pb2.Plugin, *, name: Optional[str] = None) -> None:
        #: The plugin's schema, as GetPlugin gave it.
        self.plugin = plugin
        #: The resource name calls use: `plugins/ID`, or a build's `plugins/ID@BUILD`.
        self.name = name or plugin.name
        self._declared = {d.name: d for d in own_inputs(plugin)}
        self._keywords: Dict[str, Optional[str]] = {}
        for d in self._declared.values():
            key = _keyword(d.name)
            # Two names with one keyword: neither is set by it (input() sets either).
            self._keywords[key] = None if key in self._keywords else d.name
        self._fields: Dict[str, Any] = {}
        self._inputs: Dict[str, float] = {}

    # -- building ------------------------------------------------------------------------------

    def set(self, **settings: Any) -> "ScenarioBuilder":
        """Sets fields of the scenario and the plugin's own inputs (see the class)."""
        for key, value in settings.items():
            if key in SCENARIO_FIELDS:
                values.scenario(**{key: value})  # a bad value fails here, not at the call
                self._fields[key] = value
            elif key in self._declared:
                self.input(key, value)
            elif self._keywords.get(key):
                self.input(self._keywords[key], value)
            else:
                self._refuse_name(key)
        return self

    def input(self, name: str, value: float) -> "ScenarioBuilder":
        """Sets the plugin's own input `name` (e.g. "escrow.share") to `value`."""
        index = list(self._inputs).index(name) if name in self._inputs else len(self._inputs)
        d = self._declared.get(name)
        if d is None:
            raise SchemaViolation([(f"inputs[{index}].name", _unknown_input(self.plugin, name))])
        value = _number(name, value)
        if not _within(value, d.min, d.max):
            raise SchemaViolation(
                [(f"inputs[{index}].value", _range_text(name, d.min, d.max, value))]
            )
        self._inputs[name] = value
        return self

    def unset(self, *names: str) -> "ScenarioBuilder":
        """Leaves fields or own inputs (by name or keyword) to their defaults again."""
        for name in names:
            self._fields.pop(name, None)
            self._inputs.pop(self._keywords.get(name) or name, None)
        return self

    def copy(self, **settings: Any) -> "ScenarioBuilder":
        """A new builder with the same values, then `settings` set on it."""
        other = ScenarioBuilder(self.plugin, name=self.name)
        other._fields = dict(self._fields)
        other._inputs = dict(self._inputs)
        return other.set(**settings)

    def _refuse_name(self, key: str) -> None:
        said = _unknown_input(self.plugin, key)
        keywords = [k for k, name in self._keywords.items() if name]
        if keywords:
            said += " (as keywords: " + ", ".join(keywords) + ")"
        said += "; nor is it a field of Scenario (" + ", ".join(SCENARIO_FIELDS) + ")"
        raise SchemaViolation([(f"inputs[{len(self._inputs)}].name", said)])

    # -- reading -------------------------------------------------------------------------------

    @property
    def inputs(self) -> Dict[str, float]:
        """The own inputs set so far, by name (the others take their declared defaults)."""
        return dict(self._inputs)

    @property
    def own_inputs(self) -> Dict[str, scoring_pb2.PluginInput]:
        """The inputs the plugin declares itself, by name: `unit`, `min`, `max`, `required`,
        `default_value`, `description`."""
        return dict(self._declared)

    @property
    def fields(self) -> Dict[str, Any]:
        """The fields of `Scenario` set so far, as given."""
        return dict(self._fields)

    @property
    def parameters(self) -> Dict[str, scoring_pb2.PluginParameter]:
        """The plugin's parameters by name; `default_value` is the value calls use unless they
        set one."""
        return {p.name: p for p in self.plugin.parameters}

    def violations(
        self, prefix: str = "", axes: Sequence[scoring_pb2.SweepAxis] = ()
    ) -> List[Tuple[str, str]]:
        """What the server would say of this scenario in a request where it sits at `prefix`
        ("scenario", "scenarios[3]", "base"); an own input a sweep's `axes` vary counts as set,
        as the server counts it (a start outside its range is the axis's mistake)."""
        given = list(self._inputs.items())
        for a in axes:
            if a.input in self._declared and a.input not in self._inputs:
                given.append((a.input, self._declared[a.input].min))
        return input_violations(self.plugin, given, prefix)

    def build(self, prefix: str = "") -> scoring_pb2.Scenario:
        """The `Scenario` message; raises `SchemaViolation` when a required input is unset."""
        found = self.violations(prefix)
        if found:
            raise SchemaViolation(found)
        return self._message()

    def _message(self) -> scoring_pb2.Scenario:
        message = values.scenario(**self._fields)
        for name, value in self._inputs.items():
            message.inputs.add(name=name, value=value)
        return message

    def __repr__(self) -> str:
        shown = [f"{k}={v!r}" for k, v in self._fields.items()]
        shown += [f"{k}={number_text(v)}" for k, v in self._inputs.items()]
        return f"ScenarioBuilder({self.name}" + "".join(", " + s for s in shown) + ")"


def checked_request_parts(
    plugin: "PluginLike",
    scenarios: Iterable[Any],
    prefixes: Iterable[str],
    parameters: Optional[Mapping[str, float]],
    axes: Sequence[scoring_pb2.SweepAxis] = (),
) -> Tuple[str, List[scoring_pb2.Scenario], List[scoring_pb2.ParameterValue]]:
    """The plugin name, scenarios and parameters of a scoring request, each builder among them
    checked (at its place in the request) and, when a schema is known, the parameters and
    axes too: every violation found raises one `SchemaViolation`, before any call."""
    schema: Optional[scoring_pb2.Plugin] = None
    if isinstance(plugin, ScenarioBuilder):
        name, schema = plugin.name, plugin.plugin
    else:
        name = values.resource_name("plugins", plugin)
    found: List[Tuple[str, str]] = []
    messages = []
    for scenario, prefix in zip(scenarios, prefixes):
        if isinstance(scenario, ScenarioBuilder):
            if scenario.name != name:
                raise ValueError(f"{prefix} was built for {scenario.name}, not {name}")
            schema = schema or scenario.plugin
            found.extend(scenario.violations(prefix, axes))
            messages.append(scenario._message())
        else:
            messages.append(scenario if scenario is not None else scoring_pb2.Scenario())
    pairs = parameter_values(parameters)
    if schema is not None:
        found = axis_violations(schema, axes) + found + parameter_violations(schema, pairs)
    if found:
        raise SchemaViolation(found)
    return name, messages, [scoring_pb2.ParameterValue(name=n, value=v) for n, v in pairs]


PluginLike = Any  # a plugin name ("fixture-escrow", "plugins/ID@BUILD") or a ScenarioBuilder
