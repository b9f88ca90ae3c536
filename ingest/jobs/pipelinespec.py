"""A job's pipeline, named one of three ways, read and parsed in one place: a stored pipeline id, a JSON/YAML
file (``.json``, ``.yaml``, ``.yml``; ``-`` for stdin where a body is read), or the body itself.

Used by ``ingest run`` (local and Ray), ``_bulk``'s callers and ``ingest pipelines`` (bodies from files).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ingest.models.errors import ParsingException

if TYPE_CHECKING:
    from ingest.processors import PipelineService
    from ingest.processors.pipeline import Pipeline

PIPELINE_SUFFIXES = (".json", ".yaml", ".yml")


def read_body(path: str) -> Any:
    """A JSON or YAML document from a file (``.json``, ``.yaml``, ``.yml``) or stdin (``-``)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ParsingException(f"cannot read [{path}]: {exc.strerror}") from None
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ParsingException(f"[{path}] is neither valid JSON nor YAML: {exc}") from None


def load_pipeline(spec: str | Mapping[str, Any], service: PipelineService,
                  then: str | None = None) -> tuple[Pipeline, dict[str, Any]]:
    """The parsed pipeline and its body: ``spec`` is a body, a pipeline file, or the id of a pipeline stored in
    ``service``'s registry (Elasticsearch's not-found error otherwise). ``then`` names a stored pipeline run
    after it (the index's final pipeline)."""
    if isinstance(spec, Mapping):
        body = dict(spec)
    elif Path(spec).suffix.lower() in PIPELINE_SUFFIXES and Path(spec).is_file():
        found = read_body(spec)
        if not isinstance(found, dict):
            raise ParsingException(f"[{spec}] does not hold a pipeline: expected an object with [processors]")
        body = found
    elif then is None:
        stored = service.get([spec])
        return service.load(spec), dict(stored.get(spec, {}))
    else:
        service.load(spec)  # a missing pipeline fails here, with Elasticsearch's error
        body = dict(service.get([spec]).get(spec, {}))
    if then is not None:
        from ingest.jobs.jobpipelines import chain_body

        body = chain_body(body, then)
        return (service.parse(body, spec) if isinstance(spec, str) else service.parse(body)), body
    return service.parse(body), body
