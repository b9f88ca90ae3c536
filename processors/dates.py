"""The ``date`` processor: ISO8601, UNIX, UNIX_MS, TAI64N and common Java DateTimeFormatter patterns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument
from ingest.processors.template import Template, java_string

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_LETTERS = re.compile(r"'([^']*)'|(''|([A-Za-z])\3*)")
_ALT = "|".join


def _tokens(pattern: str) -> list[tuple[str, str]]:
    """("lit", text) or ("field", letters) pieces of a Java pattern."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match in _LETTERS.finditer(pattern):
        if match.start() > pos:
            out.append(("lit", pattern[pos:match.start()]))
        if match.group(1) is not None:
            out.append(("lit", match.group(1) or "'"))
        elif match.group(2) == "''":
            out.append(("lit", "'"))
        else:
            out.append(("field", match.group(2)))
        pos = match.end()
    if pos < len(pattern):
        out.append(("lit", pattern[pos:]))
    return out


def _field_regex(letters: str, index: int) -> str:
    c, n = letters[0], len(letters)
    name = f"{c}{index}"
    if c in "yu":
        body = r"\d{2}" if n == 2 else r"[+-]?\d{4,9}" if n >= 4 else r"[+-]?\d{1,9}"
    elif c == "M" or c == "L":
        body = (r"\d{2}" if n == 2 else r"\d{1,2}") if n <= 2 else _ALT(m[:3] for m in MONTHS) if n == 3 else \
            _ALT(MONTHS)
    elif c in "dHhkKms":
        body = r"\d{2}" if n == 2 else r"\d{1,2}"
    elif c == "D":
        body = r"\d{1,3}"
    elif c in "Sn":
        body = rf"\d{{{n}}}" if c == "S" else r"\d{1,9}"
    elif c == "a":
        body = "AM|PM|am|pm"
    elif c == "E":
        body = _ALT(d[:3] for d in DAYS) if n <= 3 else _ALT(DAYS)
    elif c in "XxZ":
        body = r"Z|[+-]\d{2}(?::?\d{2})?" if c != "Z" or n < 4 else r"GMT[+-]\d{2}:\d{2}|Z"
    elif c in "zV":
        body = r"[A-Za-z][A-Za-z0-9_/+-]*"
    else:
        raise ValueError(f"unsupported pattern letter [{c}]")
    return f"(?P<{name}>{body})"


class JavaPattern:
    """A Java DateTimeFormatter pattern compiled for parsing and formatting."""
    pattern: str
    tokens: list[tuple[str, str]]
    regex: re.Pattern[str]

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.tokens = _tokens(pattern)
        parts = []
        for i, (kind, text) in enumerate(self.tokens):
            if kind == "lit":
                parts.append(re.escape(text).replace(r"\ ", " "))
            else:
                parts.append(_field_regex(text, i))
        self.regex = re.compile("".join(parts), re.I)

    def parse(self, text: str, zone: tzinfo) -> datetime:
        match = self.regex.fullmatch(text)
        if match is None:
            raise ValueError(text)
        year, month, day, hour, minute, second, micro = 1970, 1, 1, 0, 0, 0, 0
        pm: bool | None = None
        tz: tzinfo | None = None
        for key, value in match.groupdict().items():
            c = key[0]
            if value is None:
                continue
            if c in "yu":
                year = int(value) + (2000 if len(value) == 2 else 0)
            elif c in "ML":
                month = int(value) if value.isdigit() else _month(value)
            elif c == "d":
                day = int(value)
            elif c in "Hk":
                hour = int(value) % 24
            elif c in "hK":
                hour = int(value) % 12
            elif c == "m":
                minute = int(value)
            elif c == "s":
                second = int(value)
            elif c in "Sn":
                micro = int((value + "000000")[:6]) if c == "S" else int(value) // 1000
            elif c == "a":
                pm = value.upper() == "PM"
            elif c in "XxZ":
                tz = _offset(value)
            elif c in "zV":
                tz = _zone(value)
        if pm is not None and pm:
            hour += 12
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz or zone)

    def format(self, value: datetime) -> str:
        out = []
        for kind, text in self.tokens:
            out.append(text if kind == "lit" else _format_field(text, value))
        return "".join(out)


