"""Where ingest keeps its state: model cache, registry, embedded indices — private to the user.

Everything ingest creates under ``$INGEST_HOME`` (and the model cache) is its owner's only: folders 0700, files
0600, through the helpers below. Files a library creates by itself (DuckDB's WAL, ONNX files) are tightened
right after (:func:`tighten`, :func:`private_tree`); they appear inside 0700 folders, so nobody else can reach
them even for that moment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ingest.models.settings import Settings

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ingest_home(settings: Settings | None = None) -> Path:
    """The settings' home (``$INGEST_HOME``, default ``~/.cache/ingest``), created (or tightened) to 0700.

    Without ``settings``, those of the environment (``Settings.from_env()``): library callers that built none.
    """
    return private_dir((settings or Settings.from_env()).home)


def models_dir(settings: Settings | None = None) -> Path:
    """Folder holding converted ONNX models, one sub-folder per model and variant.

    ``$INGEST_MODEL_CACHE`` overrides it, so several homes (tests, jobs) can share one set of built models.
    """
    return private_dir((settings or Settings.from_env()).models)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; an existing folder of ours is tightened to 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for folder in missing:  # mkdir's mode is filtered by the umask, and parents get the default mode
        _chmod(folder, PRIVATE_DIR)
    _chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing (before SQLite opens it), else tighten it to 0600."""
    private_dir(path.parent)
    # An existing file is only chmod'ed, never opened: closing any descriptor of a file drops every POSIX lock
    # this process holds on it, so opening and closing a live SQLite database would break its other connections.
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
        os.close(fd)
    _chmod(path, PRIVATE_FILE)
    return path


@contextmanager
def open_private(path: Path) -> Iterator[IO[str]]:
    """Open ``path`` for writing text, created (or truncated) with mode 0600 whatever the umask."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE)
    _chmod(path, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yield fh


def tighten(*paths: Path) -> None:
    """Bring files a library created (a database and its WAL) to 0600; missing ones are skipped."""
    for path in paths:
        try:
            if path.stat().st_mode & 0o077:
                _chmod(path, PRIVATE_FILE)
        except FileNotFoundError:
            continue


def private_tree(root: Path) -> None:
    """Every folder under ``root`` (itself included) to 0700 and every file to 0600."""
    _chmod(root, PRIVATE_DIR)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _chmod(Path(folder) / name, PRIVATE_DIR)
        for name in files:
            _chmod(Path(folder) / name, PRIVATE_FILE)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except OSError:  # not ours (a shared parent such as /tmp) or gone: nothing to tighten
        pass
