"""The package-root Python API: ``ingest.run_job`` over every kind of source, the pipeline given three ways,
Elasticsearch-style errors for bad inputs, the same summary as the CLI, inference, pipelines and search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ingest
from tests.jobs.conftest import jobs_tiny_dense, jobs_tiny_sparse, tiny_endpoints  # noqa: F401 - fixtures
from tests.jobs.helpers import ROOT, summary_of, write_jsonl
from tests.jobs.helpers import ingest as ingest_cli

TRIM = {"processors": [{"trim": {"field": "title"}}, {"set": {"field": "seen", "value": True}}]}
DOCS = [{"id": "a", "title": "  first "}, {"id": "b", "title": "second"}, {"id": "c", "title": " third"}]


def _stored(index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    from ingest.sinks.embedded import EmbeddedStore

    store = EmbeddedStore()
    try:
        return store.fetch(index, ids)
    finally:
        store.close()


def _letters(job_id: str) -> list[dict[str, Any]]:
    from ingest.deadletter.store import DeadLetterStore

    store = DeadLetterStore()
    try:
        return [letter.to_dict() for letter in store.entries(job_id)]
    finally:
        store.close()


# --- the package root -------------------------------------------------------------------------------------------


def test_import_ingest_loads_nothing_and_names_load_on_use() -> None:
    code = ("import sys, ingest\n"
            "before = sorted(m for m in sys.modules if m.startswith(('ingest.', 'pyarrow', 'pandas', 'polars', 'duckdb')))\n"
            "assert set(ingest.__all__) <= set(dir(ingest)), dir(ingest)\n"
            "run = ingest.run_job\n"
            "print(before, run.__module__, 'pandas' in sys.modules, 'polars' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "ingest.public.jobs", "False", "False"]


def test_the_cli_starts_without_onnx_or_onnx_runtime() -> None:
    """``ingest --version`` and every command's start: the model libraries cost seconds of import time."""
    code = "import sys, ingest.cli.main; print(sorted(m for m in ('onnx', 'onnxruntime', 'ml_dtypes') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


def test_every_public_name_resolves_and_unknown_ones_raise_attribute_error() -> None:
    for name in ingest.__all__:
        assert getattr(ingest, name) is not None
    assert ingest.InferenceAPI.__module__ == "ingest.models.api"
    with pytest.raises(AttributeError, match="no attribute 'RowsSource'"):
        ingest.RowsSource  # noqa: B018 - the attribute access is the test


# --- sources ----------------------------------------------------------------------------------------------------


def test_list_of_dicts_with_a_dict_pipeline_into_the_embedded_store(ingest_home: Path) -> None:
    summary = ingest.run_job(DOCS, pipeline=TRIM, index="books", id_field="id")
    assert isinstance(summary, ingest.JobSummary)
    assert (summary.read, summary.indexed, summary.failed, summary.dead_lettered, summary.completed) == (3, 3, 0, 0, True)
    stored = _stored("books", ["a", "b", "c"])
    assert {k: v["title"] for k, v in stored.items()} == {"a": "first", "b": "second", "c": "third"}
    assert all(v["seen"] is True for v in stored.values())


def test_a_generator_streams_and_bad_items_go_to_the_dead_letter_store_with_their_reason(ingest_home: Path) -> None:
    def docs() -> Iterator[Any]:
        yield from ({"id": str(i), "title": f"t{i}"} for i in range(25))
        yield "not a document"
        yield {"id": "x", "title": ["a", 1]}  # a list Arrow cannot hold: a read error, not a crash

    summary = ingest.run_job(docs(), index="gen", id_field="id", batch_size=10)
    assert (summary.read, summary.indexed, summary.failed) == (27, 25, 2)
    reasons = sorted(letter["error"]["reason"] for letter in ingest.dead_letters(summary.job_id))
    assert len(reasons) == 2
    assert "document 25: document is a [str], not an object" in reasons
    assert reasons[1].startswith("document 26: cannot be read as a document")


