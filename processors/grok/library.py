"""Elasticsearch's built-in grok pattern banks, read once from the pattern files shipped in this package."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

ECS_COMPATIBILITY_MODES = ("disabled", "v1")

# Elasticsearch's GrokBuiltinPatterns reads the files in this order; a later file's definition of a name wins.
_LEGACY_FILES = (
    "aws", "bacula", "bind", "bro", "exim", "firewalls", "grok-patterns", "haproxy", "httpd", "java", "junos",
    "linux-syslog", "maven", "mcollective-patterns", "mongodb", "nagios", "postgresql", "rails", "redis", "ruby",
    "squid",
)
_ECS_V1_FILES = (
    "aws", "bacula", "bind", "bro", "exim", "firewalls", "grok-patterns", "haproxy", "httpd", "java", "junos",
    "linux-syslog", "maven", "mcollective", "mongodb", "nagios", "postgresql", "rails", "redis", "ruby", "squid",
    "zeek",
)
_LEADING_SPACE = re.compile(r"^\s+")
_SPACES = re.compile(r"\s+")


def parse_pattern_file(text: str, bank: dict[str, str]) -> None:
    """Add the ``NAME definition`` lines of one pattern file to ``bank`` (Elasticsearch's line rules)."""
    for line in text.splitlines():
        line = _LEADING_SPACE.sub("", line)
        if not line or line.startswith("#"):
            continue
        parts = _SPACES.split(line, maxsplit=1)
        if len(parts) == 2:
            bank[parts[0]] = parts[1]


def builtin_patterns(ecs_compatibility: str = "disabled") -> Mapping[str, str]:
    """The built-in bank for an ``ecs_compatibility`` mode (``disabled`` = legacy names, ``v1`` = ECS names)."""
    if ecs_compatibility not in ECS_COMPATIBILITY_MODES:
        raise ValueError(f"unsupported ECS compatibility mode [{ecs_compatibility}]")
    return _load(ecs_compatibility)


@cache
def _load(ecs_compatibility: str) -> Mapping[str, str]:
    folder, files = ("ecs-v1", _ECS_V1_FILES) if ecs_compatibility == "v1" else ("legacy", _LEGACY_FILES)
    root = resources.files("ingest.processors.grok").joinpath("patterns", folder)
    bank: dict[str, str] = {}
    for name in files:
        parse_pattern_file(root.joinpath(name).read_text(encoding="utf-8"), bank)
    return MappingProxyType(bank)


def references(pattern: str) -> list[str]:
    """Pattern names referenced by ``%{NAME...}`` in a definition, as Elasticsearch's PatternBank scans them."""
    names: list[str] = []
    i = pattern.find("%{")
    while i != -1:
        begin = i + 2
        ends = [e for e in (pattern.find("}", begin), pattern.find(":", begin)) if e != -1]
        if not ends:
            raise ValueError(f"pattern [{pattern}] has an invalid syntax")
        name = pattern[begin:min(ends)]
        if name not in names:
            names.append(name)
        i = pattern.find("%{", i + 1)
    return names


def check_bank(bank: Mapping[str, str], names: list[str]) -> None:
    """Reject references to missing patterns and reference cycles among ``names`` (Elasticsearch's messages).

    Only the custom definitions need checking: the built-in banks are known to be sound.
    """
    for name in names:
        for other in references(bank[name]):
            if other not in bank:
                raise ValueError(f"pattern [{name}] is referencing a non-existent pattern [{other}]")
    for start in names:
        # Depth-first walk from each custom pattern; reaching it again is a cycle.
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for other in references(bank[node]):
                if other == start:
                    raise ValueError("circular reference detected: " + "->".join([*path, other]))
                if other not in seen and other in bank:
                    seen.add(other)
                    stack.append((other, [*path, other]))
