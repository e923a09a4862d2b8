"""pandas DataFrames from the API's messages, for notebooks: `to_frame(...)`.

pandas is optional (`pip install 'leverage-client[pandas]'`); it is imported when a frame is
made, so the rest of the client works without it.

How messages become columns, everywhere in this module:

- a column is named after the proto field; a field of a nested message is named by its path,
  e.g. `current.as_of` or `source.publisher` (as in an update mask);
- a `Date` is a `datetime64[ns]` column (NaT when unset); a `google.protobuf.Timestamp` (e.g.
  `create_time`) is a `datetime64[ns, UTC]` column;
- a `Money` is a float column of whole units (`amount`), with its currency beside it in
  `amount.currency_code`;
- an enum is the name of its value, e.g. `OWNER_KIND_CENTRAL_BANK`;
- an unset `optional` scalar or message is missing (NaN, NaT, <NA> or None);
- a repeated scalar is a Python list in the cell; a repeated message is a list of dicts, each
  flattened the same way (use a frame of its own for detail, e.g. `to_frame(summary.rates_used)`).

`to_frame` picks the shape from what it is given:

- a list response (`ListHoldingsResponse`, `ListFiguresResponse`, `ListPositionsResponse`, ...)
  or any iterable of messages (`client.holdings()`, `response.allocations`, ...): one row per
  element, as above;
- a `SummarizeHoldingsResponse`: one row per group (see `summary_frames` for the observations,
  the exchange rates used and the estimates);
- an `AssessLegalRiskResponse`: one row per jurisdiction, with its channels as columns;
- a `ScoreResult`, or a list of them: one row per result, components as columns;
- `ScenarioOutcome`s (`score_many`), a `CompareScenariosResponse` or its rows: one row per
  outcome, components as columns, the error's reason and message for an outcome that failed;
- `SweepPoints` (`client.sweep(...)`): one row per point in index order, the levers and inputs
  swept as columns, then the score and the components (also `SweepPoints.to_frame()`);
- any other message: a single row.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Dict, Iterable, List, Optional, Sequence

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from . import values
from ._stubs import assets_pb2, common_pb2, legal_pb2, scoring_pb2

PANDAS_MISSING = (
    "leverage_client.frames needs pandas: install the client with its pandas extra, "
    "`pip install 'leverage-client[pandas]'` (or `pip install pandas`)"
)

_DATE = common_pb2.Date.DESCRIPTOR.full_name
_MONEY = common_pb2.Money.DESCRIPTOR.full_name
_TIMESTAMP = "google.protobuf.Timestamp"

# The column kinds the flattening records, so that every column gets its dtype even when all
# its cells are missing.
_FLOAT, _INT, _BOOL, _TEXT, _OBJECT = "float", "int", "bool", "text", "object"
_DATE_KIND, _TIME = "date", "time"

_SCALAR_KINDS = {
    FieldDescriptor.TYPE_DOUBLE: _FLOAT,
    FieldDescriptor.TYPE_FLOAT: _FLOAT,
    FieldDescriptor.TYPE_INT32: _INT,
    FieldDescriptor.TYPE_INT64: _INT,
    FieldDescriptor.TYPE_UINT32: _INT,
    FieldDescriptor.TYPE_UINT64: _INT,
    FieldDescriptor.TYPE_SINT32: _INT,
    FieldDescriptor.TYPE_SINT64: _INT,
    FieldDescriptor.TYPE_FIXED32: _INT,
    FieldDescriptor.TYPE_FIXED64: _INT,
    FieldDescriptor.TYPE_SFIXED32: _INT,
    FieldDescriptor.TYPE_SFIXED64: _INT,
    FieldDescriptor.TYPE_BOOL: _BOOL,
    FieldDescriptor.TYPE_STRING: _TEXT,
    FieldDescriptor.TYPE_BYTES: _OBJECT,
    FieldDescriptor.TYPE_ENUM: _TEXT,
}

SummaryFrames = namedtuple("SummaryFrames", ["groups", "observations", "rates_used", "estimates"])
SummaryFrames.__doc__ = """The frames of a holdings summary (see `summary_frames`)."""


def _pandas():
    try:
        import pandas
    except ImportError as e:
        raise ImportError(PANDAS_MISSING) from e
    return pandas


# -- flattening one message into a row --------------------------------------------------------


def _is_repeated(field: FieldDescriptor) -> bool:
    # `is_repeated` is the newer spelling; `label` the one older protobuf releases have.
    repeated = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    return field.label == FieldDescriptor.LABEL_REPEATED


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and field.message_type.GetOptions().map_entry
    )


def _tracks_presence(field: FieldDescriptor) -> bool:
    # Messages and proto3 `optional` scalars know whether they were set; plain proto3 scalars
    # do not, and their default is their value.
    return field.has_presence


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else int(value)
    return value


def _money(money: common_pb2.Money) -> float:
    # Through the exact Decimal, so the float is the nearest to the amount (units + nanos / 1e9
    # in floats could be one ulp off).
    return float(values.money_value(money))


def _date(date: common_pb2.Date):
    return values.to_date(date) if (date.year or date.month or date.day) else None


def _flatten(message: Message, prefix: str, row: Dict[str, Any], kinds: Dict[str, str]) -> None:
    for field in message.DESCRIPTOR.fields:
        name = prefix + field.name
        value = getattr(message, field.name)
        if _is_map(field):
            row[name] = dict(value)
            kinds.setdefault(name, _OBJECT)
        elif _is_repeated(field):
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                row[name] = [message_row(item) for item in value]
            else:
                row[name] = [_scalar(field, item) for item in value]
            kinds.setdefault(name, _OBJECT)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            present = message.HasField(field.name)
            full_name = field.message_type.full_name
            if full_name == _DATE:
                row[name] = _date(value) if present else None
                kinds[name] = _DATE_KIND
            elif full_name == _MONEY:
                row[name] = _money(value) if present else None
                row[name + ".currency_code"] = value.currency_code if present else None
                kinds[name] = _FLOAT
                kinds[name + ".currency_code"] = _TEXT
            elif full_name == _TIMESTAMP:
                row[name] = value.ToNanoseconds() if present else None
                kinds[name] = _TIME
            elif present:
                _flatten(value, name + ".", row, kinds)
            else:
                # The nested columns still exist (missing), so rows with and without the
                # message line up.
                _flatten_missing(field.message_type, name + ".", row, kinds)
        else:
            present = not _tracks_presence(field) or message.HasField(field.name)
            row[name] = _scalar(field, value) if present else None
            kinds[name] = _SCALAR_KINDS.get(field.type, _OBJECT)


def _flatten_missing(descriptor, prefix: str, row: Dict[str, Any], kinds: Dict[str, str]) -> None:
    for field in descriptor.fields:
        name = prefix + field.name
        if _is_map(field) or _is_repeated(field):
            row[name] = None
            kinds.setdefault(name, _OBJECT)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            full_name = field.message_type.full_name
            if full_name == _DATE:
                row[name] = None
                kinds[name] = _DATE_KIND
            elif full_name == _MONEY:
                row[name] = None
                row[name + ".currency_code"] = None
                kinds[name] = _FLOAT
                kinds[name + ".currency_code"] = _TEXT
            elif full_name == _TIMESTAMP:
                row[name] = None
                kinds[name] = _TIME
            elif full_name != descriptor.full_name:  # a message that contains itself stops here
                _flatten_missing(field.message_type, name + ".", row, kinds)
        else:
            row[name] = None
            kinds[name] = _SCALAR_KINDS.get(field.type, _OBJECT)


def message_row(message: Message) -> Dict[str, Any]:
    """A message as one flat dict, named and converted as the frames' columns are (dates as
    `datetime.date`, money as float plus `.currency_code`, enums by name). No pandas needed."""
    row: Dict[str, Any] = {}
    _flatten(message, "", row, {})
    return row


# -- rows into a typed frame ------------------------------------------------------------------


def _frame(rows: List[Dict[str, Any]], kinds: Dict[str, str], columns: Optional[List[str]] = None):
    pd = _pandas()
    if columns is None:
        columns = []
        for row in rows:
            for name in row:
                if name not in columns:
                    columns.append(name)
    data = {name: [row.get(name) for row in rows] for name in columns}
    frame = pd.DataFrame({name: _column(pd, data[name], kinds.get(name)) for name in columns},
                         columns=columns)
    return frame


def _column(pd, cells: List[Any], kind: Optional[str]):
    missing = any(cell is None for cell in cells)
    if kind == _DATE_KIND:
        return pd.to_datetime(pd.Series(cells, dtype="object")).astype("datetime64[ns]")
    if kind == _TIME:
        # Nanoseconds since the epoch, exact, as UTC instants.
        return pd.to_datetime(pd.Series(cells, dtype="Int64"), unit="ns", utc=True)
    if kind == _FLOAT:
        return pd.Series([float("nan") if c is None else c for c in cells], dtype="float64")
    if kind == _INT:
        return pd.Series(cells, dtype="Int64" if missing else "int64")
    if kind == _BOOL:
        return pd.Series(cells, dtype="boolean" if missing else "bool")
    if kind == _TEXT:
        return pd.Series(cells, dtype="object" if any(isinstance(c, int) for c in cells) else None)
    return pd.Series(cells, dtype="object")


def messages_frame(messages: Iterable[Message]):
    """One row per message, every field a column as the module's docstring says."""
    rows, kinds = [], {}
    for message in messages:
        row: Dict[str, Any] = {}
        _flatten(message, "", row, kinds)
        rows.append(row)
    return _frame(rows, kinds)


