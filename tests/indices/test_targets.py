"""The one resolver of write targets and pipelines, and index expressions, as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.indices.catalog import Alias
from ingest.indices.expressions import Options, resolve, write_index
from ingest.indices.targets import Resolver
from ingest.models.errors import ElasticsearchError


class Source:
    def __init__(self, settings: dict[str, dict[str, Any]], aliases: list[Alias]) -> None:
        self._settings, self._aliases = settings, aliases

    def aliases(self) -> list[Alias]:
        return self._aliases

    def settings(self, name: str) -> dict[str, Any]:
        return self._settings.get(name, {})


def test_request_default_final_and_none() -> None:
    r = Resolver(Source({"i": {"index.default_pipeline": "d", "index.final_pipeline": "f"}}, []))
    assert r.pipelines_for("i").pipelines == ("d", "f")
    assert r.pipelines_for("i", "req").pipelines == ("req", "f")
    assert r.pipelines_for("i", "_none").pipelines == ("f",)
    assert r.pipelines_for("other").pipelines == ()
    assert r.after_reroute("i", rerouted=False).pipelines == ("f",)
    assert r.after_reroute("i", rerouted=True).pipelines == ("d", "f")
    none_final = Resolver(Source({"j": {"index.final_pipeline": "_none"}}, []))
    assert none_final.pipelines_for("j").final is None


def test_alias_write_index_and_its_pipelines() -> None:
    aliases = [Alias("a", "one"), Alias("b", "one"), Alias("b", "two", True), Alias("c", "one"), Alias("c", "two")]
    r = Resolver(Source({"one": {"index.default_pipeline": "p1"}, "two": {"index.default_pipeline": "p2"}}, aliases))
    assert r.pipelines_for("a").index == "one" and r.pipelines_for("a").pipelines == ("p1",)
    assert r.pipelines_for("b").index == "two" and r.pipelines_for("b").pipelines == ("p2",)
    with pytest.raises(ElasticsearchError, match=r"no write index is defined for alias \[c\]"):
        r.pipelines_for("c")
    assert write_index("plain", aliases) == "plain"
    with pytest.raises(ElasticsearchError, match="no write index"):  # explicitly disabled
        write_index("x", [Alias("x", "only", False)])


def test_expressions() -> None:
    existing = ["logs-1", "logs-2", "metrics"]
    aliases = [Alias("all-logs", "logs-1"), Alias("all-logs", "logs-2")]
    assert resolve("logs-*", existing, aliases) == ["logs-1", "logs-2"]
    assert resolve("*,-logs-*", existing, aliases) == ["metrics"]
    assert resolve("all-logs", existing, aliases) == ["logs-1", "logs-2"]
    assert resolve("_all", existing, aliases) == existing
    assert resolve("nope*", existing, aliases) == []
    with pytest.raises(ElasticsearchError, match=r"no such index \[nope\*\]"):
        resolve("nope*", existing, aliases, Options(allow_no_indices=False))
    with pytest.raises(ElasticsearchError, match=r"no such index \[gone\]"):
        resolve("metrics,gone", existing, aliases)
    assert resolve("metrics,gone", existing, aliases, Options(ignore_unavailable=True)) == ["metrics"]
    with pytest.raises(ElasticsearchError, match="matches an alias"):
        resolve("all-logs", existing, aliases, aliases_allowed=False)
