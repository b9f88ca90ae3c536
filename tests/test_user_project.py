"""The library works from a user's project that has its own top-level ``models`` and ``processors`` modules.

Django apps, for example, all have a ``models.py``; before the layers were imported under one root
(``ingest.models``, ``ingest.processors``), such a module on ``sys.path`` shadowed ours and broke ``import ingest``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

USER_SCRIPT = """
import models, processors  # the user's own modules, which must win for the user's imports
assert models.OWNER == processors.OWNER == "user"
from ingest.models.api import InferenceAPI
from ingest.processors.pipeline import Pipeline
import ingest.cli.main
print("ok", InferenceAPI.__module__, Pipeline.__module__)
"""


def test_user_modules_named_models_and_processors_do_not_shadow_ours(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text('OWNER = "user"\n')
    (tmp_path / "processors.py").write_text('OWNER = "user"\n')
    (tmp_path / "app.py").write_text(USER_SCRIPT)
    env = {**os.environ, "INGEST_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "ingest.models.api", "ingest.processors.pipeline"]


JOB_SCRIPT = """
import json, models, processors
import ingest
summary = ingest.run_job(
    [{"id": "1", "title": " one "}, {"id": "2", "title": "two"}, "not a document"],
    pipeline={"processors": [{"trim": {"field": "title"}}]}, index="project-docs", id_field="id",
)
print(json.dumps({"owner": models.OWNER, **summary.to_dict()}))
"""


def test_run_job_and_the_cli_from_a_project_with_its_own_models_and_processors(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text('OWNER = "user"\n')
    (tmp_path / "processors.py").write_text('OWNER = "user"\n')
    (tmp_path / "job.py").write_text(JOB_SCRIPT)
    (tmp_path / "docs.jsonl").write_text('{"id": "3", "title": "three"}\n')
    # The project folder first on the path, as a Django project's root is: the console script sees it too.
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "INGEST_HOME": str(tmp_path / "home"), "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "job.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert (summary["owner"], summary["read"], summary["indexed"], summary["failed"]) == ("user", 3, 2, 1)

    cli = Path(sys.executable).with_name("ingest")
    run = subprocess.run([str(cli), "run", "--source", "docs.jsonl", "--index", "project-docs", "--id-field", "id"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["indexed"] == 1
    letters = subprocess.run([str(cli), "dead-letter", "list", "--job-id", summary["job_id"]], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert letters.returncode == 0, letters.stderr
    [letter] = [json.loads(line) for line in letters.stdout.splitlines()]
    assert letter["error"]["reason"] == "document 2: document is a [str], not an object"
