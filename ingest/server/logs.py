"""Server logs: ``ingest serve --log-format text|json``.

JSON logs are one object per line in the shape of the Elastic Common Schema loggers (ecs-logging):
``@timestamp``, ``log.level``, ``message`` and ``ecs.version`` at the top level, everything else nested
(``log.logger``, ``http.request.method``, ``url.path``, ``http.response.status_code``, ``event.duration`` in
nanoseconds, ``client.ip``, ``error.type`` / ``error.message`` / ``error.stack_trace``). One access line per
request comes from ``ingest.server.observe`` (logger ``ingest.access``); uvicorn's own access log is off, so
query strings and headers are never logged. Every formatted line goes through ``Redactor``, which removes the
secrets it knows (the ``--dest`` password) and any ``user:password@`` in a URL.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable
from typing import Any, Literal

from ingest.models.services.remote.secret import REDACTED, scrub

LogFormat = Literal["text", "json"]
ECS_VERSION = "1.6.0"
ACCESS_LOGGER = "ingest.access"
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]+):[^@/\s]+@")
# Fields a log call can pass in ``extra=`` that become ECS fields (dotted names nest).
ECS_EXTRA = ("http.request.method", "url.path", "http.response.status_code", "event.duration", "client.ip",
             "user.name")


class Redactor:
    """Scrubs known secrets and URL passwords out of text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [s for s in secrets if s]

    def __call__(self, text: str) -> str:
        text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
        return scrub(text, self.secrets)


class EcsJsonFormatter(logging.Formatter):
    """One JSON object per record, ECS field names."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "@timestamp": _iso(record.created),
            "log.level": record.levelname.lower(),
            "message": self.redactor(record.getMessage()),
            "ecs.version": ECS_VERSION,
        }
        _put(doc, "log.logger", record.name)
        for name in ECS_EXTRA:
            value = getattr(record, name, None)
            if value is not None:
                _put(doc, name, value)
        if record.exc_info and record.exc_info[0] is not None:
            _put(doc, "error.type", record.exc_info[0].__name__)
            _put(doc, "error.message", self.redactor(str(record.exc_info[1])))
            _put(doc, "error.stack_trace", self.redactor(self.formatException(record.exc_info)))
        return json.dumps(doc, ensure_ascii=False, default=str)


class RedactingTextFormatter(logging.Formatter):
    """The text format (``LEVEL:     message``, as uvicorn prints), redacted."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__("%(levelname)s:     %(message)s")
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


def log_config(log_format: LogFormat | str, level: str, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A ``logging.config.dictConfig``: every logger (uvicorn's, ours, the libraries') to stderr in the chosen
    format; ours and uvicorn's at ``level``, the libraries' at WARNING unless ``level`` is debug."""
    if log_format not in ("text", "json"):
        raise ValueError(f"unknown log format [{log_format}]: expected text or json")
    redactor = Redactor(secrets)
    formatter = EcsJsonFormatter if log_format == "json" else RedactingTextFormatter
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter, "redactor": redactor}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            # Libraries (the cluster clients log every request at INFO) speak from WARNING unless debugging.
            "": {"handlers": ["stderr"], "level": level if level in ("DEBUG", "TRACE") else "WARNING"},
            **{name: {"level": level} for name in ("ingest", "models", "processors")},
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node = doc
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"
