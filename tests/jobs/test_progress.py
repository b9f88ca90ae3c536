"""Progress counts acknowledged documents (not rows read), with docs/s and an ETA."""

from __future__ import annotations

import gzip
import io
import json
import time
from pathlib import Path
from typing import Any

from ingest.jobs import JobConfig, run_job
from ingest.jobs.progress import JsonLinesReporter, Rate
from ingest.sinks.embedded import EmbeddedStore
from ingest.sources import open_source
from tests.jobs.helpers import docs, write_jsonl


class _SlowStore(EmbeddedStore):
    """The embedded store, taking its time per bulk (like a model embedding or a busy cluster)."""

    def write(self, actions: list[Any]) -> list[Any]:
        time.sleep(0.15)
        return super().write(actions)

    def write_batch(self, index: str, table: Any, ids: list[str], op: Any = "index") -> list[Any]:
        time.sleep(0.15)
        return super().write_batch(index, table, ids, op)


class _Recorder:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.lines = io.StringIO()
        self.json = JsonLinesReporter(self.lines, every_s=0.0, total=1500)

    def update(self, counts: dict[str, Any]) -> None:
        self.updates.append(dict(counts))
        self.json.update(counts)

    def finish(self, summary: dict[str, Any]) -> None:
        self.json.finish(summary)


def test_progress_moves_with_acknowledged_documents_and_gives_an_eta(ingest_home: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", docs(1500))
    recorder = _Recorder()
    store = _SlowStore()
    try:
        config = JobConfig(source=str(source), index="p", id_field="doc_id", bulk_docs=50,
                           source_options={"batch_size": 50})
        summary = run_job(config, source=open_source(str(source), batch_size=50), sink=store, reporter=recorder)
    finally:
        store.close()
    assert summary.indexed == 1500
    lines = [json.loads(ln) for ln in recorder.lines.getvalue().splitlines()]
    progress = [ln for ln in lines if ln["event"] == "progress"]
    assert any(p["read"] - p["done"] >= 100 for p in progress)  # reading ran ahead of the sink...
    assert len({p["done"] for p in progress}) >= 10  # ...and the count kept moving with the acknowledgements
    assert all(p["done"] == p["indexed"] + p["failed"] + p["dropped"] for p in progress)
    moving = [p for p in progress if p["done"] and p["eta_s"] is not None]
    assert moving and all(p["total"] == 1500 and p["docs_per_s"] > 0 for p in moving)


def test_rate_is_over_a_window_and_eta_needs_a_total() -> None:
    now = [0.0]
    rate = Rate(window_s=10, clock=lambda: now[0])
    rate.add(0)
    now[0] = 30.0
    rate.add(0)  # a slow start (model load) ...
    for t in range(31, 41):
        now[0] = float(t)
        r = rate.add((t - 30) * 100)
    assert 95 <= r <= 105  # ... does not drag the rate once it is out of the window
    assert Rate.eta_s(1000, 2000, 100.0) == 10.0
    assert Rate.eta_s(1000, None, 100.0) is None


def test_text_sources_estimate_their_rows(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"id": i, "text": "x" * (i % 7)}) + "\n" for i in range(3000))
    (tmp_path / "a.jsonl").write_text(lines)
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as out:
        out.write(lines)
    source = open_source(str(tmp_path / "*.json*"))
    assert source.total_rows() is None
    estimate = source.estimated_rows()
    assert estimate is not None and 5700 <= estimate <= 6300