def _list_items(response: Message) -> Optional[Sequence[Message]]:
    """The resources of a List*Response: its one repeated message field."""
    if not response.DESCRIPTOR.name.startswith("List"):
        return None
    repeated = [
        f for f in response.DESCRIPTOR.fields
        if _is_repeated(f) and f.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(f)
    ]
    if len(repeated) != 1:
        return None
    return getattr(response, repeated[0].name)


# -- summaries ----------------------------------------------------------------------------------


def summary_frame(summary: assets_pb2.SummarizeHoldingsResponse):
    """One row per group of a holdings summary: `key` (jurisdiction, custodian, ... as
    grouped), `total` and `total.currency_code` (the summary's currency), `holding_count`.

    `frame.attrs` holds the summary's `as_of`, `currency_code`, `located_total` (float) and
    `rates_used` (the ids of the exchange rates applied; `summary_frames` has them in full)."""
    rows, kinds = [], {}
    for group in summary.groups:
        row: Dict[str, Any] = {}
        _flatten(group, "", row, kinds)
        del row["observations"]  # one row per observation in summary_frames(...).observations
        rows.append(row)
    frame = _frame(rows, kinds, ["key", "total", "total.currency_code", "holding_count"])
    frame.attrs.update(
        as_of=_date(summary.as_of),
        currency_code=summary.currency_code,
        located_total=_money(summary.located_total),
        rates_used=[r.rate_id for r in summary.rates_used],
    )
    return frame


