"""Built models on disk: ``ensure_built`` converts a spec's packaged weights once into ``models_dir()``.

Each build lives in its own folder ``<models_dir>/<model>-<source sha256[:12]>[-int8]/`` holding
``model.onnx``, ``tokenizer.json`` and ``manifest.json`` (source checksum, file checksums, version). It is
written under a temporary name and renamed into place, so a crash mid-build leaves no half model; a file lock
makes concurrent processes wait for one build instead of racing. On reuse the files are checked against the
manifest (once per process and file state); a damaged build is rebuilt from its source, and a clear
``ModelError`` is raised when that is not possible.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from ingest.models.catalogue import ModelSpec, ModelVariant, WeightFormat
from ingest.models.convert.build import MODEL_FILE, TOKENIZER_FILE, SourceFiles, convert
from ingest.models.convert.graph import graph_revision
from ingest.models.convert.hf import UnsupportedModelError
from ingest.models.errors import ModelError
from ingest.models.home import models_dir, private_file, private_tree

# Bump when the graph or tokenizer builders change in a way that changes the built files.
BUILDER_VERSION = 7
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BuiltModel:
    """A converted model ready for onnxruntime and tokenizers."""

    spec: ModelSpec
    onnx_path: Path
    tokenizer_path: Path  # tokenizers' tokenizer.json; no truncation or padding configured in it
    version: str  # stable content hash of the built files
    quantized: bool


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _located(spec: ModelSpec, relative: str) -> Path:
    """A source file: absolute paths (imported models) as they are, else inside the installed distribution."""
    if Path(relative).is_absolute():
        return Path(relative)
    src = spec.source
    try:
        dist = distribution(src.distribution)
    except PackageNotFoundError as exc:
        raise ModelError(
            f"model [{spec.model_id}] needs the package [{src.distribution}=={src.version}]; install it with: "
            f"{src.install_hint}"
        ) from exc
    return Path(str(dist.locate_file(relative)))


def _verified(spec: ModelSpec, relative: str, sha256: str | None, what: str) -> Path:
    path = _located(spec, relative)
    if not path.is_file():
        raise ModelError(
            f"model [{spec.model_id}]: {what} [{path}] is missing; reinstall with: {spec.source.install_hint}"
        )
    if sha256 and sha256_file(path) != sha256:
        raise ModelError(
            f"model [{spec.model_id}]: {what} [{path}] does not match its sha256 [{sha256}]; "
            f"reinstall with: {spec.source.install_hint}"
        )
    return path


def source_files(spec: ModelSpec) -> SourceFiles:
    """Locate and checksum-verify the spec's source files."""
    src = spec.source
    weights = _verified(spec, src.path, src.sha256, "weights file")
    tokenizer = (
        _verified(spec, src.tokenizer_path, src.tokenizer_sha256, "tokenizer file")
        if src.tokenizer_path
        else None
    )
    return SourceFiles(weights, tokenizer)


