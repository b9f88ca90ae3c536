"""Approximate k-NN for the embedded store's search: one USearch HNSW graph per index and ``dense_vector``
field, kept beside the store as a side-car file (``<store folder>/vectors/<index>/<field>.usearch``, 0600, and
``<field>.json`` with its checksum, dims and similarity; for the home's store that is ``$INGEST_HOME/vectors``).

Labels are the documents' ``_seq_no`` (unique per index and write), so a graph never needs the store's row
order: a document updated or deleted since the graph was built has a label no live row holds (dropped from the
answers, then removed), a document written since has no label yet (scored exactly beside the graph's answers).
A search is therefore always over the documents as they are now; a background thread brings the graph up to
date with the newest corpus and saves it. The graph only proposes candidate rows: ``Knn`` scores them exactly
with Elasticsearch's formulas. Small sets (fewer than ``INGEST_KNN_EXACT_BELOW`` vectors, or a filter matching
fewer) are searched exactly; a wider filter oversamples the graph by its selectivity, as Lucene does when it
explores the graph for filtered hits, and falls back to exact when that is not enough.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import math
import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.models.home import private_dir, tighten
from ingest.searching.corpus import Corpus, vectors
from ingest.sinks.embedded.sidecars import side_car_dir

# usearch's metric per Elasticsearch similarity (the graph's order; scores are recomputed exactly)
_METRICS = {"cosine": "cos", "dot_product": "ip", "max_inner_product": "ip", "l2_norm": "l2sq"}
_CONNECTIVITY, _EF_ADD, _EF_SEARCH = 16, 128, 128  # HNSW's M, ef_construction, least ef_search
_CHUNK = 256  # vectors added per lock hold while the graph catches up (searches wait at most one chunk)
_BUILD_CHUNK = 4096  # vectors added to a new graph between checks for the process's exit
# Without a filter predicate in usearch's Python API, a filter is applied to the graph's answers: measured at 100k
# with 10 % selectivity that recalled 0.67 (num_candidates 15) to 0.95 (100) of the filtered top 10, while an exact
# scan of the 10k matches costs less than the filter itself. So the graph serves filters matching at least half the
# vectors, asked for twice want/selectivity neighbours; narrower filters scan their matches exactly.
_GRAPH_SELECTIVITY = 0.5
_OVERSAMPLE = 2.0
_SPOT_CHECKS = 16  # stored vectors compared with the store's after loading a file


def _file_name(name: str) -> str:
    # a field path may hold characters a file name cannot; the hash keeps names of distinct fields apart
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return safe if safe == name else f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


@dataclass
class _Rows:
    """A corpus's rows of one field as the graph sees them: label per row and a label → row lookup."""

    labels: np.ndarray  # int64, one per row of ``vectors(corpus, field)``
    order: np.ndarray  # argsort of labels
    sorted_labels: np.ndarray
    views: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)  # generation → (tail rows, stale)

    def rows_of(self, found: np.ndarray) -> np.ndarray:
        """The rows holding the labels ``found`` (labels no row holds dropped), in ``found``'s order."""
        if not len(self.sorted_labels) or not len(found):
            return np.zeros(0, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.sorted_labels, found), len(self.sorted_labels) - 1)
        hit = self.sorted_labels[pos] == found
        return np.asarray(self.order[pos[hit]], dtype=np.int64)


def _rows(corpus: Corpus, name: str) -> _Rows:
    cache = corpus.__dict__.setdefault("_ann_rows", {})
    if name not in cache:
        ordinals, _ = vectors(corpus, name)
        seq = corpus.seq_nos
        labels = np.asarray([seq[o] for o in ordinals], dtype=np.int64) if seq else np.zeros(0, dtype=np.int64)
        order = np.argsort(labels, kind="stable")
        cache[name] = _Rows(labels, order, labels[order])
    result: _Rows = cache[name]
    return result


