"""The unmodified official ``elasticsearch`` client's ingest APIs against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from tests.processors.conftest import CountingAPI
from tests.servers import serve


@pytest.fixture()
def es(tiny_api: CountingAPI) -> Iterator[Elasticsearch]:
    from ingest.server.app import create_app

    with serve(create_app(tiny_api)) as url:
        yield Elasticsearch(url, request_timeout=60)


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
