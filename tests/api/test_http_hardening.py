"""Issue 11's HTTP attacks, through real HTTP: media types (406), body limits while streaming (413), nesting depth.

The oversize-body tests run ``ingest serve`` as a subprocess and read its peak RSS (``VmHWM``) from /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}
MB = 1024 * 1024


def _ndjson(*objs: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


# -- media types -------------------------------------------------------------------------------------

@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                   "text/plain; charset=utf-8", "application/xml"])
def test_non_xcontent_bodies_are_refused_with_406(live_server: tuple[str, object], media: str) -> None:
    """The CSRF hole: a web page can POST text/plain cross-origin without a preflight."""
    url, _ = live_server
    body = json.dumps({"processors": [{"set": {"field": "a", "value": 1}}]})
    r = httpx.put(f"{url}/_ingest/pipeline/csrf", content=body, headers={"Content-Type": media})
    assert r.status_code == 406
    assert r.json() == {"error": f"Content-Type header [{media}] is not supported", "status": 406}
    assert r.headers["x-elastic-product"] == "Elasticsearch"
    assert httpx.get(f"{url}/_ingest/pipeline/csrf").status_code == 404  # nothing was created


def test_missing_content_type_on_a_body_is_refused(live_server: tuple[str, object]) -> None:
    url, _ = live_server
    r = httpx.put(f"{url}/_ingest/pipeline/p", content=b'{"processors": []}')
    assert r.status_code == 406
    assert r.json() == {"error": "Content-Type header is missing", "status": 406}
    assert httpx.get(f"{url}/_inference").status_code == 200  # no body, no Content-Type needed


@pytest.mark.parametrize("media", ["application/json", "application/json; charset=UTF-8",
                                   "application/vnd.elasticsearch+json; compatible-with=9",
                                   "application/vnd.elasticsearch+json;compatible-with=8"])
def test_json_media_types_are_accepted(live_server: tuple[str, object], media: str) -> None:
    url, _ = live_server
    r = httpx.put(f"{url}/_ingest/pipeline/p", content=b'{"processors": []}', headers={"Content-Type": media})
    assert r.status_code == 200, r.text


def test_yaml_bodies_are_parsed_and_refused_for_bulk(live_server: tuple[str, object]) -> None:
    url, _ = live_server
    yaml_body = b"description: from yaml\nprocessors:\n  - set:\n      field: a\n      value: 1\n"
    r = httpx.put(f"{url}/_ingest/pipeline/y", content=yaml_body, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert httpx.get(f"{url}/_ingest/pipeline/y").json()["y"]["description"] == "from yaml"
    dated = b"description: 2024-01-01\nprocessors: []\n"
    r = httpx.put(f"{url}/_ingest/pipeline/d", content=dated, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert httpx.get(f"{url}/_ingest/pipeline/d").json()["d"]["description"] == "2024-01-01"
    deep = b"processors: " + b"[" * 1200 + b"]" * 1200 + b"\n"
    r = httpx.put(f"{url}/_ingest/pipeline/e", content=deep, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "x_content_parse_exception"
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\nprocessors: [*b]\n"
    r = httpx.put(f"{url}/_ingest/pipeline/z", content=bomb, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "x_content_parse_exception"
    r = httpx.post(f"{url}/_bulk", content=b"index: {}\n", headers={"Content-Type": "application/yaml"})
    assert r.status_code == 406
    assert r.json()["error"] == "Content-Type [YAML] does not support stream parsing. Use JSON or SMILE instead"


@pytest.mark.parametrize("media", ["application/cbor", "application/smile"])
def test_binary_xcontent_is_refused_by_name(live_server: tuple[str, object], media: str) -> None:
    url, _ = live_server
    r = httpx.put(f"{url}/_ingest/pipeline/p", content=b"\xa0", headers={"Content-Type": media})
    assert r.status_code == 406
    assert r.json() == {"error": f"Content-Type header [{media}] is not supported", "status": 406}


# -- nesting depth -----------------------------------------------------------------------------------

DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/_ingest/pipeline/deep", b'{"processors": ' + DEEP + b"}"),
    ("POST", "/_ingest/pipeline/_simulate", b'{"docs": ' + DEEP + b"}"),
    ("PUT", "/_inference/text_embedding/deep", b'{"service": ' + DEEP + b"}"),
    ("POST", "/_inference/deep", b'{"input": ' + DEEP + b"}"),
    ("PUT", "/deep-index", b'{"mappings": ' + DEEP + b"}"),
    ("POST", "/_bulk", b'{"index": {"_index": ' + DEEP + b"}}\n{}\n"),
])
def test_deep_json_is_a_400_on_every_route(live_server: tuple[str, object], method: str, path: str,
                                           body: bytes) -> None:
    url, _ = live_server
    r = httpx.request(method, f"{url}{path}", content=body, headers=NDJSON if "_bulk" in path else JSON)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "x_content_parse_exception"
    assert "Document nesting depth (1001) exceeds the maximum allowed (1000" in error["reason"]


def test_deep_bulk_source_fails_only_its_item(live_server: tuple[str, object]) -> None:
    url, _ = live_server
    body = _ndjson({"index": {"_index": "d", "_id": "1"}}) + b'{"a": ' + DEEP + b"}\n" + _ndjson(
        {"index": {"_index": "d", "_id": "2"}}, {"a": [[1]]})
    r = httpx.post(f"{url}/_bulk", content=body, headers=NDJSON)
    assert r.status_code == 200
    items = [item["index"] for item in r.json()["items"]]
    assert [i["status"] for i in items] == [400, 201]
    assert items[0]["error"]["type"] == "document_parsing_exception"
    assert "nesting depth" in items[0]["error"]["reason"]


# -- body size ---------------------------------------------------------------------------------------

@pytest.fixture()
def serve_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``ingest serve`` as a real subprocess on a free loopback port, with a private home."""
    port = free_port()
    env = {**os.environ, "INGEST_HOME": str(tmp_path / "home"), "INGEST_BULK_DEST": "embedded"}
    env.pop("INGEST_HTTP_MAX_CONTENT_LENGTH", None)  # the default, 100mb
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "ingest serve did not start"
        time.sleep(0.2)
    try:
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _chunked_upload(url: str, path: str, total: int, headers: dict[str, str]) -> tuple[int | None, int]:
    """POST ``total`` bytes with chunked framing from a sender thread; (response status or None, bytes sent)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sent = [0]
    line = b'{"index": {"_index": "big"}}\n{"text": "' + b"x" * 4000 + b'"}\n'
    chunk = line * (MB // len(line))
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    def send() -> None:
        try:
            sock.sendall(head.encode())
            while sent[0] < total:
                sock.sendall(frame)
                sent[0] += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server closed the connection after its 413: the point of the test
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    except OSError:
        pass
    sender.join(60)
    sock.close()
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.1 ") else None
    return status, sent[0]


def test_chunked_300mb_bulk_is_refused_with_bounded_memory(serve_process: tuple[str, subprocess.Popen[bytes]]
                                                           ) -> None:
    """Chunked bodies carry no Content-Length: the limit must hold while they stream in (was 2.4 GB RSS)."""
    url, proc = serve_process
    status, sent = _chunked_upload(url, "/_bulk", 300 * MB, NDJSON)
    assert status == 413
    assert sent < 200 * MB  # the server stopped reading soon after the 100 MB limit
    peak = _peak_rss_mb(proc.pid)
    assert peak < 500, f"server peak RSS {peak:.0f} MB"
    r = httpx.get(f"{url}/big/_count")  # nothing of the refused request was written
    assert r.status_code == 404 or r.json()["count"] == 0


def test_oversize_inference_is_refused_while_streaming(ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``http.max_content_length`` is a setting; ``/_inference`` refuses before buffering the whole body."""
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app
    from tests.servers import serve

    monkeypatch.setenv("INGEST_HTTP_MAX_CONTENT_LENGTH", "1mb")
    api = InferenceAPI()
    try:
        with serve(create_app(api)) as url:
            status, sent = _chunked_upload(url, "/_inference/anything", 200 * MB, JSON)
            assert status == 413
            assert sent < 50 * MB
            r = httpx.post(f"{url}/_inference/anything", content=b" " * (MB + 1), headers=JSON)
            assert r.status_code == 413
            assert r.json()["error"]["type"] == "content_too_long_exception"
            assert r.headers["connection"] == "close"
    finally:
        api.close()


