"""Start one real test server by hand: ``python -m tests.clusters kafka|opensearch|elasticsearch [VERSION]``.

The first stdout line, once the server is ready, is JSON: ``{"bootstrap": "HOST:PORT"}`` for Kafka,
``{"url": "http://HOST:PORT"}`` for the search engines. The server runs until this process gets SIGTERM or
SIGINT (or dies: the server has a parent-death signal), then it is stopped and its scratch data removed.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

USAGE = "usage: python -m tests.clusters kafka|opensearch|elasticsearch [ES_VERSION]"


def _start(kind: str, args: list[str], scratch: Path) -> tuple[dict[str, str], Callable[[], None]]:
    if kind == "kafka":
        from tests.clusters import kafka

        broker = kafka.start(scratch / "kafka")
        return {"bootstrap": broker.bootstrap}, broker.stop
    if kind == "opensearch":
        from tests.clusters import opensearch

        node = opensearch.start(scratch / "opensearch")
        return {"url": node.url}, node.stop
    if kind == "elasticsearch":
        from tests.clusters import elasticsearch

        es, es_scratch = elasticsearch.start(args[0] if args else elasticsearch.DEFAULT_VERSION)

        def stop() -> None:
            es.stop()
            shutil.rmtree(es_scratch, ignore_errors=True)

        return {"url": es.url}, stop
    raise SystemExit(USAGE)


def main(argv: list[str]) -> int:
    """Start, print the address line, wait for a signal, stop."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    scratch = Path(tempfile.mkdtemp(prefix=f"ingest-{argv[0]}-"))
    try:
        address, stop = _start(argv[0], argv[1:], scratch)
        try:
            print(json.dumps(address), flush=True)
            stopping.wait()
        finally:
            stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
