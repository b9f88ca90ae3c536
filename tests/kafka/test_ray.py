"""``--executor ray`` with a Kafka source: two consumer-group members as Ray actors (a local Ray started by the
job) share the partitions into OpenSearch; every message indexed once, the group's offsets at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs.helpers import ingest
from tests.kafka.broker import cluster_ids, committed, end_offsets, json_values, new_topic, produce

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_two_members_as_ray_actors_until_caught_up(opensearch_url: str, kafka_bootstrap: str,
                                                   ingest_home: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    topic = new_topic(kafka_bootstrap)
    landed = produce(kafka_bootstrap, topic, json_values(600))
    proc = ingest("run", "--source", f"kafka://{kafka_bootstrap}/{topic}?group=r1&batch_size=50", "--index", topic,
                  "--dest", opensearch_url, "--executor", "ray", "--concurrency", "2", "--until-caught-up",
                  timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["completed"] and summary["indexed"] >= 600  # a rebalance may re-read a tail: same ids
    # Both actors were members of the group: each was assigned partitions, and the members' own counts add up to
    # the job's. (Whether the second actor still finds messages to read depends on how fast the first one drains
    # 600 of them before the second joins: its count is checked for consistency, not for being above 0.)
    members = summary["members"]
    assert len(members) == 2, members
    assert sum(m["read"] for m in members) >= 600, members
    for member in members:
        assert member["completed"] and member["source"]["assigned"], members
        assert sum(o["read"] for o in member["source"]["offsets"].values()) == member["read"]
    assert sum(m["indexed"] for m in members) == summary["indexed"]
    assert set().union(*(m["source"]["assigned"] for m in members)) == {f"{topic}:{p}" for p in range(3)}
    assert committed(kafka_bootstrap, "r1", topic) == end_offsets(kafka_bootstrap, topic)
    ids = cluster_ids(opensearch_url, topic)
    assert len(ids) == len(set(ids)) == 600
    assert sorted(ids) == sorted(f"{topic}-{p}-{o}" for p, o in landed)