class SideCar:
    """The HNSW graph of one index's field: loaded from its file or built in the background, then kept in step
    with the newest corpus. Searches and changes to the graph take ``lock``."""

    def __init__(self, path: Path, index: str, name: str, dims: int, similarity: str) -> None:
        self.file = side_car_dir(path, index) / (_file_name(name) + ".usearch")
        self.meta = self.file.with_suffix(".json")
        self.name, self.dims, self.similarity = name, dims, similarity
        self.lock = threading.RLock()
        self.graph: Any = None
        self.labels = np.zeros(0, dtype=np.int64)  # sorted: what the graph holds
        self.generation = 0
        self.latest: Corpus | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()  # the process exits: leave usearch before the interpreter goes
        self.checked = False  # the loaded file's vectors compared with the store's
        self.saved = False  # a file of ours exists (its removal means the index was deleted)
        self.build_seconds = 0.0
        self._load()

    # -- the file ---------------------------------------------------------------------------------------

    def _load(self) -> None:
        from usearch.index import Index

        try:
            meta = json.loads(self.meta.read_text())
            if meta.get("dims") != self.dims or meta.get("similarity") != self.similarity:
                raise ValueError("another mapping")
            if meta.get("sha256") != _sha256(self.file):
                raise ValueError("checksum")
            graph = Index.restore(str(self.file))
            if graph is None or graph.ndim != self.dims:
                raise ValueError("not an index")
        except (OSError, ValueError, RuntimeError, TypeError, AttributeError):
            self._discard_files()  # missing, partly written or damaged: rebuilt from the store
            return
        self.graph = graph
        self.labels = np.sort(np.asarray(graph.keys, dtype=np.int64))
        self.saved = True

    def _discard_files(self) -> None:
        for path in (self.file, self.meta):
            path.unlink(missing_ok=True)

    def _save(self, graph: Any) -> None:
        private_dir(self.file.parent)
        tmp = self.file.with_name(self.file.name + ".tmp")
        graph.save(str(tmp))
        tighten(tmp)
        digest = _sha256(tmp)
        os.replace(tmp, self.file)
        meta_tmp = self.meta.with_name(self.meta.name + ".tmp")
        meta_tmp.write_text(json.dumps({"dims": self.dims, "similarity": self.similarity, "sha256": digest,
                                        "count": int(graph.size)}))
        tighten(meta_tmp)
        os.replace(meta_tmp, self.meta)
        self.saved = True

    def _reset(self) -> None:
        with self.lock:
            self.graph, self.labels, self.saved, self.checked = None, np.zeros(0, dtype=np.int64), False, False
            self.generation += 1

    # -- keeping up with the store ---------------------------------------------------------------------

    def view(self, corpus: Corpus) -> tuple[_Rows, np.ndarray, int, int]:
        """The corpus's rows, the rows the graph lacks (scored exactly), how many graph labels no row holds,
        and the graph's generation; starts a catch-up when the graph is behind the newest corpus."""
        rows = _rows(corpus, self.name)
        if self.saved and not self.file.exists():  # deleted with its index (maybe since re-created)
            self._reset()
        if not self.checked and self.graph is not None:
            self._spot_check(corpus, rows)
        with self.lock:
            generation, labels = self.generation, self.labels
            cached = rows.views.get(generation)
        if cached is None:
            inside = np.isin(rows.labels, labels, assume_unique=True)
            stale = int(len(labels) - int(inside.sum()))
            cached = (np.flatnonzero(~inside), stale)
            rows.views[generation] = cached
        tail, stale = cached
        if (len(tail) or stale) and self.latest is corpus:
            self._start()
        return rows, tail, stale, generation

    def _spot_check(self, corpus: Corpus, rows: _Rows) -> None:
        _, matrix = vectors(corpus, self.name)
        with self.lock:
            both = np.flatnonzero(np.isin(rows.labels, self.labels))
            picks = both[np.linspace(0, len(both) - 1, min(_SPOT_CHECKS, len(both))).astype(np.int64)] \
                if len(both) else both
            stored = [self.graph.get(int(rows.labels[r])) for r in picks]
            same = all(v is not None and np.allclose(np.asarray(v, dtype=np.float32).reshape(-1), matrix[r],
                                                     atol=1e-6) for v, r in zip(stored, picks, strict=True))
        if not same:  # a file of another index of the same name (or damaged): build again
            self._discard_files()
            self._reset()
        self.checked = True

    def note(self, corpus: Corpus) -> None:
        """``corpus`` is the newest of its index: the graph catches up with it (in the background)."""
        self.latest = corpus

    def _start(self) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.thread = threading.Thread(target=self._catch_up, name=f"hnsw-{self.file.stem}", daemon=True)
            self.thread.start()

    def _catch_up(self) -> None:
        import time

        from usearch.index import Index

        while True:
            corpus = self.latest
            if corpus is None:
                return
            started = time.monotonic()
            rows = _rows(corpus, self.name)
            _, matrix = vectors(corpus, self.name)
            with self.lock:
                have = self.labels
            add = np.flatnonzero(~np.isin(rows.labels, have, assume_unique=True))
            gone = have[~np.isin(have, rows.labels, assume_unique=True)]
            if not len(add) and not len(gone):
                return
            if self.graph is None or len(add) > len(have):  # mostly new: a fresh graph beside the old one
                graph = Index(ndim=self.dims, metric=_METRICS[self.similarity], dtype="f32",
                              connectivity=_CONNECTIVITY, expansion_add=_EF_ADD)
                for start in range(0, len(rows.labels), _BUILD_CHUNK):  # in parts: a stop waits for one part only
                    if self.stopping.is_set():
                        return
                    graph.add(rows.labels[start:start + _BUILD_CHUNK], matrix[start:start + _BUILD_CHUNK], threads=2)
                with self.lock:
                    self.graph, self.labels = graph, np.sort(rows.labels)
                    self.generation += 1
            else:
                with self.lock:
                    if len(gone):
                        self.graph.remove(gone)
                        self.labels = np.setdiff1d(self.labels, gone, assume_unique=True)
                        self.generation += 1
                for start in range(0, len(add), _CHUNK):
                    if self.stopping.is_set():
                        return
                    part = add[start:start + _CHUNK]
                    with self.lock:
                        self.graph.add(rows.labels[part], matrix[part], threads=2)
                        self.labels = np.union1d(self.labels, rows.labels[part])
                        self.generation += 1
            self.checked = True
            self.build_seconds = time.monotonic() - started
            with contextlib.suppress(OSError):  # kept in memory; written again after the next change
                self._save(self.graph)
            if self.latest is corpus:
                return

    def stop(self) -> None:
        """Stop a running catch-up after its current part (unsaved; the next process goes on from the file)."""
        self.stopping.set()
        self.wait()

    def wait(self) -> None:
        """Wait for a running catch-up (tests, benchmarks)."""
        thread = self.thread
        if thread is not None:
            thread.join()

    # -- searching --------------------------------------------------------------------------------------

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """The labels of the graph's ``count`` nearest to ``query``."""
        with self.lock:
            if self.graph is None or not self.graph.size:
                return np.zeros(0, dtype=np.int64)
            count = min(count, int(self.graph.size))
            self.graph.expansion_search = max(count, _EF_SEARCH)
            found = self.graph.search(query, count, threads=1)
            return np.asarray(found.keys, dtype=np.int64)


