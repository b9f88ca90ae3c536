"""The ``semantic_text`` mapping: its parameters, checked as Elasticsearch checks them, and where such fields
are in an index's properties.

A field maps ``{"type": "semantic_text", "inference_id": ..., "search_inference_id": ...}``; its chunks and
embeddings live in the document's ``_inference_fields.<path>`` (Elasticsearch 9's layout), its text in
``_source`` as given."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.models.errors import ElasticsearchError

DEFAULT_INFERENCE_ID = ".elser-2-elasticsearch"
INFERENCE_FIELDS = "_inference_fields"
PARAMETERS = frozenset({"type", "inference_id", "search_inference_id", "model_settings", "chunking_settings",
                        "index_options", "meta"})


@dataclass(frozen=True)
class SemanticField:
    """One ``semantic_text`` field: its dotted path and the endpoints that embed documents and queries."""

    path: str
    inference_id: str
    search_inference_id: str
    chunking_settings: Mapping[str, Any] | None = None  # the field's own, else the endpoint's
    model_settings: Mapping[str, Any] | None = None  # recorded by the first document embedded (Elasticsearch's)


class EndpointLookup(Protocol):
    """What the mapping check needs of the inference API: does an endpoint exist (``InferenceAPI.endpoint``)."""

    def endpoint(self, inference_id: str) -> Any: ...


def _mapper_parsing(reason: str) -> ElasticsearchError:
    return ElasticsearchError(reason, status=400, error_type="mapper_parsing_exception")


def check_spec(path: str, spec: Mapping[str, Any]) -> None:
    """Refuse unknown or mistyped ``semantic_text`` parameters with Elasticsearch's messages."""
    name = path.rsplit(".", 1)[-1]
    for key in spec:
        if key not in PARAMETERS:
            raise _mapper_parsing(f"unknown parameter [{key}] on mapper [{name}] of type [semantic_text]")
    for key in ("inference_id", "search_inference_id"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key]):
            raise _mapper_parsing(f"Failed to parse mapping: [{key}] on mapper [{name}] of type [semantic_text] "
                                  "must not be empty")
    chunking = spec.get("chunking_settings")
    if chunking is not None and not isinstance(chunking, Mapping):
        raise _mapper_parsing(f"Failed to parse mapping: [chunking_settings] on mapper [{name}] of type "
                              "[semantic_text] must be an object")


def semantic_fields(properties: Mapping[str, Any], prefix: str = "") -> Iterator[SemanticField]:
    """Every ``semantic_text`` field of a ``properties`` tree (inside objects too)."""
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        path = prefix + str(name)
        if spec.get("type") == "semantic_text":
            inference_id = str(spec.get("inference_id") or DEFAULT_INFERENCE_ID)
            chunking, model = spec.get("chunking_settings"), spec.get("model_settings")
            yield SemanticField(path, inference_id, str(spec.get("search_inference_id") or inference_id),
                                chunking if isinstance(chunking, Mapping) else None,
                                model if isinstance(model, Mapping) else None)
        elif isinstance(spec.get("properties"), Mapping):
            yield from semantic_fields(spec["properties"], path + ".")


def check_endpoints(mappings: Any, api: EndpointLookup) -> None:
    """Refuse a mapping whose ``semantic_text`` fields name an endpoint that does not exist (Elasticsearch
    checks at mapping time too: 404 ``resource_not_found_exception`` from the endpoint lookup)."""
    if not isinstance(mappings, Mapping):
        return
    body = mappings.get("_doc") if set(mappings) == {"_doc"} else mappings
    props = body.get("properties") if isinstance(body, Mapping) else None
    if not isinstance(props, Mapping):
        return
    for field in semantic_fields(props):
        for inference_id in dict.fromkeys((field.inference_id, field.search_inference_id)):
            api.endpoint(inference_id)  # raises Elasticsearch's "Inference endpoint not found [id]"


def endpoints_in_use(properties: Mapping[str, Any]) -> set[str]:
    """The endpoints the ``semantic_text`` fields of one index use (for indexing or for search)."""
    return {i for f in semantic_fields(properties) for i in (f.inference_id, f.search_inference_id)}


class MappedIndices(Protocol):
    """The indices of a store and their properties (``EmbeddedStore``)."""

    def indices(self) -> list[str]: ...
    def properties(self, index: str) -> dict[str, dict[str, Any]]: ...


def indexes_using(store: MappedIndices, inference_id: str) -> list[str]:
    """The indices whose ``semantic_text`` fields use ``inference_id`` (refusing its deletion)."""
    return [name for name in store.indices() if inference_id in endpoints_in_use(store.properties(name))]


def record_model_settings(properties: dict[str, Any], entries: Sequence[Mapping[str, Any]]) -> bool:
    """Put the ``model_settings`` of the first embedded documents (their ``_inference_fields``) on the fields
    that have none yet, as Elasticsearch updates the mapping; whether ``properties`` changed."""
    changed = False
    for field in semantic_fields(properties):
        if field.model_settings is not None:
            continue
        for fields in entries:
            entry = fields.get(field.path)
            inference = entry.get("inference") if isinstance(entry, Mapping) else None
            settings = inference.get("model_settings") if isinstance(inference, Mapping) else None
            if isinstance(settings, Mapping):
                node: Any = {"properties": properties}
                for part in field.path.split("."):
                    node = node["properties"][part]
                node["model_settings"] = dict(settings)
                changed = True
                break
    return changed
