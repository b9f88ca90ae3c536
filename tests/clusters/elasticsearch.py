"""A real Elasticsearch node from the integration-test distribution on Maven Central.

``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>`` (server, transport, x-pack core and
security; no bundled JDK). Maven fetches it once (into ~/.m2 and ~/.cache/ingest/test-clusters); each session unzips it into a fresh folder under
/tmp (root's home is not readable by the node's user) and runs it as the unprivileged user ``ingest-es``
(created with useradd when missing), because Elasticsearch refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from tests.clusters import grok_module
from tests.clusters.common import (
    NodeProcess,
    cache_root,
    file_lock,
    find_jdk,
    free_port,
    run_maven,
    start_process,
    wait_for_yellow,
)

ES_USER = "ingest-es"
DEFAULT_VERSION = "8.19.7"
ES9_VERSION = "9.1.0"


def distribution_zip(version: str) -> Path:
    """The distribution zip, fetched by Maven (through ~/.m2) into the test-clusters cache on first use."""
    group = "org.elasticsearch.distribution.integ-test-zip"
    folder = cache_root() / f"elasticsearch-{version}"
    path = folder / f"elasticsearch-{version}.zip"
    with file_lock(f"elasticsearch-{version}"):
        if not path.exists():
            run_maven(
                ["dependency:copy", f"-Dartifact={group}:elasticsearch:{version}:zip", f"-DoutputDirectory={folder}"],
                cache_root(),
            )
    if not path.exists():
        raise RuntimeError(f"Maven reported success but {path} is missing")
    return path


def _node_user() -> tuple[int, int] | None:
    """uid/gid to run the node as: None when we are not root (then run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(
            [shutil.which("useradd") or "/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            check=True, capture_output=True,
        )
        entry = pwd.getpwnam(ES_USER)
    return entry.pw_uid, entry.pw_gid


def _unzip(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
        names = archive.namelist()
    home = dest / names[0].split("/")[0]
    # zipfile drops the Unix modes: restore the executable bits of the launch scripts and the JDK-free CLI.
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (dest / info.filename).chmod(mode | 0o444)
    return home


def java_home_for(version: str) -> str | None:
    """A JDK for this version: 17+ for 8.x, 21+ for 9.x (``INGEST_TEST_ES_JAVA_HOME`` overrides); None if none."""
    explicit = os.environ.get("INGEST_TEST_ES_JAVA_HOME")
    if explicit:
        return explicit
    return find_jdk(17 if version.startswith("8.") else 21)


def _remove_orphans() -> None:
    """Scratch folders left by test sessions that were killed before their teardown."""
    for folder in Path(tempfile.gettempdir()).glob("ingest-es-*"):
        try:
            owner = int((folder / "owner.pid").read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge (no pid file yet, or another user's process)


def start(version: str = DEFAULT_VERSION, java_home: str | None = None) -> tuple[NodeProcess, Path]:
    """Start a node on free loopback ports; returns it and its scratch folder (remove it after stop)."""
    begin = time.monotonic()
    jdk = java_home or java_home_for(version)
    if jdk is None:
        raise RuntimeError(f"no JDK for Elasticsearch {version} under /usr/lib/jvm (set INGEST_TEST_ES_JAVA_HOME)")
    zip_path = distribution_zip(version)
    user = _node_user()
    _remove_orphans()
    scratch = Path(tempfile.mkdtemp(prefix=f"ingest-es-{version}-"))
    scratch.chmod(0o755)
    (scratch / "owner.pid").write_text(str(os.getpid()))
    es_home = _unzip(zip_path, scratch)
    grok_module.install(version, es_home, jdk)  # the distribution has no ingest-common, so no grok processor
    conf = scratch / "config"
    shutil.copytree(es_home / "config", conf)
    http_port, transport_port = free_port(), free_port()
    settings = {
        "cluster.name": "ingest-test",
        "node.name": "ingest-test-es",
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        "http.port": http_port,
        "transport.port": transport_port,
        "path.data": scratch / "data",
        "path.logs": scratch / "logs",
        "xpack.security.enabled": "false",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    with (conf / "elasticsearch.yml").open("a") as yml:
        yml.write("\n" + "".join(f"{k}: {v}\n" for k, v in settings.items()))
    for sub in ("data", "logs", "tmp"):
        (scratch / sub).mkdir()
    if user is not None:
        for path in [conf, *conf.rglob("*"), scratch / "data", scratch / "logs", scratch / "tmp"]:
            os.chown(path, *user)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "ES_JAVA_HOME": jdk,
        "ES_PATH_CONF": str(conf),
        "ES_TMPDIR": str(scratch / "tmp"),
        "ES_JAVA_OPTS": "-Xms512m -Xmx512m",
    }

    def become_user() -> None:
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])

    log = scratch / "console.log"
    proc = start_process(
        [str(es_home / "bin" / "elasticsearch")], log_path=log, env=env, preexec=become_user, cwd=scratch
    )
    node = NodeProcess(f"http://127.0.0.1:{http_port}", proc, log)
    try:
        wait_for_yellow(node)
    except BaseException:
        node.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    node.started_s = time.monotonic() - begin
    return node, scratch
