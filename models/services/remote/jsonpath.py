"""The small JSONPath subset Elasticsearch's ``custom`` service accepts: ``$``, ``.key``, ``[*]`` and ``[n]``.

Each ``[*]`` maps the rest of the path over a list, so ``$.data[*].embedding[*]`` yields one list per item.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\*|\d+)\]|\['([^']+)'\]")


def compile_path(path: str) -> list[str | int | None]:
    """Steps of ``path`` (key, index, or None for ``[*]``); ValueError for anything outside the subset."""
    if not path.startswith("$"):
        raise ValueError(f"JSON path [{path}] must start with [$]")
    steps: list[str | int | None] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise ValueError(f"JSON path [{path}] is not supported at position [{pos}]")
        key, index, quoted = match.groups()
        if key is not None or quoted is not None:
            steps.append(key if key is not None else quoted)
        else:
            steps.append(None if index == "*" else int(index))
        pos = match.end()
    return steps


def extract(data: Any, path: str) -> Any:
    """The value(s) at ``path``; KeyError/IndexError/TypeError when the response does not have that shape."""
    return _walk(data, compile_path(path), path)


def _walk(value: Any, steps: list[str | int | None], path: str) -> Any:
    for i, step in enumerate(steps):
        if step is None:
            if not isinstance(value, list):
                raise TypeError(f"expected a list at [{path}] step {i + 1}")
            return [_walk(item, steps[i + 1:], path) for item in value]
        if isinstance(step, int):
            if not isinstance(value, list):
                raise TypeError(f"expected a list at [{path}] step {i + 1}")
            value = value[step]
        else:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object at [{path}] step {i + 1}")
            value = value[step]
    return value
