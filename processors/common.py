"""Helpers shared by the field processors: templated field names and the string-processor pattern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from ingest.processors.document import METADATA_KEYS, IngestDocument, java_type
from ingest.processors.errors import illegal_argument
from ingest.processors.template import Template


class FieldName:
    """A field option; Elasticsearch lets field names be Mustache templates."""

    def __init__(self, name: str) -> None:
        self.template = Template(name)
        self.name = name

    def __call__(self, doc: IngestDocument) -> str:
        return self.template.render(doc)

    def column(self) -> str | None:
        """The Arrow column this field is, when it is a plain top-level name (the columnar paths need one)."""
        if not self.template.is_static or "." in self.name or self.name.startswith("_ingest"):
            return None
        return self.name


def present(table: pa.Table, column: str | None) -> bool:
    """Whether ``column`` exists and has no nulls (a null is how a document without the field looks in Arrow)."""
    return column is not None and column in table.column_names and table.column(column).null_count == 0


def put_column(table: pa.Table, name: str, values: pa.ChunkedArray | pa.Array) -> pa.Table:
    """Replace or append a column."""
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def plain_columns(*names: str | None) -> bool:
    """All names are plain columns (not metadata, which the per-document path handles)."""
    return all(n is not None and n not in METADATA_KEYS for n in names)


def read_string(doc: IngestDocument, field: str, ignore_missing: bool,
                null_reason: str = "cannot process it.") -> str | None:
    """The string at ``field``; None when it is missing or null and ``ignore_missing`` is set.

    Raises Elasticsearch's messages for a null (without ``ignore_missing``) or non-string value.
    """
    value = doc.get(field, None) if ignore_missing else doc.get(field)
    if value is None:
        if ignore_missing:
            return None
        raise illegal_argument(f"field [{field}] is null, {null_reason}")
    if not isinstance(value, str):
        raise illegal_argument(f"field [{field}] of type [{java_type(value)}] cannot be cast to [java.lang.String]")
    return value


def string_field(doc: IngestDocument, field: str, ignore_missing: bool, target: str,
                 fn: Callable[[str], Any]) -> None:
    """Elasticsearch's AbstractStringProcessor: a string or a list of strings, transformed into ``target``."""
    value = doc.get(field, None) if ignore_missing else doc.get(field)
    if value is None:
        if ignore_missing:
            return
        raise illegal_argument(f"field [{field}] is null, cannot process it.")
    if isinstance(value, list):
        out = []
        for item in value:
            if not isinstance(item, str):
                raise illegal_argument(f"value [{item}] of type [{java_type(item)}] in list field [{field}] "
                                       "cannot be cast to [java.lang.String]")
            out.append(fn(item))
        doc.set(target, out)
        return
    if not isinstance(value, str):
        raise illegal_argument(f"field [{field}] of type [{java_type(value)}] cannot be cast to [java.lang.String]")
    doc.set(target, fn(value))


def optional_module(module: str, processor: str, distribution: str) -> Any:
    """Import a module a processor's data comes from, or a configuration error naming the missing package."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        from ingest.processors.errors import config_error

        raise config_error(processor, None, None,
                           f"processor [{processor}] needs the Python package [{distribution}], which is not "
                           "installed: pip install 'ingest[processors]'") from None


def field_value(doc: IngestDocument, field: str, ignore_missing: bool, kind: type = str) -> Any:
    """``IngestDocument.getFieldValue(field, kind, ignoreMissing)``: None when missing (if ignored) or null."""
    value = doc.get(field, None) if ignore_missing else doc.get(field)
    if value is not None and not isinstance(value, kind):
        names: dict[type, str] = {str: "java.lang.String", list: "java.util.List"}
        target = names.get(kind, kind.__name__)
        raise illegal_argument(f"field [{field}] of type [{java_type(value)}] cannot be cast to [{target}]")
    return value
