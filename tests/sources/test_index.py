"""Reading an existing index back from both real clusters: point in time + search_after, sliced, resumable."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pyarrow as pa
import pytest

from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint
from ingest.sources import open_source

pytestmark = pytest.mark.cluster


@pytest.fixture(params=["elasticsearch", "elasticsearch9", "opensearch"])
def cluster_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _fill(url: str, index: str, n: int) -> None:
    sink = open_sink(url)
    try:
        sink.ensure_index(index, {"emb": FieldHint("dense", 3, "cosine"), "tokens": FieldHint("sparse")})
        actions = [BulkAction("index", index, f"d{i}", {"n": i, "text": f"doc {i}", "emb": [1.0, i / 100, 0.0],
                                                        "tokens": {"t": 1.0 + i}}) for i in range(n)]
        assert all(r.status == 201 for r in sink.write(actions))
        sink.refresh(index)
    finally:
        sink.close()


def _close_pit(url: str, pit: str) -> None:
    """Make the point in time go away (the completed read above may have closed it already: 404)."""
    path, body = ("/_search/point_in_time", {"pit_id": [pit]}) if _is_opensearch(url) else ("/_pit", {"id": pit})
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="DELETE",
                                 headers={"content-type": "application/json"})
    try:
        urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as err:
        assert err.code == 404


def _is_opensearch(url: str) -> bool:
    try:
        return json.loads(urllib.request.urlopen(url + "/").read())["version"].get("distribution") == "opensearch"
    except urllib.error.HTTPError:
        return False


def test_reads_every_document_once_with_slices_and_resumes(cluster_url: str) -> None:
    index = f"src-{cluster_url.rsplit(':', 1)[1]}"
    _fill(cluster_url, index, 230)
    source = open_source(f"{cluster_url}/{index}", slices=2, batch_size=40)
    assert source.total_rows() == 230
    batches = list(source.batches())
    ids = [i for b in batches for i in b.batch.column("_id").to_pylist()]
    assert sorted(ids) == sorted(f"d{i}" for i in range(230)) and len(set(ids)) == 230
    row = next(r for b in batches for r in b.batch.to_pylist() if r["_id"] == "d7")
    assert row["n"] == 7 and row["emb"][1] == pytest.approx(0.07)
    assert batches[0].batch.schema.field("tokens").type == pa.map_(pa.string(), pa.float32())  # not a struct
    assert dict(row["tokens"])["t"] == pytest.approx(8.0, rel=0.01)

    # Stop after 3 batches, resume from the last acknowledged position: the rest, exactly.
    again = open_source(f"{cluster_url}/{index}", slices=2, batch_size=40)
    first: list[str] = []
    position = None
    for n, sb in enumerate(again.batches()):
        first.extend(sb.batch.column("_id").to_pylist())
        position = sb.position
        if n == 2:
            break
    rest = [i for b in again.batches(position) for i in b.batch.column("_id").to_pylist()]
    assert sorted(first + rest) == sorted(ids) and not set(first) & set(rest)

    # The point in time expired meanwhile: still nothing lost (OpenSearch continues; Elasticsearch re-reads).
    assert position is not None
    _close_pit(cluster_url, position["pit"])
    after_expiry = [i for b in again.batches(position) for i in b.batch.column("_id").to_pylist()]
    if "opensearch" in str(again.client.distribution):
        assert sorted(after_expiry) == sorted(rest)
    else:
        assert sorted(after_expiry) == sorted(ids)
    source.close()
    again.close()


def test_missing_index_is_a_clear_error(cluster_url: str) -> None:
    from ingest.models.errors import ElasticsearchError

    source = open_source(f"{cluster_url}/no-such-index")
    with pytest.raises(ElasticsearchError) as err:
        list(source.batches())
    assert err.value.status == 404 and err.value.error_type == "index_not_found_exception"
    source.close()


def test_mixed_source_types_are_read_whole(cluster_url: str) -> None:
    """A long field whose _source holds "42" in one document (the cluster coerced it): every row is read, with
    its value as stored, in batches of agreeing types."""
    index = f"mixed-{cluster_url.rsplit(':', 1)[1]}"
    sink = open_sink(cluster_url)
    try:
        sink.ensure_index(index, {})
        docs = [{"n": str(i) if i == 7 else i, "sparse_free": "x"} for i in range(20)]
        results = sink.write([BulkAction("index", index, f"m{i}", d) for i, d in enumerate(docs)])
        assert all(r.status == 201 for r in results), [r.error for r in results if r.error]
        sink.refresh(index)
    finally:
        sink.close()
    source = open_source(f"{cluster_url}/{index}", batch_size=50)
    rows = [r for b in source.batches() for r in b.batch.to_pylist()]
    source.close()
    assert sorted((r["_id"], r["n"]) for r in rows) == sorted((f"m{i}", str(i) if i == 7 else i) for i in range(20))
