"""Index settings as Elasticsearch keeps them: flat ``index.``-prefixed keys with string values, shown nested."""

from __future__ import annotations

from typing import Any

from ingest.models.errors import IllegalArgumentException

# settings that cannot change on an open index (Elasticsearch: "non dynamic")
STATIC = frozenset({"index.number_of_shards", "index.codec", "index.routing_partition_size", "index.mode",
                    "index.sort.field", "index.sort.order", "index.uuid", "index.creation_date",
                    "index.provided_name", "index.version.created"})
# kept by the catalogue, never set by a request
INTERNAL = frozenset({"index.uuid", "index.creation_date", "index.provided_name", "index.version.created"})


def flatten_keys(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys, values as they are (``{"index": {"a": 1}}`` → ``{"index.a": 1}``)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flatten_keys(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def flat(settings: Any) -> dict[str, Any]:
    """Flattened, ``index.``-prefixed, scalars as strings (None kept: it resets a setting)."""
    if not isinstance(settings, dict):
        raise IllegalArgumentException("Malformed [settings] section, expected an object")
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
            return
        key = prefix if prefix.startswith("index.") else f"index.{prefix}"
        out[key] = _string(value)

    walk("", settings)
    return out


def _string(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_string(v) for v in value]
    return str(value)


def nested(settings: dict[str, Any]) -> dict[str, Any]:
    """Flat keys back into objects, as ``GET /{index}/_settings`` shows them (``flat_settings=false``)."""
    out: dict[str, Any] = {}
    for key, value in sorted(settings.items()):
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # "a" and "a.b" both set: keep the scalar under its full key
                node = out
                leaf = key
                break
            node = child
        node[leaf] = value
    return out


def check_counts(settings: dict[str, Any]) -> None:
    """``number_of_shards`` ≥ 1 and ``number_of_replicas`` ≥ 0, with Elasticsearch's messages."""
    for key, low in (("index.number_of_shards", 1), ("index.number_of_replicas", 0)):
        raw = settings.get(key)
        if raw is None:
            continue
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise IllegalArgumentException(f"Failed to parse value [{raw}] for setting [{key}]") from None
        if number < low:
            raise IllegalArgumentException(f"Failed to parse value [{raw}] for setting [{key}] must be >= {low}")
