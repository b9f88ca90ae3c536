"""What the conformance suite does not reach in the LanceDB sink: ids and index names SQL or Lance would
mangle, and the mapping surviving a reopen (it lives in the Lance dataset, not in the process)."""

from __future__ import annotations

from pathlib import Path

import lancedb

from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint

ODD_IDS = ["it's", "a\\b", "ü", "%_", "x" * 500, '"q"', "a'); DROP TABLE t; --"]


def test_ids_are_opaque_strings(tmp_path: Path) -> None:
    with open_sink(f"lancedb://{tmp_path}") as sink:
        assert [r.status for r in sink.write([BulkAction("index", "w", i, {"i": i}) for i in ODD_IDS])] == [201] * 7
        assert [r.status for r in sink.write([BulkAction("create", "w", i, {"i": 0}) for i in ODD_IDS])] == [409] * 7
        assert sink.fetch("w", ODD_IDS) == {i: {"i": i} for i in ODD_IDS}
        assert [r.status for r in sink.write([BulkAction("delete", "w", i, None) for i in ODD_IDS[:3]])] == [200] * 3
        assert sink.count("w") == 4  # type: ignore[attr-defined]


def test_index_names_lance_refuses_are_encoded(tmp_path: Path) -> None:
    with open_sink(f"lancedb://{tmp_path}") as sink:
        results = sink.write([BulkAction("index", name, "1", {"n": name}) for name in ("a+b", "été", "plain.name-1")])
        assert [r.status for r in results] == [201, 201, 201]
        assert sink.get("a+b", "1") == {"n": "a+b"} and sink.get("été", "1") == {"n": "été"}  # type: ignore[attr-defined]
    assert "plain.name-1" in lancedb.connect(str(tmp_path)).list_tables().tables


def test_layout_and_dynamic_mapping_survive_a_reopen(tmp_path: Path) -> None:
    dest = f"lancedb://{tmp_path}"
    with open_sink(dest) as sink:
        sink.ensure_index("m", {"emb": FieldHint("dense", 2, "dot_product")})
        assert sink.write([BulkAction("index", "m", "1", {"n": 1, "emb": [0.6, 0.8]})])[0].status == 201
    with open_sink(dest) as sink:
        results = sink.write([BulkAction("index", "m", "2", {"n": "not a number"}),
                              BulkAction("index", "m", "3", {"n": 3, "emb": [1.0, 0.0, 0.0]}),
                              BulkAction("index", "m", "4", {"n": "4", "emb": [0.0, 1.0]})])
        assert [r.status for r in results] == [400, 400, 201]  # long mapped before; 2 dims mapped before
        hits = sink.search("m", "emb", [0.0, 1.0], 2)  # type: ignore[attr-defined]
        assert [h["_id"] for h in hits] == ["4", "1"] and abs(hits[0]["_score"] - 1.0) < 1e-6  # (1 + dot) / 2
