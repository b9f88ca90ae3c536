"""Processors for logs streams and failure stores: ``normalize_for_stream`` (ingest-otel) and
``recover_failure_document`` (ingest-common)."""

from __future__ import annotations

import copy
import json
from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.config import Options
from ingest.processors.document import METADATA_KEYS, IngestDocument
from ingest.processors.errors import illegal_argument

# ECS fields renamed to their OpenTelemetry counterparts (NormalizeForStreamProcessor.RENAME_KEYS).
RENAME = {"span.id": "span_id", "message": "body.text", "log.level": "severity_text", "trace.id": "trace_id"}
KEEP = frozenset({"@timestamp", "attributes", "resource", *(v.split(".")[0] for v in RENAME.values())})
# ECS fields that are OpenTelemetry resource attributes (EcsOTelResourceAttributes.LATEST).
RESOURCE_FIELDS = frozenset({
    "agent.type", "agent.build.original", "agent.name", "agent.id", "agent.ephemeral_id", "agent.version",
    "container.image.tag", "device.model.identifier", "container.image.hash.all", "service.node.name",
    "process.pid", "device.id", "host.mac", "host.type", "container.id", "cloud.availability_zone", "host.ip",
    "container.name", "container.image.name", "device.model.name", "host.name", "host.id", "process.executable",
    "user_agent.original", "service.environment", "cloud.region", "service.name", "faas.name",
    "device.manufacturer", "process.args", "host.architecture", "cloud.provider", "container.runtime",
    "service.version", "cloud.service.name", "cloud.account.id", "process.command_line", "faas.version",
    "log.file.path",
})


def is_otel(source: dict[str, Any]) -> bool:
    """NormalizeForStreamProcessor.isOTelDocument: a ``resource`` object and OpenTelemetry-shaped top fields."""
    resource = source.get("resource")
    if not isinstance(resource, dict):
        return False
    if resource.get("attributes") is not None and not isinstance(resource["attributes"], dict):
        return False
    for key in ("scope", "attributes"):
        if source.get(key) is not None and not isinstance(source[key], dict):
            return False
    body = source.get("body")
    if body is None:
        return True
    if not isinstance(body, dict):
        return False
    if body.get("text") is not None and not isinstance(body["text"], str):
        return False
    return not isinstance(body.get("structured"), str)


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``Maps.flatten(map, false, false)``: nested objects become dotted keys; lists stay as they are."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(flatten(item, name + "."))
        else:
            out[name] = item
    return out


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _json_message(source: dict[str, Any]) -> dict[str, Any] | None:
    """A ``message`` holding a JSON object: ECS JSON (with ``@timestamp``) is merged into the document; any other
    object is returned to become ``body.structured``."""
    message = source.get("message")
    if not isinstance(message, str) or not message.strip().startswith("{"):
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    del source["message"]
    if "@timestamp" in parsed:
        _merge(source, parsed)
        return None
    return parsed


def _rename(doc: IngestDocument, source: dict[str, Any]) -> None:
    for old, new in RENAME.items():
        found, value = False, None
        if doc.has(old):
            found, value = True, doc.get(old)
            doc.remove(old)
            parts = old.split(".")
            for depth in range(len(parts) - 1, 0, -1):  # drop parents left empty
                parent = ".".join(parts[:depth])
                if doc.get(parent, None) == {}:
                    doc.remove(parent)
                else:
                    break
        elif "." in old and old in source:
            found, value = True, source.pop(old)
        if found:
            doc.set(new, value)


class NormalizeForStreamProcessor(Processor):
    """``normalize_for_stream``: ECS / free-form documents into the OpenTelemetry shape logs streams expect."""

    type = "normalize_for_stream"

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        return cls()

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        source = {k: v for k, v in doc.ctx.items() if k not in METADATA_KEYS}
        if is_otel(source):
            return
        for key in source:
            del doc.ctx[key]
        normalize(source)
        doc.ctx.update(source)


def normalize(source: dict[str, Any]) -> None:
    """Rewrite a (non-OpenTelemetry) ``_source`` in place into the OpenTelemetry shape."""
    structured = _json_message(source)
    attributes: dict[str, Any] = {}
    # Values already under the kept names do not carry OpenTelemetry meaning here: they become attributes.
    for key in sorted(KEEP - {"@timestamp"}):
        if key in source:
            attributes[key] = source.pop(key)
    _rename(IngestDocument(ctx=source), source)
    for key in list(source):
        if key not in KEEP:
            attributes[key] = source.pop(key)
    flat = flatten(attributes)
    source["attributes"] = {k: v for k, v in flat.items() if k not in RESOURCE_FIELDS}
    source["resource"] = {"attributes": {k: v for k, v in flat.items() if k in RESOURCE_FIELDS}}
    if structured is not None:
        source.setdefault("body", {})["structured"] = structured


class RecoverFailureDocumentProcessor(Processor):
    """``recover_failure_document``: turn a failure-store document back into the document that failed."""

    type = "recover_failure_document"

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        return cls()

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        if not doc.has("document"):
            raise illegal_argument("field [document] not present as part of path [document]")
        if not doc.has("document.source"):
            raise illegal_argument("field [source] not present as part of path [document.source]")
        if not doc.has("error"):
            raise illegal_argument("field [error] not present as part of path [error]")
        failed = doc.get("document")
        # What the failure document held, for later inspection (``_ingest.pre_recovery``).
        doc.ingest["pre_recovery"] = {
            k: ({kk: vv for kk, vv in v.items() if kk != "source"} if k == "document" and isinstance(v, dict) else v)
            for k, v in copy.deepcopy(doc.ctx).items()}
        for key, meta in (("index", "_index"), ("routing", "_routing"), ("id", "_id")):
            if failed.get(key) is not None:
                doc.ctx[meta] = failed[key]
        original = failed.get("source")
        for key in [k for k in doc.ctx if k not in METADATA_KEYS]:
            del doc.ctx[key]
        doc.ctx.update(original if isinstance(original, dict) else {})


PROCESSORS: list[type[Processor]] = [NormalizeForStreamProcessor, RecoverFailureDocumentProcessor]
