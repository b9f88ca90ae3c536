"""An OpenSearch 2.19 node embedded in a plain JVM, from Maven Central jars.

First run: Maven resolves the server, its plugins and the k-NN zip (~100 MB into ~/.m2), copies them under
``<cache>/opensearch-<hash>/`` and javac compiles ``opensearch/TestNode.java`` there. Later runs reuse it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
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
    wait_for_yellow,
)

SRC = HERE / "opensearch"
POM = SRC / "pom.xml"
LAUNCHER = SRC / "TestNode.java"


def _knn_coordinates() -> str:
    text = POM.read_text()
    version = text.split("<knn.version>")[1].split("<")[0]
    return f"org.opensearch.plugin:opensearch-knn:{version}:zip"


def prepare() -> Path:
    """Resolve jars and compile the launcher once; return the prepared folder (lib/, knn/, classes/)."""
    target = cache_root() / f"opensearch-{content_hash(POM, LAUNCHER)}"
    with file_lock("opensearch"):
        if (target / "ready").exists():
            return target
        if target.exists():
            shutil.rmtree(target)
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "classes").mkdir(parents=True)
        # Maven runs on a copy of the pom so its target/ folder lands in the cache, not in the source tree.
        shutil.copy(POM, tmp / "pom.xml")
        run_maven(["dependency:copy-dependencies", f"-DoutputDirectory={tmp / 'lib'}", "-DexcludeTypes=zip"], tmp)
        run_maven(["dependency:unpack", f"-Dartifact={_knn_coordinates()}", f"-DoutputDirectory={tmp / 'knn'}"], tmp)
        shutil.rmtree(tmp / "target", ignore_errors=True)
        # The k-NN zip repeats jars the server already brings (e.g. jna): keep one copy on the classpath.
        server_jars = {p.name for p in (tmp / "lib").glob("*.jar")}
        for jar in (tmp / "knn").glob("*.jar"):
            if jar.name in server_jars:
                jar.unlink()
        javac = str(Path(_jdk()) / "bin" / "javac")
        if not Path(javac).exists():
            raise RuntimeError(f"{javac} is missing: a full JDK 17+ is needed to build the OpenSearch test node")
        proc = subprocess.run(
            [javac, "-d", str(tmp / "classes"), "-cp", _classpath(tmp, with_classes=False), str(LAUNCHER)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"javac TestNode.java failed:\n{proc.stdout}\n{proc.stderr}")
        (tmp / "ready").write_text("ok\n")
        tmp.rename(target)
    return target


def _jdk() -> str:
    """OpenSearch 2.19 is built for Java 11+ and tested on 17/21: the oldest JDK ≥ 17 installed."""
    jdk = find_jdk(17)
    if jdk is None:
        raise RuntimeError("no JDK 17+ found (under /usr/lib/jvm or as java on PATH) for the OpenSearch test node")
    return jdk


def _classpath(prepared: Path, *, with_classes: bool = True) -> str:
    parts = [str(prepared / "lib" / "*"), str(prepared / "knn" / "*")]
    return ":".join([str(prepared / "classes"), *parts] if with_classes else parts)


def start(home: Path) -> NodeProcess:
    """Start a node with its data under ``home`` on free ports and wait until it is yellow."""
    begin = time.monotonic()
    prepared = prepare()
    (home / "config").mkdir(parents=True, exist_ok=True)
    http_port, transport_port = free_port(), free_port()
    java = str(Path(_jdk()) / "bin" / "java")
    cmd = [
        java, "-Xms512m", "-Xmx512m", "-Dlog4j2.disable.jmx=true", "-Djava.awt.headless=true",
        "-cp", _classpath(prepared), "TestNode", str(home), str(http_port), str(transport_port),
    ]
    proc = start_process(cmd, log_path=home / "console.log")
    node = NodeProcess(f"http://127.0.0.1:{http_port}", proc, home / "console.log")
    wait_for_yellow(node)
    node.started_s = time.monotonic() - begin
    return node
