"""Declarative settings of a remote service, validated the way Elasticsearch validates them.

Each service lists its ``service_settings`` and ``task_settings`` as :class:`Setting` values; :func:`parse_settings`
checks types, required keys, choices and unknown keys, collects every problem, and splits secrets out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.models.results import TaskType

_TYPE_NAMES = {str: "String", int: "Integer", float: "Float", bool: "Boolean", dict: "Map", list: "List"}


@dataclass(frozen=True)
class Setting:
    """One setting: its JSON type, whether it is required or secret, its default, and where it applies."""

    kind: type = str
    required: bool = False
    secret: bool = False
    default: Any = None
    tasks: frozenset[TaskType] | None = None  # task types it applies to; None = all of the service's
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    label: str | None = None  # for ``GET _inference/_services``; derived from the name when absent
    description: str | None = None  # likewise; the common settings' descriptions live in ``configuration``

    def applies(self, task_type: TaskType) -> bool:
        """Whether this setting exists for ``task_type``."""
        return self.tasks is None or task_type in self.tasks


def tasks(*names: TaskType) -> frozenset[TaskType]:
    """Shorthand for the ``tasks`` of a :class:`Setting`."""
    return frozenset(names)


def _coerce(name: str, value: Any, setting: Setting, scope: str, problems: list[str]) -> Any:
    kind = setting.kind
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        problems.append(
            f"field [{name}] is not of the expected type. The value [{value}] cannot be converted to a "
            f"[{_TYPE_NAMES.get(kind, kind.__name__)}]"
        )
        return None
    if setting.choices is not None and isinstance(value, str):
        lowered = value.lower()
        if lowered not in setting.choices:
            problems.append(
                f"[{scope}] Invalid value [{value}] received. [{name}] must be one of [{', '.join(setting.choices)}]"
            )
            return None
        value = lowered
    if setting.minimum is not None and isinstance(value, int | float) and value < setting.minimum:
        problems.append(f"[{scope}] Invalid value [{value}]. [{name}] must be a positive integer")
        return None
    if kind is str and not value.strip():
        problems.append(f"[{scope}] Invalid value empty string. [{name}] must be a non-empty string")
        return None
    return value


def parse_settings(
    service: str,
    task_type: TaskType,
    given: dict[str, Any],
    schema: dict[str, Setting],
    scope: str,
    problems: list[str],
    *,
    fill_defaults: bool = True,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate ``given`` against ``schema``; returns (public settings, secrets). Problems are appended."""
    public: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    if not isinstance(given, dict):
        problems.append(f"[{scope}] must be an object")
        return public, secrets
    unknown = sorted(k for k in given if k not in schema or not schema[k].applies(task_type))
    if unknown:
        problems.append(
            f"Model configuration contains settings [{', '.join(unknown)}] unknown to the [{service}] service"
        )
    for name, setting in schema.items():
        if not setting.applies(task_type):
            continue
        if name not in given or given[name] is None:
            if setting.required:
                problems.append(f"[{scope}] does not contain the required setting [{name}]")
            elif setting.default is not None and fill_defaults:
                public[name] = setting.default
            continue
        value = _coerce(name, given[name], setting, scope, problems)
        if value is None:
            continue
        if setting.secret:
            secrets[name] = value
        else:
            public[name] = value
    return public, secrets


def parse_rate_limit(given: Any, default_rpm: int, problems: list[str]) -> dict[str, int]:
    """``rate_limit: {requests_per_minute}``, filled with the service's default when absent."""
    if given is None:
        return {"requests_per_minute": default_rpm}
    if not isinstance(given, dict):
        problems.append("[rate_limit] must be an object with [requests_per_minute]")
        return {"requests_per_minute": default_rpm}
    unknown = sorted(set(given) - {"requests_per_minute"})
    if unknown:
        problems.append(f"[rate_limit] contains unknown settings [{', '.join(unknown)}]")
    rpm = given.get("requests_per_minute", default_rpm)
    if isinstance(rpm, bool) or not isinstance(rpm, int) or rpm <= 0:
        problems.append(f"[rate_limit] Invalid value [{rpm}]. [requests_per_minute] must be a positive integer")
        return {"requests_per_minute": default_rpm}
    return {"requests_per_minute": rpm}
