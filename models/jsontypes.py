"""The types of JSON values, for the bodies the public API takes and returns (Elasticsearch's request and
response bodies) — so those joins say "JSON" instead of ``Any``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
"""Any JSON value, as ``json.loads`` returns it."""

JsonObject: TypeAlias = "dict[str, JsonValue]"
"""A JSON object: every response body of the inference and trained-model APIs."""

JsonInput: TypeAlias = Mapping[str, object]
"""A request body or settings object handed in by a caller: read, validated and copied, never kept or changed.

``object`` rather than ``JsonValue``: a caller's ``dict[str, int]`` or ``dict[str, Any]`` is accepted as it is;
what is not JSON is reported by validation with Elasticsearch's message, as over HTTP."""
