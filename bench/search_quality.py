"""SciFact retrieval quality through ``_search`` of a running server: ``semantic`` on an E5 ``semantic_text``
field, ``match`` (BM25) on a ``text`` field, and an ``rrf`` retriever over the two; nDCG@10 beside the in-memory
benchmark (``bench.retrieval``) and the published BM25.

    python -m bench.search_quality [--endpoint .multilingual-e5-small-elasticsearch|portable] [--docs N]
                                   [--chunking endpoint|none] [--max-queries N] [--no-cache]

A server on 127.0.0.1 over a temporary home; the 5,183 abstracts (``title + " " + text``) sent once with
``helpers.bulk`` into one index mapping ``text`` (``text``) and ``content`` (``semantic_text`` on the endpoint:
chunked by its chunking settings, each chunk embedded with E5's ``passage: `` prefix); the 300 test queries
through the official client (the ``semantic`` query embeds them with ``query: ``).

The default endpoint is Elasticsearch's preconfigured ``.multilingual-e5-small-elasticsearch``, which on
linux-x86_64 runs the int8 ``.multilingual-e5-small_linux-x86_64`` build; ``--endpoint portable`` creates an
endpoint on the explicit fp32 ``.multilingual-e5-small`` instead. The in-memory baseline uses the same build
(precision) and prefixes, ranking whole documents truncated at 512 tokens by cosine, so the two differ only by
what ``semantic_text`` adds: chunking and scoring a document by its best chunk. ``--chunking none`` maps the field
with ``chunking_settings: {"strategy": "none"}`` (whole texts, truncated at 512 tokens as in memory): the path
itself should then lose nothing.

Embedding the corpus takes about an hour on a loaded 2-core machine, so the chunks' embeddings are kept (keyed by
model version, input type and text hash, as ``ingest run --skip-unchanged`` keeps them) in
``$INGEST_HOME/bench/search-quality.sqlite``: a re-run, or a run interrupted part-way, reuses them.
``--no-cache`` embeds everything again. Queries are always embedded live.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.data import load_corpus, load_queries, log
from bench.retrieval import corpus_note, evaluate, ndcg_at_k, sub_corpus
from bench.search_bench import PUBLISHED_BM25

DEFAULT_ENDPOINT = ".multilingual-e5-small-elasticsearch"
PORTABLE_ENDPOINT = "e5-portable"
GATE_SEMANTIC, GATE_BM25 = 0.005, 0.02


def cached_api(home: Path, cache_path: Path | None) -> Any:
    """An ``InferenceAPI`` over ``home`` whose ingest-time embedding calls (``input_type="ingest"``) are answered
    from the embedding cache at ``cache_path`` when it holds them (None: no cache)."""
    from ingest.jobs.cache import CachingInference, EmbeddingCache
    from ingest.models.api import InferenceAPI
    from ingest.models.store import Store

    class Direct:
        """The API's own ``infer`` (the cache's misses), beside its endpoints and model versions."""

        def __init__(self, api: InferenceAPI) -> None:
            self.api = api

        def infer(self, inference_id: str, inputs: Any, **kwargs: Any) -> Any:
            return InferenceAPI.infer(self.api, inference_id, inputs, **kwargs)

        def endpoint(self, inference_id: str) -> Any:
            return self.api.endpoint(inference_id)

        def model_version(self, inference_id: str) -> str:
            return str(self.api.model_version(inference_id))

    class CachedIngestAPI(InferenceAPI):
        def __init__(self) -> None:
            super().__init__(Store(home / "registry.sqlite"))
            self.cache = EmbeddingCache(cache_path) if cache_path else None
            self.cached = CachingInference(Direct(self), self.cache)  # type: ignore[arg-type]

        def infer(self, inference_id: str, inputs: Any, **kwargs: Any) -> Any:
            if self.cache is not None and kwargs.get("input_type") == "ingest":
                return self.cached.infer(inference_id, inputs, **kwargs)
            return super().infer(inference_id, inputs, **kwargs)

        def close(self) -> None:
            super().close()
            if self.cache is not None:
                self.cache.close()

    return CachedIngestAPI()


def _queries(field: str, text: str) -> dict[str, dict[str, Any]]:
    semantic = {"semantic": {"field": "content", "query": text}}
    match = {"match": {field: text}}
    return {
        "semantic": {"query": semantic},
        "match": {"query": match},
        "rrf": {"retriever": {"rrf": {"retrievers": [{"standard": {"query": match}},
                                                     {"standard": {"query": semantic}}]}}},
    }


def main(argv: list[str] | None = None) -> None:
    """Index SciFact once, run the three kinds of queries, print the table."""
    from elasticsearch import Elasticsearch, helpers

    from ingest.context import AppContext
    from ingest.models.catalogue import MULTILINGUAL_E5_SMALL
    from ingest.models.home import ingest_home, models_dir
    from ingest.server.app import create_app
    from tests.servers import serve

    parser = argparse.ArgumentParser(prog="python -m bench.search_quality", description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", default=DEFAULT_ENDPOINT,
                        help=f"{DEFAULT_ENDPOINT} (int8 on linux-x86_64) or 'portable' (fp32)")
    parser.add_argument("--max-queries", type=int, default=0)
    parser.add_argument("--no-cache", action="store_true", help="embed every chunk again")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunking", choices=("endpoint", "none"), default="endpoint",
                        help="the endpoint's chunking (Elasticsearch's default), or none: whole texts, as in memory")
    parser.add_argument("--docs", type=int, help="index the first N abstracts plus every judged one (as "
                        "bench.retrieval --docs N): for the fp32 endpoint when the whole corpus is too slow")
    args = parser.parse_args(argv)
    ids, texts = load_corpus()
    chosen = sub_corpus(args.docs)
    ids, texts = [ids[i] for i in chosen], [texts[i] for i in chosen]
    qids, qtexts, qrels = load_queries()
    if args.max_queries:
        qids, qtexts = qids[: args.max_queries], qtexts[: args.max_queries]
    real_home, models = ingest_home(), models_dir()
    cache_path = None if args.no_cache else real_home / "bench" / "search-quality.sqlite"
    saved = {k: os.environ.get(k) for k in ("INGEST_HOME", "INGEST_MODEL_CACHE")}
    results: dict[str, list[float]] = {"semantic": [], "match": [], "rrf": []}
    latencies: dict[str, list[float]] = {k: [] for k in results}
    with tempfile.TemporaryDirectory() as home:
        os.environ["INGEST_HOME"], os.environ["INGEST_MODEL_CACHE"] = home, str(models)  # built models reused
        api = cached_api(Path(home), cache_path)
        context = AppContext(api=api)
        try:
            endpoint = args.endpoint
            if endpoint == "portable":
                endpoint = PORTABLE_ENDPOINT
                api.put(endpoint, {"service": "elasticsearch", "service_settings": {
                    "model_id": MULTILINGUAL_E5_SMALL.model_id, "num_allocations": 1,
                    "num_threads": args.threads}}, task_type="text_embedding")
            model_id = str(api.endpoint(endpoint).service_settings["model_id"])
            quantized = model_id == MULTILINGUAL_E5_SMALL.optimized_id
            log(f"endpoint [{endpoint}] runs [{model_id}] ({'int8' if quantized else 'fp32'})")
            with serve(create_app(context=context)) as url:
                es = Elasticsearch(url, request_timeout=4000)
                content: dict[str, Any] = {"type": "semantic_text", "inference_id": endpoint}
                if args.chunking == "none":
                    content["chunking_settings"] = {"strategy": "none"}
                es.indices.create(index="scifact", mappings={"properties": {"text": {"type": "text"},
                                                                            "content": content}})
                start = time.perf_counter()
                actions = ({"_index": "scifact", "_id": i, "text": t, "content": t}
                           for i, t in zip(ids, texts, strict=True))
                for done, (ok, item) in enumerate(
                        helpers.streaming_bulk(es, actions, chunk_size=256, raise_on_error=False), 1):
                    if not ok:
                        raise SystemExit(f"indexing failed: {item}")
                    if done % 256 == 0:
                        log(f"  {done}/{len(ids)} documents ({time.perf_counter() - start:.0f}s)")
                es.indices.refresh(index="scifact")
                indexed_s = time.perf_counter() - start
                log(f"indexed {len(ids)} documents in {indexed_s:.0f}s")
                es.search(index="scifact", query={"match": {"text": "warm up"}})  # builds the field statistics
                for qid, text in zip(qids, qtexts, strict=True):
                    for kind, body in _queries("text", text).items():
                        t0 = time.perf_counter()
                        answer = es.search(index="scifact", size=10, source=False, **body)
                        latencies[kind].append(time.perf_counter() - t0)
                        results[kind].append(ndcg_at_k([h["_id"] for h in answer["hits"]["hits"]], qrels[qid]))
        finally:
            context.close()
            api.close()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    log("in-memory baseline (bench.retrieval, same build and prefixes)")
    baseline = evaluate(MULTILINGUAL_E5_SMALL, args.threads, quantized, args.docs, qids=set(qids))
    semantic, match, rrf = (statistics.mean(results[k]) for k in ("semantic", "match", "rrf"))
    precision = "int8 `_linux-x86_64`" if quantized else "fp32 portable"
    print(f"SciFact test, {len(qids)} queries, nDCG@10 through `_search` (endpoint `{endpoint}`, {precision})"
          f"{corpus_note(args.docs)}, chunking: {args.chunking}; {len(ids)} documents indexed in {indexed_s:.0f}s")
    print("| query | nDCG@10 | reference | difference | gate | p50 latency |")
    print("|---|---|---|---|---|---|")
    rows = [("`semantic` on `semantic_text`", semantic, baseline, "in-memory", GATE_SEMANTIC),
            ("`match` (BM25)", match, PUBLISHED_BM25, "published BM25", GATE_BM25)]
    for (name, got, ref, what, gate), kind in zip(rows, ("semantic", "match"), strict=True):
        verdict = "ok" if abs(got - ref) <= gate else "OUTSIDE"
        print(f"| {name} | {got:.4f} | {ref:.4f} ({what}) | {got - ref:+.4f} | ±{gate} {verdict} | "
              f"{statistics.median(latencies[kind]) * 1000:.0f} ms |")
    better = max(semantic, match)
    print(f"| `rrf` (match + semantic) | {rrf:.4f} | {better:.4f} (the better one) | {rrf - better:+.4f} | "
          f"≥ {'ok' if rrf >= better else 'BELOW'} | {statistics.median(latencies['rrf']) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
