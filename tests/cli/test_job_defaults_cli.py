"""``ingest run`` / ``ingest reindex`` take every default they do not get from the user from ``JobConfig``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from typer.testing import CliRunner

from ingest.cli import jobs_cmd
from ingest.cli.main import app
from ingest.jobs.config import JobConfig


@dataclasses.dataclass
class _OtherDefaults(JobConfig):
    """A job config whose defaults differ from the shipped ones: the CLI must follow them."""

    dest: str = "file:///tmp/other.jsonl"
    bulk_docs: int = 7
    bulk_bytes: int = 12345
    skip_unchanged: bool = False


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    runs: list[tuple[Any, ...]] = []
    monkeypatch.setattr(jobs_cmd, "_run", lambda ctx, config, *rest: runs.append((config, *rest)))
    return runs


def test_run_without_options_is_the_job_configs_defaults(captured: list[tuple[Any, ...]]) -> None:
    result = CliRunner().invoke(app, ["run", "--source", "docs.jsonl", "--index", "docs"])
    assert result.exit_code == 0, result.output
    assert captured[0][0] == JobConfig(source="docs.jsonl", index="docs")


def test_the_cli_follows_the_job_configs_defaults(captured: list[tuple[Any, ...]],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ingest.jobs.config.JobConfig", _OtherDefaults)
    assert CliRunner().invoke(app, ["run", "--source", "docs.jsonl", "--index", "docs"]).exit_code == 0
    assert CliRunner().invoke(app, ["reindex", "--source-url", "http://127.0.0.1:9", "--source-index", "a",
                                    "--index", "b"]).exit_code == 0
    run, reindex = captured[0][0], captured[1][0]
    assert (run.dest, run.bulk_docs, run.bulk_bytes, run.skip_unchanged) == ("file:///tmp/other.jsonl", 7, 12345, False)
    assert (reindex.dest, reindex.skip_unchanged, reindex.resume) == ("file:///tmp/other.jsonl", False, False)


def test_given_options_win(captured: list[tuple[Any, ...]]) -> None:
    result = CliRunner().invoke(app, ["run", "--source", "d.jsonl", "--index", "d", "--bulk-docs", "5", "--resume",
                                      "--no-skip-unchanged", "--dest", "embedded"])
    assert result.exit_code == 0, result.output
    config = captured[0][0]
    assert (config.bulk_docs, config.resume, config.skip_unchanged, config.dest) == (5, True, False, "embedded")
