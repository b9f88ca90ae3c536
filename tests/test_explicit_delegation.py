"""The wrappers at the joins delegate explicitly (no ``__getattr__`` catch-all): the authorised ``_bulk`` sink
is an index store exactly when the sink it wraps is one (the registry's declaration, not what an attribute
lookup happens to find), and the job's caching inference client is only what pipelines call."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from ingest.indices.service import is_index_store
from ingest.jobs.cache import CachingInference
from ingest.server.security.authn import Principal
from ingest.server.security.bulkauth import AuthorizedSink
from ingest.server.security.roles import SUPERUSER
from ingest.sinks import open_sink, registry
from ingest.sinks.base import FieldHint

ADMIN = Principal("admin", ("superuser",), ("native", "native"), SUPERUSER)


def test_the_authorised_sink_is_an_index_store_only_over_one(tmp_path: Path) -> None:
    with open_sink(f"embedded://{tmp_path / 'e.duckdb'}") as store, open_sink(f"file://{tmp_path / 'out'}") as files:
        over_store, over_files = AuthorizedSink(store, ADMIN), AuthorizedSink(files, ADMIN)
        assert is_index_store(over_store) and not is_index_store(over_files)
        over_store.ensure_index("i", {"v": FieldHint("dense", 2, "cosine")})
        assert over_store.indices() == ["i"] and over_store.hints("i") == {"v": FieldHint("dense", 2, "cosine")}
        batches = registry.batch_writes(over_store)  # the store's kind, so the store's batch write, checked
        assert batches is over_store and registry.batch_writes(over_files) is None
        [result] = batches.write_batch("i", pa.table({"v": [[1.0, 0.0]]}), ["d1"])
        assert result.status == 201 and store.count("i") == 1  # type: ignore[attr-defined]
        with pytest.raises(TypeError, match=r"a sink of kind \[files\] keeps no indices of its own"):
            over_files.indices()
        assert not hasattr(over_store, "search")  # nothing reaches the wrapped sink unchecked


def test_the_caching_client_is_only_what_pipelines_call(ingest_home: Path) -> None:
    from ingest.models.api import InferenceAPI

    api = InferenceAPI()
    try:
        client = CachingInference(api, None)
        assert not hasattr(client, "store") and not hasattr(client, "put")
    finally:
        api.close()
