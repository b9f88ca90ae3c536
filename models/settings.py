"""Every ``INGEST_*`` environment variable in one immutable object, read once.

``Settings.from_env()`` is the only place the package reads its environment. The entries (the CLI, ``create_app``,
``ingest.context.AppContext``) build one and pass it (or the value a module needs) down; constructors that are
also library API (``Store()``, ``InferenceAPI()``, ``DeadLetterStore()``) fall back to ``Settings.from_env()``
when given nothing, so embedding code keeps working without building a context. Ray workers get
``to_env()`` shipped and rebuild the same settings with ``from_env`` in their own process.

Each field names its variable and says what it is in its metadata; README's table of variables is checked against
them (``tests/test_readme.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path


def _var(env: str, default_text: str, doc: str) -> dict[str, str]:
    return {"env": env, "default": default_text, "doc": doc}


def default_home() -> Path:
    """``~/.cache/ingest``: the home when ``$INGEST_HOME`` is not set."""
    return Path.home() / ".cache" / "ingest"


@dataclass(frozen=True)
class Settings:
    """The process's settings. Paths are expanded (``~``) but not created: ``ingest.models.home`` creates them 0700."""

    home: Path = field(default_factory=default_home, metadata=_var(
        "INGEST_HOME", "~/.cache/ingest", "everything this installation stores"))
    model_cache: Path | None = field(default=None, metadata=_var(
        "INGEST_MODEL_CACHE", "$INGEST_HOME/models", "built ONNX models, shareable between homes"))
    scale_to_zero_time: str | None = field(default=None, metadata=_var(
        "INGEST_SCALE_TO_ZERO_TIME", "5m", "idle time before an adaptive deployment unloads its model"))
    duckdb_memory_limit: str = field(default="512MB", metadata=_var(
        "INGEST_DUCKDB_MEMORY_LIMIT", "512MB", "DuckDB's memory limit for the embedded store"))
    ml_platform: str | None = field(default=None, metadata=_var(
        "INGEST_ML_PLATFORM", "detected", "the ML platform (linux-x86_64, portable, ...) instead of the detected one"))
    http_max_content_length: str | None = field(default=None, metadata=_var(
        "INGEST_HTTP_MAX_CONTENT_LENGTH", "100mb", "the server's http.max_content_length"))
    knn_exact_below: int = field(default=10_000, metadata=_var(
        "INGEST_KNN_EXACT_BELOW", "10000", "k-NN searches fewer vectors than this exactly (else the HNSW side-car)"))
    fault: str | None = field(default=None, metadata=_var(
        "INGEST_FAULT", "unset", "tests only: a named kill point for the crash tests"))
    ray_pid_dir: Path | None = field(default=None, metadata=_var(
        "INGEST_RAY_PID_DIR", "unset", "tests only: Ray workers write their pid there"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``environ`` (default ``os.environ``); unset or empty variables take the default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if not raw:
                continue
            values[f.name] = Path(raw).expanduser() if f.name in _PATHS else _int(f.metadata["env"], raw) \
                if f.name in _INTS else raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def models(self) -> Path:
        """Where built models go: ``model_cache``, else ``<home>/models``."""
        return self.model_cache or self.home / "models"

    def to_env(self) -> dict[str, str]:
        """The variables that rebuild these settings in another process (a Ray worker): set fields only, and
        never ``fault`` (a crash test's kill point is aimed at the one process it was set for)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and f.name != "fault":
                out[f.metadata["env"]] = str(value)
        return out

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable → its one-line description, for docs and their test."""
        return {f.metadata["env"]: f.metadata["doc"] for f in fields(cls)}


_PATHS = frozenset({"home", "model_cache", "ray_pid_dir"})
_INTS = frozenset({"knn_exact_below"})


def _int(env: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{env} must be a whole number of 0 or more, got [{raw}]")
    return value
