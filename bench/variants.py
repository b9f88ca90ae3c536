"""Optimised (``_linux-x86_64``, int8 per layer) vs portable (fp32) variants: speed and agreement, same run.

    python -m bench.variants [--models e5,sparse] [--docs 64] [--reps 3] [--threads 1]

Corpora: ``scifact`` (abstracts, the real long-text mix) and ``mixed`` (SciFact titles, test queries and
abstracts interleaved: very different lengths). Speed: the two variants run round-robin on the same thread count,
``--reps`` times each; docs/s are medians and the ratio is taken within the run (the machine is shared and noisy).
Agreement with fp32 on the same texts: dense models by mean cosine; the sparse model by cosine of the weight
vectors, top-20 token overlap, and ranking agreement of query·document dot products (top-10 overlap over the
corpus, SciFact test queries). Gates: mean cosine >= 0.99, speed-up >= 1.6x.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.data import load_corpus, load_queries, log, sample_texts
from bench.sensitivity import agreement
from ingest.models.cache import ensure_variant
from ingest.models.catalogue import ELSER_COMPATIBLE_SPLADE, MULTILINGUAL_E5_SMALL, ModelSpec, ModelVariant
from ingest.models.runtime import LocalModel

GATE_COSINE, GATE_SPEEDUP = 0.99, 1.6


def mixed_texts(count: int) -> list[str]:
    """Titles, queries and abstracts interleaved (a third each): the mixed-length corpus."""
    _, corpus = load_corpus()
    _, queries, _ = load_queries()
    titles = [t.split(". ")[0][:120] for t in corpus[1::97]]
    abstracts = sample_texts(count)
    out: list[str] = []
    for i in range(count):
        source = (titles, queries, abstracts)[i % 3]
        out.append(source[(i // 3) % len(source)])
    return out


def _rank_overlap(qf: np.ndarray, df: np.ndarray, qi: np.ndarray, di: np.ndarray, k: int = 10) -> float:
    top_f = np.argsort(-(qf @ df.T), axis=1)[:, :k]
    top_i = np.argsort(-(qi @ di.T), axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top_f, top_i, strict=True)]))


def compare(spec: ModelSpec, corpora: dict[str, list[str]], reps: int, threads: int) -> list[str]:
    """Result lines for one model: docs/s of both variants per corpus, the ratio, and agreement."""
    assert spec.optimized_id
    portable = LocalModel(ensure_variant(ModelVariant(spec.model_id, spec, False), log), threads=threads)
    optimised = LocalModel(ensure_variant(ModelVariant(spec.optimized_id, spec, True), log), threads=threads)
    lines = []
    sparse = spec.dims is None
    for name, texts in corpora.items():
        ref, got = portable.embed_arrays(texts, "ingest"), optimised.embed_arrays(texts, "ingest")  # warm-up
        quality = agreement(ref, got, sparse)
        if sparse:
            _, queries, _ = load_queries()
            qs = queries[:50]
            quality["top10_ranking"] = _rank_overlap(portable.embed_arrays(qs, "search"), ref,
                                                     optimised.embed_arrays(qs, "search"), got)
        times: dict[str, list[float]] = {"portable": [], "optimised": []}
        cpu: dict[str, list[float]] = {"portable": [], "optimised": []}
        for _ in range(reps):  # round-robin: both variants see the same machine state
            for label, model in (("portable", portable), ("optimised", optimised)):
                start, cpu_start = time.perf_counter(), time.process_time()
                model.embed_arrays(texts, "ingest")
                times[label].append(time.perf_counter() - start)
                cpu[label].append(time.process_time() - cpu_start)
        dps = {k: len(texts) / statistics.median(v) for k, v in times.items()}
        ratio = dps["optimised"] / dps["portable"]
        # CPU seconds are what a busy shared machine cannot distort much (threads=1 runs on this thread)
        cpu_ratio = statistics.median(cpu["portable"]) / statistics.median(cpu["optimised"])
        ok = quality["cosine"] >= GATE_COSINE and ratio >= GATE_SPEEDUP
        figures = ", ".join(f"{k} {v:.4f}" for k, v in quality.items())
        lines.append(f"{spec.model_id:<24} {name:<8} {len(texts):>5} {dps['portable']:>9.2f} "
                     f"{dps['optimised']:>9.2f} {ratio:>6.2f}x {cpu_ratio:>6.2f}x  {figures}  "
                     f"{'ok' if ok else 'GATE MISSED'}")
        log(lines[-1])
    portable.close()
    optimised.close()
    return lines


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.variants", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="e5,sparse")
    parser.add_argument("--docs", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    corpora = {"scifact": sample_texts(args.docs), "mixed": mixed_texts(args.docs)}
    chosen = {"e5": MULTILINGUAL_E5_SMALL, "sparse": ELSER_COMPATIBLE_SPLADE}
    lines = [f"optimised vs portable, {args.threads} thread(s), median of {args.reps} round-robin reps",
             f"{'model':<24} {'corpus':<8} {'docs':>5} {'fp32 d/s':>9} {'int8 d/s':>9} {'ratio':>7} {'cpu':>7}"
             "  agreement"]
    for name in args.models.split(","):
        lines += compare(chosen[name.strip()], corpora, args.reps, args.threads)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
