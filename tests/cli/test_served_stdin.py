"""``ingest run --source -`` while the home's server runs: the server runs the job, reading the CLI's standard
input forwarded as the request body (issue 14). Real processes: a server, and the CLI fed through a pipe."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Server
from tests.jobs.helpers import ROOT, ingest

pytestmark = [pytest.mark.timeout(600)]


def _lines(start: int, n: int) -> bytes:
    return "".join(json.dumps({"id": f"d{i}", "text": f"text {i}", "n": i}) + "\n"
                   for i in range(start, start + n)).encode()


def _cli(home: Path, *more: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "run", "--source", "-", "--index", "piped",
                             "--id-field", "id", *more], cwd=ROOT, env={**os.environ, "INGEST_HOME": str(home)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _count(server: Server, index: str = "piped") -> int:
    with contextlib.suppress(OSError):  # 404 until the index exists
        return server.count(index)
    return 0


def _wait_for(what: object, check: object, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_standard_input_is_a_job_the_server_runs_and_bad_lines_are_dead_letters_as_alone(
        server: Server, home: Path, tmp_path: Path) -> None:
    data = _lines(0, 5000).replace(b'{"id": "d40", ', b'{"id": "d40" ')  # one line is not JSON
    job = _cli(home)
    out, err = job.communicate(data, timeout=300)
    assert job.returncode == 1, err  # as a job alone: one document went to the dead-letter store
    summary = json.loads(out.decode().splitlines()[-1])
    assert (summary["read"], summary["indexed"], summary["failed"], summary["completed"]) == (5000, 4999, 1, True)
    assert b"lock" not in err.lower() and b"dead-letter list --job-id" in err
    assert server.count("piped") == 4999 and server.get("/piped/_doc/d4999")["_source"]["n"] == 4999
    assert "/_ingest_local/job/stream" in (tmp_path / "serve.log").read_text()  # the server ran it
    assert "/_ingest_local/arrow_bulk" not in (tmp_path / "serve.log").read_text()


def test_lines_of_a_slow_pipe_are_written_while_it_is_still_open(server: Server, home: Path) -> None:
    job = _piping(home, server, 10, "the first lines were not written while standard input stayed open")
    assert job.poll() is None
    assert job.stdin is not None
    job.stdin.write(_lines(10, 5)[:-1])  # the last line without its newline: still a line at the end
    job.stdin.close()
    assert job.wait(120) == 0
    assert server.count("piped") == 15


def test_a_cli_killed_mid_stream_cancels_the_job_and_its_half_line_is_dropped(server: Server, home: Path) -> None:
    job = _piping(home, server, 2000, "nothing was written")
    assert job.stdin is not None
    job.stdin.write(b'{"id": "half", "te')  # the CLI dies in the middle of a line
    job.stdin.flush()
    time.sleep(0.5)
    job.send_signal(signal.SIGKILL)
    assert job.wait(30) == -signal.SIGKILL
    time.sleep(3)  # the server notices the closed connection and cancels the job
    assert server.count("piped") == 2000
    listed = ingest("dead-letter", "list", "--json", env={"INGEST_HOME": str(home)})
    assert "half" not in listed.stdout, listed.stdout  # the incomplete tail was not a document, nor an error
    again = _cli(home)  # the job id is free again: a new run with new input
    _, err = again.communicate(_lines(2000, 100), timeout=120)
    assert again.returncode == 0, err
    assert server.count("piped") == 2100


def test_a_server_killed_mid_stream_fails_the_job_with_what_it_wrote(server: Server, home: Path) -> None:
    job = _piping(home, server, 1000, "nothing was written")
    time.sleep(1.5)  # a progress report after the write
    server.stop(signal.SIGKILL)
    assert job.wait(120) == 2  # standard input still open: the CLI does not wait for its end
    assert job.stderr is not None
    err = job.stderr.read()
    error = json.loads(err.decode().splitlines()[-1])
    assert error["status"] == 503 and "cannot be read again" in error["error"]["reason"]
    assert "1000 document(s) were written" in error["error"]["reason"], error


def test_the_stream_route_is_the_local_clients_only_and_checks_its_spec(server: Server, home: Path) -> None:
    token = json.loads((home / "serve.json").read_text())["token"]

    def post(body: bytes, auth: str | None) -> tuple[int, dict[str, object]]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {"content-type": "application/x-ndjson", **({"authorization": auth} if auth else {})}
        conn.request("POST", "/_ingest_local/job/stream", body=body, headers=headers)
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        conn.close()
        return resp.status, answer

    spec = json.dumps({"config": {"source": "-", "index": "routed", "id_field": "id"}}).encode() + b"\n"
    status, answer = post(spec + _lines(0, 3), None)
    assert status == 403 and "only the local client" in str(answer), answer
    for bad, reason in ((b"{not json\n", "Unexpected character"),
                        (json.dumps({"config": {"source": "/a/file", "index": "i"}}).encode() + b"\n",
                         "not a streamed job"),
                        (json.dumps({"config": {"source": "-", "index": "i", "bogus": 1}}).encode() + b"\n",
                         "unknown options ['bogus']"),
                        (b"", "no first line")):
        status, answer = post(bad, f"ApiKey {token}")
        assert status == 400 and reason in str(answer), answer
    assert server.get("/_cat/indices?format=json") == []  # nothing started
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/_ingest_local/job/stop", body=json.dumps({"job_id": "none"}),
                 headers={"authorization": f"ApiKey {token}", "content-type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 404 and "no running job [none]" in resp.read().decode()


def test_ctrl_c_of_the_cli_stops_the_servers_job(server: Server, home: Path) -> None:
    job = _piping(home, server, 500, "nothing was written")
    job.send_signal(signal.SIGINT)
    assert job.wait(30) == 130
    assert job.stderr is not None and b"the server stopped the job" in job.stderr.read()
    time.sleep(2)
    assert server.count("piped") == 500
    again = _cli(home)  # the job id is free: not a 409
    _, err = again.communicate(_lines(500, 10), timeout=120)
    assert again.returncode == 0, err
    assert server.count("piped") == 510


@pytest.mark.cluster
def test_a_reindex_is_a_job_the_server_runs_and_its_credentials_are_never_echoed(
        server: Server, home: Path, tmp_path: Path, opensearch_url: str) -> None:
    import httpx

    httpx.delete(f"{opensearch_url}/served-reindex-src", timeout=30)
    bulk = _lines(0, 3000).replace(b"\n{", b"\n" + json.dumps({"index": {}}).encode() + b"\n{")
    bulk = json.dumps({"index": {}}).encode() + b"\n" + bulk
    answer = httpx.post(f"{opensearch_url}/served-reindex-src/_bulk?refresh=true", content=bulk, timeout=60,
                        headers={"content-type": "application/x-ndjson"}).json()
    assert answer["errors"] is False
    secret = "S3cret-pw-7731"  # security is off on the test node: it ignores the credentials, which must stay hidden
    with_secret = opensearch_url.replace("http://", f"http://reader:{secret}@")
    env = {"INGEST_HOME": str(home)}
    proc = ingest("reindex", "--source-url", with_secret, "--source-index", "served-reindex-src", "--index", "copy",
                  env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["indexed"] == 3000
    assert server.count("copy") == 3000 and server.get("/copy/_doc/" + _first_id(opensearch_url))["found"]
    missing = ingest("reindex", "--source-url", with_secret, "--source-index", "served-reindex-src",
                     "--index", "copy2", "--pipeline", "nothere", env=env, timeout=300)  # fails inside the server
    assert missing.returncode == 2
    assert json.loads(missing.stderr.splitlines()[-1])["error"]["type"] == "resource_not_found_exception"
    log = (tmp_path / "serve.log").read_text()
    assert log.count("POST /_ingest_local/job") == 2 and "/_ingest_local/arrow_bulk" not in log  # the server ran them
    for text in (log, proc.stdout, proc.stderr, missing.stdout, missing.stderr,
                 *(p.read_text(errors="replace") for p in (home / "logs").glob("*"))):
        assert secret not in text


def _piping(home: Path, server: Server, n: int, what: str = "nothing was written") -> subprocess.Popen[bytes]:
    """A served stdin job whose first ``n`` lines are written (its standard input still open)."""
    job = _cli(home)
    assert job.stdin is not None
    job.stdin.write(_lines(0, n))
    job.stdin.flush()
    _wait_for(what, lambda: _count(server) == n)
    return job


def _first_id(url: str) -> str:
    import httpx

    hits = httpx.post(f"{url}/served-reindex-src/_search", json={"size": 1}, timeout=30).json()["hits"]["hits"]
    return str(hits[0]["_id"])
