"""Ray executor inputs and outputs: malformed rows and damaged files go to the dead-letter store (not a failed
Ray job), and ``--dest file://`` goes through the job's single writer (real two-node cluster)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ingest.deadletter.store import DeadLetterStore
from tests.ray.cluster import LocalRayCluster
from tests.ray.conftest import environ, run_ingest, summary_of, write_splits


def test_malformed_json_and_csv_rows_are_dead_lettered_and_the_rest_indexed(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    jsonl = write_splits(tmp_path / "jsonl", files=3, per_file=10)
    part = jsonl / "part-001.jsonl"
    part.write_text(part.read_text() + '{"doc_id": "broken", "text": \n"just a string"\n'
                    + json.dumps({"doc_id": "mixed", "text": "t", "n": "not a number"}) + "\n")
    whole = gzip.compress(b"".join(json.dumps({"doc_id": f"z{i}", "text": "x"}).encode() + b"\n" for i in range(3000)))
    (jsonl / "part-003.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # truncated
    run = run_ingest(ray_cluster, "run", "--source", str(jsonl), "--index", "rows-json", "--id-field", "doc_id",
                     "--job-id", "ray-bad-json", "--executor", "ray", "--address", ray_cluster.address, env=environ())
    assert run.returncode == 1, run.stderr[-3000:]
    summary = summary_of(run.stdout, run.stderr)
    # 30 good; "mixed" hits the long mapping of n; a broken line, a non-object line, the truncated file
    assert (summary["indexed"], summary["failed"]) == (30, 4), summary
    letters = DeadLetterStore().entries("ray-bad-json")
    reasons = sorted(e.reason for e in letters)
    assert any(f"{part}:11: invalid JSON" in r for r in reasons), reasons
    assert any(f"{part}:12: a document must be a JSON object" in r for r in reasons), reasons
    assert any("failed to parse field [n] of type [long]" in r for r in reasons), reasons
    assert any(r.startswith(f"file [{jsonl / 'part-003.jsonl.gz'}] cannot be read: EOFError") for r in reasons)

    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "a.csv").write_text("doc_id,title,n\n" + "".join(f"a{i},row {i},{i}\n" for i in range(10))
                               + "bad,too,many,fields\n" + "a10,row 10,10\n", encoding="utf-8")
    (csv / "b.csv").write_text("doc_id,title,n\n" + "".join(f"b{i},row {i},{i}\n" for i in range(5)), encoding="utf-8")
    run = run_ingest(ray_cluster, "run", "--source", str(csv), "--index", "rows-csv", "--id-field", "doc_id",
                     "--job-id", "ray-bad-csv", "--executor", "ray", "--address", ray_cluster.address, env=environ())
    assert run.returncode == 1, run.stderr[-3000:]
    assert (summary_of(run.stdout, run.stderr)["indexed"], summary_of(run.stdout, run.stderr)["failed"]) == (16, 1)
    (letter,) = DeadLetterStore().entries("ray-bad-csv")
    assert "expected 3 fields, found 4" in letter.reason and "bad,too,many,fields" in letter.content


def test_file_destination_from_several_workers_goes_through_one_writer(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    data = write_splits(tmp_path / "data", files=6, per_file=25)
    out = tmp_path / "out" / "docs.jsonl"
    run = run_ingest(ray_cluster, "run", "--source", str(data), "--index", "files", "--id-field", "doc_id",
                     "--dest", f"file://{out}", "--executor", "ray", "--address", ray_cluster.address,
                     "--concurrency", "2,3", env=environ())
    assert run.returncode == 0, run.stderr[-3000:]
    assert summary_of(run.stdout, run.stderr)["indexed"] == 150
    ids = [json.loads(line)["_id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == sorted(f"d{i}" for i in range(150))  # every document once


def test_max_errors_default_stops_a_ray_job_whose_documents_all_fail_alike(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    data = write_splits(tmp_path / "data", files=6, per_file=400)
    pipeline = tmp_path / "typo.json"
    pipeline.write_text(json.dumps({"processors": [{"lowercase": {"field": "txet"}}]}), encoding="utf-8")
    run = run_ingest(ray_cluster, "run", "--source", str(data), "--index", "typo", "--id-field", "doc_id",
                     "--pipeline", str(pipeline), "--job-id", "ray-typo", "--executor", "ray",
                     "--address", ray_cluster.address, "--concurrency", "1", env=environ())
    assert run.returncode == 2, run.stderr[-3000:]
    assert "all failed with the same error" in run.stderr and "--max-errors" in run.stderr
    assert "field [txet] not present as part of path [txet]" in run.stderr
    assert 1000 <= DeadLetterStore().count("ray-typo") < 2400


def test_corrupt_parquet_file_is_dead_lettered_and_the_others_indexed(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "parquet"
    data.mkdir()
    pq.write_table(pa.table({"doc_id": [f"a{i}" for i in range(12)], "n": list(range(12))}), data / "a.parquet")
    (data / "b.parquet").write_bytes(b"PAR1" + b"\x00not parquet" * 40 + b"PAR1")
    pq.write_table(pa.table({"doc_id": [f"c{i}" for i in range(8)], "n": list(range(8))}), data / "c.parquet")
    run = run_ingest(ray_cluster, "run", "--source", str(data), "--index", "pq", "--id-field", "doc_id",
                     "--job-id", "ray-pq", "--executor", "ray", "--address", ray_cluster.address, env=environ())
    assert run.returncode == 1, run.stderr[-3000:]
    summary = summary_of(run.stdout, run.stderr)
    assert (summary["indexed"], summary["failed"]) == (20, 1)
    assert summary["unreadable_files"] == [str(data / "b.parquet")]
    assert f"file [{data / 'b.parquet'}] could not be read" in run.stderr
    (letter,) = DeadLetterStore().entries("ray-pq")
    assert letter.reason.startswith(f"file [{data / 'b.parquet'}] cannot be read: ")
