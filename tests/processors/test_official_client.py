"""The unmodified official ``elasticsearch`` client's ingest APIs against a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from tests.processors.conftest import CountingAPI


@pytest.fixture()
def es(tiny_api: CountingAPI) -> Iterator[Elasticsearch]:
    import uvicorn

    from ingest.server.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(tiny_api), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=60)
    finally:
        server.should_exit = True
        thread.join(10)


def test_ingest_api_with_official_client(es: Elasticsearch, ingest_home: Path) -> None:
    assert es.ingest.put_pipeline(id="embed", description="embed text", processors=[
        {"lowercase": {"field": "text"}},
        {"inference": {"model_id": "tiny-dense", "input_output": {"input_field": "text", "output_field": "vec"}}},
    ])["acknowledged"] is True
    got = es.ingest.get_pipeline(id="emb*")
    assert got["embed"]["description"] == "embed text"
    simulated = es.ingest.simulate(id="embed", docs=[{"_source": {"text": "Hello World"}}])
    source = simulated["docs"][0]["doc"]["_source"]
    assert source["text"] == "hello world" and len(source["vec"]) == 32
    verbose = es.ingest.simulate(pipeline={"processors": [{"set": {"field": "a", "value": 1}}]},
                                 docs=[{"_source": {}}], verbose=True)
    assert verbose["docs"][0]["processor_results"][0]["status"] == "success"
    with pytest.raises(BadRequestError) as bad:
        es.ingest.put_pipeline(id="bad", processors=[{"no_such": {}}])
    assert bad.value.error == "parse_exception"
    assert "grok" not in es.ingest.processor_grok()["patterns"] and "IP" in es.ingest.processor_grok()["patterns"]
    assert es.ingest.delete_pipeline(id="embed")["acknowledged"] is True
    with pytest.raises(NotFoundError):
        es.ingest.get_pipeline(id="embed")
