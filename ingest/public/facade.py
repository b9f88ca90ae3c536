"""``ingest.inference``, ``ingest.pipelines``, ``ingest.search`` and ``ingest.dead_letters``: the inference API,
stored pipelines, search over the embedded store and the documents jobs could not index, for the current
``$INGEST_HOME``, without choosing internal classes.

Each call works on the process's default :class:`~ingest.models.api.InferenceAPI` unless given one (``api=``);
it is stopped at exit, as for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.models.api import InferenceAPI
    from ingest.models.contents import EmbeddingInputs
    from ingest.models.results import InferenceResults
    from ingest.processors.service import PipelineService


def inference(
    inference_id: str,
    input: EmbeddingInputs,  # Elasticsearch's name for the field
    *,
    task_type: str | None = None,
    input_type: str | None = None,
    task_settings: dict[str, Any] | None = None,
    query: str | None = None,
    timeout_s: float = 30,
    api: InferenceAPI | None = None,
) -> InferenceResults:
    """``POST _inference/<task_type>/<inference_id>``: results in input order; ``.to_dict()`` is
    Elasticsearch's response body (``.embeddings`` holds the vectors of the embedding tasks). An ``embedding``
    endpoint also takes content objects: ``{"content": {"type": "image", "value": "data:image/png;base64,..."}}``."""
    from ingest.models.api import default_api

    return (api or default_api()).infer(inference_id, input, task_type=task_type, input_type=input_type,
                                        task_settings=task_settings, query=query, timeout_s=timeout_s)


def pipelines(api: InferenceAPI | None = None) -> PipelineService:
    """The stored pipelines of the home: ``put(id, body)``, ``get(ids)``, ``delete(pattern)``,
    ``simulate(body, id)``, and ``parse(body)`` → a :class:`~ingest.processors.pipeline.Pipeline` whose
    ``run(table)`` runs it on a pyarrow Table. Inference processors call ``api`` (default: the process's)."""
    from ingest.models.api import default_api
    from ingest.models.store import Store
    from ingest.processors.service import PipelineService

    return PipelineService(Store(), api or default_api())


def search(index: str, query: str, *, field: str | None = None, endpoint: str | None = None, k: int = 10,
           api: InferenceAPI | None = None) -> dict[str, Any]:
    """``ingest search``: embed ``query`` with the endpoint that filled the vector ``field`` (the index's only
    one when not named) and return Elasticsearch-shaped hits (k-NN for dense vectors, dot product for sparse)
    from the embedded store."""
    from ingest.jobs.search import search as run

    return run(index, query, endpoint=endpoint, field=field, k=k, api=api)


def dead_letters(job_id: str | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
    """``ingest dead-letter list``: the documents jobs could not index (all jobs, or ``job_id``: a summary's),
    oldest first, each with its ``stage``, ``error`` (type, reason), ``status`` and ``content``."""
    from ingest.deadletter.store import DeadLetterStore

    store = DeadLetterStore()
    try:
        return [letter.to_dict() for letter in store.iter(job_id, limit=limit)]
    finally:
        store.close()
