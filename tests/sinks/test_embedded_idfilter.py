"""The id catalogue's in-memory filter (``ingest/sinks/embedded/idfilter.py``): new ids skip the catalogue's
tree, yet an id the index holds is always found — after merges, flushes, deletes, a reopen and a catch-up after a
lost in-memory state — and false positives only cost a probe."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import duckdb
import pytest

from ingest.sinks.base import BulkAction
from ingest.sinks.embedded import EmbeddedStore, idfilter
from ingest.sinks.embedded.idfilter import IdFilter


def test_filter_never_drops_a_held_id_across_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idfilter, "MERGE", 1000)  # several merges below
    rng = random.Random(3)
    held = [f"{rng.getrandbits(80):020x}" for _ in range(20_000)]
    flt = IdFilter([held[:5000], held[5000:7000]])
    for lo in range(7000, 20_000, 700):
        flt.add(held[lo:lo + 700])
    assert len(flt) == 20_000
    assert flt.may_hold(held) == held  # every one, in order
    absent = [f"x{rng.getrandbits(80):020x}" for _ in range(20_000)]
    assert len(flt.may_hold(absent)) <= 2  # 64-bit hashes: a collision is rare
    assert IdFilter().may_hold(held[:3]) == [] and flt.may_hold([]) == []


def _versions(store: EmbeddedStore, ids: list[str]) -> dict[str, tuple[str, int]]:
    results = store.write([BulkAction("index", "a", i, {"n": 1}) for i in ids])
    return {i: (str(r.result), int(r.version or 0)) for i, r in zip(ids, results, strict=True)}


@pytest.mark.parametrize("pending", [500_000, 7])
def test_ids_held_in_the_file_and_in_memory_are_found_after_the_filter_is_built(tmp_path: Path,
                                                                                pending: int) -> None:
    store = EmbeddedStore(tmp_path / "indices.duckdb")
    store._catalogue.max_pending = pending
    ids = [f"d{i}" for i in range(40)]
    _versions(store, ids[:20])
    store.flush_ids()  # these in the file
    _versions(store, ids[20:])  # these in memory (pending 7: some in the file too)
    store._catalogue._filters.clear()  # as in a process whose first lookup comes now: built from both
    assert _versions(store, ["new"]) == {"new": ("created", 1)}
    assert "a" in store._catalogue._filters  # built by that lookup, kept up to date since
    store.flush_ids()  # what was held in memory when it was built is now in the file only
    assert _versions(store, [*ids, "new", "new2"]) == {
        **{i: ("updated", 2) for i in ids}, "new": ("updated", 2), "new2": ("created", 1)}
    store.close()
    store = EmbeddedStore(tmp_path / "indices.duckdb")  # a new process builds its own from the file
    assert _versions(store, ["d0", "d39", "new2", "new3"]) == {
        "d0": ("updated", 3), "d39": ("updated", 3), "new2": ("updated", 2), "new3": ("created", 1)}
    store.close()


def test_false_positives_and_deleted_ids_are_answered_by_the_catalogue(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedStore(tmp_path / "indices.duckdb")
    _versions(store, ["a1", "a2", "a3"])
    store.write([BulkAction("delete", "a", "a2", None)])
    # the filter still holds a2 (deletes are not taken out): the catalogue says it is gone, the tombstone's
    # version goes on
    assert _versions(store, ["a2"]) == {"a2": ("created", 3)}
    # every id a collision: each probes the tree, and the answers do not change
    monkeypatch.setattr(IdFilter, "may_hold", lambda self, ids: list(ids))
    assert _versions(store, ["a1", "b1"]) == {"a1": ("updated", 2), "b1": ("created", 1)}
    store.close()


def test_the_filter_is_rebuilt_when_the_catalogue_catches_up(tmp_path: Path) -> None:
    db = tmp_path / "indices.duckdb"
    store = EmbeddedStore(db)
    _versions(store, ["k1", "k2"])
    store.flush_ids()
    assert _versions(store, ["k3"]) == {"k3": ("created", 1)}  # the filter is built: k1, k2, then k3
    store._catalogue._pending.clear()  # the process dies: k3's catalogue entry held in memory is lost
    store.close()
    store = EmbeddedStore(db)  # catches up from the rows; this process's filter comes from the caught-up file
    assert _versions(store, ["k1", "k3", "k4"]) == {"k1": ("updated", 2), "k3": ("updated", 2),
                                                    "k4": ("created", 1)}
    store._catalogue._filters["a"].add(["ghost"])  # a rebuild forgets the old filter (here: a false id)
    store._catalogue.rebuild("a", [[("k1", 2, 0, 1)]], 0)
    store._catalogue._filters.clear()  # as in a process whose first lookup comes now: built from both
    store.close()


def test_background_flushes_lose_nothing_and_a_failed_one_is_recovered(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.sinks.embedded.idcatalogue import IdCatalogue

    db = tmp_path / "indices.duckdb"
    store = EmbeddedStore(db)
    store._catalogue.max_pending = 50  # a background flush every other request
    rng = random.Random(5)
    written: dict[str, int] = {}
    for n in range(30):
        new = [f"n{n}-{k}" for k in range(30)]
        old = rng.sample(sorted(written), min(10, len(written)))
        got = _versions(store, new + old)
        assert got == {**{i: ("created", 1) for i in new}, **{i: ("updated", written[i] + 1) for i in old}}
        written.update({i: v for i, (_, v) in got.items()})
    real = IdCatalogue._write

    def failing(self: IdCatalogue, db: object, *args: object) -> None:
        if db is self._writer:
            raise OSError("disk full")
        real(self, db, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(IdCatalogue, "_write", failing)
    attempted = 0
    with pytest.raises(OSError, match="disk full"):  # the failure is reported at the next flush
        for n in range(10):
            attempted += 1
            _versions(store, [f"f{n}-{k}" for k in range(30)])
    assert attempted > 2
    monkeypatch.setattr(IdCatalogue, "_write", real)
    # DuckDB committed every one of those writes: the catalogue is rebuilt or holds them again
    again = [f"f{n}-{k}" for n in range(2) for k in range(30)]
    assert {v for _, v in _versions(store, again).values()} == {2}
    store.close()
    con = duckdb.connect(str(db), read_only=True)
    listed = con.execute('SELECT _id, _version FROM "a"').fetchall()
    con.close()
    cat = sqlite3.connect(db.with_name(db.name + ".ids"))
    catalogued = dict(cat.execute("SELECT id, version FROM ids").fetchall())
    cat.close()
    rows = dict(listed)
    assert len(listed) == len(rows) == 30 * 30 + attempted * 30  # one row per id, none lost
    assert rows == catalogued and all(rows[i] == v for i, v in written.items())
