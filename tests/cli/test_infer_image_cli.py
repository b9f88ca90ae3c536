"""``ingest infer ID TEXT --image PATH`` as a real process: the image goes to the provider as a data URI in its
multimodal wire format, and the answer is Elasticsearch's ``embeddings`` body; bad inputs are error envelopes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.models.api import InferenceAPI
from tests.fakes.others import FakeJina, media_key
from tests.fakes.server import FakeServer, deterministic_vector

KEY = "cli-image-key-0123456789"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


def ingest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "ingest.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def jina_endpoint(ingest_home: Path) -> Any:
    with FakeServer(FakeJina(KEY)) as server:
        api = InferenceAPI()
        try:
            api.put("clip", {"service": "jinaai", "service_settings": {
                "api_key": KEY, "model_id": "jina-clip-v2", "url": server.url}}, task_type="embedding", timeout_s=10)
        finally:
            api.close()
        yield server


def test_infer_sends_the_image_as_a_data_uri(jina_endpoint: Any, tmp_path: Path):
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG_BYTES)
    result = ingest("infer", "clip", "a cat", "--image", str(picture))
    assert result.returncode == 0, result.stderr
    uri = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
    assert jina_endpoint.requests[-1].json()["input"] == [{"text": "a cat"}, {"image": uri}]
    rows = json.loads(result.stdout)["embeddings"]
    assert rows[0]["embedding"] == pytest.approx(deterministic_vector("a cat", 4), rel=1e-6)
    assert rows[1]["embedding"] == pytest.approx(deterministic_vector(media_key("image", uri), 4), rel=1e-6)


def test_infer_image_errors_are_envelopes(jina_endpoint: Any, tmp_path: Path):
    missing = ingest("infer", "clip", "--image", str(tmp_path / "nope.png"))
    assert missing.returncode == 1 and missing.stdout == ""
    error = json.loads(missing.stderr)["error"]
    assert error["type"] == "illegal_argument_exception" and "cannot read image" in error["reason"]
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG_BYTES)
    local = ingest("infer", ".multilingual-e5-small", "--image", str(picture))
    assert local.returncode == 1 and "embeds text only" in json.loads(local.stderr)["error"]["reason"]
    empty = ingest("infer", "clip")
    assert empty.returncode == 1 and "at least one input" in json.loads(empty.stderr)["error"]["reason"]