def test_progress_goes_to_stderr_as_json_lines_when_asked(ingest_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    ingest.run_job(DOCS, index="quiet")
    assert capfd.readouterr().err == ""
    ingest.run_job(DOCS, index="loud", progress=True)
    last = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert (last["read"], last["indexed"]) == (3, 3)


def test_rows_whose_types_clash_are_each_decided_by_the_mapping(ingest_home: Path) -> None:
    summary = ingest.run_job([{"id": "1", "n": 5}, {"id": "2", "n": "five"}], index="clash", id_field="id")
    assert (summary.indexed, summary.failed) == (1, 1)
    [letter] = _letters(summary.job_id)
    assert letter["error"]["type"] == "document_parsing_exception"


def test_pyarrow_table_and_record_batch_reader(ingest_home: Path) -> None:
    table = pa.table({"id": [1, 2, 3], "title": [" x", "y ", "z"]})
    summary = ingest.run_job(table, pipeline=TRIM, index="t", id_field="id", batch_size=2)
    assert (summary.read, summary.indexed) == (3, 3)
    assert _stored("t", ["1"])["1"]["title"] == "x"
    reader = pa.table({"id": ["r1", "r2"], "title": ["a", "b"]}).to_reader(max_chunksize=1)
    summary = ingest.run_job(reader, index="r", id_field="id")
    assert (summary.read, summary.indexed) == (2, 2)
    assert set(_stored("r", ["r1", "r2"])) == {"r1", "r2"}


def test_pandas_and_polars_dataframes(ingest_home: Path) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    frame = pd.DataFrame({"id": ["p1", "p2"], "title": [" a", "b "]}, index=[10, 20])
    summary = ingest.run_job(frame, pipeline=TRIM, index="pd", id_field="id")
    assert (summary.read, summary.indexed) == (2, 2)
    assert _stored("pd", ["p1"])["p1"] == {"id": "p1", "title": "a", "seen": True}  # the index is no field
    mixed = pd.DataFrame({"id": ["m1", "m2"], "n": [1, "one"]})  # Arrow refuses the column: read row by row
    summary = ingest.run_job(mixed, index="pdmixed", id_field="id")
    assert (summary.read, summary.indexed, summary.failed) == (2, 1, 1)
    dated = pd.DataFrame({"id": ["t1"], "at": pd.to_datetime(["2024-03-04 05:06:07"])})  # as the client sends it
    assert ingest.run_job(dated, index="pddates", id_field="id").indexed == 1
    assert _stored("pddates", ["t1"])["t1"]["at"].startswith("2024-03-04T05:06:07")
    summary = ingest.run_job(pl.DataFrame({"id": ["q1"], "title": ["polars"]}), index="pl", id_field="id")
    assert (summary.read, summary.indexed) == (1, 1)
    assert _stored("pl", ["q1"])["q1"]["title"] == "polars"


def test_a_path_source_gives_the_same_summary_as_the_cli(ingest_home: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "docs.jsonl", [*DOCS, {"id": "d", "other": 1}])
    (tmp_path / "docs.jsonl").write_text((tmp_path / "docs.jsonl").read_text() + "{not json\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("processors:\n  - trim: {field: title}\n")
    proc = ingest_cli("run", "--source", str(data), "--pipeline", str(pipeline), "--index", "cli", "--id-field", "id",
                      env={"INGEST_HOME": str(ingest_home)})
    assert proc.returncode == 1, proc.stderr  # documents went to the dead-letter store
    from_cli = summary_of(proc)
    summary = ingest.run_job(data, pipeline=pipeline, index="py", id_field="id").to_dict()
    for key in ("job_id", "index", "elapsed_s", "docs_per_s"):
        from_cli.pop(key)
        summary.pop(key)
    def untimed(value: object) -> object:  # wall times (``time_in_millis``) differ run to run
        if isinstance(value, dict):
            return {k: untimed(v) for k, v in value.items() if k != "time_in_millis"}
        return [untimed(v) for v in value] if isinstance(value, list) else value

    from_cli, summary = untimed(from_cli), untimed(summary)  # type: ignore[assignment]
    assert summary == from_cli
    assert (summary["read"], summary["indexed"], summary["failed"]) == (5, 3, 2)


def test_a_stored_pipeline_by_id(ingest_home: Path) -> None:
    service = ingest.pipelines()
    assert service.put("tidy", TRIM) == {"acknowledged": True}
    assert service.get("tidy") == {"tidy": TRIM}
    summary = ingest.run_job(DOCS[:1], pipeline="tidy", index="stored", id_field="id")
    assert summary.indexed == 1
    assert _stored("stored", ["a"])["a"]["title"] == "first"
    simulated = service.simulate({"docs": [{"_source": {"title": " s "}}]}, "tidy")
    assert simulated["docs"][0]["doc"]["_source"] == {"title": "s", "seen": True}


# --- bad inputs -------------------------------------------------------------------------------------------------


def _error(**kwargs: Any) -> ingest.ElasticsearchError:
    with pytest.raises(ingest.ElasticsearchError) as caught:
        ingest.run_job(**kwargs)
    return caught.value


def test_a_dict_pipeline_with_an_unknown_processor(ingest_home: Path) -> None:
    err = _error(source=DOCS, index="x", pipeline={"processors": [{"nope": {"field": "a"}}]})
    assert err.status == 400
    body = err.to_dict()
    assert body["error"]["type"] == "parse_exception"
    assert body["error"]["reason"] == "No processor type exists with name [nope]"


def test_a_table_whose_id_field_is_not_a_string_or_integer(ingest_home: Path) -> None:
    err = _error(source=pa.table({"id": [1.5, 2.5]}), index="floats", id_field="id")
    assert (err.status, str(err)) == (400, "[id_field] [id] is of type [double]; a document id is taken from a "
                                           "string or integer field")
    err = _error(source=pa.table({"id": ["a"]}), index="floats", id_field="key")
    assert str(err) == "[id_field] [key] is not a field of the source; its fields are ['id']"
    assert not (ingest_home / "indices.duckdb").exists()  # refused before anything was opened


def test_an_unknown_dest_scheme(ingest_home: Path) -> None:
    err = _error(source=DOCS, index="x", dest="lance:///tmp/x")
    assert err.status == 400
    assert "unknown destination [lance:///tmp/x]" in str(err)


@pytest.mark.parametrize(("source", "reason"), [
    (42, "got [builtins.int]"),
    ({"id": "a"}, "[source] is a single document; pass a list of documents"),
    ("", "[source] must not be empty"),
])
def test_a_source_that_is_none_of_the_accepted_kinds(ingest_home: Path, source: object, reason: str) -> None:
    err = _error(source=source, index="x")
    assert err.status == 400
    assert reason in str(err)


def test_pipeline_files_and_ids_that_do_not_exist_or_do_not_parse(ingest_home: Path, tmp_path: Path) -> None:
    assert str(_error(source=DOCS, index="x", pipeline=tmp_path / "nope.yaml")) == \
        f"pipeline file [{tmp_path / 'nope.yaml'}] does not exist"
    assert _error(source=DOCS, index="x", pipeline="no-such-id").status == 404
    broken = tmp_path / "broken.yaml"
    broken.write_text("processors: [\n")
    err = _error(source=DOCS, index="x", pipeline=broken)
    assert (err.status, err.error_type) == (400, "parse_exception")
    assert _error(source=DOCS, index="x", pipeline=3).status == 400


def test_resuming_data_in_memory_needs_its_job_id(ingest_home: Path) -> None:
    err = _error(source=DOCS, index="x", resume=True)
    assert "needs the [job_id]" in str(err)
    first = ingest.run_job(DOCS, index="again", job_id="mine")
    resumed = ingest.run_job(DOCS, index="again", job_id="mine", resume=True)
    assert (first.indexed, resumed.read, resumed.indexed, resumed.job_id) == (3, 3, 3, "mine")


# --- inference, pipelines with models, search -------------------------------------------------------------------


def test_inference_a_pipeline_with_a_model_and_search(tiny_endpoints: dict[str, str]) -> None:  # noqa: F811
    api = ingest.InferenceAPI()
    try:
        result = ingest.inference("tiny-dense", ["hello world"], api=api)
        assert json.loads(json.dumps(result.to_dict()))["text_embedding"][0]["embedding"]
        body = {"processors": [{"inference": {"model_id": "tiny-dense",
                                              "input_output": [{"input_field": "text", "output_field": "vec"}]}}]}
        docs = [{"id": "1", "text": "the cat sat on the mat"}, {"id": "2", "text": "hello world"}]
        summary = ingest.run_job(docs, pipeline=body, index="vectors", id_field="id", inference=api)
        assert (summary.indexed, summary.failed) == (2, 0)
        hits = ingest.search("vectors", "hello world", k=1, api=api)
        assert hits["field"] == "vec"
        assert hits["hits"]["hits"][0]["_id"] == "2"
    finally:
        api.close()
