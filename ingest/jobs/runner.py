"""The job runner: read → pipeline → batch → send, threads joined by bounded queues.

Memory stays flat because every queue is bounded (a full queue blocks its producer), and the stages overlap:
the model runs on one batch while the previous one is serialised and sent. A source position is checkpointed
only once the sink acknowledged (or the dead-letter store recorded) every document before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from ingest.context import AppContext
from ingest.deadletter.store import DeadLetterStore
from ingest.jobs.cache import CachingInference, EmbeddingCache
from ingest.jobs.config import JobConfig, JobSummary
from ingest.jobs.job import Job, pipeline_name
from ingest.jobs.jobpipelines import resolve_job
from ingest.jobs.pipelinespec import load_pipeline
from ingest.jobs.progress import Reporter
from ingest.sinks.base import Sink
from ingest.sources.base import Source


def run_job(
    config: JobConfig,
    *,
    source: Source | None = None,
    sink: Sink | None = None,
    reporter: Reporter | None = None,
    deadletters: DeadLetterStore | None = None,
    inference: Any = None,
    context: AppContext | None = None,
    cancel: threading.Event | None = None,
) -> JobSummary:
    """Open the source, pipeline and sink named by ``config`` (unless given) and run the job.

    Everything the job keeps (checkpoints, dead letters, the embedded store, the embedding cache, the pipeline
    registry) is ``context``'s; without one, a context over ``inference`` when it is an ``InferenceAPI`` (its
    home), else over the environment's settings, closed at the end. Without ``inference``, the pipeline calls the
    context's API (or, with no context given, the process-wide ``default_api()``, whose models stay loaded
    between jobs). Setting ``cancel`` stops the job as an interrupt does (its summary says not completed).
    """
    from ingest.models.api import InferenceAPI
    from ingest.sinks.registry import capabilities, kind_of
    from ingest.sources import open_source

    own_context, own_sink, own_source = context is None, sink is None, source is None
    if context is None:
        context = AppContext(api=inference if isinstance(inference, InferenceAPI) else None)
    # alias → write index; the request (or default) pipeline and the final one
    config, first, final = resolve_job(config, context.index_meta, context.api.store)
    source = source or open_source(config.source, **config.source_options)
    embedded = kind_of(config.dest).capabilities.index_store  # semantic_text inference goes through the cache too
    cache = context.embedding_cache() if (first or final or embedded) and config.skip_unchanged else None
    deadletters = deadletters or context.deadletters()
    try:
        sink = sink or context.open_sink(config.dest, **_semantic_options(context, cache if embedded else None))
        pipeline, wrapped = None, None
        if first or final:
            if inference is None:
                from ingest.models.api import default_api

                inference = default_api() if own_context else context.api
            wrapped = CachingInference(inference, cache)
            pipeline, _ = load_pipeline(first or str(final), context.pipelines(wrapped), then=final if first else None)
        factory: Callable[[], Sink] | None = None
        if own_sink and config.sender_count() > 1 and capabilities(config.dest).writers == "many":
            factory = partial(context.open_sink, config.dest)
        job = Job(config, source=source, sink=sink, pipeline=pipeline, inference=wrapped,
                  deadletters=deadletters, reporter=reporter, sink_factory=factory, context=context,
                  pipeline_id=pipeline_name(first if first is not None else final), cancel=cancel)
        return job.run()
    finally:
        if own_sink and sink is not None:
            sink.close()
        if own_source:
            source.close()
        if cache is not None:
            cache.close()
        if own_context:
            context.close()  # its dead-letter store; an api handed in stays the caller's


def _semantic_options(context: AppContext, cache: EmbeddingCache | None) -> dict[str, Any]:
    """``open_sink`` options for a job writing to the embedded store: with the job's embedding cache,
    ``semantic_text`` inference goes through it (unchanged texts are not sent again); without, the defaults."""
    if cache is None:
        return {}
    from ingest.semantic.enrich import SemanticInference

    return {"inference": SemanticInference(lambda: CachingInference(context.api, cache))}
