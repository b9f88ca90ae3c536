"""Retrieval check: SciFact nDCG@10 over the 300 test queries, beside the published figures.

    python -m bench.retrieval [--models e5,minilm,sparse] [--threads N] [--quantize | --compare] [--docs N]

Indexes all 5,183 abstracts in memory with each model (``title + " " + text``; E5 with ``passage: `` /
``query: ``), ranks by cosine, and prints nDCG@10. Published: multilingual-e5-small 0.676,
all-MiniLM-L6-v2 0.645; a gap over 0.02 means tokenisation, prefixes, pooling or truncation is wrong. ``sparse``
(the ELSER-compatible SPLADE-tiny, ranked by dot product) has no published figure: it compares int8 with fp32.
Document embeddings are cached under $INGEST_HOME/bench/ by model version in chunks: a re-run, or a run
interrupted part-way, picks up where it stopped.

``--docs N`` ranks over a sub-corpus instead: the first N abstracts plus every judged one (so each query keeps
all its relevant documents, among fewer distractors). Figures are then higher than the published ones and only
comparable between models on the same N: that is how fp32 and int8 are compared when the full corpus is too slow
for the machine.

``--compare`` evaluates the fp32 and the int8 build on the same documents and prints both nDCG@10 figures and the
mean cosine of the int8 document vectors to the fp32 ones (issue 16's gate: within 0.01, cosine >= 0.99).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

from bench.data import load_corpus, load_queries, log
from ingest.models.cache import ensure_built
from ingest.models.catalogue import (
    ALL_MINILM_L6_V2,
    ELSER_COMPATIBLE_SPLADE,
    MULTILINGUAL_E5_SMALL,
    ModelSpec,
)
from ingest.models.home import ingest_home
from ingest.models.runtime import LocalModel

PUBLISHED = {MULTILINGUAL_E5_SMALL.model_id: 0.676, ALL_MINILM_L6_V2.model_id: 0.645}
TOLERANCE = 0.02


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded relevance (BEIR's definition: gain = grade, discount log2(rank + 1))."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def embed_corpus(model: LocalModel, texts: list[str], chunk: int = 256) -> np.ndarray:
    """Document vectors, cached on disk by model version chunk by chunk, so an interrupted run resumes."""
    folder = ingest_home() / "bench" / f"scifact-{model.spec.model_id.strip('.')}-{model.built.version}"
    folder.mkdir(parents=True, exist_ok=True)
    start, parts = time.perf_counter(), []
    for i in range(0, len(texts), chunk):
        path = folder / f"{i:06d}-{chunk}.npy"
        if path.exists():
            parts.append(np.load(path))
            continue
        vectors = model.embed_arrays(texts[i : i + chunk], "ingest")
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)  # atomic: a killed run never leaves a half chunk
        parts.append(vectors)
        log(f"  {min(i + chunk, len(texts))}/{len(texts)} documents ({time.perf_counter() - start:.0f}s)")
    return np.concatenate(parts)


def sub_corpus(max_docs: int | None) -> list[int]:
    """Positions of the ranked documents: all, or the first ``max_docs`` plus every judged one after them."""
    doc_ids, _ = load_corpus()
    if max_docs is None or max_docs >= len(doc_ids):
        return list(range(len(doc_ids)))
    judged = {d for rel in load_queries()[2].values() for d in rel}
    return [*range(max_docs), *(i for i in range(max_docs, len(doc_ids)) if doc_ids[i] in judged)]


def embeddings(spec: ModelSpec, threads: int, quantize: bool,
               max_docs: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Document ids, document vectors and test-query vectors of one build (over the whole corpus, or the
    ``max_docs`` sub-corpus); documents with ``passage: ``, queries with ``query: `` for E5."""
    doc_ids, texts = load_corpus()
    _, qtexts, _ = load_queries()
    model = LocalModel(ensure_built(spec, quantize=quantize, progress=log), threads=threads)
    chosen = sub_corpus(max_docs)
    head = len(texts) if max_docs is None else min(max_docs, len(texts))
    extra = chosen[head:]
    log(f"{spec.model_id}{' int8' if quantize else ''}: embedding {head + len(extra)} documents")
    docs = embed_corpus(model, texts[:head])  # the same cached chunks as a full run
    if extra:
        docs = np.concatenate([docs, model.embed_arrays([texts[i] for i in extra], "ingest")])
        doc_ids = [*doc_ids[:head], *(doc_ids[i] for i in extra)]
    queries = model.embed_arrays(qtexts, "search")
    model.close()
    return doc_ids, docs, queries


