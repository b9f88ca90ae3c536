"""`ingest --version`, help that is complete when piped, shell completion (real CLI subprocesses)."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.jobs.helpers import ROOT, ingest

COMMANDS = [[], ["run"], ["reindex"], ["search"], ["infer"], ["serve"], ["models"], ["models", "import"],
            ["pipelines"], ["dead-letter"], ["dead-letter", "purge"], ["dead-letter", "replay"], ["keys"]]


def test_version() -> None:
    proc = ingest("--version")
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert proc.returncode == 0 and proc.stdout.strip() == f"ingest {expected}"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ingest")
def test_piped_help_is_not_cut_off(command: list[str]) -> None:
    proc = ingest(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout and not re.search(r"\w\.\.\.$", proc.stdout, re.MULTILINE), proc.stdout
    assert "╭" not in proc.stdout  # plain text, no boxes, when not a terminal


def test_shell_completion_script_and_completions() -> None:
    script = ingest(env={"_INGEST_COMPLETE": "source_bash"})
    assert script.returncode == 0, script.stderr
    assert "_ingest_completion()" in script.stdout and "_INGEST_COMPLETE=complete_bash" in script.stdout
    words = ingest(env={"_INGEST_COMPLETE": "complete_bash", "COMP_WORDS": "ingest dead-letter p", "COMP_CWORD": "2"})
    assert words.returncode == 0 and words.stdout.split() == ["purge"]
