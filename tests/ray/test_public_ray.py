"""``ingest.run_job(..., executor="ray")``: the Python API runs the same Ray job as ``ingest run --executor ray``
(real two-node cluster), in the context it is given."""

from __future__ import annotations

from pathlib import Path

import ingest
from ingest.context import AppContext
from ingest.models.settings import Settings
from tests.ray.cluster import LocalRayCluster
from tests.ray.conftest import write_splits


def test_run_job_on_ray_from_python(ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    data = write_splits(tmp_path / "data", files=3, per_file=20, missing_id={5})
    context = AppContext(Settings.from_env({"INGEST_HOME": str(ingest_home)}))
    try:
        summary = ingest.run_job(str(data), index="from-python", id_field="doc_id", job_id="py-ray",
                                 executor="ray", address=ray_cluster.address, context=context)
        assert (summary.indexed, summary.failed) == (59, 1)
        assert context.deadletters().count("py-ray") == 1
        with context.open_sink("embedded") as sink:
            assert sink.count("from-python") == 59  # type: ignore[attr-defined]
    finally:
        context.close()
