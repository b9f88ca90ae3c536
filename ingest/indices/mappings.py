"""Explicit mappings (``PUT /{index}`` ``mappings``, ``PUT /{index}/_mapping``) for the embedded store: checked,
merged with what the index maps already (Elasticsearch's merge rules: new fields added, a field's type never
changed), and rendered for ``GET /{index}/_mapping`` together with the dynamic mapping and the vector columns."""

from __future__ import annotations

import copy
from typing import Any

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.semantic.fields import DEFAULT_INFERENCE_ID, check_spec
from ingest.sinks.base import FieldHint

Properties = dict[str, dict[str, Any]]
FIELD_TYPES = frozenset({
    "text", "keyword", "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
    "boolean", "date", "object", "nested", "dense_vector", "sparse_vector", "semantic_text", "flattened",
    "wildcard", "match_only_text", "ip", "geo_point", "binary", "knn_vector", "rank_features",
})
DYNAMIC = ("true", "false", "strict", "runtime")
# root keys kept and reported as given (the store only acts on ``dynamic``)
ROOT_OPTIONS = ("dynamic", "_meta", "date_detection", "numeric_detection", "dynamic_date_formats",
                "dynamic_templates", "_source", "_routing")


def mapper_parsing(reason: str) -> ElasticsearchError:
    """Elasticsearch's ``mapper_parsing_exception`` (400)."""
    return ElasticsearchError(reason, status=400, error_type="mapper_parsing_exception")


def parse(mappings: Any) -> tuple[Properties, dict[str, Any], dict[str, FieldHint]]:
    """A ``mappings`` body → (properties, root options, vector hints). Raises ``mapper_parsing_exception``."""
    if not isinstance(mappings, dict):
        raise mapper_parsing("Failed to parse mapping: Expected map for property [mappings] but got a "
                             f"{type(mappings).__name__}")
    body = dict(mappings)
    if set(body) == {"_doc"} and isinstance(body["_doc"], dict):  # the typed form some clients still send
        body = dict(body["_doc"])
    unknown = sorted(k for k in body if k not in ROOT_OPTIONS and k != "properties")
    if unknown:
        raise mapper_parsing(f"Root mapping definition has unsupported parameters:  [{unknown[0]} : "
                             f"{body[unknown[0]]}]")
    options = {k: body[k] for k in ROOT_OPTIONS if k in body}
    if "dynamic" in options:
        options["dynamic"] = _dynamic(options["dynamic"])
    hints: dict[str, FieldHint] = {}
    props = _properties(body.get("properties") or {}, "", hints)
    return props, options, hints


def _dynamic(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text not in DYNAMIC:
        raise mapper_parsing(f"Could not convert [dynamic] to boolean: [{value}]")
    return text


def _properties(raw: Any, prefix: str, hints: dict[str, FieldHint]) -> Properties:
    if not isinstance(raw, dict):
        raise mapper_parsing(f"Expected map for property [properties] on field [{prefix[:-1] or '_doc'}]")
    out: Properties = {}
    for name, spec in raw.items():
        path = prefix + str(name)
        if not isinstance(spec, dict):
            raise mapper_parsing(f"Expected map for property [fields] on field [{path}] but got a "
                                 f"{type(spec).__name__}")
        spec = copy.deepcopy(spec)
        kind = spec.get("type", "object" if "properties" in spec or not spec else None)
        if kind is None:
            raise mapper_parsing(f"No type specified for field [{path}]")
        if kind not in FIELD_TYPES:
            raise mapper_parsing(f"No handler for type [{kind}] declared on field [{name}]")
        spec["type"] = kind
        if "dynamic" in spec:
            spec["dynamic"] = _dynamic(spec["dynamic"])
        if kind in ("object", "nested"):
            spec["properties"] = _properties(spec.get("properties") or {}, path + ".", hints)
        elif kind in ("dense_vector", "knn_vector") and spec.get("dims", spec.get("dimension")) is not None:
            dims = spec.get("dims", spec.get("dimension"))
            if not isinstance(dims, int) or isinstance(dims, bool):
                raise mapper_parsing(f"Failed to parse mapping: [dims] must be an integer on field [{path}]")
            hints[path] = FieldHint("dense", dims, spec.get("similarity", "cosine"))
        elif kind == "semantic_text":
            check_spec(path, spec)
            spec.setdefault("inference_id", DEFAULT_INFERENCE_ID)  # always shown, as Elasticsearch serialises it
        elif kind in ("sparse_vector", "rank_features"):
            hints[path] = FieldHint("sparse")
        out[str(name)] = spec
    return out


def merge(current: Properties, new: Properties, prefix: str = "") -> Properties:
    """``new`` merged into a copy of ``current``: fields added, objects merged, a changed type refused with
    Elasticsearch's ``mapper [f] cannot be changed from type [a] to [b]``."""
    out = copy.deepcopy(current)
    for name, spec in new.items():
        path = prefix + name
        old = out.get(name)
        if old is None:
            out[name] = copy.deepcopy(spec)
            continue
        if old.get("type") != spec.get("type"):
            raise IllegalArgumentException(
                f"mapper [{path}] cannot be changed from type [{old.get('type')}] to [{spec.get('type')}]")
        if spec.get("type") in ("object", "nested"):
            merged = merge(old.get("properties") or {}, spec.get("properties") or {}, path + ".")
            out[name] = {**old, **{k: v for k, v in spec.items() if k != "properties"}, "properties": merged}
        else:
            out[name] = {**old, **spec}
    return out


def render(properties: Properties, options: dict[str, Any], layout: dict[str, FieldHint]) -> dict[str, Any]:
    """The ``mappings`` object of ``GET /{index}/_mapping``: root options, then the properties, with each
    vector column shown at its path as Elasticsearch maps it."""
    props = copy.deepcopy(properties)
    for path, hint in layout.items():
        node = props
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}}).setdefault("properties", {})
        if hint.kind == "dense":
            node[leaf] = {"type": "dense_vector", "dims": hint.dims, "index": True,
                          "similarity": hint.similarity or "cosine"}
        else:
            node[leaf] = {"type": "sparse_vector"}
    out = {k: v for k, v in options.items()}
    if props:
        out["properties"] = _without_default_object_type(props)
    return out


def _without_default_object_type(props: Properties) -> Properties:
    """Elasticsearch omits ``"type": "object"`` on objects that have properties."""
    out: Properties = {}
    for name, spec in sorted(props.items()):
        spec = dict(spec)
        if "properties" in spec:
            spec["properties"] = _without_default_object_type(spec["properties"])
            if spec.get("type") == "object":
                spec.pop("type")
        out[name] = spec
    return out
