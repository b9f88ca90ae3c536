"""``_count`` of every document comes from the store's count, not from a search corpus loaded for it (at 10M
documents that load took minutes and gigabytes); a query still runs on the corpus."""

from __future__ import annotations

from pathlib import Path

from elasticsearch import Elasticsearch, helpers

from tests.servers import serve


def test_count_without_a_query_reads_no_corpus(ingest_home: Path) -> None:
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    app = create_app(api)
    try:
        with serve(app) as url, Elasticsearch(url) as es:
            helpers.bulk(es, ({"_index": "c", "_id": str(i), "n": i, "tag": "odd" if i % 2 else "even"}
                              for i in range(50)), refresh=True)
            es.index(index="d", id="x", document={"n": 1}, refresh=True)
            search = app.state.context.search()
            assert es.count(index="c")["count"] == 50
            assert es.count(index="c", query={"match_all": {}})["count"] == 50
            assert es.count()["count"] == 51  # every index
            assert es.count(index="c,d")["_shards"]["total"] == 2
            assert search._corpora == {}  # nothing scanned into memory for those
            assert es.count(index="c", query={"term": {"tag": "odd"}})["count"] == 25
            assert len(search._corpora) == 1  # a query does search
            es.delete(index="c", id="1", refresh=True)
            assert es.count(index="c")["count"] == 49
    finally:
        api.close()
