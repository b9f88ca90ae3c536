"""A real single-node Kafka broker (KRaft: broker + controller in one JVM, no ZooKeeper) from Maven Central jars.

First run: Maven resolves ``kafka/pom.xml`` (``org.apache.kafka:kafka_2.13`` + ``slf4j-simple`` 1.7, ~45 jars,
43 MB into ~/.m2) and copies the jars under ``<cache>/kafka-<hash>/lib``. Each start formats a fresh log
directory with a random cluster id (``kafka.tools.StorageTool format``) and runs ``kafka.Kafka`` on free
loopback ports; it is ready when the broker logs that it started and its port accepts connections.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.clusters.common import (
    HERE,
    NodeProcess,
    cache_root,
    content_hash,
    file_lock,
    find_jdk,
    free_port,
    run_maven,
    start_process,
)

POM = HERE / "kafka" / "pom.xml"
READY_LINE = "Kafka Server started"


def prepare() -> Path:
    """Resolve the broker's jars once; return the folder holding ``lib/``."""
    target = cache_root() / f"kafka-{content_hash(POM)}"
    with file_lock("kafka"):
        if (target / "ready").exists():
            return target
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # Maven runs on a copy of the pom so its target/ folder lands in the cache, not in the source tree.
        shutil.copy(POM, tmp / "pom.xml")
        run_maven(["dependency:copy-dependencies", f"-DoutputDirectory={tmp / 'lib'}"], tmp)
        shutil.rmtree(tmp / "target", ignore_errors=True)
        (tmp / "ready").write_text("ok\n")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target


def _java() -> str:
    jdk = find_jdk(17)
    if jdk is None:
        raise RuntimeError("no JDK 17+ found (under /usr/lib/jvm or as java on PATH) for the Kafka test broker")
    return str(Path(jdk) / "bin" / "java")


@dataclass
class Broker:
    """A running broker: its bootstrap address (``127.0.0.1:port``) and process."""

    bootstrap: str
    node: NodeProcess

    @property
    def started_s(self) -> float:
        """Seconds from the call to :func:`start` until the broker was ready."""
        return self.node.started_s

    def stop(self) -> None:
        """SIGTERM (the broker shuts down cleanly), then SIGKILL if it takes too long."""
        self.node.stop()


def _properties(home: Path, port: int, controller_port: int) -> str:
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={home / 'data'}",
        "num.partitions=3",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=3",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        # A member that dies is noticed after its session timeout; let tests use short ones.
        "group.min.session.timeout.ms=1000",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        "",
    ])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start(home: Path, timeout: float = 180.0) -> Broker:
    """Format a log directory under ``home`` and start the broker on free ports; wait until it is ready."""
    begin = time.monotonic()
    lib = prepare() / "lib"
    home.mkdir(parents=True, exist_ok=True)
    port, controller_port = free_port(), free_port()
    config = home / "server.properties"
    config.write_text(_properties(home, port, controller_port))
    java, classpath = _java(), f"{lib}/*"
    cluster_id = subprocess.run(
        [java, "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"], capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]
    fmt = subprocess.run(
        [java, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)],
        capture_output=True, text=True,
    )
    if fmt.returncode != 0:
        raise RuntimeError(f"kafka storage format failed:\n{fmt.stdout[-3000:]}\n{fmt.stderr[-3000:]}")
    log_path = home / "console.log"
    cmd = [java, "-Xms256m", "-Xmx512m", "-Djava.awt.headless=true", "-cp", classpath, "kafka.Kafka", str(config)]
    proc = start_process(cmd, log_path=log_path)
    node = NodeProcess(f"127.0.0.1:{port}", proc, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kafka broker exited with status {proc.returncode}:\n{node.log_tail()}")
        if READY_LINE in node.log_tail(200_000) and _port_open(port):
            node.started_s = time.monotonic() - begin
            return Broker(node.url, node)
        time.sleep(0.3)
    node.stop()
    raise RuntimeError(f"kafka broker on port {port} not ready after {timeout:.0f}s:\n{node.log_tail()}")