def build_dir(spec: ModelSpec, quantize: bool) -> Path:
    """The cache folder of one model variant (keyed by the source checksum, so sources never collide)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.model_id.lstrip("."))
    return models_dir() / f"{safe}-{spec.source.sha256[:12]}{'-int8' if quantize else ''}"


_FileState = tuple[tuple[Path, int, int, int], ...]  # (path, size, mtime_ns, inode) of each file
_verified_states: dict[Path, _FileState] = {}
_thread_lock = threading.RLock()  # re-entered: an int8 build first ensures the fp32 one


def _graph_revision(spec: ModelSpec) -> int:
    """The revision of the graph we write for ``spec`` (imported ONNX files keep their own graph: always 1)."""
    return 1 if spec.weight_format == WeightFormat.ONNX else graph_revision(spec.pooling)


def _file_state(paths: list[Path]) -> _FileState:
    return tuple((p, p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino) for p in paths)


def _load(folder: Path, spec: ModelSpec, quantize: bool) -> BuiltModel | None:
    """The build in ``folder`` if it exists and matches its manifest; None if absent or outdated.

    Raises ModelError when the files are present but damaged (callers rebuild).
    """
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["files"]
        fresh = (
            manifest["builder_version"] == BUILDER_VERSION
            and manifest["source_sha256"] == spec.source.sha256
            # a changed pooling head (e.g. the chunked SPLADE head) rebuilds that kind of model only
            and manifest.get("graph_revision", 1) == _graph_revision(spec)
            # a re-measured exclusion list rebuilds the int8 variant
            and (not quantize or manifest.get("int8_fp32_groups", []) == list(spec.int8_fp32_groups))
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model [{spec.model_id}]: damaged manifest [{manifest_path}]") from exc
    if not fresh:
        return None
    paths = [folder / name for name in files]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"model [{spec.model_id}]: cached files missing in [{folder}]: {', '.join(missing)}")
    state = _file_state(paths)
    if _verified_states.get(folder) != state:
        for name, expected in files.items():
            if sha256_file(folder / name) != expected:
                raise ModelError(
                    f"model [{spec.model_id}]: cached file [{folder / name}] is corrupted (sha256 mismatch)"
                )
        _verified_states[folder] = state
    return BuiltModel(spec, folder / MODEL_FILE, folder / TOKENIZER_FILE, manifest["version"], quantize)


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    lock_path = folder.with_name(f".{folder.name}.lock")
    try:
        fh = open(private_file(lock_path), "a+b")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ModelError(f"cannot write to the model cache [{folder.parent}]: {exc}") from exc
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _quantize(base: BuiltModel, out_dir: Path, progress: Callable[[str], None]) -> None:
    """Dynamic int8, per layer: every weight group except the spec's measured ``int8_fp32_groups`` (weights per
    output channel, embedding tables too); activation × activation MatMuls (attention scores) stay fp32."""
    from ingest.models.convert.quantize import quantize_int8

    kept = base.spec.int8_fp32_groups
    progress(f"[{base.spec.model_id}] quantising to int8 (dynamic, per channel"
             f"{'; fp32: ' + ', '.join(kept) if kept else ''})")
    quantize_int8(base.onnx_path, out_dir / MODEL_FILE, keep_fp32=kept)
    shutil.copy(base.tokenizer_path, out_dir / TOKENIZER_FILE)


def _write(folder: Path, spec: ModelSpec, quantize: bool, progress: Callable[[str], None]) -> BuiltModel:
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    except OSError as exc:
        raise ModelError(f"cannot write to the model cache [{folder.parent}]: {exc}") from exc
    try:
        if quantize:
            base = ensure_built(spec, quantize=False, progress=progress)
            try:
                _quantize(base, tmp, progress)
            except Exception as exc:  # onnxruntime.quantization raises assorted types
                raise ModelError(f"model [{spec.model_id}] could not be quantised to int8: {exc}") from exc
        else:
            sources = source_files(spec)
            try:
                convert(spec, sources, tmp, progress)
            except (UnsupportedModelError, ValueError, OSError) as exc:
                raise ModelError(f"model [{spec.model_id}] could not be converted: {exc}") from exc
        files = {name: sha256_file(tmp / name) for name in (MODEL_FILE, TOKENIZER_FILE)}
        version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
        manifest = {
            "model_id": spec.model_id,
            "builder_version": BUILDER_VERSION,
            "source_sha256": spec.source.sha256,
            "graph_revision": _graph_revision(spec),
            "quantized": quantize,
            **({"int8_fp32_groups": list(spec.int8_fp32_groups)} if quantize else {}),
            "files": files,
            "version": version,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST):
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        private_tree(tmp)  # ONNX and tokenizer files are written with the umask's mode
        if folder.exists():  # an outdated or damaged build: move it aside, then swap
            trash = folder.with_name(f".{folder.name}.{os.getpid()}.old")
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError as exc:  # e.g. disk full: nothing half-written stays behind
        raise ModelError(f"model [{spec.model_id}] could not be written to [{folder.parent}]: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    progress(f"[{spec.model_id}] built into {folder}")
    built = _load(folder, spec, quantize)
    assert built is not None
    return built


def ensure_built(
    spec: ModelSpec, *, quantize: bool = False, progress: Callable[[str], None] | None = None
) -> BuiltModel:
    """The built model for ``spec`` (int8 when ``quantize``), converting it on first use.

    The build is atomic and verified by checksum; a corrupted cache file is detected and rebuilt. Raises
    ``ModelError`` when the weights package is missing, its file fails its sha256, or conversion fails.
    """
    say = progress or (lambda _msg: None)
    folder = build_dir(spec, quantize)
    with _thread_lock:
        with contextlib.suppress(ModelError):
            built = _load(folder, spec, quantize)
            if built is not None:
                return built
        with _build_lock(folder):
            damage: ModelError | None = None
            try:
                built = _load(folder, spec, quantize)  # another process may have built it meanwhile
            except ModelError as exc:
                say(f"{exc.reason}; rebuilding")
                built, damage = None, exc
            if built is not None:
                return built
            if damage is None:
                say(f"[{spec.model_id}] building the ONNX model (first use; done once)")
            # Leftovers of a build killed mid-way (we hold the lock, so nobody is writing them).
            for stale in folder.parent.glob(f".{folder.name}.*.tmp"):
                shutil.rmtree(stale, ignore_errors=True)
            try:
                return _write(folder, spec, quantize, say)
            except ModelError as exc:
                if damage is None:
                    raise
                raise ModelError(f"{damage.reason}, and it could not be rebuilt: {exc.reason}") from exc


def ensure_variant(variant: ModelVariant, progress: Callable[[str], None] | None = None) -> BuiltModel:
    """The build of one trained-model variant: int8 for the optimised ids, fp32 otherwise."""
    return ensure_built(variant.spec, quantize=variant.optimized, progress=progress)
