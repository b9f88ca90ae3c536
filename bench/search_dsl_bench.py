"""What the query DSL extras cost on SciFact through ``_search`` (5,183 documents): per test query, ``match``
alone, ``match`` + ``highlight`` (unified, the default 5 fragments of 100 characters), ``match_phrase`` of the
query's first three words with ``slop`` 3, and ``term`` on its first word, interleaved query by query so that
machine load hits all alike; medians of the per-query latencies.

``python -m bench.search_dsl_bench [--max-queries N]`` (needs ``SCIFACT_DIR``, as ``bench.search_bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.data import load_corpus, load_queries, log


@contextlib.contextmanager
def _server() -> Iterator[str]:
    """``ingest serve`` on a free loopback port over a temporary home."""
    from ingest.context import AppContext
    from ingest.models.settings import Settings
    from ingest.server.app import create_app
    from tests.servers import serve

    with tempfile.TemporaryDirectory() as home:
        context = AppContext(dataclasses.replace(Settings.from_env(), home=Path(home)))
        try:
            with serve(create_app(context=context)) as url:
                yield url
        finally:
            context.close()


def _variants(text: str) -> dict[str, dict[str, Any]]:
    words = text.split()
    return {
        "match": {"query": {"match": {"text": text}}},
        "match + highlight": {"query": {"match": {"text": text}}, "highlight": {"fields": {"text": {}}}},
        "match_phrase slop 3": {"query": {"match_phrase": {"text": {"query": " ".join(words[:3]), "slop": 3}}}},
        "term": {"query": {"term": {"text": words[0].lower().strip(".,?")}}},
    }


def main(argv: list[str] | None = None) -> None:
    """Index SciFact, time each variant per query, print a table of medians."""
    from elasticsearch import Elasticsearch, helpers

    parser = argparse.ArgumentParser()
    parser.add_argument("--max-queries", type=int, default=100)
    limit = parser.parse_args(argv).max_queries
    ids, texts = load_corpus()
    qtexts = load_queries()[1]
    qtexts = qtexts[:limit] if limit else qtexts
    timings: dict[str, list[float]] = {}
    with _server() as url:
        es = Elasticsearch(url, request_timeout=300)
        es.indices.create(index="scifact", mappings={"properties": {"text": {"type": "text"}}})
        helpers.bulk(es, ({"_index": "scifact", "_id": i, "text": t} for i, t in zip(ids, texts, strict=True)),
                     chunk_size=1000, refresh=True)
        es.search(index="scifact", query={"match": {"text": "warm up"}})  # builds the field statistics
        search: Callable[..., Any] = es.search
        for text in qtexts:
            for name, body in _variants(text).items():
                t0 = time.perf_counter()
                search(index="scifact", size=10, source=False, **body)
                timings.setdefault(name, []).append(time.perf_counter() - t0)
    log(f"{len(qtexts)} queries, load average {os.getloadavg()[0]:.2f}")
    print("| SciFact `_search` variant | queries | p50 latency |")
    print("|---|---|---|")
    for name, values in timings.items():
        print(f"| {name} | {len(values)} | {statistics.median(values) * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