def _month(name: str) -> int:
    for i, month in enumerate(MONTHS):
        if month.lower().startswith(name.lower()[:3]):
            return i + 1
    raise ValueError(name)


def _offset(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    text = text.replace("GMT", "")
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return _fixed(sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0)))


def _fixed(minutes: int) -> tzinfo:
    from datetime import timezone
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _zone(name: str) -> tzinfo:
    if name in ("UTC", "Z", "GMT"):
        return UTC
    if re.fullmatch(r"[+-]\d{2}:?\d{2}", name):
        return _offset(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise illegal_argument(f"Unknown time-zone ID: {name}") from None


def _format_field(letters: str, value: datetime) -> str:
    c, n = letters[0], len(letters)
    if c in "yu":
        return f"{value.year % 100:02d}" if n == 2 else f"{value.year:0{n}d}"
    if c in "ML":
        return f"{value.month:0{n}d}" if n <= 2 else MONTHS[value.month - 1][:3] if n == 3 else MONTHS[value.month - 1]
    simple = {"d": value.day, "H": value.hour, "m": value.minute, "s": value.second, "k": value.hour or 24,
              "h": value.hour % 12 or 12, "K": value.hour % 12, "D": value.timetuple().tm_yday}
    if c in simple:
        return f"{simple[c]:0{n}d}"
    if c == "S":
        return f"{value.microsecond:06d}000"[:n]
    if c == "a":
        return "AM" if value.hour < 12 else "PM"
    if c == "E":
        return DAYS[value.weekday()][:3] if n <= 3 else DAYS[value.weekday()]
    if c in "XxZ":
        off = value.utcoffset() or timedelta(0)
        if off == timedelta(0) and c == "X":
            return "Z"
        total = int(off.total_seconds() // 60)
        sign = "-" if total < 0 else "+"
        hh, mm = divmod(abs(total), 60)
        return f"{sign}{hh:02d}{mm:02d}" if c == "Z" or n == 2 else f"{sign}{hh:02d}:{mm:02d}" if n >= 3 else \
            f"{sign}{hh:02d}" + (f"{mm:02d}" if mm else "")
    if c in "zV":
        return value.tzname() or "UTC"
    raise ValueError(f"unsupported pattern letter [{c}]")


def parse_date(text: Any, fmt: str, zone: tzinfo) -> datetime:
    """Parse one value with one format (raises ValueError when it does not match)."""
    fmt = {"epoch_second": "UNIX", "epoch_millis": "UNIX_MS", "strict_date_time": "ISO8601",
           "date_time": "ISO8601", "strict_date": "yyyy-MM-dd", "date": "yyyy-MM-dd"}.get(fmt, fmt)
    if fmt == "UNIX":
        return datetime.fromtimestamp(float(java_string(text)), UTC).astimezone(zone)
    if fmt == "UNIX_MS":
        return datetime.fromtimestamp(int(java_string(text)) / 1000, UTC).astimezone(zone)
    if fmt == "TAI64N":
        raw = java_string(text).lstrip("@")
        seconds = int(raw[:16], 16) - 0x4000000000000000 - 10
        nanos = int(raw[16:24], 16)
        return datetime.fromtimestamp(seconds + nanos / 1e9, UTC).astimezone(zone)
    text = java_string(text)
    if fmt in ("ISO8601", "strict_date_optional_time", "date_optional_time"):
        value = datetime.fromisoformat(text.replace("z", "Z"))
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return JavaPattern(fmt).parse(text, zone)


class DateProcessor(Processor):
    """``date``: parse a field with the first matching format into ``target_field`` (default ``@timestamp``)."""

    type = "date"
    field: str
    target: str
    formats: list[str]
    timezone: Template
    locale: str
    ignore_missing: bool
    output: JavaPattern

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.target = opts.string("target_field", "@timestamp")
        p.formats = opts.string_list("formats", required=True, allow_string=False) or []
        p.timezone = Template(opts.string("timezone", "UTC"))
        p.locale = opts.string("locale", "ENGLISH")
        output = opts.string("output_format", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
        p.ignore_missing = opts.boolean("ignore_missing", False)
        try:
            p.output = JavaPattern(output)
            for fmt in p.formats:
                if fmt not in ("ISO8601", "UNIX", "UNIX_MS", "TAI64N", "strict_date_optional_time",
                               "date_optional_time", "epoch_second", "epoch_millis", "strict_date_time",
                               "date_time", "strict_date", "date"):
                    JavaPattern(fmt)
        except ValueError as exc:
            raise opts.error("formats", f"invalid date format: {exc}") from None
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = doc.get(self.field, None) if self.ignore_missing else doc.get(self.field)
        if value is None:
            if self.ignore_missing:
                return
            raise illegal_argument(f"field [{self.field}] is null, cannot parse date.")
        zone = _zone(self.timezone.render(doc))
        for fmt in self.formats:
            try:
                parsed = parse_date(value, fmt, zone)
            except (ValueError, OverflowError, OSError):
                continue
            doc.set(self.target, self.output.format(parsed.astimezone(zone)))
            return
        raise illegal_argument(f"unable to parse date [{java_string(value)}]")


_ROUNDINGS = ("y", "M", "w", "d", "h", "m", "s")


class DateIndexNameProcessor(Processor):
    """``date_index_name``: set ``_index`` to a date-math expression built from a date field, e.g.
    ``<my-index-{2016-04-25||/M{yyyy-MM-dd|UTC}}>`` (resolved to ``my-index-2016-04-01`` where it is indexed)."""

    type = "date_index_name"
    field: str
    formats: list[str]
    timezone: tzinfo
    zone_name: str
    prefix: Template
    rounding: Template
    index_format: Template

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        opts.string("locale")
        zone = opts.string("timezone")
        p.timezone = UTC if zone is None else _zone(zone)
        # Elasticsearch prints UTC as "UTC" (not "Z") so that names stay the same as in 6.x.
        p.zone_name = "UTC" if zone is None or p.timezone is UTC else zone
        p.formats = opts.string_list("date_formats", allow_string=False) or ["yyyy-MM-dd'T'HH:mm:ss.SSSXX"]
        p.field = opts.string("field", required=True)
        p.prefix = opts.template("index_name_prefix", required=False, default="")
        p.rounding = opts.template("date_rounding")
        p.index_format = opts.template("index_name_format", required=False,
                                       default="yyyy-MM-dd")
        try:
            for fmt in p.formats:
                if fmt not in ("ISO8601", "UNIX", "UNIX_MS", "TAI64N"):
                    JavaPattern(fmt)
            if p.index_format.is_static:
                JavaPattern(p.index_format.source)
        except ValueError as exc:
            raise opts.error("date_formats", f"invalid date format: {exc}") from None
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = doc.get(self.field)
        text = None if value is None else java_string(value)
        parsed = None
        for fmt in self.formats:
            try:
                parsed = parse_date(text, fmt, self.timezone)
                break
            except (ValueError, OverflowError, OSError, TypeError):
                continue
        if parsed is None:
            raise illegal_argument(f"unable to parse date [{text}]")
        rounding = self.rounding.render(doc)
        if rounding not in _ROUNDINGS:
            raise illegal_argument(f"date rounding [{rounding}] is not one of {list(_ROUNDINGS)}".replace("'", ""))
        index_format = self.index_format.render(doc)
        try:
            stamp = JavaPattern(index_format).format(parsed.astimezone(self.timezone))
        except ValueError as exc:
            raise illegal_argument(f"invalid index_name_format [{index_format}]: {exc}") from None
        doc.set("_index", f"<{self.prefix.render(doc)}{{{stamp}||/{rounding}{{{index_format}|{self.zone_name}}}}}>")