def summary_frames(summary: assets_pb2.SummarizeHoldingsResponse) -> SummaryFrames:
    """Every part of a holdings summary as a frame:

    - `groups`: as `summary_frame`;
    - `observations`: one row per observation added (SUMMARY_VIEW_FULL), with its group's
      `key` first, then `holding`, `observation_id`, `original` (its own currency),
      `converted` (the summary's currency) and `rate_ids`;
    - `rates_used`: one row per exchange rate applied (`rate_id`, `base_currency`,
      `quote_currency`, `rate`, `factor`, `as_of`, `source.*`, `confidence`, `note`);
    - `estimates`: the aggregate estimates shown beside the sum, never in it (`holding`,
      `scope`, `coverage`, `observation.*`, `converted`)."""
    rows, kinds = [], {"key": _TEXT}
    for group in summary.groups:
        for use in group.observations:
            row: Dict[str, Any] = {"key": group.key}
            _flatten(use, "", row, kinds)
            rows.append(row)
    return SummaryFrames(
        groups=summary_frame(summary),
        observations=_frame(rows, kinds),
        rates_used=messages_frame(summary.rates_used),
        estimates=messages_frame(summary.estimates),
    )


# -- legal risk ---------------------------------------------------------------------------------


def _short(enum_name: str, prefix: str) -> str:
    return enum_name[len(prefix):].lower() if enum_name.startswith(prefix) else enum_name.lower()


