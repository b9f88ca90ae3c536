"""Per-layer int8 sensitivity: which MatMul groups the optimised (``_linux-x86_64``) builds keep in fp32.

    python -m bench.sensitivity [--models e5,sparse] [--threads N] [--texts 48]

For each weight group (``layer<N>.attention``, ``layer<N>.ffn``, ``embeddings``, ``mlm.*``; see
``models.convert.quantize``) the model is quantised with only that group in int8 and compared to fp32 on held-in
text: ``sample_data`` documents and queries plus SciFact abstracts (the retrieval check's *queries* are never
used). Dense models are compared by mean cosine, sparse ones by cosine of the weight vectors and top-20 token
overlap. The groups whose damage (1 − cosine) is an outlier — over ``--outlier`` × the median group's — are
the ones to keep in fp32; the script then builds the model with every other group in int8 and prints the
result, and the tuple to record as ``int8_fp32_groups`` in ``models/catalogue.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
from pathlib import Path

import numpy as np

from bench.data import load_corpus, log
from ingest.models.cache import BuiltModel, ensure_built
from ingest.models.catalogue import ELSER_COMPATIBLE_SPLADE, MULTILINGUAL_E5_SMALL, ModelSpec
from ingest.models.convert.quantize import quantize_int8, weight_groups
from ingest.models.runtime import LocalModel

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def held_in_texts(count: int) -> list[str]:
    """Mixed-length held-in text: sample documents, sample queries and SciFact abstracts (a third each)."""
    docs = [json.loads(line) for line in (SAMPLE / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [q for q in (SAMPLE / "queries.txt").read_text(encoding="utf-8").splitlines() if q.strip()]
    _, corpus = load_corpus()
    third = count // 3
    texts = [f"{d['title']} {d['body']}" for d in docs[:third]] + queries[:third]
    texts += corpus[-(count - len(texts)):]  # the corpus tail: any abstracts, never the evaluation queries
    return texts


def agreement(ref: np.ndarray, got: np.ndarray, sparse: bool) -> dict[str, float]:
    """Mean cosine to the reference rows (and, for sparse rows, mean top-20 token overlap)."""
    dot = (ref * got).sum(1)
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1)
    out = {"cosine": float(np.mean(dot / np.maximum(norms, 1e-12)))}
    if sparse:
        k = 20
        top_ref, top_got = np.argsort(-ref, axis=1)[:, :k], np.argsort(-got, axis=1)[:, :k]
        out["top20"] = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top_ref, top_got, strict=True)]))
    return out


def _run(built: BuiltModel, onnx_path: Path, texts: list[str], threads: int) -> np.ndarray:
    variant = BuiltModel(built.spec, onnx_path, built.tokenizer_path, "sensitivity", True)
    with LocalModel(variant, threads=threads) as model:
        return model.embed_arrays(texts, "ingest")


def analyse(spec: ModelSpec, texts: list[str], threads: int, outlier: float) -> tuple[str, ...]:
    """Print each group's solo damage and the chosen build's agreement; the groups to keep in fp32."""
    import onnx

    base = ensure_built(spec, progress=log)
    sparse = spec.dims is None
    with LocalModel(base, threads=threads) as model:
        ref = model.embed_arrays(texts, "ingest")
    groups = list(weight_groups(onnx.load(str(base.onnx_path), load_external_data=False)))
    damage: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.onnx"
        for group in groups:
            quantize_int8(base.onnx_path, out, keep_fp32=[g for g in groups if g != group])
            score = agreement(ref, _run(base, out, texts, threads), sparse)
            damage[group] = 1.0 - score["cosine"]
            log(f"  {spec.model_id} only {group} int8: {score}")
        median = statistics.median(damage.values())
        keep = tuple(sorted(g for g, d in damage.items() if d > outlier * median))
        quantize_int8(base.onnx_path, out, keep_fp32=())
        full = agreement(ref, _run(base, out, texts, threads), sparse)
        quantize_int8(base.onnx_path, out, keep_fp32=keep)
        chosen = agreement(ref, _run(base, out, texts, threads), sparse)
    print(f"\n{spec.model_id}: {len(texts)} held-in texts, {len(groups)} groups; solo damage (1 - cosine):")
    for group, d in sorted(damage.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<22} {d:.2e}{'  keep fp32' if group in keep else ''}")
    print(f"  all int8: {full}\n  keeping {list(keep)} in fp32: {chosen}")
    print(f"  int8_fp32_groups={keep!r}")
    return keep


def main(argv: list[str] | None = None) -> None:
    """Measure the chosen models' per-group sensitivity and print the fp32 groups to record."""
    parser = argparse.ArgumentParser(prog="python -m bench.sensitivity", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="e5,sparse", help="comma list of e5, sparse")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=48)
    parser.add_argument("--outlier", type=float, default=5.0, help="keep groups with damage over this × median")
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime.quantization's advice to pre-process, per build
    chosen = {"e5": MULTILINGUAL_E5_SMALL, "sparse": ELSER_COMPATIBLE_SPLADE}
    texts = held_in_texts(args.texts)
    for name in args.models.split(","):
        analyse(chosen[name.strip()], texts, args.threads, args.outlier)


if __name__ == "__main__":
    main()
