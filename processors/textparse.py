"""The ``dissect`` processor (grok lives in processors.grok)."""

from __future__ import annotations

import re

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import read_string
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument

_DISSECT_KEY = re.compile(r"%\{([^}]*)\}")


class DissectProcessor(Processor):
    """``dissect``: split a string by the literal delimiters between ``%{keys}``."""

    type = "dissect"
    field: str
    pattern: str
    append_separator: str
    ignore_missing: bool
    keys: list[tuple[str, str, int, bool]]
    delims: list[str]
    prefix: str

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.pattern = opts.string("pattern", required=True)
        p.append_separator = opts.string("append_separator", "")
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.keys, p.delims = [], []
        pieces = _DISSECT_KEY.split(p.pattern)
        p.prefix = pieces[0]
        for i in range(1, len(pieces), 2):
            p.keys.append(_dissect_key(pieces[i]))
            p.delims.append(pieces[i + 1])
        if not p.keys:
            raise opts.error("pattern", f"Unable to find any keys or delimiters for the dissect pattern: {p.pattern}")
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = read_string(doc, self.field, self.ignore_missing)
        if value is None:
            return
        fail = illegal_argument(f"Unable to find match for dissect pattern: {self.pattern} against source: {value}")
        if not value.startswith(self.prefix):
            raise fail
        pos = len(self.prefix)
        captured: list[tuple[tuple[str, str, int, bool], str]] = []
        for key, delim in zip(self.keys, self.delims, strict=True):
            if delim == "":
                end = len(value) if key is self.keys[-1] else pos
            else:
                end = value.find(delim, pos)
                if end < 0:
                    raise fail
            captured.append((key, value[pos:end]))
            pos = end + len(delim)
            if key[3] and delim:  # right padding: skip repeated delimiters
                while value.startswith(delim, pos):
                    pos += len(delim)
        if self.delims[-1] and pos != len(value):
            raise fail
        appended: dict[str, list[tuple[int, str]]] = {}
        refs: dict[str, str] = {}
        values: dict[str, str] = {}
        for (name, mod, order, _), text in captured:
            if mod == "skip" or not name:
                continue
            if mod == "append":
                appended.setdefault(name, []).append((order, text))
            elif mod == "refkey":
                refs[name] = text
            elif mod == "refval":
                values[name] = text
            else:
                doc.set(name, text)
        for name, parts in appended.items():
            doc.set(name, self.append_separator.join(t for _, t in sorted(parts, key=lambda x: x[0])))
        for name, ref_key in refs.items():
            if name in values:
                doc.set(ref_key, values[name])


def _dissect_key(raw: str) -> tuple[str, str, int, bool]:
    pad = raw.endswith("->")
    raw = raw[:-2] if pad else raw
    mod = "plain"
    if raw.startswith("+"):
        mod, raw = "append", raw[1:]
    elif raw.startswith("?"):
        mod, raw = "skip", raw[1:]
    elif raw.startswith("*"):
        mod, raw = "refkey", raw[1:]
    elif raw.startswith("&"):
        mod, raw = "refval", raw[1:]
    order = 0
    if "/" in raw:
        raw, _, num = raw.partition("/")
        order = int(num) if num.isdigit() else 0
    return raw, mod, order, pad


PROCESSORS: list[type[Processor]] = [DissectProcessor]
