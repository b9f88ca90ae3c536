"""String processors: lowercase, uppercase, trim, html_strip, urldecode, gsub, bytes, fingerprint."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import struct
import urllib.parse
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import FieldName, plain_columns, put_column, string_field
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument

# Java's String.trim strips every char <= U+0020.
_JAVA_WS = "".join(chr(c) for c in range(33))


class _StringProcessor(Processor):
    """Elasticsearch's AbstractStringProcessor: ``field``, ``target_field``, ``ignore_missing``."""
    field: FieldName
    ignore_missing: bool
    target: FieldName

    def transform(self, text: str) -> Any:
        raise NotImplementedError

    # The pyarrow.compute kernel equivalent to ``transform``, when there is one.
    kernel: ClassVar[Any] = None

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = FieldName(opts.string("field", required=True))
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.target = FieldName(opts.string("target_field", p.field.name))
        p.configure(opts)
        return p

    def configure(self, opts: Options) -> None:
        """Read processor-specific options."""

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        string_field(doc, self.field(doc), self.ignore_missing, self.target(doc), self.transform)

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        src, dst = self.field.column(), self.target.column()
        kernel = type(self).kernel
        if kernel is None or src is None or dst is None or not plain_columns(src, dst) \
                or src not in table.column_names:
            return None
        column = table.column(src)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            return None
        if column.null_count and not self.ignore_missing:
            return None
        if column.null_count and dst != src and dst in table.column_names:
            return None  # per document a missing source leaves an existing target untouched
        return put_column(table, dst, kernel(column))


class LowercaseProcessor(_StringProcessor):
    """``lowercase``."""

    type = "lowercase"
    kernel = staticmethod(pc.utf8_lower)

    def transform(self, text: str) -> Any:
        return text.lower()


class UppercaseProcessor(_StringProcessor):
    """``uppercase``."""

    type = "uppercase"
    kernel = staticmethod(pc.utf8_upper)

    def transform(self, text: str) -> Any:
        return text.upper()


class TrimProcessor(_StringProcessor):
    """``trim`` (Java ``String.trim``: strips control characters and spaces)."""

    type = "trim"
    kernel = staticmethod(lambda col: pc.utf8_trim(col, characters=_JAVA_WS))

    def transform(self, text: str) -> Any:
        return text.strip(_JAVA_WS)


# Lucene's HTMLStripCharFilter (which Elasticsearch's html_strip uses): inline elements vanish, every other tag
# (block-level, unknown, <br>) becomes a newline, and so do whole <script>/<style> elements; comments,
# <!DOCTYPE ...> and <?...?> vanish; CDATA keeps its text.
_INLINE = frozenset({
    "a", "b", "i", "q", "s", "u", "abbr", "acronym", "basefont", "bdo", "big", "cite", "code", "dfn", "em", "font",
    "img", "input", "kbd", "label", "samp", "select", "small", "span", "strike", "strong", "sub", "sup", "textarea",
    "tt", "var",
})
_HTML = re.compile(
    r"<(?P<raw>script|style)\b[^>]*>.*?</(?P=raw)\s*>"
    r"|<!\[CDATA\[(?P<cdata>.*?)\]\]>"
    r"|<!--.*?-->|<![A-Za-z][^>]*>|<\?.*?\?>"
    r"|</?(?P<name>[:_A-Za-z][-.:_A-Za-z0-9]*)(?:\s[^<>]*)?/?>",
    re.I | re.S)


def _strip_tag(match: re.Match[str]) -> str:
    if match.group("raw"):
        return "\n"
    if match.group("cdata") is not None:
        return match.group("cdata")
    name = match.group("name")
    if name is None:
        return ""
    return "" if name.lower() in _INLINE else "\n"


class HtmlStripProcessor(_StringProcessor):
    """``html_strip``: Lucene's HTMLStripCharFilter (block tags become newlines, entities decoded)."""

    type = "html_strip"

    def transform(self, text: str) -> Any:
        return html.unescape(_HTML.sub(_strip_tag, text))


class UrlDecodeProcessor(_StringProcessor):
    """``urldecode`` (Java's URLDecoder: ``+`` is a space)."""

    type = "urldecode"

    def transform(self, text: str) -> Any:
        if re.search(r"%(?![0-9A-Fa-f]{2})", text):
            raise illegal_argument("URLDecoder: Illegal hex characters in escape (%) pattern")
        return urllib.parse.unquote_plus(text, errors="strict")


