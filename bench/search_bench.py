"""SciFact BM25 through ``_search``: ``match`` on the embedded store, nDCG@10 against the published BM25 (0.665,
BEIR's Elasticsearch BM25 on title + text), and the median query latency.

``python -m bench.search_bench [--max-queries N]``: a server on 127.0.0.1 over a temporary home, the corpus
sent with ``helpers.bulk``, each test query as ``{"match": {"text": q}}`` through the official client.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from bench.data import load_corpus, load_queries, log
from bench.retrieval import ndcg_at_k

PUBLISHED_BM25 = 0.665


def main(argv: list[str] | None = None) -> None:
    """Index SciFact, run the test queries, print nDCG@10 and latency."""
    from elasticsearch import Elasticsearch, helpers

    from ingest.context import AppContext
    from ingest.models.settings import Settings
    from ingest.server.app import create_app
    from tests.servers import serve

    parser = argparse.ArgumentParser()
    parser.add_argument("--max-queries", type=int, default=0)
    args = parser.parse_args(argv)
    ids, texts = load_corpus()
    qids, qtexts, qrels = load_queries()
    if args.max_queries:
        qids, qtexts = qids[: args.max_queries], qtexts[: args.max_queries]
    with tempfile.TemporaryDirectory() as home:
        context = AppContext(dataclasses.replace(Settings.from_env(), home=Path(home)))
        try:
            with serve(create_app(context=context)) as url:
                es = Elasticsearch(url, request_timeout=300)
                es.indices.create(index="scifact", mappings={"properties": {"text": {"type": "text"}}})
                start = time.perf_counter()
                helpers.bulk(es, ({"_index": "scifact", "_id": i, "text": t} for i, t in zip(ids, texts, strict=True)),
                             chunk_size=1000, refresh=True)
                log(f"indexed {len(ids)} documents in {time.perf_counter() - start:.1f}s")
                es.search(index="scifact", query={"match": {"text": "warm up"}})  # builds the field statistics
                scores, latencies = [], []
                for qid, text in zip(qids, qtexts, strict=True):
                    t0 = time.perf_counter()
                    answer = es.search(index="scifact", query={"match": {"text": text}}, size=10, source=False)
                    latencies.append(time.perf_counter() - t0)
                    scores.append(ndcg_at_k([h["_id"] for h in answer["hits"]["hits"]], qrels[qid]))
        finally:
            context.close()
    ndcg = statistics.mean(scores)
    print("| benchmark | queries | nDCG@10 | published BM25 | difference | p50 latency |")
    print("|---|---|---|---|---|---|")
    print(f"| SciFact `match` (BM25) via `_search` | {len(scores)} | {ndcg:.4f} | {PUBLISHED_BM25} | "
          f"{ndcg - PUBLISHED_BM25:+.4f} | {statistics.median(latencies) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
