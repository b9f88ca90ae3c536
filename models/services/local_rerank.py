"""Local ``rerank`` for the ``elasticsearch`` service: imported cross-encoders (Eland's ``text_similarity``).

Elastic's own ``.rerank-v1`` (Elastic Rerank) is not distributed on PyPI, so it cannot run here: asking for it,
or for the ``.rerank-v1-elasticsearch`` endpoint, gets an error that says so and what to do instead.
"""

from __future__ import annotations

import numpy as np

from ingest.models.deployments.deployment import Work
from ingest.models.errors import StatusException
from ingest.models.jsontypes import JsonInput
from ingest.models.results import RankedDocument, RerankResults

ELASTIC_RERANKER_ID = ".rerank-v1"
ELASTIC_RERANK_ENDPOINT = ".rerank-v1-elasticsearch"
ABSENT = (
    "Elastic's reranker [.rerank-v1] (Elastic Rerank) is not available here: its weights are Elastic's and are "
    "not distributed on PyPI. Import a cross-encoder instead (`ingest models import PATH --model-id ID "
    "--task-type rerank`, a BertForSequenceClassification or XLMRobertaForSequenceClassification folder) and "
    "create a [rerank] endpoint of the [elasticsearch] service with that model_id."
)


def elastic_reranker_absent() -> StatusException:
    """The error for Elastic's own reranker model or its preconfigured endpoint (400, explaining why)."""
    return StatusException(ABSENT)


def parse_task_settings(task_settings: JsonInput, problems: list[str], service: str) -> dict[str, bool]:
    """``RerankTaskSettings``: ``return_documents`` (boolean) and nothing else."""
    raw = dict(task_settings)
    out: dict[str, bool] = {}
    if "return_documents" in raw:
        value = raw.pop("return_documents")
        if isinstance(value, bool):
            out["return_documents"] = value
        else:
            problems.append(f"field [return_documents] is not of the expected type. The value [{value}] cannot be "
                            "converted to a [Boolean]")
    if raw:
        problems.append(f"Model configuration contains settings [{', '.join(sorted(raw))}] unknown to the "
                        f"[{service}] service")
    return out


def ranked(scores: np.ndarray, texts: list[str], return_documents: bool, top_n: int | None) -> RerankResults:
    """Hits sorted by score (ties by input position), cut to ``top_n``, with the texts when asked."""
    order = sorted(range(len(texts)), key=lambda i: (-float(scores[i]), i))
    if top_n is not None:
        order = order[:top_n]
    return RerankResults([RankedDocument(i, float(scores[i]), texts[i] if return_documents else None)
                          for i in order])


def rerank_work(query: str, texts: list[str], return_documents: bool, top_n: int | None,
                ) -> Work:
    """What a deployment runs for one rerank request on a loaded cross-encoder session."""
    return lambda session: ranked(session.rerank(query, texts), texts, return_documents, top_n)
