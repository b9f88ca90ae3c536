"""Where the search's HNSW side-cars of an index live beside the store file (``<store folder>/vectors/<index>/``,
``$INGEST_HOME/vectors/<index>/`` for the home's store; written by ``ingest.searching.vectorindex``), and their
removal when the index is deleted."""

from __future__ import annotations

import shutil
from pathlib import Path


def side_car_dir(store_path: Path, index: str) -> Path:
    """The folder of an index's side-cars, beside the store file ``store_path``."""
    return store_path.parent / "vectors" / index


def delete_side_cars(store_path: Path, index: str) -> None:
    """Remove an index's side-cars (the index is deleted; a search builds them again for a new one)."""
    shutil.rmtree(side_car_dir(store_path, index), ignore_errors=True)
