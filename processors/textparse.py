"""Pattern processors: grok (Elasticsearch's pattern library) and dissect."""

from __future__ import annotations

import re
from typing import Any

from processors.base import ExecEnv, Factory, Processor
from processors.common import read_string
from processors.config import Options
from processors.document import IngestDocument
from processors.errors import illegal_argument
from processors.grok_patterns import GROK_PATTERNS

_REF = re.compile(r"%\{(\w+)(?::([\w@.\[\]-]+))?(?::(int|long|float|double|boolean|string))?\}")
_INLINE = re.compile(r"\(\?<([A-Za-z_][\w@.\[\]-]*)>")


def _field_name(name: str) -> str:
    """ECS-style ``[a][b]`` names become ``a.b``."""
    return ".".join(re.findall(r"\[([^\]]+)\]", name)) if name.startswith("[") else name


class GrokCompiler:
    """Expands grok references into one Python regex with numbered groups mapped to fields and types."""
    definitions: Any

    def __init__(self, definitions: dict[str, str]) -> None:
        self.definitions = definitions
        self.groups: list[tuple[str, str | None]] = []

    def compile(self, pattern: str) -> re.Pattern[str]:
        """The compiled regex for one grok expression."""
        return re.compile(self._expand(pattern, []))

    def _expand(self, pattern: str, stack: list[str]) -> str:
        def ref(match: re.Match[str]) -> str:
            name, field, kind = match.group(1), match.group(2), match.group(3)
            if name not in self.definitions:
                raise ValueError(f"Unable to find pattern [{name}] in Grok's pattern dictionary")
            if name in stack:
                chain = "->".join([*stack[stack.index(name):], name])
                raise ValueError(f"circular reference in pattern [{name}][{chain}]")
            body = self._expand(self.definitions[name], [*stack, name])
            if field is None:
                return f"(?:{body})"
            self.groups.append((_field_name(field), kind))
            return f"(?P<g{len(self.groups) - 1}>{body})"

        def inline(match: re.Match[str]) -> str:
            self.groups.append((_field_name(match.group(1)), None))
            return f"(?P<g{len(self.groups) - 1}>"

        return _REF.sub(ref, _INLINE.sub(inline, pattern))


def _convert(value: str, kind: str | None) -> Any:
    try:
        if kind in ("int", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return value.lower() == "true"
    return value


class GrokProcessor(Processor):
    """``grok``: the first matching pattern's named captures become fields."""

    type = "grok"
    field: Any
    trace_match: Any
    ignore_missing: Any
    compiled: Any

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        patterns = opts.string_list("patterns", required=True, allow_string=False) or []
        if not patterns:
            raise opts.error("patterns", "List of patterns must not be empty")
        custom = opts.mapping("pattern_definitions") or {}
        p.trace_match = opts.boolean("trace_match", False)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        ecs = opts.string("ecs_compatibility", "disabled")
        if ecs not in ("disabled", "v1"):
            raise opts.error("ecs_compatibility", f"unsupported ecs_compatibility value [{ecs}]")
        p.compiled = []
        for pattern in patterns:
            compiler = GrokCompiler({**GROK_PATTERNS, **custom})
            try:
                p.compiled.append((compiler.compile(pattern), compiler.groups))
            except (ValueError, re.error) as exc:
                raise opts.error("patterns", f"Invalid regex pattern found in: {patterns}. {exc}") from None
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = read_string(doc, self.field, self.ignore_missing)
        if value is None:
            return
        for index, (regex, groups) in enumerate(self.compiled):
            match = regex.search(value)
            if match is None:
                continue
            seen: set[str] = set()
            for number, (field, kind) in enumerate(groups):
                captured = match.group(f"g{number}")
                if captured is None or field in seen:
                    continue
                seen.add(field)
                doc.set(field, _convert(captured, kind))
            if self.trace_match:
                doc.ingest["_grok_match_index"] = str(index)
            return
        raise illegal_argument(f"Provided Grok expressions do not match field value: [{value}]")


_DISSECT_KEY = re.compile(r"%\{([^}]*)\}")


class DissectProcessor(Processor):
    """``dissect``: split a string by the literal delimiters between ``%{keys}``."""

    type = "dissect"
    field: Any
    pattern: Any
    append_separator: Any
    ignore_missing: Any
    keys: Any
    delims: Any
    prefix: Any

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
        for name, key in refs.items():
            if name in values:
                doc.set(key, values[name])


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


PROCESSORS: list[type[Processor]] = [GrokProcessor, DissectProcessor]
