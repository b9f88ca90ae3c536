"""One home, a server and CLI jobs at the same time (issue 14 item 4, first step): real processes throughout.

``ingest serve`` records itself in the home; ``ingest run`` into the embedded store then goes through the
server's ``_bulk`` instead of opening DuckDB (which admits one process), a second server is refused by name,
and ``ingest export``/``ingest indices`` read the store with or without a server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.cli.conftest import Server
from tests.jobs.helpers import ROOT, ingest, write_jsonl
from tests.servers import free_port

pytestmark = [pytest.mark.timeout(600)]


def _docs(path: Path, n: int, prefix: str = "d") -> Path:
    return write_jsonl(path, [{"id": f"{prefix}{i}", "text": f"text {i}", "n": i} for i in range(n)])


def _no_lock_error(proc: subprocess.CompletedProcess[str] | str) -> None:
    text = proc if isinstance(proc, str) else proc.stderr + proc.stdout
    assert "lock" not in text.lower(), text


def test_serve_records_itself_and_a_second_serve_is_refused(server: Server, home: Path, tmp_path: Path) -> None:
    info = home / "serve.json"
    assert stat.S_IMODE(info.stat().st_mode) == 0o600
    recorded = json.loads(info.read_text())
    assert recorded["pid"] == server.proc.pid and recorded["url"] == server.url and recorded["owns_store"] is True
    second = ingest("serve", "--port", str(free_port()), env={"INGEST_HOME": str(home)})
    assert second.returncode == 3, second.stderr
    assert f"pid {server.proc.pid}" in second.stderr and server.url in second.stderr
    _no_lock_error(second)
    assert json.loads(info.read_text()) == recorded  # the refused server left the record alone
    assert server.stop() in (0, -signal.SIGTERM)
    assert not info.exists()  # removed on clean exit
    assert recorded["token"] not in (tmp_path / "serve.log").read_text()


def test_a_stale_record_of_a_killed_server_is_ignored(server: Server, home: Path) -> None:
    server.stop(signal.SIGKILL)
    assert (home / "serve.json").exists()  # nobody removed it
    docs = _docs(home.parent / "docs.jsonl", 20)
    proc = ingest("run", "--source", str(docs), "--index", "direct", "--id-field", "id", env={"INGEST_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    listed = ingest("indices", "list", "--json", env={"INGEST_HOME": str(home)})
    assert json.loads(listed.stdout) == [{"index": "direct", "docs.count": 20}]


def test_two_jobs_at_once_go_through_the_running_server(server: Server, home: Path) -> None:
    env = {"INGEST_HOME": str(home)}
    files = [_docs(home.parent / f"docs{j}.jsonl", 3000, prefix=f"j{j}-") for j in range(2)]
    jobs = [subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "run", "--source", str(f), "--index",
                              f"both{j}", "--id-field", "id"], cwd=ROOT, env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for j, f in enumerate(files)]
    for job in jobs:
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
        _no_lock_error(out + err)
        assert json.loads(out.splitlines()[-1])["indexed"] == 3000
    assert [server.count("both0"), server.count("both1")] == [3000, 3000]
    listed = ingest("indices", "list", "--json", env=env)  # through the server too
    assert json.loads(listed.stdout) == [{"index": "both0", "docs.count": 3000}, {"index": "both1", "docs.count": 3000}]


def _count_or_zero(server: Server, index: str) -> int:
    with contextlib.suppress(OSError):  # 404 until the index exists
        return server.count(index)
    return 0


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)])
def test_a_job_killed_mid_run_stops_in_the_server_and_resumes_with_nothing_lost(
        server: Server, home: Path, sig: int, code: int) -> None:
    env = {**os.environ, "INGEST_HOME": str(home)}
    n = 100_000
    docs = _docs(home.parent / "big.jsonl", n)
    args = [sys.executable, "-m", "ingest.cli.main", "run", "--source", str(docs), "--index", "big",
            "--id-field", "id", "--job-id", "big", "--bulk-docs", "500", "--batch-size", "500"]
    # SIGINT as a terminal delivers it: a runner that started the tests in the background (``nohup … &``) leaves
    # it ignored, which children inherit, and Python then installs no KeyboardInterrupt (the job ran on, exit 0)
    job = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while _count_or_zero(server, "big") == 0 and job.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job.send_signal(sig)
    assert job.wait(30) == code
    if sig == signal.SIGINT:
        assert job.stderr is not None and "continue with: --resume --job-id big" in job.stderr.read()
    # the server runs the job; the CLI gone, the server stops it (the stream's disconnect cancels it)
    time.sleep(2)
    killed_at = server.count("big")
    time.sleep(2)
    assert server.count("big") == killed_at < n, "the job went on without its CLI (or finished: make it longer)"
    resumed = ingest("run", *args[4:], "--resume", env={"INGEST_HOME": str(home)}, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    _no_lock_error(resumed)
    summary = json.loads(resumed.stdout.splitlines()[-1])
    assert summary["read"] == summary["indexed"] == n and summary["completed"] is True
    assert server.count("big") == n


def test_read_only_queries_are_answered_while_a_job_writes(server: Server, home: Path, tmp_path: Path) -> None:
    n = 100_000
    docs = _docs(tmp_path / "big.jsonl", n)
    job = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "run", "--source", str(docs), "--index", "busy",
                            "--id-field", "id", "--bulk-docs", "500", "--batch-size", "500"], cwd=ROOT,
                           env={**os.environ, "INGEST_HOME": str(home)}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    counts, hits, slowest = [], [], 0.0
    deadline = time.monotonic() + 240
    while job.poll() is None:
        assert time.monotonic() < deadline
        start = time.monotonic()
        count = _count_or_zero(server, "busy")
        if count:
            search = urllib.request.Request(server.url + "/busy/_search", method="POST",
                                            headers={"content-type": "application/json"},
                                            data=json.dumps({"query": {"range": {"n": {"lt": 10}}}}).encode())
            with urllib.request.urlopen(search, timeout=30) as resp:
                hits.append(json.loads(resp.read())["hits"]["total"]["value"])
            slowest = max(slowest, time.monotonic() - start)
            if job.poll() is None:
                counts.append(count)
        time.sleep(0.05)
    out, err = job.communicate()
    assert job.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["indexed"] == n
    assert len(counts) >= 3 and any(0 < c < n for c in counts), counts  # answered while the job wrote
    assert counts == sorted(counts) and set(hits) <= {10}, (counts, hits)  # nothing seen half-written
    assert slowest < 10, slowest
    assert server.count("busy") == n


def test_a_job_with_relative_paths_runs_in_the_server_as_the_cli_names_them(
        server: Server, home: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _docs(work / "docs.jsonl", 50)
    (work / "tag.json").write_text(json.dumps({"processors": [{"set": {"field": "tag", "value": "{{id}}!"}}]}))
    job = subprocess.run([sys.executable, "-m", "ingest.cli.main", "run", "--source", "docs.jsonl", "--pipeline",
                          "tag.json", "--index", "rel", "--id-field", "id"], cwd=work, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "INGEST_HOME": str(home)}, timeout=300)
    assert job.returncode == 0, job.stderr
    summary = json.loads(job.stdout.splitlines()[-1])
    assert summary["indexed"] == 50 and summary["ingest"]["total"]["count"] == 50
    assert server.get("/rel/_doc/d7")["_source"]["tag"] == "d7!"
    missing = subprocess.run([sys.executable, "-m", "ingest.cli.main", "run", "--source", "docs.jsonl", "--pipeline",
                              "nothere", "--index", "rel2"], cwd=work, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "INGEST_HOME": str(home)}, timeout=300)
    assert missing.returncode == 2  # the server's failure, reported as a job alone reports it
    assert json.loads(missing.stderr.splitlines()[-1])["error"]["type"] == "resource_not_found_exception"
    assert "/_ingest_local/job" in (tmp_path / "serve.log").read_text()


def test_a_job_whose_server_is_killed_waits_and_goes_on_with_the_restarted_one(
        server: Server, home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "INGEST_HOME": str(home)}
    n = 100_000  # the server runs the job at tens of thousands of docs/s: long enough to be killed mid-way
    docs = _docs(home.parent / "big.jsonl", n)
    job = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "run", "--source", str(docs), "--index", "k",
                            "--id-field", "id", "--bulk-docs", "500", "--batch-size", "500"],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    seen = 0
    while seen == 0:
        assert time.monotonic() < deadline and job.poll() is None
        time.sleep(0.2)
        with contextlib.suppress(OSError):
            seen = server.count("k")
    server.stop(signal.SIGKILL)
    assert job.poll() is None  # the job waits the outage out (unavailable_timeout_s) rather than failing
    restarted = Server(home, tmp_path / "serve2.log")  # a new port and a new token: found through the home
    try:
        out, err = job.communicate(timeout=400)
        assert job.returncode == 0, err
        summary = json.loads(out.splitlines()[-1])
        assert summary["indexed"] == n and summary["requests_retried"] >= 1
        _no_lock_error(err)
        assert restarted.count("k") == n
    finally:
        restarted.stop()


def test_export_round_trip_with_vectors(server: Server, home: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    env = {"INGEST_HOME": str(home)}
    request = urllib.request.Request(server.url + "/vec", method="PUT", headers={"content-type": "application/json"},
                                     data=json.dumps({"mappings": {"properties": {
                                         "v": {"type": "dense_vector", "dims": 3}}}}).encode())
    urllib.request.urlopen(request, timeout=30).read()
    body = "".join(json.dumps({"index": {"_index": "vec", "_id": f"v{i}"}}) + "\n"
                   + json.dumps({"v": [i, 0.5, -1.0], "name": f"n{i}", "tags": {"a": i}}) + "\n" for i in range(50))
    bulk = urllib.request.Request(server.url + "/_bulk?refresh=true", method="POST", data=body.encode(),
                                  headers={"content-type": "application/x-ndjson"})
    assert json.loads(urllib.request.urlopen(bulk, timeout=30).read())["errors"] is False
    server.stop()
    out = tmp_path / "vec.parquet"
    proc = ingest("export", "vec", "--format", "parquet", "--output", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(out)
    assert str(table.schema.field("v").type) == "list<element: float>"
    rows = {r["_id"]: r for r in table.to_pylist()}
    assert len(rows) == 50 and rows["v7"]["v"] == [7.0, 0.5, -1.0] and rows["v7"]["tags"] == {"a": 7}
    lines = ingest("export", "vec", "--format", "jsonl", env=env).stdout.splitlines()
    assert sorted(json.loads(line)["_id"] for line in lines) == sorted(rows)
    copy = ingest("run", "--source", str(out), "--index", "copy", "--id-field", "_id", env=env)
    assert copy.returncode == 0, copy.stderr
    again = tmp_path / "copy.parquet"
    assert ingest("export", "copy", "-o", str(again), env=env).returncode == 0
    copied = {r["_id"]: r for r in pq.read_table(again).to_pylist()}
    assert {k: (v["v"], v["name"]) for k, v in copied.items()} == {k: (v["v"], v["name"]) for k, v in rows.items()}
    deleted = ingest("indices", "delete", "cop*", "--yes", env=env)
    assert json.loads(deleted.stdout) == {"acknowledged": True}
    assert [r["index"] for r in json.loads(ingest("indices", "list", "--json", env=env).stdout)] == ["vec"]


def test_the_local_token_lets_the_cli_through_with_security_enabled(home: Path, tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(home)}
    assert ingest("security", "enable", "--audit", env=env).returncode == 0
    server = Server(home, tmp_path / "serve.log")
    try:
        token = json.loads((home / "serve.json").read_text())["token"]

        def status(auth: str | None) -> int:
            headers = {"authorization": auth} if auth else {}
            try:
                with urllib.request.urlopen(urllib.request.Request(server.url + "/_cat/indices", headers=headers),
                                            timeout=30) as resp:
                    return int(resp.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert status(None) == 401
        assert status(f"ApiKey {token[:-1]}x") == 401  # a wrong token is nobody
        assert status(f"ApiKey {token}") == 200  # from 127.0.0.1: the local client
        proc = ingest("run", "--source", str(_docs(tmp_path / "docs.jsonl", 100)), "--index", "secured",
                      "--id-field", "id", env=env)
        assert proc.returncode == 0, proc.stderr
        assert token not in proc.stdout + proc.stderr
        listed = ingest("indices", "list", "--json", env=env)
        assert json.loads(listed.stdout) == [{"index": "secured", "docs.count": 100}]
    finally:
        server.stop()
    logs = [(tmp_path / "serve.log").read_text()] + [p.read_text() for p in (home / "logs").glob("*")]
    assert not any(token in text for text in logs)


def test_a_server_writing_elsewhere_leaves_the_store_to_the_cli(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    server = Server(home, tmp_path / "serve.log", "--dest", f"file://{out}")
    try:
        assert json.loads((home / "serve.json").read_text())["owns_store"] is False
        env = {"INGEST_HOME": str(home)}
        proc = ingest("run", "--source", str(_docs(tmp_path / "docs.jsonl", 30)), "--index", "mine",
                      "--id-field", "id", env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(ingest("indices", "list", "--json", env=env).stdout) == [{"index": "mine", "docs.count": 30}]
        assert list(out.iterdir()) == []  # nothing went to the server's --dest
    finally:
        server.stop()


def test_a_job_the_server_runs_reports_dead_letters_as_a_job_alone(server: Server, home: Path, tmp_path: Path) -> None:
    docs = tmp_path / "mixed.jsonl"
    lines = [json.dumps({"id": f"d{i}", "n": i}) for i in range(100)]
    lines[40] = '{"id": "broken", "n": '  # not JSON: this line goes to the dead-letter store, the others are indexed
    docs.write_text("\n".join(lines) + "\n")
    alone = tmp_path / "alone"
    alone.mkdir(mode=0o700)
    results = {}
    for target in (home, alone):
        proc = ingest("run", "--source", str(docs), "--index", "mixed", "--id-field", "id",
                      env={"INGEST_HOME": str(target)})
        summary = json.loads(proc.stdout.splitlines()[-1])
        results[target.name] = (proc.returncode, summary["indexed"], summary["failed"], summary["completed"],
                                "ingest dead-letter list --job-id" in proc.stderr)
    assert results["home"] == results["alone"] == (1, 99, 1, True, True), results
    assert server.count("mixed") == 99
    assert "/_ingest_local/job" in (tmp_path / "serve.log").read_text()
