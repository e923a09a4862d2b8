"""Conversions between Python values and the API's messages: dates, money, enums, scenarios."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Dict, Iterable, Mapping, Optional, Union

from ._stubs import common_pb2, legal_pb2, scoring_pb2

DateLike = Union[None, str, _dt.date, common_pb2.Date]


def date(value: DateLike) -> Optional[common_pb2.Date]:
    """A `Date` message from a `datetime.date`, an ISO string "2024-12-31", or a `Date`.

    None stays None, which the API reads as "today".
    """
    if value is None or isinstance(value, common_pb2.Date):
        return value
    if isinstance(value, str):
        value = _dt.date.fromisoformat(value)
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return common_pb2.Date(year=value.year, month=value.month, day=value.day)
    raise TypeError(f"not a date: {value!r}")


def to_date(value: common_pb2.Date) -> _dt.date:
    """A `datetime.date` from a `Date` message."""
    return _dt.date(value.year, value.month, value.day)


def money_value(money: common_pb2.Money) -> Decimal:
    """The exact amount of a `Money` message, in whole currency units."""
    return Decimal(money.units) + Decimal(money.nanos) / Decimal(1_000_000_000)


def format_money(money: common_pb2.Money, scale: str = "bn") -> str:
    """`Money` for people, e.g. "EUR 183.0 bn" (scale: "bn", "m" or "")."""
    divisor = {"bn": Decimal(10) ** 9, "m": Decimal(10) ** 6, "": Decimal(1)}[scale]
    amount = money_value(money) / divisor
    suffix = f" {scale}" if scale else ""
    return f"{money.currency_code} {amount:,.1f}{suffix}"


def enum_value(enum, prefix: str, value: Union[str, int]) -> int:
    """The number of an enum value given by number, short name ("cash") or full name."""
    if isinstance(value, int):
        return value
    name = value.strip().upper().replace("-", "_")
    if not name.startswith(prefix):
        name = prefix + name
    try:
        return enum.Value(name)
    except ValueError:
        known = ", ".join(n[len(prefix) :].lower() for n in enum.keys() if "UNSPECIFIED" not in n)
        raise ValueError(f"unknown {prefix.rstrip('_').lower()} {value!r}; known: {known}") from None


def action(value: Union[str, int]) -> int:
    """An `AssetAction` from its name: "confiscation", "REPARATIONS_LOAN", "package_2026", or the
    full name."""
    return enum_value(legal_pb2.AssetAction, "ASSET_ACTION_", value)


def lever(value: Union[str, int]) -> int:
    """A `Lever` from its name: "interest_rate_pct", "SAFE_TAKEUP", or the full name."""
    return enum_value(scoring_pb2.Lever, "LEVER_", value)


def scenario(
    use_mode: Union[str, int, None] = None,
    *,
    participation: Optional[Mapping[str, float]] = None,
    as_of: DateLike = None,
    **levers,
) -> scoring_pb2.Scenario:
    """A `Scenario`: `use_mode` by name, `participation` as {jurisdiction: fraction}, and any
    other field of Scenario by keyword (interest_rate_pct=2.0, ceasefire=True, ...)."""
    message = scoring_pb2.Scenario(**levers)
    if use_mode is not None:
        message.use_mode = action(use_mode)
    for jurisdiction, fraction in (participation or {}).items():
        message.participation.add(jurisdiction=jurisdiction, fraction=fraction)
    if as_of is not None:
        message.as_of.CopyFrom(date(as_of))
    return message


def axis(name: Union[str, int], start: float, stop: float, steps: int) -> scoring_pb2.SweepAxis:
    """A `SweepAxis`: `steps` evenly spaced values from `start` to `stop` of a lever (by name,
    e.g. "interest_rate_pct", or number) or, for any other name, of an input the plugin
    declares itself (e.g. "escrow.share")."""
    try:
        return scoring_pb2.SweepAxis(lever=lever(name), start=start, stop=stop, steps=steps)
    except ValueError:
        if not isinstance(name, str) or not name.strip():
            raise
    return scoring_pb2.SweepAxis(input=name.strip(), start=start, stop=stop, steps=steps)


def named_values(named: Iterable[scoring_pb2.NamedValue]) -> Dict[str, float]:
    """`{name: value}` of named values, e.g. a result's `parameters` or `inputs`."""
    return {v.name: v.value for v in named}


def resource_name(collection: str, name: str) -> str:
    """`collection/name`, accepting the short id ("euroclear-bank") or the full name."""
    prefix = f"{collection}/"
    return name if name.startswith(prefix) else prefix + name
