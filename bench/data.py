"""SciFact from ../shared/data/scifact (never copied into the repository) and timing helpers."""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

SCIFACT = Path(os.environ.get("SCIFACT_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"))


def require_scifact() -> Path:
    """The SciFact folder, or exit with a clear message when it is absent."""
    if not (SCIFACT / "corpus.jsonl.gz").exists():
        sys.exit(f"SciFact not found at {SCIFACT} (set SCIFACT_DIR to the folder holding corpus.jsonl.gz)")
    return SCIFACT


def load_corpus() -> tuple[list[str], list[str]]:
    """Document ids and texts, each text ``title + " " + text`` as in the BEIR protocol."""
    ids, texts = [], []
    with gzip.open(require_scifact() / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            ids.append(doc["_id"])
            texts.append(f"{doc['title']} {doc['text']}".strip())
    return ids, texts


def load_queries() -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
    """Test query ids, texts and relevance judgments ``{query_id: {doc_id: grade}}``."""
    folder = require_scifact()
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, grade = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(grade)
    qids, qtexts = [], []
    for line in (folder / "queries_test.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q["_id"] in qrels:
            qids.append(q["_id"])
            qtexts.append(q["text"])
    return qids, qtexts, qrels


def sample_texts(count: int, seed_stride: int = 7) -> list[str]:
    """A deterministic spread of ``count`` SciFact documents (every k-th), keeping the real length mix."""
    _, texts = load_corpus()
    step = max(1, len(texts) // count)
    return [texts[(i * step + seed_stride) % len(texts)] for i in range(count)]


def median_time(run: Callable[[], object], reps: int) -> float:
    """Median wall time of ``reps`` runs of ``run`` (after the caller's warm-up)."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def log(message: str) -> None:
    """Progress to stderr; the results table goes to stdout."""
    print(message, file=sys.stderr, flush=True)
