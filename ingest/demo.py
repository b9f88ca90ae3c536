"""Semantic search over sample_data/ in a screenful: ``python -m ingest.demo`` (``make demo``).

Embeds every document with multilingual-e5-small (dense, cosine) and the ELSER-compatible sparse encoder
(dot product over token weights), then prints the best documents for each example query. Progress goes to
stderr, results to stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from models.results import SparseEmbeddingResults, TextEmbeddingResults
from models.runtime import LocalModel, load_model

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
E5 = ".multilingual-e5-small"
SPARSE = ".elser_model_2"
TOP_K = 2


def log(message: str) -> None:
    """Progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def read_corpus(folder: Path = SAMPLE_DATA) -> tuple[list[dict[str, str]], list[str]]:
    """The sample documents and example queries."""
    docs = [json.loads(line) for line in (folder / "documents.jsonl").read_text(encoding="utf-8").splitlines() if line]
    queries = [q.strip() for q in (folder / "queries.txt").read_text(encoding="utf-8").splitlines() if q.strip()]
    return docs, queries


def dense_rank(model: LocalModel, passages: list[str], queries: list[str]) -> list[list[tuple[int, float]]]:
    """Top documents per query by cosine similarity (vectors are L2-normalised, so a dot product)."""
    docs = model.embed(passages, "ingest")
    qs = model.embed(queries, "search")
    assert isinstance(docs, TextEmbeddingResults) and isinstance(qs, TextEmbeddingResults)
    scores = qs.embeddings @ docs.embeddings.T
    return [[(int(i), float(row[i])) for i in np.argsort(-row)[:TOP_K]] for row in scores]


def sparse_rank(model: LocalModel, passages: list[str], queries: list[str]) -> list[list[tuple[int, float]]]:
    """Top documents per query by the dot product of token weights (what a sparse_vector query scores)."""
    docs = model.embed(passages, "ingest")
    qs = model.embed(queries, "search")
    assert isinstance(docs, SparseEmbeddingResults) and isinstance(qs, SparseEmbeddingResults)
    ranked = []
    for q in qs.embeddings:
        scores = [sum(w * d.get(t, 0.0) for t, w in q.items()) for d in docs.embeddings]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:TOP_K]
        ranked.append([(i, scores[i]) for i in order])
    return ranked


def main() -> None:
    """Embed the sample corpus with both models and print the best documents per query."""
    docs, queries = read_corpus()
    passages = [f"{d['title']}. {d['body']}" for d in docs]
    threads = max(1, min(4, os.cpu_count() or 1))
    results = {}
    for label, model_id, rank in (("E5", E5, dense_rank), ("ELSER", SPARSE, sparse_rank)):
        model = load_model(model_id, threads=threads, progress=log)
        start = time.perf_counter()
        results[label] = rank(model, passages, queries)
        log(f"{model_id}: embedded {len(passages)} documents and {len(queries)} queries "
            f"in {time.perf_counter() - start:.1f}s")
        model.close()
    print(f"Semantic search over {len(docs)} documents in sample_data/ (top {TOP_K} per model)\n")
    for qi, query in enumerate(queries):
        print(f"> {query}")
        for label, ranked in results.items():
            for rank_no, (doc, score) in enumerate(ranked[qi]):
                name = label if rank_no == 0 else ""
                print(f"  {name:<6}{score:7.3f}  [{docs[doc]['category']}] {docs[doc]['title']}")
    print("\nE5 = .multilingual-e5-small (cosine); ELSER = .elser_model_2, an ELSER-compatible SPLADE encoder "
          "(dot product), not Elastic's ELSER weights.")


if __name__ == "__main__":
    main()
