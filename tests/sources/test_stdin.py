"""Standard input NDJSON: micro-batches cut by size and by time; bad lines reported."""

from __future__ import annotations

import os
import threading
import time

from ingest.sources import open_source
from ingest.sources.stdin import StdinSource


def test_batches_cut_by_size_and_time() -> None:
    read_fd, write_fd = os.pipe()
    partial_seen = threading.Event()

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as out:
            for i in range(7):  # a burst: cut by size (3)
                out.write(f'{{"n": {i}}}\n'.encode())
            out.flush()
            # Pause until the reader has flushed the partial batch [6] by time (or give up after 10 s,
            # then [6] and [7] would arrive together and the test fails).
            partial_seen.wait(10)
            out.write(b"oops\n")
            out.write(b'{"n": 7}\n')
            out.flush()

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_fd, "rb") as stream:
        source = StdinSource(batch_size=3, max_wait_s=0.2, stream=stream)
        seen: list[tuple[list[int], float]] = []
        errors = []
        start = time.monotonic()
        for sb in source.batches():
            seen.append(([r["n"] for r in sb.batch.to_pylist()], time.monotonic() - start))
            errors.extend(sb.errors)
            if seen[-1][0] == [6]:
                partial_seen.set()
    thread.join()
    groups = [g for g, _ in seen]
    assert groups[:3] == [[0, 1, 2], [3, 4, 5], [6]]
    assert seen[2][1] < 5  # cut by the 0.2 s timer, well before the writer's 10 s give-up
    assert groups[3:] == [[7]]
    assert [e.location for e in errors] == ["<stdin>:8"] and errors[0].raw == b"oops"


def test_dash_opens_stdin() -> None:
    assert isinstance(open_source("-"), StdinSource)


def test_mixed_field_types_keep_every_row_in_order() -> None:
    import io

    lines = b'{"v": "a"}\n{"v": 2}\n{"v": "c"}\nnot json\n'
    source = StdinSource(batch_size=10, max_wait_s=1.0, stream=io.BytesIO(lines))
    got = list(source.batches())
    assert [r["v"] for sb in got for r in sb.batch.to_pylist()] == ["a", 2, "c"]
    assert [sb.position["line"] for sb in got] == [1, 2, 4]  # each run resumes after its last row
    assert [len(sb.errors) for sb in got] == [0, 0, 1]
