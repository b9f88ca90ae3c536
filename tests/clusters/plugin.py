"""pytest plugin: session fixtures ``opensearch_url``, ``elasticsearch_url`` and ``kafka_bootstrap`` backed by
real servers.

Each node starts at most once per test session, on first use, and is stopped at the end of the session.
The first run on a machine downloads the artifacts with Maven (cached in ~/.m2 and
~/.cache/ingest/test-clusters); failures raise with the node's console output, they never skip.
``elasticsearch_url`` is Elasticsearch 8 (``INGEST_TEST_ES_VERSION``, default 8.19.7, Java 17) and
``elasticsearch9_url`` Elasticsearch 9 (``INGEST_TEST_ES9_VERSION``, default 9.1.0, Java 21+ found under
/usr/lib/jvm or given with ``INGEST_TEST_ES_JAVA_HOME``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest

from tests.clusters import elasticsearch, kafka, opensearch


def _report(name: str, seconds: float) -> None:
    sys.stderr.write(f"\n[test-clusters] {name} ready in {seconds:.1f}s\n")


@pytest.fixture(scope="session")
def opensearch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real OpenSearch 2.19 node (k-NN, rank_features, painless, analysis-common)."""
    node = opensearch.start(tmp_path_factory.mktemp("opensearch-node"))
    _report("opensearch", node.started_s)
    try:
        yield node.url
    finally:
        node.stop()


def _elasticsearch(version: str) -> Iterator[str]:
    node, scratch = elasticsearch.start(version)
    _report(f"elasticsearch {version}", node.started_s)
    try:
        yield node.url
    finally:
        node.stop()
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def elasticsearch_url() -> Iterator[str]:
    """URL of a real Elasticsearch 8 node (integ-test distribution, security off)."""
    yield from _elasticsearch(os.environ.get("INGEST_TEST_ES_VERSION", elasticsearch.DEFAULT_VERSION))


@pytest.fixture(scope="session")
def elasticsearch9_url() -> Iterator[str]:
    """URL of a real Elasticsearch 9 node; it needs a JDK 21+ (skipped, saying so, when none is installed)."""
    version = os.environ.get("INGEST_TEST_ES9_VERSION", elasticsearch.ES9_VERSION)
    if elasticsearch.java_home_for(version) is None:
        pytest.skip(f"Elasticsearch {version} needs a JDK 21+ and none is installed under /usr/lib/jvm")
    yield from _elasticsearch(version)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``HOST:PORT`` of a real single-node Kafka 4 broker (KRaft, PLAINTEXT, topics auto-created with 3
    partitions)."""
    broker = kafka.start(tmp_path_factory.mktemp("kafka-broker"))
    _report("kafka", broker.started_s)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
