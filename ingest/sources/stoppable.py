"""Graceful stop for streaming sources: SIGTERM / SIGINT ask the source to stop instead of killing the job.

A source with a ``stop()`` method (Kafka) then ends its batches once the in-flight ones are acknowledged and
its offsets committed, so the job finishes normally (exit 0). A second signal gets the previous behaviour
(SIGINT: interrupt now, SIGTERM: terminate).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(source: Any) -> Iterator[None]:
    """While inside, SIGTERM/SIGINT call ``source.stop()`` (when it has one and this is the main thread)."""
    stop = getattr(source, "stop", None)
    if stop is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        stop()
        for sig, prev in previous.items():
            signal.signal(sig, prev)

    for sig in _SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, prev in previous.items():
            signal.signal(sig, prev)