def legal_risk_frame(assessment: legal_pb2.AssessLegalRiskResponse):
    """One row per jurisdiction of a legal-risk assessment: `jurisdiction`, `risk`, `level`,
    `assets_at_stake` and its `.currency_code`, `binding_channel`, `drivers` (a list of dicts:
    kind, ref_id, title, contribution, explanation, sources), then, for each channel the model
    scores (legal-risk/2), `channels.<channel>.risk` and `channels.<channel>.level`, e.g.
    `channels.annulment.risk` (missing for a jurisdiction without that channel).

    `frame.attrs` holds the assessment's `action`, `as_of`, `overall_risk`, `overall_level`,
    `model_version`, `method` and `combination`."""
    rows, kinds = [], {}
    for jurisdiction in assessment.jurisdictions:
        row: Dict[str, Any] = {}
        _flatten(jurisdiction, "", row, kinds)
        del row["channels"]
        for channel in jurisdiction.channels:
            name = _short(legal_pb2.LegalChannel.Name(channel.channel), "LEGAL_CHANNEL_")
            row[f"channels.{name}.risk"] = channel.risk
            row[f"channels.{name}.level"] = legal_pb2.RiskLevel.Name(channel.level)
            kinds[f"channels.{name}.risk"] = _FLOAT
            kinds[f"channels.{name}.level"] = _TEXT
        rows.append(row)
    frame = _frame(rows, kinds)
    frame.attrs.update(
        action=legal_pb2.AssetAction.Name(assessment.action),
        as_of=_date(assessment.as_of),
        overall_risk=assessment.overall_risk,
        overall_level=legal_pb2.RiskLevel.Name(assessment.overall_level),
        model_version=assessment.model_version,
        method=assessment.method,
        combination=assessment.combination,
    )
    return frame


# -- scores, batches, comparisons and sweeps ----------------------------------------------------

_RESULT_COLUMNS = [
    "plugin", "plugin_version", "plugin_build", "build_id", "dataset_version", "as_of", "score",
    "score_unit",
]


def _result_row(result: scoring_pb2.ScoreResult, row: Dict[str, Any], kinds: Dict[str, str]):
    for name in _RESULT_COLUMNS:
        field = result.DESCRIPTOR.fields_by_name[name]
        if name == "as_of":
            row[name] = _date(result.as_of) if result.HasField("as_of") else None
            kinds[name] = _DATE_KIND
        else:
            row[name] = getattr(result, name)
            kinds[name] = _SCALAR_KINDS[field.type]
    for component in result.components:
        column = _component_column(component.name)
        row[column] = component.value
        kinds[column] = _FLOAT
    row["parameters"] = values.named_values(result.parameters)
    kinds["parameters"] = _OBJECT


# The columns a component must not take; such a component's column is prefixed.
_RESERVED = set(_RESULT_COLUMNS) | {
    "index", "parameters", "error.code", "error.reason", "error.message",
}


def _component_column(name: str, taken: Iterable[str] = ()) -> str:
    return f"component.{name}" if name in _RESERVED or name in taken else name


def scores_frame(results: Iterable[scoring_pb2.ScoreResult]):
    """One row per score: `plugin`, `plugin_version`, `plugin_build`, `build_id`,
    `dataset_version`, `as_of`, `score`, `score_unit`, one column per component (named after
    it), and `parameters` ({name: value} as used)."""
    rows, kinds = [], {}
    for result in results:
        row: Dict[str, Any] = {}
        _result_row(result, row, kinds)
        rows.append(row)
    return _frame(rows, kinds)


def outcomes_frame(outcomes: Iterable[scoring_pb2.ScenarioOutcome], plugin: str = ""):
    """One row per outcome of a batch (`score_many`) in order: `index` (the scenario's), the
    columns of `scores_frame`, and `error.code`, `error.reason`, `error.message` (missing when
    the scenario scored; the score and components are missing when it failed)."""
    rows, kinds = [], {"index": _INT}
    for outcome in outcomes:
        row: Dict[str, Any] = {"index": outcome.index}
        if outcome.HasField("result"):
            _result_row(outcome.result, row, kinds)
        else:
            row["plugin"] = plugin or None
            row["score"] = None
            kinds.update(plugin=_TEXT, score=_FLOAT)
        failed = outcome.HasField("error")
        row["error.code"] = outcome.error.code if failed else None
        row["error.reason"] = outcome.error.reason if failed else None
        row["error.message"] = outcome.error.message if failed else None
        kinds.update({"error.code": _INT, "error.reason": _TEXT, "error.message": _TEXT})
        rows.append(row)
    return _frame(rows, kinds)


def comparison_frame(rows: Iterable[scoring_pb2.ComparisonRow]):
    """A comparison of plugins × scenarios (CompareScenarios): one row per plugin and scenario,
    plugin by plugin in the reply's order, with the columns of `outcomes_frame` (`plugin` first;
    each plugin's own components as columns, missing for the others)."""
    pd = _pandas()
    frames = [outcomes_frame(row.outcomes, plugin=row.plugin) for row in rows]
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    # A plugin without a component its neighbour has leaves the column missing; components are
    # floats whatever the plugin.
    first = ["plugin", "index"]
    return frame[first + [c for c in frame.columns if c not in first]]


