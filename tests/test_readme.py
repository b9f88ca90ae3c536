"""The docs cannot rot: every ``PUT _inference/...`` example in README.md and docs/*.md validates through the
endpoint request models, every provider has one, every environment variable the code reads is documented,
the built-in endpoint ids are named, and the README's pipeline example parses as a pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_PUT = re.compile(r"^PUT /?_inference/(?:(?P<task>[a-z_]+)/)?(?P<id>[^\s/]+)\s*$")


def _put_examples() -> list[tuple[str, str | None, str, dict]]:
    found = []
    for path in DOCS:
        for block in _FENCE.findall(path.read_text(encoding="utf-8")):
            first, _, rest = block.partition("\n")
            match = _PUT.match(first.strip())
            if match:
                found.append((f"{path.name}:{match['id']}", match["task"], match["id"], json.loads(rest)))
    return found


EXAMPLES = _put_examples()


def test_examples_were_found() -> None:
    assert len(EXAMPLES) >= 17


@pytest.mark.parametrize(("where", "task", "inference_id", "body"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_put_example_validates(ingest_home: Path, where: str, task: str | None, inference_id: str,
                               body: dict) -> None:
    from ingest.models.api import InferenceAPI
    from ingest.models.endpoints.ids import parse_task_type

    api = InferenceAPI()
    try:
        config, _service = api.registry.parse_put(inference_id, body, parse_task_type(task))
    finally:
        api.close()
    assert config.service == body["service"]


def test_every_provider_has_an_example() -> None:
    from ingest.models.services.registry import service_classes

    documented = {body["service"] for *_rest, body in EXAMPLES}
    assert set(service_classes()) - documented == set()


def test_every_environment_variable_is_documented() -> None:
    from ingest.models.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    read = set(Settings.variables())  # the package's own: all of them are Settings fields
    for path in (ROOT / "tests").rglob("*.py"):  # the test harness's INGEST_TEST_* variables
        read |= set(re.findall(r"environ(?:\.get|\.setdefault)?\(?\[?\"(INGEST_[A-Z0-9_]+)\"", path.read_text()))
    assert any(name.startswith("INGEST_TEST_") for name in read), "the scan found nothing: the pattern is wrong"
    missing = sorted(name for name in read if f"| `{name}` |" not in readme)  # a row of the table
    assert missing == []


def test_only_settings_reads_the_environment() -> None:
    """``Settings.from_env`` is the one reader of ``INGEST_*`` variables: a module reading one itself would
    bypass the settings an entry point passed down, and escape the README check above."""
    readers = []
    for layer in ("models", "processors", "ingest"):
        for path in (ROOT / layer).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"(?:environ|getenv)\b[^\n]*\"INGEST_", text) and path.name != "settings.py":
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_builtin_endpoints_are_named() -> None:
    from ingest.models.endpoints.preconfigured import PRECONFIGURED

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in PRECONFIGURED)


def test_pipeline_example_parses(ingest_home: Path) -> None:
    from ingest.models.api import InferenceAPI
    from ingest.processors import PipelineService

    body = yaml.safe_load((ROOT / "docs" / "examples" / "pipeline.yaml").read_text(encoding="utf-8"))
    api = InferenceAPI()
    try:
        pipeline = PipelineService(api.store, api).parse(body)
    finally:
        api.close()
    assert pipeline is not None
    assert "docs/examples/pipeline.yaml" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_shell_completion_the_readme_describes_exists() -> None:
    import os
    import subprocess
    import sys

    script = Path(sys.executable).parent / "ingest"  # the console script: completion is keyed by its name
    proc = subprocess.run([str(script), "--show-completion", "bash"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               # the shell comes from the argument, not from the parent processes (none is a
                               # shell under nohup or some CI runners: "Shell  not supported")
                               "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "_INGEST_COMPLETE=complete_bash" in proc.stdout
    assert "`ingest --install-completion`" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.realmodel
@pytest.mark.slow
def test_the_ten_minute_walkthrough_works_with_the_real_models(ingest_home: Path) -> None:
    """The README's steps 3-4 with E5 and the sparse encoder: store docs/examples/pipeline.yaml, run it over
    docs/examples/my-docs.jsonl, and find what the README says the queries find."""
    from ingest.jobs import JobConfig, run_job
    from ingest.jobs.search import search
    from ingest.models.api import default_api
    from ingest.processors import PipelineService

    api = default_api()
    body = yaml.safe_load((ROOT / "docs" / "examples" / "pipeline.yaml").read_text(encoding="utf-8"))
    PipelineService(api.store, api).put("my-pipeline", body)
    summary = run_job(JobConfig(source=str(ROOT / "docs" / "examples" / "my-docs.jsonl"), index="my-docs",
                                pipeline="my-pipeline", id_field="id"))
    assert (summary.read, summary.indexed, summary.failed) == (3, 3, 0)
    dense = search("my-docs", "forgot my password", field="content_e5", k=3)["hits"]["hits"]
    assert dense[0]["_id"] == "1" and dense[0]["_source"]["title"] == "Reset your password"  # trimmed
    assert "content" not in dense[0]["_source"] and len(dense[0]["_source"]["content_e5"]) == 384
    sparse = search("my-docs", "headphones for planes", field="content_elser", k=1)["hits"]["hits"]
    assert sparse[0]["_id"] == "2"


def test_readme_names_every_remote_provider_and_counts_them() -> None:
    from ingest.models.services.registry import service_classes
    from ingest.models.services.remote.service import RemoteService

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    remote = sorted(name for name, cls in service_classes().items() if issubclass(cls, RemoteService))
    match = re.search(r"any of (\d+) remote providers: (.*?)\. One `PUT`", readme, re.S)
    assert match, "the README's provider sentence is gone"
    assert int(match[1]) == len(remote)
    assert sorted(re.findall(r"`([^`]+)`", match[2])) == remote


def test_provider_table_lists_every_service_with_its_task_types() -> None:
    from ingest.models.services.registry import service_classes

    text = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([^`]+)`[^|]* \| ([a-z_, ]+) \|$", text, re.M))
    assert {name: set(table.get(name, "").split(", ")) for name in service_classes()} == {
        name: {str(t) for t in cls.task_types} for name, cls in service_classes().items()}


def _python_api_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return list(re.findall(r"^```python\n(.*?)^```", section, re.S | re.M))


@pytest.mark.realmodel
def test_python_api_examples_run_and_print_what_they_say(ingest_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Each ``print(...)  # expected`` of the README's Python API section prints ``expected``."""
    from ingest.models.api import close_default_api

    blocks = _python_api_blocks()
    assert len(blocks) >= 3
    expected = [m.group(1) for b in blocks for m in re.finditer(r"^\s*print\(.*\)  # (.*)$", b, re.M)]
    assert len(expected) >= 6
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    try:
        for block in blocks:
            exec(compile(block, "README.md (Python API)", "exec"), namespace)  # the docs' own code
    finally:
        close_default_api()
    assert capsys.readouterr().out.splitlines() == expected
