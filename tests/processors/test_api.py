"""The /_ingest REST routes (in-process) and the ``ingest pipelines`` CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ingest.cli.main import app as cli_app
from ingest.models.api import InferenceAPI
from ingest.server.app import create_app

PIPELINE = {"description": "test", "processors": [{"set": {"field": "x", "value": "{{y}}"}}], "version": 1}


@pytest.fixture()
def api(ingest_home: Path) -> Iterator[InferenceAPI]:
    api = InferenceAPI()
    yield api
    api.close()


@pytest.fixture()
def client(api: InferenceAPI) -> TestClient:
    return TestClient(create_app(api))


def test_put_get_delete_with_wildcards(client: TestClient) -> None:
    assert client.put("/_ingest/pipeline/logs-a", json=PIPELINE).json() == {"acknowledged": True}
    assert client.put("/_ingest/pipeline/logs-b", json=PIPELINE).json() == {"acknowledged": True}
    assert client.put("/_ingest/pipeline/other", json=PIPELINE).json() == {"acknowledged": True}
    assert set(client.get("/_ingest/pipeline").json()) == {"logs-a", "logs-b", "other"}
    assert set(client.get("/_ingest/pipeline/logs-*").json()) == {"logs-a", "logs-b"}
    assert set(client.get("/_ingest/pipeline/logs-a,other").json()) == {"logs-a", "other"}
    stored = client.get("/_ingest/pipeline/logs-a").json()["logs-a"]  # plus Elasticsearch 9's dates
    assert {k: v for k, v in stored.items() if not k.endswith("_date_millis")} == PIPELINE
    assert client.get("/_ingest/pipeline/logs-a?summary=true").json() == {"logs-a": {}}
    missing = client.get("/_ingest/pipeline/nope")
    assert missing.status_code == 404 and missing.json() == {}
    assert client.delete("/_ingest/pipeline/logs-*").json() == {"acknowledged": True}
    assert set(client.get("/_ingest/pipeline").json()) == {"other"}
    gone = client.delete("/_ingest/pipeline/nope")
    assert gone.status_code == 404
    assert gone.json()["error"]["type"] == "resource_not_found_exception"
    assert gone.json()["error"]["reason"] == "pipeline [nope] is missing"


def test_if_version(client: TestClient) -> None:
    client.put("/_ingest/pipeline/p", json=PIPELINE)
    conflict = client.put("/_ingest/pipeline/p?if_version=7", json={"processors": []})
    assert conflict.status_code == 400
    assert "version conflict, required version [7]" in conflict.json()["error"]["reason"]
    assert client.put("/_ingest/pipeline/p?if_version=1", json={"processors": []}).status_code == 200
    assert client.get("/_ingest/pipeline/p").json()["p"]["version"] == 2


def test_invalid_pipeline_is_rejected_with_envelope(client: TestClient) -> None:
    response = client.put("/_ingest/pipeline/p", json={"processors": [{"sett": {"field": "a"}}]})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["type"] == "parse_exception"
    assert body["error"]["reason"] == "No processor type exists with name [sett]"
    assert body["error"]["root_cause"][0]["processor_type"] == "sett"
    response = client.put("/_ingest/pipeline/p", json={"processors": [{"script": {"source": "x -> 1"}}]})
    assert response.json()["error"]["type"] == "script_exception"
    assert client.get("/_ingest/pipeline").json() == {}


def test_simulate_inline_and_stored(client: TestClient) -> None:
    docs = {"docs": [{"_index": "i", "_id": "1", "_source": {"y": "hello"}}]}
    inline = client.post("/_ingest/pipeline/_simulate", json={"pipeline": PIPELINE, **docs}).json()
    assert inline["docs"][0]["doc"]["_source"] == {"y": "hello", "x": "hello"}
    client.put("/_ingest/pipeline/p", json=PIPELINE)
    stored = client.post("/_ingest/pipeline/p/_simulate?verbose=true", json=docs).json()
    result = stored["docs"][0]["processor_results"][0]
    assert result["status"] == "success" and result["doc"]["_source"]["x"] == "hello"
    assert client.get("/_ingest/pipeline/_simulate", params={}).status_code == 400  # body required
    missing = client.post("/_ingest/pipeline/_simulate", json=docs)
    assert missing.json()["error"]["reason"] == "[pipeline] required property is missing"
    unknown = client.post("/_ingest/pipeline/ghost/_simulate", json=docs)
    assert unknown.status_code == 400 and "pipeline [ghost] does not exist" in unknown.json()["error"]["reason"]


def test_delete_warns_about_referencing_pipelines(client: TestClient) -> None:
    client.put("/_ingest/pipeline/inner", json=PIPELINE)
    client.put("/_ingest/pipeline/outer", json={"processors": [{"pipeline": {"name": "inner"}}]})
    response = client.delete("/_ingest/pipeline/inner")
    assert response.status_code == 200
    assert "referenced by pipeline [outer]" in response.headers["warning"]


def test_grok_patterns_route(client: TestClient) -> None:
    patterns = client.get("/_ingest/processor/grok?s").json()["patterns"]
    assert patterns["WORD"] == r"\b\w+\b"
    assert list(patterns) == sorted(patterns)
    assert "COMBINEDAPACHELOG" in patterns


def test_cli_put_get_simulate_delete(ingest_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("description: from yaml\nprocessors:\n  - uppercase:\n      field: name\n")
    result = runner.invoke(cli_app, ["pipelines", "put", "upper", str(yaml_file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"acknowledged": True}
    result = runner.invoke(cli_app, ["pipelines", "get", "upp*"])
    assert json.loads(result.stdout)["upper"]["description"] == "from yaml"
    docs = tmp_path / "docs.json"
    docs.write_text(json.dumps({"docs": [{"_source": {"name": "ann"}}]}))
    result = runner.invoke(cli_app, ["pipelines", "simulate", str(docs), "--id", "upper"])
    assert json.loads(result.stdout)["docs"][0]["doc"]["_source"] == {"name": "ANN"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"processors": [{"nope": {}}]}))
    result = runner.invoke(cli_app, ["pipelines", "put", "bad", str(bad)])
    assert result.exit_code == 1
    assert "No processor type exists with name [nope]" in result.stderr
    result = runner.invoke(cli_app, ["pipelines", "delete", "upper"])
    assert json.loads(result.stdout) == {"acknowledged": True}
    assert runner.invoke(cli_app, ["pipelines", "get", "upper"]).exit_code == 1
