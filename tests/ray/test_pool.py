"""The Elasticsearch settings → actor pool mapping, the shared schedule, split listing and split commits:
pure code, tested without Ray."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.executors.commit import SplitCommitter, resume_state
from ingest.executors.pool import PoolSpec, check_fits, parse_concurrency, pool_for, pool_for_endpoints
from ingest.executors.schedule import SharedSchedule
from ingest.executors.splits import file_splits
from ingest.jobs.checkpoint import Checkpoints
from ingest.jobs.config import JobConfig
from ingest.models.errors import IllegalArgumentException

DEFAULT = PoolSpec(1, 4, 1.0)


def test_fixed_allocations_become_a_fixed_pool_with_threads_as_cpus() -> None:
    pool = pool_for({"model_id": "m", "num_allocations": 3, "num_threads": 2})
    assert pool == PoolSpec(3, 3, 2.0)
    assert pool.concurrency == 3


def test_adaptive_allocations_become_an_autoscaling_range() -> None:
    pool = pool_for({"num_threads": 1, "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 2,
                                                                "max_number_of_allocations": 8}})
    assert pool.concurrency == (2, 8)
    assert pool.num_cpus == 1.0


def test_adaptive_minimum_zero_becomes_one_and_missing_maximum_is_elasticsearch_bound() -> None:
    pool = pool_for({"num_threads": 4, "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0}})
    assert pool == PoolSpec(1, 32, 4.0)


def test_disabled_adaptive_falls_back_to_its_minimum_or_one() -> None:
    assert pool_for({"num_threads": 1, "adaptive_allocations": {"enabled": False, "min_number_of_allocations": 2}}) \
        == PoolSpec(2, 2, 1.0)
    assert pool_for({"num_threads": 1}) == PoolSpec(1, 1, 1.0)


def test_pipeline_pool_takes_the_largest_local_endpoint_and_ignores_remote_ones() -> None:
    endpoints: list[tuple[str, dict[str, Any]]] = [
        ("elasticsearch", {"num_allocations": 2, "num_threads": 1}),
        ("elser", {"num_threads": 4, "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 1,
                                                             "max_number_of_allocations": 6}}),
        ("openai", {"model_id": "text-embedding-3-small"}),
    ]
    assert pool_for_endpoints(endpoints, default=DEFAULT) == PoolSpec(2, 6, 4.0)
    assert pool_for_endpoints([("openai", {})], default=DEFAULT) == DEFAULT
    assert pool_for_endpoints([], default=DEFAULT) == DEFAULT


@pytest.mark.parametrize("text,expected", [("3", PoolSpec(3, 3, 1.0)), ("1,4", PoolSpec(1, 4, 1.0))])
def test_parse_concurrency(text: str, expected: PoolSpec) -> None:
    assert parse_concurrency(text) == expected


@pytest.mark.parametrize("text", ["0", "4,2", "a", "1,2,3", ""])
def test_parse_concurrency_rejects_bad_values(text: str) -> None:
    with pytest.raises(IllegalArgumentException, match=r"\[concurrency\]"):
        parse_concurrency(text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_shared_schedule_spaces_requests_of_a_group_across_callers() -> None:
    clock = FakeClock()
    schedule = SharedSchedule(clock)
    waits = [schedule.reserve("openai|fp|m", 120, 60.0) for _ in range(4)]
    assert waits == [0.0, 0.5, 1.0, 1.5]  # 120 rpm: one slot every 0.5 s, whoever asks
    assert schedule.reserve("openai|other|m", 120, 60.0) == 0.0  # another group has its own slots
    clock.now += 10
    assert schedule.reserve("openai|fp|m", 120, 60.0) == 0.0  # idle time is not banked as a burst
    assert schedule.reserve("openai|fp|m", 120, 60.0) == 0.5


def test_shared_schedule_refuses_a_slot_beyond_the_deadline_without_booking_it() -> None:
    schedule = SharedSchedule(FakeClock())
    assert schedule.reserve("g", 60, 5.0) == 0.0
    assert schedule.reserve("g", 60, 0.5) is None  # next slot is 1 s away
    assert schedule.reserve("g", 60, 5.0) == 1.0  # the refused request did not take it
    assert schedule.stats() == {"booked": 2, "groups": 1}


def test_file_splits_lists_files_in_order_and_names_format_problems(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.jsonl"):
        (tmp_path / name).write_text(json.dumps({"x": 1}) + "\n")
    splits = file_splits(str(tmp_path), {"batch_size": 10})
    assert [Path(f).name for f in splits.files] == ["a.jsonl", "b.jsonl"]
    assert splits.format == "jsonl" and splits.options == {}
    (tmp_path / "c.csv").write_text("x\n1\n")
    with pytest.raises(IllegalArgumentException, match="mixes formats"):
        file_splits(str(tmp_path), {})
    arrow = tmp_path / "d.arrow"
    arrow.write_bytes(b"")
    with pytest.raises(IllegalArgumentException, match=r"format \[arrow\] is not supported by the ray executor"):
        file_splits(str(arrow), {})
    with pytest.raises(IllegalArgumentException, match="not a file source"):
        file_splits("http://localhost:9200/idx", {})


def test_file_splits_refuses_documents_with_a_path_field(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"path": "/x", "y": 1}) + "\n")
    with pytest.raises(IllegalArgumentException, match=r"top-level field \[path\]"):
        file_splits(str(tmp_path), {})


def _row(split: str, read: int, indexed: int, failed: int = 0) -> dict:
    return {"split": split, "read": read, "indexed": indexed, "failed": failed, "dropped": 0}


def test_split_committer_commits_a_split_only_when_a_later_one_shows_up(ingest_home: Path) -> None:
    config = JobConfig(source="x", index="i", job_id="j1")
    checkpoints = Checkpoints("j1")
    commit = SplitCommitter(checkpoints, config, [], dict.fromkeys(("read", "indexed", "failed", "dropped"), 0),
                            ["a", "b", "c", "d"])
    commit.result(_row("a", 5, 5))
    assert checkpoints.load() is None  # a may still have blocks in flight
    commit.result(_row("a", 5, 4, failed=1))
    commit.result(_row("c", 2, 2))  # b had no rows at all: complete too
    state = checkpoints.load()
    assert state is not None
    assert state["position"] == {"splits_done": ["a", "b"]}
    assert state["totals"] == {"read": 10, "indexed": 9, "failed": 1, "dropped": 0}
    assert commit.live()["read"] == 12
    with pytest.raises(RuntimeError, match="after it was committed"):
        commit.result(_row("a", 1, 1))
    commit.through(4)
    done, totals = resume_state(checkpoints.load(), "j1")
    assert done == ["a", "b", "c", "d"] and totals["read"] == 12


def test_resume_state_refuses_a_checkpoint_of_the_default_executor() -> None:
    with pytest.raises(IllegalArgumentException, match="written by the default executor"):
        resume_state({"position": {"file": 0, "path": "/x", "row": 10}, "totals": {}}, "j")
    assert resume_state(None, "j") == ([], {"read": 0, "indexed": 0, "failed": 0, "dropped": 0})


def test_check_fits_refuses_pools_ray_could_never_start() -> None:
    check_fits(PoolSpec(2, 8, 1.0), [1.0, 2.0])  # the maximum may exceed the cluster: Ray scales into what fits
    check_fits(PoolSpec(3, 3, 1.0), [1.0, 2.0])  # every CPU: the reads run fused inside the pool's actors
    with pytest.raises(IllegalArgumentException, match=r"\[num_threads\] is \[4\] but no node .* more than \[2\]"):
        check_fits(PoolSpec(1, 1, 4.0), [2.0, 2.0])
    with pytest.raises(IllegalArgumentException, match=r"room for \[3\] allocations of \[1\] threads .* not \[4\]"):
        check_fits(PoolSpec(4, 4, 1.0), [1.0, 2.0])
    with pytest.raises(IllegalArgumentException, match=r"room for \[1\] allocations of \[2\] threads"):
        check_fits(PoolSpec(2, 2, 2.0), [3.0, 1.0])  # 4 CPUs in all, but only one node is 2 wide
