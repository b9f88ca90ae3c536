"""Writing one ``_bulk`` request's actions with the job machinery's patience, within the request's deadline.

The REST ``_bulk`` endpoint answers its client synchronously, so unlike a job it cannot wait for minutes: items
rejected with 429/503 are retried (alone, with the job's backoff and jitter) and a sink that is unreachable as a
whole is waited out, until the request's ``timeout`` (Elasticsearch's bulk default: one minute). Whatever is
still failing then is answered per item with the sink's own status and error, as Elasticsearch's coordinating
node does, never as a whole-request 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ingest.jobs.config import JobConfig
from ingest.jobs.stages import RETRY_ITEM_STATUSES, backoff_s, is_transient
from ingest.models.errors import ElasticsearchError
from ingest.sinks.base import BulkAction, ItemResult, Sink


@dataclass
class WriteStats:
    """What one write cost: items sent again after a 429/503, requests repeated while the sink was away."""

    retried_items: int = 0
    retried_requests: int = 0


def write_with_retries(
    sink: Sink,
    actions: list[BulkAction],
    *,
    policy: JobConfig,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    stats: WriteStats | None = None,
) -> list[ItemResult]:
    """One result per action, in order: the sink's final answer for each, after retries until ``deadline``
    (a ``time.monotonic()`` value). ``policy`` gives ``max_retries`` and the backoff bounds."""
    stats = stats or WriteStats()
    results: list[ItemResult | None] = [None] * len(actions)
    pending = list(range(len(actions)))
    item_rounds = 0
    outages = 0
    while pending:
        try:
            answers = sink.write([actions[i] for i in pending])
        except Exception as exc:
            if not isinstance(exc, ElasticsearchError) and not is_transient(exc):
                raise
            error = exc if isinstance(exc, ElasticsearchError) else ElasticsearchError(
                f"the destination is unreachable: {exc}", status=503, error_type="unavailable_shards_exception")
            if is_transient(exc) and pause(deadline, backoff_s(outages + 1, policy), sleep):
                outages += 1
                stats.retried_requests += 1
                continue
            for i in pending:
                results[i] = ItemResult(error.status, error.cause_dict())
            break
        outages = 0
        if len(answers) != len(pending):
            raise RuntimeError(f"sink answered {len(answers)} results for {len(pending)} actions")
        retry = []
        for i, res in zip(pending, answers, strict=True):
            results[i] = res
            if res.error is not None and res.status in RETRY_ITEM_STATUSES:
                retry.append(i)
        item_rounds += 1
        if not retry or item_rounds > policy.max_retries:
            break
        if not pause(deadline, backoff_s(item_rounds, policy), sleep):
            break
        stats.retried_items += len(retry)
        pending = retry
    return [r if r is not None else ItemResult(500, {"type": "exception", "reason": "not written"}) for r in results]


def pause(deadline: float, wait_s: float, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Sleep ``wait_s``, cut short at the deadline, before one more try; False (no sleep) once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    sleep(min(wait_s, remaining))
    return True
