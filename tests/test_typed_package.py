"""The wheel is a typed package (PEP 561): a user's type checker reads our hints.

Built and unpacked as a user would get it, then mypy checks a user's file against it: with ``ingest/py.typed`` in
the wheel the user's type error is found; without the marker mypy skips the whole package ("missing library stubs
or py.typed marker") and the error would pass unseen.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USER_CODE = """
from ingest.models.api import InferenceAPI

count: int = InferenceAPI().infer("my-e5", "hello")
"""


def _mypy(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}  # mypy searches sys.path entries like site-packages
    # The packages mypy may find are those of the interpreter the venv was made from (plus ``site``): not the
    # venv's own, whose editable install of this repository would answer in place of the wheel.
    base = getattr(sys, "_base_executable", sys.executable)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", os.devnull, "--python-executable", base,
         "app.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )


def test_wheel_ships_py_typed_and_users_type_check_against_it(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("ingest-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "ingest/py.typed" in archive.namelist()
        archive.extractall(site)
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(USER_CODE)

    checked = _mypy(project, site)
    assert checked.returncode == 1
    assert 'app.py:4: error: Incompatible types in assignment (expression has type "TextEmbeddingResults' \
        in checked.stdout
    assert "py.typed" not in checked.stdout

    (site / "ingest" / "py.typed").unlink()  # the package as it shipped before: hints invisible to users
    untyped = _mypy(project, site)
    assert "missing library stubs or py.typed marker" in untyped.stdout
    assert "Incompatible types" not in untyped.stdout
