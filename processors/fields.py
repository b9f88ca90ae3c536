"""Field processors: set, remove, rename, append, dot_expander, sort, join, split."""

from __future__ import annotations

import copy
import re
from typing import Any

import pyarrow as pa

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import FieldName, plain_columns, present, put_column, string_field
from ingest.processors.config import Options
from ingest.processors.document import METADATA_KEYS, IngestDocument, java_type
from ingest.processors.errors import illegal_argument
from ingest.processors.template import ValueSource, java_string


def _value_or_copy(opts: Options) -> tuple[ValueSource | None, str | None]:
    if opts.has("copy_from") and opts.has("value"):
        raise opts.error("copy_from", "cannot set both `copy_from` and `value` in the same processor")
    copy_from = opts.string("copy_from")
    if copy_from is not None:
        return None, copy_from
    return ValueSource(opts.raw("value", required=True)), None


def _resolve(value: ValueSource | None, copy_from: str | None, doc: IngestDocument) -> Any:
    """What ``set`` / ``append`` write: a copy of the ``copy_from`` field, or the ``value`` option resolved
    (``_value_or_copy`` gives exactly one of the two)."""
    if copy_from is not None:
        return copy.deepcopy(doc.get(copy_from))
    if value is None:
        raise illegal_argument("[value] required property is missing")
    return value.resolve(doc)


def _media_type(opts: Options) -> None:
    media = opts.string("media_type", "application/json")
    if media not in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        raise opts.error("media_type", f"property does not contain a supported media type [{media}]")


class SetProcessor(Processor):
    """``set``: a value (templated) or a copy of another field."""

    type = "set"
    field: FieldName
    value: ValueSource | None
    copy_from: str | None
    override: bool
    ignore_empty_value: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = FieldName(opts.string("field", required=True))
        p.value, p.copy_from = _value_or_copy(opts)
        p.override = opts.boolean("override", True)
        p.ignore_empty_value = opts.boolean("ignore_empty_value", False)
        _media_type(opts)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        field = self.field(doc)
        if not self.override and doc.get(field, None) is not None:
            return
        value = _resolve(self.value, self.copy_from, doc)
        if self.ignore_empty_value and (value is None or value == ""):
            return
        doc.set(field, value)

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        col = self.field.column()
        if col is None or not plain_columns(col) or self.copy_from or not self.value or not self.value.is_static:
            return None
        value = self.value.value
        if value is None or isinstance(value, (dict, list)) or (self.ignore_empty_value and value == ""):
            return None
        if not self.override and col in table.column_names and table.column(col).null_count < table.num_rows:
            return None
        return put_column(table, col, pa.array([value] * table.num_rows))


