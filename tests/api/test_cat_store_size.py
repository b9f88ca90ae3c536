"""``_cat/indices`` ``store.size``: the index's real bytes in the embedded store's file, written as
Elasticsearch's ByteSizeValue (and the ``bytes`` parameter)."""

from __future__ import annotations

from typing import cast

import pytest
from elasticsearch import Elasticsearch, helpers

from ingest.models.api import InferenceAPI
from ingest.server.routes.cat import byte_size


@pytest.mark.parametrize(("n", "text"), [(0, "0b"), (208, "208b"), (1024, "1kb"), (4608, "4.5kb"),
                                         (1024 * 1024 * 199 // 100, "1.9mb"), (1075, "1kb"),
                                         (5 * 1024 ** 3, "5gb")])
def test_byte_size_as_elasticsearch_writes_it(n: int, text: str) -> None:
    # ByteSizeValue.toString → Strings.format1Decimals: one decimal, truncated, dropped when it is 0
    assert byte_size(n) == text


def test_byte_size_in_a_unit() -> None:
    assert (byte_size(5000, "b"), byte_size(5000, "kb"), byte_size(5 * 1024 ** 2 + 1, "mb")) == ("5000", "4", "5")


def test_store_size_grows_with_the_index(live_server: tuple[str, InferenceAPI]) -> None:
    es = Elasticsearch(live_server[0], request_timeout=60)
    es.indices.create(index="small")
    es.indices.create(index="big")
    es.index(index="small", id="1", document={"t": "x"})
    helpers.bulk(es, ({"_index": "big", "_id": str(n), "text": f"document {n} " * 40, "n": n}
                      for n in range(20000)), chunk_size=2000)
    es.indices.flush(index="big")  # DuckDB's checkpoint: the rows leave the write-ahead log for the file
    rows = {r["index"]: r for r in cast(list[dict[str, str]],
                                        es.cat.indices(format="json", bytes="b").body)}
    big, small = int(rows["big"]["store.size"]), int(rows["small"]["store.size"])
    # 20,000 documents of ~500 characters: far more than one 256 KiB block, and more than the small index
    assert big > 256 * 1024 and big > small, rows
    assert rows["big"]["pri.store.size"] == rows["big"]["store.size"]
    text = es.cat.indices(index="big", h="store.size")
    assert text.strip().endswith(("kb", "mb")), text
    with pytest.raises(Exception, match="bytes"):
        es.cat.indices(format="json", bytes="lots")