def mean_ndcg(doc_ids: list[str], docs: np.ndarray, queries: np.ndarray, only: set[str] | None = None) -> float:
    """Mean nDCG@10 of the test queries (those in ``only`` when given) ranking ``docs`` by cosine."""
    qids, _, qrels = load_queries()
    keep = [i for i, q in enumerate(qids) if only is None or q in only]
    top = np.argsort(-(queries[keep] @ docs.T), axis=1)[:, :10]
    return float(np.mean([ndcg_at_k([doc_ids[j] for j in row], qrels[qids[i]]) for i, row in zip(keep, top, strict=True)]))


def evaluate(spec: ModelSpec, threads: int, quantize: bool, max_docs: int | None = None,
             qids: set[str] | None = None) -> float:
    """nDCG@10 of one model on the SciFact test queries (``qids`` only when given)."""
    return mean_ndcg(*embeddings(spec, threads, quantize, max_docs), only=qids)


def compare_precisions(spec: ModelSpec, threads: int, max_docs: int | None) -> list[str]:
    """Issue 16's gate: fp32 and int8 nDCG@10 on the same documents, and the mean cosine of the int8 document
    vectors to the fp32 ones."""
    ids32, docs32, q32 = embeddings(spec, threads, False, max_docs)
    ids8, docs8, q8 = embeddings(spec, threads, True, max_docs)
    assert ids32 == ids8
    fp32, int8 = mean_ndcg(ids32, docs32, q32), mean_ndcg(ids8, docs8, q8)
    cosine = float(np.mean(np.sum(docs32 * docs8, axis=1) / (np.linalg.norm(docs32, axis=1)
                                                              * np.linalg.norm(docs8, axis=1))))
    within = abs(int8 - fp32) <= 0.01
    return [f"{spec.model_id:<40} fp32 {fp32:.4f}  int8 {int8:.4f}  diff {int8 - fp32:+.4f}"
            f" ({'within' if within else 'OUTSIDE'} 0.01)",
            f"{'':<40} mean cosine int8 to fp32 over {len(ids32)} documents {cosine:.4f}"
            f" ({'ok' if cosine >= 0.99 else 'BELOW'} >= 0.99)"]


def corpus_note(docs: int | None) -> str:
    """How the ranked corpus is described in the printed table's title."""
    return f" over the first {docs} abstracts + the judged ones" if docs else ""


def main(argv: list[str] | None = None) -> None:
    """Evaluate the chosen models and print nDCG@10 beside the published figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="e5,minilm", help="comma list of e5, minilm, sparse")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quantize", action="store_true", help="evaluate the int8 variants instead")
    parser.add_argument("--docs", type=int, help="rank over the first N abstracts plus every judged one")
    parser.add_argument("--compare", action="store_true",
                        help="fp32 against int8 on the same documents: both nDCG@10 and the mean cosine")
    args = parser.parse_args(argv)
    chosen = {"e5": MULTILINGUAL_E5_SMALL, "minilm": ALL_MINILM_L6_V2, "sparse": ELSER_COMPATIBLE_SPLADE}
    if args.compare:
        print("\n".join([f"SciFact test, 300 queries, nDCG@10, fp32 vs int8{corpus_note(args.docs)}",
                         *(line for name in args.models.split(",")
                           for line in compare_precisions(chosen[name.strip()], args.threads, args.docs))]))
        return
    failed = False
    lines = [f"SciFact test, 300 queries, nDCG@10{' (int8)' if args.quantize else ''}{corpus_note(args.docs)}",
             f"{'model':<40} {'ours':>6} {'published':>9} {'diff':>7}"]
    for name in args.models.split(","):
        spec = chosen[name.strip()]
        got = evaluate(spec, args.threads, args.quantize, args.docs)
        published = PUBLISHED.get(spec.model_id)
        if published is None:  # nothing published to compare with (sparse): the figure alone
            lines.append(f"{spec.model_id:<40} {got:6.3f} {'-':>9}")
            continue
        ok = abs(got - published) <= TOLERANCE
        failed |= not ok
        lines.append(f"{spec.model_id:<40} {got:6.4f} {published:9.3f} {got - published:+7.4f}"
                     f"  {'ok' if ok else 'OUTSIDE ±0.02'}")
    print("\n".join(lines))
    if failed and not args.quantize and not args.docs:
        sys.exit(1)


if __name__ == "__main__":
    main()
