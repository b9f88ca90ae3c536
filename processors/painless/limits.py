"""Limits of Painless-subset scripts: loop iterations, seconds, string length, collection size, bytes allocated.

Elasticsearch bounds a script's memory with its circuit breakers (``circuit_breaking_exception``); here each
run counts what it allocates (strings by characters, collections at 8 bytes an element) and checks the size of
a string *before* building it, so ``s = s + s`` in a loop fails at the limit instead of after a gigabyte.
A request running many scripts (``_simulate``) shares one more :class:`Budget` of bytes and seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.processors.document import java_type
from ingest.processors.painless.ops import error

MAX_LOOP_ITERATIONS = 1_000_000
MAX_SECONDS = 5.0
MAX_STRING_CHARS = 10_000_000
MAX_COLLECTION_SIZE = 1_000_000
MAX_ALLOCATION_BYTES = 256 * 1024 * 1024
_ELEMENT_BYTES = 8


def breaker(what: str, wanted: int, limit: int, unit: str = "bytes") -> ElasticsearchError:
    """Elasticsearch's ``circuit_breaking_exception`` (429), naming the limit that tripped."""
    return ElasticsearchError(
        f"[script] Data too large, data for [{what}] would be [{wanted}] {unit}, which is larger than the limit of "
        f"[{limit}] {unit}",
        status=429, error_type="circuit_breaking_exception",
        extra={"bytes_wanted": wanted, "bytes_limit": limit, "durability": "TRANSIENT"},
    )


@dataclass
class Budget:
    """Bytes and seconds shared by every script run of one request, on top of each run's own limits."""

    max_bytes: int
    deadline: float
    allocated: int = 0


_shared: ContextVar[Budget | None] = ContextVar("painless_shared_budget", default=None)


@contextmanager
def shared_budget(max_bytes: int, seconds: float) -> Iterator[Budget]:
    """Make every script run inside the block draw on one budget (used by ``_simulate``)."""
    budget = Budget(max_bytes, time.monotonic() + seconds)
    token = _shared.set(budget)
    try:
        yield budget
    finally:
        _shared.reset(token)


class Allocation:
    """What one script run has allocated."""

    __slots__ = ("allocated", "shared")

    def __init__(self) -> None:
        self.allocated = 0
        self.shared = _shared.get()

    def add(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` more; trips when the run's or the request's total passes its limit."""
        self.allocated += nbytes
        if self.allocated > MAX_ALLOCATION_BYTES:
            raise breaker(f"script allocations: {what}", self.allocated, MAX_ALLOCATION_BYTES)
        if self.shared is not None:
            self.shared.allocated += nbytes
            if self.shared.allocated > self.shared.max_bytes:
                raise breaker(f"request script allocations: {what}", self.shared.allocated, self.shared.max_bytes)

    def expired(self) -> bool:
        """Whether the request's shared time budget is spent."""
        return self.shared is not None and time.monotonic() > self.shared.deadline

    def string(self, chars: int, what: str) -> None:
        """Check and count a string of ``chars`` characters about to be built."""
        if chars > MAX_STRING_CHARS:
            raise breaker(what, chars, MAX_STRING_CHARS, "characters")
        self.add(chars, what)

    def before_call(self, receiver: Any, name: str, args: list[Any]) -> bool:
        """Check (and count) the string or list a method is about to build; True when its result is counted."""
        what = f"{java_type(receiver)}.{name}"
        chars = method_result_chars(receiver, name, args)
        if chars is not None:
            self.string(chars, what)
        count = method_result_elements(receiver, name, args)
        if count is not None:
            self.elements(count, what)
        return chars is not None or count is not None

    def elements(self, count: int, what: str) -> None:
        """Check and count a list of ``count`` elements about to be built."""
        if count > MAX_COLLECTION_SIZE:
            raise breaker(what, count, MAX_COLLECTION_SIZE, "elements")
        self.add(count * _ELEMENT_BYTES, what)

    def collection(self, value: Any, what: str, grown: int = 1) -> None:
        """Check a list or map that has just grown by ``grown`` elements, and count them."""
        if len(value) > MAX_COLLECTION_SIZE:
            raise breaker(what, len(value), MAX_COLLECTION_SIZE, "elements")
        self.add(grown * _ELEMENT_BYTES, what)

    def result(self, value: Any, what: str) -> None:
        """Count a value a method has just returned (a new string or list)."""
        if isinstance(value, str):
            self.string(len(value), what)
        elif isinstance(value, (list, dict)):
            self.collection(value, what, len(value))


def text_size(value: Any, cap: int = MAX_STRING_CHARS) -> int:
    """Characters of ``value`` rendered as a Java string, counted only up to just past ``cap``."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, (list, dict)):
        return 24  # a number, boolean or null
    total, stack = 2, [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, list):
            stack.extend(item)
            total += len(item) * 2
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
            total += len(item) * 4
        else:
            total += 24
    return total


def method_result_chars(receiver: Any, name: str, args: list[Any]) -> int | None:
    """Characters of the string a method is about to build, for the methods that can grow text; else None."""
    if isinstance(receiver, str):
        if name == "replace" and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str):
            hits = receiver.count(args[0]) if args[0] else len(receiver) + 1
            return len(receiver) + hits * max(0, len(args[1]) - len(args[0]))
        if name == "concat" and len(args) == 1:
            return len(receiver) + text_size(args[0])
        return None
    if isinstance(receiver, list) and name == "join" and len(args) == 1:
        return join_chars(args[0], receiver)
    return None


def method_result_elements(receiver: Any, name: str, args: list[Any]) -> int | None:
    """Elements of the list a method is about to build (``splitOnToken``), else None."""
    if isinstance(receiver, str) and name == "splitOnToken" and args and isinstance(args[0], str) and args[0]:
        return receiver.count(args[0]) + 1
    return None


def join_chars(separator: Any, items: Any) -> int:
    """Characters of ``separator.join(items)``, counted up to just past the string limit."""
    if not isinstance(items, (list, tuple)):
        return 0
    total = text_size(separator) * max(0, len(items) - 1)
    for item in items:
        if total > MAX_STRING_CHARS:
            break
        total += text_size(item)
    return total


class Frame:
    """Variables of one script run, plus the limits' counters."""

    __slots__ = ("deadline", "memory", "steps", "vars")

    def __init__(self, variables: dict[str, Any]) -> None:
        self.vars = variables
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.memory = Allocation()
        self._check_shared_time()

    def _check_shared_time(self) -> None:
        if self.memory.expired():
            raise error("painless_error", "the scripts of this request ran for longer than its time budget")

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_ITERATIONS:
            raise error("painless_error", f"The maximum number of statements that can be executed in a loop has "
                                           f"been reached ({MAX_LOOP_ITERATIONS}).")
        if self.steps % 1024 == 0:
            if time.monotonic() > self.deadline:
                raise error("painless_error", f"script ran for more than {MAX_SECONDS} seconds")
            self._check_shared_time()

    def concat(self, x: Any, y: Any) -> None:
        """Check (before it is built) and count the string ``x + y`` would make."""
        if isinstance(x, str) or isinstance(y, str):
            self.memory.string(text_size(x) + text_size(y), "string concatenation")
