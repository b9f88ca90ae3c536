"""A truncated ``.jsonl.gz`` or a corrupt Parquet file is dead-lettered whole (named, with its reason) and the
job goes on with the other files (real CLI subprocesses)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.jobs.helpers import ingest, summary_of


def _lines(start: int, n: int) -> bytes:
    return b"".join(json.dumps({"id": f"d{i}", "text": f"t{i}"}).encode() + b"\n" for i in range(start, start + n))


def _letters(env: dict[str, str], job: str) -> list[dict]:
    listed = ingest("dead-letter", "list", "--job-id", job, env=env)
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_truncated_gzip_is_dead_lettered_and_the_other_files_are_indexed(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jsonl.gz").write_bytes(gzip.compress(_lines(0, 20)))
    whole = gzip.compress(_lines(20, 2000))
    (data / "b.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # cut off mid-stream
    (data / "c.jsonl.gz").write_bytes(gzip.compress(_lines(5000, 30)))
    proc = ingest("run", "--source", str(data), "--index", "docs", "--id-field", "id", "--job-id", "gz", env=env)
    assert proc.returncode == 1, proc.stderr
    summary = summary_of(proc)
    assert summary["unreadable_files"] == [str(data / "b.jsonl.gz")]
    assert summary["indexed"] == 50 and summary["failed"] == 1
    assert f"file [{data / 'b.jsonl.gz'}] could not be read" in proc.stderr
    (letter,) = _letters(env, "gz")
    assert letter["error"]["reason"].startswith(f"file [{data / 'b.jsonl.gz'}] cannot be read: EOFError")
    assert "none of it is indexed" in letter["error"]["reason"]


def test_corrupt_parquet_is_dead_lettered_and_the_other_files_are_indexed(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.table({"id": [f"a{i}" for i in range(10)], "n": list(range(10))}), data / "a.parquet")
    (data / "b.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 50 + b"PAR1")
    pq.write_table(pa.table({"id": [f"c{i}" for i in range(7)], "n": list(range(7))}), data / "c.parquet")
    proc = ingest("run", "--source", str(data), "--index", "docs", "--id-field", "id", "--job-id", "pq", env=env)
    assert proc.returncode == 1, proc.stderr
    summary = summary_of(proc)
    assert summary["unreadable_files"] == [str(data / "b.parquet")]
    assert (summary["indexed"], summary["failed"]) == (17, 1)
    (letter,) = _letters(env, "pq")
    assert letter["error"]["reason"].startswith(f"file [{data / 'b.parquet'}] cannot be read: ")
    assert letter["content"] == str(data / "b.parquet")
