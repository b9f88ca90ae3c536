"""The Kafka source: a consumer-group member whose offsets follow the sink's acknowledgements.

One thread (the job's reader) owns the consumer: it polls, builds batches, commits and serves rebalance
callbacks. Offsets reach Kafka only once the job acknowledged every message before them (``Ledger``), so a
killed process re-reads at most the unacknowledged tail, whose deterministic ids overwrite what was already
written. Memory is bounded: at most ``max_in_flight`` batches are between this source and the sink; beyond
that the assigned partitions are paused (the consumer keeps polling, so the group keeps it). A rebalance
drains in-flight batches and commits before giving partitions up; a stop (``stop()``, SIGTERM) or, with
``until_caught_up``, reaching the end offsets seen at start drains, commits and ends the batches.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from ingest.jobs.faults import fault
from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.sources.base import Source, SourceBatch
from ingest.sources.kafka.ledger import Ledger, key, split
from ingest.sources.kafka.messages import to_source_batches
from ingest.sources.kafka.settings import KafkaSettings, redact

log = logging.getLogger("ingest.kafka")
_IDLE_POLL_S = 0.2  # how often an idle consumer looks at stop requests, commits and callbacks
# Pausing drops librdkafka's prefetched messages (a resume fetches again): worth it only for long waits.
_PAUSE_AFTER_S = 2.0


def _client() -> Any:
    try:
        import confluent_kafka
    except ImportError:
        raise IllegalArgumentException(
            "kafka sources need confluent-kafka: pip install 'ingest[kafka]'") from None
    return confluent_kafka


class KafkaSource(Source):
    """Batches from a consumer group's share of the topics; see the module docstring."""

    unbounded = True  # the job keeps the index searchable (no load mode)

    def __init__(self, settings: KafkaSettings, url: str = "") -> None:
        self.settings = settings
        self.url = redact(url)
        self.ledger = Ledger()
        self._stop = threading.Event()
        self._consumer: Any = None
        self._assigned: set[tuple[str, int]] = set()
        self._collecting: list[Any] = []  # messages read for the batch being built
        self._next: dict[tuple[str, int], int] = {}  # next offset per partition, from what was read
        self._ends: dict[tuple[str, int], int] | None = None  # until_caught_up: end offsets seen at start
        self._assignment_seen = False
        self._lag: dict[str, int] = {}
        self._watermarks: dict[str, int] = {}  # high watermark per owned partition, from librdkafka's statistics
        self._committed: dict[str, int] = {}  # offsets this member handed to Kafka, per partition
        self._ever_assigned: set[tuple[str, int]] = set()
        self._read: dict[str, int] = {}  # messages read per partition by this member
        self._ended = False  # the final lag is measured: statistics arriving while the consumer closes are stale
        self._idle = False  # the last poll returned nothing
        self._last_check = 0.0
        self._backpressure = False
        config = settings.client_config()
        self._incremental = ("cooperative" in str(config.get("partition.assignment.strategy", ""))
                             or config.get("group.protocol") == "consumer")

    # --- the job's hooks ------------------------------------------------------------------------------------

    def acknowledged(self, position: dict[str, Any]) -> None:
        """Called by the job (any thread) when everything up to ``position`` is acknowledged."""
        self.ledger.acknowledged(position)

    def stop(self) -> None:
        """Stop reading: the batches end once in-flight ones are acknowledged and their offsets committed."""
        self._stop.set()

    def progress(self) -> dict[str, Any] | None:
        """Per-partition lag (messages behind the high watermark) and offsets: live from librdkafka's statistics
        while reading; at the end, from the broker's watermarks and the offsets this member committed."""
        # Copies first: the consumer thread updates these while the job's thread reports.
        lag, committed, read, highs = dict(self._lag), dict(self._committed), dict(self._read), dict(self._watermarks)
        offsets = {}
        for name in sorted(set(read) | set(committed) | set(highs)):
            entry = {"read": read.get(name, 0), "committed": committed.get(name), "high_watermark": highs.get(name)}
            if name in lag:
                entry["lag"] = lag[name]
            offsets[name] = entry
        return {"partitions": sorted(key(t, p) for t, p in set(self._assigned)), "lag": sum(lag.values()),
                "lag_per_partition": lag, "in_flight_batches": self.ledger.in_flight(),
                "assigned": sorted(key(t, p) for t, p in set(self._ever_assigned)), "offsets": offsets}

    # --- the consumer ---------------------------------------------------------------------------------------

    def _open(self) -> Any:
        ck = _client()
        config = self.settings.client_config()
        config["stats_cb"] = self._on_stats
        config["error_cb"] = self._on_error
        consumer = ck.Consumer(config)
        if self.settings.until_caught_up:
            self._ends = self._end_offsets(consumer)
        consumer.subscribe(self.settings.topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                           on_lost=self._on_lost)
        return consumer

    def _end_offsets(self, consumer: Any) -> dict[tuple[str, int], int]:
        """High watermark of every partition of the subscribed topics (patterns resolved), now."""
        import re

        ck = _client()
        topics = consumer.list_topics(timeout=30).topics
        wanted = set()
        for name in self.settings.topics:
            if name.startswith("^"):
                wanted |= {t for t in topics if re.match(name, t)}
            elif name in topics:
                wanted.add(name)
            else:
                # "Caught up" with a topic that does not exist would report success for a typo.
                raise ResourceNotFoundException(f"kafka topic [{name}] does not exist on [{self.settings.bootstrap}]")
        ends = {}
        for topic in sorted(wanted):
            for partition in topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(ck.TopicPartition(topic, partition), timeout=30)
                ends[(topic, partition)] = high
        return ends

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._assignment_seen = True
        self._assigned |= {(p.topic, p.partition) for p in partitions}
        self._ever_assigned |= {(p.topic, p.partition) for p in partitions}
        # librdkafka keeps a partition's pause flag across rebalances: a partition paused under backpressure,
        # revoked, and assigned again later would stay paused forever. So assign here and set the flag we mean.
        if self._incremental:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
        if partitions:
            (consumer.pause if self._backpressure else consumer.resume)(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        """Drain in-flight batches and commit before the partitions go to another member."""
        gone = {(p.topic, p.partition) for p in partitions}
        self._collecting[:] = [m for m in self._collecting if (m.topic(), m.partition()) not in gone]
        if not self.ledger.wait_drained(self.settings.drain_timeout_s):
            log.warning("kafka rebalance: in-flight batches not acknowledged after %.0fs; their messages will be "
                        "read again by the next owner (same ids: no duplicates)", self.settings.drain_timeout_s)
        self._commit(sync=True)
        self._forget(gone)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        """Partitions taken away without a revoke (session expired): their offsets cannot be committed."""
        gone = {(p.topic, p.partition) for p in partitions}
        self._collecting[:] = [m for m in self._collecting if (m.topic(), m.partition()) not in gone]
        self._forget(gone)

    def _forget(self, gone: set[tuple[str, int]]) -> None:
        """Partitions no longer ours: later positions and commits leave them out."""
        self._assigned -= gone
        for tp in gone:
            self._next.pop(tp, None)
        self.ledger.forget([key(t, p) for t, p in gone])

    def _on_stats(self, raw: str) -> None:
        try:
            stats = json.loads(raw)
        except ValueError:
            return
        if self._ended:
            return
        lag: dict[str, int] = {}
        for topic, body in (stats.get("topics") or {}).items():
            for partition, p in (body.get("partitions") or {}).items():
                if partition == "-1" or (topic, int(partition)) not in self._assigned:
                    continue
                if p.get("consumer_lag", -1) >= 0:
                    lag[key(topic, int(partition))] = int(p["consumer_lag"])
                if p.get("hi_offset", -1) >= 0:
                    self._watermarks[key(topic, int(partition))] = int(p["hi_offset"])
        self._lag = lag

    def _on_error(self, err: Any) -> None:
        log.warning("kafka: %s", err)

    def _commit(self, *, sync: bool) -> None:
        """Hand the acknowledged offsets of partitions still owned to Kafka."""
        offsets = self.ledger.acknowledged_offsets() if sync else self.ledger.to_commit()
        if not offsets or self._consumer is None:
            return
        ck = _client()
        owned = [ck.TopicPartition(t, p, o) for t, p, o in ((*split(n), o) for n, o in offsets.items())
                 if (t, p) in self._assigned]
        if not owned:
            return
        try:
            self._consumer.commit(offsets=owned, asynchronous=not sync)
        except ck.KafkaException as exc:
            # A commit refused during a rebalance is repeated by the next one; the offsets only grow.
            log.warning("kafka offset commit failed: %s", exc)
            return
        for tp in owned:
            self._committed[key(tp.topic, tp.partition)] = tp.offset
        fault("offsets")

    # --- batches --------------------------------------------------------------------------------------------

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Batches until stopped (or caught up). ``resume_from`` is ignored: the group's committed offsets are
        where a job resumes, whichever process runs it."""
        self._consumer = consumer = self._open()
        try:
            while not self._stop.is_set() and not self._caught_up():
                self._commit(sync=False)
                if self.ledger.in_flight() >= self.settings.max_in_flight:
                    self._wait_for_room()
                    continue
                batch = self._collect()
                if batch:
                    yield from self._emit(batch)
            # The job finishes its in-flight batches in any case: wait for them (a second signal interrupts),
            # so the last commit covers everything read. Rebalances, which keep others waiting, are bounded.
            self.ledger.wait_drained(float("inf"))
            self._commit(sync=True)
            self._final_lag()
        finally:
            self._consumer = None
            consumer.close()

    def _final_lag(self) -> None:
        """The lag of every partition still owned at the end: the broker's high watermark now minus the offset
        committed (what a restarted job would still read)."""
        ck = _client()
        unknown = [ck.TopicPartition(t, p) for t, p in sorted(self._assigned) if key(t, p) not in self._committed]
        if unknown:  # owned, nothing read by this member: what the group committed before (one round trip)
            try:
                for tp in self._consumer.committed(unknown, timeout=5):
                    if tp.offset >= 0:
                        self._committed[key(tp.topic, tp.partition)] = tp.offset
            except ck.KafkaException as exc:
                log.warning("kafka: no committed offsets at the end of the job: %s", exc)
        lag: dict[str, int] = {}
        for topic, partition in sorted(self._assigned):
            name = key(topic, partition)
            # The high watermark the last fetch response carried: no round trip (a query costs up to a second
            # at the end of every job). librdkafka has none for a partition it fetched nothing from since it was
            # (re)assigned, as after a takeover of caught-up partitions: then the broker is asked.
            tp = ck.TopicPartition(topic, partition)
            try:
                _, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    _, high = self._consumer.get_watermark_offsets(tp, timeout=5)
            except ck.KafkaException as exc:
                log.warning("kafka: no high watermark for %s at the end of the job: %s", name, exc)
                continue
            if high < 0:
                continue
            self._watermarks[name] = high
            if name in self._committed:
                lag[name] = max(0, high - self._committed[name])
        self._lag = lag
        self._ended = True

    def _emit(self, messages: list[Any]) -> Iterator[SourceBatch]:
        runs = to_source_batches(
            messages, value_format=self.settings.value_format, value_field=self.settings.value_field,
            with_ids=self.settings.id_field is None,
        )
        done = 0
        for batch, upto, errors in runs:  # usually one; more when a field's type changes between messages
            read: dict[str, int] = {}
            for msg in messages[done:upto]:
                tp = (msg.topic(), msg.partition())
                self._next[tp] = max(self._next.get(tp, 0), msg.offset() + 1)
                read[key(*tp)] = self._next[tp]
                self._read[key(*tp)] = self._read.get(key(*tp), 0) + 1
            done = upto
            yield SourceBatch(batch, self.ledger.advance(read), errors)

    def _collect(self) -> list[Any]:
        """Up to ``batch_size`` messages; a partial batch ``max_wait_s`` after its first message."""
        ck = _client()
        self._collecting = collecting = list(self._collecting)
        deadline: float | None = None
        while len(collecting) < self.settings.batch_size and not self._stop.is_set():
            wait = _IDLE_POLL_S if deadline is None else max(0.0, deadline - time.monotonic())
            got = self._consumer.consume(min(self.settings.batch_size - len(collecting), 10_000), wait)
            for msg in got:
                err = msg.error()
                if err is None:
                    if (msg.topic(), msg.partition()) in self._assigned:
                        collecting.append(msg)
                elif err.fatal():
                    raise ck.KafkaException(err)
                elif err.code() != ck.KafkaError._PARTITION_EOF:
                    log.warning("kafka: %s", err)
            if collecting and deadline is None:
                deadline = time.monotonic() + self.settings.max_wait_s
            if deadline is None and not got:
                break  # idle: let the caller commit and look at stop requests
            if deadline is not None and time.monotonic() >= deadline:
                break
        self._collecting = []
        self._idle = not collecting
        return collecting

    def _wait_for_room(self) -> None:
        """Backpressure: wait for fewer than ``max_in_flight`` unacknowledged batches. A short wait keeps the
        prefetched messages (librdkafka heartbeats on its own thread); a longer one pauses every assigned
        partition and keeps polling, so rebalances are served and the group keeps this member."""
        if self.ledger.wait_drained(_PAUSE_AFTER_S, below=self.settings.max_in_flight):
            return
        self._backpressure = True  # partitions assigned meanwhile start paused (see _on_assign)
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.pause(assignment)
        while self.ledger.in_flight() >= self.settings.max_in_flight and not self._stop.is_set():
            for msg in self._consumer.consume(100, _IDLE_POLL_S):
                # Fetched before the pause took effect: kept for the next batch, never dropped.
                if msg.error() is None and (msg.topic(), msg.partition()) in self._assigned:
                    self._collecting.append(msg)
            self._commit(sync=False)
        self._backpressure = False
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.resume(assignment)

    def _caught_up(self) -> bool:
        """``until_caught_up``: every partition this member owns was read up to the end offsets seen at start;
        a member left without partitions is done once the group committed up to those ends."""
        if self._ends is None:
            return False
        if not self._ends:
            return True  # nothing to read
        if not self._assignment_seen:
            return False
        if not self._assigned:
            if time.monotonic() - self._last_check < 1.0:
                return False
            self._last_check = time.monotonic()
            ck = _client()
            committed = self._consumer.committed([ck.TopicPartition(t, p) for t, p in self._ends], timeout=30)
            return all(tp.offset >= self._ends[(tp.topic, tp.partition)] for tp in committed)
        missing = [tp for tp in self._assigned if tp not in self._next]
        if missing and not self._idle:
            return False  # messages are still arriving: not caught up, and no round trip to ask where we start
        if missing:
            self._start_offsets(missing)
        return all(self._next[tp] >= self._ends.get(tp, 0) for tp in self._assigned)

    def _start_offsets(self, partitions: list[tuple[str, int]]) -> None:
        """Where reading starts on owned partitions nothing was read from yet: the committed offset, else where
        the reset policy points."""
        ck = _client()
        reset = str(self.settings.client_config().get("auto.offset.reset", "earliest"))
        for tp in self._consumer.committed([ck.TopicPartition(t, p) for t, p in partitions], timeout=30):
            if tp.offset >= 0:
                start = tp.offset
            else:
                low, high = self._consumer.get_watermark_offsets(ck.TopicPartition(tp.topic, tp.partition), timeout=30)
                start = low if reset in ("earliest", "smallest", "beginning") else high
            self._next[(tp.topic, tp.partition)] = start

    def close(self) -> None:
        """Stop; the consumer is closed (leaving the group) when the batches end."""
        self._stop.set()
