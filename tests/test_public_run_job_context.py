"""``ingest.run_job(..., context=..., settings=...)``: a job runs in the application context (or the settings)
it is given — its home's store, dead letters and checkpoints — not in the environment's."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest
from ingest.context import AppContext
from ingest.models.errors import IllegalArgumentException
from ingest.models.settings import Settings

DOCS = [{"id": "a", "n": 1}, {"id": "b", "n": "not a number"}, {"id": "c", "n": 3}]


def _stored(home: Path, index: str) -> int:
    context = AppContext(Settings.from_env({"INGEST_HOME": str(home)}))
    try:
        with context.open_sink("embedded") as sink:
            return sink.count(index) if sink.index_exists(index) else 0  # type: ignore[attr-defined]
    finally:
        context.close()


def test_settings_choose_the_home_of_the_job(ingest_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    summary = ingest.run_job(DOCS, index="docs", id_field="id", job_id="with-settings",
                             settings=Settings.from_env({"INGEST_HOME": str(other)}))
    assert (summary.indexed, summary.failed) == (2, 1)
    assert _stored(other, "docs") == 2 and _stored(ingest_home, "docs") == 0
    context = AppContext(Settings.from_env({"INGEST_HOME": str(other)}))
    try:
        assert [e.doc_id for e in context.deadletters().entries("with-settings")] == ["b"]
    finally:
        context.close()


def test_a_context_is_used_and_left_open_for_its_owner(ingest_home: Path, tmp_path: Path) -> None:
    context = AppContext(Settings.from_env({"INGEST_HOME": str(tmp_path / "ctx-home")}))
    try:
        first = ingest.run_job(DOCS, index="docs", id_field="id", job_id="ctx-1", context=context)
        second = ingest.run_job(DOCS[:1], index="docs", id_field="id", job_id="ctx-2", context=context)
        assert (first.indexed, second.indexed) == (2, 1)
        assert context.deadletters().count("ctx-1") == 1  # still open: the job did not close it
    finally:
        context.close()
    assert _stored(tmp_path / "ctx-home", "docs") == 2 and _stored(ingest_home, "docs") == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"executor": "spark"}, "unknown executor [spark]: expected [local] or [ray]"),
    ({"address": "127.0.0.1:6379"}, "[address] is the Ray cluster of [executor=\"ray\"]"),
    ({"executor": "ray"}, "reads its source on the workers: give a path or URL"),
])
def test_bad_combinations_are_refused_before_anything_runs(ingest_home: Path, kwargs: dict[str, str],
                                                           message: str) -> None:
    with pytest.raises(IllegalArgumentException) as err:
        ingest.run_job(DOCS, index="docs", **kwargs)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_context_and_settings_are_exclusive(ingest_home: Path) -> None:
    context = AppContext()
    try:
        with pytest.raises(IllegalArgumentException, match="are exclusive: a context holds its settings"):
            ingest.run_job(DOCS, index="docs", context=context, settings=Settings.from_env({}))
    finally:
        context.close()
