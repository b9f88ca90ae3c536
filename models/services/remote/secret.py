"""Secrets that cannot leak by accident: they redact themselves in str/repr/format, and text can be scrubbed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

REDACTED = "::es_redacted::"


class Secret:
    """A credential. Only :meth:`reveal` gives the value; every other rendering is redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The raw value, for the one place that needs it (an auth header, a signature)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:  # pickling would write the value somewhere unexpected
        raise TypeError("a Secret cannot be pickled")


def fingerprint(values: Iterable[str]) -> str:
    """A stable, non-reversible id for a set of credentials (used to key rate-limit groups)."""
    digest = hashlib.sha256()
    for value in sorted(values):
        digest.update(value.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (and of its longer fragments) in ``text`` with a redaction."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text
