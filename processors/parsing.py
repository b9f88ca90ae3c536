"""Parsing processors: convert, json, csv, kv (date lives in processors.dates)."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import FieldName, plain_columns, put_column, read_string
from ingest.processors.config import Options
from ingest.processors.dates import DateIndexNameProcessor, DateProcessor
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument
from ingest.processors.template import java_string

_INT = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"-?0[xX][0-9a-fA-F]+")
_DOUBLE = re.compile(r"[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)")


def _to_int(value: Any, bits: int, name: str) -> int:
    text = java_string(value)
    try:
        if _HEX.fullmatch(text):
            number = int(text, 16)
        elif _INT.fullmatch(text):
            number = int(text)
        else:
            raise ValueError
        if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            raise ValueError
        return number
    except ValueError:
        raise illegal_argument(f"unable to convert [{text}] to {name}") from None


def _to_float(value: Any, name: str) -> float:
    text = java_string(value).strip()
    if not _DOUBLE.fullmatch(text):
        raise illegal_argument(f"unable to convert [{java_string(value)}] to {name}")
    return float(text.rstrip("fFdD").replace("Infinity", "inf"))


def _to_bool(value: Any) -> bool:
    text = java_string(value)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise illegal_argument(f"[{text}] is not a boolean value, cannot convert to boolean")


def _to_ip(value: Any) -> str:
    text = java_string(value)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise illegal_argument(f"[{text}] is not a valid ip") from None
    return text


def _auto(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for fn in (_to_bool, lambda v: _to_int(v, 32, "integer"), lambda v: _to_int(v, 64, "long"),
               lambda v: _to_float(v, "float")):
        try:
            return fn(value)
        except Exception:
            continue
    return value


CONVERTERS = {
    "integer": lambda v: _to_int(v, 32, "integer"), "long": lambda v: _to_int(v, 64, "long"),
    "double": lambda v: _to_float(v, "double"), "float": lambda v: _to_float(v, "float"),
    "boolean": _to_bool, "ip": _to_ip, "string": java_string, "auto": _auto,
}


class ConvertProcessor(Processor):
    """``convert``: change a field's type (lists are converted element by element)."""

    type = "convert"
    field: FieldName
    target: FieldName
    kind: str
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = FieldName(opts.string("field", required=True))
        p.target = FieldName(opts.string("target_field", p.field.name))
        kind = opts.string("type", required=True)
        if kind not in CONVERTERS:
            raise opts.error("type", f"type [{kind}] not supported, cannot convert field.")
        p.kind = kind
        p.ignore_missing = opts.boolean("ignore_missing", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        field = self.field(doc)
        value = doc.get(field, None) if self.ignore_missing else doc.get(field)
        if value is None:
            if self.ignore_missing:
                return
            raise illegal_argument(f"Field [{field}] is null, cannot be converted to type [{self.kind}]")
        fn = CONVERTERS[self.kind]
        doc.set(self.target(doc), [fn(v) for v in value] if isinstance(value, list) else fn(value))

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        src, dst = self.field.column(), self.target.column()
        if src is None or dst is None or not plain_columns(src, dst) or src not in table.column_names:
            return None
        col = table.column(src)
        if col.null_count and (not self.ignore_missing or (dst != src and dst in table.column_names)):
            return None
        try:
            out = _convert_column(col, self.kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            out = None
        return None if out is None else put_column(table, dst, out)


def _convert_column(col: pa.ChunkedArray, kind: str) -> pa.ChunkedArray | None:
    """The column converted exactly as the per-document path would, or None when unsure."""
    t = col.type
    is_str = pa.types.is_string(t) or pa.types.is_large_string(t)
    if kind in ("integer", "long"):
        if pa.types.is_integer(t):
            return col.cast(pa.int64())
        if is_str and pc.all(pc.match_substring_regex(col, r"^[+-]?\d{1,18}$")).as_py() is not False:
            out = col.cast(pa.int64())
            if (kind == "integer" and len(out) and (pc.max(out).as_py() or 0) >= 2**31) or \
                    (kind == "integer" and len(out) and (pc.min(out).as_py() or 0) < -(2**31)):
                return None
            return out
        return None
    if kind in ("double", "float"):
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            return col.cast(pa.float64())
        if is_str and pc.all(pc.match_substring_regex(col, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")).as_py() \
                is not False:
            return col.cast(pa.float64())
        return None
    if kind == "boolean":
        if pa.types.is_boolean(t):
            return col
        if is_str:
            lower = pc.utf8_lower(col)
            if pc.all(pc.is_in(lower, pa.array(["true", "false"]))).as_py() is not False:
                return pc.equal(lower, "true")
        return None
    if kind == "string":
        if is_str:
            return col
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            return col.cast(pa.string())
    return None


class JsonProcessor(Processor):
    """``json``: parse a JSON string into a field (or into the document root)."""

    type = "json"
    field: str
    target: str
    add_to_root: bool
    strategy: str
    allow_duplicate_keys: bool
    strict: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.target = opts.string("target_field", p.field)
        p.add_to_root = opts.boolean("add_to_root", False)
        p.strategy = opts.string("add_to_root_conflict_strategy", "replace")
        if p.strategy not in ("replace", "merge"):
            raise opts.error("add_to_root_conflict_strategy",
                             f"conflict strategy [{p.strategy}] not supported, cannot convert field.")
        p.allow_duplicate_keys = opts.boolean("allow_duplicate_keys", False)
        p.strict = opts.boolean("strict_json_parsing", True)
        if p.add_to_root and opts.has("target_field") is False and p.target != p.field:
            pass
        return p

    def _parse(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in items]
            if not self.allow_duplicate_keys and len(keys) != len(set(keys)):
                dup = next(k for k in keys if keys.count(k) > 1)
                raise illegal_argument(f"Duplicate field '{dup}'")
            return dict(items)
        try:
            decoder = json.JSONDecoder(object_pairs_hook=pairs)
            value, end = decoder.raw_decode(text.strip())
            if self.strict and end != len(text.strip()):
                raise illegal_argument(f"Unexpected content after JSON value at position {end}")
            return value
        except json.JSONDecodeError as exc:
            raise illegal_argument(f"Unrecognized token or malformed JSON: {exc.msg} (line {exc.lineno}, "
                                   f"column {exc.colno})") from None

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        # A null parses as JSON ``null`` in Elasticsearch. Arrow rows carry a null column value as an absent
        # field, so a field that is null in this row's columns counts as null, not as missing.
        value = self._parse(doc.get(self.field, None) if self.field in doc.null_fields else doc.get(self.field))
        if not self.add_to_root:
            doc.set(self.target, value)
            return
        if not isinstance(value, dict):
            raise illegal_argument("cannot add non-map fields to root of document")
        for key, item in value.items():
            if self.strategy == "merge" and isinstance(item, dict) and isinstance(doc.ctx.get(key), dict):
                _merge(doc.ctx[key], item)
            else:
                doc.ctx[key] = item


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


class CsvProcessor(Processor):
    """``csv``: split one CSV line into ``target_fields``."""

    type = "csv"
    field: str
    targets: list[str]
    separator: str
    quote: str
    trim: bool
    empty_value: object
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.targets = opts.string_list("target_fields", required=True) or []
        if not p.targets:
            raise opts.error("target_fields", "target fields list can't be empty")
        p.separator = opts.string("separator", ",")
        p.quote = opts.string("quote", '"')
        if len(p.separator) != 1:
            raise opts.error("separator", "separator has to be single character like , or ;")
        if len(p.quote) != 1:
            raise opts.error("quote", "quote has to be single character like \" or '")
        p.trim = opts.boolean("trim", False)
        p.empty_value = opts.raw("empty_value")
        p.ignore_missing = opts.boolean("ignore_missing", False)
        return p

    def _split(self, line: str) -> list[str]:
        cells, cell, quoted, i = [], [], False, 0
        in_quotes = False
        while i < len(line):
            ch = line[i]
            if in_quotes:
                if ch == self.quote:
                    if i + 1 < len(line) and line[i + 1] == self.quote:
                        cell.append(ch)
                        i += 1
                    else:
                        in_quotes = False
                else:
                    cell.append(ch)
            elif ch == self.quote and (not "".join(cell).strip() if self.trim else not cell):
                in_quotes = quoted = True
                cell = []
            elif ch == self.separator:
                cells.append(("".join(cell), quoted))
                cell, quoted = [], False
            else:
                if quoted and not (self.trim and ch in " \t"):
                    raise illegal_argument(f"Illegal character after quoted field: {line}")
                cell.append(ch)
            i += 1
        if in_quotes:
            raise illegal_argument(f"Unmatched quote: {line}")
        cells.append(("".join(cell), quoted))
        return [c.strip(" \t") if self.trim and not q else c for c, q in cells]

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        line = read_string(doc, self.field, self.ignore_missing)
        if line is None:
            return
        for target, cell in zip(self.targets, self._split(line), strict=False):
            if cell == "":
                if self.empty_value is not None:
                    doc.set(target, self.empty_value)
            else:
                doc.set(target, cell)


class KvProcessor(Processor):
    """``kv``: ``a=1 b=2`` into fields."""

    type = "kv"
    field: FieldName
    field_split: re.Pattern[str]
    value_split: re.Pattern[str]
    target: FieldName | None
    include: set[str] | None
    exclude: set[str]
    ignore_missing: bool
    prefix: str
    trim_key: str | None
    trim_value: str | None
    strip_brackets: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        # Both names are Mustache templates in Elasticsearch (rendered per document).
        p.field = FieldName(opts.string("field", required=True))
        p.field_split = re.compile(opts.string("field_split", required=True))
        p.value_split = re.compile(opts.string("value_split", required=True))
        target = opts.string("target_field")
        p.target = FieldName(target) if target else None
        include = opts.string_list("include_keys")
        exclude = opts.string_list("exclude_keys")
        p.include = set(include) if include is not None else None
        p.exclude = set(exclude or [])
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.prefix = opts.string("prefix", "")
        trim_key, trim_value = opts.string("trim_key"), opts.string("trim_value")
        p.trim_key = f"^[{re.escape(trim_key)}]+|[{re.escape(trim_key)}]+$" if trim_key else None
        p.trim_value = f"^[{re.escape(trim_value)}]+|[{re.escape(trim_value)}]+$" if trim_value else None
        p.strip_brackets = opts.boolean("strip_brackets", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        field = self.field(doc)
        target = self.target(doc) if self.target else None
        text = read_string(doc, field, self.ignore_missing, "cannot extract key-value pairs.")
        if text is None:
            return
        for pair in self.field_split.split(text):
            parts = self.value_split.split(pair, maxsplit=1)
            if len(parts) != 2:
                raise illegal_argument(f"field [{field}] does not contain value_split [{self.value_split.pattern}]")
            key, value = parts
            if self.trim_key:
                key = re.sub(self.trim_key, "", key)
            if self.trim_value:
                value = re.sub(self.trim_value, "", value)
            if self.strip_brackets:
                value = re.sub(r"^[(<\[]|[)>\]]$", "", value)
                value = value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" else value
            if (self.include is not None and key not in self.include) or key in self.exclude:
                continue
            path = self.prefix + key
            if target:
                path = f"{target}.{path}"
            doc.set(path, value, append=doc.has(path))


PROCESSORS: list[type[Processor]] = [ConvertProcessor, JsonProcessor, CsvProcessor, KvProcessor, DateProcessor,
                                     DateIndexNameProcessor]