def java_replacement(replacement: str) -> str:
    """Java's ``$1`` / ``${name}`` group references in Python ``re`` syntax."""
    out = re.sub(r"\\(.)", lambda m: "\\\\" if m.group(1) == "\\" else m.group(1), replacement.replace("\\$", "\0"))
    out = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", out)
    out = re.sub(r"\$(\d)", r"\\g<\1>", out)
    return out.replace("\0", "$")


class GsubProcessor(_StringProcessor):
    """``gsub``: regex replace."""

    type = "gsub"
    replacement: str
    pattern: re.Pattern[str]

    def configure(self, opts: Options) -> None:
        pattern = opts.string("pattern", required=True)
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise opts.error("pattern", f"Invalid regex pattern. {exc}") from None
        self.replacement = java_replacement(opts.string("replacement", required=True))

    def transform(self, text: str) -> Any:
        return self.pattern.sub(self.replacement, text)


_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}


class BytesProcessor(_StringProcessor):
    """``bytes``: "1kb" → 1024."""

    type = "bytes"

    def transform(self, text: str) -> Any:
        match = re.fullmatch(r"\s*(-?[0-9.]+)\s*([a-zA-Z]*)\s*", text)
        unit = match.group(2).lower() if match else ""
        if match and (unit in _UNITS or (match.group(1) in ("-1", "0") and not unit)):
            try:
                number = float(match.group(1))
            except ValueError:
                number = None
            if number is not None:
                return int(number * _UNITS.get(unit, 1))
        raise illegal_argument(f"failed to parse setting [Ingest Field] with value [{text}] as a size in bytes: "
                               "unit is missing or unrecognized")


_METHODS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


class FingerprintProcessor(Processor):
    """``fingerprint``: a hash of the listed fields (names and values, fields in sorted order), base64."""

    type = "fingerprint"
    fields: list[str]
    target: str
    salt: str
    method: str
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.fields = sorted(opts.string_list("fields", required=True, allow_string=False) or [])
        if not p.fields:
            raise opts.error("fields", "must specify at least one field")
        p.target = opts.string("target_field", "fingerprint")
        p.salt = opts.string("salt", "")
        method = opts.string("method", "SHA-1")
        if method not in (*_METHODS, "MurmurHash3"):
            raise opts.error("method", f"[{method}] must be one of the supported hash methods "
                                       "[MD5, SHA-1, SHA-256, SHA-512, MurmurHash3]")
        p.method = method
        p.ignore_missing = opts.boolean("ignore_missing", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        if self.method == "MurmurHash3":
            raise illegal_argument("fingerprint method [MurmurHash3] is not supported here; use MD5 or SHA-*")
        digest = hashlib.new(_METHODS[self.method])
        digest.update(self.salt.encode())
        stack: list[Any] = []
        for field in reversed(self.fields):
            value = doc.get(field, None)
            if value is None:
                if self.ignore_missing:
                    continue
                raise illegal_argument(f"missing field [{field}] when calculating fingerprint")
            stack.append(value)
        if not stack:
            return
        # Elasticsearch's traversal: depth first, map entries by key, each leaf preceded by a zero byte.
        while stack:
            value = stack.pop()
            if isinstance(value, list):
                stack.extend(reversed(value))
            elif isinstance(value, dict):
                stack.extend(reversed(sorted(value.items(), key=lambda kv: kv[0])))
            elif isinstance(value, tuple):
                digest.update(b"\0" + _bytes(value[0]))
                stack.append(value[1])
            else:
                digest.update(b"\0" + _bytes(value))
        doc.set(self.target, base64.b64encode(digest.digest()).decode())


def _bytes(value: Any) -> bytes:
    """Elasticsearch's byte encoding of a leaf value (little-endian numbers, 1/2 for booleans)."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"\1" if value else b"\2"
    if isinstance(value, int):
        return value.to_bytes(4 if -(2**31) <= value < 2**31 else 8, "little", signed=True)
    if isinstance(value, float):
        return struct.pack("<d", value)
    return b""


PROCESSORS: list[type[Processor]] = [LowercaseProcessor, UppercaseProcessor, TrimProcessor, HtmlStripProcessor,
                                     UrlDecodeProcessor, GsubProcessor, BytesProcessor, FingerprintProcessor]
