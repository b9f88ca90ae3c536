"""Secrets that cannot leak by accident: they redact themselves in str/repr/format, and text can be scrubbed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ingest.models.errors import ElasticsearchError

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


FRAGMENT_CHARS = 8  # any run this long copied out of a secret is redacted (an echo minus one char still leaks)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Redact every secret in ``text``, and every fragment of one: any run of 8+ characters that also occurs
    in a secret. Secrets shorter than that (4-7 chars) are redacted where they occur whole."""
    values = {s for s in secrets if s and len(s) >= 4}
    if not values:
        return text
    marked = bytearray(len(text))
    for value in values:
        width = min(len(value), FRAGMENT_CHARS)
        grams = {value[i:i + width] for i in range(len(value) - width + 1)}
        for i in range(len(text) - width + 1):
            if text[i:i + width] in grams:
                marked[i:i + width] = b"\x01" * width
    if not any(marked):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if marked[i]:
            while i < len(text) and marked[i]:
                i += 1
            out.append(REDACTED)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def scrub_error(error: ElasticsearchError, secrets: Iterable[str]) -> ElasticsearchError:
    """``error`` with secrets (and their fragments) removed from its reason, its causes and its extra fields."""
    values = list(secrets)
    clean = scrub(error.reason, values)
    if clean != error.reason:
        error.reason = clean
        error.args = (clean,)
    error.extra = {k: scrub(v, values) if isinstance(v, str) else v for k, v in error.extra.items()}
    if error.caused_by is not None:
        scrub_error(error.caused_by, values)
    return error