def axis_name(axis: scoring_pb2.SweepAxis) -> str:
    """The column a sweep axis gets: the lever's short name ("interest_rate_pct") or the
    plugin's own input ("escrow.share")."""
    if axis.input:
        return axis.input
    return _short(scoring_pb2.Lever.Name(axis.lever), "LEVER_")


def sweep_frame(
    points: Iterable[scoring_pb2.SweepPoint],
    *,
    axis_names: Sequence[str] = (),
    component_names: Sequence[str] = (),
):
    """One row per sweep point, in the order given (the server sends index order): `index`,
    one column per axis (`axis_names`, e.g. "sanctions_tightening", else `axis0`, `axis1`)
    holding the lever's or input's value, `score`, one column per component
    (`component_names`, else `component0`, ...), and `error.reason`, `error.message` (score
    and components missing when the point failed)."""
    axis_names = list(axis_names)
    component_names = list(component_names)
    rows, kinds = [], {"index": _INT, "score": _FLOAT, "error.reason": _TEXT, "error.message": _TEXT}
    levers: List[str] = []
    components: List[str] = []
    for point in points:
        while len(levers) < len(point.lever_values):
            i = len(levers)
            levers.append(axis_names[i] if i < len(axis_names) else f"axis{i}")
        taken = set(levers) | {"index", "score", "error.reason", "error.message"}
        while len(components) < len(point.components):
            i = len(components)
            name = component_names[i] if i < len(component_names) else f"component{i}"
            components.append(f"component.{name}" if name in taken else name)
        failed = point.HasField("error")
        row: Dict[str, Any] = {"index": point.index}
        for name, value in zip(levers, point.lever_values):
            row[name] = value
            kinds[name] = _FLOAT
        row["score"] = None if failed else point.score
        for name, value in zip(components, point.components):
            row[name] = None if failed else value
            kinds[name] = _FLOAT
        row["error.reason"] = point.error.reason if failed else None
        row["error.message"] = point.error.message if failed else None
        rows.append(row)
    # A failed point may carry no components: the columns are still the sweep's.
    for name in components:
        kinds.setdefault(name, _FLOAT)
    columns = ["index"] + levers + ["score"] + components + ["error.reason", "error.message"]
    if not rows:
        columns = ["index"] + axis_names + ["score"] + component_names + ["error.reason", "error.message"]
    return _frame(rows, kinds, columns)


# -- the one entry point ------------------------------------------------------------------------


def to_frame(obj, **options):
    """A pandas DataFrame of a reply, a list of messages or a sweep: see the module's
    docstring for the shapes. `options` go to the shape's own function (e.g. `axis_names=` for
    a list of SweepPoint)."""
    # Imported here so that a missing pandas is reported before any work, whatever `obj` is.
    _pandas()
    from .client import SweepPoints

    if isinstance(obj, SweepPoints):
        return obj.to_frame()
    if isinstance(obj, assets_pb2.SummarizeHoldingsResponse):
        return summary_frame(obj)
    if isinstance(obj, legal_pb2.AssessLegalRiskResponse):
        return legal_risk_frame(obj)
    if isinstance(obj, scoring_pb2.CompareScenariosResponse):
        return comparison_frame(obj.rows)
    if isinstance(obj, scoring_pb2.ScoreScenariosResponse):
        return outcomes_frame(obj.outcomes, **options)
    if isinstance(obj, scoring_pb2.ScoreScenarioResponse):
        return scores_frame([obj.result])
    if isinstance(obj, scoring_pb2.ScoreResult):
        return scores_frame([obj])
    if isinstance(obj, Message):
        items = _list_items(obj)
        return messages_frame([obj] if items is None else items)
    items = list(obj)
    kinds = {type(item) for item in items}
    if kinds == {scoring_pb2.ScoreResult}:
        return scores_frame(items)
    if kinds == {scoring_pb2.ScenarioOutcome}:
        return outcomes_frame(items, **options)
    if kinds == {scoring_pb2.ComparisonRow}:
        return comparison_frame(items)
    if kinds == {scoring_pb2.SweepPoint}:
        return sweep_frame(items, **options)
    if not all(isinstance(item, Message) for item in items):
        raise TypeError("to_frame takes protobuf messages of the leverage API, or an iterable of them")
    if len(kinds) > 1:
        names = ", ".join(sorted(k.DESCRIPTOR.name for k in kinds))
        raise TypeError(f"to_frame takes messages of one type, got {names}")
    return messages_frame(items)
