"""Writes of a job through the home's running server (issue 14 item 4): pipelines run once, and the local-only
routes and headers are worth something only with the local token. Real processes."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Server
from tests.jobs.helpers import ingest, write_jsonl

pytestmark = [pytest.mark.timeout(600)]


def _send(server: Server, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    kind = "application/x-ndjson" if isinstance(body, str) else "application/json"
    request = urllib.request.Request(server.url + path, method=method, data=data,
                                     headers={"content-type": kind, **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_a_jobs_final_pipeline_runs_once_and_the_flag_is_trusted_only_from_the_local_client(
        server: Server, home: Path, tmp_path: Path) -> None:
    _send(server, "PUT", "/_ingest/pipeline/final", {"processors": [{"append": {"field": "seen", "value": ["final"]}}]})
    _send(server, "PUT", "/fp", {"settings": {"index.final_pipeline": "final"}})
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "n": i} for i in range(20)])
    job = ingest("run", "--source", str(docs), "--index", "fp", "--id-field", "id", env={"INGEST_HOME": str(home)})
    assert job.returncode == 0, job.stderr
    assert server.get("/fp/_doc/d3")["_source"] == {"id": "d3", "n": 3, "seen": ["final"]}  # not ["final", "final"]

    token = json.loads((home / "serve.json").read_text())["token"]
    line = json.dumps({"index": {"_index": "fp", "_id": "x"}}) + "\n" + json.dumps({"n": 1}) + "\n"
    done = {"x-ingest-pipelines-done": "true"}
    for headers, expected in (
            (done, ["final"]),  # anyone else on loopback (security disabled): the flag is ignored
            ({**done, "authorization": f"ApiKey {token[:-1]}x"}, ["final"]),  # a wrong token is nobody
            ({**done, "authorization": f"ApiKey {token}"}, None),  # the home's own CLI: trusted
            ({"authorization": f"ApiKey {token}"}, ["final"])):  # without the flag, pipelines run as usual
        assert _send(server, "POST", "/_bulk?pipeline=_none", line, headers)["errors"] is False
        assert server.get("/fp/_doc/x")["_source"].get("seen") == expected, headers.keys()
