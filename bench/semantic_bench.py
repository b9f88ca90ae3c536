"""What ``semantic_text`` costs on top of the inference it needs: the same documents written to the embedded store
(a) into an index mapping a ``semantic_text`` field (``ingest.semantic.enrich``: chunking, one call per request,
``_inference_fields``, the per-action write) and (b) embedded by one direct ``infer`` call and written as plain
documents with their vector — the floor. Alternating, medians, on the tiny seeded test model (so the model's own
time does not hide the machinery); also a rewrite of unchanged text (stored chunks reused: no model call).

``python -m bench.semantic_bench [--docs 2000] [--reps 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _docs(n: int) -> list[dict[str, Any]]:
    words = ["the cat sat on the mat", "a dog", "hello world", "search query", "passage"]
    return [{"id": f"d{i}", "body": f"{words[i % 5]} {i} " * 3, "n": i} for i in range(n)]


def _run(api: Any, folder: Path, docs: list[dict[str, Any]], semantic: bool, index: str) -> tuple[float, float]:
    from ingest.context import AppContext
    from ingest.sinks.base import BulkAction

    store: Any = AppContext(api=api).open_sink(f"embedded://{folder / 'db.duckdb'}")
    try:
        store.ensure_index(index, {})
        if semantic:
            store.put_mapping(index, {"body": {"type": "semantic_text", "inference_id": "bench-tiny"}}, {})
        start = time.perf_counter()
        for lo in range(0, len(docs), 500):
            part = docs[lo:lo + 500]
            if semantic:
                actions = [BulkAction("index", index, d["id"], d) for d in part]
            else:
                vectors = api.infer("bench-tiny", [d["body"] for d in part], input_type="ingest").embeddings
                actions = [BulkAction("index", index, d["id"], {**d, "vec": v.tolist()})
                           for d, v in zip(part, vectors, strict=True)]
            assert all(r.ok for r in store.write(actions))
        first = time.perf_counter() - start
        start = time.perf_counter()
        if semantic:  # the same text again: stored chunks reused
            for lo in range(0, len(docs), 500):
                assert all(r.ok for r in store.write([BulkAction("index", index, d["id"], d)
                                                      for d in docs[lo:lo + 500]]))
        return first, time.perf_counter() - start
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    """Print docs/s medians of each way and their ratio."""
    from ingest.models.api import InferenceAPI
    from ingest.models.imported import import_model
    from ingest.models.results import TaskType
    from tests.models.tiny import make_tiny_model

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    docs = _docs(args.docs)
    saved = os.environ.get("INGEST_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["INGEST_HOME"] = home
        try:
            built = make_tiny_model(Path(home) / "tiny", TaskType.TEXT_EMBEDDING)
            import_model(built.onnx_path, "bench-tiny", TaskType.TEXT_EMBEDDING)
            api = InferenceAPI()
            api.put("bench-tiny", {"service": "elasticsearch", "chunking_settings": {"strategy": "none"},
                                   "service_settings": {"model_id": "bench-tiny", "num_allocations": 1,
                                                        "num_threads": 1}}, task_type="text_embedding")
            semantic: list[float] = []
            plain: list[float] = []
            again: list[float] = []
            _run(api, Path(home), docs[:500], True, "warm-s")
            _run(api, Path(home), docs[:500], False, "warm-p")
            for rep in range(args.reps):
                for sem in ((True, False) if rep % 2 else (False, True)):
                    first, second = _run(api, Path(home), docs, sem, f"i{rep}{int(sem)}")
                    (semantic if sem else plain).append(len(docs) / first)
                    if sem:
                        again.append(len(docs) / second)
            api.close()
        finally:
            if saved is None:
                os.environ.pop("INGEST_HOME", None)
            else:
                os.environ["INGEST_HOME"] = saved
    s, p, a = statistics.median(semantic), statistics.median(plain), statistics.median(again)
    print(f"{'way':44} {'docs/s (median)':>16} {'vs floor':>9}")
    print(f"{'infer + plain write (floor)':44} {p:16.0f} {1.0:9.2f}")
    print(f"{'semantic_text field':44} {s:16.0f} {s / p:9.2f}")
    print(f"{'semantic_text, unchanged text rewritten':44} {a:16.0f} {a / p:9.2f}")


if __name__ == "__main__":
    main()
