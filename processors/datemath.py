"""Date-math index names (``<logs-{now/d}>``, ``<my-index-{2016-04-25||/M{yyyy-MM-dd|UTC}}>``), resolved as
Elasticsearch's DateMathExpressionResolver does when a request names an index. ``date_index_name`` writes such
names into ``_index``; whoever indexes the document resolves them with ``resolve_index_name``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ingest.processors.dates import JavaPattern, _zone, parse_date
from ingest.processors.errors import illegal_argument

_EXPR = re.compile(r"\{(?P<math>[^{}]*?)(?:\{(?P<format>[^{}|]*)(?:\|(?P<zone>[^{}]*))?\})?\}")
_STEP = re.compile(r"([+-]\d+|/)([yMwdhHms])")


def _round(value: datetime, unit: str) -> datetime:
    if unit == "y":
        return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = value - timedelta(days=value.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in "hH":
        return value.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return value.replace(second=0, microsecond=0)
    return value.replace(microsecond=0)


def _shift(value: datetime, amount: int, unit: str) -> datetime:
    if unit in "yM":
        months = value.month - 1 + amount * (12 if unit == "y" else 1)
        return value.replace(year=value.year + months // 12, month=months % 12 + 1)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return value + timedelta(seconds=amount * seconds)


def _evaluate(math: str, fmt: str, zone_name: str, now: datetime) -> str:
    zone = _zone(zone_name)
    if math.startswith("now"):
        value, steps = now.astimezone(zone), math[3:]
    elif "||" in math:
        anchor, steps = math.split("||", 1)
        try:
            value = parse_date(anchor, fmt, zone)
        except ValueError:
            value = parse_date(anchor, "ISO8601", zone)
        value = value.astimezone(zone)
    else:
        raise illegal_argument(f"invalid dynamic name expression [{math}]")
    pos = 0
    while pos < len(steps):
        match = _STEP.match(steps, pos)
        if match is None:
            raise illegal_argument(f"invalid dynamic name expression [{math}]")
        op, unit = match.groups()
        value = _round(value, unit) if op == "/" else _shift(value, int(op), unit)
        pos = match.end()
    return JavaPattern(fmt).format(value)


def resolve_index_name(name: str, now: datetime | None = None) -> str:
    """The concrete index of ``name``: date-math names (``<...>``) resolved, any other name unchanged."""
    if not (name.startswith("<") and name.endswith(">")):
        return name
    moment = now or datetime.now(UTC)
    body = name[1:-1]

    def one(match: re.Match[str]) -> str:
        return _evaluate(match.group("math"), match.group("format") or "yyyy.MM.dd", match.group("zone") or "UTC",
                         moment)

    return _EXPR.sub(one, body)
