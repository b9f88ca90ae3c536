"""A test-only ``grok`` processor module for the Elasticsearch nodes (see grok_reference/GrokReferencePlugin.java).

The integration-test distribution has no ingest-common module, so it has no grok processor; the grok library
itself (lib/elasticsearch-grok, with both built-in pattern banks, and Joni) is in the distribution. This module is
compiled against the distribution's own jars once per version (cached beside the distribution) and copied into
``modules/`` before the node starts. A build failure never stops the node: it is recorded, and the grok tests
report it (:func:`build_error`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import traceback
import zipfile
from pathlib import Path

from tests.clusters.common import HERE, cache_root, content_hash, file_lock

MODULE = "ingest-grok-reference"
_SOURCE = HERE / "grok_reference" / "GrokReferencePlugin.java"
# Processor.Factory#create gained a ProjectId parameter in the multi-project versions; try that shape first.
_SIGNATURES = (
    "java.util.Map<String, Processor.Factory> registry, String tag, String description, "
    "java.util.Map<String, Object> config, org.elasticsearch.cluster.metadata.ProjectId projectId",
    "java.util.Map<String, Processor.Factory> registry, String tag, String description, "
    "java.util.Map<String, Object> config",
)


def _error_file(version: str) -> Path:
    return cache_root() / f"{MODULE}-{version}.error"


def build_error(version: str) -> str | None:
    """Why the module could not be built for ``version`` (None when it was built)."""
    path = _error_file(version)
    return path.read_text() if path.exists() else None


def _compile(version: str, es_home: Path, jdk: str, dest: Path) -> None:
    classpath = str(es_home / "lib" / "*")
    errors = []
    for signature in _SIGNATURES:
        work = Path(tempfile.mkdtemp(prefix="grok-module-"))
        try:
            source = work / "org" / "ingest" / "testing" / "grok" / "GrokReferencePlugin.java"
            source.parent.mkdir(parents=True)
            source.write_text(_SOURCE.read_text().replace("/*CREATE_PARAMETERS*/", signature))
            classes = work / "classes"
            done = subprocess.run([f"{jdk}/bin/javac", "-nowarn", "-cp", classpath, "-d", str(classes), str(source)],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                errors.append(done.stderr[-3000:])
                continue
            dest.mkdir(parents=True)
            with zipfile.ZipFile(dest / f"{MODULE}-{version}.jar", "w") as jar:
                for path in sorted(classes.rglob("*.class")):
                    jar.write(path, path.relative_to(classes).as_posix())
            (dest / "plugin-descriptor.properties").write_text(
                f"description=Test-only grok processor over Elasticsearch's grok library\nversion={version}\n"
                f"name={MODULE}\nclassname=org.ingest.testing.grok.GrokReferencePlugin\n"
                f"java.version=17\nelasticsearch.version={version}\n"
            )
            return
        finally:
            shutil.rmtree(work, ignore_errors=True)
    raise RuntimeError("javac failed for every known Processor.Factory signature:\n" + "\n".join(errors))


def install(version: str, es_home: Path, jdk: str) -> None:
    """Copy the module (built on first use) into ``es_home/modules``; on failure record why and go on."""
    target = cache_root() / f"{MODULE}-{version}-{content_hash(_SOURCE, extra=version)}"
    try:
        with file_lock(f"{MODULE}-{version}"):
            if not (target / "plugin-descriptor.properties").exists():
                staging = target.with_name(target.name + ".tmp")
                shutil.rmtree(staging, ignore_errors=True)
                _compile(version, es_home, jdk, staging)
                staging.rename(target)
        shutil.copytree(target, es_home / "modules" / MODULE)
        _error_file(version).unlink(missing_ok=True)
    except Exception:  # the node must start for everyone else's tests; the grok tests report this
        _error_file(version).write_text(traceback.format_exc())
