"""Issue 11, item 7: Painless memory limits, answered with ``circuit_breaking_exception`` naming the limit.

The regression: one ``_simulate`` (allowed to ``inference_user``) built a 1 GiB string in 1.3 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.processors import simulate as simulate_module
from ingest.processors.document import IngestDocument
from ingest.processors.errors import ScriptException
from ingest.processors.painless import compile_script, limits
from tests.servers import serve


def _run(source: str, ctx: dict[str, Any] | None = None) -> Any:
    doc = IngestDocument.from_source(ctx or {}, {"_index": "i", "_id": "1"}, "2024-01-01T00:00:00Z")
    return compile_script(source, {}).run(doc)


def _breaker(source: str, ctx: dict[str, Any] | None = None) -> str:
    with pytest.raises(ScriptException) as info:
        _run(source, ctx)
    cause = info.value.caused_by
    assert cause is not None and cause.error_type == "circuit_breaking_exception", cause
    assert cause.status == 429
    return cause.reason


@pytest.fixture()
def url(ingest_home: Path) -> Iterator[str]:
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    try:
        with serve(create_app(api)) as base:
            yield base
    finally:
        api.close()


def test_simulate_building_a_gigabyte_string_fails_fast(url: str) -> None:
    script = "def s = 'x'; for (def i = 0; i < 30; i++) { s = s + s } ctx.size = s.length()"
    body = {"pipeline": {"processors": [{"script": {"source": script}}]}, "docs": [{"_source": {}}]}
    start = time.monotonic()
    r = httpx.post(f"{url}/_ingest/pipeline/_simulate", json=body, timeout=60)
    elapsed = time.monotonic() - start
    assert r.status_code == 200, r.text
    error = r.json()["docs"][0]["error"]
    assert error["type"] == "script_exception"
    assert error["caused_by"]["type"] == "circuit_breaking_exception"
    assert f"larger than the limit of [{limits.MAX_STRING_CHARS}] characters" in error["caused_by"]["reason"]
    assert elapsed < 5  # the limit trips at 16M characters, not after building 1G


def test_string_methods_are_checked_before_they_build() -> None:
    reason = _breaker("ctx.t = ctx.s.replace('x', ctx.s)", {"s": "x" * 100_000})
    assert "String.replace" in reason and "characters" in reason
    assert "String.join" in _breaker("ctx.t = String.join(ctx.s, ctx.l)", {"s": "y" * 1000, "l": ["a"] * 20_000})
    assert "List.join" in _breaker("ctx.t = ctx.l.join(ctx.s)", {"s": "y" * 1000, "l": ["a"] * 20_000})
    assert _run("ctx.s.replace('a', 'bb')", {"s": "aaa"}) == "bbbbbb"  # small work is unaffected


def test_collections_are_bounded() -> None:
    reason = _breaker("def l = ['x']; for (def i = 0; i < 25; i++) { l.addAll(l) }")
    assert f"larger than the limit of [{limits.MAX_COLLECTION_SIZE}] elements" in reason
    reason = _breaker("ctx.parts = ctx.s.splitOnToken(',')", {"s": "a," * 2_000_000})
    assert "String.splitOnToken" in reason and "elements" in reason


def test_total_allocation_per_run_is_bounded() -> None:
    source = "for (def i = 0; i < 200; i++) { def t = ctx.s + ctx.s }"
    reason = _breaker(source, {"s": "z" * 2_000_000})  # each 4M-character string is under the string limit
    assert f"larger than the limit of [{limits.MAX_ALLOCATION_BYTES}] bytes" in reason


def test_a_simulate_is_bounded_in_documents_and_total_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.processors.pipeline import parse_pipeline

    pipeline = parse_pipeline("p", {"processors": [{"script": {"source": "ctx.t = ctx.s + ctx.s"}}]})
    monkeypatch.setattr(simulate_module, "MAX_SIMULATE_DOCS", 3)
    docs = [{"_source": {"s": "q" * 1000}} for _ in range(4)]
    with pytest.raises(Exception, match=r"more than the \[3\] a simulate request may run"):
        simulate_module.simulate(pipeline, {"docs": docs}, False)
    monkeypatch.setattr(simulate_module, "MAX_SIMULATE_SCRIPT_BYTES", 5000)  # two docs' worth
    out = simulate_module.simulate(pipeline, {"docs": docs[:3]}, False)["docs"]
    assert "doc" in out[0] and "doc" in out[1]
    assert out[2]["error"]["caused_by"]["type"] == "circuit_breaking_exception"
    assert "request script allocations" in out[2]["error"]["caused_by"]["reason"]


def test_integers_wrap_like_java_longs_instead_of_growing() -> None:
    """``x = x * x`` in a loop made a Python integer of 2^30 bits, then one multiplication ran for minutes."""
    expected = 3
    for _ in range(64):
        expected = expected * expected % (1 << 64)
    expected -= (1 << 64) if expected >= (1 << 63) else 0
    start = time.monotonic()
    assert _run("def x = 3; for (def i = 0; i < 64; i++) { x = x * x } return x") == expected
    assert time.monotonic() - start < 2
    assert _run("return 9223372036854775807 + 1") == -(1 << 63)
    assert _run("return 2 * 3 - 10") == -4


def test_a_verbose_simulate_is_bounded_by_the_snapshots_it_would_keep(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.processors.pipeline import parse_pipeline

    pipeline = parse_pipeline("p", {"processors": [{"set": {"field": f"f{i}", "value": i}} for i in range(50)]})
    docs = [{"_source": {"s": "w" * 10_000}} for _ in range(3)]
    assert len(simulate_module.simulate(pipeline, {"docs": docs}, True)["docs"]) == 3
    monkeypatch.setattr(simulate_module, "MAX_VERBOSE_SNAPSHOT_BYTES", 1_000_000)  # < 30 kB x 50 processors
    with pytest.raises(Exception, match=r"through \[50\] processors would keep about"):
        simulate_module.simulate(pipeline, {"docs": docs}, True)
    assert len(simulate_module.simulate(pipeline, {"docs": docs}, False)["docs"]) == 3  # not verbose: no snapshots