class RemoveProcessor(Processor):
    """``remove``: fields (templated), or everything but ``keep``."""

    type = "remove"
    keep: list[str] | None
    fields: list[FieldName]
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        fields = opts.string_list("field")
        p.keep = opts.string_list("keep")
        if fields is None and p.keep is None:
            raise opts.error("keep", "[keep] or [field] must be specified")
        if fields is not None and p.keep is not None:
            raise opts.error("keep", "[keep] and [field] cannot both be used in the same processor")
        p.fields = [FieldName(f) for f in fields or []]
        p.ignore_missing = opts.boolean("ignore_missing", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        if self.keep is not None:
            keep = {FieldName(name)(doc) for name in self.keep}  # templates, as Elasticsearch compiles them
            for key in list(doc.ctx):
                if key not in METADATA_KEYS and key not in keep:
                    del doc.ctx[key]
            return
        for name in self.fields:
            field = name(doc)
            if self.ignore_missing and not doc.has(field):
                continue
            if field in ("_index", "_version", "_version_type"):
                raise illegal_argument(f"cannot remove metadata [{field}]")
            doc.remove(field)

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        if self.keep is not None:
            return None
        cols = [f.column() for f in self.fields]
        if not plain_columns(*cols):
            return None
        for col in cols:
            if col not in table.column_names:
                if not self.ignore_missing:
                    return None
            elif not self.ignore_missing and table.column(col).null_count:
                return None
        return table.drop_columns([c for c in dict.fromkeys(cols) if c in table.column_names])


class RenameProcessor(Processor):
    """``rename``: move a field."""

    type = "rename"
    field: FieldName
    target: FieldName
    ignore_missing: bool
    override: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = FieldName(opts.string("field", required=True))
        p.target = FieldName(opts.string("target_field", required=True))
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.override = opts.boolean("override", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        field, target = self.field(doc), self.target(doc)
        if not doc.has(field):
            if self.ignore_missing:
                return
            raise illegal_argument(f"field [{field}] doesn't exist")
        if doc.has(target) and not self.override:
            raise illegal_argument(f"field [{target}] already exists")
        value = doc.get(field)
        doc.remove(field)
        try:
            doc.set(target, value)
        except Exception:
            doc.set(field, value)
            raise

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        src, dst = self.field.column(), self.target.column()
        if not plain_columns(src, dst) or src == dst or dst in table.column_names:
            return None
        if not present(table, src) and not (self.ignore_missing and src in table.column_names):
            return None
        names = [dst if n == src else n for n in table.column_names]
        return table.rename_columns(names)


class AppendProcessor(Processor):
    """``append``: add values to a field, making it a list."""

    type = "append"
    field: FieldName
    value: ValueSource | None
    copy_from: str | None
    allow_duplicates: bool
    ignore_empty_values: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = FieldName(opts.string("field", required=True))
        p.value, p.copy_from = _value_or_copy(opts)
        p.allow_duplicates = opts.boolean("allow_duplicates", True)
        p.ignore_empty_values = opts.boolean("ignore_empty_values", False)
        _media_type(opts)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = _resolve(self.value, self.copy_from, doc)
        if self.ignore_empty_values:
            if isinstance(value, list):
                value = [v for v in value if v is not None and v != ""]
            elif value is None or value == "":
                return
        doc.set(self.field(doc), value, append=True, allow_duplicates=self.allow_duplicates)


class DotExpanderProcessor(Processor):
    """``dot_expander``: turn ``{"a.b": 1}`` into ``{"a": {"b": 1}}``."""

    type = "dot_expander"
    field: str
    path: str | None
    override: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        if p.field != "*" and ("." not in p.field or p.field.startswith(".") or p.field.endswith(".")):
            raise opts.error("field", "field does not contain a dot and is not a wildcard")
        p.path = opts.string("path")
        p.override = opts.boolean("override", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        holder = doc.get(self.path) if self.path else doc.ctx
        if not isinstance(holder, dict):
            return
        names = [k for k in holder if "." in k] if self.field == "*" else [self.field]
        for name in names:
            if name not in holder:
                continue
            value = holder.pop(name)
            node = holder
            parts = name.split(".")
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    if child is not None:
                        raise illegal_argument(f"cannot expand [{name}], because [{part}] is not an object field")
                    child = node[part] = {}
                node = child
            last = parts[-1]
            if last in node and not self.override:
                existing = node[last]
                node[last] = (existing if isinstance(existing, list) else [existing]) + (
                    value if isinstance(value, list) else [value])
            else:
                node[last] = value


def _list_field(doc: IngestDocument, field: str) -> list[Any]:
    value = doc.get(field)
    if not isinstance(value, list):
        raise illegal_argument(f"field [{field}] of type [{java_type(value)}] cannot be cast to [java.util.List]")
    return value


class SortProcessor(Processor):
    """``sort``: sort a list field."""

    type = "sort"
    field: str
    desc: bool
    target: str

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        order = opts.string("order", "asc")
        if order not in ("asc", "desc"):
            raise opts.error("order", f"Sort direction [{order}] not recognized. Valid values are: [asc, desc]")
        p.desc = order == "desc"
        p.target = opts.string("target_field", p.field)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        values = _list_field(doc, self.field)
        try:
            doc.set(self.target, sorted(values, reverse=self.desc))
        except TypeError:
            raise illegal_argument(f"field [{self.field}] contains values that cannot be compared") from None


class JoinProcessor(Processor):
    """``join``: join a list with a separator."""

    type = "join"
    field: str
    separator: str
    target: str

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.separator = opts.string("separator", required=True)
        p.target = opts.string("target_field", p.field)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        values = _list_field(doc, self.field)
        doc.set(self.target, self.separator.join(java_string(v) if v is not None else "null" for v in values))


class SplitProcessor(Processor):
    """``split``: split a string on a regex separator (Java's ``String.split`` semantics)."""

    type = "split"
    field: str
    target: str
    ignore_missing: bool
    preserve_trailing: bool
    separator: re.Pattern[str]

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        sep = opts.string("separator", required=True)
        try:
            p.separator = re.compile(sep)
        except re.error as exc:
            raise opts.error("separator", f"Invalid regex [{sep}]: {exc}") from None
        p.target = opts.string("target_field", p.field)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.preserve_trailing = opts.boolean("preserve_trailing", False)
        return p

    def _split(self, text: str) -> list[str]:
        parts = self.separator.split(text) if text else [""]
        if parts and parts[0] == "" and len(text) > 0 and (first := self.separator.match(text)) is not None and \
                first.end() == 0:
            parts = parts[1:]  # Java drops the leading empty string of a zero-width first match
        if not self.preserve_trailing:
            while len(parts) > 1 and parts[-1] == "":
                parts.pop()
            if parts == [""] and text:
                parts = []
        return parts

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        string_field(doc, self.field, self.ignore_missing, self.target, self._split)


PROCESSORS: list[type[Processor]] = [SetProcessor, RemoveProcessor, RenameProcessor, AppendProcessor,
                                     DotExpanderProcessor, SortProcessor, JoinProcessor, SplitProcessor]