def _stop_all(ref: weakref.ref[VectorIndexes]) -> None:
    indexes = ref()
    if indexes is not None:
        indexes.stop()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class VectorIndexes:
    """The side-cars of one application, by store file, index and field (``SearchService`` holds one)."""

    def __init__(self, exact_below: int) -> None:
        self.exact_below = exact_below
        self._lock = threading.Lock()
        self._cars: dict[tuple[Path, str, str], SideCar] = {}
        # a catch-up thread still inside usearch when the interpreter finalises aborts the process ("terminate
        # called without an active exception"): at exit, stop them between two parts (``ingest search`` exits
        # right after its one search)
        atexit.register(_stop_all, weakref.ref(self))

    def side_car(self, path: Path, corpus: Corpus, name: str, dims: int, similarity: str) -> SideCar:
        """The side-car of ``corpus``'s field (loaded from its file on first use)."""
        key = (path, corpus.index, name)
        with self._lock:
            car = self._cars.get(key)
            if car is None or car.dims != dims or car.similarity != similarity:
                car = SideCar(path, corpus.index, name, dims, similarity)
                self._cars[key] = car
            return car

    def note(self, path: Path, corpus: Corpus) -> None:
        """A corpus newly read from the store: the side-cars of its index catch up with it."""
        with self._lock:
            cars = [c for (p, i, _), c in self._cars.items() if p == path and i == corpus.index]
        for car in cars:
            car.note(corpus)

    def wait(self) -> None:
        """Wait until every side-car has caught up (tests, benchmarks)."""
        with self._lock:
            cars = list(self._cars.values())
        for car in cars:
            car.wait()

    def stop(self) -> None:
        """Stop every catch-up (at exit)."""
        for car in self.cars():
            car.stop()

    def cars(self) -> list[SideCar]:
        """The side-cars in memory."""
        with self._lock:
            return list(self._cars.values())


@dataclass
class Approximate:
    """What ``Knn`` asks for a corpus of one store: candidate rows from the field's graph (``None``: search
    exactly). Bound to the store file by ``SearchService.corpus``."""

    indexes: VectorIndexes
    path: Path

    def candidates(self, corpus: Corpus, name: str, similarity: str, query: np.ndarray, k: int, num_candidates: int,
                   allowed: np.ndarray | None) -> np.ndarray | None:
        """Rows of ``vectors(corpus, name)`` to score exactly: the graph's nearest (oversampled by a filter's
        selectivity; ``allowed`` is a row mask) plus the rows the graph lacks; ``None`` when exact search is the
        better plan (few vectors, a selective filter, a graph not built yet)."""
        _, matrix = vectors(corpus, name)
        n = len(matrix)
        matching = n if allowed is None else int(allowed.sum())
        if matching < self.indexes.exact_below or similarity not in _METRICS or matching < n * _GRAPH_SELECTIVITY:
            return None  # few vectors, or a filter's matches: an exact scan of the matches (Elasticsearch's answer)
        car = self.indexes.side_car(self.path, corpus, name, int(matrix.shape[1]), similarity)
        if car.latest is None:
            car.note(corpus)
        rows, tail, stale, _ = car.view(corpus)
        if car.graph is None or len(tail) * 2 > n:
            return None  # still building: exact is correct and, for now, no slower
        want = max(k, num_candidates)
        selectivity = matching / n
        count = math.ceil(want / selectivity * (_OVERSAMPLE if allowed is not None else 1))
        if stale:
            count = math.ceil(count * (1 + stale / max(1, len(car.labels) - stale)))
        if allowed is not None:
            tail = tail[allowed[tail]]
        while True:
            found = rows.rows_of(car.search(query, count))
            if allowed is not None:
                found = found[allowed[found]]
            if len(found) + len(tail) >= min(want, matching) or count >= len(car.labels):
                break
            count *= 2
            if count * 4 > n:  # a quarter of the graph: an exact scan of the matches costs less
                return None
        return np.union1d(found, tail) if len(tail) else found
