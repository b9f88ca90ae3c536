"""The ``embedding`` task's inputs: Elasticsearch's content objects (``InferenceString`` / ``InferenceStringGroup``).

An input is a string or ``{"content": {"type", "format"?, "value"}}`` (or ``"content": [...]`` of several items,
which the provider turns into one vector). ``type`` is ``text``, ``image``, ``audio``, ``video`` or ``pdf``;
``format`` is ``text`` (text only, its default) or ``base64`` (the others' only format and default), whose value
must be a data URI ``data:{MIME-type};base64,...``. Parsing follows Elasticsearch's ``EmbeddingRequest`` parser and
answers with its messages; which services take which types is decided by :func:`check_support`.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.models.errors import IllegalArgumentException, StatusException
from ingest.models.jsonparse import well_formed

DATA_TYPES = ("text", "image", "audio", "video", "pdf")
DATA_FORMATS = ("text", "base64")
_SUPPORTED = {"text": ("text",)} | {t: ("base64",) for t in DATA_TYPES[1:]}
_DATA_URI = re.compile(r"data:[^/]+/[^,]+;base64,")
_MAX_URI_PREFIX = 256  # as Elasticsearch: bounds the prefix check whatever the size of the data


@dataclass(frozen=True)
class Content:
    """One item of a content object: its data type, format and value (text, or a base64 data URI)."""

    type: str
    format: str
    value: str

    @property
    def is_text(self) -> bool:
        """Whether this item is text."""
        return self.type == "text"

    def to_dict(self) -> dict[str, str]:
        """The item as Elasticsearch writes it back: ``{"type", "format", "value"}``."""
        return {"type": self.type, "format": self.format, "value": self.value}


ContentGroup = tuple[Content, ...]  # one input: its items together make one vector
InputItem = str | Mapping[str, object]  # a text, or ``{"content": ...}``
EmbeddingInputs = InputItem | Sequence[InputItem]  # ``input`` of a request: one item or a list of them


def _item(raw: object) -> Content:
    if not isinstance(raw, Mapping):
        raise IllegalArgumentException("[content] items must be objects with [type], [format] and [value]")
    unknown = sorted(set(raw) - {"type", "format", "value"})
    if unknown:
        raise IllegalArgumentException(f"[InferenceString] unknown field [{unknown[0]}]")
    missing = [k for k in ("type", "value") if not isinstance(raw.get(k), str)]
    if missing:
        raise IllegalArgumentException(f"Required [{', '.join(missing)}]")
    kind = str(raw["type"]).strip().lower()
    if kind not in DATA_TYPES:
        raise IllegalArgumentException(f"Unrecognized type [{raw['type']}], must be one of [{', '.join(DATA_TYPES)}]")
    given = raw.get("format")
    if given is not None and not isinstance(given, str):
        raise IllegalArgumentException("[format] must be a string")
    fmt = _SUPPORTED[kind][0] if given is None else given.strip().lower()
    if fmt not in DATA_FORMATS:
        raise IllegalArgumentException(f"Unrecognized format [{given}], must be one of [{', '.join(DATA_FORMATS)}]")
    if fmt not in _SUPPORTED[kind]:
        raise IllegalArgumentException(f"Data type [{kind}] does not support data format [{fmt}], supported formats "
                                       f"are [{', '.join(_SUPPORTED[kind])}]")
    value = str(raw["value"])
    if fmt == "base64":
        comma = value.find(",")
        if comma < 0 or comma >= _MAX_URI_PREFIX or not _DATA_URI.fullmatch(value[: comma + 1]):
            raise IllegalArgumentException(
                "base64 inputs must be specified as data URIs with the format [data:{MIME-type};base64,...]")
    else:
        value = well_formed(value)  # lone surrogates cannot be sent as UTF-8: U+FFFD, as plain inputs
    return Content(kind, fmt, value)


def _group(raw: object) -> ContentGroup:
    if isinstance(raw, str):
        return (Content("text", "text", well_formed(raw)),)
    if not isinstance(raw, Mapping):
        raise IllegalArgumentException("Field [input] must be a string, a content object or an array of them")
    unknown = sorted(set(raw) - {"content"})
    if unknown:
        raise IllegalArgumentException(f"[InferenceStringGroup] unknown field [{unknown[0]}]")
    if "content" not in raw or raw["content"] is None:
        raise IllegalArgumentException("[content] field cannot be null")
    items = raw["content"] if isinstance(raw["content"], list) else [raw["content"]]
    if not items:
        raise IllegalArgumentException("[content] field cannot be an empty array")
    return tuple(_item(item) for item in items)


def parse_inputs(value: object) -> list[ContentGroup]:
    """``input`` of an ``embedding`` request → one group per input, with Elasticsearch's 400s for a bad shape,
    an unknown type or format, or base64 that is not a data URI."""
    raws = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    return [_group(raw) for raw in raws]


def plain_texts(groups: Sequence[ContentGroup]) -> list[str] | None:
    """The texts when every input is one text item (any service can embed them), else None."""
    if all(len(g) == 1 and g[0].is_text for g in groups):
        return [g[0].value for g in groups]
    return None


def text_of(group: ContentGroup) -> str:
    """The group's text items joined (what batching estimates tokens from; media count as nothing)."""
    return " ".join(c.value for c in group if c.is_text)


def check_support(service: str, groups: Sequence[ContentGroup], types: frozenset[str], multi_item: bool) -> None:
    """Refuse what ``service`` cannot embed, with Elasticsearch's messages: non-text items where it takes text
    only, and (unless it combines several items into one vector) content objects of more than one item."""
    kinds = {c.type for g in groups for c in g}
    if kinds - {"text"} and types == frozenset({"text"}):
        raise StatusException(f"The {service} service does not support embedding with non-text inputs")
    unsupported = sorted(kinds - types)
    if unsupported:
        raise StatusException(f"The {service} service does not support embedding with [{', '.join(unsupported)}] "
                              f"inputs; it takes [{', '.join(sorted(types))}]")
    if not multi_item:
        for i, group in enumerate(groups):
            if len(group) > 1:
                raise StatusException(
                    f"Field [content] must contain a single item for [{service}] service. [content] object with "
                    f"multiple items found at $.input.content[{i}]")


def data_uri(path: Path) -> str:
    """A file as a ``data:{MIME-type};base64,...`` URI (the MIME type guessed from its name)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