def test_bad_max_content_length_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.models.errors import IllegalArgumentException
    from ingest.server.limits import max_content_length

    monkeypatch.setenv("INGEST_HTTP_MAX_CONTENT_LENGTH", "512kb")
    assert max_content_length() == 512 * 1024
    monkeypatch.setenv("INGEST_HTTP_MAX_CONTENT_LENGTH", "100")
    with pytest.raises(IllegalArgumentException, match=r"as a size in bytes: unit is missing"):
        max_content_length()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/_ingest/pipeline/_simulate",
     b'{"pipeline": {"processors": [{"set": {"field": "b", "value": 1}}]}, "docs": [{"_source": {"a": "\\ud800"}}]}'),
    ("PUT", "/_inference/text_embedding/e1", b'{"service": "elasticsearch", "service_settings": {"model_id": "\\udc00"}}'),
    ("PUT", "/_ingest/pipeline/s", b'{"description": "half \\ud800", "processors": []}'),
])
def test_lone_surrogates_in_a_body_are_never_a_500(live_server: tuple[str, object], method: str, path: str,
                                                   body: bytes) -> None:
    """JSON can carry "\\ud800", UTF-8 cannot: such text becomes U+FFFD, as the local models make it."""
    url, _ = live_server
    r = httpx.request(method, f"{url}{path}", content=body, headers=JSON)
    assert r.status_code < 500, r.text
    r.content.decode("utf-8")  # the answer is valid UTF-8
    if "_simulate" in path:
        assert r.json()["docs"][0]["doc"]["_source"]["a"] == "\ufffd"


def test_vendor_ndjson_bulk_and_its_compat_version(live_server: tuple[str, object]) -> None:
    url, _ = live_server
    body = _ndjson({"index": {"_index": "v", "_id": "1"}}, {"a": 1})
    media = "application/vnd.elasticsearch+x-ndjson; compatible-with={}"
    r = httpx.post(f"{url}/_bulk", content=body, headers={"Content-Type": media.format(9)})
    assert r.status_code == 200 and r.json()["errors"] is False
    r = httpx.post(f"{url}/_bulk", content=body, headers={"Content-Type": media.format(7)})
    assert r.status_code == 400 and r.json()["error"]["type"] == "media_type_header_exception"


def test_the_official_client_gets_per_item_errors(live_server: tuple[str, object]) -> None:
    from elasticsearch import Elasticsearch

    url, _ = live_server
    es = Elasticsearch(url)
    out = es.bulk(operations=[{"index": {"_index": "oc", "_id": ""}}, {"a": 1},
                              {"index": {"_index": "oc", "_id": "2"}}, {"_source": {"x": 1}},
                              {"index": {"_index": "oc", "_id": "3"}}, {"a": 3}], refresh=True)
    assert out["errors"] is True
    assert [item["index"]["status"] for item in out["items"]] == [400, 400, 201]
    assert es.count(index="oc")["count"] == 1
