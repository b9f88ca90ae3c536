"""The library works from a user's project that has its own top-level ``models`` and ``processors`` modules.

Django apps, for example, all have a ``models.py``; before the layers were imported under one root
(``ingest.models``, ``ingest.processors``), such a module on ``sys.path`` shadowed ours and broke ``import ingest``.
"""

from __future__ import annotations

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
